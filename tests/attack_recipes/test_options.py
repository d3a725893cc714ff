"""Recipe options: defaults, XMTC_* environment variables, keyword arguments, and bad values."""
import math

import pytest

from textattack_xmtc import XMTCPositive
from textattack_xmtc.attack_recipes.options import RecipeOptions


@pytest.fixture(autouse=True)
def no_xmtc_environment(monkeypatch):
    import os

    for name in [name for name in os.environ if name.startswith("XMTC_")]:
        monkeypatch.delenv(name)


def test_keywords_win_over_environment_over_defaults(monkeypatch):
    assert RecipeOptions.resolve().k == 5
    monkeypatch.setenv("XMTC_K", "3")
    monkeypatch.setenv("XMTC_MAX_CANDIDATES", "12")
    options = RecipeOptions.resolve(k=7)
    assert (options.k, options.max_candidates, options.candidates) == (7, 12, "glove")


@pytest.mark.parametrize("value", [2.0, -3.0, math.nan])
def test_impossible_similarity_floors_are_refused(value):
    with pytest.raises(ValueError, match=r"min_similarity must be between -2\.1416 \(1 - pi\) and 1"):
        RecipeOptions.resolve(min_similarity=value)


def test_similarity_floors_in_range_are_taken(monkeypatch):
    assert RecipeOptions.resolve(min_similarity=0.8).min_similarity == 0.8
    monkeypatch.setenv("XMTC_MIN_SIMILARITY", "nan")
    with pytest.raises(ValueError, match="min_similarity must be between"):
        RecipeOptions.resolve()


def test_gradient_importance_needs_a_wrapper_that_implements_get_grad(keyword_victim):
    # TextAttack's ModelWrapper.get_grad exists but only raises NotImplementedError.
    with pytest.raises(ValueError, match="wir='gradient' needs a victim with get_grad"):
        XMTCPositive.build(keyword_victim, encoder="none", wir="gradient")


def test_the_paper_s_rules_are_the_targeted_recipes_defaults(keyword_victim):
    from textattack_xmtc import XMTCNegative, XMTCUntargeted
    from textattack_xmtc.constraints import MaxWhitespaceChangeRate

    for recipe, keep in ((XMTCPositive, "target"), (XMTCNegative, "target"), (XMTCUntargeted, "margin")):
        attack = recipe.build(keyword_victim, encoder="none")
        assert attack.search_method.keep == keep and attack.options["keep"] == keep
        assert attack.transformation.fill is False
        assert any(isinstance(c, MaxWhitespaceChangeRate) for c in attack.pre_transformation_constraints)
    with pytest.raises(ValueError, match="XMTCUntargeted has no single target label: keep must be 'margin'"):
        XMTCUntargeted.build(keyword_victim, encoder="none", keep="target")
    assert XMTCPositive.build(keyword_victim, encoder="none", keep="margin").search_method.keep == "margin"


@pytest.mark.parametrize("raw, expected", [("1", True), ("yes", True), ("False", False), ("off", False)])
def test_switches_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv("XMTC_PROTECT_LABEL_WORDS", raw)
    assert RecipeOptions.resolve().protect_label_words is expected


@pytest.mark.parametrize("variable, raw, message", [
    ("XMTC_FILL_CANDIDATES", "maybe", "XMTC_FILL_CANDIDATES must be true or false"),
    ("XMTC_THREADS", "two", "XMTC_THREADS must be an integer"),
    ("XMTC_THREADS", "0", "threads must be a positive integer"),
    ("XMTC_THREADS", "100000", "threads must be a positive integer up to 1024"),  # was a MemoryError mid-attack
    ("XMTC_KEEP", "best", "keep must be one of"),
    ("XMTC_K", str(10 ** 40), "k must be at most 2147483647"),
])
def test_bad_option_values_are_one_line_errors(monkeypatch, variable, raw, message):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(ValueError, match=message):
        RecipeOptions.resolve()


def test_options_are_resolved_once_and_kept_on_the_attack(keyword_victim, monkeypatch):
    import torch

    previous = torch.get_num_threads()
    monkeypatch.setenv("XMTC_K", "3")
    attack = XMTCPositive.build(keyword_victim, encoder="none", threads=1)
    monkeypatch.setenv("XMTC_K", "4")  # too late: the attack was built
    assert attack.options["k"] == 3 and attack.goal_function.default_k == 3
    assert attack.options["threads"] == 1 and torch.get_num_threads() == 1
    torch.set_num_threads(previous)


def test_any_tfhub_module_is_an_encoder_name():
    assert RecipeOptions.resolve(encoder="tfhub:/models/use-large-3").encoder == "tfhub:/models/use-large-3"
    with pytest.raises(ValueError, match="unknown encoder 'use'"):
        RecipeOptions.resolve(encoder="use")


@pytest.mark.parametrize("name, value", [("max_change_rate", "0.5"), ("max_change_rate", True),
                                         ("min_similarity", "0.8")])
def test_a_rate_or_floor_that_is_not_a_number_is_named(name, value):
    # '^max_change_rate="0.5"' failed comparing float and str; True was read as 1.0.
    with pytest.raises(ValueError) as error:
        RecipeOptions.resolve(**{name: value})
    assert str(error.value) == f"{name} must be a number, got {value!r}"
