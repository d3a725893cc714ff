"""Helpers shared by transformations, constraints and search methods."""
from .fast_text import replace_word_fast, root_text

__all__ = ["replace_word_fast", "root_text"]
