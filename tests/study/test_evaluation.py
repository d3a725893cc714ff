"""The study's evaluation: overall and per-bin metrics on a victim whose scores the test sets."""
import math

import numpy as np
import pytest
import torch

from textattack_xmtc.datasets import Corpus
from textattack_xmtc.metrics.ranking import NonFiniteScoresError, inverse_propensity, top_k_indices
from textattack_xmtc.study.bins import BinSizeError
from textattack_xmtc.study.evaluation import (
    NoKnownLabelsError,
    UnknownDatasetError,
    evaluate_victim,
    format_evaluation,
    known_dataset,
    propensity_for,
)
from textattack_xmtc.training.evaluation import evaluate, predict_scores, stream_top_k

LABELS = ["a", "b", "c", "d", "e", "f"]
# Training frequencies a 1, b 1, c 2, d 5, e 5, f 9: with bin size 2 the bins are
# 1-1 {a, b}, 2-5 {c, d, e} and 9-9 {f}.
TRAIN = Corpus([f"train {i}" for i in range(9)],
               [["f"] + (["d"] if i < 5 else []) + (["e"] if i >= 4 else []) + (["c"] if i < 2 else [])
                + (["a"] if i == 2 else []) + (["b"] if i == 3 else []) for i in range(9)])
SCORES = {"t1": [0.9, 0.1, 0.8, 0.2, 0.0, 0.3],  # ranks a c f d b e
          "t2": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],  # ranks f e d c b a
          "t3": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
          "t4": [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]}
# t3 has no label (skipped); zzz is a label the model never saw.
TEST = Corpus(["t1", "t2", "t3", "t4"], [["a", "d", "zzz"], ["b"], [], ["zzz"]])
D = [1 / math.log2(i + 2) for i in range(5)]


@pytest.fixture
def victim(table_victim):
    return table_victim(SCORES, LABELS)


def test_train_frequencies_are_as_the_comment_says():
    assert {label: TRAIN.label_counts()[label] for label in LABELS} == dict(a=1, b=1, c=2, d=5, e=5, f=9)


def test_overall_metrics_by_hand(victim):
    summary = evaluate_victim(victim, TEST, TRAIN, bin_size=2)
    metrics = summary.metrics
    assert metrics["P@1"] == pytest.approx(1 / 3)            # t1 hits a; t2 and t4 miss
    assert metrics["P@3"] == pytest.approx((1 / 3) / 3)      # t1: a among a c f
    assert metrics["P@5"] == pytest.approx((2 / 5 + 1 / 5) / 3)
    # t1: hits at ranks 1 and 4, ideal of 3 true labels (zzz counts); t2: b at rank 5; t4: nothing.
    ndcg5 = ((D[0] + D[3]) / (D[0] + D[1] + D[2]) + D[4] / D[0] + 0) / 3
    assert metrics["nDCG@5"] == pytest.approx(ndcg5)
    inv = inverse_propensity([1, 1, 2, 5, 5, 9, 0], n_train=9)  # zzz: training frequency 0
    a, b, d, zzz = inv[0], inv[1], inv[3], inv[6]
    assert metrics["PSP@1"] == pytest.approx(a / (zzz + b + zzz))
    assert metrics["PSP@5"] == pytest.approx((a + d + b) / ((zzz + a + d) + b + zzz))
    assert {key: metrics[key] for key in ("test_documents", "test_documents_skipped", "unknown_label_documents",
                                          "unknown_labels")} == {"test_documents": 3, "test_documents_skipped": 1,
                                                                  "unknown_label_documents": 2, "unknown_labels": 1}
    assert summary.unknown_labels == ["zzz"]
    assert (summary.propensity.A, summary.propensity.B) == (0.55, 1.5)


def test_per_bin_shares_and_recall_by_hand(victim):
    bins = {row["name"]: row for row in evaluate_victim(victim, TEST, TRAIN, bin_size=2).bins}
    assert list(bins) == ["1-1", "2-5", "9-9"]
    assert [bins[name]["labels"] for name in bins] == [2, 3, 1]
    assert [bins[name]["pairs"] for name in bins] == [2, 1, 0]  # (t1, a), (t2, b); (t1, d); zzz is in no bin
    # P@5: hits a (t1), b (t2) in bin 1-1 and d (t1) in 2-5, over 5 x 3 documents.
    assert [bins[name]["P@5"] for name in bins] == pytest.approx([2 / 15, 1 / 15, 0.0])
    assert [bins[name]["R@5"] for name in bins] == pytest.approx([1.0, 1.0, 0.0])
    assert [bins[name]["R@1"] for name in bins] == pytest.approx([1 / 2, 0.0, 0.0])


def test_bin_shares_sum_to_the_overall_precision(victim):
    summary = evaluate_victim(victim, TEST, TRAIN, bin_size=1)
    for k in (1, 3, 5):
        assert sum(row[f"P@{k}"] for row in summary.bins) == pytest.approx(summary.metrics[f"P@{k}"])


def test_train_evaluate_uses_the_same_metrics(victim):
    counts = TRAIN.label_counts()
    report = evaluate(victim, TEST, train_counts=[counts[label] for label in LABELS], n_train=len(TRAIN))
    summary = evaluate_victim(victim, TEST, TRAIN, bin_size=2)
    assert report == pytest.approx(summary.metrics)


