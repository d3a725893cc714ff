"""Victim directories in other projects' on-disk formats, written offline by the tests.

Imported by ``conftest.py`` (fixtures) and by tests that need variants (broken
checkpoints and the like). Nothing here is a test.
"""
import json
import random

import numpy as np
import torch

# -- a tiny Hugging Face multilabel classifier ---------------------------------

HF_WORDS = ("the a of and in said company shares acquisition profit dividend wheat corn grain ship port "
            "oil prices rose fell market trade deal bank rate").split()


def build_hf_multilabel(directory, labels=("acq", "earn", "grain"), seed=0):
    """A random-weight BERT saved with ``problem_type="multi_label_classification"`` and ``id2label``."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + HF_WORDS
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(str(directory / "vocab.txt"), do_lower_case=True, model_max_length=64)
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64,
                        problem_type="multi_label_classification",
                        id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


# -- an original APLC-XLNet output directory -------------------------------------

APLC_WORDS = ("oil prices rose sharply wheat exports fell company shares profit dividend grain ship trade bank "
              "rates dollar yen market said the of and in tonnes crude").split()
# Descending training frequency, as the dataset's labels.txt lists them: deliberately not sorted.
APLC_LABELS = ["earn", "acq", "crude", "trade", "grain", "money-fx", "interest", "ship"]
APLC_CONFIG = {
    "attn_type": "bi", "bi_data": False, "clamp_len": -1, "d_head": 16, "d_inner": 64, "d_model": 32,
    "dropout": 0.1, "ff_activation": "gelu", "finetuning_task": "tiny", "initializer_range": 0.02,
    "layer_norm_eps": 1e-12, "mem_len": None, "n_head": 2, "n_layer": 2, "n_token": 128, "num_labels": 8,
    "reuse_len": None, "same_length": False, "summary_activation": "tanh", "summary_last_dropout": 0.1,
    "summary_type": "last", "summary_use_proj": True, "untie_r": True,
    "adaptive_cutoff": [3, 5], "div_value": 2.0, "last_hidden_size": 16,
}


def train_aplc_spiece(path, vocab_size=100):
    """A SentencePiece model with XLNet's special ids, trained on random sentences of APLC_WORDS."""
    from textattack_xmtc.models.xlnet_tokenization import train_sentencepiece

    generator = random.Random(0)
    texts = [" ".join(generator.choice(APLC_WORDS) for _ in range(10)) + "." for _ in range(50)]
    return train_sentencepiece(texts, path, vocab_size=vocab_size)


def aplc_original_state(seed=0, config=APLC_CONFIG):
    """Random weights under the original key names (our module's names are those names: checked in the model tests)."""
    from textattack_xmtc.models.aplc_xlnet import APLCXLNet, APLCXLNetConfig

    torch.manual_seed(seed)
    network = APLCXLNet(APLCXLNetConfig.from_dict(config))
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_(0.0, 0.3)
    return network.state_dict()


def original_training_args(**fields):
    """The ``argparse.Namespace`` the original APLC-XLNet ``main.py`` saves (a few of its fields), ``fields`` set."""
    import argparse

    values = dict(data_dir="../data/EURLex", model_type="xlnet", model_name_or_path="xlnet-base-cased",
                  task_name="eurlex", output_dir="../models/EURLex", max_seq_length=512, do_lower_case=False,
                  per_gpu_train_batch_size=12, learning_rate_x=5e-5, num_train_epochs=12.0, seed=42,
                  adaptive_cutoff=[3, 5], div_value=2.0, last_hidden_size=16, n_gpu=1, num_labels=8,
                  output_mode="classification", device=torch.device("cpu"))
    values.update(fields)
    return argparse.Namespace(**values)


def write_training_args(path, args=None, zip_format=True):
    """``torch.save(args, path)`` as the original does (default :func:`original_training_args`)."""
    torch.save(original_training_args() if args is None else args, path, _use_new_zipfile_serialization=zip_format)
    return path


