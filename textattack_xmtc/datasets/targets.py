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

import contextlib
import csv
import difflib
import gzip
import io
import json
import stat
import zlib
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import textattack

AUTO = "auto"
"""Target value that lets the goal function pick the label (see ``goal_functions``)."""

Label = Union[str, int]
Bin = Union[str, int]

from ..formats import TARGET_FILE_SUFFIXES  # noqa: E402  (other names are read as JSON Lines)
from ..shared.text_files import TextFileProblem, json_line, utf8_error_position  # noqa: E402
from .corpus import surrogate_problem, unpaired_surrogate  # noqa: E402

MAX_INDEX = 2**31 - 1
"""The largest ``k``, label index or integer ``bin`` a targets row may hold (a C ``int``)."""


class TargetFormatError(ValueError):
    """A targets file or row is malformed; the message names file, line and problem."""


class XMTCTarget(str):
    """The per-example attack specification, as TextAttack's ground-truth string.

    Its string value is JSON, so it survives TextAttack's logs and checkpoints;
    :meth:`parse` turns either form back into this class. ``bin`` optionally
    names the label-frequency bin the target was drawn from (a string or an
    integer; ``None`` when absent, and then left out of the JSON).

    Usage::

        XMTCTarget(labels=["acq", "earn"], target="acq", k=5)
        XMTCTarget(["acq"], "acq", 5, bin="tail")
    """

    def __new__(cls, labels: Sequence[Label], target: Label = AUTO, k: Optional[int] = None,
                source: str = "", bin: Optional[Bin] = None, **study):
        problem = _bin_problem(bin)
        if problem:
            raise ValueError(f"bin {problem}, got {_shown(bin)}")
        payload = {"labels": list(labels), "target": target, "k": k, "source": source}
        if bin is not None:
            payload["bin"] = bin
        for name, value in study.items():
            problem = _study_field_problem(name, value)
            if problem:
                raise ValueError(problem)
            if value is not None:
                payload[name] = value
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
                       payload.get("source", ""), payload.get("bin"),
                       **{name: payload.get(name) for name in STUDY_FIELDS})
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

    @property
    def bin(self) -> Optional[Bin]:
        """The label-frequency bin the target was drawn from, or ``None``."""
        return self._payload.get("bin")


    @property
    def attack(self) -> Optional[str]:
        """``"pos"`` or ``"neg"`` when the row was selected for one kind of attack (``select-targets``)."""
        return self._payload.get("attack")

    @property
    def study(self) -> dict:
        """The selection fields of :data:`STUDY_FIELDS` the row carries (absent ones left out)."""
        payload = self._payload
        return {name: payload[name] for name in STUDY_FIELDS if name in payload}


STUDY_FIELDS = ("attack", "label_frequency", "selection_seed", "document")
"""Optional row fields written by ``select-targets``: the attack the target was drawn for
(``"pos"``/``"neg"``), the target label's training frequency, the selection's seed and the
document's id (its position in the test split, or the dataset's own id)."""

ATTACK_KINDS = ("pos", "neg")


def _study_field_problem(name: str, value) -> Optional[str]:
    """Why ``value`` cannot be the study field ``name`` (``None`` when it can)."""
    if name not in STUDY_FIELDS:
        return f"unknown target field {name!r} (known: {', '.join(STUDY_FIELDS)})"
    if value is None:
        return None
    if name == "attack":
        return None if value in ATTACK_KINDS else f"'attack' must be \"pos\" or \"neg\", got {_shown(value)}"
    if name == "document":
        return None if isinstance(value, (str, int)) and not isinstance(value, bool) else \
            f"'document' must be a string or an integer, got {_shown(value)}"
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INDEX:
        return f"{name!r} must be an integer between 0 and {MAX_INDEX}, got {_shown(value)}"
    return None


