"""Model-side hostile inputs: damaged tensors and mistyped saved-model fields are refused at load, naming them."""
import json
import re

import pytest
import torch

from builders import aplc_original_state, build_hf_multilabel, write_aplc_original
from textattack_xmtc.model_wrappers import ModelLoadError, load_victim
from textattack_xmtc.model_wrappers.aplc_xlnet import APLCXLNetWrapper
from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper
from textattack_xmtc.models.state_dicts import non_finite_tensors
from textattack_xmtc.models.tokenization import AttentionXMLTokenizer

from test_attentionxml_wrapper import LABELS, VOCAB, make_network, write_original_layout

pytestmark = pytest.mark.usefixtures("one_torch_thread")

NAN, INF = float("nan"), float("inf")


def damage(state, key, value=NAN):
    state = {name: tensor.clone() for name, tensor in state.items()}
    state[key].view(-1)[0] = value
    return state


def attentionxml_saved(directory):
    AttentionXMLWrapper(make_network(), AttentionXMLTokenizer(VOCAB), LABELS).save(directory)
    return directory


@pytest.fixture(scope="module")
def aplc_saved(tmp_path_factory, aplc_original_dir):
    directory = tmp_path_factory.mktemp("aplc-saved") / "model"
    APLCXLNetWrapper.from_original(aplc_original_dir, max_length=32, log=lambda _: None).save(directory)
    return directory


def test_non_finite_tensors_counts_nan_and_inf():
    state = {"a": torch.tensor([1.0, NAN, INF, -INF]), "b": torch.zeros(3), "ids": torch.tensor([1, 2])}
    assert non_finite_tensors(state) == ["a (1 NaN, 2 inf of 4 values)"]


def test_a_damaged_saved_attentionxml_model_is_refused(tmp_path):
    """A model.pt with one NaN loaded, every score was NaN, and the attack counted the target as robust."""
    directory = attentionxml_saved(tmp_path / "model")
    weights = directory / "model.pt"
    torch.save(damage(torch.load(weights, weights_only=True), "attention.attention.weight"), weights)
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(directory))
    message = str(error.value)
    assert str(weights) in message and "attention.attention.weight (1 NaN, 0 inf of" in message


