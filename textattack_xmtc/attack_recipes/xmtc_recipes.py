"""The paper's attacks as TextAttack recipes: ``xmtc-pos``, ``xmtc-neg``, ``xmtc-untargeted``.

Qaraei & Babbar, *Adversarial Examples for Extreme Multilabel Text
Classification*, arXiv:2112.07512 (2021); Machine Learning 111 (2022).

Each recipe composes (the source of every default in brackets):

* transformation: word swaps, the top 48 candidates of a masked LM run once
  on the original text, then filtered [the paper's code: ``bert-base-cased``,
  48]; offline, the 48 nearest GloVe neighbours, filtered the same way and
  without antonyms [ours: no masked LM can be had offline];
* constraints: no word changed twice [TextAttack]; the paper's 266 stopwords
  never replaced (and never proposed) [the paper's code]; at most 50% of the
  paper's words (whitespace tokens) changed [the paper's code]; no change
  beyond the words the victim reads [ours: they cannot matter]; optionally a
  document-similarity floor and protected label words [ours, off];
* goal function: the top-k goal of the attack, k = 5 [the paper];
* search: greedy over words ranked by replacing each with the victim's own
  unknown token; per word, the first successful candidate wins, else the one
  that moved the target's score most is kept [the paper's code]
  (``xmtc-untargeted`` has no target: TextAttack's margin rule).
"""
from __future__ import annotations

from typing import List, Optional

from textattack.constraints.pre_transformation import (
    MaxWordIndexModification,
    RepeatModification,
    StopwordModification,
)
from textattack.attack_recipes import AttackRecipe
from textattack.models.wrappers import ModelWrapper
from textattack.shared import logger

from .._threads import set_threads
from ..attack import XMTCAttack
from ..constraints import DocumentSimilarity, LabelWordModification, MaxWhitespaceChangeRate
from ..encoders import make_encoder
from ..goal_functions import NegativeTargetedTopK, PositiveTargetedTopK, UntargetedTopK
from ..search_methods import GreedyWordSwapWIRFast
from ..transformations import WordSwapGloVeNeighbours, WordSwapMaskedLMOnce, paper_stopwords_any_case
from .options import RecipeOptions


class XMTCRecipe(AttackRecipe):
    """Shared ``build()`` of the three XMTC recipes; subclasses name the goal and the keep rule."""

    goal_function_class = None
    default_keep = "target"  # the paper's keep rule needs a target label

    @classmethod
    def build(cls, model_wrapper, **options) -> XMTCAttack:
        """Compose the attack; keyword options as in :mod:`.options` (else ``XMTC_*`` env vars)."""
        opts = cls.resolve_options(model_wrapper, **options)
        use_threads(opts.threads)
        transformation = candidate_source(opts)
        encoder = make_encoder(opts.encoder)
        goal_function = cls.goal_function_class(model_wrapper, k=opts.k, score_type=opts.score_type)
        constraints = paper_constraints(model_wrapper, opts.max_change_rate)
        if opts.protect_label_words:
            constraints.append(LabelWordModification(goal_function))
        if opts.min_similarity is not None:
            constraints.append(DocumentSimilarity(encoder, opts.min_similarity))
        search_method = GreedyWordSwapWIRFast(
            wir_method=opts.wir, unk_token=getattr(model_wrapper, "unk_token", "[UNK]"), keep=opts.keep)
        return XMTCAttack(goal_function, constraints, transformation, search_method, encoder=encoder,
                          candidate_source=transformation.source_name, options=opts.as_dict(),
                          per_example_transformations=opts.protect_label_words)

    @classmethod
    def resolve_options(cls, model_wrapper, **options) -> RecipeOptions:
        """The options of this recipe for this victim, resolved once (keywords, else ``XMTC_*``)."""
        opts = RecipeOptions.resolve(**options)
        opts.keep = opts.keep or cls.default_keep
        if opts.keep == "target" and cls.default_keep != "target":
            raise ValueError(f"{cls.__name__} has no single target label: keep must be 'margin'")
        if opts.wir == "gradient" and not _has_gradients(model_wrapper):
            raise ValueError(f"wir='gradient' needs a victim with get_grad(); "
                             f"{type(model_wrapper).__name__} has none (use wir='unk')")
        labels = len(getattr(model_wrapper, "labels", None) or ())
        # A k the user chose must fit the model; the default may not (small test models whose
        # rows carry their own k), and a row's own k that large only skips that row.
        if labels and opts.k >= labels and RecipeOptions.given("k", **options):
            raise ValueError(f"k={opts.k} but the model has only {labels} labels: every label is always in the "
                             f"top-k, so no label can leave or enter it; choose k below {labels}")
        opts.threads = opts.threads or default_threads(model_wrapper)
        return opts


def paper_constraints(model_wrapper, max_change_rate: float = 0.5) -> List:
    """The paper's pre-transformation constraints, and the victim's reading window."""
    constraints = [
        RepeatModification(),
        StopwordModification(stopwords=paper_stopwords_any_case()),
        MaxWhitespaceChangeRate(max_rate=float(max_change_rate)),
    ]
    max_words = getattr(model_wrapper, "max_words", None)
    if max_words:
        constraints.append(MaxWordIndexModification(max_length=max_words))
    return constraints


def default_threads(model_wrapper) -> int:
    """Torch threads for the attack: 1 on CPU (see benchmarks/README.md), torch's own elsewhere."""
    import torch

    device = getattr(model_wrapper, "device", None)
    if device is not None and torch.device(device).type != "cpu":
        return torch.get_num_threads()
    return 1


def use_threads(threads: Optional[int]) -> None:
    """Set torch's intra-op threads, and say so (a run's speed depends on it)."""
    logger.info(f"textattack-xmtc: torch threads: {set_threads(threads)}")


def _has_gradients(model_wrapper) -> bool:
    """Whether the wrapper implements ``get_grad`` (TextAttack's base class only raises)."""
    get_grad = getattr(type(model_wrapper), "get_grad", None)
    return callable(get_grad) and get_grad is not getattr(ModelWrapper, "get_grad", None)


def candidate_source(opts: RecipeOptions):
    """The transformation proposing substitute words."""
    if opts.candidates == "mlm":
        return WordSwapMaskedLMOnce(opts.mlm, max_candidates=opts.max_candidates, fill=opts.fill_candidates)
    return WordSwapGloVeNeighbours(max_candidates=opts.max_candidates, fill=opts.fill_candidates)


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
    default_keep = "margin"


RECIPES = {"xmtc-pos": XMTCPositive, "xmtc-neg": XMTCNegative, "xmtc-untargeted": XMTCUntargeted}
