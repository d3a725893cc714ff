"""APLC-XLNet's inputs: SentencePiece pieces, then ``<sep>`` ``<cls>``, left-padded.

This reproduces what the original APLC-XLNet code feeds its network
(DESIGN.md section 5): the pieces of the text from the SLOW
``transformers.XLNetTokenizer`` (the fast one disagrees with the original on
most documents), cut to the first ``max_length - 2``, then ``<sep>`` (id 4)
and ``<cls>`` (id 3). A batch is LEFT-padded to its longest row with id 0
(the original pads with 0, not with ``<pad>``; the attention mask hides the
padding either way). ``token_type_ids`` are 0 for the text and ``<sep>``, 2
for ``<cls>`` and 4 for the padding; ``attention_mask`` is 1 on real tokens.

Also :func:`train_sentencepiece`, which builds a small SentencePiece model
whose special pieces sit at XLNet's ids (tests, and training from scratch
where no pretrained ``spiece.model`` can be had).

Usage::

    builder = XLNetInputBuilder(load_xlnet_tokenizer("spiece.model"), max_length=512)
    batch = builder.encode_batch(["Oil prices rose.", "Wheat exports fell sharply."])
    batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]   # each [2, T]
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

import torch

from ..errors import ModelLoadError
from .fields import typed_fields

PathLike = Union[str, os.PathLike]

#: XLNet's special pieces and the ids every XLNet ``spiece.model`` gives them.
SPECIAL_TOKEN_IDS: Dict[str, int] = {
    "<unk>": 0, "<s>": 1, "</s>": 2, "<cls>": 3, "<sep>": 4,
    "<pad>": 5, "<mask>": 6, "<eod>": 7, "<eop>": 8,
}
UNK_TOKEN = "<unk>"
SEP_TOKEN = "<sep>"
CLS_TOKEN = "<cls>"
#: The original pads input ids with 0 (``<unk>``), not with ``<pad>`` (5).
INPUT_PAD_ID = 0
TEXT_TOKEN_TYPE = 0
CLS_TOKEN_TYPE = 2
PAD_TOKEN_TYPE = 4
DEFAULT_MAX_LENGTH = 512
#: SentencePiece marks the start of a word with this character.
WORD_START = "\u2581"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
#: The only tokenizer options that change the pieces; read from tokenizer_config.json.
TOKENIZER_OPTIONS = ("do_lower_case", "remove_space", "keep_accents")


def read_tokenizer_options(directory: PathLike) -> Dict[str, bool]:
    """``do_lower_case`` / ``remove_space`` / ``keep_accents`` from ``tokenizer_config.json``, if any.

    Missing file or keys leave XLNet's defaults (cased, spaces collapsed,
    accents removed).

    Usage::

        options = read_tokenizer_options("models/EURLex")   # {} or {"do_lower_case": False, ...}
    """
    path = Path(directory) / TOKENIZER_CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ModelLoadError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(values, dict):
        return {}
    # bool("false") is True: a string or number here is refused, not guessed.
    typed_fields(values, {key: "bool" for key in TOKENIZER_OPTIONS}, str(path))
    return {key: values[key] for key in TOKENIZER_OPTIONS if key in values}


def load_xlnet_tokenizer(spiece_path: PathLike, options: Optional[Mapping[str, bool]] = None):
    """The slow ``transformers.XLNetTokenizer`` on ``spiece_path``, its special ids checked.

    ``options`` may set ``do_lower_case`` (default False), ``remove_space``
    (True) and ``keep_accents`` (False), as ``tokenizer_config.json`` does.

    Usage::

        tokenizer = load_xlnet_tokenizer("spiece.model")
        tokenizer.tokenize("Oil prices rose.")   # ['▁Oil', '▁prices', '▁rose', '.']
    """
    from transformers import XLNetTokenizer

    path = Path(spiece_path)
    if not path.is_file():
        raise ModelLoadError(f"SentencePiece model not found: {path}")
    settings = {"do_lower_case": False}
    settings.update(options or {})
    try:
        tokenizer = XLNetTokenizer(str(path), **settings)
    except Exception as error:  # sentencepiece raises RuntimeError/OSError on a bad file
        raise ModelLoadError(f"{path}: not a SentencePiece model ({error})") from error
    check_special_ids(tokenizer, source=str(path))
    return tokenizer


def check_special_ids(tokenizer, source: str) -> None:
    """Refuse a SentencePiece model lacking ``<sep>`` / ``<cls>`` (they would become ``<unk>``).

    Usage::

        check_special_ids(tokenizer, source="spiece.model")   # raises ModelLoadError
    """
    for token in (SEP_TOKEN, CLS_TOKEN):
        piece_id = tokenizer.sp_model.piece_to_id(token)
        if piece_id == tokenizer.sp_model.unk_id() or tokenizer.sp_model.id_to_piece(piece_id) != token:
            raise ModelLoadError(f"{source}: the SentencePiece model has no {token!r} piece; "
                                 f"it is not an XLNet spiece.model")


class XLNetInputBuilder:
    """Texts -> ``input_ids``, ``attention_mask``, ``token_type_ids`` as the original APLC-XLNet builds them.

    Usage::

        builder = XLNetInputBuilder(tokenizer, max_length=512)
        builder.pieces("Oil prices rose.")            # ['▁Oil', '▁prices', '▁rose', '.']
        batch = builder.encode_batch(["a text", "a longer text here"])
    """

    def __init__(self, tokenizer, max_length: int = DEFAULT_MAX_LENGTH):
        if max_length < 3:
            raise ValueError(f"max_length must leave room for <sep> and <cls> and a piece, got {max_length}")
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        # Read the ids from the model rather than assuming 4 and 3: the original does the same.
        self.sep_id = int(tokenizer.sp_model.piece_to_id(SEP_TOKEN))
        self.cls_id = int(tokenizer.sp_model.piece_to_id(CLS_TOKEN))

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer.sp_model)

    @property
    def max_pieces(self) -> int:
        """Pieces of text kept per document (``max_length - 2``)."""
        return self.max_length - 2

    def pieces(self, text: str) -> List[str]:
        """The SentencePiece pieces the network reads for ``text`` (truncated)."""
        return self.tokenizer.tokenize(text)[: self.max_pieces]

    def ids(self, text: str) -> List[int]:
        """Input ids of one text, without padding: pieces, ``<sep>``, ``<cls>``."""
        return self.tokenizer.convert_tokens_to_ids(self.pieces(text)) + [self.sep_id, self.cls_id]

    def encode_batch(self, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
        """Left-padded tensors ``[len(texts), longest]`` for the network."""
        return pad_left([self.ids(text) for text in texts])


def pad_left(rows: Sequence[Sequence[int]]) -> Dict[str, torch.Tensor]:
    """Left-pad id rows (each ending in ``<sep>`` ``<cls>``) to the longest one.

    Returns ``input_ids`` (pad id 0), ``attention_mask`` (1 on real tokens) and
    ``token_type_ids`` (0 text and ``<sep>``, 2 ``<cls>``, 4 padding).

    Usage::

        pad_left([[17, 4, 3], [4, 3]])["input_ids"]   # [[17, 4, 3], [0, 4, 3]]
    """
    longest = max((len(row) for row in rows), default=0)
    count = len(rows)
    input_ids = torch.full((count, longest), INPUT_PAD_ID, dtype=torch.long)
    attention_mask = torch.zeros((count, longest), dtype=torch.long)
    token_type_ids = torch.full((count, longest), PAD_TOKEN_TYPE, dtype=torch.long)
    for index, row in enumerate(rows):
        start = longest - len(row)
        input_ids[index, start:] = torch.as_tensor(row, dtype=torch.long)
        attention_mask[index, start:] = 1
        token_type_ids[index, start:] = TEXT_TOKEN_TYPE
        token_type_ids[index, -1] = CLS_TOKEN_TYPE
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def strip_word_start(piece: str) -> str:
    """A piece without SentencePiece's leading ``▁`` (how TextAttack matches pieces to words).

    Usage::

        strip_word_start("▁Oil")   # 'Oil'
    """
    return piece[1:] if piece.startswith(WORD_START) else piece


def train_sentencepiece(texts: Iterable[str], output_path: PathLike, vocab_size: int = 8000,
                        model_type: str = "unigram") -> Path:
    """Train a SentencePiece model whose special pieces have XLNet's ids; write it to ``output_path``.

    ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, ``<cls>`` 3, ``<sep>`` 4, ``<pad>`` 5,
    ``<mask>`` 6, ``<eod>`` 7, ``<eop>`` 8 (control symbols: text never
    produces them). ``vocab_size`` is an upper bound: a small corpus gets
    fewer pieces rather than an error.

    Usage::

        train_sentencepiece(train_texts, "my-model/spiece.model", vocab_size=8000)
    """
    import sentencepiece

    control = [token for token, _ in sorted(SPECIAL_TOKEN_IDS.items(), key=lambda item: item[1])
               if token not in ("<unk>", "<s>", "</s>", "<pad>")]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=(text for text in texts if text.strip()),
        model_writer=model, vocab_size=int(vocab_size), model_type=model_type,
        unk_id=0, bos_id=1, eos_id=2, pad_id=SPECIAL_TOKEN_IDS["<pad>"],
        # Reserved ids are placed first; control symbols then fill 3, 4, 6, 7, 8 in this order.
        control_symbols=control, hard_vocab_limit=False, character_coverage=1.0,
        minloglevel=2, num_threads=1,
    )
    path = Path(output_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.getvalue())
    _check_trained_ids(path)
    return path


def _check_trained_ids(path: Path) -> None:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_file=str(path))
    found = {processor.id_to_piece(index): index for index in range(len(SPECIAL_TOKEN_IDS))}
    if found != SPECIAL_TOKEN_IDS:  # would mean sentencepiece changed how it assigns ids
        raise RuntimeError(f"{path}: special pieces got ids {found}, expected {SPECIAL_TOKEN_IDS}")
