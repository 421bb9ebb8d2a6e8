"""In-place random fills (normal_, uniform_, random_, bernoulli_...) and poisson.

Draws come from brickwork's generator, so values differ from PyTorch's: the statistics of 10^5
draws are checked against the distributions' moments (NumPy only), and ranges, dtypes, versions,
autograd records and errors against PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork
from helpers import CaseTable, brickwork_device, check_behaviour, torch

N = 100_000
FLOATS = ["float32", "float64", "float16"]


def _draws(dtype, fill):
    t = brickwork.zeros(N, dtype=getattr(brickwork, dtype))
    out = fill(t)
    assert out is t and t.dtype == getattr(brickwork, dtype)
    return t.numpy().astype(np.float64)


def _assert_moments(x, mean, var, k=5.0):
    """Sample mean and variance within ``k`` standard errors of ``mean`` and ``var``."""
    n = x.size
    assert abs(x.mean() - mean) < k * math.sqrt(var / n) + 1e-3 * abs(mean), (x.mean(), mean)
    # The variance's standard error, with the fourth central moment estimated from the sample.
    m4 = ((x - x.mean()) ** 4).mean()
    assert abs(x.var() - var) < k * math.sqrt(max(m4 - var ** 2, 1e-12) / n) + 2e-3 * var, \
        (x.var(), var)


@pytest.mark.parametrize("dtype", FLOATS)
def test_continuous_fill_moments(dtype):
    brickwork.manual_seed(0)
    _assert_moments(_draws(dtype, lambda t: t.normal_(1.5, 0.5)), 1.5, 0.25)
    _assert_moments(_draws(dtype, lambda t: t.normal_(mean=-2, std=3)), -2, 9)
    _assert_moments(_draws(dtype, lambda t: t.uniform_(-1, 3)), 1.0, 16 / 12)
    _assert_moments(_draws(dtype, lambda t: t.exponential_(4.0)), 0.25, 1 / 16)
    logs = np.log(_draws("float64" if dtype == "float16" else dtype,
                         lambda t: t.log_normal_(0.5, 0.25)))
    _assert_moments(logs, 0.5, 0.0625)
    # Cauchy has no moments: its quartiles are median -+ sigma.
    c = _draws(dtype, lambda t: t.cauchy_(2.0, 0.5))
    q1, q2, q3 = np.quantile(c, [0.25, 0.5, 0.75])
    assert abs(q2 - 2.0) < 0.02 and abs(q1 - 1.5) < 0.02 and abs(q3 - 2.5) < 0.02


@pytest.mark.parametrize("dtype", FLOATS + ["int32", "int64", "uint8"])
def test_discrete_fill_moments(dtype):
    brickwork.manual_seed(1)
    g = _draws(dtype, lambda t: t.geometric_(0.25))
    assert g.min() >= 1 and np.all(g == np.round(g))
    _assert_moments(g, 4.0, 0.75 / 0.0625)
    b = _draws(dtype, lambda t: t.bernoulli_(0.3))
    assert set(np.unique(b)) <= {0.0, 1.0}
    _assert_moments(b, 0.3, 0.21)
    r = _draws(dtype, lambda t: t.random_(3, 13))
    assert r.min() == 3 and r.max() == 12 and np.all(r == np.round(r))
    _assert_moments(r, 7.5, (10 ** 2 - 1) / 12)


def test_uniform_stays_below_to():
    t = brickwork.zeros(N).uniform_(0.0, 1.0)
    assert t.min().item() >= 0.0 and t.max().item() < 1.0


def test_bernoulli_tensor_p_per_element():
    brickwork.manual_seed(2)
    p = brickwork.tensor([0.0, 0.2, 0.9, 1.0], dtype=brickwork.float64)
    out = brickwork.zeros(N // 4, 4).bernoulli_(p).numpy()
    assert out[:, 0].max() == 0 and out[:, 3].min() == 1
    for j, pj in ((1, 0.2), (2, 0.9)):
        _assert_moments(out[:, j].astype(np.float64), pj, pj * (1 - pj))


@pytest.mark.parametrize("dtype,top", [("float16", 2 ** 11), ("float32", 2 ** 24),
                                       ("int8", 127), ("uint8", 255), ("int16", 32767),
                                       ("bool", 1)])
def test_random_default_range(dtype, top):
    """``random_()`` spans [0, 2^mantissa] for floats and [0, max] for integers."""
    brickwork.manual_seed(3)
    x = brickwork.zeros(N, dtype=getattr(brickwork, dtype)).random_().numpy().astype(np.float64)
    assert x.min() >= 0 and x.max() <= top
    if top < 5000:  # small ranges are covered end to end by 10^5 draws
        assert x.min() == 0 and x.max() == top
    _assert_moments(x, top / 2, ((top + 1) ** 2 - 1) / 12)


def test_random_wide_ranges():
    x = brickwork.zeros(1000, dtype=brickwork.int64).random_().numpy()
    assert x.min() >= 0 and x.max() > 2 ** 60  # the whole int64 range
    y = brickwork.zeros(1000, dtype=brickwork.int64).random_(-(2 ** 63), None).numpy()
    assert y.min() < -(2 ** 60) and y.max() > 2 ** 60
    z = brickwork.zeros(1000, dtype=brickwork.float64).random_(0, None).numpy()
    assert z.max() <= 2 ** 53 and z.max() > 2 ** 50 and np.all(z == np.round(z))
    s = brickwork.zeros(1000, dtype=brickwork.int32).random_(5).numpy()
    assert set(np.unique(s)) == {0, 1, 2, 3, 4}


def test_reproducible_with_seed_and_generator():
    def run():
        t = brickwork.empty(6)
        return np.concatenate([t.normal_().numpy(), t.uniform_().numpy(), t.random_(9).numpy(),
                               t.bernoulli_(0.5).numpy(), t.exponential_().numpy(),
                               t.geometric_(0.5).numpy(), t.cauchy_().numpy(),
                               t.log_normal_().numpy(), brickwork.poisson(t).numpy()])

    brickwork.manual_seed(7)
    a = run()
    brickwork.manual_seed(7)
    assert np.array_equal(a, run())
    g1, g2 = brickwork.Generator().manual_seed(5), brickwork.Generator().manual_seed(5)
    brickwork.manual_seed(8)
    x = brickwork.empty(5).normal_(generator=g1)
    y = brickwork.empty(5).normal_(generator=g2)
    z = brickwork.empty(5).normal_()
    assert np.array_equal(x.numpy(), y.numpy()) and not np.array_equal(x.numpy(), z.numpy())
    r1 = brickwork.empty(5).random_(0, 100, generator=brickwork.Generator().manual_seed(1))
    r2 = brickwork.empty(5).random_(0, 100, generator=brickwork.Generator().manual_seed(1))
    assert np.array_equal(r1.numpy(), r2.numpy())


FILLS = {
    "normal_": lambda t: t.normal_(0, 0.01),
    "uniform_": lambda t: t.uniform_(-1, 1),
    "random_": lambda t: t.random_(),
    "random_to": lambda t: t.random_(5),
    "random_from_to": lambda t: t.random_(1, 5),
    "random_from_none": lambda t: t.random_(1, None),
    "bernoulli_": lambda t: t.bernoulli_(),
    "bernoulli_p": lambda t: t.bernoulli_(0.25),
    "exponential_": lambda t: t.exponential_(),
    "geometric_": lambda t: t.geometric_(0.5),
    "cauchy_": lambda t: t.cauchy_(),
    "log_normal_": lambda t: t.log_normal_(),
}
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


@pytest.mark.parametrize("fill", sorted(FILLS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_fill_dtypes_versions_and_errors_match_torch(fill, dtype):
    """Which dtypes each fill accepts (PyTorch's error otherwise), and what it returns."""
    def run(lib):
        t = lib.zeros(2, 3, dtype=getattr(lib, dtype))
        v = t._version
        out = FILLS[fill](t)
        return out is t, t._version - v, _name(t.dtype), tuple(t.shape)

    check_behaviour(run)


ERRORS = CaseTable()


@ERRORS.case
def uniform_reversed(lib):
    return lib.zeros(3).uniform_(1, 0)


@ERRORS.case
def uniform_too_wide(lib):
    return lib.zeros(3).uniform_(-3e38, 3e38)


@ERRORS.case
def uniform_from_out_of_float(lib):
    return lib.zeros(3).uniform_(-1e300, 1e300)


@ERRORS.case
def uniform_to_inf(lib):
    return lib.zeros(3).uniform_(0, float("inf"))


@ERRORS.case
def uniform_equal_ends(lib):
    return lib.zeros(3).uniform_(2, 2)


@ERRORS.case
def uniform_from_keyword(lib):
    t = lib.zeros(3).uniform_(**{"from": 4, "to": 5})
    return bool(((t >= 4) & (t < 5)).all())


@ERRORS.case
def normal_negative_std(lib):
    return lib.zeros(3).normal_(0, -1)


@ERRORS.case
def normal_zero_std(lib):
    return lib.zeros(3).normal_(2.5, 0)


@ERRORS.case
def bernoulli_p_above_one(lib):
    return lib.zeros(3).bernoulli_(2.0)


@ERRORS.case
def bernoulli_p_negative(lib):
    return lib.zeros(3).bernoulli_(-0.1)


@ERRORS.case
def bernoulli_tensor_p_integer(lib):
    return lib.zeros(2).bernoulli_(lib.tensor([1, 0]))


@ERRORS.case
def bernoulli_tensor_p_not_expandable(lib):
    return lib.zeros(4).bernoulli_(lib.tensor([0.3, 0.2]))


@ERRORS.case
def bernoulli_tensor_p_broadcast(lib):
    t = lib.zeros(3, 2).bernoulli_(lib.tensor([0.0, 1.0], dtype=lib.float64))
    return t


@ERRORS.case
def exponential_zero_rate(lib):
    return lib.zeros(3).exponential_(0)


@ERRORS.case
def geometric_p_one(lib):
    return lib.zeros(3).geometric_(1)


@ERRORS.case
def geometric_p_zero(lib):
    return lib.zeros(3).geometric_(0)


@ERRORS.case
def cauchy_zero_sigma(lib):
    return lib.zeros(3).cauchy_(0, 0)


@ERRORS.case
def log_normal_negative_std(lib):
    return lib.zeros(3).log_normal_(0, -1)


@ERRORS.case
def random_empty_range(lib):
    return lib.zeros(3).random_(5, 3)


@ERRORS.case
def random_to_zero(lib):
    return lib.zeros(3).random_(0)


@ERRORS.case
def random_to_out_of_int32(lib):
    return lib.zeros(3, dtype=lib.int32).random_(2 ** 40)


@ERRORS.case
def random_from_negative_uint8(lib):
    return lib.zeros(3, dtype=lib.uint8).random_(-1, 3)


@ERRORS.case
def random_to_out_of_uint8(lib):
    return lib.zeros(3, dtype=lib.uint8).random_(0, 300)


@ERRORS.case
def random_to_out_of_bool(lib):
    return lib.zeros(3, dtype=lib.bool).random_(3)


@ERRORS.case
def random_to_out_of_half(lib):
    return lib.zeros(3, dtype=lib.float16).random_(2 ** 20)


@ERRORS.case
def random_negative_range_int(lib):
    t = lib.zeros(50, dtype=lib.int32).random_(-5, 3)
    return bool(((t >= -5) & (t < 3)).all())


@ERRORS.case
def expanded_tensor(lib):
    return lib.zeros(1).expand(3).normal_()


@ERRORS.case
def poisson_negative_rate(lib):
    return lib.poisson(lib.tensor([1.0, -1.0]))


@ERRORS.case
def poisson_nan_rate(lib):
    return lib.poisson(lib.tensor([1.0, float("nan")]))


@ERRORS.case
def poisson_integer(lib):
    return lib.poisson(lib.tensor([1, 2]))


@ERRORS.case
def poisson_zero_rate_dtypes(lib):
    outs = [lib.poisson(lib.zeros(3, dtype=getattr(lib, d))) for d in FLOATS]
    return outs


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_arguments_and_errors_match_torch(case):
    check_behaviour(ERRORS[case])


def test_bernoulli_tensor_p_out_of_range():
    # PyTorch raises RuntimeError too, with an internal-assert text ("Expected p_in >= 0 ...").
    with pytest.raises(RuntimeError, match=r"every element of p to be in \[0, 1\]"):
        brickwork.zeros(2).bernoulli_(brickwork.tensor([0.5, 2.0]))


@pytest.mark.parametrize("args", [(0.5, 3.7), (2.5,), (True,)])
def test_random_refuses_non_integers(args):
    # PyTorch raises TypeError too, listing its overloads.
    with pytest.raises(TypeError, match="must be int"):
        brickwork.zeros(3).random_(*args)


def test_random_warns_beyond_exact_float_integers():
    with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^24\), 2\^24\]"):
        brickwork.zeros(3).random_(2 ** 30)
    with pytest.warns(UserWarning, match=r"2\^53"):
        brickwork.zeros(3, dtype=brickwork.float64).random_(2 ** 60)


