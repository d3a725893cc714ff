"""Goal functions of the XMTC attacks (Qaraei & Babbar, arXiv:2112.07512).

=================  ==============================  ===========================
attack             precondition (else skipped)     success
=================  ==============================  ===========================
positive-targeted  target is a true label in top-k  target leaves the top-k
negative-targeted  target is a false label outside  target enters the top-k
untargeted         a true label is in the top-k     one of those true labels
                                                    leaves the top-k
=================  ==============================  ===========================

Ranks are 1-based and exact: a label's rank is 1 + the number of labels with
a higher score + the number of labels with an EQUAL score and a LOWER index
(ties go to the lower index, as a stable descending sort would order them).
"In the top-k" means rank <= k. Ranks are computed on the scores exactly as the
model returns them; margins use probabilities (a sigmoid is applied when the
wrapper says its scores are logits, so the TextAttack score is bounded in
[-1, 1] and grows as the goal gets closer).

A victim is asked, per batch, only what these goals read: the k + 1 best
scores and the attacked label's score and exact rank
(:meth:`~textattack_xmtc.model_wrappers.base.XMTCModelWrapper.rank_labels`;
a label tree answers from its beam, never with ``[batch, L]``). Any other
TextAttack wrapper returns dense ``[batch, L]`` scores, reduced the same way
(:func:`~textattack_xmtc.model_wrappers.base.rank_from_scores`) on the
model's device. Only a few numbers per text are cached and kept in results.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from textattack.goal_functions import GoalFunction
from textattack.shared import logger, validators

from ..datasets.targets import AUTO, XMTCTarget
from ..metrics.ranking import NonFiniteScoresError  # one class for every "NaN scores" error, re-exported here
from ..model_wrappers.base import SCORE_TYPES, LabelRanking, checked_scores, non_finite_message, rank_from_scores
from .results import TopKOutput, XMTCGoalFunctionResult

DEFAULT_K = 5
# One call per word of the paper's 48 candidates: about 1.3x faster attacks on CPU than 32 (measured).
DEFAULT_BATCH_SIZE = 64
# Documents longer than this many times what the victim reads are cut (see cut_to_what_the_victim_reads).
MAX_WORDS_FACTOR = 20


class TopKGoalFunction(GoalFunction):
    """Shared machinery of the top-k goal functions.

    Args:
        model_wrapper: any TextAttack model wrapper returning ``[batch, L]`` label
            scores (a torch tensor or a numpy array).
        k: the default k; an example's own ``k`` overrides it.
        score_type: ``"probabilities"`` or ``"logits"``. Read from
            ``model_wrapper.score_type`` when not given; a wrapper without that
            attribute must be told explicitly (no guessing).
        labels: label names in output order; read from ``model_wrapper.labels``
            when not given, else labels are named by their index.
        model_batch_size: texts per model call (default 64, so that the 48
            candidates of one word go in one call; TextAttack's command line
            sets it from ``--model-batch-size``, whose default is 32).
    """

    attack_type = "xmtc"

    def __init__(self, model_wrapper, k: int = DEFAULT_K, score_type: Optional[str] = None,
                 labels: Optional[Sequence[str]] = None, model_batch_size: int = DEFAULT_BATCH_SIZE, **kwargs):
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if isinstance(model_batch_size, bool) or not isinstance(model_batch_size, int) or model_batch_size <= 0:
            raise ValueError(f"model_batch_size (--model-batch-size) must be a positive integer, "
                             f"got {model_batch_size!r}")
        super().__init__(model_wrapper, model_batch_size=model_batch_size, **kwargs)
        self.default_k = k
        self.score_type = _resolve_score_type(model_wrapper, score_type)
        self.labels = list(labels) if labels is not None else getattr(model_wrapper, "labels", None)
        self.k = k
        self.requested_k = k
        self.k_overrides = 0  # examples whose own k differed from the default
        self.skip_reason: Optional[str] = None

    # -- per example --------------------------------------------------------
    def init_attack_example(self, attacked_text, ground_truth_output):
        # Reduced outputs depend on this example's target and k: a text seen
        # for an earlier example must not be answered from the cache.
        self.clear_cache()
        spec = XMTCTarget.parse(ground_truth_output)
        attacked_text = cut_to_what_the_victim_reads(attacked_text, getattr(self.model, "max_words", None))
        self.requested_k = spec.k or self.default_k
        self._note_k_override(spec)
        text = [attacked_text.tokenizer_input]
        self.num_labels = self._count_labels(text)
        # k >= L is skipped below; tensors compare with a k that fits them.
        self.k = min(self.requested_k, self.num_labels)
        self.true_labels = self._true_label_indices(spec)
        # What any goal's preparation reads: the true labels' (and a named target's) ranks, and
        # enough of the top list to find the best false label outside the top-k.
        asked = sorted(set(self.true_labels) | self._named_target(spec))
        ranking = self._rank(text, asked, self.k + len(self.true_labels) + 1)
        # Prepared even when k rules the example out, so that its result names its own target.
        preparation = self._prepare(spec, _FirstRow(ranking, asked))
        self.skip_reason = self._check_words(attacked_text) or self._check_k() or preparation
        # Gradient word importance (wir_method="gradient") differentiates this goal's margin.
        self.model.grad_objective = self.gradient_objective
        attacked = list(self._attacked_labels())
        if set(attacked) <= set(asked):  # the usual case: no second model call
            ranking = ranking.columns([asked.index(label) for label in attacked])
        else:
            ranking = self._rank(text, attacked, self.k + 1)
        self.initial_output = _rows(self._reduce(ranking).cpu())[0]
        if self.use_cache:  # the initial text costs no second model call
            self._call_model_cache[attacked_text] = self.initial_output
        result, search_over = super().init_attack_example(attacked_text, ground_truth_output)
        result.skip_reason = self.skip_reason
        return result, search_over

    def _note_k_override(self, spec: XMTCTarget) -> None:
        """Say (once per run, then count) that a row's own k overrides the default k."""
        if spec.k is None or spec.k == self.default_k:
            return
        self.k_overrides += 1
        if self.k_overrides == 1:
            logger.warning(f"{spec.source or 'a target row'}: its own k={spec.k} overrides the default "
                           f"k={self.default_k} (k=, XMTC_K, --xmtc-k); rows' own k always win, and "
                           "the summary counts them")

    def protected_label_names(self) -> List[str]:
        """Names of this example's true labels and target(s), whose words LabelWordModification protects."""
        return [self._label_name(i) for i in sorted(set(self.true_labels) | set(self._attacked_labels()))]

    def _attacked_labels(self) -> Sequence[int]:
        raise NotImplementedError

    def _no_true_label_in_top_k(self, ranked: List[Tuple[int, int]], first: "_FirstRow") -> Tuple[int, str]:
        """The label a skipped row shows (the best-ranked true label, else the top label) and why it is skipped.

        ``ranked`` holds ``(rank, index)`` of the true labels, best first.
        """
        if not ranked:
            return first.top_labels[0], "the document has no true label the model knows"
        return ranked[0][1], f"no true label is in the top-{self.k}"

    def _named_target(self, spec: XMTCTarget) -> set:
        """The target's index when the row names a known one (it is ranked with the true labels)."""
        if spec.target in (None, AUTO):
            return set()
        index = self._label_index(spec.target)
        return set() if index is None else {index}

    def gradient_objective(self, scores: torch.Tensor) -> torch.Tensor:
        """This example's goal score (the margin) as a differentiable scalar, from ``[1, L]`` scores."""
        return self._reduce(rank_from_scores(scores, list(self._attacked_labels()), self.k + 1))[:, 0].sum()

    @staticmethod
    def _check_words(attacked_text) -> Optional[str]:
        if attacked_text.num_words == 0:  # punctuation only, say: an attack could only fail
            return "the text has no words to change"
        return None

    def _check_k(self) -> Optional[str]:
        if self.requested_k >= self.num_labels:
            return (f"k={self.requested_k} but the model has only {self.num_labels} labels: every label "
                    "is always in the top-k")
        return None

    def _prepare(self, spec: XMTCTarget, first: "_FirstRow") -> Optional[str]:
        """Fix this example's target from the original text's ranking; return a skip reason or None."""
        raise NotImplementedError

    def _true_label_indices(self, spec: XMTCTarget) -> List[int]:
        indices, unknown = [], []
        for label in spec.labels:
            index = self._label_index(label)
            (unknown if index is None else indices).append(label if index is None else index)
        if unknown:
            logger.warning(f"{spec.source}: true label(s) unknown to the model ignored: {unknown}")
        return indices

    def _label_index(self, label) -> Optional[int]:
        if isinstance(label, int) and not isinstance(label, bool):
            return label if 0 <= label < self.num_labels else None
        if self.labels is None:
            return int(label) if str(label).isdigit() and int(label) < self.num_labels else None
        if not hasattr(self, "_index_of") or len(self._index_of) != len(self.labels):
            self._index_of = {name: i for i, name in enumerate(self.labels)}
        return self._index_of.get(str(label))

    def _label_name(self, index: int) -> str:
        return str(self.labels[index]) if self.labels is not None else str(index)

    def _require_target(self, spec: XMTCTarget) -> int:
        index = self._label_index(spec.target)
        if index is None:
            raise ValueError(f"{spec.source}: unknown target label {spec.target!r}; the model has "
                             f"{self.num_labels} labels")
        return index

    # -- word importance ----------------------------------------------------
    def word_importance(self, attacked_texts: Sequence) -> Tuple[np.ndarray, bool]:
        """How much each text (the document with one word replaced by the unknown token) helps
        this goal, and whether the query budget is now spent; a word ranks higher the more it helps.

        By default this is TextAttack's own measure, the goal score of each text.
        The targeted goals override it with the paper's.

        Usage::

            importance, search_over = goal.word_importance(leave_one_out_texts)
        """
        results, search_over = self.get_results(list(attacked_texts))
        return np.array([result.score for result in results]), search_over

    def _spend_queries(self, attacked_texts: Sequence) -> list:
        """The texts the query budget still allows, counted as queries (as ``get_results`` counts)."""
        attacked_texts = list(attacked_texts)
        if self.query_budget < float("inf"):
            attacked_texts = attacked_texts[:max(0, self.query_budget - self.num_queries)]
        self.num_queries += len(attacked_texts)
        return attacked_texts

    # -- model calls --------------------------------------------------------
    def _label_raw_scores(self, texts: Sequence, labels: Sequence[int]) -> torch.Tensor:
        """Raw scores of the label indices ``labels`` only, ``[len(texts), len(labels)]``, on the CPU.

        Wrappers with ``label_scores`` compute just those labels (see
        :meth:`XMTCModelWrapper.label_scores`); any other wrapper is called whole.
        """
        columns = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            if hasattr(self.model, "label_scores"):
                scores = checked_scores(self.model.label_scores(batch, labels), len(batch), self.model)
            else:
                scores = checked_scores(self.model(batch), len(batch), self.model)[:, list(labels)]
            columns.append(scores.cpu())
        return torch.cat(columns) if columns else torch.zeros((0, len(labels)))

    def _rank(self, texts: Sequence, labels: Sequence[int], k: int) -> LabelRanking:
        """The victim's :class:`LabelRanking` of ``texts`` for ``labels``, on its device, validated.

        Wrappers of this package answer it themselves (a tree from its beam);
        any other wrapper's dense scores are reduced here.
        """
        texts = list(texts)
        try:
            if hasattr(self.model, "rank_labels"):
                return _checked_ranking(self.model.rank_labels(texts, labels, k), len(texts), len(labels), k,
                                        self.model)
            return rank_from_scores(checked_scores(self.model(texts), len(texts), self.model), labels, k)
        except NonFiniteScoresError:  # any wrapper's own error may not say which model it is
            raise NonFiniteScoresError(non_finite_message(self.model)) from None

    def _count_labels(self, text: Sequence) -> int:
        """L: the wrapper's label list, else the width of its scores for one text."""
        if hasattr(self.model, "rank_labels") and self.labels is not None:
            return len(self.labels)
        return checked_scores(self.model(list(text)), 1, self.model).shape[1]

    def _probabilities(self, raw: torch.Tensor) -> torch.Tensor:
        if self.score_type == "logits":
            return torch.sigmoid(raw)
        return raw.clamp(min=0.0)

    def _call_model_uncached(self, attacked_text_list):
        if not attacked_text_list:
            return []
        inputs = [text.tokenizer_input for text in attacked_text_list]
        labels = list(self._attacked_labels())
        reduced = [self._reduce(self._rank(inputs[start:start + self.batch_size], labels, self.k + 1)).cpu()
                   for start in range(0, len(inputs), self.batch_size)]
        return self._process_model_outputs(attacked_text_list, torch.cat(reduced))

    def _process_model_outputs(self, inputs, outputs):
        return _rows(outputs)

    def _reduce(self, ranking: LabelRanking) -> torch.Tensor:
        """A batch's ranking of the attacked labels (top list of k + 1) -> ``[B, few]`` numbers, on its device."""
        raise NotImplementedError

    # -- TextAttack hooks ---------------------------------------------------
    def _should_skip(self, model_output, attacked_text) -> bool:
        return self.skip_reason is not None

    def _goal_function_result_type(self):
        return XMTCGoalFunctionResult

    def extra_repr_keys(self):
        return ["default_k", "score_type"] + super().extra_repr_keys()


