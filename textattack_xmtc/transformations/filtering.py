"""Word lists shared by the candidate sources: the paper's stopwords and antonym pairs."""
from __future__ import annotations

import functools
from collections import defaultdict
from typing import Dict, FrozenSet, Iterable, List, Tuple

from .._paths import DATA_DIR


def _read_words(name: str) -> List[str]:
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@functools.lru_cache(maxsize=None)
def paper_stopwords() -> FrozenSet[str]:
    """The 266 stopwords the paper filters on both sides (the BERT-Attack / TextFooler list)."""
    return frozenset(_read_words("paper_stopwords.txt"))


@functools.lru_cache(maxsize=None)
def paper_stopwords_any_case() -> FrozenSet[str]:
    """The paper's stopwords as lower-case, Capitalised and UPPER-case words.

    TextAttack's ``StopwordModification`` compares words as written, so "The"
    at the start of a sentence would otherwise count as replaceable.
    """
    words = paper_stopwords()
    return frozenset(words | {w.capitalize() for w in words} | {w.upper() for w in words})


@functools.lru_cache(maxsize=None)
def antonyms() -> Dict[str, FrozenSet[str]]:
    """word -> its antonyms, from the counter-fitting PPDB and WordNet antonym pairs."""
    table = defaultdict(set)
    for line in _read_words("antonyms.txt"):
        first, second = line.split()
        table[first].add(second)
        table[second].add(first)
    return {word: frozenset(others) for word, others in table.items()}


@functools.lru_cache(maxsize=None)
def _listed_lemmas() -> Dict[str, Tuple[str, ...]]:
    # lemminflect's answers for every word it knows, cut to the lemmas the antonym list
    # names (scripts/build_antonym_forms.py): the same filter without loading its
    # dictionaries (~32 MB) into every attack.
    table = {}
    for line in _read_words("antonym_forms.txt"):
        word, *lemmas = line.split()
        table[word] = tuple(lemmas)
    return table


def word_forms(word: str) -> FrozenSet[str]:
    """The lower-case ``word`` and those of its lemmas that the antonym list names
    ("rose" -> {"rose", "rise"}), so that antonym pairs listed for one inflection
    ("rise"/"fell") also catch the others ("rose"/"fell"). Lemmas the list does not
    name cannot match an antonym, so they are left out."""
    return frozenset((word,) + _listed_lemmas().get(word, ()))


def antonyms_of(word: str) -> FrozenSet[str]:
    """Antonyms of any form of ``word`` (lower-case)."""
    table = antonyms()
    return frozenset().union(*(table.get(form, frozenset()) for form in word_forms(word)))


def match_case(candidate: str, like: str) -> str:
    """Give ``candidate`` the capitalisation pattern of the word it replaces."""
    if like.isupper() and len(like) > 1:
        return candidate.upper()
    if like[:1].isupper():
        return candidate[:1].upper() + candidate[1:]
    return candidate


def clean_candidates(word: str, candidates: Iterable[str], limit: int,
                     stopwords: FrozenSet[str]) -> List[str]:
    """Keep alphabetic, non-stopword, non-antonym candidates different from ``word``.

    Candidates are lower-cased for the checks, de-duplicated in order, given the
    case of ``word`` and cut to ``limit``.
    """
    lower = word.lower()
    banned = antonyms_of(lower)
    kept, seen = [], {lower}
    for candidate in candidates:
        key = candidate.lower()
        if key in seen or not key.isalpha() or key in stopwords or word_forms(key) & banned:
            continue
        seen.add(key)
        kept.append(match_case(key, word))
        if len(kept) == limit:
            break
    return kept
