"""The one table of architectures: every place that depends on the architecture reads it."""
import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from textattack_xmtc import architectures
from textattack_xmtc.architectures import (ARCHITECTURES, Architecture, DiskFormat, get_architecture, resolve,
                                           trainable_architectures)
from textattack_xmtc.model_wrappers import (ModelLoadError, UnsupportedModelError, is_victim, load_victim,
                                            split_model_options)
from textattack_xmtc.model_wrappers.base import XMTCModelWrapper
from textattack_xmtc.models import builtin
from textattack_xmtc.training import cli


def test_every_reference_in_the_table_resolves():
    for architecture in ARCHITECTURES:
        if architecture.wrapper is not None:
            assert issubclass(architecture.wrapper_class(), XMTCModelWrapper)
        if architecture.trainer is not None:
            assert callable(architecture.train_function())
        if architecture.train_check is not None:
            assert callable(resolve(architecture.train_check))
        for fmt in architecture.formats:
            assert callable(resolve(fmt.find))
            assert fmt.load is None or callable(resolve(fmt.load))
            assert fmt.near_miss is None or callable(resolve(fmt.near_miss))
        if architecture.saved:
            assert architecture.wrapper_class().architecture == architecture.name


def test_names_flags_and_builtin_models_are_unique():
    names = [a.name for a in ARCHITECTURES]
    assert len(names) == len(set(names))
    flags = [option.flag for a in ARCHITECTURES for option in a.train_options]
    assert len(flags) == len(set(flags))
    common = {f"--{name.replace('_', '-')}" for name in cli.COMMON_OPTIONS}
    assert not common & set(flags)
    models = [m.name for a in ARCHITECTURES for m in a.builtin_models]
    aliases = [alias for a in ARCHITECTURES for m in a.builtin_models for alias in m.aliases]
    assert len(models + aliases) == len(set(models + aliases))
    for architecture in trainable_architectures():
        assert set(architecture.train_defaults) <= set(cli.COMMON_OPTIONS)
    with pytest.raises(KeyError, match="known: attentionxml, aplc-xlnet"):
        get_architecture("bert")


def test_builtin_models_come_from_the_table():
    assert builtin.BUILTIN_MODELS["attentionxml-reuters21578"]["architecture"] == "attentionxml"
    assert builtin.ALIASES["aplc-xlnet"] == "aplc-xlnet-reuters21578"
    declared = {m.name for a in ARCHITECTURES for m in a.builtin_models}
    assert set(builtin.BUILTIN_MODELS) == declared


def test_an_unknown_builtin_architecture_is_an_error_not_attentionxml(tmp_path, monkeypatch):
    """It used to fall back to AttentionXML for any architecture it did not know."""
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    monkeypatch.setitem(builtin.BUILTIN_MODELS, "mystery-reuters",
                        {"architecture": "mystery", "data": "reuters21578", "description": "", "train": {}})
    monkeypatch.setattr(builtin, "_train_builtin", lambda *args: pytest.fail("must not train"))
    with pytest.raises(KeyError, match="unknown architecture 'mystery'"):
        builtin.load_builtin_model("mystery-reuters", progress=False, log=lambda _: None)


def test_the_train_cli_is_built_from_the_table():
    parser = cli.add_train_arguments(argparse.ArgumentParser())
    help_text = " ".join(parser.format_help().split())
    for architecture in trainable_architectures():
        assert f"{architecture.title} options" in help_text
        for option in architecture.train_options:
            assert option.flag in help_text
    args = parser.parse_args(["--data", "x", "--output", "y", "--architecture", "aplc-xlnet", "--n-layer", "3",
                              "--epochs", "2"])
    options = cli._trainer_options(args, get_architecture("aplc-xlnet"))
    assert options == {"n_layer": 3, "epochs": 2}  # unset options are left to the trainer's defaults
    args = parser.parse_args(["--data", "x", "--output", "y", "--no-glove", "--linear-size", "8", "4"])
    assert cli._trainer_options(args, get_architecture("attentionxml")) == {"glove_init": False,
                                                                           "linear_size": [8, 4]}


