"""LibMultiLabel AttentionXML (PLT) run directories as victims.

The tests write a run directory as LibMultiLabel's ``PLTTrainer`` lays it out
(``model_0.ckpt``, ``model_1.ckpt`` as Lightning checkpoint dicts whose
``hyper_parameters`` pickle the network object, ``label_clusters.npy``,
``word_dict.pickle``, ``logs.json``), with tiny random weights. The networks
pickled there are the plain-torch classes below, written from LibMultiLabel's
source (libmultilabel/nn/networks/labelwise_attention_networks.py and
modules.py: packed BiLSTM from zeros, attention NOT masked) under its module
names; they are also the reference: LibMultiLabel's procedure at batch size 1
(libmultilabel/nn/attentionxml.py: top ``beam_width`` clusters, then
``sigmoid(l1) * sigmoid(l0)``), with its tokenizer (data_utils.tokenize).
"""
import contextlib
import functools
import json
import os
import pickle
import subprocess
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from nltk.tokenize import RegexpTokenizer
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from commands import require_install, run, write_targets  # noqa: F401  (fixture)
from textattack_xmtc.errors import CheckpointError, ModelLoadError
from textattack_xmtc.model_wrappers import is_victim, load_victim, victim_architecture
from textattack_xmtc.model_wrappers.libmultilabel import LibMultiLabelAttentionXMLWrapper
from textattack_xmtc.models.restricted_unpickling import StandIn, load_checkpoint

NETWORKS = "libmultilabel.nn.networks.labelwise_attention_networks"
MODULES = "libmultilabel.nn.networks.modules"

WORDS = ["oil", "prices", "rose", "fell", "market", "apple", "iron", "steel", "bank", "rates", "said", "the",
         "a", "of", "in", "trade", "grain", "wheat", "corn", "gold", "s", "u", "money", "ship", "crude"]
WORD_DICT = {word: index for index, word in enumerate(["<pad>", "<unk>"] + WORDS)}
LABELS = [f"label{index:02d}" for index in range(13)]
# Unequal sizes, as build_label_tree makes them when L is not cluster_size x 2^h.
CLUSTERS = [np.array([0, 5, 9, 12]), np.array([1, 2, 11]), np.array([3, 4, 10]), np.array([6, 7, 8])]
TEXTS = [
    "Oil prices rose 5% in the U.S. market, said the bank.",
    "Wheat and CORN fell; grain trade rates 2024 rose",
    "gold",
    "",
    "1999 2000 42",
    "Apple's iron and steel ship: crude oil of the bank rates said money money market prices rose fell again",
    "unknownword another unknown Ölpreise stiegen",
]


# ---------------------------------------------------------------- LibMultiLabel's networks, from its source


class Embedding(nn.Module):
    def __init__(self, embed_vecs, dropout=0.2):
        super().__init__()
        self.embedding = nn.Embedding.from_pretrained(embed_vecs, freeze=False, padding_idx=0)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input):
        return self.dropout(self.embedding(input))


class LSTMEncoder(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, encoder_dropout=0, post_encoder_dropout=0):
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=encoder_dropout,
                           bidirectional=True)
        self.post_encoder_dropout = nn.Dropout(post_encoder_dropout)

    def forward(self, input, length):
        idx = torch.argsort(length, descending=True)
        packed = pack_padded_sequence(input[idx], length[idx].cpu().clamp(min=1), batch_first=True)
        outputs, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True)
        return self.post_encoder_dropout(outputs[torch.argsort(idx)])


class LabelwiseAttention(nn.Module):
    def __init__(self, input_size, num_classes):
        super().__init__()
        self.attention = nn.Linear(input_size, num_classes, bias=False)

    def forward(self, input):
        attention = F.softmax(self.attention(input).transpose(1, 2), -1)  # not masked
        return torch.bmm(attention, input), attention


class PartialLabelwiseAttention(nn.Module):
    def __init__(self, hidden_size, num_classes):
        super().__init__()
        self.attention = nn.Embedding(num_classes + 1, hidden_size)

    def forward(self, inputs, labels_selected):
        attention = F.softmax(self.attention(labels_selected) @ inputs.transpose(1, 2), -1)  # not masked
        return attention @ inputs, attention


