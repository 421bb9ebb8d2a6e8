"""Out-of-place sampling with tensor parameters: normal, bernoulli, multinomial (poisson is in
test_random_fill.py).

Values come from brickwork's generator: statistics are checked against the distributions
(NumPy only); shapes, dtypes, autograd records and errors against PyTorch.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import brickwork
from helpers import CaseTable, brickwork_device, check_behaviour

N = 100_000


def _within(sample_mean, mean, var, n, k=5.0):
    return abs(sample_mean - mean) < k * math.sqrt(var / n) + 1e-12


def test_normal_forms_moments():
    brickwork.manual_seed(0)
    mean = brickwork.tensor([[-3.0], [2.0]], dtype=brickwork.float64)
    std = brickwork.tensor([0.5, 2.0, 0.0], dtype=brickwork.float64)
    x = np.stack([brickwork.normal(mean, std).numpy() for _ in range(N // 100)])
    assert x.shape == (N // 100, 2, 3)
    for i, m in enumerate((-3.0, 2.0)):
        for j, s in enumerate((0.5, 2.0, 0.0)):
            col = x[:, i, j]
            assert _within(col.mean(), m, s * s, col.size) and abs(col.std() - s) < 0.1 * s + 1e-12
    y = brickwork.normal(brickwork.full((N,), 1.5), 0.25).numpy().astype(np.float64)
    assert _within(y.mean(), 1.5, 0.0625, N) and abs(y.var() - 0.0625) < 0.003
    z = brickwork.normal(-1.0, brickwork.full((N,), 3.0)).numpy().astype(np.float64)
    assert _within(z.mean(), -1.0, 9.0, N) and abs(z.var() - 9) < 0.3
    w = brickwork.normal(4.0, 0.5, (N,), dtype=brickwork.float64).numpy()
    assert w.dtype == np.float64 and _within(w.mean(), 4.0, 0.25, N)


def test_bernoulli_moments_and_dtypes():
    brickwork.manual_seed(1)
    p = brickwork.tensor([0.0, 0.25, 1.0]).expand(N // 10, 3)
    x = brickwork.bernoulli(p).numpy()
    assert set(np.unique(x)) <= {0.0, 1.0} and x[:, 0].max() == 0 and x[:, 2].min() == 1
    assert _within(x[:, 1].mean(), 0.25, 0.1875, x.shape[0])
    y = brickwork.bernoulli(brickwork.zeros(N, dtype=brickwork.int32), 0.7).numpy()
    assert y.dtype == np.int32 and _within(y.mean(), 0.7, 0.21, N)


def test_multinomial_frequencies():
    brickwork.manual_seed(2)
    w = brickwork.tensor([[1.0, 0.0, 3.0], [0.0, 1.0, 1.0]])
    draws = brickwork.multinomial(w, N // 2, replacement=True).numpy()
    assert draws.dtype == np.int64 and draws.shape == (2, N // 2)
    c0 = np.bincount(draws[0], minlength=3) / (N // 2)
    c1 = np.bincount(draws[1], minlength=3) / (N // 2)
    assert c0[1] == 0 and c1[0] == 0
    assert _within(c0[2], 0.75, 0.1875, N // 2) and _within(c1[1], 0.5, 0.25, N // 2)
    # Without replacement: rows are distinct, and the first pick follows the weights.
    picks = brickwork.multinomial(brickwork.tensor([1.0, 2.0, 7.0]).expand(N // 10, 3), 3)
    picks = picks.numpy()
    assert np.all(np.sort(picks, axis=1) == [0, 1, 2])
    first = np.bincount(picks[:, 0], minlength=3) / picks.shape[0]
    assert _within(first[2], 0.7, 0.21, picks.shape[0])
    # Second pick given the first was 2: weights 1:2 over {0, 1}.
    second = picks[picks[:, 0] == 2, 1]
    assert _within((second == 1).mean(), 2 / 3, 2 / 9, second.size)


def test_reproducible_with_generator():
    def run(seed):
        g = brickwork.Generator().manual_seed(seed)
        w = brickwork.tensor([0.2, 0.5, 0.3])
        return [brickwork.normal(brickwork.zeros(4), 1.0, generator=g).tolist(),
                brickwork.normal(0.0, 1.0, (3,), generator=g).tolist(),
                brickwork.bernoulli(brickwork.full((5,), 0.5), generator=g).tolist(),
                brickwork.multinomial(w, 6, True, generator=g).tolist(),
                brickwork.multinomial(w, 3, generator=g).tolist()]

    assert run(3) == run(3) and run(3) != run(4)


CASES = CaseTable()


def _meta(t):
    return tuple(t.shape), str(t.dtype).split(".")[-1]


@CASES.case
def normal_shapes_and_dtypes(lib):
    f64 = lib.zeros(2, 1, dtype=lib.float64)
    return [_meta(lib.normal(f64, lib.ones(3))), _meta(lib.normal(lib.zeros(3), 2.0)),
            _meta(lib.normal(1.0, lib.ones(2, dtype=lib.float16))),
            _meta(lib.normal(lib.zeros(2), lib.tensor([1, 2]))),
            _meta(lib.normal(0.0, 1.0, (2, 3))), _meta(lib.normal(0, 1, [4], dtype=lib.float64)),
            _meta(lib.normal(lib.tensor(0.0), lib.tensor(1.0)))]


@CASES.case
def normal_scalar_std_zero(lib):
    return lib.normal(lib.tensor([1.0, 2.0]), 0.0), lib.normal(3.0, 0.0, (2,))


@CASES.case
def normal_gradients_are_zero(lib):
    m = lib.zeros(3, requires_grad=True)
    s = lib.ones(3, requires_grad=True)
    names = []
    for out in (lib.normal(m, s), lib.normal(m, 2.0), lib.normal(1.0, s)):
        names.append(type(out.grad_fn).__name__)
        out.sum().backward()
    return names, m.grad, s.grad


@CASES.case
def normal_requires_grad_factory(lib):
    return lib.normal(0.0, 1.0, (2,), requires_grad=True).requires_grad


@CASES.case
def normal_negative_std(lib):
    return lib.normal(lib.zeros(3), -1.0)


@CASES.case
def normal_negative_std_tensor(lib):
    return lib.normal(0.0, lib.tensor([1.0, -1.0]))


@CASES.case
def normal_negative_std_scalars(lib):
    return lib.normal(1.0, -2.0, (2,))


@CASES.case
def normal_integer_mean(lib):
    return lib.normal(lib.tensor([1, 2]), 1.0)


@CASES.case
def normal_integer_std(lib):
    return lib.normal(0.0, lib.tensor([1, 2]))


@CASES.case
def normal_integer_dtype(lib):
    return lib.normal(0.0, 1.0, (2,), dtype=lib.int64)


@CASES.case
def normal_shapes_clash(lib):
    return lib.normal(lib.zeros(2, 3), lib.ones(6))


@CASES.case
def bernoulli_shapes_dtypes_grad(lib):
    p = lib.full((3,), 0.5, requires_grad=True)
    out = lib.bernoulli(p)
    out.sum().backward()
    fixed = lib.bernoulli(lib.zeros(2, 2, dtype=lib.int64), 0.5)
    with_tensor_p = lib.bernoulli(lib.zeros(3), lib.tensor(1.0))
    return (type(out.grad_fn).__name__, p.grad, _meta(fixed), with_tensor_p,
            _meta(lib.bernoulli(lib.full((2,), 0.5, dtype=lib.float16))))


@CASES.case
def bernoulli_float_p_has_no_derivative(lib):
    x = lib.full((3,), 0.5, requires_grad=True)
    out = lib.bernoulli(x, 0.3)
    return type(out.grad_fn).__name__, out.sum().backward()


@CASES.case
def bernoulli_integer_input(lib):
    return lib.bernoulli(lib.tensor([1, 0]))


@CASES.case
def bernoulli_bool_input(lib):
    return lib.bernoulli(lib.tensor([True, False]))


@CASES.case
def bernoulli_p_out_of_range(lib):
    return lib.bernoulli(lib.zeros(3), 2.0)


@CASES.case
def bernoulli_tensor_method(lib):
    return lib.tensor([[0.0, 1.0], [1.0, 0.0]]).bernoulli(), \
        _meta(lib.zeros(3).bernoulli(0.5))


@CASES.case
def multinomial_shapes(lib):
    return [_meta(lib.multinomial(lib.ones(2, 4), 3)), _meta(lib.multinomial(lib.ones(4), 4)),
            _meta(lib.multinomial(lib.ones(0, 3), 2)),
            _meta(lib.multinomial(lib.ones(3, dtype=lib.float16), 5, replacement=True)),
            _meta(lib.ones(2, 3).multinomial(2))]


@CASES.case
def multinomial_certain(lib):
    w = lib.tensor([[0.0, 0.0, 5.0], [0.0, 2.0, 0.0]])
    return lib.multinomial(w, 4, True), lib.multinomial(w, 1), \
        lib.multinomial(lib.tensor([0.0, 1.0, 0.0]), 1)


def _multinomial_error(weights, n, replacement=False, dtype="float32"):
    def case(lib):
        return lib.multinomial(lib.tensor(weights, dtype=getattr(lib, dtype)), n, replacement)

    return case


for _name, _args in {
    "integer": ([1, 2], 1, False, "int64"),
    "zero_dim": (1.0, 1),
    "three_dim": ([[[1.0]]], 1),
    "zero_samples": ([1.0, 2.0], 0, True),
    "negative_samples": ([1.0, 2.0], -1, True),
    "too_many": ([1.0, 1.0], 3),
    "empty": ([], 1),
    "zero_sum": ([[1.0, 1.0], [0.0, 0.0]], 1),
    "negative": ([1.0, -1.0], 1),
    "nan": ([1.0, float("nan")], 2),
    "inf": ([1.0, float("inf")], 1, True),
    "negative_many": ([1.0, -2.0], 3, True),
    "nan_many": ([1.0, float("nan")], 3, True),
    "inf_many": ([float("inf"), -1.0], 3, True, "float64"),
}.items():
    CASES["multinomial_" + _name] = _multinomial_error(*_args)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_torch(case):
    check_behaviour(CASES[case])


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
def test_samples_on_device(device):
    with brickwork_device(device) as dev:
        d = brickwork.device(dev)
        m = brickwork.zeros(3, device=dev)
        outs = [brickwork.normal(m, 1.0), brickwork.normal(1.0, m + 1),
                brickwork.normal(m, m + 1), brickwork.bernoulli(m + 0.5),
                brickwork.bernoulli(m, 0.5), brickwork.multinomial(m + 1, 2),
                brickwork.multinomial((m + 1).reshape(1, 3), 4, True), brickwork.poisson(m + 2),
                brickwork.normal(0.0, 1.0, (2,), device=dev)]
        assert all(o.device == d for o in outs)
        assert brickwork.normal(m, 0.0).cpu().tolist() == [0.0, 0.0, 0.0]


# -- binomial ----------------------------------------------------------------------------------
def test_binomial_moments_and_edges():
    brickwork.manual_seed(0)
    x = brickwork.binomial(brickwork.full((N,), 10.0), brickwork.full((N,), 0.3))
    assert x.dtype is brickwork.float32
    assert _within(x.mean().item(), 3.0, 2.1, N) and abs(x.var().item() - 2.1) < 0.05
    got = brickwork.binomial(brickwork.tensor([10.0, 5.0, 2.5, -1.0, math.nan, 3.0]),
                             brickwork.tensor([1.5, 0.0, 1.0, 0.5, 0.5, math.nan]))
    # prob clamped to [0, 1], counts floored, negative counts give 0, NaN gives NaN
    np.testing.assert_array_equal(got.numpy(), [10.0, 0.0, 2.0, 0.0, math.nan, math.nan])


BINOMIAL = CaseTable()


@BINOMIAL.case
def binomial_broadcast_shape(L):
    return L.binomial(L.ones(2, 3) * 4, L.tensor([0.0, 1.0, 1.0]))


@BINOMIAL.case
def binomial_int_count(L):
    return L.binomial(L.tensor([1, 2]), L.tensor([0.5, 0.5]))


@BINOMIAL.case
def binomial_dtype_mismatch(L):
    return L.binomial(L.tensor([1.0]), L.tensor([0.5]).double())


@BINOMIAL.case
def binomial_has_no_derivative(L):
    y = L.binomial(L.tensor([3.0], requires_grad=True), L.tensor([0.5]))
    y.sum().backward()


@pytest.mark.parametrize("name", sorted(BINOMIAL))
def test_binomial_behaves_like_torch(name):
    check_behaviour(BINOMIAL[name])
