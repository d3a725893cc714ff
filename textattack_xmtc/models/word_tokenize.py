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
from the cache. The rules hold at any run of whitespace (the tests cut at
every one), so a segment seen for the first time is tokenized word by word,
and :class:`SegmentedText` cuts again only around an edit. The result is
exactly ``NLTKWordTokenizer().tokenize(text)``; the tests check it on the
built-in corpus, on adversarial strings and along random edits.

Usage::

    tokens = word_tokenize("He said: the U.S. rose 5%. Don't go.")
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import re
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

_SENTINEL = "a"  # a plain word: no tokenizer rule touches it or its neighbours across whitespace
# Where a segment may end: the whitespace after one of these characters.
CUTS = re.compile(r"(?<=[.,;:!?y])\s+")
_SPACES = re.compile(r"\s+")
_SPACES_BEFORE = re.compile(r"\s+(?=\S*$)")  # searched up to a tail: the run right before it
_LETTERS = re.compile(r"[^\W\d_]+")
# The words of letters alone that NLTK splits (its CONTRACTIONS2 list: can not, gon na, ...).
_SPLIT_WORDS = frozenset({"cannot", "gimme", "gonna", "gotta", "lemme", "wanna"})
# What NLTK's final-period rule lets stand between the period and the end of the text.
_CLOSERS_ONLY = re.compile("[\\]\\)}>\"'\u00bb\u201d\u2019]*")


@functools.lru_cache(maxsize=1)
def _nltk():
    # Imported lazily: nltk's top-level import costs ~0.5 s.
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


@functools.lru_cache(maxsize=1 << 14)
def _segment_tokens(segment: str, is_last: bool) -> Tuple[str, ...]:
    if is_last:
        word = segment.strip()
        if _untouched(word):
            return (word,)  # at the end of the text too
        return tuple(_nltk().tokenize(segment))
    # The rules above hold at every run of whitespace, so a segment that is not last
    # is tokenized word by word: a swap makes a new segment but only one new word,
    # and NLTK runs on that word alone (the others come from the cache).
    tokens: List[str] = []
    for piece in word_pieces(segment):
        tokens.extend(_word_tokens(piece))
    return tuple(tokens)


def word_pieces(segment: str) -> List[str]:
    """A segment that is not the text's last, cut into one piece per word, each with the
    whitespace on both sides of it: their tokens, concatenated, are the segment's.

    Usage::

        word_pieces(" Corp. rose ")  # [' Corp. ', ' rose ']
    """
    pieces: List[str] = []
    start = 0
    for run in _SPACES.finditer(segment):
        if run.start():
            pieces.append(segment[start:run.end()])
            start = run.start()
    return pieces


def piece_tokens(piece: str) -> Tuple[str, ...]:
    """NLTK's tokens of one piece of :func:`word_pieces` (cached).

    Usage::

        piece_tokens(" Corp. ")  # ('Corp.',)
    """
    return _word_tokens(piece)


@functools.lru_cache(maxsize=1 << 15)
def _word_tokens(piece: str) -> Tuple[str, ...]:
    """Tokens of a piece that is not the text's end (it ends in whitespace)."""
    word = piece.strip()
    if _untouched(word):
        return (word,)
    tokens = _nltk().tokenize(piece + _SENTINEL)
    if not tokens or tokens[-1] != _SENTINEL:  # cannot happen: the piece ends in whitespace
        raise RuntimeError(f"sentinel merged into the segment {piece!r}: {tokens!r}")
    return tuple(tokens[:-1])


def _untouched(word: str) -> bool:
    """Whether NLTK leaves ``word`` whole: letters alone, bar the few words it splits."""
    return bool(_LETTERS.fullmatch(word)) and word.lower() not in _SPLIT_WORDS


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
    for start, end, is_last in segment_spans(text, cuts):
        yield text[start:end], is_last


def segment_spans(text: str, cuts: re.Pattern = CUTS) -> Iterator[Tuple[int, int, bool]]:
    """The segments of :func:`segments` as ``(start, end, is_last)`` character spans.

    Usage::

        list(segment_spans("a, b, c"))  # [(0, 3, False), (2, 6, False), (5, 7, True)]
    """
    tail = _tail(text)
    start = 0
    for run in cuts.finditer(text, 0, tail):
        yield start, run.end(), False
        start = run.start()
    yield start, len(text), True


def _tail(text: str) -> int:
    """Where the text's last segment must start at the latest: its last word with anything
    but closers in it (the final period may be followed by closers)."""
    # The last few words are enough unless they are all closers: split only those.
    words = text.rsplit(None, 8)
    if len(words) > 8 and all(_CLOSERS_ONLY.fullmatch(word) for word in words[1:]):
        words = text.split()
    elif len(words) > 8:
        words = words[1:]  # words[0] is the rest of the text, not one word
    tail = len(text)
    for word in reversed(words):
        tail = text.rindex(word, 0, tail)
        if not _CLOSERS_ONLY.fullmatch(word):
            break
    return tail


ValueOf = Callable[[str, bool], Sequence]


