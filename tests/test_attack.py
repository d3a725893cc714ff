"""XMTCAttack: what it prints before a run and how its summary tables are laid out."""
import io

import pytest
import textattack
from textattack.loggers import AttackLogManager

from textattack_xmtc import XMTCPositive
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget

TEXT = "The company announced the acquisition of more shares in its rival firm today"


def test_printed_attack_names_candidate_source_and_encoder(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    for shown in (str(attack), repr(attack)):
        assert "(candidate source):  GloVe" in shown
        assert "(similarity encoder):  none" in shown


def test_summary_tables_start_on_their_own_lines(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True)
    results = textattack.Attacker(attack, XMTCDataset([(TEXT, XMTCTarget(["acq"], "acq"))]),
                                  args).attack_dataset()
    manager = AttackLogManager(metrics=None)
    manager.add_output_file(io.StringIO(), color_method=None)
    out = manager.loggers[0].fout = io.StringIO()
    manager.loggers[0].stdout = True
    manager.log_results(results)
    lines = out.getvalue().splitlines()
    for title in ("XMTC metrics (Qaraei & Babbar)", "XMTC attack components"):
        [at] = [i for i, line in enumerate(lines) if title in line]
        # the border above the title is this table's own, not glued to the previous table's
        assert len(lines[at - 1]) == len(lines[at]), out.getvalue()


def test_summary_says_what_each_figure_averages_over_and_the_runs_provenance(keyword_victim):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True, random_seed=4)
    results = textattack.Attacker(attack, XMTCDataset([(TEXT, XMTCTarget(["acq"], "acq"))]),
                                  args).attack_dataset()
    manager = AttackLogManager(metrics=None)
    manager.add_output_file(out := io.StringIO(), color_method=None)
    manager.log_results(results)
    text = out.getvalue()
    assert "Success rate: successes with < 10% of words changed / targets attacked" in text
    assert "split(' ')" in text
    assert "Seed (--random-seed): 4" in text and "Victim architecture: KeywordVictim" in text
    assert "textattack-xmtc version:" in text and "TextAttack version: 0.3.11" in text


def test_attack_keeps_the_options_it_was_built_with_and_records_them(keyword_victim):
    from textattack.search_methods import GreedySearch
    from textattack.transformations import WordSwapRandomCharacterDeletion

    from textattack_xmtc.attack import XMTCAttack
    from textattack_xmtc.goal_functions import PositiveTargetedTopK

    options = {"k": 1, "encoder": "none"}
    attack = XMTCAttack(PositiveTargetedTopK(keyword_victim, k=1), [], WordSwapRandomCharacterDeletion(),
                        GreedySearch(), options=options)
    options["k"] = 99  # resolved once at build time: later changes to the caller's dict do not count
    result = attack.attack(TEXT, XMTCTarget(["acq"], "acq"))
    assert result.xmtc.options == {"k": 1, "encoder": "none"}
    assert result.perturbed_result.record is result.xmtc


def test_a_victim_with_non_finite_scores_ends_a_command_line_run_with_one_line(table_victim):
    from textattack_xmtc import XMTCPositive
    from textattack_xmtc.datasets import XMTCTarget
    from textattack_xmtc.goal_functions.topk import NonFiniteScoresError

    victim = table_victim({}, ["a", "b", "c"], default=[0.9, float("nan"), 0.1])
    attack = XMTCPositive.build(victim, k=1, encoder="none")
    with pytest.raises(NonFiniteScoresError):  # in Python: an exception to catch
        attack.attack("some words here", XMTCTarget(["a"], "a", 1))
    attack.exit_on_model_errors = True  # as the command line sets it
    with pytest.raises(SystemExit, match="textattack-xmtc: error: .*non-finite scores"):
        attack.attack("some words here", XMTCTarget(["a"], "a", 1))


def test_an_example_is_attacked_with_young_collections_deferred_and_the_thresholds_come_back(keyword_victim):
    import gc

    from textattack.search_methods import GreedySearch
    from textattack.transformations import WordSwapRandomCharacterDeletion

    from textattack_xmtc.attack import XMTCAttack
    from textattack_xmtc.goal_functions import PositiveTargetedTopK
    from textattack_xmtc.shared.memory import ATTACK_GC_THRESHOLD

    seen = []

    class Watching(PositiveTargetedTopK):
        def _call_model(self, texts):
            seen.append(gc.get_threshold()[0])
            return super()._call_model(texts)

    attack = XMTCAttack(Watching(keyword_victim, k=1), [], WordSwapRandomCharacterDeletion(), GreedySearch())
    before = gc.get_threshold()
    attack.attack(TEXT, XMTCTarget(["acq"], "acq"))
    assert seen and set(seen) == {ATTACK_GC_THRESHOLD}
    assert gc.get_threshold() == before


def test_a_caller_s_own_rarer_collections_are_kept():
    import gc

    from textattack_xmtc.shared.memory import fewer_collections

    before = gc.get_threshold()
    try:
        for own in (0, 10 ** 6):  # collection switched off; rarer than ours
            gc.set_threshold(own, *before[1:])
            with fewer_collections(threshold=20_000):
                assert gc.get_threshold()[0] == own
            assert gc.get_threshold()[0] == own
    finally:
        gc.set_threshold(*before)
