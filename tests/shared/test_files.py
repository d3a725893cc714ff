"""write_atomically: whole or not at all, with the permissions a plain open() gives."""
import os
import stat

import pytest

from textattack_xmtc.shared.files import write_atomically


def test_text_bytes_and_a_writer_function_all_arrive_whole(tmp_path):
    write_atomically(tmp_path / "a.txt", "héllo\n")
    write_atomically(tmp_path / "b.bin", b"\x00\x01")
    write_atomically(tmp_path / "c.bin", lambda stream: stream.write(b"from a function"), durable=True)
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "c.bin").read_bytes() == b"from a function"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.bin"]


def test_the_file_is_readable_as_the_umask_allows_not_private(tmp_path):
    previous = os.umask(0o022)
    try:
        write_atomically(tmp_path / "report.md", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "report.md").stat().st_mode) == 0o644  # mkstemp alone gives 0600


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "targets.jsonl"
    path.write_text("old\n")

    def broken(stream):
        stream.write(b"half of a new fi")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, broken, temporary_prefix=".partial-")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["targets.jsonl"]
