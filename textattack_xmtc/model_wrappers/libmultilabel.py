"""LibMultiLabel (ntumlgroup/LibMultiLabel) run directories: its AttentionXML as a victim.

``main.py`` writes each run to ``runs/<data>_<model>_<time>/`` (its
``checkpoint_dir``; ``logs.json`` there holds the run's ``config``). What is
in it depends on the model:

* AttentionXML (``PLTTrainer``, libmultilabel/nn/attentionxml.py):
  ``model_0.ckpt`` (clusters) and ``model_1.ckpt`` (labels), Lightning
  checkpoints; ``label_clusters.npy`` (``build_label_tree``); and
  ``word_dict.pickle`` (torch_trainer.py pickles the dict of word ids).
  :class:`LibMultiLabelAttentionXMLWrapper` loads these; see
  :mod:`textattack_xmtc.models.libmultilabel_attentionxml` for the network,
  the tokenizer and the beam, and where each fact comes from.
* other neural models: ``best_model.ckpt`` / ``last.ckpt`` with ``logs.json``
  (and ``word_dict.pickle``): recognised, not supported yet;
* linear models: ``linear_pipeline.pickle``: recognised, not supported yet.

Nothing is unpickled freely. The ``.ckpt`` files pickle the whole network
object in ``hyper_parameters`` (``save_hyperparameters`` in
libmultilabel/nn/model.py), so ``torch.load(weights_only=True)`` fails on
them; they are read with :func:`~textattack_xmtc.models.restricted_unpickling.load_checkpoint`
(tensors and plain values; LibMultiLabel's and torch.nn's classes become
inert records; anything else is refused, naming it). Sizes come from the
state dict's tensor shapes; label names from ``model_1.ckpt``'s
``hyper_parameters["classes"]`` (a list of strings; LibMultiLabel writes no
label file) unless given; clusters from ``label_clusters.npy`` (read with
numpy's array rebuilders only; if it is missing, from ``model_0.ckpt``'s
``hyper_parameters["classes"]``, the same array); ``max_seq_length`` and
``beam_width`` from ``logs.json`` (``main.py``'s defaults 500 and 10 when
absent); ``word_dict.pickle`` with the plain-values unpickler.

Usage::

    victim = load_victim("runs/EUR-Lex_attentionxml_20240101")          # or --model runs/...
    labels, scores = victim.predict_top_k(["a document"], k=5)          # LibMultiLabel's prediction
    exact = victim.label_scores(["a document"], [17])                    # sigmoid(l1) x sigmoid(l0)
    find_checkpoint("runs/EUR-Lex_kim_cnn_20240101")   # {'kind': 'neural', 'files': ['best_model.ckpt', ...]}
"""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch

from ..errors import CheckpointError
from ..models.libmultilabel_attentionxml import (DEFAULT_BEAM_WIDTH, DEFAULT_MAX_SEQ_LENGTH, PAD_TOKEN, UNK_TOKEN,
                                                 LibMultiLabelTokenizer, libmultilabel_tree)
from ..models.attentionxml_tree import AttentionXMLTree
from ..models.restricted_unpickling import RestrictedUnpickler, Refused, load_checkpoint, load_plain_pickle
from .attentionxml_tree import AttentionXMLTreeWrapper
from .saved import positive_int_field

PathLike = Union[str, os.PathLike]

LINEAR_FILE = "linear_pipeline.pickle"
#: Files a neural run directory holds beside its ``*.ckpt`` files.
RUN_FILES = ("logs.json", "word_dict.pickle")
#: An AttentionXML run (PLTTrainer.CHECKPOINT_NAME, WORD_DICT_NAME, CLUSTER_NAME).
LEVEL_FILES = ("model_0.ckpt", "model_1.ckpt")
WORD_DICT_FILE = "word_dict.pickle"
CLUSTER_FILE = "label_clusters.npy"
LOG_FILE = "logs.json"
_WHAT = "a LibMultiLabel checkpoint"


