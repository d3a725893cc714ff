"""The paper's results table, per frequency bin and overall, from ``experiment`` run directories.

A run directory (written by ``textattack-xmtc experiment``) holds ``run.json``
(the model, recipe, options, targets file and seed) and ``results.jsonl`` (one
result row per target). The rows are grouped by their ``bin`` (training
frequency range of the target label, ``"lo-hi"``; rows without one go to
``"all"``), bins ordered by their lower frequency, and each group is measured
with BOTH definitions of adv-xmtc's scripts (:mod:`textattack_xmtc.metrics.attack`):

* ``results_all.py`` definition: hit = success with < 10% of words changed;
  success rates and average similarity over all attacked targets;
* ``plot_results.py`` definition: hit = success with <= 10% of words changed;
  success rates over all attacked targets, average similarity over the hits.

Skipped rows are counted but excluded from every rate. Mean queries and mean
seconds are over the attacked targets.

When the run directory holds ``transfer.jsonl`` (``experiment --rescore-with``,
:mod:`textattack_xmtc.study.transfer`), each table gets one column per second
victim, "transfers to <name>": transferred / judged successes of the group,
where judged means the second victim knows the label and the goal did not
already hold on the original document (see :data:`TRANSFER_HELP`).

Usage::

    run = read_run("runs/attentionxml-pos")
    print(summary_text(run.rows))                  # plain-text table, overall and per bin
    write_markdown([run], "report/report.md", plot_file="success_rate.png")
    write_html([run], "report/report.html", plots={"success_rate.png": png_bytes})
"""
from __future__ import annotations

import base64
import dataclasses
import difflib
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..metrics.attack import (
    PLOT_RESULTS_DEFINITION,
    RESULTS_ALL_DEFINITION,
    PaperMetrics,
    PlotResultsMetrics,
    paper_metrics,
    plot_results_metrics,
)
from .run_directory import RUN_FORMAT, DamagedRowError, read_result_rows
from ..shared.files import write_atomically as shared_write_atomically

NO_BIN = "all"  # the group of rows without a frequency bin
OVERALL = "overall"
# The attack each recipe runs (row field ``attack``) and its short kind (row field ``attack_kind``).
ATTACK_KINDS = {"positive-targeted": "pos", "negative-targeted": "neg", "untargeted": "untargeted"}
RECIPE_ATTACKS = {"xmtc-pos": "positive-targeted", "xmtc-neg": "negative-targeted",
                  "xmtc-untargeted": "untargeted"}
# Numeric row fields a report reads: NaN or inf in any of them is corrupt input.
NUMERIC_FIELDS = ("words", "words_changed", "similarity", "queries", "seconds")

RESULTS_ALL_HELP = ("hit = success with < 10% of words changed; success rates and average similarity "
                    "over ALL attacked targets (failures count 0); change rate pooled over the hits")
PLOT_RESULTS_HELP = ("hit = success with <= 10% of words changed; success rates over all attacked "
                     "targets; average similarity over the HITS only; change rate pooled over the hits")
TRANSFER_HEADER = "transfers to {name}"
TRANSFER_HELP = ("transfers to <name>: of the successful attacks (any words changed) whose target label <name> "
                 "knows and whose goal did not already hold for <name> on the original document, the share "
                 "whose adversarial document meets the goal on <name> too (pos: the target leaves <name>'s "
                 "top-k; neg: it enters it), as % (transferred/judged); failed and skipped targets are not "
                 "counted; from RUN_DIR/transfer.jsonl (experiment --rescore-with)")


# Said wherever a run is reported whose rows cover fewer targets than run.json's ``targets.rows``.
UNFINISHED_NOTE = ("{done} of {total} targets done (unfinished run; run `textattack-xmtc experiment` again "
                   "with the same options, and no --num-targets, to finish it)")


class ReportError(ValueError):
    """A run directory or its rows cannot be reported; the message is one line saying how to fix it."""


