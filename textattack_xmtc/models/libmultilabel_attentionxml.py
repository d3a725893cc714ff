"""LibMultiLabel's AttentionXML (its probabilistic label tree, ``PLTTrainer``) on this package's networks.

Facts, each from ntumlgroup/LibMultiLabel:

* Two levels (libmultilabel/nn/attentionxml.py, ``PLTTrainer``): ``model_0.ckpt``
  scores the label clusters of ``label_clusters.npy`` (a numpy object array of
  label-index arrays, one per cluster), ``model_1.ckpt`` the labels. It
  predicts with a beam: level 0's ``beam_width`` highest logits pick the
  clusters (``Model.predict_step`` then ``expit``), every label of those
  clusters gets ``sigmoid(l1) * sigmoid(l0)`` (``PLTModel.predict_step``), and
  the top ``save_k_predictions`` of those are the prediction.
* The networks (libmultilabel/nn/networks/labelwise_attention_networks.py,
  ``AttentionXML_0`` / ``AttentionXML_1``; modules.py): ``Embedding``
  (``nn.Embedding``, padding index 0, dropout) -> ``LSTMEncoder`` (a
  bidirectional ``nn.LSTM`` of ``rnn_dim // 2`` per direction over packed
  sequences, started from zeros) -> label-wise attention (level 0:
  ``LabelwiseAttention``, ``nn.Linear(rnn_dim, clusters, bias=False)``; level 1:
  ``PartialLabelwiseAttention``, ``nn.Embedding(labels + 1, rnn_dim)``, row
  ``labels`` padding the candidate lists) -> ``MultilayerLinearOutput`` (ReLU
  ``linears`` then ``output`` to one unit, shared by all labels). In eval mode
  every dropout is the identity.
* Its attention is NOT masked: ``forward`` cuts the batch to its longest
  text, and the positions after a shorter text's end (zeros out of
  ``pad_packed_sequence``) still take part in that text's softmax with score 0.
  Its predictions therefore depend on who shares the batch. At batch size 1
  there is no padding, and the result equals attention masked to the text's
  own tokens, which is what :class:`~textattack_xmtc.models.attentionxml.AttentionXMLNetwork`
  computes for every row of any batch: we reproduce its batch-size-1 numbers.
* Tokens (libmultilabel/nn/data_utils.py ``tokenize``): NLTK's
  ``RegexpTokenizer(r"\\w+")`` (``re.findall(r"\\w+")``), tokens for which
  ``str.isnumeric()`` holds dropped, the rest lower-cased; looked up in
  ``word_dict`` (``word_dict.get(word, word_dict["<unk>"])``, ``PLTTrainer.reformat_text``),
  the first ``max_seq_length`` kept (``main.py`` default 500; a run's value is
  in its ``logs.json`` ``config``); an empty text reads as ``[<unk>]``.
  ``word_dict`` puts ``<pad>`` at 0 and ``<unk>`` at 1 (``_build_word_dict``
  with ``specials=[PAD, UNK]``).

State dict keys (``network.`` prefix: the Lightning ``Model`` holds the
network as ``self.network``) and the flat network's names they load into:

====================================================  ==============================
LibMultiLabel                                         :mod:`~textattack_xmtc.models.attentionxml`
====================================================  ==============================
``network.embedding.embedding.weight`` [V, E]         ``emb.emb.weight``
``network.encoder.rnn.{weight,bias}_{ih,hh}_l{n}[_reverse]``  ``lstm.lstm.{...}``
(none: the LSTM starts from zeros)                    ``lstm.init_state`` = 0
``network.attention.attention.weight`` [C or L+1, 2h]  ``attention.attention.weight``
``network.output.linears.{i}.{weight,bias}``          ``linear.linear.{i}.{weight,bias}``
``network.output.output.{weight,bias}``               ``linear.output.{weight,bias}``
====================================================  ==============================

Usage::

    tree = libmultilabel_tree(state_0, state_1, clusters, beam_width=10, sources=("model_0.ckpt", "model_1.ckpt"))
    tokenizer = LibMultiLabelTokenizer(word_dict, max_length=500)
    candidates, scores = tree.beam(tokenizer.pad([tokenizer.encode("a document")]))
"""
from __future__ import annotations

