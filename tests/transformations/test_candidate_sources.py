"""Candidate sources: GloVe neighbours without antonyms, and a masked LM run once."""
import numpy as np
import pytest
import torch
import transformers
from textattack.shared import AttackedText

from textattack_xmtc.transformations import (
    WordSwapGloVeNeighbours,
    WordSwapMaskedLMOnce,
    antonyms,
    paper_stopwords,
)
from textattack_xmtc.transformations import glove_neighbours


def test_paper_stopword_list():
    words = paper_stopwords()
    assert len(words) == 266 and {"the", "whereupon", "yourselves"} <= words


def test_glove_neighbours_drop_antonyms_stopwords_and_keep_case():
    swap = WordSwapGloVeNeighbours(max_candidates=48)
    rose = swap._get_replacement_words("rose")
    # "rise"/"fell" is a listed pair; the filter also catches the inflection "rose".
    assert "fell" in antonyms()["rise"] and "fell" not in antonyms().get("rose", ())
    assert rose and not {"fell", "fall", "falls", "wane"} & set(rose)
    assert not set(w.lower() for w in rose) & paper_stopwords()
    assert all(word.isalpha() and word.lower() != "rose" for word in rose)
    assert len(rose) <= 48
    assert all(word[0].isupper() for word in swap._get_replacement_words("Profit"))
    assert swap._get_replacement_words("qwzxqv") == []


def test_glove_neighbours_leave_single_letters_of_abbreviations_alone():
    swap = WordSwapGloVeNeighbours(max_candidates=48)
    text = AttackedText("The U.S. economy grew.")
    assert text.words[:3] == ["The", "U", "S"]  # how TextAttack reads the abbreviation
    assert swap._get_replacement_words("U") == [] and swap._get_replacement_words("u") == []
    assert swap._get_replacement_words("us")  # two letters are a word
    changed = {candidate.words[1] for candidate in swap(text) if candidate.words[1] != "U"}
    assert changed == set()


def test_masked_lm_candidates_are_clean_whole_words(mlm_dir):
    swap = WordSwapMaskedLMOnce(str(mlm_dir), max_candidates=48)
    text = AttackedText("The company bought shares of the bank")
    candidates = swap._candidates(text)
    assert len(candidates) == text.num_words
    for word, options in zip(text.words, candidates):
        assert len(options) <= 48
        for option in options:
            assert option.isalpha() and not option.startswith("[") and "#" not in option
            assert option.lower() != word.lower() and option.lower() not in paper_stopwords()
    assert any(candidates)


def test_masked_lm_filters_its_top_candidates_as_the_paper_does(bert_mlm_dir):
    # The tiny MLM's 7 favourites are 5 special tokens and 2 pieces: the paper's rule
    # (top k, then filter) leaves 3 words of the top 10; filling reads on until 10 remain.
    text = AttackedText("The company bought shares of the bank")
    paper = WordSwapMaskedLMOnce(str(bert_mlm_dir), max_candidates=10)._candidates(text)
    filled = WordSwapMaskedLMOnce(str(bert_mlm_dir), max_candidates=10, fill=True)._candidates(text)
    assert max(len(options) for options in paper) <= 3
    assert max(len(options) for options in filled) == 10
    for few, many in zip(paper, filled):
        assert few == many[:len(few)]  # the same ranking, cut earlier


def test_masked_lm_runs_once_on_the_original(bert_mlm_dir):
    swap = WordSwapMaskedLMOnce(str(bert_mlm_dir), max_candidates=48)
    calls = []
    swap.mlm.register_forward_hook(lambda *args: calls.append(1))
    original = AttackedText("The company bought shares of the bank")
    first = swap._get_transformations(original, [1])
    assert first
    changed = first[0]  # a text derived from the original keeps a link to it
    swap._get_transformations(changed, [2, 3])
    assert len(calls) == 1


@pytest.mark.parametrize("source", ["glove", "masked-lm"])
def test_has_candidates_says_whether_the_word_gets_any(source, bert_mlm_dir):
    # The search skips ranking words without one, so the answer must equal the transformation's own.
    swap = (WordSwapGloVeNeighbours(max_candidates=48) if source == "glove"
            else WordSwapMaskedLMOnce(str(bert_mlm_dir), max_candidates=10, max_length=8))  # words past 8 pieces: none
    text = AttackedText("The qwzxqv company bought U.S. shares of the bank")
    answers = [swap.has_candidates(text, index) for index in range(text.num_words)]
    produced = [bool(swap._get_transformations(text, [index])) for index in range(text.num_words)]
    assert answers == produced
    assert any(answers) and not all(answers)
    changed = swap._get_transformations(text, [answers.index(True)])[0]
    assert [swap.has_candidates(changed, i) for i in range(text.num_words)] == [
        bool(swap._get_transformations(changed, [i])) for i in range(text.num_words)]


