"""The run directory's lock and its row reader (:mod:`textattack_xmtc.study.run_directory`)."""
import os

import pytest

from textattack_xmtc.study.run_directory import RunDirectoryError, lock_run_directory


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
