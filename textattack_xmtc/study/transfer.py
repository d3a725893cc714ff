"""Transferability: do a run's adversarial documents also fool a SECOND victim?

Every successful row of a run directory (``results.jsonl``, written by
``textattack-xmtc experiment``) holds the original and the adversarial
document. :func:`rescore_run` scores both on another victim, with that
victim's own ``rank_labels`` (the only code that knows its architecture), and
appends one row per (target, second victim) to ``RUN_DIR/transfer.jsonl``:

* ``rank_before`` / ``rank_after``: the target label's 1-based rank on the
  second victim, exactly as the goal functions rank (ties go to the lower
  label index, the victim's :meth:`~textattack_xmtc.model_wrappers.base.XMTCModelWrapper.rank_labels`);
  ``in_top_k_before`` / ``in_top_k_after``: rank <= the row's ``k``;
* ``transferred``: the attack's goal holds on the second victim for the
  adversarial document (positive-targeted: the target is NOT in its top-k;
  negative-targeted: the target IS in its top-k; untargeted rows are judged on
  the label the attack pushed out, as a positive attack) AND did not already
  hold for the original document. Otherwise ``transferred`` is ``null`` and
  ``reason`` says why: the goal already held on the original document, or the
  second victim does not know the label (labels are matched by NAME).

Each row also carries the second victim's ``model`` (as given) and ``victim``
(``wrapper.identity()``). Rows are appended as one ``O_APPEND`` write each,
then ``fsync``: a kill leaves at worst a torn last line, cut off at the next
rescoring. Rescoring with the same victim (same ``weights_sha256``) again
adds and replaces nothing; a different victim adds its own rows. NaN or
infinite scores raise :class:`~textattack_xmtc.goal_functions.topk.NonFiniteScoresError`.

Usage::

    summary = rescore_run("runs/bce-pos", "models/pw-attentionxml", progress=True)
    print(summary.text())   # transfers to models/pw-attentionxml: 7 of 12 successes (58.3%); ...
    rows = read_transfer_rows("runs/bce-pos")
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .run_directory import parse_row

TRANSFER_FILE = "transfer.jsonl"
ALREADY_MET = "goal already met on the original document"
DEFAULT_BATCH_SIZE = 32  # documents per chunk: 2 x this many texts per model call
# A results row's "attack" field -> the goal judged on the second victim.
GOAL_KINDS = {"positive-targeted": "pos", "negative-targeted": "neg", "untargeted": "pos"}


class TransferError(ValueError):
    """A run directory or a second victim that cannot be rescored; the one-line message says how to fix it."""


@dataclass
class TransferSummary:
    """What :func:`rescore_run` did for one second victim: its rows (old and new) and their counts."""

    model: str
    rows: List[dict] = field(default_factory=list)  # this victim's rows, in target order
    added: int = 0  # rows written by this call (0 when the run was rescored with this victim already)

    @property
    def transferred(self) -> int:
        return sum(row["transferred"] is True for row in self.rows)

    @property
    def judged(self) -> int:
        """Successes whose transfer could be judged: ``transferred`` is not null."""
        return sum(row["transferred"] is not None for row in self.rows)

    @property
    def already_met(self) -> int:
        return sum(row["transferred"] is None and row.get("reason") == ALREADY_MET for row in self.rows)

    @property
    def unknown_label(self) -> int:
        return sum(row["transferred"] is None and row.get("reason") != ALREADY_MET for row in self.rows)

    def text(self) -> str:
        """One line: transferred of the judged successes, and the successes left out and why."""
        rate = f"{100.0 * self.transferred / self.judged:.1f}%" if self.judged else "-"
        return (f"transfers to {self.model}: {self.transferred} of {self.judged} successes ({rate}); "
                f"{self.already_met} already met on the original; {self.unknown_label} label unknown")


# -- rescoring -----------------------------------------------------------------------------

def rescore_run(run_dir, model_or_wrapper, progress: bool = True, batch_size: int = DEFAULT_BATCH_SIZE,
                model_name: Optional[str] = None, log: Callable[[str], None] = lambda _: None) -> TransferSummary:
    """Rescore the successes of ``run_dir`` on a second victim and append their rows to ``transfer.jsonl``.

    ``model_or_wrapper``: a model as ``load_victim`` takes it (built-in name,
    saved directory, checkpoint) or a loaded wrapper; ``model_name`` is what
    rows and the summary call it (default: the model as given, or the
    wrapper's ``source``). Successes already rescored with a victim of the same
    weights are kept as they are.

    Usage::

        print(rescore_run("runs/bce-pos", "models/pw", progress=False).text())
    """
    from ..training.common import progress_bar
    from .run_directory import RESULTS_FILE, RunDirectoryError, lock_run_directory

    run_dir = Path(run_dir).expanduser()
    if not (run_dir / RESULTS_FILE).is_file():
        raise TransferError(f"{run_dir} has no {RESULTS_FILE}: pass a run directory of `textattack-xmtc "
                            "experiment` that has attacked some targets")
    wrapper, model = _victim(model_or_wrapper, model_name)
    identity = wrapper.identity()
    try:
        # no experiment may write the run meanwhile, nor a second rescoring
        lock_fd = lock_run_directory(run_dir, hint="wait for the other rescoring/experiment on it to finish")
    except RunDirectoryError as error:
        raise TransferError(str(error)) from None
    store = TransferFile(run_dir / TRANSFER_FILE, log)
    try:
        successes = _successes(run_dir / RESULTS_FILE)
        kept = {row["target_number"]: row for row in store.rows()
                if _weights(row) == identity["weights_sha256"]}
        todo = [row for row in successes if row["target_number"] not in kept]
        added = []
        with progress_bar(None, progress, total=len(todo), desc=f"rescoring on {model}", unit="target") as bar:
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                for row in transfer_rows(wrapper, chunk, model, identity, batch_size=2 * batch_size):
                    store.append(row)
                    added.append(row)
                bar.update(len(chunk))
    finally:
        store.close()
        os.close(lock_fd)
    rows = sorted(list(kept.values()) + added, key=lambda row: row["target_number"])
    return TransferSummary(model=model, rows=rows, added=len(added))


def transfer_rows(wrapper, results: Sequence[dict], model: str, identity: Optional[dict] = None,
                  batch_size: int = 2 * DEFAULT_BATCH_SIZE) -> List[dict]:
    """The transfer row of each successful results row on ``wrapper`` (nothing is written).

    Usage::

        rows = transfer_rows(second_victim, [row for row in results if row["status"] == "succeeded"], "pw")
    """
    identity = identity if identity is not None else wrapper.identity()
    columns = [_label_column(wrapper, row) for row in results]
    texts = [row["original_text"] for row in results] + [row["perturbed_text"] for row in results]
    ranks = _target_ranks(wrapper, texts, columns * 2, batch_size)
    count = len(results)
    return [_transfer_row(row, column, ranks[i], ranks[count + i], model, identity)
            for i, (row, column) in enumerate(zip(results, columns))]


def _target_ranks(wrapper, texts: Sequence[str], columns: Sequence[Optional[int]],
                  batch_size: int) -> List[Optional[int]]:
    """Each text's rank of its own label column (None where the label is unknown), ranked in batches."""
    from ..metrics.ranking import NonFiniteScoresError
    from ..model_wrappers.base import non_finite_message
    from ..training.evaluation import length_sorted_batches

    ranks: List[Optional[int]] = [None] * len(texts)
    scored = [i for i, column in enumerate(columns) if column is not None]
    if not scored:
        return ranks
    for positions in length_sorted_batches([texts[i] for i in scored], batch_size, False):
        rows = [scored[int(position)] for position in positions]
        # The ranks every other part of the package uses: the wrapper's own rank_labels
        # (NaN/inf: NonFiniteScoresError, naming the model).
        asked = sorted({columns[row] for row in rows})
        try:
            ranking = wrapper.rank_labels([texts[row] for row in rows], asked, 1)
        except NonFiniteScoresError:  # a wrapper's own message may not say which model it is
            raise NonFiniteScoresError(non_finite_message(wrapper)) from None
        column_of = {label: column for column, label in enumerate(asked)}
        for i, row in enumerate(rows):
            ranks[row] = int(ranking.ranks[i, column_of[columns[row]]])
    return ranks


def _transfer_row(row: dict, column: Optional[int], before: Optional[int], after: Optional[int], model: str,
                  identity: dict) -> dict:
    k = int(row["k"])
    kind = GOAL_KINDS.get(str(row.get("attack")), row.get("attack_kind") or "pos")
    record = {"target_number": row["target_number"], "label": row.get("label"), "k": k,
              "attack_kind": row.get("attack_kind") or _short_kind(row), "bin": row.get("bin"),
              "model": model, "victim": identity, "rank_before": before, "rank_after": after,
              "in_top_k_before": None, "in_top_k_after": None, "transferred": None, "reason": None}
    if column is None:
        record["reason"] = (f"label {row.get('label')!r} is not among the {identity.get('num_labels')} labels "
                            f"of {model}")
        return record
    record["in_top_k_before"], record["in_top_k_after"] = before <= k, after <= k
    goal_before, goal_after = _goal_holds(kind, before <= k), _goal_holds(kind, after <= k)
    if goal_before:
        record["reason"] = ALREADY_MET
    else:
        record["transferred"] = goal_after
    return record


def _goal_holds(kind: str, in_top_k: bool) -> bool:
    """Positive-targeted: the target is out of the top-k; negative-targeted: it is in."""
    return in_top_k if kind == "neg" else not in_top_k


def _short_kind(row: dict) -> Optional[str]:
    return {"positive-targeted": "pos", "negative-targeted": "neg", "untargeted": "untargeted"}.get(
        str(row.get("attack")))


def _label_column(wrapper, row: dict) -> Optional[int]:
    """The row's target in the second victim's label list, by NAME (indices differ between victims)."""
    label = row.get("label")
    if label is None:
        return None
    try:
        return wrapper.label_index(str(label))
    except KeyError:
        return None


def _victim(model_or_wrapper, model_name: Optional[str]) -> Tuple[object, str]:
    if not isinstance(model_or_wrapper, (str, os.PathLike)):
        wrapper = model_or_wrapper
        return wrapper, model_name or str(getattr(wrapper, "source", "") or type(wrapper).__name__)
    from ..errors import ModelLoadError
    from ..model_wrappers import load_victim

    try:
        wrapper = load_victim(str(model_or_wrapper))
    except ModelLoadError as error:
        raise TransferError(f"--rescore-with {model_or_wrapper}: {error}") from None
    return wrapper, model_name or str(model_or_wrapper)


def check_models_exist(models: Sequence[str]) -> None:
    """Refuse, before any work, a second victim that is neither a built-in name nor an existing path.

    Usage::

        check_models_exist(["models/pw-attentionxml"])   # TransferError when the directory is missing
    """
    from ..model_wrappers import builtin_names, split_model_options

    for model in models:
        name = split_model_options(str(model))[0]
        if name not in builtin_names() and not Path(name).expanduser().exists():
            raise TransferError(f"--rescore-with {model}: no such file or directory, and not a built-in "
                                f"model name (built-in: {', '.join(sorted(builtin_names()))})")


def _weights(row: dict) -> Optional[str]:
    victim = row.get("victim")
    return victim.get("weights_sha256") if isinstance(victim, dict) else None


def _successes(path: Path) -> List[dict]:
    """The succeeded rows of ``results.jsonl`` that carry both texts (an unfinished line is ignored)."""
    successes = []
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.endswith(b"\n"):
                break  # torn by a killed run: the experiment cuts it off and attacks the target again
            row = parse_row(line)
            if row is None:
                raise TransferError(f"{path}:{number} is not a result row: the results file is damaged")
            if row.get("status") != "succeeded":
                continue
            if not isinstance(row.get("original_text"), str) or not isinstance(row.get("perturbed_text"), str):
                raise TransferError(f"{path}:{number} is a success without original_text/perturbed_text: "
                                    "only runs of `textattack-xmtc experiment` can be rescored")
            successes.append(row)
    return successes


# -- transfer.jsonl --------------------------------------------------------------------------

class TransferFile:
    """``RUN_DIR/transfer.jsonl``: rows read (a torn last line cut off) and appended crash-safely.

    Usage::

        store = TransferFile(Path("runs/pos/transfer.jsonl"))
        rows = store.rows()
        store.append(row)
    """

    def __init__(self, path: Path, log: Callable[[str], None] = lambda _: None):
        self.path = Path(path)
        self._log = log
        self._fd: Optional[int] = None

    def rows(self) -> List[dict]:
        """Every row; a torn last line (no newline, or not JSON) is cut off, other damage is an error."""
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        start = data.rfind(b"\n", 0, max(len(data) - 1, 0)) + 1
        if data and not (data.endswith(b"\n") and parse_row(data[start:]) is not None):
            with open(self.path, "r+b") as handle:
                handle.truncate(start)
                os.fsync(handle.fileno())
            self._log(f"{self.path}: cut off a torn last row ({len(data) - start} bytes, from an "
                      "interrupted rescoring); its target is rescored again")
            data = data[:start]
        return parse_transfer_lines(data, self.path)

    def append(self, row: dict) -> None:
        """One row as ONE write of the whole line to an ``O_APPEND`` descriptor, then fsync."""
        line = (json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: the torn line is cut off at the next rescoring
            raise OSError(f"{self.path}: only {written} of {len(line)} bytes written (disk full?)")
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_transfer_rows(run_dir) -> List[dict]:
    """The rows of ``RUN_DIR/transfer.jsonl`` without changing the file; [] when there is none.

    Any damaged line (a torn last one included) raises :class:`TransferError` naming file and line.

    Usage::

        rows = read_transfer_rows("runs/bce-pos")
    """
    path = Path(run_dir) / TRANSFER_FILE
    if not path.exists():
        return []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        number = data.count(b"\n") + 1
        raise TransferError(f"{path}:{number} is an unfinished row (an interrupted rescoring): run "
                            "`textattack-xmtc experiment ... --rescore-with` again to redo it")
    return parse_transfer_lines(data, path)


def parse_transfer_lines(data: bytes, path: Path) -> List[dict]:
    rows = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        row = parse_row(line)
        if row is None or "transferred" not in row or row["transferred"] not in (True, False, None) \
                or not isinstance(row.get("victim"), dict):
            raise TransferError(f"{path}:{number} is not a transfer row: the transfer file is damaged; "
                                "move it away and rescore the run")
        rows.append(row)
    return rows


# -- grouping, for the report ----------------------------------------------------------------

def transfer_victims(rows: Sequence[dict]) -> Dict[str, Dict[int, dict]]:
    """Rows by second victim (a short name, unique in this run), then by target number, in first-seen order.

    Usage::

        for name, by_target in transfer_victims(read_transfer_rows(run_dir)).items(): ...
    """
    by_weights: Dict[str, Dict[int, dict]] = {}
    names: Dict[str, str] = {}
    for row in rows:
        key = _weights(row) or str(row.get("model"))
        if key not in by_weights:
            by_weights[key] = {}
            names[key] = short_model_name(str(row.get("model") or row["victim"].get("source") or "model"))
        by_weights[key].setdefault(row["target_number"], row)
    taken: Dict[str, int] = {}
    for name in names.values():
        taken[name] = taken.get(name, 0) + 1
    result = {}
    for key, rows_of in by_weights.items():
        name = names[key]
        if taken[name] > 1:  # two victims of one name (retrained in place): their weights tell them apart
            name = f"{name} ({key[:8]})"
        result[name] = rows_of
    return result


def short_model_name(model: str) -> str:
    """A saved directory or checkpoint by its last path part: the full path only crowds a table."""
    return Path(model.rstrip("/")).name if "/" in model else model


def transfer_rate(rows: Sequence[dict]) -> Tuple[int, int]:
    """(transferred, judged) over ``rows``: judged rows are those whose ``transferred`` is not null."""
    judged = [row for row in rows if row.get("transferred") is not None]
    return sum(row["transferred"] is True for row in judged), len(judged)
