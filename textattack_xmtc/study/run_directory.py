"""The run directory of ``textattack-xmtc experiment``: its settings (``run.json``) and rows (``results.jsonl``).

A run can be killed at any moment (SIGKILL included) and continued, so:

* ``run.json`` is written once, atomically (a temporary file, then ``os.replace``),
  before any row; a directory whose ``run.json`` records other settings is
  refused, naming the first difference;
* each row is appended as ONE ``os.write`` of ``json + "\\n"`` to an
  ``O_APPEND`` descriptor, then ``os.fsync``: a kill can at worst leave the
  last line torn (no newline, or not JSON); :meth:`RunDirectory.finished_rows`
  cuts such a line off and says so;
* a lock (``flock`` on ``.lock``, released by the kernel when the process
  dies) keeps two runs from writing the same directory at once;
* once every target is done, :meth:`RunDirectory.put_in_order` rewrites
  ``results.jsonl`` in targets-file order (rows of several workers arrive out
  of order), atomically and byte for byte the same lines.

Usage::

    settings = run_settings(model, victim.identity(), "xmtc-pos", options, targets_path, seed=0)
    with RunDirectory.open("runs/pos", settings, log=print) as run:
        done = run.finished_rows()            # target_number -> row
        run.append(row)                       # crash-safe
        run.put_in_order()
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional, Tuple

from ..shared.files import write_atomically as shared_write_atomically

RUN_FORMAT = "textattack-xmtc-run"
RUN_VERSION = 1
RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
LOCK_FILE = ".lock"
TEMPORARY_PREFIX = ".partial-"

# Options that change speed, not results: a run may be continued with another value.
OPTIONS_NOT_COMPARED = ("threads",)


class RunDirectoryError(ValueError):
    """A run directory that cannot be used for this run; the one-line message says why and what to do."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_settings(model: str, victim: dict, recipe: str, options: dict, targets: Path, rows: int,
                 seed: int) -> dict:
    """The content of ``run.json`` for a run (see the module docstring of :mod:`.experiment`)."""
    from .. import __version__
    from ..attack import textattack_version

    targets = Path(targets).resolve()
    return {"format": RUN_FORMAT, "version": RUN_VERSION, "model": model, "victim": dict(victim),
            "recipe": recipe, "options": dict(options),
            "targets": {"path": str(targets), "sha256": file_sha256(targets), "rows": rows},
            "seed": seed, "package_version": __version__, "textattack_version": textattack_version()}


def settings_difference(recorded: dict, wanted: dict) -> Optional[str]:
    """The first setting in which a run directory's ``run.json`` differs from this run's, in words."""
    recorded_victim, wanted_victim = _object(recorded.get("victim")), wanted["victim"]
    for key, what in (("weights_sha256", "weights"), ("labels_sha256", "labels")):
        if recorded_victim.get(key) != wanted_victim.get(key):
            return (f"model {recorded.get('model')!r} ({what} sha256 {_short(recorded_victim.get(key))}), "
                    f"not {wanted['model']!r} ({what} sha256 {_short(wanted_victim.get(key))})")
    if recorded.get("recipe") != wanted["recipe"]:
        return f"recipe {recorded.get('recipe')}, not {wanted['recipe']}"
    recorded_options = _object(recorded.get("options"))
    for name, value in wanted["options"].items():
        if name not in OPTIONS_NOT_COMPARED and recorded_options.get(name) != value:
            return f"recipe option {name}={recorded_options.get(name)!r}, not {name}={value!r}"
    recorded_targets = _object(recorded.get("targets"))
    if recorded_targets.get("sha256") != wanted["targets"]["sha256"]:
        if recorded_targets.get("path") == wanted["targets"]["path"]:  # edited in place
            return (f"the targets file {wanted['targets']['path']} as it was when the run began (sha256 "
                    f"{_short(recorded_targets.get('sha256'))}); it has changed since (sha256 "
                    f"{_short(wanted['targets']['sha256'])})")
        return (f"another targets file ({recorded_targets.get('path')}, sha256 "
                f"{_short(recorded_targets.get('sha256'))}), not {wanted['targets']['path']} "
                f"(sha256 {_short(wanted['targets']['sha256'])})")
    if recorded.get("seed") != wanted["seed"]:
        return f"seed {recorded.get('seed')}, not {wanted['seed']}"
    return None