def test_options_of_another_architecture_are_refused_all_of_them(tmp_path, capsys):
    """--hidden-size with aplc-xlnet used to be silently ignored."""
    parser = cli.add_train_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--data", "x", "--output", str(tmp_path / "m"), "--architecture", "aplc-xlnet",
                              "--hidden-size", "8"])
    assert cli.run_train(args) == 2
    assert "--hidden-size not used by --architecture aplc-xlnet" in capsys.readouterr().err


# ----------------------------------------------------------------- label trees; recognised, not supported yet


def write_label_tree(models, prefix="FastAttentionXML-EUR-Lex-Tree-0", levels=3):
    """The FILE NAMES of a label tree, with stand-in contents and no vocabulary or labels
    (tests/model_wrappers/test_attentionxml_tree.py loads real ones)."""
    models.mkdir(parents=True, exist_ok=True)
    for level in range(levels):
        torch.save({"emb.emb.weight": torch.zeros(3, 2)}, models / f"{prefix}-Level-{level}")
    for level in range(levels - 1):
        np.save(models / f"{prefix}-cluster-Level-{level}.npy",
                np.array([np.array([0, 1]), np.array([2])], dtype=object), allow_pickle=True)


@pytest.mark.parametrize("where", ["root", "models", "level file", "cluster file"])
def test_a_fastattentionxml_label_tree_is_recognised_not_unknown(tmp_path, where):
    """Label trees load (step 6) through the attentionxml-tree entry; this one lacks its vocabulary."""
    write_label_tree(tmp_path / "models")
    path = {"root": tmp_path, "models": tmp_path / "models",
            "level file": tmp_path / "models" / "FastAttentionXML-EUR-Lex-Tree-0-Level-1",
            "cluster file": tmp_path / "models" / "FastAttentionXML-EUR-Lex-Tree-0-cluster-Level-0.npy"}[where]
    assert is_victim(str(path))
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(path))
    message = str(error.value)
    assert not isinstance(error.value, UnsupportedModelError) and "not a model" not in message
    assert "FastAttentionXML-EUR-Lex-Tree-0-Level-0 but not the vocabulary" in message and "\n" not in message


def test_a_label_tree_beside_a_flat_model_does_not_hide_the_flat_model(tmp_path):
    from test_attentionxml_wrapper import LABELS, write_original_layout

    write_original_layout(tmp_path, data="EUR-Lex")
    write_label_tree(tmp_path / "models", prefix="FastAttentionXML-Amazon-670K-Tree-0")
    assert load_victim(str(tmp_path)).labels == LABELS


# LibMultiLabel's AttentionXML runs (model_0.ckpt, model_1.ckpt) load: tests/model_wrappers/test_libmultilabel.py.
@pytest.mark.parametrize("files", [
    ("best_model.ckpt", "last.ckpt", "logs.json"),
    ("linear_pipeline.pickle",),
])
def test_a_libmultilabel_run_is_recognised_not_unknown(tmp_path, files):
    run = tmp_path / "runs" / "EUR-Lex_kim_cnn_20240101000000"
    run.mkdir(parents=True)
    for name in files:
        (run / name).write_bytes(b"{}" if name.endswith(".json") else b"\x80\x04.")
    for path in (run, run / files[0]):
        assert is_victim(str(path))
        with pytest.raises(ModelLoadError, match=r"recognised as a LibMultiLabel checkpoint \(.*\); not supported yet"):
            load_victim(str(path))


def test_a_lone_lightning_checkpoint_is_not_taken_for_libmultilabel(tmp_path):
    (tmp_path / "epoch=3.ckpt").write_bytes(b"x")
    assert not is_victim(str(tmp_path))
    with pytest.raises(ModelLoadError, match="not a model this package can load") as error:
        load_victim(str(tmp_path))
    message = str(error.value)
    for fmt in (fmt for a in ARCHITECTURES for fmt in a.formats):
        assert fmt.description in message


