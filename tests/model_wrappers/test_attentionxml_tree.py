"""Original FastAttentionXML label trees: loading, the beam against the original's procedure, bad layouts, attacks."""
import datetime

import numpy as np
import pytest
import textattack
import torch
from torch import nn

from builders import (TREE_CLUSTERS as TOP_CLUSTERS, TREE_FANOUT as K, TREE_LABELS as LABELS,
                      TREE_LABELS_NUM as LABELS_NUM, TREE_PREFIX as PREFIX, TREE_VOCAB as VOCAB,
                      object_array, original_tree_clusters as original_clusters, tree_level as make_level,
                      write_original_tree as write_tree)
from textattack_xmtc import XMTCPositive, result_row
from textattack_xmtc.datasets import XMTCDataset, XMTCTarget
from textattack_xmtc.model_wrappers import ModelLoadError, load_victim, victim_architecture
from textattack_xmtc.model_wrappers.attentionxml_tree import AttentionXMLTreeWrapper, find_label_tree
from textattack_xmtc.models.tokenization import AttentionXMLTokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Two words at least: with one position every attention row sees the same context, and all
# nodes of a level tie (their order is then up to topk, in the original too).
TEXTS = ["Oil prices rose sharply.", "Wheat exports fell, the bank said.", "bank rates",
         "the company shares fell on the grain market", "crude oil <UNK> wheat oil oil prices"]


