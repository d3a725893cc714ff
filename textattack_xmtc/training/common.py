"""Plumbing shared by the trainers: progress bars, seeding, sparse targets made dense one batch at a time,
length-bucketed batches, and the epoch loop itself.

Usage::

    seed_everything(0)
    losses = train_epochs(network, optimizer, batch_loss, lengths, epochs=5, batch_size=32,
                          rng=np.random.default_rng(0), progress=True, clip=5.0)
"""
from __future__ import annotations

import copy
import math
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
from torch import nn

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


def continued_network(model, train) -> nn.Module:
    """A copy of ``model``'s network to fine-tune on ``train`` (the saved model itself is left as it is).

    Raises ``ValueError`` naming the labels when ``train`` has labels the model
    does not score: a network cannot learn a label it has no output for.

    Usage::

        network = continued_network(load_victim("my-model"), train)
    """
    known = set(model.labels)
    unknown = sorted(name for name in train.label_names() if name not in known)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f", ... ({len(unknown)} in all)" if len(unknown) > 5 else "")
        raise ValueError(f"the training data has labels the model to continue from does not score ({shown}); "
                         "train a new model instead, or drop those labels")
    return copy.deepcopy(model.model).train()


def continued_from(model) -> dict:
    """What a fine-tuned model records about the model it started from: source and weights hash.

    Usage::

        training["init_from"] = continued_from(start)   # {"source": "my-model", "weights_sha256": "..."}
    """
    identity = model.identity()
    return {"source": identity["source"], "architecture": identity["architecture"],
            "weights_sha256": identity["weights_sha256"], "loss": identity["loss"]}


def label_index_lists(label_lists: Sequence[Sequence[str]], labels: Sequence[str]) -> List[np.ndarray]:
    """Each document's label indices (int64, ascending; names not in ``labels`` dropped): the sparse targets.

    Memory grows with the number of (document, label) pairs, never with N x L.

    Usage::

        label_index_lists([["acq"], ["earn", "acq"]], ["earn", "acq"])   # [array([1]), array([0, 1])]
    """
    return [np.unique(np.asarray(indices, dtype=np.int64)) for indices in label_index_sets(label_lists, labels)]


def batch_targets(index_lists: Sequence[np.ndarray], rows: Sequence[int], width: int) -> torch.Tensor:
    """Dense 0/1 float targets [len(rows), width] of the documents at ``rows``, built for this batch only.

    Usage::

        targets = batch_targets(index_lists, rows, len(labels))   # rows of the old dense [N, L] matrix
    """
    targets = torch.zeros((len(rows), width), dtype=torch.float32)
    row_ids = np.repeat(np.arange(len(rows)), [len(index_lists[i]) for i in rows])
    if len(row_ids):
        columns = np.concatenate([index_lists[i] for i in rows])
        targets[torch.from_numpy(row_ids), torch.from_numpy(columns)] = 1.0
    return targets


def candidate_targets(candidates: torch.Tensor, index_lists: Sequence[np.ndarray], rows: Sequence[int]) -> torch.Tensor:
    """0/1 float targets shaped like ``candidates`` [B, m]: 1 where row b's candidate is one of document rows[b]'s.

    Usage::

        targets = candidate_targets(torch.tensor([[4, 9, 2]]), [np.array([2, 4])], [0])   # [[1, 0, 1]]
    """
    found = np.zeros(tuple(candidates.shape), dtype=np.float32)
    values = candidates.cpu().numpy()
    for position, row in enumerate(rows):
        found[position] = np.isin(values[position], index_lists[row])
    return torch.from_numpy(found)


def length_bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> List[np.ndarray]:
    """Shuffled batches of similar-length documents.

    Length bucketing cuts the padded time steps per batch (recurrent and
    attention layers run to the batch's longest text); shuffling pools of
    :data:`POOL_BATCHES` batches keeps the order random.

    Usage::

        batches = length_bucketed_batches(np.array([5, 9, 3]), 2, np.random.default_rng(0))
    """
    order = rng.permutation(len(lengths))
    pool = batch_size * POOL_BATCHES
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


POOL_BATCHES = 50


def batches_per_epoch(documents: int, batch_size: int) -> int:
    """How many batches :func:`length_bucketed_batches` makes of ``documents`` (the same every epoch).

    Usage::

        batches_per_epoch(7775, 32)   # 245
    """
    pool = batch_size * POOL_BATCHES
    full, rest = divmod(documents, pool)
    return full * POOL_BATCHES + math.ceil(rest / batch_size)


def train_epochs(network: nn.Module, optimizer: torch.optim.Optimizer,
                 batch_loss: Callable[[np.ndarray], torch.Tensor], lengths: np.ndarray, *, epochs: int,
                 batch_size: int, rng: np.random.Generator, progress: bool, clip: float,
                 scheduler: Optional[torch.optim.lr_scheduler.LRScheduler] = None,
                 rate: str = "learning rate", desc: str = "training") -> List[float]:
    """The trainers' loop: length-bucketed batches, clipped gradients; returns each epoch's mean loss.

    ``batch_loss(rows)`` gives the loss of the documents at ``rows``. One
    progress bar runs over the batches of ALL epochs, so its remaining time is
    that of the whole run (it shows the current epoch and mean loss). A NaN
    epoch stops training with advice to lower ``rate`` (its name in the
    trainer's options). ``desc`` starts the bar's label (a label tree names its level).
    Leaves the network in eval mode.

    Usage::

        losses = train_epochs(network, optimizer, lambda rows: loss_of(rows), lengths, epochs=8,
                              batch_size=32, rng=rng, progress=True, clip=5.0)
    """
    epoch_losses: List[float] = []
    per_epoch = batches_per_epoch(len(lengths), batch_size)
    bar = progress_bar(None, progress, total=per_epoch * epochs, desc=f"{desc}, epoch 1/{epochs}",
                       unit="batch", smoothing=0.05)
    try:
        for epoch in range(1, epochs + 1):
            network.train()
            batches = length_bucketed_batches(lengths, batch_size, rng)
            bar.set_description(f"{desc}, epoch {epoch}/{epochs}", refresh=False)
            total = 0.0
            for count, rows in enumerate(batches, start=1):
                # Dropout masks come from torch's global generator, seeded in seed_everything.
                loss = batch_loss(rows)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(network.parameters(), clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                total += float(loss.detach())
                bar.update(1)
                if count % 20 == 0 and progress:
                    bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
            epoch_losses.append(total / max(1, len(batches)))
            if math.isnan(epoch_losses[-1]):
                raise FloatingPointError(f"training diverged in epoch {epoch} (loss is NaN); lower the {rate}")
    finally:
        bar.close()
    network.eval()
    return epoch_losses
