"""Evaluate any victim wrapper on a :class:`~textattack_xmtc.datasets.corpus.Corpus`: P@k, nDCG@k, PSP@k.

Architecture-independent: texts are ranked with the wrapper's own
``rank_labels`` (exactly what an attack sees; a label tree answers from its
beam), in batches of similar length so that little padding is computed. Only
each batch's top-k is kept (:func:`stream_top_k`), so a test set never costs
an ``[N, L]`` matrix, nor a batch a ``[batch, L]`` one for a tree.

Test labels the model does not know stay in the truth sets and count as
misses; documents with no label at all are skipped and counted (see
:mod:`textattack_xmtc.metrics.ranking`). ``textattack-xmtc evaluate``
(:mod:`textattack_xmtc.study.evaluation`) adds per-bin figures to the same code.

Usage::

    metrics = evaluate(wrapper, load_corpus("reuters21578", "test"))
    print(format_report(metrics))
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..datasets.corpus import Corpus
from ..metrics.ranking import NonFiniteScoresError, inverse_propensity, ranking_report, truth_index_sets
from .common import progress_bar


def length_sorted_batches(texts: Sequence[str], batch_size: int, progress: bool) -> Iterator[np.ndarray]:
    """Positions of ``texts`` in batches of similar length (longest first), under ``torch.inference_mode``.

    Sorting only changes how texts are grouped, not their scores (every wrapper
    pads per batch and masks the padding), and little padding is computed.

    Usage::

        for rows in length_sorted_batches(texts, 128, progress=False):
            scores = wrapper([texts[i] for i in rows])
    """
    order = np.argsort([-len(text) for text in texts], kind="stable")
    steps = range(0, len(order), batch_size)
    with torch.inference_mode():
        for start in progress_bar(steps, progress, desc="scoring", unit="batch", leave=False):
            yield order[start:start + batch_size]


def predict_scores(wrapper, texts: Sequence[str], batch_size: int = 128, progress: bool = False) -> torch.Tensor:
    """Probabilities [N, L] on the CPU from ``wrapper(texts)`` (dense: for small test sets only).

    Usage::

        scores = predict_scores(wrapper, test.texts)
    """
    texts = list(texts)
    scores = torch.zeros((len(texts), len(wrapper.labels)))
    logits = getattr(wrapper, "score_type", "probabilities") == "logits"
    for rows in length_sorted_batches(texts, batch_size, progress):
        batch = wrapper([texts[i] for i in rows]).float().cpu()
        scores[torch.as_tensor(rows)] = torch.sigmoid(batch) if logits else batch
    return scores


def stream_top_k(wrapper, texts: Sequence[str], k: int, batch_size: int = 128, progress: bool = False,
                 model_name: Optional[str] = None) -> np.ndarray:
    """The model's top-k label indices per text, best first, as int64 [N, min(k, L)]; ties by lower index.

    Scores are ranked as the wrapper gives them (a sigmoid would not change
    the order, only create ties), by the wrapper's ``rank_labels`` (dense
    wrappers: each batch's scores are dropped once its top-k is taken, so
    memory is O(batch x L + N x k); a label tree: O(batch x beam + N x k)).
    A tree whose beam holds fewer than k labels pads with -1 (never a hit). Raises
    :class:`~textattack_xmtc.metrics.ranking.NonFiniteScoresError` naming the
    model and the document when a score is NaN or infinite.

    Usage::

        top5 = stream_top_k(wrapper, test.texts, 5, progress=True)
    """
    texts = list(texts)
    width = min(k, len(wrapper.labels))
    ranked = np.zeros((len(texts), width), dtype=np.int64)
    name = model_name or getattr(wrapper, "source", "") or type(wrapper).__name__

    for rows in length_sorted_batches(texts, batch_size, progress):
        try:
            labels = wrapper.rank_labels([texts[i] for i in rows], [], width).top_labels.cpu().numpy()
        except NonFiniteScoresError:
            bad = next(int(i) for i in rows if not _finite(wrapper, texts[i]))
            raise NonFiniteScoresError(f"model {name} gave NaN or infinite scores for document {bad + 1} "
                                       f"(its weights or inputs are broken)") from None
        # A tree's pads (index L) must not meet the unknown test labels numbered from L on.
        ranked[rows] = np.where(labels < len(wrapper.labels), labels, -1)
    return ranked


def _finite(wrapper, text: str) -> bool:
    """Whether ``wrapper`` ranks ``text`` alone without a NaN or infinite score (to name a broken document)."""
    try:
        wrapper.rank_labels([text], [], 1)
    except NonFiniteScoresError:
        return False
    return True


@dataclass
class RankedTestSet:
    """A test set ranked by a model: what every metric needs, without the scores.

    ``truth`` holds the measured documents' label index sets (labels the model
    does not know get indices from ``n_labels`` on, in ``unknown`` order);
    ``ranked`` their top-k label indices; ``documents`` their positions in the
    corpus; ``skipped`` counts the documents without any label.
    """

    ranked: np.ndarray
    truth: List[List[int]]
    documents: List[int]
    unknown: List[str]
    n_labels: int
    skipped: int

    def inverse_propensity(self, train_counts: Sequence[int], n_train: int, A: float = 0.55,
                           B: float = 1.5) -> np.ndarray:
        """Inverse propensities of the model's labels (from ``train_counts``) and of the unknown ones (count 0)."""
        return inverse_propensity(list(train_counts) + [0] * len(self.unknown), n_train, A, B)

    def counts(self) -> Dict[str, int]:
        """``test_documents``, ``test_documents_skipped``, ``unknown_label_documents``, ``unknown_labels``."""
        return {"test_documents": len(self.truth), "test_documents_skipped": self.skipped,
                "unknown_label_documents": sum(1 for labels in self.truth if labels[-1] >= self.n_labels),
                "unknown_labels": len(self.unknown)}


