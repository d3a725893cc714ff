"""The label-tree AttentionXML (the original's ``FastAttentionXML``) as a TextAttack victim.

The original ``main.py`` with a model configuration that has a ``cluster``
section trains a label tree and writes, in ``models/``, one state dict per
level, ``FastAttentionXML-<data>[-Tree-<n>]-Level-<i>``, and the clusters,
``...-cluster-Level-<i>.npy`` for every level below the last (DESIGN.md
section 5). :func:`find_label_tree` recognises them (a level or cluster file,
the ``models/`` directory, or the repository root above it) and
:meth:`AttentionXMLTreeWrapper.from_original` loads them with the vocabulary
and labels found as for a flat checkpoint (``vocab.npy`` and ``labels.txt``
beside the levels, or ``<root>/data/<data>/{vocab.npy,train_labels.txt}``).

Files, as the original writes them:

- level 0: the flat AttentionXML keys, attention ``[C0, 2h]`` over the top clusters;
- level i >= 1: the same keys prefixed ``Network.``, attention
  ``Network.attention.attention.weight`` ``[n_i + 1, 2h]`` (the last row pads
  candidate lists); a level of more than 80,000 nodes instead splits its
  table over GPUs as ``AttentionWeights.emb.<g>.weight`` (``n_i`` rows in all,
  the pad reads as a zero row): both are read;
- cluster files: numpy object arrays of int64 arrays (or a 2-d int64 array when
  every cluster has the same size). The file of the level just above the
  labels maps each node to its labels, which are its children. A file of a
  level higher up is read either way it comes: as children (each index a node
  of the next level), or as the original writes it, each node's LABELS, whose
  children the original's ``get_inter_groups`` makes consecutive: node j of
  level i has children ``j*k .. j*k + k - 1`` with ``k = n_{i+1} / n_i`` (we
  check that the label sets agree with that).

Cluster files are pickles; they are read with an unpickler that admits only
numpy's array rebuilders and refuses anything else, naming it.

Scores: ``__call__`` returns dense ``[B, L]`` probabilities in which the
labels the beam reaches (every candidate of the last level, not just its
top-k) carry their beam score, the product of sigmoids along their path, and
every other label 0: ranked below every beam candidate, as the goal functions'
ranks need. ``label_scores`` computes each requested label's exact path
product, inside the beam or not (what word importance reads), and
``predict_top_k`` the original's prediction.

Usage::

    victim = load_victim("AttentionXML/models^top=160")
    labels, scores = victim.predict_top_k(["a document"], k=5)
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import CheckpointError
from ..metrics.ranking import NonFiniteScoresError, stable_top_k
from ..models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork, config_from_state_dict
from ..models.attentionxml_tree import DEFAULT_TOP, AttentionXMLTree, cluster_of_label
from ..models.tokenization import DEFAULT_MAX_LENGTH, AttentionXMLTokenizer, load_vocab, save_vocab
from .attentionxml import (AttentionXMLFamily, read_state_dict, find_vocab_and_labels, read_label_list,
                           read_original_labels)
from .base import LabelRanking, non_finite_message, score_distinct
from .saved import (SAVED_MODEL_FILE, check_label_order, positive_int_field, read_metadata, resolve_labels,
                    save_state_dict, start_saved_directory, write_metadata)

PathLike = Union[str, os.PathLike]

ORIGINAL_PREFIX = "FastAttentionXML-"
_LEVEL = re.compile(r"^(?P<prefix>.+)-Level-(?P<level>\d+)$")
_CLUSTER = re.compile(r"^(?P<prefix>.+)-cluster-Level-(?P<level>\d+)\.npy$")
_SPLIT_ATTENTION = re.compile(r"^AttentionWeights\.emb\.(?P<group>\d+)\.weight$")
NETWORK_PREFIX = "Network."
ARCHITECTURE = "attentionxml-tree"  # in xmtc_model.json of saved trees


class AttentionXMLTreeWrapper(AttentionXMLFamily):
    """A label-tree AttentionXML and its tokenizer, for TextAttack.

    Tokenization, ``max_words``, ``unk_token`` and scores (sigmoid
    probabilities) are those of the flat :class:`AttentionXMLWrapper`.

    Usage::

        victim = AttentionXMLTreeWrapper.from_original("AttentionXML/models", "FastAttentionXML-EUR-Lex",
                                                       "AttentionXML/data/EUR-Lex/vocab.npy",
                                                       "AttentionXML/data/EUR-Lex/train_labels.txt")
        probabilities = victim(["a document"])   # [1, L]: beam labels > 0, the rest 0
    """

    def __init__(self, model: AttentionXMLTree, tokenizer: AttentionXMLTokenizer, labels: Sequence[str],
                 source: str = "", training: Optional[dict] = None):
        self._attach(model, tokenizer, labels, model.labels_num, "the tree's last level",
                     [level.config.vocab_size for level in model.levels], source, training)

    @property
    def top(self) -> int:
        """The beam width (``path^top=N``)."""
        return self.model.top

    # ------------------------------------------------------------ scores

    def __call__(self, text_input_list: Sequence[str]) -> torch.Tensor:
        """Probabilities [len(texts), L]: beam labels their beam score, all others 0."""
        return self._scores(text_input_list, None)

    def label_scores(self, text_input_list: Sequence[str], labels: Sequence[int]) -> torch.Tensor:
        """The exact path product of each label in ``labels``, ``[len(texts), len(labels)]``.

        Unlike ``__call__``, a label outside the beam gets its own score (the
        product of the sigmoids of its ancestors and itself), computed for those
        labels alone.

        Usage::

            target_score = victim.label_scores(texts, [victim.label_index("acq")])[:, 0]
        """
        return self._scores(text_input_list, self.label_tensor(labels))

    def rank_labels(self, text_input_list: Sequence[str], labels: Sequence[int], k: int) -> LabelRanking:
        """The beam's k best labels and the asked labels' scores and ranks, never ``[B, L]`` (see
        :meth:`XMTCModelWrapper.rank_labels`).

        One pass of each level scores the beam's candidates and the asked labels'
        ancestors together. An asked label the beam reaches gets its beam score
        and its rank among the last level's candidates (equal scores: lower label
        index first); one it does not reach gets its exact path product and rank
        ``max(candidates, k) + 1``: below every beam candidate and outside the
        top-k, as the original's prediction never lists it.

        Usage::

            ranking = victim.rank_labels(texts, [victim.label_index("acq")], k=6)
        """
        asked = self.label_tensor(labels) if len(labels) else torch.zeros(0, dtype=torch.long)
        texts = list(text_input_list)
        if not texts:
            empty = torch.zeros((0, k), device=self.device)
            return LabelRanking(empty.long(), empty, torch.zeros((0, len(asked)), device=self.device),
                                torch.zeros((0, len(asked)), dtype=torch.long, device=self.device))
        return score_distinct([self.tokenizer.encode_edit(text) for text in texts],
                              lambda sequences: self._rank_ids(sequences, asked, k))

    def _rank_ids(self, sequences: List[List[int]], asked: torch.Tensor, k: int) -> LabelRanking:
        input_ids = self.tokenizer.pad(sequences).to(self.device)
        asked = asked.to(self.device)
        self.model.eval()
        with torch.inference_mode():
            candidates, scores, paths = self.model.beam_with_paths(input_ids, asked if len(asked) else None)
        real = candidates < len(self.labels)
        # Pads are -inf by construction; a NaN or inf anywhere else is a broken model.
        if not bool(torch.isfinite(scores[real]).all()) or (
                paths is not None and not bool(torch.isfinite(paths).all())):
            raise NonFiniteScoresError(non_finite_message(self))
        # Columns in label order, so that stable_top_k's ties by column are ties by label index.
        candidates, order = candidates.sort(dim=1)
        scores = scores.gather(1, order)
        top_scores, positions = stable_top_k(scores, min(k, scores.shape[1]))
        top_labels = candidates.gather(1, positions)
        if top_labels.shape[1] < k:  # fewer candidates than k: pad as the original pads
            extra = k - top_labels.shape[1]
            top_labels = torch.cat([top_labels, top_labels.new_full((len(sequences), extra), len(self.labels))], 1)
            top_scores = torch.cat([top_scores, top_scores.new_full((len(sequences), extra), float("-inf"))], 1)
        asked_scores = scores.new_zeros((len(sequences), len(asked)))
        ranks = torch.zeros((len(sequences), len(asked)), dtype=torch.long, device=scores.device)
        below_beam = real.sum(1).clamp(min=k) + 1
        for column, label in enumerate(asked.tolist()):
            hit = candidates == label
            in_beam = hit.any(1)
            value = torch.where(in_beam, torch.where(hit, scores, torch.zeros_like(scores)).sum(1), paths[:, column])
            ahead = (scores > value[:, None]).sum(1) + ((scores == value[:, None]) & (candidates < label)).sum(1)
            asked_scores[:, column] = value
            ranks[:, column] = torch.where(in_beam, ahead + 1, below_beam)
        # Clones made outside inference mode are ordinary tensors.
        return LabelRanking(top_labels.clone(), top_scores.clone(), asked_scores.clone(), ranks.clone())

    def predict_top_k(self, text_input_list: Sequence[str], k: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """The original's prediction: label indices and scores of the beam's k best, ``([B, k], [B, k])``.

        When the beam holds fewer than k labels the rest are label index L with score -inf, as in the original.

        Usage::

            indices, scores = victim.predict_top_k(["a document"], k=5)
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        texts = list(text_input_list)
        if not texts:
            return (torch.zeros((0, k), dtype=torch.long, device=self.device),
                    torch.zeros((0, k), device=self.device))
        input_ids = self.tokenizer.pad([self.tokenizer.encode(text) for text in texts]).to(self.device)
        with torch.inference_mode():
            indices, scores = self.model.eval().top_k(input_ids, k)
        return indices.clone(), scores.clone()

    def _scores(self, text_input_list: Sequence[str], labels: Optional[torch.Tensor]) -> torch.Tensor:
        texts = list(text_input_list)
        if not texts:
            width = len(self.labels) if labels is None else len(labels)
            return torch.zeros((0, width), device=self.device)
        return score_distinct([self.tokenizer.encode_edit(text) for text in texts],
                              lambda sequences: self._score_ids(sequences, labels))

    def _score_ids(self, sequences: List[List[int]], labels: Optional[torch.Tensor]) -> torch.Tensor:
        input_ids = self.tokenizer.pad(sequences).to(self.device)
        self.model.eval()
        with torch.inference_mode():
            if labels is not None:
                scores = self.model.path_scores(input_ids, labels.to(self.device))
            else:
                candidates, beam_scores = self.model.beam(input_ids)
                # One spare column takes the pads (label index L), then goes.
                scores = beam_scores.new_zeros((len(sequences), len(self.labels) + 1))
                scores.scatter_(1, candidates, beam_scores.clamp(min=0.0))
                scores = scores[:, :-1]
        # A clone made outside inference mode is an ordinary tensor: callers may modify it in place.
        return scores.clone()

    def describe(self) -> str:
        level = self.model.levels[0].config
        where = f" from {self.source}" if self.source else ""
        nodes = " -> ".join(str(size) for size in self.model.sizes)
        return (f"AttentionXML label tree ({len(self.model.levels)} levels: {nodes} nodes, beam {self.top}; "
                f"{level.vocab_size} words, {level.emb_size}-d embeddings, BiLSTM {level.layers_num}x"
                f"{level.hidden_size}, MLP {level.linear_size}, {len(self.labels)} labels){where}")

    # ------------------------------------------------------------ original checkpoints

    @classmethod
    def from_original(cls, models_dir: PathLike, prefix: str, vocab_path: PathLike,
                      labels: Union[Sequence[str], PathLike], max_length: Optional[int] = None,
                      top: Optional[int] = None, allow_pickle: bool = False, name: Optional[str] = None,
                      device: Union[str, torch.device, None] = None) -> "AttentionXMLTreeWrapper":
        """Load the tree ``<models_dir>/<prefix>-Level-<i>`` with its cluster files, vocabulary and labels.

        ``labels`` as for :meth:`AttentionXMLWrapper.from_original` (a labels
        file, the dataset's ``train_labels.txt``, or only with ``allow_pickle``
        the ``labels_binarizer``). ``max_length``: words read per document
        (default 500); ``top``: the beam width (default 160, the original's).

        Usage::

            victim = AttentionXMLTreeWrapper.from_original(
                "models", "FastAttentionXML-Amazon-670K-Tree-0", "data/Amazon-670K/vocab.npy",
                "data/Amazon-670K/train_labels.txt", top=160)
        """
        models_dir = Path(models_dir)
        networks, level_files = _load_levels(models_dir, prefix)
        sizes = [networks[0].config.labels_num] + [network.config.labels_num - 1 for network in networks[1:]]
        labels_source, label_list = resolve_labels(
            labels, lambda path: read_original_labels(path, allow_pickle=allow_pickle))
        if len(label_list) != sizes[-1]:
            where = labels_source if labels_source is not None else "the label list"
            raise CheckpointError(f"{where}: {len(label_list)} labels, but the last level {level_files[-1]} "
                                  f"scores {sizes[-1]} (its attention rows); the label list does not belong "
                                  f"to this tree")
        cluster_files = [models_dir / f"{prefix}-cluster-Level-{level}.npy" for level in range(len(networks) - 1)]
        children = tree_children([read_cluster_file(path) for path in cluster_files], sizes, cluster_files,
                                 level_files)
        vocab_path = Path(vocab_path)
        vocab = load_vocab(vocab_path)
        for network, path in zip(networks, level_files):
            if len(vocab) != network.config.vocab_size:
                raise CheckpointError(f"{vocab_path}: {len(vocab)} words, but the embedding of {path} has "
                                      f"{network.config.vocab_size} rows; the vocabulary does not belong to this tree")
        tree = AttentionXMLTree(networks, children, top=DEFAULT_TOP if top is None else top)
        tokenizer = AttentionXMLTokenizer(vocab, max_length=DEFAULT_MAX_LENGTH if max_length is None else max_length)
        wrapper = cls(tree, tokenizer, label_list, source=name or str(models_dir / prefix),
                      training={"origin": "FastAttentionXML", "weights": str(models_dir / prefix)})
        return wrapper.to(device) if device is not None else wrapper

    # ------------------------------------------------------------ saved-model directories

    architecture = ARCHITECTURE  # in xmtc_model.json of its saved directories

    def save(self, directory: PathLike) -> None:
        """Write ``xmtc_model.json``, ``labels.txt``, ``vocab.npy``, ``level-<i>.pt`` and ``children-<i>.npy``.

        ``level-<i>.pt`` is level i's AttentionXML state dict under the flat
        key names (levels >= 1 end their attention table with the pad row);
        ``children-<i>.npy`` (every level but the last) is a plain int64 array
        [nodes of level i, widest]: row j lists node j's children at level
        i + 1 (labels at the last), padded with -1; it loads without pickle.

        Usage::

            wrapper.save("models/my-tree")
        """
        directory = start_saved_directory(directory, TREE_LABELS_FILE, self.labels)
        for level, network in enumerate(self.model.levels):
            save_state_dict(network, directory / level_file(level))
        for level in range(len(self.model.levels) - 1):
            table = self.model.children_of(level)[:-1].cpu().numpy()  # without the pad node's row
            table = np.where(table == self.model.sizes[level + 1], -1, table).astype(np.int64)
            with open(directory / children_file(level), "wb") as handle:
                np.save(handle, table, allow_pickle=False)
        save_vocab(directory / TREE_VOCAB_FILE, self.tokenizer.vocab)
        write_metadata(directory, ARCHITECTURE, labels=self.labels, levels=len(self.model.levels),
                       configs=[level.config.to_dict() for level in self.model.levels], top=self.top,
                       max_length=self.tokenizer.max_length, training=self.training)

    @classmethod
    def from_directory(cls, directory: PathLike, device: Union[str, torch.device, None] = None,
                       max_length: Optional[int] = None, top: Optional[int] = None) -> "AttentionXMLTreeWrapper":
        """Load a directory written by :meth:`save`; ``max_length`` and ``top`` override the saved ones.

        Every file is checked against ``xmtc_model.json`` (shapes, cluster
        indices, label and vocabulary sizes); errors name the file.

        Usage::

            victim = AttentionXMLTreeWrapper.from_directory("models/my-tree", top=8)
        """
        directory = Path(directory)
        metadata = read_metadata(directory, ARCHITECTURE)
        metadata_path = directory / SAVED_MODEL_FILE
        count = positive_int_field(metadata, "levels", metadata_path)
        configs = metadata.get("configs")
        if count < 2 or not isinstance(configs, list) or len(configs) != count:
            raise CheckpointError(f"{metadata_path}: \"levels\" must be at least 2 and \"configs\" a list of "
                                  f"that many AttentionXML configs, got levels {count!r} and {type(configs).__name__}")
        _refuse_extra_levels(directory, count)
        level_files = [directory / level_file(level) for level in range(count)]
        networks = [_saved_level(path, AttentionXMLConfig.from_dict(config, source=f"{metadata_path} configs[{level}]"))
                    for level, (path, config) in enumerate(zip(level_files, configs))]
        sizes = [networks[0].config.labels_num] + [network.config.labels_num - 1 for network in networks[1:]]
        children_files = [directory / children_file(level) for level in range(count - 1)]
        children = tree_children([_read_children(path) for path in children_files], sizes, children_files,
                                 level_files)
        labels = read_label_list(directory / TREE_LABELS_FILE)
        check_label_order(metadata, labels, directory / TREE_LABELS_FILE)
        if len(labels) != sizes[-1]:
            raise CheckpointError(f"{directory / TREE_LABELS_FILE}: {len(labels)} labels, but {level_files[-1]} "
                                  f"scores {sizes[-1]}; the files do not belong together")
        vocab_path = directory / TREE_VOCAB_FILE
        vocab = load_vocab(vocab_path)
        if max_length is None:
            max_length = positive_int_field(metadata, "max_length", metadata_path, default=DEFAULT_MAX_LENGTH)
        if top is None:
            top = positive_int_field(metadata, "top", metadata_path, default=DEFAULT_TOP)
        tree = AttentionXMLTree(networks, children, top=top)
        wrapper = cls(tree, AttentionXMLTokenizer(vocab, max_length=max_length), labels, source=str(directory),
                      training=metadata.get("training"))
        return wrapper.to(device) if device is not None else wrapper


