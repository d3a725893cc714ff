"""AttentionXMLWrapper: scoring, our saved format, and ORIGINAL AttentionXML checkpoints."""
import json
import pickle

import numpy as np
import pytest
import torch

from builders import ATTENTIONXML_VOCAB, tiny_attentionxml_network, write_original_data
from textattack_xmtc.model_wrappers.attentionxml import (
    AttentionXMLWrapper,
    find_original_checkpoint,
    read_original_labels,
)
from textattack_xmtc.model_wrappers.base import XMTCModelWrapper
from textattack_xmtc.models.attentionxml import CheckpointError
from textattack_xmtc.models.tokenization import AttentionXMLTokenizer, save_vocab

VOCAB = ATTENTIONXML_VOCAB
LABELS = ["crude", "grain", "interest"]  # sorted, as MultiLabelBinarizer orders them
TEXTS = ["Oil prices rose.", "Wheat exports fell sharply, the bank said.", "rates", "", "oil <UNK> wheat oil oil"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_network(labels_num=len(LABELS), seed=0):
    return tiny_attentionxml_network(labels_num, len(VOCAB), seed)


@pytest.fixture
def wrapper():
    return AttentionXMLWrapper(make_network(), AttentionXMLTokenizer(VOCAB), LABELS, source="test")


def write_original_layout(root, data="Tiny", state=None, labels_lines=None):
    """The original repository layout: models/AttentionXML-<data>, data/<data>/{vocab.npy,train_labels.txt}."""
    (root / "models").mkdir(parents=True)
    weights = root / "models" / f"AttentionXML-{data}"
    torch.save(make_network().state_dict() if state is None else state, weights)
    write_original_data(root, data, VOCAB, labels_lines or ["interest crude", "grain", "crude", "grain interest"])
    return weights


# ----------------------------------------------------------------- scoring


def test_wrapper_fulfils_the_contract(wrapper):
    assert isinstance(wrapper, XMTCModelWrapper)
    assert wrapper.score_type == "probabilities" and wrapper.unk_token == "<UNK>"
    assert wrapper.max_words == 500 and wrapper.labels == LABELS
    scores = wrapper(TEXTS)
    assert isinstance(scores, torch.Tensor) and scores.shape == (len(TEXTS), len(LABELS))
    assert scores.device == torch.device("cpu") and scores.dtype == torch.float32
    assert ((scores > 0) & (scores < 1)).all()


def test_scores_are_sigmoid_of_the_network_logits(wrapper):
    ids = AttentionXMLTokenizer(VOCAB).batch_encode(TEXTS)
    with torch.no_grad():
        expected = torch.sigmoid(wrapper.model(ids))
    torch.testing.assert_close(wrapper(TEXTS), expected)


def test_mixed_length_batch_equals_one_text_at_a_time(wrapper):
    batch = wrapper(TEXTS)
    single = torch.cat([wrapper([text]) for text in TEXTS])
    torch.testing.assert_close(batch, single, atol=1e-6, rtol=0)


def test_label_scores_are_those_columns_of_the_whole_scores(wrapper):
    everything = wrapper(TEXTS)
    for labels in ([1], [2, 0]):
        torch.testing.assert_close(wrapper.label_scores(TEXTS, labels), everything[:, labels], atol=1e-6, rtol=0)
    assert wrapper.label_scores([], [2]).shape == (0, 1)


@pytest.mark.parametrize("labels, problem", [([len(LABELS)], "out of range"), ([-1], "out of range"),
                                             ([], "non-empty")])
def test_label_scores_of_labels_the_model_lacks_are_refused(wrapper, labels, problem):
    with pytest.raises(ValueError, match=problem):
        wrapper.label_scores(TEXTS[:1], labels)


def test_each_call_pads_to_its_own_longest_text_and_reads_unk_as_id_1(wrapper):
    seen = []
    hook = wrapper.model.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    wrapper(["oil <UNK> prices", "rates"])
    hook.remove()
    assert seen[0].tolist() == [[2, 1, 3], [10, 0, 0]]


def test_texts_with_the_same_ids_reach_the_network_once(wrapper):
    seen = []
    hook = wrapper.model.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]))
    # Two different unknown words and the unknown token itself all read as id 1.
    texts = ["oil qqzzx prices", "oil rose prices", "oil xxkkq prices", "oil <UNK> prices"]
    scores = wrapper(texts)
    hook.remove()
    assert seen == [2]
    torch.testing.assert_close(scores, torch.cat([wrapper([text]) for text in texts]), atol=1e-6, rtol=0)
    assert torch.equal(scores[0], scores[2]) and torch.equal(scores[0], scores[3])
    assert not torch.equal(scores[0], scores[1])


