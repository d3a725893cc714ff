"""Helpers shared by transformations and search methods."""
from .fast_text import replace_word_fast

__all__ = ["replace_word_fast"]
