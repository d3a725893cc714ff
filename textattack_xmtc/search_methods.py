"""Greedy search by word importance, as the paper runs it, fast on long documents.

TextAttack's ``GreedyWordSwapWIR`` with ``wir_method="unk"`` (the paper's
search: words ranked by how much replacing each with the victim's unknown
token helps the attack), with these differences:

- the leave-one-out texts are built with
  :func:`~textattack_xmtc.shared.replace_word_fast`: the same texts in linear
  instead of quadratic time per word;
- a goal function with ``word_importance`` measures the importance itself.
  Ours follow the paper: the change of the TARGET's probability, for which
  the victim need only score the target label. Other goal functions rank by
  their goal scores, as TextAttack does. Ties keep the words' order in the
  text (TextAttack's indices come from a set);
- ``keep="target"`` (the paper's rule, DESIGN.md section 2): for each word in
  importance order, its candidates are scored in one batch; the FIRST
  successful candidate in the source's order ends the search; otherwise the
  candidate that moved the target's own score furthest from its score on the
  ORIGINAL document is kept, if any moved it at all. ``keep="margin"`` is
  TextAttack's rule: the candidate with the best goal score (the margin to
  the k-th competitor), if it beats the current text's.

Usage::

    search = GreedyWordSwapWIRFast(unk_token=victim.unk_token, keep="target")
"""
from __future__ import annotations

import numpy as np
from textattack.goal_function_results import GoalFunctionResultStatus
from textattack.search_methods import GreedyWordSwapWIR

from .shared import replace_word_fast
from .transformations.ranked import candidate_rank

KEEP_RULES = ("target", "margin")


class GreedyWordSwapWIRFast(GreedyWordSwapWIR):
    """TextAttack's greedy WIR search with the paper's keep rule and linear-time leave-one-out texts."""

    def __init__(self, wir_method: str = "unk", unk_token: str = "[UNK]", truncate_words_to=None,
                 keep: str = "margin"):
        if keep not in KEEP_RULES:
            raise ValueError(f"keep must be one of {KEEP_RULES}, got {keep!r}")
        super().__init__(wir_method=wir_method, unk_token=unk_token, truncate_words_to=truncate_words_to)
        self.keep = keep

    def _get_index_order(self, initial_text, max_len=-1):
        if self.wir_method != "unk":
            return super()._get_index_order(initial_text, max_len)
        _, indices = self.get_indices_to_order(initial_text)
        indices = sorted(indices)  # text order, so that equal importances keep it
        if self.truncate_words_to is not None:
            indices = indices[: self.truncate_words_to]
        indices = self._swappable(initial_text, indices)
        leave_one_texts = [replace_word_fast(initial_text, i, self.unk_token) for i in indices]
        word_importance = getattr(self.goal_function, "word_importance", None)
        if word_importance is None:
            results, search_over = self.get_goal_results(leave_one_texts)
            importance = np.array([result.score for result in results])
        else:
            importance, search_over = word_importance(leave_one_texts)
        return np.array(indices, dtype=int)[(-importance).argsort(kind="stable")], search_over

    def _swappable(self, initial_text, indices):
        """``indices`` less the words the transformation says can never have a candidate."""
        # Attack hands the search its bound get_transformations; the transformation is on that Attack.
        transformation = getattr(getattr(self.get_transformations, "__self__", None), "transformation", None)
        has_candidates = getattr(transformation, "has_candidates", None)
        if has_candidates is None:
            return indices
        return [index for index in indices if has_candidates(initial_text, index)]

    def perform_search(self, initial_result):
        if self.keep == "margin":
            return super().perform_search(initial_result)
        movement = getattr(self.goal_function, "target_movement", None)
        if movement is None:
            raise ValueError(f"keep='target' needs a goal function with one target label; "
                             f"{type(self.goal_function).__name__} has none (use keep='margin')")
        index_order, search_over = self._get_index_order(initial_result.attacked_text)
        current = initial_result
        for index in index_order:
            if search_over:
                break
            candidates = self.get_transformations(current.attacked_text, original_text=initial_result.attacked_text,
                                                  indices_to_modify=[int(index)])
            if not candidates:
                continue
            # TextAttack sorts filtered candidates by their text; the paper goes in the source's order.
            candidates.sort(key=candidate_rank)
            results, search_over = self.get_goal_results(candidates)
            for result in results:
                if result.goal_status == GoalFunctionResultStatus.SUCCEEDED:
                    return result
            best = max(results, key=movement, default=None)  # ties: the first in the source's order
            if best is not None and movement(best) > 0:
                current = best
        return current

    def extra_repr_keys(self):
        return super().extra_repr_keys() + ["keep"]