class _TargetedTopK(TopKGoalFunction):
    """Common part of the two targeted attacks: one fixed target label."""

    sign = 1.0  # +1: push the target down (positive); -1: pull it up (negative)
    kind = ""  # "pos" or "neg": the value of a targets row's "attack" field this goal attacks
    target = 0  # replaced per example; kept valid for examples skipped before a target is known

    def _prepare(self, spec, first):
        if spec.target == AUTO:
            self.target, reason = self._auto_target(first)
            return reason
        self.target = self._require_target(spec)
        return self._other_kind(spec) or self._precondition(first)

    def _other_kind(self, spec) -> Optional[str]:
        """A row that ``select-targets`` drew for the other attack is skipped, never attacked."""
        if spec.attack and spec.attack != self.kind:
            return (f"the row was selected for a {spec.attack}-targeted attack "
                    f"(xmtc-{spec.attack}), not this {self.kind}-targeted one")
        return None

    def _reduce(self, ranking):
        target_scores = ranking.scores[:, 0]
        rank = ranking.ranks[:, 0]
        competitor = _kth_best_other(ranking.top_scores, rank, self.k)
        probs = self._probabilities(torch.stack([target_scores, competitor], dim=1))
        margin = self.sign * (probs[:, 1] - probs[:, 0])
        # The raw score too: the paper's keep rule compares the target's own score, which a
        # probability rounds away near 0 or 1 in float32 (and the margin rounds away sooner).
        return torch.stack([margin, probs[:, 0], rank.to(probs.dtype), target_scores], dim=1)

    def _get_score(self, model_output, attacked_text):
        return float(model_output[0])

    def _get_displayed_output(self, raw_output):
        return TopKOutput(self._label_name(self.target), int(raw_output[2]), float(raw_output[1]),
                          self.requested_k, index=int(self.target))

    def _attacked_labels(self):
        return [self.target]

    def word_importance(self, attacked_texts):
        """The paper's importance: how much each text lowers (positive attack) or raises
        (negative attack) the target's probability from the original document's.

        Only the target's score is needed, so a wrapper with ``label_scores``
        computes that one label (AttentionXML skips the attention of the others).
        The raw scores are compared: they order words as the probabilities do
        (a sigmoid is monotone), without float32 rounding both to 1.0.
        """
        texts = self._spend_queries(attacked_texts)
        inputs = [text.tokenizer_input for text in texts]
        scores = self._label_raw_scores(inputs, [self.target])[:, 0].double().numpy()
        importance = self.sign * (float(self.initial_output[3]) - scores)
        return importance, self.num_queries == self.query_budget

    def target_movement(self, result) -> float:
        """How far ``result``'s text moved the target toward the goal from the ORIGINAL document
        (the paper's keep rule: positive = down for ``xmtc-pos``, up for ``xmtc-neg``), in raw scores."""
        return self.sign * (float(self.initial_output[3]) - float(result.raw_output[3]))


