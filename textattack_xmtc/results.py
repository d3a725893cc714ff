"""One serialisable row per attack result, with the provenance of the run that made it.

:class:`XMTCRecord` holds what the paper reports per target (a few numbers,
never a score vector) and what a report needs to group, merge or check rows:
the target as asked and as resolved, the document's true labels, k, the
target's frequency bin, the recipe's options, the victim's identity, the
package versions and the seed. :class:`~textattack_xmtc.attack.XMTCAttack`
attaches one to every result as ``result.xmtc``.

Words are counted two ways (see :mod:`textattack_xmtc.metrics.attack`):

* ``words`` / ``change_rate``: the paper's, whitespace tokens of the original
  document (``len(text.split(' '))``); the paper's metrics use these;
* ``textattack_words`` / ``textattack_change_rate``: TextAttack's words
  (``AttackedText.num_words``: punctuation split off, no empty tokens).

``words_changed`` is the number of words substituted (TextAttack's
``all_words_diff``), the same for both.

Rows are plain JSON-serialisable dicts, so rows of several runs can be merged;
``--log-to-csv`` writes the same fields (dicts and lists as JSON text) and
:func:`read_csv_rows` reads them back.

Usage::

    rows = [result_row(r) for r in attacker.attack_dataset()]
    rows = read_csv_rows("log.csv")      # the rows of a --log-to-csv file
    pandas.json_normalize(rows)          # columns "options.k", "victim.weights_sha256", ...
"""
from __future__ import annotations

import csv
import json
import numbers
import typing
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Union

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

Label = Union[str, int]


@dataclass
class XMTCRecord:
    attack: str
    status: str
    target: Label  # as asked: "auto", a label name or a label index
    label: str  # as resolved: the attacked label's name ...
    label_index: Optional[int]  # ... and its column in the model's output
    true_labels: List[Label]
    k: int
    bin: Optional[Label]  # the frequency bin the targets file gave this row, if any
    rank_before: int
    rank_after: int
    score_before: float
    score_after: float
    words: int  # the paper's: len(original_text.split(' '))
    words_changed: int
    change_rate: float  # words_changed / words
    textattack_words: int  # TextAttack's AttackedText.num_words
    textattack_change_rate: float  # words_changed / textattack_words
    queries: int
    similarity: Optional[float]
    encoder: Optional[str]
    candidate_source: str
    skip_reason: Optional[str]
    source: str  # file and line of the target
    # Set when a document far longer than the victim reads was cut before the attack (its words then).
    words_before_cut: Optional[int] = None
    # -- the target's selection (``select-targets`` rows; None for other rows) --
    attack_kind: Optional[str] = None  # "pos"/"neg": the attack the row was selected for
    label_frequency: Optional[int] = None  # the target label's training frequency
    selection_seed: Optional[int] = None
    document: Optional[Label] = None  # the document's id in its split
    seconds: Optional[float] = None  # wall time of the attack (set by ``experiment``)
    # -- provenance of the run (the same for every row of one attack) ---------
    options: dict = field(default_factory=dict)  # the recipe's options, resolved at build time
    victim: dict = field(default_factory=dict)  # architecture, source, weights/labels sha256, ...
    seed: Optional[int] = None  # TextAttack's --random-seed (AttackArgs.random_seed)
    package_version: str = ""
    textattack_version: str = ""

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

    def provenance(self) -> dict:
        """The run-level fields: equal for all rows of one run with the same settings."""
        return {name: getattr(self, name) for name in PROVENANCE_FIELDS}


PROVENANCE_FIELDS = ("options", "victim", "seed", "package_version", "textattack_version")