def test_unk_replacement_changes_scores_like_an_unknown_word(wrapper):
    torch.testing.assert_close(wrapper(["oil <UNK> prices"]), wrapper(["oil zzzunknownzzz prices"]))
    assert not torch.allclose(wrapper(["oil <UNK> prices"]), wrapper(["oil rose prices"]))


def test_scores_do_not_track_gradients_and_the_model_stays_in_eval(wrapper):
    wrapper.model.train()
    scores = wrapper(TEXTS[:2])
    assert not scores.requires_grad and not wrapper.model.training
    scores[0, 0] = 0.5  # an ordinary tensor, not an inference-mode one
    assert wrapper([]).shape == (0, len(LABELS))


def test_label_count_must_match_the_network():
    with pytest.raises(CheckpointError, match="2 labels given but the network scores 3"):
        AttentionXMLWrapper(make_network(), AttentionXMLTokenizer(VOCAB), LABELS[:2])


# ----------------------------------------------------------------- our format


def test_save_and_load_round_trip(wrapper, tmp_path):
    wrapper.training = {"epochs": 3}
    wrapper.save(tmp_path / "model")
    directory = tmp_path / "model"
    assert sorted(p.name for p in directory.iterdir()) == ["labels.txt", "model.pt", "vocab.npy", "xmtc_model.json"]
    metadata = json.loads((directory / "xmtc_model.json").read_text())
    assert metadata["format"] == "textattack-xmtc" and metadata["format_version"] == 1
    assert metadata["architecture"] == "attentionxml" and metadata["max_length"] == 500
    assert metadata["config"]["labels_num"] == 3 and metadata["training"] == {"epochs": 3}
    assert (directory / "labels.txt").read_text().splitlines() == LABELS
    assert np.load(directory / "vocab.npy", allow_pickle=False).tolist() == VOCAB
    state = torch.load(directory / "model.pt", weights_only=True)
    assert set(state) == set(make_network().state_dict())  # original key names
    assert AttentionXMLWrapper.is_saved_directory(directory)
    loaded = AttentionXMLWrapper.from_directory(directory)
    assert loaded.labels == LABELS and loaded.training == {"epochs": 3}
    torch.testing.assert_close(loaded(TEXTS), wrapper(TEXTS))


def test_is_saved_directory_is_false_for_other_things(tmp_path):
    assert not AttentionXMLWrapper.is_saved_directory(tmp_path)
    (tmp_path / "xmtc_model.json").write_text(json.dumps({"format": "textattack-xmtc", "architecture": "aplc-xlnet"}))
    assert not AttentionXMLWrapper.is_saved_directory(tmp_path)
    (tmp_path / "xmtc_model.json").write_text("{broken")
    assert not AttentionXMLWrapper.is_saved_directory(tmp_path)


def test_from_directory_names_the_mismatching_file(wrapper, tmp_path):
    wrapper.save(tmp_path)
    (tmp_path / "labels.txt").write_text("crude\ngrain\n")
    with pytest.raises(CheckpointError, match=r"labels\.txt: 2 labels, but attention\.attention\.weight .* 3 rows"):
        AttentionXMLWrapper.from_directory(tmp_path)
    wrapper.save(tmp_path)
    metadata = json.loads((tmp_path / "xmtc_model.json").read_text())
    metadata["config"]["hidden_size"] = 9
    (tmp_path / "xmtc_model.json").write_text(json.dumps(metadata))
    with pytest.raises(CheckpointError, match=r"model\.pt"):
        AttentionXMLWrapper.from_directory(tmp_path)


# ----------------------------------------------------------------- original checkpoints


