"""Labelled text collections and the readers for the formats users bring.

A :class:`Corpus` is a list of texts with a list of label names per text; it
knows nothing of any model, so training and attacks share it. Readers:

- JSONL (optionally gzip): one ``{"text": ..., "labels": [...]}`` per line;
- AttentionXML directories: ``{split}_texts.txt`` / ``{split}_raw_texts.txt``
  and ``{split}_labels.txt``, line by line;
- APLC-XLNet directories: ``train.csv`` / ``dev.csv`` (``id,text,label``) and
  ``labels.txt``;
- JSONL directories: ``{split}.jsonl`` (or ``.jsonl.gz``), read as above.

Usage::

    corpus = load_corpus("data/EURLex-4K", split="test")
    print(len(corpus), corpus.label_names()[:5])
"""
from __future__ import annotations

import collections
import csv
import dataclasses
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from ..shared.text_files import TextFileProblem, json_line, label_list_lines, utf8_error_position

PathLike = Union[str, Path]

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class Corpus:
    """Texts and their label names, index-aligned.

    Usage: ``Corpus(["a text"], [["label"]], name="mine").label_counts()``
    """

    texts: list[str]
    labels: list[list[str]]
    name: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        # Misaligned lists silently pair texts with the wrong labels; refuse them.
        if len(self.texts) != len(self.labels):
            raise ValueError(f"Corpus has {len(self.texts)} texts but {len(self.labels)} label lists")

    def __len__(self) -> int:
        return len(self.texts)

    def label_counts(self) -> collections.Counter:
        """Number of documents carrying each label.

        Usage: ``corpus.label_counts().most_common(5)``
        """
        return collections.Counter(label for labels in self.labels for label in labels)

    def label_names(self) -> List[str]:
        """The distinct labels, sorted.

        Usage: ``names = corpus.label_names()``
        """
        return sorted(self.label_counts())

    def subset(self, indices: Iterable[int]) -> "Corpus":
        """A new corpus with the documents at ``indices``, in that order.

        Usage: ``first_ten = corpus.subset(range(10))``
        """
        chosen = list(indices)
        return Corpus(
            texts=[self.texts[i] for i in chosen],
            labels=[list(self.labels[i]) for i in chosen],
            name=self.name,
            source=self.source,
        )


class CorpusFormatError(ValueError):
    """A corpus file that cannot be read; the message names file, line and problem.

    Usage: ``raise CorpusFormatError("targets.jsonl", '"text" is empty', line=7)``
    """

    def __init__(self, path: PathLike, problem: str, line: Optional[int] = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")


# ---------------------------------------------------------------- helpers


def _short(value: object, limit: int = 60) -> str:
    """A value as JSON, cut to ``limit`` characters, for error messages."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic number."""
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CorpusFormatError(path, f"broken gzip data ({exc})") from exc
    return data


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a byte-order mark dropped); bad bytes name their line."""
    data = _read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = utf8_error_position(data, exc.start)
        raise CorpusFormatError(path, f"not valid UTF-8 ({exc.reason} at byte {column} of the line); "
                                      f"save the file as UTF-8", line) from exc


def _decoded_lines(path: Path) -> List[str]:
    """Lines split on ``\\n`` only (a stray ``\\r`` or form feed must not shift line numbers).

    A final newline does not start an extra line; a trailing ``\\r`` is dropped.
    """
    lines = _read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _require_file(path: Path, what: str) -> Path:
    """``path`` if it is a file, else a FileNotFoundError saying what was looked for."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    return path


# ---------------------------------------------------------------- JSONL


def _jsonl_labels(value: object, path: Path, line: int) -> List[str]:
    """Validate a row's ``"labels"`` value; ints become strings, repeats are dropped."""
    if not isinstance(value, list):
        problem = f'"labels" must be a list of label names, got {_short(value)}'
        raise CorpusFormatError(path, problem, line)
    labels = []
    for position, label in enumerate(value, start=1):
        # bool is an int subclass, but True as a label name is a data bug.
        if isinstance(label, bool) or not isinstance(label, (str, int)):
            raise CorpusFormatError(
                path, f'"labels" entry {position} must be a string or an integer, got {_short(label)}', line
            )
        name = str(label).strip()
        if not name:
            raise CorpusFormatError(path, f'"labels" entry {position} is an empty string', line)
        if unpaired_surrogate(name):
            raise CorpusFormatError(path, surrogate_problem(f'"labels" entry {position}', name), line)
        if "\n" in name or "\r" in name:  # models keep their labels one per line (labels.txt)
            raise CorpusFormatError(path, f'"labels" entry {position} ({_short(name)}) contains a line break; '
                                          f'label names must be one line', line)
        labels.append(name)
    return list(dict.fromkeys(labels))


