"""AttentionXML tokenization, vocabularies and GloVe initial embeddings."""
import random

import numpy as np
import pytest
import torch
from nltk.tokenize import word_tokenize

from textattack_xmtc.datasets import load_corpus
from textattack_xmtc.glove import load_glove
from textattack_xmtc.models.tokenization import (
    PAD_TOKEN,
    UNK_TOKEN,
    AttentionXMLTokenizer,
    build_vocab,
    glove_embedding_matrix,
    load_vocab,
    save_vocab,
)

VOCAB = [PAD_TOKEN, UNK_TOKEN, "the", "u.s.", "economy", "it", "'s", "5", "oil", "prices"]


@pytest.fixture
def tokenizer():
    return AttentionXMLTokenizer(VOCAB, max_length=500)


def test_words_lowercases_and_drops_tokens_without_word_characters(tokenizer):
    assert tokenizer.words("The U.S. economy, it's 5%!") == ["the", "u.s.", "economy", "it", "'s", "5"]


def test_words_match_nltk_word_tokenize_with_preserve_line(tokenizer):
    text = 'He said: "Oil prices rose 3.5% (to $18.25) in the U.S." Don\'t sell -- yet.\nNew line here.'
    expected = [t.lower() for t in word_tokenize(text, preserve_line=True) if any(c.isalnum() or c == "_" for c in t)]
    assert tokenizer.words(text) == expected
    # NLTK's own quirks are kept: contractions split, "yet." glued mid-line (preserve_line).
    assert {"do", "n't", "18.25", "u.s.", "yet.", "here"} <= set(expected)


def test_unk_literal_is_one_token_with_id_1(tokenizer):
    assert tokenizer.words("oil <UNK> prices") == ["oil", UNK_TOKEN, "prices"]
    assert tokenizer.encode("oil <UNK> prices") == [8, 1, 9]
    assert tokenizer.encode("<UNK>") == [1]
    # Glued to neighbours and repeated, it is still one unknown word each time.
    assert tokenizer.words("oil<UNK>prices <UNK><UNK>") == ["oil", UNK_TOKEN, "prices", UNK_TOKEN, UNK_TOKEN]


def test_encode_maps_unknown_words_to_1_and_empty_text_to_unk(tokenizer):
    assert tokenizer.encode("The economy of Zanzibar") == [2, 4, 1, 1]
    assert tokenizer.encode("") == [1]
    assert tokenizer.encode(" ... !!! ") == [1]


def test_encode_truncates_to_max_length():
    short = AttentionXMLTokenizer(VOCAB, max_length=3)
    assert short.encode("oil prices the economy it") == [8, 9, 2]
    assert len(AttentionXMLTokenizer(VOCAB).encode("oil " * 600)) == 500


def test_batch_encode_pads_to_the_batch_longest_text(tokenizer):
    batch = tokenizer.batch_encode(["oil prices rose", "the"])
    assert batch.dtype == torch.long
    assert batch.tolist() == [[8, 9, 1], [2, 0, 0]]
    assert tokenizer.pad([[5], [6, 7]], length=4).tolist() == [[5, 0, 0, 0], [6, 7, 0, 0]]
    assert tokenizer.pad([(5, 6, 7), []], length=2).tolist() == [[5, 6], [0, 0]]  # tuples, truncation, empty


def test_vocabulary_must_start_with_pad_and_unk():
    with pytest.raises(ValueError, match="<PAD>"):
        AttentionXMLTokenizer(["<UNK>", "<PAD>", "oil"])


def test_build_vocab_orders_by_document_frequency_then_alphabetically():
    texts = ["b a a a", "c b", "c d", "e"]  # df: b 2, c 2, a 1, d 1, e 1
    words = AttentionXMLTokenizer([PAD_TOKEN, UNK_TOKEN]).words
    vocab = build_vocab(texts, words)
    assert vocab.dtype.kind == "U"
    assert vocab.tolist() == [PAD_TOKEN, UNK_TOKEN, "b", "c", "a", "d", "e"]
    assert build_vocab(texts, words, min_count=2).tolist() == [PAD_TOKEN, UNK_TOKEN, "b", "c"]
    assert build_vocab(texts, words, max_size=4).tolist() == [PAD_TOKEN, UNK_TOKEN, "b", "c"]


def test_save_and_load_vocab_round_trip_without_pickle(tmp_path):
    path = tmp_path / "vocab.npy"
    save_vocab(path, VOCAB)
    loaded = load_vocab(path)
    assert loaded.dtype.kind == "U" and loaded.tolist() == VOCAB
    # The original format: np.load with allow_pickle=False reads it.
    assert np.load(path, allow_pickle=False).tolist() == VOCAB


