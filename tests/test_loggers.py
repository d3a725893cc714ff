"""``--log-to-csv`` for XMTC results: every row on disk as it finishes, provenance included, and
TextAttack's own CSV unchanged for other results."""
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import textattack
from textattack.loggers import AttackLogManager, CSVLogger

from textattack_xmtc import XMTCPositive
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget
from textattack_xmtc.loggers import XMTCCSVLogger
from textattack_xmtc.results import read_csv_rows

sys.path.insert(0, str(Path(__file__).parent / "cli"))
from test_cli import require_install, tiny_model, write_targets  # noqa: E402,F401  (two fixtures)

TEXT = "The company announced the acquisition of more shares in its rival firm today"
OTHER = "Shares of the company rose after the acquisition of its rival"


def attack_results(victim, examples, **args):
    attack = XMTCPositive.build(victim, k=1, encoder="none")
    attack_args = textattack.AttackArgs(num_examples=len(examples), silent=True, disable_stdout=True, **args)
    return textattack.Attacker(attack, XMTCDataset(examples), attack_args).attack_dataset()


def csv_manager(path):
    manager = AttackLogManager(metrics=None)
    manager.add_output_csv(str(path), color_method="file")
    return manager


def test_each_row_is_on_disk_as_soon_as_it_is_logged(keyword_victim, tmp_path):
    results = attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq")),
                                              (OTHER, XMTCTarget(["acq"], "acq"))])
    manager = csv_manager(tmp_path / "log.csv")
    assert isinstance(manager.loggers[0], XMTCCSVLogger)
    manager.log_result(results[0])
    [row] = read_csv_rows(tmp_path / "log.csv")  # no flush, no summary: what a Ctrl-C would leave
    assert row["status"] == "succeeded" and row["label"] == "acq" and row["result_type"] == "Successful"
    manager.log_result(results[1])
    assert len(read_csv_rows(tmp_path / "log.csv")) == 2
    manager.flush()
    assert len(read_csv_rows(tmp_path / "log.csv")) == 2


def test_rows_carry_provenance_and_read_back_with_their_types(keyword_victim, tmp_path):
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    attack.options = {"k": 1, "encoder": "none", "min_similarity": None}  # as the recipe records them
    args = textattack.AttackArgs(num_examples=2, silent=True, disable_stdout=True, random_seed=11,
                                 log_to_csv=str(tmp_path / "log.csv"))
    textattack.Attacker(attack, XMTCDataset([(TEXT, XMTCTarget(["acq", "earn"], "auto", 1, bin="tail")),
                                             (TEXT, XMTCTarget(["acq"], 1))]), args).attack_dataset()
    auto, by_index = read_csv_rows(tmp_path / "log.csv")
    assert auto["target"] == "auto" and auto["label"] == "acq" and auto["label_index"] == 0
    assert by_index["target"] == 1 and by_index["label"] == "earn" and by_index["status"] == "skipped"
    assert auto["true_labels"] == ["acq", "earn"] and auto["k"] == 1
    assert auto["bin"] == "tail" and by_index["bin"] is None
    assert auto["options"] == {"k": 1, "encoder": "none", "min_similarity": None}
    assert auto["victim"] == keyword_victim.identity()
    assert auto["seed"] == 11 and auto["package_version"] and auto["textattack_version"] == "0.3.11"
    assert auto["words"] == 13 and auto["textattack_words"] == 13 and auto["similarity"] is None
    assert isinstance(auto["words_changed"], int) and isinstance(auto["change_rate"], float)
    frame = pytest.importorskip("pandas").read_csv(tmp_path / "log.csv")
    assert frame["seed"].tolist() == [11, 11] and frame["words_changed"].tolist()[1] == 0


def test_label_names_that_look_like_numbers_stay_names(table_victim, tmp_path):
    from textattack_xmtc.attack import XMTCAttack
    from textattack_xmtc.goal_functions import PositiveTargetedTopK
    from textattack.search_methods import GreedySearch
    from textattack.transformations import WordSwapRandomCharacterDeletion

    victim = table_victim({}, ["3", "7"], default=[0.9, 0.1])
    attack = XMTCAttack(PositiveTargetedTopK(victim, k=1), [], WordSwapRandomCharacterDeletion(), GreedySearch())
    results = [attack.attack("one two", XMTCTarget(["3"], "7")), attack.attack("one two", XMTCTarget(["3"], 1))]
    manager = csv_manager(tmp_path / "log.csv")
    for result in results:
        manager.log_result(result)
    by_name, by_index = read_csv_rows(tmp_path / "log.csv")
    assert by_name["target"] == "7" and by_name["label"] == "7" and by_name["true_labels"] == ["3"]
    assert by_index["target"] == 1 and by_index["label"] == "7"


