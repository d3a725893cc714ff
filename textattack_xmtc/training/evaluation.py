"""Evaluate any victim wrapper on a :class:`~textattack_xmtc.datasets.corpus.Corpus`: P@k, nDCG@k, PSP@k.

Architecture-independent: texts are scored with the wrapper's own
``__call__`` (exactly what an attack sees), in batches of similar length so
that little padding is computed. Labels unknown to the model are dropped from
the truth sets; documents left without labels are skipped and counted.

Usage::

    metrics = evaluate(wrapper, load_corpus("reuters21578", "test"))
    print(format_report(metrics))
"""
from __future__ import annotations

import time
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch

from ..datasets.corpus import Corpus
from ..metrics.ranking import inverse_propensity, label_index_sets, ranking_report
from .common import progress_bar


def predict_scores(wrapper, texts: Sequence[str], batch_size: int = 128, progress: bool = False) -> torch.Tensor:
    """Probabilities [N, L] on the CPU from ``wrapper(texts)``, scored in length-sorted batches.

    Sorting by length only changes how texts are grouped, not their scores
    (every wrapper pads per batch and masks the padding).

    Usage::

        scores = predict_scores(wrapper, test.texts)
    """
    texts = list(texts)
    order = np.argsort([-len(text) for text in texts], kind="stable")
    scores = torch.zeros((len(texts), len(wrapper.labels)))
    logits = getattr(wrapper, "score_type", "probabilities") == "logits"
    steps = range(0, len(order), batch_size)
    with torch.inference_mode():
        for start in progress_bar(steps, progress, desc="scoring", unit="batch", leave=False):
            rows = order[start:start + batch_size]
            batch = wrapper([texts[i] for i in rows]).float().cpu()
            scores[torch.as_tensor(rows)] = torch.sigmoid(batch) if logits else batch
    return scores


def evaluate(wrapper, corpus: Corpus, ks: Sequence[int] = (1, 3, 5), train_counts: Optional[Sequence[int]] = None,
             n_train: Optional[int] = None, progress: bool = False) -> Dict[str, float]:
    """P@k, nDCG@k (and PSP@k given training counts per model label) of ``wrapper`` on ``corpus``.

    Labels unknown to the model are dropped; documents left without labels are skipped.

    Usage::

        evaluate(wrapper, test_corpus)  # {"P@1": 0.93, ..., "test_documents": 3019}
    """
    truth = label_index_sets(corpus.labels, wrapper.labels)
    keep = [i for i, labels in enumerate(truth) if labels]
    scores = predict_scores(wrapper, [corpus.texts[i] for i in keep], progress=progress)
    inv_p = inverse_propensity(train_counts, n_train) if train_counts is not None else None
    report = ranking_report(scores, [truth[i] for i in keep], ks, inv_p)
    report["test_documents"] = len(keep)
    report["test_documents_skipped"] = len(truth) - len(keep)
    return report


def evaluate_after_training(wrapper, train: Corpus, test: Corpus, title: str, progress: bool,
                            log: Callable[[str], None]) -> Dict[str, float]:
    """:func:`evaluate` with PSP@k from ``train``'s label counts, then log the P@k table under ``title``.

    Usage::

        metrics.update(evaluate_after_training(wrapper, train, test, "AttentionXML", True, print))
    """
    counts = train.label_counts()
    report = evaluate(wrapper, test, train_counts=[counts[name] for name in wrapper.labels],
                      n_train=len(train), progress=progress)
    log(f"{title} on {test.name or test.source or 'the test set'} "
        f"({report['test_documents']} documents):\n{format_report(report)}")
    return report


def format_report(report: Dict[str, float], ks: Sequence[int] = (1, 3, 5)) -> str:
    """A small text table of P@k / nDCG@k (/ PSP@k) rows.

    Usage::

        print(format_report(metrics))
    """
    rows = [f"{'k':>8}" + "".join(f"{k:>8}" for k in ks)]
    for name in ("P", "nDCG", "PSP"):
        if f"{name}@{ks[0]}" in report:
            rows.append(f"{name + '@k':>8}" + "".join(f"{report[f'{name}@{k}']:8.4f}" for k in ks))
    return "\n".join(rows)


def finish_training(wrapper, train: Corpus, test: Optional[Corpus], title: str, started: float, prepared: float,
                    trained: float, progress: bool, log: Callable[[str], None]) -> Dict[str, float]:
    """Timings and (with ``test``) the test report, also stored rounded in ``wrapper.training["metrics"]``.

    ``started``, ``prepared`` and ``trained`` are ``time.perf_counter()`` readings
    taken before preparing the data, before the first epoch and after the last.

    Usage::

        metrics = finish_training(wrapper, train, test, "AttentionXML", started, prepared, trained, True, print)
    """
    metrics: Dict[str, float] = {"prepare_seconds": prepared - started, "train_seconds": trained - prepared}
    if test is not None:
        metrics.update(evaluate_after_training(wrapper, train, test, title, progress, log))
        metrics["eval_seconds"] = time.perf_counter() - trained
    metrics["total_seconds"] = time.perf_counter() - started
    wrapper.training["metrics"] = rounded_metrics(metrics)
    return metrics


def rounded_metrics(metrics: Dict[str, float]) -> Dict[str, float]:
    """Metrics as JSON-friendly numbers (ints kept, floats rounded to 6 digits) for a saved model.

    Usage::

        wrapper.training["metrics"] = rounded_metrics(metrics)
    """
    return {key: value if isinstance(value, int) else round(float(value), 6) for key, value in metrics.items()}
