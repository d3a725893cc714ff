"""The report's tables (both adv-xmtc definitions, per bin), escaping, run checks and plots, on hand-made rows."""
import json

import pytest

from textattack_xmtc.study.plots import X_LABEL, Y_LABEL, PlotSeries, success_rate_figure
from textattack_xmtc.study.report import (
    ReportError,
    Run,
    default_label,
    group_by_bin,
    html_report,
    markdown_report,
    marked_html,
    read_run,
    summarize,
    summary_text,
)


def row(status, changed, words=100, similarity=0.9, bin="1-3", queries=10, seconds=1.0, **extra):
    return dict(status=status, words_changed=changed, words=words, similarity=similarity, bin=bin,
                queries=queries, seconds=seconds, attack="positive-targeted", change_rate=changed / words,
                **extra)


def by_name(summaries):
    return {summary.name: summary for summary in summaries}


def test_a_hit_at_exactly_ten_percent_counts_for_plot_results_only():
    rows = [row("succeeded", 10, similarity=0.85), row("succeeded", 5, similarity=0.6), row("failed", 40)]
    overall = by_name(summarize(rows))["overall"]
    assert overall.results_all.success_rate == pytest.approx(1 / 3)
    assert overall.plot_results.success_rate == pytest.approx(2 / 3)
    assert overall.results_all.average_similarity == pytest.approx(0.6 / 3)
    assert overall.plot_results.average_similarity == pytest.approx((0.85 + 0.6) / 2)
    assert overall.plot_results.success_rate_high_similarity == pytest.approx(1 / 3)
    assert overall.results_all.success_rate_high_similarity == 0.0


def test_bins_are_ordered_by_frequency_and_rows_without_bin_go_to_all():
    rows = [row("succeeded", 1, bin="10-99"), row("failed", 50, bin="2-3"), row("succeeded", 2, bin=None),
            row("succeeded", 3, bin="100-400"), row("succeeded", 4, bin="2-3")]
    assert list(group_by_bin(rows)) == ["2-3", "10-99", "100-400", "all"]
    summaries = by_name(summarize(rows))
    assert list(summaries) == ["overall", "2-3", "10-99", "100-400", "all"]
    assert summaries["2-3"].targets == 2 and summaries["2-3"].results_all.success_rate == pytest.approx(0.5)
    assert summaries["overall"].targets == 5


def test_skipped_rows_are_counted_and_excluded_from_rates_and_means():
    rows = [row("succeeded", 1, queries=30, seconds=2.0), row("skipped", 0, similarity=None, queries=0, seconds=0.0),
            row("failed", 50, queries=90, seconds=4.0)]
    overall = by_name(summarize(rows))["overall"]
    assert overall.skipped == 1 and overall.targets == 3
    assert overall.results_all.success_rate == pytest.approx(1 / 2)
    assert overall.mean_queries == pytest.approx(60) and overall.mean_seconds == pytest.approx(3.0)


def test_summary_text_names_both_definitions_and_every_bin():
    text = summary_text([row("succeeded", 10, bin="1-3"), row("failed", 30, bin="4-9")])
    lines = text.splitlines()
    assert any(line.startswith("results_all.py definition") for line in lines)
    assert any(line.startswith("plot_results.py definition") for line in lines)
    result_all_bin = next(line for line in lines if line.startswith("1-3"))
    assert "0.0%" in result_all_bin.split()  # 10% exactly is no hit for results_all.py
    plot_results_bin = [line for line in lines if line.startswith("1-3")][1]
    assert "100.0%" in plot_results_bin.split()
    assert any(line.startswith("4-9") for line in lines)


def test_documents_and_labels_are_escaped():
    hostile = "buy <script>alert(1)</script> now & later"
    rows = [row("succeeded", 1, original_text=hostile, perturbed_text=hostile.replace("now", "<b>today</b>"),
                label="<img src=x onerror=alert(2)>")]
    run = Run(path="run", meta={}, rows=rows, label="<i>model</i> · xmtc-pos")
    page = html_report([run], plots={}, examples=3)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<i>model</i>" not in page and "&lt;i&gt;model" in page
    assert "<del>now</del> <ins>&lt;b&gt;today&lt;/b&gt;</ins>" in page
    markdown = markdown_report([run], examples=3)
    assert "<script>" not in markdown and "<b>today</b>" not in markdown


