"""What the ``textattack-xmtc`` subcommands share on their command lines: one-line errors.

A user mistake (a bad flag, a missing file, a model that does not load) is
ONE stderr line ``PROG: error: ...`` and exit status 2, never argparse's
usage block or a traceback.

Usage::

    parser = OneLineParser(prog=PROG, description=...)
    try:
        ...
        raise UsageError(f"--out {out} already exists; pass --overwrite to replace it")
    except UsageError as error:
        return report_usage_error(PROG, error)
"""
from __future__ import annotations

import argparse
import sys

from .._threads import threads_problem


class UsageError(Exception):
    """A mistake on the command line or in the inputs: printed as one line, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose error raises :class:`UsageError` (``... (see --help)``) instead of printing usage."""

    def error(self, message: str):
        raise UsageError(f"{message} (see --help)")


def report_usage_error(prog: str, error: BaseException) -> int:
    """Print ``PROG: error: MESSAGE`` on one line (multi-line messages joined) and return 2."""
    print(f"{prog}: error: {' '.join(str(error).split())}", file=sys.stderr)
    return 2


def thread_count(text: str) -> int:
    """An argparse type: a torch thread count (1 up to ``_threads.MAX_THREADS``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of threads, got {text!r}") from None
    problem = threads_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: torch's CPU threads for the command (default: torch's own, one per core)."""
    parser.add_argument("--threads", type=thread_count, default=None, metavar="N",
                        help="torch CPU threads (default: torch's own, one per core; on a machine busy with "
                             "other work 1 is often faster)")
