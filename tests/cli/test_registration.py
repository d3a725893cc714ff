"""How our recipes, models and targets files plug into TextAttack's own argument handling.

In-process (after ``register_all()``), except the last test, which runs the
installed stock ``textattack`` command with ``--recipe NAME^OPTIONS``.
"""
import argparse
import io
import json
import os
import shutil
import subprocess
import sysconfig
from contextlib import redirect_stdout
from pathlib import Path

import pytest

STOCK_DATASET = """import textattack
dataset = textattack.datasets.Dataset([("the company said shares rose after the acquisition deal", 0)])
"""


@pytest.fixture(scope="module")
def textattack_modules():
    import textattack.attack_args
    import textattack.dataset_args
    import textattack.model_args

    from textattack_xmtc.cli.registration import register_all

    register_all()
    return textattack


@pytest.fixture(scope="module")
def dataset_args(textattack_modules):
    return textattack_modules.dataset_args.DatasetArgs


def attack_args(textattack, recipe, **fields):
    fields.setdefault("model", "unused")
    return textattack.CommandLineAttackArgs(attack_recipe=recipe, **fields)


def one_line_exit(excinfo):
    message = str(excinfo.value)
    assert message.startswith("textattack-xmtc: error: ") and "\n" not in message, message
    assert excinfo.value.code == 2  # a user mistake exits 2 (a SystemExit carrying text would exit 1)
    return message


@pytest.mark.parametrize("name", ["targets.txt", "targets.tsv.gz", "a-directory"])
def test_our_recipes_refuse_a_file_that_is_not_a_targets_file(dataset_args, tmp_path, name):
    (tmp_path / "a-directory").mkdir()
    args = argparse.Namespace(dataset_from_file=str(tmp_path / name), attack_recipe="xmtc-pos")
    with pytest.raises(SystemExit, match=r"not a targets file; give a \.jsonl or \.csv file \(optionally \.gz\)"):
        dataset_args._create_dataset_from_args(args)


def test_our_targets_files_are_read_by_us(dataset_args, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "Company buys rival", "labels": ["acq"], "target": "acq"}\n')
    args = argparse.Namespace(dataset_from_file=str(path), attack_recipe="xmtc-neg")
    dataset = dataset_args._create_dataset_from_args(args)
    assert len(dataset) == 1 and type(dataset).__name__ == "XMTCDataset"


@pytest.mark.parametrize("name", ["x.csv", "x.json", "x.jsonl", "reuters21578"])
def test_a_stock_recipe_leaves_every_dataset_file_to_textattack(textattack_modules, tmp_path, name):
    (tmp_path / name).write_text('text,labels,target\n"Company buys rival",acq,acq\n')
    source = name if name == "reuters21578" else str(tmp_path / name)  # a built-in name, or a file
    args = attack_args(textattack_modules, "deepwordbug", dataset_from_file=source)
    with pytest.raises(ValueError, match="^Failed to import file"):  # TextAttack's own error
        textattack_modules.DatasetArgs._create_dataset_from_args(args)


def test_a_stock_python_dataset_file_with_a_variable_name_is_fine_for_our_recipes(textattack_modules, tmp_path):
    (tmp_path / "d.py").write_text(STOCK_DATASET.replace("dataset =", "rows ="))
    args = attack_args(textattack_modules, "xmtc-pos", dataset_from_file=f"{tmp_path / 'd.py'}^rows")
    assert len(textattack_modules.DatasetArgs._create_dataset_from_args(args)) == 1


def test_list_shows_our_recipes_class_names(textattack_modules):
    from textattack.commands.list_things_command import ListThingsCommand

    out = io.StringIO()
    with redirect_stdout(out):
        ListThingsCommand()._list(ListThingsCommand.things()["attack-recipes"], plain=True)
    lines = out.getvalue().splitlines()
    assert "xmtc-pos (textattack_xmtc.XMTCPositive)" in lines
    assert "xmtc-untargeted (textattack_xmtc.XMTCUntargeted)" in lines
    assert "deepwordbug (textattack.attack_recipes.DeepWordBugGao2018)" in lines
    assert "__import__" not in out.getvalue()


