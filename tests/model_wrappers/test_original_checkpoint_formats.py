"""Original checkpoints as users have them: AttentionXML's -Tree-<n> names, APLC-XLNet's training_args.bin."""
import argparse
import builtins

import pytest
import torch

from builders import original_training_args, write_aplc_original, write_training_args
from textattack_xmtc.errors import CheckpointError
from textattack_xmtc.model_wrappers import ModelLoadError, load_victim
from textattack_xmtc.model_wrappers.aplc_xlnet import APLCXLNetWrapper, original_max_length, read_training_args
from textattack_xmtc.model_wrappers.attentionxml import find_original_checkpoint

from test_attentionxml_wrapper import LABELS, TEXTS as AXML_TEXTS, write_original_layout

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Longer than 32 pieces, shorter than 512: read differently at the two lengths.
LONG = " ".join(["Crude oil exports fell; dividend, profit and shares rose in the market."] * 8)


# ----------------------------------------------------------------- AttentionXML -Tree-<n>


@pytest.mark.parametrize("where", ["root", "models", "file"])
def test_flat_attentionxml_named_with_its_tree_id_loads(tmp_path, where):
    """`main.py --tree-id 0` writes models/AttentionXML-<data>-Tree-0; its data stay in data/<data>/."""
    weights = write_original_layout(tmp_path, data="EUR-Lex")
    tree = weights.with_name("AttentionXML-EUR-Lex-Tree-0")
    weights.rename(tree)
    path = {"root": tmp_path, "models": tmp_path / "models", "file": tree}[where]
    victim = load_victim(str(path))
    assert victim.labels == LABELS and victim.source == str(path)
    ours = load_victim(str(write_original_layout(tmp_path / "plain", data="EUR-Lex")))
    torch.testing.assert_close(victim(AXML_TEXTS), ours(AXML_TEXTS), atol=0, rtol=0)


def test_a_data_directory_named_with_the_tree_suffix_is_still_found_first(tmp_path):
    weights = write_original_layout(tmp_path, data="Odd-Tree-1")
    assert find_original_checkpoint(weights)["vocab_path"] == str(tmp_path / "data" / "Odd-Tree-1" / "vocab.npy")


def test_an_ensemble_of_trees_asks_which_member(tmp_path):
    weights = write_original_layout(tmp_path, data="EUR-Lex")
    for tree in range(3):
        (tmp_path / "models" / f"AttentionXML-EUR-Lex-Tree-{tree}").write_bytes(weights.read_bytes())
    weights.unlink()
    with pytest.raises(ModelLoadError, match=r"several AttentionXML checkpoints .*Tree-0.*Tree-2: the members of an "
                                             r"ensemble\); pass the one you want"):
        load_victim(str(tmp_path))
    assert load_victim(str(tmp_path / "models" / "AttentionXML-EUR-Lex-Tree-2")).labels == LABELS


def test_missing_data_of_a_tree_model_lists_both_data_directories(tmp_path):
    weights = write_original_layout(tmp_path, data="EUR-Lex")
    weights.rename(weights.with_name("AttentionXML-EUR-Lex-Tree-0"))
    (tmp_path / "data" / "EUR-Lex" / "vocab.npy").unlink()
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(tmp_path))
    assert str(tmp_path / "data" / "EUR-Lex-Tree-0" / "vocab.npy") in str(error.value)
    assert str(tmp_path / "data" / "EUR-Lex" / "vocab.npy") in str(error.value)


# ----------------------------------------------------------------- APLC-XLNet max_seq_length


@pytest.fixture(scope="module")
def at_128(tmp_path_factory, aplc_spiece):
    """An original run trained at --max_seq_length 128 (training_args.bin written as the original does)."""
    return write_aplc_original(tmp_path_factory.mktemp("aplc128") / "EURLex", aplc_spiece,
                               training_args=original_training_args(max_seq_length=128))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_aplc_is_scored_at_the_length_it_was_trained_at(tmp_path, aplc_spiece, zip_format, capsys):
    directory = write_aplc_original(tmp_path / "EURLex", aplc_spiece, zip_format=zip_format,
                                    training_args=original_training_args(max_seq_length=128))
    victim = load_victim(str(directory))
    assert victim.max_length == 128 and victim.max_words == 126
    assert f"APLC-XLNet {directory}: max_seq_length 128 (from training_args.bin)" in capsys.readouterr().err
    explicit = APLCXLNetWrapper.from_original(directory, max_length=128, log=lambda _: None)
    torch.testing.assert_close(victim([LONG]), explicit([LONG]), atol=0, rtol=0)
    at_512 = APLCXLNetWrapper.from_original(directory, max_length=512, log=lambda _: None)
    assert len(at_512.inputs.ids(LONG)) > 128  # the document is longer than the training length ...
    assert not torch.equal(victim([LONG]), at_512([LONG]))  # ... so the two lengths score it differently