def test_a_long_document_reads_back_whole(tmp_path):
    import csv

    document = "word " * 50_000  # 250,000 characters: over the csv module's default cell limit (131,072)
    with open(tmp_path / "log.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["original_text", "words", "bin"], quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        writer.writerow({"original_text": document, "words": 50_001, "bin": None})
    limit = csv.field_size_limit()
    [row] = read_csv_rows(tmp_path / "log.csv")
    assert row == {"original_text": document, "words": 50_001, "bin": None}
    assert csv.field_size_limit() == limit  # left as it was


def test_results_of_other_attacks_get_textattacks_csv_byte_for_byte(keyword_victim, tmp_path):
    results = attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq")),
                                              (OTHER, XMTCTarget(["acq"], "earn"))])
    for result in results:
        del result.xmtc  # as a result of a stock recipe: no XMTC record
    ours, stock = csv_manager(tmp_path / "ours.csv"), AttackLogManager(metrics=None)
    stock.loggers.append(CSVLogger(filename=str(tmp_path / "stock.csv"), color_method="file"))
    for manager in (ours, stock):
        for result in results:
            manager.log_result(result)
        manager.flush()
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "stock.csv").read_bytes()


def test_a_row_with_new_columns_rewrites_the_file_with_all_columns(keyword_victim, tmp_path):
    xmtc, plain = attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq")),
                                                  (OTHER, XMTCTarget(["acq"], "acq"))])
    del plain.xmtc
    manager = csv_manager(tmp_path / "log.csv")
    manager.log_result(plain)  # TextAttack's row, TextAttack's way: nothing written yet
    manager.log_result(xmtc)
    rows = read_csv_rows(tmp_path / "log.csv")
    assert [row["result_type"] for row in rows] == ["Successful", "Successful"]
    assert rows[0]["status"] == "" and rows[1]["status"] == "succeeded"


def test_checkpoint_restores_the_file_to_its_rows(keyword_victim, tmp_path):
    """A resumed run's CSV holds the checkpoint's rows, then the new ones; rows logged after the
    checkpoint (attacked again on resume) are not doubled."""
    first, second, third = attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq"))] * 3)
    manager = csv_manager(tmp_path / "log.csv")
    manager.log_result(first)
    checkpoint = pickle.dumps(manager)  # what --checkpoint-interval saves
    manager.log_result(second)  # then the run stops
    resumed = pickle.loads(checkpoint)
    resumed.log_result(third)
    assert len(read_csv_rows(tmp_path / "log.csv")) == 2
    resumed = pickle.loads(checkpoint)
    resumed.flush()  # resumed, and the run ends with nothing more to attack
    assert len(read_csv_rows(tmp_path / "log.csv")) == 1


def test_seed_is_recorded_from_the_attack_args(keyword_victim):
    [result] = attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq"))], random_seed=3)
    assert result.xmtc.seed == 3
    [result] = attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq"))])
    assert result.xmtc.seed == 765  # TextAttack's default --random-seed


def test_json_summary_has_provenance_metrics_and_definitions(keyword_victim, tmp_path):
    summary = tmp_path / "summary.json"
    attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq")), (TEXT, XMTCTarget(["acq"], "earn"))],
                   log_summary_to_json=str(summary), random_seed=5)
    run = json.loads(summary.read_text())["XMTC run"]
    assert run["metrics"]["attacked"] == 1 and run["metrics"]["skipped"] == 1
    assert run["metrics"]["success_rate"] in (0.0, 1.0)
    assert "all other attacked targets 0" in run["definitions"]["average_similarity"]
    provenance = run["provenance"]
    assert provenance["seed"] == 5 and provenance["victim"] == keyword_victim.identity()
    assert set(provenance) == {"options", "victim", "seed", "package_version", "textattack_version"}


