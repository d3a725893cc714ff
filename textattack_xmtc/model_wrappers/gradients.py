"""Gradients of a goal's objective with respect to a model's input embeddings.

TextAttack's ``wir_method="gradient"`` ranks words by the L1 norm of these
gradients, aligned to the wrapper's tokens. For a top-k goal the objective is
the goal's own margin (target versus k-th competitor), set by the goal
function on the wrapper as ``grad_objective``; without one, the highest
score is used.

Usage::

    gradient = embedding_gradient(model.get_input_embeddings(), lambda: probs_of(batch), objective)
"""
from __future__ import annotations

from typing import Callable, Optional

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]


def top_score(scores: torch.Tensor) -> torch.Tensor:
    """The default objective: the highest score of the (single) text."""
    return scores.max(dim=-1).values.sum()


def embedding_gradient(embedding: torch.nn.Module, scores_fn: Callable[[], torch.Tensor],
                       objective: Optional[Objective] = None) -> torch.Tensor:
    """d objective(scores_fn()) / d embedding output, shape ``[B, T, d]``.

    The model's parameters get no gradient (nothing accumulates in ``.grad``);
    the model's train/eval mode is left as it is (eval: no dropout noise).
    """
    captured = {}

    def keep_output(_module, _inputs, output):
        # A fresh leaf: works with frozen parameters and leaves their .grad untouched.
        leaf = output.detach().requires_grad_(True)
        captured["embedded"] = leaf
        return leaf

    handle = embedding.register_forward_hook(keep_output)
    try:
        with torch.enable_grad():
            scores = scores_fn()
            value = (objective or top_score)(scores)
            if value.dim() != 0:
                value = value.sum()
            [gradient] = torch.autograd.grad(value, [captured["embedded"]])
    finally:
        handle.remove()
    return gradient.detach()