AUTOGRAD = CaseTable()


@AUTOGRAD.case
def leaf_refused(lib):
    return lib.zeros(3, requires_grad=True).normal_()


@AUTOGRAD.case
def leaf_under_no_grad(lib):
    x = lib.zeros(3, requires_grad=True)
    with lib.no_grad():
        x.uniform_(2, 3)
    return x.requires_grad, x.grad_fn is None, x._version, bool(((x >= 2) & (x < 3)).all())


@AUTOGRAD.case
def view_of_leaf_refused(lib):
    x = lib.zeros(3, requires_grad=True)
    return x[:2].bernoulli_()


@AUTOGRAD.case
def non_leaf_records_zero_gradient(lib):
    names = []
    x = lib.zeros(3, requires_grad=True)
    for fill in sorted(FILLS):
        y = x * 2
        FILLS[fill](y)
        names.append(type(y.grad_fn).__name__)
        y.sum().backward()
    return names, x.grad


@AUTOGRAD.case
def bernoulli_tensor_p_gets_zero_gradient(lib):
    x = lib.zeros(3, requires_grad=True)
    p = lib.full((3,), 0.5, requires_grad=True)
    y = x * 2
    y.bernoulli_(p)
    (y * 3).sum().backward()
    return type(y.grad_fn).__name__, x.grad, p.grad