def test_recipe_expressions_resolve_where_textattack_evaluates_them(textattack_modules):
    import textattack.training_args

    from textattack_xmtc import XMTCNegative

    names = textattack_modules.attack_args.ATTACK_RECIPE_NAMES
    assert textattack.training_args.ATTACK_RECIPE_NAMES is names
    for module in (textattack_modules.attack_args, textattack.training_args):
        assert eval(names["xmtc-neg"], vars(module)) is XMTCNegative


def recipe_parser(textattack):
    return textattack.CommandLineAttackArgs._add_parser_args(argparse.ArgumentParser())


def test_argparse_takes_options_after_our_recipe_names_only(textattack_modules, capsys):
    parser = recipe_parser(textattack_modules)
    recipe = 'xmtc-pos^k=3,encoder="none"'
    assert parser.parse_args(["--recipe", recipe, "--model", "m"]).attack_recipe == recipe
    assert parser.parse_args(["--recipe", "deepwordbug", "--model", "m"]).attack_recipe == "deepwordbug"
    with pytest.raises(SystemExit):  # unchanged for TextAttack's own recipes
        parser.parse_args(["--recipe", "deepwordbug^max_edit_distance=3", "--model", "m"])
    assert "invalid choice" in capsys.readouterr().err


def test_recipe_options_reach_our_recipe(textattack_modules, keyword_victim, monkeypatch):
    monkeypatch.delenv("XMTC_K", raising=False)
    args = attack_args(textattack_modules, 'xmtc-neg^k=3,encoder="none",max_candidates=7')
    attack = textattack_modules.CommandLineAttackArgs._create_attack_from_args(args, keyword_victim)
    assert attack.goal_function.default_k == 3
    assert attack.transformation.max_candidates == 7
    assert attack.goal_function.batch_size == args.model_batch_size  # TextAttack's own settings still apply


@pytest.mark.parametrize("options,expected", [
    ("kk=3", "unknown recipe option 'kk'"),
    ("3", "options must be keyword=value pairs"),
    ("k=3,,", "options must be keyword=value pairs"),
    ("k=3,k=4", "option 'k' given twice"),
    ("encoder=none", "name 'none' is not defined (text values need quotes"),
    ("k=0", "k must be a positive integer"),
    ("max_candidates='7'", "max_candidates must be a positive integer, got '7'"),
])
def test_a_bad_recipe_option_is_one_line(textattack_modules, keyword_victim, options, expected):
    args = attack_args(textattack_modules, f"xmtc-pos^{options}")
    with pytest.raises(SystemExit) as excinfo:
        textattack_modules.CommandLineAttackArgs._create_attack_from_args(args, keyword_victim)
    assert expected in one_line_exit(excinfo)


@pytest.mark.parametrize("budget", [0, -5])
def test_our_recipes_refuse_a_query_budget_that_is_not_positive(textattack_modules, budget):
    with pytest.raises(SystemExit) as excinfo:
        attack_args(textattack_modules, "xmtc-pos^k=2", query_budget=budget)
    assert f"--query-budget must be a positive number of model queries, got {budget}" in one_line_exit(excinfo)


def test_our_attack_files_refuse_it_too(textattack_modules):
    ours = str(Path(__file__).parents[2] / "recipes" / "xmtc_pos_paper_mlm.py")
    with pytest.raises(SystemExit):
        textattack_modules.CommandLineAttackArgs(attack_from_file=ours, model="m", query_budget=0)


def test_stock_recipes_keep_textattacks_query_budget_rules(textattack_modules):
    assert attack_args(textattack_modules, "deepwordbug", query_budget=0).query_budget == 0  # "no budget"
    with pytest.raises(AssertionError, match="must be greater than 0"):
        attack_args(textattack_modules, "deepwordbug", query_budget=-5)


def test_a_hugging_face_multilabel_directory_is_ours_only_for_our_attacks(textattack_modules, hf_multilabel_dir,
                                                                         tmp_path):
    from textattack.models.wrappers import HuggingFaceModelWrapper

    from textattack_xmtc.model_wrappers.huggingface import HuggingFaceMultilabelWrapper

    create = textattack_modules.ModelArgs._create_model_from_args
    stock = create(attack_args(textattack_modules, "deepwordbug", model=str(hf_multilabel_dir)))
    assert type(stock) is HuggingFaceModelWrapper
    ours = create(attack_args(textattack_modules, "xmtc-pos", model=str(hf_multilabel_dir)))
    assert isinstance(ours, HuggingFaceMultilabelWrapper)
    attack_file = tmp_path / "attack.py"
    attack_file.write_text("from textattack_xmtc import XMTCPositive\nattack = XMTCPositive.build\n")
    from_file = create(textattack_modules.CommandLineAttackArgs(attack_from_file=str(attack_file),
                                                                model=str(hf_multilabel_dir)))
    assert isinstance(from_file, HuggingFaceMultilabelWrapper)