def _bin_problem(value) -> Optional[str]:
    """Why ``value`` cannot be a ``bin`` (``None`` when it can)."""
    if value is None:
        return None
    if isinstance(value, str):
        return None if value.strip() else "must be a non-empty string or an integer"
    if isinstance(value, int) and not isinstance(value, bool):
        return None if -MAX_INDEX <= value <= MAX_INDEX else \
            f"as an integer must lie between -{MAX_INDEX} and {MAX_INDEX}"
    return "must be a string or an integer naming the label-frequency bin"


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
    """Read a JSONL (``.jsonl``, ``.jsonl.gz``) or CSV (``.csv``, ``.csv.gz``) targets file.

    Each row holds ``text`` (non-empty), ``labels`` (the document's true labels),
    ``target`` (a label name, a label index, or ``"auto"``), optionally ``k``
    (a positive integer up to ``2**31 - 1``; the recipe's k when absent) and
    optionally ``bin`` (a string or an integer naming the label-frequency bin
    the target was drawn from; in CSV always a string). Suffixes are matched
    in any case, and a gzip file is recognised by its content as well. With
    ``labels`` (the victim's label list) unknown targets are reported here
    rather than mid-run.
    """
    path = Path(path).expanduser()
    _check_is_readable_file(path)
    rows = _read_csv_rows(path) if _is_csv(path) else _read_jsonl_rows(path)
    try:
        examples = [(text, target) for text, target in (_row_to_example(row, where, default_k)
                                                        for where, row in rows)]
    except UnicodeDecodeError as error:
        raise TargetFormatError(_not_utf8_message(path, error)) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise TargetFormatError(f"{path}: not a readable gzip file ({error})") from None
    except csv.Error as error:
        raise TargetFormatError(f"{path}: not readable as CSV ({error})") from None
    except OSError as error:
        raise TargetFormatError(f"{path}: cannot read the targets file ({_os_reason(error)})") from None
    if not examples:
        raise TargetFormatError(f"{path}: the file holds no targets")
    dataset = XMTCDataset(examples, name=path.name)
    if labels is not None:
        dataset.validate_labels(labels)
    return dataset


def _check_is_readable_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise TargetFormatError(f"{path}: no such targets file") from None
    except OSError as error:
        raise TargetFormatError(f"{path}: cannot read the targets file ({_os_reason(error)})") from None
    if stat.S_ISDIR(mode):
        raise TargetFormatError(f"{path}: is a directory, not a targets file (name a .jsonl, "
                                ".jsonl.gz or .csv file)")
    if not stat.S_ISREG(mode):
        raise TargetFormatError(f"{path}: not a regular file (a pipe or a device?); save the "
                                "targets to a .jsonl or .csv file")


def _os_reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "permission denied; check the file's and its folders' permissions"
    return error.strerror or str(error)


def _name_without_gz(path: Path) -> str:
    name = path.name.lower()
    return name[: -len(".gz")] if name.endswith(".gz") else name


def _is_csv(path: Path) -> bool:
    """``.csv`` or ``.csv.gz``, in any case; everything else is read as JSON Lines."""
    return _name_without_gz(path).endswith(".csv")


GZIP_MAGIC = b"\x1f\x8b"


@contextlib.contextmanager
def _open_bytes(path: Path) -> Iterator[io.BufferedIOBase]:
    """The file's bytes: gunzipped when it is named ``*.gz`` (any case) or starts like gzip."""
    with open(path, "rb") as raw:
        gzipped = path.name.lower().endswith(".gz") or raw.peek(2)[:2] == GZIP_MAGIC
        yield gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw


@contextlib.contextmanager
def _open_text(path: Path) -> Iterator[io.TextIOBase]:
    """The file as text (see :func:`_open_bytes`)."""
    with _open_bytes(path) as binary:
        # utf-8-sig: spreadsheets and some editors start UTF-8 files with a byte-order mark.
        with io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
            yield text


def _not_utf8_message(path: Path, error: UnicodeDecodeError) -> str:
    """Where a targets file stops being UTF-8: its line (the text was decoded in chunks, not lines)."""
    with _open_bytes(path) as binary:
        data = binary.read()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return f"{path}: UTF-16 text (it starts with a UTF-16 byte-order mark); save the file as UTF-8"
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as found:
        line, column = utf8_error_position(data, found.start)
        return (f"{path}, line {line}: not UTF-8 text ({found.reason} at byte {column} of the line); "
                f"save the file as UTF-8")
    return f"{path}: not UTF-8 text ({error.reason}); save the file as UTF-8"


