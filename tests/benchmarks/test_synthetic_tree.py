"""The synthetic label tree of benchmarks/synthetic_tree.py: its shape, targets and original-layout files."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def synthetic_tree():
    spec = importlib.util.spec_from_file_location("synthetic_tree", BENCHMARKS / "synthetic_tree.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_tree"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("synthetic_tree", None)


@pytest.fixture(scope="module")
def small_sizes(synthetic_tree):
    return synthetic_tree.SyntheticSizes(vocab_size=300, emb_size=8, hidden_size=8, linear_size=[16])


@pytest.fixture(scope="module")
def tree(synthetic_tree, small_sizes):
    return synthetic_tree.build_tree_victim(500, sizes=small_sizes, seed=3, top=6)


def test_level_sizes_follow_the_original_amazon_670k_tree(synthetic_tree):
    assert synthetic_tree.tree_level_sizes(670_091) == [2048, 16384, 131072, 670_091]
    assert synthetic_tree.tree_level_sizes(1000) == [2, 16, 128, 1000]
    assert synthetic_tree.tree_level_sizes(10) == [2, 10]  # tiny L: levels above depth 1 dropped


def test_children_partition_every_level_consecutively(synthetic_tree):
    sizes = synthetic_tree.tree_level_sizes(1000)
    for above, (groups, below) in enumerate(zip(synthetic_tree.tree_children(sizes), sizes[1:])):
        assert len(groups) == sizes[above]
        assert np.array_equal(np.concatenate(groups), np.arange(below))
        widths = {len(group) for group in groups}
        assert max(widths) - min(widths) <= 1 and max(widths) <= 8


def test_the_tree_is_seeded_and_predicts_from_its_vocabulary(synthetic_tree, small_sizes, tree):
    again = synthetic_tree.build_tree_victim(500, sizes=small_sizes, seed=3, top=6)
    other = synthetic_tree.build_tree_victim(500, sizes=small_sizes, seed=4, top=6)
    assert tree.weights_sha256() == again.weights_sha256() != other.weights_sha256()
    assert tree.tokenizer.vocab[:2] == ["<PAD>", "<UNK>"] and len(tree.tokenizer.vocab) == 300
    texts = synthetic_tree.synthetic_documents(tree, count=3, words=20, seed=1)
    assert all(len(text.split()) == 20 for text in texts)
    assert all(tree.tokenizer.encode(text).count(1) == 0 for text in texts)  # every word is in the vocabulary
    indices, scores = tree.predict_top_k(texts, 5)
    assert indices.shape == (3, 5) and bool(torch.isfinite(scores).all())
    assert synthetic_tree.model_bytes(tree) > 0 and "MB" in synthetic_tree.describe_size(tree)


def test_targets_are_the_kth_predicted_label_and_negatives_lie_outside_the_top_k(synthetic_tree, tree):
    texts = synthetic_tree.synthetic_documents(tree, count=4, words=15, seed=2)
    rows = synthetic_tree.choose_targets(tree, texts, k=5, negatives_every=2, negative_offset=3)
    positives = [row for row in rows if row["attack"] == "pos"]
    negatives = [row for row in rows if row["attack"] == "neg"]
    assert len(positives) == 4 and len(negatives) == 2
    for row in positives:
        top = synthetic_tree.top_labels(tree, [row["text"]], 5)[0]
        assert row["labels"] == [tree.labels[i] for i in top] and row["target"] == row["labels"][-1]
    for row in negatives:
        assert row["target"] not in row["labels"]


def test_original_layout_files_load_back_to_the_same_predictions(synthetic_tree, tree, tmp_path):
    from textattack_xmtc.model_wrappers import load_victim

    models = synthetic_tree.write_original_tree(tree, tmp_path, name="Tiny")
    assert tree.model.sizes == [8, 64, 500]  # depth 6: the cluster level at depth 0 is dropped
    assert sorted(path.name for path in models.glob("FastAttentionXML-*")) == [
        "FastAttentionXML-Tiny-Level-0", "FastAttentionXML-Tiny-Level-1", "FastAttentionXML-Tiny-Level-2",
        "FastAttentionXML-Tiny-cluster-Level-0.npy", "FastAttentionXML-Tiny-cluster-Level-1.npy"]
    loaded = load_victim(f"{models}^top=6")
    texts = synthetic_tree.synthetic_documents(tree, count=3, words=25, seed=5)
    expected, loaded_result = tree.predict_top_k(texts, 5), loaded.predict_top_k(texts, 5)
    assert torch.equal(expected[0], loaded_result[0])
    assert torch.allclose(expected[1], loaded_result[1], atol=1e-6)
    with pytest.raises(FileExistsError):
        synthetic_tree.write_original_tree(tree, tmp_path, name="Tiny")
