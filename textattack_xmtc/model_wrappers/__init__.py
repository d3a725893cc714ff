"""Victim model wrappers, and ``load_victim`` which finds the right one for a MODEL.

A MODEL is a built-in name (trained on first use and cached), a directory
saved by this package (``xmtc_model.json``), or a checkpoint written by the
original code of a supported architecture.

Usage::

    victim = load_victim("attentionxml-reuters21578")
    scores = victim(["a document"])  # [1, L]
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Type

from ..errors import ModelLoadError
from .base import SCORE_TYPES, XMTCModelWrapper
from .saved import SAVED_MODEL_FILE


def _architectures() -> Dict[str, Type[XMTCModelWrapper]]:
    from .aplc_xlnet import APLCXLNetWrapper
    from .attentionxml import AttentionXMLWrapper

    return {"attentionxml": AttentionXMLWrapper, "aplc-xlnet": APLCXLNetWrapper}


def _builtin_names():
    from ..models.builtin import builtin_model_names

    return builtin_model_names()


def is_victim(name_or_path: Optional[str]) -> bool:
    """True when ``load_victim`` would know what to do with this MODEL."""
    if not name_or_path:
        return False
    if name_or_path in _builtin_names():
        return True
    path = Path(name_or_path)
    if (path / SAVED_MODEL_FILE).is_file():
        return True
    try:
        return _loader_for(path) is not None
    except ModelLoadError:
        return True  # ours, but broken: load_victim will say what is wrong


def load_victim(name_or_path: str, device: Optional[str] = None) -> XMTCModelWrapper:
    """Load a victim by built-in name, saved directory or original checkpoint.

    Usage::

        victim = load_victim("path/to/APLC-XLNet-checkpoint", device="cuda")
    """
    if name_or_path in _builtin_names():
        from ..models.builtin import load_builtin_model

        wrapper = load_builtin_model(name_or_path)
    else:
        wrapper = _load_from_path(Path(name_or_path))
    if device is not None:
        wrapper.model.to(device)
    return wrapper


def _load_from_path(path: Path) -> XMTCModelWrapper:
    if (path / SAVED_MODEL_FILE).is_file():
        return _load_saved(path)
    if not path.exists():
        raise ModelLoadError(
            f"{path}: no such file or directory, and not a built-in model name "
            f"(built-in: {', '.join(sorted(_builtin_names()))})")
    loader = _loader_for(path)  # raises, naming the files, for a half-complete checkpoint
    if loader is not None:
        try:
            return loader()
        except ModelLoadError:
            raise
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise ModelLoadError(f"{path}: cannot load this checkpoint: {error}") from error
    from .huggingface import HuggingFaceMultilabelWrapper

    hint = HuggingFaceMultilabelWrapper.near_miss(path)
    raise ModelLoadError(f"{path}: not a model this package can load. Expected one of:\n  "
                         + "\n  ".join(description for description, _ in _formats())
                         + (f"\nFound: {hint}" if hint else ""))


def _formats():
    """(description, finder) per foreign format; a finder gives a loader, None, or raises."""
    from .huggingface import HuggingFaceMultilabelWrapper

    def original_aplc(path: Path):
        from . import aplc_xlnet

        found = aplc_xlnet.find_original_checkpoint(str(path))
        return None if found is None else (lambda: aplc_xlnet.APLCXLNetWrapper.from_original(**found))

    def huggingface(path: Path):
        if path.is_dir() and HuggingFaceMultilabelWrapper.is_directory(path):
            return lambda: HuggingFaceMultilabelWrapper.from_directory(path)
        return None

    def original_attentionxml(path: Path):
        from . import attentionxml

        try:
            found = attentionxml.find_original_checkpoint(str(path))
        except FileNotFoundError as error:
            raise ModelLoadError(str(error)) from None
        return None if found is None else (lambda: attentionxml.AttentionXMLWrapper.from_original(**found))

    return [
        (f"a directory saved by textattack-xmtc (with {SAVED_MODEL_FILE})", lambda path: None),
        ("an original APLC-XLNet checkpoint directory (config.json with adaptive_cutoff, "
         "pytorch_model.bin, spiece.model, labels.txt)", original_aplc),
        ("a Hugging Face multilabel classifier directory (config.json with problem_type "
         "'multi_label_classification' and id2label, weights, tokenizer files)", huggingface),
        ("an original AttentionXML checkpoint (models/AttentionXML-<data> with vocab.npy and "
         "labels.txt or data/<data>/train_labels.txt)", original_attentionxml),
    ]


def _loader_for(path: Path):
    for _, finder in _formats():
        loader = finder(path)
        if loader is not None:
            return loader
    return None


def _load_saved(path: Path) -> XMTCModelWrapper:
    meta_file = path / SAVED_MODEL_FILE
    try:
        architecture = json.loads(meta_file.read_text(encoding="utf-8"))["architecture"]
    except (ValueError, KeyError, TypeError) as error:
        raise ModelLoadError(f"{meta_file}: not a valid saved-model file ({error!r})") from None
    classes = _architectures()
    if not isinstance(architecture, str) or architecture not in classes:
        raise ModelLoadError(f"{meta_file}: unknown architecture {architecture!r}; this version "
                             f"knows {', '.join(sorted(classes))}")
    try:
        return classes[architecture].from_directory(str(path))
    except ModelLoadError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as error:
        # A damaged or hand-edited directory (a missing file, a bad config value): say where.
        raise ModelLoadError(f"{path}: cannot load this {architecture} directory: {error}") from error


__all__ = ["ModelLoadError", "SCORE_TYPES", "XMTCModelWrapper", "is_victim", "load_victim"]
