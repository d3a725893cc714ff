"""``textattack-xmtc attack``'s own handling of its arguments (no subprocess)."""
import os

import pytest

from textattack_xmtc.cli.main import _take_recipe_flags
from textattack_xmtc.goal_functions.topk import DEFAULT_BATCH_SIZE


@pytest.mark.parametrize("argv", [["attack", "--recipe", "xmtc-pos"], ["attack", "-r", "xmtc-neg"],
                                  ["attack", "--attack-recipe=xmtc-untargeted"]])
def test_our_recipes_get_our_model_batch_size(argv):
    assert _take_recipe_flags(argv)[-2:] == ["--model-batch-size", str(DEFAULT_BATCH_SIZE)]


@pytest.mark.parametrize("argv", [["attack", "--recipe", "xmtc-pos", "--model-batch-size", "8"],
                                  ["attack", "--recipe", "xmtc-pos", "--model-batch-size=8"],
                                  ["attack", "--recipe", "textfooler"]])
def test_a_given_batch_size_or_another_recipe_is_left_alone(argv):
    assert _take_recipe_flags(list(argv)) == argv


def test_recipe_flags_become_environment_variables(monkeypatch):
    # setenv first so that monkeypatch restores the variable's absence afterwards: the code under
    # test sets it directly, and it must not leak into later tests (their default k would be 3).
    monkeypatch.setenv("XMTC_K", "")
    monkeypatch.delenv("XMTC_K")
    rest = _take_recipe_flags(["attack", "--recipe", "xmtc-pos", "--xmtc-k", "3", "--model-batch-size", "16"])
    assert rest == ["attack", "--recipe", "xmtc-pos", "--model-batch-size", "16"]
    assert os.environ["XMTC_K"] == "3"