def test_changed_words_are_marked():
    assert marked_html("the cat sat on the mat", "the dog sat on the rug") == (
        "the <del>cat</del> <ins>dog</ins> sat on the <del>mat</del> <ins>rug</ins>")


def test_plot_has_labelled_axes_title_and_a_legend_per_run():
    pos = [row("succeeded", 1, bin="0-0"), row("failed", 30, bin="1-3"), row("succeeded", 2, bin="10-20")]
    neg = [dict(r, attack="negative-targeted") for r in pos]
    figure = success_rate_figure([PlotSeries.from_rows("BCE · xmtc-pos", "pos", pos),
                                  PlotSeries.from_rows("PW · xmtc-pos", "pos", pos[:2]),
                                  PlotSeries.from_rows("BCE · xmtc-neg", "neg", neg)])
    panels = figure.axes
    assert [ax.get_title() for ax in panels] == ["positive-targeted", "negative-targeted"]
    for ax in panels:
        assert ax.get_xlabel() == X_LABEL and ax.get_ylabel() == Y_LABEL and ax.get_xscale() == "log"
    legend = [text.get_text() for text in panels[0].get_legend().get_texts()]
    assert "BCE · xmtc-pos" in legend and "PW · xmtc-pos" in legend
    line = panels[0].get_lines()[0]
    assert list(line.get_xdata()) == [0.5, 2.0, 15.0]  # frequency 0 drawn at 0.5, midpoints otherwise
    assert list(line.get_ydata()) == [100.0, 0.0, 100.0]


