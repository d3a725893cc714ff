"""The segment-cached tokenizer gives exactly NLTK's tokens."""
import random
import re

import pytest
from nltk.tokenize import NLTKWordTokenizer

from textattack_xmtc.datasets import load_corpus
from textattack_xmtc.models.word_tokenize import (CUTS, SegmentedText, _common_prefix_length, _common_suffix_length,
                                                  piece_tokens, segment_tokens, segments, word_pieces,
                                                  word_tokenize)

NLTK = NLTKWordTokenizer()
PIECES = ['"', "''", "'", "'s", "'S", "n't", "'ll", ".", "...", ",", ":", "5", "3,000", "(", ")",
          "[", "--", "—", "«", "»", "“", "’", "?", "!", ";", "%", "$", "@", "*", "wanna", "'tis",
          "'Twas", "cannot", "gonna", "gimme", "Gotta", "LEMME", "naïve", "U.S.", "Corp.", "Inc", "dog", "Acme", "rock'",
          "'n'", "'em", "d'ye", "more'n", "über", "<", ">", "5.", "a", "end.", "x.", "».", "'.",
          ".'", ')".', '")', "n'T", "'LL", "Wanna", "D'ye", ":5", ",5", "'re", "``", "`"]
SPACES = [" ", " ", " ", "  ", "\n", "\t", " \n ", "", "\xa0", " \u2009", "\x1c"]


def random_text(rng):
    parts = []
    for _ in range(rng.randrange(1, 30)):
        parts.append(rng.choice(PIECES))
        parts.append(rng.choice(SPACES))
    if rng.random() < 0.5:
        parts.pop()  # sometimes no trailing whitespace
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(SPACES))
    return "".join(parts)


EVERY_SPACE = re.compile(r"\s+")  # the hardest case: a cut at every run of whitespace


@pytest.mark.parametrize("cuts", [EVERY_SPACE, CUTS], ids=["every-space", "default"])
def test_random_adversarial_strings_match_nltk(cuts):
    rng = random.Random(0)
    for _ in range(3000):
        text = random_text(rng)
        assert word_tokenize(text, cuts) == NLTK.tokenize(text), repr(text)


@pytest.mark.parametrize("cuts", [EVERY_SPACE, CUTS], ids=["every-space", "default"])
def test_built_in_corpus_matches_nltk(cuts):
    for text in load_corpus("reuters21578", split="test").texts[:400]:
        assert word_tokenize(text, cuts) == NLTK.tokenize(text)


def test_segments_share_whitespace_and_keep_the_final_period_last():
    text = "He said:\n\"the  U.S. rose\" 5%.\t» "
    pieces = list(segments(text, EVERY_SPACE))
    assert [piece for piece, _ in pieces][-1] == " 5%.\t» "
    assert [is_last for _, is_last in pieces] == [False] * 5 + [True]
    assert all(piece[0].isspace() for piece, _ in pieces[1:])
    assert all(piece[-1].isspace() for piece, _ in pieces[:-1])
    assert list(segments("")) == [("", True)]


def test_only_the_last_segment_splits_a_final_period():
    assert segment_tokens(" Corp. ", is_last=False) == ("Corp.",)
    assert segment_tokens(" Corp. ", is_last=True) == ("Corp", ".")


def test_a_swap_leaves_other_segments_unchanged():
    words = [f"word{i}," for i in range(200)]
    before = set(segments(" ".join(words)))
    words[100] = "swapped"
    after = set(segments(" ".join(words)))
    assert len(before - after) <= 2 and len(after - before) <= 1


def test_the_word_pieces_of_a_segment_carry_its_tokens():
    rng = random.Random(3)
    for _ in range(300):
        segment = rng.choice(SPACES[:7]) + random_text(rng) + " "  # not last: it ends in whitespace
        pieces = word_pieces(segment)
        assert all(piece.strip() and not piece[-1].strip() for piece in pieces)
        assert [token for piece in pieces for token in piece_tokens(piece)] == list(segment_tokens(segment, False))


