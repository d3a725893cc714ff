"""Train a small label-tree AttentionXML (the original's FastAttentionXML) on a
:class:`~textattack_xmtc.datasets.corpus.Corpus`.

The tree comes from balanced 2-means on TF-IDF label features
(:mod:`textattack_xmtc.training.clustering`); then one AttentionXML network
per level is trained, top level first, as the original does:

- level 0 scores the top clusters; a cluster is positive for a document when
  it holds one of its labels (binary cross-entropy over all of them);
- level i >= 1 scores, per document, only a CANDIDATE list: the children of
  the ``top`` nodes of level i - 1 that the levels already trained rank
  highest (the beam), plus the children of the document's true nodes, so
  that its positives are always present. The loss is the binary
  cross-entropy over those candidates only; nodes outside the list are not
  scored, and the pads that even out a batch's lists are masked out;
- level i >= 1 starts from a copy of level i - 1's embedding, BiLSTM and MLP
  (our reading of the original, which copies them too; its attention table
  is new), level 0 from GloVe 50-d like the flat trainer.

Everything else is the flat trainer's (:mod:`textattack_xmtc.training.attentionxml`):
tokenization, the vocabulary, Adam with clipped gradients, length-bucketed
batches, the same defaults. Only ``bce`` is implemented for trees (the
rebalanced ``pw`` / ``pw-cb`` weights are per label, and a tree's levels
score clusters). Targets stay sparse: each document's node indices per level,
made dense per batch as ``[batch, candidates]``; no ``[N, L]`` matrix is built.

Usage::

    wrapper, metrics = train_attentionxml_tree(load_corpus("reuters21578", "train"),
                                               load_corpus("reuters21578", "test"), cluster_size=8, top=4)
    wrapper.save("my-tree")
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.nn import functional as F

from ..datasets.corpus import Corpus
from ..model_wrappers.attentionxml_tree import AttentionXMLTreeWrapper
from ..models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork
from ..models.attentionxml_tree import DEFAULT_TOP, AttentionXMLTree, children_table
from ..models.tokenization import DEFAULT_MAX_LENGTH, AttentionXMLTokenizer, glove_embedding_matrix
from .attentionxml import DEFAULTS, GRADIENT_CLIP, encode_tokens, new_tokenizer, tokenize_corpus
from .clustering import (DEFAULT_CLUSTER_SIZE, DEFAULT_LEVELS, TreeShapeError, build_label_tree,
                         check_tree_options, label_features, node_paths)
from .common import batch_targets, candidate_targets, label_index_lists, progress_bar, seed_everything, train_epochs
from .evaluation import finish_training
from .losses import DEFAULT_A, DEFAULT_B, DEFAULT_BETA, LossSettings

#: Documents per forward pass when the trained levels rank the candidates of the next one.
PREDICT_BATCH = 128

__all__ = ["DEFAULT_CLUSTER_SIZE", "DEFAULT_LEVELS", "DEFAULT_TOP", "TreeShapeError", "check_train_options",
           "train_attentionxml_tree"]


def check_train_options(options: dict) -> None:
    """Refuse, before any data is read, tree options that cannot work (``ValueError`` naming the option).

    ``textattack-xmtc train`` calls it with the trainer's keyword arguments.

    Usage::

        check_train_options({"cluster_size": 1})   # TreeShapeError: --cluster-size must be ... at least 2, got 1
    """
    check_tree_options(options.get("cluster_size", DEFAULT_CLUSTER_SIZE), options.get("levels", DEFAULT_LEVELS))
    top = options.get("top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise TreeShapeError(f"--top must be a positive integer (the beam width), got {top!r}")
    if options.get("loss", "bce") != "bce":
        raise ValueError(f"--loss {options['loss']}: a label tree trains with bce only (the rebalanced losses "
                         f"weigh labels, and a tree's upper levels score clusters); leave --loss out")
    if options.get("init_from") is not None:
        raise ValueError("--init-from: continuing a label tree is not supported yet; train a new one")


def train_attentionxml_tree(
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
    levels: int = DEFAULT_LEVELS,
    cluster_size: int = DEFAULT_CLUSTER_SIZE,
    top: int = DEFAULT_TOP,
    loss: str = "bce",
    loss_a: float = DEFAULT_A,
    loss_b: float = DEFAULT_B,
    loss_beta: float = DEFAULT_BETA,
    init_from=None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
    **config_overrides,
) -> Tuple[AttentionXMLTreeWrapper, Dict[str, float]]:
    """Cluster the training labels into a tree of ``levels`` networks and train it level by level.

    ``cluster_size``: labels per leaf cluster at most; ``levels``: networks
    (the last scores labels); ``top``: the beam width, used for the training
    candidates and kept as the saved model's beam. ``epochs`` apply to each
    level. Network sizes and the other options are the flat
    :func:`~textattack_xmtc.training.attentionxml.train_attentionxml`'s; ``loss``
    must be ``bce`` and ``init_from`` is not supported (``ValueError``). Returns
    the wrapper (on ``device``, eval mode) and the metrics dict (test P@k /
    nDCG@k / PSP@k of the beam, timings, and ``level_<i>_final_loss``).

    Usage::

        wrapper, metrics = train_attentionxml_tree(train, test, cluster_size=4, levels=3, top=8, epochs=5)
    """
    unknown = sorted(set(config_overrides) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown AttentionXML settings {unknown}; known: {sorted(DEFAULTS)}")
    check_train_options({"cluster_size": cluster_size, "levels": levels, "top": top, "loss": loss,
                         "init_from": init_from})
    if not len(train):
        raise ValueError("the training corpus is empty")
    settings = LossSettings(loss, loss_a, loss_b, loss_beta)
    started = time.perf_counter()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    sizes = {**DEFAULTS, **config_overrides}

    token_lists = tokenize_corpus(train, progress)
    labels = sorted(train.label_names())
    tokenizer = new_tokenizer(token_lists, max_length, vocab_max_size, min_count)
    cut = train_max_length or tokenizer.max_length
    encoded = encode_tokens(token_lists, tokenizer, cut)
    label_sets = label_index_lists(train.labels, labels)
    features = label_features(encoded, label_sets, len(labels), tokenizer.vocab_size)
    children = build_label_tree(features, cluster_size=cluster_size, levels=levels, seed=seed)
    # Each document's true nodes at every level: the sparse targets of each level.
    paths = node_paths(children, len(labels))
    node_sets = [[np.unique(path[labels_of]) for labels_of in label_sets] for path in paths]
    emb_init = glove_embedding_matrix(tokenizer.vocab, sizes["emb_size"], seed=seed) if glove_init else None
    prepared = time.perf_counter()

    networks: List[AttentionXMLNetwork] = []
    level_losses: List[List[float]] = []
    for level in range(levels):
        nodes = len(children[level]) if level < levels - 1 else len(labels)
        network = _level_network(tokenizer.vocab_size, nodes, level, sizes, emb_init,
                                 networks[-1] if networks else None).to(device)
        title = f"level {level + 1}/{levels}"
        candidates = None
        if level:
            top_nodes = _predicted_nodes(networks, children, top, encoded, tokenizer, device, progress, title)
            candidates = _candidate_lists(top_nodes, node_sets[level - 1], children[level - 1])
        losses = _fit_level(network, tokenizer, encoded, node_sets[level], candidates, nodes, epochs, batch_size,
                            lr, rng, device, progress, title)
        networks.append(network.eval())
        level_losses.append(losses)
    trained = time.perf_counter()

    tree = AttentionXMLTree(networks, children, top=top)
    training = {
        "data": train.name or train.source, "documents": len(train), "epochs": epochs,
        "batch_size": batch_size, "lr": lr, "train_max_length": cut, "seed": seed, "glove_init": glove_init,
        "loss": settings.record(), "final_loss": level_losses[-1][-1] if level_losses[-1] else None,
        "tree": {"levels": levels, "cluster_size": cluster_size, "top": top, "sizes": list(tree.sizes),
                 "clustering": "balanced 2-means on TF-IDF label features",
                 "final_losses": [losses[-1] if losses else None for losses in level_losses]},
    }
    wrapper = AttentionXMLTreeWrapper(tree, tokenizer, labels, source=f"AttentionXML tree trained on "
                                                                      f"{training['data']}", training=training)
    metrics = finish_training(wrapper, train, test, "AttentionXML tree", started, prepared, trained, progress, log)
    for level, losses in enumerate(level_losses):
        metrics[f"level_{level}_final_loss"] = losses[-1] if losses else float("nan")
    return wrapper, metrics


def _level_network(vocab_size: int, nodes: int, level: int, sizes: dict, emb_init: Optional[np.ndarray],
                   above: Optional[AttentionXMLNetwork]) -> AttentionXMLNetwork:
    """Level ``level``'s network: ``nodes`` attention rows (+1 pad row below the top), started from ``above``."""
    config = AttentionXMLConfig(vocab_size=vocab_size, labels_num=nodes + (1 if level else 0), **sizes)
    network = AttentionXMLNetwork(config, emb_init=emb_init if above is None else None)
    if above is not None:
        # Only the attention table is new: the encoder and MLP go on from the level above.
        for name in ("emb", "lstm", "linear"):
            getattr(network, name).load_state_dict(getattr(above, name).state_dict())
    return network