@dataclass
class Run:
    path: Path
    meta: dict  # run.json
    rows: List[dict]  # results.jsonl, in file order
    label: str = ""
    # transfer.jsonl: second victim's name -> target_number -> transfer row; {} without the file
    transfers: Dict[str, Dict[int, dict]] = field(default_factory=dict)

    @property
    def unfinished(self) -> Optional[str]:
        """:data:`UNFINISHED_NOTE` when run.json counts more targets than have rows; None otherwise."""
        targets = self.meta.get("targets")
        total = targets.get("rows") if isinstance(targets, dict) else None
        if not isinstance(total, int) or isinstance(total, bool):
            return None  # an older or hand-made run.json: no count to compare with
        done = targets_done(self.rows)
        return UNFINISHED_NOTE.format(done=done, total=total) if done < total else None

    @property
    def kind(self) -> str:
        """"pos", "neg" or "untargeted": the attack of the rows (one per run, checked on reading)."""
        return ATTACK_KINDS.get(_attacks(self.rows)[0], _attacks(self.rows)[0])


@dataclass
class GroupSummary:
    """One line of the table: a bin (or the overall pool) measured both ways."""
    name: str
    targets: int
    results_all: PaperMetrics
    plot_results: PlotResultsMetrics
    mean_queries: Optional[float]
    mean_seconds: Optional[float]
    min_frequency: Optional[int] = None  # the bin's training frequencies, None for "overall"/"all"
    max_frequency: Optional[int] = None

    @property
    def skipped(self) -> int:
        return self.results_all.skipped


# -- reading runs ----------------------------------------------------------------------------

def read_run(path) -> Run:
    """The run in directory ``path``; raises :class:`ReportError` when it is not a usable run."""
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path} is not a directory: pass a run directory written by "
                          "`textattack-xmtc experiment`")
    meta = _read_meta(path / "run.json")
    rows = _read_rows(path / "results.jsonl", meta)
    _check_one_attack(rows, path, meta.get("recipe"))
    return Run(path=path, meta=meta, rows=rows, label=default_label(meta), transfers=_read_transfers(path))


def _read_transfers(path: Path) -> Dict[str, Dict[int, dict]]:
    from .transfer import TransferError, read_transfer_rows, transfer_victims

    try:
        return transfer_victims(read_transfer_rows(path))
    except TransferError as error:
        raise ReportError(str(error)) from None


def _read_meta(path: Path) -> dict:
    if not path.is_file():
        raise ReportError(f"{path.parent} is not a run directory (no run.json): pass a directory "
                          "written by `textattack-xmtc experiment`")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"{path} is not valid JSON ({error}): the run directory is damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise ReportError(f"{path} is not a textattack-xmtc run description "
                          f"(\"format\" is not {RUN_FORMAT!r})")
    return meta


def _read_rows(path: Path, meta: dict) -> List[dict]:
    from .run_directory import foreign_row_problem

    if not path.is_file():
        raise ReportError(f"{path.parent} has no results.jsonl: the run has not attacked any target yet")
    rows = []
    first_line: Dict[int, tuple] = {}
    try:
        for number, row in read_result_rows(path):
            _check_row(row, path, number)
            problem = foreign_row_problem(row, meta, first_line, number)
            if problem:
                raise ReportError(f"{path}:{number} was {problem}" if problem.startswith("made") else
                                  f"{path}:{number} has {problem}")
            rows.append(row)
    except DamagedRowError as error:
        raise ReportError(_damage_message(error)) from None
    if not rows:
        raise ReportError(f"{path} is empty: the run has no results to report "
                          "(run `textattack-xmtc experiment` to completion first)")
    return rows


def _damage_message(error: DamagedRowError) -> str:
    where = f"{error.path}:{error.line_number}"
    if error.kind == "encoding":
        return f"{where} is not UTF-8 text: the results file is damaged"
    if error.kind == "constant":
        return (f"{where} holds {error.constant}: NaN/inf is not a result; "
                "the victim or the encoder produced invalid numbers, rerun that target")
    if error.kind == "object":
        return f"{where} is not a result row (no \"status\"/\"words\")"
    return f"{where} is not a JSON row ({error.reason}): the results file is damaged"