# ---------------------------------------------------------------- saved directories

TREE_LABELS_FILE = "labels.txt"
TREE_VOCAB_FILE = "vocab.npy"


def level_file(level: int) -> str:
    """``level-<i>.pt``: a saved tree's level i state dict."""
    return f"level-{level}.pt"


def children_file(level: int) -> str:
    """``children-<i>.npy``: a saved tree's children of level i's nodes."""
    return f"children-{level}.npy"


_SAVED_LEVEL = re.compile(r"^level-(\d+)\.pt$")
_SAVED_CHILDREN = re.compile(r"^children-(\d+)\.npy$")


def _refuse_extra_levels(directory: Path, count: int) -> None:
    """A level or children file beyond xmtc_model.json's ``levels`` means files of two trees are mixed."""
    for name in sorted(_names(directory)):
        level = _SAVED_LEVEL.match(name) or _SAVED_CHILDREN.match(name)
        limit = count if name.startswith("level-") else count - 1
        if level and int(level.group(1)) >= limit:
            raise CheckpointError(f"{directory / name}: not part of this tree ({SAVED_MODEL_FILE} says {count} "
                                  f"levels: level-0..{count - 1}.pt, children-0..{count - 2}.npy); the directory "
                                  f"mixes files of two trees: save the tree again into an empty directory")


