"""``textattack-xmtc evaluate``: a victim's P@k, nDCG@k and PSP@k, overall and per label-frequency bin.

A thin layer over :mod:`textattack_xmtc.study.evaluation` (which states the
decisions: unknown test labels are misses, documents without labels are
skipped, per-bin P@k shares sum to P@k). User mistakes end with one line on
stderr and exit status 2.

Usage::

    textattack-xmtc evaluate --model my-model --data data/EURLex-4K
    textattack-xmtc evaluate --model attentionxml-reuters21578 --data reuters21578 --bin-size 10 \\
        --json reuters-eval.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List

from ..training.cli import positive_float, positive_int

from .._threads import set_threads
from ._parsing import OneLineParser, UsageError, add_threads_argument, report_usage_error
from ..shared.files import write_atomically

PROG = "textattack-xmtc evaluate"


def build_parser() -> argparse.ArgumentParser:
    """The ``evaluate`` options (imports nothing heavy, so ``--help`` is fast).

    Usage::

        args = build_parser().parse_args(["--model", "my-model", "--data", "reuters21578"])
    """
    from ..study.evaluation import DEFAULT_A, DEFAULT_B, DEFAULT_BIN_SIZE, PROPENSITY_CONSTANTS

    parser = OneLineParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="P@k, nDCG@k and PSP@k (k = 1, 3, 5) of a victim model on a test set, overall and per "
                    "label-frequency bin (the paper's bins over every label of the model, by training "
                    "frequency).",
        epilog=f"""decisions:
  - test labels the model never saw stay true labels that are never ranked (misses); nDCG@k's ideal
    counts them, PSP@k weighs them as labels of training frequency 0; the output says how many.
  - documents without any label are left out of every mean and counted; a test set none of whose
    labels the model knows is an error.
  - per bin: P@k = the bin's share of the hits (hits in the top k whose label is in the bin, over
    k x documents), so the bins' P@k sum to the overall P@k; R@k = share of the bin's true
    (document, label) pairs ranked in the top k.
  - PSP@k and the bins need training frequencies: the --data's train split (or --train-data);
    without one they are left out with a note.
  - propensity A, B (Jain et al. 2016): {DEFAULT_A:g}, {DEFAULT_B:g} by default; --dataset-name (or a
    data directory named like one) picks the Extreme Classification Repository's values:
    {', '.join(f'{name} {a:g}/{b:g}' for name, (a, b) in PROPENSITY_CONSTANTS.items())}.

