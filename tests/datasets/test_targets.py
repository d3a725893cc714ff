"""Targets files: good rows, and bad rows reported with file, line and problem."""
import gzip
import json
import os
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
    latin.write_bytes(json.dumps(GOOD).encode() + b'\n{"text": "caf\xe9", "labels": ["acq"], "target": "acq"}\n')
    with pytest.raises(TargetFormatError) as error:
        read_targets(latin)
    assert one_line(error) == (f"{latin}, line 2: not UTF-8 text (invalid continuation byte at byte 14 of the "
                               "line); save the file as UTF-8")
    with gzip.open(tmp_path / "latin.csv.gz", "wb") as handle:
        handle.write(b"text,labels,target\nBuys,acq,acq\n\ncaf\xe9,acq,acq\n")
    with pytest.raises(TargetFormatError, match=r"latin\.csv\.gz, line 4: not UTF-8 text"):
        read_targets(tmp_path / "latin.csv.gz")
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes((json.dumps(GOOD) + "\n").encode("utf-16"))
    with pytest.raises(TargetFormatError, match=r"utf16\.jsonl: UTF-16 text \(it starts with a UTF-16 byte-order"):
        read_targets(utf16)
    fake = tmp_path / "fake.jsonl.gz"
    fake.write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(TargetFormatError, match=r"fake\.jsonl\.gz: not a readable gzip file"):
        read_targets(fake)


def test_a_csv_record_spanning_lines_is_named_by_its_first_line(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('text,labels,target\n"first\nstory",acq,acq\n\n"second\nstory\ncontinued",acq,nope\n')
    with pytest.raises(TargetFormatError, match=r"multi\.csv, line 5: unknown target label 'nope'"):
        read_targets(path, labels=LABELS)


# ---------------------------------------------------------------- hostile inputs

def one_line(error):
    message = str(error.value)
    assert "\n" not in message and len(message) < 300, message
    return message


def test_a_csv_row_with_more_fields_than_its_header_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("text,labels,target\nBuys rival,acq,acq\nSells, then buys,acq,acq\n")
    with pytest.raises(TargetFormatError) as error:
        read_targets(path, labels=LABELS)
    assert one_line(error) == (f"{path}, line 3: 4 fields but the header has 3 (text,labels,target); "
                               "the extra value 'acq' would be lost (quote a field that holds a comma)")
    path.write_text("text,labels,target\nBuys rival,acq,acq,\n")  # a trailing comma loses nothing
    assert XMTCTarget.parse(read_targets(path, labels=LABELS)[0][1]).target == "acq"


def test_a_csv_row_with_fewer_fields_than_its_header_is_refused(tmp_path):
    path = tmp_path / "narrow.csv"
    path.write_text("text,labels,target,k\nBuys rival,acq,acq\nBuys rival,acq\n")
    with pytest.raises(TargetFormatError) as error:
        read_targets(path, labels=LABELS)
    assert one_line(error) == (f"{path}, line 3: 2 fields but the header has 4 (text,labels,target,k); "
                               "no value for 'target'")


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("text,labels,target,text\nBuys rival,acq,acq,Sells\n")
    with pytest.raises(TargetFormatError, match=r"twice\.csv, line 1: .* names column\(s\) \['text'\] more"):
        read_targets(path)


@pytest.mark.parametrize("field, value, problem", [
    ("k", 10**40, "'k' must be a positive integer up to 2147483647, got 1" + "0" * 40),
    ("k", 2**31, "'k' must be a positive integer up to 2147483647, got 2147483648"),
    ("k", 3.0, "'k' must be a positive integer up to 2147483647, got 3.0"),
    ("k", True, "'k' must be a positive integer up to 2147483647, got True"),
    ("target", 10**40, "'target' index must be between 0 and 2147483647, got 1000000"),
    ("labels", ["acq", -1], "a true label index must be between 0 and 2147483647, got -1"),
    ("labels", [10**40], "a true label index must be between 0 and 2147483647, got 1000000"),
    ("labels", ["acq"] * 1000, "'labels' must be a list of label names, got ['acq', 'acq'"),
])
def test_numbers_that_cannot_be_represented_are_refused(tmp_path, field, value, problem):
    row = dict(GOOD, **{field: value})
    if field == "labels" and len(value) > 2:
        row["labels"] = value + [None]  # a long, bad list is shown cut short
    path = write_jsonl(tmp_path / "big.jsonl", [row])
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error).startswith(f"{path}, line 1: {problem}")


def test_the_largest_k_is_accepted(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [dict(GOOD, k=2**31 - 1)])
    assert XMTCTarget.parse(read_targets(path)[0][1]).k == 2**31 - 1
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("text,labels,target,k\nBuys rival,acq,acq,0007\n")
    assert XMTCTarget.parse(read_targets(csv_path)[0][1]).k == 7