def _check_row(row: dict, path: Path, number: int) -> None:
    if "status" not in row or "words" not in row:
        raise ReportError(f"{path}:{number} is not a result row (no \"status\"/\"words\")")
    if not isinstance(row["status"], str):
        raise ReportError(f"{path}:{number} has status = {row['status']!r}, not a text such as \"succeeded\": "
                          "the results file is damaged")
    for name in NUMERIC_FIELDS:
        value = row.get(name)
        if (value is None and name not in ("words", "words_changed")) or (
                isinstance(value, (int, float)) and not isinstance(value, bool)):
            pass
        else:
            raise ReportError(f"{path}:{number} has {name} = {value!r}, not a number: the results file is damaged")
        if isinstance(value, float) and not math.isfinite(value):
            raise ReportError(f"{path}:{number} has {name} = {value}: NaN/inf is not a result; "
                              "the victim or the encoder produced invalid numbers, rerun that target")


def targets_done(rows: Sequence[Mapping]) -> int:
    """Targets with a row: distinct target numbers (a row may repeat), plus rows made without one."""
    numbers = {row["target_number"] for row in rows if isinstance(row.get("target_number"), int)}
    return len(numbers) + sum(not isinstance(row.get("target_number"), int) for row in rows)


def _attacks(rows: Sequence[Mapping]) -> List[str]:
    return sorted({str(row.get("attack", "")) for row in rows})


def _check_one_attack(rows: Sequence[Mapping], path: Path, recipe: Optional[str]) -> None:
    """One run, one recipe: rows of several attacks pooled into one table would mean nothing."""
    attacks = _attacks(rows)
    if len(attacks) > 1:
        raise ReportError(f"{path / 'results.jsonl'} mixes rows of different attacks ({', '.join(attacks)}): "
                          "give each recipe's run as its own RUN_DIR")
    expected = RECIPE_ATTACKS.get(recipe)
    if expected is not None and attacks != [expected]:
        raise ReportError(f"{path / 'results.jsonl'} holds {attacks[0]} rows but run.json's recipe is {recipe} "
                          f"({expected}): the results file belongs to another run")


def default_label(meta: Mapping) -> str:
    """``"<model> · <recipe>"``: the victim's source as run.json names it, else the model as given.

    When run.json's victim records how it was trained (``loss``, ``adversarial``;
    :mod:`textattack_xmtc.training.description`), the label names it, so that two
    runs of one architecture trained with different losses differ in the legend:
    ``"pw-model · loss pw (A 0.55, B 1.5) · adversarial 2 rounds, 37 adversarial documents · xmtc-pos"``.
    """
    victim = meta.get("victim") if isinstance(meta.get("victim"), dict) else {}  # run.json edited by hand
    model = str(victim.get("source") or meta.get("model") or "model")
    # A saved directory or checkpoint: its name says which model; the full path only crowds the legend.
    parts = [Path(model.rstrip('/')).name if '/' in model else model]
    for key in ("loss", "adversarial"):
        value = victim.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(f"{key} {value.strip()}")
    return " · ".join(parts + [str(meta.get("recipe", "?"))])


def name_differing_options(runs: Sequence["Run"]) -> List[str]:
    """The recipe options whose values differ among ``runs`` (threads aside); each run's label gets
    them (``"m · xmtc-pos · k=3"``), so that runs at another k are never compared unawares."""
    from .run_directory import OPTIONS_NOT_COMPARED

    def options(run) -> dict:
        value = run.meta.get("options")
        return value if isinstance(value, dict) else {}

    names = sorted({name for run in runs for name in options(run)} - set(OPTIONS_NOT_COMPARED))
    differing = [name for name in names
                 if len({json.dumps(options(run).get(name), sort_keys=True) for run in runs}) > 1]
    for run in runs:
        run.label = " · ".join([run.label] + [f"{name}={options(run).get(name)}" for name in differing])
    return differing


# -- grouping and measuring ------------------------------------------------------------------

def bin_range(name: str) -> Optional[Tuple[int, int]]:
    """(lo, hi) of a bin named ``"lo-hi"``; None for any other name."""
    low, separator, high = str(name).partition("-")
    if separator and low.isdigit() and high.isdigit():
        return int(low), int(high)
    return None


