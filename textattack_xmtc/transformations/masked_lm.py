"""Candidate source of the paper: a masked language model run once on the original text.

As in the paper (which follows BERT-Attack), the MLM reads the UNMASKED
original document once; the top tokens at each word's first sub-word position
are that word's candidates. Sub-word pieces, special tokens, non-words, the
paper's stopwords and antonyms are filtered out. TextAttack's own
``WordSwapMaskedLM`` differs: it re-runs the MLM on the current text at every
step, pads to 512 and returns special tokens as candidates.

Any local Hugging Face masked-LM directory works (``bert-base-cased`` in the
paper); hub names work on machines that have them cached.

Usage::

    transformation = WordSwapMaskedLMOnce("path/to/bert-base-cased", max_candidates=48)
"""
from __future__ import annotations

import collections
import os
from typing import FrozenSet, List, Optional

import torch
from textattack.transformations import Transformation

from ..shared import replace_word_fast
from .filtering import clean_candidates, paper_stopwords


class WordSwapMaskedLMOnce(Transformation):
    """Swap words for masked-LM candidates computed once per original document.

    Args:
        model: a local directory or hub name of an ``AutoModelForMaskedLM``.
        max_candidates: candidates per word (the paper's 48).
        max_length: sub-word positions the MLM reads (words beyond get none).
        stopwords: candidates never proposed (default: the paper's 266 stopwords).
    """

    def __init__(self, model: str, max_candidates: int = 48, max_length: int = 512,
                 stopwords: Optional[FrozenSet[str]] = None, device: Optional[str] = None):
        super().__init__()
        import transformers

        local = os.path.isdir(model)
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(model, local_files_only=local)
            self.mlm = transformers.AutoModelForMaskedLM.from_pretrained(model, local_files_only=local)
        # Missing files, or not a hub name either; a directory without tokenizer files fails deep
        # inside transformers with TypeError or AttributeError.
        except (OSError, ValueError, TypeError, AttributeError) as error:
            raise OSError(f"could not load a masked language model from {model!r}: {error}. Give a "
                          "local Hugging Face directory (config.json, weights, tokenizer files), or "
                          "use the offline GloVe candidate source.") from None
        self.mlm.eval()
        if device is not None:
            self.mlm.to(device)
        self.model_name = model
        self.max_candidates = max_candidates
        self.max_length = max_length
        self.stopwords = frozenset(stopwords) if stopwords is not None else paper_stopwords()
        self._cache = collections.OrderedDict()  # original text -> candidates per word
        # SentencePiece / byte-BPE vocabularies mark word STARTS ("▁", "Ġ"); WordPiece
        # marks continuations ("##").
        self._word_marks = tuple(m for m in WORD_START_MARKS
                                 if any(t.startswith(m) for t in self.tokenizer.tokenize("hello world")))

    @property
    def source_name(self) -> str:
        return f"masked LM {self.model_name} (run once on the original text)"

    def _get_transformations(self, current_text, indices_to_modify):
        original = _root_text(current_text)
        if original.num_words != current_text.num_words:
            original = current_text  # words were inserted or deleted: read the current text
        candidates = self._candidates(original)
        texts = []
        for index in indices_to_modify:
            word = current_text.words[index]
            for candidate in candidates[index]:
                if candidate != word:
                    texts.append(replace_word_fast(current_text, index, candidate))
        return texts

    def _candidates(self, original) -> List[List[str]]:
        key = original.text
        if key not in self._cache:
            self._cache[key] = self._predict(original.words)
            if len(self._cache) > 8:
                self._cache.popitem(last=False)
        return self._cache[key]

    @torch.inference_mode()
    def _predict(self, words: List[str]) -> List[List[str]]:
        ids, starts = self._encode(words)
        device = next(self.mlm.parameters()).device
        logits = self.mlm(input_ids=torch.tensor([ids], device=device)).logits[0]
        pool = min(logits.shape[-1], 2 * self.max_candidates + 16)
        top = logits.topk(pool, dim=-1).indices.cpu()
        special = set(self.tokenizer.all_special_ids)
        result = []
        for word, start in zip(words, starts):
            if start is None:
                result.append([])
                continue
            tokens = [self.tokenizer.convert_ids_to_tokens(int(i)) for i in top[start]
                      if int(i) not in special]
            whole = (w for w in (self._whole_word(t) for t in tokens) if w)
            result.append(clean_candidates(word, whole, self.max_candidates, self.stopwords))
        return result

    def _encode(self, words: List[str]):
        """Ids of ``[CLS] pieces... [SEP]`` and each word's first piece position (None if cut)."""
        budget = self.max_length - 2
        ids, starts = [], []
        for word in words:
            pieces = self.tokenizer.encode(word, add_special_tokens=False)
            if not pieces or len(ids) + len(pieces) > budget:
                starts.append(None)
                if len(ids) + len(pieces) > budget:
                    budget = len(ids)  # stop adding once the window is full
                continue
            starts.append(len(ids) + 1)
            ids.extend(pieces)
        cls = self.tokenizer.cls_token_id if self.tokenizer.cls_token_id is not None else self.tokenizer.bos_token_id
        sep = self.tokenizer.sep_token_id if self.tokenizer.sep_token_id is not None else self.tokenizer.eos_token_id
        prefix = [cls] if cls is not None else []
        if not prefix:
            starts = [None if s is None else s - 1 for s in starts]
        return prefix + ids + ([sep] if sep is not None else []), starts

    def _whole_word(self, token: str) -> Optional[str]:
        """The word a vocabulary token stands for, or None for a word continuation."""
        if self._word_marks:
            mark = next((m for m in self._word_marks if token.startswith(m)), None)
            return token[len(mark):] if mark else None
        return None if token.startswith("##") else token

    @property
    def deterministic(self) -> bool:
        return True

    def extra_repr_keys(self):
        return ["model_name", "max_candidates"]


WORD_START_MARKS = ("\u2581", "\u0120")  # SentencePiece "▁", byte-level BPE "Ġ"


def _root_text(text):
    """The original text of an attack: follow ``previous_attacked_text`` to the start."""
    while "previous_attacked_text" in text.attack_attrs:
        text = text.attack_attrs["previous_attacked_text"]
    return text
