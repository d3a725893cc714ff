"""Rebalanced training losses (the paper's defence): per-label weights on the positive BCE term.

``bce`` is the plain binary cross-entropy. ``pw`` (propensity-weighted) and
``pw-cb`` (propensity-weighted, class-balanced) multiply the positive term of
label ``l`` by a weight that grows as the label gets rarer (Qaraei et al.,
WWW 2021; DESIGN.md section 2). With N training documents and N_l positives
of label l, Jain et al.'s inverse propensity is
``inv_p = 1 + C (N_l + B)^-A`` with ``C = (ln N - 1)(B + 1)^A``, and

- ``pw``:    ``w_l = 2 inv_p - 1``
- ``pw-cb``: ``w_l = (1 - beta) / (1 - beta^N_l) * (2 inv_p - 1)`` (``w_l = 0`` when ``N_l = 0``),

both rescaled so that they sum to L (``w * L / sum(w)``). The weights go in
``binary_cross_entropy_with_logits(..., pos_weight=w)``, which is exactly
"weights on the positive term".

Usage::

    settings = LossSettings("pw-cb", beta=0.99)
    weights = settings.weights([120, 3, 1, 0], n_train=7775)      # tensor [4] summing to 4
    loss = weighted_bce_with_logits(logits, targets, weights)
    wrapper.training["loss"] = settings.record()                   # {"name": "pw-cb", "A": 0.55, ...}
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np
import torch
from torch.nn import functional as F

from ..metrics.ranking import inverse_propensity

#: Loss names ``train --loss`` accepts; the first is the default.
LOSSES = ("bce", "pw", "pw-cb")
DEFAULT_A = 0.55
DEFAULT_B = 1.5
DEFAULT_BETA = 0.9
#: Below this many training documents ``ln N - 1`` is negative and the weights lose their meaning.
MIN_DOCUMENTS = 3


class LossSettingsError(ValueError):
    """Loss settings or label counts the rebalanced losses cannot use (a user error, reported in one line)."""


def check_loss_settings(loss: str, A: float = DEFAULT_A, B: float = DEFAULT_B, beta: float = DEFAULT_BETA) -> None:
    """Raise :class:`LossSettingsError` for an unknown loss name, A or B negative, or beta outside (0, 1).

    Usage::

        check_loss_settings("pw-cb", beta=1.0)   # LossSettingsError: beta must be in (0, 1), got 1.0
    """
    if loss not in LOSSES:
        raise LossSettingsError(f"unknown loss {loss!r}; choose from {', '.join(LOSSES)}")
    for name, value in (("A", A), ("B", B)):
        if not (math.isfinite(value) and value >= 0):
            raise LossSettingsError(f"the propensity parameter {name} must be a non-negative number, got {value}")
    if not (math.isfinite(beta) and 0 < beta < 1):
        raise LossSettingsError(f"beta must be in (0, 1), got {beta}")


def label_weights(label_counts: Sequence[int], n_train: int, loss: str, A: float = DEFAULT_A,
                  B: float = DEFAULT_B, beta: float = DEFAULT_BETA) -> torch.Tensor:
    """Float32 per-label positive-term weights [L], in the order of ``label_counts``, summing to L.

    ``bce`` gives all ones. ``n_train`` is N, the number of training documents.

    Usage::

        label_weights([120, 3, 0], n_train=7775, loss="pw")       # rarest label weighs most
        label_weights([120, 3, 0], n_train=7775, loss="pw-cb")    # the label with no positive weighs 0
    """
    check_loss_settings(loss, A, B, beta)
    counts = np.asarray(label_counts, dtype=np.float64)
    if counts.ndim != 1 or not len(counts):
        raise LossSettingsError("label weights need a non-empty vector of label counts")
    if loss == "bce":
        return torch.ones(len(counts), dtype=torch.float32)
    if n_train < MIN_DOCUMENTS:
        raise LossSettingsError(f"--loss {loss} needs at least {MIN_DOCUMENTS} training documents "
                                f"(ln N - 1 must be positive), got {n_train}")
    if B == 0 and loss == "pw" and (counts == 0).any():
        # (N_l + B)^-A is infinite for such a label: its weight would swallow every other one.
        raise LossSettingsError("B = 0 gives a label with no positive document an infinite weight; use B > 0")
    with np.errstate(divide="ignore"):  # B = 0: a label with no positive gets inf, then 0 under pw-cb
        weights = 2.0 * inverse_propensity(counts, n_train, A, B) - 1.0
    if loss == "pw-cb":
        weights = _class_balance(counts, beta) * np.where(counts > 0, weights, 0.0)
    total = weights.sum()
    if not total > 0:
        raise LossSettingsError(f"--loss {loss}: no label has a positive weight (every label count is 0)")
    return torch.as_tensor(weights * len(counts) / total, dtype=torch.float32)


def _class_balance(counts: np.ndarray, beta: float) -> np.ndarray:
    """Cui et al.'s ``(1 - beta) / (1 - beta^N_l)``, 0 where ``N_l = 0`` (there is no positive term to weigh)."""
    factors = np.zeros_like(counts)
    seen = counts > 0
    factors[seen] = (1.0 - beta) / (1.0 - beta ** counts[seen])
    return factors


def weighted_bce_with_logits(logits: torch.Tensor, targets: torch.Tensor,
                             pos_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Mean binary cross-entropy on logits, the positive term of label l times ``pos_weight[l]``.

    ``pos_weight=None`` is the plain BCE (bit for bit what ``nn.BCEWithLogitsLoss()`` gives).

    Usage::

        loss = weighted_bce_with_logits(network(input_ids), targets, weights.to(device))
    """
    return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos_weight)


@dataclasses.dataclass(frozen=True)
class LossSettings:
    """A loss name and its parameters, checked on creation.

    Usage::

        settings = LossSettings("pw", A=0.5, B=0.4)
        settings.pos_weight(counts, n_train)   # None for bce, else label_weights(...)
        settings.record()                      # what the saved model's training info records
    """

    name: str = "bce"
    A: float = DEFAULT_A
    B: float = DEFAULT_B
    beta: float = DEFAULT_BETA

    def __post_init__(self):
        check_loss_settings(self.name, self.A, self.B, self.beta)

    def weights(self, label_counts: Sequence[int], n_train: int) -> torch.Tensor:
        """:func:`label_weights` with these settings."""
        return label_weights(label_counts, n_train, self.name, self.A, self.B, self.beta)

    def pos_weight(self, label_counts: Sequence[int], n_train: int) -> Optional[torch.Tensor]:
        """The ``pos_weight`` to train with: None for ``bce`` (today's loss, unchanged), else :meth:`weights`."""
        return None if self.name == "bce" else self.weights(label_counts, n_train)

    def record(self) -> dict:
        """``{"name": ...}`` plus the parameters the loss uses (A and B for pw; A, B and beta for pw-cb)."""
        record: dict = {"name": self.name}
        if self.name != "bce":
            record.update(A=self.A, B=self.B)
        if self.name == "pw-cb":
            record["beta"] = self.beta
        return record