def _saved_level(path: Path, config: AttentionXMLConfig) -> AttentionXMLNetwork:
    state = read_state_dict(path)
    found = config_from_state_dict(state, source=str(path))
    shapes = ("vocab_size", "emb_size", "hidden_size", "layers_num", "linear_size", "labels_num")
    if any(getattr(found, key) != getattr(config, key) for key in shapes):
        raise CheckpointError(f"{path}: tensor shapes give {found.to_dict()} but xmtc_model.json says "
                              f"{config.to_dict()}")
    network = AttentionXMLNetwork(config)
    network.load_checked_state_dict(state, source=str(path))
    return network.eval()


def _read_children(path: Path) -> List[np.ndarray]:
    """Each row of a ``children-<i>.npy`` without its -1 padding; integers only (nothing is unpickled)."""
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; a saved tree has one children file per level but the last")
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:  # EOFError: an empty file
        raise CheckpointError(f"{path}: not a plain integer array ({error or 'empty file'})") from None
    if table.ndim != 2 or table.dtype.kind not in "iu":
        raise CheckpointError(f"{path}: expected a 2-d integer array, got {table.dtype} of shape {list(table.shape)}")
    if (table < -1).any():  # -1 is the only padding save() writes; any other negative is damage, not a pad
        row, column = (int(i) for i in np.argwhere(table < -1)[0])
        raise CheckpointError(f"{path}: row {row} holds {int(table[row, column])}; entries are node indices, "
                              f"padded with -1 only. The file is damaged: save the tree again")
    return [row[row >= 0].astype(np.int64) for row in table]


