"""The run directory's lock and its row reader (:mod:`textattack_xmtc.study.run_directory`)."""
import os

import pytest

from textattack_xmtc.study.run_directory import (
    DamagedRowError,
    RunDirectoryError,
    lock_run_directory,
    parse_row,
    read_result_rows,
)


def test_a_locked_directory_is_refused_with_the_callers_advice(tmp_path):
    held = lock_run_directory(tmp_path)
    try:
        with pytest.raises(RunDirectoryError) as default:
            lock_run_directory(tmp_path)
        with pytest.raises(RunDirectoryError) as hinted:
            lock_run_directory(tmp_path, hint="wait for the other rescoring to finish")
    finally:
        os.close(held)
    in_use = f"{tmp_path} is in use by another experiment run; "
    assert str(default.value) == in_use + "wait for it to end or use another --out"
    assert str(hinted.value) == in_use + "wait for the other rescoring to finish"
    os.close(lock_run_directory(tmp_path))  # free again once the holder closed it


def test_a_directory_where_the_lock_cannot_be_made_is_one_run_directory_error(tmp_path, monkeypatch):
    # was a PermissionError traceback from os.open (read-only filesystem, someone else's directory)
    real_open = os.open

    def refuse_the_lock(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse_the_lock)
    with pytest.raises(RunDirectoryError) as refused:
        lock_run_directory(tmp_path)
    assert str(refused.value) == (f"{tmp_path}: cannot write in the run directory (Permission denied); "
                                  "choose a writable --out")
    monkeypatch.undo()
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("mine")
    with pytest.raises(RunDirectoryError, match=r"a-file/run: cannot write in the run directory \(Not a directory\)"):
        lock_run_directory(not_a_directory / "run")
    assert not_a_directory.read_text() == "mine"


def write_lines(path, lines):
    path.write_bytes(b"".join(lines))
    return path


def test_read_result_rows_numbers_the_lines_skips_blank_ones_and_needs_no_target_number(tmp_path):
    results = write_lines(tmp_path / "results.jsonl", [b'{"target_number": 0, "status": "failed"}\n', b"\n",
                                                        b'{"status": "succeeded"}\n', b"   \n"])
    assert list(read_result_rows(results)) == [(1, {"target_number": 0, "status": "failed"}),
                                              (3, {"status": "succeeded"})]
    with pytest.raises(FileNotFoundError):
        list(read_result_rows(tmp_path / "missing.jsonl"))


@pytest.mark.parametrize("line, kind, reason", [
    (b"\xff\xfe\n", "encoding", "can't decode"),
    (b"{oops\n", "json", "Expecting property name"),
    (b'{"status": "succeeded", "similarity": NaN}\n', "constant", "NaN is not a number a run writes"),
    (b'{"status": "succeeded", "seconds": -Infinity}\n', "constant", "-Infinity is not a number a run writes"),
    (b'["a list"]\n', "object", "not a JSON object"),
    (b'{"status": "succeeded"', "json", None),  # torn: a kill while writing; only the run itself cuts it off
])
def test_read_result_rows_names_the_first_damaged_line(tmp_path, line, kind, reason):
    results = write_lines(tmp_path / "results.jsonl", [b'{"status": "failed"}\n', b"\n", line, b"{oops\n"])
    rows = read_result_rows(results)
    assert next(rows) == (1, {"status": "failed"})  # the rows before the damage come first
    with pytest.raises(DamagedRowError) as damaged:
        next(rows)
    error = damaged.value
    assert (error.path, error.line_number, error.kind) == (results, 3, kind)
    assert reason is None or reason in error.reason
    assert str(error).startswith(f"{results}:3 is not a result row (")
    assert isinstance(error, RunDirectoryError)


def test_parse_row_is_the_same_decoding_and_also_needs_a_target_number():
    assert parse_row(b'{"target_number": 2, "status": "failed"}\n') == {"target_number": 2, "status": "failed"}
    for damaged in (b'{"status": "failed"}\n', b'{"target_number": "2"}\n', b'{"target_number": 2, "x": NaN}\n',
                    b"\xff\n", b"{oops\n", b"[2]\n", b""):
        assert parse_row(damaged) is None, damaged


