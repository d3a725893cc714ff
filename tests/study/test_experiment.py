"""The experiment library: resumable runs, crash-safe rows, refused settings, per-target seeding."""
import json
import os
import random

import pytest

from commands import write_targets
from conftest import synthetic_corpus
from textattack_xmtc.study.experiment import (
    ExperimentConfig,
    ExperimentError,
    TargetAttacker,
    _plain_summary,
    resolve_recipe_options,
    run_experiment,
    seed_target,
)
from textattack_xmtc.study.run_directory import (
    RESULTS_FILE,
    RunDirectory,
    RunDirectoryError,
    run_settings,
    settings_difference,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_recipe_variables")


@pytest.fixture
def no_recipe_variables(monkeypatch):
    """Runs resolve options from XMTC_* variables too: none may come from the caller's environment."""
    for name in [name for name in os.environ if name.startswith("XMTC_")]:
        monkeypatch.delenv(name)


def targets_rows(count, seed=5):
    corpus = synthetic_corpus(count, seed)
    return [{"text": text, "labels": labels, "target": labels[0], "k": 1, "bin": ["1-5", "6-20"][i % 2],
             "attack": "pos", "label_frequency": 3 + i % 2, "selection_seed": seed, "document": i}
            for i, (text, labels) in enumerate(zip(corpus.texts, corpus.labels))]


@pytest.fixture
def targets(tmp_path):
    return write_targets(tmp_path / "targets.jsonl", targets_rows(8))


def config(model, targets, out, **changes):
    settings = dict(model=str(model), targets=str(targets), recipe="xmtc-pos", out=str(out),
                    options={"encoder": "none", "threads": 1}, progress=False)
    settings.update(changes)
    return ExperimentConfig(**settings)


def without_seconds(rows):
    return [{name: value for name, value in row.items() if name != "seconds"} for row in rows]


def file_rows(out):
    return [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]


def test_a_run_resumed_anywhere_gives_the_rows_of_an_uninterrupted_run(tiny_attentionxml_dir, targets, tmp_path):
    whole = run_experiment(config(tiny_attentionxml_dir, targets, tmp_path / "whole"), log=lambda _: None)
    assert [row["target_number"] for row in whole] == list(range(8))
    assert all(row["seconds"] > 0 for row in whole)
    assert {row["status"] for row in whole} <= {"succeeded", "failed", "skipped"}
    assert [row["document"] for row in whole] == list(range(8)) and whole[1]["bin"] == "6-20"
    assert whole[0]["original_text"] == targets_rows(8)[0]["text"] and "perturbed_text" in whole[0]

    resumed_out = tmp_path / "resumed"
    first = run_experiment(config(tiny_attentionxml_dir, targets, resumed_out, num_targets=3), log=print)
    assert len(first) == 3
    messages = []
    resumed = run_experiment(config(tiny_attentionxml_dir, targets, resumed_out), log=messages.append)
    assert any("3 of 8 targets already done" in message for message in messages), messages
    assert without_seconds(resumed) == without_seconds(whole)
    assert without_seconds(file_rows(resumed_out)) == without_seconds(whole)
    assert [row["seconds"] for row in resumed[:3]] == [row["seconds"] for row in first]  # not attacked again


def test_a_torn_last_row_is_cut_off_and_its_target_attacked_again(tiny_attentionxml_dir, targets, tmp_path):
    out = tmp_path / "run"
    whole = run_experiment(config(tiny_attentionxml_dir, targets, out), log=lambda _: None)
    results = out / RESULTS_FILE
    lines = results.read_bytes().splitlines(keepends=True)
    results.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # a kill mid-write
    messages = []
    again = run_experiment(config(tiny_attentionxml_dir, targets, out), log=messages.append)
    assert any("torn last row" in message for message in messages), messages
    assert without_seconds(again) == without_seconds(whole)
    assert again[-1]["seconds"] != whole[-1]["seconds"] and again[0]["seconds"] == whole[0]["seconds"]
    assert len(results.read_bytes().splitlines()) == 8


def test_a_damaged_row_before_the_last_is_an_error_not_a_silent_loss(tiny_attentionxml_dir, targets, tmp_path):
    out = tmp_path / "run"
    run_experiment(config(tiny_attentionxml_dir, targets, out, num_targets=2), log=lambda _: None)
    results = out / RESULTS_FILE
    damaged = b"not json\n" + results.read_bytes()
    results.write_bytes(damaged)
    with pytest.raises(RunDirectoryError, match="line 1: not a result row"):
        run_experiment(config(tiny_attentionxml_dir, targets, out), log=lambda _: None)
    assert results.read_bytes() == damaged


@pytest.mark.parametrize("change, named", [
    ({"recipe": "xmtc-neg"}, "was made with recipe xmtc-pos, not xmtc-neg: use another --out"),
    ({"seed": 3}, "was made with seed 0, not 3"),
    ({"options": {"encoder": "none", "k": 2, "threads": 1}}, "recipe option k=5, not k=2"),
])
def test_a_run_directory_with_other_settings_is_refused_and_kept(tiny_attentionxml_dir, tmp_path, change, named):
    # Rows without an "attack" field: every recipe attacks them (select-targets' rows name theirs).
    targets = write_targets(tmp_path / "targets.jsonl", [dict(row, attack=None) for row in targets_rows(8)])
    out = tmp_path / "run"
    run_experiment(config(tiny_attentionxml_dir, targets, out, num_targets=2), log=lambda _: None)
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    with pytest.raises(RunDirectoryError) as error:
        run_experiment(config(tiny_attentionxml_dir, targets, out, **change), log=lambda _: None)
    assert named in str(error.value) and "\n" not in str(error.value)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_another_targets_file_or_model_is_refused(tiny_attentionxml_dir, targets, tmp_path):
    out = tmp_path / "run"
    run_experiment(config(tiny_attentionxml_dir, targets, out, num_targets=1), log=lambda _: None)
    other = write_targets(tmp_path / "other.jsonl", targets_rows(8, seed=6))
    with pytest.raises(RunDirectoryError, match=r"another targets file .*targets.jsonl.*not .*other.jsonl"):
        run_experiment(config(tiny_attentionxml_dir, other, out), log=lambda _: None)
    recorded = json.loads((out / "run.json").read_text())
    wanted = dict(recorded, model="elsewhere", victim=dict(recorded["victim"], weights_sha256="f" * 64))
    assert settings_difference(recorded, wanted).startswith(f"model {str(tiny_attentionxml_dir)!r} (weights")
    faster = dict(recorded, options=dict(recorded["options"], threads=8))
    assert settings_difference(recorded, faster) is None  # threads change speed, not rows


def test_run_json_records_the_run(tiny_attentionxml_dir, targets, tmp_path):
    out = tmp_path / "run"
    rows = run_experiment(config(tiny_attentionxml_dir, targets, out, seed=4, num_targets=1), log=lambda _: None)
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["format"] == "textattack-xmtc-run" and recorded["version"] == 1
    assert recorded["recipe"] == "xmtc-pos" and recorded["seed"] == 4 == rows[0]["seed"]
    assert recorded["targets"]["rows"] == 8 and recorded["targets"]["path"] == str(targets.resolve())
    assert recorded["options"] == rows[0]["options"] and recorded["options"]["encoder"] == "none"
    assert recorded["victim"] == rows[0]["victim"] and len(recorded["victim"]["weights_sha256"]) == 64


def test_targets_of_another_label_set_are_one_clear_error(tiny_attentionxml_dir, tmp_path):
    rows = targets_rows(2)
    rows[1] = dict(rows[1], labels=["chemistry"], target="chemistry")
    other = write_targets(tmp_path / "other-labels.jsonl", rows)
    with pytest.raises(ExperimentError) as error:
        run_experiment(config(tiny_attentionxml_dir, other, tmp_path / "run"), log=lambda _: None)
    message = str(error.value)
    assert "does not fit the model's label set" in message and "'chemistry'" in message and "\n" not in message
    assert not (tmp_path / "run").exists()


def test_a_directory_of_other_files_or_in_use_is_refused(tiny_attentionxml_dir, targets, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="holds other files and no run.json"):
        run_experiment(config(tiny_attentionxml_dir, targets, busy), log=lambda _: None)
    assert (busy / "notes.txt").read_text() == "mine" and sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    settings = {"format": "textattack-xmtc-run", "version": 1, "model": "m", "victim": {}, "recipe": "xmtc-pos",
                "options": {}, "targets": {"path": "t", "sha256": "0", "rows": 1}, "seed": 0}
    with RunDirectory.open(tmp_path / "locked", settings):
        with pytest.raises(RunDirectoryError, match="in use by another experiment"):
            RunDirectory.open(tmp_path / "locked", settings)
    RunDirectory.open(tmp_path / "locked", settings).close()  # free again once closed


def test_rows_arriving_out_of_order_are_rewritten_in_target_order(tmp_path):
    settings = {"format": "textattack-xmtc-run", "version": 1, "model": "m", "victim": {}, "recipe": "xmtc-pos",
                "options": {}, "targets": {"path": "t", "sha256": "0", "rows": 3}, "seed": 0}
    numbers = [2, 0, 1]
    random.Random(1).shuffle(numbers)
    with RunDirectory.open(tmp_path / "run", settings) as run:
        for number in numbers:
            run.append({"target_number": number, "text": f"row {number} é"})
        written = sorted((tmp_path / "run" / RESULTS_FILE).read_bytes().splitlines(keepends=True))
        run.put_in_order()
        run.append({"target_number": 3, "text": "after"})  # appending still works after the rewrite
    lines = (tmp_path / "run" / RESULTS_FILE).read_bytes().splitlines(keepends=True)
    assert [json.loads(line)["target_number"] for line in lines] == [0, 1, 2, 3]
    assert sorted(lines[:3]) == written
    assert not [path for path in (tmp_path / "run").iterdir() if path.name.startswith(".partial-")]


def test_a_row_with_nan_is_refused_not_written(tmp_path):
    settings = {"format": "textattack-xmtc-run", "version": 1, "model": "m", "victim": {}, "recipe": "xmtc-pos",
                "options": {}, "targets": {"path": "t", "sha256": "0", "rows": 1}, "seed": 0}
    with RunDirectory.open(tmp_path / "run", settings) as run:
        with pytest.raises(ValueError):
            run.append({"target_number": 0, "score_before": float("nan")})
    assert not (tmp_path / "run" / RESULTS_FILE).exists() or (tmp_path / "run" / RESULTS_FILE).read_bytes() == b""


def test_each_target_is_seeded_from_the_run_seed_and_its_number():
    import numpy as np
    import torch

    def draws(seed, number):
        seed_target(seed, number)
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    assert draws(0, 3) == draws(0, 3)
    assert len({draws(0, 3), draws(0, 4), draws(1, 3)}) == 3


def test_workers_build_the_attack_from_resolved_options_only(tiny_attentionxml_dir, monkeypatch):
    from textattack_xmtc.model_wrappers import load_victim

    victim = load_victim(str(tiny_attentionxml_dir))
    monkeypatch.setenv("XMTC_K", "2")
    resolved = resolve_recipe_options("xmtc-pos", victim, {"encoder": "none"})
    assert resolved["k"] == 2  # the parent reads the variables ...
    # ... a worker does not: this one would fail with encoder "none", were it read
    monkeypatch.setenv("XMTC_MIN_SIMILARITY", "0.5")
    attacker = TargetAttacker("xmtc-pos", resolved, seed=0, victim=victim)
    assert attacker._attack.options["min_similarity"] is None and attacker._attack.options["k"] == 2
    assert os.environ["XMTC_MIN_SIMILARITY"] == "0.5"  # left as it was


def test_bad_configuration_is_refused_before_any_work(tmp_path):
    for changes, message in [({"workers": 0}, "workers must be at least 1"),
                             ({"backend": "slurm"}, "unknown backend 'slurm'"),
                             ({"recipe": "xmtc-both"}, "unknown recipe 'xmtc-both'"),
                             ({"num_targets": 0}, "num_targets must be at least 1"),
                             ({"ray_address": "auto"}, "needs the ray backend")]:
        with pytest.raises(ExperimentError, match=message):
            run_experiment(config("no-model", "no-targets", tmp_path / "run", **changes))
    assert not (tmp_path / "run").exists()


def test_the_plain_summary_gives_the_papers_table_overall_and_per_bin_in_frequency_order():
    row = {"status": "succeeded", "words": 20, "words_changed": 1, "textattack_words": 20, "similarity": None}
    rows = [dict(row, bin="10-20"), dict(row, bin="2-9"), dict(row, bin="2-9", status="failed")]
    text = _plain_summary(rows)
    assert text.index("all targets (3 targets)") < text.index("bin 2-9 (2 targets)") < text.index("bin 10-20 (1 ")
    assert "50.00%" in text and "100.00%" in text and "66.67%" in text


def test_rows_drawn_for_the_other_attack_are_left_out_not_skipped(tiny_attentionxml_dir, tmp_path):
    rows = targets_rows(6)
    for row in rows[1::2]:
        row["attack"] = "neg"
    mixed = write_targets(tmp_path / "mixed.jsonl", rows)
    messages = []
    done = run_experiment(config(tiny_attentionxml_dir, mixed, tmp_path / "pos"), log=messages.append)
    assert [row["target_number"] for row in done] == [0, 2, 4]  # numbered by their row in the file
    assert {row["attack_kind"] for row in done} == {"pos"}
    assert any("3 of 6 target rows were selected for the other attack" in message for message in messages)
    only_pos = write_targets(tmp_path / "pos.jsonl", [row for row in rows if row["attack"] == "pos"])
    with pytest.raises(ExperimentError, match="no row of the targets file is for xmtc-neg"):
        run_experiment(config(tiny_attentionxml_dir, only_pos, tmp_path / "neg", recipe="xmtc-neg"),
                       log=lambda _: None)


def test_a_hand_edited_run_file_is_a_difference_not_a_crash():
    # victim/options/targets that are not objects were an AttributeError traceback
    wanted = {"model": "m", "victim": {"weights_sha256": "w", "labels_sha256": "l"}, "recipe": "xmtc-pos",
              "options": {"k": 5}, "targets": {"path": "/t.jsonl", "sha256": "s"}, "seed": 0}
    for key, value, words in (("victim", "x", "weights sha256 unknown"), ("options", [1], "recipe option k=None"),
                              ("targets", "t", "another targets file")):
        assert words in settings_difference(dict(wanted, **{key: value}), wanted)
    assert settings_difference(dict(wanted), wanted) is None


def test_a_targets_file_edited_in_place_is_said_to_have_changed():
    # It read "another targets file (/t.jsonl, sha256 8088...), not /t.jsonl (sha256 0f02...)".
    wanted = {"model": "m", "victim": {"weights_sha256": "w", "labels_sha256": "l"}, "recipe": "xmtc-pos",
              "options": {"k": 5}, "targets": {"path": "/t.jsonl", "sha256": "new"}, "seed": 0}
    recorded = dict(wanted, targets={"path": "/t.jsonl", "sha256": "old"})
    assert settings_difference(recorded, wanted) == (
        "the targets file /t.jsonl as it was when the run began (sha256 old...); it has changed since (sha256 new...)")


def test_a_nan_row_is_damage_not_a_finished_row(tmp_path):
    # rows are written without NaN; one edited in was taken as done and its NaN summarised as 0.000
    settings = {"model": "m", "victim": {"weights_sha256": "w", "labels_sha256": "l"}, "recipe": "xmtc-pos",
                "options": {}, "targets": {"path": "/t.jsonl", "sha256": "s"}, "seed": 0}
    with RunDirectory.open(tmp_path / "run", settings) as run:
        (tmp_path / "run" / RESULTS_FILE).write_text('{"target_number": 0, "similarity": NaN}\n'
                                                     '{"target_number": 1, "similarity": 0.5}\n')
        with pytest.raises(RunDirectoryError, match="line 1: not a result row"):
            run.finished_rows()
