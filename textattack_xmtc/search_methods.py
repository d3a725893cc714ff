"""Greedy search by word importance, fast on long documents.

``GreedyWordSwapWIR`` with ``wir_method="unk"`` as TextAttack runs it (the
paper's search: words ranked by how much replacing each with the victim's
unknown token moves the goal), with two differences:

- the leave-one-out texts are built with
  :func:`~textattack_xmtc.shared.replace_word_fast`: the same texts in linear
  instead of quadratic time per word;
- a goal function with ``word_importance`` measures the importance itself.
  Ours follow the paper: the change of the TARGET's probability, for which
  the victim need only score the target label. Other goal functions rank by
  their goal scores, as TextAttack does.

Ties keep the words' order in the text.

Usage::

    search = GreedyWordSwapWIRFast(unk_token=victim.unk_token)
"""
from __future__ import annotations

import numpy as np
from textattack.search_methods import GreedyWordSwapWIR

from .shared import replace_word_fast


class GreedyWordSwapWIRFast(GreedyWordSwapWIR):
    """TextAttack's greedy WIR search with linear-time leave-one-out texts for ``"unk"``."""

    def __init__(self, wir_method: str = "unk", unk_token: str = "[UNK]", truncate_words_to=None):
        super().__init__(wir_method=wir_method, unk_token=unk_token, truncate_words_to=truncate_words_to)

    def _get_index_order(self, initial_text, max_len=-1):
        if self.wir_method != "unk":
            return super()._get_index_order(initial_text, max_len)
        _, indices = self.get_indices_to_order(initial_text)
        if self.truncate_words_to is not None:
            indices = sorted(indices)[: self.truncate_words_to]
        leave_one_texts = [replace_word_fast(initial_text, i, self.unk_token) for i in indices]
        word_importance = getattr(self.goal_function, "word_importance", None)
        if word_importance is None:
            results, search_over = self.get_goal_results(leave_one_texts)
            importance = np.array([result.score for result in results])
        else:
            importance, search_over = word_importance(leave_one_texts)
        return np.array(indices)[(-importance).argsort(kind="stable")], search_over
