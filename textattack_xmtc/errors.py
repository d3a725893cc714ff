"""Errors for user mistakes: each message names the file (and line or tensor) at fault."""
import sys


class ModelLoadError(ValueError):
    """A MODEL could not be loaded: wrong layout, shapes or label list."""


class CheckpointError(ModelLoadError):
    """A checkpoint does not fit the architecture; the message names the file and tensor."""


class UnsupportedModelError(ModelLoadError):
    """A MODEL in a format this package recognises but cannot load yet (e.g. a FastAttentionXML label tree)."""


class CommandLineExit(SystemExit):
    """A user mistake ends a command: its one-line message on stderr, exit status 2.

    ``SystemExit(message)`` would exit with status 1 (Python prints a non-integer
    code and exits 1); TextAttack's stock command gives us no place of our own to
    catch and print, so the message is printed when the exit is raised and the code
    is 2. ``str(exit)`` is still the message.

    Usage::

        raise CommandLineExit("textattack-xmtc: error: t.jsonl, line 2: unknown target label 'x'")
    """

    def __init__(self, message: str):
        # Some messages list what was tried, one item per line (the model loader's formats): one line here.
        message = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
        super().__init__(message)
        self.code = 2  # read by the interpreter when the exception ends the program
        print(message, file=sys.stderr, flush=True)


class RecipeOptionsError(ValueError):
    """``--recipe NAME^OPTIONS`` whose OPTIONS are not keyword options of our recipes."""
