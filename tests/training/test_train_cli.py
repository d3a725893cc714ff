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
    ("--linear-size", "256", "0"), ("--epochs", "two"), ("--threads", "0"), ("--threads", "100000"),
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


# -- --loss bce|pw|pw-cb and its parameters -------------------------------------------

@pytest.mark.parametrize("arguments, message", [
    (("--loss", "focal"), "argument --loss: invalid choice: 'focal'"),
    (("--loss-beta", "1"), "argument --loss-beta: must be a number in (0, 1), got 1"),
    (("--loss-beta", "0"), "argument --loss-beta: must be a number in (0, 1), got 0"),
    (("--loss-beta", "1.5"), "argument --loss-beta: must be a number in (0, 1), got 1.5"),
    (("--loss-a", "-0.1"), "argument --loss-a: must be a non-negative number, got -0.1"),
    (("--loss-b", "-1"), "argument --loss-b: must be a non-negative number, got -1"),
    (("--loss-a", "nan"), "argument --loss-a: must be a non-negative number, got nan"),
    (("--loss-b", "many"), "argument --loss-b: expected a non-negative number, got 'many'"),
])
def test_bad_loss_options_are_one_line_errors(arguments, message, capsys):
    from textattack_xmtc.cli.main import main

    assert main(["train", "--data", "reuters21578", "--output", "out", *arguments]) == 2
    err = capsys.readouterr().err  # one line, not argparse's usage block before it
    assert err.count("\n") == 1 and err.startswith("textattack-xmtc train: error: ") and message in err


def test_loss_options_reach_the_trainer():
    from textattack_xmtc.architectures import get_architecture
    from textattack_xmtc.training.cli import _trainer_options

    args = parse("--loss", "pw-cb", "--loss-a", "0.6", "--loss-b", "0", "--loss-beta", "0.99")
    options = _trainer_options(args, get_architecture("attentionxml"))
    assert {key: options[key] for key in ("loss", "loss_a", "loss_b", "loss_beta")} == \
        {"loss": "pw-cb", "loss_a": 0.6, "loss_b": 0.0, "loss_beta": 0.99}
    assert not {"loss", "loss_a", "loss_b", "loss_beta"} & set(_trainer_options(parse(), get_architecture(
        "attentionxml")))  # unset: the trainer's defaults (bce, 0.55, 1.5, 0.9)


def test_cli_loss_names_and_defaults_agree_with_the_losses_module():
    from textattack_xmtc.training import cli, losses

    assert cli.LOSS_NAMES == losses.LOSSES
    assert cli.LOSS_DEFAULTS == {"loss_a": losses.DEFAULT_A, "loss_b": losses.DEFAULT_B,
                                 "loss_beta": losses.DEFAULT_BETA}


@pytest.mark.parametrize("arguments, message", [
    (("--loss-a", "0.5"), "error: --loss-a not used by --loss bce"),
    (("--loss", "pw", "--loss-beta", "0.5"), "error: --loss-beta not used by --loss pw"),
    (("--loss", "bce", "--loss-b", "1", "--loss-beta", "0.5"), "error: --loss-b, --loss-beta not used by --loss bce"),
])
def test_loss_parameters_the_loss_does_not_read_are_refused(arguments, message, tmp_path, capsys):
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", "reuters21578", "--output", str(tmp_path / "out"), *arguments])
    assert run_train(args) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "out").exists()


def test_cli_trains_with_a_rebalanced_loss_and_the_model_records_it(tmp_path, capsys):
    import json

    from textattack_xmtc.model_wrappers import load_victim

    data = tmp_path / "tiny.jsonl"
    words = "oil prices rose wheat exports fell company shares profit dividend".split()
    data.write_text("".join(json.dumps({"text": " ".join(words[i:] + words[:i]), "labels": ["ab"[i % 3 > 0]]})
                            + "\n" for i in range(12)))
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "out"), "--epochs", "1", "--hidden-size", "4",
         "--emb-size", "4", "--linear-size", "4", "--no-glove", "--quiet", "--loss", "pw-cb", "--loss-beta", "0.5"])
    assert run_train(args) == 0
    assert "loss pw-cb" in capsys.readouterr().out
    loaded = load_victim(str(tmp_path / "out"))
    assert loaded.training["loss"] == {"name": "pw-cb", "A": 0.55, "B": 1.5, "beta": 0.5}


