"""The paper's 50% cap counts the original's whitespace words, not TextAttack's words."""
from textattack.shared import AttackedText

from textattack_xmtc.constraints import MaxWhitespaceChangeRate, paper_word_count


def test_paper_word_count_splits_on_single_spaces():
    assert paper_word_count("U.S. shares rose , sharply") == 5  # TextAttack reads U, S, shares, rose, sharply
    assert paper_word_count("two  spaces") == 3  # split(' ') keeps the empty token, as the paper's code


def test_no_change_once_half_of_the_whitespace_words_are_changed():
    # 4 whitespace words, 6 TextAttack words: TextAttack's rate would still allow a 3rd change.
    text = AttackedText("U.S. A.B. rose fell")
    cap = MaxWhitespaceChangeRate(max_rate=0.5)
    assert cap._get_modifiable_indices(text) == set(range(text.num_words))
    once = text.replace_word_at_index(4, "climbed")
    assert cap._get_modifiable_indices(once)
    twice = once.replace_word_at_index(5, "dropped")
    assert cap._get_modifiable_indices(twice) == set()  # 2 of 4 changed: no more
