"""The AttentionXML network (You et al., NeurIPS 2019), laid out like the original checkpoints.

Embedding -> bidirectional LSTM over PACKED sequences, started from a trained
initial state -> label-wise attention (padded positions get -inf before the
softmax) -> a ReLU MLP shared by all labels -> one logit per label.

Parameter names match the original state dicts exactly (DESIGN.md section 5),
so ``load_state_dict(strict=True)`` works on an ``models/AttentionXML-<data>``
file:

=================================================  ======================
key                                                shape
=================================================  ======================
``emb.emb.weight``                                 [V, E]
``lstm.init_state``                                [4 * layers, 1, h]
``lstm.lstm.{weight_ih,weight_hh}_l{n}[_reverse]``  [4h, E or 2h], [4h, h]
``lstm.lstm.{bias_ih,bias_hh}_l{n}[_reverse]``      [4h]
``attention.attention.weight``                     [L, 2h]
``linear.linear.{i}.{weight,bias}``                [out_i, in_i], [out_i]
``linear.output.{weight,bias}``                    [1, last], [1]
=================================================  ======================

Usage::

    state = torch.load("models/AttentionXML-EUR-Lex", map_location="cpu", weights_only=True)
    network = AttentionXMLNetwork(config_from_state_dict(state))
    network.load_checked_state_dict(state, source="models/AttentionXML-EUR-Lex")
    logits = network(input_ids)   # [B, L]
"""
from __future__ import annotations

import dataclasses
import re
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import CheckpointError
from .fields import typed_fields
from .kernels import linear, shape_bucket
from .state_dicts import state_dict_problems
from .tokenization import PAD_ID


@dataclasses.dataclass
class AttentionXMLConfig:
    """Sizes of an AttentionXML network; every one can be read off a state dict.

    Usage::

        AttentionXMLConfig(vocab_size=30000, emb_size=50, hidden_size=128, layers_num=1,
                           linear_size=[256], labels_num=90)
    """

    vocab_size: int
    emb_size: int
    hidden_size: int
    layers_num: int
    linear_size: List[int]
    labels_num: int
    dropout: float = 0.5
    emb_dropout: float = 0.2

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping, source: str = "AttentionXML config") -> "AttentionXMLConfig":
        """Read a dict written by :meth:`to_dict`; every field is type-checked (errors name ``source``).

        Usage::

            AttentionXMLConfig.from_dict(metadata["config"], source="my-model/xmtc_model.json config")
        """
        if not isinstance(values, Mapping):
            raise CheckpointError(f"{source}: expected an object of AttentionXML sizes, got {values!r}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise CheckpointError(f"{source}: unknown AttentionXML config fields: {unknown}")
        required = [field.name for field in dataclasses.fields(cls)
                    if field.default is dataclasses.MISSING and field.name not in values]
        if required:
            raise CheckpointError(f"{source}: missing AttentionXML config fields: {required}")
        typed_fields(values, _CONFIG_FIELD_KINDS, source)
        values = dict(values)
        values["linear_size"] = list(values["linear_size"])
        return cls(**values)


_CONFIG_FIELD_KINDS = {"vocab_size": "positive_int", "emb_size": "positive_int", "hidden_size": "positive_int",
                       "layers_num": "positive_int", "linear_size": "positive_ints", "labels_num": "positive_int",
                       "dropout": "fraction", "emb_dropout": "fraction"}


class Embedding(nn.Module):
    """Word embeddings (``emb.emb``) followed by dropout."""

    def __init__(self, vocab_size: int, emb_size: int, dropout: float):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb_size, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.emb(input_ids))