def children_clusters(seed=0):
    """The other layout read: a higher file lists each node's CHILDREN (10 level-1 nodes here)."""
    rng = np.random.default_rng(seed)
    level0 = [np.array([4, 0, 7]), np.array([1, 9, 2]), np.array([3, 8, 5, 6])]
    order = rng.permutation(LABELS_NUM)
    cuts = [0, 3, 7, 9, 14, 18, 21, 26, 30, 35, 40]
    level1 = [order[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    return [level0, level1]


# ----------------------------------------------------------------- the original's procedure, by hand


def plain_logits(state, ids):
    """One text through one level with plain torch ops: logits for EVERY row of its attention table."""
    emb = state["emb.emb.weight"][torch.tensor(ids)]
    hidden = state["lstm.init_state"].shape[-1]
    lstm = nn.LSTM(emb.shape[1], hidden, batch_first=True, bidirectional=True)
    lstm.load_state_dict({key[len("lstm.lstm."):]: value for key, value in state.items()
                          if key.startswith("lstm.lstm.")})
    c0, h0 = state["lstm.init_state"].chunk(2)  # the first half is c0
    with torch.no_grad():
        states = lstm(emb[None], (h0, c0))[0][0]  # [T, 2h]: one unpadded text is its own packed sequence
        weights = torch.softmax(states @ state["attention.attention.weight"].T, dim=0)  # [T, rows]
        out = weights.T @ states
        out = torch.relu(out @ state["linear.linear.0.weight"].T + state["linear.linear.0.bias"])
        return (out @ state["linear.output.weight"].T + state["linear.output.bias"])[:, 0]


def children_by_hand(clusters, original):
    """Level-0 -> level-1 children: the original's get_inter_groups (consecutive blocks) for its own
    files, the file itself for the children layout; level-1 -> labels: always the file."""
    if original:
        first = [list(range(K * j, K * j + K)) for j in range(TOP_CLUSTERS)]
    else:
        first = [list(group) for group in clusters[0]]
    return [first, [list(group) for group in clusters[1]]]


def beam_by_hand(states, children, ids, top, k):
    """FastAttentionXML.predict_level + Model/XMLModel.predict_step, for one text, in plain Python."""
    sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    logits = [plain_logits(state, ids).double().numpy() for state in states]
    kept = sorted(range(len(logits[0])), key=lambda j: -logits[0][j])[:top]
    kept = [(j, sigmoid(logits[0][j])) for j in kept]
    for level in (1, 2):
        candidates = [(c, sigmoid(logits[level][c]) * score) for node, score in kept
                      for c in children[level - 1][node]]
        kept = sorted(candidates, key=lambda pair: -pair[1])[:top if level == 1 else k]
    return kept, candidates, logits


def path_product_by_hand(children, logits, label):
    sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    node1 = next(n for n, group in enumerate(children[1]) if label in group)
    node0 = next(n for n, group in enumerate(children[0]) if node1 in group)
    return sigmoid(logits[0][node0]) * sigmoid(logits[1][node1]) * sigmoid(logits[2][label])


def test_per_text_candidates_give_the_logits_of_the_shared_label_path():
    """A tree level attends with each text's own rows ([B, m] labels); the flat path shares one list."""
    network = make_level(13, 4).eval()
    ids = AttentionXMLTokenizer(VOCAB).batch_encode(TEXTS)
    candidates = torch.tensor([[3, 0, 12, 7], [5, 5, 1, 2], [12, 11, 10, 9], [0, 1, 2, 3], [8, 6, 4, 2]])
    with torch.no_grad():
        per_text = network(ids, candidates)
        shared = torch.stack([network(ids[row:row + 1], candidates[row])[0] for row in range(len(TEXTS))])
        whole = network(ids).gather(1, candidates)
    torch.testing.assert_close(per_text, shared, atol=1e-5, rtol=0)
    torch.testing.assert_close(per_text, whole, atol=1e-5, rtol=0)


@pytest.mark.parametrize("layout", ["original", "children", "split attention"])
def test_the_beam_equals_the_originals_procedure_computed_by_hand(tmp_path, layout):
    clusters = children_clusters() if layout == "children" else original_clusters()
    states = write_tree(tmp_path, clusters, split_last=layout == "split attention")
    top, k = 2, 5
    victim = load_victim(f"{tmp_path}^top={top}")
    assert isinstance(victim, AttentionXMLTreeWrapper) and victim.top == top
    assert victim.labels == LABELS and victim.max_words == 500
    children = children_by_hand(clusters, original=layout != "children")
    tokenizer = AttentionXMLTokenizer(VOCAB)
    indices, scores = victim.predict_top_k(TEXTS, k)
    dense = victim(TEXTS)
    assert dense.shape == (len(TEXTS), LABELS_NUM)
    outside_checked = 0
    for row, text in enumerate(TEXTS):
        ids = tokenizer.encode(text)
        expected, candidates, logits = beam_by_hand(states, children, ids, top, k)
        assert indices[row].tolist() == [label for label, _ in expected]
        np.testing.assert_allclose(scores[row].double().numpy(), [s for _, s in expected], atol=1e-5, rtol=0)
        # Dense scores: every last-level candidate its beam score, every other label 0.
        in_beam = {label: score for label, score in candidates}
        for label in range(LABELS_NUM):
            assert float(dense[row, label]) == pytest.approx(in_beam.get(label, 0.0), abs=1e-5)
        # label_scores: the exact product along each label's own path, inside the beam or not.
        exact = victim.label_scores([text], list(range(LABELS_NUM)))[0].double().numpy()
        by_hand = [path_product_by_hand(children, logits, label) for label in range(LABELS_NUM)]
        np.testing.assert_allclose(exact, by_hand, atol=1e-5, rtol=0)
        outside = [label for label in range(LABELS_NUM) if label not in in_beam]
        assert outside and all(exact[label] > 0 for label in outside)
        outside_checked += len(outside)
    assert outside_checked > 0


def test_a_beam_wider_than_the_tree_scores_every_label_and_pads_with_label_L(tmp_path):
    states = write_tree(tmp_path)
    victim = load_victim(str(tmp_path))  # default top 160 > 3 clusters: every node is kept
    assert victim.top == 160
    children = children_by_hand(original_clusters(), original=True)
    ids = AttentionXMLTokenizer(VOCAB).encode(TEXTS[0])
    _, _, logits = beam_by_hand(states, children, ids, 160, 50)
    dense = victim(TEXTS[:1])[0].double().numpy()
    np.testing.assert_allclose(dense, [path_product_by_hand(children, logits, label) for label in range(40)],
                               atol=1e-5, rtol=0)
    indices, scores = victim.predict_top_k(TEXTS[:1], 45)
    assert indices[0, 40:].tolist() == [LABELS_NUM] * 5 and torch.isinf(scores[0, 40:]).all()
    assert sorted(indices[0, :40].tolist()) == list(range(40))


def test_batches_give_the_scores_of_one_text_at_a_time(tmp_path):
    write_tree(tmp_path)
    victim = load_victim(f"{tmp_path}^top=2")
    together = victim(TEXTS)
    alone = torch.cat([victim([text]) for text in TEXTS])
    torch.testing.assert_close(together, alone, atol=1e-6, rtol=0)
    torch.testing.assert_close(victim.label_scores(TEXTS, [3, 17]),
                               torch.cat([victim.label_scores([t], [3, 17]) for t in TEXTS]), atol=1e-6, rtol=0)


def test_found_from_root_models_directory_level_and_cluster_files(tmp_path):
    write_tree(tmp_path)
    models = tmp_path / "models"
    for path in (tmp_path, models, models / f"{PREFIX}-Level-2", models / f"{PREFIX}-cluster-Level-0.npy"):
        found = find_label_tree(path)
        assert found["prefix"] == PREFIX and found["models_dir"] == str(models)
        assert found["vocab_path"].endswith("data/Tiny/vocab.npy")
        assert victim_architecture(str(path)) == "attentionxml-tree"
    victim = load_victim(str(models / f"{PREFIX}-Level-1"))
    identity = victim.identity()
    assert identity["architecture"] == "attentionxml-tree" and identity["num_labels"] == LABELS_NUM
    assert "label tree (3 levels: 3 -> 12 -> 40 nodes, beam 160" in victim.describe()


def test_top_is_refused_by_other_architectures_and_must_be_positive(tmp_path):
    from test_attentionxml_wrapper import write_original_layout

    write_original_layout(tmp_path / "flat")
    with pytest.raises(ModelLoadError, match="top= applies to attentionxml-tree, libmultilabel models only"):
        load_victim(f"{tmp_path / 'flat'}^top=5")
    write_tree(tmp_path / "tree")
    with pytest.raises(ModelLoadError, match="positive integer"):
        load_victim(f"{tmp_path / 'tree'}^top=0")


# ----------------------------------------------------------------- bad layouts: one line naming the file


def load_error(path):
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(path))
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("level", [1, 2])
def test_a_missing_level_file_is_named(tmp_path, level):
    write_tree(tmp_path)
    (tmp_path / "models" / f"{PREFIX}-Level-{level}").unlink()
    message = load_error(tmp_path)
    assert f"{PREFIX}-Level-{level}: missing" in message


def test_a_missing_cluster_file_is_named(tmp_path):
    write_tree(tmp_path)
    (tmp_path / "models" / f"{PREFIX}-cluster-Level-1.npy").unlink()
    assert f"{PREFIX}-cluster-Level-1.npy: missing" in load_error(tmp_path)


@pytest.mark.parametrize("element, words", [
    (np.array([0.5, 1.0]), "element 1 is float64 array"),
    (np.array([[1, 2]]), "element 1 is int64 array of shape [1, 2]"),
    ("seven", "element 1 is 'seven'"),
])
def test_a_cluster_file_with_a_non_integer_element_is_named(tmp_path, element, words):
    write_tree(tmp_path)
    groups = list(object_array(original_clusters()[1]))
    array = np.empty(len(groups), dtype=object)
    array[:] = groups[:1] + [element] + groups[2:]
    np.save(tmp_path / "models" / f"{PREFIX}-cluster-Level-1.npy", array, allow_pickle=True)
    message = load_error(tmp_path)
    assert f"{PREFIX}-cluster-Level-1.npy: {words}" in message


def test_a_cluster_file_naming_anything_but_arrays_is_refused_unrun(tmp_path):
    write_tree(tmp_path)
    array = np.empty(2, dtype=object)
    array[:] = [np.array([1]), datetime.date(2020, 1, 1)]
    np.save(tmp_path / "models" / f"{PREFIX}-cluster-Level-1.npy", array, allow_pickle=True)
    message = load_error(tmp_path)
    assert f"{PREFIX}-cluster-Level-1.npy: not a cluster file" in message and "refused datetime.date" in message


@pytest.mark.parametrize("level, index, words", [
    (1, LABELS_NUM, f"index {LABELS_NUM} is out of range: there are 40 labels"),
    (1, -1, "index -1 is out of range"),
    (0, LABELS_NUM, f"index {LABELS_NUM} is out of range: there are 40 labels"),
])
def test_a_cluster_index_out_of_range_is_named(tmp_path, level, index, words):
    clusters = original_clusters()
    clusters[level][1] = np.append(clusters[level][1], index)
    write_tree(tmp_path, clusters)
    message = load_error(tmp_path)
    assert f"{PREFIX}-cluster-Level-{level}.npy: {words}" in message


def test_a_children_file_index_out_of_range_or_inconsistent_label_sets_are_named(tmp_path):
    clusters = children_clusters()
    clusters[0][1] = np.array([1, 9, 2, 10])  # 10 level-1 nodes: index 10 is no node, and not a label set either
    write_tree(tmp_path / "a", clusters)
    message = load_error(tmp_path / "a")
    assert message.startswith(f"{tmp_path / 'a' / 'models' / PREFIX}-cluster-Level-0.npy: index 10 is no node "
                              f"of the next level (it has 10)")
    assert "do not divide the next level's 10 nodes" in message
    clusters = original_clusters()
    clusters[0][0], clusters[0][1] = clusters[0][1], clusters[0][0]  # blocks no longer hold their labels
    write_tree(tmp_path / "b", clusters)
    message = load_error(tmp_path / "b")
    assert f"{PREFIX}-cluster-Level-0.npy: index " in message
    assert f"they do not match {PREFIX}-cluster-Level-1.npy (node j's labels must be those of nodes 4j..4j+3" in message


@pytest.mark.parametrize("level", [0, 1])
def test_attention_rows_that_do_not_match_the_cluster_count_name_the_level_file(tmp_path, level):
    write_tree(tmp_path)
    path = tmp_path / "models" / f"{PREFIX}-Level-{level}"
    rows = TOP_CLUSTERS + 1 if level == 0 else 12 + 2
    state = {f"Network.{k}" if level else k: v for k, v in make_level(rows, 5).state_dict().items()}
    torch.save(state, path)
    message = load_error(tmp_path)
    assert message.startswith(f"{path}: scores {rows - (1 if level else 0)} nodes")
    assert f"{PREFIX}-cluster-Level-{level}.npy has {[TOP_CLUSTERS, 12][level]} clusters" in message


def test_labels_that_do_not_match_the_last_level_are_named(tmp_path):
    write_tree(tmp_path)
    (tmp_path / "models" / "labels.txt").write_text("\n".join(LABELS[:-1]) + "\n")
    message = load_error(tmp_path)
    assert "labels.txt: 39 labels, but the last level" in message and f"{PREFIX}-Level-2" in message


def test_a_level_file_without_the_network_prefix_is_named(tmp_path):
    write_tree(tmp_path)
    path = tmp_path / "models" / f"{PREFIX}-Level-1"
    torch.save(make_level(13, 3).state_dict(), path)
    assert load_error(tmp_path).startswith(f"{path}: not a FastAttentionXML level 1 file")


# ----------------------------------------------------------------- an attack on the tree


def test_an_attack_on_the_tree_through_load_victim_and_a_recipe_gives_a_result_row(tmp_path):
    write_tree(tmp_path)
    victim = load_victim(f"{tmp_path}^top=2")
    text = TEXTS[3]
    [top_label] = victim.predict_top_k([text], 1)[0][0].tolist()
    attack = XMTCPositive.build(victim, k=1, encoder="none")
    args = textattack.AttackArgs(num_examples=1, silent=True, disable_stdout=True, query_budget=200)
    [result] = textattack.Attacker(attack, XMTCDataset([(text, XMTCTarget([LABELS[top_label]], LABELS[top_label]))]),
                                   args).attack_dataset()
    row = result_row(result)
    assert row["label"] == LABELS[top_label] and row["rank_before"] == 1
    assert row["status"] in ("succeeded", "failed") and row["queries"] > 0


# ----------------------------------------------------------------- the narrow contract: rank_labels


def test_rank_labels_answers_from_the_beam_and_exact_paths_as_computed_by_hand(tmp_path):
    """Top list = the original's prediction; an asked label in the beam ranks among the candidates,
    one outside it gets its exact path product and ranks below every candidate and below k."""
    states = write_tree(tmp_path)
    top, k = 2, 4
    victim = load_victim(f"{tmp_path}^top={top}")
    children = children_by_hand(original_clusters(), original=True)
    tokenizer = AttentionXMLTokenizer(VOCAB)
    asked = list(range(LABELS_NUM))  # every label: some in the beam, most outside it
    ranking = victim.rank_labels(TEXTS, asked, k)
    indices, scores = victim.predict_top_k(TEXTS, k)
    assert ranking.top_labels.tolist() == indices.tolist()
    torch.testing.assert_close(ranking.top_scores, scores, atol=1e-6, rtol=0)
    for row, text in enumerate(TEXTS):
        _, candidates, logits = beam_by_hand(states, children, tokenizer.encode(text), top, k)
        in_beam = dict(candidates)
        order = sorted(in_beam, key=lambda label: (-in_beam[label], label))  # ties: lower label first
        for label in asked:
            rank, score = int(ranking.ranks[row, label]), float(ranking.scores[row, label])
            if label in in_beam:
                assert rank == order.index(label) + 1
                assert score == pytest.approx(in_beam[label], abs=1e-5)
            else:
                assert rank == max(len(in_beam), k) + 1
                assert score == pytest.approx(path_product_by_hand(children, logits, label), abs=1e-5)


def test_a_narrow_beam_ranks_an_outside_label_below_k_even_with_few_candidates(tmp_path):
    write_tree(tmp_path)
    victim = load_victim(f"{tmp_path}^top=1")  # one cluster, then one node: 2 to 5 candidates
    ranking = victim.rank_labels(TEXTS, list(range(LABELS_NUM)), 8)
    real = (ranking.top_labels < LABELS_NUM).sum(1)
    assert (real < 8).all()  # fewer candidates than k: the top list is padded with label L and -inf
    assert torch.isinf(ranking.top_scores[ranking.top_labels == LABELS_NUM]).all()
    outside = ranking.ranks[ranking.ranks > real[:, None]]
    assert len(outside) and (outside == 9).all()


def test_attacks_and_evaluation_never_ask_the_tree_for_dense_scores(tmp_path, monkeypatch):
    """Goal functions and stream_top_k use rank_labels / label_scores only: [B, L] never forms."""
    from textattack_xmtc import XMTCNegative
    from textattack_xmtc.training.evaluation import stream_top_k

    write_tree(tmp_path)
    victim = load_victim(f"{tmp_path}^top=2")
    expected_top = victim.predict_top_k(TEXTS, 3)[0].tolist()

    def dense(self, texts):
        raise AssertionError("the dense [B, L] scores were asked for")

    monkeypatch.setattr(AttentionXMLTreeWrapper, "__call__", dense)
    assert stream_top_k(victim, TEXTS, 3).tolist() == expected_top
    text = TEXTS[3]
    ranking = victim.rank_labels([text], list(range(LABELS_NUM)), 2)
    outside = int(torch.argmax(ranking.ranks[0]))  # a label the beam does not reach
    assert int(ranking.ranks[0, outside]) > len(TEXTS)
    args = textattack.AttackArgs(num_examples=2, silent=True, disable_stdout=True, query_budget=300)
    for recipe, target in ((XMTCPositive, "auto"), (XMTCNegative, LABELS[outside])):
        true = [LABELS[expected_top[3][0]]]
        attack = recipe.build(victim, k=2, encoder="none")
        [result] = textattack.Attacker(attack, XMTCDataset([(text, XMTCTarget(true, target))]),
                                       args).attack_dataset()
        row = result_row(result)
        assert row["status"] in ("succeeded", "failed") and row["queries"] > 1
        if recipe is XMTCNegative:  # the target outside the beam starts below every beam candidate
            assert row["label"] == LABELS[outside] and row["rank_before"] == int(ranking.ranks[0, outside])


# ----------------------------------------------------------------- hostile inputs: damaged trees are refused


def saved_tree(tmp_path):
    """An original tree saved as our directory (level-<i>.pt, children-<i>.npy); returns the directory."""
    write_tree(tmp_path / "original")
    load_victim(str(tmp_path / "original")).save(tmp_path / "saved")
    return tmp_path / "saved"


def test_a_saved_tree_with_a_label_under_no_node_is_refused(tmp_path):
    # Dropping a label from its cluster (-1 is the pad) used to load: that label then scored 0 forever.
    directory = saved_tree(tmp_path)
    table = np.load(directory / "children-1.npy")
    orphan = int(table[0, 0])
    table[0, 0] = -1
    np.save(directory / "children-1.npy", table, allow_pickle=False)
    assert f"children-1.npy: index {orphan} is under no node" in load_error(directory)


def test_a_saved_children_file_with_a_negative_index_other_than_the_pad_is_refused(tmp_path):
    directory = saved_tree(tmp_path)
    table = np.load(directory / "children-1.npy")
    table[2, 0] = -5  # used to read as padding, silently dropping the label
    np.save(directory / "children-1.npy", table, allow_pickle=False)
    assert "children-1.npy: row 2 holds -5; entries are node indices, padded with -1 only" in load_error(directory)


def test_an_empty_saved_children_file_is_a_one_line_error(tmp_path):
    directory = saved_tree(tmp_path)
    (directory / "children-0.npy").write_bytes(b"")  # used to escape as EOFError (a traceback in the commands)
    assert "children-0.npy: not a plain integer array" in load_error(directory)


@pytest.mark.parametrize("extra, copied", [("level-3.pt", "level-2.pt"), ("children-2.npy", "children-1.npy")])
def test_a_saved_tree_with_an_extra_level_file_is_refused(tmp_path, extra, copied):
    directory = saved_tree(tmp_path)
    (directory / extra).write_bytes((directory / copied).read_bytes())
    message = load_error(directory)
    assert f"{extra}: not part of this tree (xmtc_model.json says 3 levels" in message


def test_an_original_tree_with_a_node_under_no_cluster_is_refused(tmp_path):
    # cluster-Level-0 as children lists that leave level-1 node 0 out: it could never be reached.
    write_tree(tmp_path)
    np.save(tmp_path / "models" / f"{PREFIX}-cluster-Level-0.npy",
            object_array([[1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]), allow_pickle=True)
    assert f"{PREFIX}-cluster-Level-0.npy: index 0 is under no node" in load_error(tmp_path)


def test_an_option_given_twice_after_the_caret_is_refused(tmp_path):
    write_tree(tmp_path)
    with pytest.raises(ModelLoadError, match=r"loading option top= is given twice"):
        load_victim(f"{tmp_path}^top=2,top=3")  # the last used to win silently
