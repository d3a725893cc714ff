"""``textattack-xmtc select-targets``: the paper's positive and negative targets, per label-frequency bin.

A thin layer over :func:`textattack_xmtc.study.selection.select_targets`:
load the victim and the dataset, select, write the targets file atomically,
print the per-bin table and the commands that attack the file.

Usage::

    textattack-xmtc select-targets --model attentionxml-reuters21578 --data reuters21578 \\
        --out targets.jsonl --bin-size 10
"""
from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import List, Optional, Tuple

from ..study import selection
from .._threads import set_threads
from ._parsing import OneLineParser, UsageError, add_threads_argument, report_usage_error

PROG = "textattack-xmtc select-targets"
ATTACKS = {"both": ("pos", "neg"), "pos": ("pos",), "neg": ("neg",)}

EXAMPLE = """example:
  textattack-xmtc select-targets --model attentionxml-reuters21578 --data reuters21578 \\
      --out targets.jsonl --bin-size 10 --seed 0

Positive targets: true labels the model ranks in a test document's top-k.
Their labels are binned by training frequency (ascending, a bin closed once it
holds --bin-size distinct labels); --per-bin shuffled pairs are kept per bin.
Negative targets: per bin, random test documents each get one random label of
the bin, kept when it is neither true nor in the top-k, up to --neg-per-bin.
Rows: positives bin by bin (rarest first), then negatives; the same seed
writes the same file."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Select the paper's attack targets (Qaraei & Babbar, arXiv:2112.07512): positive and\n"
                    "negative targets per label-frequency bin, written as a targets file that\n"
                    "`textattack-xmtc experiment` and `textattack attack --dataset-from-file` read.")
    parser.add_argument("--model", required=True,
                        help="victim: a built-in name, a saved directory or an original checkpoint")
    parser.add_argument("--data", required=True,
                        help="dataset: a built-in name or an AttentionXML / APLC-XLNet directory (its train "
                             "split gives the training frequencies), or a JSONL file of test documents "
                             "(then give --train-data)")
    parser.add_argument("--out", required=True, help="the targets file to write (.jsonl)")
    parser.add_argument("--split", default="test", help="split of --data to draw targets from (default: test)")
    parser.add_argument("--train-data", help="where the training frequencies come from (default: the train "
                                             "split of --data)")
    parser.add_argument("--k", type=_integer(1), default=selection.DEFAULT_K,
                        help=f"top-k size (default {selection.DEFAULT_K}, the paper's)")
    parser.add_argument("--bin-size", type=_integer(1), default=selection.DEFAULT_BIN_SIZE,
                        help=f"distinct target labels that close a frequency bin (default "
                             f"{selection.DEFAULT_BIN_SIZE}, adv-xmtc's default; its released run used 100)")
    parser.add_argument("--per-bin", type=_integer(0), default=selection.DEFAULT_PER_BIN,
                        help=f"positive targets per bin (default {selection.DEFAULT_PER_BIN}, the released demo's)")
    parser.add_argument("--neg-per-bin", type=_integer(0), default=selection.DEFAULT_NEG_PER_BIN,
                        help=f"negative targets per bin at most (default {selection.DEFAULT_NEG_PER_BIN}, "
                             "adv-xmtc's max_neg_samples)")
    parser.add_argument("--attacks", choices=sorted(ATTACKS), default="both",
                        help="which targets to write: pos, neg or both (default both; a kind's rows are the "
                             "same whichever is chosen)")
    parser.add_argument("--seed", type=_integer(0), default=0, help="selection seed (default 0)")
    parser.add_argument("--batch-size", type=_integer(1), default=selection.DEFAULT_BATCH_SIZE,
                        help=f"documents per model call when ranking (default {selection.DEFAULT_BATCH_SIZE})")
    parser.add_argument("--device", default=None, help="torch device for the model, e.g. cuda (default: cpu)")
    add_threads_argument(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _integer(low: int):
    """An argparse type: an integer from ``low`` up to a C int (what a targets row may hold)."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= selection.MAX_INDEX:
            raise argparse.ArgumentTypeError(f"expected an integer from {low} to {selection.MAX_INDEX}, "
                                             f"got {value}")
        return value

    return convert


def main(argv: List[str]) -> int:
    try:
        args = _parse(argv)
    except SystemExit as exit_:  # --help
        return exit_.code if isinstance(exit_.code, int) else 0
    except UsageError as error:  # a bad option
        return report_usage_error(PROG, error)
    try:
        out = _check_out(args.out, args.overwrite)
        _refuse_out_among_inputs(out, args)
        test, train_counts = _load_data(args.data, args.split, args.train_data)
        args.threads = set_threads(args.threads)  # the count in force, printed in the summary
        wrapper = _load_model(args.model, args.device)
        chosen = _select(wrapper, test, train_counts, args)
        _write(chosen.rows(), out, args.overwrite)
    except UsageError as error:
        return report_usage_error(PROG, error)
    _print_summary(chosen, out, args)
    return 0


