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