# ----------------------------------------------------------------- adding a victim: one module, one entry


class ToyVictim(XMTCModelWrapper):
    """Every text scores 0.5 on each label of its ``toy.json``."""

    def __init__(self, labels, source="", max_length=None):
        self.labels, self.source, self.max_length = list(labels), source, max_length
        self.model = torch.nn.Linear(1, 1)

    def __call__(self, texts):
        return torch.full((len(texts), len(self.labels)), 0.5)

    @classmethod
    def from_toy(cls, path, max_length=None):
        return cls(json.loads((Path(path) / "toy.json").read_text()), source=path, max_length=max_length)


def find_toy(path):
    return {"path": str(path)} if (path / "toy.json").is_file() else None


def test_a_new_victim_is_one_table_entry(tmp_path, monkeypatch):
    here = __name__
    toy = Architecture(name="toy", title="Toy", wrapper=f"{here}:ToyVictim", formats=(
        DiskFormat(title="toy directory", description="a toy directory (toy.json)", find=f"{here}:find_toy",
                   load=f"{here}:ToyVictim.from_toy"),))
    (tmp_path / "toy.json").write_text(json.dumps(["a", "b"]))
    assert not is_victim(str(tmp_path))
    monkeypatch.setattr(architectures, "ARCHITECTURES", ARCHITECTURES + (toy,))
    assert is_victim(str(tmp_path))
    victim = load_victim(f"{tmp_path}^max_length=7")
    assert isinstance(victim, ToyVictim) and victim.labels == ["a", "b"] and victim.max_length == 7
    assert victim.identity()["architecture"] == "toy"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"a toy directory \(toy\.json\)"):
        load_victim(str(tmp_path / "empty"))


# ----------------------------------------------------------------- MODEL^options


def test_model_options_after_a_caret(tmp_path):
    assert split_model_options("models/EURLex^max_length=128") == ("models/EURLex", {"max_length": 128})
    assert split_model_options("aplc-xlnet") == ("aplc-xlnet", {})
    odd = tmp_path / "odd^name"
    odd.mkdir()
    assert split_model_options(str(odd)) == (str(odd), {})  # an existing path is never split
    for bad, words in (("m^max_length=0", "positive integer"), ("m^max_length=1.5", "positive integer"),
                       ("m^maxlen=5", "known: max_length"), ("m^max_length", "key=value")):
        with pytest.raises(ModelLoadError, match=words):
            split_model_options(bad)
        assert is_victim(bad)  # ours, badly written: load_victim says what is wrong
    with pytest.raises(ModelLoadError, match="positive integer"):
        load_victim(str(tmp_path), max_length=True)


def test_victim_architecture_names_what_a_model_would_load_as(tmp_path, aplc_original_dir, hf_multilabel_dir):
    from test_attentionxml_wrapper import write_original_layout

    from textattack_xmtc.model_wrappers import victim_architecture

    assert victim_architecture("aplc-xlnet") == "aplc-xlnet"
    assert victim_architecture("attentionxml-reuters") == "attentionxml"
    assert victim_architecture(str(aplc_original_dir)) == "aplc-xlnet"
    assert victim_architecture(f"{hf_multilabel_dir}^max_length=16") == "huggingface"
    write_original_layout(tmp_path / "axml")
    assert victim_architecture(str(tmp_path / "axml")) == "attentionxml"
    saved = tmp_path / "saved"
    load_victim(str(tmp_path / "axml")).save(saved)
    assert victim_architecture(str(saved)) == "attentionxml"
    assert victim_architecture("bert-base-uncased") is None and victim_architecture(str(tmp_path / "none")) is None
    write_label_tree(tmp_path / "tree" / "models")
    with pytest.raises(ModelLoadError, match="but not the vocabulary"):  # a tree, incomplete
        victim_architecture(str(tmp_path / "tree"))
