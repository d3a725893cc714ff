"""Build the Reuters-21578 (ModApte, 90 topics) corpus the package ships.

Reads the 22 SGML files of Reuters-21578, Distribution 1.0 (David D. Lewis;
free distribution for research purposes) and writes gzip-compressed JSONL
``{"id", "text", "labels"}`` rows to ``textattack_xmtc/data/reuters21578/``.
Run from the repository root:

    python scripts/build_reuters.py ../shared/datasets/reuters21578

Only this script reads the raw collection; the package reads its output.
Rebuilds are byte-identical (sorted by NEWID, gzip mtime 0, fixed JSON style).
"""
from __future__ import annotations

import collections
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Dict, FrozenSet, Iterator, List, Tuple

OUT_DIR = Path(__file__).resolve().parents[1] / "textattack_xmtc" / "data" / "reuters21578"
SPLITS = {"TRAIN": "train", "TEST": "test"}

_DOC_RE = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_ATTR_RE = re.compile(r'(\w+)="([^"]*)"')
_D_RE = re.compile(r"<D>(.*?)</D>", re.S)
_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
# ANSI escape sequences (ESC [ B ...) are terminal noise inside words:
# "Semiconducto&#27;[Br" is "Semiconductor".
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]?")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x80-\x9f]")
# DEL (&#127;) sits in a word ("cla&#127;imed"), or where a space or letter was
# lost ("dlr&#127;untied", "p&#127;id"); the corpus' own words tell them apart.
_DEL_RE = re.compile(r"(\w*)\x7f+(\w*)")
_WORD_RE = re.compile(r"\w+")
# The wire signature ending most bodies: "Reuter", "REUTER...", "reuter".
_SIGNATURE_RE = re.compile(r"\s*reuters?[\s.]*", re.I)
# ... or ending the last line: "record May 23. REUTER". Not "told Reuters.".
_TAIL_SIGNATURE_RE = re.compile(r"\s+reuter[\s.]*\Z", re.I)