def group_by_bin(rows: Iterable[Mapping]) -> Dict[str, List[Mapping]]:
    """Rows by bin name, bins by lower (then upper) frequency; rows without a bin last, as ``"all"``."""
    groups: Dict[str, List[Mapping]] = {}
    for row in rows:
        name = row.get("bin")
        groups.setdefault(NO_BIN if name in (None, "") else str(name), []).append(row)

    def order(name: str):
        frequencies = bin_range(name)
        return (0, frequencies, "") if frequencies else (1, (0, 0), name)

    return {name: groups[name] for name in sorted(groups, key=order)}


def summarize_group(name: str, rows: Sequence[Mapping]) -> GroupSummary:
    attacked = [row for row in rows if row["status"] != "skipped"]
    frequencies = bin_range(name)
    results_all, plot_results = paper_metrics(rows), plot_results_metrics(rows)
    if not any(row.get("similarity") is not None for row in attacked):
        # No encoder (or no attacked row): with no hit either, the metrics' vacuous 0.0 is not a similarity.
        results_all = dataclasses.replace(results_all, success_rate_high_similarity=None,
                                          average_similarity=None)
        plot_results = dataclasses.replace(plot_results, success_rate_high_similarity=None,
                                           average_similarity=None)
    return GroupSummary(
        name=name,
        targets=len(rows),
        results_all=results_all,
        plot_results=plot_results,
        mean_queries=_mean(row.get("queries") for row in attacked),
        mean_seconds=_mean(row.get("seconds") for row in attacked),
        min_frequency=frequencies[0] if frequencies else None,
        max_frequency=frequencies[1] if frequencies else None,
    )


def summarize(rows: Sequence[Mapping]) -> List[GroupSummary]:
    """The overall pool first, then one summary per bin (see :func:`group_by_bin`)."""
    return [summarize_group(OVERALL, rows)] + [summarize_group(name, group)
                                               for name, group in group_by_bin(rows).items()]


def _mean(values: Iterable) -> Optional[float]:
    """Mean of the values that are present; None when none is (e.g. rows without ``seconds``)."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


# -- the table, as cells ---------------------------------------------------------------------

# (column header, how to read it from a GroupSummary); the same columns for text, Markdown and HTML.
def _percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{100.0 * value:.1f}%"


def _number(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


COMMON_COLUMNS = (
    ("bin", lambda s: s.name),
    ("targets", lambda s: str(s.targets)),
    ("skipped", lambda s: str(s.skipped)),
)
# A group with no attacked target has no rates: "-", not 0%.
METRIC_COLUMNS = (
    ("success", lambda m: _percent(m.success_rate if m.attacked else None)),
    ("success sim>0.8", lambda m: _percent(m.success_rate_high_similarity if m.attacked else None)),
    ("avg sim", lambda m: _number(m.average_similarity if m.attacked else None)),
    ("change rate", lambda m: _percent(m.change_rate)),
)
COST_COLUMNS = (
    ("queries", lambda s: _number(s.mean_queries, 1)),
    ("seconds", lambda s: _number(s.mean_seconds, 2)),
)
DEFINITIONS = ((RESULTS_ALL_DEFINITION, "results_all", RESULTS_ALL_HELP),
               (PLOT_RESULTS_DEFINITION, "plot_results", PLOT_RESULTS_HELP))


def table_cells(summaries: Sequence[GroupSummary], metrics: str, rows: Sequence[Mapping] = (),
                transfers: Optional[Mapping[str, Mapping[int, dict]]] = None) -> Tuple[List[str], List[List[str]]]:
    """Header and rows of one definition's table (``metrics``: "results_all" or "plot_results").

    With ``transfers`` (and the run's result ``rows``, to find each group's
    targets), one "transfers to <name>" column per second victim follows.
    """
    header = [name for name, _ in COMMON_COLUMNS + METRIC_COLUMNS + COST_COLUMNS]
    table = [[cell(summary) for _, cell in COMMON_COLUMNS]
             + [cell(getattr(summary, metrics)) for _, cell in METRIC_COLUMNS]
             + [cell(summary) for _, cell in COST_COLUMNS] for summary in summaries]
    groups = {OVERALL: list(rows), **group_by_bin(rows)}
    for name, by_target in (transfers or {}).items():
        header.append(TRANSFER_HEADER.format(name=name))
        for line, summary in zip(table, summaries):
            line.append(transfer_cell(groups.get(summary.name, []), by_target))
    return header, table


def transfer_cell(rows: Sequence[Mapping], by_target: Mapping[int, dict]) -> str:
    """``"58.3% (7/12)"``: the group's transferred / judged successes on one second victim; "-" if none judged."""
    from .transfer import transfer_rate

    transferred, judged = transfer_rate([by_target[row["target_number"]] for row in rows
                                         if row.get("target_number") in by_target])
    return f"{_percent(transferred / judged)} ({transferred}/{judged})" if judged else "-"