def write_aplc_original(directory, spiece, config=APLC_CONFIG, state=None, labels=APLC_LABELS, zip_format=True,
                        training_args=None):
    """An original APLC-XLNet output directory, plus the dataset's labels.txt beside it.

    ``training_args``: the Namespace to save as ``training_args.bin`` (default: the original's fields with
    max_seq_length 512), raw ``bytes`` to write instead, or ``False`` for no file.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    torch.save(aplc_original_state() if state is None else state, directory / "pytorch_model.bin",
               _use_new_zipfile_serialization=zip_format)
    (directory / "spiece.model").write_bytes(spiece.read_bytes())
    (directory / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False, "remove_space": True,
                                                                 "keep_accents": False}))
    if isinstance(training_args, bytes):
        (directory / "training_args.bin").write_bytes(training_args)
    elif training_args is not False:
        write_training_args(directory / "training_args.bin", training_args, zip_format=zip_format)
    if labels is not None:
        (directory / "labels.txt").write_text("".join(f"{label}\n" for label in labels))
    return directory


# -- tiny AttentionXML networks and the original repository's data files -----------

#: A vocabulary as the original's preprocessing saves it: <PAD> at 0, <UNK> at 1.
ATTENTIONXML_VOCAB = ["<PAD>", "<UNK>", "oil", "prices", "rose", "wheat", "exports", "fell", "the", "bank", "rates",
                      "said"]


def tiny_attentionxml_network(labels_num, vocab_size=len(ATTENTIONXML_VOCAB), seed=0, std=0.5):
    """An AttentionXML network small enough for a test, in eval mode (our key names are the original's).

    Embeddings of 6, one bidirectional LSTM layer of 5, one linear layer of 7;
    every parameter drawn from N(0, ``std``) after ``torch.manual_seed(seed)``.
    """
    from textattack_xmtc.models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork

    torch.manual_seed(seed)
    config = AttentionXMLConfig(vocab_size=vocab_size, emb_size=6, hidden_size=5, layers_num=1,
                                linear_size=[7], labels_num=labels_num)
    network = AttentionXMLNetwork(config)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_(0.0, std)
    return network.eval()


def write_original_data(root, data, vocab, label_lines):
    """``root/data/<data>/vocab.npy`` and ``train_labels.txt`` (one line of label names per document)."""
    from textattack_xmtc.models.tokenization import save_vocab

    directory = root / "data" / data
    directory.mkdir(parents=True, exist_ok=True)
    save_vocab(directory / "vocab.npy", vocab)
    (directory / "train_labels.txt").write_text("\n".join(label_lines) + "\n")
    return directory


# ----------------------------------------------------------------- an original FastAttentionXML label tree

TREE_VOCAB = ATTENTIONXML_VOCAB + ["company", "shares", "grain", "market", "crude", "sharply"]
# Original layout: 3 clusters -> 12 level-1 nodes -> 40 labels.
TREE_LABELS_NUM, TREE_CLUSTERS, TREE_FANOUT = 40, 3, 4
TREE_PREFIX = "FastAttentionXML-Tiny-Tree-0"
TREE_LABELS = [f"label{i:02d}" for i in range(TREE_LABELS_NUM)]


def tree_level(labels_num, seed):
    """One level of the tiny tree: an AttentionXML network over ``labels_num`` rows."""
    return tiny_attentionxml_network(labels_num, len(TREE_VOCAB), seed, std=0.7)


def object_array(groups):
    """Groups as the original saves them: a numpy object array of int64 arrays."""
    array = np.empty(len(groups), dtype=object)
    for i, group in enumerate(groups):
        array[i] = np.asarray(group, dtype=np.int64)
    return array


def original_tree_clusters(seed=0):
    """As the original's cluster.py writes them: each file maps its nodes to LABEL sets, and node j's
    labels are those of nodes F*j .. F*j+F-1 one level down (F = TREE_FANOUT). Level-1 sizes are
    uneven (2 to 5)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(TREE_LABELS_NUM)
    sizes = [2, 5, 3, 4, 3, 2, 5, 4, 3, 3, 4, 2]  # 12 nodes, 40 labels
    level1, start = [], 0
    for size in sizes:
        level1.append(np.sort(order[start:start + size]))
        start += size
    level0 = [np.concatenate(level1[TREE_FANOUT * j:TREE_FANOUT * j + TREE_FANOUT]) for j in range(TREE_CLUSTERS)]
    return [level0, level1]


def write_original_tree(root, clusters=None, split_last=False, prefix=TREE_PREFIX, data="Tiny"):
    """An original repository: models/<prefix>-Level-{0,1,2}, ...-cluster-Level-{0,1}.npy, data/<data>/."""
    clusters = original_tree_clusters() if clusters is None else clusters
    models = root / "models"
    models.mkdir(parents=True, exist_ok=True)
    sizes = [len(clusters[0]), len(clusters[1]), TREE_LABELS_NUM]
    networks = [tree_level(sizes[0], 0), tree_level(sizes[1] + 1, 1), tree_level(sizes[2] + 1, 2)]
    for level, network in enumerate(networks):
        state = network.state_dict()
        if level:
            state = {f"Network.{key}": value for key, value in state.items()}
            if split_last and level == 2:  # a level above 80,000 nodes: the table split over GPUs, no pad row
                table = state.pop("Network.attention.attention.weight")[:-1]
                state["AttentionWeights.emb.0.weight"] = table[:25].clone()
                state["AttentionWeights.emb.1.weight"] = table[25:].clone()
        torch.save(state, models / f"{prefix}-Level-{level}")
    for level, groups in enumerate(clusters):
        np.save(models / f"{prefix}-cluster-Level-{level}.npy", object_array(groups), allow_pickle=True)
    rng = np.random.default_rng(1)
    lines = [" ".join(TREE_LABELS[i] for i in rng.choice(TREE_LABELS_NUM, 3, replace=False)) for _ in range(30)]
    lines.append(" ".join(TREE_LABELS))  # every label occurs in training
    write_original_data(root, data, TREE_VOCAB, lines)
    return [{key: value.clone() for key, value in network.state_dict().items()} for network in networks]
