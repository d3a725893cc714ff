"""The paper's attacks as TextAttack recipes: ``xmtc-pos``, ``xmtc-neg``, ``xmtc-untargeted``.

Qaraei & Babbar, *Adversarial Examples for Extreme Multilabel Text
Classification*, arXiv:2112.07512 (2021); Machine Learning 111 (2022).

Each recipe composes:

* transformation: word swaps from a masked LM run once on the original text
  (the paper: ``bert-base-cased``, 48 candidates), or offline from GloVe
  nearest neighbours without antonyms;
* constraints: no word changed twice; the paper's 266 stopwords never
  replaced (and never proposed); at most 50% of the words changed; no change
  beyond the words the victim reads; optionally a document-similarity floor;
* goal function: the top-k goal of the attack (k = 5);
* search: greedy, words in order of importance, importance measured by
  replacing each word with the victim's own unknown token.
"""
from __future__ import annotations

from textattack.attack_recipes import AttackRecipe
from textattack.models.wrappers import ModelWrapper
from textattack.constraints.pre_transformation import (
    MaxModificationRate,
    MaxWordIndexModification,
    RepeatModification,
    StopwordModification,
)

from ..attack import XMTCAttack
from ..constraints import DocumentSimilarity
from ..encoders import make_encoder
from ..search_methods import GreedyWordSwapWIRFast
from ..goal_functions import NegativeTargetedTopK, PositiveTargetedTopK, UntargetedTopK
from ..transformations import WordSwapGloVeNeighbours, WordSwapMaskedLMOnce, paper_stopwords_any_case
from .options import RecipeOptions


class XMTCRecipe(AttackRecipe):
    """Shared ``build()`` of the three XMTC recipes; subclasses name the goal."""

    goal_function_class = None

    @classmethod
    def build(cls, model_wrapper, **options) -> XMTCAttack:
        """Compose the attack; keyword options as in :mod:`.options` (else ``XMTC_*`` env vars)."""
        opts = RecipeOptions.resolve(**options)
        transformation = candidate_source(opts)
        encoder = make_encoder(opts.encoder)
        constraints = [
            RepeatModification(),
            StopwordModification(stopwords=paper_stopwords_any_case()),
            MaxModificationRate(max_rate=float(opts.max_change_rate), min_threshold=1),
        ]
        max_words = getattr(model_wrapper, "max_words", None)
        if max_words:
            constraints.append(MaxWordIndexModification(max_length=max_words))
        if opts.min_similarity is not None:
            constraints.append(DocumentSimilarity(encoder, opts.min_similarity))
        goal_function = cls.goal_function_class(model_wrapper, k=opts.k, score_type=opts.score_type)
        if opts.wir == "gradient" and not _has_gradients(model_wrapper):
            raise ValueError(f"wir='gradient' needs a victim with get_grad(); "
                             f"{type(model_wrapper).__name__} has none (use wir='unk')")
        search_method = GreedyWordSwapWIRFast(
            wir_method=opts.wir, unk_token=getattr(model_wrapper, "unk_token", "[UNK]"))
        return XMTCAttack(goal_function, constraints, transformation, search_method,
                          encoder=encoder, candidate_source=transformation.source_name)


def _has_gradients(model_wrapper) -> bool:
    """Whether the wrapper implements ``get_grad`` (TextAttack's base class only raises)."""
    get_grad = getattr(type(model_wrapper), "get_grad", None)
    return callable(get_grad) and get_grad is not getattr(ModelWrapper, "get_grad", None)


def candidate_source(opts: RecipeOptions):
    """The transformation proposing substitute words."""
    if opts.candidates == "mlm":
        return WordSwapMaskedLMOnce(opts.mlm, max_candidates=opts.max_candidates)
    return WordSwapGloVeNeighbours(max_candidates=opts.max_candidates)


class XMTCPositive(XMTCRecipe):
    """Positive-targeted attack (``xmtc-pos``): push a true label out of the top-k.

    Qaraei & Babbar (2021), arXiv:2112.07512, "positive-to-negative" in the
    journal version.

    Usage::

        attack = XMTCPositive.build(model_wrapper, k=5)
    """

    goal_function_class = PositiveTargetedTopK


class XMTCNegative(XMTCRecipe):
    """Negative-targeted attack (``xmtc-neg``): pull a false label into the top-k.

    Qaraei & Babbar (2021), arXiv:2112.07512, "negative-to-positive" in the
    journal version.

    Usage::

        attack = XMTCNegative.build(model_wrapper, k=5)
    """

    goal_function_class = NegativeTargetedTopK


class XMTCUntargeted(XMTCRecipe):
    """Untargeted attack (``xmtc-untargeted``): push any true top-k label out.

    Defined in Qaraei & Babbar (2021), arXiv:2112.07512; not in its code.

    Usage::

        attack = XMTCUntargeted.build(model_wrapper, k=5)
    """

    goal_function_class = UntargetedTopK


RECIPES = {"xmtc-pos": XMTCPositive, "xmtc-neg": XMTCNegative, "xmtc-untargeted": XMTCUntargeted}
