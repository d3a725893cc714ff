"""The antonym filter's word forms: lemminflect's answers, read from a shipped table."""
import random

import lemminflect
import pytest
from lemminflect.core.Lemmatizer import Lemmatizer

from textattack_xmtc.transformations import filtering
from textattack_xmtc.transformations.filtering import antonyms, antonyms_of, clean_candidates, word_forms


def lemminflect_forms(word):
    """The word and all its lemmas, asked of lemminflect at run time (as the filter once did)."""
    return {word} | {lemma for forms in lemminflect.getAllLemmas(word).values() for lemma in forms}


def test_word_forms_meet_the_antonym_list_exactly_where_lemminflect_s_lemmas_do():
    listed = set(antonyms())
    known = sorted(word for word in Lemmatizer()._getLemmaDict() if word == word.lower() and len(word.split()) == 1)
    words = random.Random(0).sample(known, 3000) + sorted(filtering._listed_lemmas())
    words += ["rose", "fell", "qwzxqv", "rises", "unhappier", "tallest"]
    for word in words:
        assert word_forms(word) == {word} | (lemminflect_forms(word) & listed), word


def test_the_filter_catches_an_inflection_of_a_listed_pair_without_lemminflect(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("lemminflect was asked at run time")

    monkeypatch.setattr(lemminflect, "getAllLemmas", refuse)
    assert "fell" in antonyms()["rise"] and "fell" not in antonyms().get("rose", ())
    assert "fell" in antonyms_of("rose")  # through its lemma "rise"
    assert clean_candidates("rose", ["fell", "climbed", "falls"], 48, frozenset()) == ["climbed"]


@pytest.mark.parametrize("word", ["rose", "fell", "falls"])
def test_the_shipped_table_names_only_listed_lemmas(word):
    assert all(lemma in antonyms() for lemma in filtering._listed_lemmas().get(word, ()))
