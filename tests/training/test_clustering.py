"""Balanced 2-means on TF-IDF label features: cases checked by hand, exact balance, every label in one leaf,
the tree's levels in AttentionXMLTree's shape, determinism for a seed, and one-line errors naming the option."""
import numpy as np
import pytest
import scipy.sparse as sp

from textattack_xmtc.models.attentionxml_tree import children_table
from textattack_xmtc.training.clustering import (TreeShapeError, balanced_two_means, build_label_tree,
                                                 check_tree_options, label_features, leaf_clusters, level_depths,
                                                 node_paths, tfidf_matrix, tree_depth)


def two_topic_documents(labels_per_topic=4, documents=120, seed=0):
    """Labels 0..n-1 appear in documents of words 2-5, labels n..2n-1 in documents of words 6-9; each label
    also has its own word (10 + label)."""
    rng = np.random.default_rng(seed)
    docs, sets = [], []
    for _ in range(documents):
        label = int(rng.integers(2 * labels_per_topic))
        base = 2 if label < labels_per_topic else 6
        docs.append(list(rng.integers(base, base + 4, size=6)) + [10 + label])
        sets.append([label])
    return docs, sets, 10 + 2 * labels_per_topic


def test_tfidf_rows_are_normalised_counts_times_smoothed_idf():
    matrix = tfidf_matrix([[2, 3, 3], [3, 4], [0, 1]], vocab_size=5).toarray()
    idf = {2: np.log(4 / 2) + 1, 3: np.log(4 / 3) + 1, 4: np.log(4 / 2) + 1}
    first = np.array([0, 0, idf[2], 2 * idf[3], 0])
    assert np.allclose(matrix[0], first / np.linalg.norm(first))
    second = np.array([0, 0, 0, idf[3], idf[4]])
    assert np.allclose(matrix[1], second / np.linalg.norm(second))
    assert not matrix[2].any()  # pad and unknown ids are no words


def test_label_features_sum_their_documents_then_normalise():
    docs = [[2], [3], [2, 3]]
    features = label_features(docs, [[0], [0, 1], [1]], labels_num=3, vocab_size=4).toarray()
    tfidf = tfidf_matrix(docs, 4).toarray()
    expected = tfidf[0] + tfidf[1]
    assert np.allclose(features[0], expected / np.linalg.norm(expected))
    expected = tfidf[1] + tfidf[2]
    assert np.allclose(features[1], expected / np.linalg.norm(expected))
    assert not features[2].any()  # a label without documents
    assert sp.issparse(label_features(docs, [[0], [0, 1], [1]], 3, 4))


def test_two_obvious_groups_are_split_apart_for_every_seed():
    docs, sets, vocab = two_topic_documents()
    features = label_features(docs, sets, 8, vocab)
    for seed in range(5):
        left, right = balanced_two_means(features, np.random.default_rng(seed))
        assert sorted([left.tolist(), right.tolist()]) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_a_lopsided_pull_still_gives_exact_halves():
    """Five labels on one axis and two on another: 2-means alone would split 5/2; balanced gives 4/3."""
    rows = np.array([[1, 0]] * 5 + [[0, 1]] * 2, dtype=float)
    left, right = balanced_two_means(sp.csr_matrix(rows), np.random.default_rng(0))
    assert (len(left), len(right)) == (4, 3)
    assert set(left) | set(right) == set(range(7)) and not set(left) & set(right)
    # The two labels of the second axis stay together, with one of the first axis's.
    assert {5, 6} <= set(right) or {5, 6} <= set(left)


