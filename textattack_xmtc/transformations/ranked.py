"""A candidate's place in its source's ranking, kept on the candidate text.

TextAttack's ``Attack.filter_transformations`` sorts the texts that pass the
constraints alphabetically, so the order in which a candidate source proposed
them is lost. The paper's search takes the FIRST successful candidate in the
source's order (and, among equally good ones, the first), so our sources mark
each text with its rank and the search sorts by it again.

Usage::

    texts = rank_candidates(texts)           # in a transformation
    texts.sort(key=candidate_rank)           # in a search method
"""
from __future__ import annotations

from typing import List

RANK_ATTRIBUTE = "xmtc_candidate_rank"


def rank_candidates(texts: List) -> List:
    """Mark each text with its position in ``texts`` (0 = the source's best); returns ``texts``."""
    for rank, text in enumerate(texts):
        text.attack_attrs[RANK_ATTRIBUTE] = rank
    return texts


def candidate_rank(text) -> int:
    """The rank a source gave ``text``; unranked texts come after ranked ones (then TextAttack's order)."""
    return text.attack_attrs.get(RANK_ATTRIBUTE, 1 << 30)
