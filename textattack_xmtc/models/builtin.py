"""Built-in victims: trained on first use from data shipped with the package, then cached.

No pretrained XMTC weights can be shipped, so ``attentionxml-reuters21578``
is trained on the built-in Reuters-21578 ModApte training split the first
time it is asked for (about 1-2 minutes on 2 CPU cores; test P@1 about 0.94)
and saved under ``cache_dir()/models/<name>`` (``$TEXTATTACK_XMTC_CACHE``
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

BUILTIN_MODELS: Dict[str, dict] = {
    "attentionxml-reuters21578": {
        "architecture": "attentionxml",
        "data": "reuters21578",
        "description": "AttentionXML trained on Reuters-21578 ModApte (90 topics), GloVe 50-d init",
        # Tuned on 2 CPU cores: ~70 s of training, test P@1 0.939 / P@3 0.382 / P@5 0.238.
        "train": {
            "emb_size": 50,
            "hidden_size": 64,
            "layers_num": 1,
            "linear_size": [256],
            "epochs": 8,
            "batch_size": 32,
            "lr": 3e-3,
            "max_length": 500,
            "train_max_length": 300,
            "glove_init": True,
            "seed": 0,
        },
    },
}
"""Name -> how the model is made (architecture, data set, training preset)."""

ALIASES: Dict[str, str] = {"attentionxml-reuters": "attentionxml-reuters21578"}


def builtin_model_names(include_aliases: bool = True) -> List[str]:
    """The names :func:`load_builtin_model` accepts.

    Usage::

        builtin_model_names()  # ['attentionxml-reuters', 'attentionxml-reuters21578']
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


def load_builtin_model(name: str, progress: bool = True, log: Callable[[str], None] = print):
    """Load a built-in victim from the cache, training and caching it first if needed.

    Usage::

        victim = load_builtin_model("attentionxml-reuters21578")
    """
    from ..model_wrappers.attentionxml import METADATA_FILE, AttentionXMLWrapper

    directory = builtin_model_dir(name)
    if (directory / METADATA_FILE).is_file():
        return AttentionXMLWrapper.from_directory(directory)
    canonical = directory.name
    log(f"Built-in model {canonical} is not cached yet: training it on the built-in "
        f"{BUILTIN_MODELS[canonical]['data']} data (a few minutes on a CPU; done once, saved to {directory}).")
    wrapper = _train_builtin(canonical, progress, log)
    _save_atomically(wrapper, directory)
    log(f"Saved {canonical} to {directory}")
    return AttentionXMLWrapper.from_directory(directory)


def _train_builtin(name: str, progress: bool, log: Callable[[str], None]):
    from ..datasets.corpus import load_corpus
    from ..training.attentionxml import train_attentionxml

    spec = BUILTIN_MODELS[name]
    train = load_corpus(spec["data"], "train")
    test = load_corpus(spec["data"], "test")
    wrapper, _ = train_attentionxml(train, test, progress=progress, log=log, **spec["train"])
    wrapper.training["builtin_name"] = name
    return wrapper


def _save_atomically(wrapper, directory: Path) -> None:
    """Save into a temporary sibling, then rename it into place (a rename is atomic)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        wrapper.save(temporary)
        os.chmod(temporary, 0o755)  # mkdtemp makes it private; the cache is an ordinary directory
        if directory.exists():
            # Another process finished first, or a stale directory without metadata is in the way.
            from ..model_wrappers.attentionxml import METADATA_FILE

            if (directory / METADATA_FILE).is_file():
                return
            shutil.rmtree(directory)
        os.replace(temporary, directory)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