def test_a_row_that_cannot_be_written_is_one_run_directory_error_and_earlier_rows_stay(tmp_path, monkeypatch):
    import errno

    from textattack_xmtc.study.run_directory import RESULTS_FILE, RunDirectory

    settings = {"format": "textattack-xmtc-run", "version": 1, "model": "m", "victim": {}, "recipe": "xmtc-pos",
                "options": {}, "targets": {"path": "t", "sha256": "0", "rows": 2}, "seed": 0}
    with RunDirectory.open(tmp_path / "run", settings) as run:
        run.append({"target_number": 0, "text": "kept"})
        real_write = os.write

        def full_disk(fd, data):
            if fd == run._results_fd:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", full_disk)
        with pytest.raises(RunDirectoryError) as error:
            run.append({"target_number": 1, "text": "lost"})
        monkeypatch.undo()
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{tmp_path / 'run' / RESULTS_FILE}: cannot append a result row "
                                                      "(No space left on device); the rows before it are kept")
    assert (tmp_path / "run" / RESULTS_FILE).read_text().count("\n") == 1


def test_a_run_file_that_cannot_be_written_is_one_run_directory_error_and_the_lock_is_freed(tmp_path, monkeypatch):
    import errno

    from textattack_xmtc.study import run_directory
    from textattack_xmtc.study.run_directory import RunDirectory

    settings = {"format": "textattack-xmtc-run", "version": 1, "model": "m", "victim": {}, "recipe": "xmtc-pos",
                "options": {}, "targets": {"path": "t", "sha256": "0", "rows": 1}, "seed": 0}

    def full_disk(path, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_directory, "write_atomically", full_disk)
    with pytest.raises(RunDirectoryError) as error:
        RunDirectory.open(tmp_path / "run", settings)
    assert str(error.value) == (f"{tmp_path / 'run'}: cannot set up the run directory (No space left on device); "
                                "make room or choose another --out")
    monkeypatch.undo()
    RunDirectory.open(tmp_path / "run", settings).close()  # not left locked


FOREIGN_SETTINGS = {"format": "textattack-xmtc-run", "version": 1, "model": "m",
                    "victim": {"weights_sha256": "ours"}, "recipe": "xmtc-pos", "options": {},
                    "targets": {"path": "t", "sha256": "0", "rows": 3}, "seed": 0}


def _row(number, target="acq", weights="ours"):
    return {"target_number": number, "status": "failed", "words": 3, "words_changed": 0, "target": target,
            "attack": "positive-targeted", "source": f"t, line {number}",
            "original_text": "a b c", "victim": {"weights_sha256": weights}}


@pytest.mark.parametrize("rows, problem", [
    ([_row(0), _row(1, weights="theirs")], "made on another victim (weights sha256 theirs...) than the run's "
                                           "(ours...): rows of another run were added to the file"),
    ([_row(0), _row(1), _row(0, target="earn")], "target_number 0 again, for another target (first on line 1)"),
])
def test_rows_appended_from_another_run_are_refused_by_experiment_and_report(tmp_path, rows, problem):
    # A hand-merged results file was counted by report and taken as done by a resumed experiment.
    import json

    from textattack_xmtc.study.report import ReportError, read_run
    from textattack_xmtc.study.run_directory import RESULTS_FILE, RunDirectory

    with RunDirectory.open(tmp_path / "run", FOREIGN_SETTINGS) as run:
        (tmp_path / "run" / RESULTS_FILE).write_text("".join(json.dumps(row) + "\n" for row in rows))
        with pytest.raises(RunDirectoryError) as error:
            run.finished_rows()
    assert f"line {len(rows)}: " in str(error.value) and problem in str(error.value)
    with pytest.raises(ReportError) as error:
        read_run(tmp_path / "run")
    assert f"{RESULTS_FILE}:{len(rows)} " in str(error.value) and problem in str(error.value)


def test_the_same_target_twice_is_one_target_not_an_error(tmp_path):
    import json

    from textattack_xmtc.study.run_directory import RESULTS_FILE, RunDirectory

    with RunDirectory.open(tmp_path / "run", FOREIGN_SETTINGS) as run:
        (tmp_path / "run" / RESULTS_FILE).write_text("".join(json.dumps(row) + "\n" for row in (_row(0), _row(0))))
        assert list(run.finished_rows()) == [0]
