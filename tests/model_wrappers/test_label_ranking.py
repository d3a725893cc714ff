"""The narrow victim contract: LabelRanking from dense scores against a plain stable sort."""
import numpy as np
import pytest
import torch

from textattack_xmtc.metrics.ranking import NonFiniteScoresError, stable_top_k
from textattack_xmtc.model_wrappers.base import LabelRanking, rank_from_scores


def reference(scores: np.ndarray, labels, k):
    """Ranks and top lists from a full stable descending sort (ties: lower index first)."""
    order = np.argsort(-scores, axis=1, kind="stable")
    width = scores.shape[1]
    top = [list(row[:k]) + [width] * max(0, k - width) for row in order]
    ranks = [[int(np.where(row == label)[0][0]) + 1 for label in labels] for row in order]
    return top, ranks


@pytest.mark.parametrize("k", [1, 3, 6, 9])
def test_ranking_equals_a_full_stable_sort_with_many_ties(k):
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 3, size=(11, 7)).astype(np.float32)  # most scores tie
    labels = [0, 6, 3]
    ranking = rank_from_scores(torch.from_numpy(scores), labels, k)
    top, ranks = reference(scores, labels, k)
    assert ranking.top_labels.tolist() == top
    assert ranking.ranks.tolist() == ranks
    assert ranking.scores.tolist() == scores[:, labels].tolist()
    expected_top_scores = [[scores[row, label] if label < 7 else float("-inf") for label in top[row]]
                           for row in range(11)]
    assert ranking.top_scores.tolist() == expected_top_scores  # k > L pads with label L and -inf


def test_columns_keeps_the_top_lists_and_selects_asked_labels():
    ranking = rank_from_scores(torch.tensor([[0.1, 0.9, 0.5]]), [2, 0], 2)
    picked = ranking.columns([1])
    assert picked.scores.tolist() == [[pytest.approx(0.1)]] and picked.ranks.tolist() == [[3]]
    assert picked.top_labels.tolist() == ranking.top_labels.tolist() == [[1, 2]]
    assert isinstance(picked, LabelRanking)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_scores_are_refused_before_ranking(bad):
    with pytest.raises(NonFiniteScoresError):
        rank_from_scores(torch.tensor([[0.1, bad, 0.5]]), [0], 2)


def test_stable_top_k_keeps_the_gradient_of_the_values():
    scores = torch.tensor([[0.3, 0.7, 0.7, 0.1]], requires_grad=True)
    values, indices = stable_top_k(scores, 2)
    assert indices.tolist() == [[1, 2]]
    values.sum().backward()
    assert scores.grad.tolist() == [[0.0, 1.0, 1.0, 0.0]]
