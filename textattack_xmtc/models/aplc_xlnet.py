"""The APLC-XLNet network (Ye et al., ICML 2020), laid out like the original checkpoints.

XLNet -> the hidden state at the LAST position (``<cls>``; inputs are
left-padded) -> ``Linear(d_model, last_hidden_size)`` and tanh -> Adaptive
Probabilistic Label Clusters (APLC): a head scoring the ``cutoff0`` most
frequent labels plus one node per cluster of rarer labels, and one small
network per cluster scoring that cluster's labels:

- head label j:              ``p_j = sigmoid(head_j)``
- label k of tail cluster i: ``p_k = sigmoid(head[cutoff0 + i]) * sigmoid(tail_i[k])``

(adv-xmtc applies a second sigmoid on top of these probabilities; we do not.)

Parameter names match the original ``pytorch_model.bin`` exactly, so it loads
with ``load_state_dict(strict=True)`` (DESIGN.md section 5):

=============================================  ==========================================
key                                            shape
=============================================  ==========================================
``transformer.*``                              ``transformers.XLNetModel`` names
``sequence_summary.summary.{weight,bias}``     [last_hidden_size, d_model], [last_hidden_size]
``AdaptiveMultiLabel.head.weight``             [cutoff0 + n_clusters, last_hidden_size]
``AdaptiveMultiLabel.tail.<i>.0.weight``       [h_i, last_hidden_size]
``AdaptiveMultiLabel.tail.<i>.1.{weight,bias}``  [h_i] (LayerNorm, eps 1e-5)
``AdaptiveMultiLabel.tail.<i>.3.weight``       [size of cluster i, h_i]
=============================================  ==========================================

with ``h_i = int(last_hidden_size // div_value ** (i + 1))`` (index 2 is a ReLU).

Usage::

    config = APLCXLNetConfig.from_json_file("checkpoint/config.json")
    network = APLCXLNet(config).eval()
    network.load_checked_state_dict(load_original_state_dict("checkpoint/pytorch_model.bin"),
                                    source="checkpoint/pytorch_model.bin")
    probabilities = network(**builder.encode_batch(texts))   # [B, L]
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import CheckpointError, ModelLoadError
from .fields import typed_fields
from .state_dicts import check_finite, state_dict_problems

PathLike = Union[str, os.PathLike]

#: The original's "gelu" is the tanh approximation, which transformers now calls "gelu_new".
_ACTIVATION_ALIASES = {"gelu": "gelu_new"}
#: Original config.json keys this class reads; any other key is kept verbatim in ``extra``.
_XLNET_FIELDS = ("d_model", "n_layer", "n_head", "d_inner", "ff_activation", "untie_r", "attn_type",
                 "bi_data", "clamp_len", "same_length", "layer_norm_eps", "dropout", "initializer_range",
                 "summary_last_dropout")

#: The kind of every config.json value this class reads (models.fields.typed_fields).
_CONFIG_FIELD_KINDS = {
    "num_labels": "positive_int", "adaptive_cutoff": "positive_ints", "last_hidden_size": "positive_int",
    "div_value": "number", "n_token": "positive_int", "vocab_size": "positive_int", "d_model": "positive_int",
    "n_layer": "positive_int", "n_head": "positive_int", "d_head": "positive_int", "d_inner": "positive_int",
    "ff_activation": "str", "untie_r": "bool", "attn_type": "str", "bi_data": "bool", "clamp_len": "int",
    "same_length": "bool", "layer_norm_eps": "number", "dropout": "fraction", "initializer_range": "number",
    "summary_last_dropout": "fraction",
}

#: Summary settings every APLC-XLNet checkpoint has; the network implements only these.
_FIXED_FIELDS = {"summary_type": "last", "summary_use_proj": True, "summary_activation": "tanh"}


@dataclasses.dataclass
class APLCXLNetConfig:
    """The original APLC-XLNet ``config.json``: XLNet sizes plus the label clusters.

    ``adaptive_cutoff`` lists the cluster boundaries in label order (labels
    are sorted by descending training frequency); ``num_labels`` is the
    implicit last boundary. ``extra`` keeps every other key of the file
    (``id2label``, ``finetuning_task``, ...) so that writing it back loses
    nothing.

    Usage::

        config = APLCXLNetConfig(num_labels=3956, adaptive_cutoff=[100, 300], n_token=32000)
        config.cutoffs   # [100, 300, 3956]
    """

    num_labels: int
    adaptive_cutoff: List[int]
    div_value: float = 2.0
    last_hidden_size: int = 768
    n_token: int = 32000
    d_model: int = 768
    n_layer: int = 12
    n_head: int = 12
    d_inner: int = 3072
    ff_activation: str = "gelu"
    untie_r: bool = True
    attn_type: str = "bi"
    bi_data: bool = False
    clamp_len: int = -1
    same_length: bool = False
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    initializer_range: float = 0.02
    summary_last_dropout: float = 0.1
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)
    #: Where the values came from, for error messages only (not stored).
    source: dataclasses.InitVar[str] = "APLCXLNetConfig"

    def __post_init__(self, source: str):
        self.adaptive_cutoff = [int(cutoff) for cutoff in self.adaptive_cutoff]
        self.validate(source)

    # -------------------------------------------------------------- derived sizes

    @property
    def cutoffs(self) -> List[int]:
        """Cluster boundaries ending at ``num_labels`` (added unless already the last cutoff)."""
        cutoffs = list(self.adaptive_cutoff)
        if not cutoffs or cutoffs[-1] != self.num_labels:
            cutoffs.append(self.num_labels)
        return cutoffs

    @property
    def n_clusters(self) -> int:
        return len(self.cutoffs) - 1

    @property
    def cluster_sizes(self) -> List[int]:
        cutoffs = self.cutoffs
        return [high - low for low, high in zip(cutoffs[:-1], cutoffs[1:])]

    @property
    def tail_hidden_sizes(self) -> List[int]:
        # The original divides with a float div_value and floors: keep exactly that arithmetic.
        return [int(self.last_hidden_size // self.div_value ** (index + 1)) for index in range(self.n_clusters)]

    def validate(self, source: str = "config") -> None:
        """Raise :class:`ModelLoadError` naming ``source`` when the sizes cannot describe a network."""
        cutoffs = self.adaptive_cutoff
        if self.num_labels < 1:
            raise ModelLoadError(f"{source}: num_labels must be positive, got {self.num_labels}")
        if cutoffs != sorted(set(cutoffs)) or (cutoffs and (cutoffs[0] < 1 or cutoffs[-1] > self.num_labels)):
            raise ModelLoadError(f"{source}: adaptive_cutoff {cutoffs} must be increasing, distinct and "
                                 f"between 1 and num_labels ({self.num_labels})")
        if any(size < 1 for size in self.tail_hidden_sizes):
            raise ModelLoadError(f"{source}: last_hidden_size {self.last_hidden_size} / div_value "
                                 f"{self.div_value} leaves a tail cluster with no hidden units "
                                 f"({self.tail_hidden_sizes})")
        if self.d_model % self.n_head:
            raise ModelLoadError(f"{source}: d_model {self.d_model} is not a multiple of n_head {self.n_head}")

    # -------------------------------------------------------------- transformers config

    def xlnet_config(self):
        """The ``transformers.XLNetConfig`` of the encoder: no memory, original activation numerics.

        Usage::

            XLNetModel(config.xlnet_config())
        """
        from transformers import XLNetConfig

        return XLNetConfig(
            vocab_size=self.n_token, d_model=self.d_model, n_layer=self.n_layer, n_head=self.n_head,
            d_inner=self.d_inner, ff_activation=_ACTIVATION_ALIASES.get(self.ff_activation, self.ff_activation),
            untie_r=self.untie_r, attn_type=self.attn_type, bi_data=self.bi_data, clamp_len=self.clamp_len,
            same_length=self.same_length, layer_norm_eps=self.layer_norm_eps, dropout=self.dropout,
            initializer_range=self.initializer_range,
            # No mems: each document is read on its own, as the original classifier does.
            mem_len=None, reuse_len=None, use_mems_eval=False, use_mems_train=False,
        )

    # -------------------------------------------------------------- config.json

    def to_dict(self) -> Dict[str, Any]:
        """The original ``config.json`` layout (no ``model_type``), ``extra`` keys included."""
        values = dict(self.extra)
        values.update({field: getattr(self, field) for field in _XLNET_FIELDS})
        values.update({
            "n_token": self.n_token, "d_head": self.d_model // self.n_head, "mem_len": None,
            "num_labels": self.num_labels, "adaptive_cutoff": list(self.adaptive_cutoff),
            "div_value": self.div_value, "last_hidden_size": self.last_hidden_size,
        })
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "config") -> "APLCXLNetConfig":
        """Read an original ``config.json`` dict; errors name ``source`` and the field.

        Usage::

            APLCXLNetConfig.from_dict(json.load(open("config.json")), source="config.json")
        """
        values = dict(values)
        for field in ("adaptive_cutoff", "last_hidden_size"):
            if field not in values:
                raise ModelLoadError(f"{source}: no {field!r}; not an APLC-XLNet config")
        # int(True) == 1, int(2.9) == 2, int("7") == 7: refuse such values instead of reading another model.
        typed_fields(values, _CONFIG_FIELD_KINDS, source)
        n_token = values.pop("n_token", values.pop("vocab_size", None))
        values.pop("vocab_size", None)
        num_labels = values.pop("num_labels", None)
        if num_labels is None and isinstance(values.get("id2label"), dict):
            num_labels = len(values["id2label"])
        if num_labels is None:
            raise ModelLoadError(f"{source}: no 'num_labels' (nor id2label)")
        for field, supported in _FIXED_FIELDS.items():
            if values.get(field, supported) != supported:
                raise ModelLoadError(f"{source}: {field} {values[field]!r} is not supported; APLC-XLNet "
                                     f"uses {supported!r}")
        d_head = values.pop("d_head", None)
        values.pop("mem_len", None)  # always run without memory
        known = {field: values.pop(field) for field in _XLNET_FIELDS + ("div_value",) if field in values}
        try:
            config = cls(
                num_labels=int(num_labels), adaptive_cutoff=list(values.pop("adaptive_cutoff")),
                last_hidden_size=int(values.pop("last_hidden_size")),
                n_token=int(n_token) if n_token is not None else cls.n_token, extra=values, source=source,
                **known,
            )
        except ModelLoadError:
            raise
        except (TypeError, ValueError) as error:
            raise ModelLoadError(f"{source}: bad APLC-XLNet config ({error})") from error
        if d_head is not None and int(d_head) != config.d_model // config.n_head:
            raise ModelLoadError(f"{source}: d_head {d_head} is not d_model / n_head "
                                 f"({config.d_model} / {config.n_head})")
        return config

    @classmethod
    def from_json_file(cls, path: PathLike) -> "APLCXLNetConfig":
        """Read ``config.json``.

        Usage::

            config = APLCXLNetConfig.from_json_file("checkpoint/config.json")
        """
        path = Path(path)
        if not path.is_file():
            raise ModelLoadError(f"APLC-XLNet config not found: {path}")
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ModelLoadError(f"{path}: not valid JSON ({error})") from error
        if not isinstance(values, dict):
            raise ModelLoadError(f"{path}: expected a JSON object")
        return cls.from_dict(values, source=str(path))

    def to_json_file(self, path: PathLike) -> None:
        """Write ``config.json`` in the original layout.

        Usage::

            config.to_json_file("my-model/config.json")
        """
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


class APLCOutput(NamedTuple):
    """Raw APLC scores: ``head_logits`` [B, cutoff0 + n_clusters], one ``[B, size_i]`` tail logit per cluster.

    Usage::

        output = network.scores(**batch); output.head_logits, output.tail_logits[0]
    """

    head_logits: torch.Tensor
    tail_logits: List[torch.Tensor]


class SequenceSummary(nn.Module):
    """``summary`` = Linear(d_model -> last_hidden_size) on the LAST position, then tanh and dropout.

    Usage::

        features = SequenceSummary(768, 768, 0.1)(hidden_states)   # [B, T, 768] -> [B, 768]
    """

    def __init__(self, d_model: int, last_hidden_size: int, dropout: float):
        super().__init__()
        self.summary = nn.Linear(d_model, last_hidden_size)
        self.last_dropout = nn.Dropout(dropout)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        # Inputs are left-padded, so the last position is every row's <cls>.
        return self.last_dropout(torch.tanh(self.summary(hidden_states[:, -1])))


class AdaptiveMultiLabel(nn.Module):
    """The APLC output layer: ``head`` plus one bottleneck network per tail cluster.

    Usage::

        layer = AdaptiveMultiLabel(768, cutoffs=[100, 300, 3956], div_value=2.0)
        probabilities = layer.probabilities(layer(features))   # [B, 3956]
    """

    def __init__(self, in_features: int, cutoffs: Sequence[int], div_value: float = 2.0):
        super().__init__()
        self.cutoffs = list(cutoffs)
        shortlist, clusters = self.cutoffs[0], len(self.cutoffs) - 1
        self.head = nn.Linear(in_features, shortlist + clusters, bias=False)
        self.tail = nn.ModuleList()
        for index in range(clusters):
            hidden = int(in_features // div_value ** (index + 1))
            size = self.cutoffs[index + 1] - self.cutoffs[index]
            self.tail.append(nn.Sequential(
                nn.Linear(in_features, hidden, bias=False),
                nn.LayerNorm(hidden, eps=1e-5),
                nn.ReLU(),
                nn.Linear(hidden, size, bias=False),
            ))

    @property
    def shortlist_size(self) -> int:
        return self.cutoffs[0]

    def forward(self, features: torch.Tensor) -> APLCOutput:
        return APLCOutput(self.head(features), [tail(features) for tail in self.tail])

    def probabilities(self, output: APLCOutput) -> torch.Tensor:
        """``[B, L]`` probabilities in label order (a product of sigmoids, as the original computes them)."""
        head = torch.sigmoid(output.head_logits)
        parts = [head[:, :self.shortlist_size]]
        for index, tail in enumerate(output.tail_logits):
            root = head[:, self.shortlist_size + index].unsqueeze(1)
            parts.append(root * torch.sigmoid(tail))
        return torch.cat(parts, dim=1)

    def log_probabilities(self, output: APLCOutput) -> torch.Tensor:
        """``[B, L]`` log-probabilities, exact where probabilities underflow to 0."""
        head = F.logsigmoid(output.head_logits)
        parts = [head[:, :self.shortlist_size]]
        for index, tail in enumerate(output.tail_logits):
            root = head[:, self.shortlist_size + index].unsqueeze(1)
            parts.append(root + F.logsigmoid(tail))
        return torch.cat(parts, dim=1)

    def loss(self, output: APLCOutput, targets: torch.Tensor,
             pos_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The APLC training loss (see :func:`aplc_loss`)."""
        return aplc_loss(output, targets, self.cutoffs, pos_weight)


