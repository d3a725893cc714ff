"""load_victim on paths that are not plain files or directories."""
import os

import pytest

from textattack_xmtc.model_wrappers import ModelLoadError, load_victim


def test_a_symbolic_link_loop_is_named_as_one(tmp_path):
    # Path.exists() is False for a loop, which read as "no such file or directory".
    os.symlink(tmp_path / "loopB", tmp_path / "loopA")
    os.symlink(tmp_path / "loopA", tmp_path / "loopB")
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(tmp_path / "loopA"))
    assert str(error.value) == f"{tmp_path / 'loopA'}: a symbolic link loop (too many levels of symbolic links)"


def test_a_path_below_a_symbolic_link_loop_is_named_as_one(tmp_path):
    os.symlink(tmp_path / "self", tmp_path / "self")
    with pytest.raises(ModelLoadError, match=r"self/model: a symbolic link loop"):
        load_victim(str(tmp_path / "self" / "model"))


def test_a_missing_path_is_still_no_such_file(tmp_path):
    with pytest.raises(ModelLoadError, match=r"missing: no such file or directory, and not a built-in model name"):
        load_victim(str(tmp_path / "missing"))


def test_a_dangling_symbolic_link_names_where_it_points(tmp_path):
    os.symlink(tmp_path / "moved-model", tmp_path / "model")
    with pytest.raises(ModelLoadError) as error:
        load_victim(str(tmp_path / "model"))
    assert str(error.value) == f"{tmp_path / 'model'}: a symbolic link to {tmp_path / 'moved-model'}, which does not exist"
