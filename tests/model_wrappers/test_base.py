"""The helpers every victim wrapper shares."""
import pytest
import torch

from textattack_xmtc.model_wrappers.base import XMTCModelWrapper, score_distinct


def test_score_distinct_scores_each_distinct_input_once_and_keeps_the_order():
    seen = []

    def score(rows):
        seen.append([list(row) for row in rows])
        return torch.tensor([[float(sum(row)), float(len(row))] for row in rows])

    inputs = [[1, 2], [3], [1, 2], [3], [4, 5, 6]]
    scores = score_distinct(inputs, score)
    assert seen == [[[1, 2], [3], [4, 5, 6]]]
    assert scores.tolist() == [[3.0, 2.0], [3.0, 1.0], [3.0, 2.0], [3.0, 1.0], [15.0, 3.0]]


def test_score_distinct_passes_all_distinct_inputs_through_unchanged():
    result = torch.arange(6.0).reshape(3, 2)
    assert score_distinct([[1], [2], [3]], lambda rows: result) is result


class Columns(XMTCModelWrapper):
    """Label j of a text scores len(text) * 10 + j."""

    labels = ["a", "b", "c"]
    model = torch.nn.Linear(1, 1)

    def __call__(self, texts):
        return torch.tensor([[len(text) * 10.0 + j for j in range(3)] for text in texts])


def test_label_scores_default_to_columns_of_the_whole_scores():
    assert Columns().label_scores(["xy", "z"], [2, 0]).tolist() == [[22.0, 20.0], [12.0, 10.0]]
    with pytest.raises(ValueError, match="label index 3 is out of range: Columns has 3 labels"):
        Columns().label_scores(["xy"], [1, 3])
