"""The paper's cap on changed words, counted on the paper's words.

The paper gives up on a document once more than 50% of its words have been
changed, where its words are the original's whitespace tokens
(``text.split(' ')``). TextAttack's ``MaxModificationRate`` counts TextAttack
words instead, which split "U.S." in two and drop punctuation-only tokens.

Usage::

    MaxWhitespaceChangeRate(max_rate=0.5)
"""
from __future__ import annotations

from textattack.constraints import PreTransformationConstraint

from ..shared import root_text


def paper_word_count(text: str) -> int:
    """The paper's word count of a document: its ``split(' ')`` tokens."""
    return len(text.split(" "))


class MaxWhitespaceChangeRate(PreTransformationConstraint):
    """No further change once more than ``int(max_rate * words)`` of the original's whitespace words changed."""

    def __init__(self, max_rate: float = 0.5):
        if not 0.0 < max_rate <= 1.0:
            raise ValueError(f"max_rate must be in (0, 1], got {max_rate}")
        self.max_rate = max_rate

    def _get_modifiable_indices(self, current_text):
        changed = len(current_text.attack_attrs["modified_indices"])
        # The paper's loop checks "changes > int(rate * words)" before each word.
        if changed > int(self.max_rate * paper_word_count(root_text(current_text).text)):
            return set()
        return set(range(len(current_text.words)))

    def extra_repr_keys(self):
        return ["max_rate"]

