"""Built-in victims: trained on first use from data shipped with the package, then cached.

No pretrained XMTC weights can be shipped, so ``attentionxml-reuters21578``
(about 1-2 minutes on 2 CPU cores; test P@1 about 0.94) and
``aplc-xlnet-reuters21578`` (a small XLNet from scratch on its own
SentencePiece model; about 6 minutes on 2 CPU cores, test P@1 about 0.81) are trained on the built-in
Reuters-21578 ModApte training split the first time they are asked for and
saved under ``cache_dir()/models/<name>`` (``$TEXTATTACK_XMTC_CACHE``
moves it). The save is atomic: a killed run never leaves a half-written model.

Usage::

    victim = load_builtin_model("attentionxml-reuters")   # alias of attentionxml-reuters21578
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .._paths import cache_dir
from ..architectures import builtin_aliases, builtin_models, get_architecture

BUILTIN_MODELS: Dict[str, dict] = {
    name: {"architecture": architecture.name, "data": model.data, "description": model.description,
           "train": dict(model.train)}
    for name, (architecture, model) in builtin_models().items()}
"""Name -> how the model is made (architecture, data set, training preset). Each architecture
declares its built-in models in :data:`textattack_xmtc.architectures.ARCHITECTURES`."""

ALIASES: Dict[str, str] = builtin_aliases()


def builtin_model_names(include_aliases: bool = True) -> List[str]:
    """The names :func:`load_builtin_model` accepts.

    Usage::

        builtin_model_names()  # ['aplc-xlnet', ..., 'attentionxml-reuters21578']
    """
    return sorted(list(BUILTIN_MODELS) + (list(ALIASES) if include_aliases else []))


def canonical_name(name: str) -> Optional[str]:
    """The built-in model's canonical name, or ``None`` when ``name`` is not built in.

    Usage::

        canonical_name("attentionxml-reuters")  # 'attentionxml-reuters21578'
    """
    name = ALIASES.get(name, name)
    return name if name in BUILTIN_MODELS else None


def builtin_model_dir(name: str) -> Path:
    """Where the built-in model ``name`` is cached.

    Usage::

        builtin_model_dir("attentionxml-reuters21578") / "xmtc_model.json"
    """
    canonical = canonical_name(name)
    if canonical is None:
        raise KeyError(f"unknown built-in model {name!r}; known: {', '.join(builtin_model_names())}")
    return cache_dir() / "models" / canonical


def _architecture(name: str):
    """The registry entry of built-in model ``name`` (never a guess: an unknown architecture is an error)."""
    return get_architecture(BUILTIN_MODELS[name]["architecture"])


def load_builtin_model(name: str, progress: bool = True, log: Callable[[str], None] = print,
                       max_length: Optional[int] = None):
    """Load a built-in victim from the cache, training and caching it first if needed.

    ``max_length`` overrides the input length the cached model reads (see ``load_victim``).
    The wrapper's ``source`` is the canonical built-in name.

    Usage::

        victim = load_builtin_model("attentionxml-reuters21578")
        victim = load_builtin_model("aplc-xlnet")   # alias of aplc-xlnet-reuters21578
    """
    from ..model_wrappers.saved import SAVED_MODEL_FILE

    directory = builtin_model_dir(name)
    canonical = directory.name
    wrapper_class = _architecture(canonical).wrapper_class()
    options = {} if max_length is None else {"max_length": max_length}
    if not (directory / SAVED_MODEL_FILE).is_file():
        log(f"Built-in model {canonical} is not cached yet: training it on the built-in "
            f"{BUILTIN_MODELS[canonical]['data']} data (a few minutes on a CPU; done once, saved to {directory}).")
        wrapper = _train_builtin(canonical, progress, log)
        _save_atomically(wrapper, directory)
        log(f"Saved {canonical} to {directory}")
    wrapper = wrapper_class.from_directory(directory, **options)
    wrapper.source = canonical
    return wrapper


def _train_builtin(name: str, progress: bool, log: Callable[[str], None]):
    from ..datasets.corpus import load_corpus

    spec = BUILTIN_MODELS[name]
    train = load_corpus(spec["data"], "train")
    test = load_corpus(spec["data"], "test")
    wrapper, _ = _architecture(name).train_function()(train, test, progress=progress, log=log, **spec["train"])
    wrapper.training["builtin_name"] = name
    return wrapper


def _save_atomically(wrapper, directory: Path) -> None:
    """Save into a temporary sibling, then rename it into place (a rename is atomic)."""
    from ..model_wrappers.saved import SAVED_MODEL_FILE

    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        wrapper.save(temporary)
        os.chmod(temporary, 0o755)  # mkdtemp makes it private; the cache is an ordinary directory
        if directory.exists():
            # Another process finished first, or a stale directory without metadata is in the way.
            if (directory / SAVED_MODEL_FILE).is_file():
                return
            shutil.rmtree(directory)
        os.replace(temporary, directory)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
