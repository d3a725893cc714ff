"""The paper's target selection on a corpus whose training frequencies and top-k the test fixes.

Labels l0..l7 have training frequencies 0, 1, 2, 3, 4, 5, 8, 9. Every test
document's top-2 is chosen among l0, l1, l2, l3, l5, l6; l4 is true for some
documents but never ranked in a top-2, l7 is never true: neither may shape
the bins. With bin size 2 the bins are therefore 0-1 (l0, l1), 2-3 (l2, l3)
and 5-8 (l5, l6); the 0-1 bin offers exactly two positive pairs.
"""
import itertools
import math

import numpy as np
import pytest
import torch

from textattack_xmtc.datasets import Corpus, read_targets
from textattack_xmtc.study.bins import BinSizeError
from textattack_xmtc.study.selection import (
    SelectionError, positive_pairs, predict_top_k, select_targets, write_jsonl)

LABELS = [f"l{i}" for i in range(8)]
FREQUENCIES = dict(zip(LABELS, [0, 1, 2, 3, 4, 5, 8, 9]))
EXPECTED_BINS = {"0-1": {"l0", "l1"}, "2-3": {"l2", "l3"}, "5-8": {"l5", "l6"}}
K = 2


def training_corpus():
    """Documents giving each label exactly its training frequency (l0 never occurs)."""
    labels = [[name] for name, count in FREQUENCIES.items() for _ in range(count)]
    return Corpus([f"train {i}" for i in range(len(labels))], labels)


def scenario():
    """(test corpus, per-text scores, per-document top-2 as names)."""
    texts, truth, tops = [], [], []
    common = list(itertools.permutations(["l2", "l3", "l5", "l6"], 2))
    for number in range(60):
        top = common[number % len(common)]
        true = [top[0]] + (["l4"] if number % 3 == 0 else []) + (["zz-unknown"] if number % 7 == 0 else [])
        if number % 4 == 0:
            true.append(top[1])
        texts.append(f"document number {number}")
        truth.append(true)
        tops.append(top)
    for top, true in ((("l0", "l2"), ["l0"]), (("l1", "l3"), ["l1", "l4"])):  # the 0-1 bin's two pairs
        texts.append(f"document number {len(texts)}")
        truth.append(true)
        tops.append(top)
    table = {}
    for text, top in zip(texts, tops):
        scores = [0.05 + 0.01 * index for index in range(len(LABELS))]  # below any top label
        scores[LABELS.index(top[0])], scores[LABELS.index(top[1])] = 0.9, 0.8
        table[text] = scores
    return Corpus(texts, truth, name="scenario"), table, tops


@pytest.fixture
def victim(table_victim):
    _, table, _ = scenario()
    return table_victim(table, LABELS)


def expected_pairs():
    test, _, tops = scenario()
    return {(document, label) for document, (top, true) in enumerate(zip(tops, test.labels))
            for label in top if label in true}


def select(victim, **options):
    test, _, _ = scenario()
    options = {"k": K, "bin_size": 2, "per_bin": 5, "neg_per_bin": 4, "seed": 0, **options}
    return select_targets(victim, test, training_corpus().label_counts(), **options)


def test_bins_hold_the_positive_target_labels_by_training_frequency(victim):
    chosen = select(victim)
    assert {selected.bin.name: set(selected.bin.labels) for selected in chosen.bins} == EXPECTED_BINS
    pairs = expected_pairs()
    for selected in chosen.bins:
        available = sum(label in EXPECTED_BINS[selected.bin.name] for _, label in pairs)
        assert selected.pairs == available
        assert len(selected.positives) == min(5, available)  # the 0-1 bin offers only 2
        assert len(selected.negatives) == 4
    assert [selected.pairs for selected in chosen.bins][0] == 2


