"""Train an APLC-XLNet victim on a :class:`~textattack_xmtc.datasets.corpus.Corpus`.

Two settings:

- ``pretrained=DIR`` (the paper's): fine-tune a local XLNet (``config.json``,
  ``pytorch_model.bin`` or ``model.safetensors``, ``spiece.model``; e.g.
  ``xlnet-base-cased``) with its own tokenizer, max length 512, and separate
  learning rates for the encoder, the sequence summary and the APLC head,
  as the original code does (its ``learning_rate_x`` / ``_h`` / ``_a``).
- no ``pretrained`` (no weights can be downloaded here): a small XLNet from
  scratch, on a SentencePiece model trained on the training texts with
  :func:`~textattack_xmtc.models.xlnet_tokenization.train_sentencepiece`
  (XLNet's special-piece ids), sizes in :data:`SCRATCH_SIZES`.

Labels are ordered by descending training frequency (ties by name), as the
original ``labels.txt``; the APLC clusters (``adaptive_cutoff``) are chosen
from those frequencies by :func:`choose_cutoffs` unless given. AdamW with
linear warmup and decay, gradient clipping, length-bucketed batches. The
loss is APLC's binary cross-entropy (``loss="bce"``) or a rebalanced variant
(``pw`` / ``pw-cb``, :mod:`textattack_xmtc.training.losses`) whose per-label
weights multiply the positive term of each label where APLC scores it: a
head label's in the head, a tail label's on its product probability in its
cluster (the cluster nodes themselves are not labels and stay unweighted).
Deterministic for a given seed on a given machine. Test labels that never
occur in training are ignored in the test metrics, as for AttentionXML.

Usage::

    wrapper, metrics = train_aplc_xlnet(load_corpus("reuters21578", "train"),
                                        load_corpus("reuters21578", "test"), epochs=8)
    wrapper.save("my-model")
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
import weakref
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..datasets.corpus import Corpus
from ..model_wrappers.aplc_xlnet import SPIECE_FILE, APLCXLNetWrapper
from ..models.aplc_xlnet import APLCXLNet, APLCXLNetConfig
from ..models.xlnet_tokenization import (
    XLNetInputBuilder,
    load_xlnet_tokenizer,
    pad_left,
    read_tokenizer_options,
    train_sentencepiece,
)
from .common import (batch_targets, continued_from, continued_network, label_index_lists, progress_bar,
                     seed_everything, train_epochs)
from .evaluation import finish_training
from .losses import DEFAULT_A, DEFAULT_B, DEFAULT_BETA, LossSettings

SCRATCH_SIZES = {
    "d_model": 128,
    "n_layer": 2,
    "n_head": 4,
    "d_inner": 512,
    "last_hidden_size": 128,
    "div_value": 2.0,
    "dropout": 0.1,
    "adaptive_cutoff": None,
}
"""Network sizes of a from-scratch model (``adaptive_cutoff=None``: :func:`choose_cutoffs`)."""

#: Sizes a pretrained encoder fixes; only the summary and the APLC head may be chosen.
HEAD_SIZES = ("last_hidden_size", "div_value", "adaptive_cutoff")

SCRATCH_TRAINING = {
    "epochs": 8, "batch_size": 32, "lr_encoder": 1e-3, "lr_summary": 1e-3, "lr_head": 2e-3,
    "max_length": 256, "train_max_length": 128, "vocab_size": 8000,
}
"""Training settings of a from-scratch model (a transformer from scratch needs a high lr).

