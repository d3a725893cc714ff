"""The package's saved-model directories: ``xmtc_model.json`` beside each wrapper's files.

Every wrapper's ``save`` writes the metadata file with :func:`write_metadata`;
``load_victim`` dispatches on its ``architecture``; each wrapper's
``from_directory`` reads it back with :func:`read_metadata`.

Usage::

    write_metadata(directory, "attentionxml", config=config.to_dict(), training={})
    metadata = read_metadata(directory, "attentionxml")
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

from ..errors import CheckpointError, ModelLoadError

SAVED_MODEL_FILE = "xmtc_model.json"
FORMAT_NAME = "textattack-xmtc"
FORMAT_VERSION = 1

PathLike = Union[str, os.PathLike]


class NotASavedModel(ModelLoadError, FileNotFoundError):
    """A directory without ``xmtc_model.json``: a load error, and a missing file."""


def write_metadata(directory: PathLike, architecture: str, labels: Optional[Sequence[str]] = None,
                   **fields) -> None:
    """Write ``xmtc_model.json`` naming the format, its version and ``architecture``; with ``labels``,
    the hashes that let a load tell a reordered label list (see :func:`check_label_order`)."""
    metadata = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "architecture": architecture,
                **fields}
    if labels is not None:
        metadata["label_order"] = _label_hashes(labels)
    path = Path(directory) / SAVED_MODEL_FILE
    path.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")


def is_saved_directory(path: PathLike, architecture: str) -> bool:
    """True when ``path`` holds a model of ``architecture`` saved by this package."""
    metadata_path = Path(path) / SAVED_MODEL_FILE
    if not metadata_path.is_file():
        return False
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(metadata, dict) and metadata.get("format") == FORMAT_NAME
            and metadata.get("architecture") == architecture)


def read_metadata(directory: PathLike, architecture: str) -> dict:
    """The metadata of a saved ``architecture`` model; errors name the file and the problem.

    The fields every saved model has are type-checked here (``format``,
    ``format_version``, ``architecture``, ``max_length``, ``training``):
    ``"max_length": true``, ``2.9`` or ``"7"`` are refused, never read as 1, 2 or 7.
    Each wrapper checks its own fields with :func:`dict_field`, :func:`positive_int_field` and
    :func:`textattack_xmtc.models.fields.typed_fields`.
    """
    path = Path(directory) / SAVED_MODEL_FILE
    if not path.is_file():
        raise NotASavedModel(f"{path} not found: not a saved textattack-xmtc model directory")
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path}: \"format\" is not {FORMAT_NAME!r}")
    if metadata.get("architecture") != architecture:
        raise CheckpointError(f"{path}: architecture {metadata.get('architecture')!r}, not {architecture!r}")
    version = metadata.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CheckpointError(f"{path}: \"format_version\" must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {version} is newer than this "
                              f"textattack-xmtc understands ({FORMAT_VERSION}); upgrade the package")
    if "max_length" in metadata:
        positive_int_field(metadata, "max_length", path)
    dict_field(metadata, "training", path, default={})
    return metadata


def positive_int_field(metadata: dict, key: str, path: PathLike, default: Optional[int] = None) -> int:
    """``metadata[key]`` (or ``default`` when absent), which must be an integer >= 1 (not a bool, float or string).

    Usage::

        max_length = positive_int_field(metadata, "max_length", path, default=500)
    """
    value = metadata.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CheckpointError(f"{path}: {key} must be positive (an integer), got {value!r}")
    return value


def dict_field(metadata: dict, key: str, path: PathLike, default: Optional[dict] = None,
               required: bool = False) -> dict:
    """``metadata[key]``, which must be a JSON object (``default`` when absent and not ``required``)."""
    if key not in metadata:
        if required:
            raise CheckpointError(f"{path}: no \"{key}\"")
        return dict(default or {})
    value = metadata[key]
    if not isinstance(value, dict):
        raise CheckpointError(f"{path}: \"{key}\" must be a JSON object, got {value!r}")
    return value


def write_labels(path: PathLike, labels) -> None:
    """One label per line, refusing names that would not read back as one line."""
    for label in labels:
        if not label.strip() or "\n" in label or "\r" in label:
            raise ValueError(f"label {label!r} cannot be written one per line to {Path(path).name}")
    Path(path).write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")


def start_saved_directory(directory: PathLike, labels_file: str, labels) -> Path:
    """Create ``directory`` and write its label list FIRST: a bad label fails before any other file is written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_labels(directory / labels_file, labels)
    return directory


def save_state_dict(module, path: PathLike) -> None:
    """``torch.save`` of the module's tensors, detached and on the CPU (loadable anywhere)."""
    import torch

    torch.save({key: value.detach().cpu() for key, value in module.state_dict().items()}, path)


def _label_hashes(labels: Sequence[str]) -> dict:
    from .base import labels_sha256

    return {"sha256": labels_sha256(labels), "sorted_sha256": labels_sha256(sorted(labels))}


def check_label_order(metadata: dict, labels: Sequence[str], path: PathLike) -> None:
    """A ``CheckpointError`` when the label list at ``path`` holds the labels the model was saved with
    in another order: line i names output i, so every output would silently get another label's name.

    Renamed labels (another set) pass: editing names is the owner's right. Models saved
    before the hashes were recorded are not checked.
    """
    recorded = metadata.get("label_order")
    if not isinstance(recorded, dict):
        return
    found = _label_hashes(labels)
    if found["sorted_sha256"] == recorded.get("sorted_sha256") and found["sha256"] != recorded.get("sha256"):
        raise CheckpointError(f"{path}: the model's labels in another order than it was saved with; line i "
                              f"names output i, so every output would get another label's name: restore the "
                              f"saved order")


def resolve_labels(labels, read: Callable[[Path], List[str]]) -> Tuple[Optional[Path], List[str]]:
    """``(source file or None, names)`` from a label list or a path that ``read`` parses."""
    if isinstance(labels, (str, os.PathLike)):
        return Path(labels), read(Path(labels))
    return None, [str(label) for label in labels]
