"""AttentionXML as a TextAttack victim: raw texts in, label probabilities out.

Two ways in:

- our saved-model directory (written by :meth:`AttentionXMLWrapper.save`):
  ``xmtc_model.json``, ``labels.txt``, ``vocab.npy``, ``model.pt``;
- an ORIGINAL AttentionXML checkpoint: the plain state dict
  ``models/AttentionXML-<data>`` (``models/AttentionXML-<data>-Tree-<n>``
  when trained with ``--tree-id n``) plus the dataset's ``vocab.npy`` and
  label list (:meth:`AttentionXMLWrapper.from_original`,
  :func:`find_original_checkpoint`).

Scores are sigmoid probabilities. Weights holding NaN or infinite values are
refused when loaded, naming the file and the tensor.

Usage::

    victim = AttentionXMLWrapper.from_directory("my-model")
    probabilities = victim(["Oil prices rose.", "Wheat exports fell."])   # torch [2, L]
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch

from ..models.attentionxml import (
    AttentionXMLConfig,
    AttentionXMLNetwork,
    CheckpointError,
    config_from_state_dict,
)
from ..models.state_dicts import check_finite
from ..shared.text_files import TextFileProblem, label_list_lines, universal_lines, utf8_error_position
from ..models.tokenization import DEFAULT_MAX_LENGTH, UNK_TOKEN, AttentionXMLTokenizer, load_vocab, save_vocab
from .base import XMTCModelWrapper, score_distinct
from .saved import (SAVED_MODEL_FILE, check_label_order, dict_field, positive_int_field, read_metadata,
                    resolve_labels, save_state_dict, start_saved_directory, write_metadata)

PathLike = Union[str, os.PathLike]

ARCHITECTURE = "attentionxml"
METADATA_FILE = SAVED_MODEL_FILE  # kept importable under its old name
LABELS_FILE = "labels.txt"
VOCAB_FILE = "vocab.npy"
WEIGHTS_FILE = "model.pt"

ORIGINAL_PREFIX = "AttentionXML-"


class AttentionXMLFamily(XMTCModelWrapper):
    """What the flat and the label-tree AttentionXML wrappers share: the tokenizer, sigmoid
    probabilities, the unknown token, ``max_words``, and the checks made when one is built."""

    score_type = "probabilities"
    unk_token = UNK_TOKEN

    def _attach(self, model: torch.nn.Module, tokenizer: AttentionXMLTokenizer, labels: Sequence[str],
                labels_num: int, scored_by: str, vocab_sizes: Sequence[int], source: str,
                training: Optional[dict]) -> None:
        """Keep ``model`` (in eval mode) and the rest, after checking the label count against
        ``labels_num`` (what ``scored_by`` scores) and the vocabulary against every embedding."""
        labels = [str(label) for label in labels]
        if len(labels) != labels_num:
            raise CheckpointError(f"{source or 'model'}: {len(labels)} labels given but {scored_by} "
                                  f"scores {labels_num} (its attention rows)")
        for vocab_size in vocab_sizes:
            if tokenizer.vocab_size != vocab_size:
                raise CheckpointError(f"{source or 'model'}: vocabulary has {tokenizer.vocab_size} words but "
                                      f"emb.emb.weight has {vocab_size} rows")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = labels
        self.max_words = tokenizer.max_length
        self.source = source
        self.training = dict(training or {})


class AttentionXMLWrapper(AttentionXMLFamily):
    """Wrap an :class:`AttentionXMLNetwork` and its tokenizer for TextAttack.

    ``__call__`` returns sigmoid probabilities ``[B, L]`` on the model's
    device; each call pads to its own longest text.

    Usage::

        wrapper = AttentionXMLWrapper(network, tokenizer, labels)
        wrapper.save("my-model"); AttentionXMLWrapper.from_directory("my-model")
    """

    architecture = ARCHITECTURE  # in xmtc_model.json of its saved directories

    def __init__(self, model: AttentionXMLNetwork, tokenizer: AttentionXMLTokenizer, labels: Sequence[str],
                 source: str = "", training: Optional[dict] = None):
        self._attach(model, tokenizer, labels, model.config.labels_num,
                     "the network", [model.config.vocab_size], source, training)

    @property
    def config(self) -> AttentionXMLConfig:
        return self.model.config

    def __call__(self, text_input_list: Sequence[str]) -> torch.Tensor:
        """Probabilities [len(texts), L] on the model's device (read now: Attack.cuda_() moves it)."""
        return self._probabilities(text_input_list, None)

    def label_scores(self, text_input_list: Sequence[str], labels: Sequence[int]) -> torch.Tensor:
        """Probabilities of the label indices ``labels`` only, ``[len(texts), len(labels)]``.

        The network attends for those labels alone (see :class:`AttentionXMLNetwork`).

        Usage::

            target_probabilities = victim.label_scores(texts, [victim.label_index("acq")])[:, 0]
        """
        return self._probabilities(text_input_list, self.label_tensor(labels))

    def _probabilities(self, text_input_list: Sequence[str], columns: Optional[torch.Tensor]) -> torch.Tensor:
        texts = list(text_input_list)
        if not texts:
            width = len(self.labels) if columns is None else len(columns)
            return torch.zeros((0, width), device=self.device)
        return score_distinct([self.tokenizer.encode_edit(text) for text in texts],
                              lambda sequences: self._score_ids(sequences, columns))

    def _score_ids(self, sequences: List[List[int]], labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        input_ids = self.tokenizer.pad(sequences).to(self.device)
        if labels is not None:
            labels = labels.to(self.device)
        self.model.eval()
        with torch.inference_mode():
            probabilities = torch.sigmoid(self.model(input_ids, labels))
        # A clone made outside inference mode is an ordinary tensor: callers may modify it in place.
        return probabilities.clone()

    def describe(self) -> str:
        config = self.config
        where = f" from {self.source}" if self.source else ""
        return (f"AttentionXML ({config.vocab_size} words, {config.emb_size}-d embeddings, "
                f"BiLSTM {config.layers_num}x{config.hidden_size}, MLP {config.linear_size}, "
                f"{config.labels_num} labels){where}")

    # ------------------------------------------------------------ saved-model directories

    def save(self, directory: PathLike) -> None:
        """Write ``xmtc_model.json``, ``labels.txt``, ``vocab.npy`` and ``model.pt`` to ``directory``.

        ``model.pt`` keeps the original AttentionXML key names, so it also loads
        with :meth:`from_original`.

        Usage::

            wrapper.save("models/attentionxml-reuters21578")
        """
        directory = start_saved_directory(directory, LABELS_FILE, self.labels)
        save_state_dict(self.model, directory / WEIGHTS_FILE)
        save_vocab(directory / VOCAB_FILE, self.tokenizer.vocab)
        write_metadata(directory, ARCHITECTURE, labels=self.labels, config=self.config.to_dict(),
                       max_length=self.tokenizer.max_length, training=self.training)

    @classmethod
    def from_directory(cls, directory: PathLike, device: Union[str, torch.device, None] = None,
                       max_length: Optional[int] = None) -> "AttentionXMLWrapper":
        """Load a directory written by :meth:`save`; ``max_length`` overrides the saved word limit.

        Usage::

            victim = AttentionXMLWrapper.from_directory("my-model", device="cpu")
        """
        directory = Path(directory)
        metadata = read_metadata(directory, ARCHITECTURE)
        metadata_path = directory / METADATA_FILE
        config = AttentionXMLConfig.from_dict(dict_field(metadata, "config", metadata_path, required=True),
                                              source=f"{metadata_path} \"config\"")
        weights_path = directory / WEIGHTS_FILE
        state = read_state_dict(weights_path)
        found = config_from_state_dict(state, source=str(weights_path))
        if _sizes(found) != _sizes(config):
            raise CheckpointError(f"{weights_path}: tensor shapes give {found.to_dict()} but "
                                  f"{metadata_path} says {config.to_dict()}")
        labels = read_label_list(directory / LABELS_FILE)
        check_label_order(metadata, labels, directory / LABELS_FILE)
        if max_length is None:
            max_length = positive_int_field(metadata, "max_length", metadata_path, default=DEFAULT_MAX_LENGTH)
        wrapper = cls._assemble(state, config, directory / VOCAB_FILE, labels, directory / LABELS_FILE,
                                max_length, source=str(directory), training=metadata.get("training"))
        return wrapper.to(device) if device is not None else wrapper

    # ------------------------------------------------------------ original checkpoints

    @classmethod
    def from_original(cls, weights_path: PathLike, vocab_path: PathLike, labels: Union[Sequence[str], PathLike],
                      max_length: Optional[int] = None, allow_pickle: bool = False,
                      name: Optional[str] = None,
                      device: Union[str, torch.device, None] = None) -> "AttentionXMLWrapper":
        """Load an original AttentionXML state dict with its ``vocab.npy`` and label list.

        ``labels`` is a list of names, or a path: a file with one label per
        line (``labels.txt``), a dataset labels file (``train_labels.txt``,
        several labels per line: the list is ``sorted(set(all labels))``, as
        sklearn's ``MultiLabelBinarizer`` orders them), or, only with
        ``allow_pickle=True``, the original ``labels_binarizer`` (unpickled
        with joblib: only do this for files you trust). ``max_length`` is the
        number of words read per document (default 500, the original's).
        ``source`` (and :meth:`describe`) name ``name``, else the weights file.

        Usage::

            victim = AttentionXMLWrapper.from_original(
                "models/AttentionXML-EUR-Lex", "data/EUR-Lex/vocab.npy", "data/EUR-Lex/train_labels.txt")
        """
        weights_path = Path(weights_path)
        state = read_state_dict(weights_path)
        config = config_from_state_dict(state, source=str(weights_path))
        labels_source, label_list = resolve_labels(
            labels, lambda path: read_original_labels(path, allow_pickle=allow_pickle))
        source = name or str(weights_path)
        return cls._assemble(state, config, Path(vocab_path), label_list, labels_source,
                             DEFAULT_MAX_LENGTH if max_length is None else max_length,
                             source=source, training={"origin": "AttentionXML", "weights": str(weights_path)},
                             device=device)

    @classmethod
    def _assemble(cls, state, config, vocab_path: Path, labels: List[str], labels_source: Optional[Path],
                  max_length: int, source: str, training: Optional[dict],
                  device=None) -> "AttentionXMLWrapper":
        if len(labels) != config.labels_num:
            where = labels_source if labels_source is not None else "the label list"
            raise CheckpointError(
                f"{where}: {len(labels)} labels, but attention.attention.weight in the checkpoint "
                f"has {config.labels_num} rows (one per label); the label list does not belong to this model"
            )
        vocab = load_vocab(vocab_path)
        if len(vocab) != config.vocab_size:
            raise CheckpointError(f"{vocab_path}: {len(vocab)} words, but emb.emb.weight in the checkpoint "
                                  f"has {config.vocab_size} rows; the vocabulary does not belong to this model")
        network = AttentionXMLNetwork(config)
        network.load_checked_state_dict(state, source=source)
        tokenizer = AttentionXMLTokenizer(vocab, max_length=max_length)
        wrapper = cls(network, tokenizer, labels, source=source, training=training)
        return wrapper.to(device) if device is not None else wrapper


# ---------------------------------------------------------------- helpers


def _sizes(config: AttentionXMLConfig) -> dict:
    """The config without its dropout rates, which no tensor shape records."""
    return {key: value for key, value in config.to_dict().items() if "dropout" not in key}




def read_state_dict(path: Path) -> Dict[str, torch.Tensor]:
    """A plain state dict file (``weights_only``), its tensors checked finite; one-line errors name ``path``."""
    if not path.is_file():
        raise FileNotFoundError(f"AttentionXML weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for non-checkpoint files
        raise CheckpointError(f"{path}: cannot be read as a plain torch state dict ({error})") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    check_finite(state, path)
    return state


def read_label_list(path: PathLike) -> List[str]:
    """One label per line, line i = output i (trailing blank lines skipped; inner blank lines and repeats refused).

    Lines end at ``\\n`` only (a trailing ``\\r`` is dropped): ``str.splitlines`` would also break a
    label at ``\\x0b``, ``\\x85``, ``\\u2028`` and the like, shifting every later output.

    Usage::

        labels = read_label_list("my-model/labels.txt")
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label list not found: {path}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")  # Notepad and spreadsheets start UTF-8 with a byte-order mark
    except UnicodeDecodeError as error:
        line, _ = utf8_error_position(data, error.start)
        raise CheckpointError(f"{path}, line {line}: not UTF-8 text (byte 0x{data[error.start]:02x}); "
                              f"save the label list as UTF-8") from None
    try:
        return label_list_lines(text)
    except TextFileProblem as problem:
        raise CheckpointError(f"{path}, {problem}") from None


def read_original_labels(path: PathLike, allow_pickle: bool = False) -> List[str]:
    """The label order of an AttentionXML model from a labels file or the dataset's labels.

    - ``*_labels.txt`` or any file with several labels on a line: a dataset
      labels file; the order is ``sorted(set(all labels))`` (MultiLabelBinarizer);
    - any other text file: one label per line, in output order;
    - ``labels_binarizer`` (a joblib pickle): only with ``allow_pickle=True``.

    Usage::

        labels = read_original_labels("data/EUR-Lex/train_labels.txt")
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label file not found: {path}")
    if _is_pickle(path):
        if not allow_pickle:
            raise CheckpointError(
                f"{path} is a pickle (the original labels_binarizer); unpickling runs code from the file, "
                f"so it is refused by default. Pass a labels text file (one label per line) or the "
                f"dataset's train_labels.txt instead, or allow_pickle=True if you trust the file"
            )
        import joblib

        return [str(label) for label in joblib.load(path).classes_]
    # The original reads its labels files line by line in text mode, each line split on whitespace.
    lines = universal_lines(path.read_text(encoding="utf-8-sig"))
    if path.name.endswith("_labels.txt") or any(len(line.split()) > 1 for line in lines):
        return sorted({label for line in lines for label in line.split()})
    return read_label_list(path)


def _is_pickle(path: Path) -> bool:
    """True for the original ``labels_binarizer`` or any binary (non-UTF-8) file."""
    if path.name == "labels_binarizer":
        return True
    data = path.read_bytes()
    # Pickles start with 0x80; joblib may compress them (gzip, zlib): none is valid UTF-8 text.
    if data[:1] == b"\x80" or data[:2] in (b"\x1f\x8b", b"\x78\x01", b"\x78\x9c", b"\x78\xda"):
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _original_weights_in(directory: Path) -> List[Path]:
    return sorted(p for p in directory.glob(f"{ORIGINAL_PREFIX}*") if p.is_file() and not p.suffix)


def _locate_weights(path: Path) -> Optional[Path]:
    """The original weights file named by ``path`` (a file, its directory, or the repo root)."""
    if path.is_file():
        return path if path.name.startswith(ORIGINAL_PREFIX) and not path.suffix else None
    if not path.is_dir():
        return None
    found = _original_weights_in(path) or (_original_weights_in(path / "models") if (path / "models").is_dir() else [])
    if len(found) > 1:
        ensemble = ": the members of an ensemble" if all(_TREE_SUFFIX.search(p.name) for p in found) else ""
        raise CheckpointError(f"{path} holds several AttentionXML checkpoints ({', '.join(p.name for p in found)}"
                              f"{ensemble}); pass the one you want")
    return found[0] if found else None


def find_original_checkpoint(path: PathLike, allow_pickle: bool = False) -> Optional[dict]:
    """Recognise an original AttentionXML checkpoint; ``None`` when ``path`` is not one.

    ``path`` is the weights file ``.../models/AttentionXML-<data>`` (or
    ``AttentionXML-<data>-Tree-<n>``, the name ``main.py --tree-id n`` gives a
    flat model, one member of an ensemble), the directory holding it, or the
    repository root above ``models/``. The vocabulary and labels are looked for
    beside the weights (``vocab.npy``, ``labels.txt``) and in the original
    layout (``<root>/data/<data>/vocab.npy``, ``<root>/data/<data>/train_labels.txt``;
    ``labels_binarizer`` only with ``allow_pickle=True``). Returns the keyword
    arguments of :meth:`AttentionXMLWrapper.from_original`; raises when the
    weights are found but the vocabulary or labels are not, naming every path tried.

    Usage::

        found = find_original_checkpoint("AttentionXML/models/AttentionXML-EUR-Lex-Tree-0")
        victim = AttentionXMLWrapper.from_original(**found)
    """
    weights = _locate_weights(Path(path).expanduser())
    if weights is None:
        return None
    found = find_vocab_and_labels(weights, weights.name[len(ORIGINAL_PREFIX):], allow_pickle,
                                  "AttentionXMLWrapper.from_original(weights_path, vocab_path, labels)")
    return {"weights_path": str(weights), **found}


def find_vocab_and_labels(weights: Path, model_name: str, allow_pickle: bool = False,
                          loader: str = "AttentionXMLWrapper.from_original(weights_path, vocab_path, labels)") -> dict:
    """``{"vocab_path", "labels", "allow_pickle"}`` for original weights ``weights`` named ``<model>-<model_name>``.

    Looked for beside the weights (``vocab.npy``, ``labels.txt``), then in the
    original layout ``<root>/data/<data>/{vocab.npy,train_labels.txt}``
    (``labels_binarizer`` only with ``allow_pickle``); a FileNotFoundError names
    every path tried and, as a last resort, ``loader``.

    Usage::

        find_vocab_and_labels(Path("models/FastAttentionXML-EUR-Lex-Level-0"), "EUR-Lex")
    """
    data_dirs = [weights.parent.parent / "data" / name for name in _data_names(model_name)]
    vocab_tried = [weights.parent / VOCAB_FILE] + [data_dir / VOCAB_FILE for data_dir in data_dirs]
    labels_tried = [weights.parent / LABELS_FILE] + [data_dir / "train_labels.txt" for data_dir in data_dirs]
    if allow_pickle:
        labels_tried += [data_dir / "labels_binarizer" for data_dir in data_dirs]
    vocab = next((p for p in vocab_tried if p.is_file()), None)
    labels = next((p for p in labels_tried if p.is_file()), None)
    if vocab is None or labels is None:
        missing = []
        if vocab is None:
            missing.append("the vocabulary (tried " + ", ".join(map(str, vocab_tried)) + ")")
        if labels is None:
            missing.append("the label list (tried " + ", ".join(map(str, labels_tried)) + ")")
        data_name = _data_names(model_name)[-1]
        raise FileNotFoundError(
            f"found the AttentionXML weights {weights} but not " + " nor ".join(missing) + ". "
            f"Put vocab.npy and labels.txt (one label per line, in output order) beside the weights, "
            f"keep the original layout <root>/data/{data_name}/{{vocab.npy,train_labels.txt}}, or call "
            f"{loader}"
        )
    return {"vocab_path": str(vocab), "labels": str(labels), "allow_pickle": allow_pickle}


_TREE_SUFFIX = re.compile(r"-Tree-\d+$")


def _data_names(model_name: str) -> List[str]:
    """Data set names a weights file ``AttentionXML-<model_name>`` may belong to.

    The original names a model ``<model>-<data>`` plus ``-Tree-<n>`` when trained with
    ``--tree-id n``; its data stay in ``data/<data>/``.
    """
    stripped = _TREE_SUFFIX.sub("", model_name)
    return [model_name] if stripped == model_name or not stripped else [model_name, stripped]
