"""Exact semantics of the top-k goal functions (DESIGN.md section 1)."""
import pytest
import torch
from textattack.goal_function_results import GoalFunctionResultStatus as Status
from textattack.shared import AttackedText

from textattack_xmtc.datasets.targets import XMTCTarget
from textattack_xmtc.goal_functions import NegativeTargetedTopK, PositiveTargetedTopK, UntargetedTopK

LABELS = ["a", "b", "c", "d", "e", "f", "g", "h"]
#            a    b    c    d    e    f    g    h
ORIGINAL = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
B_DROPPED = [0.9, 0.1, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]   # b falls to rank 8
G_RAISED = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.56, 0.2]  # g climbs to rank 5


def start(goal, text, **target):
    return goal.init_attack_example(AttackedText(text), XMTCTarget(**target))[0]


def evaluate(goal, text):
    return goal.get_result(AttackedText(text))[0]


@pytest.fixture
def victim(table_victim):
    return table_victim({"orig": ORIGINAL, "b down": B_DROPPED, "g up": G_RAISED}, LABELS)


def test_positive_success_when_target_leaves_top_k(victim):
    goal = PositiveTargetedTopK(victim, k=5)
    first = start(goal, "orig", labels=["b", "h"], target="b")
    assert first.goal_status == Status.SEARCHING
    assert (first.output.rank, first.output.label) == (2, "b")
    after = evaluate(goal, "b down")
    assert after.goal_status == Status.SUCCEEDED and after.output.rank == 8
    assert after.score > first.score  # the margin grows as the goal gets closer
    assert evaluate(goal, "g up").goal_status == Status.SEARCHING


@pytest.mark.parametrize("target, labels, reason", [
    ("c", ["b"], "not a true label"),
    ("g", ["g"], "already outside the top-5"),
])
def test_positive_skips_with_reason(victim, target, labels, reason):
    result = start(PositiveTargetedTopK(victim, k=5), "orig", labels=labels, target=target)
    assert result.goal_status == Status.SKIPPED
    assert reason in result.skip_reason


def test_negative_success_when_target_enters_top_k(victim):
    goal = NegativeTargetedTopK(victim, k=5)
    first = start(goal, "orig", labels=["a"], target="g")
    assert first.goal_status == Status.SEARCHING and first.output.rank == 7
    after = evaluate(goal, "g up")
    assert after.goal_status == Status.SUCCEEDED and after.output.rank == 5
    assert after.score > first.score


@pytest.mark.parametrize("target, labels, reason", [
    ("g", ["g"], "is a true label"),
    ("c", ["a"], "already in the top-5"),
])
def test_negative_skips_with_reason(victim, target, labels, reason):
    result = start(NegativeTargetedTopK(victim, k=5), "orig", labels=labels, target=target)
    assert result.goal_status == Status.SKIPPED and reason in result.skip_reason


def test_ties_go_to_the_lower_label_index(table_victim):
    victim = table_victim({"flat": [0.5] * 8}, LABELS)
    goal = PositiveTargetedTopK(victim, k=5)
    assert start(goal, "flat", labels=["a"], target="a").output.rank == 1
    tied_outside = start(goal, "flat", labels=["g"], target="g")
    assert tied_outside.output.rank == 7 and tied_outside.goal_status == Status.SKIPPED
    assert start(goal, "flat", labels=["e"], target="e").output.rank == 5  # last place inside


def test_k_at_least_number_of_labels_is_skipped(victim):
    for goal_class in (PositiveTargetedTopK, NegativeTargetedTopK, UntargetedTopK):
        result = start(goal_class(victim, k=5), "orig", labels=["a"], target="a", k=8)
        assert result.goal_status == Status.SKIPPED
        assert "every label is always in the top-k" in result.skip_reason


def test_a_row_skipped_for_its_k_names_its_own_target_not_the_previous_row_s(victim):
    goal = PositiveTargetedTopK(victim, k=5)
    start(goal, "orig", labels=["b"], target="b")
    skipped = start(goal, "orig", labels=["a"], target="a", k=8)
    assert skipped.goal_status == Status.SKIPPED
    assert skipped.output.label == "a" and skipped.output.rank == 1


