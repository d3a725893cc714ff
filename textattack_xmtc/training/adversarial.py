"""Adversarial training for XMTC victims (beyond the paper): ``train --adversarial-from`` / ``--adversarial-rounds``.

TextAttack's ``Trainer`` does adversarial training for multiclass models
only; here a multilabel victim is retrained on its training corpus plus the
successful adversarial documents of attack runs, each with the ORIGINAL
document's true labels (the attack changed words, not the meaning).

* ``--adversarial-from RUN_DIR ...``: the successes of finished
  ``textattack-xmtc experiment`` run directories. A run made on another label
  set is refused; a run without a success only adds nothing (a warning: the
  model may simply be robust to that attack). A document made from a test
  document is a warning: the test metrics are then no longer held out.
* ``--adversarial-rounds N``: round ``r`` = 1..N takes the model of round
  ``r - 1`` (round 0: trained normally, on the ``--adversarial-from``
  documents if any), draws ``M`` positive targets on the TRAINING split (a
  true label in the model's top-k; :mod:`textattack_xmtc.study.selection`),
  attacks them with :func:`~textattack_xmtc.study.experiment.run_experiment`
  into ``OUTPUT/adversarial/round-<r>/`` (a normal run directory), adds the
  successes (cumulative over rounds) and retrains from scratch with the same
  seed and options. The model attacked in round ``r`` is saved in
  ``OUTPUT/adversarial/victim-<r-1>/`` (the run's ``run.json`` names it).

Adversarial documents are deduplicated (same text and labels once). The
saved model records ``training["adversarial"] = {"documents", "rounds",
"runs", "recipe", "targets_per_round"}``
(:func:`~textattack_xmtc.training.description.describe_adversarial`).
Everything is deterministic for a seed: round ``r`` draws its targets from
``numpy.random.default_rng(SeedSequence([seed, r]))`` and attacks with ``seed``.

Usage::

    documents = read_adversarial_documents("runs/pos", train)
    corpus = augmented_corpus(train, documents)
    result = adversarial_training(train, test, lambda corpus: train_attentionxml(corpus, test),
                                  AdversarialSettings(rounds=1, targets=50), output=Path("my-model"))
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..datasets.corpus import Corpus
from ..study.run_directory import RUN_FORMAT, DamagedRowError, read_result_rows

DEFAULT_TARGETS = 100
DEFAULT_RECIPE = "xmtc-pos"
#: Recipes a round may use: they attack positive targets (the untargeted one attacks any row).
ROUND_RECIPES = ("xmtc-pos", "xmtc-untargeted")
ADVERSARIAL_DIR = "adversarial"
SUCCEEDED = "succeeded"


class AdversarialTrainingError(ValueError):
    """Adversarial training cannot go on with these inputs; the one-line message says why and what to do."""


@dataclass
class AdversarialDocuments:
    """Adversarial documents, deduplicated: ``texts[i]`` with ``labels[i]`` (the original's true labels).

    ``originals[i]`` is the text the attack started from; ``runs`` the run
    directories read, in order.

    Usage::

        documents = AdversarialDocuments(); added = documents.add("perturbed text", ["acq"], "original text")
    """

    texts: List[str] = field(default_factory=list)
    labels: List[List[str]] = field(default_factory=list)
    originals: List[str] = field(default_factory=list)
    runs: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._seen = {(text, tuple(labels)) for text, labels in zip(self.texts, self.labels)}

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str, labels: Sequence[str], original: str) -> bool:
        """Add one document unless the same text with the same labels is here already; True when added."""
        key = (text, tuple(labels))
        if key in self._seen:
            return False
        self._seen.add(key)
        self.texts.append(text)
        self.labels.append(list(labels))
        self.originals.append(original)
        return True

    def extend(self, other: "AdversarialDocuments") -> int:
        """Add ``other``'s documents and runs; returns how many documents were new."""
        self.runs.extend(run for run in other.runs if run not in self.runs)
        return sum(self.add(*document) for document in zip(other.texts, other.labels, other.originals))


# -- reading run directories -------------------------------------------------------------

def read_adversarial_documents(run_dir, train: Optional[Corpus] = None,
                               warn: Callable[[str], None] = None) -> AdversarialDocuments:
    """The successful adversarial documents of the run directory ``run_dir``.

    A row with ``status`` "succeeded" gives ``(perturbed_text, true_labels)``;
    the same text with the same labels is kept once. With ``train``, a run made
    on another label set than ``train``'s is refused (:func:`check_label_set`).
    A run without a success gives no document and a ``warn`` line. Raises
    :class:`AdversarialTrainingError` for a path that is not a run directory
    or a damaged ``results.jsonl`` line (naming the file and line).

    Usage::

        documents = read_adversarial_documents("runs/pos", load_corpus("reuters21578", "train"))
    """
    warn = warn or _to_stderr
    path = Path(run_dir).expanduser()
    meta = _read_meta(path)
    rows = _read_rows(path / "results.jsonl")
    documents = AdversarialDocuments(runs=[str(run_dir)])
    for number, row in rows:
        if row.get("status") == SUCCEEDED:
            text, labels, original = _document(row, path / "results.jsonl", number)
            documents.add(text, labels, original)
    if train is not None:
        check_label_set(path, meta, documents, train)
    if not documents:
        warn(f"warning: {path} has no successful attack ({len(rows)} rows): it adds no adversarial document")
    return documents


def check_run_directories(paths) -> None:
    """The ``--adversarial-from`` checks that need no training data, so that a mistyped path fails
    before training starts (an :class:`AdversarialTrainingError` naming it)."""
    for run_dir in paths:
        _read_meta(Path(run_dir).expanduser())


def _read_meta(path: Path) -> dict:
    if not path.exists():
        raise AdversarialTrainingError(f"--adversarial-from {path}: no such directory; give a run directory "
                                       "written by `textattack-xmtc experiment`")
    run_file = path / "run.json"
    if not path.is_dir() or not run_file.is_file():
        raise AdversarialTrainingError(f"--adversarial-from {path} is not a run directory (no run.json): give "
                                       "a directory written by `textattack-xmtc experiment`")
    try:
        meta = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise AdversarialTrainingError(f"{run_file} is not valid JSON ({error}): the run directory is "
                                       "damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != RUN_FORMAT:
        raise AdversarialTrainingError(f"{run_file} is not a textattack-xmtc run file (\"format\" is not "
                                       f"{RUN_FORMAT!r})")
    return meta


def _read_rows(path: Path) -> List[Tuple[int, dict]]:
    """(line number, row) of every non-blank line; a line that is not a JSON object is an error."""
    if not path.is_file():
        return []  # run.json is written before any row: a run that has attacked nothing yet
    rows = []
    try:
        for number, row in read_result_rows(path):
            if not isinstance(row.get("status"), str):
                _raise_damaged(path, number, "object", "no text status")
            rows.append((number, row))
    except DamagedRowError as error:
        _raise_damaged(path, error.line_number, error.kind, error.reason)
    return rows


def _raise_damaged(path: Path, number: int, kind: str, reason: str):
    if kind == "object":
        raise AdversarialTrainingError(f"{path}:{number} is not a result row (no text \"status\"): the "
                                       "results file is damaged")
    raise AdversarialTrainingError(f"{path}:{number} is not a JSON row ({reason}): the results file is "
                                   "damaged (resume or redo that run)")


def _document(row: dict, path: Path, number: int) -> Tuple[str, List[str], str]:
    """(perturbed text, original true labels, original text) of a successful row."""
    text, labels, original = row.get("perturbed_text"), row.get("true_labels"), row.get("original_text")
    if not isinstance(text, str) or not text.strip():
        raise AdversarialTrainingError(f"{path}:{number} is a success without a \"perturbed_text\": the run was "
                                       "not written by `textattack-xmtc experiment`, or the file is damaged")
    if not isinstance(labels, list) or not labels or not all(isinstance(name, (str, int)) for name in labels):
        raise AdversarialTrainingError(f"{path}:{number} has true_labels = {labels!r}, not a list of label "
                                       "names: the results file is damaged")
    return text, [str(name) for name in labels], original if isinstance(original, str) else ""


def check_label_set(path: Path, meta: dict, documents: AdversarialDocuments, train: Corpus) -> None:
    """Refuse a run whose model had another label set than the one trained on ``train``.

    Compared as SETS of names (AttentionXML sorts the labels, APLC-XLNet
    orders them by frequency): every true label of every document must be a
    training label, and the run's ``victim.labels_sha256`` must be the hash of
    the sorted or frequency-ordered training labels, or its ``num_labels``
    their number.
    """
    from ..model_wrappers.base import labels_sha256

    names = train.label_names()
    known = set(names)
    unknown = sorted({name for labels in documents.labels for name in labels} - known)
    victim = meta.get("victim") if isinstance(meta.get("victim"), dict) else {}
    model = meta.get("model", "?")
    if unknown:
        shown = ", ".join(repr(name) for name in unknown[:3]) + (f" (+{len(unknown) - 3} more)"
                                                                 if len(unknown) > 3 else "")
        raise AdversarialTrainingError(
            f"--adversarial-from {path} was made on another label set (model {model!r}): its documents carry "
            f"label(s) {shown} that the training data ({len(names)} labels) does not have; use runs of a model "
            "of this data set")
    counts = train.label_counts()
    hashes = {labels_sha256(names), labels_sha256(sorted(counts, key=lambda name: (-counts[name], name)))}
    if victim.get("labels_sha256") in hashes:
        return
    recorded = victim.get("num_labels")
    if isinstance(recorded, int) and recorded != len(names):
        raise AdversarialTrainingError(
            f"--adversarial-from {path} was made on another label set: its model {model!r} has {recorded} "
            f"labels (labels sha256 {str(victim.get('labels_sha256'))[:12]}...), the training data "
            f"{len(names)}; use runs of a model of this data set")
    if recorded is None:
        raise AdversarialTrainingError(f"{path}/run.json records neither the victim's labels_sha256 nor its "
                                       "num_labels: its label set cannot be checked; the run.json is damaged")


def count_test_overlap(documents: AdversarialDocuments, test: Optional[Corpus]) -> int:
    """How many adversarial documents were made from a document of ``test`` (same original text).

    Usage::

        if count_test_overlap(documents, test): print("the test metrics are no longer held out")
    """
    if test is None or not len(documents):
        return 0
    texts = set(test.texts)
    return sum(original in texts for original in documents.originals)


def augmented_corpus(train: Corpus, documents: AdversarialDocuments) -> Corpus:
    """``train`` followed by the adversarial documents (refused when one carries a label ``train`` lacks).

    Usage::

        corpus = augmented_corpus(train, read_adversarial_documents("runs/pos", train))
    """
    known = set(train.label_names())
    for text, labels in zip(documents.texts, documents.labels):
        missing = [name for name in labels if name not in known]
        if missing:
            raise AdversarialTrainingError(f"adversarial document {text[:40]!r}... carries label {missing[0]!r} "
                                           "that the training data does not have")
    return Corpus(texts=list(train.texts) + list(documents.texts),
                  labels=[list(labels) for labels in train.labels] + [list(labels) for labels in documents.labels],
                  name=train.name, source=train.source)


# -- target selection on the training split ---------------------------------------------

def select_training_targets(wrapper, train: Corpus, count: int, k: int, seed: int,
                            progress: bool = False) -> List[dict]:
    """``count`` positive targets on ``train``: (document, true label in the model's top-k) pairs, drawn at random.

    The pairs are :func:`~textattack_xmtc.study.selection.positive_pairs` of
    the model's :func:`~textattack_xmtc.study.selection.predict_top_k`; one
    permutation from ``numpy.random.default_rng(seed)`` picks the first
    ``count`` (all when fewer). Rows have ``select-targets``' fields; the bins
    are the paper's frequency bins of the positive labels.

    Usage::

        rows = select_training_targets(victim, train, 100, k=5, seed=0)
    """
    import numpy as np

    from ..study.bins import bin_of, frequency_bins
    from ..study.selection import (
        DEFAULT_BIN_SIZE,
        ROW_FIELDS,
        SelectionError,
        known_label_indices,
        positive_pairs,
        predict_top_k,
        training_frequencies,
    )

    labels = list(wrapper.labels)
    if k >= len(labels):
        raise AdversarialTrainingError(f"k={k} but the model has only {len(labels)} labels: every label is in the "
                                       "top-k; give a smaller k, e.g. --adversarial-recipe 'xmtc-pos^k=1'")
    kept = [document for document, text in enumerate(train.texts) if text.strip()]
    truth = known_label_indices((train.labels[document] for document in kept), labels)
    try:
        top = predict_top_k(wrapper, [train.texts[document] for document in kept], k, progress=progress)
    except SelectionError as error:
        raise AdversarialTrainingError(str(error)) from None
    pairs = positive_pairs(top, truth)
    if not pairs:
        raise AdversarialTrainingError(f"the model ranks no true label of any training document in its top-{k}: "
                                       "there is no positive target to attack (train longer)")
    frequencies = training_frequencies(labels, train.label_counts())
    positive = {labels[label]: frequencies[label] for _, label in pairs}
    bins = bin_of(frequency_bins(positive, min(DEFAULT_BIN_SIZE, len(positive))))
    order = np.random.default_rng(seed).permutation(len(pairs))[:count]
    index = {name: position for position, name in enumerate(labels)}
    rows = []
    for row, label in (pairs[position] for position in order):
        document = kept[row]
        known = [name for name in train.labels[document] if name in index]
        values = (train.texts[document], known, labels[label], k, bins[labels[label]].name, "pos",
                  frequencies[label], seed, document)
        rows.append(dict(zip(ROW_FIELDS, values)))
    return rows


def round_seed(seed: int, round_number: int) -> int:
    """Round ``round_number``'s selection seed, from the training seed (a C int, as targets rows hold)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, round_number]).generate_state(1)[0]) & 0x7FFFFFFF


def parse_round_recipe(recipe: str) -> Tuple[str, dict]:
    """``'xmtc-pos^encoder="none"'`` -> ``("xmtc-pos", {"encoder": "none"})``, checked for a round.

    Uses ``experiment``'s :func:`~textattack_xmtc.cli.experiment.parse_recipe`;
    its one-line error becomes an :class:`AdversarialTrainingError`.
    """
    from ..cli.experiment import parse_recipe

    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            name, options = parse_recipe(recipe)
    except SystemExit:
        message = captured.getvalue().strip().split("error: ", 1)[-1]
        raise AdversarialTrainingError(f"--adversarial-recipe: {message}") from None
    if name not in ROUND_RECIPES:
        raise AdversarialTrainingError(f"--adversarial-recipe {recipe}: a round attacks positive targets of the "
                                       f"training split; choose {' or '.join(ROUND_RECIPES)}")
    return name, options


# -- the training loop -------------------------------------------------------------------

@dataclass
class AdversarialSettings:
    """What ``train``'s adversarial flags ask for."""

    from_runs: Sequence[str] = ()
    rounds: int = 0
    targets: int = DEFAULT_TARGETS
    recipe: str = DEFAULT_RECIPE
    seed: int = 0
    progress: bool = True

    def record(self, documents: int, runs: Sequence[str], rounds_done: int) -> dict:
        """``wrapper.training["adversarial"]``."""
        return {"documents": documents, "rounds": rounds_done, "runs": [str(run) for run in runs],
                "recipe": self.recipe if self.rounds else None,
                "targets_per_round": self.targets if self.rounds else None}


@dataclass
class AdversarialResult:
    wrapper: object  # the last round's model
    metrics: Dict[str, float]  # its trainer's metrics
    corpus: Corpus  # what it was trained on
    documents: AdversarialDocuments


TrainModel = Callable[[Corpus], Tuple[object, Dict[str, float]]]


def adversarial_training(train: Corpus, test: Optional[Corpus], train_model: TrainModel,
                         settings: AdversarialSettings, output: Path, training_record: Optional[dict] = None,
                         log: Callable[[str], None] = print,
                         warn: Callable[[str], None] = None) -> AdversarialResult:
    """Train with the documents of ``settings.from_runs``, then ``settings.rounds`` attack-and-retrain rounds.

    ``train_model(corpus)`` trains from scratch (same seed and options every
    time) and returns ``(wrapper, metrics)``. Rounds write into
    ``output/adversarial/``. ``training_record`` is merged into every model's
    ``training`` (e.g. ``{"data": ...}``). Raises :class:`AdversarialTrainingError`.

    Usage::

        result = adversarial_training(train, test, lambda corpus: train_attentionxml(corpus, test, seed=0),
                                      AdversarialSettings(from_runs=["runs/pos"]), Path("my-model"))
    """
    warn = warn or _to_stderr
    recipe = parse_round_recipe(settings.recipe) if settings.rounds else None
    if recipe is not None:
        _check_k(recipe, len(train.label_names()))
    documents = AdversarialDocuments()
    for run in settings.from_runs:
        read = read_adversarial_documents(run, train, warn)
        documents.extend(read)
        overlap = count_test_overlap(read, test)
        if overlap:
            warn(f"warning: {overlap} adversarial document(s) of {run} were made from test documents: the "
                 "test metrics are no longer held out")
    if settings.from_runs:
        log(f"{len(documents)} adversarial documents from {len(settings.from_runs)} run(s): training on "
            f"{len(train) + len(documents)} documents")
    corpus = augmented_corpus(train, documents)
    wrapper, metrics = train_model(corpus)
    # A round-0 model without --adversarial-from documents is a plain one: it records no adversarial training.
    _record(wrapper, settings.record(len(documents), documents.runs, 0) if settings.from_runs else None,
            training_record)
    for round_number in range(1, settings.rounds + 1):
        run_dir = _attack_round(wrapper, train, recipe, settings, round_number, output)
        found = read_adversarial_documents(run_dir, train, lambda _: None)
        added = documents.extend(found)
        corpus = augmented_corpus(train, documents)
        wrapper, metrics = train_model(corpus)
        _record(wrapper, settings.record(len(documents), documents.runs, round_number), training_record)
        log(round_line(round_number, settings.rounds, run_dir, added, len(documents), metrics))
    return AdversarialResult(wrapper, metrics, corpus, documents)


def _check_k(recipe: Tuple[str, dict], num_labels: int) -> None:
    """Before any training: a top-k that holds every label leaves nothing to attack."""
    from ..study.selection import DEFAULT_K

    k = recipe[1].get("k", DEFAULT_K)
    if isinstance(k, int) and not isinstance(k, bool) and k >= num_labels:
        raise AdversarialTrainingError(f"--adversarial-recipe: k={k} but the training data has only {num_labels} "
                                       "labels: every label is in the top-k; give a smaller k, e.g. "
                                       f"'{recipe[0]}^k={max(1, num_labels - 1)}'")


def _record(wrapper, adversarial: Optional[dict], training_record: Optional[dict]) -> None:
    wrapper.training.update(training_record or {})
    if adversarial is not None:
        wrapper.training["adversarial"] = adversarial


def _attack_round(wrapper, train: Corpus, recipe: Tuple[str, dict], settings: AdversarialSettings,
                  round_number: int, output: Path) -> Path:
    """Save the model, select and attack its targets; returns the round's run directory."""
    from ..datasets.targets import TargetFormatError
    from ..goal_functions.topk import NonFiniteScoresError
    from ..study.experiment import ExperimentConfig, ExperimentError, run_experiment
    from ..study.run_directory import RunDirectoryError
    from ..study.selection import DEFAULT_K, write_jsonl

    name, options = recipe
    folder = output / ADVERSARIAL_DIR
    victim = folder / f"victim-{round_number - 1}"
    wrapper.save(victim)
    k = options.get("k", DEFAULT_K)
    rows = select_training_targets(wrapper, train, settings.targets, k, round_seed(settings.seed, round_number),
                                   progress=settings.progress)
    targets = write_jsonl(rows, folder / f"targets-{round_number}.jsonl", overwrite=True)
    run_dir = folder / f"round-{round_number}"
    config = ExperimentConfig(model=str(victim), targets=str(targets), recipe=name, out=str(run_dir),
                              options=dict(options), seed=settings.seed, progress=settings.progress)
    try:
        run_experiment(config)
    except (ExperimentError, RunDirectoryError, TargetFormatError, NonFiniteScoresError) as error:
        raise AdversarialTrainingError(f"adversarial round {round_number}: {' '.join(str(error).split())}") from None
    return run_dir


def round_line(round_number: int, rounds: int, run_dir: Path, added: int, total: int,
               metrics: Dict[str, float]) -> str:
    """``adversarial round 1/2: 100 targets attacked, 37 succeeded (37.0%), 35 documents added (35 in all)...``"""
    attacked, successes = _round_counts(run_dir)
    rate = f"{100.0 * successes / attacked:.1f}%" if attacked else "-"
    line = (f"adversarial round {round_number}/{rounds}: {attacked} targets attacked, {successes} succeeded "
            f"({rate}), {added} documents added ({total} in all)")
    if "P@1" in metrics:
        line += f"; test P@1 {metrics['P@1']:.4f}"
        if "PSP@5" in metrics:
            line += f", PSP@5 {metrics['PSP@5']:.4f}"
    return f"{line} [{run_dir}]"


def _round_counts(run_dir: Path) -> Tuple[int, int]:
    """(targets attacked, successes) of a round's run; skipped targets were not attacked."""
    rows = [row for _, row in _read_rows(run_dir / "results.jsonl")]
    return sum(row["status"] != "skipped" for row in rows), sum(row["status"] == SUCCEEDED for row in rows)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
