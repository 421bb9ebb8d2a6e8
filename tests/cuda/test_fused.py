"""Fused element-wise ops (``brickwork.cuda.elementwise``) on the GPU backends, and the examples.

On the simulated backend the kernel bodies run through its CUDA C translator, so these tests
check the formulas in the bodies against the composed ops; on a real GPU CuPy compiles them.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import brickwork
from brickwork import kernels
from brickwork.device import device_of_array

_EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "fused_layers.py")
_spec = importlib.util.spec_from_file_location("fused_layers", _EXAMPLE)
fused_layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fused_layers)

fma = brickwork.cuda.elementwise("fused_mul_add", "y = a * b + c",
                                 "ga = gy * b; gb = gy * a; gc = gy", inputs=("a", "b", "c"))


def dev_of(gpu) -> str:
    return f"cuda:{gpu.count - 1}"


def close(a, b, tol=1e-6):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=tol,
                               atol=tol)


@pytest.mark.parametrize("dtype", [brickwork.float32, brickwork.float64])
def test_swish_matches_the_composed_op(gpu, dtype):
    dev = dev_of(gpu)
    x = brickwork.randn(1000, dtype=dtype, device=dev, requires_grad=True)
    ref = x.detach().clone().requires_grad_()
    y = fused_layers.swish(x)
    assert y.dtype == dtype and device_of_array(y._data) == brickwork.device(dev)
    assert y.grad_fn.name() == "SwishBackward0"
    y_ref = ref * brickwork.sigmoid(ref)
    close(y, y_ref)
    y.sum().backward()
    y_ref.sum().backward()
    assert device_of_array(x.grad._data) == brickwork.device(dev)
    close(x.grad, ref.grad)


def test_gradcheck_on_the_gpu(gpu):
    x = brickwork.randn(3, 4, dtype=brickwork.float64, device=dev_of(gpu), requires_grad=True)
    assert brickwork.autograd.gradcheck(fused_layers.swish, (x,))
    a, b = (brickwork.randn(2, 3, dtype=brickwork.float64, device=dev_of(gpu),
                            requires_grad=True) for _ in range(2))
    assert brickwork.autograd.gradcheck(fused_layers.bias_relu, (a, b))


def test_broadcast_inputs_get_gradients_of_their_own_shape(gpu):
    dev = dev_of(gpu)
    a = brickwork.randn(2, 3, device=dev, requires_grad=True)
    b = brickwork.randn(3, device=dev, requires_grad=True)
    c = brickwork.randn(2, 1, device=dev, requires_grad=True)
    fma(a, b, c).sum().backward()
    assert b.grad.shape == (3,) and c.grad.shape == (2, 1)
    close(b.grad, a.detach().sum(0))
    close(c.grad, brickwork.full((2, 1), 3.0))


def test_kernels_are_built_once(gpu):
    x = brickwork.randn(8, device="cuda", requires_grad=True)
    for _ in range(3):
        fused_layers.swish(x).sum().backward()
    mine = [k for k in kernels._KERNELS if k[0] == "swish"]
    assert len(mine) == 2  # one forward, one backward
    assert fused_layers.swish.forward_kernel() is fused_layers.swish.forward_kernel()


def test_fused_chapter_layers_match_the_composed_ones(gpu):
    dev = dev_of(gpu)
    plain = fused_layers.MyLinear(5, 3).to(dev)
    fused = fused_layers.FusedMyLinear(5, 3).to(dev)
    fused.load_state_dict(plain.state_dict())
    X = brickwork.randn(4, 5, device=dev, requires_grad=True)
    X2 = X.detach().clone().requires_grad_()
    close(fused(X), plain(X2))
    fused(X).pow(2).sum().backward()
    plain(X2).pow(2).sum().backward()
    close(X.grad, X2.grad)
    X.grad = X2.grad = None
    close(fused_layers.FusedCenteredLayer()(X), fused_layers.CenteredLayer()(X2))
    (fused_layers.FusedCenteredLayer()(X) ** 3).sum().backward()
    (fused_layers.CenteredLayer()(X2) ** 3).sum().backward()
    close(X.grad, X2.grad, 1e-5)


def test_the_example_runs_on_the_gpu(gpu, capsys):
    fused_layers.run(dev_of(gpu))
    out = capsys.readouterr().out
    assert "fused MyLinear matches: True | fused CenteredLayer matches: True" in out
    assert "matches x*sigmoid(x): True" in out and "gradient matches: True" in out
    assert f"device='{dev_of(gpu)}'" in out