def test_original_layout_checkpoint_loads_strictly_and_scores_like_our_model(tmp_path):
    network = make_network(seed=5)
    ours = AttentionXMLWrapper(network, AttentionXMLTokenizer(VOCAB), LABELS)
    weights = write_original_layout(tmp_path, state={k: v.clone() for k, v in network.state_dict().items()})
    for path in (weights, tmp_path / "models", tmp_path):
        found = find_original_checkpoint(path)
        assert found["weights_path"] == str(weights)
        assert found["vocab_path"] == str(tmp_path / "data" / "Tiny" / "vocab.npy")
        assert found["labels"] == str(tmp_path / "data" / "Tiny" / "train_labels.txt")
    original = AttentionXMLWrapper.from_original(**find_original_checkpoint(weights))
    assert original.labels == LABELS  # sorted(set(train labels))
    torch.testing.assert_close(original(TEXTS), ours(TEXTS), atol=1e-6, rtol=0)


def test_vocab_and_labels_beside_the_weights_are_found(tmp_path):
    torch.save(make_network().state_dict(), tmp_path / "AttentionXML-Mine")
    save_vocab(tmp_path / "vocab.npy", VOCAB)
    (tmp_path / "labels.txt").write_text("grain\ncrude\ninterest\n")  # output order, kept as given
    found = find_original_checkpoint(tmp_path)
    wrapper = AttentionXMLWrapper.from_original(**found)
    assert wrapper.labels == ["grain", "crude", "interest"]


def test_missing_vocab_or_labels_error_lists_the_paths_tried(tmp_path):
    weights = write_original_layout(tmp_path)
    (tmp_path / "data" / "Tiny" / "vocab.npy").unlink()
    (tmp_path / "data" / "Tiny" / "train_labels.txt").unlink()
    with pytest.raises(FileNotFoundError) as error:
        find_original_checkpoint(weights)
    message = str(error.value)
    for tried in (tmp_path / "models" / "vocab.npy", tmp_path / "data" / "Tiny" / "vocab.npy",
                  tmp_path / "models" / "labels.txt", tmp_path / "data" / "Tiny" / "train_labels.txt"):
        assert str(tried) in message
    assert "from_original" in message


def test_things_that_are_not_original_checkpoints_give_none(tmp_path):
    assert find_original_checkpoint(tmp_path) is None
    assert find_original_checkpoint(tmp_path / "missing") is None
    (tmp_path / "AttentionXML-Tiny.pt").write_bytes(b"x")
    (tmp_path / "FastAttentionXML-Tiny-Tree-0-Level-0").write_bytes(b"x")
    assert find_original_checkpoint(tmp_path) is None
    assert find_original_checkpoint(tmp_path / "AttentionXML-Tiny.pt") is None


def test_label_count_mismatch_names_the_labels_file(tmp_path):
    weights = write_original_layout(tmp_path, labels_lines=["crude grain", "interest ship"])
    with pytest.raises(CheckpointError) as error:
        AttentionXMLWrapper.from_original(**find_original_checkpoint(weights))
    message = str(error.value)
    assert "train_labels.txt" in message and "4 labels" in message and "attention.attention.weight" in message


def test_bad_shapes_in_an_original_checkpoint_name_file_and_tensor(tmp_path):
    state = make_network().state_dict()
    state["lstm.lstm.weight_hh_l0"] = torch.zeros(20, 4)
    weights = write_original_layout(tmp_path, state=state)
    with pytest.raises(CheckpointError) as error:
        AttentionXMLWrapper.from_original(**find_original_checkpoint(weights))
    assert str(weights) in str(error.value) and "lstm.lstm.weight_hh_l0" in str(error.value)
    assert "[20, 5]" in str(error.value) and "[20, 4]" in str(error.value)


def test_vocab_size_mismatch_names_the_vocab_file(tmp_path):
    weights = write_original_layout(tmp_path)
    save_vocab(tmp_path / "data" / "Tiny" / "vocab.npy", VOCAB[:-1])
    with pytest.raises(CheckpointError, match=r"vocab\.npy: 11 words, but emb\.emb\.weight .* 12 rows"):
        AttentionXMLWrapper.from_original(**find_original_checkpoint(weights))


