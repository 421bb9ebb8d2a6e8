"""brickwork.special against torch.special: accuracy over wide ranges and at the edge values
(0, negatives, poles, infinities, NaN), float32 and float64, gradients to second order."""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork
import brickwork.special as bspecial
from brickwork.autograd import gradcheck
from helpers import check_behaviour, check_error, check_op, rand_array


EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300, 1.0, 2.0, -1.0, -2.0, -0.5, 0.5]


def _wide(low, high, n=4001, extra=()):
    return np.concatenate([np.linspace(low, high, n), EDGES, list(extra)])


SWEEPS = {  # name -> data covering the whole useful range
    "erf": _wide(-8, 8), "erfc": _wide(-8, 28), "erfcx": _wide(-25, 1e4, extra=[1e10, 1e300]),
    "erfinv": np.concatenate([np.linspace(-1.1, 1.1, 4001), 1 - np.logspace(-16, -1, 40),
                              np.logspace(-300, -1, 40), EDGES]),
    "gammaln": _wide(-40, 200, extra=[1e10, 1e300, 171.6, -1e10 - 0.5]),
    "digamma": _wide(-40, 200, extra=[1e10, 1e300, 1.4616321449683622]),
    "psi": _wide(-10, 10),
    "i0": _wide(-720, 720), "i0e": _wide(-1000, 1000, extra=[1e10]),
    "i1": _wide(-720, 720), "i1e": _wide(-1000, 1000, extra=[1e10]),
    "ndtr": _wide(-40, 40), "log_ndtr": _wide(-1e3, 40, extra=[-1e10]),
    "ndtri": np.concatenate([np.linspace(-0.1, 1.1, 4001), np.logspace(-320, -1, 60),
                             1 - np.logspace(-16, -1, 40), EDGES]),
    "entr": _wide(-1, 50), "sinc": _wide(-20, 20), "expit": _wide(-50, 50),
    "logit": _wide(-0.5, 1.5), "exp2": _wide(-100, 100), "expm1": _wide(-5, 5),
    "log1p": _wide(-0.9, 5),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_accuracy_sweep(name, dtype):
    with np.errstate(over="ignore"):  # 1e300 becomes inf in float32
        data = SWEEPS[name].astype(dtype)
    rtol = 1e-10 if dtype == "float64" else 2e-5
    atol = 1e-300 if dtype == "float64" else 1e-37
    if name in ("gammaln", "digamma", "psi"):  # roots: an absolute error of a few ulps of 1
        atol = 1e-13 if dtype == "float64" else 1e-6
    if name == "ndtr":  # PyTorch's ndtr is accurate absolutely only (it is 0 below -37.5)
        atol = 1e-16 if dtype == "float64" else 1e-7
    check_op(lambda lib, t: getattr(lib.special, name)(t), [data], grad=[False],
             atol=atol, rtol=rtol)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_polygamma_sweep(n, dtype):
    data = _wide(-30, 60).astype(dtype)
    if n == 1:  # next to the poles PyTorch's reflection gives huge, rounding-dependent values
        with np.errstate(invalid="ignore"):
            data = data[(np.abs(data - np.round(data)) > 1e-3) | (data >= 0)
                        | ~np.isfinite(data)]
    rtol = 1e-8 if dtype == "float64" else 1e-4  # PyTorch's trigamma is good to ~1e-9
    check_op(lambda lib, t: lib.special.polygamma(n, t), [data], grad=[False], rtol=rtol,
             atol=1e-300 if dtype == "float64" else 1e-30)
    check_op(lambda lib, t: t.polygamma(n), [data[:50]], grad=[False], rtol=rtol)


def test_zeta_values():
    s = np.array([1.0, 0.5, 2.0, 2.0, 2.5, 3.0, 3.0, np.inf, 2.0, 1.5, 4.0, 10.0, 1.001, 30.0,
                  3.0, np.nan, 2.0])
    q = np.array([1.0, 1.0, 0.0, -2.0, -1.5, -1.5, -12.5, 2.0, np.inf, 0.3, 1e10, 1e-5, 2.0,
                  -3.3, -200.5, 1.0, np.nan])
    check_op(lambda lib, a, b: lib.special.zeta(a, b), [s, q], grad=[False, False], rtol=1e-10)
    check_op(lambda lib, a, b: lib.special.zeta(a, b), [s.astype("float32"), q.astype("float32")],
             grad=[False, False])
    check_op(lambda lib, b: lib.special.zeta(2.0, b), [np.array([1.0, 2.0, 0.5])], grad=[False])
    check_op(lambda lib, a: lib.special.zeta(a, 3), [np.array([2, 3, 4])])


def test_zeta_gradient():
    s = rand_array((2, 3), "float64", 1.5, 4)
    q = rand_array((3,), "float64", 0.5, 3, seed=1)
    check_op(lambda lib, a, b: lib.special.zeta(a, b), [s, q], grad=[False, True])

    def wrt_s(lib):
        a = lib.tensor([2.0, 3.0], requires_grad=True)
        lib.special.zeta(a, lib.tensor([1.0, 2.0])).sum().backward()

    check_behaviour(wrt_s)


UNARY_GRAD = {  # name -> (low, high) where the gradient is smooth
    "erf": (-2, 2), "erfc": (-2, 2), "erfcx": (-2, 5), "erfinv": (-0.9, 0.9),
    "gammaln": (0.3, 5), "digamma": (0.3, 5), "i0": (-4, 4), "i0e": (-4, 4), "i1": (-4, 4),
    "i1e": (-4, 4), "ndtr": (-3, 3), "ndtri": (0.05, 0.95), "log_ndtr": (-6, 3),
    "entr": (0.1, 2), "sinc": (-2, 2), "expit": (-3, 3), "logit": (0.1, 0.9),
    "exp2": (-2, 2), "multigammaln": (2, 5),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(UNARY_GRAD))
def test_gradients(name, dtype):
    lo, hi = UNARY_GRAD[name]
    x = rand_array((2, 3), dtype, lo, hi)
    if name == "multigammaln":
        check_op(lambda lib, t: lib.special.multigammaln(t, 3), [x])
        check_op(lambda lib, t: t.mvlgamma(2), [x])
        return
    check_op(lambda lib, t: getattr(lib.special, name)(t), [x])


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma_gradients(n):
    check_op(lambda lib, t: lib.polygamma(n, t), [rand_array((2, 3), "float64", 0.4, 4)])
    check_op(lambda lib, t: lib.polygamma(n, t), [rand_array((4,), "float64", -3.7, -3.2)])


def test_logit_eps_and_domain():
    x = np.array([-0.5, 0.0, 0.02, 0.3, 0.99, 1.0, 1.5])
    check_op(lambda lib, t: lib.special.logit(t), [x], second_order=False)
    check_op(lambda lib, t: lib.special.logit(t, eps=0.05), [x], second_order=False)
    check_op(lambda lib, t: lib.logit(t, 0.1), [rand_array((2, 3), "float64", 0.2, 0.8)])


def test_xlogy_xlog1py():
    x = np.array([0.0, 0.0, 1.5, -2.0, 0.0, 3.0])
    y = np.array([0.0, np.nan, 2.0, 0.5, -1.0, np.inf])
    for name in ("xlogy", "xlog1py"):
        check_op(lambda lib, a, b: getattr(lib.special, name)(a, b), [x, y], second_order=False)
        check_op(lambda lib, a, b: getattr(lib.special, name)(a, b),
                 [rand_array((2, 3), "float64", -2, 2), rand_array((3,), "float64", 0.2, 2)])
        check_op(lambda lib, b: getattr(lib.special, name)(2, b), [np.array([1, 2, 3])])
        check_op(lambda lib, a: getattr(lib.special, name)(a, 0.5), [np.array([1.0, 0.0])])


def test_mvlgamma_and_errors():
    check_op(lambda lib, t: lib.mvlgamma(t, 4), [rand_array((3,), "float64", 2, 6)])
    check_op(lambda lib, t: lib.mvlgamma(t, 1), [np.array([1, 2, 3])])
    check_behaviour(lambda lib: lib.polygamma(-1, lib.tensor([1.0])))
    check_behaviour(lambda lib: lib.mvlgamma(lib.tensor([3.0]), 0))


def test_integer_inputs_give_default_float():
    x = np.array([1, 2, 3])
    for name in ("erfc", "erfcx", "erfinv", "gammaln", "digamma", "i0", "i0e", "i1", "i1e",
                 "ndtr", "ndtri", "log_ndtr", "entr", "sinc", "expit", "exp2"):
        check_op(lambda lib, t: getattr(lib.special, name)(t), [x])


def test_reductions_and_softmax():
    x = rand_array((3, 4), "float32", -3, 3)
    check_op(lambda lib, t: lib.special.logsumexp(t, 1), [x])
    check_op(lambda lib, t: lib.special.logsumexp(t, (0, 1), keepdim=True), [x])
    check_op(lambda lib, t: lib.special.softmax(t, 0), [x])
    check_op(lambda lib, t: lib.special.log_softmax(t, 1), [x])
    check_op(lambda lib, t: lib.special.round(t), [x])
    check_op(lambda lib, t: lib.special.round(t, decimals=1), [x], grad=[False])


def test_inplace_forms():
    x = rand_array((2, 3), "float64", 0.2, 0.8)
    for name in ("erfc", "erfinv", "lgamma", "digamma", "i0", "sinc", "logit", "erf"):
        check_op(lambda lib, t: getattr(t.clone(), name + "_")(), [x])
    check_error(lambda lib, t: t.lgamma_(), [np.array([1, 2])])


def test_namespace_aliases():
    x = brickwork.tensor([-1.5, 0.5])
    y = brickwork.tensor([1.5, 2.5])
    for alias, top in ((bspecial.gammaln, brickwork.lgamma), (bspecial.psi, brickwork.digamma)):
        assert brickwork.equal(alias(x), top(x))
    assert brickwork.equal(bspecial.multigammaln(y, 2), brickwork.mvlgamma(y, 2))
    assert brickwork.equal(bspecial.expit(x), brickwork.sigmoid(x))
    torch_special = pytest.importorskip("torch").special
    for name in bspecial.__all__:
        assert hasattr(torch_special, name), name


# -- checks that need no torch --------------------------------------------------------------------
def test_against_math_module():
    xs = [-7.5, -2.5, -0.3, 0.1, 0.5, 1.5, 3.0, 10.5, 50.0, 170.2]
    np.testing.assert_allclose(bspecial.gammaln(brickwork.tensor(np.array(xs)))._host(),
                               [math.lgamma(v) for v in xs], rtol=1e-13)
    zs = [-3.0, -0.7, 0.0, 0.4, 2.0, 5.0, 12.0]
    np.testing.assert_allclose(bspecial.erfc(brickwork.tensor(np.array(zs)))._host(),
                               [math.erfc(v) for v in zs], rtol=1e-12)
    # ndtri inverts ndtr, also deep in the tails.
    p = np.array([1e-300, 1e-20, 1e-5, 0.2, 0.5, 0.9, 1 - 1e-12])
    x = bspecial.ndtri(brickwork.tensor(p))
    np.testing.assert_allclose(bspecial.ndtr(x)._host(), p, rtol=1e-10)
    # known values: digamma(1) = -Euler's gamma, zeta(2, 1) = pi^2 / 6, I0(0) = 1
    one = brickwork.tensor(np.array([1.0]))
    assert abs(bspecial.digamma(one).item() + 0.5772156649015329) < 1e-15
    assert abs(bspecial.zeta(one * 2, 1.0).item() - math.pi ** 2 / 6) < 1e-15
    assert bspecial.i0(brickwork.tensor([0.0])).item() == 1.0


def test_gradcheck_without_torch():
    a = brickwork.tensor([0.3, 0.7, 1.9], dtype=brickwork.float64, requires_grad=True)
    for fn in (bspecial.erfcx, bspecial.i0e, bspecial.i1, bspecial.i1e, bspecial.ndtr,
               bspecial.log_ndtr, bspecial.entr, lambda t: bspecial.polygamma(2, t),
               lambda t: bspecial.multigammaln(t + 1, 2)):
        assert gradcheck(fn, (a,))
    assert gradcheck(lambda t: bspecial.ndtri(t / 2), (a,))
    assert gradcheck(lambda q: bspecial.zeta(3.0, q), (a,))
    b = brickwork.tensor([0.5, -0.2, 3.0], dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(lambda x, y: bspecial.xlog1py(x, y), (a, b))


def test_on_simulated_cuda():
    """Every special function on the simulated CUDA backend (tensors on cuda:1, not current)."""
    import simcuda

    from helpers import testing_on

    x = np.concatenate([np.linspace(-6, 30, 37), [0.0, np.inf, -np.inf, np.nan]])
    p = np.concatenate([np.linspace(0, 1, 21), [1e-30, np.nan]])
    with simcuda.installed(), testing_on("cuda:1", torch_device="cpu"):
        for name in ("erf", "erfc", "erfcx", "gammaln", "digamma", "i0", "i0e", "i1", "i1e",
                     "ndtr", "log_ndtr", "entr", "sinc", "expit", "exp2"):
            check_op(lambda lib, t: getattr(lib.special, name)(t), [x], grad=[False])
        for name in ("erfinv", "ndtri", "logit"):
            check_op(lambda lib, t: getattr(lib.special, name)(t), [p], grad=[False])
        check_op(lambda lib, t: lib.special.polygamma(3, t), [x], grad=[False])
        check_op(lambda lib, t: lib.special.polygamma(1, t), [x[x > 0]], grad=[False])
        check_op(lambda lib, a, b: lib.special.zeta(a, b), [x[12:20] / 4 + 1, x[:8]],
                 grad=[False, False])
        check_op(lambda lib, a, b: lib.special.xlog1py(a, b), [x[:8], x[8:16]],
                 grad=[True, True], second_order=False)
        check_op(lambda lib, t: lib.special.i1e(t), [rand_array((5,), "float64", 0.5, 3)])


def test_float16_inputs():
    x = np.array([-3.0, -0.5, 0.25, 1.0, 2.5, 12.0, 30.0], "float16")
    for name in ("erfc", "gammaln", "digamma", "i0", "i0e", "i1", "ndtr", "sinc", "erfinv"):
        check_op(lambda lib, t: getattr(lib.special, name)(t), [x], grad=[False])
    check_op(lambda lib, t: lib.special.polygamma(1, t), [x], grad=[False])
    for name in ("erfcx", "ndtri", "log_ndtr"):  # PyTorch has no float16 kernel for these
        check_behaviour(
            lambda lib: getattr(lib.special, name)(lib.tensor([0.5], dtype=lib.float16)))
    check_behaviour(lambda lib: lib.special.zeta(lib.tensor([2.0], dtype=lib.float16), 1.0))
