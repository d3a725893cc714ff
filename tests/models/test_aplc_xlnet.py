"""APLC-XLNet network, its original checkpoint layout, its loss, and its XLNet inputs."""
import json
import random

import pytest
import torch
from torch.nn import functional as F
from transformers import XLNetConfig, XLNetModel

from textattack_xmtc.errors import CheckpointError, ModelLoadError
from textattack_xmtc.models.aplc_xlnet import (
    APLCXLNet,
    APLCXLNetConfig,
    aplc_loss,
    embedding_rows,
    load_original_state_dict,
)
from textattack_xmtc.models.xlnet_tokenization import (
    SPECIAL_TOKEN_IDS,
    XLNetInputBuilder,
    load_xlnet_tokenizer,
    pad_left,
    read_tokenizer_options,
    strip_word_start,
    train_sentencepiece,
)

# 8 labels: 3 in the head, clusters [3, 5) and [5, 8); h_0 = 16 // 2 = 8, h_1 = 16 // 4 = 4.
ORIGINAL_CONFIG = {
    "attn_type": "bi", "bi_data": False, "clamp_len": -1, "d_head": 16, "d_inner": 64, "d_model": 32,
    "dropout": 0.1, "end_n_top": 5, "ff_activation": "gelu", "finetuning_task": "tiny",
    "initializer_range": 0.02, "layer_norm_eps": 1e-12, "mem_len": None, "n_head": 2, "n_layer": 2,
    "n_token": 64, "num_labels": 8, "output_attentions": False, "output_hidden_states": False,
    "reuse_len": None, "same_length": False, "start_n_top": 5, "summary_activation": "tanh",
    "summary_last_dropout": 0.1, "summary_type": "last", "summary_use_proj": True, "torchscript": False,
    "untie_r": True, "adaptive_cutoff": [3, 5], "div_value": 2.0, "last_hidden_size": 16,
}
TAIL_SHAPES = {0: (8, 2), 1: (4, 3)}  # cluster -> (hidden size, labels in the cluster)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def reference_encoder(seed=0):
    """An XLNetModel built straight from transformers, with the tanh GELU the original ran."""
    torch.manual_seed(seed)
    config = XLNetConfig(vocab_size=64, d_model=32, n_layer=2, n_head=2, d_inner=64, ff_activation="gelu_new",
                         mem_len=None, use_mems_eval=False)
    encoder = XLNetModel(config).eval()
    with torch.no_grad():
        for parameter in encoder.parameters():
            parameter.normal_(0.0, 0.3)
    return encoder


def original_state_dict(seed=0):
    """A state dict under the ORIGINAL key names, written out by hand (not from our module)."""
    generator = torch.Generator().manual_seed(seed + 1)

    def tensor(*shape):
        return torch.randn(*shape, generator=generator) * 0.5

    state = {f"transformer.{key}": value.clone() for key, value in reference_encoder(seed).state_dict().items()}
    state["sequence_summary.summary.weight"] = tensor(16, 32)
    state["sequence_summary.summary.bias"] = tensor(16)
    state["AdaptiveMultiLabel.head.weight"] = tensor(3 + 2, 16)
    for index, (hidden, size) in TAIL_SHAPES.items():
        state[f"AdaptiveMultiLabel.tail.{index}.0.weight"] = tensor(hidden, 16)
        state[f"AdaptiveMultiLabel.tail.{index}.1.weight"] = 1 + tensor(hidden)
        state[f"AdaptiveMultiLabel.tail.{index}.1.bias"] = tensor(hidden)
        state[f"AdaptiveMultiLabel.tail.{index}.3.weight"] = tensor(size, hidden)
    return state


def loaded_network(seed=0):
    network = APLCXLNet(APLCXLNetConfig.from_dict(ORIGINAL_CONFIG, source="config.json"))
    network.load_checked_state_dict(original_state_dict(seed), source="pytorch_model.bin")
    return network.eval()


def aplc_formula(state, encoder, batch):
    """Probabilities computed by hand from the weights: sigmoid(head), sigmoid(node) * sigmoid(tail)."""
    hidden = encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"].float(),
                     token_type_ids=batch["token_type_ids"], use_mems=False).last_hidden_state
    features = torch.tanh(F.linear(hidden[:, -1], state["sequence_summary.summary.weight"],
                                   state["sequence_summary.summary.bias"]))
    head = torch.sigmoid(features @ state["AdaptiveMultiLabel.head.weight"].T)
    columns = [head[:, :3]]
    for index, (hidden_size, _) in TAIL_SHAPES.items():
        prefix = f"AdaptiveMultiLabel.tail.{index}"
        z = features @ state[f"{prefix}.0.weight"].T
        z = F.layer_norm(z, (hidden_size,), state[f"{prefix}.1.weight"], state[f"{prefix}.1.bias"], eps=1e-5)
        tail = torch.relu(z) @ state[f"{prefix}.3.weight"].T
        columns.append(head[:, 3 + index:4 + index] * torch.sigmoid(tail))
    return torch.cat(columns, dim=1)


