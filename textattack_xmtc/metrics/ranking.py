"""Ranking metrics of extreme multilabel classification: P@k, nDCG@k, PSP@k, and P@k / R@k per label bin.

Every metric reads RANKED label indices (``[N, >= k]`` ints, best first, as
:func:`top_k_indices` gives them), never dense scores: a test set of N
documents over 670,000 labels needs only its top-k kept (see
:func:`textattack_xmtc.training.evaluation.stream_top_k`). True labels are,
per document, an iterable of label INDICES.

Conventions (one implementation of each, used by ``train`` and ``evaluate``):

- Ties in the scores go to the lower label index (:func:`top_k_indices`), so
  results do not depend on the sort routine.
- Labels the model never saw stay in the truth: :func:`truth_index_sets`
  gives them indices ``L, L + 1, ...`` past the model's columns, so they can
  never be ranked (a miss), they count towards nDCG@k's ideal DCG
  (``min(k, |truth|)`` hits), and PSP@k's best achievable value weighs them
  with the inverse propensity of a label of training frequency 0.
- Documents with an EMPTY truth set are left out of every mean (there is
  nothing to measure); a metric over no measurable document is 0.0.

PSP@k uses Jain et al. (2016) inverse propensities and is normalised by the
best achievable value summed over documents, as in the Extreme
Classification Repository's tools.

Usage::

    ranked = top_k_indices(scores, 5)
    truth, unknown = truth_index_sets(test.labels, wrapper.labels)
    p1 = precision_at_k(ranked, truth, k=1)
    inv_p = inverse_propensity(train_label_counts + [0] * len(unknown), n_train=len(train))
    psp5 = psp_at_k(ranked, truth, 5, inv_p)
"""
from __future__ import annotations

import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

Scores = Union[np.ndarray, torch.Tensor]
Ranked = Union[np.ndarray, Sequence[Sequence[int]]]
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


class NonFiniteScoresError(ValueError):
    """Scores with NaN or infinite values: a broken model, never a robust one or a ranking."""


def top_k_indices(scores: Scores, k: int) -> np.ndarray:
    """Column indices of the k best scores of each row, best first, as int64 [N, min(k, L)].

    Equal scores are ranked by column, lower first (``torch.topk`` leaves
    their order open). NaN or infinite scores raise :class:`NonFiniteScoresError`.

    Usage::

        top_k_indices(np.array([[0.1, 0.9, 0.5]]), 2)  # [[1, 2]]
        top_k_indices(np.array([[0.5, 0.9, 0.5]]), 2)  # [[1, 0]]: the tie goes to column 0
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    tensor = torch.as_tensor(scores)
    if tensor.ndim != 2:
        raise ValueError(f"scores must be [N, L], got shape {tuple(tensor.shape)}")
    if not bool(torch.isfinite(tensor).all()):
        raise NonFiniteScoresError("scores contain NaN or infinite values")
    k = min(k, tensor.shape[1])
    parts = [stable_top_k(tensor[start:start + _ROWS_PER_BATCH].detach().float(), k)[1].cpu().numpy()
             for start in range(0, tensor.shape[0], _ROWS_PER_BATCH)]
    return np.concatenate(parts) if parts else np.zeros((0, k), dtype=np.int64)


def stable_top_k(scores: torch.Tensor, k: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(values, indices)`` of the k best scores of each row of ``[B, L]``, best first, ties by lower column.

    The one implementation of the package's tie rule, on the scores' device and
    in O(B x L): ``topk`` finds each row's k-th score; every score above it is
    kept, and of the scores EQUAL to it the leftmost ones fill the row up to k
    (``topk`` itself leaves the order of ties open). Values keep their autograd
    history (gradient word importance differentiates them). ``k`` must be at
    most L; scores must not be NaN (callers check).

    Usage::

        values, indices = stable_top_k(torch.tensor([[0.5, 0.9, 0.5]]), 2)   # indices [[1, 0]]
    """
    rows = scores.shape[0]
    if k == 0 or rows == 0:
        return scores[:, :0], torch.zeros((rows, 0), dtype=torch.long, device=scores.device)
    threshold = torch.topk(scores, k, dim=1).values[:, -1:]
    above = scores > threshold
    equal = scores == threshold
    room = k - above.sum(dim=1, keepdim=True)
    keep = above | (equal & (equal.cumsum(dim=1) <= room))
    # nonzero() lists row by row, columns ascending: exactly k per row.
    columns = keep.nonzero()[:, 1].reshape(rows, k)
    values = scores.gather(1, columns)
    order = torch.sort(values.detach(), dim=1, descending=True, stable=True).indices
    return values.gather(1, order), columns.gather(1, order)


