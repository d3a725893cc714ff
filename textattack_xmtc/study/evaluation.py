"""A victim's ranking quality, overall and per label-frequency bin: the study's ``evaluate`` step.

P@k, nDCG@k and PSP@k (k = 1, 3, 5) over a test set, and per bin of
training frequency (:func:`textattack_xmtc.study.bins.frequency_bins` over
EVERY label of the model) the bin's share of P@k and its R@k. Decisions:

- Test labels the model never saw stay in each document's truth and can
  never be hit: P@k is unchanged for documents that also have known labels,
  nDCG@k's ideal DCG counts min(k, |truth|) including them, and PSP@k's
  normaliser weighs them as labels of training frequency 0. How many
  documents and labels that concerns is reported.
- Documents with no label at all are left out of every mean and counted.
  A test set none of whose labels the model knows is an error
  (:class:`NoKnownLabelsError`): every number would be 0.
- Per bin, P@k is the bin's share of the hits (hits in the top k whose label
  is in the bin, over k x documents), so the bins' P@k sum to the overall
  P@k; R@k is the fraction of the bin's true (document, label) pairs ranked
  in the top k.
- Propensity constants A, B (Jain et al. 2016): the values the Extreme
  Classification Repository gives for a named standard dataset
  (:data:`PROPENSITY_CONSTANTS`), else A = 0.55, B = 1.5; explicit values win.
- Without training data, PSP@k and the bins are left out with a note.

Usage::

    propensity = propensity_for("AmazonCat-13K")
    summary = evaluate_victim(load_victim("my-model"), load_corpus("data", "test"),
                              train=load_corpus("data", "train"), propensity=propensity)
    print(format_evaluation(summary))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

from .bins import FrequencyBin, frequency_bins

if TYPE_CHECKING:
    from ..datasets.corpus import Corpus

# numpy, torch and the metrics are imported where used: `textattack-xmtc evaluate --help` stays instant.

KS = (1, 3, 5)
DEFAULT_A, DEFAULT_B = 0.55, 1.5
DEFAULT_BIN_SIZE = 50

# Jain et al. (2016) fitted A and B on Wikipedia-LSHTC and Amazon; the Extreme
# Classification Repository uses those for its Wikipedia-LSHTC-derived sets
# (WikiLSHTC-325K, Wikipedia-500K) and Amazon sets, A = 0.55, B = 1.5 elsewhere
# (Wiki10-31K is a different, tag-based collection: it keeps the defaults).
PROPENSITY_CONSTANTS: Dict[str, tuple] = {
    "WikiLSHTC-325K": (0.5, 0.4), "Wikipedia-500K": (0.5, 0.4),
    "Amazon-670K": (0.6, 2.6), "AmazonCat-13K": (0.6, 2.6), "Amazon-3M": (0.6, 2.6),
    "EURLex-4K": (DEFAULT_A, DEFAULT_B), "Wiki10-31K": (DEFAULT_A, DEFAULT_B),
    "Wikipedia-31K": (DEFAULT_A, DEFAULT_B), "Delicious-200K": (DEFAULT_A, DEFAULT_B),
    "RCV1-2K": (DEFAULT_A, DEFAULT_B), "reuters21578": (DEFAULT_A, DEFAULT_B),
}


class NoKnownLabelsError(ValueError):
    """No test document has a label the model knows: the wrong label set (or model) for this data."""


class UnknownDatasetError(ValueError):
    """A ``--dataset-name`` without known propensity constants."""


@dataclass(frozen=True)
class Propensity:
    A: float
    B: float
    reason: str  # why these values, for the output

    def as_dict(self) -> dict:
        return {"A": self.A, "B": self.B, "reason": self.reason}


def _dataset_key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def known_dataset(name: str) -> Optional[str]:
    """The table's spelling of ``name`` (case-insensitive, hyphens optional), or None.

    Usage::

        known_dataset("amazoncat13k")  # 'AmazonCat-13K'
    """
    return {_dataset_key(known): known for known in PROPENSITY_CONSTANTS}.get(_dataset_key(name))


def propensity_for(dataset_name: Optional[str] = None, A: Optional[float] = None, B: Optional[float] = None,
                   data_name: str = "") -> Propensity:
    """A and B for PSP@k: given values, else ``dataset_name``'s (an unknown name raises
    :class:`UnknownDatasetError`), else those of a standard dataset ``data_name`` (the data's
    directory name) matches, else Jain et al.'s defaults.

    Usage::

        propensity_for("amazon-670k")  # Propensity(A=0.6, B=2.6, reason='values for Amazon-670K ...')
    """
    if dataset_name is not None and known_dataset(dataset_name) is None:
        raise UnknownDatasetError(
            f"no propensity constants known for dataset {dataset_name!r}; known: "
            f"{', '.join(PROPENSITY_CONSTANTS)} (or give --propensity-a and --propensity-b)")
    named = known_dataset(dataset_name) if dataset_name is not None else known_dataset(data_name or "")
    how = "--dataset-name" if dataset_name is not None else "the data's name"
    base_a, base_b = PROPENSITY_CONSTANTS[named] if named else (DEFAULT_A, DEFAULT_B)
    if named and (base_a, base_b) == (DEFAULT_A, DEFAULT_B):
        reason = f"Jain et al. (2016) defaults, used for {named} (from {how})"
    elif named:
        reason = f"Extreme Classification Repository values for {named} (from {how})"
    else:
        reason = "Jain et al. (2016) defaults (no standard dataset named: see --dataset-name)"
    given = [f"{flag} given" for flag, value in (("A", A), ("B", B)) if value is not None]
    if given:
        reason = " and ".join(given) + ("" if len(given) == 2 else f"; otherwise {reason}")
    return Propensity(A if A is not None else base_a, B if B is not None else base_b, reason)


@dataclass
class EvaluationSummary:
    """Everything ``evaluate`` reports; :meth:`as_dict` is its JSON form."""

    metrics: Dict[str, float]  # P@k, nDCG@k, [PSP@k] and the document / label counts
    unknown_labels: List[str]
    propensity: Optional[Propensity]
    bin_size: int
    bins: List[dict] = field(default_factory=list)  # per bin: name, frequencies, labels, pairs, P@k, R@k
    notes: List[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"metrics": self.metrics, "unknown_labels": self.unknown_labels,
                "propensity": self.propensity.as_dict() if self.propensity else None,
                "bin_size": self.bin_size, "bins": self.bins, "notes": self.notes}


def training_frequencies(wrapper, train: Corpus) -> Dict[str, int]:
    """Each model label's number of training documents (0 for a label absent from ``train``).

    Usage::

        training_frequencies(wrapper, load_corpus("data", "train"))["acq"]  # 1650
    """
    counts = train.label_counts()
    return {label: int(counts.get(label, 0)) for label in wrapper.labels}


def evaluate_victim(wrapper, test: Corpus, train: Optional[Corpus] = None, propensity: Optional[Propensity] = None,
                    bin_size: int = DEFAULT_BIN_SIZE, strict_bin_size: bool = False, batch_size: int = 128,
                    progress: bool = False) -> EvaluationSummary:
    """Score ``test`` with ``wrapper`` (top-k only) and measure it overall and per bin.

    Refuses before scoring: :class:`NoKnownLabelsError` when no document has a
    label the model knows; with ``strict_bin_size``, a :class:`BinSizeError`
    for a bin size the labels cannot take (otherwise that is a note and the
    bins are left out).

    Usage::

        summary = evaluate_victim(wrapper, test, train, propensity_for(), bin_size=50, progress=True)
    """
    from ..metrics.ranking import ranking_report, truth_index_sets
    from ..training.evaluation import rank_test_set

    truth = truth_index_sets(test.labels, wrapper.labels)
    _require_known_labels(truth, len(wrapper.labels), test)
    notes: List[str] = []
    frequencies = training_frequencies(wrapper, train) if train is not None else None
    if frequencies is not None and not any(frequencies.values()):
        # Every frequency 0 (an empty file, another label set): PSP@k and the bins would be silently wrong.
        raise NoKnownLabelsError(
            f"none of the {len(train)} training documents of {train.source or train.name} has a label the "
            "model knows, so there are no training frequencies; give the model's training data (--train-data)")
    if frequencies is None:
        notes.append("no training data: PSP@k and the per-bin figures need training label frequencies")
    bins = _bins_or_note(frequencies, bin_size, strict_bin_size, notes) if frequencies is not None else None
    ranked = rank_test_set(wrapper, test, max(KS), batch_size, progress, truth=truth)
    inv_p = None
    if frequencies is not None:
        propensity = propensity or propensity_for()
        counts = [frequencies[label] for label in wrapper.labels]
        inv_p = ranked.inverse_propensity(counts, len(train), propensity.A, propensity.B)
    metrics = ranking_report(ranked.ranked, ranked.truth, KS, inv_p)
    metrics.update(ranked.counts())
    summary = EvaluationSummary(metrics, ranked.unknown, propensity if inv_p is not None else None, bin_size,
                                notes=notes)
    if bins is not None:
        summary.bins = _per_bin(ranked, wrapper.labels, bins)
    return summary


def _require_known_labels(truth: tuple, n_labels: int, test: Corpus) -> None:
    """Raise :class:`NoKnownLabelsError` unless some document has a label among the model's ``n_labels``."""
    sets, unknown = truth
    if not any(labels and labels[0] < n_labels for labels in sets):
        raise NoKnownLabelsError(
            f"none of the {len(test)} documents of {test.source or test.name} has a label the model knows "
            f"(e.g. {', '.join(unknown[:3]) or 'no labels at all'}); is this the data the model was trained on?")


