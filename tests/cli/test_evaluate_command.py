"""``textattack-xmtc evaluate``: the command on a tiny AttentionXML, and one error line for each user mistake."""
import json

import pytest

from commands import run
from conftest import synthetic_corpus
from textattack_xmtc.cli.evaluate import main


def write_split(directory, split, corpus):
    """An AttentionXML data set split: texts and space-separated labels, one document per line."""
    (directory / f"{split}_texts.txt").write_text("".join(text + "\n" for text in corpus.texts))
    (directory / f"{split}_labels.txt").write_text("".join(" ".join(labels) + "\n" for labels in corpus.labels))


@pytest.fixture
def dataset(tmp_path):
    """The tiny model's training data, and a test split with a document whose label it never saw and one
    without labels."""
    directory = tmp_path / "tiny-data"
    directory.mkdir()
    write_split(directory, "train", synthetic_corpus(240, 0))
    test = synthetic_corpus(30, 1)
    test.texts += ["iron banana said officials", "the market reported"]
    test.labels += [["metal", "vehicles"], []]
    write_split(directory, "test", test)
    return directory


def test_evaluate_prints_overall_and_per_bin_tables_and_writes_json(tiny_attentionxml_dir, dataset, tmp_path):
    out = tmp_path / "eval.json"
    done = run("textattack-xmtc", "evaluate", "--model", str(tiny_attentionxml_dir), "--data", str(dataset),
               "--bin-size", "1", "--json", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "Documents measured: 31 (skipped, no label at all: 1)" in done.stdout
    assert "Labels the model never saw: 1 (vehicles), in 1 document; counted as misses" in done.stdout
    assert "A=0.55, B=1.5 (Jain et al. (2016) defaults" in done.stdout
    assert "PSP@k" in done.stdout and "Per label-frequency bin (bin size 1" in done.stdout
    saved = json.loads(out.read_text())
    assert saved["format"] == "textattack-xmtc-evaluation" and saved["split"] == "test"
    assert saved["victim"]["num_labels"] == 4 and saved["unknown_labels"] == ["vehicles"]
    assert saved["metrics"]["P@1"] > 0.8  # the tiny model learnt its keywords
    assert 0 < saved["metrics"]["PSP@5"] <= 1
    bins = saved["bins"]
    assert sum(row["labels"] for row in bins) == 4
    for k in (1, 3, 5):
        assert sum(row[f"P@{k}"] for row in bins) == pytest.approx(saved["metrics"][f"P@{k}"], abs=1e-9)
    # Every bin's name appears as a row of the printed table.
    assert all(any(line.startswith(row["name"] + " ") for line in done.stdout.splitlines()) for row in bins)
    again = run("textattack-xmtc", "evaluate", "--model", str(tiny_attentionxml_dir), "--data", str(dataset),
                "--json", str(out), "--quiet")
    assert again.returncode == 2 and "exists; pass --overwrite" in again.stderr
    assert json.loads(out.read_text()) == saved


def test_default_bin_size_above_the_label_count_is_a_note(tiny_attentionxml_dir, dataset, capsys):
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset), "--quiet",
                 "--dataset-name", "amazoncat13k"]) == 0
    out = capsys.readouterr().out
    assert "Note: no per-bin figures: bin size 50 is larger than the 4 labels" in out
    assert "A=0.6, B=2.6 (Extreme Classification Repository values for AmazonCat-13K" in out


def test_a_jsonl_test_file_has_no_train_split_unless_given(tiny_attentionxml_dir, dataset, tmp_path, capsys):
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"text": "apple rain market", "labels": ["fruit", "weather"]}) + "\n")
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(test), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "no train split (give --train-data)" in out and table_rows(out)[0] == ["k", "P@k", "nDCG@k"]
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(test), "--train-data", str(dataset),
                 "--bin-size", "2", "--quiet"]) == 0
    assert table_rows(capsys.readouterr().out)[0] == ["k", "P@k", "nDCG@k", "PSP@k"]