def read_sgml(path: Path) -> str:
    """Decode one SGML file: UTF-8 where it is valid, else latin-1 (never fails).

    Usage: ``raw = read_sgml(Path("reut2-000.sgm"))``
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _unescape(text: str) -> str:
    """Replace SGML character and entity references; unknown names stay as written."""

    def replace(match: re.Match) -> str:
        ref = match.group(1)
        if ref.startswith(("#x", "#X")):
            return chr(int(ref[2:], 16))
        if ref.startswith("#"):
            return chr(int(ref[1:]))
        return _NAMED.get(ref.lower(), match.group(0))

    return _ENTITY_RE.sub(replace, text)


def _tag(block: str, name: str) -> str:
    """Content of the first ``<name ...>...</name>`` in ``block``, or ``""``."""
    match = re.search(rf"<{name}\b[^>]*>(.*?)</{name}>", block, re.S)
    return match.group(1) if match else ""


def corpus_vocabulary(raw_files: List[str]) -> FrozenSet[str]:
    """Lower-cased words of the whole raw collection, to mend words split by DEL.

    Usage: ``vocab = corpus_vocabulary([read_sgml(p) for p in paths])``
    """
    return frozenset(w.lower() for raw in raw_files for w in _WORD_RE.findall(raw))


def _resolve_del(text: str, vocabulary: FrozenSet[str]) -> str:
    """Join the two sides of a DEL when they make a known word, else put a space."""

    def replace(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        if left and right and (left + right).lower() not in vocabulary:
            return left + " " + right
        return left + right

    return _DEL_RE.sub(replace, text)


def _clean_lines(raw: str, vocabulary: FrozenSet[str]) -> List[str]:
    """Unescape and strip noise from raw element text; one string per source line."""
    # This copy marks paragraph starts with a literal "&\t" and carriage returns
    # with a literal "^M"; both are markup, not words.
    raw = re.sub(r"^&\\t", "\n", raw, flags=re.M).replace("^M", "")
    text = _ANSI_RE.sub("", _unescape(raw))
    # U+FFFD replaced an unknown byte (reut2-017: "growth.\ufffd&#5;&#30;side").
    text = _resolve_del(text, vocabulary).replace("\ufffd", " ").replace("\t", " ")
    return _CONTROL_RE.sub("", text).split("\n")


def _strip_signature(lines: List[str]) -> List[str]:
    """Drop trailing blank lines and "Reuter" signatures (some stories sign twice)."""
    lines = list(lines)
    while lines:
        last = lines[-1]
        if not last.strip() or _SIGNATURE_RE.fullmatch(last):
            lines.pop()
            continue
        # Only a signature word ends a line; "... told Reuters." is text.
        stripped = _TAIL_SIGNATURE_RE.sub("", last)
        if stripped == last:
            return lines
        lines[-1] = stripped
    return lines


def clean_text(raw: str, vocabulary: FrozenSet[str] = frozenset()) -> str:
    """Readable text: wrapped lines joined, one paragraph or table row per line.

    Usage: ``clean_text("Showers continued\\nin Bahia.\\n Reuter\\n&#3;")``
    """
    lines = _strip_signature(_clean_lines(raw, vocabulary))
    paragraphs: List[str] = []
    joining = False
    for line in lines:
        words = " ".join(line.split())
        if not words:
            joining = False  # blank line: the next text starts a new paragraph
            continue
        # An indented line is a table row or a new paragraph, not a wrapped line.
        if joining and not line[:1].isspace():
            paragraphs[-1] += " " + words
        else:
            paragraphs.append(words)
        joining = True
    return "\n".join(paragraphs)


def parse_document(attrs: str, block: str, vocabulary: FrozenSet[str] = frozenset()) -> Dict[str, object]:
    """One ``<REUTERS>`` element -> attributes, topics and cleaned text.

    Usage: ``doc = parse_document('NEWID="1" ...', "<TOPICS>...</TEXT>", vocab)``
    """
    info = dict(_ATTR_RE.findall(attrs))
    topics = [_unescape(t).strip() for t in _D_RE.findall(_tag(block, "TOPICS"))]
    text_block = _tag(block, "TEXT")
    title = clean_text(_tag(text_block, "TITLE"), vocabulary)
    body_raw = _tag(text_block, "BODY")
    if not body_raw and "<TITLE>" not in text_block:
        # TYPE="UNPROC" stories put their text straight inside <TEXT>.
        body_raw = re.sub(r"<[^>]+>", " ", text_block)
    body = clean_text(body_raw, vocabulary)
    return {
        "id": info.get("NEWID", ""),
        "topics_attr": info.get("TOPICS", ""),
        "split": SPLITS.get(info.get("LEWISSPLIT", "")),
        "topics": list(dict.fromkeys(t for t in topics if t)),
        "text": "\n".join(part for part in (title, body) if part),
    }


def iter_documents(source_dir: Path) -> Iterator[Dict[str, object]]:
    """Every document of the 22 ``reut2-*.sgm`` files, in file order.

    Usage: ``docs = list(iter_documents(Path("../shared/datasets/reuters21578")))``
    """
    files = sorted(source_dir.glob("reut2-*.sgm"))
    if len(files) != 22:
        raise SystemExit(f"expected 22 reut2-*.sgm files in {source_dir}, found {len(files)}")
    raw_files = [read_sgml(path) for path in files]
    vocabulary = corpus_vocabulary(raw_files)
    for raw in raw_files:
        for match in _DOC_RE.finditer(raw):
            yield parse_document(match.group(1), match.group(2), vocabulary)


def modapte(docs: List[Dict[str, object]]) -> Dict[str, List[Dict[str, object]]]:
    """ModApte split: LEWISSPLIT TRAIN/TEST, TOPICS="YES", at least one topic."""
    split_docs: Dict[str, List[Dict[str, object]]] = {"train": [], "test": []}
    for doc in docs:
        if doc["split"] and doc["topics_attr"] == "YES" and doc["topics"]:
            split_docs[doc["split"]].append(doc)
    return split_docs


def restrict_labels(split_docs: Dict[str, List[Dict[str, object]]]) -> Tuple[List[str], Dict[str, list]]:
    """Keep the topics present in both splits; drop documents left without one."""
    present = [set(t for d in docs for t in d["topics"]) for docs in split_docs.values()]
    keep = set.intersection(*present)
    kept: Dict[str, list] = {}
    for split, docs in split_docs.items():
        rows = []
        for doc in docs:
            labels = [t for t in doc["topics"] if t in keep]
            if labels:
                rows.append({"id": doc["id"], "text": doc["text"], "labels": labels})
        kept[split] = sorted(rows, key=lambda row: int(row["id"]))
    return sorted(keep), kept


def write_jsonl_gz(path: Path, rows: List[dict]) -> None:
    """Write rows as gzip JSONL with mtime 0 and no file name, so rebuilds match byte for byte."""
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(payload)


README = """\
Reuters-21578, Distribution 1.0 -- ModApte split, 90 topic labels
=================================================================