def _bins_or_note(frequencies: Dict[str, int], bin_size: int, strict: bool,
                  notes: List[str]) -> Optional[List[FrequencyBin]]:
    """The bins, or (unless ``strict``: then BinSizeError) None with a note why not."""
    from .bins import BinSizeError

    try:
        return frequency_bins(frequencies, bin_size)
    except BinSizeError as error:
        if strict:
            raise
        notes.append(f"no per-bin figures: {error}")
        return None


def _per_bin(ranked, labels: Sequence[str], bins: List[FrequencyBin]) -> List[dict]:
    """One dict per bin: its frequencies, labels, test pairs, P@k share and R@k."""
    import numpy as np

    from ..metrics.ranking import binned_at_k

    bin_index = {label: frequency_bin.index for frequency_bin in bins for label in frequency_bin.labels}
    # Unknown labels (indices from len(labels) on) belong to no bin.
    label_bins = np.array([bin_index[label] for label in labels] + [-1] * len(ranked.unknown))
    per_k = {k: binned_at_k(ranked.ranked, ranked.truth, k, label_bins, len(bins)) for k in KS}
    rows = []
    for frequency_bin in bins:
        row = frequency_bin.as_dict()
        row["pairs"] = int(per_k[KS[0]]["pairs"][frequency_bin.index])
        row.update({f"P@{k}": float(per_k[k]["precision"][frequency_bin.index]) for k in KS})
        row.update({f"R@{k}": float(per_k[k]["recall"][frequency_bin.index]) for k in KS})
        rows.append(row)
    return rows


