"""``textattack-xmtc select-targets`` on the tiny AttentionXML and a dataset directory the test writes.

The command runs in subprocesses (the console script, then the stock
``textattack attack`` on its file); user mistakes are checked in-process
through ``main(argv)``, which is what the console script calls.
"""
import collections
import json
import os
import sys
from pathlib import Path

import pytest

from commands import require_install, run  # noqa: F401  (a fixture)
from conftest import synthetic_corpus
from textattack_xmtc.cli.select_targets import main
from textattack_xmtc.datasets import read_targets
from textattack_xmtc.model_wrappers import load_victim

REPO = Path(__file__).resolve().parents[2]
ERROR = "textattack-xmtc select-targets: error: "
OPTIONS = ["--k", "2", "--bin-size", "1", "--per-bin", "3", "--neg-per-bin", "2", "--quiet"]


def write_split(directory, split, texts, labels):
    """An AttentionXML split: one document per line, labels space-separated."""
    (directory / f"{split}_texts.txt").write_text("".join(text + "\n" for text in texts))
    (directory / f"{split}_labels.txt").write_text("".join(" ".join(names) + "\n" for names in labels))


@pytest.fixture
def dataset_dir(tmp_path):
    directory = tmp_path / "tiny-data"
    directory.mkdir()
    train, test = synthetic_corpus(80, 5), synthetic_corpus(30, 6)
    write_split(directory, "train", train.texts, train.labels)
    # A label the model does not know, and a blank document: neither may end up in a row.
    write_split(directory, "test", test.texts + ["snow and rain in the city", ""],
                test.labels + [["weather", "unheard-of"], ["fruit"]])
    return directory


def select_in_subprocess(model, data, out, *extra):
    return run("textattack-xmtc", "select-targets", "--model", str(model), "--data", str(data),
               "--out", str(out), *OPTIONS, *extra, env={"PYTHONPATH": str(REPO)})


def test_the_command_writes_the_papers_targets_and_says_what_next(tiny_attentionxml_dir, dataset_dir, tmp_path):
    out = tmp_path / "targets.jsonl"
    result = select_in_subprocess(tiny_attentionxml_dir, dataset_dir, out, "--threads", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seed 0; torch threads 1)" in result.stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    train_labels = (dataset_dir / "train_labels.txt").read_text().splitlines()
    counts = collections.Counter(name for line in train_labels for name in line.split())
    kinds = [row["attack"] for row in rows]
    assert "pos" in kinds and "neg" in kinds and kinds == sorted(kinds, reverse=True)  # pos, then neg
    for row in rows:
        low, high = map(int, row["bin"].split("-"))
        assert row["label_frequency"] == counts[row["target"]] and low <= row["label_frequency"] <= high
        assert "unheard-of" not in row["labels"] and row["text"].strip()
        assert (row["target"] in row["labels"]) == (row["attack"] == "pos")
        assert row["k"] == 2 and row["selection_seed"] == 0
    for kind in ("pos", "neg"):  # within a kind, bins go rarest first
        lows = [int(row["bin"].split("-")[0]) for row in rows if row["attack"] == kind]
        assert lows == sorted(lows)
    table = result.stdout.split("\n\n")[0].splitlines()
    assert table[0].split() == ["bin", "frequencies", "labels", "pos", "pairs", "pos", "neg"]
    shown = {line.split()[0]: line.split() for line in table[1:-1]}
    assert set(shown) == {row["bin"] for row in rows}
    for name, cells in shown.items():
        assert int(cells[4]) == sum(row["bin"] == name and row["attack"] == "pos" for row in rows)
        assert int(cells[5]) == sum(row["bin"] == name and row["attack"] == "neg" for row in rows)
    assert f"wrote {out}" in result.stdout
    assert "1 documents have true labels the model does not know" in result.stdout
    assert "1 documents with a blank text were left out" in result.stdout
    assert f"textattack-xmtc experiment --model {tiny_attentionxml_dir} --targets {out} --recipe xmtc-pos" \
        in result.stdout
    # what `experiment` does with it: read it against the model's labels
    assert len(read_targets(out, labels=load_victim(str(tiny_attentionxml_dir)).labels)) == len(rows)


def test_the_stock_command_attacks_the_file(tiny_attentionxml_dir, dataset_dir, tmp_path, require_install):
    out = tmp_path / "targets.jsonl"
    assert select_in_subprocess(tiny_attentionxml_dir, dataset_dir, out, "--attacks", "pos").returncode == 0
    assert {json.loads(line)["attack"] for line in out.read_text().splitlines()} == {"pos"}
    summary = tmp_path / "summary.json"
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(tiny_attentionxml_dir),
                 "--dataset-from-file", str(out), "--num-examples", "2", "--log-summary-to-json", str(summary),
                 env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    metrics = json.loads(summary.read_text())["XMTC metrics (Qaraei & Babbar)"]
    assert metrics["Targets attacked (not skipped):"] == 2  # selected positives pass the precondition


def test_the_same_seed_writes_the_same_file(tiny_attentionxml_dir, dataset_dir, tmp_path, capsys):
    common = ["--model", str(tiny_attentionxml_dir), "--data", str(dataset_dir), *OPTIONS]
    files = []
    for name, seed in (("a", "4"), ("b", "4"), ("c", "5")):
        assert main([*common, "--out", str(tmp_path / f"{name}.jsonl"), "--seed", seed]) == 0
        files.append((tmp_path / f"{name}.jsonl").read_bytes())
    assert files[0] == files[1] and files[0] != files[2]


def one_error_line(capsys, status):
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(ERROR), captured.err
    return lines[0]