class PositiveTargetedTopK(_TargetedTopK):
    """Push a TRUE label out of the top-k.

    Precondition: the target is a true label and ranks in the top-k.
    Success: the target ranks below k. With ``target="auto"`` the true label in
    the top-k with the lowest score is attacked.

    Usage::

        goal = PositiveTargetedTopK(model_wrapper, k=5)
    """

    attack_type = "positive-targeted"
    sign = 1.0
    kind = "pos"

    def _precondition(self, first):
        name = self._label_name(self.target)
        if self.target not in self.true_labels:
            return f"target '{name}' is not a true label of this document"
        rank = first.rank(self.target)
        if rank > self.k:
            return f"target '{name}' is at rank {rank}, already outside the top-{self.k}"
        return None

    def _auto_target(self, first):
        ranked = sorted((first.rank(i), i) for i in self.true_labels)
        in_top = [pair for pair in ranked if pair[0] <= self.k]
        if not in_top:
            return self._no_true_label_in_top_k(ranked, first)
        return max(in_top)[1], None

    def _is_goal_complete(self, model_output, attacked_text):
        return int(model_output[2]) > self.k


class NegativeTargetedTopK(_TargetedTopK):
    """Pull a FALSE label into the top-k.

    Precondition: the target is not a true label and ranks below k.
    Success: the target ranks in the top-k. With ``target="auto"`` the
    best-scored false label outside the top-k is attacked.

    Usage::

        goal = NegativeTargetedTopK(model_wrapper, k=5)
    """

    attack_type = "negative-targeted"
    sign = -1.0
    kind = "neg"

    def _precondition(self, first):
        name = self._label_name(self.target)
        if self.target in self.true_labels:
            return f"target '{name}' is a true label of this document"
        rank = first.rank(self.target)
        if rank <= self.k:
            return f"target '{name}' is already in the top-{self.k} (rank {rank})"
        return None

    def _auto_target(self, first):
        true = set(self.true_labels)
        # The top list holds k + |true| + 1 labels: past the k-th, at least one is false unless L is smaller.
        order = [index for index in first.top_labels if index < self.num_labels]
        for index in order[self.k:]:
            if index not in true:
                return index, None
        return order[min(self.k, len(order) - 1)], f"every label outside the top-{self.k} is a true label"

    def _is_goal_complete(self, model_output, attacked_text):
        return int(model_output[2]) <= self.k


