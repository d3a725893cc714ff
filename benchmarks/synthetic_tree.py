"""Synthetic XMTC victims of any size: a label-tree AttentionXML (and a flat one) with random weights.

Benchmarks of memory and speed at 670,000 labels need a victim of that size,
and no trained one can be had offline. This module builds one, seeded, in
the shape of the original FastAttentionXML for Amazon-670K
(``configure/models/FastAttentionXML-Amazon-670K.yaml``: ``levels: [11, 14,
17]``, ``max_leaf: 8``, ``k: 8``, ``top: 160``):

* labels are cut into ``2**d`` leaf clusters of at most ``max_leaf`` labels
  (``d = ceil(log2(L / max_leaf))``; consecutive labels, sizes differing by
  one at most), and the tree keeps the cluster levels ``d - 6``, ``d - 3``
  and ``d`` (2048, 16384, 131072 nodes at L = 670,091), each node with
  ``2**3`` consecutive children, as the original's ``get_inter_groups``
  makes them. Every L therefore gets four AttentionXML networks (three
  cluster levels and the labels), as the original's 670K tree;
* each level is an :class:`AttentionXMLNetwork` of its own (embedding,
  BiLSTM, attention table, MLP), with small sizes (by default 32-d
  embeddings, hidden 32, MLP [64]) so that the 670K tree takes about
  250 MB; ``describe_size`` prints it;
* the vocabulary is a seeded random sample of alphabetic, non-stopword GloVe
  words among the 50,000 most frequent: random words, but words the attack's
  GloVe candidate source knows, so that the attack has candidates to try;
* documents are words drawn uniformly from that vocabulary; targets take the
  victim's own top-k as the document's true labels (so that ``xmtc-pos``
  has targets): the positive target is the k-th of them, a negative target
  is the beam's ``(k + offset)``-th label.

A flat AttentionXML of the same sizes (one network over all L labels) is
built by :func:`build_flat_victim` where it fits in memory.
:func:`write_original_tree` writes a tree in the original's file layout
(``FastAttentionXML-<name>-Level-<i>``, ``...-cluster-Level-<i>.npy``,
``vocab.npy``, ``labels.txt``) so that the package's own loader, the
command line and ``experiment`` can read it.

Usage::

    victim = build_tree_victim(670_091)                 # AttentionXMLTreeWrapper, ~250 MB
    print(describe_size(victim))
    texts = synthetic_documents(victim, count=10, words=100)
    targets = choose_targets(victim, texts, k=5)        # [{"text", "labels", "target", "k", "attack"}]

    python benchmarks/synthetic_tree.py --labels 670091 --write /tmp/tree-670k
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

#: Amazon-670K's label count, the size the issue asks for.
AMAZON_670K = 670_091
#: The original's Amazon-670K tree: leaves of at most 8 labels, cluster levels 3 apart (k = 2**3 = 8).
MAX_LEAF = 8
LEVEL_STEP = 3
CLUSTER_LEVELS = 3


@dataclass
class SyntheticSizes:
    """Network sizes shared by every level (and by the flat network).

    Usage::

        SyntheticSizes(vocab_size=20000, emb_size=32, hidden_size=32, linear_size=[64])
    """

    vocab_size: int = 20_000
    emb_size: int = 32
    hidden_size: int = 32
    linear_size: Sequence[int] = (64,)
    max_length: int = 500  # words read per document, the original's default


def tree_level_sizes(labels_num: int, max_leaf: int = MAX_LEAF, cluster_levels: int = CLUSTER_LEVELS,
                     step: int = LEVEL_STEP) -> List[int]:
    """Node counts of every level, the labels last: ``[2**(d-6), 2**(d-3), 2**d, L]`` by default.

    ``d`` is the depth at which binary splitting leaves at most ``max_leaf``
    labels per cluster; levels below depth 1 are dropped (tiny L).

    Usage::

        tree_level_sizes(670_091)   # [2048, 16384, 131072, 670091]
        tree_level_sizes(1000)      # [2, 16, 128, 1000]
    """
    if labels_num < 2:
        raise ValueError(f"a label tree needs at least 2 labels, got {labels_num}")
    depth = max(1, math.ceil(math.log2(labels_num / max_leaf)))
    depths = [depth - step * i for i in range(cluster_levels - 1, -1, -1)]
    return [2 ** d for d in depths if d >= 1] + [labels_num]


def tree_children(sizes: Sequence[int]) -> List[List[np.ndarray]]:
    """Each node's children, level by level: consecutive blocks (labels split as evenly as possible)."""
    children = []
    for above, below in zip(sizes[:-1], sizes[1:]):
        bounds = np.linspace(0, below, above + 1).round().astype(np.int64)
        children.append([np.arange(bounds[j], bounds[j + 1], dtype=np.int64) for j in range(above)])
    return children