class MultilayerLinearOutput(nn.Module):
    def __init__(self, linear_size, output_size):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(linear_size[:-1], linear_size[1:]))
        self.output = nn.Linear(linear_size[-1], output_size)

    def forward(self, inputs):
        for linear in self.linears:
            inputs = F.relu(linear(inputs))
        return torch.squeeze(self.output(inputs), -1)


class AttentionXML_0(nn.Module):
    def __init__(self, embed_vecs, num_classes, rnn_dim, linear_size, rnn_layers=1):
        super().__init__()
        self.embedding = Embedding(embed_vecs)
        self.encoder = LSTMEncoder(embed_vecs.shape[1], rnn_dim // 2, rnn_layers, 0, 0.5)
        self.attention = LabelwiseAttention(rnn_dim, num_classes)
        self.output = MultilayerLinearOutput([rnn_dim] + linear_size, 1)

    def encode(self, x):
        lengths = (x != 0).sum(dim=1)
        return self.encoder(self.embedding(x)[:, : lengths.max()], lengths)

    def forward(self, inputs):
        x, _ = self.attention(self.encode(inputs["text"]))
        return {"logits": self.output(x)}


class AttentionXML_1(AttentionXML_0):
    def __init__(self, embed_vecs, num_classes, rnn_dim, linear_size, rnn_layers=1):
        super().__init__(embed_vecs, num_classes, rnn_dim, linear_size, rnn_layers)
        self.attention = PartialLabelwiseAttention(rnn_dim, num_classes)

    def forward(self, inputs):
        x, _ = self.attention(self.encode(inputs["text"]), inputs["labels_selected"])
        return {"logits": self.output(x)}


for _klass in (Embedding, LSTMEncoder, LabelwiseAttention, PartialLabelwiseAttention, MultilayerLinearOutput):
    _klass.__module__ = MODULES
for _klass in (AttentionXML_0, AttentionXML_1):
    _klass.__module__ = NETWORKS


@contextlib.contextmanager
def libmultilabel_importable():
    """LibMultiLabel's module names in sys.modules while pickling (and only then)."""
    names = ["libmultilabel", "libmultilabel.nn", "libmultilabel.nn.networks", MODULES, NETWORKS]
    saved = {name: sys.modules.get(name) for name in names}
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    for klass in (Embedding, LSTMEncoder, LabelwiseAttention, PartialLabelwiseAttention, MultilayerLinearOutput,
                  AttentionXML_0, AttentionXML_1):
        setattr(sys.modules[klass.__module__], klass.__name__, klass)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


# ---------------------------------------------------------------- writing a run directory


def build_networks(seed=0, rnn_layers=1, clusters_num=len(CLUSTERS), labels_num=len(LABELS)):
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    embed_vecs = torch.randn(len(WORD_DICT), 6, generator=generator)
    net_0 = AttentionXML_0(embed_vecs, clusters_num, rnn_dim=10, linear_size=[8], rnn_layers=rnn_layers)
    net_1 = AttentionXML_1(embed_vecs, labels_num, rnn_dim=10, linear_size=[8], rnn_layers=rnn_layers)
    with torch.no_grad():  # weights big enough that scores differ clearly
        for network in (net_0, net_1):
            for parameter in network.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.7)
    return net_0.eval(), net_1.eval()