def summary_text(rows: List[dict], transfers: Optional[Mapping[str, Mapping[int, dict]]] = None) -> str:
    """The overall and per-bin table of ``rows`` as plain text, both definitions, one table each.

    ``transfers`` (:attr:`Run.transfers`) adds a "transfers to <name>" column per second victim.
    """
    summaries = summarize(rows)
    parts = []
    for title, metrics, explanation in DEFINITIONS:
        header, cells = table_cells(summaries, metrics, rows, transfers)
        parts.append(f"{title}: {explanation}\n{_aligned([header] + cells)}")
    parts.append("queries, seconds: means over the attacked targets; skipped targets are excluded "
                 "from every rate")
    if transfers:
        parts.append(TRANSFER_HELP)
    return "\n\n".join(parts) + "\n"


def _aligned(lines: List[List[str]]) -> str:
    widths = [max(len(line[column]) for line in lines) for column in range(len(lines[0]))]
    return "\n".join("  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                               for column, (cell, width) in enumerate(zip(line, widths))).rstrip()
                     for line in lines)


# -- example adversarial documents ------------------------------------------------------------

def example_rows(rows: Sequence[Mapping], count: int) -> List[Mapping]:
    """Up to ``count`` successes with both texts: highest similarity first, else fewest words changed."""
    successes = [row for row in rows if row["status"] == "succeeded"
                 and row.get("original_text") is not None and row.get("perturbed_text") is not None]
    successes.sort(key=lambda row: (-(row.get("similarity") or 0.0), row.get("change_rate") or 0.0))
    return successes[:count]


def word_diff(original: str, perturbed: str) -> List[Tuple[str, str, str]]:
    """(operation, original words, perturbed words) over whitespace tokens; operation as difflib's."""
    before, after = original.split(), perturbed.split()
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return [(operation, " ".join(before[i1:i2]), " ".join(after[j1:j2]))
            for operation, i1, i2, j1, j2 in matcher.get_opcodes()]


def marked_html(original: str, perturbed: str) -> str:
    """The perturbed document, escaped, with replaced words as ``<del>old</del> <ins>new</ins>``."""
    parts = []
    for operation, old, new in word_diff(original, perturbed):
        if operation == "equal":
            parts.append(html.escape(old))
            continue
        if old:
            parts.append(f"<del>{html.escape(old)}</del>")
        if new:
            parts.append(f"<ins>{html.escape(new)}</ins>")
    return " ".join(parts)


def marked_markdown(original: str, perturbed: str) -> str:
    """As :func:`marked_html` with ``~~old~~ **new**``; text escaped so that it cannot inject markup."""
    parts = []
    for operation, old, new in word_diff(original, perturbed):
        if operation == "equal":
            parts.append(_markdown_text(old))
            continue
        if old:
            parts.append(f"~~{_markdown_text(old)}~~")
        if new:
            parts.append(f"**{_markdown_text(new)}**")
    return " ".join(parts)


def _markdown_text(text: str) -> str:
    """Escaped for Markdown: HTML as entities, and Markdown's own markers backslashed."""
    escaped = html.escape(str(text))
    for marker in "\\`*_[]|#~":
        escaped = escaped.replace(marker, "\\" + marker)
    return escaped


def _example_caption(row: Mapping) -> str:
    similarity = row.get("similarity")
    parts = [f"label {row.get('label')}", f"bin {row.get('bin') or NO_BIN}",
             f"rank {row.get('rank_before')} → {row.get('rank_after')}",
             f"{row.get('words_changed')}/{row.get('words')} words changed"]
    if similarity is not None:
        parts.append(f"similarity {similarity:.3f}")
    return ", ".join(parts)


