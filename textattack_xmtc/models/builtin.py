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
    "aplc-xlnet-reuters21578": {
        "architecture": "aplc-xlnet",
        "data": "reuters21578",
        "description": "APLC-XLNet (small XLNet from scratch, SentencePiece trained on the data) "
                       "trained on Reuters-21578 ModApte (90 topics)",
        # Tuned on 2 CPU cores: first run 366 s in all (SentencePiece ~5 s, 8 epochs of ~43 s on
        # texts cut to 128 pieces, test scoring 12 s at 256 pieces); test P@1 0.814 / P@3 0.321 /
        # P@5 0.201 (1 epoch: P@1 0.64). The saved model reads 256 pieces at attack time.
        "train": {
            "d_model": 128,
            "n_layer": 2,
            "n_head": 4,
            "d_inner": 512,
            "last_hidden_size": 128,
            "vocab_size": 8000,
            "epochs": 8,
            "batch_size": 32,
            "lr_encoder": 1e-3,
            "lr_summary": 1e-3,
            "lr_head": 2e-3,
            "max_length": 256,
            "train_max_length": 128,
            "seed": 0,
        },
    },
}
"""Name -> how the model is made (architecture, data set, training preset)."""

ALIASES: Dict[str, str] = {
    "attentionxml-reuters": "attentionxml-reuters21578",
    "aplc-xlnet-reuters": "aplc-xlnet-reuters21578",
    "aplc-xlnet": "aplc-xlnet-reuters21578",
}


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


def _wrapper_class(architecture: str):
    """The wrapper class that saves and loads ``architecture``'s models."""
    if architecture == "aplc-xlnet":
        from ..model_wrappers.aplc_xlnet import APLCXLNetWrapper

        return APLCXLNetWrapper
    from ..model_wrappers.attentionxml import AttentionXMLWrapper

    return AttentionXMLWrapper


def _trainer(architecture: str):
    """The training function of ``architecture`` (``train(train, test, progress=, log=, **preset)``)."""
    if architecture == "aplc-xlnet":
        from ..training.aplc_xlnet import train_aplc_xlnet

        return train_aplc_xlnet
    from ..training.attentionxml import train_attentionxml

    return train_attentionxml


def load_builtin_model(name: str, progress: bool = True, log: Callable[[str], None] = print):
    """Load a built-in victim from the cache, training and caching it first if needed.

    Usage::

        victim = load_builtin_model("attentionxml-reuters21578")
        victim = load_builtin_model("aplc-xlnet")   # alias of aplc-xlnet-reuters21578
    """
    from ..model_wrappers.saved import SAVED_MODEL_FILE

    directory = builtin_model_dir(name)
    canonical = directory.name
    wrapper_class = _wrapper_class(BUILTIN_MODELS[canonical]["architecture"])
    if (directory / SAVED_MODEL_FILE).is_file():
        return wrapper_class.from_directory(directory)
    log(f"Built-in model {canonical} is not cached yet: training it on the built-in "
        f"{BUILTIN_MODELS[canonical]['data']} data (a few minutes on a CPU; done once, saved to {directory}).")
    wrapper = _train_builtin(canonical, progress, log)
    _save_atomically(wrapper, directory)
    log(f"Saved {canonical} to {directory}")
    return wrapper_class.from_directory(directory)


def _train_builtin(name: str, progress: bool, log: Callable[[str], None]):
    from ..datasets.corpus import load_corpus

    spec = BUILTIN_MODELS[name]
    train = load_corpus(spec["data"], "train")
    test = load_corpus(spec["data"], "test")
    wrapper, _ = _trainer(spec["architecture"])(train, test, progress=progress, log=log, **spec["train"])
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
