"""Running the stock ``textattack`` and ``textattack-xmtc`` commands in subprocesses.

They run the INSTALLED package: the stock command learns our names from the
``.pth`` start-up file that ``pip install .`` puts in site-packages. Nothing
here is a test.
"""
import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest


def installed():
    site = Path(sysconfig.get_paths()["purelib"])
    return (site / "textattack_xmtc.pth").is_file() and shutil.which("textattack")


def run(*command, env=None, timeout=300, cwd=None):
    """A command with the offline-friendly defaults of the tests (no similarity encoder)."""
    full_env = dict(os.environ, XMTC_ENCODER="none", PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=cwd)


@pytest.fixture
def require_install():
    if not installed():
        pytest.fail("the package is not installed: run `pip install -c constraints.txt .` first "
                    "(the stock textattack command needs the installed start-up file)")


def write_targets(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
