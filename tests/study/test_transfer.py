"""Transferability: a real run on one tiny AttentionXML, rescored on a second one trained here too."""
import json
import os

import pytest
import torch

from commands import write_targets
from conftest import KeywordVictim, TableVictim, synthetic_corpus
from textattack_xmtc.goal_functions.topk import NonFiniteScoresError
from textattack_xmtc.model_wrappers import load_victim
from textattack_xmtc.study.experiment import ExperimentConfig, run_experiment
from textattack_xmtc.study.transfer import (
    ALREADY_MET,
    TRANSFER_FILE,
    TransferError,
    read_transfer_rows,
    rescore_run,
    transfer_victims,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(epochs=10, batch_size=16, lr=5e-3, hidden_size=16, linear_size=[16], emb_size=16, glove_init=False,
            progress=False, log=lambda *_: None)


def train_victim(directory, loss="bce", seed=0):
    from textattack_xmtc.training.attentionxml import train_attentionxml

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures run before one_torch_thread
    try:
        wrapper, _ = train_attentionxml(synthetic_corpus(240, seed), None, seed=seed, loss=loss, **TINY)
    finally:
        torch.set_num_threads(threads)
    wrapper.save(directory)
    return directory


def pos_targets(count, seed=5, k=2):
    corpus = synthetic_corpus(count, seed)
    return [{"text": text, "labels": labels, "target": labels[0], "k": k, "bin": ["1-5", "6-20"][i % 2],
             "attack": "pos", "label_frequency": 3 + i % 2, "selection_seed": seed, "document": i}
            for i, (text, labels) in enumerate(zip(corpus.texts, corpus.labels))]


def attack(model, targets, out, recipe="xmtc-pos"):
    """run_experiment, with no recipe option from the caller's XMTC_* variables."""
    hidden = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("XMTC_")}
    try:
        config = ExperimentConfig(model=str(model), targets=str(targets), recipe=recipe, out=str(out),
                                  options={"encoder": "none", "threads": 1}, progress=False)
        return run_experiment(config, log=lambda _: None)
    finally:
        os.environ.update(hidden)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Victims A (bce, seed 0) and B (pw, seed 1), and a run of xmtc-pos on A."""
    root = tmp_path_factory.mktemp("transfer")
    first = train_victim(root / "victim-a", "bce", seed=0)
    second = train_victim(root / "victim-b", "pw", seed=1)
    targets = write_targets(root / "targets.jsonl", pos_targets(16))
    rows = attack(first, targets, root / "run")
    return dict(first=first, second=second, targets=targets, run=root / "run", rows=rows)


def fresh_copy(study, tmp_path):
    """The run directory without transfer rows (each test rescores its own copy)."""
    run = tmp_path / "run"
    run.mkdir()
    for name in ("run.json", "results.jsonl"):
        (run / name).write_bytes((study["run"] / name).read_bytes())
    return run


def successes(rows):
    return [row for row in rows if row["status"] == "succeeded"]


def test_transfer_rows_match_a_plain_topk_on_the_second_victim(study, tmp_path):
    run = fresh_copy(study, tmp_path)
    wins = successes(study["rows"])
    assert len(wins) >= 4, [row["status"] for row in study["rows"]]  # the case must have something to check
    summary = rescore_run(run, str(study["second"]), progress=False)
    rows = read_transfer_rows(run)
    assert [row["target_number"] for row in rows] == [row["target_number"] for row in wins]
    assert summary.added == len(wins) and summary.rows == rows

    second = load_victim(str(study["second"]))
    outcomes = set()
    for win, row in zip(wins, rows):
        with torch.no_grad():
            scores = second([win["original_text"], win["perturbed_text"]])
        column = second.labels.index(win["label"])  # by name: the two victims order labels their own way
        top = scores.topk(win["k"], dim=1).indices
        before, after = column in top[0].tolist(), column in top[1].tolist()
        assert (row["in_top_k_before"], row["in_top_k_after"]) == (before, after), row
        assert row["rank_before"] == 1 + int((scores[0] > scores[0, column]).sum())
        assert row["rank_after"] == 1 + int((scores[1] > scores[1, column]).sum())
        expected = None if not before else (not after)  # pos: already out of the top-k means already met
        assert row["transferred"] == expected, row
        assert row["reason"] == (ALREADY_MET if not before else None)
        assert row["model"] == str(study["second"]) and row["victim"] == second.identity()
        assert (row["label"], row["k"], row["attack_kind"]) == (win["label"], win["k"], "pos")
        outcomes.add(expected)
    judged = [row for row in rows if row["transferred"] is not None]
    assert summary.judged == len(judged) and summary.transferred == sum(row["transferred"] for row in judged)
    assert summary.text().startswith(f"transfers to {study['second']}: {summary.transferred} of {len(judged)} "
                                     "successes (")
    assert summary.text().endswith(f"; {summary.already_met} already met on the original; 0 label unknown")
    print("outcomes on the second victim:", outcomes, summary.text())


def test_on_the_attacked_victim_itself_every_success_transfers(study, tmp_path):
    run = fresh_copy(study, tmp_path)
    summary = rescore_run(run, str(study["first"]), progress=False)
    wins = successes(study["rows"])
    assert [row["transferred"] for row in summary.rows] == [True] * len(wins)
    assert [row["rank_before"] for row in summary.rows] == [win["rank_before"] for win in wins]
    assert [row["rank_after"] for row in summary.rows] == [win["rank_after"] for win in wins]
    assert summary.text().endswith(f"{len(wins)} of {len(wins)} successes (100.0%); 0 already met on the "
                                   "original; 0 label unknown")


def test_rescoring_again_adds_nothing_and_another_victim_adds_its_rows(study, tmp_path):
    run = fresh_copy(study, tmp_path)
    rescore_run(run, str(study["second"]), progress=False)
    written = (run / TRANSFER_FILE).read_bytes()
    again = rescore_run(run, str(study["second"]), progress=False)
    assert again.added == 0 and (run / TRANSFER_FILE).read_bytes() == written
    assert len(again.rows) == len(successes(study["rows"]))
    other = rescore_run(run, str(study["first"]), progress=False)
    assert other.added == len(successes(study["rows"]))
    assert (run / TRANSFER_FILE).read_bytes().startswith(written)
    assert sorted(transfer_victims(read_transfer_rows(run))) == ["victim-a", "victim-b"]


def test_a_torn_last_line_is_cut_off_and_its_target_rescored(study, tmp_path):
    run = fresh_copy(study, tmp_path)
    rescore_run(run, str(study["second"]), progress=False)
    complete = (run / TRANSFER_FILE).read_bytes()
    lines = complete.splitlines(keepends=True)
    (run / TRANSFER_FILE).write_bytes(b"".join(lines[:-1]) + lines[-1][:25])  # killed mid-write
    with pytest.raises(TransferError, match=f"{TRANSFER_FILE}:{len(lines)} is an unfinished row"):
        read_transfer_rows(run)  # the report reads without repairing
    said = []
    summary = rescore_run(run, str(study["second"]), progress=False, log=said.append)
    assert summary.added == 1 and "cut off a torn last row" in said[0]
    assert (run / TRANSFER_FILE).read_bytes() == complete
    damaged = lines[:]
    damaged[0] = b"{not json\n"
    (run / TRANSFER_FILE).write_bytes(b"".join(damaged))
    with pytest.raises(TransferError, match=f"{TRANSFER_FILE}:1 is not a transfer row"):
        rescore_run(run, str(study["second"]), progress=False)
    assert (run / TRANSFER_FILE).read_bytes() == b"".join(damaged)  # nothing of the user's is lost


def test_a_label_the_second_victim_lacks_is_null_with_a_reason(study, tmp_path):
    run = fresh_copy(study, tmp_path)
    # Knows every label but "weather"; "fruit" keywords score high, the rest stays low.
    keywords = {word: {"fruit": 3.0} for word in ("apple", "banana", "orange")}
    second = KeywordVictim(keywords, ["fruit", "metal", "sport"])
    summary = rescore_run(run, second, progress=False, model_name="no-weather")
    by_label = {}
    for row in summary.rows:
        by_label.setdefault(row["label"], []).append(row)
    assert "weather" in by_label, "the run must have a success on 'weather' for this case"
    for row in by_label["weather"]:
        assert row["transferred"] is None and row["rank_before"] is None
        assert row["reason"] == "label 'weather' is not among the 3 labels of no-weather"
    assert summary.unknown_label == len(by_label["weather"])
    assert f"; {len(by_label['weather'])} label unknown" in summary.text()


def hand_run(directory, rows):
    directory.mkdir()
    (directory / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return directory


def hand_row(number, attack, label, original, perturbed, k=1, status="succeeded"):
    return {"target_number": number, "status": status, "attack": attack, "label": label, "k": k,
            "attack_kind": None, "bin": "1-5", "original_text": original, "perturbed_text": perturbed}


def test_goals_by_hand_for_both_attacks(tmp_path):
    table = {"a": [0.9, 0.1, 0.5], "b": [0.1, 0.9, 0.5], "c": [0.5, 0.5, 0.1]}
    victim = TableVictim(table, ["x", "y", "z"])
    rows = [hand_row(0, "positive-targeted", "x", "a", "b"),  # x: rank 1 -> 3: transfers
            hand_row(1, "positive-targeted", "x", "b", "a"),  # x already out of the top-1
            hand_row(2, "negative-targeted", "y", "a", "b"),  # y: rank 3 -> 1: transfers
            hand_row(3, "negative-targeted", "y", "a", "c", k=1),  # y ties x at 0.5: x wins (lower index)
            hand_row(4, "negative-targeted", "y", "b", "a"),  # y already in the top-1
            hand_row(5, "positive-targeted", "x", "a", "b", status="failed")]  # not a success: not rescored
    summary = rescore_run(hand_run(tmp_path / "run", rows), victim, progress=False, model_name="table")
    got = [(row["target_number"], row["rank_before"], row["rank_after"], row["transferred"], row["reason"])
           for row in summary.rows]
    assert got == [(0, 1, 3, True, None), (1, 3, 1, None, ALREADY_MET), (2, 3, 1, True, None),
                   (3, 3, 2, False, None), (4, 1, 3, None, ALREADY_MET)]
    assert [row["attack_kind"] for row in summary.rows] == ["pos", "pos", "neg", "neg", "neg"]
    assert summary.text() == ("transfers to table: 2 of 3 successes (66.7%); 2 already met on the original; "
                              "0 label unknown")


def test_nan_scores_are_an_error(tmp_path):
    victim = TableVictim({"a": [0.9, float("nan")], "b": [0.1, 0.2]}, ["x", "y"])
    run = hand_run(tmp_path / "run", [hand_row(0, "positive-targeted", "x", "a", "b")])
    with pytest.raises(NonFiniteScoresError, match="non-finite scores"):
        rescore_run(run, victim, progress=False)
    assert not (run / TRANSFER_FILE).exists() or (run / TRANSFER_FILE).read_bytes() == b""


def test_a_directory_without_results_or_a_missing_model_is_one_clear_error(tmp_path):
    with pytest.raises(TransferError, match="has no results.jsonl"):
        rescore_run(tmp_path, TableVictim({}, ["x"]), progress=False)
    run = hand_run(tmp_path / "run", [hand_row(0, "positive-targeted", "x", "a", "b")])
    with pytest.raises(TransferError, match="--rescore-with .*no-such-model: .*no such file or directory"):
        rescore_run(run, str(tmp_path / "no-such-model"), progress=False)


def test_a_run_in_use_is_refused_with_advice_that_fits_rescoring(tmp_path):
    from textattack_xmtc.study.run_directory import lock_run_directory

    run = hand_run(tmp_path / "run", [hand_row(0, "positive-targeted", "x", "a", "b")])
    held = lock_run_directory(run)  # as an experiment (or a second rescoring) writing the run would
    try:
        with pytest.raises(TransferError) as refused:
            rescore_run(run, TableVictim({"a": [0.9], "b": [0.1]}, ["x"]), progress=False)
    finally:
        os.close(held)
    assert str(refused.value) == (f"{run} is in use by another experiment run; "
                                  "wait for the other rescoring/experiment on it to finish")
    assert not (run / TRANSFER_FILE).exists()
    assert rescore_run(run, TableVictim({"a": [0.9], "b": [0.1]}, ["x"]), progress=False).rows  # free again


def test_nan_scores_from_a_victims_own_ranking_name_the_victim(tmp_path):
    # A label tree ranks itself and said only "the model returned NaN or infinite scores": with
    # several --rescore-with models the user could not tell which one was broken.
    class BrokenTree(TableVictim):
        def rank_labels(self, texts, labels, k):
            raise NonFiniteScoresError("the model returned NaN or infinite scores")

        def describe(self):
            return "broken-tree-victim"

    victim = BrokenTree({"a": [0.9, 0.1], "b": [0.1, 0.2]}, ["x", "y"])
    run = hand_run(tmp_path / "run", [hand_row(0, "positive-targeted", "x", "a", "b")])
    with pytest.raises(NonFiniteScoresError, match="broken-tree-victim returned non-finite scores"):
        rescore_run(run, victim, progress=False)
