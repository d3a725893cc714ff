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


def run_study(root, model, data, evaluate=(), select=(), experiment=(), env=None, first_timeout=600):
    """The paper's study through the commands, as a user runs it: ``evaluate`` (its JSON in
    ``root/eval.json``), ``select-targets`` (``root/targets.jsonl``), ``experiment`` for xmtc-pos and
    xmtc-neg (``root/<recipe>``) and ``report`` of both (``root/report``). Each step must exit 0;
    returns ``{step name: CompletedProcess}``. ``first_timeout``: for ``evaluate``, which may train
    a built-in model first."""
    steps = {}

    def step(name, *arguments, timeout=600):
        result = run("textattack-xmtc", *arguments, env=env, timeout=timeout)
        assert result.returncode == 0, f"{name}: {result.stderr[-3000:]}"
        steps[name] = result

    step("evaluate", "evaluate", "--model", model, "--data", data, "--json", str(root / "eval.json"), *evaluate,
         timeout=first_timeout)
    step("select", "select-targets", "--model", model, "--data", data, "--out", str(root / "targets.jsonl"),
         *select)
    for recipe in ("xmtc-pos", "xmtc-neg"):
        step(recipe, "experiment", "--model", model, "--targets", str(root / "targets.jsonl"), "--recipe", recipe,
             "--out", str(root / recipe), *experiment)
    step("report", "report", str(root / "xmtc-pos"), str(root / "xmtc-neg"), "--out", str(root / "report"))
    return steps
