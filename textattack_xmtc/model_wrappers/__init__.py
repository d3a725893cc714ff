"""Victim model wrappers, and ``load_victim`` which finds the right one for a MODEL.

A MODEL is a built-in name (trained on first use and cached), a directory
saved by this package (``xmtc_model.json``), or a checkpoint written by the
original code of a supported architecture. Which formats exist, and in what
order they are tried, is the table in :mod:`textattack_xmtc.architectures`.

On the command line, where ``--model`` takes one string, loading options
follow a ``^``: ``--model path/to/checkpoint^max_length=128``; a label tree
also takes its beam width, ``--model AttentionXML/models^top=320``.

Usage::

    victim = load_victim("attentionxml-reuters21578")
    victim = load_victim("APLC_XLNet/models/EURLex", max_length=128)
    scores = victim(["a document"])  # [1, L]
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

from ..errors import ModelLoadError, UnsupportedModelError
from .base import SCORE_TYPES, XMTCModelWrapper
from .saved import SAVED_MODEL_FILE

#: Loading options a MODEL string may carry after ``^`` (each a positive integer).
MODEL_OPTIONS = ("max_length", "top")
#: Options only some architectures take (the others refuse them in one line): the beam width of a label tree.
ARCHITECTURE_OPTIONS = {"top": ("attentionxml-tree", "libmultilabel")}


def _check_options(name: str, architecture: str, options: dict) -> None:
    for option in options:
        allowed = ARCHITECTURE_OPTIONS.get(option)
        if allowed is not None and architecture not in allowed:
            raise ModelLoadError(f"{name}: loading option {option}= applies to {', '.join(allowed)} models only; "
                                 f"this is a {architecture} model")


def builtin_names():
    """The names of the built-in models (trained on first use and cached), e.g. for an error message.

    Usage::

        "attentionxml-reuters21578" in builtin_names()
    """
    from ..models.builtin import builtin_model_names

    return builtin_model_names()


def split_model_options(name_or_path: str) -> Tuple[str, Dict[str, int]]:
    """``"DIR^max_length=128"`` -> ``("DIR", {"max_length": 128})``; a plain MODEL is returned as is.

    A path that exists as written is never split, even if it contains ``^``.

    Usage::

        split_model_options("models/EURLex^max_length=128")   # ('models/EURLex', {'max_length': 128})
    """
    name, separator, text = str(name_or_path).rpartition("^")
    if not separator or not name or Path(name_or_path).exists():
        return str(name_or_path), {}
    options: Dict[str, int] = {}
    for item in text.split(","):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or key not in MODEL_OPTIONS:
            raise ModelLoadError(f"{name_or_path}: after '^' give loading options as key=value "
                                 f"(known: {', '.join(MODEL_OPTIONS)}), e.g. {name}^max_length=128")
        if key in options:  # the last would silently win
            raise ModelLoadError(f"{name_or_path}: loading option {key}= is given twice; give it once")
        options[key] = _positive_int(value.strip(), f"{name_or_path}: {key}")
    return name, options


def _positive_int(text: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ModelLoadError(f"{where} must be a positive integer, got {text!r}") from None
    if value < 1:
        raise ModelLoadError(f"{where} must be a positive integer, got {value}")
    return value


def is_victim(name_or_path: Optional[str]) -> bool:
    """True when ``load_victim`` would know what to do with this MODEL (or say what is wrong with it)."""
    if not name_or_path:
        return False
    try:
        return victim_architecture(name_or_path) is not None
    except ModelLoadError:
        return True  # ours, but broken or badly written: load_victim will say what is wrong


def victim_architecture(name_or_path: str) -> Optional[str]:
    """The name (in :mod:`textattack_xmtc.architectures`) of the architecture this MODEL would load as.

    ``None`` when it is none of ours; :class:`ModelLoadError` when it is ours but
    cannot be loaded (an incomplete checkpoint, a recognised format not supported
    yet, bad ``^`` options). Nothing is loaded.

    Usage::

        victim_architecture("path/to/bert-multilabel")   # 'huggingface'
        victim_architecture("aplc-xlnet")                # 'aplc-xlnet'
    """
    name, _ = split_model_options(name_or_path)
    if name in builtin_names():
        from ..models.builtin import BUILTIN_MODELS, canonical_name

        return BUILTIN_MODELS[canonical_name(name)]["architecture"]
    path = Path(name)
    if (path / SAVED_MODEL_FILE).is_file():
        return _saved_architecture(path).name
    found = _loader_for(path)
    return None if found is None else found[0]


def load_victim(name_or_path: str, device: Optional[str] = None,
                max_length: Optional[int] = None) -> XMTCModelWrapper:
    """Load a victim by built-in name, saved directory or original checkpoint.

    ``max_length`` overrides the input length the victim reads (words for
    AttentionXML, SentencePiece pieces for APLC-XLNet, tokens for Hugging
    Face); by default it is the saved model's, or for an original APLC-XLNet
    checkpoint the ``max_seq_length`` of its ``training_args.bin``.
    ``"MODEL^max_length=128"`` is the same as ``max_length=128``.

    Usage::

        victim = load_victim("path/to/APLC-XLNet-checkpoint", device="cuda", max_length=128)
    """
    name, options = split_model_options(name_or_path)
    if max_length is not None:
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ModelLoadError(f"max_length must be a positive integer, got {max_length!r}")
        options["max_length"] = max_length
    if name in builtin_names():
        from ..models.builtin import BUILTIN_MODELS, canonical_name, load_builtin_model

        _check_options(name, BUILTIN_MODELS[canonical_name(name)]["architecture"], options)
        wrapper = load_builtin_model(name, **options)
    else:
        wrapper = _load_from_path(Path(name), options)
        wrapper.source = name
    if device is not None:
        wrapper.model.to(device)
    return wrapper


def _load_from_path(path: Path, options: dict) -> XMTCModelWrapper:
    if (path / SAVED_MODEL_FILE).is_file():
        return _load_saved(path, options)
    if not path.exists():
        if _is_symlink_loop(path):  # exists() is False for a loop too: "no such file" would send the user looking
            raise ModelLoadError(f"{path}: a symbolic link loop (too many levels of symbolic links)")
        if path.is_symlink():
            raise ModelLoadError(f"{path}: a symbolic link to {os.readlink(path)}, which does not exist")
        raise ModelLoadError(
            f"{path}: no such file or directory, and not a built-in model name "
            f"(built-in: {', '.join(sorted(builtin_names()))})")
    found = _loader_for(path)  # raises, naming the files, for a half-complete checkpoint
    if found is not None:
        _check_options(str(path), found[0], options)
        try:
            return found[1](**options)
        except ModelLoadError:
            raise
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise ModelLoadError(f"{path}: cannot load this checkpoint: {error}") from error
    hints = [hint for hint in (_near_miss(fmt, path) for _, fmt in _formats()) if hint]
    raise ModelLoadError(f"{path}: not a model this package can load. Expected one of:\n  "
                         + "\n  ".join(_format_descriptions())
                         + "".join(f"\nFound: {hint}" for hint in hints))


def _is_symlink_loop(path: Path) -> bool:
    """True when resolving ``path`` (or a folder above it) goes round a symbolic link loop."""
    try:
        os.stat(path)
    except OSError as error:
        return error.errno == errno.ELOOP
    return False


def _formats():
    """(architecture, format) for every on-disk format, in the order they are tried."""
    from ..architectures import ARCHITECTURES

    return [(architecture, fmt) for architecture in ARCHITECTURES for fmt in architecture.formats]


def _format_descriptions():
    return [f"a directory saved by textattack-xmtc (with {SAVED_MODEL_FILE})"] + [
        fmt.description for _, fmt in _formats()]


def _near_miss(fmt, path: Path) -> Optional[str]:
    if fmt.near_miss is None:
        return None
    from ..architectures import resolve

    return resolve(fmt.near_miss)(path)


def _loader_for(path: Path) -> Optional[Tuple[str, Callable[..., XMTCModelWrapper]]]:
    """``(architecture name, function loading path given the loading options)``; ``None`` when no format knows it.

    Raises :class:`ModelLoadError` for a recognised but incomplete checkpoint, and for a
    recognised format that is not supported yet.
    """
    from ..architectures import resolve

    for architecture, fmt in _formats():
        try:
            found = resolve(fmt.find)(path)
        except FileNotFoundError as error:
            raise ModelLoadError(str(error)) from None
        if found is None:
            continue
        if not fmt.supported:
            raise UnsupportedModelError(f"{path}: recognised as a {fmt.title}; not supported yet (planned)")
        load = resolve(fmt.load)
        return architecture.name, (lambda **options: load(**found, **options))
    return None


def _saved_architecture(path: Path):
    """The table entry named by ``path/xmtc_model.json``; errors name the file."""
    from ..architectures import saved_architectures

    meta_file = path / SAVED_MODEL_FILE
    try:
        architecture = json.loads(meta_file.read_text(encoding="utf-8"))["architecture"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelLoadError(f"{meta_file}: not a valid saved-model file ({error!r})") from None
    known = saved_architectures()
    if not isinstance(architecture, str) or architecture not in known:
        raise ModelLoadError(f"{meta_file}: unknown architecture {architecture!r}; this version "
                             f"knows {', '.join(sorted(known))}")
    return known[architecture]


def _load_saved(path: Path, options: Optional[dict] = None) -> XMTCModelWrapper:
    architecture = _saved_architecture(path)
    _check_options(str(path), architecture.name, options or {})
    try:
        return architecture.wrapper_class().from_directory(str(path), **(options or {}))
    except ModelLoadError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as error:
        # A damaged or hand-edited directory (a missing file, a bad config value): say where.
        raise ModelLoadError(f"{path}: cannot load this {architecture.name} directory: {error}") from error


__all__ = ["MODEL_OPTIONS", "ModelLoadError", "SCORE_TYPES", "UnsupportedModelError", "XMTCModelWrapper",
           "builtin_names", "is_victim", "load_victim", "split_model_options", "victim_architecture"]
