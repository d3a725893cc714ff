"""Memory housekeeping around attacked examples: freed heap back to the OS, fewer collections.

An attack allocates and frees many large temporary tensors (a label tree's
candidate attention is tens of MB per batch). glibc keeps much of that freed
memory in its heap, so a long run's resident memory creeps up by hundreds of
MB that no object holds (measured with ``benchmarks/memory.py``: half the
growth over 1,000 targets on a 670,000-label tree). ``malloc_trim(0)`` returns
it; elsewhere (macOS, musl) this does nothing.

Python's cyclic garbage collector, at its default threshold (a young
collection every 700 net allocations), ran about 190 times per 15 targets of
the built-in AttentionXML and took 5% of the attack's wall time: the candidate
loop allocates word lists and texts by the thousand, nearly all freed by
reference counting anyway. :func:`fewer_collections` raises the threshold for
the duration of one example (three paired runs: 6-14% less wall time).

Usage::

    release_freed_memory()   # after each attacked example
    with fewer_collections():
        ...                  # one attacked example
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
from typing import Iterator, Optional

#: Net allocations between young collections while an example is attacked (Python's default: 700).
ATTACK_GC_THRESHOLD = 20_000


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


@contextlib.contextmanager
def fewer_collections(threshold: int = ATTACK_GC_THRESHOLD) -> Iterator[None]:
    """Young garbage collections at most every ``threshold`` allocations inside the block.

    A caller's own setting wins where it collects less often (a higher threshold, or 0:
    automatic collection off); the previous thresholds come back on exit.
    """
    previous = gc.get_threshold()
    raise_it = 0 < previous[0] < threshold
    if raise_it:
        gc.set_threshold(threshold, *previous[1:])
    try:
        yield
    finally:
        if raise_it:
            gc.set_threshold(*previous)


__all__ = ["fewer_collections", "release_freed_memory"]
