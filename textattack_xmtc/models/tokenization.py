"""AttentionXML's text pipeline: NLTK word tokens, lower-cased, looked up in ``vocab.npy``.

This reproduces what the original AttentionXML preprocessing does to a line of
raw text (DESIGN.md section 5): ``nltk.word_tokenize(line, preserve_line=True)``
(identical to ``NLTKWordTokenizer().tokenize(line)``, which needs no punkt
data), tokens without a word character dropped, lower-cased, unknown words
mapped to ``<UNK>`` (id 1), truncated to ``max_length`` ids; an empty text
becomes ``[1]``. Batches are right-padded with ``<PAD>`` (id 0).

Usage::

    tokenizer = AttentionXMLTokenizer(load_vocab("vocab.npy"))
    ids = tokenizer.encode("Oil prices rose sharply.")          # [12, 873, 41, 2090]
    batch = tokenizer.batch_encode(["a text", "another text"])  # LongTensor [2, T]
"""
from __future__ import annotations

import collections
import os
import re
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .word_tokenize import SegmentedText, piece_tokens, segment_tokens, segments, word_pieces

PAD_TOKEN = "<PAD>"
UNK_TOKEN = "<UNK>"
PAD_ID = 0
UNK_ID = 1
DEFAULT_MAX_LENGTH = 500

_WORD_CHARACTER = re.compile(r"\w")
_SEGMENT_CACHE_SIZE = 1 << 14  # a long document's segments and its candidates'; cleared when full

VocabLike = Union[Sequence[str], np.ndarray]


