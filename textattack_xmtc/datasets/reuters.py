"""Reuters-21578 (ModApte, 90 topics), the real dataset shipped with the package.

The files under ``data/reuters21578/`` were built from "Reuters-21578,
Distribution 1.0" (David D. Lewis; free distribution for research purposes)
by ``scripts/build_reuters.py``; their README says how.

Usage::

    test = load_reuters21578("test")   # 3,019 documents, 90 labels
"""
from __future__ import annotations

from typing import Callable, Dict

from .._paths import DATA_DIR
from .corpus import Corpus, read_jsonl_corpus

REUTERS_NAME = "reuters21578"
REUTERS_SPLITS = ("train", "test")
REUTERS_SOURCE = "Reuters-21578, Distribution 1.0 (ModApte split, 90 topics)"


def load_reuters21578(split: str = "test") -> Corpus:
    """The shipped Reuters-21578 ModApte split, ``"train"`` or ``"test"``.

    Usage: ``corpus = load_reuters21578("train")``
    """
    if split not in REUTERS_SPLITS:
        valid = ", ".join(REUTERS_SPLITS)
        raise ValueError(f"{REUTERS_NAME} has no split {split!r}; valid splits: {valid}")
    corpus = read_jsonl_corpus(DATA_DIR / REUTERS_NAME / f"{split}.jsonl.gz")
    corpus.name = REUTERS_NAME
    corpus.source = f"{REUTERS_SOURCE}, {split}"
    return corpus


# Datasets ``load_corpus`` knows by name: name -> loader(split) -> Corpus.
BUILTIN_DATASETS: Dict[str, Callable[[str], Corpus]] = {REUTERS_NAME: load_reuters21578}
