"""replace_word_fast builds exactly the AttackedText TextAttack's replace_word_at_index builds."""
import random

import pytest
from textattack.shared import AttackedText

from textattack_xmtc.shared import replace_word_fast

TEXTS = [
    "He said: the U.S. rose 5%. Don't go, 'Acme' rose--really? Foo-bar baz.",
    "ACQUISITION of shares (about 12.5 pct) by Acme Corp Inc; talks with Beta Co Ltd continue.\n"
    "Acme's chairman said \"it's a good deal\" and shares rose rose rose.",
    "über café naïve — résumé, 1,000 dlrs/share <UNK> [UNK] end",
]
NEW_WORDS = ["purchase", "<UNK>", "[UNK]", "Über", "x", "UNK", "multi word", "co-op", "'quoted'"]


def same(fast, slow):
    assert fast.text == slow.text
    assert fast.tokenizer_input == slow.tokenizer_input
    assert fast == slow and slow == fast and hash(fast) == hash(slow)  # one key in TextAttack's caches
    assert fast.words == slow.words
    for key in ("modified_indices", "newly_modified_indices"):
        assert fast.attack_attrs[key] == slow.attack_attrs[key], key
    assert list(fast.attack_attrs["original_index_map"]) == list(slow.attack_attrs["original_index_map"])
    assert fast.attack_attrs["previous_attacked_text"].text == slow.attack_attrs["previous_attacked_text"].text


@pytest.mark.parametrize("text", TEXTS)
def test_every_word_and_replacement_matches_textattack(text):
    original = AttackedText(text)
    for index in range(len(original.words)):
        for new_word in NEW_WORDS + [original.words[index]]:
            same(replace_word_fast(original, index, new_word),
                 original.replace_word_at_index(index, new_word))


def test_chains_of_swaps_match_textattack():
    rng = random.Random(0)
    fast = slow = AttackedText(TEXTS[1])
    for _ in range(40):
        index = rng.randrange(len(slow.words))
        new_word = rng.choice(NEW_WORDS[:6])
        fast, slow = replace_word_fast(fast, index, new_word), slow.replace_word_at_index(index, new_word)
        same(fast, slow)


def test_one_word_swaps_take_the_linear_path(monkeypatch):
    original = AttackedText(TEXTS[1])

    def refuse(*_args, **_kwargs):
        raise AssertionError("fell back to TextAttack's quadratic replace")

    monkeypatch.setattr(AttackedText, "replace_word_at_index", refuse)
    for new_word in ("purchase", "<UNK>", "[UNK]", "co-op"):
        replace_word_fast(original, 3, new_word)


def test_spliced_texts_survive_pickling_as_checkpoints_need():
    import pickle

    spliced = replace_word_fast(AttackedText(TEXTS[0]), 2, "purchase")
    copy = pickle.loads(pickle.dumps(spliced))
    assert copy == spliced and copy.text == spliced.text and copy.words == spliced.words
    assert {spliced: 1}[copy] == 1
