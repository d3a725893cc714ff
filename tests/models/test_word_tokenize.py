"""The segment-cached tokenizer gives exactly NLTK's tokens."""
import random
import re

import pytest
from nltk.tokenize import NLTKWordTokenizer

from textattack_xmtc.datasets import load_corpus
from textattack_xmtc.models.word_tokenize import CUTS, segment_tokens, segments, word_tokenize

NLTK = NLTKWordTokenizer()
PIECES = ['"', "''", "'", "'s", "'S", "n't", "'ll", ".", "...", ",", ":", "5", "3,000", "(", ")",
          "[", "--", "—", "«", "»", "“", "’", "?", "!", ";", "%", "$", "@", "*", "wanna", "'tis",
          "'Twas", "cannot", "gonna", "gimme", "U.S.", "Corp.", "Inc", "dog", "Acme", "rock'",
          "'n'", "'em", "d'ye", "more'n", "über", "<", ">", "5.", "a", "end.", "x.", "».", "'.",
          ".'", ')".', '")', "n'T", "'LL", "Wanna", "D'ye", ":5", ",5", "'re", "``", "`"]
SPACES = [" ", " ", " ", "  ", "\n", "\t", " \n ", ""]


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
