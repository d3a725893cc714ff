"""Each standalone file in ``recipes/`` builds exactly the registered recipe it names."""
import importlib.util
from pathlib import Path

import pytest

from textattack_xmtc.attack_recipes import RECIPES

RECIPE_FILES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.py"))


SIMPLE = (int, float, str, bool, set, frozenset, tuple, list, type(None))


def settings(component):
    """A component's plain settings (stopword sets, rates, k, ...), which its repr may not show."""
    return {name: value for name, value in vars(component).items()
            if isinstance(value, SIMPLE) and not name.startswith("_")}


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_recipe_files():
    assert len(RECIPE_FILES) >= 2


@pytest.mark.parametrize("path", RECIPE_FILES, ids=lambda path: path.name)
def test_a_recipe_file_builds_the_registered_recipe_it_names(path, keyword_victim, bert_mlm_dir, monkeypatch):
    for name in [name for name in __import__("os").environ if name.startswith("XMTC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("MLM_DIR", str(bert_mlm_dir))
    module = load(path)
    options = dict(module.OPTIONS, encoder="none") if "min_similarity" not in module.OPTIONS else dict(module.OPTIONS)
    if options.get("k", 0) >= len(keyword_victim.labels):  # a chosen k must fit the test victim's few labels
        options["k"] = len(keyword_victim.labels) - 1
    monkeypatch.setattr(module, "OPTIONS", options)
    from_file = module.attack(keyword_victim)
    registered = RECIPES[module.REGISTERED_RECIPE].build(keyword_victim, **options)
    assert from_file.options == registered.options
    assert repr(from_file) == repr(registered)  # goal, search, transformation, every constraint
    pairs = list(zip(from_file.constraints + from_file.pre_transformation_constraints,
                     registered.constraints + registered.pre_transformation_constraints))
    pairs += [(from_file.transformation, registered.transformation),
              (from_file.search_method, registered.search_method),
              (from_file.goal_function, registered.goal_function)]
    for mine, theirs in pairs:
        assert type(mine) is type(theirs) and settings(mine) == settings(theirs), type(mine).__name__