def test_a_text_without_words_is_skipped(table_victim):
    victim = table_victim({}, LABELS, default=ORIGINAL)
    for goal_class in (PositiveTargetedTopK, NegativeTargetedTopK, UntargetedTopK):
        result = start(goal_class(victim, k=5), "!!! ??? ...", labels=["a"], target="auto")
        assert result.goal_status == Status.SKIPPED
        assert result.skip_reason == "the text has no words to change"


def test_a_score_type_contradicting_the_wrapper_and_a_bad_batch_size_are_refused(victim):
    with pytest.raises(ValueError, match="returns probabilities, so score_type='logits'"):
        PositiveTargetedTopK(victim, score_type="logits")
    for size in (0, -1):
        with pytest.raises(ValueError, match="model_batch_size"):
            PositiveTargetedTopK(victim, model_batch_size=size)


def test_row_k_overrides_default_and_index_targets(victim):
    goal = PositiveTargetedTopK(victim, k=5)
    first = start(goal, "orig", labels=["c"], target=2, k=2)  # label index 2 is "c", rank 3 > 2
    assert first.goal_status == Status.SKIPPED and "top-2" in first.skip_reason


def test_ranks_use_raw_logits_even_when_sigmoid_saturates(table_victim):
    # sigmoid(30) == sigmoid(40) == 1.0 in float32: ranks must still tell them apart.
    victim = table_victim({"x": [30.0, 40.0, -5.0]}, ["p", "q", "r"], score_type="logits")
    goal = PositiveTargetedTopK(victim, k=1)
    result = start(goal, "x", labels=["p"], target="p")
    assert result.output.rank == 2 and result.goal_status == Status.SKIPPED
    assert -1.0 <= result.score <= 1.0


def test_untargeted(victim):
    goal = UntargetedTopK(victim, k=5)
    first = start(goal, "orig", labels=["b", "g"], target="auto")
    assert first.goal_status == Status.SEARCHING and first.output.label == "b"
    assert evaluate(goal, "b down").goal_status == Status.SUCCEEDED
    assert evaluate(goal, "g up").goal_status == Status.SEARCHING
    skipped = start(goal, "orig", labels=["g", "h"], target="auto")
    assert skipped.goal_status == Status.SKIPPED and "no true label" in skipped.skip_reason


def test_auto_targets(victim):
    positive = start(PositiveTargetedTopK(victim, k=5), "orig", labels=["a", "c", "h"], target="auto")
    assert positive.output.label == "c"  # lowest-ranked true label still in the top-k
    negative = start(NegativeTargetedTopK(victim, k=5), "orig", labels=["f"], target="auto")
    assert negative.output.label == "g"  # best false label outside the top-k


def test_cache_is_cleared_between_examples(victim):
    goal = PositiveTargetedTopK(victim, k=5)
    start(goal, "orig", labels=["b"], target="b")
    evaluate(goal, "b down")
    start(goal, "orig", labels=["c"], target="c")
    assert evaluate(goal, "b down").output.label == "c"  # not the cached answer about "b"


def test_outputs_keep_a_few_numbers_not_the_score_vector(table_victim):
    scores = torch.linspace(1, 0, 1000).tolist()
    victim = table_victim({"t": scores}, [str(i) for i in range(1000)])
    goal = PositiveTargetedTopK(victim, k=5)
    result = start(goal, "t", labels=["3"], target="3")
    assert result.raw_output.size <= 5
    assert all(value.size <= 5 for value in goal._call_model_cache.values())


def test_initial_text_costs_one_model_call(victim):
    goal = PositiveTargetedTopK(victim, k=5)
    start(goal, "orig", labels=["b"], target="b")
    assert len(victim.calls) == 1


