"""Reductions and scans against PyTorch (check_op), NumPy expectations and finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import brickwork
from brickwork.autograd import gradcheck
from helpers import check_error, check_op, rand_array, to_brick

SHAPES = [(), (0,), (4,), (2, 3), (2, 0, 3), (2, 3, 4)]
DIMS = [None, 0, -1, (0, -1)]


def _cases(shapes=SHAPES, dims=DIMS):
    """(shape, dim) pairs where ``dim`` is valid for ``shape``."""
    out = []
    for s in shapes:
        for d in dims:
            ds = d if isinstance(d, tuple) else (d,)
            if d is not None and len(s) == 0 and isinstance(d, tuple):
                continue
            n = max(len(s), 1)
            if d is not None and any(not -n <= x < n for x in ds):
                continue
            if d is not None and len({x % n for x in ds}) < len(ds):
                continue  # the same dim twice is an error (tested separately)
            out.append((s, d))
    return out


def _kw(dim, keepdim=False):
    return {} if dim is None else {"dim": dim, "keepdim": keepdim}


@pytest.mark.parametrize("shape,dim", _cases())
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_mean(shape, dim, keepdim, op):
    check_op(lambda lib, x: getattr(x, op)(**_kw(dim, keepdim)), [shape])
    check_op(lambda lib, x: getattr(lib, op)(x, **_kw(dim, keepdim)), [shape])


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool", "float16", "float64"])
@pytest.mark.parametrize("dim", [None, 1])
def test_sum_dtypes(dtype, dim):
    # integers and bools sum to int64; float16 keeps its dtype
    check_op(lambda lib, x: x.sum(**_kw(dim)), [rand_array((3, 4), dtype, 0, 5)], atol=1e-2)
    check_op(lambda lib, x: lib.sum(x, **_kw(dim), dtype=lib.float64),
             [rand_array((3, 4), dtype, 0, 5)])


def test_mean_dtype_argument_and_int_error():
    ints = rand_array((3, 4), "int64", 0, 9)
    check_op(lambda lib, x: x.mean(dtype=lib.float32), [ints])
    check_error(lambda lib, x: x.mean(), [ints])


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_grad_fn_names(op):
    x = brickwork.ones(2, 3, requires_grad=True)
    assert type(getattr(x, op)().grad_fn).__name__ == f"{op.capitalize()}Backward0"
    assert type(getattr(x, op)(1).grad_fn).__name__ == f"{op.capitalize()}Backward1"


@pytest.mark.parametrize("shape,dim", _cases())
def test_sum_mean_numpy(shape, dim):
    a = rand_array(shape, "float64")
    axis = None if dim is None or not shape else dim
    np.testing.assert_allclose(to_brick(a).sum(**_kw(dim))._host(), a.sum(axis=axis))
    if a.size:
        np.testing.assert_allclose(to_brick(a).mean(**_kw(dim))._host(), a.mean(axis=axis))


@pytest.mark.parametrize("bad", [
    lambda lib, x: x.sum(2), lambda lib, x: x.sum(-3), lambda lib, x: x.mean((0, 0)),
    lambda lib, x: x.max(5), lambda lib, x: x.amax(2), lambda lib, x: x.argmax(-3),
    lambda lib, x: x.var(2), lambda lib, x: x.cumsum(2), lambda lib, x: x.logsumexp(4),
    lambda lib, x: x.prod(2), lambda lib, x: x.std((1, -1)), lambda lib, x: x.all(3),
])
def test_bad_dims(bad):
    check_error(bad, [(2, 3)])


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin", "argmax"])
def test_empty_full_reduction_errors(op):
    check_error(lambda lib, x: getattr(x, op)(), [(0, 3)])
    check_error(lambda lib, x: getattr(x, op)(0), [(0, 3)])


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 3, 4), (2, 0)])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_prod(shape, dim):
    if shape == (2, 0) and dim is None:
        dim = 1
    check_op(lambda lib, x: x.prod(**_kw(dim)), [shape])


def test_prod_with_zeros():
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 5.0]], dtype="float32")
    check_op(lambda lib, x: x.prod(1), [a])
    check_op(lambda lib, x: x.prod(), [a[0]])
    check_op(lambda lib, x: lib.prod(x, 0, keepdim=True), [a])
    check_op(lambda lib, x: x.prod(), [rand_array((3, 4), "int64", -3, 3)])


@pytest.mark.parametrize("shape,dim", _cases(dims=[0, -1]))
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim(shape, dim, keepdim, op):
    if 0 in shape and shape[dim] == 0:
        pytest.skip("reduction over an empty dim raises (tested separately)")
    out = check_op(lambda lib, x: getattr(lib, op)(x, dim, keepdim), [shape])
    assert len(out) == 2


@pytest.mark.parametrize("op", ["max", "min", "amax", "amin"])
def test_full_max_min_ties_split_gradient(op):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype="float32")
    a = a if op in ("max", "amax") else -a
    check_op(lambda lib, x: getattr(x, op)(), [a])
    check_op(lambda lib, x: lib.amax(x, 1) if op.endswith("max") else lib.amin(x, 1), [a])
    check_op(lambda lib, x: getattr(x, op)(dim=0) if op.startswith("a")
             else getattr(x, op)(0).values, [a])


def test_max_return_type():
    x = brickwork.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    res = x.max(dim=1)
    values, indices = res
    assert res.values is values and res.indices is indices
    assert type(res).__name__ == "max"
    assert repr(res).startswith("brickwork.return_types.max(\nvalues=tensor([5., 7.]")
    assert indices.dtype == brickwork.int64 and not indices.requires_grad
    assert type(values.grad_fn).__name__ == "MaxBackward0"
    assert type(x.max().grad_fn).__name__ == "MaxBackward1"


def test_max_binary_form_and_ints():
    check_op(lambda lib, x, y: lib.max(x, y), [(2, 3), (3,)])
    check_op(lambda lib, x, y: lib.min(x, y), [(2, 3), (2, 1)])
    ints = rand_array((3, 4), "int64", -5, 5)
    check_op(lambda lib, x: (x.max(), *x.min(1), x.amax(0), x.argmin(1)), [ints])


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (3, 1, 4)])
@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(shape, dim, keepdim):
    check_op(lambda lib, x: (x.argmax(dim, keepdim), lib.argmin(x, dim=dim, keepdim=keepdim)),
             [shape])


def test_argmax_first_of_ties():
    a = np.array([[1, 3, 3], [2, 2, 0]], dtype="float32")
    check_op(lambda lib, x: (x.argmax(), x.argmax(1), x.argmin(0)), [a])


@pytest.mark.parametrize("shape,dim", _cases(shapes=[(4,), (2, 3), (2, 3, 4)]))
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("kw", [{}, {"unbiased": False}, {"correction": 0},
                                {"correction": 2, "keepdim": True}])
def test_var_std(shape, dim, op, kw):
    check_op(lambda lib, x: getattr(lib, op)(x, dim, **kw), [shape])


def test_var_std_edge_cases():
    check_op(lambda lib, x: (lib.var(x, False), lib.std(x, 1, True, True)), [(3, 4)])
    check_op(lambda lib, x: x.var(), [(1,)])  # n - correction == 0: NaN like torch
    check_op(lambda lib, x: x.std(), [np.ones(3, dtype="float32")])  # zero std: zero grad
    check_op(lambda lib, x: lib.var_mean(x, 1), [(3, 4)])
    check_op(lambda lib, x: lib.std_mean(x, (0, 1), keepdim=True), [(3, 4)])
    check_error(lambda lib, x: x.var(), [rand_array((3,), "int64")])


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int64", "float32"])
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("op", ["all", "any", "count_nonzero"])
def test_logical_reductions(dtype, dim, op):
    a = rand_array((3, 4), dtype, 0, 2)
    check_op(lambda lib, x: getattr(lib, op)(x, dim) if dim is not None else getattr(x, op)(),
             [a], grad=[False])


@pytest.mark.parametrize("op", ["all", "any"])
def test_logical_reductions_empty_and_keepdim(op):
    check_op(lambda lib, x: (getattr(x, op)(), getattr(x, op)(1, keepdim=True)),
             [np.zeros((2, 0), dtype=bool)])


@pytest.mark.parametrize("shape,dim", _cases(shapes=[(), (4,), (2, 3), (2, 3, 4)],
                                             dims=[0, -1, (0, -1)]))
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(shape, dim, keepdim):
    check_op(lambda lib, x: lib.logsumexp(x, dim, keepdim), [shape])


def test_logsumexp_large_and_infinite_inputs_stay_finite():
    a = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf]], dtype="float32")
    check_op(lambda lib, x: x.logsumexp(1), [a], grad=[False])
    check_op(lambda lib, x: x.logsumexp(1), [a[:1]])
    check_op(lambda lib, x: x.logsumexp(0), [rand_array((3,), "int64")])


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4), (0, 3)])
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumulative(shape, op):
    for dim in ([0] if len(shape) < 2 else [0, -1]):
        check_op(lambda lib, x: getattr(x, op)(dim), [shape])


@pytest.mark.parametrize("dtype", ["float32", "complex64", "float64"])
def test_cumsum_bits_as_torch(dtype):
    # PyTorch sums float32 (complex64) in double and rounds each output: the same bits here,
    # forward and backward (a float32 running sum differed in most values of long rows)
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 3000))
    if dtype == "complex64":
        a = a + 1j * rng.standard_normal((6, 3000))
    a = a.astype(dtype)
    for dim in (0, 1):
        bx, tx = brickwork.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        by, ty = bx.cumsum(dim), tx.cumsum(dim)
        by.backward(brickwork.tensor(a))
        ty.backward(torch.tensor(a))
        np.testing.assert_array_equal(by.detach().numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(bx.grad.numpy(), tx.grad.numpy())


def test_cumulative_dtypes_and_zeros():
    ints = rand_array((2, 5), "int32", -3, 3)
    check_op(lambda lib, x: (x.cumsum(1), x.cumprod(0), x.cumsum(0, dtype=lib.float64)), [ints])
    a = np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 1.0, 2.0, 3.0, 4.0]], dtype="float32")
    check_op(lambda lib, x: x.cumprod(1), [a])


@pytest.mark.parametrize("shape", [(1,), (5,), (2, 3), (4, 3)])
def test_median(shape):
    check_op(lambda lib, x: x.median(), [shape])
    check_op(lambda lib, x: lib.median(x, -1), [shape])
    check_op(lambda lib, x: x.median(0, keepdim=True), [shape])


def test_median_ties():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype="float32")
    # (which tied element the full median picks is unspecified in torch: not compared)
    check_op(lambda lib, x: tuple(x.median(1)), [a])


def test_nansum():
    a = np.array([[1.0, np.nan, 2.0], [np.nan, 3.0, 4.0]], dtype="float32")
    check_op(lambda lib, x: (x.nansum(), lib.nansum(x, 1)), [a], grad=[False])


# -- without torch: finite differences and NumPy expectations ----------------------------------
def _f64(shape, seed=0, requires_grad=True):
    return brickwork.tensor(rand_array(shape, "float64", 0.5, 2.0, seed=seed),
                            requires_grad=requires_grad)


@pytest.mark.parametrize("fn", [
    lambda x: x.sum(), lambda x: x.sum((0, 2), keepdim=True), lambda x: x.mean(1),
    lambda x: x.prod(1), lambda x: x.prod(), lambda x: x.amax(1), lambda x: x.max(0).values,
    lambda x: x.min(-1).values, lambda x: x.var(1), lambda x: x.std((0, 1)),
    lambda x: x.logsumexp(2), lambda x: x.cumsum(1), lambda x: x.cumprod(2),
    lambda x: x.median(1).values, lambda x: x.median(), lambda x: x.max(),
], ids=lambda f: f.__code__.co_firstlineno)
def test_gradcheck(fn):
    assert gradcheck(fn, (_f64((2, 3, 2)),))


def test_numpy_expectations():
    a = rand_array((3, 4), "float64", seed=3)
    x = to_brick(a)
    np.testing.assert_allclose(x.prod(0)._host(), a.prod(0))
    np.testing.assert_allclose(x.var(1)._host(), a.var(1, ddof=1))
    np.testing.assert_allclose(x.std(correction=0)._host(), a.std())
    np.testing.assert_array_equal(x.max(1).indices._host(), a.argmax(1))
    np.testing.assert_allclose(x.logsumexp(1)._host(), np.log(np.exp(a).sum(1)))
    np.testing.assert_allclose(x.cumprod(1)._host(), np.cumprod(a, 1))
    np.testing.assert_allclose(x.median()._host(), np.sort(a.ravel())[(a.size - 1) // 2])


@st.composite
def _array_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4))
    dims = draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    return shape, tuple(dims)


@settings(max_examples=40, deadline=None)
@given(_array_and_dims(), st.booleans())
def test_hypothesis_sum_mean_vs_numpy(case, keepdim):
    shape, dims = case
    a = rand_array(shape, "float64")
    x = to_brick(a, requires_grad=True)
    axis = dims if dims else None
    s = x.sum(dims, keepdim) if dims else x.sum()
    np.testing.assert_allclose(s._host(), a.sum(axis=axis, keepdims=keepdim and bool(dims)))
    s.sum().backward()
    np.testing.assert_array_equal(x.grad._host(), np.ones(shape))
    if a.size:
        m = x.mean(dims, keepdim) if dims else x.mean()
        np.testing.assert_allclose(m._host(), a.mean(axis=axis, keepdims=keepdim and bool(dims)))


@pytest.mark.parametrize("shape,dim", [((2, 4), 1), ((3, 4, 2), 1), ((5,), 0), ((3, 2000), 1),
                                       ((4, 3, 1500), 1)])
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_dim_values_are_the_elements_at_the_index(shape, dim, op):
    # the values are read at the indices (signed zeros as PyTorch returns them, first of equal
    # values), by one fancy index for small inputs and take_along_axis for large ones
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a = rng.integers(-2, 3, shape).astype(np.float32) * 0.0  # +0.0 and -0.0 only
    a.reshape(-1)[::3] = rng.standard_normal(a.size)[::3].astype(np.float32)
    a.reshape(-1)[::7] = -0.0
    for keepdim in (False, True):
        got = getattr(brickwork, op)(brickwork.tensor(a), dim, keepdim)
        want = getattr(torch, op)(torch.tensor(a), dim, keepdim)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(np.signbit(got.values.numpy()),
                                      np.signbit(want.values.numpy()))