class UntargetedTopK(TopKGoalFunction):
    """Push ANY true label that is in the top-k out of it.

    Precondition: at least one true label ranks in the top-k. Success: at
    least one of those labels has left the top-k. The score follows the label
    closest to leaving. Defined in the paper, not in its released code.

    Usage::

        goal = UntargetedTopK(model_wrapper, k=5)
    """

    attack_type = "untargeted"
    watched = (0,)  # replaced per example, see _TargetedTopK.target

    def _prepare(self, spec, first):
        ranks = sorted((first.rank(i), i) for i in self.true_labels)
        self.watched = [i for rank, i in ranks if rank <= self.k]
        if not self.watched:
            shown, reason = self._no_true_label_in_top_k(ranks, first)
            self.watched = [shown]
            return reason
        return None

    def _attacked_labels(self):
        return list(self.watched)

    def _reduce(self, ranking):
        columns = []
        for column in range(len(self.watched)):  # at most k labels
            rank = ranking.ranks[:, column]
            competitor = _kth_best_other(ranking.top_scores, rank, self.k)
            probs = self._probabilities(torch.stack([ranking.scores[:, column], competitor], dim=1))
            columns.append(torch.stack([probs[:, 1] - probs[:, 0], rank.to(probs.dtype), probs[:, 0]], dim=1))
        stacked = torch.stack(columns, dim=1)  # [B, m, 3]
        best = stacked[:, :, 0].argmax(dim=1)
        chosen = stacked[torch.arange(stacked.shape[0]), best]
        watched = torch.tensor(self.watched, dtype=stacked.dtype, device=stacked.device)[best]
        left = (stacked[:, :, 1] > self.k).sum(1).to(stacked.dtype)
        return torch.stack([chosen[:, 0], watched, chosen[:, 1], chosen[:, 2], left], dim=1)

    def _is_goal_complete(self, model_output, attacked_text):
        return int(model_output[4]) >= 1

    def _get_score(self, model_output, attacked_text):
        return float(model_output[0])

    def _get_displayed_output(self, raw_output):
        return TopKOutput(self._label_name(int(raw_output[1])), int(raw_output[2]),
                          float(raw_output[3]), self.requested_k, left=int(raw_output[4]),
                          index=int(raw_output[1]))


