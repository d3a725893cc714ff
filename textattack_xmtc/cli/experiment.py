"""``textattack-xmtc experiment``: attack every target of a targets file into a resumable run directory.

Usage::

    textattack-xmtc experiment --model attentionxml-reuters21578 --targets targets.jsonl \\
        --recipe xmtc-pos --out runs/pos --workers 2
    textattack-xmtc experiment ... --backend ray --ray-address auto   # on a Ray cluster
    textattack-xmtc experiment ... --rescore-with models/pw-attentionxml   # do the successes transfer?
"""
from __future__ import annotations

import argparse
import ast
import collections
import sys
from typing import List, NoReturn

from ._parsing import OneLineParser, UsageError, report_usage_error
from .main import RECIPE_FLAGS, option_of_variable

PROG = "textattack-xmtc experiment"

DESCRIPTION = """Attack every target of a targets file (select-targets writes one) with one recipe.

Each target's row (provenance, bin, original and adversarial text, rank before and
after, words changed, similarity, queries, seconds, status) is appended to
RUN_DIR/results.jsonl as soon as it is known; RUN_DIR/run.json records the settings.
Killed at any moment and started again with the same command, the run continues:
no target is attacked twice, none is lost. A run directory made with other
settings (model, recipe, options, targets file, seed) is refused.

Rows do not depend on --workers, --backend or where a run was resumed: each
target is seeded from (--seed, its row number). Only "seconds" (wall time) differs.
At the end the paper's metrics are printed, overall and per frequency bin.

--rescore-with MODEL scores every successful adversarial document (and its
original) on a second victim and appends one row per success to
RUN_DIR/transfer.jsonl: did the attack's goal hold there too (and not already
on the original document)? Run on a finished run directory, the attack part
does nothing and only the rescoring runs; rescoring again with the same model
adds nothing. `textattack-xmtc report` shows a "transfers to MODEL" column.

example:
  textattack-xmtc experiment --model attentionxml-reuters21578 --targets pos.jsonl \\
      --recipe xmtc-pos --out runs/pos --workers 2 --xmtc-encoder none \\
      --rescore-with models/pw-attentionxml
"""


def _fail(message: str) -> NoReturn:
    """Print ``PROG: error: MESSAGE`` on one line (the model loader lists every layout it tried) and exit 2."""
    raise SystemExit(report_usage_error(PROG, message))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=DESCRIPTION,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="victim: a built-in name, a saved directory or an original checkpoint")
    parser.add_argument("--targets", required=True, help="targets file (JSONL or CSV), e.g. from select-targets")
    parser.add_argument("--recipe", required=True, metavar="RECIPE",
                        help="xmtc-pos, xmtc-neg or xmtc-untargeted, optionally with options in "
                             "TextAttack's syntax: 'xmtc-pos^k=3,encoder=\"none\"'")
    parser.add_argument("--out", required=True, metavar="RUN_DIR",
                        help="run directory: created, or continued when made with the same settings")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (default: 0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes (or Ray actors) attacking targets at once, each loading the "
                             "model once (default: 1)")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="local processes, or a Ray cluster (needs: pip install "
                             "\"textattack-xmtc[ray]\") (default: local)")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="join this Ray cluster (e.g. auto or ray://host:10001) instead of starting "
                             "a local one; with --backend ray")
    parser.add_argument("--num-targets", type=int, metavar="N",
                        help="attack only the first N targets of the file (default: all)")
    parser.add_argument("--rescore-with", nargs="+", metavar="MODEL", default=[],
                        help="after the attack, rescore every success on each MODEL (second victims: a "
                             "built-in name, a saved directory or a checkpoint) into RUN_DIR/transfer.jsonl "
                             "and print how many transfer")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    recipe = parser.add_argument_group("recipe options (as for `textattack-xmtc attack`; default: the "
                                       "XMTC_* environment variable, else the recipe's default)")
    for flag, (variable, text) in RECIPE_FLAGS.items():
        recipe.add_argument(flag, dest=option_of_variable(variable), metavar="VALUE",
                            help=text.replace("%", "%%"))
    return parser