def test_a_corpus_too_small_for_the_weights_is_one_error_line(tmp_path, capsys):
    import json

    data = tmp_path / "two.jsonl"
    data.write_text("".join(json.dumps({"text": text, "labels": [label]}) + "\n"
                            for text, label in (("oil prices rose", "a"), ("wheat exports fell", "b"))))
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "out"), "--epochs", "1", "--hidden-size", "4",
         "--emb-size", "4", "--linear-size", "4", "--no-glove", "--quiet", "--loss", "pw"])
    assert run_train(args) == 2
    assert "error: --loss pw needs at least 3 training documents" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# -- adversarial training: the stock command, and its bad inputs -------------------------------

ADVERSARIAL_WORDS = ("oil crude wheat grain gold silver bank loan ship port coffee sugar jobs workers trade export "
                     "the company said prices would rise next year after strong quarter").split()
ADVERSARIAL_LABELS = ("oil", "wheat", "gold", "bank", "ship", "coffee", "jobs", "trade")


def adversarial_data(path):
    """40 documents of real words (the attacks need GloVe neighbours) over 8 labels, one keyword each."""
    import json
    import random

    rng = random.Random(0)
    lines = []
    for number in range(40):
        label = number % 8
        words = rng.sample(ADVERSARIAL_WORDS[16:], 6) + [ADVERSARIAL_WORDS[2 * label + number % 2]]
        lines.append(json.dumps({"text": " ".join(words), "labels": [ADVERSARIAL_LABELS[label]]}) + "\n")
    path.write_text("".join(lines))
    return path


TINY_TRAIN = ("--epochs", "3", "--hidden-size", "8", "--emb-size", "8", "--linear-size", "8", "--no-glove",
              "--quiet", "--seed", "1")


def test_stock_command_trains_one_adversarial_round(tmp_path):
    from commands import run

    from textattack_xmtc.model_wrappers import load_victim

    data = adversarial_data(tmp_path / "news.jsonl")
    result = run("textattack-xmtc", "train", "--data", str(data), "--test-data", str(data), "--output",
                 str(tmp_path / "model"), *TINY_TRAIN, "--adversarial-rounds", "1", "--adversarial-targets", "5",
                 "--adversarial-recipe", 'xmtc-pos^encoder="none"', timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("adversarial round 1/1: "))
    assert "5 targets attacked" in line and "test P@1" in line
    round_dir = tmp_path / "model" / "adversarial" / "round-1"
    assert (round_dir / "run.json").is_file() and (round_dir / "results.jsonl").is_file()
    record = load_victim(str(tmp_path / "model")).training["adversarial"]
    assert record["rounds"] == 1 and record["runs"] == [str(round_dir)] and record["targets_per_round"] == 5


def test_adversarial_targets_without_rounds_is_refused(tmp_path, capsys):
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", "reuters21578", "--output", str(tmp_path / "out"), "--adversarial-targets", "5",
         "--adversarial-recipe", "xmtc-pos"])
    assert run_train(args) == 2
    assert capsys.readouterr().err.strip() == \
        "error: --adversarial-targets, --adversarial-recipe not used without --adversarial-rounds"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["unknown run dir", "other label set", "targets without rounds"])