class LibMultiLabelAttentionXMLWrapper(AttentionXMLTreeWrapper):
    """LibMultiLabel's AttentionXML (a two-level label tree) and its tokenizer, for TextAttack.

    Scores are probabilities: a label's is ``sigmoid(l1) x sigmoid(l0)`` of its
    cluster, as LibMultiLabel scores each text alone (batch size 1). As for
    the FastAttentionXML tree, ``__call__`` gives the beam's labels their
    score and every other label 0, ``label_scores`` the exact product for the
    labels asked, and ``predict_top_k`` LibMultiLabel's prediction (the
    ``beam_width`` best clusters, then the k best of their labels).
    ``unk_token`` is ``<unk>``; ``max_words`` is ``max_seq_length`` (tokens;
    numbers are dropped, so a number-rich text reads a few words further).

    Usage::

        victim = LibMultiLabelAttentionXMLWrapper.from_run_directory("runs/EUR-Lex_attentionxml_20240101")
        probabilities = victim(["a document"])   # [1, L]
    """

    unk_token = UNK_TOKEN

    def __init__(self, model: AttentionXMLTree, tokenizer: LibMultiLabelTokenizer, labels: Sequence[str],
                 source: str = "", training: Optional[dict] = None):
        embedding_rows = model.levels[0].config.vocab_size
        # word_dict may number fewer words than the embedding has rows (the rest are never read).
        if tokenizer.vocab_size > embedding_rows:
            raise CheckpointError(f"{source or 'model'}: word_dict has ids up to {tokenizer.vocab_size - 1} but "
                                  f"network.embedding.embedding.weight has {embedding_rows} rows")
        self._attach(model, tokenizer, labels, model.labels_num, "model_1", [], source, training)

    def describe(self) -> str:
        level = self.model.levels[0].config
        where = f" from {self.source}" if self.source else ""
        return (f"LibMultiLabel AttentionXML ({self.model.sizes[0]} clusters -> {len(self.labels)} labels, "
                f"beam {self.top}; {level.vocab_size} words, {level.emb_size}-d embeddings, BiLSTM "
                f"{level.layers_num}x{level.hidden_size}, MLP {level.linear_size}, reads "
                f"{self.tokenizer.max_length} tokens){where}")

    @classmethod
    def from_run_directory(cls, run_dir: PathLike, max_length: Optional[int] = None, top: Optional[int] = None,
                           labels: Optional[Sequence[str]] = None, name: Optional[str] = None,
                           device: Union[str, torch.device, None] = None) -> "LibMultiLabelAttentionXMLWrapper":
        """Load the AttentionXML run in ``run_dir`` (see the module docstring for what comes from where).

        ``max_length`` (tokens read) and ``top`` (the beam width) override the
        run's ``max_seq_length`` and ``beam_width``; ``labels`` the label names.

        Usage::

            victim = LibMultiLabelAttentionXMLWrapper.from_run_directory("runs/Wiki10_attentionxml", top=20)
        """
        run_dir = Path(run_dir)
        refuse_checkpoint_directories(run_dir)
        log_file = run_dir / LOG_FILE
        config = read_run_config(log_file)
        checkpoints = [load_checkpoint(run_dir / file, what=_WHAT) for file in LEVEL_FILES]
        states = [_state_dict(checkpoint, run_dir / file) for checkpoint, file in zip(checkpoints, LEVEL_FILES)]
        clusters = _clusters(run_dir, checkpoints[0])
        beam_width = top if top is not None else positive_int_field(config, "beam_width", log_file, DEFAULT_BEAM_WIDTH)
        tree = libmultilabel_tree(states[0], states[1], clusters, beam_width,
                                  sources=tuple(str(run_dir / file) for file in LEVEL_FILES + (CLUSTER_FILE,)))
        if labels is None:
            labels = _label_names(checkpoints[1], run_dir / LEVEL_FILES[1])
        word_dict = read_word_dict(run_dir / WORD_DICT_FILE)
        length = max_length if max_length is not None else positive_int_field(config, "max_seq_length", log_file,
                                                                              DEFAULT_MAX_SEQ_LENGTH)
        tokenizer = LibMultiLabelTokenizer(word_dict, max_length=length, source=str(run_dir / WORD_DICT_FILE))
        wrapper = cls(tree, tokenizer, labels, source=name or str(run_dir),
                      training={"origin": "LibMultiLabel", "weights": str(run_dir)})
        return wrapper.to(device) if device is not None else wrapper


# ---------------------------------------------------------------- run files