# -- Markdown ---------------------------------------------------------------------------------

def markdown_report(runs: Sequence[Run], plot_files: Sequence[str] = (), examples: int = 3) -> str:
    """The report as Markdown: per run, both definitions' tables and example documents."""
    lines = ["# Attack report", ""]
    lines += [f"![success rate against label frequency]({name})" for name in plot_files]
    for run in runs:
        summaries = summarize(run.rows)
        lines += ["", f"## {_markdown_text(run.label)}", "", f"Run directory: `{run.path}`", ""]
        if run.unfinished:
            lines += [f"**{_markdown_text(run.unfinished)}**", ""]
        for title, metrics, explanation in DEFINITIONS:
            header, cells = table_cells(summaries, metrics, run.rows, run.transfers)
            if run.transfers:  # escaped: "<name>" would be read as an HTML tag
                explanation = f"{explanation}. {_markdown_text(TRANSFER_HELP)}"
            header = [_markdown_text(cell) if cell.startswith("transfers to ") else cell for cell in header]
            lines += [f"### {title}", "", explanation, "",
                      "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
            lines += ["| " + " | ".join(_markdown_text(cell) for cell in row) + " |" for row in cells]
            lines.append("")
        lines += ["### Example adversarial documents", ""]
        chosen = example_rows(run.rows, examples)
        for row in chosen:
            lines += [f"- {_markdown_text(_example_caption(row))}", "",
                      "  " + marked_markdown(row["original_text"], row["perturbed_text"]), ""]
        if not chosen:
            lines += ["No successful attack with its texts in this run.", ""]
    return "\n".join(lines) + "\n"


# -- HTML -------------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 75em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr:first-child td { font-weight: bold; background: #f3f3f3; }
th { background: #e4e8f0; }
img { max-width: 100%; border: 1px solid #ddd; }
.definition { color: #555; font-size: 0.9em; }
.unfinished { color: #900; font-weight: bold; }
.example { border-left: 3px solid #99a; padding: 0.3em 0.8em; margin: 0.8em 0; }
del { background: #fdd; color: #900; }
ins { background: #dfd; color: #060; text-decoration: none; font-weight: bold; }
"""


def html_report(runs: Sequence[Run], plots: Mapping[str, bytes], examples: int = 3) -> str:
    """The report as one self-contained HTML page (PNG plots as data URIs, inline CSS, no network)."""
    body = ["<h1>Attack report</h1>"]
    for name, png in plots.items():
        encoded = base64.b64encode(png).decode("ascii")
        body.append(f'<figure><img id="{html.escape(Path(name).stem)}" alt="success rate against label '
                    f'frequency" src="data:image/png;base64,{encoded}"></figure>')
    for run in runs:
        body.append(_html_run(run, examples))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>textattack-xmtc attack report</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def _html_run(run: Run, examples: int) -> str:
    summaries = summarize(run.rows)
    parts = [f"<section><h2>{html.escape(run.label)}</h2>",
             f"<p class=\"definition\">Run directory: <code>{html.escape(str(run.path))}</code></p>"]
    if run.unfinished:
        parts.append(f"<p class=\"unfinished\">{html.escape(run.unfinished)}</p>")
    for title, metrics, explanation in DEFINITIONS:
        header, cells = table_cells(summaries, metrics, run.rows, run.transfers)
        if run.transfers:
            explanation = f"{explanation}. {TRANSFER_HELP}"
        parts += [f"<h3>{html.escape(title)}</h3>", f"<p class=\"definition\">{html.escape(explanation)}</p>",
                  _html_table(header, cells)]
    parts.append("<h3>Example adversarial documents</h3>")
    chosen = example_rows(run.rows, examples)
    for row in chosen:
        parts.append(f"<div class=\"example\"><p><b>{html.escape(_example_caption(row))}</b></p>"
                     f"<p>{marked_html(row['original_text'], row['perturbed_text'])}</p></div>")
    if not chosen:
        parts.append("<p>No successful attack with its texts in this run.</p>")
    return "\n".join(parts) + "</section>"


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# -- writing safely ---------------------------------------------------------------------------

write_atomically = shared_write_atomically  # reports are written whole or not at all