import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import CheckpointError
from .attentionxml import AttentionXMLNetwork, config_from_state_dict
from .attentionxml_tree import AttentionXMLTree, cluster_of_label
from .state_dicts import check_finite

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
#: ``main.py``'s ``--max_seq_length`` and ``--beam_width`` defaults.
DEFAULT_MAX_SEQ_LENGTH = 500
DEFAULT_BEAM_WIDTH = 10

_WORD = re.compile(r"\w+")
_RENAMES = (("network.embedding.embedding.", "emb.emb."), ("network.encoder.rnn.", "lstm.lstm."),
            ("network.attention.attention.", "attention.attention."), ("network.output.linears.", "linear.linear."),
            ("network.output.output.", "linear.output."))


class LibMultiLabelTokenizer:
    """LibMultiLabel's ``tokenize`` and word lookup, truncated to ``max_length`` ids.

    The literal ``<unk>`` in a text is the unknown word (the attack writes it to
    rank words); LibMultiLabel itself would read the word ``unk`` there.

    Usage::

        tokenizer = LibMultiLabelTokenizer({"<pad>": 0, "<unk>": 1, "oil": 2}, max_length=500)
        tokenizer.words("Oil rose 5% in 2024's <unk> market")  # ['oil', 'rose', 'in', 's', '<unk>', 'market']
        tokenizer.encode("Oil <unk> prices")                   # [2, 1, 1]
    """

    unk_token = UNK_TOKEN

    def __init__(self, word_dict: Mapping[str, int], max_length: int = DEFAULT_MAX_SEQ_LENGTH,
                 source: str = "word_dict"):
        if UNK_TOKEN not in word_dict:
            raise CheckpointError(f"{source}: has no {UNK_TOKEN!r} entry; LibMultiLabel's word_dict always has one")
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive integer, got {max_length!r}")
        self.word_to_id: Dict[str, int] = dict(word_dict)
        self.unk_id = int(self.word_to_id[UNK_TOKEN])
        if self.unk_id == 0:
            raise CheckpointError(f"{source}: {UNK_TOKEN!r} has id 0, the padding id; expected 1")
        self.max_length = int(max_length)
        self.vocab_size = max(self.word_to_id.values()) + 1

    def words(self, text: str) -> List[str]:
        """The kept tokens of ``text``, lower-cased, not truncated (``<unk>`` kept as is)."""
        tokens: List[str] = []
        for position, piece in enumerate(text.split(UNK_TOKEN)):
            if position:
                tokens.append(UNK_TOKEN)
            # isnumeric is asked of the token as written, before lower-casing, as LibMultiLabel does.
            tokens.extend(token.lower() for token in _WORD.findall(piece) if not token.isnumeric())
        return tokens

    def encode(self, text: str) -> List[int]:
        """Word ids of ``text``: unknown -> the ``<unk>`` id, at most ``max_length``, never empty."""
        lookup, unk = self.word_to_id.get, self.unk_id
        ids = [unk if word == UNK_TOKEN else lookup(word, unk) for word in self.words(text)[: self.max_length]]
        return ids or [unk]

    # The tree wrapper asks for encode_edit (its tokenizers reuse the last text's pieces);
    # a regular-expression pass over one document costs far less than the network.
    encode_edit = encode

    def pad(self, sequences: Sequence[Sequence[int]], length: Optional[int] = None) -> torch.Tensor:
        """Right-pad id lists with 0 (``<pad>``) to ``length`` (default: the longest), LongTensor [B, T]."""
        longest = max((len(ids) for ids in sequences), default=1)
        length = longest if length is None else length
        batch = np.zeros((len(sequences), length), dtype=np.int64)
        for row, ids in enumerate(sequences):
            ids = list(ids)[:length]
            batch[row, : len(ids)] = ids
        return torch.from_numpy(batch)


