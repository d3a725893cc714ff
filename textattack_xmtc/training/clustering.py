"""A label tree for :class:`~textattack_xmtc.models.attentionxml_tree.AttentionXMLTree`: balanced 2-means on
TF-IDF label features.

As the original FastAttentionXML builds its tree (facts in DESIGN.md section
5; the code here is our own):

- a label's feature is the sum of the TF-IDF vectors of the training
  documents that carry it, L2-normalised (:func:`label_features`);
- the labels are split recursively by BALANCED 2-means: two centroids, each
  label goes to the half whose centroid it is closer to (cosine similarity),
  with the halves forced to equal sizes (they differ by one label at most),
  new centroids, again until the objective stops improving
  (:func:`balanced_two_means`);
- every cluster is split to the same depth ``D``, the smallest at which no
  cluster holds more than ``cluster_size`` labels (:func:`tree_depth`), so the
  ``2**D`` leaf clusters come in recursion order and an upper level simply
  groups consecutive clusters (node ``j`` of depth ``d`` holds leaves
  ``j * 2**(D - d)`` onwards).

A tree of ``levels`` networks has ``levels - 1`` cluster levels above the
labels; their depths are spread evenly over ``1..D`` (:func:`level_depths`).
:func:`build_label_tree` returns what ``AttentionXMLTree`` takes: for each
level but the last, each node's children at the next level (labels at the
last). Everything is deterministic for a seed.

Usage::

    features = label_features(encoded_documents, label_index_lists, labels_num=90, vocab_size=len(vocab))
    children = build_label_tree(features, cluster_size=8, levels=3, seed=0)
    tree = AttentionXMLTree(networks, children, top=160)
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

#: Leaf clusters hold at most this many labels unless told otherwise.
DEFAULT_CLUSTER_SIZE = 8
#: Networks in a tree unless told otherwise: top clusters, leaf clusters, labels (as the original's trees).
DEFAULT_LEVELS = 3
#: 2-means stops when the mean similarity improves by less than this (the original's threshold).
TOLERANCE = 1e-4
MAX_ITERATIONS = 100


class TreeShapeError(ValueError):
    """Tree options that cannot give a tree (a user error, reported in one line naming the option)."""


def check_tree_options(cluster_size: int, levels: int) -> None:
    """Raise :class:`TreeShapeError` naming the option when ``cluster_size`` < 2 or ``levels`` < 2.

    Usage::

        check_tree_options(cluster_size=1, levels=3)   # TreeShapeError: --cluster-size must be at least 2, got 1
    """
    for flag, value in (("--cluster-size", cluster_size), ("--levels", levels)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
            raise TreeShapeError(f"{flag} must be an integer of at least 2, got {value!r}")


# ---------------------------------------------------------------- features


def tfidf_matrix(documents: Sequence[Sequence[int]], vocab_size: int, skip: int = 2) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows [N, V] of documents given as word ids; ids below ``skip`` (pad, unknown) drop.

    Raw counts times the smoothed idf ``ln((1 + N) / (1 + df)) + 1``.

    Usage::

        tfidf_matrix([[2, 3, 3], [3, 4]], vocab_size=5)   # 2 x 5
    """
    rows = np.repeat(np.arange(len(documents)), [len(ids) for ids in documents])
    columns = np.fromiter((i for ids in documents for i in ids), dtype=np.int64, count=len(rows))
    keep = columns >= skip
    counts = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], columns[keep])),
                           shape=(len(documents), vocab_size))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=vocab_size)
    idf = np.log((1.0 + len(documents)) / (1.0 + df)) + 1.0
    return _normalise_rows(counts @ sp.diags(idf))


def label_features(documents: Sequence[Sequence[int]], label_sets: Sequence[Sequence[int]], labels_num: int,
                   vocab_size: int) -> sp.csr_matrix:
    """Each label's feature [L, V]: the sum of its documents' TF-IDF rows, L2-normalised (sparse throughout).

    ``label_sets[n]`` are document n's label indices. A label without documents has a zero row.

    Usage::

        features = label_features([[2, 3], [3, 4]], [[0], [0, 1]], labels_num=2, vocab_size=5)
    """
    rows = np.fromiter((label for labels in label_sets for label in labels), dtype=np.int64)
    columns = np.repeat(np.arange(len(label_sets)), [len(labels) for labels in label_sets])
    membership = sp.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(labels_num, len(label_sets)))
    return _normalise_rows(membership @ tfidf_matrix(documents, vocab_size))


def _normalise_rows(matrix) -> sp.csr_matrix:
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ matrix)


# ---------------------------------------------------------------- clustering


