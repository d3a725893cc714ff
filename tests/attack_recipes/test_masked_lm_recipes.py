"""Every recipe with the paper's candidate source, a masked LM, in Python and on the stock command.

The masked LMs are tiny random ones of two tokenizer families (WordPiece and
byte-level BPE) built by the tests; the victim is a tiny AttentionXML.
"""
import json

import pytest
import textattack

from commands import require_install, run, write_targets  # noqa: F401  (a fixture)
from textattack_xmtc import XMTCNegative, XMTCPositive, XMTCUntargeted, load_victim, result_row
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget

TEXT = "officials said apple and banana prices were reported on monday in the city"
RECIPES = {"xmtc-pos": XMTCPositive, "xmtc-neg": XMTCNegative, "xmtc-untargeted": XMTCUntargeted}


def target_row(recipe):
    # Positive and untargeted: push "fruit" out of the top-1. Negative: pull "metal" into the top-1.
    if recipe == "xmtc-neg":
        return {"text": TEXT, "labels": ["fruit"], "target": "metal", "k": 1}
    return {"text": TEXT, "labels": ["fruit"], "target": "fruit" if recipe == "xmtc-pos" else "auto", "k": 1}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_every_recipe_runs_with_a_masked_lm_in_python(recipe, mlm_dir, tiny_attentionxml_dir):
    victim = load_victim(str(tiny_attentionxml_dir))
    attack = RECIPES[recipe].build(victim, mlm=str(mlm_dir), encoder="none")
    row = target_row(recipe)
    dataset = XMTCDataset([(row["text"], XMTCTarget(row["labels"], row["target"], row["k"]))])
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True)
    [result] = textattack.Attacker(attack, dataset, args).attack_dataset()
    record = result_row(result)
    assert record["status"] in ("succeeded", "failed"), record  # attacked, not skipped
    assert record["queries"] > 1 and str(mlm_dir) in record["candidate_source"]
    changed = result.original_result.attacked_text.all_words_diff(result.perturbed_result.attacked_text)
    vocabulary = attack.transformation.tokenizer.get_vocab()
    for index in changed:  # every substitute is a whole word of the masked LM's vocabulary
        word = result.perturbed_result.attacked_text.words[index].lower()
        assert word.isalpha() and any(word in (token, token.lstrip("\u0120")) for token in vocabulary)


@pytest.mark.parametrize("recipe", sorted(RECIPES))
@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_every_recipe_runs_with_a_masked_lm_on_the_stock_command(recipe, family, bert_mlm_dir, roberta_mlm_dir,
                                                                  tiny_attentionxml_dir, tmp_path, require_install):
    mlm = {"bert": bert_mlm_dir, "roberta": roberta_mlm_dir}[family]
    targets = write_targets(tmp_path / "targets.jsonl", [target_row(recipe)])
    summary = tmp_path / "summary.json"
    result = run("textattack", "attack", "--recipe", recipe, "--model", str(tiny_attentionxml_dir),
                 "--dataset-from-file", str(targets), "--num-examples", "1",
                 "--log-summary-to-json", str(summary), env={"XMTC_MLM": str(mlm)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"masked LM {mlm}" in result.stdout and "WordSwapMaskedLMOnce" in result.stdout
    metrics = json.loads(summary.read_text())["XMTC metrics (Qaraei & Babbar)"]
    assert metrics["Targets attacked (not skipped):"] == 1


def test_a_sequence_classifier_as_masked_lm_is_one_error_line(hf_multilabel_dir, tiny_attentionxml_dir, tmp_path,
                                                             require_install):
    targets = write_targets(tmp_path / "targets.jsonl", [target_row("xmtc-pos")])
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(tiny_attentionxml_dir),
                 "--dataset-from-file", str(targets), env={"XMTC_MLM": str(hf_multilabel_dir)})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "is not a masked language model (BertForSequenceClassification)" in result.stderr


def test_a_missing_masked_lm_directory_is_named(tiny_attentionxml_dir, tmp_path, require_install):
    targets = write_targets(tmp_path / "targets.jsonl", [target_row("xmtc-pos")])
    result = run("textattack", "attack", "--recipe", "xmtc-pos", "--model", str(tiny_attentionxml_dir),
                 "--dataset-from-file", str(targets), env={"XMTC_MLM": "no-such-dir"}, cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "masked LM 'no-such-dir': no such directory" in result.stderr