def flat_state_dict(state: Mapping[str, torch.Tensor], source: str) -> Dict[str, torch.Tensor]:
    """A LibMultiLabel AttentionXML state dict under the flat network's names, with a zero ``lstm.init_state``.

    Keys outside ``network.`` belong to the Lightning module, not the network, and
    are skipped; an unknown ``network.`` key is an error naming it.

    Usage::

        flat = flat_state_dict(checkpoint["state_dict"], "model_0.ckpt")
    """
    flat: Dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        if not key.startswith("network."):
            continue
        for old, new in _RENAMES:
            if key.startswith(old):
                if not isinstance(tensor, torch.Tensor):
                    raise CheckpointError(f"{source}: state_dict[{key!r}] is a {type(tensor).__name__}, not a tensor")
                flat[new + key[len(old):]] = tensor.detach().float()
                break
        else:
            raise CheckpointError(f"{source}: unexpected key {key!r}; not a LibMultiLabel AttentionXML network "
                                  f"(expected network.embedding/encoder/attention/output)")
    hidden = _lstm_hidden(flat, source)
    layers = len([key for key in flat if re.fullmatch(r"lstm\.lstm\.weight_hh_l\d+", key)])
    # LibMultiLabel's LSTM starts from zeros; ours from a trained init_state, here zero: the same math.
    flat["lstm.init_state"] = torch.zeros(4 * layers, 1, hidden)
    return flat


def _lstm_hidden(flat: Mapping[str, torch.Tensor], source: str) -> int:
    weight = flat.get("lstm.lstm.weight_hh_l0")
    if weight is None or weight.dim() != 2:
        raise CheckpointError(f"{source}: missing network.encoder.rnn.weight_hh_l0 (the LSTM); not a LibMultiLabel "
                              f"AttentionXML checkpoint (keys: {sorted(flat)[:6]}...)")
    return int(weight.shape[1])


def level_network(state: Mapping[str, torch.Tensor], source: str) -> AttentionXMLNetwork:
    """One level as an :class:`AttentionXMLNetwork` in eval mode (sizes read off the tensors, then checked)."""
    flat = flat_state_dict(state, source)
    check_finite(flat, source)  # refused at load, naming the file, as every other victim's weights are
    network = AttentionXMLNetwork(config_from_state_dict(flat, source=source))
    network.load_checked_state_dict(flat, source=source)
    return network.eval()


def libmultilabel_tree(state_0: Mapping[str, torch.Tensor], state_1: Mapping[str, torch.Tensor],
                       clusters: Sequence[np.ndarray], beam_width: int = DEFAULT_BEAM_WIDTH,
                       sources: Tuple[str, str, str] = ("model_0.ckpt", "model_1.ckpt", "label_clusters.npy")
                       ) -> AttentionXMLTree:
    """The two-level :class:`AttentionXMLTree` of a LibMultiLabel AttentionXML run.

    ``clusters[j]`` lists the labels of cluster j (``label_clusters.npy``).
    The level-1 attention table has one row per label plus LibMultiLabel's pad
    row, which is the tree's pad row too. Errors name ``sources``.

    Usage::

        tree = libmultilabel_tree(ckpt_0["state_dict"], ckpt_1["state_dict"], clusters, beam_width=64)
    """
    level_0, level_1 = level_network(state_0, sources[0]), level_network(state_1, sources[1])
    labels_num = level_1.config.labels_num - 1
    if len(clusters) != level_0.config.labels_num:
        raise CheckpointError(f"{sources[2]}: {len(clusters)} clusters, but {sources[0]} scores "
                              f"{level_0.config.labels_num} (network.attention.attention.weight rows); "
                              f"the files do not belong together")
    owner = cluster_of_label(clusters, labels_num, sources[2])
    if (owner < 0).any():  # a label in no cluster is never scored: every answer about it would be wrong
        raise CheckpointError(f"{sources[2]}: label {int(np.flatnonzero(owner < 0)[0])} is in no cluster "
                              f"({int((owner < 0).sum())} of {labels_num} labels are); the file is damaged "
                              f"or belongs to another run")
    for first, second, name in ((level_0, level_1, "embedding and LSTM"),):
        if first.config.vocab_size != second.config.vocab_size or first.config.hidden_size != second.config.hidden_size:
            raise CheckpointError(f"{sources[0]} and {sources[1]}: their {name} sizes differ "
                                  f"({first.config.to_dict()} vs {second.config.to_dict()}); not one run")
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise CheckpointError(f"beam_width must be a positive integer, got {beam_width!r}")
    return AttentionXMLTree([level_0, level_1], [[np.asarray(group, dtype=np.int64) for group in clusters]],
                            top=beam_width).eval()


__all__ = ["DEFAULT_BEAM_WIDTH", "DEFAULT_MAX_SEQ_LENGTH", "LibMultiLabelTokenizer", "PAD_TOKEN", "UNK_TOKEN",
           "flat_state_dict", "level_network", "libmultilabel_tree"]