@pytest.mark.parametrize("k", ["1" + "0" * 40, "1e3", "1_000", "\u0663", "+3", "2147483648", "9" * 5000],
                         ids=["10**40", "1e3", "1_000", "arabic-3", "+3", "2**31", "5000-digits"])
def test_csv_k_must_be_plain_digits_within_range(tmp_path, k):
    path = tmp_path / "k.csv"
    path.write_text(f"text,labels,target,k\nBuys rival,acq,acq,{k}\n", encoding="utf-8")
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error).startswith(f"{path}, line 2: 'k' must be a positive integer up to 2147483647")


def test_json_that_python_cannot_read_is_named(tmp_path):
    path = write_jsonl(tmp_path / "huge.jsonl", [GOOD, '{"text": "t", "labels": [], "target": "acq", "k": '
                                                 + "9" * 5000 + "}"])
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error).startswith(f"{path}, line 2: a number in the row is too long to read")
    path = write_jsonl(tmp_path / "deep.jsonl", ['{"text": ' + "[" * 100000 + "]" * 100000 + "}"])
    with pytest.raises(TargetFormatError, match=r"deep\.jsonl, line 1: the JSON is nested too deeply"):
        read_targets(path)


def test_an_unreadable_targets_file_is_named(tmp_path, monkeypatch):
    from textattack_xmtc.datasets import targets as module

    path = write_jsonl(tmp_path / "locked.jsonl", [GOOD])

    def refuse(*args, **kwargs):  # as open() does for a file without read permission
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(module, "open", refuse, raising=False)  # root may read anything
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error) == (f"{path}: cannot read the targets file (permission denied; check the "
                               "file's and its folders' permissions)")


def test_a_targets_file_in_an_unreadable_folder_is_named(tmp_path, monkeypatch):
    path = tmp_path / "closed" / "t.jsonl"
    original_stat = type(path).stat

    def stat(self, *args, **kwargs):  # as stat() does in a folder without search permission
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return original_stat(self, *args, **kwargs)

    monkeypatch.setattr(type(path), "stat", stat)
    with pytest.raises(TargetFormatError,
                       match=r"t\.jsonl: cannot read the targets file \(permission denied"):
        read_targets(path)


def test_a_directory_or_a_pipe_is_not_a_targets_file(tmp_path):
    with pytest.raises(TargetFormatError) as error:
        read_targets(tmp_path)
    assert one_line(error) == (f"{tmp_path}: is a directory, not a targets file "
                               "(name a .jsonl, .jsonl.gz or .csv file)")
    with pytest.raises(TargetFormatError, match="no such targets file"):
        read_targets(tmp_path / "absent" / "t.jsonl")
    with pytest.raises(TargetFormatError, match="no such targets file"):
        read_targets(write_jsonl(tmp_path / "file.jsonl", [GOOD]) / "t.jsonl")
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(TargetFormatError, match=r"pipe\.jsonl: not a regular file"):
        read_targets(fifo)


@pytest.mark.parametrize("name", ["T.JSONL.GZ", "t.jsonl.Gz", "T.CSV.GZ", "T.CSV", "gzipped-but-named.jsonl"])
def test_suffixes_are_matched_in_any_case_and_gzip_by_content(tmp_path, name):
    if ".csv" in name.lower():
        data = "text,labels,target,k\nBuys rival,acq,acq,3\n".encode()
    else:
        data = (json.dumps(GOOD) + "\n").encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if ".gz" in name.lower() or "gzipped" in name else data)
    target = XMTCTarget.parse(read_targets(path, labels=LABELS)[0][1])
    assert (target.labels, target.target, target.k) == (["acq"], "acq", 3)


def test_a_whole_long_document_fits_in_a_csv_field(tmp_path):
    import csv

    text = "word " * 60000  # 300,000 characters: over the csv module's default field limit
    path = tmp_path / "long.csv"
    path.write_text(f"text,labels,target\n{text},acq,acq\n")
    previous = csv.field_size_limit(131072)  # the default; other readers may have raised it
    try:
        assert read_targets(path)[0][0]["text"] == text
        assert csv.field_size_limit() == 131072  # left as it was
    finally:
        csv.field_size_limit(previous)


# ---------------------------------------------------------------- the label-frequency bin

