"""Plumbing shared by the trainers: progress bars, seeding, dense targets, length-bucketed batches.

Usage::

    seed_everything(0)
    for rows in length_bucketed_batches(lengths, 32, np.random.default_rng(0)): ...
"""
from __future__ import annotations

from typing import List, Sequence

import numpy as np
import torch

from ..metrics.ranking import label_index_sets


def progress_bar(iterable, progress: bool, **kwargs):
    """``tqdm`` over ``iterable``, silent unless ``progress``.

    Usage::

        for batch in progress_bar(batches, True, desc="epoch 1/5", unit="batch"): ...
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not progress, **kwargs)


def seed_everything(seed: int) -> None:
    """Seed torch's global generator (dropout and parameter initialisation draw from it).

    Usage::

        seed_everything(0)
    """
    torch.manual_seed(seed)


def label_matrix(label_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> torch.Tensor:
    """Dense 0/1 float targets [N, L] (L is small enough for the victims trained here).

    Usage::

        label_matrix([["acq"], ["earn", "acq"]], ["earn", "acq"])   # [[0, 1], [1, 1]]
    """
    targets = torch.zeros((len(label_lists), len(labels)), dtype=torch.float32)
    for row, indices in enumerate(label_index_sets(label_lists, labels)):
        targets[row, indices] = 1.0
    return targets


def length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> List[np.ndarray]:
    """Shuffled batches of similar-length documents.

    Length bucketing cuts the padded time steps per batch (recurrent and
    attention layers run to the batch's longest text); shuffling pools of 50
    batches keeps the order random.

    Usage::

        batches = length_bucketed_batches(np.array([5, 9, 3]), 2, np.random.default_rng(0))
    """
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]
