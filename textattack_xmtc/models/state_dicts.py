"""What is wrong with a state dict, for the errors every architecture raises.

Usage::

    problems = state_dict_problems(state, {"emb.emb.weight": (46016, 300)})
    if problems:
        raise CheckpointError(f"{path}: " + "; ".join(problems))
    check_finite(state, path)   # a damaged tensor (NaN / inf) is refused, naming it
"""
from __future__ import annotations

from typing import List, Mapping, Sequence

import torch

from ..errors import CheckpointError


def state_dict_problems(state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, tuple]) -> List[str]:
    """Missing keys, unexpected keys and each tensor whose shape differs from ``expected``."""
    problems = []
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    if missing:
        problems.append(f"missing keys {_abbreviate(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_abbreviate(unexpected)}")
    for key, shape in expected.items():
        if key in state_dict and tuple(state_dict[key].shape) != tuple(shape):
            problems.append(f"{key}: expected shape {list(shape)}, found {list(state_dict[key].shape)}")
    return problems


def _abbreviate(keys: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(keys[:limit])
    return f"[{shown}{f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''}]"


def non_finite_tensors(state_dict: Mapping[str, torch.Tensor]) -> List[str]:
    """``"name (n NaN, m inf of k values)"`` for each floating tensor holding NaN or infinite values.

    Usage::

        non_finite_tensors({"w": torch.tensor([1.0, float("nan")])})   # ['w (1 NaN, 0 inf of 2 values)']
    """
    found = []
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor) or not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        tensor = tensor.detach()
        # Fast path: a finite sum means every value is finite (NaN and inf propagate); only a
        # non-finite sum (or an overflow of large finite values) needs the element-wise check.
        if bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all()):
            continue
        nan = int(torch.isnan(tensor).sum())
        found.append(f"{name} ({nan} NaN, {tensor.numel() - nan - int(torch.isfinite(tensor).sum())} inf "
                     f"of {tensor.numel()} values)")
    return found


def check_finite(state_dict: Mapping[str, torch.Tensor], source) -> None:
    """Refuse weights with NaN or infinite values: every score of such a model is NaN or meaningless.

    Raises :class:`~textattack_xmtc.errors.CheckpointError` naming ``source`` (the file) and each
    damaged tensor.

    Usage::

        check_finite(torch.load(path, weights_only=True), path)
    """
    damaged = non_finite_tensors(state_dict)
    if damaged:
        more = f" and {len(damaged) - 5} more tensors" if len(damaged) > 5 else ""
        raise CheckpointError(f"{source}: damaged weights: non-finite values (NaN or inf) in tensor "
                              f"{'; '.join(damaged[:5])}{more}. The file is corrupt or its training diverged; "
                              f"every score of this model would be NaN or meaningless")
