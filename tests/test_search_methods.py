"""GreedyWordSwapWIRFast: TextAttack's GreedyWordSwapWIR("unk") with the paper's word importance."""
import numpy as np
import pytest
from textattack import Attack
from textattack.constraints.pre_transformation import RepeatModification, StopwordModification
from textattack.search_methods import GreedyWordSwapWIR
from textattack.shared import AttackedText
from textattack.transformations import WordSwap

from textattack_xmtc.datasets import XMTCTarget
from textattack_xmtc.goal_functions import PositiveTargetedTopK, UntargetedTopK
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
    return attack_with_goal(PositiveTargetedTopK(victim, k=1), search)


def attack_with_goal(goal, search):
    constraints = [RepeatModification(), StopwordModification(stopwords={"and", "of"})]
    return Attack(goal, constraints, SwapToFixedWords(), search)


def ranking(search, goal, victim, text, target):
    """Words' order and the texts the victim scored while ranking them."""
    attack_with_goal(goal, search)
    attacked_text = AttackedText(text)
    goal.init_attack_example(attacked_text, target)
    victim.texts = []  # the victim records every text it scores
    order, search_over = search._get_index_order(attacked_text)
    assert not search_over
    return np.asarray(order).tolist(), list(victim.texts)


@pytest.mark.parametrize("text", TEXTS)
def test_words_are_ranked_by_the_drop_of_the_target_probability_as_in_the_paper(keyword_victim, text):
    target = XMTCTarget(["acq", "earn"], "earn", 1)
    order, queried = ranking(GreedyWordSwapWIRFast(unk_token="<UNK>"), PositiveTargetedTopK(keyword_victim, k=1),
                             keyword_victim, text, target)
    _, textattack_queried = ranking(GreedyWordSwapWIR(wir_method="unk", unk_token="<UNK>"),
                                    PositiveTargetedTopK(keyword_victim, k=1), keyword_victim, text, target)
    assert queried == textattack_queried  # the same leave-one-out texts, in the same order
    earn = keyword_victim.labels.index("earn")
    original = float(keyword_victim([text])[0, earn])
    drops = [original - float(keyword_victim([query])[0, earn]) for query in queried]
    indices = [i for i, word in enumerate(AttackedText(text).words) if word not in {"and", "of"}]
    assert len(indices) == len(queried)  # stopwords are never ranked
    expected = [indices[j] for j in sorted(range(len(drops)), key=lambda j: -drops[j])]  # ties: text order
    assert order == expected
    assert any("<UNK>" in query for query in queried)


@pytest.mark.parametrize("text", TEXTS)
def test_goals_without_their_own_importance_rank_words_like_textattack(keyword_victim, text):
    target = XMTCTarget(["acq", "earn"], "auto", 1)
    goal = UntargetedTopK(keyword_victim, k=1)
    order, queried = ranking(GreedyWordSwapWIRFast(unk_token="<UNK>"), goal, keyword_victim, text, target)
    reference, textattack_queried = ranking(GreedyWordSwapWIR(wir_method="unk", unk_token="<UNK>"),
                                            UntargetedTopK(keyword_victim, k=1), keyword_victim, text, target)
    assert queried == textattack_queried
    scores = [goal.get_result(AttackedText(query))[0].score for query in queried]
    indices = sorted(reference)
    assert order == [indices[j] for j in sorted(range(len(scores)), key=lambda j: -scores[j])]
    # TextAttack's sort is not stable: words of equal importance may come in another order there.
    assert sorted(order) == indices


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
