"""The one table of victim architectures: how each is found on disk, loaded, trained, its
``train`` options and its built-in models.

Everything that depends on the architecture reads this table: ``load_victim``
and ``is_victim`` (which formats exist, in what order they are tried, what the
"not a model" message lists), ``xmtc_model.json`` dispatch, the built-in model
cache, and ``textattack-xmtc train`` (``--architecture`` choices, the option
groups, which options belong to which architecture, the per-architecture
defaults in ``--help``). Importing this module imports nothing heavy: code is
named by ``"module:attribute"`` references and imported on first use.

Adding a victim is one module plus one entry: write
``model_wrappers/<name>.py`` (the wrapper class, a ``find_*`` function for
each on-disk format) and append an :class:`Architecture` to
:data:`ARCHITECTURES`. A format whose ``load`` is ``None`` is recognised but
not supported yet: ``load_victim`` says so instead of "not a model".

Usage::

    from textattack_xmtc.architectures import get_architecture
    get_architecture("aplc-xlnet").wrapper_class()   # APLCXLNetWrapper
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

__all__ = ["ARCHITECTURES", "Architecture", "BuiltinModel", "DiskFormat", "TrainOption", "accepted_train_options",
           "architecture_of",
           "builtin_models", "get_architecture", "resolve", "saved_architectures", "trainable_architectures"]


def resolve(reference: str) -> Any:
    """The object a ``"package.module:Name.attribute"`` reference names (imported now).

    Usage::

        resolve("textattack_xmtc.model_wrappers.attentionxml:AttentionXMLWrapper.from_original")
    """
    module_name, _, attribute = reference.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        target = getattr(target, part)
    return target


@dataclasses.dataclass(frozen=True)
class DiskFormat:
    """One way models of an architecture are found on disk (besides our ``xmtc_model.json`` directories).

    ``find(path)`` returns the keyword arguments of ``load`` when ``path`` is
    such a model, ``None`` when it clearly is not, and raises
    :class:`~textattack_xmtc.errors.ModelLoadError` (or ``FileNotFoundError``)
    naming the missing files when it is one but incomplete. ``load(**found,
    max_length=...)`` builds the wrapper. ``load=None``: recognised, not
    supported yet. ``near_miss(path)`` may explain why an almost-matching
    directory is not taken.
    """

    title: str
    description: str
    find: str
    load: Optional[str] = None
    near_miss: Optional[str] = None

    @property
    def supported(self) -> bool:
        return self.load is not None


@dataclasses.dataclass(frozen=True)
class TrainOption:
    """One ``textattack-xmtc train`` option of one architecture.

    ``kind``: ``int`` (a positive integer), ``ints`` (one or more), ``float``
    (a positive number), ``path`` (a string) or ``flag`` (no value: the trainer
    gets ``keyword=value``). Unset options (``None``) are not passed: the
    trainer's own default applies, and ``default`` only documents it in
    ``--help`` (tests check that they agree).
    """

    flag: str
    help: str
    kind: str = "int"
    default: Any = None
    keyword: Optional[str] = None
    value: Any = True
    metavar: Optional[str] = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def trainer_keyword(self) -> str:
        return self.keyword or self.dest


@dataclasses.dataclass(frozen=True)
class BuiltinModel:
    """A victim trained on first use from data shipped with the package, then cached."""

    name: str
    data: str
    description: str
    train: Mapping[str, Any]
    aliases: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Everything the package knows about one victim architecture.

    ``name`` is the ``--architecture`` value and the ``"architecture"`` of
    ``xmtc_model.json`` (when ``saved``: the wrapper class has ``save`` and
    ``from_directory(path, max_length=None)``). ``wrapper`` is ``None`` for an
    architecture that is only recognised so far. ``trainer`` is called as
    ``trainer(train, test, seed=, device=, progress=, **options)`` with only the
    options given; ``train_check(options)`` runs before any data is read.
    ``train_defaults`` documents, for ``--help``, this architecture's defaults
    of the common options (``epochs``, ``batch_size``, ``max_length``,
    ``train_max_length``). ``shares_train_options`` names architectures whose
    options it also takes (:func:`accepted_train_options`).
    """

    name: str
    title: str
    wrapper: Optional[str] = None
    score_type: str = "probabilities"
    saved: bool = False
    formats: Tuple[DiskFormat, ...] = ()
    trainer: Optional[str] = None
    train_check: Optional[str] = None
    train_options: Tuple[TrainOption, ...] = ()
    train_options_note: str = ""
    train_defaults: Mapping[str, str] = dataclasses.field(default_factory=dict)
    builtin_models: Tuple[BuiltinModel, ...] = ()
    #: Names of architectures whose ``train_options`` this one takes too (each flag is declared once).
    shares_train_options: Tuple[str, ...] = ()

    def wrapper_class(self):
        if self.wrapper is None:
            raise KeyError(f"architecture {self.name!r} is recognised but not supported yet")
        return resolve(self.wrapper)

    def train_function(self) -> Callable:
        if self.trainer is None:
            raise KeyError(f"architecture {self.name!r} cannot be trained by this package")
        return resolve(self.trainer)