def _predicted_nodes(networks: Sequence[AttentionXMLNetwork], children: Sequence[Sequence[np.ndarray]], top: int,
                     encoded: List[List[int]], tokenizer: AttentionXMLTokenizer, device: str, progress: bool,
                     title: str) -> np.ndarray:
    """The ``top`` best nodes of the last trained level for every document, by the beam of the trained levels.

    Returns int64 [N, min(top, ...)]; where the beam holds fewer nodes the rest are the pad index (dropped later).
    """
    partial = AttentionXMLTree(list(networks), children[:len(networks) - 1], top=top) if len(networks) > 1 else None
    order = np.argsort([-len(ids) for ids in encoded], kind="stable")
    result = None
    steps = range(0, len(order), PREDICT_BATCH)
    with torch.inference_mode():
        for start in progress_bar(steps, progress, desc=f"{title}, candidates", unit="batch", leave=False):
            rows = order[start:start + PREDICT_BATCH]
            input_ids = tokenizer.pad([encoded[i] for i in rows]).to(device)
            if partial is None:
                logits = networks[0].eval()(input_ids)
                nodes = logits.topk(min(top, logits.shape[1]), dim=1).indices
            else:
                candidates, scores = partial.eval().beam(input_ids)
                nodes = candidates.gather(1, scores.topk(min(top, scores.shape[1]), dim=1).indices)
            if result is None:
                result = np.zeros((len(encoded), nodes.shape[1]), dtype=np.int64)
            result[rows] = nodes.cpu().numpy()
    return result


