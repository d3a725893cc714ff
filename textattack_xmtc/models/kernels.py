"""Inference kernels: ``linear`` through oneDNN on CPU where it is faster.

PyTorch runs a float32 ``F.linear`` on CPU through MKL, which on AMD
processors takes its AVX2 code path; oneDNN, also inside every PyTorch CPU
build, uses AVX-512 wherever the processor has it. On the 2-core AMD EPYC
(Zen 5) this package is developed on, AttentionXML's MLP layer on an attack
batch ([40 x 90, 128] @ [128, 256]) runs at ~460 GFLOP/s through oneDNN
against ~210 through MKL, with the ReLU fused in. The results are the same
function to within float32 rounding (tests check it against ``F.linear``).

oneDNN costs ~15 us more per call, so small inputs (one text's MLP) keep
``F.linear``; so do training (oneDNN's fused op has no backward), other
devices and dtypes, and any build where ``torch.backends.mkldnn`` is off or
the op is missing or disagrees with ``F.linear`` on a probe.

Usage::

    hidden = linear(context, layer.weight, layer.bias, relu=True)
"""
from __future__ import annotations

import functools
from typing import Optional

import torch
import torch.nn.functional as F

# Below this many rows (all dimensions but the last; one text's MLP has L), oneDNN's fixed
# cost outweighs its speed.
ONEDNN_MIN_ROWS = 256


def linear(inputs: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor] = None,
           relu: bool = False, round_rows: bool = False) -> torch.Tensor:
    """``F.linear(inputs, weight, bias)``, then ReLU if ``relu``; through oneDNN when that is faster.

    ``round_rows`` pads the rows to a :func:`shape_bucket` size for oneDNN, for callers
    whose row counts take thousands of values (a label tree's per-text candidates): the
    padding copy costs 10-20% of the product, so callers with few shapes leave it off.
    """
    if _onednn_applies(inputs, weight):
        rows = inputs.reshape(-1, inputs.shape[-1])
        padded = shape_bucket(rows.shape[0]) if round_rows else rows.shape[0]
        if padded > rows.shape[0]:  # a row's output depends on that row alone
            rows = torch.cat([rows, rows.new_zeros((padded - rows.shape[0], rows.shape[1]))])
        outputs = torch.ops.mkldnn._linear_pointwise(rows.contiguous(), weight, bias,
                                                     "relu" if relu else "none", [None], "")
        return outputs[:inputs.numel() // inputs.shape[-1]].reshape(*inputs.shape[:-1], -1)
    outputs = F.linear(inputs, weight, bias)
    return torch.relu(outputs) if relu else outputs


def shape_bucket(value: int, multiple: int = 1, down: bool = False) -> int:
    """``value`` rounded up (or ``down``) to a multiple of ``multiple`` and of an eighth of its
    power of two: at most 8 sizes per octave, at most 12.5% added (or cut) above 8 * ``multiple``.

    oneDNN compiles and caches a kernel for every input shape it sees (up to 1,024 of
    them), and an attack's batches come in hundreds of shapes: after 150 targets of a
    label tree those kernels held about 70 MB. Rounding shapes keeps them few.

    Usage::

        shape_bucket(300)                # 320
        shape_bucket(70, multiple=8)     # 72
        shape_bucket(300, 8, down=True)  # 288
    """
    step = max(multiple, 1 << max(0, value.bit_length() - 4))
    return value - value % step if down else -(-value // step) * step


def _onednn_applies(inputs: torch.Tensor, weight: torch.Tensor) -> bool:
    return (not torch.is_grad_enabled()
            and inputs.device.type == "cpu" and inputs.dtype == torch.float32 and weight.dtype == torch.float32
            and inputs.numel() >= ONEDNN_MIN_ROWS * inputs.shape[-1] > 0
            and torch.backends.mkldnn.enabled and onednn_linear_works())


@functools.lru_cache(maxsize=None)
def onednn_linear_works() -> bool:
    """Whether this PyTorch build has oneDNN's fused linear and it agrees with ``F.linear``."""
    if not torch.backends.mkldnn.is_available():
        return False
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(ONEDNN_MIN_ROWS, 24, generator=generator)
    weight = torch.randn(40, 24, generator=generator)
    bias = torch.randn(40, generator=generator)
    try:
        with torch.inference_mode():
            fused = torch.ops.mkldnn._linear_pointwise(inputs, weight, bias, "relu", [None], "")
            reference = torch.relu(F.linear(inputs, weight, bias))
    except (RuntimeError, AttributeError, TypeError, NotImplementedError):
        return False
    return fused.shape == reference.shape and bool(torch.allclose(fused, reference, rtol=1e-5, atol=1e-5))