def test_legacy_non_zip_checkpoints_load(tmp_path):
    """Checkpoints written by old torch versions use the legacy (non-zip) serialization."""
    network = make_network(seed=3)
    weights = write_original_layout(tmp_path, state={})
    torch.save(network.state_dict(), weights, _use_new_zipfile_serialization=False)
    loaded = AttentionXMLWrapper.from_original(**find_original_checkpoint(weights))
    ours = AttentionXMLWrapper(network, AttentionXMLTokenizer(VOCAB), LABELS)
    torch.testing.assert_close(loaded(TEXTS), ours(TEXTS))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_checkpoints_are_refused(tmp_path):
    path = tmp_path / "AttentionXML-Evil"
    with open(path, "wb") as handle:
        pickle.dump({"emb.emb.weight": np.zeros((2, 2))}, handle)
    with pytest.raises(CheckpointError, match="AttentionXML-Evil"):
        AttentionXMLWrapper.from_original(path, tmp_path / "vocab.npy", LABELS)


class FakeBinarizer:
    classes_ = np.array(LABELS)


def test_labels_binarizer_is_unpickled_only_when_allowed(tmp_path):
    joblib = pytest.importorskip("joblib")
    weights = write_original_layout(tmp_path)
    (tmp_path / "data" / "Tiny" / "train_labels.txt").unlink()
    binarizer = tmp_path / "data" / "Tiny" / "labels_binarizer"
    joblib.dump(FakeBinarizer(), binarizer)
    with pytest.raises(FileNotFoundError, match="train_labels.txt"):
        find_original_checkpoint(weights)
    with pytest.raises(CheckpointError, match="allow_pickle=True"):
        read_original_labels(binarizer)
    found = find_original_checkpoint(weights, allow_pickle=True)
    assert found["labels"] == str(binarizer)
    assert AttentionXMLWrapper.from_original(**found).labels == LABELS


def test_read_original_labels_formats(tmp_path):
    one_per_line = tmp_path / "labels.txt"
    one_per_line.write_text("b\na\nc\n")
    assert read_original_labels(one_per_line) == ["b", "a", "c"]
    dataset = tmp_path / "train_labels.txt"
    dataset.write_text("b\na\nb\n")  # a dataset file even with one label per line: sorted set
    assert read_original_labels(dataset) == ["a", "b"]
    several = tmp_path / "mine.txt"
    several.write_text("x z\ny\n")
    assert read_original_labels(several) == ["x", "y", "z"]
    starts_with_x = tmp_path / "labels-x.txt"
    starts_with_x.write_text("xylem\n")  # 'x' is also how zlib streams start: still text
    assert read_original_labels(starts_with_x) == ["xylem"]


@pytest.mark.parametrize("damage, problem", [
    (lambda d: (d / "model.pt").unlink(), "weights not found"),
    (lambda d: (d / "labels.txt").unlink(), "label list not found"),
    (lambda d: _edit_metadata(d, format_version="two"), "\"format_version\" must be an integer, got 'two'"),
    (lambda d: _edit_metadata(d, max_length=0), "max_length must be positive"),
    (lambda d: (d / "xmtc_model.json").write_text("[1, 2]"), "not a valid saved-model file"),
])
def test_a_damaged_saved_directory_is_a_load_error_naming_it(wrapper, tmp_path, damage, problem):
    from textattack_xmtc.model_wrappers import ModelLoadError, load_victim

    directory = tmp_path / "damaged"
    wrapper.save(directory)
    damage(directory)
    with pytest.raises(ModelLoadError, match=problem) as error:
        load_victim(str(directory))
    assert "damaged" in str(error.value)


def _edit_metadata(directory, **changes):
    path = directory / "xmtc_model.json"
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


# ---------------------------------------------------------------- labels.txt (line i = output i)


def _label_file(tmp_path, data: bytes):
    path = tmp_path / "labels.txt"
    path.write_bytes(data)
    return path


def test_a_blank_line_inside_the_label_list_is_refused_naming_the_line(tmp_path):
    from textattack_xmtc.model_wrappers.attentionxml import read_label_list

    # Skipped, it moved 'interest' to output 1: a wrong answer, or a puzzling label count.
    path = _label_file(tmp_path, b"crude\n\ninterest\n")
    with pytest.raises(CheckpointError, match=r"labels\.txt, line 2: blank line inside the label list "
                                              r"\(line i names output i\); remove it"):
        read_label_list(path)
    _label_file(tmp_path, b"\ncrude\n")
    with pytest.raises(CheckpointError, match=r"line 1: blank line"):
        read_label_list(path)


