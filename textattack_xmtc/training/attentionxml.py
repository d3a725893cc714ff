"""Train an AttentionXML victim on a :class:`~textattack_xmtc.datasets.corpus.Corpus`.

Binary cross-entropy on the logits (``loss="bce"``) or its rebalanced
variants ``pw`` / ``pw-cb`` (:mod:`textattack_xmtc.training.losses`), Adam,
GloVe 50-d initial embeddings, a vocabulary built from the training texts.
Deterministic for a given seed on a given machine (shuffling and dropout
draw from seeded generators).

Labels are the sorted label names of the TRAINING corpus. Test labels that
never occur in training cannot be predicted: they are ignored in the test
metrics (removed from the truth sets; documents left without any label are
skipped and counted in ``metrics["test_documents_skipped"]``).

Usage::

    wrapper, metrics = train_attentionxml(load_corpus("reuters21578", "train"),
                                          load_corpus("reuters21578", "test"), epochs=5)
    wrapper.save("my-model")
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from ..datasets.corpus import Corpus
from ..model_wrappers.attentionxml import AttentionXMLWrapper
from ..models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork
from ..models.tokenization import (
    DEFAULT_MAX_LENGTH,
    PAD_TOKEN,
    UNK_TOKEN,
    AttentionXMLTokenizer,
    build_vocab,
    glove_embedding_matrix,
)
from .common import (batch_targets, continued_from, continued_network, label_index_lists, progress_bar,
                     seed_everything, train_epochs)
from .evaluation import evaluate, finish_training, format_report, predict_scores
from .losses import DEFAULT_A, DEFAULT_B, DEFAULT_BETA, LossSettings, weighted_bce_with_logits

DEFAULTS = {
    "emb_size": 50,
    "hidden_size": 64,
    "layers_num": 1,
    "linear_size": [256],
    "dropout": 0.5,
    "emb_dropout": 0.2,
}
"""Network sizes used when ``train_attentionxml`` is not told otherwise.

