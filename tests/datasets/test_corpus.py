"""Tests for the corpus model and its readers (JSONL, AttentionXML, APLC-XLNet, load_corpus)."""
import gzip
import json

import pytest

from textattack_xmtc.datasets.corpus import (
    Corpus,
    CorpusFormatError,
    load_corpus,
    read_aplc_corpus,
    read_aplc_label_order,
    read_attentionxml_corpus,
    read_jsonl_corpus,
)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------- Corpus


def test_corpus_helpers():
    corpus = Corpus(["a", "b", "c"], [["x", "y"], ["y"], []], name="toy", source="here")
    assert len(corpus) == 3
    assert corpus.label_counts() == {"y": 2, "x": 1}
    assert corpus.label_names() == ["x", "y"]
    part = corpus.subset([2, 0])
    assert part.texts == ["c", "a"] and part.labels == [[], ["x", "y"]]
    assert (part.name, part.source) == ("toy", "here")
    part.labels[1].append("z")  # a subset must not share label lists with its parent
    assert corpus.labels[0] == ["x", "y"]


def test_corpus_rejects_misaligned_lists():
    with pytest.raises(ValueError, match="2 texts but 1 label lists"):
        Corpus(["a", "b"], [["x"]])


def test_corpus_format_error_message():
    error = CorpusFormatError("targets.jsonl", '"labels" must be a list of label names, got 3', line=7)
    assert str(error) == 'targets.jsonl, line 7: "labels" must be a list of label names, got 3'
    assert (error.path, error.line) == ("targets.jsonl", 7)
    assert isinstance(error, ValueError)
    assert str(CorpusFormatError("a.txt", "empty")) == "a.txt: empty"


# ---------------------------------------------------------------- JSONL


def test_read_jsonl_good(tmp_path):
    path = tmp_path / "docs.jsonl"
    path.write_text(
        '{"id": "d1", "text": "first doc", "labels": ["a", "b", "a"]}\n'
        "\n"
        '{"text": "second doc", "labels": [3, "c"]}\r\n'
        "   \n"
        '{"text": "third", "labels": []}',
        encoding="utf-8",
    )
    corpus = read_jsonl_corpus(path)
    assert corpus.texts == ["first doc", "second doc", "third"]
    assert corpus.labels == [["a", "b"], ["3", "c"], []]
    assert corpus.name == "docs" and corpus.source == str(path)


def test_read_jsonl_gzip(tmp_path):
    rows = [{"text": "über café", "labels": ["é"]}]
    path = tmp_path / "docs.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")))
    corpus = read_jsonl_corpus(path)
    assert corpus.texts == ["über café"] and corpus.labels == [["é"]]
    assert corpus.name == "docs"


BAD_JSONL_LINES = [
    ("{not json", "not valid JSON"),
    ('["text", "labels"]', "expected a JSON object, got list"),
    ('{"labels": ["a"]}', 'missing "text"'),
    ('{"text": "x"}', 'missing "labels"'),
    ('{"text": 5, "labels": ["a"]}', '"text" must be a string, got 5'),
    ('{"text": "   ", "labels": ["a"]}', '"text" is empty'),
    ('{"text": "x", "labels": 3}', '"labels" must be a list of label names, got 3'),
    ('{"text": "x", "labels": "a b"}', '"labels" must be a list of label names'),
    ('{"text": "x", "labels": ["a", 1.5]}', '"labels" entry 2 must be a string or an integer, got 1.5'),
    ('{"text": "x", "labels": [true]}', '"labels" entry 1 must be a string or an integer, got true'),
    ('{"text": "x", "labels": [null]}', '"labels" entry 1 must be a string or an integer, got null'),
    ('{"text": "x", "labels": [""]}', '"labels" entry 1 is an empty string'),
    ('{"text": "x", "labels": ["a", "crude\\nx"]}', '"labels" entry 2 (\'crude\\nx\') contains a line break'),
]