def test_one_word_of_48_candidates_is_one_model_call(table_victim):
    victim = table_victim({"orig": ORIGINAL}, LABELS, default=ORIGINAL)
    goal = PositiveTargetedTopK(victim, k=5)
    start(goal, "orig", labels=["b"], target="b")
    goal.get_results([AttackedText(f"candidate {i}") for i in range(48)])
    assert [len(call) for call in victim.calls] == [1, 48]
    small = PositiveTargetedTopK(victim, k=5, model_batch_size=20)
    start(small, "orig", labels=["b"], target="b")
    victim.calls.clear()
    small.get_results([AttackedText(f"other {i}") for i in range(48)])
    assert [len(call) for call in victim.calls] == [20, 20, 8]


def test_score_type_must_be_known(victim):
    class Anonymous:
        model = torch.nn.Linear(1, 1)

        def __call__(self, texts):
            return torch.zeros(len(texts), 3)

    with pytest.raises(ValueError, match="probabilities or logits"):
        PositiveTargetedTopK(Anonymous())
    goal = PositiveTargetedTopK(Anonymous(), score_type="logits", labels=["x", "y", "z"])
    assert start(goal, "t", labels=["x"], target="x").output.rank == 1


def test_bad_ground_truth_is_explained(victim):
    goal = PositiveTargetedTopK(victim)
    with pytest.raises(TypeError, match="XMTCTarget"):
        goal.init_attack_example(AttackedText("orig"), "acq")


def test_wrong_output_shape_is_explained(table_victim):
    class Broken(table_victim):
        def __call__(self, texts):
            return torch.zeros(len(texts))

    goal = PositiveTargetedTopK(Broken({}, ["x"]))
    with pytest.raises(TypeError, match=r"\[batch, num_labels\]"):
        start(goal, "t", labels=["x"], target="x")


# -- word importance: the paper's, by the target's probability alone ------------------

def leave_one_out(goal, texts):
    return goal.word_importance([AttackedText(text) for text in texts])


def test_positive_importance_is_the_drop_of_the_target_probability(victim):
    goal = PositiveTargetedTopK(victim, k=5)
    start(goal, "orig", labels=["b"], target="b")
    importance, search_over = leave_one_out(goal, ["b down", "g up", "orig"])
    assert importance == pytest.approx([0.8 - 0.1, 0.0, 0.0])
    assert not search_over
    assert goal.num_queries == 1 + 3  # the initial text, then one query per text, as TextAttack counts


def test_negative_importance_is_the_rise_of_the_target_probability(victim):
    goal = NegativeTargetedTopK(victim, k=4)
    start(goal, "orig", labels=["a"], target="g")
    importance, _ = leave_one_out(goal, ["g up", "b down"])
    assert importance == pytest.approx([0.56 - 0.3, 0.0])


def test_importance_asks_the_wrapper_for_the_target_column_only(victim):
    asked = []

    class OneColumn(type(victim)):
        def label_scores(self, texts, labels):
            asked.append(list(labels))
            return super().label_scores(texts, labels)

    goal = PositiveTargetedTopK(OneColumn({"orig": ORIGINAL, "b down": B_DROPPED}, LABELS), k=5)
    start(goal, "orig", labels=["c"], target="c")
    importance, _ = leave_one_out(goal, ["b down", "orig"])
    assert asked == [[2]]
    assert importance == pytest.approx([0.0, 0.0])


def test_importance_of_a_wrapper_without_label_scores_uses_its_whole_output():
    class Plain:  # any TextAttack wrapper returning [B, L]
        model = torch.nn.Linear(1, 1)

        def __call__(self, texts):
            return torch.tensor([[0.9, 0.2 if "x" in text else 0.8] for text in texts])

    goal = PositiveTargetedTopK(Plain(), score_type="probabilities", labels=["p", "q"], k=1)
    start(goal, "orig", labels=["p"], target="p")
    importance, _ = leave_one_out(goal, ["x", "y"])
    assert importance == pytest.approx([0.0, 0.0])  # p is unchanged by both
    goal = PositiveTargetedTopK(Plain(), score_type="probabilities", labels=["p", "q"], k=2)
    start(goal, "orig", labels=["q"], target="q")
    assert leave_one_out(goal, ["x", "y"])[0] == pytest.approx([0.6, 0.0])


