"""Training AttentionXML on a tiny synthetic corpus, the ``train`` CLI, and the built-in model cache."""
import argparse
import json

import numpy as np
import pytest
import torch

from textattack_xmtc.datasets.corpus import Corpus
from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper
from textattack_xmtc.models import builtin
from textattack_xmtc.models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork
from textattack_xmtc.models.tokenization import AttentionXMLTokenizer
from textattack_xmtc.training import cli
from textattack_xmtc.training.attentionxml import DEFAULTS, evaluate, train_attentionxml

LABELS = ["crude", "grain", "interest", "ship", "trade", "zinc"]
KEYWORDS = {"crude": ["oil", "barrel"], "grain": ["wheat", "corn"], "interest": ["rate", "bank"],
            "ship": ["vessel", "port"], "trade": ["tariff", "export"], "zinc": ["zinc", "smelter"]}
FILLER = [f"word{i}" for i in range(40)]
SMALL = dict(emb_size=12, hidden_size=12, linear_size=[16], glove_init=False, progress=False, log=lambda _: None)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def synthetic_corpus(n, seed, name="synthetic"):
    """Filler words plus one or two keywords of each of one or two labels."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        chosen = [str(label) for label in rng.choice(LABELS, size=rng.integers(1, 3), replace=False)]
        words = list(rng.choice(FILLER, size=rng.integers(6, 16)))
        for label in chosen:
            words += list(rng.choice(KEYWORDS[label], size=rng.integers(1, 3)))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + ".")
        labels.append(sorted(chosen))
    return Corpus(texts, labels, name=name)


@pytest.fixture(scope="module")
def trained():
    train, test = synthetic_corpus(300, seed=0), synthetic_corpus(80, seed=1)
    wrapper, metrics = train_attentionxml(train, test, epochs=12, batch_size=16, lr=1e-2, seed=0, **SMALL)
    return wrapper, metrics, train, test


def test_tiny_model_learns_the_synthetic_corpus(trained):
    wrapper, metrics, train, test = trained
    assert metrics["P@1"] >= 0.9, metrics
    assert metrics["test_documents"] == len(test)
    assert evaluate(wrapper, train)["P@1"] >= 0.9
    scores = wrapper(["wheat corn word3 word7", "vessel word1 port"])
    assert scores.shape == (2, len(LABELS))
    assert scores[0].argmax().item() == LABELS.index("grain") and scores[1].argmax().item() == LABELS.index("ship")


def test_trained_wrapper_describes_its_training(trained):
    wrapper, metrics, train, _ = trained
    assert wrapper.labels == LABELS  # sorted training label names
    assert wrapper.tokenizer.max_length == 500 and wrapper.max_words == 500
    assert wrapper.training["epochs"] == 12 and wrapper.training["documents"] == len(train)
    assert wrapper.training["metrics"]["P@1"] == pytest.approx(metrics["P@1"], abs=1e-6)
    assert {"P@3", "P@5", "nDCG@5", "PSP@5", "train_seconds"} <= set(metrics)
    assert not wrapper.model.training


def test_training_is_deterministic_given_the_seed():
    corpus = synthetic_corpus(60, seed=2)
    first, _ = train_attentionxml(corpus, epochs=1, batch_size=16, seed=3, **SMALL)
    second, _ = train_attentionxml(corpus, epochs=1, batch_size=16, seed=3, **SMALL)
    other, _ = train_attentionxml(corpus, epochs=1, batch_size=16, seed=4, **SMALL)
    for key, value in first.model.state_dict().items():
        torch.testing.assert_close(value, second.model.state_dict()[key], atol=0, rtol=0, msg=key)
    assert not torch.equal(first.model.state_dict()["attention.attention.weight"],
                           other.model.state_dict()["attention.attention.weight"])


def test_test_labels_unknown_to_training_count_as_misses():
    train = synthetic_corpus(40, seed=5)
    test = Corpus(["oil barrel word1", "gold mine", "wheat gold"], [["crude"], ["gold"], ["grain", "gold"]])
    _, metrics = train_attentionxml(train, test, epochs=1, batch_size=16, **SMALL)
    assert metrics["test_documents"] == 3 and metrics["test_documents_skipped"] == 0
    assert metrics["unknown_label_documents"] == 2 and metrics["unknown_labels"] == 1


def test_glove_initialisation_and_train_truncation():
    corpus = Corpus(["oil prices rose " * 50, "wheat exports fell"], [["crude"], ["grain"]])
    wrapper, _ = train_attentionxml(corpus, epochs=1, batch_size=2, train_max_length=5, max_length=40,
                                    **dict(SMALL, emb_size=50, glove_init=True))
    from textattack_xmtc.glove import load_glove

    words, vectors = load_glove()
    row = wrapper.tokenizer.word_to_id["wheat"]
    # One small step of Adam moves the GloVe row only a little.
    assert np.abs(wrapper.model.emb.emb.weight[row].detach().numpy() - vectors[words.index("wheat")]).max() < 0.05
    assert wrapper.max_words == 40 and wrapper.training["train_max_length"] == 5


def test_unknown_settings_are_refused():
    with pytest.raises(TypeError, match="hidden_sise"):
        train_attentionxml(synthetic_corpus(5, 0), hidden_sise=3)


# ----------------------------------------------------------------- CLI


def write_jsonl(path, corpus):
    path.write_text("".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in zip(corpus.texts, corpus.labels)))
    return path


def parse(argv):
    return cli.add_train_arguments(argparse.ArgumentParser()).parse_args(argv)


def test_cli_defaults_agree_with_the_training_defaults():
    # Unset sizes are not passed: the trainer's defaults apply, and --help shows them.
    from textattack_xmtc.architectures import ATTENTIONXML_SIZES

    args = parse(["--data", "x", "--output", "y"])
    assert (args.emb_size, args.hidden_size, args.linear_size) == (None, None, None)
    assert ATTENTIONXML_SIZES == {key: DEFAULTS[key] for key in ATTENTIONXML_SIZES}
    help_text = " ".join(cli.add_train_arguments(argparse.ArgumentParser()).format_help().split())
    assert "per direction (default: 64)" in help_text and "all labels (default: [256])" in help_text
    # Unset: attentionxml, or the architecture of --init-from (train resolves it).
    assert args.architecture is None and not args.no_glove
    assert "victim architecture (default: attentionxml, or that of --init-from)" in help_text
    with pytest.raises(SystemExit):
        parse(["--data", "x", "--output", "y", "--architecture", "bert"])


def test_cli_trains_prints_the_table_and_saves(tmp_path, capsys):
    train = write_jsonl(tmp_path / "train.jsonl", synthetic_corpus(40, seed=6))
    test = write_jsonl(tmp_path / "test.jsonl", synthetic_corpus(20, seed=7))
    args = parse(["--data", str(train), "--test-data", str(test), "--output", str(tmp_path / "model"),
                  "--epochs", "1", "--hidden-size", "8", "--emb-size", "8", "--linear-size", "8",
                  "--no-glove", "--quiet"])
    assert cli.run_train(args) == 0
    out = capsys.readouterr().out
    assert "P@k" in out and "nDCG@k" in out and "saved to" in out
    loaded = AttentionXMLWrapper.from_directory(tmp_path / "model")
    assert loaded.config.hidden_size == 8 and loaded.labels == LABELS
    assert cli.run_train(args) == 2  # refuses to overwrite
    assert "--overwrite" in capsys.readouterr().err


def test_cli_without_test_split_says_so(tmp_path, capsys):
    train = write_jsonl(tmp_path / "train.jsonl", synthetic_corpus(20, seed=8))
    args = parse(["--data", str(train), "--output", str(tmp_path / "m"), "--epochs", "1",
                  "--hidden-size", "4", "--emb-size", "4", "--no-glove", "--quiet"])
    assert cli.run_train(args) == 0
    assert "no test evaluation" in capsys.readouterr().out


def test_cli_reports_missing_data(tmp_path, capsys):
    args = parse(["--data", str(tmp_path / "nope"), "--output", str(tmp_path / "m")])
    assert cli.run_train(args) == 2
    assert "nope" in capsys.readouterr().err


# ----------------------------------------------------------------- built-in model cache


def tiny_wrapper():
    torch.manual_seed(0)
    vocab = ["<PAD>", "<UNK>", "oil", "wheat"]
    config = AttentionXMLConfig(vocab_size=4, emb_size=4, hidden_size=3, layers_num=1, linear_size=[5], labels_num=2)
    return AttentionXMLWrapper(AttentionXMLNetwork(config), AttentionXMLTokenizer(vocab), ["crude", "grain"])


def test_builtin_names_and_aliases(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    assert builtin.canonical_name("attentionxml-reuters") == "attentionxml-reuters21578"
    assert builtin.canonical_name("attentionxml-reuters21578") == "attentionxml-reuters21578"
    assert builtin.canonical_name("bert-base") is None
    assert builtin.builtin_model_dir("attentionxml-reuters") == tmp_path / "models" / "attentionxml-reuters21578"
    assert "attentionxml-reuters" in builtin.builtin_model_names()
    with pytest.raises(KeyError, match="attentionxml-reuters21578"):
        builtin.load_builtin_model("nope")


def test_builtin_model_is_trained_once_then_loaded_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(builtin, "_train_builtin", lambda name, progress, log: calls.append(name) or tiny_wrapper())
    first = builtin.load_builtin_model("attentionxml-reuters", progress=False, log=lambda _: None)
    second = builtin.load_builtin_model("attentionxml-reuters21578", progress=False, log=lambda _: None)
    assert calls == ["attentionxml-reuters21578"]
    torch.testing.assert_close(first(["oil wheat"]), second(["oil wheat"]))
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["attentionxml-reuters21578"]  # no temp dirs left


def test_a_failed_save_leaves_no_half_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    wrapper = tiny_wrapper()

    def broken_save(directory):
        (directory / "model.pt").write_bytes(b"half")
        raise KeyboardInterrupt

    wrapper.save = broken_save
    monkeypatch.setattr(builtin, "_train_builtin", lambda name, progress, log: wrapper)
    with pytest.raises(KeyboardInterrupt):
        builtin.load_builtin_model("attentionxml-reuters", progress=False, log=lambda _: None)
    assert list((tmp_path / "models").iterdir()) == []


def test_builtin_preset_only_uses_known_training_settings():
    import inspect

    preset = builtin.BUILTIN_MODELS["attentionxml-reuters21578"]["train"]
    accepted = set(inspect.signature(train_attentionxml).parameters) | set(DEFAULTS)
    assert set(preset) <= accepted, set(preset) - accepted
    assert preset["max_length"] == 500  # the attack reads what the original AttentionXML reads