# ------------------------------------------------------------------ the table

_WRAPPERS = "textattack_xmtc.model_wrappers"

#: Defaults of the trainers, repeated here so that ``train --help`` need not import torch
#: (tests check that they agree with training.attentionxml and training.aplc_xlnet).
ATTENTIONXML_TRAINING = {"epochs": 8, "batch_size": 32, "lr": 3e-3, "max_length": 500}
ATTENTIONXML_SIZES = {"emb_size": 50, "hidden_size": 64, "linear_size": [256]}
#: Tree shape defaults of training.attentionxml_tree (clustering.DEFAULT_CLUSTER_SIZE / DEFAULT_LEVELS, the
#: original's beam width models.attentionxml_tree.DEFAULT_TOP).
ATTENTIONXML_TREE_SHAPE = {"cluster_size": 8, "levels": 3, "top": 160}
APLC_SCRATCH_TRAINING = {"epochs": 8, "batch_size": 32, "lr_encoder": 1e-3, "lr_summary": 1e-3,
                         "lr_head": 2e-3, "max_length": 256, "train_max_length": 128, "vocab_size": 8000}
APLC_PRETRAINED_TRAINING = {"epochs": 12, "batch_size": 12, "lr_encoder": 5e-5, "lr_summary": 1e-4,
                            "lr_head": 2e-3, "max_length": 512}
APLC_SCRATCH_SIZES = {"d_model": 128, "n_layer": 2, "n_head": 4, "d_inner": 512, "last_hidden_size": 128,
                      "div_value": 2.0}


def _aplc_default(key: str) -> str:
    scratch, pretrained = APLC_SCRATCH_TRAINING.get(key), APLC_PRETRAINED_TRAINING.get(key)
    return f"{scratch}" + (f" (with --pretrained {pretrained})" if pretrained is not None and pretrained != scratch
                           else "")