@dataclasses.dataclass(frozen=True)
class SegmentedText:
    """A text, its segments and the values (tokens, ids) of each, cheap to edit.

    An attack sends texts that differ from the one before in a word or two.
    :meth:`edited` finds where the new text differs (common prefix and suffix),
    keeps the values of the segments before and after that place and computes
    only the segments in between, where the cuts are searched again. The
    result equals :meth:`build` on the new text (tests check it); when the
    change reaches the last segment, whose cut depends on the text's end,
    :meth:`edited` returns ``None``.

    Usage::

        first = SegmentedText.build(text, value_of)          # value_of(segment, is_last) -> tokens
        second = first.edited(new_text, value_of) or SegmentedText.build(new_text, value_of)
        second.values                                          # the tokens of new_text
    """

    text: str
    starts: List[int]
    ends: List[int]
    offsets: List[int]  # values before segment i; the last entry is len(values)
    values: List

    @classmethod
    def build(cls, text: str, value_of: ValueOf, cuts: re.Pattern = CUTS) -> "SegmentedText":
        starts: List[int] = []
        ends: List[int] = []
        offsets = [0]
        values: List = []
        for start, end, is_last in segment_spans(text, cuts):
            starts.append(start)
            ends.append(end)
            values.extend(value_of(text[start:end], is_last))
            offsets.append(len(values))
        return cls(text, starts, ends, offsets, values)

    def edited(self, text: str, value_of: ValueOf, cuts: re.Pattern = CUTS) -> Optional["SegmentedText"]:
        old = self.text
        prefix = _common_prefix_length(old, text)
        if prefix == len(old) == len(text):
            return self
        suffix = _common_suffix_length(old, text, min(len(old), len(text)) - prefix)
        changed_end = len(old) - suffix  # old[prefix:changed_end] was replaced
        # Segment i stays if it ends before the change: its cut run ends at a character
        # both texts share. Segment j stays (shifted) if the character before its
        # opening run, which makes that run a cut, lies in the common suffix.
        first = bisect.bisect_left(self.ends, prefix)
        after = bisect.bisect_left(self.starts, changed_end + 1)
        if after >= len(self.starts) or first >= after:
            return None  # the last segment changed: the end-of-text rules may move its cut
        delta = len(text) - len(old)
        starts, ends = [self.starts[first]], []
        for run in cuts.finditer(text, self.ends[first - 1] if first else 0, self.starts[after] + delta):
            ends.append(run.end())
            starts.append(run.start())
        ends.append(self.ends[after - 1] + delta)
        base = self.offsets[first]
        middle: List = []
        offsets = []
        for start, end in zip(starts, ends):
            offsets.append(base + len(middle))
            middle.extend(value_of(text[start:end], False))
        shift = base + len(middle) - self.offsets[after]
        return SegmentedText(
            text,
            self.starts[:first] + starts + [start + delta for start in self.starts[after:]],
            self.ends[:first] + ends + [end + delta for end in self.ends[after:]],
            self.offsets[:first] + offsets + [offset + shift for offset in self.offsets[after:]],
            self.values[:base] + middle + self.values[self.offsets[after]:],
        )

    def around(self, start: int, end: int, value_of: ValueOf) -> Optional[Tuple[List, List]]:
        """The values of ``text[:start]`` and of ``text[end:]``, each valued as a text of its own.

        That is how a text with the unknown token put in for ``text[start:end]``
        is tokenized (the token splits it into two texts). The segments that
        both pieces share with this text keep their values; only the ends of
        the pieces are valued again, which is exact because a text may be cut
        at any run of whitespace (module docstring). ``None`` when the stretch
        reaches past the start of the text's last word (use :func:`segments`
        on the pieces then).

        Usage::

            before, after = segmented.around(10, 14, value_of)
        """
        tail = _tail(self.text)
        if not 0 <= start <= end <= tail:
            return None
        return self._before(start, value_of), self._after(end, value_of)

    def _before(self, start: int, value_of: ValueOf) -> List:
        if not start:
            return list(value_of("", True))
        # This text's cut runs that end by the piece's tail are the piece's own (the
        # same characters and lookbehind); the rest of the piece is its last segment.
        text = self.text
        piece_tail = _tail(text[:start])
        kept = bisect.bisect_right(self.ends, piece_tail, 0, len(self.starts) - 1)
        before = list(self.values[:self.offsets[kept]])
        first = self.starts[kept]
        space = _SPACES_BEFORE.search(text, first, piece_tail)
        if space is not None and space.end() == piece_tail:  # cut once more, before the tail word
            before.extend(value_of(text[first:piece_tail], False))
            first = space.start()
        before.extend(value_of(text[first:start], True))
        return before

    def _after(self, end: int, value_of: ValueOf) -> List:
        # This text's cut runs that start after ``end`` are the piece's own (one that starts
        # at ``end`` has no lookbehind in the piece); the piece's first segment runs to the first.
        text, last = self.text, len(self.starts) - 1
        following = bisect.bisect_right(self.starts, end, 1, last + 1)
        if following > last:
            return list(value_of(text[end:], True))
        after = list(value_of(text[end:self.ends[following - 1]], False))
        after.extend(self.values[self.offsets[following]:])
        return after


def _common_prefix_length(first: str, second: str) -> int:
    # Binary search on slices: each comparison runs in C, unlike a loop over characters.
    # Only the stretch past the known common part is compared, so the slices copy
    # about the text's length in all, not that times its logarithm.
    low, high = 0, min(len(first), len(second))
    while low < high:
        middle = (low + high + 1) // 2
        if first[low:middle] == second[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix_length(first: str, second: str, limit: int) -> int:
    low, high = 0, limit
    first_end, second_end = len(first), len(second)
    while low < high:
        middle = (low + high + 1) // 2
        if first[first_end - middle:first_end - low] == second[second_end - middle:second_end - low]:
            low = middle
        else:
            high = middle - 1
    return low


def word_tokenize(text: str, cuts: re.Pattern = CUTS) -> List[str]:
    """``NLTKWordTokenizer().tokenize(text)``, computed segment by segment with a cache.

    Usage::

        word_tokenize("Acme's shares rose 5%.")  # ['Acme', "'s", 'shares', 'rose', '5', '%', '.']
    """
    tokens: List[str] = []
    for segment, is_last in segments(text, cuts):
        tokens.extend(_segment_tokens(segment, is_last))
    return tokens