def lightning_checkpoint(network, classes, save_k_predictions):
    """The dict Lightning's ModelCheckpoint saves for a LibMultiLabel Model (save_hyperparameters)."""
    state = OrderedDict(("network." + key, value.detach().clone()) for key, value in network.state_dict().items())
    return {
        "epoch": 2, "global_step": 30, "pytorch-lightning_version": "2.0.9", "state_dict": state,
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"current": {"completed": 2}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'nDCG@5', 'mode': 'max'}": {
            "monitor": "nDCG@5", "best_model_score": torch.tensor(0.25), "best_model_path": "model_0.ckpt",
            "kth_value": torch.tensor(float("inf")), "best_k_models": {}, "dirpath": "runs/x"}},
        "optimizer_states": [{"state": {0: {"step": torch.tensor(30.0), "exp_avg": torch.zeros(3)}},
                              "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0]}]}],
        "lr_schedulers": [], "hparams_name": "kwargs",
        "hyper_parameters": {"classes": classes, "network": network,
                             "loss_function": "binary_cross_entropy_with_logits", "learning_rate": 0.001,
                             "optimizer": "adam", "momentum": 0.9, "weight_decay": 0, "lr_scheduler": None,
                             "scheduler_config": None, "val_metric": "nDCG@5", "metric_threshold": 0.5,
                             "monitor_metrics": ["P@1", "nDCG@5"], "multiclass": False, "silent": True,
                             "save_k_predictions": save_k_predictions},
    }


def write_run(directory, seed=0, max_seq_length=12, beam_width=2, legacy=False, clusters=CLUSTERS, rnn_layers=1,
              labels=LABELS):
    """A LibMultiLabel AttentionXML run directory; returns (directory, net_0, net_1)."""
    directory.mkdir(parents=True, exist_ok=True)
    net_0, net_1 = build_networks(seed, rnn_layers, len(clusters), len(labels))
    with libmultilabel_importable():
        for name, network, classes, k in (("model_0.ckpt", net_0, np.asarray(clusters, dtype=object), beam_width),
                                          ("model_1.ckpt", net_1, list(labels), 5)):
            torch.save(lightning_checkpoint(network, classes, k), directory / name,
                       _use_new_zipfile_serialization=not legacy)
    np.save(directory / "label_clusters.npy", np.asarray(clusters, dtype=object))
    with open(directory / "word_dict.pickle", "wb") as file:
        pickle.dump(WORD_DICT, file)
    config = {"model_name": "AttentionXML", "max_seq_length": max_seq_length, "beam_width": beam_width,
              "cluster_size": 4, "save_k_predictions": 5, "network_config": {"rnn_dim": 10, "linear_size": [8]}}
    (directory / "logs.json").write_text(json.dumps({"config": config, "test": [{"P@1": 0.1}]}))
    return directory, net_0, net_1


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("runs") / "Tiny_attentionxml_20240101")


# ---------------------------------------------------------------- LibMultiLabel's procedure at batch size 1


def reference_ids(text, max_seq_length):
    tokens = [t.lower() for t in RegexpTokenizer(r"\w+").tokenize(text) if not t.isnumeric()]
    ids = [WORD_DICT.get(word, WORD_DICT["<unk>"]) for word in tokens[:max_seq_length]]
    return ids or [WORD_DICT["<unk>"]]


def label_cluster(label):
    return next(index for index, group in enumerate(CLUSTERS) if label in group)


@torch.no_grad()
def reference_scores(net_0, net_1, text, max_seq_length):
    """Every label's sigmoid(l1) x sigmoid(l0 of its cluster), one text alone (batch size 1)."""
    x = torch.tensor([reference_ids(text, max_seq_length)])
    p0 = torch.sigmoid(net_0({"text": x})["logits"][0])
    p1 = torch.sigmoid(net_1({"text": x, "labels_selected": torch.arange(len(LABELS))[None]})["logits"][0])
    return torch.stack([p1[label] * p0[label_cluster(label)] for label in range(len(LABELS))])


@torch.no_grad()
def reference_prediction(net_0, net_1, text, max_seq_length, beam_width, k):
    """PLTTrainer.test at eval_batch_size 1: the beam's labels and scores, and the top k."""
    x = torch.tensor([reference_ids(text, max_seq_length)])
    l0 = net_0({"text": x})["logits"][0]
    top = torch.argsort(l0, descending=True)[:beam_width]
    selected = torch.as_tensor(np.concatenate([CLUSTERS[c] for c in top.tolist()]))
    parent = torch.sigmoid(l0[top]).repeat_interleave(torch.tensor([len(CLUSTERS[c]) for c in top.tolist()]))
    scores = torch.sigmoid(net_1({"text": x, "labels_selected": selected[None]})["logits"][0]) * parent
    best, position = torch.topk(scores, k)
    return dict(zip(selected.tolist(), scores.tolist())), selected[position].tolist(), best.tolist()


# ---------------------------------------------------------------- loading


