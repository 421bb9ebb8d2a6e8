"""The remaining composite ops (ops/misc_extra.py and its _misc_* files): values, dtypes,
shapes and gradients against PyTorch, errors alike, plus NumPy and finite-difference checks
that run without PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import brickwork
from brickwork.autograd import gradcheck
from helpers import check_behaviour, check_op, rand_array

F64 = "float64"
INF = float("inf")


def _f64(shape, seed=0, low=-2.0, high=2.0):
    return rand_array(shape, F64, low=low, high=high, seed=seed)


def _ints(values):
    return np.array(values, np.int64)


# (id, fn(lib, *tensors), inputs) -- differentiable ops, checked with gradients
GRAD_CASES = [
    ("cummax", lambda L, x: L.cummax(x, 1), [(3, 5)]),
    ("cummax_values", lambda L, x: x.cummax(0).values, [(5, 2)]),
    ("cummin", lambda L, x: L.cummin(x, -1), [(2, 6)]),
    ("cummax_ties", lambda L, x: L.cummax(x, 0),
     [np.array([1., 1., 0., 1., 3., 3.], np.float32)]),
    ("cummax_scalar", lambda L, x: L.cummax(x, 0), [()]),
    ("logcumsumexp", lambda L, x: L.logcumsumexp(x, 1), [_f64((2, 7))]),
    ("logcumsumexp_method", lambda L, x: x.logcumsumexp(0), [(5, 3)]),
    ("logcumsumexp_wide", lambda L, x: L.logcumsumexp(x, 0),
     [np.array([-1000., 0., 1000., 2.], np.float64)]),
    ("diff", lambda L, x: L.diff(x), [(3, 5)]),
    ("diff_n_dim", lambda L, x: x.diff(n=2, dim=0), [(5, 3)]),
    ("diff_append", lambda L, x, a, p: L.diff(x, dim=0, prepend=p, append=a),
     [(2, 3), (1, 3), (2, 3)]),
    ("trapezoid", lambda L, y: L.trapezoid(y), [(3, 5)]),
    ("trapezoid_dx", lambda L, y: L.trapezoid(y, dx=0.5, dim=0), [(4, 2)]),
    ("trapezoid_x", lambda L, y, x: L.trapezoid(y, x), [(2, 5), (5,)]),
    ("trapezoid_xnd", lambda L, y, x: L.trapezoid(y, x, dim=0), [(4, 3), (4, 3)]),
    ("trapz", lambda L, y, x: L.trapz(y, x), [(2, 5), (5,)]),
    ("trapz_dx", lambda L, y: L.trapz(y, dx=2.0), [(2, 5)]),
    ("cumulative_trapezoid", lambda L, y: L.cumulative_trapezoid(y, dx=0.5), [(2, 5)]),
    ("cumulative_trapezoid_x", lambda L, y, x: L.cumulative_trapezoid(y, x), [(2, 5), (5,)]),
    ("cross", lambda L, a, b: L.cross(a, b, dim=1), [(4, 3), (4, 3)]),
    ("cross_bcast", lambda L, a, b: L.cross(a, b, dim=-1), [(1, 3), (2, 3)]),
    ("cross_dim0", lambda L, a, b: a.cross(b, 0), [(3, 2), (3, 2)]),
    ("kron", lambda L, a, b: L.kron(a, b), [(2, 3), (3, 2)]),
    ("kron_ranks", lambda L, a, b: a.kron(b), [(2,), (2, 1, 3)]),
    ("tensordot", lambda L, a, b: L.tensordot(a, b, dims=2), [(2, 3, 4), (3, 4, 2)]),
    ("tensordot_lists", lambda L, a, b: L.tensordot(a, b, dims=([0, 2], [1, 0])),
     [(2, 3, 4), (4, 2, 5)]),
    ("tensordot_zero", lambda L, a, b: L.tensordot(a, b, dims=0), [(2,), (3,)]),
    ("inner", lambda L, a, b: L.inner(a, b), [(2, 3), (4, 3)]),
    ("inner_scalar", lambda L, a, b: a.inner(b), [(), (3,)]),
    ("vdot", lambda L, a, b: L.vdot(a, b), [(4,), (4,)]),
    ("baddbmm", lambda L, i, a, b: L.baddbmm(i, a, b, beta=0.5, alpha=2), [(3, 1), (2, 3, 4),
                                                                             (2, 4, 2)]),
    ("baddbmm_beta0", lambda L, i, a, b: i.baddbmm(a, b, beta=0),
     [np.full((2, 3, 2), np.nan, np.float32), (2, 3, 4), (2, 4, 2)]),
    ("addbmm", lambda L, i, a, b: L.addbmm(i, a, b, alpha=0.5), [(3, 2), (2, 3, 4),
                                                                 (2, 4, 2)]),
    ("addmv", lambda L, i, m, v: L.addmv(i, m, v, beta=2), [(1,), (3, 4), (4,)]),
    ("addr", lambda L, i, a, b: i.addr(a, b, beta=0.5, alpha=2), [(2, 3), (2,), (3,)]),
    ("cdist", lambda L, a, b: L.cdist(a, b, p=2, compute_mode="donot_use_mm_for_euclid_dist"),
     [_f64((3, 4)), _f64((5, 4), seed=2)]),
    ("cdist_p1", lambda L, a, b: L.cdist(a, b, p=1), [(2, 3, 4), (2, 5, 4)]),
    ("cdist_p3", lambda L, a, b: L.cdist(a, b, p=3.0), [(3, 4), (2, 4)]),
    ("cdist_inf", lambda L, a, b: L.cdist(a, b, p=INF), [(3, 4), (2, 4)]),
    ("cdist_mm", lambda L, a, b: L.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
     [_f64((3, 4)), _f64((2, 4), seed=3)]),
    ("cdist_big", lambda L, a, b: L.cdist(a, b), [_f64((30, 3)), _f64((4, 3), seed=4)]),
    ("dist", lambda L, a, b: L.dist(a, b), [(2, 3), (3,)]),
    ("dist_p", lambda L, a, b: a.dist(b, p=3), [(2, 3), (2, 3)]),
    ("dist_inf", lambda L, a, b: a.dist(b, INF), [(2, 3), (2, 3)]),
    ("renorm", lambda L, x: L.renorm(x, 2, 0, 1.5), [_f64((3, 4))]),
    ("renorm_p1", lambda L, x: x.renorm(1, 1, 2.0), [(3, 2, 2)]),
    ("cov", lambda L, x: L.cov(x), [_f64((3, 6))]),
    ("cov_1d", lambda L, x: x.cov(correction=0), [(6,)]),
    ("cov_weights", lambda L, x, a: L.cov(x, fweights=L.tensor([1, 2, 1, 3]), aweights=a),
     [(2, 4), rand_array((4,), low=0.5, high=2.0, seed=5)]),
    ("corrcoef", lambda L, x: L.corrcoef(x), [_f64((3, 6))]),
    ("block_diag", lambda L, a, b, c: L.block_diag(a, b, c), [(), (3,), (2, 2)]),
    ("cartesian_prod", lambda L, a, b: L.cartesian_prod(a, b), [(2,), (3,)]),
    ("combinations", lambda L, x: L.combinations(x), [(4,)]),
    ("combinations_r3", lambda L, x: L.combinations(x, 3, with_replacement=True), [(3,)]),
    ("meshgrid_ij", lambda L, a, b: L.meshgrid(a, b, indexing="ij"), [(2,), (3,)]),
    ("meshgrid_xy", lambda L, a, b, c: L.meshgrid([a, b, c], indexing="xy"), [(2,), (3,), ()]),
    ("repeat_interleave", lambda L, x: L.repeat_interleave(x, 2), [(2, 3)]),
    ("repeat_interleave_dim", lambda L, x: x.repeat_interleave(L.tensor([1, 0, 2]), dim=1,
                                                                output_size=3), [(2, 3)]),
    ("repeat_interleave_one", lambda L, x: x.repeat_interleave(L.tensor([3]), 0), [(2, 2)]),
    ("rot90", lambda L, x: L.rot90(x), [(2, 3)]),
    ("rot90_k", lambda L, x: x.rot90(3, [1, 2]), [(2, 3, 4)]),
    ("rot90_neg", lambda L, x: x.rot90(-2, (0, -1)), [(2, 3)]),
    ("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b), [(2, 1), (3,)]),
    ("diag_embed", lambda L, x: L.diag_embed(x), [(2, 3)]),
    ("diag_embed_offset", lambda L, x: x.diag_embed(-1, 0, 2), [(2, 3)]),
    ("diag_embed_swap", lambda L, x: x.diag_embed(2, dim1=-1, dim2=0), [(3,)]),
    ("diagflat", lambda L, x: L.diagflat(x, 1), [(2, 2)]),
    ("narrow_copy", lambda L, x: x.narrow_copy(1, 1, 2), [(2, 4)]),
    ("chain_matmul", lambda L, a, b, c: L.chain_matmul(a, b, c), [(2, 3), (3, 4), (4, 2)]),
    ("methods", lambda L, i, a, b, m, v: (
        i.addbmm(a, b, beta=0.5), v.addmv(m, v, alpha=2), m.corrcoef(), v.diagflat(-1),
        v.vdot(v * 2), m.cummin(1).values), [(3, 2), (2, 3, 4), (2, 4, 2), (3, 3), (3,)]),
]


# PyTorch has no second derivative for cdist's direct (non-matmul) form.
FIRST_ORDER_ONLY = {"cdist", "cdist_p1", "cdist_p3", "cdist_inf"}


@pytest.mark.parametrize("name,fn,inputs", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_against_torch(name, fn, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # chain_matmul's deprecation
        check_op(fn, inputs, second_order=name not in FIRST_ORDER_ONLY)


# (id, fn(lib, *tensors), inputs) -- integer, bool and other non-differentiable results
VALUE_CASES = [
    ("histc", lambda L, x: L.histc(x, bins=5), [(20,)]),
    ("histc_range", lambda L, x: x.histc(4, min=-1, max=1), [(3, 7)]),
    ("histc_const", lambda L, x: L.histc(x, 4), [np.ones(3, np.float32)]),
    ("histc_f64", lambda L, x: L.histc(x, 6, -2, 2), [_f64((50,))]),
    ("histogram", lambda L, x: L.histogram(x, 5), [(20,)]),
    ("histogram_range", lambda L, x, w: x.histogram(4, range=(-1.0, 1.0), weight=w,
                                                    density=True), [(10,), (10,)]),
    ("histogram_edges", lambda L, x: L.histogram(x, L.tensor([-2.0, -0.5, 0.0, 2.0])),
     [(20,)]),
    ("bincount", lambda L, x: L.bincount(x), [_ints([1, 2, 1, 5])]),
    ("bincount_minlength", lambda L, x: x.bincount(minlength=8), [_ints([1, 2, 1, 5])]),
    ("bincount_weights", lambda L, x, w: L.bincount(x, w), [_ints([1, 2, 1]), (3,)]),
    ("bincount_int_weights", lambda L, x, w: L.bincount(x, w), [_ints([1, 2, 1]),
                                                                 _ints([1, 2, 3])]),
    ("bincount_empty", lambda L, x: L.bincount(x, minlength=3), [np.zeros(0, np.int64)]),
    ("bucketize", lambda L, x, b: L.bucketize(x, b), [_ints([[0, 1, 3, 6]]), _ints([1, 3, 5])]),
    ("bucketize_right", lambda L, x, b: L.bucketize(x, b, right=True, out_int32=True),
     [_ints([0, 1, 3, 6]), _ints([1, 3, 5])]),
    ("bucketize_scalar", lambda L, b: L.bucketize(3, b), [_ints([1, 3, 5])]),
    ("searchsorted", lambda L, s, v: L.searchsorted(s, v), [_ints([1, 3, 5, 7]),
                                                            _ints([[3, 6], [9, 0]])]),
    ("searchsorted_nd", lambda L, s, v: L.searchsorted(s, v, right=True),
     [_ints([[1, 3, 5], [2, 4, 6]]), _ints([[3], [3]])]),
    ("searchsorted_side", lambda L, s: L.searchsorted(s, 3, side="right"), [_ints([1, 3, 5])]),
    ("searchsorted_sorter", lambda L, s, v, o: L.searchsorted(s, v, sorter=o),
     [_ints([5, 1, 3]), _ints([3, 4]), _ints([1, 2, 0])]),
    ("searchsorted_float", lambda L, s, v: L.searchsorted(s, v, out_int32=True),
     [np.array([1., 3., 5.], np.float32), _ints([3])]),
    ("isin", lambda L, a, b: L.isin(a, b), [_ints([[1, 2], [3, 4]]), _ints([2, 3, 9])]),
    ("isin_invert", lambda L, a, b: L.isin(a, b, invert=True), [_ints([1, 2, 3]), _ints([2])]),
    ("isin_scalar", lambda L, a: L.isin(a, 2), [_ints([1, 2, 3])]),
    ("isin_scalar_elements", lambda L, b: L.isin(2, b), [_ints([1, 2, 3])]),
    ("isin_mixed", lambda L, a, b: L.isin(a, b), [np.array([1., 2.5, 3.], np.float32),
                                                  _ints([1, 3])]),
    ("unique_consecutive", lambda L, x: L.unique_consecutive(x, return_inverse=True,
                                                            return_counts=True),
     [_ints([[1, 1, 2], [2, 3, 1]])]),
    ("unique_consecutive_plain", lambda L, x: x.unique_consecutive(), [_ints([1, 1, 2, 2])]),
    ("unique_consecutive_dim", lambda L, x: L.unique_consecutive(x, return_counts=True, dim=0),
     [_ints([[1, 1], [1, 1], [2, 3]])]),
    ("unique_consecutive_scalar", lambda L, x: L.unique_consecutive(x, return_inverse=True),
     [np.array(3)]),
    ("tril_indices", lambda L: L.tril_indices(3, 4, 1), []),
    ("triu_indices", lambda L: L.triu_indices(4, 3, -1, dtype=L.int32), []),
    ("triu_indices_empty", lambda L: L.triu_indices(0, 3), []),
    ("combinations_empty", lambda L, x: L.combinations(x, r=3), [_ints([1, 2])]),
    ("combinations_r0", lambda L, x: L.combinations(x, r=0), [_ints([1, 2])]),
    ("repeat_interleave_counts", lambda L, c: L.repeat_interleave(c), [_ints([1, 0, 2])]),
    # PyTorch 2.13's vander cannot backpropagate (an in-place cumprod): gradcheck below.
    ("vander", lambda L, x: L.vander(x), [rand_array((4,), low=0.5, high=1.5)]),
    ("vander_n", lambda L, x: L.vander(x, N=5, increasing=True),
     [rand_array((3,), low=0.5, high=1.5)]),
    ("vander_int", lambda L, x: L.vander(x), [np.array([1, 2, 3], np.int32)]),
    ("vander_zero", lambda L, x: L.vander(x, N=0), [(3,)]),
    ("diff_bool", lambda L, x: L.diff(x), [np.array([True, False, False])]),
    ("diff_int_prepend", lambda L, x, p: L.diff(x, prepend=p),
     [_ints([1, 2]), np.array([1.5], np.float32)]),
    ("diff_n_large", lambda L, x: L.diff(x, n=3), [_ints([1, 2])]),
    ("trapezoid_int", lambda L, y: L.trapezoid(y), [_ints([1, 2, 4])]),
    ("trapezoid_empty", lambda L, y: L.trapezoid(y), [np.zeros(0, np.float32)]),
    ("cumulative_trapezoid_int", lambda L, y: L.cumulative_trapezoid(y), [_ints([1, 2, 4])]),
    ("cummax_int", lambda L, x: L.cummax(x, 0), [_ints([1, 1, 0, 1])]),
    ("cummin_bool", lambda L, x: L.cummin(x, 0), [np.array([True, False, True])]),
    ("cummax_nan", lambda L, x: L.cummax(x, 0),
     [np.array([1., np.nan, 2., 0.5, np.nan], np.float32)]),
    ("cummin_nan", lambda L, x: L.cummin(x, 0), [np.array([1., 0., np.nan, -1], np.float32)]),
    ("kron_int", lambda L, a, b: L.kron(a, b), [_ints([1, 2]), _ints([[1, 10]])]),
    ("baddbmm_int", lambda L, i, a, b: L.baddbmm(i, a, b, beta=2, alpha=3),
     [_ints([[[1]]]), np.ones((2, 2, 3), np.int64), np.ones((2, 3, 2), np.int64)]),
    ("cov_int", lambda L, x: L.cov(x), [_ints([[1, 2, 4], [3, 1, 0]])]),
    ("corrcoef_1d", lambda L, x: L.corrcoef(x), [np.array([1., 2., 4.], np.float32)]),
    ("block_diag_promote", lambda L, a, b: L.block_diag(a, b),
     [_ints([[1, 2]]), np.array([0.5], np.float64)]),
    ("cartesian_prod_one", lambda L, a: L.cartesian_prod(a), [_ints([1, 2])]),
    ("broadcast_tensors_list", lambda L, a, b: L.broadcast_tensors(*[a, b]),
     [_ints([1, 2]), _ints([[3], [4]])]),
]


@pytest.mark.parametrize("name,fn,inputs", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_against_torch(name, fn, inputs):
    check_op(fn, inputs, grad=[False] * len(inputs))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, INF, 0.0, 0.5])
@pytest.mark.parametrize("mode", ["donot_use_mm_for_euclid_dist", "use_mm_for_euclid_dist"])
def test_cdist_gradient_at_ties_and_zeros(p, mode):
    # An identical pair of rows, a zero difference in one column, tied largest differences.
    a = np.array([[1., 2.], [0., 0.], [3., -1.]], np.float64)
    b = np.array([[1., 2.], [0., 1.]], np.float64)
    check_op(lambda L, x, y: L.cdist(x, y, p=p, compute_mode=mode), [a, b], second_order=False)


def test_tensor_methods_as_torch():
    torch = pytest.importorskip("torch")
    from brickwork.ops import misc_extra

    for name in misc_extra.__all__:
        for attr in (name, name + "_"):
            assert hasattr(brickwork.Tensor, attr) == hasattr(torch.Tensor, attr), attr


def test_histogram_returns_named_tuple():
    x = brickwork.tensor([1.0, 2.0, 1.0])
    res = brickwork.histogram(x, bins=4)
    assert res.hist.tolist() == [2.0, 0.0, 0.0, 1.0]
    assert res.bin_edges.tolist() == [1.0, 1.25, 1.5, 1.75, 2.0]
    assert "histogram(\nhist=" in repr(res)
    mx = x.cummax(0)
    assert mx.values is mx[0] and mx.indices.tolist() == [0, 1, 1]


def test_block_diag_empty_and_broadcast_shapes():
    check_behaviour(lambda L: L.block_diag())
    check_behaviour(lambda L: L.broadcast_shapes((2, 1), [3], 1))
    check_behaviour(lambda L: L.broadcast_shapes())
    check_behaviour(lambda L: L.meshgrid(L.tensor(1.0), indexing="ij"))


def test_meshgrid_default_warns_and_is_ij():
    a, b = brickwork.arange(2), brickwork.arange(3)
    with pytest.warns(UserWarning, match="indexing argument"):
        xs, ys = brickwork.meshgrid(a, b)
    assert xs.shape == (2, 3) and ys.tolist() == [[0, 1, 2]] * 2


def test_meshgrid_refuses_matrices():
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor"):
        brickwork.meshgrid(brickwork.ones(2, 2), indexing="ij")


def test_cross_without_dim_warns():
    with pytest.warns(UserWarning, match="without specifying the dim"):
        out = brickwork.cross(brickwork.eye(3), brickwork.eye(3).roll(1, 0))
    assert out.shape == (3, 3)


ERROR_CASES = [
    lambda L: L.histc(L.tensor([1, 2])),
    lambda L: L.histc(L.tensor([1.0]), bins=0),
    lambda L: L.histc(L.tensor([1.0]), bins=3, min=3, max=1),
    lambda L: L.histc(L.tensor([1.0, INF]), bins=3),
    lambda L: L.histogram(L.tensor([1, 2]), 3),
    lambda L: L.bincount(L.tensor([1, -2])),
    lambda L: L.bincount(L.tensor([[1, 2]])),
    lambda L: L.bincount(L.tensor([1.0])),
    lambda L: L.bincount(L.tensor([1]), minlength=-1),
    lambda L: L.bucketize(L.tensor([3]), L.tensor([[1, 3]])),
    lambda L: L.searchsorted(L.tensor([1, 3]), 3, side="left", right=True),
    lambda L: L.searchsorted(L.tensor([[1, 3, 5], [2, 4, 6]]), L.tensor([[3, 1]] * 3)),
    lambda L: L.logcumsumexp(L.tensor([1, 2]), 0),
    lambda L: L.cummax(L.ones(2), 2),
    lambda L: L.diff(L.tensor(1.0)),
    lambda L: L.diff(L.ones(2), n=-1),
    lambda L: L.cross(L.ones(2, 4), L.ones(2, 4), dim=1),
    lambda L: L.cross(L.ones(3), L.ones(3, dtype=L.float64), dim=0),
    lambda L: L.tensordot(L.ones(2, 3), L.ones(2, 2), dims=([1], [0])),
    lambda L: L.inner(L.ones(2, 3), L.ones(2)),
    lambda L: L.vdot(L.ones(2, 2), L.ones(2, 2)),
    lambda L: L.vdot(L.ones(2), L.ones(3)),
    lambda L: L.vdot(L.ones(2), L.ones(2, dtype=L.float64)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(4, 2)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(4, 3), p=-1),
    lambda L: L.cdist(L.ones(3), L.ones(3)),
    lambda L: L.cdist(L.ones(2, 3, dtype=L.long), L.ones(2, 3, dtype=L.long)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(2, 3), compute_mode="x"),
    lambda L: L.dist(L.tensor([1, 2]), L.tensor([0, 0])),
    lambda L: L.renorm(L.tensor([[1, 2]]), 2, 0, 3),
    lambda L: L.renorm(L.ones(2, 2), -1, 0, 3),
    lambda L: L.cov(L.ones(2, 2, 2)),
    lambda L: L.cov(L.ones(2, 3), fweights=L.ones(3)),
    lambda L: L.cov(L.ones(2, 3), aweights=L.tensor([1, 2, 3])),
    lambda L: L.cov(L.ones(2, 3), fweights=L.tensor([1, 2])),
    lambda L: L.cov(L.ones(2, 3), fweights=L.tensor([1, -2, 1])),
    lambda L: L.block_diag(L.ones(1, 1, 1)),
    lambda L: L.cartesian_prod(L.ones(2, 2), L.ones(2)),
    lambda L: L.combinations(L.ones(1, 2)),
    lambda L: L.tril_indices(-1, 3),
    lambda L: L.triu_indices(3, 3, dtype=L.float32),
    lambda L: L.meshgrid(indexing="ij"),
    lambda L: L.meshgrid(L.ones(2), L.ones(2, dtype=L.float64), indexing="ij"),
    lambda L: L.meshgrid(L.ones(2), indexing="ji"),
    lambda L: L.broadcast_shapes((2, 1), (3, 4)),
    lambda L: L.broadcast_tensors(L.ones(2, 1), L.ones(3, 4)),
    lambda L: L.repeat_interleave(L.ones(2, 2), L.tensor([1, 2]), dim=0, output_size=4),
    lambda L: L.repeat_interleave(L.ones(2, 2), L.tensor([1, 2, 3]), dim=0),
    lambda L: L.repeat_interleave(L.ones(2, 2), L.tensor([1, -2]), dim=0),
    lambda L: L.repeat_interleave(L.ones(2, 2), -1, dim=0),
    lambda L: L.rot90(L.ones(2, 3), 1, [0, 0]),
    lambda L: L.rot90(L.ones(2), 1),
    lambda L: L.rot90(L.ones(2, 2), 1, [0, 1, 2]),
    lambda L: L.vander(L.ones(2, 2)),
    lambda L: L.vander(L.ones(2), N=-1),
    lambda L: L.diag_embed(L.ones(2), 0, 0, 0),
    lambda L: L.chain_matmul(L.ones(2)),
]


@pytest.mark.parametrize("fn", ERROR_CASES, ids=[str(i) for i in range(len(ERROR_CASES))])
def test_errors_match_torch(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        err = check_behaviour(fn)
    assert isinstance(err, Exception)


def test_inplace_forms_against_torch():
    def run(L):
        x = L.ones(2, 3)
        x.addr_(L.tensor([1.0, 2.0]), L.tensor([1.0, 0.0, -1.0]), alpha=2)
        v = L.ones(2)
        v.addmv_(L.ones(2, 3), L.tensor([1.0, 2.0, 3.0]), beta=0.5)
        b = L.zeros(2, 2)
        b.addbmm_(L.ones(3, 2, 4), L.ones(3, 4, 2))
        c = L.zeros(3, 2, 2)
        c.baddbmm_(L.ones(3, 2, 4), L.ones(3, 4, 2), beta=0)
        r = L.tensor([[3.0, 4.0], [0.3, 0.4]])
        r.renorm_(2, 0, 1.0)
        return x, v, b, c, r

    check_behaviour(run)


EDGE_CASES = {  # name: fn(lib); results or errors must match PyTorch's
 'cummax_empty': lambda L: L.cummax(L.ones(0, 3), 0),
 'cummax_empty1': lambda L: L.cummax(L.ones(2, 0), 0),
 'lcse_empty': lambda L: L.logcumsumexp(L.ones(0), 0),
 'lcse_0d': lambda L: L.logcumsumexp(L.tensor(2.), 0),
 'lcse_ninf': lambda L: L.logcumsumexp(L.tensor([-float('inf'), -float('inf'), 1.]), 0),
 'lcse_pinf': lambda L: L.logcumsumexp(L.tensor([float('inf'), 1., float('nan')]), 0),
 'diff_empty': lambda L: L.diff(L.ones(0)),
 'diff_dim_bad': lambda L: L.diff(L.ones(2), dim=3),
 'diff_prepend_0d': lambda L: L.diff(L.ones(2), prepend=L.tensor(1.)),
 'trap_0d': lambda L: L.trapezoid(L.tensor(1.)),
 'trap_len1': lambda L: L.trapezoid(L.tensor([3.])),
 'trap_xbad': lambda L: L.trapezoid(L.ones(3), L.ones(4)),
 'ctrap_len1': lambda L: L.cumulative_trapezoid(L.tensor([3.])),
 'ctrap_2d_empty': lambda L: L.cumulative_trapezoid(L.ones(2, 0)),
 'trap_int_dx': lambda L: L.trapezoid(L.tensor([1, 2, 3]), dx=2),
 'trap_int_x': lambda L: L.trapezoid(L.tensor([1, 2, 3]), L.tensor([1, 2, 4])),
 'ctrap_int_x': lambda L: L.cumulative_trapezoid(L.tensor([1, 2, 3]), L.tensor([1, 2, 4])),
 'histc_empty': lambda L: L.histc(L.ones(0), 3),
 'histc_f64': lambda L: L.histc(L.tensor([0., 1., 2.], dtype=L.float64), 3),
 'histc_half_bins': lambda L: L.histc(L.tensor([0., 1., 2.]), 3, min=0.5, max=1.5),
 'histogram_empty': lambda L: L.histogram(L.ones(0), 3),
 'histogram_f64': lambda L: L.histogram(L.tensor([0., 1., 2.], dtype=L.float64), 3),
 'histogram_2d': lambda L: L.histogram(L.tensor([[0., 1.], [2., 3.]]), 3),
 'histogram_badrange': lambda L: L.histogram(L.tensor([0., 1.]), 3, range=(2., 1.)),
 'histogram_wbad': lambda L: L.histogram(L.tensor([0., 1.]), 3, weight=L.ones(3)),
 'bincount_w_f64': lambda L: L.bincount(L.tensor([0, 2]), L.tensor([1., 2.], dtype=L.float64)),
 'bincount_int32': lambda L: L.bincount(L.tensor([0, 2], dtype=L.int32)),
 'bincount_uint8': lambda L: L.bincount(L.tensor([0, 2], dtype=L.uint8)),
 'bincount_bool': lambda L: L.bincount(L.tensor([True])),
 'bincount_wlen': lambda L: L.bincount(L.tensor([0, 2]), L.ones(3)),
 'ss_0d_seq': lambda L: L.searchsorted(L.tensor(1), L.tensor([1])),
 'ss_scalar_nd': lambda L: L.searchsorted(L.tensor([[1, 2]]), 1),
 'ss_empty': lambda L: L.searchsorted(L.ones(0), L.tensor([1.])),
 'ss_float_int': lambda L: L.searchsorted(L.tensor([1, 2, 3]), L.tensor([1.5, 2.5])),
 'ss_sorter_bad':
        lambda L: L.searchsorted(L.tensor([1, 2, 3]), L.tensor([1]), sorter=L.tensor([0, 1])),
 'ss_side_bad': lambda L: L.searchsorted(L.tensor([1, 2, 3]), L.tensor([1]), side='mid'),
 'bk_0d': lambda L: L.bucketize(L.tensor(2), L.tensor([1, 3])),
 'isin_empty': lambda L: L.isin(L.ones(0), L.ones(2)),
 'isin_bool': lambda L: L.isin(L.tensor([True, False]), L.tensor([True])),
 'uc_empty': lambda L: L.unique_consecutive(L.ones(0), return_inverse=True, return_counts=True),
 'uc_dim_empty': lambda L: L.unique_consecutive(L.ones(0, 2), return_counts=True, dim=0),
 'uc_dim1':
        lambda L: L.unique_consecutive(L.tensor([[1, 1, 2], [1, 1, 3]]), return_inverse=True,
                                       dim=1),
 'uc_float_nan':
        lambda L: L.unique_consecutive(L.tensor([1., float('nan'), float('nan')]),
                                       return_counts=True),
 'cross_int': lambda L: L.cross(L.tensor([1, 2, 3]), L.tensor([4, 5, 6]), dim=0),
 'cross_dimbad': lambda L: L.cross(L.ones(3), L.ones(3), dim=2),
 'cross_rank': lambda L: L.cross(L.ones(2, 3), L.ones(3), dim=-1),
 'kron_0d': lambda L: L.kron(L.tensor(2.), L.ones(2, 2)),
 'kron_empty': lambda L: L.kron(L.ones(0, 2), L.ones(2, 2)),
 'kron_mixed': lambda L: L.kron(L.tensor([1, 2]), L.tensor([0.5])),
 'td_neg': lambda L: L.tensordot(L.ones(2), L.ones(2), dims=-1),
 'td_big': lambda L: L.tensordot(L.ones(2), L.ones(2), dims=2),
 'td_bcast': lambda L: L.tensordot(L.ones(2, 1), L.ones(3, 2), dims=([1], [0])),
 'td_dtype': lambda L: L.tensordot(L.ones(2), L.ones(2, dtype=L.float64), dims=1),
 'td_int': lambda L: L.tensordot(L.tensor([1, 2]), L.tensor([3, 4]), dims=1),
 'td_lenmismatch': lambda L: L.tensordot(L.ones(2, 2), L.ones(2, 2), dims=([0, 1], [0])),
 'td_tensor_dims':
        lambda L: L.tensordot(L.ones(2, 3), L.ones(3, 2), dims=L.tensor([[1], [0]])),
 'td_tensor_int': lambda L: L.tensordot(L.ones(2, 3), L.ones(3, 2), dims=L.tensor(1)),
 'histogram_edges_density':
        lambda L: L.histogram(L.tensor([0.1, 0.4, 0.5, 2.0]), L.tensor([0.0, 0.5, 1.0]),
                              weight=L.tensor([1.0, 2.0, 0.5, 1.0]), density=True),
 'inner_1d': lambda L: L.inner(L.tensor([1., 2.]), L.tensor([3., 4.])),
 'inner_int': lambda L: L.inner(L.tensor([1, 2]), L.tensor([3, 4])),
 'vdot_int': lambda L: L.vdot(L.tensor([1, 2]), L.tensor([3, 4])),
 'chain1': lambda L: L.chain_matmul(L.ones(2, 3)),
 'chain0': lambda L: L.chain_matmul(),
 'chain_bad': lambda L: L.chain_matmul(L.ones(2, 3), L.ones(2, 3)),
 'baddbmm_bad': lambda L: L.baddbmm(L.ones(2, 2), L.ones(2, 3), L.ones(2, 3, 2)),
 'baddbmm_bcastbad': lambda L: L.baddbmm(L.ones(3, 2, 2), L.ones(2, 2, 3), L.ones(2, 3, 2)),
 'addbmm_bad': lambda L: L.addbmm(L.ones(2, 2), L.ones(2, 3), L.ones(2, 3, 2)),
 'addbmm_bad2': lambda L: L.addbmm(L.ones(2, 2), L.ones(2, 2, 3), L.ones(3, 3, 2)),
 'addmv_bad': lambda L: L.addmv(L.ones(2), L.ones(2, 3), L.ones(2)),
 'addmv_bad_in': lambda L: L.addmv(L.ones(3), L.ones(2, 3), L.ones(3)),
 'addr_bad': lambda L: L.addr(L.ones(2, 3), L.ones(2, 1), L.ones(3)),
 'addr_bool':
        lambda L: L.addr(L.ones(2, 3, dtype=L.bool), L.ones(2, dtype=L.bool),
                         L.ones(3, dtype=L.bool)),
 'addr_int_float_alpha':
        lambda L: L.addr(L.ones(2, 3, dtype=L.long), L.ones(2, dtype=L.long),
                         L.ones(3, dtype=L.long), alpha=0.5),
 'addmv_dtype': lambda L: L.addmv(L.ones(2, dtype=L.float64), L.ones(2, 3), L.ones(3)),
 'addr_beta0_nan': lambda L: L.addr(L.full((2, 3), float('nan')), L.ones(2), L.ones(3), beta=0),
 'cdist_empty': lambda L: L.cdist(L.ones(0, 3), L.ones(2, 3)),
 'cdist_bcast': lambda L: L.cdist(L.ones(2, 1, 3, 4), L.ones(3, 2, 4)),
 'cdist_p0': lambda L: L.cdist(L.tensor([[1., 2.], [0., 0.]]), L.tensor([[1., 0.]]), p=0),
 'cdist_f64_f32': lambda L: L.cdist(L.ones(2, 3), L.ones(2, 3, dtype=L.float64)),
 'cdist_zero_cols': lambda L: L.cdist(L.ones(2, 0), L.ones(3, 0)),
 'dist_0': lambda L: L.dist(L.tensor([1., 2.]), L.tensor([1., 0.]), 0),
 'dist_bcastbad': lambda L: L.dist(L.ones(2), L.ones(3)),
 'dist_mixed': lambda L: L.dist(L.ones(2), L.ones(2, dtype=L.float64)),
 'renorm_maxneg': lambda L: L.renorm(L.ones(2, 2), 2, 0, -1),
 'renorm_inf': lambda L: L.renorm(L.tensor([[3., 4.], [0.1, 0.2]]), float('inf'), 0, 1.),
 'renorm_1d': lambda L: L.renorm(L.tensor([3., 4.]), 2, 0, 1.),
 'renorm_0d': lambda L: L.renorm(L.tensor(3.), 2, 0, 1.),
 'cov_0obs': lambda L: L.cov(L.ones(2, 0)),
 'cov_1obs': lambda L: L.cov(L.ones(2, 1)),
 'cov_corr_big': lambda L: L.cov(L.ones(2, 3), correction=5),
 'cov_0d': lambda L: L.cov(L.tensor(2.)),
 'cov_f64': lambda L: L.cov(L.tensor([[1., 2., 5.]], dtype=L.float64)),
 'cov_fw_only': lambda L: L.cov(L.tensor([[1., 2., 5.]]), fweights=L.tensor([1, 0, 2])),
 'cov_aw_only': lambda L: L.cov(L.tensor([[1., 2., 5.]]), aweights=L.tensor([1., 0.5, 2.])),
 'cov_aw_f64':
        lambda L: L.cov(L.tensor([[1., 2., 5.]]),
                        aweights=L.tensor([1., 0.5, 2.], dtype=L.float64)),
 'cov_fw_2d': lambda L: L.cov(L.ones(2, 3), fweights=L.ones(1, 3, dtype=L.long)),
 'corr_int': lambda L: L.corrcoef(L.tensor([[1, 2, 4], [3, 1, 0], [0, 0, 0]])),
 'corr_3d': lambda L: L.corrcoef(L.ones(2, 2, 2)),
 'bd_types': lambda L: L.block_diag(L.tensor([[True]]), L.tensor([[2]], dtype=L.int32)),
 'bd_empty_mats': lambda L: L.block_diag(L.ones(0, 2), L.ones(2, 0), L.tensor([[1.]])),
 'cp_empty': lambda L: L.cartesian_prod(L.ones(0), L.ones(2)),
 'cp_mixed': lambda L: L.cartesian_prod(L.tensor([1, 2]), L.tensor([1.5])),
 'cp_three': lambda L: L.cartesian_prod(L.tensor([1, 2]), L.tensor([3]), L.tensor([4, 5])),
 'comb_empty_in': lambda L: L.combinations(L.ones(0)),
 'comb_neg': lambda L: L.combinations(L.ones(2), -1),
 'comb_0d': lambda L: L.combinations(L.tensor(1.)),
 'tril_colneg': lambda L: L.tril_indices(2, -1),
 'tril_big_off': lambda L: L.tril_indices(3, 3, 10),
 'triu_neg_off': lambda L: L.triu_indices(3, 3, -10),
 'tril_bool': lambda L: L.tril_indices(3, 3, dtype=L.bool),
 'tril_int16': lambda L: L.tril_indices(3, 3, dtype=L.int16),
 'mg_0d': lambda L: L.meshgrid(L.tensor(1), L.tensor([1, 2]), indexing='xy'),
 'mg_single_xy': lambda L: L.meshgrid(L.tensor([1, 2]), indexing='xy'),
 'mg_tuple': lambda L: L.meshgrid((L.tensor([1, 2]), L.tensor([3, 4, 5])), indexing='xy'),
 'bs_neg': lambda L: L.broadcast_shapes((-1,)),
 'bs_size': lambda L: L.broadcast_shapes(L.Size([2, 1]), L.Size([3])),
 'bt_one': lambda L: L.broadcast_tensors(L.ones(2)),
 'bt_none': lambda L: L.broadcast_tensors(),
 'ri_0d': lambda L: L.repeat_interleave(L.tensor(3.), 2),
 'ri_0d_dim': lambda L: L.repeat_interleave(L.tensor(3.), 2, dim=0),
 'ri_t0d': lambda L: L.repeat_interleave(L.tensor([1., 2.]), L.tensor(2)),
 'ri_float_rep': lambda L: L.repeat_interleave(L.tensor([1., 2.]), L.tensor([1., 2.])),
 'ri_2d_rep': lambda L: L.repeat_interleave(L.tensor([1., 2.]), L.tensor([[1, 2]])),
 'ri_one_2d': lambda L: L.repeat_interleave(L.tensor([[1, 2]])),
 'ri_one_float': lambda L: L.repeat_interleave(L.tensor([1., 2.])),
 'ri_one_0d': lambda L: L.repeat_interleave(L.tensor(2)),
 'ri_empty': lambda L: L.repeat_interleave(L.ones(0), 3),
 'ri_int32rep': lambda L: L.repeat_interleave(L.tensor([1., 2.]), L.tensor([1, 2], dtype=L.int32)),
 'ri_dimbad': lambda L: L.repeat_interleave(L.ones(2), 2, dim=1),
 'ri_tensor_nodim': lambda L: L.repeat_interleave(L.ones(2, 2), L.tensor([1, 2, 1, 1])),
 'rot_k0': lambda L: L.rot90(L.ones(2, 3), 0),
 'rot_k5': lambda L: L.rot90(L.arange(6).reshape(2, 3), 5),
 'rot_dim_oor': lambda L: L.rot90(L.ones(2, 3), 1, [0, 5]),
 'rot_dim_neg': lambda L: L.rot90(L.ones(2, 3), 1, [0, -2]),
 'vander_bool': lambda L: L.vander(L.tensor([True, False])),
 'vander_0': lambda L: L.vander(L.ones(0)),
 'vander_f64': lambda L: L.vander(L.tensor([1., 2.], dtype=L.float64), 3),
 'vander_N1': lambda L: L.vander(L.tensor([1., 2.]), 1),
 'de_0d': lambda L: L.diag_embed(L.tensor(1.)),
 'de_big_off': lambda L: L.diag_embed(L.ones(2), 3),
 'de_dim_oor': lambda L: L.diag_embed(L.ones(2), 0, 0, 5),
 'df_0d': lambda L: L.diagflat(L.tensor(2.)),
 'df_3d': lambda L: L.diagflat(L.ones(2, 1, 2), -2),
 'nc_bad': lambda L: L.narrow_copy(L.ones(2), 0, 1, 5),
 'nc_neg': lambda L: L.narrow_copy(L.arange(5), 0, -2, 2),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_against_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_behaviour(EDGE_CASES[name])


# -- without PyTorch: NumPy expectations and finite differences ------------------------------
def test_numpy_expectations():
    x = rand_array((4, 5), F64, seed=3)
    t = brickwork.tensor(x)
    np.testing.assert_allclose(brickwork.diff(t, n=2, dim=0).numpy(), np.diff(x, 2, axis=0))
    np.testing.assert_allclose(brickwork.kron(t, t).numpy(), np.kron(x, x))
    np.testing.assert_allclose(brickwork.cov(t).numpy(), np.cov(x))
    np.testing.assert_allclose(brickwork.corrcoef(t).numpy(), np.corrcoef(x))
    np.testing.assert_allclose(brickwork.tensordot(t, t, ([1], [1])).numpy(),
                               np.tensordot(x, x, ([1], [1])))
    np.testing.assert_allclose(brickwork.cummax(t, 1).values.numpy(),
                               np.maximum.accumulate(x, axis=1))
    np.testing.assert_allclose(brickwork.logcumsumexp(t, 1).numpy(),
                               np.logaddexp.accumulate(x, axis=1))
    np.testing.assert_allclose(brickwork.trapezoid(t).numpy(), np.trapezoid(x)
                               if hasattr(np, "trapezoid") else np.trapz(x))
    np.testing.assert_allclose(brickwork.vander(t[0]).numpy(), np.vander(x[0]))
    np.testing.assert_allclose(brickwork.rot90(t, 3).numpy(), np.rot90(x, 3))
    np.testing.assert_allclose(brickwork.cross(t[:, :3], t[:, 2:], dim=1).numpy(),
                               np.cross(x[:, :3], x[:, 2:]))
    np.testing.assert_allclose(
        brickwork.cdist(t, t.flip(0)).numpy(),
        np.sqrt(((x[:, None] - x[::-1][None]) ** 2).sum(-1)))
    v = np.array([0.1, 0.5, 0.5, 0.9, 1.0, -1.0])
    np.testing.assert_array_equal(brickwork.histc(brickwork.tensor(v), 4, 0, 1).numpy(),
                                  np.histogram(v, 4, (0, 1))[0])
    s = np.array([1, 3, 5, 7])
    q = np.array([0, 3, 4, 8])
    for right in (False, True):
        np.testing.assert_array_equal(
            brickwork.searchsorted(brickwork.tensor(s), brickwork.tensor(q), right=right).numpy(),
            np.searchsorted(s, q, side="right" if right else "left"))
    np.testing.assert_array_equal(brickwork.tril_indices(4, 3, -1).numpy(),
                                  np.stack(np.tril_indices(4, -1, 3)))


@pytest.mark.parametrize("fn,shapes", [
    (lambda x: brickwork.logcumsumexp(x, 1), [(2, 5)]),
    (lambda x: brickwork.cummin(x, 0).values, [(4, 2)]),
    (lambda a, b: brickwork.cdist(a, b), [(3, 2), (4, 2)]),
    (lambda a, b: brickwork.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [(3, 2),
                                                                                 (4, 2)]),
    (lambda x: brickwork.renorm(x, 2, 1, 1.0), [(3, 2)]),
    (lambda x: brickwork.cov(x, correction=0), [(2, 5)]),
    (lambda x: brickwork.corrcoef(x), [(2, 5)]),
    (lambda x: brickwork.diag_embed(x, 1), [(2, 3)]),
    (lambda a, b: brickwork.cross(a, b, dim=0), [(3, 2), (3, 2)]),
    (lambda x: brickwork.vander(x, 4), [(3,)]),
], ids=["logcumsumexp", "cummin", "cdist", "cdist_mm", "renorm", "cov", "corrcoef",
        "diag_embed", "cross", "vander"])
def test_gradcheck(fn, shapes):
    inputs = [brickwork.tensor(rand_array(s, F64, low=0.5, high=2.0, seed=i),
                               requires_grad=True) for i, s in enumerate(shapes)]
    assert gradcheck(fn, tuple(inputs))