def test_rows_carry_the_shared_fields_and_the_truth(victim):
    test, _, _ = scenario()
    rows = select(victim, seed=3).rows()
    kinds = [row["attack"] for row in rows]
    assert kinds == sorted(kinds, key=["pos", "neg"].index)  # positives first, then negatives
    for row in rows:
        document = row["document"]
        assert row["text"] == test.texts[document]
        assert row["labels"] == [name for name in test.labels[document] if name in LABELS]  # unknown dropped
        assert row["label_frequency"] == FREQUENCIES[row["target"]]
        assert row["target"] in EXPECTED_BINS[row["bin"]]
        assert (row["k"], row["selection_seed"]) == (K, 3)
        assert list(row) == ["text", "labels", "target", "k", "bin", "attack", "label_frequency",
                             "selection_seed", "document"]


def test_positives_are_true_top_k_pairs_shuffled_within_their_bin_only(victim):
    pairs = expected_pairs()
    orders = set()
    for seed in range(4):
        chosen = select(victim, per_bin=1000, seed=seed)
        rows = chosen.rows()
        positives = [row for row in rows if row["attack"] == "pos"]
        bins_in_order = [row["bin"] for row in positives]
        assert bins_in_order == sorted(bins_in_order, key=list(EXPECTED_BINS).index)  # rarest bin first
        for name, members in EXPECTED_BINS.items():
            drawn = [(row["document"], row["target"]) for row in positives if row["bin"] == name]
            assert sorted(drawn) == sorted(pair for pair in pairs if pair[1] in members)  # a permutation
        orders.add(tuple((row["document"], row["target"]) for row in positives))
    assert len(orders) > 1  # shuffled: seeds order the pairs differently


def test_negatives_are_neither_true_nor_in_the_top_k(victim):
    test, _, tops = scenario()
    for seed in range(5):
        negatives = [row for row in select(victim, seed=seed).rows() if row["attack"] == "neg"]
        assert len(negatives) == 12
        for row in negatives:
            document = row["document"]
            assert row["target"] not in test.labels[document]
            assert row["target"] not in tops[document]
            assert row["target"] in EXPECTED_BINS[row["bin"]]


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_bytes(victim, tmp_path):
    first = write_jsonl(select(victim, seed=7).rows(), tmp_path / "a.jsonl").read_bytes()
    again = write_jsonl(select(victim, seed=7).rows(), tmp_path / "b.jsonl").read_bytes()
    other = write_jsonl(select(victim, seed=8).rows(), tmp_path / "c.jsonl").read_bytes()
    assert first == again
    assert first != other


def test_one_kind_of_rows_does_not_depend_on_the_other_being_asked_for(victim):
    both = select(victim, seed=2).rows()
    assert select(victim, seed=2, attacks=("pos",)).rows() == [row for row in both if row["attack"] == "pos"]
    assert select(victim, seed=2, attacks="neg").rows() == [row for row in both if row["attack"] == "neg"]


def test_the_file_is_read_back_with_the_models_labels(victim, tmp_path):
    path = write_jsonl(select(victim).rows(), tmp_path / "targets.jsonl")
    dataset = read_targets(path, labels=LABELS)  # raises on a label the model does not know
    targets = list(dataset.targets())
    assert len(targets) == len(select(victim).rows())
    assert {target.study["attack"] for target in targets} == {"pos", "neg"}
    assert all(target.bin in EXPECTED_BINS for target in targets)


def test_blank_texts_and_unknown_labels_are_counted_not_selected(table_victim):
    test, table, _ = scenario()
    blank = Corpus(test.texts + ["   "], test.labels + [["l2"]])
    chosen = select_targets(table_victim(table, LABELS), blank,  # a blank text is never scored
                            training_corpus().label_counts(), k=K, bin_size=2, neg_per_bin=100)
    assert chosen.blank_documents == 1 and chosen.documents == len(test)
    assert all(row["document"] < len(test) for row in chosen.rows())
    assert chosen.documents_with_unknown_labels == sum("zz-unknown" in names for names in test.labels)