Source and citation
  Reuters-21578 text categorization test collection, Distribution 1.0,
  README v1.2 (26 September 1997), David D. Lewis, AT&T Labs - Research.
  Cite it as "Reuters-21578, Distribution 1.0". It was distributed from
  http://www.research.att.com/~lewis (now also at the UCI KDD archive).

Terms
  From its README: "The copyright for the text of newswire articles and
  Reuters annotations in the Reuters-21578 collection resides with Reuters
  Ltd. Reuters Ltd. and Carnegie Group, Inc. have agreed to allow the free
  distribution of this data *for research purposes only*. If you publish
  results based on this data set, please acknowledge its use, refer to the
  data set by the name "Reuters-21578, Distribution 1.0", and inform your
  readers of the current location of the data set."

Files
  train.jsonl.gz  {train_docs} documents
  test.jsonl.gz   {test_docs} documents
  One JSON object per line: {{"id": "<NEWID>", "text": ..., "labels": [...]}}.
  {num_labels} distinct labels; {train_pairs} train and {test_pairs} test
  (document, label) pairs.

How they were built (scripts/build_reuters.py)
  - The 22 files reut2-000.sgm .. reut2-021.sgm, parsed with regular
    expressions (not an SGML parser).
  - ModApte split: LEWISSPLIT="TRAIN" -> train, LEWISSPLIT="TEST" -> test,
    only TOPICS="YES" documents with at least one <TOPICS> entry
    ({modapte_train} train, {modapte_test} test).
  - Labels: the <TOPICS><D>..</D></TOPICS> entries in file order, restricted
    to the {num_labels} topics that occur in both splits; documents left
    without a label are dropped ({dropped_train} train, {dropped_test} test).
  - Text: TITLE + newline + BODY (documents of TYPE="UNPROC" have no BODY
    element: their whole TEXT is used). Character references (&#N;, &lt;,
    &amp;) are unescaped; control characters, terminal escape sequences,
    the literal "^M" carriage-return marks and the trailing "Reuter"
    signature are removed; a DEL character (&#127;) is dropped where the
    two sides form a word seen elsewhere in the collection, else it becomes
    a space; hard-wrapped lines are joined; each paragraph
    (marked "&\\t" in the source) or indented table row is one line, with
    runs of spaces collapsed. DATELINE, AUTHOR and the other fields are not
    part of the text.
  - Rows sorted by NEWID; gzip with mtime 0, so rebuilds are byte-identical.
"""


def main(source: str) -> None:
    """Build both splits and the README from the raw collection in ``source``."""
    split_docs = modapte(list(iter_documents(Path(source))))
    labels, kept = restrict_labels(split_docs)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for split, rows in kept.items():
        write_jsonl_gz(OUT_DIR / f"{split}.jsonl.gz", rows)
    counts = {
        "num_labels": len(labels),
        "modapte_train": len(split_docs["train"]), "modapte_test": len(split_docs["test"]),
        "train_docs": len(kept["train"]), "test_docs": len(kept["test"]),
        "dropped_train": len(split_docs["train"]) - len(kept["train"]),
        "dropped_test": len(split_docs["test"]) - len(kept["test"]),
        "train_pairs": sum(len(r["labels"]) for r in kept["train"]),
        "test_pairs": sum(len(r["labels"]) for r in kept["test"]),
    }
    (OUT_DIR / "README.txt").write_text(README.format(**counts), encoding="utf-8")
    print(json.dumps(counts, indent=1))
    top = collections.Counter(t for r in kept["train"] for t in r["labels"]).most_common(5)
    print("most frequent train labels:", top)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/reuters21578")
