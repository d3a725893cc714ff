"""Training targets are each document's label indices, made dense one batch at a time: the flat trainers'
batches see exactly the rows of the old dense [N, L] matrix, and no [N, L] matrix is built."""
import numpy as np
import pytest
import torch

from textattack_xmtc.datasets import Corpus
from textattack_xmtc.models.aplc_xlnet import APLCXLNet
from textattack_xmtc.training import aplc_xlnet, attentionxml
from textattack_xmtc.training.common import (batch_targets, candidate_targets, label_index_lists,
                                             length_bucketed_batches)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LABELS = ["acq", "crude", "earn", "grain", "ship", "trade", "zinc"]


def old_dense_matrix(label_lists, labels):
    """What training.common.label_matrix built before: float 0/1 [N, L], unknown names dropped."""
    matrix = torch.zeros((len(label_lists), len(labels)))
    for row, names in enumerate(label_lists):
        for name in names:
            if name in labels:
                matrix[row, labels.index(name)] = 1.0
    return matrix


def corpus(size=40, seed=0):
    rng = np.random.default_rng(seed)
    texts, label_lists = [], []
    for _ in range(size):
        chosen = sorted(set(rng.choice(LABELS, size=int(rng.integers(1, 4))).tolist()))
        words = [f"w{int(i)}" for i in rng.integers(0, 30, size=int(rng.integers(3, 12)))] + chosen
        texts.append(" ".join(words))
        label_lists.append(chosen)
    return Corpus(texts, label_lists, name="sparse-targets")


def test_batch_targets_are_the_old_dense_rows():
    label_lists = [["earn"], ["acq", "earn", "unknown"], [], ["zinc", "acq", "acq"]]
    lists = label_index_lists(label_lists, LABELS)
    assert [row.tolist() for row in lists] == [[2], [0, 2], [], [0, 6]]
    dense = old_dense_matrix(label_lists, LABELS)
    for rows in ([0, 1, 2, 3], [3, 1], [2]):
        assert torch.equal(batch_targets(lists, np.array(rows), len(LABELS)), dense[rows])
    assert batch_targets(lists, np.array([2]), len(LABELS)).shape == (1, len(LABELS))


def test_candidate_targets_mark_the_true_candidates_only():
    lists = [np.array([2, 4]), np.array([9])]
    found = candidate_targets(torch.tensor([[4, 9, 2, 7], [9, 4, 7, 7]]), lists, [0, 1])
    assert found.tolist() == [[1, 0, 1, 0], [1, 0, 0, 0]]


def recording_epochs(record, batches=3):
    """A stand-in for train_epochs that builds the first batches as it would and asks for their loss."""
    def fake(network, optimizer, batch_loss, lengths, *, epochs, batch_size, rng, **_):
        for rows in length_bucketed_batches(lengths, batch_size, rng)[:batches]:
            record["rows"].append(rows)
            batch_loss(rows)
        network.eval()
        return [0.0]
    return fake


def test_the_attentionxml_trainer_batches_see_the_old_dense_rows(monkeypatch):
    train = corpus()
    record = {"rows": [], "targets": []}
    monkeypatch.setattr(attentionxml, "train_epochs", recording_epochs(record))

    def loss(logits, targets, weight):
        record["targets"].append(targets.clone())
        return logits.sum()
    monkeypatch.setattr(attentionxml, "weighted_bce_with_logits", loss)
    wrapper, _ = attentionxml.train_attentionxml(train, None, epochs=1, batch_size=8, emb_size=8, hidden_size=8,
                                                 linear_size=[8], glove_init=False, progress=False, log=lambda _: None)
    dense = old_dense_matrix(train.labels, wrapper.labels)
    assert len(record["targets"]) == 3
    for rows, targets in zip(record["rows"], record["targets"]):
        assert torch.equal(targets, dense[torch.as_tensor(rows)])


def test_the_aplc_trainer_batches_see_the_old_dense_rows(monkeypatch):
    train = corpus(seed=1)
    record = {"rows": [], "targets": []}
    monkeypatch.setattr(aplc_xlnet, "train_epochs", recording_epochs(record))

    def loss(self, scores, targets, weight=None):
        record["targets"].append(targets.clone())
        return torch.zeros(())
    monkeypatch.setattr(APLCXLNet, "loss", loss)
    wrapper, _ = aplc_xlnet.train_aplc_xlnet(train, None, epochs=1, batch_size=8, d_model=16, n_layer=1, n_head=2,
                                             d_inner=32, last_hidden_size=16, vocab_size=60, max_length=24,
                                             progress=False, log=lambda _: None)
    dense = old_dense_matrix(train.labels, wrapper.labels)  # the APLC label order, by frequency
    assert len(record["targets"]) == 3
    for rows, targets in zip(record["rows"], record["targets"]):
        assert torch.equal(targets, dense[torch.as_tensor(rows)])