With the other defaults (8 epochs, batch 32, Adam lr 3e-3) this is the
built-in Reuters preset: test P@1 0.94. Its training took 993 s on 2 shared CPU cores when the cached
built-in model was made; one epoch from scratch took 177 s on a busy machine.
"""

GRADIENT_CLIP = 5.0


# evaluate / format_report / predict_scores live in training.evaluation (shared with the
# APLC-XLNet trainer) and are re-exported here for code that imported them from this module.
__all__ = ["DEFAULTS", "GRADIENT_CLIP", "evaluate", "format_report", "predict_scores", "train_attentionxml"]


def train_attentionxml(
    train: Corpus,
    test: Optional[Corpus] = None,
    *,
    epochs: int = 8,
    batch_size: int = 32,
    lr: float = 3e-3,
    max_length: int = DEFAULT_MAX_LENGTH,
    train_max_length: Optional[int] = None,
    vocab_max_size: Optional[int] = None,
    min_count: int = 1,
    glove_init: bool = True,
    loss: str = "bce",
    loss_a: float = DEFAULT_A,
    loss_b: float = DEFAULT_B,
    loss_beta: float = DEFAULT_BETA,
    init_from: Optional[AttentionXMLWrapper] = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
    **config_overrides,
) -> Tuple[AttentionXMLWrapper, Dict[str, float]]:
    """Train AttentionXML on ``train``; evaluate on ``test`` when given.

    ``config_overrides`` set network sizes (``emb_size``, ``hidden_size``,
    ``layers_num``, ``linear_size``, ``dropout``, ``emb_dropout``; defaults in
    :data:`DEFAULTS`). ``max_length`` is the saved model's truncation (what it
    reads at attack time); ``train_max_length`` (default ``max_length``)
    truncates the training texts only, to train faster. ``loss`` is ``bce``,
    ``pw`` or ``pw-cb`` with Jain et al.'s ``loss_a`` / ``loss_b`` and the
    class-balance ``loss_beta`` (:mod:`~textattack_xmtc.training.losses`);
    it is recorded in ``wrapper.training["loss"]``. ``init_from`` continues
    training a saved model instead of a new one (fine-tuning: its network,
    vocabulary, input length and label list are kept, so ``max_length``,
    ``vocab_max_size``, ``min_count``, ``glove_init`` and the network sizes
    do not apply; every training label must be one of its labels). Returns the wrapper
    (on ``device``, eval mode) and a metrics dict (test P@k / nDCG@k / PSP@k,
    timings, sizes).

    Usage::

        wrapper, metrics = train_attentionxml(train, test, hidden_size=64, epochs=5, seed=1)
        wrapper, metrics = train_attentionxml(train, test, loss="pw-cb", loss_beta=0.99)
        wrapper, metrics = train_attentionxml(train, test, loss="pw", epochs=2, init_from=load_victim("my-model"))
    """
    unknown = sorted(set(config_overrides) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown AttentionXML settings {unknown}; known: {sorted(DEFAULTS)}")
    if not len(train):
        raise ValueError("the training corpus is empty")
    settings = LossSettings(loss, loss_a, loss_b, loss_beta)
    started = time.perf_counter()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    sizes = {**DEFAULTS, **config_overrides}

    token_lists = tokenize_corpus(train, progress)
    if init_from is not None:
        if config_overrides:
            raise TypeError(f"the network sizes {sorted(config_overrides)} are fixed by the model trained on")
        network, tokenizer, labels = continued_network(init_from, train), init_from.tokenizer, list(init_from.labels)
        network.to(device)
    else:
        labels = sorted(train.label_names())
        tokenizer = new_tokenizer(token_lists, max_length, vocab_max_size, min_count)
        vocab = tokenizer.vocab
        config = AttentionXMLConfig(vocab_size=len(vocab), labels_num=len(labels), **sizes)
        emb_init = glove_embedding_matrix(vocab, config.emb_size, seed=seed) if glove_init else None
        network = AttentionXMLNetwork(config, emb_init=emb_init).to(device)

    cut = train_max_length or tokenizer.max_length
    encoded = encode_tokens(token_lists, tokenizer, cut)
    targets = label_index_lists(train.labels, labels)
    counts = train.label_counts()
    pos_weight = settings.pos_weight([counts.get(name, 0) for name in labels], len(train))
    prepared = time.perf_counter()

    losses = _fit(network, tokenizer, encoded, targets, pos_weight, epochs, batch_size, lr, rng, device, progress)
    trained = time.perf_counter()

    training = {
        "data": train.name or train.source, "documents": len(train), "epochs": epochs,
        "batch_size": batch_size, "lr": lr, "train_max_length": cut, "seed": seed,
        "glove_init": glove_init if init_from is None else None, "loss": settings.record(),
        "final_loss": losses[-1] if losses else None,
    }
    if init_from is not None:
        training["init_from"] = continued_from(init_from)
    wrapper = AttentionXMLWrapper(network.eval(), tokenizer, labels,
                                  source=f"AttentionXML trained on {training['data']}", training=training)
    return wrapper, finish_training(wrapper, train, test, "AttentionXML", started, prepared, trained, progress, log)


def tokenize_corpus(corpus: Corpus, progress: bool) -> List[List[str]]:
    """Each document's words as AttentionXML reads them (before the vocabulary), with a progress bar.

    Usage::

        token_lists = tokenize_corpus(train, progress=True)
    """
    words = AttentionXMLTokenizer([PAD_TOKEN, UNK_TOKEN]).words
    return [words(text) for text in progress_bar(corpus.texts, progress, desc="tokenizing", unit="doc", leave=False)]


def new_tokenizer(token_lists: List[List[str]], max_length: int, vocab_max_size: Optional[int],
                  min_count: int) -> AttentionXMLTokenizer:
    """A tokenizer whose vocabulary is built from the training texts' words (by document frequency).

    Usage::

        tokenizer = new_tokenizer(tokenize_corpus(train, False), max_length=500, vocab_max_size=None, min_count=1)
    """
    vocab = build_vocab(range(len(token_lists)), lambda i: token_lists[i], vocab_max_size, min_count)
    return AttentionXMLTokenizer(vocab, max_length=max_length)


def encode_tokens(token_lists: List[List[str]], tokenizer: AttentionXMLTokenizer, cut: int) -> List[List[int]]:
    """Word ids of each document's first ``cut`` words (unknown words 1; an empty document ``[1]``).

    Usage::

        encoded = encode_tokens(token_lists, tokenizer, cut=300)
    """
    lookup = tokenizer.word_to_id
    return [[lookup.get(word, 1) for word in tokens[:cut]] or [1] for tokens in token_lists]


def _fit(network: AttentionXMLNetwork, tokenizer: AttentionXMLTokenizer, encoded: List[List[int]],
         targets: List[np.ndarray], pos_weight: Optional[torch.Tensor], epochs: int, batch_size: int, lr: float,
         rng: np.random.Generator, device: str, progress: bool) -> List[float]:
    """Adam on the (positive-weighted) binary cross-entropy of the logits; returns each epoch's mean loss.

    ``targets`` holds each document's label indices; a batch's dense rows are built per batch.
    """
    weight = pos_weight.to(device) if pos_weight is not None else None

    def batch_loss(rows: np.ndarray) -> torch.Tensor:
        input_ids = tokenizer.pad([encoded[i] for i in rows]).to(device)
        dense = batch_targets(targets, rows, network.config.labels_num).to(device)
        return weighted_bce_with_logits(network(input_ids), dense, weight)

    return train_epochs(network, torch.optim.Adam(network.parameters(), lr=lr), batch_loss,
                        np.array([len(ids) for ids in encoded]), epochs=epochs, batch_size=batch_size,
                        rng=rng, progress=progress, clip=GRADIENT_CLIP)