def truth_index_sets(label_lists: Iterable[Iterable[str]], labels: Sequence[str]) -> Tuple[List[List[int]], List[str]]:
    """Label names -> index sets over the model's ``labels``, KEEPING names the model does not know.

    Unknown names get indices ``len(labels)``, ``len(labels) + 1``, ... in
    order of first appearance (returned as the second value), so the metrics
    count them as true labels that are never ranked.

    Usage::

        truth_index_sets([["acq", "zzz"], []], ["acq", "earn"])  # ([[0, 2], []], ["zzz"])
    """
    index = {name: i for i, name in enumerate(labels)}
    unknown: Dict[str, int] = {}
    sets = []
    for names in label_lists:
        row = set()
        for name in names:
            if name not in index and name not in unknown:
                unknown[name] = len(labels) + len(unknown)
            row.add(index[name] if name in index else unknown[name])
        sets.append(sorted(row))
    return sets, list(unknown)


def label_index_sets(label_lists: Iterable[Iterable[str]], labels: Sequence[str]) -> List[List[int]]:
    """Map label names to indices of ``labels``; names not in ``labels`` are dropped (training targets).

    Usage::

        label_index_sets([["acq", "unknown"]], ["acq", "earn"])  # [[0]]
    """
    sets, _ = truth_index_sets(label_lists, labels)
    return [[i for i in row if i < len(labels)] for row in sets]


