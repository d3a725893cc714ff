"""``textattack-xmtc experiment`` in subprocesses: SIGKILLed and resumed, several workers, Ray, bad inputs.

Run with ``PYTHONPATH`` set to the working tree when the installed copy is older.
"""
import collections
import json
import os
import random
import signal
import subprocess
import time

import pytest

from commands import run, write_targets
from conftest import FILLER, synthetic_corpus
from textattack_xmtc.study.experiment import ExperimentConfig, run_experiment

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TARGETS = 12


def long_targets(count, seed=11):
    """Documents of about 160 words, every other one slow to attack."""
    rng = random.Random(seed)
    corpus = synthetic_corpus(count, seed)
    rows = []
    for number, (text, labels) in enumerate(zip(corpus.texts, corpus.labels)):
        words = text.split() + [rng.choice(FILLER) for _ in range(150)]
        # k=3 of 4 labels: the target must become the last label, so the attack often runs until it gives up
        rows.append({"text": " ".join(words), "labels": labels, "target": labels[-1], "k": 1 + 2 * (number % 2),
                     "bin": ["1-5", "6-20"][number % 2], "attack": "pos", "label_frequency": 3 + number % 2,
                     "selection_seed": seed, "document": number})
    return rows


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    return write_targets(tmp_path_factory.mktemp("targets") / "targets.jsonl", long_targets(TARGETS))


@pytest.fixture(scope="module")
def reference_rows(tiny_attentionxml_dir, targets, tmp_path_factory):
    """An uninterrupted run, in this process, with the settings of the commands below."""
    config = ExperimentConfig(model=str(tiny_attentionxml_dir), targets=str(targets), recipe="xmtc-pos",
                              out=str(tmp_path_factory.mktemp("reference") / "run"), seed=7,
                              options={"encoder": "none", "threads": 1}, progress=False)
    return run_experiment(config, log=lambda _: None)


def command(model, targets, out, *extra):
    return ["textattack-xmtc", "experiment", "--model", str(model), "--targets", str(targets),
            "--recipe", "xmtc-pos", "--out", str(out), "--seed", "7", "--threads", "1", *extra]