ARCHITECTURES: Tuple[Architecture, ...] = (
    Architecture(
        name="attentionxml",
        title="AttentionXML",
        wrapper=f"{_WRAPPERS}.attentionxml:AttentionXMLWrapper",
        score_type="probabilities",
        saved=True,
        formats=(DiskFormat(
            title="original AttentionXML checkpoint",
            description="an original AttentionXML checkpoint (models/AttentionXML-<data> or "
                        "models/AttentionXML-<data>-Tree-<n>, with vocab.npy and labels.txt or "
                        "data/<data>/train_labels.txt)",
            find=f"{_WRAPPERS}.attentionxml:find_original_checkpoint",
            load=f"{_WRAPPERS}.attentionxml:AttentionXMLWrapper.from_original"),),
        trainer="textattack_xmtc.training.attentionxml:train_attentionxml",
        train_options=(
            TrainOption("--lr", "Adam learning rate", kind="float", default=ATTENTIONXML_TRAINING["lr"]),
            TrainOption("--emb-size", "word embedding size; GloVe vectors are 50-d",
                        default=ATTENTIONXML_SIZES["emb_size"]),
            TrainOption("--hidden-size", "LSTM hidden size per direction", default=ATTENTIONXML_SIZES["hidden_size"]),
            TrainOption("--linear-size", "hidden sizes of the MLP shared by all labels", kind="ints",
                        default=ATTENTIONXML_SIZES["linear_size"]),
            TrainOption("--no-glove", "initialise word embeddings randomly instead of from GloVe 6B 50-d",
                        kind="flag", keyword="glove_init", value=False),
        ),
        train_defaults={"epochs": str(ATTENTIONXML_TRAINING["epochs"]),
                        "batch_size": str(ATTENTIONXML_TRAINING["batch_size"]),
                        "max_length": str(ATTENTIONXML_TRAINING["max_length"]),
                        "train_max_length": "--max-length"},
        builtin_models=(BuiltinModel(
            name="attentionxml-reuters21578",
            aliases=("attentionxml-reuters",),
            data="reuters21578",
            description="AttentionXML trained on Reuters-21578 ModApte (90 topics), GloVe 50-d init",
            # Tuned on 2 CPU cores: test P@1 0.939 / P@3 0.382 / P@5 0.238.
            train={"emb_size": 50, "hidden_size": 64, "layers_num": 1, "linear_size": [256], "epochs": 8,
                   "batch_size": 32, "lr": 3e-3, "max_length": 500, "train_max_length": 300,
                   "glove_init": True, "seed": 0}),),
    ),
    Architecture(
        name="aplc-xlnet",
        title="APLC-XLNet",
        wrapper=f"{_WRAPPERS}.aplc_xlnet:APLCXLNetWrapper",
        score_type="probabilities",
        saved=True,
        formats=(DiskFormat(
            title="original APLC-XLNet checkpoint",
            description="an original APLC-XLNet checkpoint directory (config.json with adaptive_cutoff, "
                        "pytorch_model.bin, spiece.model, labels.txt; max_seq_length from training_args.bin)",
            find=f"{_WRAPPERS}.aplc_xlnet:find_original_checkpoint",
            load=f"{_WRAPPERS}.aplc_xlnet:APLCXLNetWrapper.from_original"),),
        trainer="textattack_xmtc.training.aplc_xlnet:train_aplc_xlnet",
        train_check="textattack_xmtc.training.aplc_xlnet:check_train_options",
        train_options_note="without --pretrained a small XLNet is trained from scratch on a SentencePiece "
                           "model learnt from the training texts",
        train_options=(
            TrainOption("--pretrained", "fine-tune this local XLNet (config.json, pytorch_model.bin or "
                                        "model.safetensors, spiece.model; e.g. a copy of xlnet-base-cased), "
                                        "as the paper does", kind="path", metavar="DIR"),
            TrainOption("--lr-encoder", "AdamW learning rate of the XLNet encoder", kind="float",
                        default=_aplc_default("lr_encoder")),
            TrainOption("--lr-summary", "AdamW learning rate of the sequence summary", kind="float",
                        default=_aplc_default("lr_summary")),
            TrainOption("--lr-head", "AdamW learning rate of the APLC head", kind="float",
                        default=_aplc_default("lr_head")),
            TrainOption("--vocab-size", "SentencePiece pieces at most, from scratch",
                        default=APLC_SCRATCH_TRAINING["vocab_size"]),
            TrainOption("--d-model", "XLNet hidden size, from scratch", default=APLC_SCRATCH_SIZES["d_model"]),
            TrainOption("--n-layer", "XLNet layers, from scratch", default=APLC_SCRATCH_SIZES["n_layer"]),
            TrainOption("--n-head", "attention heads, from scratch", default=APLC_SCRATCH_SIZES["n_head"]),
            TrainOption("--d-inner", "feed-forward size, from scratch", default=APLC_SCRATCH_SIZES["d_inner"]),
            TrainOption("--last-hidden-size", "sequence summary size",
                        default=f"{APLC_SCRATCH_SIZES['last_hidden_size']}; with --pretrained the encoder's "
                                f"d_model"),
            TrainOption("--div-value", "each tail cluster's hidden size is the previous one divided by this",
                        kind="float", default=APLC_SCRATCH_SIZES["div_value"]),
            TrainOption("--adaptive-cutoff", "APLC cluster boundaries in label-frequency order", kind="ints",
                        default="chosen from the training label frequencies", metavar="N"),
        ),
        train_defaults={"epochs": _aplc_default("epochs"), "batch_size": _aplc_default("batch_size"),
                        "max_length": _aplc_default("max_length"),
                        "train_max_length": f"{APLC_SCRATCH_TRAINING['train_max_length']} from scratch, "
                                            f"--max-length with --pretrained"},
        builtin_models=(BuiltinModel(
            name="aplc-xlnet-reuters21578",
            aliases=("aplc-xlnet-reuters", "aplc-xlnet"),
            data="reuters21578",
            description="APLC-XLNet (small XLNet from scratch, SentencePiece trained on the data) "
                        "trained on Reuters-21578 ModApte (90 topics)",
            # Tuned on 2 CPU cores: first run 366 s in all (SentencePiece ~5 s, 8 epochs of ~43 s on
            # texts cut to 128 pieces, test scoring 12 s at 256 pieces); test P@1 0.814 / P@3 0.321 /
            # P@5 0.201 (1 epoch: P@1 0.64). The saved model reads 256 pieces at attack time.
            train={"d_model": 128, "n_layer": 2, "n_head": 4, "d_inner": 512, "last_hidden_size": 128,
                   "vocab_size": 8000, "epochs": 8, "batch_size": 32, "lr_encoder": 1e-3, "lr_summary": 1e-3,
                   "lr_head": 2e-3, "max_length": 256, "train_max_length": 128, "seed": 0}),),
    ),
    Architecture(
        name="huggingface",
        title="Hugging Face multilabel classifier",
        wrapper=f"{_WRAPPERS}.huggingface:HuggingFaceMultilabelWrapper",
        score_type="probabilities",
        formats=(DiskFormat(
            title="Hugging Face multilabel classifier",
            description="a Hugging Face multilabel classifier directory (config.json with problem_type "
                        "'multi_label_classification' and id2label, weights, tokenizer files)",
            find=f"{_WRAPPERS}.huggingface:find_directory",
            load=f"{_WRAPPERS}.huggingface:HuggingFaceMultilabelWrapper.from_directory",
            near_miss=f"{_WRAPPERS}.huggingface:HuggingFaceMultilabelWrapper.near_miss"),),
    ),
    Architecture(
        name="attentionxml-tree",
        title="FastAttentionXML label tree",
        wrapper=f"{_WRAPPERS}.attentionxml_tree:AttentionXMLTreeWrapper",
        score_type="probabilities",
        saved=True,
        formats=(DiskFormat(
            title="FastAttentionXML label tree",
            description="an original FastAttentionXML label tree (models/FastAttentionXML-<data>[-Tree-<n>]-"
                        "Level-<i> and ...-cluster-Level-<i>.npy, with vocab.npy and labels.txt or "
                        "data/<data>/train_labels.txt; beam width MODEL^top=N, default 160)",
            find=f"{_WRAPPERS}.attentionxml_tree:find_label_tree",
            load=f"{_WRAPPERS}.attentionxml_tree:AttentionXMLTreeWrapper.from_original"),),
        trainer="textattack_xmtc.training.attentionxml_tree:train_attentionxml_tree",
        train_check="textattack_xmtc.training.attentionxml_tree:check_train_options",
        train_options_note="labels clustered by balanced 2-means on TF-IDF label features, one AttentionXML "
                           "network per level trained top level first; also takes the AttentionXML options "
                           "(--lr, --emb-size, --hidden-size, --linear-size, --no-glove), --epochs per level; "
                           "loss bce only",
        train_options=(
            TrainOption("--cluster-size", "labels per leaf cluster at most (at least 2)",
                        default=ATTENTIONXML_TREE_SHAPE["cluster_size"]),
            TrainOption("--levels", "networks in the tree, the last scoring labels (at least 2; the labels must "
                                    "fill that many levels)", default=ATTENTIONXML_TREE_SHAPE["levels"]),
            TrainOption("--top", "beam width: nodes kept per level, for the training candidates and in the saved "
                                 "model (MODEL^top=N changes it when loading)",
                        default=f"{ATTENTIONXML_TREE_SHAPE['top']}, the original's"),
        ),
        shares_train_options=("attentionxml",),
        train_defaults={"epochs": f"{ATTENTIONXML_TRAINING['epochs']} per level",
                        "batch_size": str(ATTENTIONXML_TRAINING["batch_size"]),
                        "max_length": str(ATTENTIONXML_TRAINING["max_length"]),
                        "train_max_length": "--max-length"},
    ),
    # Its AttentionXML (PLTTrainer) runs load; linear and other neural runs are recognised only.
    Architecture(
        name="libmultilabel",
        title="LibMultiLabel AttentionXML",
        wrapper=f"{_WRAPPERS}.libmultilabel:LibMultiLabelAttentionXMLWrapper",
        score_type="probabilities",
        formats=(
            DiskFormat(
                title="LibMultiLabel AttentionXML run",
                description="a LibMultiLabel AttentionXML run directory (model_0.ckpt, model_1.ckpt, "
                            "word_dict.pickle, label_clusters.npy, logs.json; read without unpickling code)",
                find=f"{_WRAPPERS}.libmultilabel:find_attentionxml_run",
                load=f"{_WRAPPERS}.libmultilabel:LibMultiLabelAttentionXMLWrapper.from_run_directory"),
            DiskFormat(
                title="LibMultiLabel checkpoint (a linear model, linear_pipeline.pickle)",
                description="a LibMultiLabel linear run (linear_pipeline.pickle): recognised, not supported yet",
                find=f"{_WRAPPERS}.libmultilabel:find_linear_run"),
            DiskFormat(
                title="LibMultiLabel checkpoint (a neural model other than AttentionXML)",
                description="another LibMultiLabel neural run (best_model.ckpt / last.ckpt with logs.json): "
                            "recognised, not supported yet",
                find=f"{_WRAPPERS}.libmultilabel:find_other_neural_run"),
        ),
    ),
)
"""Every architecture, in the order their on-disk formats are tried."""