def table_rows(out):
    """The first words of the overall table's rows, per table printed."""
    blocks = out.split("Overall\n")[1:]
    return [[line.split()[0] for line in block.split("\n\n")[0].splitlines()] for block in blocks]


@pytest.mark.parametrize("arguments, message", [
    (["--split", "dev"], "cannot load corpus"),
    (["--data", "/nonexistent/data"], "/nonexistent/data"),
    (["--data", "reuters21578", "--split", "validation"], "has no split 'validation'"),
    (["--dataset-name", "EURLex-5K"], "no propensity constants known for dataset 'EURLex-5K'"),
    (["--bin-size", "9"], "bin size 9 is larger than the 4 labels"),
    (["--bin-size", "0"], "argument --bin-size: must be a positive integer"),
    (["--threads", "0"], "argument --threads: threads must be a positive integer up to 1024"),
    (["--threads", "many"], "argument --threads: expected a whole number of threads, got 'many'"),
    (["--propensity-a", "nan"], "argument --propensity-a"),
    (["--model", "/nonexistent/model"], "--model /nonexistent/model"),
    (["--json", "/nonexistent/dir/out.json"], "directory /nonexistent/dir does not exist"),
    pytest.param(["--device", "cuda"], "on device cuda", marks=pytest.mark.skipif(
        __import__("torch").cuda.is_available(), reason="CUDA is there")),  # was an AssertionError
])
def test_user_mistakes_are_one_error_line(arguments, message, tiny_attentionxml_dir, dataset, capsys):
    # argparse keeps the last --model / --data: a mistaken one replaces the good one.
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset), "--quiet", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("textattack-xmtc evaluate: error: ") and captured.err.count("\n") == 1
    assert message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_a_split_of_a_single_file_is_refused(tiny_attentionxml_dir, tmp_path, capsys):
    # "split train" was printed while the file was read whole as the test documents.
    single = tmp_path / "test.jsonl"
    single.write_text('{"text": "oil prices rose", "labels": ["crude"]}\n')
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(single), "--split", "train", "--quiet"]) == 2
    assert capsys.readouterr().err == (f"textattack-xmtc evaluate: error: --split train: --data {single} is a "
                                       "single file, which has no splits (it was read whole as the test "
                                       "documents); leave --split out\n")


def test_a_test_set_with_no_label_the_model_knows_is_an_error(tiny_attentionxml_dir, dataset):
    (dataset / "test_labels.txt").write_text("".join("vehicles\n" for _ in range(31)) + "\n")
    done = run("textattack-xmtc", "evaluate", "--model", str(tiny_attentionxml_dir), "--data", str(dataset))
    assert done.returncode == 2
    # Loading a model imports TensorFlow, which logs to stderr first; our error is one line, the last.
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert errors == [done.stderr.strip().splitlines()[-1]]
    assert errors[0].startswith("textattack-xmtc evaluate: error: none of the 32 documents of")
    assert "test_texts.txt" in errors[0]
    assert "Traceback" not in done.stderr


def test_help_states_the_decisions_and_an_example():
    done = run("textattack-xmtc", "evaluate", "--help")
    assert done.returncode == 0
    for text in ("counted", "sum to the overall P@k", "default: 50", "AmazonCat-13K 0.6/2.6", "example:"):
        assert text in " ".join(done.stdout.split()), text


def test_training_data_without_the_models_labels_is_an_error(tiny_attentionxml_dir, dataset, tmp_path, capsys):
    # An empty train split was a math domain error traceback; one without the model's labels, silent 0s.
    empty = tmp_path / "empty-train"
    empty.mkdir()
    for split in ("train", "test"):
        write_split(empty, split, synthetic_corpus(0, 0))
    assert main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset), "--train-data", str(empty),
                 "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("textattack-xmtc evaluate: error: none of the 0 training documents")
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_threads_are_set_and_said(tiny_attentionxml_dir, dataset, capsys):
    import torch

    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1
    try:
        assert main(["--model", str(tiny_attentionxml_dir), "--data", str(dataset), "--quiet",
                     "--threads", str(wanted)]) == 0
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)
    assert f"torch threads {wanted}" in capsys.readouterr().out