def _jsonl_row(line_text: str, path: Path, line: int) -> Tuple[str, List[str]]:
    """One JSONL line -> (text, labels), or a CorpusFormatError naming the line."""
    try:
        row = json_line(line_text)
    except TextFileProblem as problem:
        raise CorpusFormatError(path, problem.problem, line) from None
    if not isinstance(row, dict):
        hint = " (a JSON array file is not JSONL: write one object per line)" if isinstance(row, list) else ""
        raise CorpusFormatError(path, f"expected a JSON object, got {type(row).__name__}{hint}", line)
    for field in ("text", "labels"):
        if field not in row:
            present = ", ".join(sorted(row)) or "none"
            raise CorpusFormatError(path, f'missing "{field}" (fields present: {present})', line)
    text = row["text"]
    if not isinstance(text, str):
        raise CorpusFormatError(path, f'"text" must be a string, got {_short(text)}', line)
    if not text.strip():
        raise CorpusFormatError(path, '"text" is empty', line)
    if unpaired_surrogate(text):
        raise CorpusFormatError(path, surrogate_problem('"text"', text), line)
    return text, _jsonl_labels(row["labels"], path, line)


def surrogate_problem(field: str, value: str) -> str:
    """What is wrong with a ``field`` whose ``value`` holds a lone surrogate (see :func:`unpaired_surrogate`)."""
    return (f"{field} holds {unpaired_surrogate(value)}, half of a UTF-16 surrogate pair, which no UTF-8 "
            f"file can store; write the whole character (or its pair of escapes)")