ROWS = [[10, 11, 12, 13, 14, 15, 4, 3], [20, 21, 4, 3], [4, 3], [30, 31, 32, 33, 4, 3]]


# ----------------------------------------------------------------- checkpoint layout and numerics


def test_original_key_names_load_strictly():
    network = APLCXLNet(APLCXLNetConfig.from_dict(ORIGINAL_CONFIG))
    state = original_state_dict()
    assert set(network.state_dict()) == set(state)
    network.load_checked_state_dict(state, source="pytorch_model.bin")
    assert network.transformer.config.ff_activation == "gelu_new"  # the original's "gelu" is the tanh form
    assert network.transformer.config.mem_len is None


def test_probabilities_equal_the_aplc_formula():
    network, state = loaded_network(), original_state_dict()
    batch = pad_left(ROWS)
    with torch.no_grad():
        ours = network(**batch)
        expected = aplc_formula(state, reference_encoder(), batch)
        log_probabilities = network.log_probabilities(**batch)
    assert ours.shape == (len(ROWS), 8)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(log_probabilities.exp(), ours, atol=1e-6, rtol=0)
    assert float(ours.min()) > 0 and float(ours.max()) < 1  # no second sigmoid squeezing them into (0.5, 0.73)


def test_erf_gelu_would_differ():
    """Guards the activation mapping: with the exact GELU the scores move."""
    network = loaded_network()
    exact = APLCXLNet(APLCXLNetConfig.from_dict(dict(ORIGINAL_CONFIG, ff_activation="gelu_python")))
    exact.load_checked_state_dict(original_state_dict())
    batch = pad_left(ROWS)
    with torch.no_grad():
        assert float((network(**batch) - exact.eval()(**batch)).abs().max()) > 1e-6


def test_left_padded_batch_equals_one_text_at_a_time():
    network = loaded_network()
    with torch.no_grad():
        together = network(**pad_left(ROWS))
        alone = torch.cat([network(**pad_left([row])) for row in ROWS])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


def test_token_types_and_mask_matter():
    network, batch = loaded_network(), pad_left(ROWS)
    with torch.no_grad():
        reference = network(**batch)
        no_types = network(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        no_mask = network(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"])
    assert float((reference - no_types).abs().max()) > 1e-6
    assert float((reference[1:] - no_mask[1:]).abs().max()) > 1e-6  # padded rows change without the mask


def test_num_labels_may_already_be_the_last_cutoff():
    config = APLCXLNetConfig.from_dict(dict(ORIGINAL_CONFIG, adaptive_cutoff=[3, 5, 8]))
    assert config.cutoffs == [3, 5, 8] and config.cluster_sizes == [2, 3] and config.tail_hidden_sizes == [8, 4]
    network = APLCXLNet(config)
    network.load_checked_state_dict(original_state_dict())


def test_float_div_value_sizes_like_the_original():
    config = APLCXLNetConfig(num_labels=10, adaptive_cutoff=[2, 4, 6], last_hidden_size=100, div_value=3.0,
                             d_model=32, n_head=2)
    assert config.tail_hidden_sizes == [33, 11, 3]  # int(100 // 3.0 ** (i + 1))


# ----------------------------------------------------------------- config.json


def test_config_round_trip_keeps_original_keys():
    config = APLCXLNetConfig.from_dict(ORIGINAL_CONFIG, source="config.json")
    assert (config.num_labels, config.n_token, config.adaptive_cutoff, config.div_value) == (8, 64, [3, 5], 2.0)
    written = config.to_dict()
    assert "model_type" not in written
    assert written["finetuning_task"] == "tiny" and written["ff_activation"] == "gelu"
    assert written["n_token"] == 64 and written["d_head"] == 16
    assert APLCXLNetConfig.from_dict(written) == config


def test_config_reads_vocab_size_and_id2label():
    values = {key: value for key, value in ORIGINAL_CONFIG.items() if key not in ("n_token", "num_labels")}
    values.update(vocab_size=50, id2label={str(i): f"LABEL_{i}" for i in range(8)})
    config = APLCXLNetConfig.from_dict(values)
    assert config.n_token == 50 and config.num_labels == 8


@pytest.mark.parametrize("change, words", [
    ({"adaptive_cutoff": [5, 3]}, "adaptive_cutoff"),
    ({"adaptive_cutoff": [3, 9]}, "adaptive_cutoff"),
    ({"last_hidden_size": 2}, "no hidden units"),
    ({"d_head": 8}, "d_head"),
    ({"summary_type": "first"}, "summary_type"),
])
def test_bad_config_names_the_file(change, words):
    with pytest.raises(ModelLoadError) as error:
        APLCXLNetConfig.from_dict(dict(ORIGINAL_CONFIG, **change), source="ckpt/config.json")
    assert "ckpt/config.json" in str(error.value) and words in str(error.value)


def test_config_without_adaptive_cutoff_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"d_model": 32, "n_token": 64}))
    with pytest.raises(ModelLoadError, match="adaptive_cutoff"):
        APLCXLNetConfig.from_json_file(path)


