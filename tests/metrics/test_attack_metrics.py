"""The paper's metrics, as its results_all.py computes them."""
import pytest

from textattack_xmtc.metrics.attack import paper_metrics


def row(status, changed, words=100, similarity=0.9):
    return {"status": status, "words_changed": changed, "words": words, "similarity": similarity}


def test_definitions():
    rows = [
        row("succeeded", 5, similarity=0.9),    # counts, high similarity
        row("succeeded", 9, similarity=0.7),    # counts, low similarity
        row("succeeded", 10, similarity=0.95),  # 10% changed: not "fewer than 10%"
        row("failed", 50, similarity=0.5),
        row("skipped", 0, similarity=None),
    ]
    metrics = paper_metrics(rows)
    assert (metrics.attacked, metrics.skipped, metrics.successes) == (4, 1, 3)
    assert metrics.success_rate == pytest.approx(2 / 4)
    assert metrics.success_rate_high_similarity == pytest.approx(1 / 4)
    assert metrics.average_similarity == pytest.approx((0.9 + 0.7) / 4)  # failures count 0
    assert metrics.change_rate == pytest.approx((5 + 9) / 200)


def test_without_encoder_similarity_metrics_are_absent():
    metrics = paper_metrics([row("succeeded", 1, similarity=None)])
    assert metrics.success_rate == 1.0
    assert metrics.average_similarity is None and metrics.success_rate_high_similarity is None
    assert all("sim" not in name for name, _ in metrics.table_rows())


def test_nothing_attacked():
    metrics = paper_metrics([row("skipped", 0, similarity=None)])
    assert metrics.attacked == 0 and metrics.success_rate == 0.0 and metrics.change_rate is None