def _shown(value, limit: int = 60) -> str:
    """``repr(value)``, cut short so that an error stays on one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 15]}... ({len(text)} characters)"


def _read_jsonl_rows(path: Path) -> Iterator[Tuple[str, dict]]:
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                row = json_line(line)
            except TextFileProblem as problem:
                hint = ("; a targets file holds one JSON object per line (JSON Lines)"
                        if problem.problem.startswith("not valid JSON") else "")
                raise TargetFormatError(f"{where}: {problem.problem}{hint}") from None
            if not isinstance(row, dict):
                raise TargetFormatError(f"{where}: expected a JSON object, got {type(row).__name__}; "
                                        "a targets file holds one JSON object per line (JSON Lines)")
            yield where, row


CSV_COLUMNS = "text,labels,target[,k][,bin]"


def _read_csv_rows(path: Path) -> Iterator[Tuple[str, dict]]:
    # A whole document per field can exceed the csv module's default limit of 128 KiB.
    previous_limit = csv.field_size_limit(MAX_INDEX)
    try:
        with _open_text(path) as handle:
            reader = csv.DictReader(handle)
            try:
                yield from _csv_records(path, reader)
            except csv.Error as error:
                raise TargetFormatError(f"{path}, line {reader.line_num}: not readable as CSV "
                                        f"({error})") from None
    finally:
        csv.field_size_limit(previous_limit)


def _csv_records(path: Path, reader: csv.DictReader) -> Iterator[Tuple[str, dict]]:
    found = reader.fieldnames or []
    header = [name.strip() for name in found]  # "text, labels, target" is meant well
    reader.fieldnames = header
    missing = {"text", "labels", "target"} - set(header)
    if missing:
        raise TargetFormatError(
            f"{path}, line 1: the CSV header lacks column(s) {sorted(missing)}; "
            f"expected {CSV_COLUMNS}, found {found}")
    unknown = next((problem for problem in map(unknown_field_problem, header) if problem), None)
    if unknown:
        raise TargetFormatError(f"{path}, line 1: the CSV header has an {unknown.replace('field', 'column', 1)}")
    repeated = sorted({name for name in header if header.count(name) > 1 and name})
    if repeated:
        raise TargetFormatError(f"{path}, line 1: the CSV header names column(s) {repeated} more "
                                "than once; which one holds the value would be a guess")
    for row in reader:
        # A quoted field may span lines: name the line where the record starts.
        values = [value for value in row.values() if isinstance(value, str)]
        extra = row.pop(None, None) or []
        spanned = sum(value.count("\n") for value in values + list(extra))
        where = f"{path}, line {reader.line_num - spanned}"
        fields = sum(value is not None for value in row.values()) + len(extra)
        if any(value.strip() for value in extra):
            raise TargetFormatError(
                f"{where}: {fields} fields but the header has {len(header)} ({','.join(header)}); "
                f"the extra value {_shown(next(v for v in extra if v.strip()))} would be lost "
                "(quote a field that holds a comma)")
        short = [name for name in ("text", "labels", "target") if row.get(name) is None]
        if short:
            raise TargetFormatError(
                f"{where}: {fields} fields but the header has {len(header)} ({','.join(header)}); "
                f"no value for {short[0]!r}")
        yield where, _csv_row_to_json(row, where)


def _csv_row_to_json(row: dict, where: str) -> dict:
    labels = (row.get("labels") or "").strip()
    if labels.startswith("["):
        try:
            row["labels"] = json.loads(labels)
        except (ValueError, RecursionError):
            raise TargetFormatError(f"{where}: 'labels' looks like JSON but does not parse") from None
        if isinstance(row["labels"], list):  # names, like the target: "[5]" is the label named 5
            row["labels"] = [str(label) if _is_label(label) else label for label in row["labels"]]
    else:
        row["labels"] = [label.strip() for label in labels.split(",") if label.strip()]
    # In CSV a target is always a label NAME: numeric names are common in XMTC.
    row["target"] = (row.get("target") or "").strip()
    k = (row.get("k") or "").strip()
    if k:
        digits = k.lstrip("0") or "0"
        if not (k.isascii() and k.isdigit()) or len(digits) > len(str(MAX_INDEX)):
            raise TargetFormatError(f"{where}: 'k' must be a positive integer up to {MAX_INDEX}, "
                                    f"got {_shown(k)}")
        row["k"] = int(digits)
    else:
        row.pop("k", None)
    # In CSV a bin is a string, like a target (JSONL may give integers).
    bin_name = (row.get("bin") or "").strip()
    if bin_name:
        row["bin"] = bin_name
    else:
        row.pop("bin", None)
    for name in STUDY_FIELDS:  # selection fields: integers where the field is one, empty cells absent
        value = (row.get(name) or "").strip()
        if not value:
            row.pop(name, None)
        elif name in ("label_frequency", "selection_seed") and value.isascii() and value.isdigit() \
                and len(value) <= len(str(MAX_INDEX)):
            row[name] = int(value)
        else:
            row[name] = value
    return row


#: Every field a targets row may hold; anything else is most likely a misspelling ("K", "Target").
ROW_FIELDS = ("text", "labels", "target", "k", "bin") + STUDY_FIELDS


def unknown_field_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot be a targets-row field (None when it is one).

    An unknown key would be ignored: a misspelled ``k`` silently attacks at the default k.
    """
    if name in ROW_FIELDS or name == "":  # "": a CSV header's trailing comma, no misspelling
        return None
    close = difflib.get_close_matches(str(name).strip().lower(), ROW_FIELDS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown field {_shown(name)} ({hint}a targets row holds {', '.join(ROW_FIELDS)})"


def _row_to_example(row: dict, where: str, default_k: Optional[int]) -> Tuple[str, XMTCTarget]:
    unknown = next((problem for problem in map(unknown_field_problem, row) if problem), None)
    if unknown:
        raise TargetFormatError(f"{where}: {unknown}")
    for field in ("text", "labels", "target"):
        if field not in row:
            raise TargetFormatError(f"{where}: missing field {field!r} (rows need text, labels, target)")
    text, labels, target, k = row["text"], row["labels"], row["target"], row.get("k", default_k)
    if not isinstance(text, str) or not text.strip():
        raise TargetFormatError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(labels, list) or not all(_is_label(label) for label in labels):
        raise TargetFormatError(f"{where}: 'labels' must be a list of label names, got {_shown(labels)}")
    # A lone surrogate reads fine from JSON but fails the first UTF-8 write (a result row, a log).
    for field, value in [("'text'", text), ("'target'", target)] + [("a label", label) for label in labels]:
        if isinstance(value, str) and unpaired_surrogate(value):
            raise TargetFormatError(f"{where}: {surrogate_problem(field, value)}")
    bad_index = next((label for label in labels if isinstance(label, int)
                      and not 0 <= label <= MAX_INDEX), None)
    if bad_index is not None:
        raise TargetFormatError(f"{where}: a true label index must be between 0 and {MAX_INDEX}, "
                                f"got {_shown(bad_index)}")
    if not _is_label(target) or target == "":
        raise TargetFormatError(
            f"{where}: 'target' must be a label name, a label index or \"auto\", got {_shown(target)}")
    if isinstance(target, int) and not 0 <= target <= MAX_INDEX:
        raise TargetFormatError(f"{where}: 'target' index must be between 0 and {MAX_INDEX}, "
                                f"got {_shown(target)}")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 0 < k <= MAX_INDEX):
        raise TargetFormatError(f"{where}: 'k' must be a positive integer up to {MAX_INDEX}, "
                                f"got {_shown(k)}")
    bin_name = row.get("bin")
    problem = _bin_problem(bin_name)
    if problem:
        raise TargetFormatError(f"{where}: 'bin' {problem}, got {_shown(bin_name)}")
    study = {name: row.get(name) for name in STUDY_FIELDS}
    for name, value in study.items():
        problem = _study_field_problem(name, value)
        if problem:
            raise TargetFormatError(f"{where}: {problem}")
    labels = [label if isinstance(label, int) else str(label) for label in labels]
    return text, XMTCTarget(labels, target, k, source=where, bin=bin_name, **study)


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