# ------------------------------------------------------------------ lookups


def get_architecture(name: str) -> Architecture:
    """The entry called ``name``; ``KeyError`` naming the known ones otherwise.

    Usage::

        get_architecture("attentionxml").title   # 'AttentionXML'
    """
    for architecture in ARCHITECTURES:
        if architecture.name == name:
            return architecture
    raise KeyError(f"unknown architecture {name!r}; known: {', '.join(a.name for a in ARCHITECTURES)}")


def saved_architectures() -> Dict[str, Architecture]:
    """Name -> entry, for the architectures with an ``xmtc_model.json`` saved-directory format."""
    return {a.name: a for a in ARCHITECTURES if a.saved and a.wrapper is not None}


def trainable_architectures() -> List[Architecture]:
    """The entries ``textattack-xmtc train --architecture`` accepts, in table order."""
    return [a for a in ARCHITECTURES if a.trainer is not None]


def accepted_train_options(architecture: Architecture) -> Tuple[TrainOption, ...]:
    """The ``train`` options ``architecture`` takes: its own, then those of the architectures it shares.

    Usage::

        [o.flag for o in accepted_train_options(get_architecture("attentionxml-tree"))]   # --cluster-size, ..., --lr
    """
    shared = tuple(option for name in architecture.shares_train_options
                   for option in get_architecture(name).train_options)
    return tuple(architecture.train_options) + shared


def builtin_models() -> Dict[str, Tuple[Architecture, BuiltinModel]]:
    """Canonical built-in name -> (its architecture, the model)."""
    return {model.name: (architecture, model) for architecture in ARCHITECTURES
            for model in architecture.builtin_models}


def builtin_aliases() -> Dict[str, str]:
    """Alias -> canonical built-in name."""
    return {alias: model.name for architecture in ARCHITECTURES for model in architecture.builtin_models
            for alias in model.aliases}


def architecture_of(wrapper_class: type) -> Optional[Architecture]:
    """The entry whose wrapper is ``wrapper_class`` (or a base of it), if any; imports nothing.

    Usage::

        architecture_of(type(victim)).name   # 'aplc-xlnet'
    """
    for klass in wrapper_class.__mro__:
        reference = f"{klass.__module__}:{klass.__qualname__}"
        for architecture in ARCHITECTURES:
            if architecture.wrapper == reference:
                return architecture
    return None