# ---------------------------------------------------------------- level files


def _load_levels(models_dir: Path, prefix: str) -> Tuple[List[AttentionXMLNetwork], List[Path]]:
    """Every level's network, level 0 first, with the file each came from."""
    levels = {int(m.group("level")) for m in map(_LEVEL.match, _names(models_dir)) if m and m.group("prefix") == prefix}
    clusters = {int(m.group("level")) for m in map(_CLUSTER.match, _names(models_dir))
                if m and m.group("prefix") == prefix}
    count = max(levels | {level + 1 for level in clusters}, default=-1) + 1
    for level in range(count):
        if level not in levels:
            raise CheckpointError(f"{models_dir / f'{prefix}-Level-{level}'}: missing; the tree {prefix} has "
                                  f"levels {sorted(levels)} and {count} are needed (one more than its cluster files)")
    if count < 2:
        raise CheckpointError(f"{models_dir / f'{prefix}-Level-0'}: a label tree needs at least two levels "
                              f"and a cluster file ({prefix}-cluster-Level-0.npy); found one level")
    files = [models_dir / f"{prefix}-Level-{level}" for level in range(count)]
    return [_level_network(path, level) for level, path in enumerate(files)], files


def _names(directory: Path) -> List[str]:
    return [entry.name for entry in directory.iterdir() if entry.is_file()] if directory.is_dir() else []


