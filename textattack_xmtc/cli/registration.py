"""Teach the stock ``textattack`` command our recipes, models and target files.

Called by the start-up hook (``_textattack_xmtc_hook``) right after each
TextAttack module is imported, and by ``textattack-xmtc`` directly. Nothing
here imports TextAttack: the module being extended is passed in.

* ``textattack.attack_args``: ``xmtc-pos``, ``xmtc-neg``, ``xmtc-untargeted``
  join ``ATTACK_RECIPE_NAMES`` (argparse validates ``--recipe`` against its
  keys; its values are evaluated to build the recipe, and ``textattack list
  attack-recipes`` prints them: ``textattack_xmtc.XMTCPositive``, a name we add
  to the modules that evaluate it). Its ``keys()`` also accept
  ``<our recipe>^<options>``, TextAttack's own syntax for recipe keyword
  options (``--recipe 'xmtc-pos^k=3,encoder="none"'``), which argparse would
  otherwise refuse. A bad option or ``--query-budget`` of an attack of ours
  ends the run with one line.
* ``textattack.model_args``: ``--model`` also accepts our built-in names, our
  saved directories and original checkpoints. A directory TextAttack loads
  itself (a Hugging Face multilabel classifier) is taken over only for an
  attack of ours.
* ``textattack.dataset_args``: ``--dataset-from-file`` also accepts JSONL and
  CSV targets files and our built-in dataset names, for an attack of ours;
  ``textattack eval`` of one of our models on targets is refused in one line.

An attack of ours is an ``xmtc-*`` recipe, or an ``--attack-from-file`` file
that uses this package (it mentions ``textattack_xmtc``, as ``recipes/*.py`` do).
Everything else falls through to TextAttack's own behaviour, unchanged.
"""
from __future__ import annotations

import ast
import contextlib
import sys
from collections.abc import KeysView
from typing import List

from ..errors import CommandLineExit, RecipeOptionsError
from ..formats import TARGET_FILE_SUFFIXES

PACKAGE = "textattack_xmtc"
RECIPE_CLASSES = {
    "xmtc-pos": "XMTCPositive",
    "xmtc-neg": "XMTCNegative",
    "xmtc-untargeted": "XMTCUntargeted",
}
OPTIONS_SEPARATOR = "^"  # TextAttack's ARGS_SPLIT_TOKEN: NAME^OPTIONS, FILE.py^VARIABLE

# Datasets created from a parsed-args object, waiting for the model to be
# known so that their labels can be checked before any attack starts.
_pending_datasets = {}


def recipe_expression(name: str) -> str:
    """What ``ATTACK_RECIPE_NAMES[name]`` holds: the recipe's class, under the name we add to TextAttack's modules."""
    return f"{PACKAGE}.{RECIPE_CLASSES[name]}"


class RecipeNames(dict):
    """TextAttack's ``ATTACK_RECIPE_NAMES``, but ``keys()`` also contains ``<our recipe>^<options>``.

    argparse checks ``--recipe`` with ``value in choices`` where ``choices`` is
    this ``keys()`` view; every other use (lookups, ``in``, listing) sees the
    plain dict, so TextAttack's own recipes behave exactly as before.
    """

    def keys(self):
        return _RecipeKeys(self)


class _RecipeKeys(KeysView):
    def __contains__(self, key):
        if isinstance(key, str) and OPTIONS_SEPARATOR in key:
            name = key.partition(OPTIONS_SEPARATOR)[0]
            return name in RECIPE_CLASSES and name in self._mapping
        return key in self._mapping


def register_recipes(attack_args_module) -> None:
    stock_names = attack_args_module.ATTACK_RECIPE_NAMES
    for name in RECIPE_CLASSES:
        stock_names.setdefault(name, recipe_expression(name))
    if not isinstance(stock_names, RecipeNames):
        names = RecipeNames(stock_names)
        attack_args_module.ATTACK_RECIPE_NAMES = names
        for module_name, module in list(sys.modules.items()):  # modules that imported the dict already
            if module_name.startswith("textattack.") and getattr(module, "ATTACK_RECIPE_NAMES", None) is stock_names:
                module.ATTACK_RECIPE_NAMES = names
    _add_package_name(attack_args_module)
    _extend_attack_args(attack_args_module.CommandLineAttackArgs)


def extend_training_args(training_args_module) -> None:
    """``textattack train --attack xmtc-pos`` evaluates the recipe expression in this module too."""
    _add_package_name(training_args_module)


def _add_package_name(module) -> None:
    import textattack_xmtc

    module.textattack_xmtc = textattack_xmtc


