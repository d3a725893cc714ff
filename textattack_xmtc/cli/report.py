"""``textattack-xmtc report``: the paper's table per frequency bin, plots, HTML and Markdown from runs.

A thin layer over :mod:`textattack_xmtc.study.report` (tables, both adv-xmtc
definitions, example documents) and :mod:`textattack_xmtc.study.plots`
(success rate against label frequency). Writes ``report.html`` (one
self-contained page: open it in a browser), ``report.md`` and
``success_rate.png`` into the output directory, and prints the text table of
each run. A run with fewer rows than run.json's targets (an unfinished
``experiment``) is reported as such: "2 of 3 targets done (unfinished run; ...)"
above its table, in the text and in both reports. User mistakes end with one
line on stderr and exit status 2.

Usage::

    textattack-xmtc report runs/attentionxml-pos
    textattack-xmtc report runs/attentionxml-pos runs/attentionxml-pw-pos --out reports/losses \\
        --label "BCE" "propensity-weighted BCE"
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import List

from ._parsing import OneLineParser, UsageError, report_usage_error

PROG = "textattack-xmtc report"
OUTPUT_FILES = ("report.html", "report.md", "success_rate.png")
PLOT_FILE = "success_rate.png"


def build_parser() -> argparse.ArgumentParser:
    """The ``report`` options (imports nothing heavy, so ``--help`` is fast).

    Usage::

        args = build_parser().parse_args(["runs/attentionxml-pos", "--out", "report"])
    """
    parser = OneLineParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""The paper's attack table, overall and per label-frequency bin, for runs of
`textattack-xmtc experiment`: success rate (< 10% of words changed), success with similarity > 0.8,
average similarity, change rate, mean queries and seconds; a plot of success rate against label
frequency (one line per run); an HTML page with the tables, the plot and example adversarial
documents (changed words marked), and the same as Markdown.""",
        epilog="""definitions (adv-xmtc's two scripts disagree; both are reported, each named):
  results_all.py: hit = success with < 10% of words changed; success rates and average similarity
                  over ALL attacked targets (failures count 0); change rate pooled over the hits.
  plot_results.py: hit = success with <= 10% of words changed; success rates over all attacked
                  targets; average similarity over the hits only. The plot uses this one.
  skipped targets are counted and excluded from every rate; rows without a bin form the bin "all".
  transfers to <name> (runs rescored with `experiment --rescore-with`, RUN_DIR/transfer.jsonl): of the
                  successes whose label <name> knows and whose goal did not already hold for <name> on
                  the original document, the % whose adversarial document meets the goal on <name> too.

example:
  textattack-xmtc report runs/bce-pos runs/pw-pos runs/bce-neg --out reports/losses \\
      --label "BCE pos" "PW-BCE pos" "BCE neg" --overwrite""")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="run directories written by `textattack-xmtc experiment` (run.json + results.jsonl)")
    parser.add_argument("--out", metavar="REPORT_DIR", default=None,
                        help="where to write report.html, report.md and success_rate.png (default: "
                             "RUN_DIR/report for one run; required for several)")
    parser.add_argument("--label", nargs="+", metavar="LABEL", default=None,
                        help="one legend/heading label per RUN_DIR, in order (default: run.json's model, its "
                             "loss and adversarial training when recorded, and the recipe, e.g. "
                             "'attentionxml-reuters21578 · xmtc-pos')")
    parser.add_argument("--examples", type=_non_negative_int, default=3, metavar="N",
                        help="example adversarial documents per run, highest similarity first "
                             "(default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing report in REPORT_DIR (default: refuse)")
    return parser


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def main(argv: List[str]) -> int:
    """Run ``textattack-xmtc report``; 0 on success, 2 after a one-line error on a user mistake."""
    try:
        return _report(build_parser().parse_args(argv))
    except UsageError as error:
        return report_usage_error(PROG, error)


def _report(args: argparse.Namespace) -> int:
    from ..study.plots import PlotSeries, save_png, success_rate_figure
    from ..study.report import (ReportError, html_report, markdown_report, name_differing_options, read_run,
                                summary_text, write_atomically)

    out = _output_directory(args)
    try:
        runs = [read_run(path) for path in args.runs]
    except ReportError as error:
        raise UsageError(str(error)) from None
    differing = name_differing_options(runs)
    if differing:
        print(f"note: the runs differ in recipe option(s) {', '.join(differing)}; each run's label names its "
              "value(s)")
    for run, label in zip(runs, args.label or []):
        run.label = label
    png = save_png(success_rate_figure([PlotSeries.from_rows(run.label, run.kind, run.rows) for run in runs]))
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(out / PLOT_FILE, png)
        write_atomically(out / "report.md", markdown_report(runs, [PLOT_FILE], args.examples))
        write_atomically(out / "report.html", html_report(runs, {PLOT_FILE: png}, args.examples))
    except OSError as error:
        raise UsageError(f"cannot write the report into {out} ({error.strerror or error}): "
                          "choose a writable --out") from None
    for run in runs:
        note = f"{run.unfinished}\n" if run.unfinished else ""  # the table alone would pass for the whole run
        print(f"== {run.label} ({run.path})\n{note}{summary_text(run.rows, run.transfers)}")
    for name in OUTPUT_FILES:
        print(f"wrote {out / name}")
    return 0


def _output_directory(args: argparse.Namespace) -> Path:
    """REPORT_DIR, checked before any work: labels match the runs, no report is overwritten unasked."""
    if args.label is not None and len(args.label) != len(args.runs):
        raise UsageError(f"--label got {len(args.label)} labels for {len(args.runs)} run directories: "
                          "give one label per RUN_DIR, in order")
    if args.out is None and len(args.runs) > 1:
        raise UsageError("several run directories need --out REPORT_DIR (where the joint report goes)")
    out = Path(args.out) if args.out is not None else Path(args.runs[0]) / "report"
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory: pass a directory for the report")
    existing = [name for name in OUTPUT_FILES if (out / name).exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{out} already holds a report ({', '.join(existing)}): pass --overwrite to "
                          "replace it, or choose another --out")
    return out
