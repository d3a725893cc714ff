"""The helpers every victim wrapper shares."""
import torch

from textattack_xmtc.model_wrappers.base import score_distinct


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