def test_trailing_blank_lines_and_crlf_are_fine(tmp_path):
    from textattack_xmtc.model_wrappers.attentionxml import read_label_list

    assert read_label_list(_label_file(tmp_path, b"crude\r\ngrain\r\ninterest\r\n\r\n  \n\n")) == LABELS
    assert read_label_list(_label_file(tmp_path, b"crude\ngrain\ninterest")) == LABELS
    assert read_label_list(_label_file(tmp_path, b"")) == []
    assert read_label_list(_label_file(tmp_path, b"\xef\xbb\xbfcrude\ngrain\ninterest\n")) == LABELS  # a BOM


def test_a_label_list_that_is_not_utf8_names_the_file_and_line(tmp_path):
    from textattack_xmtc.model_wrappers.attentionxml import read_label_list

    path = _label_file(tmp_path, "crude\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(CheckpointError, match=r"labels\.txt, line 2: not UTF-8 text \(byte 0xe9\); "
                                              r"save the label list as UTF-8"):
        read_label_list(path)


def test_a_repeated_label_names_both_lines(tmp_path):
    from textattack_xmtc.model_wrappers.attentionxml import read_label_list

    with pytest.raises(CheckpointError, match=r"labels\.txt, line 3: label 'crude' repeats line 1"):
        read_label_list(_label_file(tmp_path, b"crude\ngrain\ncrude\n"))


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_only_newline_ends_a_label(tmp_path, separator):
    from textattack_xmtc.model_wrappers.attentionxml import read_label_list
    from textattack_xmtc.model_wrappers.saved import write_labels

    labels = [f"crude{separator}oil", "grain"]  # splitlines() made three labels of these two
    write_labels(tmp_path / "labels.txt", labels)
    assert read_label_list(tmp_path / "labels.txt") == labels


@pytest.mark.parametrize("data, problem", [
    (b"crude\n\ninterest\n", r"line 2: blank line inside the label list"),
    (b"crude\ngrain\n\xe9\n", r"line 3: not UTF-8 text"),
    (b"crude\ngrain\ncrude\n", r"line 3: label 'crude' repeats line 1"),
])
def test_a_damaged_label_list_is_one_load_error_line(wrapper, tmp_path, data, problem):
    from textattack_xmtc.model_wrappers import ModelLoadError, load_victim

    directory = tmp_path / "damaged"
    wrapper.save(directory)
    (directory / "labels.txt").write_bytes(data)
    with pytest.raises(ModelLoadError, match=problem) as error:
        load_victim(str(directory))
    assert str(error.value).startswith(str(directory / "labels.txt")) and "\n" not in str(error.value)


def test_a_saved_label_list_put_in_another_order_is_refused(wrapper, tmp_path):
    # Only the count was checked: outputs silently took other labels' names.
    from textattack_xmtc.model_wrappers import ModelLoadError, load_victim

    directory = tmp_path / "saved"
    wrapper.save(directory)
    labels = (directory / "labels.txt").read_text().splitlines()
    (directory / "labels.txt").write_text("\n".join(labels[1:] + labels[:1]) + "\n")
    with pytest.raises(ModelLoadError, match=r"labels\.txt: the model's labels in another order than it was saved "
                                             r"with; line i names output i"):
        load_victim(str(directory))
    renamed = ["renamed-" + labels[0]] + labels[1:]  # a rename is the owner's to make
    (directory / "labels.txt").write_text("\n".join(renamed) + "\n")
    assert load_victim(str(directory)).labels == renamed


def test_a_saved_vocabulary_holding_a_word_twice_is_one_load_error(wrapper, tmp_path):
    from textattack_xmtc.model_wrappers import ModelLoadError, load_victim
    from textattack_xmtc.models.tokenization import load_vocab, save_vocab

    directory = tmp_path / "saved"
    wrapper.save(directory)
    words = list(load_vocab(directory / "vocab.npy"))
    save_vocab(directory / "vocab.npy", words[:-1] + [words[2]])
    with pytest.raises(ModelLoadError, match=f"vocab.npy: the vocabulary holds {str(words[2])!r} twice"):
        load_victim(str(directory))