With :data:`SCRATCH_SIZES` this is the built-in Reuters preset: ~6 minutes on 2 CPU cores
for test P@1 0.81.
"""

PRETRAINED_TRAINING = {
    "epochs": 12, "batch_size": 12, "lr_encoder": 5e-5, "lr_summary": 1e-4, "lr_head": 2e-3,
    "max_length": 512, "train_max_length": None, "vocab_size": None,
}
"""Fine-tuning settings, those of the original APLC-XLNet runs (xlnet-base-cased, 512 pieces)."""

WARMUP_FRACTION = 0.1
WEIGHT_DECAY = 0.01
GRADIENT_CLIP = 1.0
#: Cumulative share of label occurrences at which the head, then each tail cluster, is closed.
CUTOFF_MASS = (0.8, 0.95)


def label_order(train: Corpus) -> List[str]:
    """Training labels by descending frequency, ties by name (the original ``labels.txt`` order).

    Usage::

        label_order(Corpus(["a", "b"], [["x"], ["y", "x"]]))   # ['x', 'y']
    """
    counts = train.label_counts()
    return sorted(counts, key=lambda name: (-counts[name], name))


def choose_cutoffs(counts: Sequence[int], mass: Sequence[float] = CUTOFF_MASS) -> List[int]:
    """``adaptive_cutoff`` for labels with these (descending) training counts.

    The head keeps the most frequent labels until they hold ``mass[0]`` of
    all label occurrences; each further cluster closes at the next share;
    the rest form the last cluster. Frequent labels thus get the full-width
    head and rare ones the narrower tail networks, as APLC intends.

    Usage::

        choose_cutoffs([50, 30, 10, 5, 3, 2])   # [2, 4]: 80% of occurrences in the head
    """
    total = float(sum(counts))
    if total <= 0 or len(counts) < 2:
        return []
    cumulative = np.cumsum(np.asarray(counts, dtype=float)) / total
    cutoffs: List[int] = []
    for share in mass:
        cutoff = int(np.searchsorted(cumulative, share - 1e-9)) + 1
        if cutoff < len(counts) and (not cutoffs or cutoff > cutoffs[-1]):
            cutoffs.append(cutoff)
    return cutoffs


def _resolve(value, default):
    return default if value is None else value


def train_aplc_xlnet(
    train: Corpus,
    test: Optional[Corpus] = None,
    *,
    pretrained: Optional[str] = None,
    epochs: Optional[int] = None,
    batch_size: Optional[int] = None,
    lr_encoder: Optional[float] = None,
    lr_summary: Optional[float] = None,
    lr_head: Optional[float] = None,
    max_length: Optional[int] = None,
    train_max_length: Optional[int] = None,
    vocab_size: Optional[int] = None,
    loss: str = "bce",
    loss_a: float = DEFAULT_A,
    loss_b: float = DEFAULT_B,
    loss_beta: float = DEFAULT_BETA,
    init_from: Optional[APLCXLNetWrapper] = None,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    log: Callable[[str], None] = print,
    **sizes,
) -> Tuple[APLCXLNetWrapper, Dict[str, float]]:
    """Train APLC-XLNet on ``train`` (from ``pretrained`` or from scratch); evaluate on ``test`` when given.

    Unset training settings take :data:`PRETRAINED_TRAINING` or
    :data:`SCRATCH_TRAINING` values. ``sizes`` set the network
    (:data:`SCRATCH_SIZES`; with ``pretrained`` only ``last_hidden_size``,
    ``div_value`` and ``adaptive_cutoff``, the encoder's sizes being fixed,
    and ``dropout``). ``max_length`` is the saved model's input length in
    pieces (what it reads at attack time); ``train_max_length`` (default
    ``max_length``) truncates training texts only, to train faster.
    ``vocab_size`` bounds the SentencePiece model trained from scratch.
    ``loss`` is ``bce``, ``pw`` or ``pw-cb`` with ``loss_a`` / ``loss_b`` /
    ``loss_beta`` (:mod:`~textattack_xmtc.training.losses`), recorded in
    ``wrapper.training["loss"]``. ``init_from`` continues training a saved
    model (fine-tuning: its network, tokenizer, input length, label order
    and clusters are kept, so ``pretrained``, ``vocab_size``, ``max_length``
    and the sizes do not apply; every training label must be one of its labels).
    Returns the wrapper (on ``device``, eval mode) and a metrics dict (test
    P@k / nDCG@k / PSP@k, timings).

    Usage::

        wrapper, metrics = train_aplc_xlnet(train, test, pretrained="xlnet-base-cased", epochs=3)
        wrapper, metrics = train_aplc_xlnet(train, test, loss="pw", loss_a=0.5)
    """
    allowed = set(HEAD_SIZES) | {"dropout"} if pretrained else set(SCRATCH_SIZES)
    unknown = sorted(set(sizes) - allowed)
    if unknown:
        raise TypeError(f"unknown or fixed APLC-XLNet settings {unknown}"
                        f"{' (the pretrained encoder fixes them)' if pretrained else ''}; known: {sorted(allowed)}")
    if not len(train):
        raise ValueError("the training corpus is empty")
    settings = LossSettings(loss, loss_a, loss_b, loss_beta)
    defaults = PRETRAINED_TRAINING if pretrained else SCRATCH_TRAINING
    epochs = _resolve(epochs, defaults["epochs"])
    batch_size = _resolve(batch_size, defaults["batch_size"])
    lrs = {"encoder": _resolve(lr_encoder, defaults["lr_encoder"]),
           "summary": _resolve(lr_summary, defaults["lr_summary"]),
           "head": _resolve(lr_head, defaults["lr_head"])}
    max_length = int(_resolve(max_length, defaults["max_length"]))
    cut = int(train_max_length or defaults["train_max_length"] or max_length)
    cut = min(cut, max_length)

    started = time.perf_counter()
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    counts = train.label_counts()
    if init_from is not None:
        if pretrained or sizes:
            raise TypeError("--pretrained and the network sizes are fixed by the model trained on")
        labels, inputs, network = list(init_from.labels), init_from.inputs, continued_network(init_from, train)
        cut = min(cut, inputs.max_length)
    else:
        labels = label_order(train)
        network, inputs = _new_network(train, labels, counts, pretrained, sizes, max_length, vocab_size, defaults,
                                       log)
    network.to(device)

    train_inputs = XLNetInputBuilder(inputs.tokenizer, max_length=cut)
    encoded = [train_inputs.ids(text)
               for text in progress_bar(train.texts, progress, desc="tokenizing", unit="doc", leave=False)]
    targets = label_index_lists(train.labels, labels)
    # In label order, which is the network's output order: aplc_loss hands the head its first
    # cutoff0 weights and each tail cluster the weights of its label range.
    pos_weight = settings.pos_weight([counts.get(name, 0) for name in labels], len(train))
    prepared = time.perf_counter()

    losses = _fit(network, encoded, targets, pos_weight, epochs, batch_size, lrs, rng, device, progress)
    trained = time.perf_counter()

    training = {
        "data": train.name or train.source, "documents": len(train), "epochs": epochs,
        "batch_size": batch_size, "lr_encoder": lrs["encoder"], "lr_summary": lrs["summary"],
        "lr_head": lrs["head"], "train_max_length": cut, "seed": seed,
        "pretrained": str(pretrained) if pretrained else None, "loss": settings.record(),
        "final_loss": losses[-1] if losses else None,
    }
    if init_from is not None:
        training["init_from"] = continued_from(init_from)
    wrapper = APLCXLNetWrapper(network.eval(), inputs, labels,
                               source=f"APLC-XLNet trained on {training['data']}", training=training)
    return wrapper, finish_training(wrapper, train, test, "APLC-XLNet", started, prepared, trained, progress, log)


def _new_network(train: Corpus, labels: List[str], counts, pretrained: Optional[str], sizes: dict, max_length: int,
                 vocab_size: Optional[int], defaults: dict, log: Callable[[str], None]
                 ) -> Tuple[APLCXLNet, XLNetInputBuilder]:
    """A new APLC-XLNet for ``labels`` (in this order): on a pretrained XLNet, or from scratch with its own
    SentencePiece model trained on ``train``."""
    cutoffs = sizes.get("adaptive_cutoff")
    if cutoffs is None:
        cutoffs = choose_cutoffs([counts[name] for name in labels])
    if pretrained:
        network, inputs = _from_pretrained(Path(pretrained).expanduser(), labels, cutoffs, sizes, max_length)
    else:
        vocab = int(_resolve(vocab_size, defaults["vocab_size"]))
        log(f"Training a SentencePiece model (at most {vocab} pieces) on {len(train)} texts")
        spiece = train_sentencepiece(train.texts, Path(tempfile.mkdtemp(prefix="aplc-spiece-")) / SPIECE_FILE,
                                     vocab_size=vocab)
        tokenizer = load_xlnet_tokenizer(spiece)
        # The tokenizer re-reads its file when copied or pickled: keep the file as long as it lives.
        weakref.finalize(tokenizer, shutil.rmtree, str(spiece.parent), ignore_errors=True)
        inputs = XLNetInputBuilder(tokenizer, max_length=max_length)
        config = APLCXLNetConfig(
            num_labels=len(labels), adaptive_cutoff=cutoffs, n_token=inputs.vocab_size,
            **{key: value for key, value in {**SCRATCH_SIZES, **sizes}.items() if key != "adaptive_cutoff"},
            source="train_aplc_xlnet sizes",
        )
        network = APLCXLNet(config)
    return network, inputs


PRETRAINED_WEIGHTS = ("pytorch_model.bin", "model.safetensors")


def check_pretrained_directory(directory: Path) -> None:
    """Refuse, naming the file, a ``--pretrained`` directory that is not a local XLNet.

    Usage::

        check_pretrained_directory(Path("xlnet-base-cased"))  # raises FileNotFoundError / ValueError
    """
    expected = "--pretrained must be a local XLNet directory (config.json, pytorch_model.bin or " \
               "model.safetensors, spiece.model), e.g. a copy of xlnet-base-cased"
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory: {expected}")
    for name in ("config.json", SPIECE_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} not found: {expected}")
    if not any((directory / name).is_file() for name in PRETRAINED_WEIGHTS):
        raise FileNotFoundError(f"{directory} holds no weights ({' or '.join(PRETRAINED_WEIGHTS)}): {expected}")
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{directory / 'config.json'}: not JSON ({error})") from None
    if not isinstance(config, dict) or config.get("model_type") != "xlnet":
        found = config.get("model_type") if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"{directory / 'config.json'}: model_type is {found!r}, not 'xlnet': {expected}")


def check_train_options(options: dict) -> None:
    """What ``train`` checks before reading any data: a ``--pretrained`` directory must be a local XLNet.

    Usage::

        check_train_options({"pretrained": "xlnet-base-cased"})   # raises FileNotFoundError / ValueError
    """
    if options.get("pretrained"):
        check_pretrained_directory(Path(options["pretrained"]).expanduser())


def _from_pretrained(directory: Path, labels: Sequence[str], cutoffs: Sequence[int], sizes: dict,
                     max_length: int) -> Tuple[APLCXLNet, XLNetInputBuilder]:
    """An APLC-XLNet whose encoder holds the weights of the XLNet saved in ``directory``."""
    from transformers import XLNetConfig, XLNetModel

    check_pretrained_directory(directory)
    xlnet = XLNetConfig.from_pretrained(str(directory))
    inputs = XLNetInputBuilder(load_xlnet_tokenizer(directory / SPIECE_FILE, read_tokenizer_options(directory)),
                               max_length=max_length)
    config = APLCXLNetConfig(
        num_labels=len(labels), adaptive_cutoff=list(cutoffs), n_token=xlnet.vocab_size,
        d_model=xlnet.d_model, n_layer=xlnet.n_layer, n_head=xlnet.n_head, d_inner=xlnet.d_inner,
        ff_activation=xlnet.ff_activation, untie_r=xlnet.untie_r, attn_type=xlnet.attn_type,
        bi_data=xlnet.bi_data, clamp_len=xlnet.clamp_len, same_length=xlnet.same_length,
        layer_norm_eps=xlnet.layer_norm_eps, dropout=sizes.get("dropout", xlnet.dropout),
        initializer_range=xlnet.initializer_range,
        # The original summary projects d_model -> d_model (768 for xlnet-base-cased).
        last_hidden_size=sizes.get("last_hidden_size", xlnet.d_model),
        div_value=sizes.get("div_value", 2.0), source=str(directory / "config.json"),
    )
    network = APLCXLNet(config)
    # XLNetModel.from_pretrained also reads XLNetLMHeadModel checkpoints ("transformer." prefix).
    encoder = XLNetModel.from_pretrained(str(directory))
    network.transformer.load_state_dict(encoder.state_dict(), strict=True)
    return network, inputs


def _parameter_groups(network: APLCXLNet, lrs: Dict[str, float]) -> List[dict]:
    """AdamW groups: encoder / summary / APLC head, each with its lr; no decay on biases and norms."""
    parts = {"encoder": "transformer.", "summary": "sequence_summary.", "head": "AdaptiveMultiLabel."}
    groups = []
    for part, prefix in parts.items():
        decay, no_decay = [], []
        for name, parameter in network.named_parameters():
            if name.startswith(prefix):
                # Biases, LayerNorms and XLNet's relative-position biases (r_*_bias, 1-d) are not decayed.
                (no_decay if parameter.dim() < 2 or "layer_norm" in name else decay).append(parameter)
        groups.append({"params": decay, "lr": lrs[part], "weight_decay": WEIGHT_DECAY, "name": part})
        groups.append({"params": no_decay, "lr": lrs[part], "weight_decay": 0.0, "name": f"{part}-no-decay"})
    return [group for group in groups if group["params"]]


def _fit(network: APLCXLNet, encoded: List[List[int]], targets: List[np.ndarray], pos_weight: Optional[torch.Tensor],
         epochs: int, batch_size: int, lrs: Dict[str, float], rng: np.random.Generator, device: str,
         progress: bool) -> List[float]:
    """AdamW with linear warmup and decay per parameter group; returns the mean loss of every epoch."""
    weight = pos_weight.to(device) if pos_weight is not None else None
    optimizer = torch.optim.AdamW(_parameter_groups(network, lrs))
    lengths = np.array([len(ids) for ids in encoded])
    steps_per_epoch = math.ceil(len(encoded) / batch_size)
    total_steps = max(1, steps_per_epoch * epochs)
    warmup = max(1, int(WARMUP_FRACTION * total_steps))

    def schedule(step: int) -> float:
        # Linear warmup then linear decay to 0: a from-scratch transformer diverges without the warmup.
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)

    def batch_loss(rows: np.ndarray) -> torch.Tensor:
        batch = {key: value.to(device) for key, value in pad_left([encoded[i] for i in rows]).items()}
        # Each document's label indices, made dense for this batch only (never an [N, L] matrix).
        dense = batch_targets(targets, rows, network.config.num_labels).to(device)
        return network.loss(network.scores(**batch), dense, weight)

    return train_epochs(network, optimizer, batch_loss, lengths, epochs=epochs, batch_size=batch_size, rng=rng,
                        progress=progress, clip=GRADIENT_CLIP, scheduler=scheduler, rate="learning rates")
