"""The plugin leaves stock TextAttack alone.

* A stock recipe on a stock model directory and a stock dataset file prints the
  same bytes and writes the same CSV with the plugin on and with
  ``TEXTATTACK_XMTC_DISABLE_HOOK=1`` (the control). The model directory is a
  Hugging Face classifier saved with ``problem_type:
  multi_label_classification``, the case our wrapper would otherwise take over.
* The hook writes nothing (TextAttack's one-time NLTK set-up is TextAttack's)
  and puts our stopword list last on NLTK's search path.
* The ``.pth`` line imports nothing until ``textattack`` is imported.

The first and second tests run the INSTALLED package (``pip install .``).
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PTH = "textattack_xmtc.pth"
DISABLE = "TEXTATTACK_XMTC_DISABLE_HOOK"
STOCK_DATASET = """import textattack

dataset = textattack.datasets.Dataset([
    ("the company said shares rose after the acquisition deal", 0),
    ("wheat and corn prices fell at the port", 0),
    ("the bank said profit and dividend rose", 0),
])
"""


@pytest.fixture
def require_install():
    site = Path(sysconfig.get_paths()["purelib"])
    if not ((site / PTH).is_file() and shutil.which("textattack")):
        pytest.fail("the package is not installed: run `pip install -c constraints.txt .` first")


def plain_env(**extra):
    """The environment without the switch, our recipe options, or NLTK / TextAttack locations."""
    dropped = (DISABLE, "NLTK_DATA", "TA_CACHE_DIR")
    env = {name: value for name, value in os.environ.items() if name not in dropped and not name.startswith("XMTC_")}
    return dict(env, PYTHONUNBUFFERED="1", **extra)


def nltk_data_dir():
    from textattack_xmtc._offline import NLTK_DATA_DIR

    return NLTK_DATA_DIR


def test_stock_recipe_model_and_dataset_file_are_byte_identical(hf_multilabel_dir, tmp_path, require_install):
    (tmp_path / "dataset.py").write_text(STOCK_DATASET)
    cache = tmp_path / "ta-cache"
    cache.mkdir()
    (cache / "post_install_check_3").touch()  # both runs: no NLTK downloads (no network in tests)
    # Stock TextAttack needs NLTK's stopwords to import; on this offline machine only we ship them.
    env = plain_env(TA_CACHE_DIR=str(cache), NLTK_DATA=nltk_data_dir())
    outputs = {}
    for mode, switch in (("plugin", {}), ("control", {DISABLE: "1"})):
        run_dir = tmp_path / mode
        run_dir.mkdir()
        result = subprocess.run(
            ["textattack", "attack", "--recipe", "deepwordbug", "--model", str(hf_multilabel_dir),
             "--dataset-from-file", str(tmp_path / "dataset.py"), "--num-examples", "3", "--random-seed", "1",
             "--log-to-csv", "results.csv"],
            capture_output=True, timeout=600, cwd=run_dir, env=dict(env, **switch))
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
        log = [line for line in result.stderr.splitlines() if line.startswith(b"textattack")]
        outputs[mode] = (result.stdout, (run_dir / "results.csv").read_bytes(), log)
    stdout, csv, log = outputs["plugin"]
    assert b"UntargetedClassification" in stdout and b"Attack Results" in stdout
    assert csv.count(b"\n") == 4
    assert not any(line.startswith(b"textattack-xmtc") for line in log)
    assert stdout == outputs["control"][0]
    assert csv == outputs["control"][1]
    assert log == outputs["control"][2]


def test_the_hook_writes_nothing_and_puts_our_stopwords_last(tmp_path, require_install):
    cache = tmp_path / "ta-cache"
    code = ("import importlib.util, json, os; importlib.util.find_spec('textattack'); import nltk.data; "
            "from textattack_xmtc._offline import NLTK_DATA_DIR; "
            "print(json.dumps([nltk.data.path, os.environ.get('NLTK_DATA'), NLTK_DATA_DIR]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=plain_env(TA_CACHE_DIR=str(cache)))
    assert result.returncode == 0, result.stderr[-3000:]
    path, nltk_data, ours = json.loads(result.stdout)
    assert path[-1] == ours and path.count(ours) == 1
    assert nltk_data is None
    assert not cache.exists()  # no post_install_check_3 marker: TextAttack's set-up is TextAttack's


@pytest.mark.parametrize("disabled", [False, True])
def test_the_pth_line_imports_nothing_until_textattack_is_imported(disabled):
    code = f"""import json, site, sys
sys.path.append({str(REPO)!r})
before, finders = set(sys.modules), len(sys.meta_path)
site.addpackage({str(REPO)!r}, {PTH!r}, set())
at_start = sorted(set(sys.modules) - before)
stubs = len(sys.meta_path) - finders
import importlib.util
importlib.util.find_spec("textattack")
finders = [type(finder).__name__ for finder in sys.meta_path]
print(json.dumps([at_start, stubs, "_textattack_xmtc_hook" in sys.modules, finders]))
"""
    env = plain_env(**({DISABLE: "1"} if disabled else {}))
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    at_start, stubs, hook_imported, finders = json.loads(result.stdout)
    assert at_start == []  # neither the hook module nor importlib.abc & co.
    if disabled:
        assert stubs == 0 and not hook_imported and "_Finder" not in finders
    else:
        assert stubs == 1 and hook_imported
        assert "_Finder" in finders and "TextAttackXMTCStub" not in finders