# TextAttack checks goal functions against a table of model classes; ours
# accept any wrapper that returns [batch, L] scores.
for _goal_class in (PositiveTargetedTopK, NegativeTargetedTopK, UntargetedTopK):
    validators.MODELS_BY_GOAL_FUNCTION.setdefault(_goal_class, [r".*"])


def _rows(reduced: torch.Tensor) -> List[np.ndarray]:
    """One small numpy row per text: TextAttack reads a few numbers from each, and indexing
    a numpy row costs a tenth of indexing a tensor row (GoalFunctionResult would convert it anyway)."""
    return list(reduced.numpy())


class _FirstRow:
    """The original text's ranking, as the goals' preparation reads it: ranks by label, the top list."""

    def __init__(self, ranking: LabelRanking, asked: Sequence[int]):
        self._ranks = dict(zip(asked, ranking.ranks[0].tolist()))
        self.top_labels = ranking.top_labels[0].tolist()

    def rank(self, label: int) -> int:
        return int(self._ranks[label])


def _checked_ranking(ranking, count: int, asked: int, k: int, model) -> LabelRanking:
    """A wrapper's :class:`LabelRanking` after checking its shapes and that no real score is NaN or inf."""
    shapes = [tuple(getattr(tensor, "shape", ())) for tensor in ranking] if isinstance(ranking, tuple) else None
    if shapes != [(count, k), (count, k), (count, asked), (count, asked)]:
        raise TypeError(f"{type(model).__name__}.rank_labels returned {shapes or type(ranking).__name__} for "
                        f"{count} texts, {asked} labels and k={k}; expected a LabelRanking of "
                        f"[{count}, {k}] top lists and [{count}, {asked}] scores and ranks")
    ranking = LabelRanking(*ranking)
    real_top = ranking.top_scores[ranking.top_labels < len(getattr(model, "labels", ()) or ())]
    if not (bool(torch.isfinite(ranking.scores).all()) and bool(torch.isfinite(real_top).all())
            and not bool(torch.isnan(ranking.top_scores).any())):
        raise NonFiniteScoresError(non_finite_message(model))
    return ranking


