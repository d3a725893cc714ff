"""P@k, nDCG@k and PSP@k against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from textattack_xmtc.metrics import ranking
from textattack_xmtc.metrics.ranking import (
    inverse_propensity,
    label_index_sets,
    ndcg_at_k,
    precision_at_k,
    psp_at_k,
    ranking_report,
    top_k_indices,
)

# Rankings: row 0 -> [2, 0, 1, 3]; row 1 -> [3, 1, 0, 2]
SCORES = np.array([[0.5, 0.2, 0.9, 0.1],
                   [0.3, 0.6, 0.0, 0.8]])
TRUE = [[0, 3], [1]]


def test_top_k_indices_best_first():
    assert top_k_indices(SCORES, 2).tolist() == [[2, 0], [3, 1]]
    assert top_k_indices(SCORES, 9).shape == (2, 4)  # k above L is cut to L


def test_precision_at_k_by_hand():
    assert precision_at_k(SCORES, TRUE, 1) == 0.0
    assert precision_at_k(SCORES, TRUE, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert precision_at_k(SCORES, TRUE, 4) == pytest.approx((2 / 4 + 1 / 4) / 2)


def test_ndcg_at_k_by_hand():
    d = [1 / math.log2(i + 2) for i in range(4)]
    row0 = d[1] / (d[0] + d[1])   # hit at rank 2; two true labels
    row1 = d[1] / d[0]            # hit at rank 2; one true label
    assert ndcg_at_k(SCORES, TRUE, 2) == pytest.approx((row0 + row1) / 2)
    row0_k4 = (d[1] + d[3]) / (d[0] + d[1])
    assert ndcg_at_k(SCORES, TRUE, 4) == pytest.approx((row0_k4 + row1) / 2)
    assert ndcg_at_k(SCORES, [[2, 0], [3, 1]], 2) == pytest.approx(1.0)


def test_inverse_propensity_formula():
    counts, n = np.array([0, 10, 1000]), 5000
    c = (math.log(n) - 1) * (1.5 + 1) ** 0.55
    expected = 1 + c * (counts + 1.5) ** -0.55
    np.testing.assert_allclose(inverse_propensity(counts, n), expected)
    np.testing.assert_allclose(inverse_propensity(counts, n, A=0.6, B=2.6),
                               1 + (math.log(n) - 1) * 3.6 ** 0.6 * (counts + 2.6) ** -0.6)
    weights = inverse_propensity(counts, n)
    assert weights[0] > weights[1] > weights[2] > 1  # rare labels weigh more


def test_psp_at_k_by_hand():
    inv_p = np.array([1.0, 2.0, 3.0, 4.0])
    # k = 2: row 0 top [2, 0] hits label 0 (1.0); row 1 top [3, 1] hits label 1 (2.0).
    gained = (1.0 + 2.0) / 2
    best = ((4.0 + 1.0) + 2.0) / 2  # row 0's best two: labels 3 and 0; row 1: label 1
    assert psp_at_k(SCORES, TRUE, 2, inv_p) == pytest.approx(gained / best)
    assert psp_at_k(SCORES, TRUE, 2, inv_p, normalize=False) == pytest.approx(gained / 2)


def test_torch_and_numpy_scores_agree_and_batches_do_not_matter(monkeypatch):
    rng = np.random.default_rng(0)
    scores = rng.random((50, 30))
    true = [rng.choice(30, size=rng.integers(1, 5), replace=False).tolist() for _ in range(50)]
    inv_p = inverse_propensity(rng.integers(0, 100, 30), 1000)
    for row in range(0, 50, 2):  # a half-good model, so that every metric is strictly between 0 and 1
        scores[row, true[row]] += 0.5
    full = ranking_report(scores, true, (1, 3, 5), inv_p)
    assert set(full) == {f"{m}@{k}" for m in ("P", "nDCG", "PSP") for k in (1, 3, 5)}
    assert ranking_report(torch.tensor(scores), true, (1, 3, 5), inv_p) == pytest.approx(full)
    monkeypatch.setattr(ranking, "_ROWS_PER_BATCH", 7)
    assert ranking_report(scores, true, (1, 3, 5), inv_p) == pytest.approx(full)
    assert 0 < full["P@1"] < 1 and 0 < full["PSP@5"] <= 1


def test_documents_without_true_labels_score_zero():
    assert precision_at_k(SCORES, [[], [3]], 1) == pytest.approx(0.5)
    assert ndcg_at_k(SCORES, [[], [3]], 1) == pytest.approx(0.5)


def test_row_count_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 score rows but 1"):
        precision_at_k(SCORES, [[0]], 1)


def test_label_index_sets_drops_unknown_names():
    assert label_index_sets([["earn", "zzz", "acq"], []], ["acq", "earn"]) == [[0, 1], []]
