"""P@k, nDCG@k, PSP@k and the per-bin P@k / R@k against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from textattack_xmtc.metrics import ranking
from textattack_xmtc.metrics.ranking import (
    NonFiniteScoresError,
    binned_at_k,
    inverse_propensity,
    label_index_sets,
    ndcg_at_k,
    precision_at_k,
    psp_at_k,
    ranking_report,
    top_k_indices,
    truth_index_sets,
)

# Rankings: row 0 -> [2, 0, 1, 3]; row 1 -> [3, 1, 0, 2]
SCORES = np.array([[0.5, 0.2, 0.9, 0.1],
                   [0.3, 0.6, 0.0, 0.8]])
RANKED = [[2, 0, 1, 3], [3, 1, 0, 2]]
TRUE = [[0, 3], [1]]
D = [1 / math.log2(i + 2) for i in range(5)]  # DCG discounts of ranks 1..5


def test_top_k_indices_best_first():
    assert top_k_indices(SCORES, 2).tolist() == [[2, 0], [3, 1]]
    assert top_k_indices(SCORES, 9).tolist() == RANKED  # k above L is cut to L
    assert top_k_indices(torch.tensor(SCORES), 4).tolist() == RANKED


def test_ties_go_to_the_lower_label_index():
    scores = np.array([[0.5, 0.9, 0.5, 0.5, 0.1],   # three-way tie across the k boundary
                       [0.0, 0.0, 0.0, 0.0, 0.0],   # everything tied
                       [0.2, 0.7, 0.7, 0.1, 0.7]])  # tie inside the top k
    assert top_k_indices(scores, 3).tolist() == [[1, 0, 2], [0, 1, 2], [1, 2, 4]]


def test_top_k_indices_in_batches_agrees_with_a_stable_full_sort(monkeypatch):
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(23, 40)).astype(np.float32)  # many ties
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :5]
    monkeypatch.setattr(ranking, "_ROWS_PER_BATCH", 7)
    np.testing.assert_array_equal(top_k_indices(scores, 5), expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_scores_are_refused(bad):
    scores = SCORES.copy()
    scores[1, 2] = bad
    with pytest.raises(NonFiniteScoresError, match="NaN or infinite"):
        top_k_indices(scores, 2)


def test_precision_at_k_by_hand():
    assert precision_at_k(RANKED, TRUE, 1) == 0.0
    assert precision_at_k(RANKED, TRUE, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert precision_at_k(RANKED, TRUE, 4) == pytest.approx((2 / 4 + 1 / 4) / 2)


def test_fewer_true_labels_than_k_still_divide_by_k():
    # One true label, ranked first: P@3 = 1/3, but nDCG@3 = 1 (the ideal has one hit too).
    assert precision_at_k([[1, 0, 2]], [[1]], 3) == pytest.approx(1 / 3)
    assert ndcg_at_k([[1, 0, 2]], [[1]], 3) == pytest.approx(1.0)
    # Fewer labels than k ranked at all (L = 2 < k = 3): P@3 still divides by 3.
    assert precision_at_k([[1, 0]], [[0, 1]], 3) == pytest.approx(2 / 3)


def test_ndcg_at_k_by_hand():
    row0 = D[1] / (D[0] + D[1])   # hit at rank 2; two true labels
    row1 = D[1] / D[0]            # hit at rank 2; one true label
    assert ndcg_at_k(RANKED, TRUE, 2) == pytest.approx((row0 + row1) / 2)
    row0_k4 = (D[1] + D[3]) / (D[0] + D[1])
    assert ndcg_at_k(RANKED, TRUE, 4) == pytest.approx((row0_k4 + row1) / 2)
    assert ndcg_at_k(RANKED, [[2, 0], [3, 1]], 2) == pytest.approx(1.0)


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
    assert psp_at_k(RANKED, TRUE, 2, inv_p) == pytest.approx(gained / best)
    assert psp_at_k(RANKED, TRUE, 2, inv_p, normalize=False) == pytest.approx(gained / 2)


def test_labels_the_model_never_saw_are_misses_everywhere():
    # Model labels 0..3; index 4 is a test label the model does not know (inverse propensity 10).
    truth = [[0, 4], [1]]
    inv_p = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    assert precision_at_k(RANKED, truth, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)  # unchanged
    # Row 0: hit at rank 2, ideal counts both true labels; row 1: hit at rank 2 of 1.
    assert ndcg_at_k(RANKED, truth, 2) == pytest.approx((D[1] / (D[0] + D[1]) + D[1] / D[0]) / 2)
    # PSP@2: gained 1.0 + 2.0; best: row 0 labels 4 and 0 (10 + 1), row 1 label 1 (2).
    assert psp_at_k(RANKED, truth, 2, inv_p) == pytest.approx(3.0 / 13.0)
    # A document whose only label is unknown counts, as a complete miss.
    assert precision_at_k(RANKED, [[4], [1]], 2) == pytest.approx((0 + 1 / 2) / 2)
    assert ndcg_at_k(RANKED, [[4], [1]], 2) == pytest.approx((0 + D[1] / D[0]) / 2)


def test_documents_without_true_labels_are_left_out_of_every_mean():
    assert precision_at_k(RANKED, [[], [3]], 1) == pytest.approx(1.0)
    assert ndcg_at_k(RANKED, [[], [3]], 1) == pytest.approx(1.0)
    inv_p = np.array([1.0, 2.0, 3.0, 4.0])
    assert psp_at_k(RANKED, [[], [1]], 2, inv_p) == pytest.approx((2.0 / 2) / (2.0 / 2))
    assert precision_at_k(RANKED, [[], []], 1) == 0.0  # nothing measurable
    assert ndcg_at_k([], [], 3) == 0.0


def test_ranking_report_has_every_metric_and_k():
    inv_p = inverse_propensity([5, 1, 0, 9], 20)
    report = ranking_report(RANKED, TRUE, (1, 2), inv_p)
    assert report == pytest.approx({"P@1": precision_at_k(RANKED, TRUE, 1), "P@2": 0.5,
                                    "nDCG@1": 0.0, "nDCG@2": ndcg_at_k(RANKED, TRUE, 2),
                                    "PSP@1": 0.0, "PSP@2": psp_at_k(RANKED, TRUE, 2, inv_p)})
    assert set(ranking_report(RANKED, TRUE, (1, 3))) == {"P@1", "P@3", "nDCG@1", "nDCG@3"}


def test_binned_at_k_by_hand():
    # Bins: labels 0 and 1 in bin 0, labels 2 and 3 in bin 1; label 4 unknown (no bin).
    label_bins = [0, 0, 1, 1, -1]
    truth = [[0, 3, 4], [1, 2], []]
    ranked = RANKED + [[0, 1, 2, 3]]
    # k = 2: row 0 top [2, 0] hits 0 (bin 0); row 1 top [3, 1] hits 1 (bin 0); row 2 is not measured.
    at2 = binned_at_k(ranked, truth, 2, label_bins, 2)
    np.testing.assert_allclose(at2["precision"], [2 / (2 * 2), 0.0])
    assert at2["pairs"].tolist() == [2, 2] and at2["hits"].tolist() == [2, 0]
    np.testing.assert_allclose(at2["recall"], [1.0, 0.0])
    assert at2["precision"].sum() == pytest.approx(precision_at_k(ranked, truth, 2))
    # k = 4: row 0 hits 0 and 3; row 1 hits 1 and 2. Bin 1 gets 2 of its 2 pairs.
    at4 = binned_at_k(ranked, truth, 4, label_bins, 2)
    np.testing.assert_allclose(at4["precision"], [2 / 8, 2 / 8])
    np.testing.assert_allclose(at4["recall"], [1.0, 1.0])
    assert at4["precision"].sum() == pytest.approx(precision_at_k(ranked, truth, 4))


def test_a_bin_without_test_pairs_has_recall_zero():
    result = binned_at_k([[0, 1]], [[0]], 1, [0, 1], 2)
    assert result["pairs"].tolist() == [1, 0]
    np.testing.assert_allclose(result["recall"], [1.0, 0.0])


def test_row_count_mismatch_is_an_error():
    with pytest.raises(ValueError, match="2 ranked rows but 1"):
        precision_at_k(RANKED, [[0]], 1)


def test_truth_index_sets_keep_unknown_names_past_the_model_labels():
    sets, unknown = truth_index_sets([["earn", "zzz", "acq"], [], ["yyy", "zzz"]], ["acq", "earn"])
    assert sets == [[0, 1, 2], [], [2, 3]] and unknown == ["zzz", "yyy"]


def test_label_index_sets_drops_unknown_names():
    assert label_index_sets([["earn", "zzz", "acq"], []], ["acq", "earn"]) == [[0, 1], []]
