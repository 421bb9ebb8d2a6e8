"""Printing complex and bfloat16 tensors: ``repr`` must equal PyTorch's, character for
character (with ``brickwork.`` for ``torch.`` in dtype names)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork

torch = pytest.importorskip("torch")

INF, NAN = math.inf, math.nan
CASES = {
    "scalar": ([1 + 2j], ()),
    "scalar_neg_imag": ([1.5 - 2.25j], ()),
    "vector": ([1 + 2j, -3.5 - 1j, 0.25j], None),
    "integer_valued": ([1 + 2j, 3 - 4j, -5 + 0j], None),
    "zeros": ([0j, 0j], None),
    "negative_zero_imag": ([complex(1.0, -0.0), complex(-0.0, 0.0)], None),
    "matrix": ([[1 + 2j, 3.25 - 1j], [-0.5 + 0.125j, 7 + 8j]], None),
    "large": ([1e10 + 1j, 2 + 3e-6j], None),
    "small": ([1e-5 + 2e-6j, 3e-7 - 1j], None),
    "mixed_scale_real_only": ([1e5 + 1j, 1 + 2j], None),
    "inf_nan": ([complex(INF, 1), complex(NAN, -INF), complex(1, NAN)], None),
    "3d": (np.arange(24).reshape(2, 3, 4) * (0.5 + 0.25j), None),
    "long_vector": (np.arange(40) * (1.5 - 0.5j), None),
    "summarised": (np.arange(2000) * (1 + 1j), None),
    "empty": (np.zeros((0,), np.complex64), None),
    "empty_2d": (np.zeros((0, 3), np.complex128), None),
}


def _make(lib, values, dtype):
    arr = np.array(values)
    return lib.tensor(arr, dtype=getattr(lib, dtype))


def _same_repr(b, t):
    want = repr(t).replace("torch.", "brickwork.")
    assert repr(b) == want, f"\nbrickwork:\n{b!r}\ntorch:\n{want}"


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("name", list(CASES))
def test_complex_repr_matches_torch(name, dtype):
    values, shape = CASES[name]
    b, t = _make(brickwork, values, dtype), _make(torch, values, dtype)
    if shape is not None:
        b, t = b.reshape(shape), t.reshape(shape)
    _same_repr(b, t)


def test_complex_repr_with_grad_and_default_double():
    b = brickwork.tensor([1 + 1j, 2 - 0.5j], requires_grad=True)
    t = torch.tensor([1 + 1j, 2 - 0.5j], requires_grad=True)
    _same_repr(b, t)
    _same_repr(b * 2, t * 2)
    old_b, old_t = brickwork.get_default_dtype(), torch.get_default_dtype()
    brickwork.set_default_dtype(brickwork.float64)
    torch.set_default_dtype(torch.float64)
    try:  # complex128 is then the default complex dtype: no dtype= suffix
        _same_repr(brickwork.tensor([1 + 1j]), torch.tensor([1 + 1j]))
        _same_repr(brickwork.tensor([1 + 1j], dtype=brickwork.complex64),
                   torch.tensor([1 + 1j], dtype=torch.complex64))
    finally:
        brickwork.set_default_dtype(old_b)
        torch.set_default_dtype(old_t)


def test_complex_repr_print_options():
    values = [1.123456 + 2.5j, -3e-5 + 1j]
    for opts in ({"precision": 2}, {"sci_mode": False}, {"sci_mode": True}, {"linewidth": 30}):
        with brickwork.printoptions(**opts), _torch_printoptions(**opts):
            _same_repr(brickwork.tensor(values * 4), torch.tensor(values * 4))


class _torch_printoptions:
    def __init__(self, **kw):
        self.kw = kw

    def __enter__(self):
        torch.set_printoptions(**self.kw)

    def __exit__(self, *exc):
        torch.set_printoptions(profile="default")


BF16_CASES = {
    "scalar": (3.14159, ()),
    "vector": ([1.0, 2.5, -3.25, 1e-3], None),
    "integer_valued": ([1.0, 2.0, -300.0], None),
    "large": ([1e20, 1.0], None),
    "small": ([1e-6, 2e-7], None),
    "inf_nan": ([INF, -INF, NAN, 1.5], None),
    "matrix": ([[0.1, 0.2], [0.3, 0.4]], None),
    "long": (np.linspace(-5, 5, 50), None),
    "summarised": (np.linspace(0, 1, 1500), None),
    "empty": (np.zeros((0,)), None),
}


@pytest.mark.parametrize("name", list(BF16_CASES))
def test_bfloat16_repr_matches_torch(name):
    values, shape = BF16_CASES[name]
    b = brickwork.tensor(np.array(values, np.float32)).to(brickwork.bfloat16)
    t = torch.tensor(np.array(values, np.float32)).to(torch.bfloat16)
    if shape is not None:
        b, t = b.reshape(shape), t.reshape(shape)
    _same_repr(b, t)


def test_complex_repr_without_torch_reference():
    # A NumPy-free expectation that runs the formatter end to end.
    z = brickwork.tensor([1 + 2j, -3.5 - 1j])
    assert repr(z) == "tensor([ 1.0000+2.j, -3.5000-1.j])"
    assert repr(brickwork.tensor(2j, dtype=brickwork.complex128)) == \
        "tensor(0.+2.j, dtype=brickwork.complex128)"