def _level_network(path: Path, level: int) -> AttentionXMLNetwork:
    state = level_state_dict(read_state_dict(path), level, path)
    network = AttentionXMLNetwork(config_from_state_dict(state, source=str(path)))
    network.load_checked_state_dict(state, source=str(path))
    return network.eval()


def level_state_dict(state: Dict[str, torch.Tensor], level: int, source: PathLike) -> Dict[str, torch.Tensor]:
    """A level file's tensors under the flat network's names.

    Level 0 is already flat. Levels >= 1 drop the ``Network.`` prefix; a split
    attention table (``AttentionWeights.emb.<g>.weight``, n rows in all) becomes
    ``attention.attention.weight`` with a zero pad row appended (the original's
    ``AttentionWeights`` returns zeros for the pad index).

    Usage::

        flat = level_state_dict(torch.load(path, weights_only=True), 1, path)
    """
    if level == 0:
        return dict(state)
    flat, split, other = {}, {}, []
    for key, tensor in state.items():
        if key.startswith(NETWORK_PREFIX):
            flat[key[len(NETWORK_PREFIX):]] = tensor
        elif _SPLIT_ATTENTION.match(key):
            split[int(_SPLIT_ATTENTION.match(key).group("group"))] = tensor
        else:
            other.append(key)
    if other or not flat:
        raise CheckpointError(f"{source}: not a FastAttentionXML level {level} file: expected keys "
                              f"'{NETWORK_PREFIX}...' (and 'AttentionWeights.emb.<g>.weight'), found "
                              f"{sorted(other or state)[:4]}")
    if split:
        if "attention.attention.weight" in flat:
            raise CheckpointError(f"{source}: holds both Network.attention.attention.weight and "
                                  f"AttentionWeights.emb.*; expected one attention table")
        if sorted(split) != list(range(len(split))) or any(t.dim() != 2 for t in split.values()):
            raise CheckpointError(f"{source}: AttentionWeights.emb.<g>.weight must be 2-d tables numbered "
                                  f"0..{len(split) - 1}, found groups {sorted(split)}")
        table = torch.cat([split[group] for group in range(len(split))])
        flat["attention.attention.weight"] = torch.cat([table, table.new_zeros((1, table.shape[1]))])
    return flat