def unpaired_surrogate(text: str) -> str:
    """The first lone UTF-16 surrogate in ``text`` as an escape (``"\\ud800"``), else ``""``.

    JSON allows ``"\\ud800"`` alone; Python reads it into a string that no UTF-8
    writer accepts, so a row holding one fails later, when results are written.

    Usage: ``unpaired_surrogate("a \\ud800 b")  # "\\ud800"``
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"\\u{ord(text[error.start]):04x}"
    return ""


def read_jsonl_corpus(path: PathLike) -> Corpus:
    """Read ``{"text": str, "labels": [str | int, ...]}`` rows, one per line (gzip allowed).

    Blank lines are skipped; other fields (an ``"id"``) are ignored.

    Usage: ``corpus = read_jsonl_corpus("targets.jsonl.gz")``
    """
    path = _require_file(Path(path).expanduser(), "JSONL corpus")
    texts: List[str] = []
    labels: List[List[str]] = []
    for number, line_text in enumerate(_decoded_lines(path), start=1):
        if not line_text.strip():
            continue
        text, row_labels = _jsonl_row(line_text, path, number)
        texts.append(text)
        labels.append(row_labels)
    if not texts:
        raise CorpusFormatError(path, "no documents (the file is empty)")
    return Corpus(texts, labels, name=_stem(path), source=str(path))


def _stem(path: Path) -> str:
    """``train.jsonl.gz`` -> ``train``."""
    name = path.name
    for suffix in sorted(JSONL_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


# ---------------------------------------------------------------- AttentionXML


def attentionxml_files(directory: PathLike, split: str) -> Tuple[Optional[Path], Path]:
    """The (texts, labels) files of an AttentionXML split; texts is ``None`` when absent.

    Tokenized ``{split}_texts.txt`` wins over ``{split}_raw_texts.txt``, as in
    AttentionXML's own preprocessing.

    Usage: ``texts_path, labels_path = attentionxml_files("data/EURLex-4K", "test")``
    """
    directory = Path(directory).expanduser()
    candidates = [directory / f"{split}_texts.txt", directory / f"{split}_raw_texts.txt"]
    texts = next((p for p in candidates if p.is_file()), None)
    return texts, directory / f"{split}_labels.txt"


def read_attentionxml_corpus(directory: PathLike, split: str) -> Corpus:
    """Read an AttentionXML split: one document per line, labels space-separated on the same line.

    Empty lines are kept as documents (empty text or no labels) so that line
    numbers keep pairing texts with labels.

    Usage: ``corpus = read_attentionxml_corpus("data/EURLex-4K", "test")``
    """
    directory = Path(directory).expanduser()
    texts_path, labels_path = attentionxml_files(directory, split)
    if texts_path is None:
        raise FileNotFoundError(
            f"AttentionXML texts not found: neither {directory / f'{split}_texts.txt'} "
            f"nor {directory / f'{split}_raw_texts.txt'} exists"
        )
    _require_file(labels_path, "AttentionXML labels")
    texts = _decoded_lines(texts_path)
    label_lines = _decoded_lines(labels_path)
    if len(texts) != len(label_lines):
        problem = f"has {len(texts)} lines but {labels_path} has {len(label_lines)}; lines must pair up"
        raise CorpusFormatError(texts_path, problem)
    labels = [list(dict.fromkeys(line.split())) for line in label_lines]
    return Corpus(texts, labels, name=directory.name, source=str(texts_path))


# ---------------------------------------------------------------- APLC-XLNet


def aplc_csv_path(directory: PathLike, split: str) -> Path:
    """The CSV file of an APLC-XLNet split; ``test`` means ``dev.csv`` when there is no ``test.csv``.

    Usage: ``aplc_csv_path("data/Eurlex", "test")  # .../dev.csv``
    """
    directory = Path(directory).expanduser()
    path = directory / f"{split}.csv"
    # APLC-XLNet evaluates on dev.csv; its "dev" is everyone else's test split.
    if split == "test" and not path.is_file():
        path = directory / "dev.csv"
    return path


def _csv_columns(header: List[str], path: Path) -> Tuple[int, int]:
    """Positions of the ``text`` and ``label`` columns in the header row."""
    names = [name.strip().lower() for name in header]
    missing = [name for name in ("text", "label") if name not in names]
    if missing:
        raise CorpusFormatError(
            path, f"header must name the columns id,text,label; missing {', '.join(missing)} in {header}", 1
        )
    return names.index("text"), names.index("label")


def _csv_records(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """(first line number, fields) of every CSV record; quoted fields may span lines."""
    # Whole documents sit in one field; the default 128 KiB cap rejects long ones.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    start = 1
    try:
        for fields in reader:
            yield start, fields
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CorpusFormatError(path, f"bad CSV ({exc})", start) from exc


def read_aplc_corpus(directory: PathLike, split: str) -> Corpus:
    """Read an APLC-XLNet split: ``{split}.csv`` with header ``id,text,label``, labels comma-separated.

    Usage: ``corpus = read_aplc_corpus("data/Eurlex", "dev")``
    """
    directory = Path(directory).expanduser()
    path = _require_file(aplc_csv_path(directory, split), f"APLC-XLNet {split} split")
    records = list(_csv_records(path))
    if not records:
        raise CorpusFormatError(path, "no header row (the file is empty)")
    text_col, label_col = _csv_columns(records[0][1], path)
    texts: List[str] = []
    labels: List[List[str]] = []
    for line, fields in records[1:]:
        if not fields:
            continue  # csv yields [] for a blank line
        if len(fields) <= max(text_col, label_col):
            raise CorpusFormatError(path, f"expected {len(records[0][1])} fields, got {len(fields)}", line)
        texts.append(fields[text_col])
        names = (name.strip() for name in fields[label_col].split(","))
        labels.append(list(dict.fromkeys(name for name in names if name)))
    if not texts:
        raise CorpusFormatError(path, "no documents after the header")
    return Corpus(texts, labels, name=directory.name, source=str(path))


def read_aplc_label_order(directory: PathLike) -> List[str]:
    """Labels of an APLC-XLNet dataset from ``labels.txt``, line i = output i (by training frequency).

    Usage: ``labels = read_aplc_label_order("data/Eurlex")``
    """
    path = _require_file(Path(directory).expanduser() / "labels.txt", "APLC-XLNet label list")
    try:
        labels = label_list_lines(_read_text(path))
    except TextFileProblem as problem:
        raise CorpusFormatError(path, problem.problem, problem.line) from None
    if not labels:
        raise CorpusFormatError(path, "no labels (the file is empty)")
    return labels


# ---------------------------------------------------------------- dispatch


def _is_jsonl_name(path: Path) -> bool:
    """Whether the file name ends like a JSONL corpus (``.jsonl``, ``.jsonl.gz``, ``.json``...)."""
    return path.name.lower().endswith(JSONL_SUFFIXES)


#: The files that mark each dataset layout, for any split (see _directory_layout).
_LAYOUT_MARKS = {"attentionxml": "{split}_texts.txt/{split}_labels.txt", "aplc": "train.csv/test.csv",
                 "jsonl": "{split}.jsonl"}


def _directory_layout(directory: Path, split: str) -> Optional[str]:
    """``"attentionxml"``, ``"aplc"``, ``"jsonl"`` or ``None`` for a dataset directory.

    A directory holding two layouts is refused (CorpusFormatError): choosing per
    split would read the test split from one and train label counts from the other.
    """
    splits = {split, "train", "test"}
    found = {name for name, present in (
        ("attentionxml", any((directory / f"{one}_labels.txt").is_file() for one in splits)),
        ("aplc", (directory / "train.csv").is_file()),
        ("jsonl", any(jsonl_split_file(directory, one) is not None for one in splits))) if present}
    if len(found) > 1:
        shown = " and ".join(f"{name} ({_LAYOUT_MARKS[name].format(split=split)})" for name in sorted(found))
        raise CorpusFormatError(directory, f"holds two dataset layouts, {shown}; which split comes from "
                                           "which would be a guess: keep one layout per directory")
    if "attentionxml" in found and (directory / f"{split}_labels.txt").is_file():
        return "attentionxml"
    if "aplc" in found:
        return "aplc"
    if "jsonl" in found and jsonl_split_file(directory, split) is not None:
        return "jsonl"
    return None


def jsonl_split_file(directory: Path, split: str) -> Optional[Path]:
    """``{split}.jsonl`` (or ``.jsonl.gz``, ``.json``, ``.json.gz``) in ``directory``, if there is one."""
    for suffix in JSONL_SUFFIXES:
        path = directory / f"{split}{suffix}"
        if path.is_file():
            return path
    return None


def _not_found_message(name_or_path: str, path: Path, split: str) -> str:
    """Why ``load_corpus`` found nothing: every layout it tried and what each lacked."""
    from .reuters import BUILTIN_DATASETS

    lines = [f"cannot load corpus {name_or_path!r} (split {split!r}). Looked for:"]
    lines.append(f"  - a built-in dataset: {', '.join(sorted(BUILTIN_DATASETS))}")
    if not path.exists():
        lines.append(f"  - a file or directory at {path}: it does not exist")
        return "\n".join(lines)
    if path.is_file():
        lines.append(f"  - a JSONL file ending {', '.join(JSONL_SUFFIXES)}: {path.name} does not")
        return "\n".join(lines)
    texts_path, labels_path = attentionxml_files(path, split)
    missing = [] if labels_path.is_file() else [labels_path.name]
    if texts_path is None:
        missing.append(f"{split}_texts.txt or {split}_raw_texts.txt")
    lines.append(f"  - an AttentionXML directory in {path}: missing {'; '.join(missing)}")
    lines.append(f"  - an APLC-XLNet directory in {path}: missing train.csv")
    lines.append(f"  - a JSONL directory in {path}: missing {split}.jsonl (or {split}.jsonl.gz)")
    return "\n".join(lines)


def load_corpus(name_or_path: PathLike, split: str = "train") -> Corpus:
    """Load a built-in dataset by name, a JSONL file, or an AttentionXML / APLC-XLNet directory.

    ``split`` picks the files of a directory layout or of a built-in dataset;
    a JSONL file is one split already and ignores it.

    Usage: ``corpus = load_corpus("reuters21578", split="test")``
    """
    from .reuters import BUILTIN_DATASETS

    name = str(name_or_path)
    # A built-in name wins over a same-named local path; write ./name for the path.
    if name in BUILTIN_DATASETS:
        return BUILTIN_DATASETS[name](split)
    path = Path(name).expanduser()
    if path.is_file() and _is_jsonl_name(path):
        return read_jsonl_corpus(path)
    if path.is_dir():
        layout = _directory_layout(path, split)
        if layout == "attentionxml":
            return read_attentionxml_corpus(path, split)
        if layout == "aplc":
            return read_aplc_corpus(path, split)
        if layout == "jsonl":
            corpus = read_jsonl_corpus(jsonl_split_file(path, split))
            return dataclasses.replace(corpus, name=path.name)  # the dataset's name, as for the other layouts
    raise FileNotFoundError(_not_found_message(name, path, split))
