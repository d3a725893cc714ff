"""Success rate against label frequency, one line per run, a panel per attack (pos, neg, untargeted).

Each bin (``"lo-hi"`` training frequencies) is drawn at the midpoint of its
range on a log axis, as adv-xmtc's ``plot_results.py`` plots per frequency; a
bin whose midpoint is 0 (labels never seen in training, ``"0-0"``) is drawn
at 0.5 and the axis label says so. The success rate is the
``plot_results.py`` definition (hit = success with <= 10% of words changed,
over all attacked targets); with similarities, a dashed line adds the
success rate with similarity > 0.8.

Usage::

    figure = success_rate_figure([PlotSeries.from_rows("AttentionXML · xmtc-pos", "pos", rows)])
    figure.savefig("success_rate.png", dpi=120)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .report import bin_range, group_by_bin, summarize_group  # noqa: E402

ZERO_POSITION = 0.5  # where a bin of frequency 0 goes on the log axis
PANEL_TITLES = {"pos": "positive-targeted", "neg": "negative-targeted", "untargeted": "untargeted"}
X_LABEL = "training frequency of the target label (bin midpoint, log scale; 0 drawn at 0.5)"
Y_LABEL = "success rate (%), <= 10% of words changed"


@dataclass
class PlotSeries:
    label: str  # the legend entry: the run
    kind: str  # "pos", "neg" or "untargeted": the panel
    points: List[Tuple[float, float, Optional[float]]]  # (x, success %, success with sim > 0.8 % or None)

    @classmethod
    def from_rows(cls, label: str, kind: str, rows: Sequence[Mapping]) -> "PlotSeries":
        """One point per frequency bin with attacked targets; rows without a bin are not plotted."""
        points = []
        for name, group in group_by_bin(rows).items():
            frequencies = bin_range(name)
            metrics = summarize_group(name, group).plot_results
            if frequencies is None or metrics.attacked == 0:
                continue
            high = metrics.success_rate_high_similarity
            points.append((bin_position(*frequencies), 100.0 * metrics.success_rate,
                           None if high is None else 100.0 * high))
        return cls(label=label, kind=kind, points=points)


def bin_position(low: int, high: int) -> float:
    middle = (low + high) / 2.0
    return middle if middle > 0 else ZERO_POSITION


def success_rate_figure(series: Sequence[PlotSeries]) -> Figure:
    """One panel per attack kind present, one line per run; labelled axes, a title and a legend always."""
    kinds = [kind for kind in PANEL_TITLES if any(line.kind == kind for line in series)] or ["pos"]
    kinds += sorted({line.kind for line in series} - set(kinds))
    figure, axes = plt.subplots(1, len(kinds), figsize=(6.5 * len(kinds), 4.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        _draw_panel(ax, kind, [line for line in series if line.kind == kind])
    figure.suptitle("Success rate against label frequency (plot_results.py definition)")
    figure.tight_layout()
    return figure


def _draw_panel(ax, kind: str, series: Sequence[PlotSeries]) -> None:
    for line in series:
        if not line.points:
            # Still in the legend, so that a run without frequency bins is visibly absent, not lost.
            ax.plot([], [], marker="o", label=f"{line.label} (no frequency bins)")
            continue
        xs = [x for x, _, _ in line.points]
        drawn = ax.plot(xs, [rate for _, rate, _ in line.points], marker="o", linewidth=2.0, label=line.label)
        if all(high is not None for _, _, high in line.points):
            ax.plot(xs, [high for _, _, high in line.points], linestyle="--", marker=".",
                    color=drawn[0].get_color(), label=f"{line.label}, similarity > 0.8")
    if not series:
        ax.plot([], [], label="no runs")
    ax.set_xscale("log")
    ax.set_ylim(-2, 102)
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(Y_LABEL)
    ax.set_title(PANEL_TITLES.get(kind, kind))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="best", fontsize="small")


def save_png(figure: Figure) -> bytes:
    """The figure as PNG bytes (the caller writes them atomically); the figure is closed."""
    from io import BytesIO
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()