def _extend_attack_args(command_line_attack_args) -> None:
    cls = command_line_attack_args
    if cls.__dict__.get("_xmtc_attack_extended"):
        return
    textattack_create = cls._create_attack_from_args.__func__
    textattack_post_init = cls.__post_init__

    def _create_attack_from_args(cls, args, model_wrapper):
        if not _uses_our_recipe(args):
            if not _uses_our_attack(args):
                return textattack_create(cls, args, model_wrapper)
            try:  # a recipe file of ours: its option mistakes (a masked LM not found...) are one line too
                attack = textattack_create(cls, args, model_wrapper)
            except (ValueError, OSError, RuntimeError) as error:
                raise CommandLineExit(f"textattack-xmtc: error: {args.attack_from_file}: {error}") from None
            return attack
        recipe = args.attack_recipe
        options_given = OPTIONS_SEPARATOR in recipe
        try:
            check_recipe_options(recipe)
        except RecipeOptionsError as error:
            raise CommandLineExit(f"textattack-xmtc: error: {error}") from None
        try:
            attack = textattack_create(cls, args, model_wrapper)
        except (ValueError, OSError, RuntimeError) as error:
            raise CommandLineExit(f"textattack-xmtc: error: {error}") from None
        except (TypeError, NameError) as error:
            if not options_given:
                raise
            raise CommandLineExit(f"textattack-xmtc: error: --recipe {recipe}: {error} "
                                  "(text values need quotes: encoder=\"none\")") from None
        attack.exit_on_model_errors = True  # a broken model ends a command-line run with one line
        return attack

    def __post_init__(self):
        if _uses_our_attack(self):
            check_query_budget(self.query_budget)
        textattack_post_init(self)

    cls._create_attack_from_args = classmethod(_create_attack_from_args)
    cls.__post_init__ = __post_init__
    cls._xmtc_attack_extended = True


def check_recipe_options(recipe: str) -> List[str]:
    """The option names of ``--recipe NAME^OPTIONS``, or ``RecipeOptionsError`` (one line) when OPTIONS
    are not keyword options of our recipes.

    TextAttack evaluates ``Recipe.build(model_wrapper, OPTIONS)``; the values are
    left to that, only the form and the option names are checked here.
    """
    name, separator, options = recipe.partition(OPTIONS_SEPARATOR)
    if not separator:
        return []
    from ..attack_recipes.options import RecipeOptions

    known = list(RecipeOptions.__dataclass_fields__)
    usage = f"write {name}^k=3,encoder=\"none\" (options: {', '.join(known)})"
    try:
        call = ast.parse(f"f({options})", mode="eval").body if OPTIONS_SEPARATOR not in options else None
    except SyntaxError:
        call = None
    if not isinstance(call, ast.Call) or call.args or any(keyword.arg is None for keyword in call.keywords):
        raise RecipeOptionsError(f"--recipe {recipe}: options must be keyword=value pairs; {usage}")
    seen = set()
    for keyword in call.keywords:
        if keyword.arg not in known:
            raise RecipeOptionsError(f"--recipe {recipe}: unknown recipe option {keyword.arg!r}; {usage}")
        if keyword.arg in seen:
            raise RecipeOptionsError(f"--recipe {recipe}: option {keyword.arg!r} given twice")
        seen.add(keyword.arg)
    return [keyword.arg for keyword in call.keywords]


def check_query_budget(query_budget) -> None:
    """TextAttack reads 0 as "no budget" and asserts on a negative one; for our attacks both are one-line errors."""
    if query_budget is not None and not query_budget > 0:
        raise CommandLineExit(f"textattack-xmtc: error: --query-budget must be a positive number of model "
                              f"queries, got {query_budget} (leave it out for no budget)")


def extend_model_args(model_args_module) -> None:
    model_args = model_args_module.ModelArgs
    if model_args.__dict__.get("_xmtc_extended"):
        return
    textattack_create = model_args._create_model_from_args.__func__

    def _create_model_from_args(cls, args):
        name = getattr(args, "model", None)
        if getattr(args, "model_from_file", None) or getattr(args, "model_from_huggingface", None):
            return textattack_create(cls, args)
        _refuse_eval_of_targets(args)
        from ..model_wrappers import is_victim, load_victim

        ours = _uses_our_attack(args)
        if is_victim(name) and (ours or not _textattack_loads(model_args_module, name)):
            with _user_errors_exit():
                wrapper = load_victim(name)
                dataset = _pending_datasets.pop(id(args), None)
                if dataset is not None:
                    dataset.validate_labels(wrapper.labels)
            return wrapper
        if ours and name and not is_victim(name) and not _textattack_knows(model_args_module, name):
            with _user_errors_exit():
                load_victim(name)  # fails, saying which files each format needs
        return textattack_create(cls, args)

    model_args._create_model_from_args = classmethod(_create_model_from_args)
    model_args._xmtc_extended = True


