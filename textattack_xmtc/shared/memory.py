"""Give freed heap back to the operating system between attacked examples.

An attack allocates and frees many large temporary tensors (a label tree's
candidate attention is tens of MB per batch). glibc keeps much of that freed
memory in its heap, so a long run's resident memory creeps up by hundreds of
MB that no object holds (measured with ``benchmarks/memory.py``: half the
growth over 1,000 targets on a 670,000-label tree). ``malloc_trim(0)`` returns
it; elsewhere (macOS, musl) this does nothing.

Usage::

    release_freed_memory()   # after each attacked example
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Optional


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Optional[ctypes._CFuncPtr]:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Return freed heap memory to the OS when the C library can (glibc); True if it was asked."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


__all__ = ["release_freed_memory"]