def test_a_run_directory_loads_through_load_victim(run_dir):
    directory, _, _ = run_dir
    assert is_victim(str(directory)) and victim_architecture(str(directory)) == "libmultilabel"
    victim = load_victim(str(directory))
    assert isinstance(victim, LibMultiLabelAttentionXMLWrapper)
    assert victim.labels == LABELS and victim.top == 2 and victim.max_words == 12
    assert victim.unk_token == "<unk>" and victim.score_type == "probabilities"
    assert victim.identity()["architecture"] == "libmultilabel"
    assert "LibMultiLabel AttentionXML (4 clusters -> 13 labels, beam 2" in victim.describe()
    # A file of the run names the run too; loading options override the run's config.
    assert load_victim(str(directory / "model_1.ckpt")).labels == LABELS
    assert load_victim(f"{directory}^max_length=3").max_words == 3
    assert load_victim(f"{directory}^top=1").top == 1  # the beam width, as for an original tree


def test_loading_imports_no_libmultilabel_and_the_network_object_is_an_inert_record(run_dir):
    directory, _, _ = run_dir
    assert "libmultilabel" not in sys.modules
    checkpoint = load_checkpoint(directory / "model_1.ckpt")
    network = checkpoint["hyper_parameters"]["network"]
    assert isinstance(network, StandIn) and network.stand_in_for == f"{NETWORKS}.AttentionXML_1"
    assert "libmultilabel" not in sys.modules
    assert list(checkpoint["state_dict"])[0] == "network.embedding.embedding.weight"
    # torch's own safe loader cannot read it: the reason this package has its own.
    with pytest.raises(Exception):
        torch.load(directory / "model_1.ckpt", weights_only=True)


def test_scores_equal_libmultilabel_at_batch_size_1(run_dir):
    directory, net_0, net_1 = run_dir
    victim = load_victim(str(directory))
    labels = list(range(len(LABELS)))
    for text in TEXTS:
        expected = reference_scores(net_0, net_1, text, 12)
        alone = victim.label_scores([text], labels)[0]
        torch.testing.assert_close(alone, expected, atol=1e-6, rtol=1e-5)


def test_a_batch_of_different_lengths_gives_the_batch_size_1_numbers(run_dir):
    directory, net_0, net_1 = run_dir
    victim = load_victim(str(directory))
    labels = [0, 4, 7, 12]
    batched = victim.label_scores(TEXTS, labels)
    expected = torch.stack([reference_scores(net_0, net_1, text, 12)[labels] for text in TEXTS])
    torch.testing.assert_close(batched, expected, atol=1e-6, rtol=1e-5)
    # LibMultiLabel's own batched forward differs (its attention sees the padding): this
    # test would notice a wrapper that padded like it.
    with torch.no_grad():
        rows = [reference_ids(text, 12) for text in TEXTS[:3]]
        padded = torch.tensor([ids + [0] * (12 - len(ids)) for ids in rows])
        batch_logits = net_0({"text": padded})["logits"]
        alone_logits = torch.stack([net_0({"text": torch.tensor([ids])})["logits"][0] for ids in rows])
    assert (batch_logits - alone_logits).abs().max() > 1e-3