def test_common_prefix_and_suffix_lengths_equal_a_character_by_character_count():
    def naive_prefix(first, second):
        count = 0
        while count < min(len(first), len(second)) and first[count] == second[count]:
            count += 1
        return count

    rng = random.Random(4)
    for _ in range(500):
        first = "".join(rng.choice("ab ") for _ in range(rng.randrange(0, 40)))
        second = first[:rng.randrange(0, len(first) + 1)] + "".join(rng.choice("ab ") for _ in range(rng.randrange(0, 5)))
        second += first[rng.randrange(0, len(first) + 1):]
        prefix = naive_prefix(first, second)
        assert _common_prefix_length(first, second) == prefix
        limit = min(len(first), len(second)) - prefix
        suffix = min(naive_prefix(first[::-1], second[::-1]), limit)
        assert _common_suffix_length(first, second, limit) == suffix


def test_words_of_letters_alone_match_nltk_including_the_ones_it_splits():
    vocabulary = {word for text in load_corpus("reuters21578", split="test").texts[:300] for word in text.split()}
    vocabulary |= {"cannot", "CanNot", "gimme", "Gonna", "gotta", "lemme", "WANNA", "über", "naïve", "Straße"}
    for word in sorted(vocabulary):
        for text in (f"x {word} y", f"{word} y", f"x\n{word}\ty"):
            assert word_tokenize(text, EVERY_SPACE) == NLTK.tokenize(text), repr(text)


def random_edit(rng, text):
    """``text`` with a few characters, a word or a run of whitespace replaced, inserted or deleted."""
    if not text:
        return rng.choice(PIECES)
    start = rng.randrange(len(text) + 1)
    end = min(len(text), start + rng.choice([0, 1, 2, 5, 12]))
    insert = rng.choice(["", rng.choice(PIECES), rng.choice(SPACES), rng.choice(PIECES) + rng.choice(SPACES)])
    return text[:start] + insert + text[end:]


def tokens_of(segment, is_last):
    return segment_tokens(segment, is_last)


@pytest.mark.parametrize("cuts", [EVERY_SPACE, CUTS], ids=["every-space", "default"])
def test_an_edited_segmentation_equals_a_fresh_one(cuts):
    rng = random.Random(1)
    edited_count = 0
    for _ in range(300):
        text = random_text(rng) + random_text(rng)
        current = SegmentedText.build(text, tokens_of, cuts)
        for _ in range(10):
            text = random_edit(rng, text)
            fresh = SegmentedText.build(text, tokens_of, cuts)
            edited = current.edited(text, tokens_of, cuts)
            if edited is not None:
                edited_count += 1
                assert edited == fresh, repr(text)
            current = fresh
            assert current.values == NLTK.tokenize(text), repr(text)
    assert edited_count > 1000  # most edits are not in the last segment


def test_a_word_swap_in_a_long_text_computes_only_the_segments_around_it():
    words = [f"word{i}," for i in range(200)]
    text = " ".join(words)
    computed = []

    def recording(segment, is_last):
        computed.append(segment)
        return segment_tokens(segment, is_last)

    current = SegmentedText.build(text, recording)
    computed.clear()
    words[100] = "swapped,"
    edited = current.edited(" ".join(words), recording)
    assert edited.values == NLTK.tokenize(" ".join(words))
    assert computed[-1] == " swapped, " and len(computed) <= 2  # and maybe the segment before
    assert current.edited(text.replace("word199,", "end."), recording) is None  # the last segment


@pytest.mark.parametrize("cuts", [EVERY_SPACE, CUTS], ids=["every-space", "default"])
def test_pieces_around_a_stretch_are_each_tokenized_as_a_text_of_their_own(cuts):
    """The tokens of a text with a stretch cut out, as when the unknown token is put in for it."""
    rng = random.Random(7)
    answered = 0
    for _ in range(3000):
        text = random_text(rng)
        segmented = SegmentedText.build(text, segment_tokens, cuts)
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.randrange(6))
        pieces = segmented.around(start, end, segment_tokens)
        if pieces is None:
            continue
        answered += 1
        assert [list(piece) for piece in pieces] == [NLTK.tokenize(text[:start]), NLTK.tokenize(text[end:])], \
            (text, start, end)
    assert answered > 1500


def test_pieces_around_each_word_of_real_documents_match_nltk():
    for text in load_corpus("reuters21578", split="test").texts[:40:4]:
        segmented = SegmentedText.build(text, segment_tokens)
        for word in re.finditer(r"\w+", text):
            pieces = segmented.around(word.start(), word.end(), segment_tokens)
            if pieces is not None:
                assert [list(p) for p in pieces] == [NLTK.tokenize(text[:word.start()]),
                                                     NLTK.tokenize(text[word.end():])]
