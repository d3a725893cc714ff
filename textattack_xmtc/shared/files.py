"""Writing a user's file whole or not at all.

Every file the package writes for a user (reports, target lists, evaluation
JSON, run directories, cached tables) goes through :func:`write_atomically`:
a temporary file in the same directory, renamed over the destination, so that
a crash or Ctrl-C leaves the old file (or none), never half of a new one.

Usage::

    write_atomically(Path("report.md"), markdown)
    write_atomically(Path("table.npy"), lambda stream: np.save(stream, table), durable=True)
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Union

Content = Union[bytes, str, Callable[[BinaryIO], None]]


def write_atomically(path: Union[str, os.PathLike], content: Content, *, temporary_prefix: str = ".",
                     durable: bool = False) -> Path:
    """Write ``content`` to ``path`` through a temporary file beside it; returns ``path``.

    ``content`` is bytes, text (written as UTF-8) or a function that writes to a
    binary stream. The file gets the permissions a plain ``open()`` would give
    (0666 less the umask; ``mkstemp`` alone would make it private). ``durable``
    also flushes the file and its directory to disk (run directories, which
    must survive a killed process). The temporary file is named
    ``<temporary_prefix><name>.<random>.tmp`` and removed on failure.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.absolute().parent, prefix=f"{temporary_prefix}{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            if callable(content):
                content(stream)
            else:
                stream.write(content.encode("utf-8") if isinstance(content, str) else content)
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    if durable:
        _fsync_directory(path.absolute().parent)
    return path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["write_atomically"]