def rank_test_set(wrapper, corpus: Corpus, k: int, batch_size: int = 128, progress: bool = False,
                  truth: Optional[Tuple[List[List[int]], List[str]]] = None) -> RankedTestSet:
    """Rank the labelled documents of ``corpus`` with :func:`stream_top_k`.

    ``truth`` is ``truth_index_sets(corpus.labels, wrapper.labels)`` when the caller has it already.

    Usage::

        ranked = rank_test_set(wrapper, test, k=5, progress=True)
        ranking_report(ranked.ranked, ranked.truth)
    """
    sets, unknown = truth if truth is not None else truth_index_sets(corpus.labels, wrapper.labels)
    documents = [i for i, labels in enumerate(sets) if labels]
    ranked = stream_top_k(wrapper, [corpus.texts[i] for i in documents], k, batch_size, progress)
    return RankedTestSet(ranked, [sets[i] for i in documents], documents, unknown, len(wrapper.labels),
                         len(corpus) - len(documents))


def evaluate(wrapper, corpus: Corpus, ks: Sequence[int] = (1, 3, 5), train_counts: Optional[Sequence[int]] = None,
             n_train: Optional[int] = None, progress: bool = False, batch_size: int = 128) -> Dict[str, float]:
    """P@k, nDCG@k (and PSP@k given training counts per model label) of ``wrapper`` on ``corpus``.

    Labels unknown to the model count as misses (PSP@k weighs them as labels
    of training frequency 0); documents without labels are skipped. Besides
    the metrics: ``test_documents`` (measured), ``test_documents_skipped`` (no
    label), ``unknown_label_documents`` (measured documents with a label the
    model does not know) and ``unknown_labels`` (distinct such labels).

    Usage::

        evaluate(wrapper, test_corpus)  # {"P@1": 0.93, ..., "test_documents": 3019}
    """
    ranked = rank_test_set(wrapper, corpus, max(ks), batch_size, progress)
    inv_p = ranked.inverse_propensity(train_counts, n_train) if train_counts is not None else None
    report = ranking_report(ranked.ranked, ranked.truth, ks, inv_p)
    report.update(ranked.counts())
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
        f"({report['test_documents']} documents{unknown_note(report)}):\n{format_report(report)}")
    return report


def unknown_note(report: Dict[str, float]) -> str:
    """``"; 2 of them carry 3 labels the model never saw (counted as misses)"``, or "" when none do.

    Usage::

        print(f"{report['test_documents']} documents{unknown_note(report)}")
    """
    if not report.get("unknown_labels"):
        return ""
    return (f"; {report['unknown_label_documents']} of them carry {report['unknown_labels']} "
            f"label(s) the model never saw (counted as misses)")


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
