"""The paper's attack metrics, computed from result rows.

Following the released ``results_all.py`` of Qaraei & Babbar, over all
ATTACKED targets (skipped examples excluded):

* success rate: successes with fewer than 10% of words changed;
* success rate with similarity > 0.8 (also < 10% changed);
* average similarity: the similarities of those successes summed and divided
  by ALL attacked targets (a failed attack counts 0);
* change rate: changed words / words, summed over those successes.

Rows are the dicts of :func:`textattack_xmtc.results.result_row` (or
:meth:`XMTCRecord.to_row`).

Usage::

    summary = paper_metrics(rows)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping, Optional

MAX_CHANGE_RATE = 0.10
MIN_SIMILARITY = 0.8


@dataclass
class PaperMetrics:
    attacked: int
    skipped: int
    successes: int
    success_rate: float
    success_rate_high_similarity: Optional[float]
    average_similarity: Optional[float]
    change_rate: Optional[float]

    def as_dict(self) -> dict:
        return asdict(self)

    def table_rows(self) -> list:
        """Rows for TextAttack's summary table (numbers only, for the JSON logger)."""
        rows = [
            ["Targets attacked (not skipped):", self.attacked],
            ["Success rate, < 10% words changed:", _percent(self.success_rate)],
        ]
        if self.success_rate_high_similarity is not None:
            rows.append(["Success rate, < 10% changed and sim > 0.8:",
                         _percent(self.success_rate_high_similarity)])
            rows.append(["Average similarity (failures count 0):", round(self.average_similarity, 4)])
        if self.change_rate is not None:
            rows.append(["Change rate of those successes:", _percent(self.change_rate)])
        return rows


def _percent(value: float) -> str:
    return f"{100.0 * value:.2f}%"


def paper_metrics(rows: Iterable[Mapping]) -> PaperMetrics:
    """The paper's metrics over result rows; similarity metrics are None without an encoder."""
    rows = list(rows)
    attacked = [row for row in rows if row["status"] != "skipped"]
    hits = [row for row in attacked
            if row["status"] == "succeeded" and row["words_changed"] < MAX_CHANGE_RATE * row["words"]]
    have_similarity = all(row.get("similarity") is not None for row in hits)
    total = max(len(attacked), 1)
    words = sum(row["words"] for row in hits)
    return PaperMetrics(
        attacked=len(attacked),
        skipped=len(rows) - len(attacked),
        successes=sum(row["status"] == "succeeded" for row in attacked),
        success_rate=len(hits) / total,
        success_rate_high_similarity=(sum(row["similarity"] > MIN_SIMILARITY for row in hits) / total
                                      if have_similarity else None),
        average_similarity=sum(row["similarity"] for row in hits) / total if have_similarity else None,
        change_rate=sum(row["words_changed"] for row in hits) / words if words else None,
    )
