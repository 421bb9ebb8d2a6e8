"""The package's private numerics (stop-gaps until brickwork.special / brickwork.linalg have
them): lgamma, digamma, trigamma, erfinv, cholesky and triangular solves."""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork
from brickwork.autograd import gradcheck
from brickwork.distributions import _linalg, _special

X = np.concatenate([np.linspace(-6.5, 40.0, 997), [1e-6, 0.5, 1.0, 2.0, 1e4, -0.5, -2.5]])


def test_lgamma_against_math():
    got = _special.lgamma(brickwork.tensor(X))._host()
    want = np.array([math.lgamma(v) for v in X])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    poles = _special.lgamma(brickwork.tensor([0.0, -1.0, -3.0]))._host()
    assert np.isinf(poles).all() and (poles > 0).all()


def test_digamma_is_the_derivative_of_lgamma():
    x = X[(X > 0.1) | (np.abs(X - np.round(X)) > 0.05)]
    h = 1e-5
    fd = (np.array([math.lgamma(v + h) for v in x]) - np.array([math.lgamma(v - h)
                                                                for v in x])) / (2 * h)
    got = _special.digamma(brickwork.tensor(x))._host()
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", ["lgamma", "digamma", "trigamma", "erfinv"])
def test_against_torch(fn):
    torch = pytest.importorskip("torch")
    x = np.linspace(-0.999, 0.999, 501) if fn == "erfinv" else X
    ref = {"lgamma": torch.lgamma, "digamma": torch.digamma,
           "trigamma": lambda v: torch.polygamma(1, v), "erfinv": torch.erfinv}[fn]
    want = ref(torch.tensor(x)).numpy()
    got = getattr(_special, fn)(brickwork.tensor(x))._host()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11, equal_nan=True)
    got32 = getattr(_special, fn)(brickwork.tensor(x.astype(np.float32)))
    assert got32.dtype == brickwork.float32


def test_gradients_by_gradcheck():
    x = brickwork.tensor([0.3, 1.7, 4.2], dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(_special.lgamma, (x,))
    assert gradcheck(_special.digamma, (x,))
    y = brickwork.tensor([-0.7, 0.1, 0.9], dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(_special.erfinv, (y,))


def test_cholesky_and_solve_gradients():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 3))
    spd = brickwork.tensor(a @ a.transpose(0, 2, 1) + 3 * np.eye(3), requires_grad=True)
    assert gradcheck(lambda m: _linalg.cholesky(0.5 * (m + m.mT)), (spd,))
    low = brickwork.tensor(np.tril(a) + 3 * np.eye(3), requires_grad=True)
    b = brickwork.tensor(rng.normal(size=(3, 2)), requires_grad=True)
    assert gradcheck(lambda m, v: _linalg.solve_triangular(m, v, upper=False), (low, b))
    up = brickwork.tensor(np.triu(a[0]) + 3 * np.eye(3), requires_grad=True)
    assert gradcheck(lambda m, v: _linalg.solve_triangular(m, v, upper=True), (up, b))
    np.testing.assert_allclose(_linalg.cholesky(spd)._host(),
                               np.linalg.cholesky(spd.detach()._host()))
    with pytest.raises(brickwork.linalg.LinAlgError, match="not positive-definite"):
        _linalg.cholesky(brickwork.tensor([[1.0, 2.0], [2.0, 1.0]]))