@pytest.mark.parametrize("labels_num,cluster_size,levels", [(90, 8, 3), (37, 3, 2), (16, 2, 4), (5, 2, 2)])
def test_every_label_is_in_exactly_one_leaf_and_clusters_are_balanced(labels_num, cluster_size, levels):
    rng = np.random.default_rng(labels_num)
    features = sp.csr_matrix(rng.random((labels_num, 12)))
    children = build_label_tree(features, cluster_size=cluster_size, levels=levels, seed=0)
    assert len(children) == levels - 1
    leaves = children[-1]
    everything = np.concatenate(leaves)
    assert sorted(everything.tolist()) == list(range(labels_num))  # each label once
    sizes = [len(leaf) for leaf in leaves]
    assert max(sizes) <= cluster_size and max(sizes) - min(sizes) <= 1
    assert len(leaves) == 2 ** tree_depth(labels_num, cluster_size)
    # Upper levels: consecutive groups of the next level, each node once.
    for upper, lower in zip(children[:-1], children[1:]):
        assert sorted(np.concatenate(upper).tolist()) == list(range(len(lower)))
        assert len({len(group) for group in upper}) == 1
    # AttentionXMLTree's table takes them, and every label has a full path.
    for level, groups in enumerate(children):
        children_table(groups, pad=len(children[level + 1]) if level + 1 < len(children) else labels_num)
    paths = node_paths(children, labels_num)
    assert all((path >= 0).all() for path in paths) and len(paths) == levels


def test_tree_depths_by_hand():
    assert tree_depth(90, 8) == 4 and tree_depth(8, 8) == 0 and tree_depth(9, 8) == 1
    assert level_depths(4, 3) == [2, 4] and level_depths(5, 2) == [5] and level_depths(6, 4) == [2, 4, 6]


def test_the_two_topic_tree_keeps_topics_in_separate_top_clusters():
    docs, sets, vocab = two_topic_documents()
    children = build_label_tree(label_features(docs, sets, 8, vocab), cluster_size=2, levels=3, seed=0)
    top = node_paths(children, 8)[0]
    assert len(set(top[:4])) == 1 and len(set(top[4:])) == 1 and top[0] != top[4]


def test_same_seed_same_tree_and_another_seed_may_differ():
    rng = np.random.default_rng(3)
    features = sp.csr_matrix(rng.random((64, 10)))
    first = leaf_clusters(features, 4, seed=7)
    again = leaf_clusters(features, 4, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    others = [leaf_clusters(features, 4, seed=seed) for seed in range(3)]
    assert any(not all(np.array_equal(a, b) for a, b in zip(first, other)) for other in others)


@pytest.mark.parametrize("options,message", [
    (dict(cluster_size=1, levels=3), "--cluster-size must be an integer of at least 2, got 1"),
    (dict(cluster_size=4, levels=1), "--levels must be an integer of at least 2, got 1"),
])
def test_bad_options_name_the_option(options, message):
    with pytest.raises(TreeShapeError, match=message):
        check_tree_options(**options)


def test_more_levels_than_the_labels_allow_is_one_line_naming_levels():
    features = sp.csr_matrix(np.eye(8))
    with pytest.raises(TreeShapeError) as error:
        build_label_tree(features, cluster_size=4, levels=3)
    assert "--levels 3: 8 labels in clusters of at most --cluster-size 4 allow 2 level(s) at most" in str(error.value)
    assert "\n" not in str(error.value)
    assert len(build_label_tree(features, cluster_size=4, levels=2)) == 1


@pytest.mark.parametrize("labels_num, cluster_size, levels, advice", [
    (1, 8, 3, "1 label(s) are too few for a label tree (it needs at least 3); train --architecture attentionxml"),
    (12, 2, 9, "; use --levels 4"),
    (12, 8, 3, "; use --levels 2 or --cluster-size 3"),
])
def test_too_few_labels_for_the_tree_advise_options_that_work(labels_num, cluster_size, levels, advice):
    # Every document with the same label used to be told to "lower --levels or --cluster-size",
    # though neither can go below 2.
    features = np.eye(labels_num)
    with pytest.raises(TreeShapeError) as error:
        build_label_tree(features, cluster_size=cluster_size, levels=levels)
    assert advice in str(error.value)