def test_text_summary_lists_the_provenance(keyword_victim, tmp_path):
    log = tmp_path / "log.txt"
    attack_results(keyword_victim, [(TEXT, XMTCTarget(["acq"], "acq"))], log_to_txt=str(log), random_seed=9)
    text = log.read_text()
    assert "Seed (--random-seed): 9" in text
    assert f"Victim weights_sha256: {keyword_victim.identity()['weights_sha256']}" in text
    assert "Victim adversarial: none" in text  # an empty value was a blank row
    assert "Average similarity" not in text  # no encoder: no similarity figures


def test_ctrl_c_in_a_python_run_keeps_the_finished_results(keyword_victim, tmp_path):
    class Interrupted(type(keyword_victim)):
        def __call__(self, texts):
            if any("halt" in text for text in texts):
                raise KeyboardInterrupt  # as if Ctrl-C came while this example was attacked
            return super().__call__(texts)

    victim = Interrupted(keyword_victim.keywords, keyword_victim.labels)
    with pytest.raises(KeyboardInterrupt):
        attack_results(victim, [(TEXT, XMTCTarget(["acq"], "acq")), ("halt " + TEXT, XMTCTarget(["acq"], "acq"))],
                       log_to_csv=str(tmp_path / "log.csv"), log_to_txt=str(tmp_path / "log.txt"))
    [row] = read_csv_rows(tmp_path / "log.csv")
    assert row["status"] == "succeeded"
    assert "Result 1" in (tmp_path / "log.txt").read_text()


# -- the stock command, stopped by Ctrl-C ---------------------------------------

def test_ctrl_c_keeps_every_finished_result_in_the_csv(tiny_model, tmp_path, require_install):
    """Runs the INSTALLED package (pip install -c constraints.txt .), as tests/cli do."""
    texts = ["officials said apple prices were reported on monday",
             "the market said banana and orange prices rose in city",
             "people reported that iron and steel prices were said to rise"]
    labels = [["fruit"], ["fruit"], ["metal"]]
    rows = [{"text": texts[i % 3], "labels": labels[i % 3], "target": "auto", "k": 1} for i in range(300)]
    targets = write_targets(tmp_path / "targets.jsonl", rows)
    out = tmp_path / "csv-dir"
    command = ["textattack", "attack", "--recipe", "xmtc-pos", "--model", str(tiny_model),
               "--dataset-from-file", str(targets), "--num-examples", str(len(rows)),
               "--log-to-csv", str(out), "--random-seed", "13"]
    env = dict(os.environ, XMTC_ENCODER="none", PYTHONUNBUFFERED="1")
    # A test run started in the background by a shell (`cmd &`) inherits SIGINT ignored, and so would the
    # attack: Ctrl-C must be the default action in the child whatever started the tests.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        stdout = []
        deadline = time.monotonic() + 240
        for line in process.stdout:  # the CSV logger runs before the stdout logger prints a result
            stdout.append(line)
            if " Result 1 " in line or time.monotonic() > deadline:
                break
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    stdout = "".join(stdout) + rest
    printed = stdout.count("-" * 45 + " Result ")
    assert 1 <= printed < len(rows), stdout[-2000:] + stderr[-2000:]
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr, stderr[-2000:]
    [log] = out.glob("*.csv")
    saved = read_csv_rows(log)
    # every result printed is in the file (one more if Ctrl-C came between the file and the print)
    assert printed <= len(saved) <= printed + 1
    assert saved[0]["seed"] == 13 and saved[0]["victim"]["weights_sha256"]
    assert saved[0]["true_labels"] == ["fruit"] and saved[0]["target"] == "auto"
    assert isinstance(saved[0]["options"], dict) and saved[0]["words"] == 8


def test_the_summary_says_how_many_rows_overrode_the_default_k(keyword_victim):
    import io

    import textattack
    from textattack.loggers import AttackLogManager

    from textattack_xmtc import XMTCPositive
    from textattack_xmtc.datasets import XMTCDataset, XMTCTarget

    text = "The company announced the acquisition of more shares in its rival firm today"
    attack = XMTCPositive.build(keyword_victim, k=1, encoder="none")
    dataset = XMTCDataset([(text, XMTCTarget(["acq"], "acq", 2)), (text, XMTCTarget(["acq"], "acq"))])
    args = textattack.AttackArgs(num_examples=2, silent=True, disable_stdout=True)
    results = textattack.Attacker(attack, dataset, args).attack_dataset()
    manager = AttackLogManager(metrics=None)
    manager.add_output_file(out := io.StringIO(), color_method=None)
    manager.log_results(results)
    assert "1 of 2 overrode the default k=1" in out.getvalue()
