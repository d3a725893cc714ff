"""Tests for the shipped Reuters-21578 data and the script that builds it (on synthetic SGML)."""
import gzip
import importlib.util
import json
import re
from pathlib import Path

import pytest

from textattack_xmtc._paths import DATA_DIR
from textattack_xmtc.datasets.corpus import load_corpus
from textattack_xmtc.datasets.reuters import BUILTIN_DATASETS, REUTERS_NAME, load_reuters21578

REPO = Path(__file__).resolve().parents[2]
SHIPPED = DATA_DIR / REUTERS_NAME


@pytest.fixture(scope="module")
def splits():
    return {split: load_reuters21578(split) for split in ("train", "test")}


def test_split_sizes_and_labels(splits):
    train, test = splits["train"], splits["test"]
    assert (len(train), len(test)) == (7770, 3019)
    # The 90 topics present in both ModApte splits.
    assert len(train.label_names()) == 90
    assert train.label_names() == test.label_names()
    assert train.label_counts().most_common(2) == [("earn", 2877), ("acq", 1650)]


def test_every_document_has_labels_and_text(splits):
    for corpus in splits.values():
        assert all(corpus.labels)
        assert all(text.strip() for text in corpus.texts)
        assert all(len(set(labels)) == len(labels) for labels in corpus.labels)


def test_texts_are_clean(splits):
    noise = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\ufffd]|&#\d+;|&lt;|\^M|&\\t")
    for corpus in splits.values():
        for text in corpus.texts:
            assert not noise.search(text), text[:200]
            # The wire signature is gone ("told Reuters." is text, and stays).
            assert not re.search(r"\breuter\W*$", text, re.I), text[-80:]
            assert text == text.strip() and "  " not in text


def test_first_document(splits):
    train = splits["train"]
    assert train.texts[0].startswith("BAHIA COCOA REVIEW\nShowers continued throughout the week")
    assert train.labels[0] == ["cocoa"]


def test_names_sources_and_errors(splits):
    assert splits["test"].name == REUTERS_NAME
    assert "Reuters-21578, Distribution 1.0" in splits["test"].source
    assert BUILTIN_DATASETS[REUTERS_NAME] is load_reuters21578
    assert len(load_reuters21578()) == 3019  # the default split is test
    assert load_corpus(REUTERS_NAME, "train").texts == splits["train"].texts
    with pytest.raises(ValueError, match="valid splits: train, test"):
        load_reuters21578("dev")


def test_shipped_files_are_reproducible_and_documented():
    ids = {}
    for split in ("train", "test"):
        data = (SHIPPED / f"{split}.jsonl.gz").read_bytes()
        assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0: rebuilds are byte-identical
        rows = [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines()]
        assert set(rows[0]) == {"id", "text", "labels"}
        ids[split] = [int(row["id"]) for row in rows]
        assert ids[split] == sorted(set(ids[split]))
    # ModApte is chronological: every training story precedes every test story.
    assert max(ids["train"]) < min(ids["test"])
    readme = (SHIPPED / "README.txt").read_text(encoding="utf-8")
    assert "Reuters-21578, Distribution 1.0" in readme and "David D. Lewis" in readme
    assert "research purposes" in readme


# ---------------------------------------------------------------- the build script


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_reuters", REPO / "scripts" / "build_reuters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SGML_DOC = """<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="5" NEWID="7">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>grain</D><D>wheat</D></TOPICS>
<PLACES><D>usa</D></PLACES>
<UNKNOWN>&#5;&#5;&#5;C T</UNKNOWN>
<TEXT>&#2;
<TITLE>WHEAT &amp; CORN &lt;XYZ> UP</TITLE>
<DATELINE>    CHICAGO, Feb 26 - </DATELINE><BODY>Wheat rose for a 500 mln dlr&#127;untied
loan, traders cla&#127;imed.^M
&\\tSecond paragraph, the Semiconducto&#27;[Br Division said. REUTER
 Reuter
&#3;</BODY></TEXT>
</REUTERS>"""


def test_parse_document(build):
    attrs, block = re.match(r"<REUTERS([^>]*)>(.*)</REUTERS>", SGML_DOC, re.S).groups()
    vocabulary = frozenset({"claimed", "semiconductor"})
    doc = build.parse_document(attrs, block, vocabulary)
    assert (doc["id"], doc["split"], doc["topics_attr"]) == ("7", "train", "YES")
    assert doc["topics"] == ["grain", "wheat"]
    assert doc["text"] == (
        "WHEAT & CORN <XYZ> UP\n"
        "Wheat rose for a 500 mln dlr untied loan, traders claimed.\n"
        "Second paragraph, the Semiconductor Division said."
    )


def test_modapte_and_label_restriction(build):
    def doc(i, split, topics, attr="YES"):
        return {"id": str(i), "split": split, "topics_attr": attr, "topics": topics, "text": f"t{i}"}

    docs = [
        doc(3, "train", ["a", "only-train"]),
        doc(1, "train", ["only-train"]),  # left without a label: dropped
        doc(2, "train", ["a"], attr="NO"),  # not ModApte
        doc(4, "train", []),  # no topic: not ModApte
        doc(5, None, ["a"]),  # NOT-USED
        doc(6, "test", ["a", "b"]),
        doc(7, "train", ["b"]),
    ]
    split_docs = build.modapte(docs)
    assert [d["id"] for d in split_docs["train"]] == ["3", "1", "7"]
    labels, kept = build.restrict_labels(split_docs)
    assert labels == ["a", "b"]
    assert kept["train"] == [
        {"id": "3", "text": "t3", "labels": ["a"]},
        {"id": "7", "text": "t7", "labels": ["b"]},
    ]


def test_write_jsonl_gz_is_deterministic(build, tmp_path):
    rows = [{"id": "1", "text": "é", "labels": ["x"]}]
    build.write_jsonl_gz(tmp_path / "a.jsonl.gz", rows)
    build.write_jsonl_gz(tmp_path / "b.jsonl.gz", rows)
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.jsonl.gz").read_bytes()).decode("utf-8") == json.dumps(
        rows[0], ensure_ascii=False
    ) + "\n"