def cut_to_what_the_victim_reads(attacked_text, max_words: Optional[int]):
    """The document cut after ``MAX_WORDS_FACTOR * max_words`` words when it is longer.

    Words beyond ``max_words`` cannot change a victim's scores, and they are never
    changed (``MaxWordIndexModification``); but every candidate text would copy them:
    a 10 MB one-line document took over 11 GB. Ordinary documents are kept whole, so
    that the paper's word counts and similarities see the whole document. A cut text
    records the original word count in ``attack_attrs["xmtc_words_before_cut"]``.
    """
    from textattack.shared import AttackedText

    if not max_words or attacked_text.num_words <= MAX_WORDS_FACTOR * max_words:
        return attacked_text
    keep = MAX_WORDS_FACTOR * max_words
    cut = AttackedText(attacked_text.text_until_word_index(keep).rstrip())
    cut.attack_attrs["xmtc_words_before_cut"] = attacked_text.num_words
    logger.warning(f"a document of {attacked_text.num_words} words was cut to its first {keep} "
                   f"(the victim reads at most {max_words})")
    return cut


def _kth_best_other(top_scores: torch.Tensor, rank: torch.Tensor, k: int) -> torch.Tensor:
    """The k-th highest score among the labels other than the target, from the k + 1 best scores.

    When the target is in the top-k that is the (k+1)-th score overall,
    otherwise the k-th. With k >= L there is no such label: the padded -inf.
    """
    return torch.where(rank <= k, top_scores[:, k], top_scores[:, k - 1])


def _resolve_score_type(model_wrapper, score_type: Optional[str]) -> str:
    declared = getattr(model_wrapper, "score_type", None)
    if score_type and declared in SCORE_TYPES and score_type != declared:
        raise ValueError(
            f"{type(model_wrapper).__name__} returns {declared}, so score_type={score_type!r} "
            "(XMTC_SCORE_TYPE) would misread its scores; leave it unset for this wrapper")
    score_type = score_type or declared
    if score_type not in SCORE_TYPES:
        raise ValueError(
            f"tell the goal function whether {type(model_wrapper).__name__} returns probabilities "
            "or logits: pass score_type='probabilities' or score_type='logits' (or give the wrapper "
            f"a score_type attribute); got {score_type!r}")
    return score_type