def synthetic_vocabulary(size: int, seed: int = 0, pool: int = 50_000) -> List[str]:
    """``<PAD>``, ``<UNK>`` and ``size - 2`` random alphabetic non-stopword words of GloVe's top ``pool``."""
    from textattack_xmtc.glove import glove_words
    from textattack_xmtc.transformations import paper_stopwords

    stopwords = paper_stopwords()
    words = glove_words(pool)  # not load_glove(): a real victim's process holds no GloVe vectors
    eligible = [word for word in words[:pool] if word.isalpha() and word.isascii() and len(word) > 2
                and word not in stopwords]
    if size - 2 > len(eligible):
        raise ValueError(f"vocab_size {size} is more than the {len(eligible) + 2} words available")
    return ["<PAD>", "<UNK>"] + random.Random(seed).sample(eligible, size - 2)


def label_names(labels_num: int) -> List[str]:
    """``label-0000000`` ... (zero-padded so that sorting keeps the index order, as the original's labels)."""
    width = len(str(labels_num - 1))
    return [f"label-{index:0{width}d}" for index in range(labels_num)]


def _network(sizes: SyntheticSizes, labels_num: int):
    from textattack_xmtc.models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork

    config = AttentionXMLConfig(vocab_size=sizes.vocab_size, emb_size=sizes.emb_size,
                                hidden_size=sizes.hidden_size, layers_num=1,
                                linear_size=list(sizes.linear_size), labels_num=labels_num)
    return AttentionXMLNetwork(config).eval()


def build_tree_victim(labels_num: int = AMAZON_670K, sizes: Optional[SyntheticSizes] = None, seed: int = 0,
                      top: int = 160):
    """A label-tree :class:`AttentionXMLTreeWrapper` of ``labels_num`` labels with seeded random weights.

    Usage::

        victim = build_tree_victim(10_000, top=160)
    """
    from textattack_xmtc.model_wrappers.attentionxml_tree import AttentionXMLTreeWrapper
    from textattack_xmtc.models.attentionxml_tree import AttentionXMLTree
    from textattack_xmtc.models.tokenization import AttentionXMLTokenizer

    sizes = sizes or SyntheticSizes()
    level_sizes = tree_level_sizes(labels_num)
    torch.manual_seed(seed)
    # Level 0 scores its nodes densely; every other level has a pad row after its n nodes.
    networks = [_network(sizes, n if level == 0 else n + 1) for level, n in enumerate(level_sizes)]
    tree = AttentionXMLTree(networks, tree_children(level_sizes), top=top)
    tokenizer = AttentionXMLTokenizer(synthetic_vocabulary(sizes.vocab_size, seed), max_length=sizes.max_length)
    return AttentionXMLTreeWrapper(tree, tokenizer, label_names(labels_num), source=f"synthetic-tree-{labels_num}")


def build_flat_victim(labels_num: int, sizes: Optional[SyntheticSizes] = None, seed: int = 0):
    """A flat :class:`AttentionXMLWrapper` of the same sizes (one network over all labels), seeded.

    Usage::

        victim = build_flat_victim(10_000)
    """
    from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper
    from textattack_xmtc.models.tokenization import AttentionXMLTokenizer

    sizes = sizes or SyntheticSizes()
    torch.manual_seed(seed)
    network = _network(sizes, labels_num)
    tokenizer = AttentionXMLTokenizer(synthetic_vocabulary(sizes.vocab_size, seed), max_length=sizes.max_length)
    return AttentionXMLWrapper(network, tokenizer, label_names(labels_num), source=f"synthetic-flat-{labels_num}")


def flat_attack_bytes(labels_num: int, sizes: Optional[SyntheticSizes] = None, batch: int = 64,
                      words: int = 100) -> int:
    """Rough peak bytes of one flat forward pass on ``batch`` texts: its [B, T, L] and [B, L, 2h] tensors.

    Usage::

        flat_attack_bytes(670_091) / 2**30   # ~26 GiB: the flat 670K does not fit here
    """
    sizes = sizes or SyntheticSizes()
    length = min(words, sizes.max_length)
    per_label = 2 * length + 2 * sizes.hidden_size + 2 * max(sizes.linear_size)  # scores, softmax, context, MLP
    return 4 * batch * labels_num * per_label


def model_bytes(victim) -> int:
    """Bytes of every parameter and buffer of the victim's network."""
    tensors = list(victim.model.parameters()) + list(victim.model.buffers())
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors)


def describe_size(victim) -> str:
    """One line: the victim's description and its weights' size in MB."""
    return f"{victim.describe()}; {model_bytes(victim) / 2**20:.1f} MB of weights and buffers"


def synthetic_documents(victim, count: int, words: int, seed: int = 0) -> List[str]:
    """``count`` documents of ``words`` words drawn uniformly (seeded) from the victim's vocabulary."""
    vocabulary = victim.tokenizer.vocab[2:]
    generator = random.Random(seed)
    return [" ".join(generator.choices(vocabulary, k=words)) for _ in range(count)]


