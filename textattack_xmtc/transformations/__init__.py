"""Candidate sources: GloVe neighbours (offline default) and a masked LM run once."""
from .filtering import antonyms, paper_stopwords, paper_stopwords_any_case
from .glove_neighbours import WordSwapGloVeNeighbours
from .masked_lm import WordSwapMaskedLMOnce

__all__ = ["WordSwapGloVeNeighbours", "WordSwapMaskedLMOnce", "antonyms", "paper_stopwords",
           "paper_stopwords_any_case"]
