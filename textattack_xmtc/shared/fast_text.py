"""A linear-time single-word swap for long documents.

TextAttack's ``AttackedText.replace_word_at_index`` rebuilds the whole text
and re-splits every word (quadratic in the document length): on a 700-word
Reuters story it costs ~10 ms per candidate, more than the victim's forward
pass. XMTC documents are long, so for the common case (one word replaced by
one word, possibly wrapped in punctuation such as ``<UNK>``, in a
single-field text) we splice the string at the word's
offset and copy the word list, producing exactly the ``AttackedText`` that
TextAttack would (same text, words and attack attributes). Anything else
falls back to TextAttack.

Usage::

    new_text = replace_word_fast(text, 3, "purchase")
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from typing import List

from textattack.shared import AttackedText
from textattack.shared.utils import words_from_text

_OFFSETS = "_xmtc_word_offsets"


def _word_offsets(text: AttackedText) -> List[int]:
    """Character offset of each word, computed once per text and kept on it.

    Kept as an attribute, not in a dictionary keyed by the text: hashing an
    ``AttackedText`` joins and hashes its whole string on every lookup.
    """
    offsets = text.__dict__.get(_OFFSETS)
    if offsets is None:
        # Same search as TextAttack: each word is found after the previous one.
        offsets, position, raw = [], 0, text.text
        for word in text.words:
            start = raw.index(word, position)
            offsets.append(start)
            position = start + len(word)
        setattr(text, _OFFSETS, offsets)
    return offsets


# Memoised: an attack proposes the same few hundred words (and its unknown token) again and
# again, and TextAttack's word splitting compiles-and-searches two regexes per call.
@functools.lru_cache(maxsize=1 << 14)
def _as_one_word(word: str):
    """The single word TextAttack would read ``word`` as ("<UNK>" -> "UNK"), else None."""
    pieces = words_from_text(word)
    if len(pieces) == 1 and word.find(pieces[0]) >= 0:
        return pieces[0]
    return None


class SplicedText(AttackedText):
    """An ``AttackedText`` of one field, made by :func:`replace_word_fast`, that keeps its string.

    TextAttack joins the fields into a new string each time ``text`` is read,
    and its caches read it several times per candidate to hash and compare:
    on long documents that was a tenth of an attack's Python time. The string
    kept here is the joined one (a single field joins to itself), and Python
    caches its hash.
    """

    @property
    def text(self) -> str:
        return self._joined

    @property
    def tokenizer_input(self) -> str:
        return self._joined

    def __hash__(self) -> int:
        return hash(self._joined)


def replace_word_fast(text: AttackedText, index: int, new_word: str) -> AttackedText:
    """``text.replace_word_at_index(index, new_word)``, in linear time when possible."""
    read_as = _as_one_word(new_word)
    if len(text._text_input) != 1 or AttackedText.SPLIT_TOKEN in text.text or read_as is None:
        return text.replace_word_at_index(index, new_word)
    old_word = text.words[index]
    start = _word_offsets(text)[index]
    raw = text.text
    new_raw = raw[:start] + new_word + raw[start + len(old_word):]

    attrs = {"newly_modified_indices": set(), "previous_attacked_text": text,
             "modified_indices": text.attack_attrs["modified_indices"].copy(),
             "original_index_map": text.attack_attrs["original_index_map"].copy()}
    if "label_names" in text.attack_attrs:
        attrs["label_names"] = text.attack_attrs["label_names"]
    if new_word != old_word:
        attrs["modified_indices"].add(index)
        attrs["newly_modified_indices"].add(index)

    # Build the object without AttackedText.__init__, which would re-split all words.
    result = SplicedText.__new__(SplicedText)
    result._text_input = OrderedDict([(next(iter(text._text_input)), new_raw)])
    result._joined = new_raw
    words = list(text.words)
    words[index] = read_as
    result._words = words
    result._words_per_input = None
    result._pos_tags = None
    result._ner_tags = None
    result.attack_attrs = attrs
    return result


def root_text(text: AttackedText) -> AttackedText:
    """The text an attack started from: every derived text keeps a link to the one it was made from."""
    while "previous_attacked_text" in text.attack_attrs:
        text = text.attack_attrs["previous_attacked_text"]
    return text
