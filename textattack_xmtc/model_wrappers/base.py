"""The contract every victim model wrapper of this package fulfils.

A wrapper is the only code that knows an architecture. Everything else (goal
functions, recipes, the study) sees a list of texts in and a ``[batch, L]``
tensor of label scores out, in the order of ``wrapper.labels``.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Dict, Hashable, List, Optional, Sequence, Union

import torch
from textattack.models.wrappers import ModelWrapper

SCORE_TYPES = ("probabilities", "logits")


def score_distinct(inputs: Sequence[Sequence[int]],
                   score: Callable[[List[Sequence[int]]], torch.Tensor]) -> torch.Tensor:
    """``score(inputs)``, running ``score`` on each distinct input only once.

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
    return scores.index_select(0, torch.as_tensor(rows, device=scores.device))


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
                "labels_sha256": hashlib.sha256("\n".join(str(label) for label in self.labels)
                                                .encode("utf-8")).hexdigest(),
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
