"""NLTK's word tokenizer on long documents, piece by piece with a cache.

An attack scores hundreds of texts that differ from one document in a word
or two. Re-running NLTK's Treebank tokenizer (some 25 regular-expression
passes over the whole text) on each one costs more than AttentionXML's
forward pass. The tokens of a long text are the concatenation of the tokens
of its segments, cut at whitespace, as long as

* each segment keeps the whitespace on both sides of it (several rules look
  one character beyond a word: ``'`` followed by a space, ``"`` after a
  space, ``,`` before a non-digit), and
* only the text's last segment gets the end-of-text rules (the final period
  is split off only there; a segment that is not last is tokenized with a
  sentinel word after it, whose token is then dropped), and that segment
  holds the last word with anything but closing brackets and quotes in it
  (the final-period rule reaches across spaces and closers: ``end. »``).

The text's start needs no care: a segment that is not first starts with
whitespace, where the start-of-text rule (``^"``) cannot match. Segments end
at whitespace after a word ending in ``. , ; : ! ? y`` (every ~10 words in
news text), so a swap moves no cut except its own and the other segments come
from the cache. The result is exactly ``NLTKWordTokenizer().tokenize(text)``;
the tests check it on the built-in corpus and on adversarial strings.

Usage::

    tokens = word_tokenize("He said: the U.S. rose 5%. Don't go.")
"""
from __future__ import annotations

import functools
import re
from typing import Iterator, List, Tuple

_SENTINEL = "a"  # a plain word: no tokenizer rule touches it or its neighbours across whitespace
# Where a segment may end: the whitespace after one of these characters.
CUTS = re.compile(r"(?<=[.,;:!?y])\s+")
# What NLTK's final-period rule lets stand between the period and the end of the text.
_CLOSERS_ONLY = re.compile("[\\]\\)}>\"'\u00bb\u201d\u2019]*")


@functools.lru_cache(maxsize=1)
def _nltk():
    # Imported lazily: nltk's top-level import costs ~0.5 s.
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


@functools.lru_cache(maxsize=1 << 16)
def _segment_tokens(segment: str, is_last: bool) -> Tuple[str, ...]:
    if is_last:
        return tuple(_nltk().tokenize(segment))
    tokens = _nltk().tokenize(segment + _SENTINEL)
    if not tokens or tokens[-1] != _SENTINEL:  # cannot happen: the segment ends in whitespace
        raise RuntimeError(f"sentinel merged into the segment {segment!r}: {tokens!r}")
    return tuple(tokens[:-1])


def segment_tokens(segment: str, is_last: bool) -> Tuple[str, ...]:
    """NLTK's tokens of one segment, in the context of the whole text (cached).

    Usage::

        segment_tokens(" Corp. rose ", is_last=False)  # ('Corp.', 'rose'): not the final period
    """
    return _segment_tokens(segment, is_last)


def segments(text: str, cuts: re.Pattern = CUTS) -> Iterator[Tuple[str, bool]]:
    """Cut ``text`` into ``(segment, is_last)`` pairs sharing the whitespace between them.

    Usage::

        list(segments("a, b, c"))  # [('a, ', False), (' b, ', False), (' c', True)]
    """
    # The last segment must hold the final period, which may be followed by closers.
    tail = len(text)
    for word in reversed(text.split()):
        if not _CLOSERS_ONLY.fullmatch(word):
            tail = text.rindex(word, 0, tail)
            break
        tail = text.rindex(word, 0, tail)
    start = 0
    for run in cuts.finditer(text, 0, tail):
        yield text[start:run.end()], False
        start = run.start()
    yield text[start:], True


def word_tokenize(text: str, cuts: re.Pattern = CUTS) -> List[str]:
    """``NLTKWordTokenizer().tokenize(text)``, computed segment by segment with a cache.

    Usage::

        word_tokenize("Acme's shares rose 5%.")  # ['Acme', "'s", 'shares', 'rose', '5', '%', '.']
    """
    tokens: List[str] = []
    for segment, is_last in segments(text, cuts):
        tokens.extend(_segment_tokens(segment, is_last))
    return tokens