def make_record(result, encoder=None, candidate_source: str = "",
                provenance: Optional[dict] = None) -> XMTCRecord:
    """Build the record of one TextAttack ``AttackResult`` of an XMTC goal function.

    ``provenance`` holds the fields of :data:`PROVENANCE_FIELDS` (see
    :meth:`textattack_xmtc.attack.XMTCAttack.provenance`).
    """
    from .constraints.change_rate import paper_word_count
    from .datasets.targets import XMTCTarget
    from .encoders import document_similarity

    original, perturbed = result.original_result, result.perturbed_result
    status = STATUS_BY_RESULT.get(type(result), type(result).__name__)
    text = original.attacked_text.text
    words = paper_word_count(text)  # the paper's count (its _tokenize splits on single spaces)
    textattack_words = original.attacked_text.num_words
    changed = 0 if status == "skipped" else len(
        original.attacked_text.all_words_diff(perturbed.attacked_text))
    similarity = None
    if encoder is not None and status != "skipped":
        similarity = document_similarity(encoder, text, perturbed.attacked_text.text)
    spec = XMTCTarget.parse(original.ground_truth_output)
    output = original.output
    return XMTCRecord(
        attack=getattr(result, "attack_type", ""),
        status=status,
        target=spec.target,
        label=output.label,
        label_index=getattr(output, "index", None),
        true_labels=list(spec.labels),
        k=output.k,
        bin=getattr(spec, "bin", None),
        rank_before=output.rank,
        rank_after=perturbed.output.rank,
        score_before=round(output.score, 6),
        score_after=round(perturbed.output.score, 6),
        words=words,
        words_changed=changed,
        change_rate=changed / words if words else 0.0,
        textattack_words=textattack_words,
        textattack_change_rate=changed / textattack_words if textattack_words else 0.0,
        queries=perturbed.num_queries,
        similarity=None if similarity is None else round(similarity, 6),
        encoder=None if encoder is None else encoder.name,
        candidate_source=candidate_source,
        skip_reason=getattr(original, "skip_reason", None),
        source=spec.source,
        words_before_cut=original.attacked_text.attack_attrs.get("xmtc_words_before_cut"),
        attack_kind=spec.attack,
        **{name: value for name, value in spec.study.items() if name != "attack"},
        **(provenance or {}),
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


# -- CSV --------------------------------------------------------------------
# A CSV cell holds text or a number: lists and dicts go as JSON text. Files are
# written with csv.QUOTE_NONNUMERIC (as TextAttack's CSV logger writes), so a
# quoted cell is text and an unquoted one a number: a label named "3" and the
# label index 3 stay apart when read back with read_csv_rows.

def csv_cells(row: dict) -> dict:
    """A row as CSV cells: lists, dicts and booleans as JSON text, numbers as Python numbers."""
    return {name: _cell(value) for name, value in row.items()}


def _cell(value):
    if isinstance(value, (dict, list, tuple, bool)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, numbers.Integral):
        return int(value)  # numpy numbers too: csv quotes what is not a Python number
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def read_csv_rows(path) -> List[dict]:
    """The rows of a ``--log-to-csv`` file of an XMTC attack, as :func:`result_row` made them.

    Record fields get their types back (JSON text decoded, integers as ints, an
    empty optional cell as None); other columns (TextAttack's own, such as
    ``original_text`` or ``result_type``) are returned as read.
    """
    previous_limit = csv.field_size_limit(2**31 - 1)  # a whole document is one cell
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return [_decode(row) for row in csv.DictReader(handle, quoting=csv.QUOTE_NONNUMERIC)]
    finally:
        csv.field_size_limit(previous_limit)


def _decode(cells: dict) -> dict:
    row = dict(cells)
    for name, kind in _FIELD_KINDS.items():
        if name in row:
            row[name] = _decode_cell(row[name], kind)
    if isinstance(row.get("num_queries"), float):
        row["num_queries"] = int(row["num_queries"])
    return row


def _decode_cell(value, kind: tuple):
    kind, optional = kind
    if kind == "json":
        return json.loads(value) if isinstance(value, str) and value else None
    if value == "" and (optional or kind != "str"):
        return None  # an optional field left empty, or a row with no record (another attack's)
    if kind == "int" or (kind == "label" and isinstance(value, float) and value.is_integer()):
        return int(value)  # an unquoted cell: a number (a label index when kind is "label")
    if kind == "float":
        return float(value)
    return value


def _field_kind(hint) -> tuple:
    """(kind, optional) of one record field's type: "json", "label" (a name or an index), "int", ..."""
    args = typing.get_args(hint) if typing.get_origin(hint) is Union else (hint,)
    optional = type(None) in args
    types = {typing.get_origin(arg) or arg for arg in args} - {type(None)}
    if types & {list, dict}:
        return "json", optional
    if types == {str, int}:
        return "label", optional
    [only] = types
    return {int: "int", float: "float", str: "str"}[only], optional


_FIELD_KINDS = {name: _field_kind(hint) for name, hint in typing.get_type_hints(XMTCRecord).items()}
