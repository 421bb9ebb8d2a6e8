"""The graph-recording array layer (``autograd/_lifted.py``) on its own: each NumPy function,
method and operator that op code may call on a ``Lifted`` value gives NumPy's result, and a
gradient that finite differences confirm (so the backward code that calls it differentiates
correctly), on the CPU and on the simulated GPU.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import brickwork
import simcuda
from brickwork.autograd import gradcheck
from brickwork.autograd._lifted import Lifted, namespace_for
from brickwork.device import on_device


@contextlib.contextmanager
def _on(device: str):
    """The device to test on, current as the engine makes it while a backward runs."""
    if device == "simcuda":
        with simcuda.installed(), on_device(brickwork.device("cuda:1")):
            yield "cuda:1"  # not the default GPU: every array the layer makes must follow
    else:
        yield "cpu"


def _add_at(a):
    xp = namespace_for(a) if isinstance(a, Lifted) else np
    out = xp.zeros((4, 3), dtype=a.dtype)
    xp.add.at(out, (xp.asarray([0, 3, 0]),), a[:, :3])
    return out


def _setitem(a):
    out = a * 1.0
    out[1, ::2] = a[0, :2] * 3
    return out


# (name, fn(a)): ``a`` is a (3, 4) float64 array, or a Lifted holding the same values.
RECORDED = [
    ("take", lambda a: np.take(a, [2, 0, 2], axis=1)),
    ("take_flat", lambda a: np.take(a, [5, 1, 5])),
    ("take_method", lambda a: a.take(1, axis=0)),
    ("delete", lambda a: np.delete(a, -1, axis=0)),
    ("repeat", lambda a: np.repeat(a, 2, axis=1)),
    ("diagonal", lambda a: np.diagonal(a, 1)),
    ("diagonal_method", lambda a: a.diagonal(-1)),
    ("sort", lambda a: np.sort(a, axis=1)),
    ("cumprod", lambda a: np.cumprod(a, axis=0)),
    ("cumprod_method", lambda a: a.cumprod()),
    ("roll", lambda a: np.roll(a, 2, axis=1)),
    ("roll_flat", lambda a: np.roll(a, -3)),
    ("tile", lambda a: np.tile(a, (2, 1))),
    ("tril", lambda a: np.tril(a, -1)),
    ("triu", lambda a: np.triu(a, 1)),
    ("diag", lambda a: np.diag(a[0], 1)),
    ("outer", lambda a: np.outer(a[0], a[1, :2])),
    ("ufunc_outer", lambda a: np.multiply.outer(a[0], a[1, :2])),
    ("var", lambda a: a.var(axis=1, ddof=1)),
    ("std", lambda a: np.std(a, axis=0)),
    ("maximum_bound", lambda a: np.maximum(a, 0.1) + np.minimum(0.2, a)),
    ("maximum_two", lambda a: np.maximum(a[0], a[1])),
    ("getitem_mixed", lambda a: a[[0, 2], 1:]),
    ("setitem", _setitem),
    ("add_at", _add_at),
    ("where", lambda a: np.where(a > 0, a * a, 1.0)),
    ("reductions", lambda a: a.sum(axis=(0, 1)) + a.max(axis=1, keepdims=True) * a.prod()),
    ("broadcast_expand", lambda a: np.broadcast_to(np.expand_dims(a, 1), (3, 2, 4))),
]
PLAIN = [
    ("argmax", lambda a: np.argmax(a, axis=1)),
    ("argsort_method", lambda a: a.argsort(axis=0)),
    ("round", lambda a: np.round(a, 1)),
    ("sign", lambda a: np.sign(a)),
    ("compare", lambda a: a >= 0.5),
    ("nonzero", lambda a: np.nonzero(a > 0)[1]),
]


def _data():
    # Distinct values away from 0.1/0.2 ties and sort swaps: finite differences stay smooth.
    return np.random.default_rng(0).permutation(np.linspace(-1.05, 1.15, 12)).reshape(3, 4)


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
@pytest.mark.parametrize("name,fn", RECORDED, ids=[c[0] for c in RECORDED])
def test_recorded_functions_match_numpy_and_finite_differences(name, fn, device):
    a = _data()
    with _on(device) as dev:
        x = brickwork.tensor(a, requires_grad=True, device=dev)
        out = fn(Lifted(x))
        assert isinstance(out, Lifted), f"{name}: got {type(out).__name__}"
        assert out.t.device == x.device
        np.testing.assert_allclose(out.t._host(), fn(a.copy()), rtol=1e-12, err_msg=name)
        assert out.t.requires_grad, name
        assert gradcheck(lambda t: fn(Lifted(t)).t, (x,))


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
@pytest.mark.parametrize("name,fn", PLAIN, ids=[c[0] for c in PLAIN])
def test_index_and_mask_results_are_plain_arrays(name, fn, device):
    a = _data()
    with _on(device) as dev:
        x = brickwork.tensor(a, requires_grad=True, device=dev)
        out = fn(Lifted(x))
        assert not isinstance(out, Lifted), name
        host = out.get() if hasattr(out, "get") else out
        np.testing.assert_array_equal(host, fn(a))


def test_a_recorded_value_refuses_to_become_a_plain_array():
    x = Lifted(brickwork.ones(3, requires_grad=True))
    with pytest.raises(TypeError, match="cannot become a plain array"):
        np.asarray(x)
    np.testing.assert_array_equal(np.asarray(Lifted(brickwork.ones(3))), np.ones(3))


def test_unknown_numpy_function_says_so():
    x = Lifted(brickwork.ones(3, requires_grad=True))
    with pytest.raises(NotImplementedError, match="numpy.fft.fft|numpy.fft"):
        np.fft.fft(x)
