"""Targets files: good rows, and bad rows reported with file, line and problem."""
import json
import pickle

import pytest

from textattack_xmtc.datasets import TargetFormatError, XMTCTarget, load_targets, read_targets

LABELS = ["acq", "earn", "grain"]


def write_jsonl(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


GOOD = {"text": "Company buys rival", "labels": ["acq"], "target": "acq", "k": 3}


def test_reads_rows_with_per_example_target_and_k(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [GOOD, {"text": "x y", "labels": [], "target": 1}])
    dataset = read_targets(path, labels=LABELS)
    assert len(dataset) == 2
    example, truth = dataset[0]
    assert example["text"] == "Company buys rival"
    target = XMTCTarget.parse(truth)
    assert (target.labels, target.target, target.k) == (["acq"], "acq", 3)
    assert target.source.endswith("t.jsonl, line 1")
    assert XMTCTarget.parse(dataset[1][1]).k is None  # the recipe's k applies


def test_target_survives_pickle_and_plain_json():
    target = XMTCTarget(["acq"], "acq", 5, source="f, line 1")
    assert pickle.loads(pickle.dumps(target)).k == 5
    assert XMTCTarget.parse(str(target)).labels == ["acq"]
    assert isinstance(target, str)  # TextAttack asserts str or int ground truths


@pytest.mark.parametrize("row, problem", [
    ({"text": "t", "labels": ["acq"], "target": "nope"}, "unknown target label 'nope'"),
    ({"labels": ["acq"], "target": "acq"}, "missing field 'text'"),
    ({"text": "t", "target": "acq"}, "missing field 'labels'"),
    ({"text": "t", "labels": ["acq"], "target": "acq", "k": 0}, "'k' must be a positive integer"),
    ({"text": "t", "labels": ["acq"], "target": "acq", "k": -2}, "'k' must be a positive integer"),
    ({"text": "   ", "labels": ["acq"], "target": "acq"}, "'text' must be a non-empty string"),
    ({"text": "t", "labels": "acq", "target": "acq"}, "'labels' must be a list"),
    ({"text": "t", "labels": ["acq"], "target": 7}, "index 7 is out of range"),
    ({"text": "t", "labels": ["ACQ"], "target": "acq"}, "unknown true label 'ACQ'"),
    ({"text": "t", "labels": ["acq", 9], "target": "acq"}, "true index 9 is out of range"),
    ("{not json", "not valid JSON"),
    ('[{"text": "t"}]', "one JSON object per line"),
])
def test_bad_row_names_file_line_and_problem(tmp_path, row, problem):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD, "", row])
    with pytest.raises(TargetFormatError) as error:
        read_targets(path, labels=LABELS)
    assert "bad.jsonl, line 3" in str(error.value)
    assert problem in str(error.value)


def test_csv_targets(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('text,labels,target,k\n"Buys, then sells","acq,earn",earn,2\nplain,"[""grain""]",auto,\n')
    dataset = read_targets(path, labels=LABELS)
    first, second = (XMTCTarget.parse(dataset[i][1]) for i in range(2))
    assert (first.labels, first.target, first.k) == (["acq", "earn"], "earn", 2)
    assert (second.labels, second.target, second.k) == (["grain"], "auto", None)


def test_csv_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,target\nx,acq\n")
    with pytest.raises(TargetFormatError, match="lacks column"):
        read_targets(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(TargetFormatError, match="no such targets file"):
        read_targets(tmp_path / "absent.jsonl")
    with pytest.raises(TargetFormatError, match="holds no targets"):
        read_targets(write_jsonl(tmp_path / "empty.jsonl", [""]))


def test_builtin_dataset_targets_are_auto():
    dataset = load_targets("reuters21578")
    target = XMTCTarget.parse(dataset[0][1])
    assert target.target == "auto" and target.labels


def test_byte_order_marks_are_read_as_utf8(tmp_path):
    csv_path = tmp_path / "excel.csv"
    csv_path.write_bytes("text,labels,target\nBuys rival,acq,acq\n".encode("utf-8-sig"))
    jsonl_path = tmp_path / "bom.jsonl"
    jsonl_path.write_bytes((json.dumps(GOOD) + "\n").encode("utf-8-sig"))
    for path in (csv_path, jsonl_path):
        assert XMTCTarget.parse(read_targets(path, labels=LABELS)[0][1]).target == "acq"


def test_csv_header_names_are_stripped_and_a_missing_one_shows_what_was_found(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("text, labels, target\nBuys rival,acq,acq\n")
    assert XMTCTarget.parse(read_targets(path, labels=LABELS)[0][1]).labels == ["acq"]
    path.write_text("body,labels,target\nx,acq,acq\n")
    with pytest.raises(TargetFormatError, match=r"found \['body', 'labels', 'target'\]"):
        read_targets(path)


def test_undecodable_and_broken_gzip_files_are_named(tmp_path):
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"text": "caf\xe9", "labels": ["acq"], "target": "acq"}\n')
    with pytest.raises(TargetFormatError, match=r"latin\.jsonl: not UTF-8 text"):
        read_targets(latin)
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(TargetFormatError, match=r"fake\.jsonl\.gz: not a readable gzip file"):
        read_targets(fake)


def test_a_csv_record_spanning_lines_is_named_by_its_first_line(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('text,labels,target\n"first\nstory",acq,acq\n\n"second\nstory\ncontinued",acq,nope\n')
    with pytest.raises(TargetFormatError, match=r"multi\.csv, line 5: unknown target label 'nope'"):
        read_targets(path, labels=LABELS)
