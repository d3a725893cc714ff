"""APLCXLNetWrapper: original APLC-XLNet checkpoints, our saved format, scoring and gradients."""
import json

import numpy as np
import pytest
import torch

from builders import APLC_CONFIG as CONFIG, APLC_LABELS as LABELS
from builders import aplc_original_state as original_state, write_aplc_original as write_original
from textattack_xmtc.errors import CheckpointError, ModelLoadError
from textattack_xmtc.model_wrappers.aplc_xlnet import APLCXLNetWrapper, find_original_checkpoint
from textattack_xmtc.model_wrappers.base import XMTCModelWrapper
from textattack_xmtc.models.aplc_xlnet import APLCXLNet, APLCXLNetConfig
from textattack_xmtc.models.xlnet_tokenization import XLNetInputBuilder, load_xlnet_tokenizer

TEXTS = ["Oil prices rose sharply, the bank said.", "wheat", "", "Crude oil exports fell; dividend, profit and "
         "shares rose in the market.", "tonnes of grain"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def spiece(aplc_spiece):
    return aplc_spiece


@pytest.fixture(scope="module")
def original_dir(aplc_original_dir):
    return aplc_original_dir


@pytest.fixture(scope="module")
def victim(original_dir):
    return APLCXLNetWrapper.from_original(original_dir, max_length=32)


# ----------------------------------------------------------------- loading and scoring


def test_original_checkpoint_loads_and_scores(victim, original_dir):
    assert isinstance(victim, XMTCModelWrapper)
    assert victim.labels == LABELS  # line i = label i, never re-sorted
    assert (victim.score_type, victim.unk_token, victim.max_words) == ("probabilities", "<unk>", 30)
    state = torch.load(original_dir / "pytorch_model.bin", weights_only=True)
    assert all(torch.equal(victim.model.state_dict()[key], state[key]) for key in state)
    scores = victim(TEXTS)
    assert scores.shape == (len(TEXTS), len(LABELS)) and scores.dtype == torch.float32
    with torch.no_grad():
        direct = victim.model(**victim.inputs.encode_batch(TEXTS))
    torch.testing.assert_close(scores, direct, atol=0, rtol=0)
    assert victim([]).shape == (0, len(LABELS))


def test_batches_equal_one_text_at_a_time(victim):
    together = victim(TEXTS)
    alone = torch.cat([victim([text]) for text in TEXTS])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)
    victim.batch_size = 2  # chunks padded to their own longest text
    try:
        torch.testing.assert_close(victim(TEXTS), together, atol=1e-5, rtol=0)
    finally:
        victim.batch_size = 32


def test_repeated_texts_reach_the_network_once(victim):
    seen = []
    hook = victim.model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(
        kwargs["input_ids"].shape[0]), with_kwargs=True)
    texts = [TEXTS[0], TEXTS[1], TEXTS[0], TEXTS[1], TEXTS[3]]
    scores = victim(texts)
    hook.remove()
    assert seen == [3]
    torch.testing.assert_close(scores, torch.cat([victim([text]) for text in texts]), atol=1e-5, rtol=0)


def test_legacy_torch_format_loads(tmp_path, spiece, victim):
    directory = write_original(tmp_path / "legacy", spiece, zip_format=False)
    legacy = APLCXLNetWrapper.from_original(directory, max_length=32)
    torch.testing.assert_close(legacy(TEXTS), victim(TEXTS), atol=0, rtol=0)


def test_labels_given_separately_and_n_token_from_the_tensor(tmp_path, spiece):
    # The original forces n_token = 32000 in config.json; the tensor decides.
    directory = write_original(tmp_path / "ckpt", spiece, config=dict(CONFIG, n_token=32000), labels=None)
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("\n".join(LABELS) + "\n")
    wrapper = APLCXLNetWrapper.from_original(directory, labels=labels_file)
    assert wrapper.config.n_token == 128 and wrapper.labels == LABELS and wrapper.max_length == 512
    assert APLCXLNetWrapper.from_original(directory, labels=LABELS[::-1]).labels == LABELS[::-1]


