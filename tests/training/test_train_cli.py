"""``textattack-xmtc train`` arguments: bad numbers, devices and outputs stop before any work."""
import argparse

import pytest

from textattack_xmtc.training.cli import _device_problem, add_train_arguments, run_train


def parse(*arguments):
    return add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", "reuters21578", "--output", "out", *arguments])


@pytest.mark.parametrize("arguments", [
    ("--epochs", "0"), ("--batch-size", "-4"), ("--max-length", "0"), ("--train-max-length", "-3"),
    ("--hidden-size", "0"), ("--lr", "-1"), ("--lr", "nan"), ("--div-value", "0"), ("--seed", "-1"),
    ("--linear-size", "256", "0"), ("--epochs", "two"),
])
def test_non_positive_numbers_are_argument_errors(arguments, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(*arguments)
    assert exit_.value.code == 2
    assert f"argument {arguments[0]}" in capsys.readouterr().err


def test_valid_numbers_parse():
    args = parse("--epochs", "2", "--lr", "0.01", "--seed", "0", "--linear-size", "8", "4")
    assert (args.epochs, args.lr, args.seed, args.linear_size) == (2, 0.01, 0, [8, 4])


def test_devices_are_checked_before_training():
    assert _device_problem("cpu") is None
    assert "not a torch device" in _device_problem("bogus")
    import torch

    if not torch.cuda.is_available():
        assert "CUDA is not available" in _device_problem("cuda")


def test_an_output_that_is_a_file_is_refused(tmp_path, capsys):
    existing = tmp_path / "targets.jsonl"
    existing.write_text("{}\n")
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", "reuters21578", "--output", str(existing)])
    assert run_train(args) == 2
    assert "is a file" in capsys.readouterr().err
    assert existing.read_text() == "{}\n"


def test_sizes_that_do_not_fit_are_one_error_line(tmp_path, capsys):
    import json

    data = tmp_path / "tiny.jsonl"
    words = "oil prices rose wheat exports fell company shares profit dividend".split()
    data.write_text("".join(json.dumps({"text": " ".join(words[i:] + words[:i]), "labels": ["ab"[i % 2]]}) + "\n"
                            for i in range(10)))
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "out"), "--architecture", "aplc-xlnet",
         "--n-head", "3", "--d-model", "8", "--vocab-size", "40", "--quiet"])
    assert run_train(args) == 2
    assert "d_model 8 is not a multiple of n_head 3" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