def top_labels(victim, texts: Sequence[str], count: int) -> List[List[int]]:
    """Each text's ``count`` best label indices (the beam's for a tree), best first."""
    if hasattr(victim, "predict_top_k"):
        indices, scores = victim.predict_top_k(list(texts), count)
        return [[int(i) for i, s in zip(row, row_scores) if s > float("-inf")]
                for row, row_scores in zip(indices.tolist(), scores.tolist())]
    scores = victim(list(texts))
    return scores.topk(count, dim=1).indices.tolist()


def choose_targets(victim, texts: Sequence[str], k: int = 5, negatives_every: int = 0,
                   negative_offset: int = 5, batch: int = 32) -> List[Dict]:
    """Targets rows: true labels = the victim's top-k, positive target = its k-th label.

    With ``negatives_every = n > 0``, every n-th document also gets a negative
    target, the label ranked ``k + negative_offset`` (just outside the top-k).
    Rows are dicts with ``text``, ``labels`` (names), ``target``, ``k`` and
    ``attack`` ("pos" or "neg"), as a targets JSONL file holds them.
    """
    rows = []
    for start in range(0, len(texts), batch):
        chunk = list(texts[start:start + batch])
        for offset, (text, ranked) in enumerate(zip(chunk, top_labels(victim, chunk, k + negative_offset))):
            if len(ranked) < k:
                continue
            true = [victim.labels[index] for index in ranked[:k]]
            rows.append({"text": text, "labels": true, "target": true[-1], "k": k, "attack": "pos"})
            if negatives_every and (start + offset) % negatives_every == 0 and len(ranked) >= k + negative_offset:
                rows.append({"text": text, "labels": true, "target": victim.labels[ranked[k + negative_offset - 1]],
                             "k": k, "attack": "neg"})
    return rows


def write_original_tree(victim, directory, name: str = "Synthetic") -> Path:
    """Write a tree victim in the original FastAttentionXML layout; returns the ``models`` directory.

    Files: ``models/FastAttentionXML-<name>-Level-<i>`` (level 0 flat keys,
    others prefixed ``Network.``), ``models/FastAttentionXML-<name>-cluster-Level-<i>.npy``
    (the last one each leaf's labels, higher ones each node's LABELS, as the
    original writes them), ``models/vocab.npy`` and ``models/labels.txt``.
    Refuses a directory that already holds files (nothing is overwritten).
    """
    directory = Path(directory)
    models = directory / "models"
    if models.exists() and any(models.iterdir()):
        raise FileExistsError(f"{models}: already holds files; choose a new --write directory")
    models.mkdir(parents=True, exist_ok=True)
    prefix = f"FastAttentionXML-{name}"
    tree = victim.model
    for level, network in enumerate(tree.levels):
        state = network.state_dict()
        if level:
            state = {f"Network.{key}": tensor for key, tensor in state.items()}
        torch.save(state, models / f"{prefix}-Level-{level}")
    label_sets = _leaf_labels(tree)
    for level in range(len(tree.levels) - 1):
        groups = np.empty(len(label_sets[level]), dtype=object)
        groups[:] = label_sets[level]
        np.save(models / f"{prefix}-cluster-Level-{level}.npy", groups, allow_pickle=True)
    np.save(models / "vocab.npy", np.array(victim.tokenizer.vocab))
    (models / "labels.txt").write_text("\n".join(victim.labels) + "\n", encoding="utf-8")
    return models


def _leaf_labels(tree) -> List[List[np.ndarray]]:
    """For every level but the last, each node's labels (the union of its descendants' labels)."""
    last = len(tree.levels) - 2
    below = [row[row < tree.sizes[last + 1]].numpy() for row in tree.children_of(last)[:-1]]
    result = [below]
    for level in range(last - 1, -1, -1):
        table = tree.children_of(level)[:-1]
        below = [np.concatenate([below[c] for c in row[row < tree.sizes[level + 1]].tolist()]) for row in table]
        result.insert(0, below)
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=AMAZON_670K, help="number of labels L (default 670091)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=160, help="beam width (default 160, the original's)")
    parser.add_argument("--write", metavar="DIR", help="write the tree in the original's layout under DIR/models")
    args = parser.parse_args(argv)
    if args.labels < 2:
        print(f"synthetic_tree.py: --labels {args.labels}: a tree needs at least 2 labels", file=sys.stderr)
        return 2
    if args.write and (Path(args.write) / "models").exists() and any((Path(args.write) / "models").iterdir()):
        print(f"synthetic_tree.py: --write {args.write}: {args.write}/models already holds files; "
              f"choose a new directory", file=sys.stderr)
        return 2
    victim = build_tree_victim(args.labels, seed=args.seed, top=args.top)
    print(f"levels: {tree_level_sizes(args.labels)}")
    print(describe_size(victim))
    if args.write:
        print(f"wrote {write_original_tree(victim, args.write)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
