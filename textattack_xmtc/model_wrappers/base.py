"""The contract every victim model wrapper of this package fulfils.

A wrapper is the only code that knows an architecture. Everything else (goal
functions, recipes, the study) asks it one narrow question per batch of
texts, :meth:`XMTCModelWrapper.rank_labels`: the k best labels, and the
scores and exact ranks of a few chosen labels (an attack's target, a
document's true labels). That answer is small whatever L is, so a label tree
with 670,000 labels answers it from its beam without ever forming a dense
``[batch, L]`` matrix. Dense wrappers answer it from ``__call__`` (scores
``[batch, L]`` in the order of ``wrapper.labels``, which TextAttack's own
code reads) through :func:`rank_from_scores`.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Dict, Hashable, List, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from textattack.models.wrappers import ModelWrapper

from ..metrics.ranking import NonFiniteScoresError, stable_top_k

SCORE_TYPES = ("probabilities", "logits")


def score_distinct(inputs: Sequence[Sequence[int]], score: Callable[[List[Sequence[int]]], Any]) -> Any:
    """``score(inputs)``, running ``score`` on each distinct input only once (a tensor or a :class:`LabelRanking`).

    Different texts often reach a victim as the same ids: a candidate word
    missing from its vocabulary reads as the unknown token, as does the
    unknown token put in for such a word to rank it. In an attack's batches
    about one row in six repeats another, and the model need not see it twice.

    Usage::

        scores = score_distinct([tokenizer.encode(t) for t in texts], score_id_rows)
    """
    row_of: Dict[Hashable, int] = {}
    distinct: List[Sequence[int]] = []
    rows: List[int] = []
    for ids in inputs:
        key = tuple(ids)
        row = row_of.get(key)
        if row is None:
            row = row_of[key] = len(distinct)
            distinct.append(ids)
        rows.append(row)
    scores = score(distinct)
    if len(distinct) == len(rows):
        return scores
    if isinstance(scores, tuple):  # a LabelRanking: every tensor has one row per text
        index = torch.as_tensor(rows, device=scores[0].device)
        return type(scores)(*(tensor.index_select(0, index) for tensor in scores))
    return scores.index_select(0, torch.as_tensor(rows, device=scores.device))


class LabelRanking(NamedTuple):
    """What a victim tells the goal functions about each of B texts (raw scores, as ``score_type`` says).

    ``top_labels`` / ``top_scores``: ``[B, k]`` the k best labels, best first,
    equal scores ordered by lower label index; a victim that ranks fewer than k
    labels (a tree's beam, or k > L) pads with label index L and score -inf.
    ``scores`` / ``ranks``: ``[B, m]`` the score and 1-based rank of each asked
    label (rank = 1 + labels with a higher score + labels with an equal score and
    a lower index; a tree ranks a label its beam does not reach below every beam
    candidate and below k, see :class:`AttentionXMLTreeWrapper`).
    """

    top_labels: torch.Tensor
    top_scores: torch.Tensor
    scores: torch.Tensor
    ranks: torch.Tensor

    def columns(self, positions: Sequence[int]) -> "LabelRanking":
        """The same ranking restricted to the asked labels at ``positions`` (the top lists are kept)."""
        index = torch.as_tensor(list(positions), dtype=torch.long, device=self.scores.device)
        return self._replace(scores=self.scores.index_select(1, index), ranks=self.ranks.index_select(1, index))


def rank_from_scores(scores: torch.Tensor, labels: Sequence[int], k: int) -> LabelRanking:
    """The :class:`LabelRanking` of dense ``[B, L]`` scores, on their device (the dense victims' answer).

    Ranks follow the package's tie rule (:func:`~textattack_xmtc.metrics.ranking.stable_top_k`);
    scores keep their autograd history.

    Usage::

        ranking = rank_from_scores(wrapper(texts), [target], k=6)
    """
    if not bool(torch.isfinite(scores).all()):
        raise NonFiniteScoresError("the model returned NaN or infinite scores")
    rows, width = scores.shape
    top_scores, top_labels = stable_top_k(scores, min(k, width))
    if k > width:  # every label is in the top-k: pad as a tree pads its beam
        extra = k - width
        top_labels = torch.cat([top_labels, top_labels.new_full((rows, extra), width)], dim=1)
        top_scores = torch.cat([top_scores, top_scores.new_full((rows, extra), float("-inf"))], dim=1)
    index = torch.as_tensor(list(labels), dtype=torch.long, device=scores.device)
    asked = scores.index_select(1, index)
    ranks = torch.empty((rows, len(index)), dtype=torch.long, device=scores.device)
    for column, label in enumerate(index.tolist()):  # a few labels: no [B, m, L] tensor
        value = asked[:, column:column + 1]
        ahead = (scores > value).sum(1) + (scores[:, :label] == value).sum(1)
        ranks[:, column] = ahead + 1
    return LabelRanking(top_labels, top_scores, asked, ranks)


def non_finite_message(model) -> str:
    return (f"{_describe(model)} returned non-finite scores (NaN or inf): its weights or inputs are "
            "broken, and an attack on it would count as a robust model; check the model files")


def checked_scores(scores, count: int, model) -> torch.Tensor:
    """A wrapper's dense scores for ``count`` texts as a float tensor; a TypeError saying what came back
    when they are not ``[count, L]``, a NonFiniteScoresError naming the model when one is NaN or inf."""
    if isinstance(scores, np.ndarray):
        scores = torch.from_numpy(scores)
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2 or scores.shape[0] != count:
        shape = tuple(scores.shape) if hasattr(scores, "shape") else type(scores).__name__
        raise TypeError(f"{type(model).__name__} returned {shape} for {count} texts; XMTC goal "
                        "functions need a [batch, num_labels] tensor of label scores")
    scores = scores.float()
    if not bool(torch.isfinite(scores).all()):
        raise NonFiniteScoresError(non_finite_message(model))
    return scores


def _describe(model) -> str:
    describe = getattr(model, "describe", None)
    try:
        return describe() if callable(describe) else type(model).__name__
    except Exception:  # a description must never hide the real error
        return type(model).__name__


def labels_sha256(labels: Sequence[str]) -> str:
    """The hash of a label list that ``identity()`` records: sha256 of the names joined by newlines."""
    return hashlib.sha256("\n".join(str(label) for label in labels).encode("utf-8")).hexdigest()


class XMTCModelWrapper(ModelWrapper):
    """Base class for extreme multilabel victims.

    Subclasses set ``model`` (a ``torch.nn.Module``), ``labels`` (label names,
    index i = output column i), ``score_type`` ("probabilities" or "logits",
    what ``__call__`` returns), ``unk_token`` (a word the victim reads as its
    unknown token; used for word importance) and ``max_words`` (words beyond
    this position cannot change the scores, or ``None``). Wrappers with a saved
    directory format of their own set ``architecture`` (its name in
    ``xmtc_model.json``).

    Usage::

        scores = wrapper(["some document", "another one"])  # torch [2, L]
    """

    model: torch.nn.Module
    labels: List[str]
    score_type: str = "probabilities"
    unk_token: str = "<UNK>"
    max_words: Optional[int] = None
    source: str = ""

    def __call__(self, text_input_list: Sequence[str]) -> torch.Tensor:
        """Scores of every label for every text, ``[len(texts), L]``, on the model's device."""
        raise NotImplementedError

    def label_scores(self, text_input_list: Sequence[str], labels: Sequence[int]) -> torch.Tensor:
        """Scores of the label indices ``labels`` only: ``[len(texts), len(labels)]``.

        The same numbers (to float rounding) as ``self(texts)[:, labels]``.
        Ranking words by one target label needs no other column; wrappers whose
        networks can skip the other labels override this.

        Usage::

            target_probabilities = wrapper.label_scores(texts, [wrapper.label_index("acq")])[:, 0]
        """
        columns = self.label_tensor(labels)
        scores = self(text_input_list)
        return scores[:, columns.to(scores.device)]

    def rank_labels(self, text_input_list: Sequence[str], labels: Sequence[int], k: int) -> LabelRanking:
        """The k best labels of each text and the scores and ranks of ``labels`` (see :class:`LabelRanking`).

        All a goal function, ``evaluate`` or ``select-targets`` needs; its size
        does not grow with L. Dense wrappers answer from ``self(texts)``; a
        label tree overrides it to answer from its beam.

        Usage::

            ranking = wrapper.rank_labels(texts, [wrapper.label_index("acq")], k=6)
            in_top_5 = ranking.ranks[:, 0] <= 5
        """
        if labels:
            self.label_tensor(labels)  # range check, with the message users see
        return rank_from_scores(checked_scores(self(text_input_list), len(text_input_list), self), labels, k)

    def label_tensor(self, labels: Sequence[int]) -> torch.Tensor:
        """``labels`` as a long tensor of column indices, checked against the number of labels."""
        columns = torch.as_tensor(list(labels), dtype=torch.long)
        if columns.dim() != 1 or not len(columns):
            raise ValueError(f"labels must be a non-empty list of label indices, got {labels!r}")
        bad = columns[(columns < 0) | (columns >= len(self.labels))]
        if len(bad):
            raise ValueError(f"label index {int(bad[0])} is out of range: {type(self).__name__} has "
                             f"{len(self.labels)} labels (indices 0 to {len(self.labels) - 1})")
        return columns

    @property
    def device(self) -> torch.device:
        """The model's device, read at call time (``Attack.cuda_()`` moves modules)."""
        for parameter in self.model.parameters():
            return parameter.device
        return torch.device("cpu")

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def label_index(self, label) -> int:
        """Index of a label given by name (str) or index (int); ``KeyError`` if unknown."""
        if isinstance(label, bool):
            raise KeyError(label)
        if isinstance(label, int):
            if 0 <= label < len(self.labels):
                return label
            raise KeyError(label)
        index = self._label_to_index().get(str(label))
        if index is None:
            raise KeyError(label)
        return index

    def _label_to_index(self) -> dict:
        cached = getattr(self, "_label_index_cache", None)
        if cached is None or len(cached) != len(self.labels):
            cached = {name: i for i, name in enumerate(self.labels)}
            self._label_index_cache = cached
        return cached

    def to(self, device: Union[str, torch.device]) -> "XMTCModelWrapper":
        """Move the network; returns ``self``.

        Usage::

            wrapper.to("cuda")
        """
        self.model.to(device)
        return self

    def save(self, directory: str) -> None:
        """Write this model to ``directory`` in the package's saved-model format."""
        raise NotImplementedError

    @classmethod
    def is_saved_directory(cls, path) -> bool:
        """True when ``path`` is a directory this wrapper class saved (its ``architecture``).

        Usage::

            if AttentionXMLWrapper.is_saved_directory(path): ...
        """
        from .saved import is_saved_directory

        architecture = getattr(cls, "architecture", None)
        return architecture is not None and is_saved_directory(path, architecture)

    def describe(self) -> str:
        """One line naming the architecture, size and source, for logs."""
        return f"{type(self).__name__} with {len(self.labels)} labels"

    # ------------------------------------------------------------ provenance

    def identity(self) -> dict:
        """What this victim is, for results: architecture, source, size and hashes of weights and labels.

        ``architecture`` is the name in :mod:`textattack_xmtc.architectures`
        (the class name for wrappers not in that table); ``source`` the
        built-in name or path it was loaded from ("" when built in memory);
        ``weights_sha256`` hashes every tensor of ``model.state_dict()`` (names,
        dtypes, shapes and bytes, in name order), computed once and kept until a
        tensor is modified in place or replaced; ``labels_sha256`` hashes the
        label names joined by newlines; ``loss`` and ``adversarial`` say how a
        saved model was trained (:mod:`textattack_xmtc.training.description`;
        "" when the model does not record it, e.g. an original checkpoint).

        Usage::

            victim.identity()["weights_sha256"]   # '3f1c...'
        """
        from ..training.description import describe_adversarial, describe_loss

        training = getattr(self, "training", None) or {}
        return {"architecture": self.architecture_name(), "source": str(getattr(self, "source", "") or ""),
                "num_labels": len(self.labels), "weights_sha256": self.weights_sha256(),
                "labels_sha256": labels_sha256(self.labels),
                "loss": describe_loss(training), "adversarial": describe_adversarial(training)}

    def architecture_name(self) -> str:
        """This wrapper's name in the architecture table, else its ``architecture`` or class name."""
        from ..architectures import architecture_of

        entry = architecture_of(type(self))
        if entry is not None:
            return entry.name
        return getattr(type(self), "architecture", None) or type(self).__name__

    def weights_sha256(self) -> str:
        """SHA-256 over the state dict's tensors (names, dtypes, shapes, bytes; sorted by name), cached.

        The cache is keyed on each tensor's storage and in-place version counter,
        so changing a weight (``load_state_dict``, an optimizer step, ``add_``;
        not writes through ``.data``, which bypass the counter) gives a new hash;
        moving the model to another device hashes again (to the same value).
        """
        state = self.model.state_dict(keep_vars=True)
        key = tuple((name, tensor.data_ptr(), tensor._version, str(tensor.device))
                    for name, tensor in sorted(state.items()))
        cached = getattr(self, "_weights_hash_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        digest = hashlib.sha256()
        for name, tensor in sorted(state.items()):
            tensor = tensor.detach()
            digest.update(f"{name}\0{tensor.dtype}\0{list(tensor.shape)}\0".encode("utf-8"))
            data = tensor.cpu().contiguous().reshape(-1)
            if data.numel():
                digest.update(data.view(torch.uint8).numpy().data)
        value = digest.hexdigest()
        self._weights_hash_cache = (key, value)
        return value
