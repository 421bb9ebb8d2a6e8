"""float32 GELU (the A&S erf polynomial of PyTorch's vectorized kernel, in place) over a wide
range of inputs: against PyTorch, and against the exact erf with no torch."""
import math

import numpy as np
import pytest
from helpers import check_op

import brickwork

SPECIAL = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-5, -1e-5, 5.0, -5.0, 9.5, -9.5, 30.0, -30.0,
                    1e20, -1e20], np.float32)


def _inputs(n=4099):
    x = np.random.default_rng(0).uniform(-12, 12, n).astype(np.float32)
    return np.concatenate([x, SPECIAL])


@pytest.mark.parametrize("shape", [(4113,), (3, 1371)])
def test_gelu_float32_against_torch(shape):
    x = _inputs(int(np.prod(shape)) - SPECIAL.size).reshape(shape)
    check_op(lambda L, t: L.nn.functional.gelu(t), [x], second_order=False)


@pytest.mark.parametrize("grad", [True, False])
def test_gelu_float32_without_grad_and_in_chunks_against_torch(grad):
    # 700K values: chunks of 128K on two threads (the last one short); and the forward alone
    x = _inputs(700_007 - SPECIAL.size).reshape(7, -1)
    check_op(lambda L, t: L.nn.functional.gelu(t), [x], grad=[grad], second_order=False)


def test_gelu_float32_chunks_equal_one_pass(monkeypatch):
    from brickwork.ops import activation_extra

    x = brickwork.tensor(_inputs(600_000), requires_grad=True)
    chunked = brickwork.nn.functional.gelu(x)
    chunked.sum().backward()
    grad, x.grad = x.grad, None
    monkeypatch.setattr(activation_extra, "GELU_CHUNK", 1 << 30)
    whole = brickwork.nn.functional.gelu(x)
    whole.sum().backward()
    np.testing.assert_array_equal(chunked.detach().numpy(), whole.detach().numpy())
    np.testing.assert_array_equal(grad.numpy(), x.grad.numpy())


def test_gelu_float32_against_exact_erf_without_torch():
    x = _inputs()
    xb = brickwork.tensor(x, requires_grad=True)
    y = brickwork.nn.functional.gelu(xb)
    y.sum().backward()
    xd = x.astype(np.float64)
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in xd])
    want = xd * cdf
    want_grad = cdf + xd * np.exp(-0.5 * xd * xd) / math.sqrt(2 * math.pi)
    assert y.dtype == brickwork.float32
    # the polynomial's 1.5e-7 in erf, times |x|, plus float32 rounding
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=2e-6, atol=2e-7 * 12)
    np.testing.assert_allclose(xb.grad.numpy(), want_grad, rtol=2e-6, atol=3e-6)


def test_gelu_float16_stays_float16():
    x = brickwork.tensor(np.clip(_inputs(61), -6e4, 6e4).astype(np.float16))
    y = brickwork.nn.functional.gelu(x)
    assert y.dtype == brickwork.float16
    np.testing.assert_allclose(y.numpy().astype(np.float64),
                               brickwork.nn.functional.gelu(x.float()).numpy(), rtol=1e-3,
                               atol=1e-3)
