"""Type checks for the fields of files users bring (``xmtc_model.json``, ``config.json``).

JSON and Python are lenient where a checkpoint must not be: ``int(True)`` is 1,
``int(2.9)`` is 2 and ``int("7")`` is 7, so a hand-edited or damaged file would
load as a different model. These checks refuse such values, naming the file
and the field.

Usage::

    typed_fields(config, {"hidden_size": "positive_int", "dropout": "fraction"}, "my-model/xmtc_model.json")
"""
from __future__ import annotations

from typing import Mapping

from ..errors import CheckpointError


def typed_fields(values: Mapping, types: Mapping[str, str], where: str) -> None:
    """Check each present field of ``values`` against its kind in ``types``; the error names ``where`` and the field.

    Kinds: ``positive_int``, ``int``, ``number`` (int or float), ``fraction`` (a number in [0, 1)),
    ``bool``, ``str``, ``positive_ints`` (a list of positive integers), ``int_list``.
    Booleans are never numbers here, nor strings numbers.
    """
    for key, kind in types.items():
        if key in values and not _is_kind(values[key], kind):
            raise CheckpointError(f"{where}: {key} must be {_KIND_NAMES[kind]}, got {values[key]!r}")


_KIND_NAMES = {"positive_int": "a positive integer", "int": "an integer", "number": "a number",
               "fraction": "a number in [0, 1)", "bool": "true or false", "str": "a string",
               "positive_ints": "a list of positive integers", "int_list": "a list of integers"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_kind(value, kind: str) -> bool:
    if kind == "positive_int":
        return _is_int(value) and value >= 1
    if kind == "int":
        return _is_int(value)
    if kind == "number":
        return (_is_int(value) or isinstance(value, float)) and value == value
    if kind == "fraction":
        return _is_kind(value, "number") and 0 <= value < 1
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "positive_ints":
        return isinstance(value, list) and all(_is_kind(item, "positive_int") for item in value)
    if kind == "int_list":
        return isinstance(value, list) and all(_is_int(item) for item in value)
    raise ValueError(f"unknown field kind {kind!r}")