# ---------------------------------------------------------------- cluster files


_ARRAY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype")}


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else: any other global is refused unrun."""

    def find_class(self, module: str, name: str):
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused {module}.{name}: a cluster file holds numpy arrays only")


def read_cluster_file(path: PathLike) -> List[np.ndarray]:
    """The clusters of one ``...-cluster-Level-<i>.npy``: a list of 1-d int64 arrays.

    An object array is unpickled with numpy's array rebuilders only; every
    element must be a 1-d integer array. A 2-d integer array (what ``np.save``
    writes when all clusters have one size) gives its rows. Anything else is a
    one-line error naming the file.

    Usage::

        clusters = read_cluster_file("models/FastAttentionXML-EUR-Lex-cluster-Level-0.npy")
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; every level but the last needs its cluster file")
    try:
        array = _read_npy(path)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError) as error:
        raise CheckpointError(f"{path}: not a cluster file (a numpy array of label index arrays): {error}") from None
    if isinstance(array, np.ndarray) and array.dtype.kind in "iu" and array.ndim == 2:
        return [row.astype(np.int64) for row in array]
    if not isinstance(array, np.ndarray) or array.dtype != object or array.ndim != 1:
        shape = getattr(array, "shape", None)
        raise CheckpointError(f"{path}: expected a 1-d object array of int64 arrays, got "
                              f"{type(array).__name__} {getattr(array, 'dtype', '')} {shape}".rstrip())
    clusters = []
    for index, element in enumerate(array):
        if not isinstance(element, np.ndarray) or element.ndim != 1 or element.dtype.kind not in "iu":
            what = (f"{element.dtype} array of shape {list(element.shape)}" if isinstance(element, np.ndarray)
                    else repr(element)[:60])
            raise CheckpointError(f"{path}: element {index} is {what}; every element must be a 1-d int64 array")
        clusters.append(element.astype(np.int64))
    return clusters