@pytest.mark.parametrize("legacy", [False, True])
def test_a_damaged_original_attentionxml_checkpoint_is_refused(tmp_path, legacy):
    state = damage(make_network().state_dict(), "linear.output.weight", INF)
    weights = write_original_layout(tmp_path, state={})
    torch.save(state, weights, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(ModelLoadError, match=r"AttentionXML-Tiny: damaged weights: .*linear\.output\.weight \(0 NaN, "
                                             r"1 inf"):
        load_victim(str(tmp_path))


def test_a_damaged_saved_aplc_model_is_refused(aplc_saved, tmp_path):
    import shutil

    directory = tmp_path / "model"
    shutil.copytree(aplc_saved, directory)
    weights = directory / "pytorch_model.bin"
    torch.save(damage(torch.load(weights, weights_only=True), "sequence_summary.summary.weight"), weights)
    with pytest.raises(ModelLoadError, match=r"pytorch_model\.bin: damaged weights: .*sequence_summary\.summary"):
        load_victim(str(directory))


@pytest.mark.parametrize("legacy", [False, True])
def test_a_damaged_original_aplc_checkpoint_is_refused(tmp_path, aplc_spiece, legacy):
    state = damage(aplc_original_state(), "AdaptiveMultiLabel.head.weight")
    directory = write_aplc_original(tmp_path / "EURLex", aplc_spiece, state=state, zip_format=not legacy)
    with pytest.raises(ModelLoadError, match=r"EURLex/pytorch_model\.bin: damaged weights: .*AdaptiveMultiLabel\.head"):
        load_victim(str(directory))


def test_a_damaged_hugging_face_classifier_is_refused(tmp_path):
    directory = build_hf_multilabel(tmp_path / "hf")
    from safetensors.torch import load_file, save_file

    weights = directory / "model.safetensors"
    state = load_file(str(weights))
    save_file(damage(state, "classifier.weight"), str(weights), metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: damaged weights: .*classifier\.weight"):
        load_victim(str(directory))


# ----------------------------------------------------------------- xmtc_model.json types


def edit(path, change):
    values = json.loads(path.read_text())
    change(values)
    path.write_text(json.dumps(values))


@pytest.mark.parametrize("value", [True, 2.9, "7", -3, None])
def test_max_length_must_be_an_integer_not_a_lookalike(tmp_path, value):
    """"max_length": true was read as 1, 2.9 as 2 and "7" as 7."""
    directory = attentionxml_saved(tmp_path / "model")
    edit(directory / "xmtc_model.json", lambda values: values.update(max_length=value))
    with pytest.raises(ModelLoadError, match=re.escape(f"xmtc_model.json: max_length must be positive (an integer), "
                                                       f"got {value!r}")):
        load_victim(str(directory))


@pytest.mark.parametrize("field, value, words", [
    ("hidden_size", True, "hidden_size must be a positive integer, got True"),
    ("hidden_size", "5", "hidden_size must be a positive integer, got '5'"),
    ("emb_size", 6.0, "emb_size must be a positive integer, got 6.0"),
    ("linear_size", ["7"], "linear_size must be a list of positive integers"),
    ("linear_size", 7, "linear_size must be a list of positive integers"),
    ("dropout", "0.5", "dropout must be a number in \\[0, 1\\)"),
    ("emb_dropout", 1.5, "emb_dropout must be a number in \\[0, 1\\)"),
])
def test_attentionxml_config_fields_are_type_checked(tmp_path, field, value, words):
    directory = attentionxml_saved(tmp_path / "model")
    edit(directory / "xmtc_model.json", lambda values: values["config"].update({field: value}))
    with pytest.raises(ModelLoadError, match=rf"xmtc_model\.json \"config\": {words}"):
        load_victim(str(directory))


@pytest.mark.parametrize("change, words", [
    (lambda v: v.update(config=[1, 2]), "\"config\" must be a JSON object"),
    (lambda v: v.pop("config"), "no \"config\""),
    (lambda v: v.update(training=[]), "\"training\" must be a JSON object"),
    (lambda v: v.update(format_version=1.0), "\"format_version\" must be an integer"),
])
def test_other_saved_fields_are_type_checked(tmp_path, change, words):
    directory = attentionxml_saved(tmp_path / "model")
    edit(directory / "xmtc_model.json", change)
    with pytest.raises(ModelLoadError, match=words):
        load_victim(str(directory))


@pytest.mark.parametrize("file, change, words", [
    ("xmtc_model.json", lambda v: v.update(max_length="32"), "max_length must be positive"),
    ("xmtc_model.json", lambda v: v["tokenizer"].update(do_lower_case="false"),
     "do_lower_case must be true or false, got 'false'"),
    ("xmtc_model.json", lambda v: v.update(tokenizer="cased"), "\"tokenizer\" must be a JSON object"),
    ("config.json", lambda v: v.update(num_labels=True), "num_labels must be a positive integer, got True"),
    ("config.json", lambda v: v.update(n_layer="2"), "n_layer must be a positive integer, got '2'"),
    ("config.json", lambda v: v.update(adaptive_cutoff=[3.0, 5]), "adaptive_cutoff must be a list of positive"),
    ("config.json", lambda v: v.update(untie_r="yes"), "untie_r must be true or false"),
])
def test_aplc_saved_fields_are_type_checked(aplc_saved, tmp_path, file, change, words):
    import shutil

    directory = tmp_path / "model"
    shutil.copytree(aplc_saved, directory)
    edit(directory / file, change)
    with pytest.raises(ModelLoadError, match=words) as error:
        load_victim(str(directory))
    assert str(directory / file) in str(error.value)


def test_max_length_of_a_saved_model_can_be_overridden(tmp_path, aplc_saved):
    directory = attentionxml_saved(tmp_path / "model")
    assert load_victim(str(directory)).max_words == 500
    assert load_victim(str(directory), max_length=20).max_words == 20
    assert load_victim(f"{aplc_saved}^max_length=16").max_length == 16
