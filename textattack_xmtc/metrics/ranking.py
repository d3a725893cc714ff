"""Ranking metrics of extreme multilabel classification: P@k, nDCG@k, PSP@k.

Scores are an ``[N, L]`` numpy array or torch tensor (any device); true labels
are, per document, an iterable of label INDICES (columns of the scores). The
top-k is taken in row batches so that N x L never needs a second copy.
Documents without true labels score 0 on every metric (callers that want to
skip them filter them out first).

PSP@k uses Jain et al. (2016) inverse propensities and is normalised by the
best achievable value, as in the Extreme Classification Repository's tools.

Usage::

    p1 = precision_at_k(scores, [[3, 7], [1]], k=1)
    inv_p = inverse_propensity(train_label_counts, n_train=len(train_texts))
    psp5 = psp_at_k(scores, true_sets, 5, inv_p)
"""
from __future__ import annotations

import math
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np
import torch

Scores = Union[np.ndarray, torch.Tensor]
LabelSets = Sequence[Iterable[int]]

_ROWS_PER_BATCH = 2048


def inverse_propensity(label_counts: Sequence[float], n_train: int, A: float = 0.55, B: float = 1.5) -> np.ndarray:
    """Jain et al.'s ``1 / p_l = 1 + C (N_l + B)^-A`` with ``C = (ln N - 1)(B + 1)^A``.

    Usage::

        inv_p = inverse_propensity([120, 3, 0], n_train=7775)  # rarer labels get larger weights
    """
    counts = np.asarray(label_counts, dtype=np.float64)
    c = (math.log(n_train) - 1.0) * (B + 1.0) ** A
    return 1.0 + c * (counts + B) ** (-A)


def top_k_indices(scores: Scores, k: int) -> np.ndarray:
    """Column indices of the k best scores of each row, best first, as int64 [N, k].

    Usage::

        top_k_indices(np.array([[0.1, 0.9, 0.5]]), 2)  # [[1, 2]]
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    tensor = torch.as_tensor(scores)
    if tensor.ndim != 2:
        raise ValueError(f"scores must be [N, L], got shape {tuple(tensor.shape)}")
    k = min(k, tensor.shape[1])
    parts = []
    for start in range(0, tensor.shape[0], _ROWS_PER_BATCH):
        batch = tensor[start:start + _ROWS_PER_BATCH]
        parts.append(torch.topk(batch.float(), k, dim=1).indices.cpu())
    if not parts:
        return np.zeros((0, k), dtype=np.int64)
    return torch.cat(parts).numpy().astype(np.int64)


def _ranked_hits(scores: Scores, true_label_sets: LabelSets, k: int):
    """``(top, hits)``: top-k indices [N, k'] and a 0/1 float matrix [N, k] of true labels at rank i.

    k' = min(k, L); the columns of ``hits`` beyond k' stay 0.
    """
    top = top_k_indices(scores, k)
    if len(true_label_sets) != top.shape[0]:
        raise ValueError(f"{top.shape[0]} score rows but {len(true_label_sets)} true label sets")
    hits = np.zeros((top.shape[0], k), dtype=np.float64)
    for row, labels in enumerate(true_label_sets):
        truth = set(int(label) for label in labels)
        ranked = top[row]
        hits[row, : len(ranked)] = [label in truth for label in ranked]
    return top, hits


def _hits(scores: Scores, true_label_sets: LabelSets, k: int) -> np.ndarray:
    return _ranked_hits(scores, true_label_sets, k)[1]


def precision_at_k(scores: Scores, true_label_sets: LabelSets, k: int) -> float:
    """Mean over documents of (true labels among the top k) / k.

    Usage::

        precision_at_k(np.array([[0.9, 0.1], [0.2, 0.8]]), [[0], [0]], k=1)  # 0.5
    """
    hits = _hits(scores, true_label_sets, k)
    return float(hits.sum(axis=1).mean() / k) if len(hits) else 0.0


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(scores: Scores, true_label_sets: LabelSets, k: int) -> float:
    """Mean nDCG@k with binary relevance; the ideal DCG uses min(k, |true labels|) hits.

    Usage::

        ndcg_at_k(scores, true_sets, k=5)
    """
    hits = _hits(scores, true_label_sets, k)
    if not len(hits):
        return 0.0
    discounts = _discounts(k)
    dcg = hits @ discounts
    ideal_counts = np.array([min(k, len(set(labels))) for labels in true_label_sets])
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[ideal_counts]
    ratios = np.divide(dcg, ideal, out=np.zeros_like(dcg), where=ideal > 0)
    return float(ratios.mean())


def psp_at_k(scores: Scores, true_label_sets: LabelSets, k: int, inv_propensities: Sequence[float],
             normalize: bool = True) -> float:
    """Propensity-scored precision@k; normalised by the best achievable PSP@k unless told not to.

    Usage::

        psp_at_k(scores, true_sets, 5, inverse_propensity(counts, n_train))
    """
    inv_p = np.asarray(inv_propensities, dtype=np.float64)
    top, hits = _ranked_hits(scores, true_label_sets, k)
    if not len(hits):
        return 0.0
    gained = (hits[:, : top.shape[1]] * inv_p[top]).sum() / k
    if not normalize:
        return float(gained / len(hits))
    best = sum(_best_gain(labels, inv_p, k) for labels in true_label_sets) / k
    return float(gained / best) if best > 0 else 0.0


def _best_gain(labels: Iterable[int], inv_p: np.ndarray, k: int) -> float:
    weights = sorted((inv_p[int(label)] for label in set(labels)), reverse=True)
    return float(sum(weights[:k]))


def ranking_report(scores: Scores, true_label_sets: LabelSets, ks: Sequence[int] = (1, 3, 5),
                   inv_propensities: Optional[Sequence[float]] = None) -> dict:
    """``{"P@1": .., "nDCG@1": .., ["PSP@1": ..], ...}`` for every k in ``ks``.

    Usage::

        ranking_report(scores, true_sets, ks=(1, 3, 5))
    """
    report = {}
    for k in ks:
        report[f"P@{k}"] = precision_at_k(scores, true_label_sets, k)
    for k in ks:
        report[f"nDCG@{k}"] = ndcg_at_k(scores, true_label_sets, k)
    if inv_propensities is not None:
        for k in ks:
            report[f"PSP@{k}"] = psp_at_k(scores, true_label_sets, k, inv_propensities)
    return report


def label_index_sets(label_lists: Iterable[Iterable[str]], labels: Sequence[str]) -> List[List[int]]:
    """Map label names to indices of ``labels``; names not in ``labels`` are dropped.

    Usage::

        label_index_sets([["acq", "unknown"]], ["acq", "earn"])  # [[0]]
    """
    index = {name: i for i, name in enumerate(labels)}
    return [sorted({index[name] for name in names if name in index}) for names in label_lists]
