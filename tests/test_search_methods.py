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


# -- the paper's keep rule, on victims whose every score the test sets --------------

class TableSwap(WordSwap):
    """Candidates from a table, in the table's order (marked as the source's ranking)."""

    def __init__(self, table):
        super().__init__()
        self.table = table

    def _get_transformations(self, current_text, indices_to_modify):
        from textattack_xmtc.transformations.ranked import rank_candidates

        texts = []
        for index in indices_to_modify:
            word = current_text.words[index]
            texts.extend(rank_candidates([current_text.replace_word_at_index(index, candidate)
                                          for candidate in self.table.get(word, [])]))
        return texts


LABELS = ["l0", "l1", "l2", "l3", "l4", "target"]


def table_attack(table_victim, goal_class, scores, candidates, keep, k=5):
    victim = table_victim(scores, LABELS, default=scores["alpha beta"])
    victim.unk_token = "<UNK>"
    goal = goal_class(victim, k=k)
    search = GreedyWordSwapWIRFast(unk_token="<UNK>", keep=keep)
    return Attack(goal, [RepeatModification()], TableSwap(candidates), search)


def outcome(attack, target):
    result = attack.attack("alpha beta", target)
    return type(result).__name__, result.perturbed_result.attacked_text.text


@pytest.mark.parametrize("target_before, target_after", [
    (0.01, 0.10),   # the 5th label rises more than the target: the margin worsens
    (1e-9, 1.4e-9),  # the margin 0.5 - p rounds to the same float32 either way
])
def test_a_negative_attack_keeps_what_lifts_the_target_as_the_paper_does(table_victim, target_before,
                                                                        target_after):
    from textattack_xmtc.goal_functions import NegativeTargetedTopK

    fifth_after = 0.6 if target_before == 0.01 else 0.5
    scores = {
        "alpha beta": [0.9, 0.8, 0.7, 0.6, 0.5, target_before],
        "lift beta": [0.9, 0.8, 0.7, 0.6, fifth_after, target_after],
        "lift gamma": [0.9, 0.8, 0.7, 0.6, 0.5, 0.65],   # in the top-5: success
        "alpha gamma": [0.9, 0.8, 0.7, 0.6, 0.5, 0.2],   # without "lift": not enough
    }
    candidates = {"alpha": ["lift"], "beta": ["gamma"]}
    target = XMTCTarget(["l0"], "target", 5)
    assert outcome(table_attack(table_victim, NegativeTargetedTopK, scores, candidates, "target"), target) == \
        ("SuccessfulAttackResult", "lift gamma")
    assert outcome(table_attack(table_victim, NegativeTargetedTopK, scores, candidates, "margin"), target) == \
        ("FailedAttackResult", "alpha gamma")


def test_a_change_that_does_not_move_the_target_is_not_kept(table_victim):
    # "still" improves the margin (the 5th-best other label rises) but leaves the target alone.
    scores = {
        "alpha beta": [0.96, 0.8, 0.7, 0.6, 0.5, 0.95],
        "still beta": [0.96, 0.8, 0.7, 0.6, 0.9, 0.95],
    }
    candidates = {"alpha": ["still"]}
    target = XMTCTarget(["target"], "target", 5)
    assert outcome(table_attack(table_victim, PositiveTargetedTopK, scores, candidates, "target"), target) == \
        ("FailedAttackResult", "alpha beta")
    assert outcome(table_attack(table_victim, PositiveTargetedTopK, scores, candidates, "margin"), target) == \
        ("FailedAttackResult", "still beta")


def test_the_first_success_in_the_source_s_order_wins(table_victim):
    # Both candidates push the target out; TextAttack sorts texts alphabetically and takes the
    # best score, the paper takes the first candidate its source proposed.
    scores = {
        "alpha beta": [0.9, 0.8, 0.7, 0.6, 0.5, 0.95],
        "zulu beta": [0.9, 0.8, 0.7, 0.6, 0.5, 0.40],
        "bravo beta": [0.9, 0.8, 0.7, 0.6, 0.5, 0.10],
    }
    candidates = {"alpha": ["zulu", "bravo"]}
    target = XMTCTarget(["target"], "target", 5)
    assert outcome(table_attack(table_victim, PositiveTargetedTopK, scores, candidates, "target"), target) == \
        ("SuccessfulAttackResult", "zulu beta")
    assert outcome(table_attack(table_victim, PositiveTargetedTopK, scores, candidates, "margin"), target) == \
        ("SuccessfulAttackResult", "bravo beta")


def test_equally_important_words_are_tried_in_text_order(table_victim):
    # Only words 3, 40 and 45 may change; as a set, {3, 40, 45} iterates 40, 3, 45.
    words = [f"w{i}" for i in range(50)]
    text = " ".join(words)
    victim = table_victim({}, LABELS, default=[0.9, 0.8, 0.7, 0.6, 0.5, 0.95])
    goal = PositiveTargetedTopK(victim, k=5)
    search = GreedyWordSwapWIRFast(unk_token="<UNK>", keep="target")
    stopwords = set(words) - {"w3", "w40", "w45"}
    Attack(goal, [StopwordModification(stopwords=stopwords)], SwapToFixedWords(), search)
    attacked_text = AttackedText(text)
    goal.init_attack_example(attacked_text, XMTCTarget(["target"], "target", 5))
    order, _ = search._get_index_order(attacked_text)
    assert np.asarray(order).tolist() == [3, 40, 45]


class SwapWordsWithCandidates(SwapToFixedWords):
    """``SwapToFixedWords`` that says which words have candidates: only those in ``words``."""

    def __init__(self, words):
        super().__init__()
        self.words = set(words)

    def _get_transformations(self, current_text, indices_to_modify):
        indices = [i for i in indices_to_modify if current_text.words[i] in self.words]
        return super()._get_transformations(current_text, indices)

    def has_candidates(self, text, index):
        return text.words[index] in self.words


def test_words_that_can_have_no_candidate_are_not_ranked_and_the_attack_is_the_same(keyword_victim):
    text = TEXTS[0]
    swappable = {"acquisition", "profit", "dividend"}
    target = XMTCTarget(["acq", "earn"], "earn", 1)

    def run(transformation):
        search = GreedyWordSwapWIRFast(unk_token="<UNK>", keep="target")
        attack = Attack(PositiveTargetedTopK(keyword_victim, k=1),
                        [RepeatModification(), StopwordModification(stopwords={"and", "of"})],
                        transformation, search)
        attacked_text = AttackedText(text)
        attack.goal_function.init_attack_example(attacked_text, target)
        keyword_victim.texts = []
        order, _ = search._get_index_order(attacked_text)
        ranked_texts = list(keyword_victim.texts)
        result = attack.attack(text, target)
        return np.asarray(order).tolist(), ranked_texts, result

    order, queried, result = run(SwapWordsWithCandidates(swappable))
    unknown = SwapWordsWithCandidates(swappable)
    unknown.has_candidates = None  # a transformation that cannot tell: every word is ranked
    full_order, full_queried, full_result = run(unknown)
    words = AttackedText(text).words
    assert sorted(words[i] for i in order) == sorted(swappable)
    assert len(queried) == len(swappable) < len(full_queried)
    assert order == [i for i in full_order if words[i] in swappable]  # the others keep their order
    assert type(result) is type(full_result)
    assert result.perturbed_result.attacked_text.text == full_result.perturbed_result.attacked_text.text
