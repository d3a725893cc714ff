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