example:
  textattack-xmtc evaluate --model my-model --data data/AmazonCat-13K --dataset-name AmazonCat-13K \\
      --bin-size 100 --json eval.json""")
    parser.add_argument("--model", required=True, metavar="NAME_OR_PATH",
                        help="victim: a built-in name, a directory saved by textattack-xmtc train, or an "
                             "original checkpoint")
    parser.add_argument("--data", required=True, metavar="NAME_OR_PATH",
                        help="test data: a built-in data set name (reuters21578), an AttentionXML / APLC-XLNet "
                             "data set directory, or a JSONL file ({\"text\": ..., \"labels\": [...]} per line)")
    parser.add_argument("--split", default="test", help="split of --data to evaluate (default: %(default)s)")
    parser.add_argument("--train-data", metavar="NAME_OR_PATH", default=None,
                        help="where the training label frequencies come from (its 'train' split; default: "
                             "--data's train split; a JSONL --data has none)")
    parser.add_argument("--dataset-name", metavar="NAME", default=None,
                        help="standard dataset whose propensity constants to use (case-insensitive, hyphens "
                             "optional; default: --data's name if it is one, else A=%g, B=%g)"
                             % (DEFAULT_A, DEFAULT_B))
    parser.add_argument("--propensity-a", type=positive_float, metavar="A", default=None,
                        help="propensity constant A (overrides --dataset-name's)")
    parser.add_argument("--propensity-b", type=positive_float, metavar="B", default=None,
                        help="propensity constant B (overrides --dataset-name's)")
    parser.add_argument("--bin-size", type=positive_int, default=None,
                        help=f"labels per frequency bin at least (default: {DEFAULT_BIN_SIZE}; when the model "
                             "has fewer labels the bins are left out with a note)")
    parser.add_argument("--batch-size", type=positive_int, default=128,
                        help="documents scored per call (default: %(default)s)")
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: the model's)")
    add_threads_argument(parser)
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the results as JSON to OUT")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --json file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: List[str]) -> int:
    """Run ``evaluate``; returns the exit status (2 for a user mistake, with one error line).

    Usage::

        sys.exit(main(["--model", "my-model", "--data", "reuters21578"]))
    """
    try:
        return _run(build_parser().parse_args(argv))
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    except UsageError as error:  # multi-line messages (load_corpus lists every layout it tried): one line
        return report_usage_error(PROG, error)


def _run(args: argparse.Namespace) -> int:
    from ..metrics.ranking import NonFiniteScoresError
    from ..study import evaluation
    from ..study.bins import BinSizeError

    output = Path(args.json).expanduser() if args.json else None
    if output is not None:
        _check_output(output, args.overwrite)
    if args.split != "test" and Path(args.data).expanduser().is_file():
        raise UsageError(f"--split {args.split}: --data {args.data} is a single file, which has no splits "
                         "(it was read whole as the test documents); leave --split out")
    test = _load(args.data, args.split, "--data")
    train, train_note = _training_data(args)
    try:
        propensity = evaluation.propensity_for(args.dataset_name, args.propensity_a, args.propensity_b,
                                               data_name=test.name)
    except evaluation.UnknownDatasetError as error:
        raise UsageError(str(error)) from None
    threads = set_threads(args.threads)  # printed with the results: a run's speed depends on it
    wrapper = _load_model(args)
    try:
        summary = evaluation.evaluate_victim(
            wrapper, test, train, propensity, bin_size=args.bin_size or evaluation.DEFAULT_BIN_SIZE,
            strict_bin_size=args.bin_size is not None, batch_size=args.batch_size, progress=not args.quiet)
    except (evaluation.NoKnownLabelsError, BinSizeError, NonFiniteScoresError) as error:
        raise UsageError(str(error)) from None
    if train_note:
        summary.notes.insert(0, train_note)
    print(f"{args.model} ({_model_summary(wrapper)}) on {args.data}, split {args.split}; torch threads {threads}")
    print(evaluation.format_evaluation(summary))
    if output is not None:
        _write_json(output, _json_document(args, wrapper, summary))
        print(f"\nWrote {output}")
    return 0


def _model_summary(wrapper) -> str:
    """'attentionxml, 90 labels, loss pw (A 0.55, B 1.5), adversarial 2 rounds, ...' (what the model records)."""
    identity = wrapper.identity()
    parts = [identity["architecture"], f"{len(wrapper.labels)} labels"]
    parts += [f"{key} {identity[key]}" for key in ("loss", "adversarial") if identity.get(key)]
    return ", ".join(parts)


def _check_output(output: Path, overwrite: bool) -> None:
    """Refuse, before any work, an --json path that exists (without --overwrite) or cannot be written."""
    if output.is_dir():
        raise UsageError(f"--json {output} is a directory; give a file path")
    if output.exists() and not overwrite:
        raise UsageError(f"--json {output} exists; pass --overwrite to replace it or give a new path")
    if not output.absolute().parent.is_dir():
        raise UsageError(f"--json {output}: directory {output.absolute().parent} does not exist")


def _load(data: str, split: str, flag: str):
    from ..datasets.corpus import load_corpus

    try:
        return load_corpus(data, split)
    except (FileNotFoundError, ValueError) as error:  # a missing path or split, a malformed file
        raise UsageError(f"{flag} {data}: {error}") from None


def _training_data(args: argparse.Namespace):
    """(train corpus or None, a note saying why none)."""
    if args.train_data is not None:
        return _load(args.train_data, "train", "--train-data"), None
    if Path(args.data).expanduser().is_file():
        # A JSONL file is one split: its "train" would be the test documents again.
        return None, f"{args.data} is a single file with no train split (give --train-data)"
    from ..datasets.corpus import load_corpus

    try:
        return load_corpus(args.data, "train"), None
    except FileNotFoundError:
        return None, f"{args.data} has no train split (give --train-data)"
    except ValueError as error:  # a train split that is there but malformed
        raise UsageError(f"--data {args.data}, split train: {error}") from None


def _load_model(args: argparse.Namespace):
    from ..errors import ModelLoadError
    from ..model_wrappers import load_victim

    try:
        return load_victim(args.model, device=args.device)
    except (ModelLoadError, FileNotFoundError, RuntimeError) as error:
        raise UsageError(f"--model {args.model}: {error}") from None
    except AssertionError as error:  # torch without CUDA, asked for --device cuda
        raise UsageError(f"--model {args.model} on device {args.device}: {error}") from None


def _json_document(args: argparse.Namespace, wrapper, summary) -> dict:
    from .. import __version__

    return {"format": "textattack-xmtc-evaluation", "version": 1, "model": args.model,
            "victim": wrapper.identity(), "data": args.data, "split": args.split,
            "train_data": args.train_data, "package_version": __version__, **summary.as_dict()}


def _write_json(path: Path, document: dict) -> None:
    """Write through a temporary file in the same directory, so a failure leaves no half file."""
    write_atomically(path, json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