def aplc_loss(output: APLCOutput, targets: torch.Tensor, cutoffs: Sequence[int],
              pos_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Binary cross-entropy of the APLC output, averaged per document then over the batch.

    ``targets`` is a ``[B, L]`` 0/1 float tensor in label order. A cluster
    node's target is 1 iff the document has a label in that cluster. For
    each document the terms are, as in the original code:

    - every head (shortlist) label: BCE of ``sigmoid(head_j)``;
    - a cluster the document has no label in: BCE of its node ``sigmoid(head[cutoff0+i])``
      against 0 (the tail is not trained on that document);
    - a cluster the document has a label in: BCE of each of the cluster's
      label probabilities ``sigmoid(node) * sigmoid(tail)`` against the targets
      (the node itself learns through the product, so its own head term is
      dropped);

    and the document's loss is their sum divided by their number. The
    original uses ``BCELoss`` on the product (log clamped at -100); here
    ``log(1 - sigmoid(a) sigmoid(b))`` is computed in a stable closed form.

    ``pos_weight`` ([L], optional) multiplies the positive term of each
    label, as ``BCEWithLogitsLoss(pos_weight=...)`` does (for re-balanced
    losses); the normalisation is unchanged.

    Usage::

        loss = aplc_loss(network.scores(**batch), targets, network.config.cutoffs)
    """
    shortlist = cutoffs[0]
    head = output.head_logits
    targets = targets.to(head.dtype)
    weight = pos_weight[:shortlist] if pos_weight is not None else None
    total = F.binary_cross_entropy_with_logits(head[:, :shortlist], targets[:, :shortlist],
                                               pos_weight=weight, reduction="none").sum(dim=1)
    count = torch.full_like(total, float(shortlist))
    for index, tail in enumerate(output.tail_logits):
        low, high = cutoffs[index], cutoffs[index + 1]
        cluster_targets = targets[:, low:high]
        positive = cluster_targets.sum(dim=1) > 0
        node = head[:, shortlist + index]
        # -log(1 - sigmoid(node)) = softplus(node): the node's BCE against target 0.
        total = total + torch.where(positive, torch.zeros_like(node), F.softplus(node))
        count = count + torch.where(positive, torch.full_like(node, float(high - low)), torch.ones_like(node))
        weight = pos_weight[low:high] if pos_weight is not None else None
        product_bce = _product_bce(node.unsqueeze(1), tail, cluster_targets, weight).sum(dim=1)
        total = total + torch.where(positive, product_bce, torch.zeros_like(product_bce))
    return (total / count).mean()


def _product_bce(a: torch.Tensor, b: torch.Tensor, targets: torch.Tensor,
                 pos_weight: Optional[torch.Tensor]) -> torch.Tensor:
    """Elementwise BCE of ``p = sigmoid(a) * sigmoid(b)`` against ``targets``, computed in log space.

    ``log p = -softplus(-a) - softplus(-b)`` and
    ``log(1 - p) = logsumexp(-a, -b, -a - b) - softplus(-a) - softplus(-b)``.
    """
    a, b = torch.broadcast_tensors(a, b)
    log_denominator = F.softplus(-a) + F.softplus(-b)
    log_p = -log_denominator
    log_not_p = torch.logsumexp(torch.stack([-a, -b, -a - b]), dim=0) - log_denominator
    positive = targets * log_p
    if pos_weight is not None:
        positive = positive * pos_weight
    return -(positive + (1 - targets) * log_not_p)


class APLCXLNet(nn.Module):
    """APLC-XLNet: ``forward(input_ids, attention_mask, token_type_ids) -> probabilities [B, L]``.

    Inputs come from :class:`~textattack_xmtc.models.xlnet_tokenization.XLNetInputBuilder`
    (left-padded, ending in ``<sep>`` ``<cls>``). ``inputs_embeds`` may replace
    ``input_ids`` (gradients with respect to the word embeddings).

    Usage::

        network = APLCXLNet(config).eval()
        probabilities = network(**builder.encode_batch(texts))
        loss = network.loss(network.scores(**batch), targets)
    """

    def __init__(self, config: APLCXLNetConfig):
        super().__init__()
        from transformers import XLNetModel

        self.config = config
        self.transformer = XLNetModel(config.xlnet_config())
        self.sequence_summary = SequenceSummary(config.d_model, config.last_hidden_size,
                                                config.summary_last_dropout)
        self.AdaptiveMultiLabel = AdaptiveMultiLabel(config.last_hidden_size, config.cutoffs, config.div_value)

    def features(self, input_ids: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
                 token_type_ids: Optional[torch.Tensor] = None,
                 inputs_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The document vector ``[B, last_hidden_size]`` the APLC layer reads."""
        if attention_mask is not None:
            # XLNet computes 1 - mask in the model's dtype: hand it a float mask.
            dtype = inputs_embeds.dtype if inputs_embeds is not None else self.transformer.word_embedding.weight.dtype
            attention_mask = attention_mask.to(dtype)
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                                  inputs_embeds=inputs_embeds, use_mems=False, return_dict=True).last_hidden_state
        return self.sequence_summary(hidden)

    def scores(self, input_ids: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
               token_type_ids: Optional[torch.Tensor] = None,
               inputs_embeds: Optional[torch.Tensor] = None) -> APLCOutput:
        """Head and tail logits (what :meth:`loss` takes)."""
        return self.AdaptiveMultiLabel(self.features(input_ids, attention_mask, token_type_ids, inputs_embeds))

    def forward(self, input_ids: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None,
                inputs_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.AdaptiveMultiLabel.probabilities(
            self.scores(input_ids, attention_mask, token_type_ids, inputs_embeds))

    def log_probabilities(self, input_ids: Optional[torch.Tensor] = None,
                          attention_mask: Optional[torch.Tensor] = None,
                          token_type_ids: Optional[torch.Tensor] = None,
                          inputs_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``[B, L]`` log-probabilities (same order as :meth:`forward`)."""
        return self.AdaptiveMultiLabel.log_probabilities(
            self.scores(input_ids, attention_mask, token_type_ids, inputs_embeds))

    def loss(self, output: APLCOutput, targets: torch.Tensor,
             pos_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The APLC training loss of :meth:`scores` output against ``[B, L]`` targets (:func:`aplc_loss`)."""
        return aplc_loss(output, targets, self.config.cutoffs, pos_weight)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.transformer.word_embedding

    def load_checked_state_dict(self, state_dict: Mapping[str, torch.Tensor],
                                source: str = "<state dict>") -> None:
        """Strict ``load_state_dict`` after a check whose error names ``source`` and each bad tensor.

        Usage::

            network.load_checked_state_dict(load_original_state_dict(path), source=str(path))
        """
        check_state_dict(state_dict, expected_shapes(self), source, self.config)
        self.load_state_dict(state_dict, strict=True)


def expected_shapes(network: nn.Module) -> Dict[str, tuple]:
    """Key -> shape of every tensor a checkpoint of ``network`` must hold.

    Usage::

        expected_shapes(network)["AdaptiveMultiLabel.head.weight"]   # (cutoff0 + n_clusters, lh)
    """
    return {key: tuple(value.shape) for key, value in network.state_dict().items()}


def check_state_dict(state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, tuple], source: str,
                     config: Optional[APLCXLNetConfig] = None) -> None:
    """Raise :class:`CheckpointError` naming ``source``, missing/unexpected keys and shape mismatches.

    Usage::

        check_state_dict(state, expected_shapes(network), "checkpoint/pytorch_model.bin")
    """
    problems = state_dict_problems(state_dict, expected)
    if problems:
        described = ""
        if config is not None:
            described = (f" (config: n_token {config.n_token}, d_model {config.d_model}, n_layer {config.n_layer}, "
                         f"last_hidden_size {config.last_hidden_size}, cutoffs {config.cutoffs}, "
                         f"div_value {config.div_value})")
        raise CheckpointError(f"{source}: not an APLC-XLNet state dict of the expected shapes{described}: "
                              + "; ".join(problems))


def load_original_state_dict(path: PathLike) -> Dict[str, torch.Tensor]:
    """Read a ``pytorch_model.bin`` (zip or legacy torch<1.6 format) without unpickling code.

    ``weights_only=True`` refuses anything but tensors and plain containers.
    Keys saved from ``nn.DataParallel`` (``module.`` prefix) are unwrapped. A
    tensor holding NaN or infinite values is refused, naming the file and the tensor.

    Usage::

        state = load_original_state_dict("checkpoint/pytorch_model.bin")
    """
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"APLC-XLNet weights not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for files it cannot read
        raise CheckpointError(f"{path}: cannot be read as a plain torch state dict ({error})") from error
    if not isinstance(state, Mapping) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise CheckpointError(f"{path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    state = dict(state)
    if state and all(key.startswith("module.") for key in state):
        state = {key[len("module."):]: value for key, value in state.items()}
    check_finite(state, path)
    return state


def embedding_rows(state_dict: Mapping[str, torch.Tensor]) -> Optional[int]:
    """Rows of ``transformer.word_embedding.weight`` (the real n_token), if present.

    Usage::

        n_token = embedding_rows(state) or config.n_token
    """
    weight = state_dict.get("transformer.word_embedding.weight")
    return int(weight.shape[0]) if weight is not None and weight.dim() == 2 else None
