"""GreedyWordSwapWIRFast ranks words exactly as TextAttack's GreedyWordSwapWIR("unk") does."""
import numpy as np
import pytest
from textattack import Attack
from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
from textattack.search_methods import GreedyWordSwapWIR
from textattack.shared import AttackedText
from textattack.transformations import WordSwap

from textattack_xmtc.datasets import XMTCTarget
from textattack_xmtc.goal_functions import PositiveTargetedTopK
from textattack_xmtc.search_methods import GreedyWordSwapWIRFast

TEXTS = [
    "The acquisition of shares lifted profit, and the dividend rose.",
    "Wheat exports: acquisition talks (shares) stalled; profit fell... dividend unchanged!",
    "profit profit shares",
]


class SwapToFixedWords(WordSwap):
    """Two replacements for every word."""

    def _get_replacement_words(self, word):
        return ["purchase", "stake"]


def attack_with(search, victim):
    goal = PositiveTargetedTopK(victim, k=1)
    constraints = [RepeatModification(), StopwordModification(stopwords={"and", "of"})]
    return Attack(goal, constraints, SwapToFixedWords(), search)


@pytest.mark.parametrize("text", TEXTS)
def test_fast_search_ranks_words_and_queries_like_textattack(keyword_victim, text):
    orders, queried = [], []
    for search in (GreedyWordSwapWIR(wir_method="unk", unk_token="<UNK>"),
                   GreedyWordSwapWIRFast(unk_token="<UNK>")):
        attack = attack_with(search, keyword_victim)
        attacked_text = AttackedText(text)
        attack.goal_function.init_attack_example(attacked_text, XMTCTarget(["acq", "earn"], "earn", 1))
        keyword_victim.texts = []  # the victim records every text it scores
        order, search_over = search._get_index_order(attacked_text)
        assert not search_over
        orders.append(np.asarray(order).tolist())
        queried.append(list(keyword_victim.texts))
    assert orders[0] == orders[1]
    assert queried[0] == queried[1]  # the same leave-one-out texts, in the same order
    words = AttackedText(text).words
    assert all(words[index] not in {"and", "of"} for index in orders[1])  # stopwords are never ranked
    assert any("<UNK>" in query for query in queried[1])


def test_other_importance_methods_are_textattack_s_own(keyword_victim):
    search = GreedyWordSwapWIRFast(wir_method="delete")
    attack = attack_with(search, keyword_victim)
    attacked_text = AttackedText(TEXTS[0])
    attack.goal_function.init_attack_example(attacked_text, XMTCTarget(["acq", "earn"], "earn", 1))
    order, _ = search._get_index_order(attacked_text)
    reference = GreedyWordSwapWIR(wir_method="delete")
    attack_with(reference, keyword_victim).goal_function.init_attack_example(
        attacked_text, XMTCTarget(["acq", "earn"], "earn", 1))
    assert np.asarray(order).tolist() == np.asarray(reference._get_index_order(attacked_text)[0]).tolist()