def test_save_and_load_round_trip(tmp_path, victim):
    target = tmp_path / "saved"
    victim.save(target)
    metadata = json.loads((target / "xmtc_model.json").read_text())
    assert metadata["architecture"] == "aplc-xlnet" and metadata["max_length"] == 32
    assert sorted(p.name for p in target.iterdir()) == ["config.json", "labels.txt", "pytorch_model.bin",
                                                        "spiece.model", "xmtc_model.json"]
    assert "model_type" not in json.loads((target / "config.json").read_text())
    assert APLCXLNetWrapper.is_saved_directory(target) and not APLCXLNetWrapper.is_saved_directory(tmp_path)
    loaded = APLCXLNetWrapper.from_directory(target)
    assert loaded.labels == LABELS and loaded.max_length == 32
    torch.testing.assert_close(loaded(TEXTS), victim(TEXTS), atol=0, rtol=0)
    # The saved directory is also an original-layout checkpoint.
    assert find_original_checkpoint(target)["directory"] == str(target)
    torch.testing.assert_close(APLCXLNetWrapper.from_original(target, max_length=32)(TEXTS), victim(TEXTS),
                               atol=0, rtol=0)


# ----------------------------------------------------------------- errors name the file and the tensor


def test_label_count_mismatch_names_labels_file(tmp_path, spiece):
    directory = write_original(tmp_path / "ckpt", spiece, labels=LABELS[:7])
    with pytest.raises(CheckpointError) as error:
        APLCXLNetWrapper.from_original(directory)
    message = str(error.value)
    assert str(directory / "labels.txt") in message and "7 labels" in message
    assert "AdaptiveMultiLabel" in message and "scores 8" in message


def test_shape_mismatch_names_weights_file_and_tensor(tmp_path, spiece):
    state = original_state()
    state["AdaptiveMultiLabel.tail.0.3.weight"] = torch.zeros(3, 8)
    directory = write_original(tmp_path / "ckpt", spiece, state=state)
    with pytest.raises(CheckpointError) as error:
        APLCXLNetWrapper.from_original(directory)
    message = str(error.value)
    assert str(directory / "pytorch_model.bin") in message
    assert "AdaptiveMultiLabel.tail.0.3.weight: expected shape [2, 8], found [3, 8]" in message


def test_tokenizer_larger_than_the_embedding_is_refused(tmp_path, spiece):
    small = dict(CONFIG, n_token=40)
    directory = write_original(tmp_path / "ckpt", spiece, config=small, state=original_state(config=small))
    with pytest.raises(CheckpointError, match=r"spiece\.model.*transformer\.word_embedding\.weight"):
        APLCXLNetWrapper.from_original(directory)


def test_find_original_checkpoint(tmp_path, spiece, original_dir):
    assert find_original_checkpoint(original_dir) == {
        "directory": str(original_dir), "labels": str(original_dir / "labels.txt"),
        "spiece_path": str(original_dir / "spiece.model")}
    assert find_original_checkpoint(original_dir / "config.json")["directory"] == str(original_dir)
    # Not APLC at all: nothing, another transformers model, a missing path, an unrelated file.
    (tmp_path / "empty").mkdir()
    assert find_original_checkpoint(tmp_path / "empty") is None
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (tmp_path / "bert" / "pytorch_model.bin").write_bytes(b"")
    assert find_original_checkpoint(tmp_path / "bert") is None
    assert find_original_checkpoint(tmp_path / "missing") is None
    assert find_original_checkpoint(original_dir / "spiece.model") is None


def test_original_repository_layout_finds_data_labels(tmp_path, spiece):
    checkpoint = write_original(tmp_path / "APLC_XLNet" / "models" / "EURLex", spiece, labels=None)
    data = tmp_path / "APLC_XLNet" / "data" / "EURLex"
    data.mkdir(parents=True)
    (data / "labels.txt").write_text("\n".join(LABELS) + "\n")
    found = find_original_checkpoint(checkpoint)
    assert found["labels"] == str(data / "labels.txt")
    assert APLCXLNetWrapper.from_original(**found).labels == LABELS


def test_checkpoint_subdirectory_uses_the_run_tokenizer_and_data_labels(tmp_path, spiece, victim):
    run = write_original(tmp_path / "APLC_XLNet" / "models" / "EURLex", spiece, labels=None)
    checkpoint = run / "checkpoint-1500"
    checkpoint.mkdir()
    for name in ("config.json", "pytorch_model.bin"):
        (checkpoint / name).write_bytes((run / name).read_bytes())
    data = tmp_path / "APLC_XLNet" / "data" / "EURLex"
    data.mkdir(parents=True)
    (data / "labels.txt").write_text("\n".join(LABELS) + "\n")
    found = find_original_checkpoint(checkpoint)
    assert found["spiece_path"] == str(run / "spiece.model") and found["labels"] == str(data / "labels.txt")
    torch.testing.assert_close(APLCXLNetWrapper.from_original(checkpoint, max_length=32)(TEXTS), victim(TEXTS),
                               atol=0, rtol=0)


