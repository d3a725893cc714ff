"""The AttentionXML network against a hand-written reference, and its state-dict checks."""
import pytest
import torch

from textattack_xmtc.models.attentionxml import (
    AttentionXMLConfig,
    AttentionXMLNetwork,
    CheckpointError,
    config_from_state_dict,
    expected_shapes,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_network(layers_num=1, seed=0, vocab_size=23, emb_size=6, hidden_size=5, linear_size=(7, 4), labels_num=3):
    """A tiny network with every parameter random, the initial state included (a zero state would hide bugs)."""
    torch.manual_seed(seed)
    config = AttentionXMLConfig(vocab_size=vocab_size, emb_size=emb_size, hidden_size=hidden_size,
                                layers_num=layers_num, linear_size=list(linear_size), labels_num=labels_num)
    network = AttentionXMLNetwork(config)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.normal_(0.0, 0.5)
    return network.eval()


# ----------------------------------------------------------------- reference


def reference_lstm_direction(inputs, w_ih, w_hh, b_ih, b_hh, h, c):
    """One LSTM direction, step by step (PyTorch gate order i, f, g, o)."""
    outputs = []
    for x in inputs:
        gates = w_ih @ x + b_ih + w_hh @ h + b_hh
        i, f, g, o = gates.chunk(4)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def reference_logits(state, ids, layers_num):
    """AttentionXML on ONE unpadded sequence, from the raw state dict, independent of the network class."""
    x = state["emb.emb.weight"][torch.tensor(ids)]
    init = state["lstm.init_state"][:, 0, :]
    half = init.shape[0] // 2
    c0, h0 = init[:half], init[half:]  # first half c0, second half h0; fwd then bwd per layer
    for layer in range(layers_num):
        directions = []
        for direction, suffix in enumerate(["", "_reverse"]):
            k = 2 * layer + direction
            weights = [state[f"lstm.lstm.{name}_l{layer}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            sequence = x if direction == 0 else x.flip(0)
            out = reference_lstm_direction(sequence, *weights, h0[k], c0[k])
            directions.append(out if direction == 0 else out.flip(0))
        x = torch.cat(directions, dim=1)  # [T, 2h]
    attention = torch.softmax(x @ state["attention.attention.weight"].T, dim=0)  # over positions, [T, L]
    context = attention.T @ x  # [L, 2h]
    index = 0
    while f"linear.linear.{index}.weight" in state:
        context = torch.relu(context @ state[f"linear.linear.{index}.weight"].T + state[f"linear.linear.{index}.bias"])
        index += 1
    return (context @ state["linear.output.weight"].T + state["linear.output.bias"]).squeeze(-1)


SEQUENCES = [[3, 4, 5, 6, 7, 8, 9], [10, 11, 12], [13], [14, 15, 2, 2, 16]]


def padded(sequences):
    longest = max(map(len, sequences))
    return torch.tensor([s + [0] * (longest - len(s)) for s in sequences])


@pytest.mark.parametrize("layers_num", [1, 2])
@pytest.mark.parametrize("packed", [False, True])
def test_network_matches_hand_written_reference_on_mixed_lengths(layers_num, packed):
    network = make_network(layers_num)
    network.lstm.packed = packed
    state = {key: value.detach().clone() for key, value in network.state_dict().items()}
    with torch.no_grad():
        logits = network(padded(SEQUENCES))
        expected = torch.stack([reference_logits(state, ids, layers_num) for ids in SEQUENCES])
    assert logits.shape == (len(SEQUENCES), 3)
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)


def test_reference_is_sensitive_to_padding_and_initial_state():
    """Guards the guard: without packing/masking or with a zero state the numbers differ."""
    network = make_network()
    state = {key: value.detach().clone() for key, value in network.state_dict().items()}
    short = reference_logits(state, [10, 11, 12], 1)
    assert (short - reference_logits(state, [10, 11, 12, 0, 0, 0], 1)).abs().max() > 1e-3
    zero_state = dict(state, **{"lstm.init_state": torch.zeros_like(state["lstm.init_state"])})
    assert (short - reference_logits(zero_state, [10, 11, 12], 1)).abs().max() > 1e-3


def test_mixed_length_batch_equals_one_text_at_a_time():
    network = make_network(layers_num=2, seed=4)
    with torch.no_grad():
        batch = network(padded(SEQUENCES))
        single = torch.cat([network(torch.tensor([ids])) for ids in SEQUENCES])
        extra_padding = network(torch.nn.functional.pad(padded(SEQUENCES), (0, 9)))
    torch.testing.assert_close(batch, single, atol=1e-6, rtol=0)
    torch.testing.assert_close(batch, extra_padding, atol=1e-6, rtol=0)


def test_gradients_flow_through_the_unpacked_path_like_the_packed_one():
    network = make_network(seed=7).train()
    network.emb.dropout.p = network.lstm.dropout.p = 0.0
    grads = []
    for packed in (False, True):
        network.zero_grad()
        network.lstm.packed = packed
        network(padded(SEQUENCES)).sum().backward()
        grads.append({name: p.grad.clone() for name, p in network.named_parameters()})
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-5, rtol=1e-4, msg=name)


def test_dropout_is_off_in_eval_mode_only():
    network = make_network()
    ids = padded(SEQUENCES)
    with torch.no_grad():
        torch.testing.assert_close(network(ids), network(ids))
        network.train()
        torch.manual_seed(1)
        first = network(ids)
        assert not torch.allclose(first, network(ids))


def test_all_padding_row_is_refused():
    with pytest.raises(ValueError, match="non-padding"):
        make_network()(torch.tensor([[3, 4], [0, 0]]))


def test_state_dict_keys_and_shapes_are_the_original_ones():
    network = make_network(layers_num=2)
    shapes = {key: tuple(value.shape) for key, value in network.state_dict().items()}
    h = 5
    assert shapes == {
        "emb.emb.weight": (23, 6),
        "lstm.init_state": (8, 1, h),
        **{f"lstm.lstm.{n}_l{layer}{s}": shape
           for layer, in_size in ((0, 6), (1, 2 * h)) for s in ("", "_reverse")
           for n, shape in (("weight_ih", (4 * h, in_size)), ("weight_hh", (4 * h, h)),
                            ("bias_ih", (4 * h,)), ("bias_hh", (4 * h,)))},
        "attention.attention.weight": (3, 2 * h),
        "linear.linear.0.weight": (7, 2 * h), "linear.linear.0.bias": (7,),
        "linear.linear.1.weight": (4, 7), "linear.linear.1.bias": (4,),
        "linear.output.weight": (1, 4), "linear.output.bias": (1,),
    }
    assert shapes == expected_shapes(network.config)


def test_config_is_read_off_the_shapes():
    network = make_network(layers_num=2, vocab_size=31, emb_size=8, hidden_size=6, linear_size=(9,), labels_num=4)
    config = config_from_state_dict(network.state_dict())
    assert (config.vocab_size, config.emb_size, config.hidden_size, config.layers_num, config.linear_size,
            config.labels_num) == (31, 8, 6, 2, [9], 4)


def test_bad_shape_error_names_file_key_and_shapes():
    state = make_network().state_dict()
    state["linear.linear.1.weight"] = torch.zeros(4, 8)
    with pytest.raises(CheckpointError) as error:
        config_from_state_dict(state, source="models/AttentionXML-Bad")
    message = str(error.value)
    assert "models/AttentionXML-Bad" in message and "linear.linear.1.weight" in message
    assert "[4, 7]" in message and "[4, 8]" in message


def test_missing_and_unexpected_keys_are_named():
    state = make_network().state_dict()
    del state["lstm.lstm.bias_hh_l0_reverse"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"ckpt.*bias_hh_l0_reverse.*extra\.weight"):
        config_from_state_dict(state, source="ckpt")
    with pytest.raises(CheckpointError, match="attention.attention.weight"):
        config_from_state_dict({"emb.emb.weight": torch.zeros(3, 2), "lstm.init_state": torch.zeros(4, 1, 2)}, "f")


def test_load_checked_state_dict_is_strict():
    source, target = make_network(seed=1), make_network(seed=2)
    target.load_checked_state_dict(source.state_dict(), source="x")
    ids = padded(SEQUENCES)
    with torch.no_grad():
        torch.testing.assert_close(source(ids), target(ids))
    wrong = make_network(labels_num=5)
    with pytest.raises(CheckpointError, match=r"x: .*attention\.attention\.weight: expected shape \[3, 10\], found \[5, 10\]"):
        target.load_checked_state_dict(wrong.state_dict(), source="x")


# ----------------------------------------------------------------- rows sharing a prefix and a suffix


def attack_like_batches(generator, vocab_size=23):
    """Batches like an attack's: one document with one word swapped per row, or a word dropped/added."""
    document = torch.randint(2, vocab_size, (40,), generator=generator).tolist()
    swaps = [document[:9] + [candidate] + document[10:] for candidate in range(2, 14)]
    unk_at_each = [document[:i] + [1] + document[i + 1:] for i in range(6, 16)]
    lengths_differ = [document[:20] + document[21:], document[:20] + [5, 6] + document[21:], document]
    identical = [document, document]
    near_the_start = [[candidate] + document[1:] for candidate in range(2, 6)]
    return [swaps, unk_at_each, lengths_differ, identical, near_the_start]


@pytest.mark.parametrize("case", range(5))
def test_shared_prefix_and_suffix_give_the_same_scores(case):
    network = make_network(seed=11)
    batch = attack_like_batches(torch.Generator().manual_seed(case))[case]
    calls = []
    original = network.lstm._shared_context
    network.lstm._shared_context = lambda *args: calls.append(args[-2:]) or original(*args)
    with torch.no_grad():
        shared = network(padded(batch))
        network.lstm.packed = True  # the reference path never shares
        reference = network(padded(batch))
    assert calls, "the shared path was not taken"
    prefix, suffix = calls[0]
    assert prefix + suffix >= 20  # most of each row is shared
    torch.testing.assert_close(shared, reference, atol=1e-5, rtol=0)
    single = torch.cat([network(torch.tensor([ids])) for ids in batch])
    torch.testing.assert_close(shared, single, atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", range(5))
def test_scores_of_chosen_labels_equal_those_columns_of_all_scores(case):
    network = make_network(seed=13, labels_num=6)
    batch = padded(attack_like_batches(torch.Generator().manual_seed(case))[case])
    with torch.no_grad():
        everything = network(batch)
        for labels in ([4], [0, 5], [3, 3, 1]):
            chosen = network(batch, labels=torch.tensor(labels))
            assert chosen.shape == (len(batch), len(labels))
            torch.testing.assert_close(chosen, everything[:, labels], atol=1e-6, rtol=0)
    with torch.no_grad():
        mixed = padded(SEQUENCES)
        torch.testing.assert_close(network(mixed, labels=torch.tensor([2])), network(mixed)[:, [2]],
                                   atol=1e-6, rtol=0)


def test_unrelated_rows_and_deeper_networks_do_not_share():
    for network, batch in ((make_network(seed=3), SEQUENCES),
                           (make_network(layers_num=2, seed=3),
                            attack_like_batches(torch.Generator().manual_seed(0))[0])):
        network.lstm._shared_context = lambda *args: pytest.fail("shared path taken")
        with torch.no_grad():
            network(padded(batch))


def test_shared_path_runs_only_shapes_that_are_multiples(monkeypatch):
    """oneDNN builds a kernel per shape: rows and steps are rounded so that few shapes occur."""
    import textattack_xmtc.models.attentionxml as module

    network = make_network(seed=5)
    multiple = network.lstm.shape_multiple
    shapes = []
    original = module._lstm_direction
    monkeypatch.setattr(module, "_lstm_direction",
                        lambda inputs, *rest: shapes.append(tuple(inputs.shape[:2])) or original(inputs, *rest))
    with torch.no_grad():
        for batch in attack_like_batches(torch.Generator().manual_seed(3)):
            network(padded(batch))
    assert shapes
    heads = [steps for rows, steps in shapes if rows == 1]
    rests = [(rows, steps) for rows, steps in shapes if rows > 1]
    assert all(steps % multiple == 0 for steps in heads)
    assert rests and all(rows % multiple == 0 and steps % multiple == 0 for rows, steps in rests)


def test_inference_never_takes_the_slow_packed_kernel_unless_asked():
    network = make_network(seed=6)
    network.lstm._packed = lambda *args: pytest.fail("packed path taken")
    with torch.no_grad():
        network(padded(SEQUENCES))  # mixed lengths: no shared prefix
        network(torch.tensor([SEQUENCES[0]]))


def test_per_text_candidates_attended_in_chunks_give_the_same_logits(monkeypatch):
    """A tree level's candidate lists are split into chunks (bounded memory); the logits do not change."""
    import textattack_xmtc.models.attentionxml as module

    network = make_network(labels_num=40, seed=3).eval()
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(2, 23, (4, 9), generator=generator)
    candidates = torch.randint(0, 40, (4, 11), generator=generator)
    with torch.no_grad():
        whole = network(ids, candidates)
        monkeypatch.setattr(module, "CANDIDATE_CHUNK", 3)  # 11 candidates -> chunks of 3, 3, 3, 2
        chunked = network(ids, candidates)
    assert chunked.shape == (4, 11)
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=0)


def test_all_labels_attended_in_chunks_give_the_same_logits(monkeypatch):
    import textattack_xmtc.models.attentionxml as module

    network = make_network(labels_num=10, seed=4).eval()
    ids = torch.randint(2, 23, (3, 7), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = network(ids)
        monkeypatch.setattr(module, "CANDIDATE_CHUNK", 4)  # 10 labels -> 4, 4, 2
        chunked = network(ids)
        asked = network(ids, torch.tensor([9, 0, 3, 3, 7]))  # a shared label list, chunked too
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=0)
    torch.testing.assert_close(asked, whole[:, [9, 0, 3, 3, 7]], atol=1e-6, rtol=0)