def test_a_test_set_without_any_known_label_is_refused_before_scoring(victim):
    with pytest.raises(NoKnownLabelsError, match="none of the 2 documents"):
        evaluate_victim(victim, Corpus(["t1", "t2"], [["zzz"], ["yyy"]], source="x/test.jsonl"), TRAIN)
    assert victim.calls == []


def test_without_training_data_psp_and_bins_are_left_out_with_a_note(victim):
    summary = evaluate_victim(victim, TEST)
    assert "PSP@1" not in summary.metrics and summary.bins == [] and summary.propensity is None
    assert "no training data" in summary.notes[0]
    assert summary.metrics["P@1"] == pytest.approx(1 / 3)


def test_a_bin_size_above_the_label_count_is_a_note_or_an_error(victim):
    summary = evaluate_victim(victim, TEST, TRAIN, bin_size=7)
    assert summary.bins == [] and "larger than the 6 labels" in summary.notes[0]
    with pytest.raises(BinSizeError, match="larger than the 6 labels"):
        evaluate_victim(victim, TEST, TRAIN, bin_size=7, strict_bin_size=True)


def test_nan_scores_are_an_error_naming_the_model(table_victim):
    broken = table_victim({"t1": [0.1] * 5 + [float("nan")]}, LABELS, default=[0.5] * 6)
    broken.source = "broken-model"
    with pytest.raises(NonFiniteScoresError, match="model broken-model .* document 1"):
        evaluate_victim(broken, TEST, TRAIN, bin_size=2)


def test_stream_top_k_matches_the_dense_scores_in_any_batch_size(table_victim):
    rng = np.random.default_rng(0)
    texts = [f"doc {i}" for i in range(11)]
    # Rounded scores, so that ties occur.
    victim = table_victim({text: np.round(rng.random(30), 1).tolist() for text in texts}, [str(i) for i in range(30)])
    expected = top_k_indices(predict_scores(victim, texts), 5)
    for batch_size in (1, 4, 64):
        np.testing.assert_array_equal(stream_top_k(victim, texts, 5, batch_size=batch_size), expected)


def test_logit_scores_rank_like_probabilities(table_victim):
    logits = table_victim({"t": [2.0, -1.0, 3.0]}, ["x", "y", "z"], score_type="logits")
    assert stream_top_k(logits, ["t"], 2).tolist() == [[2, 0]]
    assert torch.allclose(predict_scores(logits, ["t"]), torch.sigmoid(torch.tensor([[2.0, -1.0, 3.0]])))


@pytest.mark.parametrize("name, expected", [("AmazonCat-13K", (0.6, 2.6)), ("amazoncat13k", (0.6, 2.6)),
                                            ("AMAZON-670K", (0.6, 2.6)), ("wikilshtc-325k", (0.5, 0.4)),
                                            ("Wikipedia-500K", (0.5, 0.4)), ("wiki10-31k", (0.55, 1.5))])
def test_dataset_names_pick_their_propensity_constants(name, expected):
    propensity = propensity_for(name)
    assert (propensity.A, propensity.B) == expected
    assert known_dataset(name) in propensity.reason


def test_propensity_defaults_overrides_and_unknown_names():
    assert (propensity_for().A, propensity_for().B) == (0.55, 1.5)
    assert "defaults" in propensity_for().reason
    partly = propensity_for("Amazon-670K", A=0.7)
    assert (partly.A, partly.B) == (0.7, 2.6) and "A given" in partly.reason
    from_data = propensity_for(data_name="AmazonCat-13K")
    assert (from_data.A, from_data.B) == (0.6, 2.6) and "data's name" in from_data.reason
    with pytest.raises(UnknownDatasetError, match="'EURLex-5K'.*known: .*AmazonCat-13K"):
        propensity_for("EURLex-5K")


def test_the_readable_output_names_counts_propensity_and_bins(victim):
    text = format_evaluation(evaluate_victim(victim, TEST, TRAIN, bin_size=2))
    assert "Documents measured: 3 (skipped, no label at all: 1)" in text
    assert "Labels the model never saw: 1 (zzz), in 2 documents; counted as misses" in text
    assert "A=0.55, B=1.5" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line[:1].isdigit()}
    assert rows["1-1"][:3] == ["1-1", "2", "2"] and float(rows["1-1"][5]) == pytest.approx(2 / 15, abs=1e-4)
    assert "sum to the overall P@k" in text


def test_the_training_log_keeps_its_table_and_names_unknown_labels(victim):
    from textattack_xmtc.training.evaluation import evaluate_after_training

    lines = []
    metrics = evaluate_after_training(victim, TRAIN, TEST, "Tiny", False, lines.append)
    header, table = lines[0].split("\n", 1)
    assert header == ("Tiny on the test set (3 documents; 2 of them carry 1 label(s) the model never saw "
                      "(counted as misses)):")
    assert [row.split()[0] for row in table.splitlines()] == ["k", "P@k", "nDCG@k", "PSP@k"]
    assert float(table.splitlines()[1].split()[1]) == pytest.approx(metrics["P@1"], abs=1e-4)


def test_the_propensity_reason_names_the_defaults_when_a_dataset_uses_them():
    from textattack_xmtc.study.evaluation import propensity_for

    reuters = propensity_for(data_name="reuters21578")
    assert (reuters.A, reuters.B) == (0.55, 1.5)
    assert reuters.reason == "Jain et al. (2016) defaults, used for reuters21578 (from the data's name)"
    amazon = propensity_for("amazon-670k")
    assert amazon.reason.startswith("Extreme Classification Repository values for Amazon-670K")