def write_run(directory, rows, recipe="xmtc-pos"):
    directory.mkdir()
    (directory / "run.json").write_text(json.dumps({"format": "textattack-xmtc-run", "version": 1,
                                                    "model": "m", "recipe": recipe}))
    (directory / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return directory


def test_read_run_checks(tmp_path):
    good = read_run(write_run(tmp_path / "good", [row("succeeded", 1)]))
    assert good.kind == "pos" and good.label == "m · xmtc-pos"
    cases = {
        "empty": ([], "empty"),
        "mixed": ([row("succeeded", 1), dict(row("failed", 1), attack="negative-targeted")], "mixes rows"),
        "wrong-recipe": ([dict(row("failed", 1), attack="negative-targeted")], "another run"),
        "nan": ([row("succeeded", 1, similarity=float("nan"))], "NaN"),
    }
    for name, (rows, message) in cases.items():
        with pytest.raises(ReportError, match=message):
            read_run(write_run(tmp_path / name, rows))
    with pytest.raises(ReportError, match="no run.json"):
        read_run(tmp_path)


def with_target_count(directory, rows):
    """run.json records the targets file's rows, as ``experiment`` writes it."""
    meta = json.loads((directory / "run.json").read_text())
    (directory / "run.json").write_text(json.dumps(dict(meta, targets={"path": "t.jsonl", "rows": rows})))
    return directory


def test_an_unfinished_run_says_how_many_targets_are_done_and_a_finished_one_says_nothing(tmp_path):
    # was a table over 2 targets with nothing saying that 1 of 3 was missing
    rows = [row("succeeded", 1, target_number=0), row("failed", 50, target_number=1)]
    unfinished = read_run(with_target_count(write_run(tmp_path / "unfinished", rows), 3))
    note = ("2 of 3 targets done (unfinished run; run `textattack-xmtc experiment` again with the same "
            "options, and no --num-targets, to finish it)")
    assert unfinished.unfinished == note
    assert note in html_report([unfinished], {})
    assert "2 of 3 targets done (unfinished run; run \\`textattack-xmtc experiment\\` again" in (
        markdown_report([unfinished]))
    repeated = read_run(with_target_count(write_run(tmp_path / "repeated", rows + rows[:1]), 3))
    assert repeated.unfinished.startswith("2 of 3 targets done")  # a repeated row is one target
    finished = read_run(with_target_count(write_run(tmp_path / "finished", rows), 2))
    older = read_run(write_run(tmp_path / "older", rows))  # run.json without a count: nothing to compare
    edited = read_run(with_target_count(write_run(tmp_path / "edited", rows), "3"))
    for run in (finished, older, edited):
        assert run.unfinished is None
        assert "unfinished run" not in html_report([run], {}) + markdown_report([run])


def test_default_label_is_the_model_name_and_recipe():
    assert default_label({"model": "attentionxml-reuters21578", "recipe": "xmtc-neg"}) == (
        "attentionxml-reuters21578 · xmtc-neg")
    assert default_label({"model": "x", "victim": {"source": "/models/bce-eurlex/"}, "recipe": "xmtc-pos"}) == (
        "bce-eurlex · xmtc-pos")


def test_without_similarity_the_similarity_columns_are_dashes_in_both_definitions():
    # encoder none and no hit: results_all's average similarity was shown as 0.000 (a vacuous mean)
    rows = [row("failed", 50, similarity=None), row("failed", 40, similarity=None)]
    overall = by_name(summarize(rows))["overall"]
    assert overall.results_all.average_similarity is None
    assert overall.results_all.success_rate_high_similarity is None
    overall_lines = [line.split() for line in summary_text(rows).splitlines() if line.startswith("overall")]
    assert [line[3:6] for line in overall_lines] == [["0.0%", "-", "-"]] * 2  # success, sim>0.8, avg sim
    # with an encoder, failures count 0 for results_all
    rows = [row("failed", 50, similarity=0.7)]
    assert by_name(summarize(rows))["overall"].results_all.average_similarity == 0.0


def test_hand_edited_or_damaged_runs_are_report_errors(tmp_path):
    # each was a traceback: TypeError, UnicodeDecodeError, AttributeError (or a silently wrong table)
    cases = {
        "text-words": ([dict(row("succeeded", 1), words="many")], "words = 'many', not a number"),
        "text-queries": ([row("failed", 50, queries="x")], "queries = 'x', not a number"),
        "no-status": ([row(None, 1)], "status = None"),
    }
    for name, (rows, message) in cases.items():
        with pytest.raises(ReportError, match=message):
            read_run(write_run(tmp_path / name, rows))
    binary = write_run(tmp_path / "binary", [row("succeeded", 1)])
    with open(binary / "results.jsonl", "ab") as results:
        results.write(b"\xff\xfe\n")
    with pytest.raises(ReportError, match="results.jsonl:2 is not UTF-8"):
        read_run(binary)
    edited = write_run(tmp_path / "edited", [row("succeeded", 1)])
    meta = json.loads((edited / "run.json").read_text())
    (edited / "run.json").write_text(json.dumps(dict(meta, victim="x")))
    assert read_run(edited).label.endswith("xmtc-pos")


@pytest.mark.parametrize("line, message", [
    (b"{oops\n", r"results.jsonl:2 is not a JSON row \(Expecting property name .*\): the results file is damaged$"),
    (b'["a list"]\n', r'results.jsonl:2 is not a result row \(no "status"/"words"\)$'),
    # NaN/Infinity are refused wherever they are (before: only in the numeric fields)
    (b'{"status": "failed", "words": 3, "label": NaN}\n',
     r"results.jsonl:2 holds NaN: NaN/inf is not a result; the victim or the encoder produced invalid numbers, "
     r"rerun that target$"),
    (b'{"status": "failed", "words": 3, "similarity": -Infinity}\n', r"results.jsonl:2 holds -Infinity: NaN/inf"),
    (b'{"status": "failed", "words": 3, "words_changed": 0, "similarity": 1e999}\n',  # JSON's overflow to inf
     r"results.jsonl:2 has similarity = inf: NaN/inf"),
])
def test_a_damaged_line_is_one_report_error_naming_the_first_bad_line(tmp_path, line, message):
    run_dir = write_run(tmp_path / "run", [row("succeeded", 1)])
    with open(run_dir / "results.jsonl", "ab") as results:
        results.write(line + b"{later damage\n")
    with pytest.raises(ReportError, match=message):
        read_run(run_dir)
    first = write_run(tmp_path / "first", [row("succeeded", 1), row(None, 1)])  # line 2: a status that is no text
    with open(first / "results.jsonl", "ab") as results:
        results.write(line)
    with pytest.raises(ReportError, match=r"results.jsonl:2 has status = None"):
        read_run(first)


# -- transferability columns (transfer.jsonl) and loss-aware labels ---------------------------

def transfer_row(number, transferred, weights="b" * 64, model="/models/victim-b", reason=None):
    return {"target_number": number, "label": "x", "k": 1, "attack_kind": "pos", "model": model,
            "victim": {"weights_sha256": weights, "source": model}, "rank_before": 1, "rank_after": 2,
            "in_top_k_before": True, "in_top_k_after": False, "transferred": transferred,
            "reason": reason if transferred is not None else (reason or "goal already met on the original document")}


def numbered(rows):
    return [dict(r, target_number=i) for i, r in enumerate(rows)]


def test_transfer_columns_give_transferred_over_judged_per_bin_and_overall(tmp_path):
    rows = numbered([row("succeeded", 1, bin="1-3"), row("succeeded", 1, bin="1-3"), row("succeeded", 1, bin="1-3"),
                     row("failed", 50, bin="1-3"), row("succeeded", 1, bin="4-9"), row("succeeded", 1, bin="4-9")])
    run_dir = write_run(tmp_path / "run", rows)
    assert "transfers to" not in markdown_report([read_run(run_dir)])  # no transfer.jsonl: no column
    transfers = [transfer_row(0, True), transfer_row(1, False), transfer_row(2, None),  # 1-3: 1 of 2
                 transfer_row(4, True), transfer_row(5, True),  # 4-9: 2 of 2
                 transfer_row(0, False, weights="c" * 64, model="victim-c"),  # another victim: 1-3 0 of 1
                 transfer_row(5, None, weights="c" * 64, model="victim-c", reason="label 'x' is not among ...")]
    (run_dir / "transfer.jsonl").write_text("".join(json.dumps(t) + "\n" for t in transfers))
    run = read_run(run_dir)
    assert list(run.transfers) == ["victim-b", "victim-c"]

    markdown = markdown_report([run])
    header = next(line for line in markdown.splitlines() if line.startswith("| bin"))
    assert header.endswith("| transfers to victim-b | transfers to victim-c |"), header
    cells = {line.split(" | ")[0][2:]: line.strip("| ").split(" | ")[-2:] for line in markdown.splitlines()
             if line.startswith("| ") and not line.startswith("| bin")}
    assert cells["overall"] == ["75.0% (3/4)", "0.0% (0/1)"]
    assert cells["1-3"] == ["50.0% (1/2)", "0.0% (0/1)"]
    assert cells["4-9"] == ["100.0% (2/2)", "-"]  # victim-c judged no 4-9 success: no rate, not 0%
    assert markdown.count("transfers to &lt;name&gt;: of the successful attacks") == 2  # each table's legend
    page = html_report([run], plots={})
    assert page.count("<th>transfers to victim-b</th>") == 2 and "<td>75.0% (3/4)</td>" in page
    assert "<td>100.0% (2/2)</td>" in page and "transfers to &lt;name&gt;: of the successful attacks" in page
    assert "whose goal did not already hold" in summary_text(run.rows, run.transfers)


def test_a_damaged_transfer_file_is_one_error_naming_file_and_line(tmp_path):
    run_dir = write_run(tmp_path / "run", numbered([row("succeeded", 1)]))
    (run_dir / "transfer.jsonl").write_text(json.dumps(transfer_row(0, True)) + "\n{oops\n")
    with pytest.raises(ReportError, match=r"transfer.jsonl:2 is not a transfer row"):
        read_run(run_dir)
    (run_dir / "transfer.jsonl").write_text(json.dumps(transfer_row(0, True))[:30])
    with pytest.raises(ReportError, match=r"transfer.jsonl:1 is an unfinished row"):
        read_run(run_dir)


def test_the_label_names_the_loss_and_adversarial_training():
    victim = {"source": "/models/attentionxml", "loss": "pw (A 0.55, B 1.5)",
              "adversarial": "2 rounds, 37 adversarial documents"}
    meta = {"model": "m", "recipe": "xmtc-pos", "victim": victim}
    assert default_label(meta) == ("attentionxml · loss pw (A 0.55, B 1.5) · adversarial 2 rounds, 37 adversarial "
                                   "documents · xmtc-pos")
    meta["victim"].update(loss="bce", adversarial="")
    assert default_label(meta) == "attentionxml · loss bce · xmtc-pos"


# -- two tiny models, BCE and PW, attacked on the same targets and reported together ----------

def train_and_attack(root, loss, targets):
    import os

    import torch

    from conftest import synthetic_corpus
    from textattack_xmtc.study.experiment import ExperimentConfig, run_experiment
    from textattack_xmtc.training.attentionxml import train_attentionxml

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("XMTC_")}
    try:
        wrapper, _ = train_attentionxml(synthetic_corpus(240, 0), None, epochs=10, batch_size=16, lr=5e-3,
                                        hidden_size=16, linear_size=[16], emb_size=16, glove_init=False,
                                        loss=loss, seed=0, progress=False, log=lambda *_: None)
        model = root / "attentionxml" / loss  # one directory name: only the loss tells the runs apart
        model.parent.mkdir(exist_ok=True)
        wrapper.save(model)
        run_experiment(ExperimentConfig(model=str(model), targets=str(targets), recipe="xmtc-pos",
                                        out=str(root / f"run-{loss}"), options={"encoder": "none", "threads": 1},
                                        progress=False), log=lambda _: None)
    finally:
        torch.set_num_threads(threads)
        os.environ.update(hidden)
    return model, root / f"run-{loss}"