def test_predictions_are_libmultilabels_beam(run_dir):
    directory, net_0, net_1 = run_dir
    victim = load_victim(str(directory))
    # A text of one token gives every label the same context vector, hence equal logits:
    # which of the tied clusters a beam keeps is then up to the sort (numpy's argpartition
    # in LibMultiLabel), so those texts are left out here.
    texts = [text for text in TEXTS if len(reference_ids(text, 12)) > 1]
    assert len(texts) == 4
    indices, scores = victim.predict_top_k(texts, k=3)
    dense = victim(texts)
    assert dense.shape == (len(texts), len(LABELS))
    for row, text in enumerate(texts):
        beam, top_labels, top_scores = reference_prediction(net_0, net_1, text, 12, beam_width=2, k=3)
        assert indices[row].tolist() == top_labels
        torch.testing.assert_close(scores[row], torch.tensor(top_scores), atol=1e-6, rtol=1e-5)
        expected = torch.zeros(len(LABELS))
        expected[list(beam)] = torch.tensor(list(beam.values()))
        torch.testing.assert_close(dense[row], expected, atol=1e-6, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:Couldn't retrieve source code")  # torch.save's legacy format, writing
def test_the_legacy_torch_format_and_two_lstm_layers_load_too(tmp_path):
    directory, net_0, net_1 = write_run(tmp_path / "run", seed=3, legacy=True, rnn_layers=2, max_seq_length=50)
    victim = load_victim(str(directory))
    for text in TEXTS[:3]:
        torch.testing.assert_close(victim.label_scores([text], range(len(LABELS)))[0],
                                   reference_scores(net_0, net_1, text, 50), atol=1e-6, rtol=1e-5)


def test_clusters_of_one_size_and_a_missing_cluster_file(tmp_path):
    equal = [np.array([0, 1, 2, 3]), np.array([4, 5, 6, 7]), np.array([8, 9, 10, 11])]
    directory, _, _ = write_run(tmp_path / "run", clusters=equal, labels=LABELS[:12])
    assert np.load(directory / "label_clusters.npy", allow_pickle=True).ndim == 2  # what np.asarray makes
    victim = load_victim(str(directory))
    assert victim.model.sizes == [3, 12]
    (directory / "label_clusters.npy").unlink()  # then the clusters come from model_0's hyper_parameters
    assert load_victim(str(directory)).model.sizes == [3, 12]


# ---------------------------------------------------------------- refusing code


class RunsOnLoad:
    """Pickles as a call of ``function(*args)``: what a malicious checkpoint holds."""

    def __init__(self, function, *args):
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


def _calls(marker):
    return {
        "posix.system": RunsOnLoad(os.system, f"touch {marker}"),
        "builtins.eval": RunsOnLoad(eval, f"open({str(marker)!r}, 'w').write('ran')"),
        "builtins.exec": RunsOnLoad(exec, f"open({str(marker)!r}, 'w').write('ran')"),
        "subprocess.call": RunsOnLoad(subprocess.call, ["touch", str(marker)]),
        "functools.partial": RunsOnLoad(functools.partial, print, "ran"),
    }


@pytest.mark.parametrize("name", ["posix.system", "builtins.eval", "builtins.exec", "subprocess.call",
                                  "functools.partial"])
@pytest.mark.parametrize("where", ["hyper_parameters", "state_dict"])
def test_a_checkpoint_naming_another_callable_is_refused_unrun(tmp_path, name, where):
    directory, _, _ = write_run(tmp_path / "run")
    marker = tmp_path / "it-ran"
    evil = _calls(marker)[name]
    if name == "posix.system" and os.system.__module__ != "posix":
        pytest.skip("os.system is not posix.system on this platform")
    with libmultilabel_importable():
        checkpoint = lightning_checkpoint(build_networks()[1], list(LABELS), 5)
    if where == "hyper_parameters":
        checkpoint["hyper_parameters"]["extra"] = evil
    else:
        checkpoint["state_dict"]["network.evil"] = evil
    with libmultilabel_importable():
        torch.save(checkpoint, directory / "model_1.ckpt")
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(directory))
    message = str(error.value)
    assert f"names {name}," in message and str(directory / "model_1.ckpt") in message
    assert "\n" not in message
    assert not marker.exists()


def test_word_dict_and_cluster_pickles_are_read_without_running_code(tmp_path):
    directory, _, _ = write_run(tmp_path / "run")
    marker = tmp_path / "it-ran"
    with open(directory / "word_dict.pickle", "wb") as file:
        pickle.dump({"<pad>": 0, "<unk>": 1, "x": RunsOnLoad(os.system, f"touch {marker}")}, file)
    with pytest.raises(CheckpointError, match=r"word_dict.pickle: refused to load: its pickle names posix.system"):
        load_victim(str(directory))
    with open(directory / "word_dict.pickle", "wb") as file:
        pickle.dump(WORD_DICT, file)
    clusters = np.empty(2, dtype=object)
    clusters[0], clusters[1] = np.arange(7), RunsOnLoad(eval, f"open({str(marker)!r}, 'w')")
    np.save(directory / "label_clusters.npy", clusters, allow_pickle=True)
    with pytest.raises(CheckpointError, match=r"label_clusters.npy: refused to load: its pickle names builtins.eval"):
        load_victim(str(directory))
    assert not marker.exists()


