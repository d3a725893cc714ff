"""The paper's attack metrics, computed from result rows: both of its scripts' definitions.

The released code of Qaraei & Babbar computes them in two scripts that
disagree; each has its own function here, named after the script:

* :func:`paper_metrics` -- the ``results_all.py`` definition (the paper's
  pooled table), described below;
* :func:`plot_results_metrics` -- the ``plot_results.py`` definition (the
  per-frequency plots): a hit is a success with ``words_changed <= 0.1 *
  words`` (10% exactly counts), the success rates are over all attacked
  targets, but the average similarity is over the HITS only, and the change
  rate is pooled over the hits.

``results_all.py`` definition: over all
ATTACKED targets (skipped ones excluded), with words counted as the paper
counts them: whitespace tokens of the ORIGINAL document,
``len(original_text.split(' '))`` (row field ``words``). A "hit" is a success
with ``words_changed < 0.1 * words``; then

* success rate = hits / targets attacked;
* success rate with similarity > 0.8 = hits with similarity > 0.8 / targets attacked;
* average similarity = (sum of the hits' similarities) / targets attacked:
  every other target (a failure, or a success changing 10% or more) counts 0;
* change rate = (sum of the hits' words changed) / (sum of the hits' words):
  pooled over the hits, not an average of per-target rates.

``words_changed`` is the number of words substituted (TextAttack's
``all_words_diff``). The same two success figures are also given with
TextAttack's own word count (row field ``textattack_words``: punctuation split
off, no empty tokens), as a second column: ``success_rate_textattack_words`` and
``change_rate_textattack_words``; they differ from the paper's on documents with
punctuation or repeated spaces.

Rows are the dicts of :func:`textattack_xmtc.results.result_row` (or
:meth:`XMTCRecord.to_row`, or :func:`~textattack_xmtc.results.read_csv_rows`),
from one run or merged from several.

Usage::

    summary = paper_metrics(rows)                 # results_all.py definition
    per_bin = plot_results_metrics(rows)          # plot_results.py definition
    summary.as_dict()        # numbers, for JSON
    summary.table_rows()     # [label, value] rows whose labels say what each averages over
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Optional

MAX_CHANGE_RATE = 0.10
MIN_SIMILARITY = 0.8

WORDS = "words = whitespace tokens of the original, split(' ')"
HITS = "successes with < 10% of words changed"

# Each metric's exact definition: the summary's labels and the JSON summary's "definitions".
DEFINITIONS = {
    "attacked": "targets attacked (not skipped)",
    "skipped": "targets skipped (precondition not met)",
    "successes": "successes, any number of words changed",
    "success_rate": f"{HITS} / targets attacked ({WORDS})",
    "success_rate_high_similarity": f"{HITS} and similarity > 0.8 / targets attacked",
    "average_similarity": f"{HITS} count their similarity, all other attacked targets 0",
    "change_rate": f"words changed / words, pooled over the {HITS}",
    "success_rate_textattack_words": ("successes with < 10% of TextAttack's words changed / "
                                      "targets attacked (TextAttack's word count)"),
    "change_rate_textattack_words": ("words changed / TextAttack's words, pooled over those "
                                     "successes (TextAttack's word count)"),
}


@dataclass
class PaperMetrics:
    attacked: int
    skipped: int
    successes: int
    success_rate: float
    success_rate_high_similarity: Optional[float]
    average_similarity: Optional[float]
    change_rate: Optional[float]
    success_rate_textattack_words: Optional[float] = None
    change_rate_textattack_words: Optional[float] = None

    def as_dict(self) -> dict:
        return asdict(self)

    def table_rows(self) -> list:
        """Rows for TextAttack's summary table (numbers only, for the JSON logger)."""
        rows = [
            ["Targets attacked (not skipped):", self.attacked],
            [_label("Success rate", "success_rate"), _percent(self.success_rate)],
        ]
        if self.success_rate_high_similarity is not None:
            rows.append([_label("Success rate, sim > 0.8", "success_rate_high_similarity"),
                         _percent(self.success_rate_high_similarity)])
            rows.append([_label("Average similarity", "average_similarity"),
                         round(self.average_similarity, 4)])
        if self.change_rate is not None:
            rows.append([_label("Change rate", "change_rate"), _percent(self.change_rate)])
        if self.success_rate_textattack_words is not None:
            rows.append([_label("Success rate", "success_rate_textattack_words"),
                         _percent(self.success_rate_textattack_words)])
        if self.change_rate_textattack_words is not None:
            rows.append([_label("Change rate", "change_rate_textattack_words"),
                         _percent(self.change_rate_textattack_words)])
        return rows


