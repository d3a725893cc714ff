"""One serialisable row per attack result.

:class:`XMTCRecord` holds what the paper reports per target (a few numbers,
never a score vector); :class:`~textattack_xmtc.attack.XMTCAttack` attaches one
to every result as ``result.xmtc``.

Usage::

    rows = [result_row(r) for r in attacker.attack_dataset()]
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

from textattack.attack_results import (
    FailedAttackResult,
    MaximizedAttackResult,
    SkippedAttackResult,
    SuccessfulAttackResult,
)

STATUS_BY_RESULT = {
    SuccessfulAttackResult: "succeeded",
    FailedAttackResult: "failed",
    SkippedAttackResult: "skipped",
    MaximizedAttackResult: "maximized",
}


@dataclass
class XMTCRecord:
    attack: str
    status: str
    label: str
    k: int
    rank_before: int
    rank_after: int
    score_before: float
    score_after: float
    words: int
    words_changed: int
    change_rate: float
    queries: int
    similarity: Optional[float]
    encoder: Optional[str]
    candidate_source: str
    skip_reason: Optional[str]
    source: str

    def short_summary(self) -> str:
        if self.status == "skipped":
            return f"skipped: {self.skip_reason}"
        parts = []
        if self.similarity is not None:
            parts.append(f"similarity {self.similarity:.3f}")
        parts.append(f"{self.words_changed}/{self.words} words changed ({100 * self.change_rate:.1f}%)")
        parts.append(f"{self.queries} queries")
        return ", ".join(parts)

    def to_row(self) -> dict:
        return asdict(self)


def make_record(result, encoder=None, candidate_source: str = "") -> XMTCRecord:
    """Build the record of one TextAttack ``AttackResult`` of an XMTC goal function."""
    from .encoders import document_similarity
    from .datasets.targets import XMTCTarget

    original, perturbed = result.original_result, result.perturbed_result
    status = STATUS_BY_RESULT.get(type(result), type(result).__name__)
    words = original.attacked_text.num_words
    changed = 0 if status == "skipped" else len(
        original.attacked_text.all_words_diff(perturbed.attacked_text))
    similarity = None
    if encoder is not None and status != "skipped":
        similarity = document_similarity(encoder, original.attacked_text.text,
                                         perturbed.attacked_text.text)
    spec = XMTCTarget.parse(original.ground_truth_output)
    return XMTCRecord(
        attack=getattr(result, "attack_type", ""),
        status=status,
        label=original.output.label,
        k=original.output.k,
        rank_before=original.output.rank,
        rank_after=perturbed.output.rank,
        score_before=round(original.output.score, 6),
        score_after=round(perturbed.output.score, 6),
        words=words,
        words_changed=changed,
        change_rate=changed / words if words else 0.0,
        queries=perturbed.num_queries,
        similarity=None if similarity is None else round(similarity, 6),
        encoder=None if encoder is None else encoder.name,
        candidate_source=candidate_source,
        skip_reason=getattr(original, "skip_reason", None),
        source=spec.source,
    )


def result_row(result, texts: bool = True) -> dict:
    """The row of a result annotated by ``XMTCAttack`` (plus the two texts if ``texts``)."""
    record = getattr(result, "xmtc", None)
    if record is None:
        raise ValueError("this result has no XMTC record; run it with an XMTCAttack "
                         "(the xmtc-* recipes build one)")
    row = record.to_row()
    if texts:
        row["original_text"] = result.original_result.attacked_text.text
        row["perturbed_text"] = result.perturbed_result.attacked_text.text
    return row
