"""``train`` never writes into a directory holding files it did not write, and shows the whole run's ETA."""
import argparse
import csv
import json

import numpy as np
import pytest
import torch

from textattack_xmtc.training import cli, common

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = "oil prices rose wheat exports fell company shares profit dividend".split()
# Descending training frequency, as APLC-XLNet's labels.txt lists them: not the order a model would write.
LABELS_TXT = "grain\ncrude\n"


def write_aplc_dataset(directory, n=12):
    directory.mkdir(parents=True)
    for split in ("train", "dev"):
        with open(directory / f"{split}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text", "label"])
            for i in range(n):
                writer.writerow([i, " ".join(WORDS[i % 5:] + WORDS[:i % 5]), "grain" if i % 3 else "grain,crude"])
    (directory / "labels.txt").write_text(LABELS_TXT)
    return directory


def parse(*arguments):
    return cli.add_train_arguments(argparse.ArgumentParser()).parse_args(list(arguments))


TINY = ("--epochs", "1", "--hidden-size", "4", "--emb-size", "4", "--linear-size", "4", "--no-glove", "--quiet")


def test_output_pointing_at_the_data_directory_is_refused(tmp_path, capsys):
    """It used to overwrite the data set's labels.txt with another order, and exit 0."""
    data = write_aplc_dataset(tmp_path / "Eurlex")
    before = {path.name: path.read_bytes() for path in data.iterdir()}
    assert cli.run_train(parse("--data", str(data), "--output", str(data), *TINY)) == 2
    error = capsys.readouterr().err
    assert "not empty" in error and "labels.txt" in error and "--overwrite" in error
    assert {path.name: path.read_bytes() for path in data.iterdir()} == before


def test_any_directory_with_foreign_files_needs_overwrite(tmp_path, capsys):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": " ".join(WORDS[i:] + WORDS[:i]), "labels": ["ab"[i % 2]]}) + "\n"
                             for i in range(10)))
    output = tmp_path / "notes"
    output.mkdir()
    (output / "README.txt").write_text("mine")
    assert cli.run_train(parse("--data", str(train), "--output", str(output), *TINY)) == 2
    assert "README.txt" in capsys.readouterr().err and not (output / "xmtc_model.json").exists()
    assert cli.run_train(parse("--data", str(train), "--output", str(output), "--overwrite", *TINY)) == 0
    assert (output / "README.txt").read_text() == "mine" and (output / "xmtc_model.json").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.run_train(parse("--data", str(train), "--output", str(empty), *TINY)) == 0
    out = capsys.readouterr().out
    assert "s per epoch per 10,000 documents" in out


def test_one_progress_bar_covers_every_epoch(monkeypatch):
    """Its remaining time is the whole run's, not the current epoch's."""
    bars = []
    real = common.progress_bar

    def recording(iterable, progress, **kwargs):
        bar = real(iterable, progress, **kwargs)
        bars.append((kwargs, bar))
        return bar

    monkeypatch.setattr(common, "progress_bar", recording)
    network = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(network.parameters(), lr=0.1)
    data = torch.randn(70, 2)
    losses = common.train_epochs(network, optimizer, lambda rows: network(data[torch.as_tensor(rows)]).pow(2).mean(),
                                 np.ones(70, dtype=int), epochs=3, batch_size=16, rng=np.random.default_rng(0),
                                 progress=True, clip=1.0)
    assert len(losses) == 3
    assert len(bars) == 1
    kwargs, bar = bars[0]
    assert kwargs["total"] == 3 * 5 == bar.n  # 5 batches of 70 documents per epoch, all three epochs
    assert "epoch 3/3" in bar.desc


def test_batches_per_epoch_matches_the_batches():
    rng = np.random.default_rng(0)
    for documents in (1, 31, 32, 33, 1600, 1601, 7775):
        batches = common.length_bucketed_batches(np.ones(documents, dtype=int), 32, rng)
        assert common.batches_per_epoch(documents, 32) == len(batches)


def test_overwrite_never_replaces_the_model_or_data_training_reads(tmp_path, capsys):
    """``--init-from M --output M --overwrite`` replaced M's weights, though M is 'left as it was'."""
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": " ".join(WORDS[i:] + WORDS[:i]), "labels": ["ab"[i % 2]]}) + "\n"
                             for i in range(10)))
    model = tmp_path / "model"
    assert cli.run_train(parse("--data", str(train), "--output", str(model), *TINY)) == 0
    before = {path.name: path.read_bytes() for path in model.iterdir()}
    capsys.readouterr()
    status = cli.run_train(parse("--data", str(train), "--init-from", str(model), "--output", str(model) + "/",
                                 "--overwrite", "--epochs", "1", "--quiet"))
    assert status == 2
    assert f"--output {model} is the --init-from model itself: saving would replace what training reads" in \
        capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in model.iterdir()} == before
    data = write_aplc_dataset(tmp_path / "Eurlex")
    assert cli.run_train(parse("--data", str(data), "--output", str(data), "--overwrite", *TINY)) == 2
    assert "is the --data dataset itself" in capsys.readouterr().err