def test_prediction_is_streamed_in_batches(victim):
    test, _, tops = scenario()
    top = predict_top_k(victim, test.texts, K, batch_size=7)
    assert max(len(call) for call in victim.calls) == 7
    assert [[LABELS[index] for index in row] for row in top] == [list(names) for names in tops]


def test_ties_rank_the_lower_index_first_and_logits_are_ranked_as_given():
    scores = torch.tensor([[1.0, 2.0, 2.0, 0.0, 2.0], [40.0, 30.0, 50.0, 20.0, 45.0]])
    from textattack_xmtc.metrics.ranking import top_k_indices  # the one top-k selection uses

    assert top_k_indices(scores, 3).tolist() == [[1, 2, 4], [2, 4, 0]]
    # torch.topk returns equal scores in no promised order (on CPU e.g. [8, 6, 7] of ten zeros)
    assert top_k_indices(torch.zeros(2, 10), 3).tolist() == [[0, 1, 2], [0, 1, 2]]
    # float32 sigmoids of these logits all equal 1.0: ranking them would tie everything
    assert len(set(torch.sigmoid(scores[1]).tolist())) == 1


def test_positive_pairs_follow_documents_then_ranks():
    assert positive_pairs(np.array([[2, 0], [1, 3]]), [[0, 2], [3]]) == [(0, 2), (0, 0), (1, 3)]


def test_nan_scores_are_an_error_naming_the_model(table_victim):
    test, table, _ = scenario()
    table[test.texts[5]] = [math.nan] * len(LABELS)
    with pytest.raises(SelectionError, match="model my-model gave NaN or infinite scores for document 6"):
        select_targets(table_victim(table, LABELS), test, training_corpus().label_counts(), k=K,
                       bin_size=2, model_name="my-model")


@pytest.mark.parametrize("options, error, message", [
    ({"k": 8}, SelectionError, "k=8 but the model has only 8 labels"),
    ({"bin_size": 7}, BinSizeError, "bin size 7 is larger than the 6 labels"),
    ({"attacks": ("pos", "both")}, SelectionError, "attacks must be among pos, neg"),
    ({"seed": -1}, SelectionError, "seed must be an integer"),
])
def test_bad_options_are_clear_errors(victim, options, error, message):
    with pytest.raises(error, match=message):
        select(victim, **options)


def test_a_model_sharing_no_label_with_the_data_is_an_error(table_victim):
    test, table, _ = scenario()
    other = table_victim(table, [f"x{i}" for i in range(len(LABELS))])
    with pytest.raises(SelectionError, match="shares no label with the test documents"):
        select_targets(other, test, training_corpus().label_counts(), k=K, bin_size=2)


def test_training_counts_without_the_models_labels_are_an_error(victim):
    test, _, _ = scenario()
    with pytest.raises(SelectionError, match="the training data has no document with a label of my-model"):
        select_targets(victim, test, {"zz": 3}, k=K, bin_size=2, model_name="my-model")


def test_selecting_no_target_at_all_is_an_error(victim):
    with pytest.raises(SelectionError, match="no target selected"):
        select(victim, per_bin=0, neg_per_bin=0)
    with pytest.raises(SelectionError, match="no target selected"):
        select(victim, per_bin=0, attacks=("pos",))


def test_writing_refuses_an_existing_file(tmp_path):
    path = tmp_path / "targets.jsonl"
    path.write_text("keep me\n")
    with pytest.raises(FileExistsError):
        write_jsonl([{"a": 1}], path)
    assert path.read_text() == "keep me\n"
    write_jsonl([{"a": 1}], path, overwrite=True)
    assert path.read_text() == '{"a": 1}\n'
    assert [entry.name for entry in tmp_path.iterdir()] == ["targets.jsonl"]  # no temporary file left


def test_the_selection_module_shares_the_target_files_limits():
    from textattack_xmtc.datasets import targets
    from textattack_xmtc.study import selection

    assert (selection.ATTACK_KINDS, selection.MAX_INDEX) == (targets.ATTACK_KINDS, targets.MAX_INDEX)
