"""Training APLC-XLNet (from scratch and from a "pretrained" XLNet) on a tiny synthetic corpus, and its CLI."""
import argparse
import inspect
import json
import shutil

import numpy as np
import pytest
import torch

from textattack_xmtc.datasets.corpus import Corpus
from textattack_xmtc.model_wrappers import load_victim
from textattack_xmtc.model_wrappers.aplc_xlnet import APLCXLNetWrapper
from textattack_xmtc.models import builtin
from textattack_xmtc.models.xlnet_tokenization import train_sentencepiece
from textattack_xmtc.training import aplc_xlnet, cli
from textattack_xmtc.training.aplc_xlnet import choose_cutoffs, label_order, train_aplc_xlnet
from textattack_xmtc.training.evaluation import evaluate

KEYWORDS = {"crude": ["oil", "barrel"], "grain": ["wheat", "corn"], "interest": ["rate", "bank"],
            "ship": ["vessel", "port"], "trade": ["tariff", "export"], "zinc": ["zinc", "smelter"]}
LABELS = sorted(KEYWORDS)
FILLER = [f"word{i}" for i in range(30)]
SIZES = dict(d_model=32, n_layer=1, n_head=2, d_inner=64, last_hidden_size=32)
SMALL = dict(SIZES, vocab_size=100, max_length=40, progress=False, log=lambda _: None)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def synthetic_corpus(n, seed, name="synthetic"):
    """Filler words plus one or two keywords of each of one or two labels (crude is the most frequent)."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    weights = np.array([3.0, 2, 1.5, 1, 1, 1])
    for _ in range(n):
        chosen = [str(label) for label in rng.choice(LABELS, size=rng.integers(1, 3), replace=False,
                                                     p=weights / weights.sum())]
        words = list(rng.choice(FILLER, size=rng.integers(4, 10)))
        for label in chosen:
            words += list(rng.choice(KEYWORDS[label], size=rng.integers(1, 3)))
        rng.shuffle(words)
        texts.append(" ".join(words) + " .")
        labels.append(sorted(chosen))
    return Corpus(texts, labels, name=name)


@pytest.fixture(scope="module")
def trained():
    train, test = synthetic_corpus(240, seed=0), synthetic_corpus(60, seed=1)
    wrapper, metrics = train_aplc_xlnet(train, test, epochs=20, batch_size=16, lr_encoder=5e-3, lr_summary=5e-3,
                                        lr_head=1e-2, seed=0, **SMALL)
    return wrapper, metrics, train, test


def test_tiny_model_learns_the_synthetic_corpus(trained):
    wrapper, metrics, train, test = trained
    assert metrics["P@1"] >= 0.85, metrics
    assert metrics["test_documents"] == len(test)
    assert evaluate(wrapper, train)["P@1"] >= 0.9
    scores = wrapper(["wheat corn word3 word7 .", "word2 rate word1 bank ."])
    assert scores.shape == (2, len(LABELS))
    assert wrapper.labels[scores[0].argmax()] == "grain" and wrapper.labels[scores[1].argmax()] == "interest"


def test_trained_wrapper_describes_its_training(trained):
    wrapper, metrics, train, _ = trained
    assert wrapper.labels == label_order(train) and wrapper.labels[0] == "crude"  # by descending frequency
    assert wrapper.config.adaptive_cutoff == choose_cutoffs([train.label_counts()[n] for n in wrapper.labels])
    assert wrapper.config.n_clusters >= 1  # the tail networks were trained too
    assert wrapper.max_length == 40 and wrapper.config.d_model == 32
    assert wrapper.training["epochs"] == 20 and wrapper.training["lr_head"] == 1e-2
    assert wrapper.training["metrics"]["P@1"] == pytest.approx(metrics["P@1"], abs=1e-6)
    assert {"P@3", "P@5", "nDCG@5", "PSP@5", "train_seconds"} <= set(metrics)
    assert not wrapper.model.training


def test_saved_model_reloads_with_the_same_scores(trained, tmp_path):
    wrapper = trained[0]
    wrapper.save(tmp_path / "m")  # copies the SentencePiece model trained for it
    loaded = APLCXLNetWrapper.from_directory(tmp_path / "m")
    texts = ["oil barrel word2 .", "tariff word9 zinc ."]
    torch.testing.assert_close(loaded(texts), wrapper(texts))


def test_choose_cutoffs_follows_label_frequencies():
    # Cumulative shares .5 .8 .9 .95 .98 1: the head closes at 80%, the first tail cluster at 95%.
    assert choose_cutoffs([50, 30, 10, 5, 3, 2]) == [2, 4]
    assert choose_cutoffs([10]) == []
    assert choose_cutoffs([1, 1]) == []  # 80% needs both labels: all in the head
    assert label_order(Corpus(["a", "b", "c"], [["y"], ["x", "y"], ["x"]])) == ["x", "y"]  # tie: by name


def test_training_is_deterministic_given_the_seed():
    corpus = synthetic_corpus(40, seed=2)
    settings = dict(SMALL, epochs=1, batch_size=16)
    first, _ = train_aplc_xlnet(corpus, seed=3, **settings)
    second, _ = train_aplc_xlnet(corpus, seed=3, **settings)
    other, _ = train_aplc_xlnet(corpus, seed=4, **settings)
    for key, value in first.model.state_dict().items():
        torch.testing.assert_close(value, second.model.state_dict()[key], atol=0, rtol=0, msg=key)
    key = "AdaptiveMultiLabel.head.weight"
    assert not torch.equal(first.model.state_dict()[key], other.model.state_dict()[key])


def test_test_labels_unknown_to_training_count_as_misses():
    train = synthetic_corpus(30, seed=5)
    test = Corpus(["oil barrel word1 .", "gold mine .", "wheat gold ."], [["crude"], ["gold"], ["grain", "gold"]])
    wrapper, metrics = train_aplc_xlnet(train, test, epochs=1, batch_size=16, **SMALL)
    assert metrics["test_documents"] == 3 and metrics["test_documents_skipped"] == 0
    assert metrics["unknown_label_documents"] == 2 and metrics["unknown_labels"] == 1
    assert evaluate(wrapper, test)["test_documents"] == 3


def test_unknown_or_fixed_settings_are_refused(tmp_path):
    with pytest.raises(TypeError, match="d_modle"):
        train_aplc_xlnet(synthetic_corpus(5, 0), d_modle=3)
    with pytest.raises(TypeError, match="n_layer"):
        train_aplc_xlnet(synthetic_corpus(5, 0), pretrained=str(tmp_path), n_layer=3)


# ----------------------------------------------------------------- fine-tuning a pretrained XLNet


@pytest.fixture(scope="module")
def pretrained_dir(tmp_path_factory):
    """A tiny random XLNetLMHeadModel saved as users keep xlnet-base-cased, with its spiece.model."""
    from transformers import XLNetConfig, XLNetLMHeadModel

    directory = tmp_path_factory.mktemp("xlnet-tiny")
    spiece = train_sentencepiece(synthetic_corpus(200, seed=9).texts, directory / "spiece.model", vocab_size=90)
    import sentencepiece

    pieces = len(sentencepiece.SentencePieceProcessor(model_file=str(spiece)))
    torch.manual_seed(11)
    config = XLNetConfig(vocab_size=pieces + 10, d_model=24, n_layer=2, n_head=2, d_inner=48, ff_activation="gelu")
    XLNetLMHeadModel(config).save_pretrained(directory)
    return directory


def test_fine_tuning_starts_from_the_pretrained_encoder(pretrained_dir, monkeypatch):
    from transformers import XLNetModel

    original = XLNetModel.from_pretrained(str(pretrained_dir)).state_dict()
    captured = {}

    def no_training(network, encoded, targets, pos_weight, epochs, batch_size, lrs, rng, device, progress):
        captured["state"] = {key: value.clone() for key, value in network.transformer.state_dict().items()}
        captured["groups"] = {group["name"]: group["lr"] for group in aplc_xlnet._parameter_groups(network, lrs)}
        captured["max_piece_rows"] = max(len(ids) for ids in encoded)
        return [0.0]

    monkeypatch.setattr(aplc_xlnet, "_fit", no_training)
    wrapper, _ = train_aplc_xlnet(synthetic_corpus(20, seed=3), pretrained=str(pretrained_dir), epochs=1,
                                  lr_encoder=1e-5, lr_summary=2e-4, lr_head=3e-3, progress=False, log=lambda _: None)
    for key, value in original.items():
        torch.testing.assert_close(captured["state"][key], value, atol=0, rtol=0, msg=key)
    assert captured["groups"]["encoder"] == 1e-5 and captured["groups"]["summary"] == 2e-4
    assert captured["groups"]["head"] == 3e-3
    assert wrapper.config.d_model == 24 and wrapper.config.n_layer == 2 and wrapper.config.last_hidden_size == 24
    assert wrapper.max_length == 512 and wrapper.training["pretrained"] == str(pretrained_dir)


def test_fine_tuning_moves_each_part_at_its_own_rate(pretrained_dir):
    from transformers import XLNetModel

    original = XLNetModel.from_pretrained(str(pretrained_dir)).state_dict()
    corpus = synthetic_corpus(32, seed=4)
    frozen, _ = train_aplc_xlnet(corpus, pretrained=str(pretrained_dir), epochs=1, batch_size=16, lr_encoder=0.0,
                                 lr_summary=1e-3, lr_head=1e-2, max_length=32, progress=False, log=lambda _: None)
    for key, value in original.items():  # lr 0: the encoder is exactly the pretrained one
        torch.testing.assert_close(frozen.model.transformer.state_dict()[key], value, atol=0, rtol=0, msg=key)
    moved, _ = train_aplc_xlnet(corpus, pretrained=str(pretrained_dir), epochs=1, batch_size=16, lr_encoder=1e-3,
                                max_length=32, progress=False, log=lambda _: None)
    key = "layer.0.ff.layer_1.weight"
    assert not torch.equal(moved.model.transformer.state_dict()[key], original[key])


# ----------------------------------------------------------------- CLI and built-in model


def write_jsonl(path, corpus):
    path.write_text("".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in zip(corpus.texts, corpus.labels)))
    return path


def parse(argv):
    return cli.add_train_arguments(argparse.ArgumentParser()).parse_args(argv)


def test_cli_defaults_agree_with_the_training_defaults():
    # The architecture table repeats the trainers' defaults so that --help need not import torch.
    from textattack_xmtc import architectures

    assert architectures.APLC_SCRATCH_TRAINING == aplc_xlnet.SCRATCH_TRAINING
    assert {key: value for key, value in aplc_xlnet.PRETRAINED_TRAINING.items() if value is not None} == \
        architectures.APLC_PRETRAINED_TRAINING
    assert {key: value for key, value in aplc_xlnet.SCRATCH_SIZES.items()
            if key in architectures.APLC_SCRATCH_SIZES} == architectures.APLC_SCRATCH_SIZES
    from textattack_xmtc.training.attentionxml import train_attentionxml

    signature = inspect.signature(train_attentionxml).parameters
    assert {key: signature[key].default for key in architectures.ATTENTIONXML_TRAINING} == \
        architectures.ATTENTIONXML_TRAINING
    args = parse(["--data", "x", "--output", "y", "--architecture", "aplc-xlnet", "--lr-head", "0.01",
                  "--adaptive-cutoff", "2", "4"])
    assert args.architecture == "aplc-xlnet" and args.lr_head == 0.01 and args.adaptive_cutoff == [2, 4]


def test_cli_help_lists_the_aplc_options():
    help_text = cli.add_train_arguments(argparse.ArgumentParser()).format_help()
    for option in ("--pretrained", "--lr-encoder", "--lr-summary", "--lr-head", "--vocab-size", "--d-model",
                   "aplc-xlnet", "--emb-size"):
        assert option in help_text


def test_cli_trains_aplc_xlnet_prints_the_table_and_saves(tmp_path, capsys):
    train = write_jsonl(tmp_path / "train.jsonl", synthetic_corpus(40, seed=6))
    test = write_jsonl(tmp_path / "test.jsonl", synthetic_corpus(20, seed=7))
    args = parse(["--data", str(train), "--test-data", str(test), "--output", str(tmp_path / "model"),
                  "--architecture", "aplc-xlnet", "--epochs", "1", "--d-model", "16", "--n-layer", "1",
                  "--n-head", "2", "--d-inner", "32", "--last-hidden-size", "16", "--vocab-size", "100",
                  "--max-length", "32", "--quiet"])
    assert cli.run_train(args) == 0
    out = capsys.readouterr().out
    assert "P@k" in out and "nDCG@k" in out and "saved to" in out
    loaded = load_victim(str(tmp_path / "model"))
    assert isinstance(loaded, APLCXLNetWrapper) and loaded.config.d_model == 16 and loaded.max_length == 32
    assert sorted(loaded.labels) == LABELS


def test_cli_refuses_options_of_the_other_architecture(tmp_path, capsys):
    args = parse(["--data", "x", "--output", str(tmp_path / "m"), "--lr-head", "0.1"])
    assert cli.run_train(args) == 2 and "--lr-head" in capsys.readouterr().err
    args = parse(["--data", "x", "--output", str(tmp_path / "m"), "--architecture", "aplc-xlnet", "--lr", "0.1"])
    assert cli.run_train(args) == 2 and "--lr" in capsys.readouterr().err


@pytest.mark.parametrize("problem,expected", [
    ("missing", "is not a directory"), ("no spiece", "spiece.model not found"),
    ("no weights", "holds no weights"), ("bert", "model_type is 'bert'"), ("not json", "not JSON")])
def test_cli_refuses_a_pretrained_directory_that_is_not_an_xlnet(pretrained_dir, tmp_path, capsys, problem,
                                                                 expected):
    broken = tmp_path / "xlnet"
    if problem != "missing":
        shutil.copytree(pretrained_dir, broken)
    if problem == "no spiece":
        (broken / "spiece.model").unlink()
    elif problem == "no weights":
        for name in aplc_xlnet.PRETRAINED_WEIGHTS:
            (broken / name).unlink(missing_ok=True)
    elif problem == "bert":
        config = json.loads((broken / "config.json").read_text())
        (broken / "config.json").write_text(json.dumps(dict(config, model_type="bert")))
    elif problem == "not json":
        (broken / "config.json").write_text("{ not json")
    args = parse(["--data", "does-not-matter", "--output", str(tmp_path / "m"), "--architecture", "aplc-xlnet",
                  "--pretrained", str(broken)])
    assert cli.run_train(args) == 2  # before any data is read
    error = capsys.readouterr().err
    assert expected in error and str(broken) in error, error


def test_builtin_aplc_names_and_aliases(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    for name in ("aplc-xlnet", "aplc-xlnet-reuters", "aplc-xlnet-reuters21578"):
        assert builtin.canonical_name(name) == "aplc-xlnet-reuters21578"
        assert name in builtin.builtin_model_names()
    assert builtin.builtin_model_dir("aplc-xlnet") == tmp_path / "models" / "aplc-xlnet-reuters21578"
    preset = builtin.BUILTIN_MODELS["aplc-xlnet-reuters21578"]
    assert preset["architecture"] == "aplc-xlnet"
    accepted = set(inspect.signature(train_aplc_xlnet).parameters) | set(aplc_xlnet.SCRATCH_SIZES)
    assert set(preset["train"]) <= accepted, set(preset["train"]) - accepted


def test_builtin_aplc_model_is_trained_once_then_loaded_as_aplc(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(builtin, "_train_builtin", lambda name, progress, log: calls.append(name) or trained[0])
    first = builtin.load_builtin_model("aplc-xlnet", progress=False, log=lambda _: None)
    second = builtin.load_builtin_model("aplc-xlnet-reuters21578", progress=False, log=lambda _: None)
    assert calls == ["aplc-xlnet-reuters21578"]
    assert isinstance(first, APLCXLNetWrapper) and isinstance(second, APLCXLNetWrapper)
    torch.testing.assert_close(first(["oil wheat ."]), second(["oil wheat ."]))