def test_bad_adversarial_inputs_exit_2_with_one_line(case, tmp_path):
    import json

    from commands import run

    data = adversarial_data(tmp_path / "news.jsonl")
    other = tmp_path / "other-run"
    other.mkdir()
    (other / "run.json").write_text(json.dumps({"format": "textattack-xmtc-run", "version": 1, "model": "sports",
                                                "victim": {"num_labels": 2, "labels_sha256": "0" * 64}}))
    (other / "results.jsonl").write_text(json.dumps({"status": "succeeded", "perturbed_text": "a goal",
                                                     "original_text": "a goal", "true_labels": ["football"]}) + "\n")
    extra, message = {
        "unknown run dir": (("--adversarial-from", str(tmp_path / "typo")),
                            f"error: --adversarial-from {tmp_path / 'typo'}: no such directory"),
        "other label set": (("--adversarial-from", str(other)),
                            f"error: --adversarial-from {other} was made on another label set (model 'sports'): "
                            "its documents carry label(s) 'football'"),
        "targets without rounds": (("--adversarial-targets", "5"),
                                   "error: --adversarial-targets not used without --adversarial-rounds"),
    }[case]
    result = run("textattack-xmtc", "train", "--data", str(data), "--output", str(tmp_path / "model"), *TINY_TRAIN,
                 *extra, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    # (TensorFlow, imported by TextAttack, may log its own lines first)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(message), result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == errors[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model").exists()
    if case == "unknown run dir":  # it failed only after "Training ... documents" and the data were read
        assert "Training" not in result.stdout


# -- --init-from: continue training a saved model ------------------------------------------------

def test_init_from_continues_a_saved_model_with_another_loss(tmp_path, capsys):
    from textattack_xmtc.model_wrappers import load_victim

    data = adversarial_data(tmp_path / "news.jsonl")
    first = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "start"), *TINY_TRAIN])
    assert run_train(first) == 0
    start = load_victim(str(tmp_path / "start"))
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "tuned"), "--init-from", str(tmp_path / "start"),
         "--epochs", "1", "--loss", "pw", "--quiet"])
    assert run_train(args) == 0
    assert f"continuing {tmp_path / 'start'}" in capsys.readouterr().out
    tuned = load_victim(str(tmp_path / "tuned"))
    assert tuned.labels == start.labels and tuned.tokenizer.vocab == start.tokenizer.vocab
    assert tuned.training["init_from"]["weights_sha256"] == start.weights_sha256() != tuned.weights_sha256()
    assert tuned.identity()["loss"] == "pw (A 0.55, B 1.5)"
    assert load_victim(str(tmp_path / "start")).weights_sha256() == start.weights_sha256()  # left as it was


@pytest.mark.parametrize("extra, message", [
    (("--hidden-size", "16"), "error: --hidden-size fixed by --init-from {start}"),
    (("--max-length", "50"), "error: --max-length fixed by --init-from {start}"),
    (("--architecture", "aplc-xlnet"), "error: --init-from {start} holds an attentionxml model, not --architecture "
                                       "aplc-xlnet; leave --architecture out"),
])
def test_init_from_refuses_what_the_model_fixes(extra, message, tmp_path, capsys):
    data = adversarial_data(tmp_path / "news.jsonl")
    assert run_train(add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "start"), *TINY_TRAIN])) == 0
    capsys.readouterr()
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "tuned"), "--init-from", str(tmp_path / "start"), *extra])
    assert run_train(args) == 2
    assert capsys.readouterr().err.strip() == message.format(start=tmp_path / "start")
    assert not (tmp_path / "tuned").exists()


def test_init_from_a_missing_model_or_new_labels_is_one_error_line(tmp_path, capsys):
    import json

    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", "reuters21578", "--output", str(tmp_path / "out"), "--init-from", str(tmp_path / "nothing")])
    assert run_train(args) == 2
    assert capsys.readouterr().err.startswith(f"error: --init-from {tmp_path / 'nothing'}: ")
    data = adversarial_data(tmp_path / "news.jsonl")
    assert run_train(add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(data), "--output", str(tmp_path / "start"), *TINY_TRAIN])) == 0
    capsys.readouterr()
    more = tmp_path / "more.jsonl"
    more.write_text(data.read_text() + json.dumps({"text": "oil crude", "labels": ["energy"]}) + "\n")
    args = add_train_arguments(argparse.ArgumentParser()).parse_args(
        ["--data", str(more), "--output", str(tmp_path / "tuned"), "--init-from", str(tmp_path / "start"),
         "--quiet"])
    assert run_train(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: the training data has labels the model to continue from does not score "
                            "(energy)") and "\n" not in error


class _Stop(Exception):
    pass


def test_threads_are_set_before_training_and_said(tmp_path, monkeypatch, capsys):
    import torch

    from textattack_xmtc.training import attentionxml

    seen = []

    def fake_trainer(*args, **kwargs):
        seen.append(torch.get_num_threads())
        raise _Stop

    monkeypatch.setattr(attentionxml, "train_attentionxml", fake_trainer)
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1
    try:
        with pytest.raises(_Stop):
            run_train(add_train_arguments(argparse.ArgumentParser()).parse_args(
                ["--data", "reuters21578", "--output", str(tmp_path / "out"), "--threads", str(wanted), "--quiet"]))
    finally:
        torch.set_num_threads(before)
    assert seen == [wanted]
    assert f"torch threads: {wanted}" in capsys.readouterr().out