def read_run_config(path: PathLike) -> dict:
    """The ``config`` object of a run's ``logs.json`` (``{}`` when the file is absent)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text(encoding="utf-8")).get("config", {})
    except (OSError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{path}: not LibMultiLabel's logs.json (a JSON object): {error}") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: 'config' is a {type(config).__name__}, expected an object")
    return config


def read_word_dict(path: PathLike) -> dict:
    """``word_dict.pickle``: a dict of word -> id, read with the plain-values unpickler, checked."""
    word_dict = load_plain_pickle(path, what="a LibMultiLabel word_dict.pickle")
    if not isinstance(word_dict, dict) or not word_dict:
        raise CheckpointError(f"{path}: expected a non-empty dict of words to ids, got {type(word_dict).__name__}")
    for word, index in word_dict.items():
        if not isinstance(word, str) or isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise CheckpointError(f"{path}: entry {word!r}: {index!r}; expected str -> non-negative int")
    if word_dict.get(PAD_TOKEN, 0) != 0:
        raise CheckpointError(f"{path}: {PAD_TOKEN!r} has id {word_dict[PAD_TOKEN]}; LibMultiLabel pads with 0")
    return word_dict


def _state_dict(checkpoint, path: Path) -> dict:
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"{path}: no 'state_dict' in it; not a Lightning checkpoint of LibMultiLabel")
    return state


def _hyper_parameter(checkpoint, key: str):
    hyper = checkpoint.get("hyper_parameters") if isinstance(checkpoint, dict) else None
    return hyper.get(key) if isinstance(hyper, dict) else None


def _label_names(checkpoint, path: Path) -> List[str]:
    classes = _hyper_parameter(checkpoint, "classes")
    if isinstance(classes, np.ndarray):
        classes = classes.tolist()
    if not isinstance(classes, (list, tuple)) or not all(isinstance(label, str) for label in classes):
        raise CheckpointError(f"{path}: hyper_parameters['classes'] is not a list of label names "
                              f"({type(classes).__name__}); pass labels=[...]")
    seen = set()
    for label in classes:  # a repeated name would send every target of that name to its first label
        if label in seen:
            raise CheckpointError(f"{path}: hyper_parameters['classes'] names label {label!r} twice; "
                                  f"pass labels=[...] with distinct names")
        seen.add(label)
    return list(classes)


def _clusters(run_dir: Path, checkpoint_0) -> List[np.ndarray]:
    path = run_dir / CLUSTER_FILE
    if path.is_file():
        return read_clusters(path)
    # model_0 is a Model whose "classes" are the clusters (PLTTrainer.fit passes classes=clusters).
    classes = _hyper_parameter(checkpoint_0, "classes")
    if not isinstance(classes, np.ndarray):
        raise CheckpointError(f"{path}: missing, and {run_dir / LEVEL_FILES[0]} holds no clusters in "
                              f"hyper_parameters['classes']; copy label_clusters.npy from the run")
    return as_clusters(classes, f"{run_dir / LEVEL_FILES[0]} hyper_parameters['classes']")


def read_clusters(path: PathLike) -> List[np.ndarray]:
    """``label_clusters.npy``: each cluster's label indices, as int64 arrays.

    ``build_label_tree`` saves ``np.asarray(clusters, dtype=object)``: a 1-d
    object array of index arrays, or, when every cluster has the same size, a
    2-d object array of numpy integers (read row by row; a plain integer array
    too). The pickle inside is read with numpy's array rebuilders only.

    Usage::

        clusters = read_clusters("runs/EUR-Lex_attentionxml/label_clusters.npy")
    """
    path = Path(path)
    try:
        with path.open("rb") as file:
            version = np.lib.format.read_magic(file)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"unsupported .npy format version {version}")
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            _, _, dtype = read_header(file)
            array = RestrictedUnpickler(file, stand_ins=False).load() if dtype.hasobject else None
        if array is None:
            array = np.load(path, allow_pickle=False)
    except Refused as refused:
        raise CheckpointError(f"{path}: refused to load: its pickle names {refused.qualified_name}; a cluster "
                              f"file holds numpy arrays only (nothing in it was run)") from None
    except (OSError, ValueError, EOFError, TypeError, AttributeError, pickle.UnpicklingError) as error:
        raise CheckpointError(f"{path}: not LibMultiLabel's label_clusters.npy: {error}") from None
    return as_clusters(array, str(path))


def as_clusters(array, source: str) -> List[np.ndarray]:
    """The rows of a cluster array (1-d object array of index arrays, or 2-d) as int64 arrays; errors name ``source``."""
    rows = list(array) if isinstance(array, np.ndarray) and array.ndim in (1, 2) and len(array) else None
    if rows is None:
        raise CheckpointError(f"{source}: expected an array of clusters (label index arrays), got "
                              f"{type(array).__name__} {getattr(array, 'shape', '')}")
    clusters = []
    for index, row in enumerate(rows):
        group = np.asarray(row)
        if group.dtype == object and group.ndim == 1 and all(
                isinstance(value, (int, np.integer)) and not isinstance(value, bool) for value in group):
            group = group.astype(np.int64)  # a row of the 2-d object array: numpy integers
        if group.ndim != 1 or group.dtype.kind not in "iu":
            raise CheckpointError(f"{source}: cluster {index} is {row!r:.60}; expected an array of label indices")
        clusters.append(group.astype(np.int64))
    return clusters


# ---------------------------------------------------------------- finding runs


def find_checkpoint(path: PathLike) -> Optional[dict]:
    """``{"kind": "neural" | "linear", "files": [...]}`` for a LibMultiLabel run directory or file in it.

    A linear run: ``linear_pipeline.pickle``. A neural run: at least one
    ``*.ckpt`` together with ``logs.json`` or ``word_dict.pickle`` (a lone
    ``.ckpt`` could be any Lightning model).
    """
    path = Path(path).expanduser()
    if path.is_file():
        if path.name == LINEAR_FILE or path.suffix == ".ckpt":
            found = find_checkpoint(path.parent)
            return found if found is not None and path.name in found["files"] else None
        return None
    if not path.is_dir():
        return None
    if (path / LINEAR_FILE).is_file():
        return {"kind": "linear", "files": [LINEAR_FILE]}
    checkpoints = sorted(entry.name for entry in path.glob("*.ckpt") if entry.is_file())
    companions = [name for name in RUN_FILES if (path / name).is_file()]
    if checkpoints and companions:
        return {"kind": "neural", "files": checkpoints + companions}
    return None


def _run_directory(path: PathLike) -> Optional[Path]:
    path = Path(path).expanduser()
    return path.parent if path.is_file() else path


def find_attentionxml_run(path: PathLike) -> Optional[dict]:
    """``{"run_dir": ...}`` when ``path`` (a run directory or a file in it) is a LibMultiLabel AttentionXML run.

    It is one when ``find_checkpoint`` recognises it and it holds ``model_0.ckpt``
    and ``model_1.ckpt``; then ``word_dict.pickle`` must be there too
    (``FileNotFoundError`` naming it otherwise). ``None`` for anything else.

    Usage::

        LibMultiLabelAttentionXMLWrapper.from_run_directory(**find_attentionxml_run("runs/Wiki10_attentionxml"))
    """
    refuse_checkpoint_directories(path)
    found = find_checkpoint(path)
    if found is None or found["kind"] != "neural" or not all(name in found["files"] for name in LEVEL_FILES):
        return None
    run_dir = _run_directory(path)
    if not (run_dir / WORD_DICT_FILE).is_file():
        raise FileNotFoundError(f"{run_dir}: a LibMultiLabel AttentionXML run (model_0.ckpt, model_1.ckpt) "
                                f"without its {WORD_DICT_FILE}; copy it from the run directory")
    return {"run_dir": str(run_dir)}


def refuse_checkpoint_directories(path: PathLike) -> None:
    """A :class:`CheckpointError` when ``model_0.ckpt`` or ``model_1.ckpt`` of a run is a directory.

    ``path`` is a run directory or one of its level checkpoints. Without this a run
    whose ``model_1.ckpt`` is a directory read as "a neural model other than
    AttentionXML", or as no model at all. It counts as a run when the user named
    the level checkpoint, or when ``logs.json``, ``word_dict.pickle`` or the
    other level checkpoint is there.

    Usage::

        refuse_checkpoint_directories("runs/Wiki10_attentionxml")   # raises naming runs/.../model_1.ckpt
    """
    path = Path(path).expanduser()
    # A level checkpoint named by the user, unless it is a run directory itself (oddly named).
    named = path.name in LEVEL_FILES and not any((path / name).exists() for name in RUN_FILES + LEVEL_FILES)
    run_dir = path.parent if named or path.is_file() else path
    directories = [name for name in LEVEL_FILES if (run_dir / name).is_dir()]
    if not directories:
        return
    others = [name for name in LEVEL_FILES if name not in directories and (run_dir / name).exists()]
    if not (named or others or any((run_dir / name).is_file() for name in RUN_FILES)):
        return
    name = directories[0]
    raise CheckpointError(f"{run_dir / name}: is a directory, not a checkpoint file; a LibMultiLabel AttentionXML "
                          f"run holds {LEVEL_FILES[0]} and {LEVEL_FILES[1]} as the single files its PLTTrainer "
                          "saves (torch.save of a dict with 'state_dict' and 'hyper_parameters'): put the run's "
                          f"{name} FILE at that path")


def find_linear_run(path: PathLike) -> Optional[dict]:
    """The linear run (``linear_pipeline.pickle``) ``find_checkpoint`` recognises, else ``None``."""
    found = find_checkpoint(path)
    return found if found is not None and found["kind"] == "linear" else None


def find_other_neural_run(path: PathLike) -> Optional[dict]:
    """A neural run that is not AttentionXML (``best_model.ckpt``, ...), else ``None``."""
    found = find_checkpoint(path)
    return found if found is not None and found["kind"] == "neural" else None


__all__: List[str] = ["LibMultiLabelAttentionXMLWrapper", "find_attentionxml_run", "find_checkpoint",
                      "find_linear_run", "find_other_neural_run", "as_clusters", "read_clusters", "read_run_config",
                      "read_word_dict", "refuse_checkpoint_directories"]