def _label(name: str, field: str) -> str:
    return f"{name}: {DEFINITIONS[field]}:"


def _percent(value: float) -> str:
    return f"{100.0 * value:.2f}%"


def paper_metrics(rows: Iterable[Mapping]) -> PaperMetrics:
    """The paper's metrics over result rows; similarity metrics are None without an encoder.

    The TextAttack-word figures are None when a row lacks ``textattack_words``
    (rows written before that field existed).
    """
    rows = list(rows)
    attacked = [row for row in rows if row["status"] != "skipped"]
    hits = paper_hits(attacked)
    have_similarity = all(row.get("similarity") is not None for row in hits)
    total = max(len(attacked), 1)
    words = sum(row["words"] for row in hits)
    with_textattack_words = all("textattack_words" in row for row in attacked)
    textattack_hits = _hits(attacked, "textattack_words") if with_textattack_words else []
    textattack_words = sum(row["textattack_words"] for row in textattack_hits)
    return PaperMetrics(
        attacked=len(attacked),
        skipped=len(rows) - len(attacked),
        successes=sum(row["status"] == "succeeded" for row in attacked),
        success_rate=len(hits) / total,
        success_rate_high_similarity=(sum(row["similarity"] > MIN_SIMILARITY for row in hits) / total
                                      if have_similarity else None),
        average_similarity=sum(row["similarity"] for row in hits) / total if have_similarity else None,
        change_rate=sum(row["words_changed"] for row in hits) / words if words else None,
        success_rate_textattack_words=len(textattack_hits) / total if with_textattack_words else None,
        change_rate_textattack_words=(sum(row["words_changed"] for row in textattack_hits) / textattack_words
                                      if textattack_words else None),
    )


RESULTS_ALL_DEFINITION = "results_all.py definition"
PLOT_RESULTS_DEFINITION = "plot_results.py definition"

# What each figure of :func:`plot_results_metrics` averages over.
PLOT_RESULTS_DEFINITIONS = {
    "success_rate": "successes with <= 10% of words changed / targets attacked",
    "success_rate_high_similarity": "successes with <= 10% of words changed and similarity > 0.8 / targets attacked",
    "average_similarity": "mean similarity of the successes with <= 10% of words changed (hits only)",
    "change_rate": "words changed / words, pooled over the successes with <= 10% of words changed",
}


@dataclass
class PlotResultsMetrics:
    """The ``plot_results.py`` definition; similarity figures are None without an encoder."""
    attacked: int
    skipped: int
    successes: int
    success_rate: float
    success_rate_high_similarity: Optional[float]
    average_similarity: Optional[float]  # None also when there is no hit (the script divides by zero)
    change_rate: Optional[float]

    def as_dict(self) -> dict:
        return asdict(self)


def plot_results_metrics(rows: Iterable[Mapping]) -> PlotResultsMetrics:
    """The metrics as adv-xmtc's ``plot_results.py`` computes them per frequency (see module doc)."""
    rows = list(rows)
    attacked = [row for row in rows if row["status"] != "skipped"]
    hits = _hits(attacked, "words", inclusive=True)
    have_similarity = all(row.get("similarity") is not None for row in hits)
    total = max(len(attacked), 1)
    words = sum(row["words"] for row in hits)
    return PlotResultsMetrics(
        attacked=len(attacked),
        skipped=len(rows) - len(attacked),
        successes=sum(row["status"] == "succeeded" for row in attacked),
        success_rate=len(hits) / total,
        success_rate_high_similarity=(sum(row["similarity"] > MIN_SIMILARITY for row in hits) / total
                                      if have_similarity else None),
        average_similarity=(sum(row["similarity"] for row in hits) / len(hits)
                            if have_similarity and hits else None),
        change_rate=sum(row["words_changed"] for row in hits) / words if words else None,
    )


def paper_hits(rows: Iterable[Mapping]) -> list:
    """The rows that count as the paper's successes (``results_all.py``): succeeded, < 10% of the words
    of the original (split on spaces) changed."""
    return _hits(list(rows), "words")


def _hits(attacked: list, words_field: str, inclusive: bool = False) -> list:
    """Successes with fewer than 10% of the original's words (as ``words_field`` counts them) changed.

    ``inclusive``: 10% exactly counts too (``plot_results.py``; ``results_all.py`` excludes it).
    """
    def small_enough(row) -> bool:
        # The ratio, as both scripts compare it (an empty document is never a hit).
        rate = row["words_changed"] / row[words_field] if row[words_field] else float("inf")
        return rate <= MAX_CHANGE_RATE if inclusive else rate < MAX_CHANGE_RATE

    return [row for row in attacked if row["status"] == "succeeded" and small_enough(row)]