def _measured(ranked: Ranked, true_label_sets: LabelSets, k: int):
    """``(ranked [M, k'] ints, truth [M sets])`` of the documents with a non-empty truth set."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    ranked = np.asarray(ranked, dtype=np.int64)
    if ranked.size == 0 and ranked.ndim < 2:
        ranked = ranked.reshape(0, 0)
    truth = [set(int(label) for label in labels) for labels in true_label_sets]
    if ranked.ndim != 2 or len(truth) != ranked.shape[0]:
        raise ValueError(f"{ranked.shape[0] if ranked.ndim else 0} ranked rows but {len(truth)} true label sets")
    keep = [row for row, labels in enumerate(truth) if labels]
    return ranked[keep, :k], [truth[row] for row in keep]


def hits_at_k(ranked: Ranked, true_label_sets: LabelSets, k: int) -> Tuple[np.ndarray, np.ndarray, list]:
    """``(ranked, hits, truth)`` of the measured documents: ``hits[d, i]`` is 1.0 when rank i is true.

    ``hits`` has k columns even when fewer labels were ranked (those stay 0).

    Usage::

        ranked, hits, truth = hits_at_k(top, true_sets, 5)
    """
    ranked, truth = _measured(ranked, true_label_sets, k)
    hits = np.zeros((len(truth), k), dtype=np.float64)
    for row, labels in enumerate(truth):
        hits[row, : ranked.shape[1]] = [label in labels for label in ranked[row]]
    return ranked, hits, truth


def precision_at_k(ranked: Ranked, true_label_sets: LabelSets, k: int) -> float:
    """Mean over measured documents of (true labels among the top k) / k.

    Usage::

        precision_at_k([[0], [1]], [[0], [0]], k=1)  # 0.5
    """
    _, hits, _ = hits_at_k(ranked, true_label_sets, k)
    return float(hits.sum(axis=1).mean() / k) if len(hits) else 0.0


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(ranked: Ranked, true_label_sets: LabelSets, k: int) -> float:
    """Mean nDCG@k with binary relevance; the ideal DCG has min(k, |true labels|) hits (unknown ones too).

    Usage::

        ndcg_at_k(top, true_sets, k=5)
    """
    _, hits, truth = hits_at_k(ranked, true_label_sets, k)
    if not len(hits):
        return 0.0
    discounts = _discounts(k)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[[min(k, len(labels)) for labels in truth]]
    return float(((hits @ discounts) / ideal).mean())


def psp_at_k(ranked: Ranked, true_label_sets: LabelSets, k: int, inv_propensities: Sequence[float],
             normalize: bool = True) -> float:
    """Propensity-scored precision@k; normalised by the best achievable PSP@k unless told not to.

    ``inv_propensities`` covers every index in the truth sets (unknown labels too).

    Usage::

        psp_at_k(top, true_sets, 5, inverse_propensity(counts, n_train))
    """
    inv_p = np.asarray(inv_propensities, dtype=np.float64)
    ranked, hits, truth = hits_at_k(ranked, true_label_sets, k)
    if not len(hits):
        return 0.0
    gained = (hits[:, : ranked.shape[1]] * inv_p[ranked]).sum() / k
    if not normalize:
        return float(gained / len(hits))
    best = sum(_best_gain(labels, inv_p, k) for labels in truth) / k
    return float(gained / best) if best > 0 else 0.0


def _best_gain(labels: Iterable[int], inv_p: np.ndarray, k: int) -> float:
    weights = sorted((inv_p[label] for label in labels), reverse=True)
    return float(sum(weights[:k]))


def ranking_report(ranked: Ranked, true_label_sets: LabelSets, ks: Sequence[int] = (1, 3, 5),
                   inv_propensities: Optional[Sequence[float]] = None) -> Dict[str, float]:
    """``{"P@1": .., "nDCG@1": .., ["PSP@1": ..], ...}`` for every k in ``ks`` (``ranked`` has >= max(ks) columns).

    Usage::

        ranking_report(top_k_indices(scores, 5), true_sets, ks=(1, 3, 5))
    """
    report = {f"P@{k}": precision_at_k(ranked, true_label_sets, k) for k in ks}
    report.update({f"nDCG@{k}": ndcg_at_k(ranked, true_label_sets, k) for k in ks})
    if inv_propensities is not None:
        report.update({f"PSP@{k}": psp_at_k(ranked, true_label_sets, k, inv_propensities) for k in ks})
    return report


def binned_at_k(ranked: Ranked, true_label_sets: LabelSets, k: int, label_bins: Sequence[int],
                n_bins: int) -> Dict[str, np.ndarray]:
    """P@k and R@k per label bin; ``label_bins[i]`` is label i's bin (-1: in none, e.g. unknown labels).

    - ``precision``: the bin's share of P@k, hits in the top k whose label is
      in the bin over ``k x measured documents``; the bins' values sum to P@k
      when every rankable label is in a bin.
    - ``recall``: of the bin's true (document, label) pairs, the fraction
      ranked in the top k (0.0 for a bin without pairs).
    - ``pairs``: the bin's true (document, label) pairs; ``hits``: of them, ranked in the top k.

    ``label_bins`` must cover every index in the truth sets.

    Usage::

        binned_at_k(top, true_sets, 5, label_bins=[0, 0, 1], n_bins=2)["precision"]  # array([.., ..])
    """
    bins = np.asarray(label_bins, dtype=np.int64)
    ranked, hits, truth = hits_at_k(ranked, true_label_sets, k)
    hit_bins = bins[ranked][hits[:, : ranked.shape[1]] > 0]
    hit_counts = np.bincount(hit_bins[hit_bins >= 0], minlength=n_bins).astype(np.float64)
    true_bins = bins[[label for labels in truth for label in labels]] if truth else np.zeros(0, dtype=np.int64)
    pair_counts = np.bincount(true_bins[true_bins >= 0], minlength=n_bins).astype(np.float64)
    return {"precision": hit_counts / (k * len(truth)) if truth else np.zeros(n_bins),
            "recall": np.divide(hit_counts, pair_counts, out=np.zeros(n_bins), where=pair_counts > 0),
            "pairs": pair_counts.astype(np.int64), "hits": hit_counts.astype(np.int64)}