class BiLSTMEncoder(nn.Module):
    """Bidirectional LSTM over the real tokens of each text, from a trained initial state.

    ``init_state`` is [4 * layers, 1, h]: the first half is c0 and the second
    half h0, each ordered (layer 0 forward, layer 0 backward, layer 1 forward, ...),
    which is also ``nn.LSTM``'s order for its hidden state.

    The result equals running ``nn.LSTM`` on a packed sequence (the backward
    direction starts at each text's last real token; outputs at padded
    positions are not meaningful and must be masked). By default each
    direction runs unpacked, the backward one on every text reversed within
    its own length: the same numbers, and 5-10x faster than packed sequences
    on CPU, whose backward pass is very slow. ``packed = True`` switches to
    ``pack_padded_sequence`` (kept as the reference path; tests check both).

    An attack's batch holds one document with one word changed per row (or a
    few words, at nearby positions): the rows agree on a long prefix and,
    counted from each row's end, a long suffix. Given ``input_ids``, a
    one-layer encoder in inference runs the forward direction over the shared
    prefix once and then every row from where they differ, and the backward
    direction likewise over the shared suffix: about half the LSTM steps of
    running every row whole, and the same numbers (tests check it).
    """

    packed: bool = False
    # Share a prefix/suffix only when it saves at least this fraction of the steps.
    min_shared_fraction: float = 0.25
    # oneDNN builds (and caches) an LSTM kernel per input shape, ~0.5 ms each time a
    # shape is new: far more than the steps it runs. The shared path therefore runs
    # only batch and step counts from kernels.shape_bucket (multiples of this, at most
    # 8 sizes per octave), so that an attack's shapes are few and each built once.
    shape_multiple: int = 8

    def __init__(self, input_size: int, hidden_size: int, layers_num: int, dropout: float):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, layers_num, batch_first=True, bidirectional=True)
        self.init_state = nn.Parameter(torch.zeros(2 * 2 * layers_num, 1, hidden_size))
        self.dropout = nn.Dropout(dropout)

    def forward(self, embedded: torch.Tensor, lengths: torch.Tensor,
                input_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        state = self.init_state.expand(-1, embedded.shape[0], -1).contiguous()
        c0, h0 = state.chunk(2, dim=0)
        if not torch.is_grad_enabled() and input_ids is not None and self._may_share(embedded):
            shared = _shared_prefix_and_suffix(input_ids, lengths)
            if sum(shared) >= self.min_shared_fraction * int(lengths.min()):
                return self.dropout(self._shared_context(embedded, lengths, h0, c0, *shared))
        # Per-direction runs use oneDNN's LSTM kernel; packed sequences fall back to a
        # step-by-step kernel, 3x slower on padded inference batches and far slower backwards.
        run = self._packed if self.packed else self._by_direction
        return self.dropout(run(embedded, lengths, h0, c0))

    def _may_share(self, embedded: torch.Tensor) -> bool:
        # Deeper layers see both directions of the layer below, which differ everywhere.
        return not self.packed and not self.training and self.lstm.num_layers == 1 and embedded.shape[0] > 1

    def _direction_weights(self, direction: int) -> List[torch.Tensor]:
        suffix = "_reverse" if direction else ""
        return [getattr(self.lstm, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def _shared_context(self, embedded: torch.Tensor, lengths: torch.Tensor, h0: torch.Tensor,
                        c0: torch.Tensor, prefix: int, suffix: int) -> torch.Tensor:
        """Both directions, each running its shared part once on row 0 and the rest on every row."""
        batch, total, _ = embedded.shape
        hidden = h0.shape[-1]
        # The shared heads run alone and end where the rows take over, so they are
        # shortened to a multiple rather than padded (padding would move their end).
        prefix = shape_bucket(prefix, self.shape_multiple, down=True)
        suffix = shape_bucket(suffix, self.shape_multiple, down=True)
        states = embedded.new_empty((batch, total, 2 * hidden))
        forward = self._run_shared(embedded[:1, :prefix], embedded[:, prefix:], h0[0:1, :1], c0[0:1, :1], 0)
        states[:, :prefix, :hidden], states[:, prefix:, :hidden] = forward
        if bool((lengths == total).all()):  # the usual case: plain flips of the two parts
            backward = self._run_shared(embedded[:1, total - suffix:].flip(1), embedded[:, :total - suffix].flip(1),
                                        h0[1:2, :1], c0[1:2, :1], 1)
            states[:, total - suffix:, hidden:] = backward[0].flip(1)
            states[:, :total - suffix, hidden:] = backward[1].flip(1)
        else:  # reversed within each row's length, the shared suffix comes first
            index = _reversal_index(lengths, total)
            reversed_inputs = _reverse_within_length(embedded, index)
            head, rest = self._run_shared(reversed_inputs[:1, :suffix], reversed_inputs[:, suffix:],
                                          h0[1:2, :1], c0[1:2, :1], 1)
            reversed_states = torch.cat([head.expand(batch, -1, -1), rest], dim=1)
            states[:, :, hidden:] = _reverse_within_length(reversed_states, index)
        return states

    def _run_shared(self, head: torch.Tensor, rest: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
                    direction: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Run ``head`` ([1, P, E]) from state (h, c), then every row of ``rest`` from where it ended."""
        weights = self._direction_weights(direction)
        head_states = head.new_zeros((1, 0, h.shape[-1]))
        if head.shape[1]:
            head_states, h, c = _lstm_direction(head, h, c, weights)
        batch, steps, _ = rest.shape
        # Rows and steps appended at the end change nothing before them.
        padded = rest.new_zeros((shape_bucket(batch, self.shape_multiple),
                                 shape_bucket(steps, self.shape_multiple), rest.shape[2]))
        padded[:batch, :steps] = rest
        rows = padded.shape[0]
        rest_states = _lstm_direction(padded, h.expand(-1, rows, -1).contiguous(),
                                      c.expand(-1, rows, -1).contiguous(), weights)[0]
        return head_states, rest_states[:batch, :steps]

    def _packed(self, embedded: torch.Tensor, lengths: torch.Tensor, h0: torch.Tensor,
                c0: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        output, _ = self.lstm(packed, (h0, c0))
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=embedded.shape[1])
        return output

    def _by_direction(self, inputs: torch.Tensor, lengths: torch.Tensor, h0: torch.Tensor,
                      c0: torch.Tensor) -> torch.Tensor:
        index = _reversal_index(lengths, inputs.shape[1])
        for layer in range(self.lstm.num_layers):
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")):
                state = 2 * layer + direction
                weights = [getattr(self.lstm, f"{name}_l{layer}{suffix}")
                           for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                x = inputs if direction == 0 else _reverse_within_length(inputs, index)
                out = _lstm_direction(x, h0[state:state + 1], c0[state:state + 1], weights)[0]
                outputs.append(out if direction == 0 else _reverse_within_length(out, index))
            inputs = torch.cat(outputs, dim=-1)
        return inputs


def _lstm_direction(inputs: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
                    weights: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One unpacked LSTM direction, batch first: ``(outputs, h_n, c_n)``."""
    # torch.lstm is the op nn.LSTM itself calls: has_biases, num_layers, dropout, train,
    # bidirectional, batch_first ("train" only switches dropout between layers: none here).
    return torch.lstm(inputs, (h, c), weights, True, 1, 0.0, False, False, True)


def _common_prefix_length(ids: torch.Tensor, limit: int) -> int:
    """How many leading columns (at most ``limit``) hold the same id in every row."""
    same = (ids[:, :limit] == ids[:1, :limit]).all(dim=0)
    return int(same.long().cumprod(0).sum())


def _shared_prefix_and_suffix(input_ids: torch.Tensor, lengths: torch.Tensor) -> Tuple[int, int]:
    """Positions all rows share at their start and, counted from each row's end, at their end.

    Each is at most the shortest length minus one, so that every row keeps at
    least one position of its own in each direction.
    """
    limit = int(lengths.min()) - 1
    reversed_ids = input_ids.gather(1, _reversal_index(lengths, input_ids.shape[1]))
    return _common_prefix_length(input_ids, limit), _common_prefix_length(reversed_ids, limit)


def _reversal_index(lengths: torch.Tensor, total_length: int) -> torch.Tensor:
    """Index [B, T] that reverses positions 0..len-1 of each row and leaves the padding in place."""
    positions = torch.arange(total_length, device=lengths.device).unsqueeze(0)
    reversed_positions = lengths.unsqueeze(1) - 1 - positions
    return torch.where(reversed_positions >= 0, reversed_positions, positions)


def _reverse_within_length(tensor: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``tensor`` [B, T, D] with the positions of each row reordered by ``index`` [B, T]."""
    # Whole D-vectors are copied by row number: index_select moves them as blocks,
    # several times faster than a gather that reads an index per element.
    batch, total = index.shape
    rows = (index + torch.arange(batch, device=index.device).unsqueeze(1) * total).reshape(-1)
    return tensor.reshape(batch * total, -1).index_select(0, rows).reshape(tensor.shape)


class LabelAttention(nn.Module):
    """One attention vector per label over the LSTM positions (``attention.attention``, no bias)."""

    def __init__(self, input_size: int, labels_num: int):
        super().__init__()
        self.attention = nn.Linear(input_size, labels_num, bias=False)
        nn.init.xavier_uniform_(self.attention.weight)

    def forward(self, states: torch.Tensor, mask: torch.Tensor,
                labels: Optional[torch.Tensor] = None, round_rows: bool = False) -> torch.Tensor:
        """Context vectors [B, L, 2h]; only for the label indices ``labels`` if given.

        ``labels`` is one index list shared by the batch ([len] -> [B, len, 2h]) or
        one list per text ([B, m] -> [B, m, 2h]: a label tree's candidates).
        """
        if labels is not None and labels.dim() == 2:
            # Each text attends with its own rows: [B, m, 2h] @ [B, 2h, T] is already [B, m, T].
            scores = torch.bmm(self.attention.weight[labels], states.transpose(1, 2))
        else:
            weight = self.attention.weight if labels is None else self.attention.weight.index_select(0, labels)
            # Scores come out [B, T, L] and are copied to [B, L, T], so that the softmax runs
            # along memory: faster than a softmax across it, and the same numbers.
            scores = linear(states, weight, round_rows=round_rows).transpose(1, 2).contiguous()
        if not bool(mask.all()):  # attack batches are rarely padded
            scores.masked_fill_(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ states  # [B, L, 2h]


class MLPLayers(nn.Module):
    """ReLU MLP applied to every label's context vector, then one output unit."""

    def __init__(self, sizes: Sequence[int]):
        super().__init__()
        self.linear = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.output = nn.Linear(sizes[-1], 1)
        for layer in list(self.linear) + [self.output]:
            nn.init.xavier_uniform_(layer.weight)

    def forward(self, hidden: torch.Tensor, round_rows: bool = False) -> torch.Tensor:
        """Logits [..., L] of context vectors [..., L, d]; ``round_rows``: see ``kernels.linear``."""
        for layer in self.linear:
            hidden = linear(hidden, layer.weight, layer.bias, relu=True, round_rows=round_rows)
        return linear(hidden, self.output.weight, self.output.bias, round_rows=round_rows).squeeze(-1)


#: Labels (or a tree level's per-text candidates) attended at once: bounds a batch's temporary memory.
CANDIDATE_CHUNK = 256


class AttentionXMLNetwork(nn.Module):
    """AttentionXML: ``forward(input_ids [B, T], right-padded with 0) -> logits [B, L]``.

    Each label's logit depends only on its own attention row (the MLP is shared),
    so ``forward(input_ids, labels)`` computes just the labels asked for: an
    attack ranking words by one target label skips the other L - 1. ``labels``
    [len] is shared by the batch (logits [B, len]); ``labels`` [B, m] gives
    each text its own candidates (logits [B, m]), as a label tree's levels need.

    Usage::

        network = AttentionXMLNetwork(config).eval()
        probabilities = torch.sigmoid(network(tokenizer.batch_encode(texts)))
        target_logits = network(input_ids, labels=torch.tensor([17]))   # [B, 1]
    """

    def __init__(self, config: AttentionXMLConfig, emb_init: Optional[torch.Tensor] = None):
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        self.emb = Embedding(config.vocab_size, config.emb_size, config.emb_dropout)
        if emb_init is not None:
            with torch.no_grad():
                self.emb.emb.weight.copy_(torch.as_tensor(emb_init, dtype=torch.float32))
        self.lstm = BiLSTMEncoder(config.emb_size, hidden, config.layers_num, config.dropout)
        self.attention = LabelAttention(2 * hidden, config.labels_num)
        self.linear = MLPLayers([2 * hidden] + list(config.linear_size))

    def forward(self, input_ids: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        mask = input_ids != PAD_ID
        lengths = mask.sum(dim=-1)
        if bool((lengths == 0).any()):
            raise ValueError("every row of input_ids needs at least one non-padding id (an empty text is [1])")
        # Columns beyond the batch's longest text carry no information.
        longest = int(lengths.max())
        input_ids, mask = input_ids[:, :longest], mask[:, :longest]
        states = self.lstm(self.emb(input_ids), lengths.to(input_ids.device), input_ids)
        if labels is None and self.config.labels_num > CANDIDATE_CHUNK:
            labels = torch.arange(self.config.labels_num, device=input_ids.device)
        # Label subsets (a tree level's candidates, chunks of many labels) give the products
        # thousands of row counts, each a new oneDNN kernel kept in its cache (tens of MB over a
        # long run): their rows are rounded. A small flat network's few shapes, and the one-label
        # passes of word ranking (cheap products, where the padding copy would weigh most), are not.
        round_rows = labels is not None and labels.shape[-1] > 1
        if labels is not None and labels.shape[-1] > CANDIDATE_CHUNK:
            # Labels a chunk at a time: each logit depends on its own attention row alone, and the
            # [B, L, T] attention of a tree's 2,048 top clusters or 1,280 beam candidates would take
            # 100 MB and more at once (a flat network with 100,000 labels: gigabytes).
            return torch.cat([self.linear(self.attention(states, mask, part, round_rows), round_rows)
                              for part in labels.split(CANDIDATE_CHUNK, dim=-1)], dim=1)
        return self.linear(self.attention(states, mask, labels, round_rows), round_rows)

    def load_checked_state_dict(self, state_dict: Mapping[str, torch.Tensor], source: str = "<state dict>") -> None:
        """Strict ``load_state_dict`` after a shape check whose error names ``source`` and the tensor.

        Usage::

            network.load_checked_state_dict(torch.load(path, weights_only=True), source=path)
        """
        check_state_dict(state_dict, self.config, source)
        self.load_state_dict(state_dict, strict=True)


def expected_shapes(config: AttentionXMLConfig) -> Dict[str, Tuple[int, ...]]:
    """The exact key -> shape table of a state dict for ``config``.

    Usage::

        expected_shapes(config)["attention.attention.weight"]  # (L, 2h)
    """
    h, layers = config.hidden_size, config.layers_num
    shapes: Dict[str, Tuple[int, ...]] = {
        "emb.emb.weight": (config.vocab_size, config.emb_size),
        "lstm.init_state": (4 * layers, 1, h),
    }
    for layer in range(layers):
        input_size = config.emb_size if layer == 0 else 2 * h
        for suffix in ("", "_reverse"):
            name = f"lstm.lstm.%s_l{layer}{suffix}"
            shapes[name % "weight_ih"] = (4 * h, input_size)
            shapes[name % "weight_hh"] = (4 * h, h)
            shapes[name % "bias_ih"] = (4 * h,)
            shapes[name % "bias_hh"] = (4 * h,)
    shapes["attention.attention.weight"] = (config.labels_num, 2 * h)
    sizes = [2 * h] + list(config.linear_size)
    for index, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes[f"linear.linear.{index}.weight"] = (b, a)
        shapes[f"linear.linear.{index}.bias"] = (b,)
    shapes["linear.output.weight"] = (1, sizes[-1])
    shapes["linear.output.bias"] = (1,)
    return shapes


def check_state_dict(state_dict: Mapping[str, torch.Tensor], config: AttentionXMLConfig, source: str) -> None:
    """Raise :class:`CheckpointError` naming ``source`` and the first problems found.

    Usage::

        check_state_dict(state, config, "models/AttentionXML-EUR-Lex")
    """
    problems = state_dict_problems(state_dict, expected_shapes(config))
    if problems:
        raise CheckpointError(
            f"{source}: not an AttentionXML state dict of the expected shapes "
            f"(config {config.to_dict()}): " + "; ".join(problems)
        )


def _shape(state_dict: Mapping[str, torch.Tensor], key: str, ndim: int, source: str) -> Tuple[int, ...]:
    if key not in state_dict:
        raise CheckpointError(f"{source}: missing key {key!r}; this is not an AttentionXML state dict "
                              f"(keys: {sorted(state_dict)[:8]}...)")
    shape = tuple(state_dict[key].shape)
    if len(shape) != ndim:
        raise CheckpointError(f"{source}: {key}: expected a {ndim}-d tensor, got shape {list(shape)}")
    return shape


def config_from_state_dict(state_dict: Mapping[str, torch.Tensor], source: str = "<state dict>") -> AttentionXMLConfig:
    """Read every size of the network off the tensor shapes, then check all of them.

    Usage::

        config = config_from_state_dict(torch.load(path, weights_only=True), source=path)
    """
    vocab_size, emb_size = _shape(state_dict, "emb.emb.weight", 2, source)
    states, _, hidden_size = _shape(state_dict, "lstm.init_state", 3, source)
    if states % 4:
        raise CheckpointError(f"{source}: lstm.init_state: expected [4 * layers, 1, h], got "
                              f"{list(state_dict['lstm.init_state'].shape)}")
    labels_num = _shape(state_dict, "attention.attention.weight", 2, source)[0]
    linear_keys = [key for key in state_dict if re.fullmatch(r"linear\.linear\.\d+\.weight", key)]
    linear_size = [
        _shape(state_dict, f"linear.linear.{index}.weight", 2, source)[0] for index in range(len(linear_keys))
    ]
    config = AttentionXMLConfig(
        vocab_size=vocab_size, emb_size=emb_size, hidden_size=hidden_size, layers_num=states // 4,
        linear_size=linear_size, labels_num=labels_num,
    )
    check_state_dict(state_dict, config, source)
    return config