def test_broken_runs_are_one_line_errors(tmp_path):
    directory, _, _ = write_run(tmp_path / "run")
    (directory / "word_dict.pickle").unlink()
    with pytest.raises(ModelLoadError, match=r"without its word_dict.pickle") as error:
        load_victim(str(directory))
    assert "\n" not in str(error.value)
    directory, _, _ = write_run(tmp_path / "other")
    (directory / "model_0.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelLoadError, match=r"model_0.ckpt: not readable as a LibMultiLabel checkpoint"):
        load_victim(str(directory))
    directory, _, _ = write_run(tmp_path / "mismatch")
    np.save(directory / "label_clusters.npy", np.asarray(CLUSTERS[:3], dtype=object))
    with pytest.raises(ModelLoadError, match=r"label_clusters.npy: 3 clusters, but .*model_0.ckpt scores 4"):
        load_victim(str(directory))


@pytest.mark.parametrize("level", ["model_0.ckpt", "model_1.ckpt"])
@pytest.mark.parametrize("given", ["run", "checkpoint", "other file"])
def test_a_checkpoint_that_is_a_directory_is_named_as_one(tmp_path, level, given):
    """model_1.ckpt as a directory once read as "a neural model other than AttentionXML; not supported yet"."""
    directory, _, _ = write_run(tmp_path / "run")
    (directory / level).unlink()
    (directory / level / "checkpoint").mkdir(parents=True)
    path = {"run": directory, "checkpoint": directory / level, "other file": directory / "logs.json"}[given]
    with pytest.raises(CheckpointError) as error:
        load_victim(str(path))
    message = str(error.value)
    assert message.startswith(f"{directory / level}: is a directory, not a checkpoint file; ") and "\n" not in message
    assert f"put the run's {level} FILE at that path" in message and "not supported" not in message
    with pytest.raises(CheckpointError, match="is a directory, not a checkpoint file"):
        LibMultiLabelAttentionXMLWrapper.from_run_directory(directory)


def test_a_run_directory_named_like_a_checkpoint_still_loads(tmp_path):
    directory, _, _ = write_run(tmp_path / "model_1.ckpt")
    assert isinstance(load_victim(str(directory)), LibMultiLabelAttentionXMLWrapper)


def test_a_linear_run_is_recognised_not_supported(tmp_path):
    (tmp_path / "linear_pipeline.pickle").write_bytes(b"\x80\x04.")
    with pytest.raises(ModelLoadError, match=r"recognised as a LibMultiLabel checkpoint \(a linear model, "
                                             r"linear_pipeline.pickle\); not supported yet"):
        load_victim(str(tmp_path))


# ---------------------------------------------------------------- an attack through the stock command


def test_stock_textattack_attacks_a_libmultilabel_run(tmp_path, require_install):
    directory, _, _ = write_run(tmp_path / "runs" / "Tiny_attentionxml", max_seq_length=100)
    victim = load_victim(str(directory))
    text = "oil prices rose in the market said the bank of trade and the grain wheat corn"
    top = victim.predict_top_k([text], k=1)[0][0, 0].item()
    targets = write_targets(tmp_path / "targets.jsonl", [
        {"text": text, "labels": [LABELS[top]], "target": LABELS[top], "k": 1}])
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(directory),
                 "--dataset-from-file", str(targets), "--num-examples", "1", "--random-seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    # Random weights: success is not guaranteed, an honest result with its numbers is.
    assert "Number of successful attacks:" in result.stdout, result.stdout[-3000:]
    assert f"'{LABELS[top]}' rank 1" in result.stdout
    assert "XMTC metrics" in result.stdout and "Victim architecture:        | libmultilabel" in result.stdout


# ---------------------------------------------------------------- against LibMultiLabel itself, when installed


def test_a_checkpoint_written_by_libmultilabel_itself_gives_its_predictions(tmp_path):
    """Real LibMultiLabel classes, a real Lightning checkpoint, LibMultiLabel's own predict_step at batch size 1."""
    pytest.importorskip("lightning", reason="LibMultiLabel (and Lightning) not installed; the tests above write "
                                            "its layout without it")
    pytest.importorskip("libmultilabel.nn.attentionxml", reason="LibMultiLabel not installed (or incomplete)")
    import lightning
    from libmultilabel.nn.networks import labelwise_attention_networks as networks
    from libmultilabel.nn.attentionxml import PLTModel, PLTTrainer
    from libmultilabel.nn.data_utils import tokenize
    from libmultilabel.nn.model import Model
    from scipy.special import expit

    torch.manual_seed(0)
    embed_vecs = torch.randn(len(WORD_DICT), 6)
    nets = [networks.AttentionXML_0(embed_vecs, len(CLUSTERS), rnn_dim=10, linear_size=[8]),
            networks.AttentionXML_1(embed_vecs, len(LABELS), rnn_dim=10, linear_size=[8])]
    with torch.no_grad():
        for network in nets:
            for parameter in network.parameters():
                parameter.copy_(torch.randn(parameter.shape) * 0.7)
    cluster_array = np.asarray(CLUSTERS, dtype=object)
    models = [Model(classes=cluster_array, network=nets[0], save_k_predictions=2, monitor_metrics=["P@1"]),
              PLTModel(classes=list(LABELS), network=nets[1], save_k_predictions=3, monitor_metrics=["P@1"])]
    for level, model in enumerate(models):
        trainer = lightning.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False,
                                    enable_progress_bar=False, max_epochs=0)
        trainer.strategy.connect(model)
        trainer.save_checkpoint(tmp_path / f"model_{level}.ckpt")
        model.eval()
    np.save(tmp_path / "label_clusters.npy", cluster_array)
    with open(tmp_path / "word_dict.pickle", "wb") as file:
        pickle.dump(WORD_DICT, file)
    (tmp_path / "logs.json").write_text(json.dumps({"config": {"max_seq_length": 500, "beam_width": 2}}))
    victim = load_victim(str(tmp_path))
    texts = [text for text in TEXTS if len(reference_ids(text, 500)) > 1]
    indices, scores = victim.predict_top_k(texts, k=3)
    with torch.no_grad():
        for row, text in enumerate(texts):
            ids = [WORD_DICT.get(word, WORD_DICT["<unk>"]) for word in tokenize(text)[:500]] or [1]
            x = torch.tensor([ids])
            level_0 = models[0].predict_step({"text": x}, 0)
            selected, parent = PLTTrainer.cluster2label(cluster_array, level_0["top_k_pred"],
                                                        expit(level_0["top_k_pred_scores"]))
            level_1 = models[1].predict_step({"text": x, "labels_selected": torch.as_tensor(np.stack(selected)),
                                              "label_scores": torch.as_tensor(np.stack(parent))}, 0)
            assert indices[row].tolist() == level_1["top_k_pred"][0].tolist()
            torch.testing.assert_close(scores[row], torch.sigmoid(torch.as_tensor(level_1["top_k_pred_scores"][0])),
                                       atol=1e-6, rtol=1e-5)


