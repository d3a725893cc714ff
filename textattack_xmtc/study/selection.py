"""Target selection as the paper does it (Qaraei & Babbar, arXiv:2112.07512; adv-xmtc's ``data_utils.py``).

1. The victim ranks every test document; only each document's top-k label
   indices are kept (never an ``[N, L]`` matrix: ``L`` reaches 670,000).
2. A positive pair is a (document, label) where the label is true for the
   document and in its top-k.
3. The labels that occur in some positive pair are put into frequency bins
   by their TRAINING frequency (:func:`~textattack_xmtc.study.bins.frequency_bins`;
   a label the model knows but training never saw has frequency 0).
4. Per bin, the pairs are shuffled and the first ``per_bin`` become ``pos`` rows.
5. Per bin, the test documents are walked in a random order; for each one a
   label of the bin is drawn uniformly and kept as a ``neg`` row when it is
   neither true for the document nor in its top-k, until ``neg_per_bin`` rows.

Draw order, all from one ``numpy.random.default_rng(seed)``: for each bin
(rarest first) one permutation of its positive pairs (listed by document,
then by rank); then for each bin one permutation of the test documents
followed by one label draw per visited document. Both kinds are always drawn,
so the rows of one kind do not depend on ``attacks``; the same seed gives the
same rows, byte for byte.

True labels the model does not know are dropped from the rows: they can
never be targets, the attacks ignore them, and ``read_targets(...,
labels=victim.labels)`` (the stock ``textattack attack`` path) refuses a row
that names one. Documents with a blank text cannot be attacked and are left out.

Usage::

    selection = select_targets(victim, load_corpus("reuters21578", "test"),
                               load_corpus("reuters21578", "train").label_counts(), bin_size=10)
    write_jsonl(selection.rows(), "targets.jsonl")
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from ..shared.files import write_atomically
from .bins import BinSizeError, FrequencyBin, bin_of, frequency_bins

if TYPE_CHECKING:  # importing the datasets imports TextAttack (seconds): `--help` must not wait for it
    import torch

    from ..datasets.corpus import Corpus

# datasets.targets.ATTACK_KINDS and MAX_INDEX, repeated so that this module (and `--help`) loads without TextAttack
ATTACK_KINDS = ("pos", "neg")  # the values of a row's "attack"
MAX_INDEX = 2**31 - 1  # the largest integer a targets row may hold (a C int)

DEFAULT_K = 5
DEFAULT_BIN_SIZE = 50  # adv-xmtc's default; its released run used 100
DEFAULT_PER_BIN = 10  # the released demo attacks 10 documents per bin
DEFAULT_NEG_PER_BIN = 10  # adv-xmtc's max_neg_samples
DEFAULT_BATCH_SIZE = 128

ROW_FIELDS = ("text", "labels", "target", "k", "bin", "attack", "label_frequency", "selection_seed",
              "document")
"""Keys of a targets row, in the order they are written."""


class SelectionError(ValueError):
    """Targets cannot be selected with these inputs; the one-line message says why and what to change."""


# -- 1. streaming top-k -----------------------------------------------------

def predict_top_k(wrapper, texts: Sequence[str], k: int, batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: bool = False, model_name: str = "the model") -> np.ndarray:
    """Each text's ``k`` best label indices, best first, as int64 ``[N, k]``.

    Texts are scored in batches of similar length; only the top-k of a batch
    is kept. Ranks are taken on the scores as the wrapper returns them, ties
    going to the lower index: exactly the ranks of the goal functions, so a
    selected positive target passes the attack's precondition. (A sigmoid
    would not reorder logits, and in float32 it can tie large ones.)
    Raises :class:`SelectionError` naming ``model_name`` on NaN or infinite scores.

    Usage::

        top = predict_top_k(victim, corpus.texts, k=5)
    """
    from ..metrics.ranking import NonFiniteScoresError
    from ..training.evaluation import stream_top_k

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise SelectionError(f"k must be a positive integer, got {k!r}")
    if k > len(wrapper.labels):
        raise SelectionError(f"k={k} but the model has only {len(wrapper.labels)} labels")
    try:  # the one streaming top-k, shared with `evaluate` and `train`
        return stream_top_k(wrapper, texts, k, batch_size=batch_size, progress=progress, model_name=model_name)
    except NonFiniteScoresError as error:
        raise SelectionError(f"{error}; no ranking exists") from None


# -- 2. positive pairs and training frequencies -------------------------------

def known_label_indices(label_lists: Iterable[Sequence[str]], labels: Sequence[str]) -> List[List[int]]:
    """Per document, the indices in ``labels`` of its true labels the model knows (in the document's order)."""
    index = {name: position for position, name in enumerate(labels)}
    return [[index[name] for name in names if name in index] for names in label_lists]


def positive_pairs(top_k: np.ndarray, true_indices: Sequence[Sequence[int]]) -> List[Tuple[int, int]]:
    """(row, label index) for every true label in the row's top-k; by row, then by rank.

    Usage::

        positive_pairs(np.array([[2, 0], [1, 3]]), [[0], [3, 2]])  # [(0, 0), (1, 3)]
    """
    pairs = []
    for row, (ranked, truth) in enumerate(zip(top_k, true_indices)):
        truth = set(truth)
        pairs.extend((row, int(label)) for label in ranked if int(label) in truth)
    return pairs


def training_frequencies(labels: Sequence[str], train_counts: Mapping[str, int]) -> List[int]:
    """Training frequency of each model label, 0 for a label training never saw."""
    return [int(train_counts.get(name, 0)) for name in labels]


# -- 3.-5. the selection -------------------------------------------------------

@dataclass
class BinSelection:
    """One frequency bin: its labels, how many positive pairs it offered and the rows drawn from it."""

    bin: FrequencyBin
    frequencies: int  # distinct training frequencies in the bin
    pairs: int  # positive pairs available
    positives: List[dict] = field(default_factory=list)
    negatives: List[dict] = field(default_factory=list)

    def summary(self) -> dict:
        return {"bin": self.bin.name, "frequencies": self.frequencies, "labels": len(self.bin.labels),
                "pairs": self.pairs, "pos": len(self.positives), "neg": len(self.negatives)}


@dataclass
class TargetSelection:
    """The selected rows per bin, and what the selection saw."""

    bins: List[BinSelection]  # rows of a kind not asked for are left out
    documents: int  # test documents ranked
    blank_documents: int  # test documents left out for a blank text
    documents_with_unknown_labels: int  # test documents with a true label the model does not know

    def rows(self) -> List[dict]:
        """Positive rows bin by bin (rarest first), then negative rows bin by bin."""
        return [row for selected in self.bins for row in selected.positives] + \
            [row for selected in self.bins for row in selected.negatives]


def select_targets(wrapper, test: "Corpus", train_counts: Mapping[str, int], k: int = DEFAULT_K,
                   bin_size: int = DEFAULT_BIN_SIZE, per_bin: int = DEFAULT_PER_BIN,
                   neg_per_bin: int = DEFAULT_NEG_PER_BIN, attacks: Sequence[str] = ATTACK_KINDS,
                   seed: int = 0, batch_size: int = DEFAULT_BATCH_SIZE, progress: bool = False,
                   model_name: str = "the model") -> TargetSelection:
    """The paper's targets for ``wrapper`` on ``test``, binned by ``train_counts`` (label -> training documents).

    Raises :class:`SelectionError` (bad options, no shared labels, no
    positive pair, NaN scores) or :class:`~textattack_xmtc.study.bins.BinSizeError`.

    Usage::

        selection = select_targets(victim, test, train.label_counts(), k=5, bin_size=100, seed=0)
    """
    labels = list(wrapper.labels)
    attacks = (attacks,) if isinstance(attacks, str) else tuple(attacks)
    _check_options(k, per_bin, neg_per_bin, attacks, seed, len(labels))
    if not set(labels) & {name for names in test.labels for name in names}:
        raise SelectionError(f"{model_name} shares no label with the test documents (model labels such as "
                             f"{', '.join(repr(name) for name in labels[:3])}); is it the model of this dataset?")
    if not any(train_counts.get(name) for name in labels):
        raise SelectionError(f"the training data has no document with a label of {model_name}, so every "
                             "training frequency would be 0 (one bin): give the model's training data")
    kept = [document for document, text in enumerate(test.texts) if text.strip()]
    truth = known_label_indices((test.labels[document] for document in kept), labels)
    top = predict_top_k(wrapper, [test.texts[document] for document in kept], k, batch_size, progress,
                        model_name)
    frequencies = training_frequencies(labels, train_counts)
    pairs = positive_pairs(top, truth)
    if not pairs:
        raise SelectionError(f"{model_name} ranks no true label in any test document's top-{k}: there is no "
                             "positive target to select (and no bins for negative ones)")
    try:
        bins = frequency_bins({labels[label]: frequencies[label] for _, label in pairs}, bin_size)
    except BinSizeError as error:  # say which labels are binned: the targets', not all the model's
        raise BinSizeError(f"binning the labels that can be positive targets (true labels in {model_name}'s "
                           f"top-{k} of some test document): {error}") from None
    draw = _Draw(test, kept, truth, top, labels, frequencies, k, seed)
    pairs_by_bin = _group_by_bin(pairs, bins, labels)
    selected = [draw.positives(frequency_bin, pairs_by_bin[frequency_bin.index], per_bin)
                for frequency_bin in bins]
    for bin_selection in selected:  # every bin's positives are drawn before any negative
        bin_selection.negatives = draw.negatives(bin_selection.bin, neg_per_bin)
        # Both kinds are drawn whatever ``attacks`` says, so that one kind's rows never depend on it.
        bin_selection.positives = bin_selection.positives if "pos" in attacks else []
        bin_selection.negatives = bin_selection.negatives if "neg" in attacks else []
    known = set(labels)
    chosen = TargetSelection(selected, len(kept), len(test) - len(kept),
                             sum(any(name not in known for name in names) for names in test.labels))
    if not chosen.rows():
        raise SelectionError(f"no target selected (per_bin {per_bin}, neg_per_bin {neg_per_bin}, attacks "
                             f"{'/'.join(attacks)}): raise --per-bin or --neg-per-bin")
    return chosen


def _group_by_bin(pairs: List[Tuple[int, int]], bins: List[FrequencyBin],
                  labels: List[str]) -> Dict[int, List[Tuple[int, int]]]:
    """Bin index -> its positive pairs, in the order of ``pairs``."""
    bin_index = {name: frequency_bin.index for name, frequency_bin in bin_of(bins).items()}
    grouped: Dict[int, List[Tuple[int, int]]] = {frequency_bin.index: [] for frequency_bin in bins}
    for pair in pairs:
        grouped[bin_index[labels[pair[1]]]].append(pair)
    return grouped


def _check_options(k, per_bin, neg_per_bin, attacks, seed, num_labels: int) -> None:
    for name, value, low in (("k", k, 1), ("per_bin", per_bin, 0), ("neg_per_bin", neg_per_bin, 0),
                             ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_INDEX:
            raise SelectionError(f"{name} must be an integer from {low} to {MAX_INDEX}, got {value!r}")
    if k >= num_labels:
        # The goal functions skip such rows: every label would always be in the top-k.
        raise SelectionError(f"k={k} but the model has only {num_labels} labels; k must be smaller")
    unknown = [kind for kind in attacks if kind not in ATTACK_KINDS]
    if unknown or not attacks:
        raise SelectionError(f"attacks must be among {', '.join(ATTACK_KINDS)}, got {list(attacks)!r}")


class _Draw:
    """The seeded draws of one selection, in the documented order, and the rows they make."""

    def __init__(self, test: "Corpus", kept: List[int], truth: List[List[int]], top: np.ndarray,
                 labels: List[str], frequencies: List[int], k: int, seed: int):
        self.test, self.kept, self.top, self.labels = test, kept, top, labels
        self.truth = [set(indices) for indices in truth]
        self.frequencies, self.k, self.seed = frequencies, k, seed
        self.index = {name: position for position, name in enumerate(labels)}
        self.rng = np.random.default_rng(seed)

    def positives(self, frequency_bin: FrequencyBin, pairs: List[Tuple[int, int]], per_bin: int) -> BinSelection:
        """``pairs`` are the bin's positive pairs; the first ``per_bin`` of a permutation become rows."""
        order = self.rng.permutation(len(pairs))
        rows = [self._row(*pairs[position], "pos", frequency_bin) for position in order[:per_bin]]
        distinct = len({self.frequencies[self.index[name]] for name in frequency_bin.labels})
        return BinSelection(frequency_bin, distinct, len(pairs), positives=rows)

    def negatives(self, frequency_bin: FrequencyBin, neg_per_bin: int) -> List[dict]:
        rows: List[dict] = []
        if neg_per_bin == 0:
            return rows
        for row in self.rng.permutation(len(self.kept)):
            name = frequency_bin.labels[int(self.rng.integers(len(frequency_bin.labels)))]
            label = self.index[name]
            if label not in self.truth[row] and label not in self.top[row]:
                rows.append(self._row(int(row), label, "neg", frequency_bin))
                if len(rows) >= neg_per_bin:
                    break
        return rows

    def _row(self, row: int, label: int, kind: str, frequency_bin: FrequencyBin) -> dict:
        document = self.kept[row]
        known = [name for name in self.test.labels[document] if name in self.index]
        values = (self.test.texts[document], known, self.labels[label], self.k, frequency_bin.name, kind,
                  self.frequencies[label], self.seed, document)
        return dict(zip(ROW_FIELDS, values))


# -- writing -------------------------------------------------------------------

def write_jsonl(rows: Iterable[dict], path, overwrite: bool = False) -> Path:
    """Write ``rows`` as UTF-8 JSON Lines atomically (a temporary file, then ``os.replace``).

    Raises ``FileExistsError`` when ``path`` exists and not ``overwrite``.

    Usage::

        write_jsonl(selection.rows(), "targets.jsonl")
    """
    path = Path(path).expanduser()
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def format_table(selection: TargetSelection) -> str:
    """The per-bin summary as a text table, with a total line.

    Usage::

        print(format_table(selection))
    """
    header = ("bin", "frequencies", "labels", "pos pairs", "pos", "neg")
    summaries = [selected.summary() for selected in selection.bins]
    lines = [[str(summary[key]) for key in ("bin", "frequencies", "labels", "pairs", "pos", "neg")]
             for summary in summaries]
    total = ["total", str(sum(s["frequencies"] for s in summaries)), str(sum(s["labels"] for s in summaries)),
             str(sum(s["pairs"] for s in summaries)), str(sum(s["pos"] for s in summaries)),
             str(sum(s["neg"] for s in summaries))]
    widths = [max(len(cells[i]) for cells in [list(header), total, *lines]) for i in range(len(header))]
    rendered = [list(header), *lines, total]
    return "\n".join("  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                               for i, (cell, width) in enumerate(zip(cells, widths))) for cells in rendered)