@pytest.fixture
def eval_args(textattack_modules):
    from textattack.commands.eval_model_command import ModelEvalArgs

    return ModelEvalArgs


def test_textattack_eval_of_our_model_on_targets_is_one_line(textattack_modules, eval_args, hf_multilabel_dir,
                                                             tmp_path):
    targets = tmp_path / "t.jsonl"
    targets.write_text('{"text": "Company buys rival", "labels": ["acq"], "target": "acq"}\n')
    args = eval_args(model=str(hf_multilabel_dir), dataset_from_file=str(targets))
    with pytest.raises(SystemExit) as excinfo:
        textattack_modules.ModelArgs._create_model_from_args(args)
    message = one_line_exit(excinfo)
    assert "textattack-xmtc train" in message and "coming in a later version" in message
    with pytest.raises(SystemExit):
        textattack_modules.DatasetArgs._create_dataset_from_args(args)


def test_textattack_eval_of_a_stock_dataset_is_left_alone(textattack_modules, eval_args, hf_multilabel_dir,
                                                          tmp_path):
    from textattack.models.wrappers import HuggingFaceModelWrapper

    (tmp_path / "d.py").write_text(STOCK_DATASET)
    args = eval_args(model=str(hf_multilabel_dir), dataset_from_file=str(tmp_path / "d.py"))
    assert type(textattack_modules.ModelArgs._create_model_from_args(args)) is HuggingFaceModelWrapper
    assert textattack_modules.DatasetArgs._create_dataset_from_args(args)[0][1] == 0


# -- the stock command ----------------------------------------------------------

def test_stock_command_takes_recipe_options(hf_multilabel_dir, tmp_path):
    if not ((Path(sysconfig.get_paths()["purelib"]) / "textattack_xmtc.pth").is_file() and shutil.which("textattack")):
        pytest.fail("the package is not installed: run `pip install -c constraints.txt .` first")
    targets = tmp_path / "t.jsonl"
    targets.write_text(json.dumps({"text": "the company said shares rose after the acquisition deal",
                                   "labels": ["acq"], "target": "acq"}) + "\n")
    env = {name: value for name, value in os.environ.items() if not name.startswith("XMTC_")}
    result = subprocess.run(
        ["textattack", "attack", "--recipe", 'xmtc-pos^k=2,encoder="none",max_candidates=4', "--model",
         str(hf_multilabel_dir), "--dataset-from-file", str(targets), "--num-examples", "1"],
        capture_output=True, text=True, timeout=600, env=dict(env, PYTHONUNBUFFERED="1"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(default_k):  2" in result.stdout and "(max_candidates):  4" in result.stdout, result.stdout[:3000]
    assert "k=2)" in result.stdout  # the row has no k of its own (k=3 would hold all 3 labels: refused)


def test_a_mistake_in_our_attack_file_is_one_line(textattack_modules, monkeypatch, tmp_path):
    from conftest import KeywordVictim

    victim = KeywordVictim({}, [f"label{i}" for i in range(8)])  # the file asks for k=5
    # The paper's recipe file with MLM_DIR naming no masked LM was a 9-frame OSError traceback.
    ours = str(Path(__file__).parents[2] / "recipes" / "xmtc_pos_paper_mlm.py")
    monkeypatch.setenv("MLM_DIR", str(tmp_path / "no-such-bert"))
    args = textattack_modules.CommandLineAttackArgs(attack_from_file=ours, model="m")
    with pytest.raises(SystemExit) as excinfo:
        textattack_modules.CommandLineAttackArgs._create_attack_from_args(args, victim)
    message = one_line_exit(excinfo)
    assert message.startswith(f"textattack-xmtc: error: {ours}: ") and "no-such-bert" in message