@AUTOGRAD.case
def poisson_gradient_is_zero(lib):
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    r = lib.poisson(a)
    r.sum().backward()
    return type(r.grad_fn).__name__, a.grad, _name(r.dtype)


@AUTOGRAD.case
def view_update_seen_by_base(lib):
    t = lib.zeros(6)
    v = t[::2]
    v.uniform_(1, 2)
    return bool((t[::2] >= 1).all()), bool((t[1::2] == 0).all()), t._version


@pytest.mark.parametrize("case", sorted(AUTOGRAD))
def test_autograd_and_views_match_torch(case):
    check_behaviour(AUTOGRAD[case])


def test_tensor_bernoulli_and_multinomial_methods():
    brickwork.manual_seed(0)
    p = brickwork.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert p.bernoulli().tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert p.multinomial(1).tolist() == [[1], [0]]


def test_poisson_moments_and_large_rates():
    brickwork.manual_seed(4)
    rates = brickwork.full((N,), 3.5, dtype=brickwork.float64)
    _assert_moments(brickwork.poisson(rates).numpy(), 3.5, 3.5)
    big = brickwork.poisson(brickwork.tensor([1e20, float("inf")])).numpy()
    assert abs(big[0] / 1e20 - 1) < 1e-6 and big[1] == np.inf


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
def test_fills_on_device(device):
    with brickwork_device(device) as dev:
        brickwork.manual_seed(0)
        t = brickwork.zeros(4, 5, device=dev)
        for fill in FILLS.values():
            assert fill(t) is t and t.device == brickwork.device(dev)
        out = brickwork.poisson(t.abs())
        assert out.device == brickwork.device(dev)
        host = t.normal_(3, 0).cpu().numpy()
        assert np.all(host == 3)
        p = brickwork.full((5,), 1.0, device=dev, requires_grad=True)
        assert t.bernoulli_(p).detach().cpu().numpy().min() == 1 and t.requires_grad
        x = brickwork.zeros(3, device=dev, requires_grad=True)
        y = x * 2
        y.uniform_(1, 2)
        assert type(y.grad_fn).__name__ == "UniformBackward0" and y.device == x.device
        y.sum().backward()
        assert x.grad.device == x.device and x.grad.cpu().tolist() == [0.0, 0.0, 0.0]


