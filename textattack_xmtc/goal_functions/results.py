"""What a goal function reports about one text: a few numbers, never an [L] vector."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from textattack.goal_function_results import GoalFunctionResult
from textattack.shared import utils


@dataclass(frozen=True)
class TopKOutput:
    """The displayed output of an XMTC goal function for one text.

    ``rank`` is 1-based (rank <= k means "in the top-k"); ``score`` is the
    label's probability. For untargeted attacks ``label`` is the true label
    closest to leaving the top-k and ``left`` counts those that already left.
    """

    label: str
    rank: int
    score: float
    k: int
    left: Optional[int] = None
    index: Optional[int] = None  # the label's column in the model's output

    def __str__(self) -> str:
        text = f"'{self.label}' rank {self.rank} (p={self.score:.3f}, k={self.k})"
        if self.left:
            text += f", {self.left} true label(s) out of the top-{self.k}"
        return text


class XMTCGoalFunctionResult(GoalFunctionResult):
    """Goal-function result of the XMTC attacks.

    ``skip_reason`` says why an example was skipped (its precondition failed);
    ``record`` is filled in on the final perturbed result by
    :class:`textattack_xmtc.attack.XMTCAttack` (similarity, words changed, ...).
    """

    skip_reason: Optional[str] = None
    record = None

    def get_text_color_input(self) -> str:
        return "blue"

    def get_text_color_perturbed(self) -> str:
        return "red"

    def get_colored_output(self, color_method=None) -> str:
        text = str(self.output)
        if self.skip_reason:
            text += f" [skipped: {self.skip_reason}]"
        if self.record is not None and not self.skip_reason:  # a skip already says why
            text += f" | {self.record.short_summary()}"
        return utils.color_text(text, color=self.get_text_color_perturbed(), method=color_method)
