"""Build the table of inflected forms that the antonym filter needs.

The GloVe candidate source refuses a candidate that is an antonym of the word
it replaces, in any inflection ("rose" for "fell": the list names "rise").
Looking lemmas up with lemminflect at run time loads its dictionaries, about
32 MB for the whole run, to answer one question: which words of the antonym
list is a word a form of? This script asks lemminflect that once for every
word its lemma dictionary knows and writes the answers that are not empty to
``textattack_xmtc/data/antonym_forms.txt``: one word per line, followed by its
lemmas that ``antonyms.txt`` lists (the word itself left out). Run from the
repository root after ``scripts/build_antonyms.py``:

    python scripts/build_antonym_forms.py
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from textattack_xmtc.transformations.filtering import antonyms  # noqa: E402  (the repository, put on the path above)

OUT = ROOT / "textattack_xmtc" / "data" / "antonym_forms.txt"


def listed_lemmas() -> dict:
    """word -> its lemmas (other than itself) that the antonym list names, for every lower-case
    word lemminflect's lemma dictionary knows (it looks words up lower-cased, so only those;
    phrases such as "setting off" are left out: an attack swaps one word)."""
    import lemminflect
    from lemminflect.core.Lemmatizer import Lemmatizer

    lemmatizer = Lemmatizer()
    words = set(lemmatizer._getLemmaDict()) | set(lemmatizer._getOverridesDict())
    listed = antonyms()
    table = {}
    for word in sorted(w for w in words if w == w.lower() and len(w.split()) == 1):
        lemmas = {lemma for forms in lemminflect.getAllLemmas(word).values() for lemma in forms}
        kept = sorted(lemma for lemma in lemmas if lemma != word and lemma in listed)
        if kept:
            table[word] = kept
    return table


def main() -> None:
    import lemminflect

    table = listed_lemmas()
    header = (f"# word, then its lemmas that antonyms.txt lists: lemminflect {lemminflect.__version__} "
              f"(MIT licence) getAllLemmas, by scripts/build_antonym_forms.py\n")
    OUT.write_text(header + "".join(f"{word} {' '.join(lemmas)}\n" for word, lemmas in table.items()),
                   encoding="utf-8")
    print(f"wrote {len(table)} words to {OUT}")


if __name__ == "__main__":
    main()
