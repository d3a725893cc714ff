"""The paper's study on a label-tree AttentionXML (an original-layout checkpoint written here):
``evaluate``, ``select-targets``, ``experiment`` for both targeted attacks and ``report``, through the
commands, as a user with a FastAttentionXML model runs them."""
import json

import numpy as np
import pytest

from commands import run_study
from builders import TREE_LABELS as LABELS, TREE_VOCAB as VOCAB, write_original_tree as write_tree

TOP = 2  # a narrow beam: most labels lie outside it, as with 670,000 labels


def write_dataset(root):
    """data/Tiny in the AttentionXML layout; each test document's true labels hold its two best
    labels on the tree (so positive targets exist) and one random label."""
    from textattack_xmtc.model_wrappers import load_victim

    rng = np.random.default_rng(0)
    words = VOCAB[2:]

    def texts(count):
        return [" ".join(rng.choice(words, size=int(rng.integers(6, 14)))) for _ in range(count)]

    data = root / "data" / "Tiny"
    train_lines = (data / "train_labels.txt").read_text().splitlines()
    (data / "train_texts.txt").write_text("\n".join(texts(len(train_lines))) + "\n")
    test_texts = texts(24)
    best = load_victim(f"{root}^top={TOP}").predict_top_k(test_texts, 2)[0].tolist()
    test_labels = [sorted({LABELS[a], LABELS[b], LABELS[int(rng.integers(len(LABELS)))]}) for a, b in best]
    (data / "test_texts.txt").write_text("\n".join(test_texts) + "\n")
    (data / "test_labels.txt").write_text("\n".join(" ".join(labels) for labels in test_labels) + "\n")
    return data


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree-study")
    write_tree(root)
    data = write_dataset(root)
    steps = run_study(root, f"{root}^top={TOP}", str(data), evaluate=("--bin-size", "10"),
                      select=("--bin-size", "10", "--per-bin", "3", "--neg-per-bin", "2", "--seed", "0"),
                      experiment=("--seed", "0"))
    return root, steps


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_evaluate_ranks_the_test_set_with_the_trees_beam(study):
    root, steps = study
    report = json.loads((root / "eval.json").read_text())
    # Every test document holds its two best labels on the tree: P@1 is 1 and P@3 at least 2/3.
    assert report["metrics"]["P@1"] == 1.0 and report["metrics"]["P@3"] >= 2 / 3 - 1e-9
    assert "(attentionxml-tree, 40 labels)" in steps["evaluate"].stdout


def test_select_targets_and_both_experiments_run_on_the_tree(study):
    root, _ = study
    targets = rows(root / "targets.jsonl")
    assert {row["attack"] for row in targets} == {"pos", "neg"}
    for recipe, kind in (("xmtc-pos", "pos"), ("xmtc-neg", "neg")):
        results = rows(root / recipe / "results.jsonl")
        expected = [number for number, row in enumerate(targets) if row["attack"] == kind]
        assert [row["target_number"] for row in results] == expected
        assert all(row["victim"]["architecture"] == "attentionxml-tree" for row in results)
        attacked = [row for row in results if row["status"] != "skipped"]
        assert attacked and all(row["queries"] > 1 for row in attacked)
    negatives = rows(root / "xmtc-neg" / "results.jsonl")
    # A negative target lies outside the top-k; most lie outside the narrow beam, ranked below it.
    assert all(row["rank_before"] > row["k"] for row in negatives if row["status"] != "skipped")


def test_the_report_covers_both_runs(study):
    root, steps = study
    html = (root / "report" / "report.html").read_text()
    assert "xmtc-pos" in html and "xmtc-neg" in html
    assert "results_all.py definition" in steps["report"].stdout