# ---------------------------------------------------------------- hostile inputs: one line, nothing silent


def test_a_truncated_cluster_file_is_a_one_line_error(tmp_path):
    directory, _, _ = write_run(tmp_path / "run")
    data = (directory / "label_clusters.npy").read_bytes()
    (directory / "label_clusters.npy").write_bytes(data[:len(data) // 2])  # used to escape as UnpicklingError
    with pytest.raises(ModelLoadError, match=r"label_clusters.npy: not LibMultiLabel's label_clusters.npy"):
        load_victim(str(directory))


@pytest.mark.parametrize("clusters", [[np.array([5, 9, 12])] + CLUSTERS[1:],
                                      [np.array([], dtype=np.int64)] + CLUSTERS[1:]])
def test_a_label_in_no_cluster_is_refused(tmp_path, clusters):
    # Label 0 in no cluster used to load and score 0 on every document.
    directory, _, _ = write_run(tmp_path / "run")
    np.save(directory / "label_clusters.npy", np.asarray(clusters, dtype=object))
    with pytest.raises(ModelLoadError, match=r"label_clusters.npy: label 0 is in no cluster"):
        load_victim(str(directory))


def test_repeated_label_names_in_the_checkpoint_are_refused(tmp_path):
    directory, _, _ = write_run(tmp_path / "run", labels=["same"] + LABELS[1:-1] + ["same"])
    with pytest.raises(ModelLoadError, match=r"model_1.ckpt: hyper_parameters\['classes'\] names label 'same' twice"):
        load_victim(str(directory))


def test_nan_weights_are_refused_when_loaded_naming_the_file(tmp_path):
    directory, _, _ = write_run(tmp_path / "run")
    with libmultilabel_importable():
        checkpoint = torch.load(directory / "model_1.ckpt", weights_only=False)
        next(value for key, value in checkpoint["state_dict"].items() if "attention" in key).fill_(float("nan"))
        torch.save(checkpoint, directory / "model_1.ckpt")
    with pytest.raises(ModelLoadError, match=r"model_1.ckpt: damaged weights: non-finite values"):
        load_victim(str(directory))  # used to load, and fail only when scored
