"""Rules for the plain-text files users bring: where bad UTF-8 sits, lines, label lists.

Every reader of a user's text file names the line of a problem; the rules
that decide what a line is and what a label list may hold live here once,
and each reader turns a :class:`TextFileProblem` into its own error type
(a model's label list: ``CheckpointError``; a dataset's: ``CorpusFormatError``).

Usage::

    line, column = utf8_error_position(data, error.start)
    labels = label_list_lines(text)          # raises TextFileProblem(problem, line)
    rows = universal_lines(text)             # as Python's text-mode files split them
"""
from __future__ import annotations

import json
import re
from typing import Dict, List, Optional, Tuple

# Python's text-mode files (newline=None) end lines at \n, \r\n and \r, and nowhere else:
# str.splitlines() would also break at \x0b, \x0c, \x1c-\x1e, \x85, \u2028 and \u2029.
_UNIVERSAL_NEWLINE = re.compile(r"\r\n|\r|\n")


class TextFileProblem(ValueError):
    """What is wrong with a text file and, when known, at which 1-based line."""

    def __init__(self, problem: str, line: Optional[int] = None):
        super().__init__(problem if line is None else f"line {line}: {problem}")
        self.problem = problem
        self.line = line


def utf8_error_position(data: bytes, start: int) -> Tuple[int, int]:
    """The 1-based line and byte-in-line of ``data[start]``, where UTF-8 decoding failed.

    Usage::

        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            line, column = utf8_error_position(data, error.start)
    """
    line = data.count(b"\n", 0, start) + 1
    column = start - (data.rfind(b"\n", 0, start) + 1) + 1
    return line, column


def universal_lines(text: str) -> List[str]:
    """``text`` split as a text-mode file iterates it (at ``\\n``, ``\\r\\n``, ``\\r``), line ends dropped;
    a final line end does not start an empty line."""
    lines = _UNIVERSAL_NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def label_list_lines(text: str) -> List[str]:
    """The labels of a one-label-per-line list: line i names output i.

    Lines end at ``\\n`` only (a trailing ``\\r`` is dropped): a label holding
    ``\\x85`` or ``\\u2028`` stays one label. Each line is stripped; trailing
    blank lines are dropped. Raises :class:`TextFileProblem` with the line for a
    blank line inside (dropping it would move every later label to the previous
    output) and for a repeated label (two outputs, one name).
    """
    lines = [line.removesuffix("\r").strip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    first_line: Dict[str, int] = {}
    for number, label in enumerate(lines, start=1):
        if not label:
            raise TextFileProblem("blank line inside the label list (line i names output i); remove it", number)
        if label in first_line:
            raise TextFileProblem(f"label {label!r} repeats line {first_line[label]}", number)
        first_line[label] = number
    return lines


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _object_without_repeats(pairs: List[Tuple[str, object]]) -> dict:
    row: dict = {}
    for key, value in pairs:
        if key in row:
            raise _RepeatedKey(key)
        row[key] = value
    return row


def json_line(text: str) -> object:
    """One line of a JSON Lines file, decoded; a :class:`TextFileProblem` (no line number: the caller
    knows it) for invalid JSON, a key given twice in an object (``json`` keeps the last value silently),
    an integer too long for Python to read, or nesting too deep to read.

    Usage::

        row = json_line('{"text": "oil", "labels": ["crude"]}')
    """
    try:
        return json.loads(text, object_pairs_hook=_object_without_repeats)
    except _RepeatedKey as error:
        raise TextFileProblem(f"field {error.key!r} appears twice in the row; which value is meant would be "
                              "a guess") from None
    except json.JSONDecodeError as error:
        raise TextFileProblem(f"not valid JSON ({error.msg} at column {error.colno})") from None
    except ValueError as error:  # Python refuses integers of more than 4300 digits
        raise TextFileProblem(f"a number in the row is too long to read ({str(error).split(':')[0]})") from None
    except RecursionError:
        raise TextFileProblem("the JSON is nested too deeply to read") from None


__all__ = ["TextFileProblem", "json_line", "label_list_lines", "universal_lines", "utf8_error_position"]