def file_rows(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def without_seconds(rows):
    return [{name: value for name, value in row.items() if name != "seconds"} for row in rows]


def count_rows(path):
    return path.read_bytes().count(b"\n") if path.exists() else 0


def kill_mid_run(arguments, results, rng):
    """Start the command and SIGKILL it (its whole process group) at a random moment after a random row."""
    env = dict(os.environ, XMTC_ENCODER="none", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(arguments, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    before = count_rows(results)
    wanted = before + rng.randint(1, max(1, (TARGETS - before) // 3))
    deadline = time.monotonic() + 120
    while count_rows(results) < wanted and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.03))  # mid-attack of the next target, or mid-write of its row
    finished = process.poll() is not None
    if not finished:
        os.killpg(process.pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    assert finished is False, f"the run ended before it was killed: {stderr.decode()[-3000:]}"
    return count_rows(results)


def test_sigkilled_at_random_moments_and_restarted_it_attacks_every_target_once(
        tiny_attentionxml_dir, targets, reference_rows, tmp_path):
    out = tmp_path / "run"
    results = out / "results.jsonl"
    seed = random.randrange(10**6)
    rng = random.Random(seed)  # a different moment each time, reproducible from the message below
    rows_at_kills = [kill_mid_run(command(tiny_attentionxml_dir, targets, out), results, rng) for _ in range(3)]
    assert rows_at_kills == sorted(rows_at_kills) and rows_at_kills[-1] < TARGETS, (seed, rows_at_kills)
    resumed = run(*command(tiny_attentionxml_dir, targets, out), timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    done = next(line for line in resumed.stdout.splitlines() if line.startswith(f"{TARGETS} targets done with"))
    statuses = collections.Counter(row["status"] for row in file_rows(out))
    assert all(f"{count} {status}" in done for status, count in statuses.items()), done  # not all 'attacked'
    if statuses["succeeded"]:  # beside the table's rate, which counts only those
        hits = sum(row["status"] == "succeeded" and row["words_changed"] < 0.1 * row["words"]
                   for row in file_rows(out))
        assert f"; {hits} of the successes with < 10% of words changed, the paper's success" in done, done
    assert "1-5" in resumed.stdout
    assert "already done" in resumed.stderr
    rows = file_rows(out)
    assert [row["target_number"] for row in rows] == list(range(TARGETS)), (seed, rows_at_kills)
    assert without_seconds(rows) == without_seconds(reference_rows), (seed, rows_at_kills)
    assert not [path for path in out.iterdir() if path.name.startswith(".partial-")]


def test_several_workers_give_the_rows_of_one(tiny_attentionxml_dir, targets, reference_rows, tmp_path):
    out = tmp_path / "run"
    result = run(*command(tiny_attentionxml_dir, targets, out, "--workers", "2", "--no-progress"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert without_seconds(file_rows(out)) == without_seconds(reference_rows)


def test_the_ray_backend_gives_the_rows_of_the_local_one(tiny_attentionxml_dir, targets, reference_rows, tmp_path):
    pytest.importorskip("ray", reason='the ray backend needs Ray: pip install "textattack-xmtc[ray]" '
                                      '(or pip install ".[test]")')
    out = tmp_path / "run"
    result = run(*command(tiny_attentionxml_dir, targets, out, "--backend", "ray", "--workers", "2",
                          "--num-targets", "6", "--no-progress"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert without_seconds(file_rows(out)) == without_seconds(reference_rows[:6])


def one_line_error(result):
    """The one error line (TensorFlow, imported by TextAttack, may log before it: not ours)."""
    ours = [line for line in result.stderr.splitlines() if "error:" in line]
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(ours) == 1 and ours[0].startswith("textattack-xmtc experiment: error: "), result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == ours[0]
    return ours[0]


def test_bad_inputs_are_one_line_and_lose_nothing(tiny_attentionxml_dir, targets, tmp_path):
    out = tmp_path / "run"
    first = run(*command(tiny_attentionxml_dir, targets, out, "--num-targets", "1", "--no-progress"))
    assert first.returncode == 0, first.stderr[-3000:]
    kept = {path.name: path.read_bytes() for path in out.iterdir()}

    other_recipe = command(tiny_attentionxml_dir, targets, out)
    other_recipe[other_recipe.index("xmtc-pos")] = "xmtc-neg"
    line = one_line_error(run(*other_recipe))
    assert f"{out} was made with recipe xmtc-pos, not xmtc-neg: use another --out" in line

    rows = long_targets(2)
    rows[0] = dict(rows[0], labels=["chemistry"], target="chemistry")
    other_labels = write_targets(tmp_path / "other-labels.jsonl", rows)
    line = one_line_error(run(*command(tiny_attentionxml_dir, other_labels, out)))
    assert "does not fit the model's label set" in line and "'chemistry'" in line

    assert {path.name: path.read_bytes() for path in out.iterdir()} == kept


@pytest.mark.parametrize("flags, message", [(["--xmtc-k", "two"], "--xmtc-k must be an integer, got 'two'"),
                                            (["--workers", "0"], "workers must be at least 1"),
                                            (["--backend", "slurm"], "invalid choice: 'slurm'")])
def test_bad_option_values_are_one_line_before_any_work(tmp_path, capsys, flags, message):
    from textattack_xmtc.cli.experiment import main

    with pytest.raises(SystemExit) as exit_:
        main(command("no-model", "no-targets.jsonl", tmp_path / "run", *flags)[2:])
    error = capsys.readouterr().err
    assert exit_.value.code == 2 and error.startswith("textattack-xmtc experiment: error: "), error
    assert message in error and error.count("\n") == 1, error
    assert not (tmp_path / "run").exists()


def test_help_names_the_options_their_defaults_and_an_example():
    result = run("textattack-xmtc", "experiment", "--help", timeout=120)
    assert result.returncode == 0, result.stderr
    for text in ("--workers", "(default: 1)", "--backend {local,ray}", "--ray-address", "--xmtc-encoder",
                 "--num-targets", "example:", "textattack-xmtc experiment --model"):
        assert text in result.stdout, text


def test_recipe_options_come_from_the_recipe_syntax_and_the_flags_once(capsys):
    from textattack_xmtc.cli.experiment import _recipe_options, build_parser, parse_recipe

    assert parse_recipe('xmtc-neg^k=3,encoder="none",fill_candidates=True') == (
        "xmtc-neg", {"k": 3, "encoder": "none", "fill_candidates": True})
    args = build_parser().parse_args(["--model", "m", "--targets", "t", "--out", "o", "--recipe", "xmtc-pos^k=3",
                                      "--xmtc-encoder", "none", "--threads", "2", "--xmtc-fill-candidates", "yes"])
    assert _recipe_options(args) == ("xmtc-pos", {"k": 3, "encoder": "none", "threads": 2, "fill_candidates": True})
    for recipe, flags, message in [("xmtc-pos^k=3", ["--xmtc-k", "4"], "recipe option k is given twice"),
                                   ("xmtc-pos^kk=3", [], "unknown recipe option 'kk'"),
                                   ("xmtc-pos^encoder=none", [], "must be a number, True/False or a quoted text")]:
        args = build_parser().parse_args(["--model", "m", "--targets", "t", "--out", "o", "--recipe", recipe,
                                          *flags])
        with pytest.raises(SystemExit) as exit_:
            _recipe_options(args)
        assert exit_.value.code == 2
        error = capsys.readouterr().err
        assert error.startswith("textattack-xmtc experiment: error: ") and error.count("\n") == 1, error
        assert message in error, error


def test_a_directory_that_is_no_model_is_one_error_line(tmp_path, capsys):
    from textattack_xmtc.cli.experiment import main

    model = tmp_path / "not-a-model"
    model.mkdir()
    (model / "notes.txt").write_text("not a model\n")
    with pytest.raises(SystemExit) as exit_:
        main(command(model, "no-targets.jsonl", tmp_path / "run")[2:])
    error = capsys.readouterr().err  # was the loader's 7-line list of the layouts it knows
    assert exit_.value.code == 2 and error.startswith("textattack-xmtc experiment: error: "), error
    assert "not a model this package can load" in error and error.count("\n") == 1, error
    assert not (tmp_path / "run").exists()


def test_ctrl_c_while_loading_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    import sys
    import types

    from textattack_xmtc.cli.experiment import main

    class Interrupted(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt  # Ctrl-C while TextAttack and the model load

    monkeypatch.setitem(sys.modules, "textattack_xmtc.study.run_directory", Interrupted("run_directory"))
    assert main(command("no-model", "no-targets.jsonl", tmp_path / "run")[2:]) == 130
    error = capsys.readouterr().err
    assert error.startswith("textattack-xmtc experiment: interrupted;") and error.count("\n") == 1, error


def test_workers_leave_ctrl_c_to_the_parent(monkeypatch):
    # Ctrl-C reaches every process of the group: each worker printed a KeyboardInterrupt traceback.
    import signal

    from textattack_xmtc.study import experiment

    monkeypatch.setattr(experiment, "TargetAttacker", lambda *args, **kwargs: None)
    previous = signal.getsignal(signal.SIGINT)
    try:
        experiment._start_worker("xmtc-pos", {}, 0, "no-model")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


# -- --rescore-with: transferability to a second victim ---------------------------------------

def short_targets(count, seed=5):
    corpus = synthetic_corpus(count, seed)
    return [{"text": text, "labels": labels, "target": labels[0], "k": 2, "bin": ["1-5", "6-20"][i % 2],
             "attack": "pos"} for i, (text, labels) in enumerate(zip(corpus.texts, corpus.labels))]


def test_rescore_with_prints_the_transfer_summary_and_writes_transfer_rows(tiny_attentionxml_dir, tmp_path):
    targets = write_targets(tmp_path / "short.jsonl", short_targets(6))
    out = tmp_path / "run"
    arguments = command(tiny_attentionxml_dir, targets, out, "--no-progress", "--rescore-with",
                        str(tiny_attentionxml_dir))
    result = run(*arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    wins = [row for row in file_rows(out) if row["status"] == "succeeded"]
    assert wins, "the tiny victim must lose some targets"
    # Rescored on the attacked victim itself: every success transfers.
    line = (f"transfers to {tiny_attentionxml_dir}: {len(wins)} of {len(wins)} successes (100.0%); "
            "0 already met on the original; 0 label unknown")
    assert line in result.stdout.splitlines(), result.stdout
    transfer = (out / "transfer.jsonl").read_bytes()
    rows = [json.loads(row) for row in transfer.splitlines()]
    assert [row["target_number"] for row in rows] == [row["target_number"] for row in wins]
    assert all(row["transferred"] is True and row["model"] == str(tiny_attentionxml_dir) for row in rows)

    again = run(*arguments)  # the attack part is done: nothing attacked, nothing rescored twice
    assert again.returncode == 0, again.stderr[-3000:]
    assert line in again.stdout.splitlines()
    assert (out / "transfer.jsonl").read_bytes() == transfer


def test_a_bad_rescore_with_model_is_one_line_before_any_work(tiny_attentionxml_dir, tmp_path):
    targets = write_targets(tmp_path / "short.jsonl", short_targets(2))
    out = tmp_path / "run"
    line = one_line_error(run(*command(tiny_attentionxml_dir, targets, out, "--rescore-with",
                                       str(tmp_path / "no-such-model"))))
    assert f"--rescore-with {tmp_path / 'no-such-model'}: no such file or directory" in line
    assert not out.exists()
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("not a model\n")
    line = one_line_error(run(*command(tiny_attentionxml_dir, targets, out, "--no-progress", "--rescore-with",
                                       str(not_a_model))))
    assert f"--rescore-with {not_a_model}: " in line and "not a model this package can load" in line
    assert not (out / "transfer.jsonl").exists()