def test_masked_lm_candidates_carry_their_rank(bert_mlm_dir):
    from textattack_xmtc.transformations.ranked import candidate_rank

    swap = WordSwapMaskedLMOnce(str(bert_mlm_dir), max_candidates=48)
    texts = swap._get_transformations(AttackedText("The company bought shares"), [1])
    assert [candidate_rank(t) for t in texts] == list(range(len(texts)))


def test_masked_lm_is_a_word_swap_for_textattack_searches(bert_mlm_dir):
    from textattack.search_methods import GreedyWordSwapWIR

    swap = WordSwapMaskedLMOnce(str(bert_mlm_dir))
    assert GreedyWordSwapWIR().check_transformation_compatibility(swap)


def test_masked_lm_missing_directory(tmp_path):
    with pytest.raises(OSError, match="no such directory"):
        WordSwapMaskedLMOnce(str(tmp_path / "nothing"))
    with pytest.raises(OSError, match="'no-such-dir': no such directory"):
        WordSwapMaskedLMOnce("no-such-dir")


def test_a_file_is_not_a_masked_lm_directory(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(OSError, match="is a file"):
        WordSwapMaskedLMOnce(str(tmp_path / "weights.bin"))


def test_a_sequence_classifier_is_refused_by_name(hf_multilabel_dir):
    # It would load as a masked LM with a freshly initialised (random) head.
    with pytest.raises(OSError, match=r"is not a masked language model \(BertForSequenceClassification\)"):
        WordSwapMaskedLMOnce(str(hf_multilabel_dir))


# -- the GloVe neighbour table: built once, cached on disk --------------------------

def test_nearest_neighbours_are_ordered_by_cosine_ties_to_the_lower_index():
    generator = torch.Generator().manual_seed(0)
    vectors = torch.randn(40, 5, generator=generator)
    vectors[[7, 21, 33]] = vectors[3].clone()  # exact ties with word 3
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    found = glove_neighbours.nearest_neighbours(unit, unit[[3, 10]], 12)
    for row, word in zip(found, (3, 10)):
        cosines = (unit.double() @ unit[word].double()).tolist()
        expected = sorted(range(40), key=lambda i: (-round(cosines[i], 6), i))[:12]
        assert row.tolist() == expected
    assert found[0][:4].tolist() == [3, 7, 21, 33]


@pytest.fixture
def small_table_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTATTACK_XMTC_CACHE", str(tmp_path))
    glove_neighbours.neighbour_table.cache_clear()
    yield tmp_path
    glove_neighbours.neighbour_table.cache_clear()


def test_the_table_holds_each_word_s_nearest_neighbours_and_is_reused_from_disk(small_table_cache, monkeypatch):
    table = glove_neighbours.neighbour_table(2000, depth=64)
    assert table.shape == (2000, 64) and (table[:, 0] == range(2000)).all()
    unit = glove_neighbours._unit_vectors(2000)
    for word in (5, 777, 1999):
        cosines = (unit.double() @ unit[word].double()).numpy()
        row = cosines[table[word].astype(int)]
        assert (row[:-1] >= row[1:] - 1e-6).all()  # highest first
        outside = np.delete(cosines, table[word].astype(int))
        assert row[-1] >= outside.max() - 1e-6  # nothing closer was left out
    assert list(small_table_cache.glob("*.npy"))
    glove_neighbours.neighbour_table.cache_clear()
    with monkeypatch.context() as patched:
        patched.setattr(glove_neighbours, "_build_table", lambda *args: pytest.fail("built again"))
        assert np.array_equal(glove_neighbours.neighbour_table(2000, depth=64), table)
    # Candidates from the cached table need no vectors in memory.
    glove_neighbours.neighbour_table(2000)  # the depth the candidate source reads, cached on disk
    glove_neighbours.neighbour_table.cache_clear()
    glove_neighbours._unit_vectors.cache_clear()
    monkeypatch.setattr(glove_neighbours, "_unit_vectors", lambda *args: pytest.fail("vectors loaded"))
    assert WordSwapGloVeNeighbours(max_candidates=8, vocabulary_size=2000)._get_replacement_words("profit")


def test_a_damaged_table_file_is_rebuilt_with_a_warning(small_table_cache, caplog):
    table = glove_neighbours.neighbour_table(2000, depth=64)
    path, = small_table_cache.glob("*.npy")
    path.write_bytes(path.read_bytes()[:1000])
    glove_neighbours.neighbour_table.cache_clear()
    assert np.array_equal(glove_neighbours.neighbour_table(2000, depth=64), table)
    assert "unreadable" in caplog.text and str(path) in caplog.text


def test_candidates_from_the_table_equal_a_search_for_the_word_alone(small_table_cache):
    words, index_of = glove_neighbours._neighbour_index(2000)
    unit = glove_neighbours._unit_vectors(2000)
    for fill, pool_size in ((False, 48 + 1), (True, 3 * 48 + 20)):  # the word itself comes first
        from_table = WordSwapGloVeNeighbours(max_candidates=48, vocabulary_size=2000, fill=fill)
        for word in ("profit", "shares", "Market", "rose"):
            pool = glove_neighbours.nearest_neighbours(unit, unit[index_of[word.lower()]][None], pool_size)[0]
            expected = glove_neighbours.clean_candidates(word, (words[i] for i in pool), 48, from_table.stopwords)
            assert from_table._get_replacement_words(word) == expected
    many = WordSwapGloVeNeighbours(max_candidates=100, vocabulary_size=2000, fill=True)  # beyond the table
    assert len(many._get_replacement_words("profit")) > 48


def test_glove_candidates_are_the_top_neighbours_filtered_unless_filled(small_table_cache):
    paper = WordSwapGloVeNeighbours(max_candidates=48, vocabulary_size=2000)._get_replacement_words("rose")
    filled = WordSwapGloVeNeighbours(max_candidates=48, vocabulary_size=2000, fill=True)._get_replacement_words("rose")
    assert len(filled) == 48 and len(paper) < 48  # antonyms and stopwords are among the top 48
    assert paper == filled[:len(paper)]


def test_glove_candidates_are_cached_for_a_bounded_number_of_words(monkeypatch):
    """A run over thousands of documents keeps the candidates of the most recent words only."""
    monkeypatch.setattr(glove_neighbours, "WORD_CACHE_SIZE", 3)
    swap = WordSwapGloVeNeighbours(max_candidates=48)
    first = swap._get_replacement_words("profit")
    for word in ("shares", "profit", "market", "wheat", "bank"):  # "profit" used again: kept longer
        swap._get_replacement_words(word)
    assert list(swap._cache) == ["market", "wheat", "bank"]
    assert swap._get_replacement_words("profit") == first  # computed again, the same candidates


def test_the_candidate_words_are_glove_s_first_and_read_from_a_cached_copy_after_the_first_time(
        small_table_cache, monkeypatch, caplog):
    from textattack_xmtc import glove

    expected = glove.load_glove()[0][:2000]
    assert glove_neighbours._vocabulary(2000) == expected
    path, = small_table_cache.glob("glove-6b-50d-words-2000.json")
    with monkeypatch.context() as patched:
        patched.setattr(glove, "glove_words", lambda count=None: pytest.fail("read from the parquet file again"))
        assert glove_neighbours._vocabulary(2000) == expected
    path.write_text('{"not": "a list"', encoding="utf-8")  # damaged: read again, with a warning
    assert glove_neighbours._vocabulary(2000) == expected
    assert str(path) in caplog.text


def test_glove_vectors_of_the_first_words_equal_the_full_table_s_rows():
    from textattack_xmtc import glove

    first = glove.glove_vectors(1000)
    assert first.flags["C_CONTIGUOUS"] and first.dtype == np.float32 and first.shape == (1000, 50)
    assert np.array_equal(first, glove.load_glove()[1][:1000])


def test_a_table_built_now_equals_one_built_from_the_full_glove_array_as_users_caches_were(small_table_cache):
    """Near-ties between neighbours depend on the product's rounding, which depends on the layout
    of the vectors: a row-major copy changed 32 of these 2,000 rows (655 of 50,000)."""
    from textattack_xmtc import glove

    glove_neighbours._unit_vectors.cache_clear()
    vectors = glove.load_glove()[1][:2000]  # a view of the column-major file's array
    unit = torch.from_numpy((vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-8))
                            .astype(np.float32))
    expected = glove_neighbours.nearest_neighbours(unit, unit, glove_neighbours.TABLE_DEPTH)
    assert np.array_equal(glove_neighbours.neighbour_table(2000).astype(np.int64), expected)
