"""Beyond the paper: never replace a word of the labels under attack.

On a real corpus many successful swaps replace the label itself ("Perl" ->
"Haskell" for ``devel::lang:perl``): no adversarial example, since a human
reader would change the label too. This constraint protects every word that
occurs in the name of the document's true labels or of the target (label
names are split at anything that is not a letter or digit, compared without
case). It reads the example's labels from the goal function, which knows
them once an example starts. Off in the paper's recipes.

Usage::

    goal = PositiveTargetedTopK(victim, k=5)
    constraints.append(LabelWordModification(goal))
"""
from __future__ import annotations

import re
from typing import FrozenSet, Iterable

from textattack.constraints import PreTransformationConstraint

_NAME_WORDS = re.compile(r"[^\W_]+")


def label_name_words(names: Iterable[str]) -> FrozenSet[str]:
    """Lower-case words of label names: ``devel::lang:perl`` -> {devel, lang, perl}."""
    return frozenset(word for name in names for word in _NAME_WORDS.findall(str(name).lower()))


class LabelWordModification(PreTransformationConstraint):
    """Leave alone the words of the current example's true labels' and target's names."""

    def __init__(self, goal_function):
        self.goal_function = goal_function

    def _get_modifiable_indices(self, current_text):
        protected = label_name_words(self.goal_function.protected_label_names())
        return {i for i, word in enumerate(current_text.words) if word.lower() not in protected}

    def extra_repr_keys(self):
        return []