@pytest.mark.parametrize("extra, message", [
    (["--bin-size", "9"], "binning the labels that can be positive targets (true labels in"),
    (["--split", "tset"], "has no 'tset' split"),
    (["--k", "4"], "k=4 but the model has only 4 labels"),
    (["--bin-size", "0"], "argument --bin-size: expected an integer from 1"),  # was argparse's usage block
    (["--seed", "-1"], "argument --seed: expected an integer from 0"),
    (["--threads", "2000"], "argument --threads: threads must be a positive integer up to 1024"),
    (["--per-bin", "0", "--neg-per-bin", "0"], "no target selected"),  # was an IndexError after writing
    pytest.param(["--device", "cuda"], "on device cuda", marks=pytest.mark.skipif(
        __import__("torch").cuda.is_available(), reason="CUDA is there")),  # was an AssertionError
])
def test_bad_options_are_one_line(tiny_attentionxml_dir, dataset_dir, tmp_path, capsys, extra, message):
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset_dir),
                   "--out", str(tmp_path / "t.jsonl"), *OPTIONS, *extra])
    assert message in one_error_line(capsys, status)
    assert not (tmp_path / "t.jsonl").exists()


def test_a_dataset_without_a_train_split_is_refused(tiny_attentionxml_dir, dataset_dir, tmp_path, capsys):
    for name in ("train_texts.txt", "train_labels.txt"):
        os.remove(dataset_dir / name)
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset_dir),
                   "--out", str(tmp_path / "t.jsonl"), *OPTIONS])
    assert "has no train split, needed for the labels' training frequencies" in one_error_line(capsys, status)


def test_a_model_of_other_labels_is_refused(tiny_attentionxml_dir, tmp_path, capsys):
    directory = tmp_path / "other-data"
    directory.mkdir()
    for split in ("train", "test"):
        write_split(directory, split, ["apple and iron", "rain on monday"], [["x"], ["y"]])
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(directory),
                   "--out", str(tmp_path / "t.jsonl"), *OPTIONS])
    assert "shares no label with the test documents" in one_error_line(capsys, status)


def test_a_single_jsonl_file_needs_training_data(tiny_attentionxml_dir, tmp_path, capsys):
    data = tmp_path / "test.jsonl"
    data.write_text(json.dumps({"text": "snow and rain", "labels": ["weather"]}) + "\n")
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(data), "--out", str(tmp_path / "t.jsonl")])
    assert "give the training documents" in one_error_line(capsys, status)


def test_an_existing_file_is_kept_unless_overwrite(tiny_attentionxml_dir, dataset_dir, tmp_path, capsys):
    out = tmp_path / "targets.jsonl"
    out.write_text("my precious targets\n")
    result = select_in_subprocess(tiny_attentionxml_dir, dataset_dir, out)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        f"{ERROR}--out {out} already exists; pass --overwrite to replace it, or choose another path"]
    assert out.read_text() == "my precious targets\n"
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset_dir), "--out", str(out),
                 *OPTIONS, "--overwrite"]) == 0
    assert json.loads(out.read_text().splitlines()[0])["selection_seed"] == 0


def test_the_targets_file_must_be_named_jsonl(tmp_path, capsys):
    status = main(["--model", "m", "--data", "d", "--out", str(tmp_path / "targets.txt")])
    assert "a .jsonl suffix" in one_error_line(capsys, status)


def test_help_shows_defaults_and_an_example_without_loading_textattack():
    code = ("import sys; from textattack_xmtc.cli.select_targets import build_parser; "
            "print(build_parser().format_help()); "
            "assert 'textattack' not in sys.modules and 'torch' not in sys.modules, 'help loads too much'")
    result = run(sys.executable, "-c", code, env={"PYTHONPATH": str(REPO)}, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: textattack-xmtc select-targets" in result.stdout
    assert "(default 50, adv-xmtc's default; its released run used 100)" in " ".join(result.stdout.split())
    assert "example:\n  textattack-xmtc select-targets --model" in result.stdout


def test_training_data_without_the_models_labels_is_refused(tiny_attentionxml_dir, dataset_dir, tmp_path, capsys):
    # An empty train split made every frequency 0: one bin "0-0", written without a word.
    empty = tmp_path / "empty-train"
    empty.mkdir()
    write_split(empty, "train", [], [])
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset_dir), "--train-data", str(empty),
                   "--out", str(tmp_path / "t.jsonl"), *OPTIONS])
    assert "the training data has no document with a label of" in one_error_line(capsys, status)
    assert not (tmp_path / "t.jsonl").exists()


def test_overwrite_never_replaces_a_file_of_the_dataset(tiny_attentionxml_dir, dataset_dir, capsys):
    # --out DATA/test_texts.txt-like paths: --overwrite replaced the split the targets were drawn from.
    mine = dataset_dir / "test.jsonl.bak.jsonl"
    mine.write_text("kept\n")
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset_dir), "--out", str(mine),
                   "--overwrite", *OPTIONS])
    assert f"--out {mine} is a file of the --data dataset ({dataset_dir})" in one_error_line(capsys, status)
    assert mine.read_text() == "kept\n"


def test_a_split_of_a_single_file_is_refused(tiny_attentionxml_dir, dataset_dir, tmp_path, capsys):
    single = tmp_path / "test.jsonl"
    single.write_text('{"text": "oil prices rose", "labels": ["crude"]}\n')
    status = main(["--model", str(tiny_attentionxml_dir), "--data", str(single), "--train-data", str(dataset_dir),
                   "--split", "train", "--out", str(tmp_path / "t.jsonl"), *OPTIONS])
    assert f"--split train: --data {single} is a single file, which has no splits" in one_error_line(capsys, status)
