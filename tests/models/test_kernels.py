"""``kernels.linear``: oneDNN where it applies, ``F.linear`` everywhere else, the same numbers."""
import contextlib

import pytest
import torch
import torch.nn.functional as F

from textattack_xmtc.models import kernels
from textattack_xmtc.models.attentionxml import AttentionXMLConfig, AttentionXMLNetwork

pytestmark = pytest.mark.usefixtures("one_torch_thread")

needs_onednn = pytest.mark.skipif(not kernels.onednn_linear_works(),
                                  reason="this PyTorch build has no working oneDNN fused linear")


@contextlib.contextmanager
def onednn_switched_off():
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


def _inputs(rows, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(rows, 3, 32, generator=generator), torch.randn(48, 32, generator=generator),
            torch.randn(48, generator=generator))


def spy_on_onednn(monkeypatch, record):
    """From now on, ``record(args)`` sees the arguments of every call that reaches oneDNN's fused linear."""
    fused = torch.ops.mkldnn._linear_pointwise

    class Spy:
        @staticmethod
        def _linear_pointwise(*args):
            record(args)
            return fused(*args)

    monkeypatch.setattr(kernels.torch.ops, "mkldnn", Spy)


@pytest.fixture
def onednn_calls(monkeypatch):
    """Counts the calls that reach oneDNN's fused linear (their activation: "relu" or "none")."""
    calls = []
    spy_on_onednn(monkeypatch, lambda args: calls.append(args[3]))
    return calls


@needs_onednn
@pytest.mark.parametrize("relu", [False, True])
def test_large_inference_inputs_go_through_onednn_with_the_same_numbers(relu, onednn_calls):
    inputs, weight, bias = _inputs(kernels.ONEDNN_MIN_ROWS)
    with torch.inference_mode():
        got = kernels.linear(inputs, weight, bias, relu=relu)
    expected = F.linear(inputs, weight, bias)
    expected = torch.relu(expected) if relu else expected
    assert onednn_calls == ["relu" if relu else "none"]
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("multiple", [1, 8])
def test_shapes_are_rounded_to_few_sizes_never_less_and_at_most_an_eighth_more(multiple):
    values = range(1, 5000)
    up = [kernels.shape_bucket(value, multiple) for value in values]
    down = [kernels.shape_bucket(value, multiple, down=True) for value in values]
    assert all(value <= bucket and bucket % multiple == 0 for value, bucket in zip(values, up))
    assert all(bucket <= value and bucket % multiple == 0 for value, bucket in zip(values, down))
    assert all(bucket <= value * 1.125 for value, bucket in zip(values, up) if value >= 8 * multiple)
    assert all(bucket >= value * 0.875 for value, bucket in zip(values, down) if value >= 8 * multiple)
    assert len(set(up)) < 110 and set(down) - {0} <= set(up)  # 5,000 values, about 8 sizes per octave