# ----------------------------------------------------------------- weights files


@pytest.mark.parametrize("zip_format", [True, False])
def test_load_original_state_dict_zip_and_legacy(tmp_path, zip_format):
    state = original_state_dict()
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path, _use_new_zipfile_serialization=zip_format)
    loaded = load_original_state_dict(path)
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[key], state[key]) for key in state)
    assert embedding_rows(loaded) == 64


def test_data_parallel_prefix_is_unwrapped(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save({f"module.{key}": value for key, value in original_state_dict().items()}, path)
    APLCXLNet(APLCXLNetConfig.from_dict(ORIGINAL_CONFIG)).load_checked_state_dict(load_original_state_dict(path))


def test_unreadable_weights_name_the_file(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="pytorch_model.bin"):
        load_original_state_dict(path)
    torch.save([torch.zeros(1)], path)
    with pytest.raises(CheckpointError, match="state dict"):
        load_original_state_dict(path)


def test_checked_load_names_file_and_tensors():
    network = APLCXLNet(APLCXLNetConfig.from_dict(ORIGINAL_CONFIG))
    state = original_state_dict()
    state["AdaptiveMultiLabel.tail.1.3.weight"] = torch.zeros(5, 4)
    del state["sequence_summary.summary.bias"]
    state["AdaptiveMultiLabel.head.bias"] = torch.zeros(5)
    with pytest.raises(CheckpointError) as error:
        network.load_checked_state_dict(state, source="ckpt/pytorch_model.bin")
    message = str(error.value)
    assert message.startswith("ckpt/pytorch_model.bin")
    assert "AdaptiveMultiLabel.tail.1.3.weight: expected shape [3, 4], found [5, 4]" in message
    assert "missing keys [sequence_summary.summary.bias]" in message
    assert "unexpected keys [AdaptiveMultiLabel.head.bias]" in message


# ----------------------------------------------------------------- loss


def naive_loss(head, tails, targets, pos_weight=None):
    """The documented APLC loss written out per document in float64."""
    head, targets = head.double(), targets.double()
    pos_weight = torch.ones(targets.shape[1], dtype=torch.float64) if pos_weight is None else pos_weight.double()
    cutoffs, losses = [3, 5, 8], []

    def bce(p, y, w):
        return -(w * y * torch.log(p) + (1 - y) * torch.log(1 - p))

    for row in range(targets.shape[0]):
        terms = [bce(torch.sigmoid(head[row, j]), targets[row, j], pos_weight[j]) for j in range(3)]
        for index, tail in enumerate(tails):
            low, high = cutoffs[index], cutoffs[index + 1]
            node = torch.sigmoid(head[row, 3 + index])
            if targets[row, low:high].sum() > 0:
                for k in range(low, high):
                    p = node * torch.sigmoid(tail[row, k - low].double())
                    terms.append(bce(p, targets[row, k], pos_weight[k]))
            else:
                terms.append(bce(node, torch.tensor(0.0, dtype=torch.float64), 1.0))
        losses.append(torch.stack(terms).mean())
    return torch.stack(losses).mean()


def test_loss_follows_the_documented_formula():
    network, batch = loaded_network(), pad_left(ROWS)
    targets = torch.tensor([[1, 0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 0, 0, 0],
                            [0, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], dtype=torch.float32)
    output = network.scores(**batch)
    loss = network.loss(output, targets)
    torch.testing.assert_close(loss.double(), naive_loss(output.head_logits, output.tail_logits, targets),
                               atol=1e-6, rtol=0)
    weights = torch.linspace(1.0, 3.0, 8)
    torch.testing.assert_close(network.loss(output, targets, pos_weight=weights).double(),
                               naive_loss(output.head_logits, output.tail_logits, targets, weights),
                               atol=1e-6, rtol=0)
    loss.backward()
    assert network.AdaptiveMultiLabel.tail[1][3].weight.grad.abs().sum() > 0


def test_loss_stays_finite_when_saturated():
    head = torch.tensor([[40.0, -40.0, 0.0, 40.0, -40.0]], requires_grad=True)
    tails = [torch.tensor([[40.0, -40.0]], requires_grad=True), torch.tensor([[40.0, 0.0, -40.0]], requires_grad=True)]
    targets = torch.tensor([[0, 1, 0, 0, 1, 1, 0, 1]], dtype=torch.float32)
    from textattack_xmtc.models.aplc_xlnet import APLCOutput

    loss = aplc_loss(APLCOutput(head, tails), targets, [3, 5, 8])
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(t.grad).all() for t in [head] + tails)


# ----------------------------------------------------------------- XLNet inputs

WORDS = ("oil prices rose sharply wheat exports fell company shares profit dividend grain ship trade bank "
         "rates dollar yen market said the of and in tonnes crude").split()


@pytest.fixture(scope="module")
def spiece(tmp_path_factory):
    generator = random.Random(0)
    texts = [" ".join(generator.choice(WORDS) for _ in range(10)) + "." for _ in range(50)]
    return train_sentencepiece(texts, tmp_path_factory.mktemp("sp") / "spiece.model", vocab_size=100)


def test_trained_sentencepiece_has_xlnet_special_ids(spiece):
    tokenizer = load_xlnet_tokenizer(spiece)
    assert tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKEN_IDS)) == list(SPECIAL_TOKEN_IDS.values())
    assert tokenizer.cls_token_id == 3 and tokenizer.sep_token_id == 4 and not tokenizer.do_lower_case
    assert len(tokenizer.sp_model) <= 100