def _read_npy(path: Path):
    with path.open("rb") as file:
        version = np.lib.format.read_magic(file)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(file)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(file)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
        if dtype.hasobject:
            return _ArrayUnpickler(file).load()
    return np.load(path, allow_pickle=False)


def tree_children(clusters: Sequence[Sequence[np.ndarray]], sizes: Sequence[int], cluster_files: Sequence[PathLike],
                  level_files: Sequence[PathLike]) -> List[List[np.ndarray]]:
    """For each level but the last, each node's children at the next level, from the cluster files.

    ``sizes[i]`` is the number of nodes of level i (labels at the last).
    The last cluster file's elements are labels; a higher one holds either
    children or, as the original writes, label sets (see the module docstring).

    Usage::

        children = tree_children([read_cluster_file(f) for f in cluster_files], [3, 12, 40], cluster_files,
                                 level_files)
    """
    last = len(sizes) - 1
    for level, (groups, path) in enumerate(zip(clusters, cluster_files)):
        if len(groups) != sizes[level]:
            raise CheckpointError(f"{level_files[level]}: scores {sizes[level]} nodes (its attention rows"
                                  f"{'' if level == 0 else ' minus the pad row'}), but {Path(path).name} "
                                  f"has {len(groups)} clusters; the files do not belong together")
    result = []
    for level, (groups, path) in enumerate(zip(clusters, cluster_files)):
        indices = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
        below = sizes[level + 1]
        if level < last - 1 and len(indices) and indices.max() >= below:
            result.append(_consecutive_children(clusters, sizes, level, cluster_files))
            continue
        what = "labels" if level == last - 1 else f"level-{level + 1} nodes"
        bad = indices[(indices < 0) | (indices >= below)]
        if len(bad):
            raise CheckpointError(f"{path}: index {int(bad[0])} is out of range: the next level has {below} "
                                  f"{what} (0 to {below - 1})")
        values, counts = np.unique(indices, return_counts=True)
        if len(values) and counts.max() > 1:
            raise CheckpointError(f"{path}: index {int(values[counts.argmax()])} is under two nodes; each of "
                                  f"the {what} belongs to one cluster")
        if len(values) < below:  # a node without a parent is never scored: every answer about it would be wrong
            orphan = int(np.setdiff1d(np.arange(below), values)[0])
            raise CheckpointError(f"{path}: index {orphan} is under no node; each of the {below} {what} "
                                  f"belongs to one cluster ({below - len(values)} belong to none)")
        result.append(list(groups))
    return result