@pytest.mark.skipif(torch is None, reason="PyTorch (the reference) not installed")
def test_normal_zero_std_is_mean_like_torch():
    assert brickwork.zeros(3).normal_(2.5, 0).tolist() == torch.zeros(3).normal_(2.5, 0).tolist()


LAZY = CaseTable()


@LAZY.case
def lazy_weight_data_fill_is_a_no_op(lib):
    """The book's LinearRegression: initialise a lazy weight through ``.data`` before forward."""
    lib.manual_seed(0)
    net = lib.nn.LazyLinear(1)
    d = net.weight.data
    out = d.normal_(0, 0.01)
    net.bias.data.fill_(0)
    before = (out is d, tuple(d.shape), _name(d.dtype), d.requires_grad,
              type(net.weight).__name__, type(d).__name__)
    y = net(lib.ones(2, 3))
    return before, tuple(net.weight.shape), tuple(y.shape), tuple(d.shape), \
        type(net.weight).__name__


@LAZY.case
def lazy_data_dtype_follows_parameter(lib):
    p = lib.nn.parameter.UninitializedParameter(dtype=lib.float64)
    return _name(p.data.dtype), p.data is p.data, tuple(p.data.uniform_().shape)


@LAZY.case
def lazy_fill_on_parameter_itself_refused(lib):
    return lib.nn.LazyLinear(1).weight.normal_(0, 0.01)


@LAZY.case
def lazy_init_function_refused(lib):
    return lib.nn.init.normal_(lib.nn.LazyLinear(1).weight)


@pytest.mark.parametrize("case", sorted(LAZY))
def test_uninitialized_parameter_data(case):
    if case.endswith("refused"):
        # Both raise ValueError; PyTorch's text names its __torch_function__ hook.
        with pytest.raises(ValueError, match="forward pass"):
            LAZY[case](brickwork)
        if torch is not None:
            with pytest.raises(ValueError):
                LAZY[case](torch)
        return
    check_behaviour(LAZY[case])


def test_lazy_layer_initialised_at_first_forward():
    brickwork.manual_seed(0)
    net = brickwork.nn.LazyLinear(1)
    net.weight.data.normal_(0, 0.01)
    net(brickwork.ones(2, 400))
    w = net.weight.detach().numpy()
    # reset_parameters: kaiming-uniform bounds 1/sqrt(in_features), not N(0, 0.01).
    assert np.abs(w).max() <= 1 / 20 and w.std() > 0.02
    net.weight.data.normal_(0, 0.01)  # now a real update of the weight
    assert net.weight.detach().numpy().std() < 0.015