def test_an_explicit_length_wins_and_does_not_open_training_args(at_128, tmp_path, aplc_spiece, capsys):
    for load in (lambda: APLCXLNetWrapper.from_original(at_128, max_length=64),
                 lambda: load_victim(str(at_128), max_length=64), lambda: load_victim(f"{at_128}^max_length=64")):
        assert load().max_length == 64
        assert f"APLC-XLNet {at_128}: max_seq_length 64 (given)" in capsys.readouterr().err
    unreadable = write_aplc_original(tmp_path / "bad", aplc_spiece, training_args=b"\x80\x04 damaged")
    assert load_victim(str(unreadable), max_length=100).max_length == 100
    with pytest.raises(ModelLoadError, match="max_length must leave room"):
        APLCXLNetWrapper.from_original(at_128, max_length=2)


def test_without_training_args_the_default_is_said(tmp_path, aplc_spiece, capsys):
    directory = write_aplc_original(tmp_path / "EURLex", aplc_spiece, training_args=False)
    assert load_victim(str(directory)).max_length == 512
    err = capsys.readouterr().err
    assert f"APLC-XLNet {directory}: max_seq_length 512 (default; no training_args.bin" in err


def test_a_checkpoint_subdirectory_reads_the_run_training_args(at_128, tmp_path):
    checkpoint = at_128 / "checkpoint-0000000500"
    checkpoint.mkdir(exist_ok=True)
    for name in ("config.json", "pytorch_model.bin"):
        (checkpoint / name).write_bytes((at_128 / name).read_bytes())
    assert original_max_length(checkpoint) == (128, "from training_args.bin")
    write_training_args(checkpoint / "training_args.bin", original_training_args(max_seq_length=256))
    assert original_max_length(checkpoint) == (256, "from training_args.bin")


@pytest.mark.parametrize("value, words", [(True, "True"), ("128", "'128'"), (128.0, "128.0"), (1, "at least 3")])
def test_a_bad_max_seq_length_is_refused(tmp_path, value, words):
    write_training_args(tmp_path / "training_args.bin", original_training_args(max_seq_length=value))
    with pytest.raises(CheckpointError, match=f"training_args.bin: max_seq_length must be .*{words}"):
        original_max_length(tmp_path)


def test_training_args_without_max_seq_length_falls_back(tmp_path):
    write_training_args(tmp_path / "training_args.bin", argparse.Namespace(model_type="xlnet"))
    assert original_max_length(tmp_path) == (512, "default; training_args.bin has no max_seq_length")


def test_training_args_read_back_every_plain_field(tmp_path):
    path = write_training_args(tmp_path / "training_args.bin")
    args = read_training_args(path)
    assert vars(args) == vars(original_training_args())
    assert args.device == torch.device("cpu")


# ----------------------------------------------------------------- hostile training_args.bin


class Payload:
    """Unpickling this calls ``open(marker, "w")``: it would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return builtins.open, (str(self.marker), "w")


FLAG = {"ran": False}


def set_flag():
    FLAG["ran"] = True
    return 128


class FlagPayload:
    def __reduce__(self):
        return set_flag, ()


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
@pytest.mark.parametrize("nesting", ["inside the namespace", "the whole file", "as max_seq_length"])
def test_a_malicious_training_args_is_refused_without_running_it(tmp_path, aplc_spiece, zip_format, nesting):
    marker = tmp_path / "pwned"
    payload = Payload(marker)
    content = {"inside the namespace": original_training_args(max_seq_length=128, extra=payload),
               "the whole file": payload,
               "as max_seq_length": original_training_args(max_seq_length=FlagPayload())}[nesting]
    directory = write_aplc_original(tmp_path / "EURLex", aplc_spiece, zip_format=zip_format, training_args=content)
    FLAG["ran"] = False
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(directory))
    message = str(error.value)
    assert str(directory / "training_args.bin") in message and "refused" in message and "max_length=N" in message
    assert "Unsupported global" in message and "weights_only" not in message  # never advice to load it unsafely
    assert not marker.exists() and not FLAG["ran"]


class Settings:
    """Some other class: harmless, but not what the original saves."""

    max_seq_length = 128


def test_anything_but_the_runs_namespace_is_refused(tmp_path):
    path = tmp_path / "training_args.bin"
    torch.save({"max_seq_length": 128}, path)  # plain values: readable, but not the run's Namespace
    with pytest.raises(CheckpointError, match="expected the original run's argparse.Namespace, found dict"):
        read_training_args(path)
    torch.save(Settings(), path)
    with pytest.raises(CheckpointError, match="refused"):
        read_training_args(path)


def test_damaged_training_args_are_refused_naming_the_file(tmp_path, aplc_spiece):
    directory = write_aplc_original(tmp_path / "EURLex", aplc_spiece, training_args=b"\x80\x04 not a pickle")
    with pytest.raises(ModelLoadError, match=r"training_args\.bin: refused.*--model DIR\^max_length=N"):
        load_victim(str(directory))
