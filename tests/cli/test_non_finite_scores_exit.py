"""A model whose finite weights still give NaN scores ends a stock ``textattack attack`` with one line, status 2.

Weights that are NaN or inf are refused when loaded (naming the file); these
are finite but overflow: every hidden unit of the MLP is 3e38 (its bias) and
the output weights alternate +2 and -2, so the output sums +inf and -inf to
NaN. The same mistake must read the same for a flat AttentionXML model and a
FastAttentionXML label tree (the tree once exited 1 like every
``SystemExit(message)``).
"""
import pytest
import torch

from builders import ATTENTIONXML_VOCAB, TREE_PREFIX, tiny_attentionxml_network, write_original_tree
from commands import require_install, run, write_targets  # noqa: F401  (fixture)
from textattack_xmtc.attack import ModelErrorExit
from textattack_xmtc.model_wrappers import load_victim
from textattack_xmtc.model_wrappers.attentionxml import AttentionXMLWrapper
from textattack_xmtc.models.tokenization import AttentionXMLTokenizer

FLAT_LABELS = ["crude", "grain", "interest"]


def overflowing(state, prefix=""):
    """``state`` with the MLP's last hidden layer at 3e38 and output weights of alternating sign (finite)."""
    state = {key: value.clone() for key, value in state.items()}
    state[f"{prefix}linear.linear.0.bias"].fill_(3e38)
    weight = state[f"{prefix}linear.output.weight"]
    weight.copy_(torch.where(torch.arange(weight.shape[1]) % 2 == 0, 2.0, -2.0).expand_as(weight))
    return state


def flat_model(directory):
    network = tiny_attentionxml_network(len(FLAT_LABELS))
    network.load_state_dict(overflowing(network.state_dict()))
    AttentionXMLWrapper(network, AttentionXMLTokenizer(ATTENTIONXML_VOCAB), FLAT_LABELS).save(directory)
    return directory, {"text": "oil prices rose said the bank", "labels": ["crude"], "target": "crude", "k": 1}


def tree_model(directory):
    write_original_tree(directory)
    top = directory / "models" / f"{TREE_PREFIX}-Level-0"
    torch.save(overflowing(torch.load(top, weights_only=True)), top)
    return directory, {"text": "oil prices rose sharply in the grain market", "labels": ["label01"],
                       "target": "label05", "k": 3}


BUILDERS = {"flat": flat_model, "tree": tree_model}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_the_weights_load_and_the_scores_are_refused_naming_the_model(kind, tmp_path):
    directory, row = BUILDERS[kind](tmp_path / kind)
    victim = load_victim(str(directory))  # finite weights: not refused at load time
    with pytest.raises(ValueError, match=rf"from {directory} returned non-finite scores"):
        victim.rank_labels([row["text"]], [victim.label_index(row["target"])], row["k"])


def test_the_exit_has_status_2_and_its_message(capsys):
    exit_ = ModelErrorExit("textattack-xmtc: error: broken")
    assert exit_.code == 2 and str(exit_) == "textattack-xmtc: error: broken"
    assert capsys.readouterr().err == "textattack-xmtc: error: broken\n"


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_stock_attack_exits_2_with_one_line_naming_the_model(kind, tmp_path, require_install):
    directory, row = BUILDERS[kind](tmp_path / kind)
    targets = write_targets(tmp_path / "targets.jsonl", [row])
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(directory),
                 "--dataset-from-file", str(targets), "--num-examples", "1")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, result.stderr[-3000:]
    assert errors[0].endswith("check the model files") and "textattack-xmtc: error: " in errors[0]
    assert f"from {directory} returned non-finite scores (NaN or inf)" in errors[0]