def _candidate_lists(top_nodes: np.ndarray, true_nodes: Sequence[np.ndarray],
                     groups: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Per document, the children (ascending) of its predicted top nodes and of its true nodes."""
    pad = len(groups)
    table = children_table(groups, pad=-1).numpy()  # row ``pad`` is all -1: a beam pad has no children
    result = []
    for predicted, true in zip(top_nodes, true_nodes):
        parents = np.union1d(predicted[predicted < pad], true)
        below = table[parents].ravel()
        result.append(np.unique(below[below >= 0]))
    return result


def _fit_level(network: AttentionXMLNetwork, tokenizer: AttentionXMLTokenizer, encoded: List[List[int]],
               targets: Sequence[np.ndarray], candidates: Optional[Sequence[np.ndarray]], nodes: int, epochs: int,
               batch_size: int, lr: float, rng: np.random.Generator, device: str, progress: bool,
               title: str) -> List[float]:
    """Adam on the binary cross-entropy of one level: over all nodes (level 0) or each document's candidates."""

    def batch_loss(rows: np.ndarray) -> torch.Tensor:
        input_ids = tokenizer.pad([encoded[i] for i in rows]).to(device)
        if candidates is None:
            dense = batch_targets(targets, rows, nodes).to(device)
            return F.binary_cross_entropy_with_logits(network(input_ids), dense)
        width = max(len(candidates[i]) for i in rows)
        batch = np.full((len(rows), width), nodes, dtype=np.int64)  # pads: the attention table's last row
        for position, row in enumerate(rows):
            batch[position, :len(candidates[row])] = candidates[row]
        batch = torch.from_numpy(batch)
        dense = candidate_targets(batch, targets, rows).to(device)
        real = (batch != nodes).to(device)
        logits = network(input_ids, batch.to(device))
        losses = F.binary_cross_entropy_with_logits(logits, dense, reduction="none")
        return losses[real].mean()

    return train_epochs(network, torch.optim.Adam(network.parameters(), lr=lr), batch_loss,
                        np.array([len(ids) for ids in encoded]), epochs=epochs, batch_size=batch_size,
                        rng=rng, progress=progress, clip=GRADIENT_CLIP, desc=f"{title}, training")