def _uses_our_recipe(args) -> bool:
    recipe = str(getattr(args, "attack_recipe", None) or "")
    return recipe.partition(OPTIONS_SEPARATOR)[0] in RECIPE_CLASSES


def _uses_our_attack(args) -> bool:
    """An ``xmtc-*`` recipe, or an ``--attack-from-file`` file that uses this package."""
    if _uses_our_recipe(args):
        return True
    attack_file = getattr(args, "attack_from_file", None)
    if getattr(args, "attack_recipe", None) or not attack_file:
        return False
    try:
        with open(str(attack_file).partition(OPTIONS_SEPARATOR)[0], encoding="utf-8", errors="replace") as file:
            return PACKAGE in file.read()
    except OSError:
        return False


def _textattack_knows(model_args_module, name) -> bool:
    """A model name TextAttack itself resolves (its pretrained models and Hugging Face shortcuts)."""
    return name in model_args_module.HUGGINGFACE_MODELS or name in model_args_module.TEXTATTACK_MODELS


def _textattack_loads(model_args_module, name) -> bool:
    """A model TextAttack loads itself: its names, and Hugging Face directories (not our saved ones)."""
    from pathlib import Path

    from ..model_wrappers.huggingface import HuggingFaceMultilabelWrapper
    from ..model_wrappers.saved import SAVED_MODEL_FILE

    if _textattack_knows(model_args_module, name):
        return True
    path = Path(name)
    return not (path / SAVED_MODEL_FILE).is_file() and HuggingFaceMultilabelWrapper.is_directory(path)


def extend_dataset_args(dataset_args_module) -> None:
    dataset_args = dataset_args_module.DatasetArgs
    if dataset_args.__dict__.get("_xmtc_extended"):
        return
    textattack_create = dataset_args._create_dataset_from_args.__func__

    def _create_dataset_from_args(cls, args):
        _refuse_eval_of_targets(args)
        if not _uses_our_attack(args):
            return textattack_create(cls, args)
        source = getattr(args, "dataset_from_file", None)
        if not is_targets_source(source):
            if source and not source.partition(OPTIONS_SEPARATOR)[0].lower().endswith(".py"):
                raise CommandLineExit(
                    f"textattack-xmtc: error: {source}: not a targets file; give a .jsonl or .csv file "
                    "(optionally .gz), the name of a built-in dataset, or a TextAttack Python dataset file (.py)")
            return textattack_create(cls, args)
        from ..datasets.targets import load_targets

        with _user_errors_exit():
            dataset = load_targets(source)
        _pending_datasets[id(args)] = dataset
        return dataset

    dataset_args._create_dataset_from_args = classmethod(_create_dataset_from_args)
    dataset_args._xmtc_extended = True


def _refuse_eval_of_targets(args) -> None:
    """``textattack eval`` of our model on targets: TextAttack's accuracy needs one class per text."""
    if hasattr(args, "attack_recipe"):  # an attack, not `textattack eval`
        return
    source = getattr(args, "dataset_from_file", None)
    model = getattr(args, "model", None)
    if not (model and is_targets_source(source)):
        return
    from ..model_wrappers import is_victim

    if is_victim(model):
        raise CommandLineExit(
            f"textattack-xmtc: error: `textattack eval` scores one class per text and cannot read the targets "
            f"{source}; `textattack-xmtc train` prints a model's P@k, nDCG@k and PSP@k on its test split, and "
            "a `textattack-xmtc evaluate` command for targets files is coming in a later version")


def is_targets_source(source) -> bool:
    """A targets file of ours (by suffix) or a built-in dataset name."""
    if not source:
        return False
    if source.lower().endswith(TARGET_FILE_SUFFIXES):
        return True
    from ..datasets.reuters import BUILTIN_DATASETS

    return source in BUILTIN_DATASETS


@contextlib.contextmanager
def _user_errors_exit():
    """On the command line a user mistake ends the run with one clear line, no traceback."""
    from ..datasets.corpus import CorpusFormatError
    from ..datasets.targets import TargetFormatError
    from ..model_wrappers import ModelLoadError

    try:
        yield
    except (TargetFormatError, ModelLoadError, CorpusFormatError) as error:
        raise CommandLineExit(f"textattack-xmtc: error: {error}") from None


def register_all() -> None:
    """Register with an already imported TextAttack (used by ``textattack-xmtc``)."""
    import textattack.attack_args
    import textattack.dataset_args
    import textattack.model_args
    import textattack.training_args

    register_recipes(textattack.attack_args)
    extend_model_args(textattack.model_args)
    extend_dataset_args(textattack.dataset_args)
    extend_training_args(textattack.training_args)
