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


@pytest.mark.parametrize("argv, message", [
    # The recipe's own k won, unseen (experiment already refused this).
    (["attack", "--recipe", 'xmtc-pos^k=3,encoder="none"', "--xmtc-k", "2"],
     "recipe option k is given twice: in --recipe and as --xmtc-k; keep one"),
    (["attack", "--recipe", "xmtc-pos", "--xmtc-k", ""], "--xmtc-k needs a value, got an empty one"),
    # An empty inline value took the next argument (--model) as the flag's value.
    (["attack", "--recipe", "xmtc-pos", "--xmtc-encoder=", "--model", "m1"], "--xmtc-encoder needs a value"),
    (["attack", "--recipe", "deepwordbug", "--xmtc-k", "3"],
     "--xmtc-k sets an option of this package's recipes (xmtc-pos, xmtc-neg, xmtc-untargeted); "
     "--recipe deepwordbug would ignore it"),
    # The recipe named the variable the flag travels in ("XMTC_THREADS must be an integer").
    (["attack", "--recipe", "xmtc-pos", "--threads", "1.5"], "--threads must be an integer, got '1.5'"),
    (["attack", "--recipe", "xmtc-pos", "--xmtc-k", "abc"], "--xmtc-k must be an integer, got 'abc'"),
])
def test_recipe_flags_that_would_change_nothing_are_refused(monkeypatch, argv, message):
    for variable in ("XMTC_K", "XMTC_ENCODER"):
        monkeypatch.setenv(variable, "")
        monkeypatch.delenv(variable)
    with pytest.raises(ValueError) as error:
        _take_recipe_flags(argv)
    assert str(error.value).startswith(message)
    assert "XMTC_K" not in os.environ and "XMTC_ENCODER" not in os.environ  # nothing set on the way out


def test_recipe_flags_with_a_recipe_file_are_kept_for_it(monkeypatch):
    monkeypatch.setenv("XMTC_K", "")
    monkeypatch.delenv("XMTC_K")
    rest = _take_recipe_flags(["attack", "--attack-from-file", "recipes/xmtc_pos_paper_mlm.py", "--xmtc-k", "3"])
    assert rest == ["attack", "--attack-from-file", "recipes/xmtc_pos_paper_mlm.py"]
    assert os.environ["XMTC_K"] == "3"
