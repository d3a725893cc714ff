"""The paper's metrics, as its results_all.py and plot_results.py compute them."""
import pytest

from textattack_xmtc.metrics.attack import paper_metrics, plot_results_metrics


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


def test_textattack_word_count_is_a_second_column():
    rows = [dict(row("succeeded", 9, words=100), textattack_words=80),  # 9% of 100, 11% of 80
            dict(row("succeeded", 4, words=50), textattack_words=45),
            dict(row("failed", 30, words=100), textattack_words=90)]
    metrics = paper_metrics(rows)
    assert metrics.success_rate == pytest.approx(2 / 3)
    assert metrics.change_rate == pytest.approx((9 + 4) / (100 + 50))
    assert metrics.success_rate_textattack_words == pytest.approx(1 / 3)
    assert metrics.change_rate_textattack_words == pytest.approx(4 / 45)


def test_rows_without_textattack_words_leave_that_column_out():
    metrics = paper_metrics([row("succeeded", 1)])
    assert metrics.success_rate_textattack_words is None and metrics.change_rate_textattack_words is None
    assert not any("TextAttack" in name for name, _ in metrics.table_rows())


def test_labels_say_what_each_figure_averages_over():
    rows = [dict(row("succeeded", 5), textattack_words=100), dict(row("failed", 50), textattack_words=100)]
    labels = [name for name, _ in paper_metrics(rows).table_rows()]
    assert labels == [
        "Targets attacked (not skipped):",
        "Success rate: successes with < 10% of words changed / targets attacked "
        "(words = whitespace tokens of the original, split(' ')):",
        "Success rate, sim > 0.8: successes with < 10% of words changed and similarity > 0.8 / targets attacked:",
        "Average similarity: successes with < 10% of words changed count their similarity, "
        "all other attacked targets 0:",
        "Change rate: words changed / words, pooled over the successes with < 10% of words changed:",
        "Success rate: successes with < 10% of TextAttack's words changed / targets attacked "
        "(TextAttack's word count):",
        "Change rate: words changed / TextAttack's words, pooled over those successes (TextAttack's word count):",
    ]
    assert all(label.endswith(":") for label in labels)


def test_plot_results_definition_counts_ten_percent_and_averages_similarity_over_hits():
    rows = [
        row("succeeded", 5, similarity=0.9),
        row("succeeded", 10, similarity=0.7),   # 10% exactly: a hit for plot_results.py only
        row("succeeded", 11, similarity=0.95),  # over 10%: no hit for either
        row("failed", 50, similarity=0.5),
        row("skipped", 0, similarity=None),
    ]
    results_all, plot_results = paper_metrics(rows), plot_results_metrics(rows)
    assert results_all.success_rate == pytest.approx(1 / 4)
    assert plot_results.success_rate == pytest.approx(2 / 4)
    assert plot_results.success_rate_high_similarity == pytest.approx(1 / 4)
    assert results_all.average_similarity == pytest.approx(0.9 / 4)   # over all attacked targets
    assert plot_results.average_similarity == pytest.approx((0.9 + 0.7) / 2)  # over the hits
    assert plot_results.change_rate == pytest.approx((5 + 10) / 200)
    assert (plot_results.attacked, plot_results.skipped, plot_results.successes) == (4, 1, 3)


def test_plot_results_definition_without_hits_or_encoder():
    no_hits = plot_results_metrics([row("failed", 50)])
    assert no_hits.success_rate == 0.0 and no_hits.average_similarity is None and no_hits.change_rate is None
    no_encoder = plot_results_metrics([row("succeeded", 1, similarity=None)])
    assert no_encoder.success_rate == 1.0 and no_encoder.average_similarity is None
    assert no_encoder.success_rate_high_similarity is None