def test_rows_may_name_the_bin_their_target_was_drawn_from(tmp_path):
    path = write_jsonl(tmp_path / "binned.jsonl", [dict(GOOD, bin="tail"), dict(GOOD, bin=3), GOOD])
    targets = [XMTCTarget.parse(truth) for _, truth in read_targets(path, labels=LABELS)]
    assert [target.bin for target in targets] == ["tail", 3, None]
    assert "bin" not in json.loads(targets[2])  # absent bins leave the JSON value as it was
    for target in targets:
        assert pickle.loads(pickle.dumps(target)).bin == target.bin
        assert XMTCTarget.parse(str(target)).bin == target.bin
        assert isinstance(pickle.loads(pickle.dumps(target)), XMTCTarget)
    csv_path = tmp_path / "binned.csv"
    csv_path.write_text("text,labels,target,k,bin\nBuys rival,acq,acq,,3\nSells,acq,acq,2,\n")
    targets = [XMTCTarget.parse(truth) for _, truth in read_targets(csv_path)]
    assert [(target.k, target.bin) for target in targets] == [(None, "3"), (2, None)]


@pytest.mark.parametrize("value, problem", [
    (True, "must be a string or an integer naming the label-frequency bin, got True"),
    (1.5, "must be a string or an integer naming the label-frequency bin, got 1.5"),
    (["head"], "must be a string or an integer naming the label-frequency bin, got ['head']"),
    ("  ", "must be a non-empty string or an integer, got '  '"),
    (10**40, "as an integer must lie between -2147483647 and 2147483647, got 1000"),
])
def test_a_bin_of_the_wrong_type_is_refused(tmp_path, value, problem):
    path = write_jsonl(tmp_path / "bins.jsonl", [GOOD, dict(GOOD, bin=value)])
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error).startswith(f"{path}, line 2: 'bin' {problem}")
    with pytest.raises(ValueError, match="bin must be a string or an integer"):
        XMTCTarget(["acq"], "acq", bin=1.5)


def test_csv_labels_written_as_a_json_list_of_numbers_are_names_like_the_target(tmp_path):
    path = tmp_path / "numeric.csv"
    path.write_text('text,labels,target\nShares rose,"[5, ""7""]",5\n')
    target = XMTCTarget.parse(read_targets(path, labels=[str(i) for i in range(90)])[0][1])
    assert (target.labels, target.target) == (["5", "7"], "5")  # not label index 5


def test_a_lone_surrogate_is_refused_when_the_targets_file_is_read(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(GOOD) + '\n{"text": "earnings \\ud800 rose", "labels": ["earn"], "target": "earn"}\n',
                    encoding="utf-8")
    with pytest.raises(TargetFormatError) as error:
        read_targets(path, labels=LABELS)
    assert one_line(error).startswith(f"{path}, line 2: 'text' holds \\ud800, half of a UTF-16 surrogate pair")
    path.write_text('{"text": "earnings rose", "labels": ["earn"], "target": "\\udc00"}\n', encoding="utf-8")
    with pytest.raises(TargetFormatError, match=r"'target' holds \\udc00"):
        read_targets(path, labels=LABELS)


@pytest.mark.parametrize("key, hint", [("K", "did you mean 'k'? "), ("Target_", "did you mean 'target'? "),
                                       ("doc_id", "")])
def test_a_row_field_the_package_does_not_know_is_refused_not_ignored(tmp_path, key, hint):
    # A misspelled k was ignored: the row ran at the default k and said nothing.
    path = tmp_path / "targets.jsonl"
    row = {"text": "Buys rival", "labels": ["acq"], "target": "acq", key: 2}
    path.write_text(json.dumps({"text": "Sells", "labels": ["acq"], "target": "acq"}) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error) == (f"{path}, line 2: unknown field {key!r} ({hint}a targets row holds text, labels, "
                               "target, k, bin, attack, label_frequency, selection_seed, document)")


def test_a_csv_column_the_package_does_not_know_is_refused(tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("text,labels,target,K\nBuys rival,acq,acq,2\n")
    with pytest.raises(TargetFormatError, match=r"targets\.csv, line 1: the CSV header has an unknown column 'K' "
                                                 r"\(did you mean 'k'\? "):
        read_targets(path)
    path.write_text("text,labels,target,\nBuys rival,acq,acq,\n")  # a trailing comma names no column
    assert [target.target for _, target in read_targets(path)] == ["acq"]


def test_a_field_given_twice_in_a_row_is_refused(tmp_path):
    # JSON keeps the last value silently: '"k": 2, ..., "k": 7' attacked at k=7.
    path = tmp_path / "targets.jsonl"
    path.write_text('{"text": "Buys rival", "labels": ["acq"], "target": "acq", "k": 2, "k": 7}\n')
    with pytest.raises(TargetFormatError) as error:
        read_targets(path)
    assert one_line(error) == (f"{path}, line 1: field 'k' appears twice in the row; which value is meant "
                               "would be a guess")