def test_importance_stops_at_the_query_budget(victim):
    goal = PositiveTargetedTopK(victim, k=5, query_budget=3)
    start(goal, "orig", labels=["b"], target="b")
    importance, search_over = leave_one_out(goal, ["b down", "g up", "orig"])
    assert len(importance) == 2 and search_over
    assert goal.num_queries == 3


def test_untargeted_importance_is_textattack_s_goal_score(victim):
    goal = UntargetedTopK(victim, k=5)
    start(goal, "orig", labels=["b"])
    importance, _ = leave_one_out(goal, ["b down", "orig"])
    expected = [goal.get_result(AttackedText(text))[0].score for text in ("b down", "orig")]
    assert importance.tolist() == pytest.approx(expected)


# -- hostile inputs and what a skipped row shows ------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_scores_are_an_error_not_a_robust_model(table_victim, bad):
    from textattack_xmtc.goal_functions.topk import NonFiniteScoresError

    victim = table_victim({"orig": ORIGINAL[:-1] + [bad]}, LABELS)
    with pytest.raises(NonFiniteScoresError, match="non-finite scores"):
        start(PositiveTargetedTopK(victim, k=5), "orig", labels=["a"], target="a")


@pytest.mark.parametrize("goal_class", [PositiveTargetedTopK, UntargetedTopK])
def test_a_skipped_auto_row_names_the_document_s_own_label(victim, goal_class):
    # "g" and "h" are the true labels, both outside the top-5: the row shows "g", not label 0.
    result = start(goal_class(victim, k=5), "orig", labels=["h", "g"], target="auto")
    assert result.goal_status == Status.SKIPPED
    assert (result.output.label, result.output.rank) == ("g", 7)


def test_a_skipped_negative_auto_row_names_a_label_outside_the_top_k(table_victim):
    victim = table_victim({"orig": ORIGINAL}, LABELS)
    result = start(NegativeTargetedTopK(victim, k=5), "orig", labels=["f", "g", "h"], target="auto")
    assert result.goal_status == Status.SKIPPED and result.output.label == "f"


def test_an_astronomical_k_is_skipped_not_an_overflow(victim):
    for goal_class in (PositiveTargetedTopK, NegativeTargetedTopK, UntargetedTopK):
        result = start(goal_class(victim, k=5), "orig", labels=["a"], target="auto", k=10 ** 40)
        assert result.goal_status == Status.SKIPPED and "only 8 labels" in result.skip_reason


def test_rows_overriding_the_default_k_are_counted_and_said_once(victim, monkeypatch):
    from textattack_xmtc.goal_functions import topk

    said = []
    monkeypatch.setattr(topk.logger, "warning", said.append)
    goal = PositiveTargetedTopK(victim, k=1)
    for _ in range(3):
        start(goal, "orig", labels=["b"], target="b", k=5)
    start(goal, "orig", labels=["a"], target="a")
    assert goal.k_overrides == 3
    assert sum("overrides the default k=1" in line for line in said) == 1


def test_a_huge_document_is_cut_to_what_the_victim_reads(table_victim):
    victim = table_victim({}, LABELS, default=ORIGINAL)
    victim.max_words = 10
    goal = PositiveTargetedTopK(victim, k=5)
    text = " ".join(f"word{i}" for i in range(5000))
    result = start(goal, text, labels=["a"], target="a")
    assert result.attacked_text.num_words == 200  # 20 x 10
    assert result.attacked_text.attack_attrs["xmtc_words_before_cut"] == 5000
    assert start(goal, "a short text", labels=["a"], target="a").attacked_text.text == "a short text"


def test_protected_label_names_are_the_true_labels_and_the_target(victim):
    goal = NegativeTargetedTopK(victim, k=5)
    start(goal, "orig", labels=["a", "b"], target="g")
    assert goal.protected_label_names() == ["a", "b", "g"]