@pytest.mark.parametrize("bad_line, problem", BAD_JSONL_LINES)
def test_read_jsonl_errors_name_file_and_line(tmp_path, bad_line, problem):
    path = tmp_path / "targets.jsonl"
    good = '{"text": "fine", "labels": ["a"]}\n'
    # A blank line before the bad one: line numbers count every physical line.
    path.write_text(good + "\n" + good + bad_line + "\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError) as info:
        read_jsonl_corpus(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 4: ")
    assert problem in message
    assert info.value.line == 4


def test_read_jsonl_bad_utf8_names_line(tmp_path):
    path = tmp_path / "targets.jsonl"
    path.write_bytes(b'{"text": "ok", "labels": ["a"]}\n{"text": "caf\xe9", "labels": ["a"]}\n')
    with pytest.raises(CorpusFormatError, match=r"targets\.jsonl, line 2: not valid UTF-8"):
        read_jsonl_corpus(path)


def test_read_jsonl_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"empty\.jsonl: no documents"):
        read_jsonl_corpus(path)


def test_read_jsonl_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.jsonl"):
        read_jsonl_corpus(tmp_path / "nothere.jsonl")


# ---------------------------------------------------------------- AttentionXML


def make_attentionxml(directory, split="train", texts=("a b c", "d e"), labels=("x y", "y"), raw=False):
    directory.mkdir(exist_ok=True)
    name = f"{split}_raw_texts.txt" if raw else f"{split}_texts.txt"
    (directory / name).write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    labels_text = "".join(line + "\n" for line in labels)
    (directory / f"{split}_labels.txt").write_text(labels_text, encoding="utf-8")
    return directory


def test_read_attentionxml(tmp_path):
    texts, labels = ("a b c", "", "f\x0cg"), ("x  y", "z", "")
    directory = make_attentionxml(tmp_path / "EURLex-4K", texts=texts, labels=labels)
    corpus = read_attentionxml_corpus(directory, "train")
    # The empty text and the empty label line stay, so lines keep pairing;
    # a form feed inside a line does not split it.
    assert corpus.texts == ["a b c", "", "f\x0cg"]
    assert corpus.labels == [["x", "y"], ["z"], []]
    assert corpus.name == "EURLex-4K"
    assert corpus.source == str(directory / "train_texts.txt")


def test_attentionxml_prefers_tokenized_texts(tmp_path):
    directory = make_attentionxml(tmp_path / "d", split="test", texts=("tokenized",), labels=("x",))
    (directory / "test_raw_texts.txt").write_text("Raw Text!\n", encoding="utf-8")
    assert read_attentionxml_corpus(directory, "test").texts == ["tokenized"]
    (directory / "test_texts.txt").unlink()
    assert read_attentionxml_corpus(directory, "test").texts == ["Raw Text!"]


def test_attentionxml_line_count_mismatch(tmp_path):
    directory = make_attentionxml(tmp_path / "d", texts=("a", "b", "c"), labels=("x", "y"))
    with pytest.raises(CorpusFormatError) as info:
        read_attentionxml_corpus(directory, "train")
    message = str(info.value)
    assert "train_texts.txt" in message and "train_labels.txt" in message
    assert "3 lines" in message and "has 2" in message


def test_attentionxml_missing_files(tmp_path):
    directory = make_attentionxml(tmp_path / "d")
    with pytest.raises(FileNotFoundError, match="test_texts.txt.*test_raw_texts.txt"):
        read_attentionxml_corpus(directory, "test")
    (directory / "train_labels.txt").unlink()
    with pytest.raises(FileNotFoundError, match="train_labels.txt"):
        read_attentionxml_corpus(directory, "train")


# ---------------------------------------------------------------- APLC-XLNet


APLC_CSV = (
    "id,text,label\n"
    '1,"A text, with a comma\nand a second line",\"a,b\"\n'
    '2,"He said ""hi""",c\n'
    "\n"
    "3,plain,\" d , e ,\"\n"
)


def make_aplc(directory, split="train", content=APLC_CSV):
    directory.mkdir(exist_ok=True)
    (directory / f"{split}.csv").write_text(content, encoding="utf-8")
    return directory


def test_read_aplc(tmp_path):
    directory = make_aplc(tmp_path / "Eurlex")
    corpus = read_aplc_corpus(directory, "train")
    assert corpus.texts == ["A text, with a comma\nand a second line", 'He said "hi"', "plain"]
    assert corpus.labels == [["a", "b"], ["c"], ["d", "e"]]
    assert corpus.name == "Eurlex" and corpus.source == str(directory / "train.csv")


def test_aplc_columns_by_header_name(tmp_path):
    directory = make_aplc(tmp_path / "d", content="label,id,text\nx,1,hello\n")
    corpus = read_aplc_corpus(directory, "train")
    assert corpus.texts == ["hello"] and corpus.labels == [["x"]]


def test_aplc_test_is_dev_unless_test_csv_exists(tmp_path):
    directory = make_aplc(tmp_path / "d", split="dev", content="id,text,label\n1,dev doc,x\n")
    assert read_aplc_corpus(directory, "test").texts == ["dev doc"]
    assert read_aplc_corpus(directory, "dev").texts == ["dev doc"]
    make_aplc(directory, split="test", content="id,text,label\n1,test doc,x\n")
    assert read_aplc_corpus(directory, "test").texts == ["test doc"]


def test_aplc_long_field(tmp_path):
    long_text = "word " * 60_000  # 300 kB: beyond the csv module's default field limit
    directory = make_aplc(tmp_path / "d", content=f"id,text,label\n1,{long_text},x\n")
    assert read_aplc_corpus(directory, "train").texts == [long_text]


def test_aplc_bad_header(tmp_path):
    directory = make_aplc(tmp_path / "d", content="id,body,labels\n1,x,y\n")
    with pytest.raises(CorpusFormatError, match=r"train\.csv, line 1: header must name the columns"):
        read_aplc_corpus(directory, "train")


def test_aplc_short_row_names_its_line(tmp_path):
    # The first record spans lines 2-3, so the short record starts on line 4.
    content = 'id,text,label\n1,"two\nlines",a\n2\n'
    directory = make_aplc(tmp_path / "d", content=content)
    with pytest.raises(CorpusFormatError, match=r"train\.csv, line 4: expected 3 fields, got 1"):
        read_aplc_corpus(directory, "train")


def test_aplc_empty_and_missing(tmp_path):
    directory = make_aplc(tmp_path / "d", content="")
    with pytest.raises(CorpusFormatError, match="no header row"):
        read_aplc_corpus(directory, "train")
    make_aplc(directory, content="id,text,label\n")
    with pytest.raises(CorpusFormatError, match="no documents"):
        read_aplc_corpus(directory, "train")
    with pytest.raises(FileNotFoundError, match="dev.csv"):
        read_aplc_corpus(directory, "test")


def test_aplc_label_order(tmp_path):
    (tmp_path / "labels.txt").write_text("frequent\nrare\nrarest\n\n \n", encoding="utf-8")
    assert read_aplc_label_order(tmp_path) == ["frequent", "rare", "rarest"]
    # Line i names output i: a blank line inside would shift every later label (it was skipped).
    (tmp_path / "labels.txt").write_text("frequent\nrare\n\nrarest\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"labels\.txt, line 3: blank line inside the label list"):
        read_aplc_label_order(tmp_path)


def test_aplc_label_order_errors(tmp_path):
    (tmp_path / "labels.txt").write_text("a\nb\na\n", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"labels\.txt, line 3: label 'a' repeats line 1"):
        read_aplc_label_order(tmp_path)
    (tmp_path / "labels.txt").write_text("", encoding="utf-8")
    with pytest.raises(CorpusFormatError, match="no labels"):
        read_aplc_label_order(tmp_path)
    with pytest.raises(FileNotFoundError, match="labels.txt"):
        read_aplc_label_order(tmp_path / "elsewhere")


# ---------------------------------------------------------------- load_corpus


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.json", "docs.jsonl.gz"])
def test_load_corpus_jsonl(tmp_path, name):
    payload = json.dumps({"text": "t", "labels": ["a"]}).encode("utf-8") + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(payload) if name.endswith(".gz") else payload)
    corpus = load_corpus(str(path), split="ignored")
    assert corpus.texts == ["t"] and corpus.labels == [["a"]]


def test_load_corpus_attentionxml_split(tmp_path):
    directory = make_attentionxml(tmp_path / "d", split="train", texts=("train doc",), labels=("x",))
    make_attentionxml(directory, split="test", texts=("test doc",), labels=("y",), raw=True)
    assert load_corpus(directory).texts == ["train doc"]
    assert load_corpus(directory, split="test").texts == ["test doc"]


def test_load_corpus_aplc(tmp_path):
    directory = make_aplc(tmp_path / "d")
    make_aplc(directory, split="dev", content="id,text,label\n1,dev doc,x\n")
    assert len(load_corpus(directory)) == 3
    assert load_corpus(directory, split="test").texts == ["dev doc"]


def test_load_corpus_builtin_name():
    corpus = load_corpus("reuters21578", split="test")
    assert corpus.name == "reuters21578" and len(corpus) > 0


def test_load_corpus_unknown_directory_lists_layouts(tmp_path):
    (tmp_path / "train_texts.txt").write_text("a\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError) as info:
        load_corpus(tmp_path, split="train")
    message = str(info.value)
    assert "built-in dataset: reuters21578" in message
    assert "AttentionXML" in message and "missing train_labels.txt" in message
    # The texts file is there, so it is not reported missing.
    assert "train_raw_texts.txt" not in message
    assert "APLC-XLNet" in message and "missing train.csv" in message


def test_load_corpus_missing_path_and_wrong_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    other = tmp_path / "docs.txt"
    other.write_text("x\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"a JSONL file ending \.jsonl.*docs\.txt does not"):
        load_corpus(other)


def test_a_directory_of_split_jsonl_files_is_a_dataset(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"text": "a b", "labels": ["x"]}, {"text": "c", "labels": ["y", 7]}])
    with gzip.open(tmp_path / "test.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "d e", "labels": ["x"]}) + "\n")
    train, test = load_corpus(tmp_path, split="train"), load_corpus(tmp_path, split="test")
    assert (train.texts, train.labels, train.name) == (["a b", "c"], [["x"], ["y", "7"]], tmp_path.name)
    assert (test.texts, test.labels) == (["d e"], [["x"]])
    with pytest.raises(FileNotFoundError, match=r"a JSONL directory in .*: missing dev\.jsonl"):
        load_corpus(tmp_path, split="dev")


def test_a_lone_surrogate_in_a_jsonl_corpus_is_refused_with_its_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "ok", "labels": ["x"]}\n{"text": "earnings \\ud800 rose", "labels": ["x"]}\n'
                    '{"text": "ok", "labels": ["\\udfff"]}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"line 2: \"text\" holds \\ud800, half of a UTF-16 surrogate pair"):
        read_jsonl_corpus(path)
    path.write_text('{"text": "fine \\ud83d\\ude00 pair", "labels": ["\\udfff"]}\n', encoding="utf-8")
    with pytest.raises(CorpusFormatError, match=r"line 1: \"labels\" entry 1 holds \\udfff"):
        read_jsonl_corpus(path)


def test_a_directory_holding_two_dataset_layouts_is_refused(tmp_path):
    # The test split came from one layout and the train split from the other, silently.
    from textattack_xmtc.datasets.corpus import CorpusFormatError, load_corpus

    (tmp_path / "train.jsonl").write_text('{"text": "first doc", "labels": ["a"]}\n')
    (tmp_path / "test.jsonl").write_text('{"text": "second doc", "labels": ["b"]}\n')
    assert load_corpus(str(tmp_path), split="test").labels == [["b"]]
    (tmp_path / "test_texts.txt").write_text("second doc\n")
    (tmp_path / "test_labels.txt").write_text("a\n")
    for split in ("train", "test"):
        with pytest.raises(CorpusFormatError) as error:
            load_corpus(str(tmp_path), split=split)
        assert str(error.value) == (
            f"{tmp_path}: holds two dataset layouts, attentionxml ({split}_texts.txt/{split}_labels.txt) and "
            f"jsonl ({split}.jsonl); which split comes from which would be a guess: keep one layout per directory")


@pytest.mark.parametrize("line, problem", [
    ('{"text": "a doc", "labels": ["a"], "labels": ["b"]}', "field 'labels' appears twice in the row"),
    ('{"text": "a doc", "labels": [' + "1" * 5000 + ']}', "a number in the row is too long to read"),
    ('{"text": "a doc", "labels": ' + "[" * 100000 + "]" * 100000 + '}', "the JSON is nested too deeply to read"),
])
def test_a_jsonl_dataset_row_json_cannot_hold_faithfully_is_named(tmp_path, line, problem):
    # A repeated key kept its last value silently; the other two were tracebacks without a line.
    from textattack_xmtc.datasets.corpus import CorpusFormatError, load_corpus

    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "first doc", "labels": ["a"]}\n' + line + "\n")
    with pytest.raises(CorpusFormatError) as error:
        load_corpus(str(path))
    assert str(error.value).startswith(f"{path}, line 2: {problem}")