@needs_onednn
def test_odd_row_counts_reach_onednn_rounded_and_come_back_unpadded(monkeypatch):
    rows_seen = []
    spy_on_onednn(monkeypatch, lambda args: rows_seen.append(args[0].shape[0]))
    inputs, weight, bias = _inputs(kernels.ONEDNN_MIN_ROWS + 1)  # [257, 3, 32]: 771 rows
    with torch.inference_mode():
        got = kernels.linear(inputs, weight, bias, relu=True, round_rows=True)
        kernels.linear(inputs, weight, bias, relu=True)  # not asked: no padding copy
    assert rows_seen == [kernels.shape_bucket(771), 771] and rows_seen[0] > 771
    assert got.shape == (257, 3, 48)
    torch.testing.assert_close(got, torch.relu(F.linear(inputs, weight, bias)), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_a_transposed_input_is_read_as_its_values(onednn_calls):
    inputs, weight, bias = _inputs(kernels.ONEDNN_MIN_ROWS)
    transposed = inputs.transpose(0, 1)  # not contiguous
    with torch.inference_mode():
        got = kernels.linear(transposed, weight, bias)
    assert onednn_calls
    torch.testing.assert_close(got, F.linear(transposed, weight, bias), rtol=1e-5, atol=1e-5)


def test_small_inputs_training_and_disabled_onednn_keep_f_linear(onednn_calls):
    inputs, weight, bias = _inputs(kernels.ONEDNN_MIN_ROWS)
    small = inputs[:2]
    with torch.inference_mode():
        kernels.linear(small, weight, bias)
    weight.requires_grad_(True)
    trained = kernels.linear(inputs, weight, bias, relu=True)  # gradients on: oneDNN's op has no backward
    trained.sum().backward()
    assert weight.grad is not None and weight.grad.abs().sum() > 0
    with onednn_switched_off(), torch.inference_mode():
        kernels.linear(inputs, weight, bias)
    assert onednn_calls == []


def test_a_broken_onednn_op_is_never_used(monkeypatch):
    class Broken:
        @staticmethod
        def _linear_pointwise(*args):
            raise RuntimeError("no such kernel")

    kernels.onednn_linear_works.cache_clear()
    monkeypatch.setattr(kernels.torch.ops, "mkldnn", Broken)
    try:
        assert kernels.onednn_linear_works() is False
        inputs, weight, bias = _inputs(kernels.ONEDNN_MIN_ROWS)
        with torch.inference_mode():
            torch.testing.assert_close(kernels.linear(inputs, weight, bias), F.linear(inputs, weight, bias))
    finally:
        kernels.onednn_linear_works.cache_clear()


@needs_onednn
def test_attentionxml_scores_are_the_same_with_and_without_onednn(onednn_calls):
    torch.manual_seed(0)
    config = AttentionXMLConfig(vocab_size=50, emb_size=8, hidden_size=6, layers_num=1, linear_size=[16],
                                labels_num=20)
    network = AttentionXMLNetwork(config).eval()
    ids = torch.randint(2, 50, (30, 40))  # 30 x 20 label rows and 30 x 40 positions: past the threshold
    with torch.inference_mode():
        fast = network(ids)
        with onednn_switched_off():
            reference = network(ids)
    assert len(onednn_calls) >= 2
    torch.testing.assert_close(fast, reference, rtol=1e-5, atol=1e-5)


@needs_onednn
def test_only_label_subsets_have_their_rows_rounded(monkeypatch):
    """A tree level's candidates give thousands of row counts (one oneDNN kernel each): rounded;
    a small flat network's rows are few, and the padding copy would cost 10-20%: left alone."""
    rows_seen = []
    torch.manual_seed(0)
    config = AttentionXMLConfig(vocab_size=50, emb_size=8, hidden_size=6, layers_num=1, linear_size=[16],
                                labels_num=40)
    network = AttentionXMLNetwork(config).eval()
    ids = torch.randint(2, 50, (13, 20))
    candidates = torch.randint(0, 40, (13, 23))  # 299 rows
    with torch.inference_mode():
        reference = network(ids, candidates)
        spy_on_onednn(monkeypatch, lambda args: rows_seen.append(args[0].shape[0]))
        per_text = network(ids, candidates)
        flat = network(ids)  # 13 x 40 = 520 rows
        network(ids, torch.arange(40))  # all labels asked for (as a wide network's chunks are): rounded
        network(ids, torch.tensor([7]))  # one label (word ranking): not rounded
    # the per-text path's MLP (two layers), then the flat path: its attention (13 x 20 positions) and
    # MLP, then the asked-for labels: attention and MLP rounded
    assert rows_seen == ([kernels.shape_bucket(299)] * 2 + [260] + [520] * 2
                         + [kernels.shape_bucket(260)] + [kernels.shape_bucket(520)] * 2 + [260])
    assert kernels.shape_bucket(299) > 299 and kernels.shape_bucket(260) > 260
    torch.testing.assert_close(per_text, reference, rtol=0, atol=0)
    assert flat.shape == (13, 40)
