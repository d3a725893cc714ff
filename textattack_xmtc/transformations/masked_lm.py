"""Candidate source of the paper: a masked language model run once on the original text.

As in the paper (which follows BERT-Attack), the MLM reads the UNMASKED
original document once; the top ``max_candidates`` (48) tokens at each word's
first sub-word position are that word's candidates, and sub-word pieces,
special tokens, non-words, the paper's stopwords and antonyms are then
filtered out, so a word usually gets fewer than 48 (``fill=True`` instead
reads further down the MLM's ranking until 48 remain). TextAttack's own
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
from textattack.transformations import WordSwap

from ..shared import replace_word_fast, root_text
from .filtering import clean_candidates, paper_stopwords
from .ranked import rank_candidates


class WordSwapMaskedLMOnce(WordSwap):
    """Swap words for masked-LM candidates computed once per original document.

    A ``WordSwap`` (one word for one word), so TextAttack's word-importance
    searches accept it.

    Args:
        model: a local directory, or the name of a model in the local Hugging
            Face cache, of an ``AutoModelForMaskedLM`` (nothing is downloaded).
        max_candidates: the MLM's top tokens per word (the paper's 48), before filtering.
        max_length: sub-word positions the MLM reads (words beyond get none).
        stopwords: candidates never proposed (default: the paper's 266 stopwords).
        fill: read further down the MLM's ranking until ``max_candidates`` clean
            words remain (not the paper's rule).
    """

    def __init__(self, model: str, max_candidates: int = 48, max_length: int = 512,
                 stopwords: Optional[FrozenSet[str]] = None, device: Optional[str] = None,
                 fill: bool = False):
        super().__init__()
        self.tokenizer, self.mlm = load_masked_lm(model)
        self.mlm.eval()
        if device is not None:
            self.mlm.to(device)
        self.model_name = model
        self.max_candidates = max_candidates
        self.fill = fill
        self.max_length = max_length
        self.stopwords = frozenset(stopwords) if stopwords is not None else paper_stopwords()
        self._cache = collections.OrderedDict()  # original text -> candidates per word
        # SentencePiece / byte-BPE vocabularies mark word STARTS ("▁", "Ġ"); WordPiece
        # marks continuations ("##").
        self._word_marks = tuple(m for m in WORD_START_MARKS
                                 if any(t.startswith(m) for t in self.tokenizer.tokenize("hello world")))

    @property
    def source_name(self) -> str:
        rule = "filled to" if self.fill else "top"
        return f"masked LM {self.model_name} (run once on the original text, {rule} {self.max_candidates})"

    def _get_replacement_words(self, word: str) -> List[str]:
        raise NotImplementedError("candidates depend on the word's context; see _get_transformations")

    def _get_transformations(self, current_text, indices_to_modify):
        candidates = self._candidates(self._original(current_text))
        texts = []
        for index in indices_to_modify:
            word = current_text.words[index]
            ranked = [replace_word_fast(current_text, index, candidate)
                      for candidate in candidates[index] if candidate != word]
            texts.extend(rank_candidates(ranked))
        return texts

    def has_candidates(self, text, index: int) -> bool:
        """Whether the word at ``index`` has a candidate: they come from the original document alone."""
        word = text.words[index]
        return any(candidate != word for candidate in self._candidates(self._original(text))[index])

    @staticmethod
    def _original(current_text):
        """The document the masked LM reads: the original, unless words were inserted or deleted."""
        original = root_text(current_text)
        return original if original.num_words == current_text.num_words else current_text

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
        # The paper filters the top 48; filling reads further down the ranking.
        pool = min(logits.shape[-1], 2 * self.max_candidates + 16 if self.fill else self.max_candidates)
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
        # Byte-level BPE reads a word after a space as another token ("Ġprice", not "price").
        spaced = "\u0120" in self._word_marks
        for position, word in enumerate(words):
            written = " " + word if spaced and position else word
            pieces = self.tokenizer.encode(written, add_special_tokens=False)
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
        return ["model_name", "max_candidates", "fill"]


_LOADING_ERRORS = (OSError, ValueError, TypeError, AttributeError, KeyError)


def load_masked_lm(model: str):
    """``(tokenizer, masked LM)`` from a local directory or the local Hugging Face cache.

    Refuses, with one line naming ``model``: a path that does not exist, a file,
    a name not in the cache (nothing is downloaded), and a model that is not a
    masked LM (a sequence classifier would load with a fresh random LM head).
    """
    import transformers

    path = os.path.expanduser(model)
    if os.path.isfile(path):
        raise OSError(f"masked LM {model!r} is a file; give the directory holding config.json, the "
                      "weights and the tokenizer files")
    local = os.path.isdir(path)
    if not local and not _in_hub_cache(model):
        raise OSError(f"masked LM {model!r}: no such directory (and no model of that name in the local "
                      "Hugging Face cache; nothing is downloaded)")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path if local else model, local_files_only=True)
        mlm, info = transformers.AutoModelForMaskedLM.from_pretrained(
            path if local else model, local_files_only=True, output_loading_info=True)
    # Missing files; a directory without tokenizer files fails deep inside transformers with
    # TypeError or AttributeError.
    except _LOADING_ERRORS as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OSError(f"could not load a masked language model from {model!r}: {reason}. Give a local "
                      "Hugging Face masked-LM directory (config.json, weights, tokenizer files), or use "
                      "the offline GloVe candidates") from None
    if info.get("missing_keys"):
        declared = ", ".join(getattr(mlm.config, "architectures", None) or ["no architecture"])
        raise OSError(f"{model!r} is not a masked language model ({declared}): its weights lack "
                      f"{len(info['missing_keys'])} tensor(s) of the masked-LM head, e.g. "
                      f"{info['missing_keys'][0]!r}, which would be random")
    return tokenizer, mlm


WORD_START_MARKS = ("\u2581", "\u0120")  # SentencePiece "▁", byte-level BPE "Ġ"




def _in_hub_cache(name: str) -> bool:
    """Whether the local Hugging Face cache holds a config for the model ``name``."""
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an invalid repository name, say
        return False