def format_evaluation(summary: EvaluationSummary) -> str:
    """The readable tables: counts, unknown labels, propensity, overall metrics, then one row per bin.

    Usage::

        print(format_evaluation(summary))
    """
    from ..training.evaluation import format_report

    metrics = summary.metrics
    lines = [f"Documents measured: {metrics['test_documents']} "
             f"(skipped, no label at all: {metrics['test_documents_skipped']})"]
    if summary.unknown_labels:
        shown = ", ".join(summary.unknown_labels[:5]) + (", ..." if len(summary.unknown_labels) > 5 else "")
        documents = metrics["unknown_label_documents"]
        lines.append(f"Labels the model never saw: {len(summary.unknown_labels)} ({shown}), in {documents} "
                     f"document{'' if documents == 1 else 's'}; counted as misses")
    else:
        lines.append("Labels the model never saw: none")
    if summary.propensity:
        lines.append(f"PSP@k propensity: A={summary.propensity.A:g}, B={summary.propensity.B:g} "
                     f"({summary.propensity.reason})")
    lines += [f"Note: {note}" for note in summary.notes]
    lines += ["", "Overall", format_report(metrics, KS)]
    if summary.bins:
        lines += ["", _bins_table(summary)]
    return "\n".join(lines)


def _bins_table(summary: EvaluationSummary) -> str:
    header = (f"Per label-frequency bin (bin size {summary.bin_size}; bin = training frequencies lo-hi; "
              f"P@k = the bin's share of the hits, the bins' P@k sum to the overall P@k; "
              f"R@k = share of the bin's true test pairs ranked in the top k)")
    columns = [f"P@{k}" for k in KS] + [f"R@{k}" for k in KS]
    width = max(9, max(len(row["name"]) for row in summary.bins) + 1)
    rows = [header, f"{'bin':<{width}}{'labels':>8}{'pairs':>8}" + "".join(f"{c:>8}" for c in columns)]
    for row in summary.bins:
        rows.append(f"{row['name']:<{width}}{row['labels']:>8}{row['pairs']:>8}"
                    + "".join(f"{row[c]:8.4f}" for c in columns))
    return "\n".join(rows)
