"""Label-frequency bins, as the paper forms them.

Labels are grouped by how often they occur in the TRAINING set. The distinct
frequencies are walked in ascending order and a bin is closed as soon as it
holds at least ``bin_size`` distinct labels (a frequency is never split
between two bins); whatever is left after the last frequency forms the last
bin, however small (adv-xmtc's ``A_pos_sample_selector``). Which labels are
binned is the caller's choice: target selection bins the labels that are
positive targets (true and in the model's top-k for some test document),
``evaluate`` bins every label of the model.

Every study command (``evaluate``, ``select-targets``, ``experiment``,
``report``) names bins with :attr:`FrequencyBin.name` (``"1-3"``: training
frequencies 1 to 3), so their outputs can be joined.

Usage::

    bins = frequency_bins({"acq": 1650, "cpu": 3, "gas": 3, "lin": 1}, bin_size=2)
    [b.name for b in bins]          # ['1-3', '1650-1650']
    bin_of(bins)["cpu"].name        # '1-3'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Hashable, List, Mapping, Sequence


@dataclass(frozen=True)
class FrequencyBin:
    index: int  # 0 for the rarest labels
    min_frequency: int  # training frequencies covered, both ends included
    max_frequency: int
    labels: Sequence[Hashable] = field(default_factory=tuple, compare=False)  # sorted by (frequency, name)

    @property
    def name(self) -> str:
        return f"{self.min_frequency}-{self.max_frequency}"

    def as_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "min_frequency": self.min_frequency,
                "max_frequency": self.max_frequency, "labels": len(self.labels)}


class BinSizeError(ValueError):
    """The bin size cannot form bins over these labels; the message says why and what to pass."""


def frequency_bins(frequencies: Mapping[Hashable, int], bin_size: int) -> List[FrequencyBin]:
    """Bins over ``frequencies`` (label -> training count), rarest first.

    Raises :class:`BinSizeError` when ``bin_size`` is not a positive integer
    or exceeds the number of labels (one bin would hold every label: no
    per-bin result would mean anything).
    """
    if isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 1:
        raise BinSizeError(f"the bin size must be a positive integer, got {bin_size!r}")
    if not frequencies:
        raise BinSizeError("there are no labels to put into frequency bins")
    if bin_size > len(frequencies):
        raise BinSizeError(
            f"bin size {bin_size} is larger than the {len(frequencies)} labels to bin: "
            f"pass --bin-size {max(1, len(frequencies) // 5)} or less (about five bins) or at most "
            f"{len(frequencies)} (one bin)")
    by_frequency: Dict[int, List[Hashable]] = {}
    for label, count in frequencies.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise BinSizeError(f"label {label!r} has training frequency {count!r}; "
                               "frequencies must be non-negative integers")
        by_frequency.setdefault(count, []).append(label)
    bins: List[FrequencyBin] = []
    pending: List[Hashable] = []
    first = None
    distinct = sorted(by_frequency)
    for position, count in enumerate(distinct):
        first = count if first is None else first
        pending.extend(sorted(by_frequency[count], key=str))
        if len(pending) >= bin_size or position == len(distinct) - 1:
            bins.append(FrequencyBin(len(bins), first, count, tuple(pending)))
            pending, first = [], None
    return bins


def bin_of(bins: Sequence[FrequencyBin]) -> Dict[Hashable, FrequencyBin]:
    """Label -> its bin."""
    return {label: frequency_bin for frequency_bin in bins for label in frequency_bin.labels}
