"""The paper's 50% cap counts the original's whitespace words, not TextAttack's words."""
from textattack.shared import AttackedText

from textattack_xmtc.constraints import MaxWhitespaceChangeRate, paper_word_count


def test_paper_word_count_splits_on_single_spaces():
    assert paper_word_count("U.S. shares rose , sharply") == 5  # TextAttack reads U, S, shares, rose, sharply
    assert paper_word_count("two  spaces") == 3  # split(' ') keeps the empty token, as the paper's code


def test_no_change_once_more_than_half_of_the_whitespace_words_are_changed():
    # 5 whitespace words, 8 TextAttack words: as the paper's loop, a change is allowed while
    # at most int(0.5 * 5) = 2 words have changed; TextAttack's rate would allow a 4th.
    text = AttackedText("U.S. A.B. C.D. rose fell")
    cap = MaxWhitespaceChangeRate(max_rate=0.5)
    assert cap._get_modifiable_indices(text) == set(range(text.num_words))
    twice = text.replace_word_at_index(6, "climbed").replace_word_at_index(7, "dropped")
    assert cap._get_modifiable_indices(twice)
    thrice = twice.replace_word_at_index(0, "X")
    assert cap._get_modifiable_indices(thrice) == set()
