"""Hugging Face multilabel classifiers as victims."""
import json

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from textattack_xmtc.errors import ModelLoadError
from textattack_xmtc.model_wrappers import is_victim, load_victim
from textattack_xmtc.model_wrappers.huggingface import HuggingFaceMultilabelWrapper

TEXTS = ["the company said shares rose", "wheat and corn prices fell in the grain market today and oil rose",
         "dividend"]


def test_directory_is_detected_and_scores_are_sigmoid_of_logits(hf_multilabel_dir):
    assert is_victim(str(hf_multilabel_dir))
    victim = load_victim(str(hf_multilabel_dir))
    assert isinstance(victim, HuggingFaceMultilabelWrapper)
    assert victim.labels == ["acq", "earn", "grain"] and victim.score_type == "probabilities"
    model = AutoModelForSequenceClassification.from_pretrained(str(hf_multilabel_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(hf_multilabel_dir))
    for text in TEXTS:
        with torch.no_grad():
            expected = torch.sigmoid(model(**tokenizer([text], return_tensors="pt")).logits)
        assert torch.allclose(victim([text]), expected, atol=1e-6)


def test_mixed_length_batch_equals_one_text_at_a_time(hf_multilabel_dir):
    victim = load_victim(str(hf_multilabel_dir))
    batch = victim(TEXTS)
    assert batch.shape == (3, 3)
    single = torch.cat([victim([text]) for text in TEXTS])
    assert torch.allclose(batch, single, atol=1e-5)


def test_pads_to_the_longest_text_of_the_call(hf_multilabel_dir):
    victim = load_victim(str(hf_multilabel_dir))
    assert victim.encode(["dividend", "the company"])["input_ids"].shape[1] == 4  # [CLS] x x [SEP]


def test_gradient_rows_align_with_stripped_tokens(hf_multilabel_dir):
    victim = load_victim(str(hf_multilabel_dir))
    tokens = victim.tokenize(["the company said"], strip_prefix=True)[0]
    grad = victim.get_grad("the company said")
    assert grad["gradient"].shape == (len(tokens), 16) and tokens[1] == "the"
    victim.grad_objective = lambda scores: scores[0, 2]  # a different objective, a different gradient
    other = victim.get_grad("the company said")["gradient"]
    assert not torch.allclose(torch.as_tensor(other), torch.as_tensor(grad["gradient"]))
    assert all(p.grad is None for p in victim.model.parameters())


def test_single_label_classifiers_are_refused_with_the_reason(hf_multilabel_dir, tmp_path):
    import shutil

    copy = tmp_path / "single"
    shutil.copytree(hf_multilabel_dir, copy)
    config = json.loads((copy / "config.json").read_text())
    config["problem_type"] = "single_label_classification"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="problem_type"):
        HuggingFaceMultilabelWrapper.from_directory(copy)
    with pytest.raises(ModelLoadError, match="Expected one of") as refused:
        load_victim(str(copy))
    assert "Found: " in str(refused.value) and "'single_label_classification'" in str(refused.value)


def test_save_round_trip(hf_multilabel_dir, tmp_path):
    victim = load_victim(str(hf_multilabel_dir))
    victim.save(tmp_path / "again")
    again = load_victim(str(tmp_path / "again"))
    assert torch.allclose(victim(TEXTS), again(TEXTS))


def test_a_directory_without_weights_or_tokenizer_is_named(hf_multilabel_dir, tmp_path):
    import shutil

    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(hf_multilabel_dir / "config.json", config_only / "config.json")
    with pytest.raises(ModelLoadError, match=r"config-only: .*no weights"):
        load_victim(str(config_only))
    no_tokenizer = tmp_path / "no-tokenizer"
    shutil.copytree(hf_multilabel_dir, no_tokenizer)
    for path in no_tokenizer.iterdir():
        if "token" in path.name or path.name == "vocab.txt":
            path.unlink()
    with pytest.raises(ModelLoadError, match=r"no-tokenizer: could not load the tokenizer"):
        load_victim(str(no_tokenizer))