def balanced_two_means(features, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Split the rows of ``features`` (L2-normalised) into two halves of sizes ``ceil(n/2)`` and ``floor(n/2)``.

    Returns the row positions of each half, ascending. Each round ranks the
    rows by how much closer (cosine) they are to the first centroid than to
    the second and gives the first half the best-ranked; ties keep row order.

    Usage::

        left, right = balanced_two_means(features, np.random.default_rng(0))
    """
    n = features.shape[0]
    if n < 2:
        raise ValueError(f"cannot split {n} label(s) in two")
    half = n - n // 2
    centroids = _dense(features[np.sort(rng.choice(n, 2, replace=False))])
    best = -np.inf
    order = np.arange(n)
    for _ in range(MAX_ITERATIONS):
        similarity = _dense(features @ centroids.T)  # [n, 2]
        order = np.argsort(similarity[:, 1] - similarity[:, 0], kind="stable")
        left, right = order[:half], order[half:]
        objective = (similarity[left, 0].sum() + similarity[right, 1].sum()) / n
        if objective - best < TOLERANCE:
            break
        best = objective
        centroids = _normalise_dense(np.vstack([_dense(features[left].sum(axis=0)),
                                                _dense(features[right].sum(axis=0))]))
    return np.sort(order[:half]), np.sort(order[half:])


def _dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float64)


def _normalise_dense(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def tree_depth(labels_num: int, cluster_size: int) -> int:
    """The fewest halvings D after which no cluster of ``labels_num`` labels exceeds ``cluster_size``.

    Usage::

        tree_depth(90, 8)   # 4: 16 clusters of 5 or 6 labels
    """
    depth = 0
    while -(-labels_num // (2 ** depth)) > cluster_size:
        depth += 1
    return depth


def level_depths(depth: int, levels: int) -> List[int]:
    """The recursion depth of each cluster level (``levels - 1`` of them), spread evenly, the last ``depth``.

    Usage::

        level_depths(4, 3)   # [2, 4]: 4 top clusters, 16 leaf clusters
    """
    return [depth * (i + 1) // (levels - 1) for i in range(levels - 1)]


def leaf_clusters(features, depth: int, seed: int = 0) -> List[np.ndarray]:
    """The ``2**depth`` leaf clusters (label indices, ascending) of recursive balanced 2-means, in recursion order.

    Usage::

        leaves = leaf_clusters(features, depth=4, seed=0)   # 16 arrays
    """
    features = sp.csr_matrix(features)
    rng = np.random.default_rng(seed)
    clusters = [np.arange(features.shape[0])]
    for _ in range(depth):
        split = []
        for members in clusters:
            left, right = balanced_two_means(features[members], rng)
            split += [members[left], members[right]]
        clusters = split
    return clusters


def _tree_shape_advice(labels_num: int, cluster_size: int, levels: int) -> str:
    """Options that do give a tree, as the user can type them (both options are at least 2)."""
    fixes = []
    if tree_depth(labels_num, cluster_size) >= 1:
        fixes.append(f"--levels {tree_depth(labels_num, cluster_size) + 1}")
    largest = -(-labels_num // 2 ** (levels - 1))  # the largest cluster size that still splits levels - 1 times
    if largest >= 2:
        fixes.append(f"--cluster-size {largest}")
    if fixes:
        return "use " + " or ".join(fixes)
    if tree_depth(labels_num, 2) >= 1:
        return f"use --cluster-size 2 --levels {tree_depth(labels_num, 2) + 1}"
    # Even clusters of 2 labels and 2 levels need 3 labels: no option helps.
    return (f"{labels_num} label(s) are too few for a label tree (it needs at least 3); "
            f"train --architecture attentionxml instead")


def build_label_tree(features, cluster_size: int = DEFAULT_CLUSTER_SIZE, levels: int = DEFAULT_LEVELS,
                     seed: int = 0, labels_num: Optional[int] = None) -> List[List[np.ndarray]]:
    """Children lists of a ``levels``-network tree over the rows of ``features`` (``AttentionXMLTree``'s shape).

    ``result[i][j]`` holds node j of level i's children at level i + 1 (label
    indices at the last). Raises :class:`TreeShapeError` naming the option when
    the labels are too few for ``levels`` (each cluster level must split at
    least once more than the one above).

    Usage::

        children = build_label_tree(label_features(docs, label_sets, L, V), cluster_size=8, levels=3)
    """
    check_tree_options(cluster_size, levels)
    labels_num = features.shape[0] if labels_num is None else labels_num
    depth = tree_depth(labels_num, cluster_size)
    if depth < levels - 1:
        fewest = cluster_size * 2 ** (levels - 2) + 1
        raise TreeShapeError(f"--levels {levels}: {labels_num} labels in clusters of at most --cluster-size "
                             f"{cluster_size} allow {depth + 1} level(s) at most (this many levels needs more "
                             f"than {fewest - 1} labels); {_tree_shape_advice(labels_num, cluster_size, levels)}")
    leaves = leaf_clusters(features, depth, seed)
    depths = level_depths(depth, levels)
    children = []
    for upper, lower in zip(depths[:-1], depths[1:]):
        fan_out = 2 ** (lower - upper)
        children.append([np.arange(j * fan_out, (j + 1) * fan_out, dtype=np.int64) for j in range(2 ** upper)])
    children.append([members.astype(np.int64) for members in leaves])
    return children


def node_paths(children: Sequence[Sequence[np.ndarray]], labels_num: int) -> List[np.ndarray]:
    """For each level, the node of that level above each label ([levels][L]; the last is the labels themselves).

    Usage::

        paths = node_paths(children, 90)   # paths[0][17]: label 17's top cluster
    """
    node = np.arange(labels_num)
    paths = [node]
    for groups in reversed(children):
        parent = np.full(max((int(g.max()) for g in groups if len(g)), default=-1) + 1, -1, dtype=np.int64)
        for index, group in enumerate(groups):
            parent[group] = index
        node = parent[node]
        paths.insert(0, node)
    return paths


__all__ = ["DEFAULT_CLUSTER_SIZE", "DEFAULT_LEVELS", "TreeShapeError", "balanced_two_means", "build_label_tree",
           "check_tree_options", "label_features", "leaf_clusters", "level_depths", "node_paths", "tfidf_matrix",
           "tree_depth"]
