"""Indexing (ops/indexing.py, scatter.py, sorting.py): getitem/setitem, gather/scatter, masked
ops, sort/topk; values, gradients, grad_fn names, views and errors against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brickwork
from brickwork.autograd import gradcheck
from helpers import check_op, rand_array, requires_torch, torch

LONG = "int64"


def idx(*values):
    return np.array(values, dtype=LONG)


# Keys that do not need tensors (the same Python object works for both libraries).
PLAIN_KEYS = [
    0, -1, slice(None), slice(1, None), slice(None, None, 2), slice(-5, 10), slice(3, 1),
    (0, 1), (slice(None), 0), (Ellipsis, 1), (None, 0), (0, None), (None,), Ellipsis,
    (Ellipsis, None), (1, Ellipsis, slice(0, 2)), (slice(None), slice(None)), True, False,
    (0, True), [0, 2], [1, 1, 0], [[0, 1], [2, 2]], [-1], [], (slice(None), [0, 3, 3]),
    ([0, 1], [2, 3]), ([0, 2], slice(None), [1, 0]), (slice(None), 1, [0, 1]),
    (Ellipsis, [2, 2]), (None, [0, 1]), ([[0], [1]], [1, 2]),
]


@requires_torch
@pytest.mark.parametrize("key", PLAIN_KEYS, ids=repr)
def test_getitem_plain_keys(key):
    check_op(lambda L, x: x[key], [(3, 4, 5)])


TENSOR_KEYS = [  # (build key from lib and tensor, shape)
    (lambda L, x: x[L.tensor([0, 2, 2])], (3, 4)),
    (lambda L, x: x[L.tensor([[0], [1]]), L.tensor([1, 3])], (3, 4)),
    (lambda L, x: x[x > 0], (3, 4)),
    (lambda L, x: x[(x > 0)[:, 0]], (3, 4)),
    (lambda L, x: x[:, (x > 0)[0]], (3, 4)),
    (lambda L, x: x[x[:, :, 0] > 0], (3, 4, 2)),
    (lambda L, x: x[L.tensor(1)], (3, 4)),
    (lambda L, x: x[L.tensor(1), 2], (3, 4)),
    (lambda L, x: x[L.tensor([1], dtype=L.int32)], (3, 4)),
    (lambda L, x: x[L.tensor([], dtype=L.int64)], (3, 4)),
    (lambda L, x: x[x > 10], (3, 4)),
    (lambda L, x: x[None], ()),
    (lambda L, x: x[...], ()),
    (lambda L, x: x[0], (1, 0)),
    (lambda L, x: x[L.tensor([True, False, True])], (3,)),
    (lambda L, x: x[L.tensor(True)], (3,)),
    (lambda L, x: x[L.tensor([0, 1])][1:], (3,)),
]


@requires_torch
@pytest.mark.parametrize("fn,shape", TENSOR_KEYS)
def test_getitem_tensor_keys(fn, shape):
    check_op(fn, [shape])


def _basic_key(draw, shape):
    """A random basic key (ints, slices with positive steps, None, at most one Ellipsis)."""
    key, dims = [], list(shape)
    used_ellipsis = False
    while dims:
        kinds = ["int", "slice", "none"] + ([] if used_ellipsis else ["ellipsis", "stop"])
        kind = draw(st.sampled_from(kinds))
        if kind == "stop":
            break
        if kind == "none":
            key.append(None)
        elif kind == "ellipsis":
            # The ellipsis covers n dims; the items after it must then cover the rest exactly.
            used_ellipsis = True
            key.append(Ellipsis)
            dims = dims[draw(st.integers(0, len(dims))):]
        elif kind == "int" and dims[0] > 0:
            key.append(draw(st.integers(-dims[0], dims[0] - 1)))
            dims.pop(0)
        else:
            lo = draw(st.none() | st.integers(-6, 6))
            hi = draw(st.none() | st.integers(-6, 6))
            step = draw(st.none() | st.integers(1, 3))
            key.append(slice(lo, hi, step))
            dims.pop(0)
    return tuple(key)


@requires_torch
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=4), st.data())
def test_getitem_random_basic(shape, data):
    shape = tuple(shape)
    key = data.draw(st.composite(lambda draw: _basic_key(draw, shape))())
    check_op(lambda L, x: x[key], [shape])


@requires_torch
@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_getitem_random_advanced(shape, data):
    shape = tuple(shape)
    n_adv = data.draw(st.integers(1, len(shape)))
    start = data.draw(st.integers(0, len(shape) - n_adv))
    ishape = tuple(data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=2)))
    arrays = [data.draw(st.lists(st.integers(-shape[d], shape[d] - 1),
                                 min_size=int(np.prod(ishape)), max_size=int(np.prod(ishape))))
              for d in range(start, start + n_adv)]
    arrays = [np.array(a, dtype=LONG).reshape(ishape) for a in arrays]

    def fn(L, x):
        key = [slice(None)] * start + [L.tensor(a) for a in arrays]
        return x[tuple(key)]

    check_op(fn, [shape])


def test_getitem_numpy_expectations_and_gradcheck():
    a = rand_array((3, 4), "float64")
    x = brickwork.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x[1:, ::2].detach().numpy(), a[1:, ::2])
    np.testing.assert_array_equal(x[[0, 0, 2]].detach().numpy(), a[[0, 0, 2]])
    np.testing.assert_array_equal(x[x > 0].detach().numpy(), a[a > 0])
    x[[0, 0, 2], 1].sum().backward()  # repeated indices accumulate
    expected = np.zeros_like(a)
    expected[0, 1], expected[2, 1] = 2, 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    for fn in (lambda t: t[1:, None, ::2] ** 2, lambda t: t[[1, 1, 0], [0, 3, 3]] ** 2,
               lambda t: t[t > 0] ** 2, lambda t: t[..., 2] * t[:, 0]):
        assert gradcheck(fn, (x,))


# -- setitem -------------------------------------------------------------------------------------
SET_CASES = [
    lambda L, x, v: (x.__setitem__(0, v[0]), x)[1],
    lambda L, x, v: (x.__setitem__((slice(None), 1), v[:, 0]), x)[1],
    lambda L, x, v: (x.__setitem__([0, 2], v[:2]), x)[1],
    lambda L, x, v: (x.__setitem__(x > 0, v[x > 0] * 3), x)[1],
    lambda L, x, v: (x.__setitem__(Ellipsis, v), x)[1],
    lambda L, x, v: (x.__setitem__((0, slice(1, 3)), v[1, :2].sum()), x)[1],
]


@requires_torch
@pytest.mark.parametrize("fn", SET_CASES)
def test_setitem_recorded(fn):
    # x is a non-leaf, so the assignment is recorded and both inputs get gradients.
    check_op(lambda L, x, v: fn(L, x * 1, v * 2), [(3, 4), (3, 4)])


@requires_torch
@pytest.mark.parametrize("key", [0, (slice(None), 1), [0, 2], (Ellipsis, [1, 1]), (1, 2)])
@pytest.mark.parametrize("value", [1.5, "tensor", "row"])
def test_setitem_untracked(key, value):
    def fn(L, x):
        x = x.detach().clone()
        v = value
        if value == "tensor":
            v = L.tensor(7.0)
        elif value == "row":
            v = L.arange(4.0)[: x[key].shape[-1]] if x[key].dim() else L.tensor(3.0)
        x[key] = v
        return x

    check_op(fn, [(3, 4)], grad=[False])


@requires_torch
def test_setitem_inplace_add_through_key():
    def fn(L, x):
        y = x * 1
        y[0] += 1
        y[[1, 2]] *= x[0]
        y[:, 1:] += x[:, :1]
        y[1:, [0, 0]] -= 1
        return y

    check_op(fn, [(3, 4)])


def test_setitem_writes_storage_and_views():
    w = brickwork.zeros(2, 3, requires_grad=True)
    w.data[0, 0] = 42
    assert w[0, 0].item() == 42
    w.data[:] += 1
    assert w.sum().item() == 42 + 6
    with brickwork.no_grad():
        w[1] = 5
        w[0, 1:] += 2
    assert w.tolist() == [[43.0, 3.0, 3.0], [5.0, 5.0, 5.0]]
    x = brickwork.zeros(4)
    v = x[1:3]
    v[0] = 9  # writes through the view
    x[[3]] = 2
    assert x.tolist() == [0.0, 9.0, 0.0, 2.0]
    i = brickwork.zeros(3, dtype=brickwork.int64)
    i[0] = 2.7  # cast to the tensor's dtype, as torch
    assert i.tolist() == [2, 0, 0]


def test_setitem_value_requires_grad_makes_graph():
    x = brickwork.zeros(3)
    v = brickwork.tensor(2.0, requires_grad=True)
    x[1:] = v
    assert x.requires_grad and type(x.grad_fn).__name__ == "CopySlices"
    (x * brickwork.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert v.grad.item() == 5.0


def test_getitem_shares_memory():
    x = brickwork.arange(12.0).reshape(3, 4)
    x[1].data.fill_(0)
    x[:, 0].data.fill_(-1)
    assert x.tolist()[1] == [-1.0, 0.0, 0.0, 0.0] and x[2, 0].item() == -1
    y = x[[0]]  # advanced indexing copies
    y.data.fill_(100)
    assert x[0, 1].item() == 1


# -- grad_fn names -------------------------------------------------------------------------------
NAME_KEYS = [0, slice(1, None), None, Ellipsis, (Ellipsis, 0), [0, 1], True, slice(None),
             (slice(None), slice(None)), (0, slice(None)), (slice(1, None), slice(None)),
             (None, 0), (0, None), (slice(None), [1])]


@requires_torch
@pytest.mark.parametrize("key", NAME_KEYS, ids=repr)
def test_getitem_grad_fn_names(key):
    def name(L):
        y = L.ones(3, 4, requires_grad=True) * 1
        return type(y[key].grad_fn).__name__

    assert name(brickwork) == name(torch)


@requires_torch
@pytest.mark.parametrize("key", [0, [0, 1], (slice(None), 0)], ids=repr)
def test_setitem_grad_fn_names(key):
    def name(L):
        y = L.ones(3, 4, requires_grad=True) * 1
        y[key] = 0.0
        return type(y.grad_fn).__name__

    assert name(brickwork) == name(torch)


# -- gather / scatter / index_select / masked ----------------------------------------------------
IDX = rand_array((2, 3), LONG, 0, 3)
OPS = [
    ("gather", lambda L, x, i: L.gather(x, 1, i), [(2, 4), rand_array((2, 3), LONG, 0, 4)]),
    ("gather_small", lambda L, x, i: x.gather(0, i), [(3, 4), rand_array((2, 2), LONG, 0, 3)]),
    ("gather_neg_dim", lambda L, x, i: x.gather(-1, i), [(2, 3), IDX]),
    ("scatter", lambda L, x, i, s: x.scatter(1, i[:, :1], s[:, :1]), [(2, 4), IDX, (2, 3)]),
    ("scatter_value", lambda L, x, i: L.scatter(x, 0, i, 2.5), [(3, 3), IDX]),
    ("scatter_add", lambda L, x, i, s: x.scatter_add(1, i, s), [(2, 4), IDX, (2, 3)]),
    ("scatter_inplace", lambda L, x, i, s: (x * 1).scatter_(1, i[:, :1], s[:, 1:2]),
     [(2, 4), IDX, (2, 3)]),
    ("scatter_add_inplace", lambda L, x, i, s: (x * 1).scatter_add_(1, i, s),
     [(2, 4), IDX, (2, 3)]),
    ("index_select", lambda L, x, i: x.index_select(1, i), [(2, 4), idx(3, 0, 3)]),
    ("index_select_scalar_idx", lambda L, x, i: L.index_select(x, 0, i), [(2, 4), idx(1)[0]]),
    ("index_add", lambda L, x, i, s: x.index_add(0, i, s, alpha=2), [(3, 2), idx(0, 0), (2, 2)]),
    ("index_fill", lambda L, x, i: x.index_fill(1, i, -1.0), [(2, 3), idx(0, 2)]),
    ("masked_fill", lambda L, x: x.masked_fill(x > 0, 0.5), [(2, 3)]),
    ("masked_fill_bcast", lambda L, x: L.masked_fill(x, L.tensor([[True], [False]]), 1.0),
     [(3,)]),
    ("masked_fill_tensor", lambda L, x, v: x.masked_fill(x < 0, v.sum()), [(2, 3), (2,)]),
    ("masked_fill_inplace", lambda L, x: (x * 1).masked_fill_(x > 0, -2.0), [(2, 3)]),
    ("masked_select", lambda L, x: x.masked_select(x > 0), [(3, 4)]),
    ("masked_select_bcast", lambda L, x: L.masked_select(x, L.tensor([True, False, True])),
     [(2, 3)]),
    ("take", lambda L, x, i: L.take(x, i), [(3, 4), rand_array((2, 2), LONG, -12, 12)]),
    ("take_along_dim", lambda L, x, i: L.take_along_dim(x, i, 1),
     [(3, 4), rand_array((1, 2), LONG, 0, 4)]),
    ("take_along_dim_flat", lambda L, x, i: L.take_along_dim(x, i),
     [(3, 4), rand_array((5,), LONG, 0, 12)]),
    ("sort", lambda L, x: x.sort(), [(3, 5)]),
    ("sort_desc", lambda L, x: L.sort(x, 0, descending=True), [(3, 5)]),
    ("sort_scalar", lambda L, x: L.sort(x), [()]),
    ("argsort", lambda L, x: x.argsort(dim=0, descending=True), [(3, 5)]),
    ("topk", lambda L, x: x.topk(2), [(3, 5)]),
    ("topk_smallest", lambda L, x: L.topk(x, 3, dim=0, largest=False), [(4, 2)]),
    ("topk_zero", lambda L, x: x.topk(0), [(4,)]),
    # long rows: k taken from the groups with the largest maxima (sorting._first_k)
    ("topk_long_rows", lambda L, x: x.topk(10), [(16, 1024)]),
    ("topk_long_padded", lambda L, x: L.topk(x, 5, dim=0, largest=False), [(1000, 3)]),
    ("topk_long_many", lambda L, x: x.topk(40), [(2, 5000)]),
    ("nonzero", lambda L, x: L.nonzero(x > 0), [(3, 4)]),
    ("nonzero_tuple", lambda L, x: (x > 0).nonzero(as_tuple=True), [(3, 4)]),
    ("nonzero_scalar", lambda L, x: L.nonzero(x), [()]),
    ("argwhere", lambda L, x: L.argwhere(x), [rand_array((3, 2), LONG, 0, 2)]),
    ("unique", lambda L, x: L.unique(x), [rand_array((8,), LONG, 0, 4)]),
    ("unique_all", lambda L, x: x.unique(return_inverse=True, return_counts=True),
     [rand_array((2, 4), LONG, 0, 4)]),
]


@requires_torch
@pytest.mark.parametrize("fn,inputs", [c[1:] for c in OPS], ids=[c[0] for c in OPS])
def test_ops_against_torch(fn, inputs):
    check_op(fn, inputs)


@requires_torch
@pytest.mark.parametrize("fn,inputs", [c[1:] for c in OPS], ids=[c[0] for c in OPS])
def test_ops_grad_fn_names(fn, inputs):
    def names(L):
        ins = [L.tensor(rand_array(s) if isinstance(s, tuple) else s) for s in inputs]
        ins = [t.requires_grad_() * 1 if t.is_floating_point() else t for t in ins]
        outs = fn(L, *ins)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return [type(o.grad_fn).__name__ for o in outs]

    assert names(brickwork) == names(torch)


def test_sort_nan_and_named_tuple():
    x = brickwork.tensor([1.0, float("nan"), 3.0, -1.0])
    r = x.sort(descending=True)
    values, indices = r
    assert r.indices is indices and indices.tolist() == [1, 2, 0, 3]
    assert x.sort().indices.tolist() == [3, 0, 2, 1]
    assert repr(r).startswith("brickwork.return_types.sort(\nvalues=tensor(")
    t = x.topk(2)
    assert type(t).__name__ == "topk" and t.indices.tolist() == [1, 2]


def test_gather_scatter_numpy_and_gradcheck():
    a = rand_array((3, 4), "float64")
    i = np.array([[0, 3], [1, 1], [2, 0]])
    x = brickwork.tensor(a, requires_grad=True)
    it = brickwork.tensor(i)
    np.testing.assert_array_equal(x.gather(1, it).detach().numpy(),
                                  np.take_along_axis(a, i, 1))
    np.testing.assert_array_equal(x.index_select(0, brickwork.tensor([2, 0])).detach().numpy(),
                                  a[[2, 0]])
    src = brickwork.tensor(rand_array((3, 2), "float64", seed=3), requires_grad=True)
    for fn in (lambda t, s: t.gather(1, it) ** 2, lambda t, s: t.scatter_add(1, it, s) ** 2,
               lambda t, s: t.scatter(1, it[:, :1], s) ** 2,
               lambda t, s: t.masked_fill(t > 0, 1.0) * t,
               lambda t, s: t.sort(1).values * brickwork.arange(4.0, dtype=brickwork.float64),
               lambda t, s: t.topk(2, 0).values ** 2,
               lambda t, s: t.index_add(1, brickwork.tensor([1, 1]), s) ** 2):
        assert gradcheck(fn, (x, src))


# -- errors --------------------------------------------------------------------------------------
ERRORS = [
    lambda L: L.zeros(3)[5],
    lambda L: L.zeros(3, 4)[:, -7],
    lambda L: L.zeros(3, 4)[L.tensor([0, 5])],
    lambda L: L.zeros(2, 3, 4)[:, :, L.tensor([9])],
    lambda L: L.zeros(3, 4)[0, 0, 0],
    lambda L: L.zeros(3, 4)[L.tensor([1.0])],
    lambda L: L.zeros(3, 4)[L.tensor([True, False])],
    lambda L: L.zeros(3, 4)[:, L.tensor([True, False])],
    lambda L: L.zeros(3, 4)[::-1],
    lambda L: L.zeros(3, 4)[::0],
    lambda L: L.zeros(3, 4)[1.5],
    lambda L: L.zeros(3, 4).__setitem__(0, L.ones(3)),
    lambda L: L.zeros(3, 4).__setitem__([0, 1], L.ones(3)),
    lambda L: L.ones(3, requires_grad=True).__setitem__(0, 1.0),
    lambda L: L.zeros(2, 3).gather(1, L.zeros(2, 3, dtype=L.int16)),
    lambda L: L.zeros(2, 3).scatter(1, L.zeros(2, 3), 1.0),
    lambda L: L.take(L.zeros(2, 3), L.tensor([1], dtype=L.int32)),
    lambda L: L.tensor(2.0)[0],
    lambda L: L.tensor(2.0)[L.tensor([0, 0])],
    lambda L: L.zeros(2, 3).gather(1, L.zeros(2, dtype=L.int64)),
    lambda L: L.zeros(2, 3).gather(1, L.full((2, 3), 5)),
    lambda L: L.zeros(2, 3).gather(1, L.zeros(3, 3, dtype=L.int64)),
    lambda L: L.zeros(2, 3).scatter(1, L.zeros(2, 3, dtype=L.int64), L.zeros(2, 2)),
    lambda L: L.zeros(2, 3).scatter(1, L.zeros(2, 3, dtype=L.int64), L.zeros(2, 3).double()),
    lambda L: L.zeros(2, 3).index_select(1, L.tensor([[0]])),
    lambda L: L.zeros(2, 3).index_select(1, L.tensor([5])),
    lambda L: L.zeros(2, 3).index_select(1, L.tensor([0.0])),
    lambda L: L.zeros(2, 3).masked_fill(L.zeros(2, 3), 0.0),
    lambda L: L.zeros(2, 3).masked_fill(L.zeros(2, 3) > 0, L.zeros(2)),
    lambda L: L.zeros(2, 3).masked_fill(L.zeros(2, dtype=L.bool), 0.0),
    lambda L: L.zeros(2, 3).masked_select(L.zeros(2, 3)),
    lambda L: L.zeros(2, 3).topk(4),
    lambda L: L.take(L.zeros(2, 3), L.tensor([6])),
]


@requires_torch
@pytest.mark.parametrize("fn", ERRORS)
def test_errors_match_torch(fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as b_err:
        fn(brickwork)
    assert str(b_err.value) == str(t_err.value).replace("torch.", "brickwork.")


def test_errors_without_torch():
    x = brickwork.zeros(3)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x[5]
    with pytest.raises(IndexError, match="tensors used as indices must be long"):
        x[brickwork.tensor([0.0])]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        brickwork.zeros(2, requires_grad=True)[0] = 1.0
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        brickwork.zeros(3).expand(2, 3)[0] = 1.0


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_candidates_equal_the_stable_sort(dtype, largest):
    # the group-maxima shortcut gives the stable sort's first k, or None (ties at the k-th
    # group maximum, NaN, a k-th value at the padding's floor); never a different answer
    from brickwork.ops.sorting import _first_k, _order

    rng = np.random.default_rng(7)
    taken = 0
    for n, k, high in [(128, 2, 10**6), (1000, 5, 10**6), (1000, 100, 10**6), (777, 40, 10**6),
                       (4096, 10, 50), (300, 16, 3), (5000, 33, 10**6)]:
        if dtype.startswith("float"):
            a = rng.standard_normal((6, n)).astype(dtype)
            a[0, ::7] = a[0, 3]  # repeated values
        else:
            a = rng.integers(-high, high, (6, n)).astype(dtype)
        for axis in (1, 0):
            arr = a if axis == 1 else np.ascontiguousarray(a.T)
            got = _first_k(arr, axis, k, largest)
            want = np.take(_order(arr, axis, largest), np.arange(k), axis=axis)
            if got is not None:
                np.testing.assert_array_equal(got, want)
                taken += 1
    assert taken >= 8  # the shortcut ran, not only the fallback
    nan = rng.standard_normal((2, 500))
    nan[1, 3] = np.nan
    assert _first_k(nan, 1, 4, True) is None
    floor = np.full((1, 500), -np.inf)
    floor[0, :2] = 1.0  # the 4th value is the padding's floor: ties it cannot order
    assert _first_k(floor, 1, 4, True) is None


@requires_torch
@pytest.mark.parametrize("dim,shape,reads", [(0, (40, 32), 300), (1, (3, 50, 20), 400),
                                             (0, (6, 17), 1000), (1, (8, 300), 900)])
def test_index_select_gradient_bits_as_torch(dim, shape, reads):
    # repeated indices: each input position's readers added onto zeros in reading order, as
    # PyTorch's index_add_ does (the rounds of _util.gather_grad), so the same bits, signed
    # zeros included; (6, 17) read 1000 times (too many rounds) and reads along the last axis
    # take the reduceat path, which need only agree to rounding
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, shape[dim], reads)
    g_shape = list(shape)
    g_shape[dim] = reads
    g = (rng.standard_normal(g_shape) * 10.0 ** rng.integers(-3, 4, g_shape)).astype(np.float32)
    g.reshape(-1)[::13] = -0.0
    bx = brickwork.tensor(x, requires_grad=True)
    brickwork.index_select(bx, dim, brickwork.tensor(idx)).backward(brickwork.tensor(g))
    tx = torch.tensor(x, requires_grad=True)
    torch.index_select(tx, dim, torch.tensor(idx)).backward(torch.tensor(g))
    got, want = bx.grad.numpy(), tx.grad.numpy()
    if reads // shape[dim] < 64 and int(np.prod(shape[dim + 1:])) >= 16:
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(g).max())