class AttentionXMLTokenizer:
    """Turn raw texts into AttentionXML word ids.

    The literal word ``<UNK>`` in a text is the unknown word (id 1): the attack
    writes it to measure word importance, and NLTK alone would split it into
    ``<``, ``UNK``, ``>``.

    Usage::

        tokenizer = AttentionXMLTokenizer(["<PAD>", "<UNK>", "oil", "prices"], max_length=500)
        tokenizer.words("Oil <UNK> prices!")   # ['oil', '<UNK>', 'prices']
        tokenizer.encode("Oil <UNK> prices!")  # [2, 1, 3]
    """

    unk_token = UNK_TOKEN
    pad_token = PAD_TOKEN

    def __init__(self, vocab: VocabLike, max_length: int = DEFAULT_MAX_LENGTH):
        words = [str(word) for word in vocab]
        if len(words) < 2 or words[PAD_ID] != PAD_TOKEN or words[UNK_ID] != UNK_TOKEN:
            raise ValueError(
                f"an AttentionXML vocabulary starts with {PAD_TOKEN!r}, {UNK_TOKEN!r}; "
                f"got {words[:2]!r}"
            )
        if max_length < 1:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self.vocab: List[str] = words
        self.max_length = int(max_length)
        self.word_to_id = {word: index for index, word in enumerate(words)}
        if len(self.word_to_id) != len(words):
            self.check_distinct(words)
        self._segment_ids: dict = {}  # (segment, is_last) -> ids; see encode()
        self._piece_ids: dict = {}  # one word of a segment that is not last -> ids; see _ids_of_segment()
        self._last_edit: Optional[SegmentedText] = None  # see encode_edit()

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def words(self, text: str) -> List[str]:
        """The tokens of ``text`` after filtering and lower-casing (not truncated).

        Usage::

            tokenizer.words("The U.S. <UNK> rose 5%.")  # ['the', 'u.s.', '<UNK>', 'rose', '5']
        """
        tokens: List[str] = []
        for position, piece in enumerate(text.split(UNK_TOKEN)):
            if position:
                tokens.append(UNK_TOKEN)
            for segment in segments(piece):
                tokens.extend(_segment_words(segment))
        return tokens

    def encode(self, text: str) -> List[int]:
        """Word ids of ``text``: unknown -> 1, at most ``max_length``, never empty.

        Usage::

            tokenizer.encode("")  # [1]
        """
        # An attack's texts share most segments with the original (see word_tokenize),
        # so ids are cached per segment and only the first max_length are built.
        ids: List[int] = []
        for position, piece in enumerate(text.split(UNK_TOKEN)):
            if position:
                ids.append(UNK_ID)
            for segment in segments(piece):
                ids.extend(self._ids_of_segment(*segment))
                if len(ids) >= self.max_length:
                    return ids[: self.max_length]
        return ids[: self.max_length] or [UNK_ID]

    @staticmethod
    def check_distinct(words: Sequence[str]) -> None:
        """A ValueError naming a word the vocabulary holds twice: the original's build_vocab never
        repeats one, and its lookup would take the LAST id of one (ours the first)."""
        first: dict = {}
        for index, word in enumerate(words):
            if word in first:
                raise ValueError(f"the vocabulary holds {word!r} twice (ids {first[word]} and {index}); which "
                                 "id its tokens get would be a guess: a vocab.npy lists each word once")
            first[word] = index

    def encode_edit(self, text: str) -> List[int]:
        """``encode(text)``, computed from the last text given here when ``text`` is an edit of it.

        An attack's texts differ from the one before in a word or two: only the
        segments around the change are looked up again (see
        :class:`~textattack_xmtc.models.word_tokenize.SegmentedText`). Texts
        that put the unknown token in for a word of that text (word ranking)
        are built from its segments too.

        Usage::

            ids = [tokenizer.encode_edit(text) for text in candidate_texts]
        """
        if UNK_TOKEN in text:
            ids = self._encode_around_unknown(text)
            return self.encode(text) if ids is None else ids
        last = self._last_edit
        current = last.edited(text, self._ids_of_segment) if last is not None else None
        if current is None:
            current = SegmentedText.build(text, self._ids_of_segment)
        self._last_edit = current
        return current.values[: self.max_length] or [UNK_ID]

    def _encode_around_unknown(self, text: str) -> Optional[List[int]]:
        """``encode(text)`` when ``text`` is the last text edited here with one stretch of it
        replaced by the unknown token (how words are ranked); else None."""
        base = self._last_edit
        if base is None or text.count(UNK_TOKEN) != 1:
            return None
        start = text.index(UNK_TOKEN)
        end = len(base.text) - (len(text) - start - len(UNK_TOKEN))
        if end < start or base.text[:start] != text[:start] or base.text[end:] != text[start + len(UNK_TOKEN):]:
            return None
        pieces = base.around(start, end, self._ids_of_segment)
        if pieces is None:
            return None
        ids = pieces[0] + [UNK_ID] + pieces[1]
        return ids[: self.max_length]

    def _ids_of_segment(self, segment: str, is_last: bool) -> Tuple[int, ...]:
        key = (segment, is_last)
        ids = self._segment_ids.get(key)
        if ids is None:
            if len(self._segment_ids) >= _SEGMENT_CACHE_SIZE:
                self._segment_ids.clear()
            if is_last:
                lookup = self.word_to_id.get
                ids = tuple(lookup(word, UNK_ID) for word in _segment_words(key))
            else:
                # A candidate's segment is new but all its words bar one are not: build
                # its ids from cached per-word ids (the same tokens, see word_pieces).
                piece_ids = self._piece_ids
                ids = ()
                for piece in word_pieces(segment):
                    found = piece_ids.get(piece)
                    if found is None:
                        found = piece_ids[piece] = self._ids_of_piece(piece)
                    ids += found
            self._segment_ids[key] = ids
        return ids

    def _ids_of_piece(self, piece: str) -> Tuple[int, ...]:
        if len(self._piece_ids) >= _SEGMENT_CACHE_SIZE:
            self._piece_ids.clear()
        lookup = self.word_to_id.get
        return tuple(lookup(word, UNK_ID) for word in _kept_words(piece_tokens(piece)))

    def pad(self, sequences: Sequence[Sequence[int]], length: Optional[int] = None) -> torch.Tensor:
        """Right-pad id lists with 0 to ``length`` (default: the longest), as a LongTensor [B, T].

        Usage::

            tokenizer.pad([[5, 6, 7], [8]])  # tensor([[5, 6, 7], [8, 0, 0]])
        """
        longest = max((len(ids) for ids in sequences), default=1)
        length = longest if length is None else length
        # Filled in numpy: 5x faster than a torch tensor per row, for a batch of 48 x 260.
        batch = np.zeros((len(sequences), length), dtype=np.int64)
        for row, ids in enumerate(sequences):
            ids = ids[:length]
            batch[row, : len(ids)] = ids
        return torch.from_numpy(batch)

    def batch_encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Encode and pad to the batch's longest text (not to ``max_length``).

        Usage::

            tokenizer.batch_encode(["short", "a longer text"]).shape  # (2, 3)
        """
        return self.pad([self.encode(text) for text in texts])


def _segment_words(segment: Tuple[str, bool]) -> Tuple[str, ...]:
    """The kept tokens of one segment: those with a word character, lower-cased."""
    return _kept_words(segment_tokens(*segment))


def _kept_words(tokens: Iterable[str]) -> Tuple[str, ...]:
    """The tokens with a word character, lower-cased: what AttentionXML looks up."""
    return tuple(token.lower() for token in tokens if _WORD_CHARACTER.search(token))


def load_vocab(path: Union[str, os.PathLike]) -> np.ndarray:
    """Load an AttentionXML ``vocab.npy`` (a numpy unicode array; nothing is unpickled).

    Usage::

        vocab = load_vocab("data/EUR-Lex/vocab.npy")
    """
    try:
        vocab = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ValueError(
            f"{path}: not a numpy unicode array of words (object arrays are refused, "
            f"since loading them would unpickle code): {error}"
        ) from error
    except EOFError:  # numpy's answer to an empty file; callers report ValueErrors in one line
        raise ValueError(f"{path}: empty file, not a numpy unicode array of words; copy vocab.npy again") from None
    if vocab.ndim != 1 or vocab.dtype.kind != "U":
        raise ValueError(f"{path}: expected a 1-d numpy unicode array, got {vocab.dtype} {vocab.shape}")
    words = vocab.tolist()
    try:
        if len(set(words)) != len(words):
            AttentionXMLTokenizer.check_distinct(words)
    except ValueError as error:
        from ..errors import CheckpointError

        raise CheckpointError(f"{path}: {error}") from None
    return vocab


def save_vocab(path: Union[str, os.PathLike], words: VocabLike) -> None:
    """Write ``words`` as a numpy unicode array, the format of AttentionXML's ``vocab.npy``.

    Usage::

        save_vocab("model/vocab.npy", ["<PAD>", "<UNK>", "oil"])
    """
    array = np.asarray([str(word) for word in words], dtype=str)
    # np.save on an open file keeps the name exactly as given (no ".npy" appended).
    with open(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def build_vocab(
    texts: Iterable[str],
    tokenizer_fn: Callable[[str], List[str]],
    max_size: Optional[int] = None,
    min_count: int = 1,
) -> np.ndarray:
    """A vocabulary ``[<PAD>, <UNK>, words by descending document frequency]``.

    Ties are broken alphabetically so the result is deterministic. ``max_size``
    counts the two special tokens; ``min_count`` is a minimum document frequency.

    Usage::

        vocab = build_vocab(train_texts, AttentionXMLTokenizer([PAD_TOKEN, UNK_TOKEN]).words)
    """
    document_frequency: collections.Counter = collections.Counter()
    for text in texts:
        document_frequency.update(set(tokenizer_fn(text)))
    for special in (PAD_TOKEN, UNK_TOKEN):
        document_frequency.pop(special, None)
    ranked = sorted(
        (word for word, count in document_frequency.items() if count >= min_count),
        key=lambda word: (-document_frequency[word], word),
    )
    if max_size is not None:
        ranked = ranked[: max(0, max_size - 2)]
    return np.asarray([PAD_TOKEN, UNK_TOKEN] + ranked, dtype=str)


def glove_embedding_matrix(vocab: VocabLike, dim: int = 50, seed: int = 0, scale: float = 0.1) -> np.ndarray:
    """Initial embeddings [V, dim]: GloVe 6B 50-d rows where known, N(0, scale) otherwise.

    ``<PAD>`` gets zeros. With ``dim`` above 50 the extra columns are random;
    below 50 the GloVe vectors are cut.

    Usage::

        weights = glove_embedding_matrix(vocab, dim=50)   # float32 [len(vocab), 50]
    """
    from ..glove import load_glove

    glove_words, glove_vectors = load_glove()
    glove_index = {word: row for row, word in enumerate(glove_words)}
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, scale, size=(len(vocab), dim)).astype(np.float32)
    width = min(dim, glove_vectors.shape[1])
    words = [str(word) for word in vocab]
    found = [(i, glove_index[w]) for i, w in enumerate(words) if w in glove_index]
    if found:
        rows, glove_rows = map(np.asarray, zip(*found))
        matrix[rows, :width] = glove_vectors[glove_rows, :width]
    matrix[PAD_ID] = 0.0
    return matrix