def test_missing_labels_list_the_paths_tried(tmp_path, spiece):
    directory = write_original(tmp_path / "ckpt", spiece, labels=None)
    with pytest.raises(ModelLoadError, match=r"label list.*tried .*ckpt/labels\.txt"):
        APLCXLNetWrapper.from_original(directory)


def test_half_a_checkpoint_lists_the_expected_files(tmp_path, spiece):
    half = tmp_path / "half"
    half.mkdir()
    (half / "config.json").write_text(json.dumps(CONFIG))
    with pytest.raises(ModelLoadError) as error:
        find_original_checkpoint(half)
    message = str(error.value)
    for name in ("config.json", "pytorch_model.bin", "spiece.model", "labels.txt"):
        assert name in message
    assert str(half / "pytorch_model.bin") in message and str(half / "labels.txt") in message
    no_config = write_original(tmp_path / "no-config", spiece)
    (no_config / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="lacks .*config.json"):
        find_original_checkpoint(no_config)


# ----------------------------------------------------------------- word importance


def test_tokenize_strips_the_word_start_mark(victim):
    raw = victim.tokenize([TEXTS[0]], strip_prefix=False)[0]
    stripped = victim.tokenize([TEXTS[0]])[0]
    assert any(piece.startswith("\u2581") for piece in raw)
    assert stripped == [piece[1:] if piece.startswith("\u2581") else piece for piece in raw]
    assert victim.tokenize([TEXTS[0]], strip=False)[0] == raw


def test_get_grad_gives_one_row_per_piece(victim):
    text = TEXTS[3]
    pieces = victim.tokenize([text])[0]
    output = victim.get_grad(text)
    gradient = output["gradient"]
    assert isinstance(gradient, np.ndarray) and gradient.shape == (len(pieces), 32)
    assert len(output["ids"]) == len(pieces) and np.isfinite(gradient).all() and np.abs(gradient).sum() > 0
    assert all(parameter.grad is None for parameter in victim.model.parameters())
    assert not victim.model.training


def test_get_grad_uses_grad_objective(victim):
    text = TEXTS[0]
    calls = []

    def objective(probabilities):
        calls.append(tuple(probabilities.shape))
        return probabilities[0, 6] - probabilities[0, 0]

    victim.grad_objective = objective
    try:
        custom = victim.get_grad(text)["gradient"]
    finally:
        victim.grad_objective = None
    default = victim.get_grad(text)["gradient"]
    assert calls == [(1, len(LABELS))]
    assert custom.shape == default.shape and not np.allclose(custom, default)


def test_unk_token_reaches_the_network_as_unk(victim):
    pieces = victim.tokenize(["oil <unk> prices"])[0]
    assert "<unk>" in pieces
    ids = victim.inputs.ids("oil <unk> prices")
    assert ids[pieces.index("<unk>")] == 0


def test_mixed_precision_is_ignored_on_cpu(original_dir, victim):
    wrapper = APLCXLNetWrapper.from_original(original_dir, max_length=32, mixed_precision=True)
    torch.testing.assert_close(wrapper(TEXTS), victim(TEXTS), atol=0, rtol=0)


def test_wrapper_checks_labels_against_the_network(spiece):
    network = APLCXLNet(APLCXLNetConfig.from_dict(CONFIG))
    inputs = XLNetInputBuilder(load_xlnet_tokenizer(spiece), max_length=16)
    with pytest.raises(CheckpointError, match="7 labels"):
        APLCXLNetWrapper(network, inputs, LABELS[:7])


def test_on_cpu_long_texts_go_through_in_fewer_rows_per_pass_with_the_same_scores(victim, monkeypatch):
    """XLNet's [rows, heads, T, 2T] attention tensors outgrow the caches: rows x T^2 is capped on CPU."""
    import textattack_xmtc.model_wrappers.aplc_xlnet as module

    seen = []
    hook = victim.model.register_forward_pre_hook(lambda module_, args, kwargs: seen.append(
        tuple(kwargs["input_ids"].shape)), with_kwargs=True)
    try:
        together = victim(TEXTS)
        longest = seen[-1][1]
        monkeypatch.setattr(module, "CPU_ATTENTION_BUDGET", 2 * longest ** 2)  # two rows per pass
        seen.clear()
        capped = victim(TEXTS)
    finally:
        hook.remove()
    assert [rows for rows, _ in seen] == [2] * (len(TEXTS) // 2) + [1] * (len(TEXTS) % 2)
    torch.testing.assert_close(capped, together, atol=1e-5, rtol=0)
    assert victim._rows_per_pass(10 ** 6, torch.device("cpu")) == 1  # never zero
    assert victim._rows_per_pass(longest, torch.device("cuda")) == victim.batch_size  # GPUs keep the batch
