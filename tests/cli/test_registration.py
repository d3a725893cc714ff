"""How our recipes, models and targets files plug into TextAttack's own argument handling."""
import argparse

import pytest


@pytest.fixture(scope="module")
def dataset_args():
    import textattack.dataset_args

    from textattack_xmtc.cli.registration import register_all

    register_all()
    return textattack.dataset_args.DatasetArgs


@pytest.mark.parametrize("name", ["targets.txt", "targets.csv.gz", "a-directory"])
def test_our_recipes_refuse_a_file_that_is_not_a_targets_file(dataset_args, tmp_path, name):
    (tmp_path / "a-directory").mkdir()
    args = argparse.Namespace(dataset_from_file=str(tmp_path / name), attack_recipe="xmtc-pos")
    with pytest.raises(SystemExit, match=r"not a targets file; give a \.jsonl, \.jsonl\.gz or \.csv file"):
        dataset_args._create_dataset_from_args(args)


def test_our_targets_files_are_read_by_us(dataset_args, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "Company buys rival", "labels": ["acq"], "target": "acq"}\n')
    args = argparse.Namespace(dataset_from_file=str(path), attack_recipe="xmtc-neg")
    dataset = dataset_args._create_dataset_from_args(args)
    assert len(dataset) == 1 and type(dataset).__name__ == "XMTCDataset"
