"""The label-tree AttentionXML (the original's ``FastAttentionXML``): one AttentionXML network per level.

Level 0 is a flat :class:`~textattack_xmtc.models.attentionxml.AttentionXMLNetwork`
over the C0 top clusters. Each level i >= 1 is a network of the same shape
whose label attention is a table of ``n_i + 1`` rows (row ``n_i`` pads
candidate lists); it scores, per text, only the candidates it is given
(``network(input_ids, candidates [B, m])``). The embedding, the BiLSTM on
packed-sequence semantics and the MLP are the flat network's own modules.

Prediction is the original's beam (``FastAttentionXML.predict_level`` and
``XMLModel.predict_step``): level 0 keeps the ``top`` clusters with the highest
logits (score = sigmoid); each next level scores the children of the kept
nodes, score = sigmoid(logit) x parent score, and keeps the ``top`` best; the
last level's candidate list is padded with label index L and score -inf.
A label's beam score is therefore the product of the sigmoids along its path
from the root, which :meth:`AttentionXMLTree.path_scores` computes for any
label, inside the beam or not.

Usage::

    tree = AttentionXMLTree(levels, children, top=160).eval()
    labels, scores = tree.beam(input_ids)            # last level's candidates [B, m]
    exact = tree.path_scores(input_ids, torch.tensor([17, 4021]))   # [B, 2]
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .attentionxml import AttentionXMLNetwork

#: The beam width of every original FastAttentionXML configuration
#: (``top: 160`` in configure/models/FastAttentionXML-{Amazon-670K,Amazon-3M,Wiki-500K}.yaml).
DEFAULT_TOP = 160


def children_table(children: Sequence[np.ndarray], pad: int) -> torch.Tensor:
    """Node j's children as row j of a LongTensor [n + 1, widest], padded with ``pad``.

    The extra last row (all ``pad``) is the children of the pad node, so that a pad
    kept by the beam (only when fewer than ``top`` real candidates exist) stays a pad.

    Usage::

        children_table([np.array([0, 1]), np.array([2])], pad=3)   # [[0, 1], [2, 3], [3, 3]]
    """
    widest = max((len(group) for group in children), default=1) or 1
    table = np.full((len(children) + 1, widest), pad, dtype=np.int64)
    for row, group in enumerate(children):
        table[row, :len(group)] = group
    return torch.from_numpy(table)


def cluster_of_label(groups: Sequence[np.ndarray], labels_num: int, source) -> np.ndarray:
    """For each of ``labels_num`` labels (or nodes), the index of the group holding it; -1 for none.

    A ``CheckpointError`` naming ``source`` refuses an index outside 0..labels_num - 1 and a label
    in two groups (a tree gives every label one parent). Callers decide whether a label in no
    group is an error.

    Usage::

        cluster_of_label([np.array([2, 0]), np.array([1])], 3, "clusters.npy")   # [0, 1, 0]
    """
    from ..errors import CheckpointError

    owner = np.full(labels_num, -1, dtype=np.int64)
    for index, group in enumerate(groups):
        group = np.asarray(group)
        bad = group[(group < 0) | (group >= labels_num)]
        if len(bad):
            raise CheckpointError(f"{source}: index {int(bad[0])} is out of range: there are {labels_num} "
                                  f"labels (0 to {labels_num - 1}; in group {index})")
        if (owner[group] >= 0).any():
            raise CheckpointError(f"{source}: label {int(group[owner[group] >= 0][0])} is in two clusters")
        owner[group] = index
    return owner


def parent_index(table: torch.Tensor, children_num: int) -> torch.Tensor:
    """For each of ``children_num`` nodes, the row of ``table`` (children_table) holding it; -1 for none."""
    parents = torch.full((children_num,), -1, dtype=torch.long)
    rows = torch.arange(table.shape[0] - 1).unsqueeze(1).expand(-1, table.shape[1])
    real = table[:-1] < children_num
    parents[table[:-1][real]] = rows[real]
    return parents


class AttentionXMLTree(nn.Module):
    """A label tree of AttentionXML levels; ``beam`` predicts, ``path_scores`` scores chosen labels exactly.

    ``levels[0]`` scores the C0 top clusters; ``levels[i]`` (i >= 1) has an
    attention table of ``n_i + 1`` rows. ``children[i]`` (i < last) lists, for
    each node of level i, its children at level i + 1 (labels at the last level),
    in candidate order. Every node is assumed to have one parent at most
    (the loader checks it).

    Usage::

        tree = AttentionXMLTree([level0, level1, level2], [children0, children1], top=160)
    """

    def __init__(self, levels: Sequence[AttentionXMLNetwork], children: Sequence[Sequence[np.ndarray]],
                 top: int = DEFAULT_TOP):
        super().__init__()
        if len(children) != len(levels) - 1 or len(levels) < 2:
            raise ValueError(f"a tree of {len(levels)} levels needs {len(levels) - 1} children lists, "
                             f"got {len(children)}")
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ValueError(f"top (the beam width) must be a positive integer, got {top!r}")
        self.levels = nn.ModuleList(levels)
        self.top = top
        # Level sizes: C0 for level 0, then table rows minus the pad row.
        self.sizes = [levels[0].config.labels_num] + [level.config.labels_num - 1 for level in levels[1:]]
        for i, groups in enumerate(children):
            # Buffers (in state_dict): the victim's weights hash covers the tree's shape too.
            table = children_table(groups, pad=self.sizes[i + 1])
            self.register_buffer(f"children_{i}", table)
            self.register_buffer(f"parents_{i}", parent_index(table, self.sizes[i + 1]))

    @property
    def labels_num(self) -> int:
        return self.sizes[-1]

    def children_of(self, level: int) -> torch.Tensor:
        """Children table of ``level`` (see :func:`children_table`)."""
        return getattr(self, f"children_{level}")

    def parents(self, level: int) -> torch.Tensor:
        """Parent (at ``level``) of each node of ``level + 1``; -1 where it has none."""
        return getattr(self, f"parents_{level}")

    def beam(self, input_ids: torch.Tensor, top: int = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The last level's candidates and their scores, ``([B, m], [B, m])``; pads are label L, score -inf.

        Every real candidate's score is the product of the sigmoids along its path.
        ``top`` (default: the tree's) is the beam width; a level with fewer nodes
        (or candidates) than ``top`` keeps them all (the original would fail).
        """
        candidates, scores, _ = self.beam_with_paths(input_ids, None, top)
        return candidates, scores

    def beam_with_paths(self, input_ids: torch.Tensor, labels: Optional[torch.Tensor],
                        top: int = None) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """:meth:`beam`, plus the exact path products of ``labels`` ``[B, n]`` (None without labels).

        Each level attends once, for its beam candidates and the asked labels'
        ancestors together (their columns are independent), so asking costs no
        extra pass of any level's encoder. A label no cluster holds scores 0.
        """
        top = self.top if top is None else top
        ancestors = self.path(labels) if labels is not None else None
        logits = self.levels[0](input_ids)
        paths = None
        if ancestors is not None:
            paths = _path_factor(torch.sigmoid(logits)[:, ancestors[0].clamp(min=0)], ancestors[0])
        # The original takes the top logits, then the sigmoid: the same choice, exact scores.
        kept_logits, kept = logits.topk(min(top, logits.shape[1]), dim=1)
        kept_scores = torch.sigmoid(kept_logits)
        last = len(self.levels) - 1
        for level in range(1, last + 1):
            table = self.children_of(level - 1)
            width = table.shape[1]
            candidates = table[kept].reshape(kept.shape[0], -1)  # [B, kept x widest]
            pad = candidates == self.sizes[level]
            parent_scores = kept_scores.repeat_interleave(width, dim=1)
            if ancestors is not None:
                nodes = ancestors[level]
                asked = torch.where(nodes >= 0, nodes, torch.full_like(nodes, self.sizes[level]))
                asked = asked.unsqueeze(0).expand(candidates.shape[0], -1)
                probabilities = torch.sigmoid(self.levels[level](input_ids, torch.cat([candidates, asked], dim=1)))
                probabilities, asked_probabilities = probabilities.split([candidates.shape[1], asked.shape[1]], 1)
                paths = paths * _path_factor(asked_probabilities, nodes)
            else:
                probabilities = torch.sigmoid(self.levels[level](input_ids, candidates))
            # Pads get -inf outright: sigmoid(logit) x -inf is NaN when the sigmoid underflows to 0.
            scores = torch.where(pad, torch.full_like(probabilities, float("-inf")), probabilities * parent_scores)
            if level == last:
                return candidates, scores, paths
            kept_scores, positions = scores.topk(min(top, scores.shape[1]), dim=1)
            kept = candidates.gather(1, positions)
        raise AssertionError("unreachable")

    def top_k(self, input_ids: torch.Tensor, k: int, top: int = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """The beam's k best labels and scores ``([B, k], [B, k])``, padded with label L and -inf."""
        candidates, scores = self.beam(input_ids, top)
        if scores.shape[1] < k:  # fewer candidates than asked: pad as the original pads its lists
            extra = k - scores.shape[1]
            candidates = torch.cat([candidates, candidates.new_full((candidates.shape[0], extra), self.labels_num)], 1)
            scores = torch.cat([scores, scores.new_full((scores.shape[0], extra), float("-inf"))], 1)
        scores, positions = scores.topk(k, dim=1)
        return candidates.gather(1, positions), scores

    def path(self, labels: torch.Tensor) -> List[torch.Tensor]:
        """Each label's ancestor at every level, root level first (``[levels][len(labels)]``; -1: none)."""
        nodes = [labels]
        for level in range(len(self.levels) - 2, -1, -1):
            below = nodes[0]
            parents = self.parents(level)
            nodes.insert(0, torch.where(below >= 0, parents[below.clamp(min=0)], below))
        return nodes

    def path_scores(self, input_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The exact product of sigmoids along each label's own path, ``[B, len(labels)]``.

        Each level attends only for the ancestors asked for, so the cost does not
        grow with L. A label no cluster holds (no path) scores 0: the beam never
        reaches it. Multiplied root first, in the beam's order, so that a label
        in the beam gets the beam's number.
        """
        total = None
        for level, nodes in enumerate(self.path(labels)):
            unique, inverse = torch.unique(nodes.clamp(min=0), return_inverse=True)
            factor = _path_factor(torch.sigmoid(self.levels[level](input_ids, unique))[:, inverse], nodes)
            total = factor if total is None else total * factor
        return total


def _path_factor(probabilities: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
    """One level's factor of each label's path product: ``probabilities`` ``[B, len(nodes)]`` (column j
    is the probability of ancestor ``nodes[j]``), 0 where a label has no ancestor there (``nodes[j] == -1``)."""
    return torch.where(nodes >= 0, probabilities, torch.zeros_like(probabilities))


__all__ = ["DEFAULT_TOP", "AttentionXMLTree", "children_table", "cluster_of_label", "parent_index"]