def main(argv: List[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as error:  # a bad option: one line, exit 2 (as every other mistake here)
        _fail(str(error))
    try:
        return _run(args)
    except KeyboardInterrupt:  # Ctrl-C at any moment, loading TextAttack and the model included
        print(f"{PROG}: interrupted; every finished row is in {args.out}: run the same command again "
              "to continue", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    from ..datasets.targets import TargetFormatError
    from ..goal_functions.topk import NonFiniteScoresError
    from ..study.experiment import ExperimentConfig, ExperimentError, run_experiment, summary_text
    from ..study.run_directory import RunDirectoryError

    name, options = _recipe_options(args)
    _check_rescore_models(args.rescore_with)
    config = ExperimentConfig(model=args.model, targets=args.targets, recipe=name, out=args.out,
                              options=options, seed=args.seed, workers=args.workers, backend=args.backend,
                              ray_address=args.ray_address, num_targets=args.num_targets,
                              progress=not args.no_progress)
    try:
        rows = run_experiment(config)
    except (ExperimentError, RunDirectoryError, TargetFormatError, NonFiniteScoresError) as error:
        _fail(str(error))
    print(f"{len(rows)} targets done with {name} ({_status_counts(rows)}) in {args.out}/results.jsonl")
    print(summary_text(rows))
    _rescore(args)
    return 0


def _check_rescore_models(models: List[str]) -> None:
    """A missing --rescore-with model is said before the attack, not after it."""
    if not models:
        return
    from ..study.transfer import TransferError, check_models_exist

    try:
        check_models_exist(models)
    except TransferError as error:
        _fail(str(error))


def _rescore(args: argparse.Namespace) -> None:
    """Rescore the run on each ``--rescore-with`` model: one summary line per model."""
    from ..goal_functions.topk import NonFiniteScoresError
    from ..study.transfer import TRANSFER_FILE, TransferError, rescore_run

    for model in args.rescore_with:
        try:
            summary = rescore_run(args.out, model, progress=not args.no_progress,
                                  log=lambda message: print(message, file=sys.stderr))
        except (TransferError, NonFiniteScoresError) as error:
            _fail(str(error))
        print(summary.text(), flush=True)
    if args.rescore_with:
        print(f"transfer rows in {args.out}/{TRANSFER_FILE}")


def _status_counts(rows: List[dict]) -> str:
    """``"2 succeeded, 1 failed, 1 skipped; 1 with < 10% of words changed"``: a run whose targets were
    all skipped attacked nothing, and the paper counts only successes that changed few words."""
    from ..metrics.attack import HITS, paper_hits

    counts = collections.Counter(row.get("status") for row in rows)
    text = ", ".join(f"{count} {status}" for status, count in counts.items()) or "none"
    if counts.get("succeeded"):
        text += f"; {len(paper_hits(rows))} of the {HITS}, the paper's success"
    return text


def _recipe_options(args: argparse.Namespace) -> tuple:
    """The recipe's name and its keyword options, from ``NAME^OPTIONS`` and the ``--xmtc-*`` flags."""
    from ..attack_recipes.options import parse_option_value

    name, options = parse_recipe(args.recipe)
    for flag, (variable, _) in RECIPE_FLAGS.items():
        option = option_of_variable(variable)
        raw = getattr(args, option)
        if raw is None:
            continue
        if option in options:
            _fail(f"recipe option {option} is given twice: in --recipe and as {flag}; keep one")
        try:
            options[option] = parse_option_value(option, raw, flag)
        except ValueError as error:
            _fail(str(error))
    return name, options


def parse_recipe(recipe: str) -> tuple:
    """``'xmtc-pos^k=3,encoder="none"'`` -> ``("xmtc-pos", {"k": 3, "encoder": "none"})``."""
    from ..errors import RecipeOptionsError
    from .registration import OPTIONS_SEPARATOR, check_recipe_options

    try:
        check_recipe_options(recipe)  # the form and the option names, as for `attack`
    except RecipeOptionsError as error:
        _fail(str(error))
    name, _, text = recipe.partition(OPTIONS_SEPARATOR)
    if not text:
        return name, {}
    call = ast.parse(f"f({text})", mode="eval").body
    options = {}
    for keyword in call.keywords:
        try:
            options[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            _fail(f"--recipe {recipe}: the value of {keyword.arg} must be a number, True/False or a "
                  "quoted text (encoder=\"none\")")
    return name, options