def _consecutive_children(clusters, sizes, level: int, cluster_files) -> List[np.ndarray]:
    """The original's ``get_inter_groups``: node j's children are j*k .. j*k + k - 1, checked against the labels."""
    path, below = cluster_files[level], sizes[level + 1]
    labels_num = sizes[-1]
    largest = int(max(int(group.max()) for group in clusters[level] if len(group)))
    # Read as children, the file is wrong; say so first, then why the label-set reading fails too.
    where = f"{path}: index {largest} is no node of the next level (it has {below}), and read as the original's label sets"
    if below % sizes[level]:
        raise CheckpointError(f"{where}, its {sizes[level]} clusters do not divide the next level's {below} nodes")
    k = below // sizes[level]
    here = cluster_of_label(clusters[level], labels_num, path)
    there = cluster_of_label(clusters[level + 1], labels_num, cluster_files[level + 1])
    # Each label's node one level down must be a child of its node here.
    if not np.array_equal(here >= 0, there >= 0) or not np.array_equal(here[here >= 0], there[here >= 0] // k):
        raise CheckpointError(f"{where}, they do not match {Path(cluster_files[level + 1]).name} (node j's "
                              f"labels must be those of nodes {k}j..{k}j+{k - 1} one level down)")
    return [np.arange(j * k, (j + 1) * k, dtype=np.int64) for j in range(sizes[level])]


# ---------------------------------------------------------------- finding trees


def _trees_in(directory: Path) -> dict:
    """prefix -> sorted level numbers, for the label-tree files in ``directory``."""
    levels: dict = {}
    clusters = set()
    for name in _names(directory):
        cluster = _CLUSTER.match(name)
        if cluster:
            clusters.add(cluster.group("prefix"))
            continue
        level = _LEVEL.match(name)
        if level:
            levels.setdefault(level.group("prefix"), []).append(int(level.group("level")))
    return {prefix: sorted(found) for prefix, found in levels.items()
            if prefix in clusters or prefix.startswith(ORIGINAL_PREFIX)}


def _locate_tree(path: Path) -> Optional[Tuple[Path, str]]:
    if path.is_file():
        match = _LEVEL.match(path.name) or _CLUSTER.match(path.name)
        if match is None or match.group("prefix") not in _trees_in(path.parent):
            return None
        return path.parent, match.group("prefix")
    for directory in (path, path / "models"):
        trees = _trees_in(directory)
        if len(trees) > 1:
            raise CheckpointError(f"{directory} holds several label trees ({', '.join(sorted(trees))}); "
                                  f"pass one of their level files")
        if trees:
            return directory, next(iter(trees))
    return None


def find_label_tree(path: PathLike, allow_pickle: bool = False) -> Optional[dict]:
    """The keyword arguments of :meth:`AttentionXMLTreeWrapper.from_original` when ``path`` is a label tree.

    ``path`` is a level or cluster file, the ``models/`` directory holding
    them, or the repository root above it; ``None`` when it is none of these. A
    level file is recognised by its name (``FastAttentionXML-...-Level-<i>``) or
    by a ``<same prefix>-cluster-Level-<j>.npy`` beside it. The vocabulary and
    labels are looked for as for a flat checkpoint (raises naming every path tried).

    Usage::

        victim = AttentionXMLTreeWrapper.from_original(**find_label_tree("AttentionXML/models"))
    """
    found = _locate_tree(Path(path).expanduser())
    if found is None:
        return None
    directory, prefix = found
    name = prefix[len(ORIGINAL_PREFIX):] if prefix.startswith(ORIGINAL_PREFIX) else prefix
    files = find_vocab_and_labels(directory / f"{prefix}-Level-0", name, allow_pickle,
                                  "AttentionXMLTreeWrapper.from_original(models_dir, prefix, vocab_path, labels)")
    return {"models_dir": str(directory), "prefix": prefix, **files}


__all__: List[str] = ["AttentionXMLTreeWrapper", "find_label_tree", "level_state_dict", "read_cluster_file",
                      "tree_children"]
