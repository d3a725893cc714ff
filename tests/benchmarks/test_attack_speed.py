"""benchmarks/attack_speed.py: its "paper's script" scorer computes what our wrappers compute.

The benchmark's third method times the research script's way of scoring
(tokenization from scratch, AttentionXML's packed LSTM over every label,
APLC-XLNet padded to its maximum length); a speed-up over it is only fair if
it scores the same function of the text.
"""
import importlib.util
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
TEXTS = ["Oil prices rose, the bank said.", "Wheat exports fell; <UNK> rates rose!",
         "the bank said oil prices fell and wheat exports rose " * 8, "..."]


@pytest.fixture(scope="module")
def attack_speed():
    sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("attack_speed", BENCHMARKS / "attack_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BENCHMARKS))


def test_the_script_scores_attentionxml_as_the_wrapper_does(attack_speed, tiny_attentionxml_dir):
    from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper

    victim = AttentionXMLWrapper.from_directory(tiny_attentionxml_dir)
    script = attack_speed.paper_script_scorer(victim)
    torch.testing.assert_close(script(TEXTS), victim(TEXTS).cpu(), rtol=1e-5, atol=1e-6)
    assert "packed" not in vars(victim.model.lstm) and torch.backends.mkldnn.enabled  # restored


def test_the_script_scores_aplc_xlnet_as_the_wrapper_does(attack_speed, aplc_original_dir):
    from textattack_xmtc.model_wrappers.aplc_xlnet import APLCXLNetWrapper

    victim = APLCXLNetWrapper.from_original(aplc_original_dir)
    script = attack_speed.paper_script_scorer(victim)
    torch.testing.assert_close(script(TEXTS), victim(TEXTS).cpu(), rtol=1e-4, atol=1e-5)


def test_other_victims_have_no_script_row(attack_speed, keyword_victim):
    assert attack_speed.paper_script_scorer(keyword_victim) is None
