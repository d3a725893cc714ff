"""``wrapper.identity()``: what a result was computed with (architecture, source, hashes of weights and labels)."""
import hashlib

import pytest
import torch

from textattack_xmtc.model_wrappers import load_victim
from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper
from textattack_xmtc.model_wrappers.base import XMTCModelWrapper
from textattack_xmtc.models import builtin
from textattack_xmtc.models.tokenization import AttentionXMLTokenizer

from test_attentionxml_wrapper import LABELS, VOCAB, make_network, write_original_layout

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def wrapper(seed=0):
    return AttentionXMLWrapper(make_network(seed=seed), AttentionXMLTokenizer(VOCAB), LABELS)


def test_same_weights_same_hash_one_changed_weight_another():
    first, second = wrapper(), wrapper()
    assert first.identity() == second.identity()
    identity = first.identity()
    assert set(identity) == {"architecture", "source", "num_labels", "weights_sha256", "labels_sha256", "loss",
                             "adversarial"}
    assert identity["loss"] == identity["adversarial"] == ""  # built in memory: no training info
    assert identity["architecture"] == "attentionxml" and identity["num_labels"] == len(LABELS)
    assert len(identity["weights_sha256"]) == 64
    assert identity["labels_sha256"] == hashlib.sha256("\n".join(LABELS).encode()).hexdigest()
    with torch.no_grad():
        second.model.linear.output.bias[0] += 1e-6  # one value of one tensor
    assert second.identity()["weights_sha256"] != identity["weights_sha256"]
    assert second.identity()["labels_sha256"] == identity["labels_sha256"]
    assert wrapper(seed=1).identity()["weights_sha256"] != identity["weights_sha256"]


def test_the_hash_is_cached_until_a_weight_changes(monkeypatch):
    victim = wrapper()
    value = victim.weights_sha256()
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert victim.weights_sha256() == value and not calls
    victim.model.load_state_dict(make_network(seed=2).state_dict())
    assert victim.weights_sha256() != value and calls


def test_hash_does_not_depend_on_key_order_or_device_but_on_dtype():
    victim = wrapper()
    other = wrapper()
    other.model.load_state_dict(dict(reversed(list(victim.model.state_dict().items()))))
    assert other.weights_sha256() == victim.weights_sha256()
    half = wrapper()
    half.model.double()
    assert half.weights_sha256() != victim.weights_sha256()


def test_loaders_set_the_source(tmp_path, monkeypatch):
    weights = write_original_layout(tmp_path)
    assert load_victim(str(tmp_path)).identity()["source"] == str(tmp_path)
    assert load_victim(str(weights)).identity()["source"] == str(weights)
    saved = tmp_path / "saved"
    wrapper().save(saved)
    assert load_victim(f"{saved}^max_length=40").identity()["source"] == str(saved)
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(builtin, "_train_builtin", lambda name, progress, log: wrapper())
    victim = load_victim("attentionxml-reuters")
    assert victim.identity()["source"] == "attentionxml-reuters21578"
    assert victim.identity()["weights_sha256"] == wrapper().identity()["weights_sha256"]  # saved and loaded


def test_aplc_and_hugging_face_identities(aplc_original_dir, hf_multilabel_dir):
    aplc = load_victim(str(aplc_original_dir)).identity()
    assert (aplc["architecture"], aplc["source"], aplc["num_labels"]) == ("aplc-xlnet", str(aplc_original_dir), 8)
    hf = load_victim(str(hf_multilabel_dir)).identity()
    assert (hf["architecture"], hf["source"], hf["num_labels"]) == ("huggingface", str(hf_multilabel_dir), 3)


class Homemade(XMTCModelWrapper):
    """A wrapper written by a user, not loaded by the package."""

    labels = ["a", "b"]

    def __init__(self):
        self.model = torch.nn.Linear(2, 2)

    def __call__(self, texts):
        return torch.zeros(len(texts), 2)


def test_wrappers_not_from_our_loaders_still_have_an_identity():
    identity = Homemade().identity()
    assert identity["architecture"] == "Homemade" and identity["source"] == ""
    assert identity["num_labels"] == 2 and len(identity["weights_sha256"]) == 64