def test_a_bce_run_and_a_pw_run_are_told_apart_in_tables_and_on_one_plot(tmp_path):
    from commands import write_targets
    from conftest import synthetic_corpus
    from textattack_xmtc.study.transfer import rescore_run

    corpus = synthetic_corpus(12, 5)
    targets = write_targets(tmp_path / "targets.jsonl", [
        {"text": text, "labels": labels, "target": labels[0], "k": 2, "bin": ["1-5", "6-20"][i % 2], "attack": "pos"}
        for i, (text, labels) in enumerate(zip(corpus.texts, corpus.labels))])
    models, runs = {}, {}
    for loss in ("bce", "pw"):
        models[loss], runs[loss] = train_and_attack(tmp_path, loss, targets)
    summary = rescore_run(runs["bce"], str(models["pw"]), progress=False)
    read = [read_run(runs["bce"]), read_run(runs["pw"])]
    labels = [run.label for run in read]
    assert labels == ["bce · loss bce · xmtc-pos", "pw · loss pw (A 0.55, B 1.5) · xmtc-pos"]
    markdown = markdown_report(read)
    page = html_report(read, plots={})
    for label in labels:
        assert f"## {label}" in markdown and f"<h2>{label}</h2>" in page
    assert list(read[0].transfers) == ["pw"] and not read[1].transfers
    assert summary.judged > 0, summary.text()
    expected = f"{100 * summary.transferred / summary.judged:.1f}% ({summary.transferred}/{summary.judged})"
    print(summary.text())
    overall = [line for line in markdown.split("## pw")[0].splitlines() if line.startswith("| overall")]
    assert overall and all(line.strip("| ").split(" | ")[-1] == expected for line in overall), overall

    figure = success_rate_figure([PlotSeries.from_rows(run.label, run.kind, run.rows) for run in read])
    (panel,) = figure.axes
    legend = [text.get_text() for text in panel.get_legend().get_texts()]
    assert set(labels) <= set(legend), legend
    drawn = [line for line in panel.get_lines() if line.get_label() in labels]
    assert len(drawn) == 2 and all(len(line.get_xdata()) == 2 for line in drawn)  # both bins, both runs
