"""APLC-XLNet as a TextAttack victim: raw texts in, label probabilities out.

Two ways in:

- our saved-model directory (written by :meth:`APLCXLNetWrapper.save`):
  ``xmtc_model.json``, ``config.json``, ``pytorch_model.bin``,
  ``spiece.model``, ``labels.txt``;
- an ORIGINAL APLC-XLNet checkpoint directory: ``config.json``,
  ``pytorch_model.bin``, ``spiece.model`` (+ ``tokenizer_config.json``) and
  the dataset's ``labels.txt`` (line i = label i, labels in descending
  training frequency) (:meth:`APLCXLNetWrapper.from_original`,
  :func:`find_original_checkpoint`). The input length is the run's
  ``--max_seq_length``, read from ``training_args.bin`` (a pickled
  ``argparse.Namespace``) by :func:`read_training_args`, which admits only a
  Namespace of plain values and never runs code from the file.

Usage::

    victim = APLCXLNetWrapper.from_original("APLC_XLNet/models/EURLex", labels="APLC_XLNet/data/EURLex/labels.txt")
    probabilities = victim(["Oil prices rose.", "Wheat exports fell."])   # torch [2, L]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..errors import CheckpointError, ModelLoadError
from ..models.aplc_xlnet import (
    APLCXLNet,
    APLCXLNetConfig,
    embedding_rows,
    load_original_state_dict,
)
from ..models.fields import typed_fields
from ..models.xlnet_tokenization import (
    DEFAULT_MAX_LENGTH,
    TOKENIZER_OPTIONS,
    UNK_TOKEN,
    XLNetInputBuilder,
    load_xlnet_tokenizer,
    pad_left,
    read_tokenizer_options,
    strip_word_start,
)
from .attentionxml import read_label_list
from .base import XMTCModelWrapper, score_distinct
from .saved import (SAVED_MODEL_FILE, check_label_order, dict_field, positive_int_field, read_metadata,
                    resolve_labels, save_state_dict, start_saved_directory, write_metadata)
from .gradients import embedding_gradient

PathLike = Union[str, os.PathLike]

ARCHITECTURE = "aplc-xlnet"
METADATA_FILE = SAVED_MODEL_FILE  # kept importable under its old name
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "pytorch_model.bin"
SPIECE_FILE = "spiece.model"
LABELS_FILE = "labels.txt"
TRAINING_ARGS_FILE = "training_args.bin"
ORIGINAL_FILES = (CONFIG_FILE, WEIGHTS_FILE, SPIECE_FILE, LABELS_FILE)
DEFAULT_BATCH_SIZE = 32
# On CPU, texts per forward pass are capped so that rows x pieces^2 stays under this:
# XLNet's relative attention builds [rows, heads, T, 2T] tensors, and once they outgrow
# the caches a text costs more in a batch than alone (benchmarks/README.md: 32 texts of
# 256 pieces took 1.6x the time per text of one or two; 8-16 texts of ~90 pieces were fastest).
CPU_ATTENTION_BUDGET = 1 << 17


class APLCXLNetWrapper(XMTCModelWrapper):
    """Wrap an :class:`APLCXLNet` and its SentencePiece inputs for TextAttack.

    ``__call__`` returns probabilities ``[B, L]`` on the model's device, in
    the order of ``labels``; each chunk of ``batch_size`` texts (fewer on CPU
    for long texts: ``CPU_ATTENTION_BUDGET``) is padded to its own longest text. ``mixed_precision=True`` runs under
    ``torch.autocast`` (float16) on CUDA; it is ignored on CPU.

    ``get_grad`` differentiates ``grad_objective(probabilities [1, L]) -> scalar``
    when that attribute is set (a goal function sets it to its margin), else
    the top-1 probability.

    Usage::

        wrapper = APLCXLNetWrapper(network, XLNetInputBuilder(tokenizer, 512), labels)
        wrapper.save("my-model"); APLCXLNetWrapper.from_directory("my-model")
    """

    architecture = ARCHITECTURE  # in xmtc_model.json of its saved directories
    score_type = "probabilities"
    unk_token = UNK_TOKEN

    def __init__(self, model: APLCXLNet, inputs: XLNetInputBuilder, labels: Sequence[str], source: str = "",
                 training: Optional[dict] = None, mixed_precision: bool = False,
                 batch_size: int = DEFAULT_BATCH_SIZE):
        labels = [str(label) for label in labels]
        _check_sizes(model.config, inputs, labels, labels_source=f"{source or 'model'} labels",
                     spiece_source=f"{source or 'model'} tokenizer")
        self.model = model.eval()
        self.inputs = inputs
        self.labels = labels
        # Every word is at least one piece, so words past max_length - 2 are always cut off.
        self.max_words = inputs.max_pieces
        self.source = source
        self.training = dict(training or {})
        self.mixed_precision = bool(mixed_precision)
        self.batch_size = int(batch_size)
        self.grad_objective: Optional[Callable[[torch.Tensor], torch.Tensor]] = None

    @property
    def config(self) -> APLCXLNetConfig:
        return self.model.config

    @property
    def max_length(self) -> int:
        return self.inputs.max_length

    # ------------------------------------------------------------ scoring

    def __call__(self, text_input_list: Sequence[str]) -> torch.Tensor:
        """Probabilities [len(texts), L] on the model's device (read now: Attack.cuda_() moves it)."""
        texts = list(text_input_list)
        device = self.device
        if not texts:
            return torch.zeros((0, len(self.labels)), device=device)
        return score_distinct([self.inputs.ids(text) for text in texts], self._score_ids)

    def _score_ids(self, sequences: List[List[int]]) -> torch.Tensor:
        self.model.eval()
        device = self.device
        rows = self._rows_per_pass(max(len(ids) for ids in sequences), device)
        return torch.cat([self._score(sequences[start:start + rows], device)
                          for start in range(0, len(sequences), rows)], dim=0)

    def _rows_per_pass(self, pieces: int, device: torch.device) -> int:
        if device.type != "cpu":
            return self.batch_size
        return max(1, min(self.batch_size, CPU_ATTENTION_BUDGET // max(1, pieces) ** 2))

    def _score(self, sequences: List[List[int]], device: torch.device) -> torch.Tensor:
        batch = {key: value.to(device) for key, value in pad_left(sequences).items()}
        with torch.no_grad(), self._autocast(device):
            probabilities = self.model(**batch)
        return probabilities.float()

    def _autocast(self, device: torch.device):
        # float16 autocast is for CUDA; on CPU it would mean bfloat16, slower and less exact there.
        if self.mixed_precision and device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------ word importance

    def _tokenize(self, inputs: Sequence[str]) -> List[List[str]]:
        """The pieces the network reads for each text (with SentencePiece's ``▁``)."""
        return [self.inputs.pieces(text) for text in inputs]

    def tokenize(self, inputs: Sequence[str], strip_prefix: bool = True,
                 strip: Optional[bool] = None) -> List[List[str]]:
        """Pieces per text, aligned with the rows of :meth:`get_grad`; ``▁`` stripped by default.

        TextAttack calls ``tokenize(texts, strip_prefix=True)`` to match pieces
        to words; its own prefix list lacks SentencePiece's ``▁``. ``strip`` is
        an alias of ``strip_prefix``.

        Usage::

            wrapper.tokenize(["Oil prices rose."])   # [['Oil', 'prices', 'rose', '.']]
        """
        if strip is not None:
            strip_prefix = strip
        pieces = self._tokenize(inputs)
        if not strip_prefix:
            return pieces
        return [[strip_word_start(piece) for piece in row] for row in pieces]

    def get_grad(self, text_input: str) -> Dict[str, object]:
        """Gradient of the objective w.r.t. the word embeddings of ``text_input``'s pieces.

        Returns ``{"ids": [T] piece ids, "tokens": [T] pieces, "gradient": numpy [T, d_model]}``;
        row t belongs to piece t of :meth:`tokenize` (``<sep>``/``<cls>`` are left out).
        Dropout stays off and no parameter gradient is accumulated.

        Usage::

            wrapper.grad_objective = lambda probabilities: probabilities[0, 3]
            wrapper.get_grad("Oil prices rose.")["gradient"].shape   # (4, 768)
        """
        device = self.device
        batch = {key: value.to(device) for key, value in self.inputs.encode_batch([text_input]).items()}
        pieces = len(batch["input_ids"][0]) - 2
        self.model.eval()
        gradient = embedding_gradient(self.model.get_input_embeddings(), lambda: self.model(**batch),
                                      self.grad_objective)
        gradient = gradient.transpose(0, 1)  # XLNetModel embeds time-major: [T, B, d] -> [B, T, d]
        ids = batch["input_ids"][0, :pieces].tolist()
        return {"ids": ids, "tokens": self.inputs.tokenizer.convert_ids_to_tokens(ids),
                "gradient": gradient[0, :pieces].float().cpu().numpy()}

    # ------------------------------------------------------------ misc

    def describe(self) -> str:
        config = self.config
        where = f" from {self.source}" if self.source else ""
        return (f"APLC-XLNet (XLNet {config.n_layer} layers x {config.d_model}, {config.n_token} tokens, "
                f"summary {config.last_hidden_size}, clusters {config.cutoffs}, {config.num_labels} labels, "
                f"max_length {self.max_length}){where}")

    # ------------------------------------------------------------ saved-model directories

    def save(self, directory: PathLike) -> None:
        """Write ``xmtc_model.json``, ``config.json``, ``pytorch_model.bin``, ``spiece.model``, ``labels.txt``.

        The last four are in the original layout, so the directory also loads
        with :meth:`from_original`.

        Usage::

            wrapper.save("models/aplc-xlnet-eurlex")
        """
        directory = start_saved_directory(directory, LABELS_FILE, self.labels)
        save_state_dict(self.model, directory / WEIGHTS_FILE)
        self.config.to_json_file(directory / CONFIG_FILE)
        _write_spiece(self.inputs.tokenizer, directory / SPIECE_FILE)
        write_metadata(directory, ARCHITECTURE, labels=self.labels, max_length=self.max_length,
                       tokenizer=_tokenizer_options(self.inputs.tokenizer), training=self.training)

    @classmethod
    def from_directory(cls, directory: PathLike, device: Union[str, torch.device, None] = None,
                       mixed_precision: bool = False, max_length: Optional[int] = None) -> "APLCXLNetWrapper":
        """Load a directory written by :meth:`save`; ``max_length`` overrides the saved input length.

        Usage::

            victim = APLCXLNetWrapper.from_directory("my-model", device="cpu")
        """
        directory = Path(directory)
        metadata = read_metadata(directory, ARCHITECTURE)
        metadata_path = directory / METADATA_FILE
        tokenizer_options = dict_field(metadata, "tokenizer", metadata_path)
        typed_fields(tokenizer_options, {key: "bool" for key in _TOKENIZER_KEYS}, f"{metadata_path} \"tokenizer\"")
        if max_length is None:
            max_length = positive_int_field(metadata, "max_length", metadata_path, default=DEFAULT_MAX_LENGTH)
        labels = _read_labels(directory / LABELS_FILE)
        check_label_order(metadata, labels, directory / LABELS_FILE)
        return cls._assemble(
            directory, labels=labels, labels_source=directory / LABELS_FILE,
            spiece_path=directory / SPIECE_FILE, tokenizer_options=tokenizer_options,
            max_length=max_length, source=str(directory),
            training=metadata.get("training"), device=device, mixed_precision=mixed_precision,
        )

    # ------------------------------------------------------------ original checkpoints

    @classmethod
    def from_original(cls, directory: PathLike, labels: Union[Sequence[str], PathLike, None] = None,
                      spiece_path: Optional[PathLike] = None, max_length: Optional[int] = None,
                      name: Optional[str] = None, device: Union[str, torch.device, None] = None,
                      mixed_precision: bool = False,
                      log: Optional[Callable[[str], None]] = None) -> "APLCXLNetWrapper":
        """Load an original APLC-XLNet checkpoint directory.

        ``labels`` is a list of names or a path to the dataset's ``labels.txt``
        (line i = label i; default: ``labels.txt`` in ``directory``).
        ``spiece_path`` defaults to ``spiece.model`` in ``directory`` or its parent; the
        original layout ``<root>/data/<task>/labels.txt`` is also tried for
        the labels. ``max_length`` is the input length in SentencePiece pieces;
        by default the original run's ``--max_seq_length``, read from
        ``training_args.bin`` (:func:`original_max_length`; 512 when the file is
        absent). A model trained at 128 pieces and read at 512 sees other inputs
        on every longer document. The length used, and where it came from, is
        printed on stderr (or given to ``log``).

        Usage::

            victim = APLCXLNetWrapper.from_original("models/EURLex", labels="data/EURLex/labels.txt")
            victim = APLCXLNetWrapper.from_original("models/EURLex", max_length=128)   # training_args.bin unread
        """
        directory = Path(directory)
        if labels is None:
            labels = _first_file(_original_labels_candidates(directory), "the label list (labels.txt)")
        labels_source, label_list = resolve_labels(labels, _read_labels)
        if spiece_path is None:
            spiece_path = _first_file(_spiece_candidates(directory), "the SentencePiece model (spiece.model)")
        spiece = Path(spiece_path)
        length, reason = original_max_length(directory, max_length)
        (log or _print_to_stderr)(f"APLC-XLNet {directory}: max_seq_length {length} ({reason})")
        return cls._assemble(
            directory, labels=label_list, labels_source=labels_source, spiece_path=spiece,
            tokenizer_options=read_tokenizer_options(spiece.parent), max_length=length,
            source=name or str(directory), device=device, mixed_precision=mixed_precision,
            training={"origin": "APLC-XLNet", "checkpoint": str(directory), "max_length_source": reason},
        )

    @classmethod
    def _assemble(cls, directory: Path, labels: List[str], labels_source: Optional[Path], spiece_path: Path,
                  tokenizer_options: dict, max_length: int, source: str, training: Optional[dict],
                  device=None, mixed_precision: bool = False) -> "APLCXLNetWrapper":
        config = APLCXLNetConfig.from_json_file(directory / CONFIG_FILE)
        weights_path = directory / WEIGHTS_FILE
        state = load_original_state_dict(weights_path)
        rows = embedding_rows(state)
        if rows is not None and rows != config.n_token:
            # The original forces n_token = 32000 whatever the tokenizer: trust the tensor.
            config.n_token = rows
        inputs = XLNetInputBuilder(load_xlnet_tokenizer(spiece_path, tokenizer_options), max_length=max_length)
        _check_sizes(config, inputs, labels,
                     labels_source=str(labels_source) if labels_source is not None else "the label list",
                     spiece_source=str(spiece_path), config_source=str(directory / CONFIG_FILE))
        network = APLCXLNet(config)
        network.load_checked_state_dict(state, source=str(weights_path))
        wrapper = cls(network, inputs, labels, source=source, training=training, mixed_precision=mixed_precision)
        return wrapper.to(device) if device is not None else wrapper


# ---------------------------------------------------------------- helpers


def _check_sizes(config: APLCXLNetConfig, inputs: XLNetInputBuilder, labels: Sequence[str], labels_source: str,
                 spiece_source: str, config_source: str = "the config") -> None:
    """Labels and SentencePiece pieces must fit the network; errors name the file and the tensor."""
    if len(labels) != config.num_labels:
        raise CheckpointError(
            f"{labels_source}: {len(labels)} labels, but AdaptiveMultiLabel (head + tail.* of "
            f"{config_source}, num_labels) scores {config.num_labels}; the label list does not belong to this model"
        )
    if inputs.vocab_size > config.n_token:
        raise CheckpointError(
            f"{spiece_source}: {inputs.vocab_size} SentencePiece pieces, but transformer.word_embedding.weight "
            f"has {config.n_token} rows; the tokenizer does not belong to this model"
        )


_TOKENIZER_KEYS = TOKENIZER_OPTIONS


def _tokenizer_options(tokenizer) -> dict:
    return {key: bool(getattr(tokenizer, key)) for key in _TOKENIZER_KEYS}


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


# ---------------------------------------------------------------- training_args.bin


def read_training_args(path: PathLike) -> argparse.Namespace:
    """The ``argparse.Namespace`` the original run saved with ``torch.save(args, ...)``, read safely.

    The file is a pickle, and unpickling can run any code. It is read with
    ``torch.load(weights_only=True)``, whose unpickler builds only plain values
    (numbers, strings, lists, dicts, tensors, ``torch.device``), with
    ``argparse.Namespace`` as the one class admitted besides: anything else
    (a ``__reduce__`` payload, any other class or function) is refused before
    it runs. Both torch file formats (zip, and the legacy one of torch < 1.6)
    are read. Raises :class:`CheckpointError` naming the file.

    Usage::

        read_training_args("models/EURLex/training_args.bin").max_seq_length   # 512
    """
    path = Path(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on unusual pickle protocols: the answer is below
            args = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle.UnpicklingError for refused globals; others for damaged files
        raise CheckpointError(
            f"{path}: refused: not a pickled argparse.Namespace of plain values, so it was not loaded "
            f"(nothing in it was run). {_first_line(error)}. Give the input length instead: "
            f"max_length=N in Python, or --model DIR^max_length=N on the command line") from None
    if not isinstance(args, argparse.Namespace):
        raise CheckpointError(f"{path}: expected the original run's argparse.Namespace, found "
                              f"{type(args).__name__}; give max_length=N (or --model DIR^max_length=N) instead")
    return args


def _first_line(error: Exception) -> str:
    """What the unpickler refused, without torch's advice to load the file unsafely."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
        text = re.split(r"\. |\n\n", text.strip(), maxsplit=1)[0]
        return text.strip().rstrip(".") or "the unpickler refused it"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__).rstrip(".")


def original_max_length(directory: PathLike, given: Optional[int] = None) -> Tuple[int, str]:
    """``(input length, where it came from)`` for an original APLC-XLNet checkpoint directory.

    ``given`` wins (``training_args.bin`` is then not opened); else
    ``max_seq_length`` of ``training_args.bin`` in ``directory`` (or in the run
    directory above a ``checkpoint-N`` one); else 512.

    Usage::

        original_max_length("models/EURLex")   # (128, 'from training_args.bin')
    """
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int):
            raise ModelLoadError(f"max_length must be an integer, got {given!r}")
        if given < 3:
            raise ModelLoadError(f"max_length must leave room for <sep>, <cls> and a piece (at least 3), "
                                 f"got {given}")
        return given, "given"
    directory = Path(directory)
    candidates = [directory / TRAINING_ARGS_FILE]
    if directory.name.startswith("checkpoint-"):
        candidates.append(directory.parent / TRAINING_ARGS_FILE)
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        return DEFAULT_MAX_LENGTH, f"default; no {TRAINING_ARGS_FILE}, give max_length if it was trained otherwise"
    value = getattr(read_training_args(path), "max_seq_length", None)
    if value is None:
        return DEFAULT_MAX_LENGTH, f"default; {path.name} has no max_seq_length"
    if isinstance(value, bool) or not isinstance(value, int) or value < 3:
        raise CheckpointError(f"{path}: max_seq_length must be an integer of at least 3, got {value!r}; "
                              f"give max_length=N (or --model DIR^max_length=N) instead")
    return value, f"from {path.name}"


def _write_spiece(tokenizer, path: Path) -> None:
    source = Path(tokenizer.vocab_file) if getattr(tokenizer, "vocab_file", None) else None
    if source is not None and source.is_file():
        if source.resolve() != path.resolve():
            shutil.copyfile(source, path)
    else:
        path.write_bytes(tokenizer.sp_model.serialized_model_proto())




def _is_aplc_config(path: Path) -> bool:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(values, dict) and "adaptive_cutoff" in values


def _read_labels(path: Path) -> List[str]:
    try:
        return read_label_list(path)
    except FileNotFoundError as error:
        raise ModelLoadError(str(error)) from error


def _first_file(candidates: Sequence[Path], what: str) -> Path:
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ModelLoadError(f"{what} not found; tried {', '.join(str(candidate) for candidate in candidates)}")


def _spiece_candidates(directory: Path) -> List[Path]:
    """``spiece.model`` beside the weights, else in the run's output directory.

    The original saves the tokenizer only to the output directory, not to its
    ``checkpoint-N`` subdirectories.
    """
    return [directory / SPIECE_FILE, directory.parent / SPIECE_FILE]


def _original_labels_candidates(directory: Path) -> List[Path]:
    """``labels.txt`` beside the weights, then the original repository layout.

    The original writes checkpoints to ``<root>/models/<task>[/checkpoint-N]``
    and keeps the label list in ``<root>/data/<task>/labels.txt``.
    """
    candidates = [directory / LABELS_FILE]
    for task_dir in (directory, directory.parent):
        if task_dir.parent.name == "models":
            candidates.append(task_dir.parent.parent / "data" / task_dir.name / LABELS_FILE)
    return candidates


def find_original_checkpoint(path: PathLike, labels: Optional[PathLike] = None) -> Optional[dict]:
    """Recognise an original APLC-XLNet checkpoint directory; ``None`` when ``path`` is clearly not one.

    ``path`` is the directory or a file in it (``config.json``,
    ``pytorch_model.bin``). It is an APLC checkpoint when ``config.json`` has
    ``adaptive_cutoff``, or, lacking ``config.json``, when ``pytorch_model.bin``
    and ``spiece.model`` are there. Then every expected file must be found
    (``labels.txt`` beside the weights, in the original
    ``<root>/data/<task>/labels.txt``, or given as ``labels``), else
    :class:`ModelLoadError` lists the files expected and missing. Returns
    the keyword arguments of :meth:`APLCXLNetWrapper.from_original`.

    Usage::

        found = find_original_checkpoint("APLC_XLNet/models/EURLex")
        victim = APLCXLNetWrapper.from_original(**found) if found else None
    """
    path = Path(path).expanduser()
    if path.is_file():
        if path.name not in (CONFIG_FILE, WEIGHTS_FILE):
            return None
        path = path.parent
    if not path.is_dir():
        return None
    config = path / CONFIG_FILE
    spiece_candidates = _spiece_candidates(path)
    spiece = next((candidate for candidate in spiece_candidates if candidate.is_file()), None)
    if config.is_file():
        if not _is_aplc_config(config):
            return None  # some other transformers model
    elif not ((path / WEIGHTS_FILE).is_file() and (path / SPIECE_FILE).is_file()):
        return None
    label_candidates = [Path(labels)] if labels is not None else _original_labels_candidates(path)
    labels_path = next((candidate for candidate in label_candidates if candidate.is_file()), None)
    missing = [str(path / name) for name in (CONFIG_FILE, WEIGHTS_FILE) if not (path / name).is_file()]
    if spiece is None:
        missing.append(" or ".join(str(candidate) for candidate in spiece_candidates))
    if labels_path is None:
        missing.append(" or ".join(str(candidate) for candidate in label_candidates))
    if missing:
        raise ModelLoadError(
            f"{path} looks like an APLC-XLNet checkpoint but lacks {', '.join(missing)}. Expected files: "
            f"{', '.join(ORIGINAL_FILES)} (config.json with adaptive_cutoff, pytorch_model.bin, the "
            f"SentencePiece spiece.model, and the dataset's labels.txt, one label per line in output order; "
            f"training_args.bin gives the input length, else pass max_length)"
        )
    return {"directory": str(path), "labels": str(labels_path), "spiece_path": str(spiece)}
