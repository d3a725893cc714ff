"""Any Hugging Face multilabel sequence classifier as a victim.

A directory saved with ``save_pretrained`` whose ``config.json`` says
``"problem_type": "multi_label_classification"`` and names its labels in
``id2label``. Scores are sigmoid probabilities of the logits, columns in
``id2label`` order. Each call pads to its own longest text (not to the
model's maximum length).

Usage::

    victim = HuggingFaceMultilabelWrapper.from_directory("my-bert-multilabel")
    scores = victim(["a document"])  # [1, L] probabilities
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional, Sequence, Union

import torch

from ..errors import ModelLoadError
from .base import XMTCModelWrapper

PathLike = Union[str, os.PathLike]
# What save_pretrained writes for a model (sharded weights come with an index file).
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json",
                "pytorch_model.bin.index.json")
MULTILABEL = "multi_label_classification"


class HuggingFaceMultilabelWrapper(XMTCModelWrapper):
    """Wrap ``AutoModelForSequenceClassification`` + its tokenizer for TextAttack."""

    score_type = "probabilities"

    def __init__(self, model, tokenizer, labels: Sequence[str], source: str = "",
                 max_length: Optional[int] = None):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = [str(label) for label in labels]
        self.unk_token = tokenizer.unk_token or "[UNK]"
        self.source = source
        self.max_length = max_length or _max_length(model, tokenizer)

    @classmethod
    def is_directory(cls, path: PathLike) -> bool:
        """True for a directory whose config.json declares a multilabel classifier."""
        config = _read_config(Path(path))
        return config is not None and config.get("problem_type") == MULTILABEL

    @classmethod
    def near_miss(cls, path: PathLike) -> Optional[str]:
        """Why a Hugging Face classifier directory is not taken as multilabel, or None."""
        config = _read_config(Path(path))
        if not isinstance(config, dict) or config.get("problem_type") == MULTILABEL:
            return None
        if not any(str(name).endswith("ForSequenceClassification") for name in config.get("architectures") or []):
            return None
        return (f"{Path(path) / 'config.json'} is a sequence classifier with problem_type "
                f"{config.get('problem_type')!r}; a multilabel victim needs \"problem_type\": "
                f"\"{MULTILABEL}\" (set it if the model was trained with a sigmoid / BCE loss)")

    @classmethod
    def from_directory(cls, directory: PathLike, max_length: Optional[int] = None) -> "HuggingFaceMultilabelWrapper":
        """Load model and tokenizer from a local directory (never from the hub).

        ``max_length`` overrides the tokens read per text (default: the model's
        position limit). Weights holding NaN or infinite values are refused.
        """
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(directory)
        labels = _labels_from_config(path)
        if not any((path / name).is_file() for name in WEIGHT_FILES):
            raise ModelLoadError(f"{path}: a Hugging Face classifier's config.json, but no weights "
                                 f"({', '.join(WEIGHT_FILES)}); save the model with save_pretrained")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError, TypeError, AttributeError) as error:
            # Missing tokenizer files surface deep inside transformers as odd TypeErrors.
            raise ModelLoadError(f"{path}: could not load the tokenizer (are the files "
                                 f"tokenizer.save_pretrained writes there?): {error}") from None
        try:
            model = AutoModelForSequenceClassification.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"{path}: could not load the Hugging Face model: {error}") from None
        if model.config.num_labels != len(labels):
            raise ModelLoadError(f"{path / 'config.json'}: id2label names {len(labels)} labels but the "
                                 f"classifier scores {model.config.num_labels}")
        from ..models.state_dicts import check_finite

        check_finite(model.state_dict(), path / next(name for name in WEIGHT_FILES if (path / name).is_file()))
        return cls(model, tokenizer, labels, source=str(path), max_length=max_length)

    def save(self, directory: PathLike) -> None:
        """``save_pretrained`` of model and tokenizer (the directory loads back with ``load_victim``)."""
        self.model.save_pretrained(str(directory))
        self.tokenizer.save_pretrained(str(directory))

    def describe(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return f"{type(self.model).__name__} ({len(self.labels)} labels, sigmoid scores){where}"

    def encode(self, texts: Sequence[str]) -> dict:
        """Tokenizer outputs for ``texts``, padded to the longest, on the model's device."""
        batch = self.tokenizer(list(texts), padding="longest", truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        return {name: tensor.to(self.device) for name, tensor in batch.items()}

    def __call__(self, text_input_list: Sequence[str]) -> torch.Tensor:
        texts = list(text_input_list)
        if not texts:
            return torch.zeros((0, len(self.labels)), device=self.device)
        self.model.eval()
        with torch.inference_mode():
            probabilities = torch.sigmoid(self.model(**self.encode(texts)).logits.float())
        return probabilities.clone()

    def tokenize(self, inputs: Sequence[str], strip_prefix: bool = False) -> List[List[str]]:
        """Word pieces of each text, as TextAttack's gradient word importance aligns them."""
        pieces = [self.tokenizer.convert_ids_to_tokens(self.tokenizer(text, truncation=True,
                                                                      max_length=self.max_length)["input_ids"])
                  for text in inputs]
        if strip_prefix:
            pieces = [[_strip(piece) for piece in row] for row in pieces]
        return pieces

    def get_grad(self, text_input: str) -> dict:
        """Gradient of the goal's objective w.r.t. the input embeddings, one row per token.

        The objective is ``self.grad_objective(probabilities[1, L])`` when a goal
        function has set it (the top-k goals set their margin), else the highest probability.
        """
        from .gradients import embedding_gradient

        batch = self.encode([text_input])
        gradient = embedding_gradient(
            self.model.get_input_embeddings(),
            lambda: torch.sigmoid(self.model(**batch).logits.float()),
            getattr(self, "grad_objective", None))
        return {"ids": batch["input_ids"][0].tolist(), "gradient": gradient[0].cpu().numpy()}


def find_directory(path: PathLike) -> Optional[dict]:
    """``from_directory``'s arguments when ``path`` is a multilabel classifier directory, else ``None``."""
    path = Path(path)
    return {"directory": str(path)} if path.is_dir() and HuggingFaceMultilabelWrapper.is_directory(path) else None


def _strip(piece: str) -> str:
    for prefix in ("##", "\u2581", "\u0120"):  # WordPiece, SentencePiece, byte-level BPE
        if piece.startswith(prefix):
            return piece[len(prefix):]
    return piece


def _read_config(path: Path) -> Optional[dict]:
    config_file = path / "config.json"
    if not config_file.is_file():
        return None
    try:
        return json.loads(config_file.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _labels_from_config(path: Path) -> List[str]:
    config = _read_config(path)
    where = path / "config.json"
    if config is None:
        raise ModelLoadError(f"{where}: missing or not JSON")
    if config.get("problem_type") != MULTILABEL:
        raise ModelLoadError(f"{where}: problem_type is {config.get('problem_type')!r}; a multilabel victim "
                             f"needs {MULTILABEL!r} (scores are read as independent sigmoids)")
    id2label = config.get("id2label") or {}
    try:
        labels = [id2label[str(i)] for i in range(len(id2label))]
    except KeyError as missing:
        raise ModelLoadError(f"{where}: id2label must map 0..{len(id2label) - 1}; {missing} is missing") from None
    if not labels:
        raise ModelLoadError(f"{where}: id2label is empty; name the labels of the classifier")
    return labels


def _max_length(model, tokenizer) -> int:
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    declared = getattr(tokenizer, "model_max_length", None)
    if declared and declared < 1_000_000:
        limit = min(limit, declared)
    return int(limit)