def test_load_vocab_refuses_object_arrays(tmp_path):
    path = tmp_path / "vocab.npy"
    np.save(path, np.array(VOCAB, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="vocab.npy"):
        load_vocab(path)


def test_load_glove_gives_400k_50d_vectors():
    words, vectors = load_glove()
    assert len(words) == vectors.shape[0] == 400000
    assert vectors.shape[1] == 50 and vectors.dtype == np.float32
    assert words[0] == "the"
    assert load_glove()[1] is vectors  # cached


def test_glove_embedding_matrix_uses_glove_rows_zero_pad_and_small_random_rest():
    words, vectors = load_glove()
    vocab = [PAD_TOKEN, UNK_TOKEN, "oil", "notawordzzqx"]
    matrix = glove_embedding_matrix(vocab, dim=50, seed=3)
    assert matrix.shape == (4, 50) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[2], vectors[words.index("oil")])
    assert not matrix[0].any()
    assert 0 < np.abs(matrix[3]).max() < 0.6
    np.testing.assert_array_equal(matrix, glove_embedding_matrix(vocab, dim=50, seed=3))
    wide = glove_embedding_matrix(vocab, dim=60, seed=3)
    np.testing.assert_array_equal(wide[2, :50], vectors[words.index("oil")])


def test_encode_equals_looking_up_the_words_of_nltk_tokens():
    """The per-segment id cache changes nothing: ids are the vocabulary ids of words()."""
    import random

    from nltk.tokenize import NLTKWordTokenizer

    from textattack_xmtc.datasets import load_corpus
    from textattack_xmtc.models.tokenization import AttentionXMLTokenizer, build_vocab

    texts = load_corpus("reuters21578", split="test").texts[:150]
    nltk_words = lambda text: [t.lower() for t in NLTKWordTokenizer().tokenize(text)  # noqa: E731
                               if any(c.isalnum() or c == "_" for c in t)]
    tokenizer = AttentionXMLTokenizer(build_vocab(texts[:50], nltk_words), max_length=300)
    rng = random.Random(0)
    for text in texts:
        words = text.split(" ")
        words[rng.randrange(len(words))] = "<UNK>"
        for variant in (text, " ".join(words)):
            pieces = variant.split("<UNK>")
            expected = []
            for position, piece in enumerate(pieces):
                expected += ["<UNK>"] * bool(position) + nltk_words(piece)
            assert tokenizer.words(variant) == expected
            ids = [tokenizer.word_to_id.get(word, 1) for word in expected][:300] or [1]
            assert tokenizer.encode(variant) == ids
            assert tokenizer.encode(variant) == ids  # again, from the cache


def test_encode_edit_equals_encode_along_an_attack_like_sequence_of_texts():
    words = load_corpus("reuters21578", split="test").texts[3].split()
    vocab = ["<PAD>", "<UNK>"] + sorted({token.lower() for token in words})[::2]  # half the words are unknown
    tokenizer = AttentionXMLTokenizer(vocab, max_length=40)  # shorter than the text: truncation too
    rng = random.Random(0)
    texts = [" ".join(words)]
    for _ in range(300):
        edited = list(words)
        position = rng.randrange(len(edited))
        edited[position] = rng.choice(["<UNK>", "oil", "U.S.", "end.", "said,", "»", '"', "cannot", ""])
        texts.append(" ".join(edited))
        if rng.random() < 0.1:
            words = edited  # the attack keeps a swap
    fresh = AttentionXMLTokenizer(vocab, max_length=40)
    assert [tokenizer.encode_edit(text) for text in texts] == [fresh.encode(text) for text in texts]


def test_encode_edit_builds_leave_one_out_texts_from_the_segments_of_the_document(monkeypatch):
    from textattack.shared import AttackedText

    from textattack_xmtc.shared import replace_word_fast

    texts = load_corpus("reuters21578", split="test").texts[5:9]
    vocab = ["<PAD>", "<UNK>"] + sorted({token.lower() for text in texts for token in text.split()})[::2]
    tokenizer, fresh = AttentionXMLTokenizer(vocab, max_length=60), AttentionXMLTokenizer(vocab, max_length=60)
    for text in texts + ["He said: the U.S. rose 5%. Acme Corp. (really) \"ended\" it..."]:
        document = AttackedText(text)
        tokenizer.encode_edit(text)
        leave_one_out = [replace_word_fast(document, i, "<UNK>").text for i in range(document.num_words)]
        expected = [fresh.encode(variant) for variant in leave_one_out]
        with monkeypatch.context() as patch:  # all but the last words: no general tokenization
            patch.setattr(tokenizer, "encode", lambda text: pytest.fail(f"general path for {text!r}"))
            assert [tokenizer.encode_edit(variant) for variant in leave_one_out[:-3]] == expected[:-3]
        assert [tokenizer.encode_edit(variant) for variant in leave_one_out] == expected


def test_an_empty_vocab_file_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "vocab.npy"
    path.write_bytes(b"")  # numpy raises EOFError, which no command caught
    with pytest.raises(ValueError, match=r"vocab.npy: empty file"):
        load_vocab(path)


def test_a_vocabulary_holding_a_word_twice_is_refused():
    # The first id was kept; the original's {word: i for i, word in enumerate(vocab)} keeps the last.
    with pytest.raises(ValueError, match=r"the vocabulary holds 'oil' twice \(ids 2 and 4\)"):
        AttentionXMLTokenizer(["<PAD>", "<UNK>", "oil", "wheat", "oil"])
