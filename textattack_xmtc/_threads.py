"""Torch CPU threads: the one bound every command and recipe checks a thread count against.

Usage::

    problem = threads_problem(value)        # None, or why the value is refused
    used = set_threads(4)                   # torch.set_num_threads, returns the count in force
"""
from __future__ import annotations

import os
from typing import Optional

#: More torch threads than any machine has cores: a typo (OpenMP cannot even allocate 100,000:
#: torch.set_num_threads(100000) ends in a MemoryError mid-run).
MAX_THREADS = 1024


def threads_problem(value: object) -> Optional[str]:
    """Why ``value`` is not a thread count (a positive integer up to :data:`MAX_THREADS`), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_THREADS:
        return (f"threads must be a positive integer up to {MAX_THREADS} (this machine has "
                f"{os.cpu_count()} cores), got {value!r}")
    return None


def set_threads(threads: Optional[int]) -> int:
    """Set torch's intra-op threads when ``threads`` is given; the number in force afterwards."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()