def test_inputs_are_pieces_sep_cls_left_padded(spiece):
    builder = XLNetInputBuilder(load_xlnet_tokenizer(spiece), max_length=64)
    texts = ["Oil prices rose sharply.", "wheat", ""]
    pieces = [builder.pieces(text) for text in texts]
    batch = builder.encode_batch(texts)
    longest = max(len(row) for row in pieces) + 2
    assert batch["input_ids"].shape == (3, longest)  # the batch's longest, not max_length
    for row, text_pieces in enumerate(pieces):
        length, pad = len(text_pieces) + 2, longest - len(text_pieces) - 2
        ids = builder.tokenizer.convert_tokens_to_ids(text_pieces)
        assert batch["input_ids"][row].tolist() == [0] * pad + ids + [4, 3]
        assert batch["attention_mask"][row].tolist() == [0] * pad + [1] * length
        assert batch["token_type_ids"][row].tolist() == [4] * pad + [0] * (length - 1) + [2]
    assert pieces[0][0].startswith("\u2581") and strip_word_start(pieces[0][0]) == pieces[0][0][1:]


def test_inputs_keep_the_first_max_length_minus_two_pieces(spiece):
    tokenizer = load_xlnet_tokenizer(spiece)
    text = " ".join(WORDS)
    builder = XLNetInputBuilder(tokenizer, max_length=7)
    assert builder.pieces(text) == tokenizer.tokenize(text)[:5]
    assert builder.ids(text)[-2:] == [4, 3] and len(builder.ids(text)) == 7


def test_tokenizer_options_come_from_tokenizer_config(spiece, tmp_path):
    assert read_tokenizer_options(tmp_path) == {}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "max_len": 512}))
    options = read_tokenizer_options(tmp_path)
    assert options == {"do_lower_case": True}
    assert load_xlnet_tokenizer(spiece, options).tokenize("OIL") == load_xlnet_tokenizer(spiece).tokenize("oil")


def test_a_sentencepiece_model_without_sep_is_refused(tmp_path):
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter(["oil prices rose"] * 20), model_writer=model,
                                             vocab_size=20, hard_vocab_limit=False, minloglevel=2)
    path = tmp_path / "spiece.model"
    path.write_bytes(model.getvalue())
    with pytest.raises(ModelLoadError, match="<sep>"):
        load_xlnet_tokenizer(path)