def foreign_row_problem(row: dict, settings: dict, first_line: Dict[int, tuple], line: int) -> Optional[str]:
    """Why a row of ``results.jsonl`` cannot belong to the run described by ``settings`` (its run.json),
    or None; ``first_line`` (target number -> line, filled here) catches a number seen twice.

    Rows appended by hand from another run (another victim, another targets file) were counted
    by ``report`` and taken as done by a resumed ``experiment``.
    """
    number = row.get("target_number")
    row_victim, run_victim = _object(row.get("victim")), _object(settings.get("victim"))
    if None not in (row_victim.get("weights_sha256"), run_victim.get("weights_sha256")) and \
            row_victim.get("weights_sha256") != run_victim.get("weights_sha256"):
        return (f"made on another victim (weights sha256 {_short(row_victim.get('weights_sha256'))}) than the "
                f"run's ({_short(run_victim.get('weights_sha256'))}): rows of another run were added to the file")
    if not isinstance(number, int):
        return None
    # The same target again (a retried worker) is one target; another target under its number is not.
    which = (row.get("source"), row.get("target"), row.get("original_text"))
    if number in first_line and first_line[number][1] != which:
        return (f"target_number {number} again, for another target (first on line {first_line[number][0]}): "
                "rows of another run were added to the file")
    first_line.setdefault(number, (line, which))
    return None


def _object(value) -> dict:
    """A run.json section, or {} where a hand edit left something else (then it differs, in words)."""
    return value if isinstance(value, dict) else {}


def _short(digest: Optional[str]) -> str:
    return f"{digest[:12]}..." if digest else "unknown"


