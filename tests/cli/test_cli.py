"""The command lines in subprocesses: the stock ``textattack`` and ``textattack-xmtc``.

These run the INSTALLED package (the stock command learns our names from the
``.pth`` start-up file that ``pip install .`` puts in site-packages).
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from commands import installed, require_install, run, write_targets  # noqa: F401  (fixtures too)


@pytest.fixture(scope="module")
def tiny_model(tiny_attentionxml_dir):
    return tiny_attentionxml_dir


def test_stock_textattack_attack_with_our_recipe_model_and_targets(tiny_model, tmp_path, require_install):
    targets = write_targets(tmp_path / "targets.jsonl", [
        {"text": "officials said apple prices were reported on monday", "labels": ["fruit"],
         "target": "fruit", "k": 1},
        {"text": "officials said apple prices were reported on monday", "labels": ["fruit"],
         "target": "metal", "k": 1},  # not a true label: skipped with its reason
    ])
    summary = tmp_path / "summary.json"
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(tiny_model),
                 "--dataset-from-file", str(targets), "--num-examples", "2",
                 "--log-summary-to-json", str(summary), "--random-seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "'fruit' rank 1" in result.stdout
    assert "[SKIPPED]" in result.stdout and result.stdout.count("not a true label") == 1, result.stdout
    assert "XMTC metrics" in result.stdout and "Candidate source:" in result.stdout
    metrics = json.loads(summary.read_text())["XMTC metrics (Qaraei & Babbar)"]
    assert metrics["Targets attacked (not skipped):"] == 1


def test_bad_targets_row_is_one_clear_error(tiny_model, tmp_path, require_install):
    targets = write_targets(tmp_path / "bad.jsonl", [
        {"text": "apple prices", "labels": ["fruit"], "target": "fruit"},
        {"text": "iron prices", "labels": ["metal"], "target": "unobtainium"},
    ])
    result = run("textattack", "attack", "--recipe", "xmtc-neg", "--model", str(tiny_model),
                 "--dataset-from-file", str(targets), "--num-examples", "2")
    assert result.returncode == 2  # a user mistake, as argparse's own (was 1: SystemExit with a message)
    assert "bad.jsonl, line 2" in result.stderr and "unknown target label 'unobtainium'" in result.stderr
    assert result.stderr.count("textattack-xmtc: error:") == 1 and "Traceback" not in result.stderr


def test_textattack_lists_our_recipes(require_install):
    result = run("textattack", "list", "attack-recipes")
    assert result.returncode == 0
    for name in ("xmtc-pos", "xmtc-neg", "xmtc-untargeted"):
        assert name in result.stdout


def test_textattack_xmtc_command_takes_recipe_flags(tiny_model, tmp_path, require_install):
    targets = write_targets(tmp_path / "t.jsonl", [
        {"text": "officials said snow and rain were reported on monday", "labels": ["weather"],
         "target": "weather"}])
    result = run("textattack-xmtc", "attack", "--recipe", "xmtc-untargeted", "--model", str(tiny_model),
                 "--dataset-from-file", str(targets), "--num-examples", "1", "--xmtc-k", "1",
                 "--xmtc-encoder", "none")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "k=1" in result.stdout


def test_textattack_xmtc_help_is_fast_and_light(require_install):
    code = ("import sys, textattack_xmtc.cli.main as m; m.main(['--help']); "
            "assert 'textattack' not in sys.modules and 'torch' not in sys.modules")
    result = run(sys.executable, "-c", code, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "xmtc-pos" in result.stdout and "train" in result.stdout


def test_attack_help_says_what_model_and_dataset_take_besides_textattack_s_choices(require_install):
    ours = run("textattack-xmtc", "attack", "--help", timeout=300)
    assert ours.returncode == 0, ours.stderr[-3000:]
    out = " ".join(ours.stdout.split())
    assert "--model also takes: a built-in name (aplc-xlnet," in out
    assert "attentionxml-reuters21578; trained on first use)" in out
    assert "--dataset-from-file also takes: reuters21578" in out
    # TextAttack's own help first, ours at the end where a reader of a long help looks
    assert out.index("--attack-recipe") < out.index("--model also takes") < out.index("--xmtc-k")
    stock = run("textattack", "attack", "--help", timeout=300)
    assert stock.returncode == 0 and "also takes" not in stock.stdout + stock.stderr  # stock help unchanged


def test_bad_recipe_option_is_reported(tmp_path, tiny_model, require_install):
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(tiny_model),
                 "--dataset-from-file", str(write_targets(tmp_path / "t.jsonl", [
                     {"text": "apple", "labels": ["fruit"], "target": "fruit"}])),
                 env={"XMTC_K": "five"})
    assert result.returncode == 2 and "XMTC_K must be an integer" in result.stderr


def test_model_that_does_not_fit_is_one_clear_error(tiny_model, tmp_path, require_install):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    labels = (broken / "labels.txt").read_text().splitlines()
    (broken / "labels.txt").write_text("\n".join(labels[:-1]) + "\n")
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(broken),
                 "--dataset-from-file", str(write_targets(tmp_path / "t.jsonl", [
                     {"text": "apple", "labels": ["fruit"], "target": "fruit"}])))
    assert result.returncode == 2
    assert "labels.txt" in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("model,expected", [("empty-dir", "Expected one of"),
                                            ("no/such/dir", "no such file or directory")])
def test_model_of_no_known_format_is_one_clear_error(tmp_path, model, expected, require_install):
    (tmp_path / "empty-dir").mkdir()
    targets = write_targets(tmp_path / "t.jsonl", [{"text": "apple", "labels": ["fruit"], "target": "fruit"}])
    result = subprocess.run(["textattack", "attack", "--recipe", "xmtc-pos", "--model", model,
                             "--dataset-from-file", str(targets)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=dict(os.environ, XMTC_ENCODER="none"))
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("recipe", ["xmtc-pos", "xmtc-neg"])
def test_stock_command_with_a_hugging_face_multilabel_directory(hf_multilabel_dir, tmp_path, recipe,
                                                                require_install):
    target = "acq" if recipe == "xmtc-pos" else "grain"
    targets = write_targets(tmp_path / "t.jsonl", [
        {"text": "the company said shares rose after the acquisition deal", "labels": ["acq"],
         "target": target, "k": 1 if recipe == "xmtc-pos" else 2}])
    result = run("textattack", "attack", "--recipe", recipe, "--model", str(hf_multilabel_dir),
                 "--dataset-from-file", str(targets), "--num-examples", "1", env={"XMTC_WIR": "gradient"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"'{target}' rank" in result.stdout and "(wir_method):  gradient" in result.stdout
    assert "XMTC metrics" in result.stdout


@pytest.mark.parametrize("recipe,wir", [("xmtc-pos", "gradient"), ("xmtc-neg", "unk")])
def test_stock_command_with_an_original_aplc_xlnet_directory(aplc_original_dir, tmp_path, recipe, wir,
                                                             require_install):
    from textattack_xmtc.model_wrappers import load_victim

    text = "Crude oil exports fell; dividend, profit and shares rose in the market."
    victim = load_victim(str(aplc_original_dir))
    ranking = victim([text])[0].argsort(descending=True).tolist()
    # The weights are random: choose targets that meet each goal's precondition for this text.
    target = victim.labels[ranking[0] if recipe == "xmtc-pos" else ranking[-1]]
    targets = write_targets(tmp_path / "t.jsonl", [
        {"text": text, "labels": [victim.labels[ranking[0]]], "target": target, "k": 2}])
    summary = tmp_path / "summary.json"
    result = run("textattack", "attack", "--recipe", recipe, "--model", str(aplc_original_dir),
                 "--dataset-from-file", str(targets), "--num-examples", "1",
                 "--log-summary-to-json", str(summary), env={"XMTC_WIR": wir})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"'{target}' rank" in result.stdout and f"(wir_method):  {wir}" in result.stdout, result.stdout[-3000:]
    metrics = json.loads(summary.read_text())["XMTC metrics (Qaraei & Babbar)"]
    assert metrics["Targets attacked (not skipped):"] == 1
