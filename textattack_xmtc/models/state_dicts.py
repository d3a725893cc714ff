"""What is wrong with a state dict, for the error both architectures raise.

Usage::

    problems = state_dict_problems(state, {"emb.emb.weight": (46016, 300)})
    if problems:
        raise CheckpointError(f"{path}: " + "; ".join(problems))
"""
from __future__ import annotations

from typing import List, Mapping, Sequence

import torch


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
