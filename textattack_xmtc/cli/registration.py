"""Teach the stock ``textattack`` command our recipes, models and target files.

Called by the start-up hook (``_textattack_xmtc_hook``) right after each
TextAttack module is imported, and by ``textattack-xmtc`` directly. Nothing
here imports TextAttack: the module being extended is passed in.

* ``textattack.attack_args``: ``xmtc-pos``, ``xmtc-neg``, ``xmtc-untargeted``
  join ``ATTACK_RECIPE_NAMES`` (argparse validates ``--recipe`` against it,
  and its values are evaluated to build the recipe).
* ``textattack.model_args``: ``--model`` also accepts our built-in names,
  our saved directories and original checkpoints.
* ``textattack.dataset_args``: ``--dataset-from-file`` also accepts JSONL and
  CSV targets files and our built-in dataset names.
Anything that is not ours falls through to TextAttack's own behaviour.
"""
from __future__ import annotations

import contextlib

RECIPE_CLASSES = {
    "xmtc-pos": "XMTCPositive",
    "xmtc-neg": "XMTCNegative",
    "xmtc-untargeted": "XMTCUntargeted",
}
TARGET_FILE_SUFFIXES = (".jsonl", ".jsonl.gz", ".csv", ".json")

# Datasets created from a parsed-args object, waiting for the model to be
# known so that their labels can be checked before any attack starts.
_pending_datasets = {}


class CommandLineRecipe:
    """What ``--recipe xmtc-*`` evaluates to: builds the recipe, and turns a bad
    option (``XMTC_K=five``, a missing masked LM) into one line instead of a traceback."""

    def __init__(self, class_name: str):
        self.class_name = class_name

    def build(self, model_wrapper, **options):
        from .. import attack_recipes

        recipe = getattr(attack_recipes, self.class_name)
        try:
            return recipe.build(model_wrapper, **options)
        except (ValueError, OSError, RuntimeError) as error:
            raise SystemExit(f"textattack-xmtc: error: {error}") from None


CLI_RECIPES = {name: CommandLineRecipe(class_name) for name, class_name in RECIPE_CLASSES.items()}


def register_recipes(attack_args_module) -> None:
    names = attack_args_module.ATTACK_RECIPE_NAMES
    for name in RECIPE_CLASSES:
        names.setdefault(
            name, f"__import__('textattack_xmtc.cli.registration', fromlist=['_']).CLI_RECIPES['{name}']")


def extend_model_args(model_args_module) -> None:
    model_args = model_args_module.ModelArgs
    if getattr(model_args, "_xmtc_extended", False):
        return
    textattack_create = model_args._create_model_from_args.__func__

    def _create_model_from_args(cls, args):
        name = getattr(args, "model", None)
        if getattr(args, "model_from_file", None) or getattr(args, "model_from_huggingface", None):
            return textattack_create(cls, args)
        from ..model_wrappers import is_victim, load_victim

        if not is_victim(name):
            if _uses_our_recipe(args) and not _textattack_knows(model_args_module, name):
                with _user_errors_exit():
                    load_victim(name)  # fails, saying which files each format needs
            return textattack_create(cls, args)
        with _user_errors_exit():
            wrapper = load_victim(name)
            dataset = _pending_datasets.pop(id(args), None)
            if dataset is not None:
                dataset.validate_labels(wrapper.labels)
        return wrapper

    model_args._create_model_from_args = classmethod(_create_model_from_args)
    model_args._xmtc_extended = True


def _uses_our_recipe(args) -> bool:
    recipe = str(getattr(args, "attack_recipe", None) or "")
    return recipe.split("^")[0] in RECIPE_CLASSES  # "^" starts a recipe's parameters in TextAttack


def _textattack_knows(model_args_module, name) -> bool:
    """A model name TextAttack itself resolves (its pretrained models and Hugging Face shortcuts)."""
    return name in model_args_module.HUGGINGFACE_MODELS or name in model_args_module.TEXTATTACK_MODELS


def extend_dataset_args(dataset_args_module) -> None:
    dataset_args = dataset_args_module.DatasetArgs
    if getattr(dataset_args, "_xmtc_extended", False):
        return
    textattack_create = dataset_args._create_dataset_from_args.__func__

    def _create_dataset_from_args(cls, args):
        source = getattr(args, "dataset_from_file", None)
        if not is_targets_source(source):
            if source and _uses_our_recipe(args) and not source.endswith(".py"):
                raise SystemExit(
                    f"textattack-xmtc: error: {source}: not a targets file; give a .jsonl, .jsonl.gz or "
                    ".csv file, the name of a built-in dataset, or a TextAttack Python dataset file (.py)")
            return textattack_create(cls, args)
        from ..datasets.targets import load_targets

        with _user_errors_exit():
            dataset = load_targets(source)
        _pending_datasets[id(args)] = dataset
        return dataset

    dataset_args._create_dataset_from_args = classmethod(_create_dataset_from_args)
    dataset_args._xmtc_extended = True


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
        raise SystemExit(f"textattack-xmtc: error: {error}") from None


def register_all() -> None:
    """Register with an already imported TextAttack (used by ``textattack-xmtc``)."""
    import textattack.attack_args
    import textattack.dataset_args
    import textattack.model_args

    register_recipes(textattack.attack_args)
    extend_model_args(textattack.model_args)
    extend_dataset_args(textattack.dataset_args)
