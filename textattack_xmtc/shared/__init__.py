"""Helpers shared by transformations, constraints, search methods and the commands.

``fast_text`` (which imports TextAttack) loads on first use, so that commands
needing only ``files`` start quickly.
"""
from typing import Any

__all__ = ["replace_word_fast", "root_text"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import fast_text

        return getattr(fast_text, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
