"""Attack targets: which document, which label, which k.

Each example of an XMTC attack carries its own target label, its own k and
the document's true labels. TextAttack only lets a ground truth be an ``int``
or a ``str``, so :class:`XMTCTarget` is a ``str`` (JSON) that also exposes
those fields. :class:`XMTCDataset` is an ordinary ``textattack.datasets.Dataset``
of ``(text, XMTCTarget)`` pairs, read from JSONL or CSV with an error that
names the file, the line and the problem for every bad row.

Usage::

    dataset = read_targets("targets.jsonl", labels=victim.labels)
    attacker = textattack.Attacker(attack, dataset)
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import textattack

AUTO = "auto"
"""Target value that lets the goal function pick the label (see ``goal_functions``)."""

Label = Union[str, int]


class TargetFormatError(ValueError):
    """A targets file or row is malformed; the message names file, line and problem."""


class XMTCTarget(str):
    """The per-example attack specification, as TextAttack's ground-truth string.

    Its string value is JSON, so it survives TextAttack's logs and checkpoints;
    :meth:`parse` turns either form back into this class.

    Usage::

        XMTCTarget(labels=["acq", "earn"], target="acq", k=5)
    """

    def __new__(cls, labels: Sequence[Label], target: Label = AUTO, k: Optional[int] = None,
                source: str = ""):
        payload = {"labels": list(labels), "target": target, "k": k, "source": source}
        return super().__new__(cls, json.dumps(payload, ensure_ascii=False))

    def __reduce__(self):  # pickle through the JSON value
        return (XMTCTarget.parse, (str(self),))

    @classmethod
    def parse(cls, value: Union[str, "XMTCTarget"]) -> "XMTCTarget":
        """Rebuild an :class:`XMTCTarget` from its JSON string."""
        if isinstance(value, XMTCTarget):
            return value
        try:
            payload = json.loads(value)
            return cls(payload["labels"], payload.get("target", AUTO), payload.get("k"),
                       payload.get("source", ""))
        except (TypeError, ValueError, KeyError) as error:
            raise TypeError(
                "an XMTC goal function needs each example's ground truth to be an XMTCTarget "
                "(JSON with 'labels', 'target' and 'k'); got "
                f"{value!r}. Build datasets with textattack_xmtc.read_targets or XMTCDataset."
            ) from error

    @property
    def _payload(self) -> dict:
        return json.loads(str(self))

    @property
    def labels(self) -> List[Label]:
        return self._payload["labels"]

    @property
    def target(self) -> Label:
        return self._payload["target"]

    @property
    def k(self) -> Optional[int]:
        return self._payload["k"]

    @property
    def source(self) -> str:
        return self._payload["source"]


class XMTCDataset(textattack.datasets.Dataset):
    """A TextAttack dataset of ``(text, XMTCTarget)`` examples.

    Usage::

        XMTCDataset([("some text", XMTCTarget(["acq"], "acq", 5))])
    """

    def __init__(self, examples: Sequence[Tuple[str, XMTCTarget]], name: str = ""):
        super().__init__(list(examples), input_columns=["text"])
        self.name = name

    def targets(self) -> Iterator[XMTCTarget]:
        for _, target in self._dataset:
            yield target

    def validate_labels(self, labels: Sequence[str]) -> None:
        """Raise :class:`TargetFormatError` for the first target or true label the model does not know.

        A true label the model lacks would silently stop counting as true (a
        negative attack could then "pull in" a label the document has), so it
        is an error: drop such labels from the file (for instance labels absent
        from the model's training data).
        """
        known = {name: i for i, name in enumerate(labels)}
        for target in self.targets():
            _check_label(target.target, known, target.source, field="target")
            for label in target.labels:
                _check_label(label, known, target.source, field="true")


def _check_label(label: Label, known: dict, source: str, field: str) -> None:
    if label == AUTO:
        return
    if isinstance(label, int):
        if not 0 <= label < len(known):
            raise TargetFormatError(
                f"{source}: {field} index {label} is out of range; the model has {len(known)} labels")
        return
    if label not in known:
        examples = ", ".join(repr(name) for name in list(known)[:5])
        hint = "; drop it from the row's labels if the model was never trained on it" if field == "true" else ""
        raise TargetFormatError(
            f"{source}: unknown {field} label {label!r}; the model has {len(known)} labels "
            f"(e.g. {examples}){hint}")


def read_targets(path: Union[str, Path], labels: Optional[Sequence[str]] = None,
                 default_k: Optional[int] = None) -> XMTCDataset:
    """Read a JSONL (``.jsonl``, ``.jsonl.gz``) or CSV targets file.

    Each row holds ``text`` (non-empty), ``labels`` (the document's true labels),
    ``target`` (a label name, a label index, or ``"auto"``) and optionally ``k``
    (a positive integer; the recipe's k when absent). With ``labels`` (the
    victim's label list) unknown targets are reported here rather than mid-run.
    """
    path = Path(path)
    if not path.is_file():
        raise TargetFormatError(f"{path}: no such targets file")
    rows = _read_csv_rows(path) if path.suffix.lower() == ".csv" else _read_jsonl_rows(path)
    try:
        examples = [(text, target) for text, target in (_row_to_example(row, where, default_k)
                                                        for where, row in rows)]
    except UnicodeDecodeError as error:
        raise TargetFormatError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start} of a "
                                "line); save the file as UTF-8") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise TargetFormatError(f"{path}: not a readable gzip file ({error})") from None
    if not examples:
        raise TargetFormatError(f"{path}: the file holds no targets")
    dataset = XMTCDataset(examples, name=path.name)
    if labels is not None:
        dataset.validate_labels(labels)
    return dataset


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: spreadsheets and some editors start UTF-8 files with a byte-order mark.
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _read_jsonl_rows(path: Path) -> Iterator[Tuple[str, dict]]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise TargetFormatError(f"{where}: not valid JSON ({error.msg}); a targets file holds "
                                        "one JSON object per line (JSON Lines)") from None
            if not isinstance(row, dict):
                raise TargetFormatError(f"{where}: expected a JSON object, got {type(row).__name__}; "
                                        "a targets file holds one JSON object per line (JSON Lines)")
            yield where, row


def _read_csv_rows(path: Path) -> Iterator[Tuple[str, dict]]:
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        found = reader.fieldnames or []
        reader.fieldnames = [name.strip() for name in found]  # "text, labels, target" is meant well
        missing = {"text", "labels", "target"} - set(reader.fieldnames)
        if missing:
            raise TargetFormatError(
                f"{path}, line 1: the CSV header lacks column(s) {sorted(missing)}; "
                f"expected text,labels,target[,k], found {found}")
        for row in reader:
            # A quoted field may span lines: name the line where the record starts.
            spanned = sum(value.count("\n") for value in row.values() if isinstance(value, str))
            where = f"{path}, line {reader.line_num - spanned}"
            yield where, _csv_row_to_json(row, where)


def _csv_row_to_json(row: dict, where: str) -> dict:
    labels = (row.get("labels") or "").strip()
    if labels.startswith("["):
        try:
            row["labels"] = json.loads(labels)
        except json.JSONDecodeError:
            raise TargetFormatError(f"{where}: 'labels' looks like JSON but does not parse") from None
    else:
        row["labels"] = [label.strip() for label in labels.split(",") if label.strip()]
    # In CSV a target is always a label NAME: numeric names are common in XMTC.
    row["target"] = (row.get("target") or "").strip()
    k = (row.get("k") or "").strip()
    if k:
        try:
            row["k"] = int(k)
        except ValueError:
            raise TargetFormatError(f"{where}: 'k' must be a positive integer, got {k!r}") from None
    else:
        row.pop("k", None)
    return row


def _row_to_example(row: dict, where: str, default_k: Optional[int]) -> Tuple[str, XMTCTarget]:
    for field in ("text", "labels", "target"):
        if field not in row:
            raise TargetFormatError(f"{where}: missing field {field!r} (rows need text, labels, target)")
    text, labels, target, k = row["text"], row["labels"], row["target"], row.get("k", default_k)
    if not isinstance(text, str) or not text.strip():
        raise TargetFormatError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(labels, list) or not all(_is_label(label) for label in labels):
        raise TargetFormatError(f"{where}: 'labels' must be a list of label names, got {labels!r}")
    if not _is_label(target) or target == "":
        raise TargetFormatError(
            f"{where}: 'target' must be a label name, a label index or \"auto\", got {target!r}")
    if isinstance(target, int) and target < 0:
        raise TargetFormatError(f"{where}: 'target' index must be >= 0, got {target}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k <= 0):
        raise TargetFormatError(f"{where}: 'k' must be a positive integer, got {k!r}")
    labels = [label if isinstance(label, int) else str(label) for label in labels]
    return text, XMTCTarget(labels, target, k, source=where)


def _is_label(value) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def dataset_from_corpus(texts: Iterable[str], labels: Iterable[Sequence[str]], name: str = "",
                        target: Label = AUTO, k: Optional[int] = None) -> XMTCDataset:
    """Targets for whole documents of a corpus, one row per document.

    With the default ``target="auto"`` each goal function picks its own label
    (see :mod:`textattack_xmtc.goal_functions`).
    """
    examples = []
    for number, (text, true_labels) in enumerate(zip(texts, labels), start=1):
        source = f"{name or 'corpus'}, document {number}"
        examples.append((text, XMTCTarget(list(true_labels), target, k, source=source)))
    return XMTCDataset(examples, name=name)


def load_targets(name_or_path: str, labels: Optional[Sequence[str]] = None) -> XMTCDataset:
    """A targets file (JSONL/CSV) or a built-in dataset name (its test split, targets ``auto``)."""
    from .reuters import BUILTIN_DATASETS

    if name_or_path in BUILTIN_DATASETS:
        corpus = BUILTIN_DATASETS[name_or_path]("test")
        return dataset_from_corpus(corpus.texts, corpus.labels, name=name_or_path)
    return read_targets(name_or_path, labels=labels)
