"""Data: corpora for training (JSONL, AttentionXML and APLC-XLNet layouts, the
built-in Reuters-21578) and attack targets (JSONL/CSV rows of text, true labels,
target, k and optionally the label-frequency bin the target was drawn from).

Usage::

    corpus = load_corpus("reuters21578", split="train")
    targets = read_targets("targets.jsonl", labels=victim.labels)
"""
from .corpus import (
    Corpus,
    CorpusFormatError,
    load_corpus,
    read_aplc_corpus,
    read_aplc_label_order,
    read_attentionxml_corpus,
    read_jsonl_corpus,
)
from .reuters import BUILTIN_DATASETS, load_reuters21578
from .targets import (
    AUTO,
    TargetFormatError,
    XMTCDataset,
    XMTCTarget,
    dataset_from_corpus,
    load_targets,
    read_targets,
)

__all__ = [
    "AUTO", "BUILTIN_DATASETS", "Corpus", "CorpusFormatError", "TargetFormatError", "XMTCDataset",
    "XMTCTarget", "dataset_from_corpus", "load_corpus", "load_reuters21578", "load_targets",
    "read_aplc_corpus", "read_aplc_label_order", "read_attentionxml_corpus", "read_jsonl_corpus",
    "read_targets",
]