def _parse(argv: List[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)  # a bad option raises UsageError (one line)


def _check_out(out: str, overwrite: bool) -> Path:
    path = Path(out).expanduser()
    # The stock `textattack attack --dataset-from-file` knows a targets file by its suffix.
    if not path.name.lower().endswith(".jsonl"):
        raise UsageError(f"--out {out}: name the targets file with a .jsonl suffix (the stock textattack "
                        "command recognises targets files by it)")
    if path.is_dir():
        raise UsageError(f"--out {out} is a directory; name a .jsonl file")
    if path.exists() and not overwrite:
        raise UsageError(f"--out {out} already exists; pass --overwrite to replace it, or choose another path")
    return path


def _refuse_out_among_inputs(out: Path, args: argparse.Namespace) -> None:
    """``--overwrite`` replaces an old targets file, never the dataset the targets are drawn from."""
    if not out.exists():
        return
    for flag, value in (("--data", args.data), ("--train-data", args.train_data)):
        source = Path(value).expanduser() if value else None
        if source is None or not source.exists():
            continue  # a built-in dataset name
        source, target = source.resolve(), out.resolve()
        if target == source or (source.is_dir() and source in target.parents):
            raise UsageError(f"--out {args.out} is a file of the {flag} dataset ({value}); "
                             "writing the targets there would replace the data: choose another path")


def _load_data(data: str, split: str, train_data: Optional[str]) -> Tuple[object, dict]:
    """The split to draw from and the training label counts."""
    from ..datasets.corpus import load_corpus

    if train_data is None and Path(data).expanduser().is_file():
        raise UsageError(f"--data {data} is a single file (one split): give the training documents, whose "
                        "label counts bin the targets, with --train-data")
    if split != "test" and Path(data).expanduser().is_file():
        raise UsageError(f"--split {split}: --data {data} is a single file, which has no splits "
                         "(it was read whole as the test documents); leave --split out")
    test = _corpus(load_corpus, data, split, f"--data {data} has no {split!r} split")
    if train_data is None:
        train = _corpus(load_corpus, data, "train", f"--data {data} has no train split, needed for the labels' "
                                                    "training frequencies (or pass --train-data)")
    else:
        train = _corpus(load_corpus, train_data, "train", f"--train-data {train_data}")
    return test, train.label_counts()


def _corpus(load_corpus, name: str, split: str, context: str):
    from ..datasets.corpus import CorpusFormatError

    try:
        return load_corpus(name, split)
    except (FileNotFoundError, ValueError) as error:
        reason = " ".join(line.strip() for line in str(error).splitlines())  # one line, every layout tried
        if isinstance(error, CorpusFormatError):
            raise UsageError(reason) from None
        raise UsageError(f"{context}: {reason}") from None
    except OSError as error:
        raise UsageError(f"{context}: {error.strerror or error}") from None


def _load_model(model: str, device: Optional[str]):
    from ..errors import ModelLoadError
    from ..model_wrappers import load_victim

    try:
        return load_victim(model, device=device)
    except (ModelLoadError, FileNotFoundError) as error:
        raise UsageError(f"--model {model}: {' '.join(str(error).split())}") from None
    except (RuntimeError, OSError, AssertionError) as error:  # e.g. an unavailable --device (CPU-only torch)
        raise UsageError(f"--model {model} on device {device or 'cpu'}: {str(error).splitlines()[0]}") from None


def _select(wrapper, test, train_counts, args: argparse.Namespace) -> selection.TargetSelection:
    from ..study.bins import BinSizeError

    try:
        return selection.select_targets(
            wrapper, test, train_counts, k=args.k, bin_size=args.bin_size, per_bin=args.per_bin,
            neg_per_bin=args.neg_per_bin, attacks=ATTACKS[args.attacks], seed=args.seed,
            batch_size=args.batch_size, progress=not args.quiet, model_name=f"--model {args.model}")
    except (selection.SelectionError, BinSizeError) as error:
        raise UsageError(str(error)) from None


def _write(rows: List[dict], out: Path, overwrite: bool) -> None:
    try:
        selection.write_jsonl(rows, out, overwrite=overwrite)
    except FileExistsError:  # created while we were selecting
        raise UsageError(f"--out {out} already exists; pass --overwrite to replace it, or choose another path") \
            from None
    except OSError as error:
        raise UsageError(f"--out {out}: cannot write ({error.strerror or error})") from None


def _print_summary(chosen: selection.TargetSelection, out: Path, args: argparse.Namespace) -> None:
    rows = chosen.rows()
    positives = sum(row["attack"] == "pos" for row in rows)
    print(selection.format_table(chosen))
    print(f"\n{positives} positive and {len(rows) - positives} negative targets from {chosen.documents} "
          f"{args.split} documents (k={args.k}, bin size {args.bin_size}, seed {args.seed}; "
          f"torch threads {args.threads})")
    if chosen.documents_with_unknown_labels:
        print(f"note: {chosen.documents_with_unknown_labels} documents have true labels the model does not "
              "know; those labels are left out of the rows (they can never be targets)")
    if chosen.blank_documents:
        print(f"note: {chosen.blank_documents} documents with a blank text were left out")
    print(f"wrote {out}")
    model, targets = shlex.quote(args.model), shlex.quote(str(out))
    print("\nnext, attack them:")
    kinds = [kind for kind in selection.ATTACK_KINDS if any(row["attack"] == kind for row in rows)]
    for kind in kinds:
        print(f"  textattack-xmtc experiment --model {model} --targets {targets} --recipe xmtc-{kind} "
              f"--out runs/{kind}")
    print(f"  textattack attack --recipe xmtc-{kinds[0]} --model {model} --dataset-from-file {targets} "
          "--num-examples -1   # the stock command; rows of the other kind are skipped")