class RunDirectory:
    """An open run directory: ``run.json`` checked or written, the lock held, rows appendable."""

    def __init__(self, path: Path, lock_fd: int, log: Callable[[str], None], settings: Optional[dict] = None):
        self.path = path
        self.settings = settings or {}  # run.json's: every row read must belong to this run
        self.results = path / RESULTS_FILE
        self._lock_fd = lock_fd
        self._log = log
        self._results_fd: Optional[int] = None
        self._lines: Dict[int, bytes] = {}  # target_number -> the row's line, as written

    @classmethod
    def open(cls, path, settings: dict, log: Callable[[str], None] = lambda _: None) -> "RunDirectory":
        """Create the directory (or check that it was made with ``settings``) and lock it."""
        path = Path(path).expanduser()
        _make_directory(path)
        lock_fd = lock_run_directory(path)
        try:
            _check_or_write_settings(path, settings)
            _remove_partial_files(path)
        except OSError as error:  # a full disk or quota: the lock could be made, run.json not
            os.close(lock_fd)
            raise RunDirectoryError(f"{path}: cannot set up the run directory ({error.strerror or error}); "
                                    f"make room or choose another --out") from None
        except BaseException:
            os.close(lock_fd)
            raise
        return cls(path, lock_fd, log, settings)

    def __enter__(self) -> "RunDirectory":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        for fd in (self._results_fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._results_fd = self._lock_fd = None

    def finished_rows(self) -> Dict[int, dict]:
        """The rows already in ``results.jsonl`` by target number, after cutting off a torn last row."""
        if not self.results.exists():
            return {}
        data = self.results.read_bytes()
        kept = self._cut_torn_last_row(data)
        rows: Dict[int, dict] = {}
        first_line: Dict[int, tuple] = {}
        for number, line in enumerate(data[:kept].splitlines(keepends=True), start=1):
            row = parse_row(line)
            if row is None:
                raise RunDirectoryError(f"{self.results}, line {number}: not a result row (damaged file?); "
                                        "move the file away to start the run again")
            problem = foreign_row_problem(row, self.settings, first_line, number)
            if problem:
                raise RunDirectoryError(f"{self.results}, line {number}: {problem}; remove those rows, or "
                                        "move the file away to start the run again")
            rows.setdefault(row["target_number"], row)
            self._lines.setdefault(row["target_number"], line)
        return rows

    def _cut_torn_last_row(self, data: bytes) -> int:
        """Length of ``data`` without a last line that a kill tore (no newline, or not a row)."""
        if not data:
            return 0
        start = data.rfind(b"\n", 0, len(data) - 1) + 1
        if data.endswith(b"\n") and parse_row(data[start:]) is not None:
            return len(data)
        with open(self.results, "r+b") as handle:
            handle.truncate(start)
            os.fsync(handle.fileno())
        self._log(f"{self.results}: cut off a torn last row ({len(data) - start} bytes, "
                  "from an interrupted run); its target is attacked again")
        return start

    def append(self, row: dict) -> None:
        """Append one row, crash-safe: one write of the whole line, then fsync."""
        line = (json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        try:
            if self._results_fd is None:
                self._results_fd = os.open(self.results, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            written = os.write(self._results_fd, line)
            if written != len(line):  # the torn line is cut off when the run is continued
                raise OSError(errno.ENOSPC, f"only {written} of {len(line)} bytes written")
            os.fsync(self._results_fd)
        except OSError as error:  # a full disk, a quota, a file made read-only: the rows before it are kept
            raise RunDirectoryError(f"{self.results}: cannot append a result row ({error.strerror or error}); "
                                    f"the rows before it are kept: make room and run the same command to "
                                    f"continue") from None
        self._lines.setdefault(row["target_number"], line)

    def put_in_order(self) -> None:
        """Rewrite ``results.jsonl`` in target order (same lines), atomically; nothing to do if it is."""
        numbers = list(self._lines)
        if numbers == sorted(numbers):
            return
        content = b"".join(self._lines[number] for number in sorted(numbers))
        write_atomically(self.results, content)
        self._lines = {number: self._lines[number] for number in sorted(numbers)}
        if self._results_fd is not None:  # it points at the replaced file
            os.close(self._results_fd)
            self._results_fd = None


class DamagedRowError(RunDirectoryError):
    """A line of a run's row file that is not a row: where (``path``, ``line_number``) and why.

    ``kind`` is ``"encoding"`` (not UTF-8), ``"json"`` (not JSON), ``"constant"``
    (NaN/Infinity, which rows are written without; ``constant`` names it) or
    ``"object"`` (JSON, but not an object); ``reason`` says it in words.
    Callers translate it into their own one-line message.
    """

    def __init__(self, path: Path, line_number: int, kind: str, reason: str, constant: Optional[str] = None):
        super().__init__(f"{path}:{line_number} is not a result row ({reason}): the file is damaged")
        self.path, self.line_number, self.kind, self.reason, self.constant = path, line_number, kind, reason, constant


class _Damage(ValueError):
    """Why :func:`_decode_row` refused a line (becomes a :class:`DamagedRowError` with the file and line)."""

    def __init__(self, kind: str, reason: str, constant: Optional[str] = None):
        super().__init__(reason)
        self.kind, self.reason, self.constant = kind, reason, constant


def _not_a_number(constant: str):
    raise _Damage("constant", f"{constant} is not a number a run writes", constant)


def _decode_row(line: bytes) -> dict:
    """One JSONL line as a JSON object: UTF-8, no NaN/Infinity (rows are written without); else :class:`_Damage`."""
    try:
        row = json.loads(line.decode("utf-8"), parse_constant=_not_a_number)
    except UnicodeDecodeError as error:
        raise _Damage("encoding", str(error)) from None
    except json.JSONDecodeError as error:
        raise _Damage("json", error.msg) from None
    if not isinstance(row, dict):
        raise _Damage("object", "not a JSON object")
    return row


def parse_row(line: bytes) -> Optional[dict]:
    """One JSONL line of a run's row files as a dict with an int ``target_number``, else None (damaged)."""
    try:
        row = _decode_row(line)
    except _Damage:
        return None
    if not isinstance(row.get("target_number"), int):
        return None
    return row


def read_result_rows(path: Path) -> Iterator[Tuple[int, dict]]:
    """(line number, row) of every non-blank line of a run's ``results.jsonl``, in file order, one at a time.

    Each line is decoded as :func:`parse_row` decodes it (UTF-8, a JSON object,
    no NaN/Infinity), but a row need not carry a ``target_number``: runs made
    by hand are read too. The first damaged line raises
    :class:`DamagedRowError` naming the file and line; a torn last line (a run
    killed while writing) is damage here, as only the run itself may cut it
    off. A missing file raises ``FileNotFoundError``: whether that is an error
    is the caller's choice. Rows come one at a time, so that a caller's own
    checks of each row name the first bad line of the file, whatever the kind.

    Usage::

        try:
            rows = list(read_result_rows(Path("runs/pos/results.jsonl")))
        except DamagedRowError as error:
            sys.exit(f"{error.path}:{error.line_number}: {error.reason}")
    """
    with open(path, "rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = _decode_row(line)
            except _Damage as damage:
                raise DamagedRowError(path, number, damage.kind, damage.reason, damage.constant) from None
            yield number, row


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``path`` whole or not at all, flushed to disk with its directory (a killed run keeps it)."""
    shared_write_atomically(path, content, temporary_prefix=TEMPORARY_PREFIX, durable=True)


def _make_directory(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise RunDirectoryError(f"{path} exists and is not a directory; name a new or an existing run "
                                "directory with --out")
    if path.is_dir() and not (path / RUN_FILE).exists() and any(map(_is_users_file, path.iterdir())):
        raise RunDirectoryError(f"{path} holds other files and no {RUN_FILE}; it is not a run directory: "
                                "use another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunDirectoryError(f"{path}: cannot create the run directory ({error.strerror})") from None


def _is_users_file(path: Path) -> bool:
    """Anything but the lock and partial files that a run killed before writing ``run.json`` leaves."""
    return path.name != LOCK_FILE and not path.name.startswith(TEMPORARY_PREFIX)


#: The advice of the "in use" error for a run started with ``--out``.
LOCK_HINT = "wait for it to end or use another --out"


def lock_run_directory(path: Path, hint: str = LOCK_HINT) -> int:
    """Lock run directory ``path`` (``flock`` on ``.lock``); returns the descriptor to ``os.close``.

    The kernel releases the lock when the process dies. A directory locked by
    another process raises :class:`RunDirectoryError` at once, ending with
    ``hint``: what the caller's user can do about it. A directory where the lock
    file cannot be made (read-only filesystem, someone else's directory) raises
    :class:`RunDirectoryError` too, as a new ``--out`` that cannot be created does.

    Usage::

        fd = lock_run_directory(Path("runs/pos"), hint="wait for the other rescoring on it to finish")
        try:
            ...
        finally:
            os.close(fd)
    """
    try:
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:  # nothing of the run could be written there either
        raise RunDirectoryError(f"{path}: cannot write in the run directory ({error.strerror or error}); "
                                "choose a writable --out") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirectoryError(f"{path} is in use by another experiment run; {hint}") from None
    return fd


def _check_or_write_settings(path: Path, settings: dict) -> None:
    run_file = path / RUN_FILE
    if not run_file.exists():
        if (path / RESULTS_FILE).exists():
            raise RunDirectoryError(f"{path} holds {RESULTS_FILE} but no {RUN_FILE}; its settings are "
                                    "unknown: use another --out")
        write_atomically(run_file, (json.dumps(settings, indent=2) + "\n").encode("utf-8"))
        return
    try:
        recorded = json.loads(run_file.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise RunDirectoryError(f"{run_file}: not readable as a run file ({error}); use another --out") from None
    if not isinstance(recorded, dict) or recorded.get("format") != RUN_FORMAT:
        raise RunDirectoryError(f"{run_file} is not a textattack-xmtc run file; use another --out")
    if recorded.get("version") != RUN_VERSION:
        raise RunDirectoryError(f"{run_file} has run format version {recorded.get('version')!r}; this "
                                f"version of textattack-xmtc reads version {RUN_VERSION}: use another --out")
    difference = settings_difference(recorded, settings)
    if difference:
        raise RunDirectoryError(f"{path} was made with {difference}: use another --out (or the same "
                                "settings to continue that run)")


def _remove_partial_files(path: Path) -> None:
    """Temporary files of an atomic write that a kill interrupted (never the user's files)."""
    for partial in path.glob(f"{TEMPORARY_PREFIX}*"):
        partial.unlink()
