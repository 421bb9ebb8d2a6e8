"""More torch-namespace ops (ops/misc_more.py and its _more_* files): values, dtypes, shapes
and gradients against PyTorch, errors alike, plus NumPy checks that run without PyTorch.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.autograd import gradcheck
from brickwork.ops import misc_more
from helpers import check_behaviour, check_op, rand_array

# PyTorch warns that index_reduce is in beta; brickwork does not.
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce.. is in beta")

F64 = "float64"
NAN, INF = float("nan"), float("inf")


def _f64(shape, seed=0):
    return rand_array(shape, F64, seed=seed)


def _with_nan():
    x = _f64((4, 5))
    x[1, 2] = NAN
    x[3, [0, 4]] = NAN
    return x


# (id, fn(lib, *tensors), inputs) -- differentiable results, gradients compared too
GRAD_CASES = [
    ("tensor_split_n", lambda L, x: L.tensor_split(x, 3, dim=1), [(2, 7)]),
    ("tensor_split_idx", lambda L, x: x.tensor_split([1, 5, 9], 1), [(2, 7)]),
    ("tensor_split_t", lambda L, x: L.tensor_split(x, L.tensor([1, 3])), [(5, 2)]),
    ("hsplit", lambda L, x: L.hsplit(x, 2), [(3, 4)]),
    ("hsplit_1d", lambda L, x: x.hsplit([2]), [(5,)]),
    ("vsplit", lambda L, x: L.vsplit(x, [1, 2]), [(4, 2)]),
    ("dsplit", lambda L, x: L.dsplit(x, 2), [(2, 1, 4)]),
    ("split_with_sizes", lambda L, x: L.split_with_sizes(x, [1, 3, 0], -1), [(2, 4)]),
    ("column_stack", lambda L, a, b, c: L.column_stack([a, b, c]), [(3,), (3, 2), (3,)]),
    ("msort", lambda L, x: L.msort(x), [(4, 3)]),
    ("kthvalue", lambda L, x: L.kthvalue(x, 2, 0), [(4, 3)]),
    ("kthvalue_keep", lambda L, x: x.kthvalue(3, keepdim=True), [(2, 5)]),
    ("kthvalue_0d", lambda L, x: L.kthvalue(x, 1), [()]),
    ("mode", lambda L, x: L.mode(x, 1),
     [np.array([[3., 1., 3., 1., 2.], [1., 1., 2., 2., 2.]], np.float64)]),
    ("mode_keep", lambda L, x: x.mode(0, True), [np.array([[1., 2.], [1., 3.], [2., 3.]])]),
    ("nanmedian_dim", lambda L, x: L.nanmedian(x, 1), [_with_nan()[:3]]),
    ("nanmedian_all", lambda L, x: L.nanmedian(x), [_with_nan()]),
    ("nanmedian_method", lambda L, x: x.nanmedian(0, keepdim=True), [_f64((3, 2))]),
    ("quantile", lambda L, x: L.quantile(x, 0.3), [_f64((4, 5))]),
    ("quantile_dim", lambda L, x, q: L.quantile(x, q, dim=1, keepdim=True), [_f64((3, 5)),
     np.array([0.1, 0.5, 1.0])]),
    ("quantile_lower", lambda L, x: x.quantile(0.4, 0, interpolation="lower"), [(5, 2)]),
    ("quantile_higher", lambda L, x: x.quantile(0.4, 0, interpolation="higher"), [(5, 2)]),
    ("quantile_midpoint", lambda L, x: x.quantile(0.4, 1, interpolation="midpoint"), [(2, 6)]),
    ("quantile_nearest", lambda L, x: x.quantile(0.625, 1, interpolation="nearest"), [(2, 5)]),
    ("quantile_nan", lambda L, x: L.quantile(x, 0.5, dim=1), [_with_nan()]),
    ("nanquantile", lambda L, x: L.nanquantile(x, 0.5, dim=1), [_with_nan()]),
    ("nanquantile_all", lambda L, x, q: L.nanquantile(x, q), [_with_nan(),
     np.array([0.0, 0.25, 0.9])]),
    ("nanmean", lambda L, x: L.nanmean(x), [_with_nan()]),
    ("nanmean_dim", lambda L, x: x.nanmean(1, keepdim=True), [_with_nan()]),
    ("aminmax", lambda L, x: tuple(L.aminmax(x)), [(3, 4)]),
    ("aminmax_dim", lambda L, x: tuple(x.aminmax(dim=0, keepdim=True)), [(3, 4)]),
    ("adjoint", lambda L, x: L.adjoint(x), [(2, 3, 4)]),
    ("trace", lambda L, x: L.trace(x), [(3, 4)]),
    ("fill", lambda L, x: L.fill(x, 2.5) * x, [(2, 3)]),
    ("conj", lambda L, x: L.conj(x) * L.conj_physical(x) + L.resolve_conj(L.resolve_neg(x)),
     [(3,)]),
    ("real", lambda L, x: L.real(x) * 2, [(3,)]),
    ("slice_scatter", lambda L, x, s: L.slice_scatter(x, s, 1, 1, 5, 2), [(3, 6), (3, 2)]),
    ("slice_scatter_def", lambda L, x, s: x.slice_scatter(s), [(3, 2), (3, 2)]),
    ("select_scatter", lambda L, x, s: L.select_scatter(x, s, -1, 2), [(2, 4), (2,)]),
    ("diagonal_scatter", lambda L, x, s: L.diagonal_scatter(x, s, 1), [(3, 4), (3,)]),
    ("diagonal_scatter_dims", lambda L, x, s: x.diagonal_scatter(s, -1, 2, 0),
     [(3, 2, 4), (2, 3)]),
    ("index_copy", lambda L, x, s: L.index_copy(x, 1, L.tensor([2, 0]), s), [(3, 4), (3, 2)]),
    ("index_copy_0d", lambda L, x, s: L.index_copy(x, 0, L.tensor(1), s), [(3, 2), (1, 2)]),
    ("index_put", lambda L, x, v: L.index_put(x, (L.tensor([0, 2]), L.tensor([1, 1])), v),
     [(3, 4), (2,)]),
    ("index_put_acc", lambda L, x, v: x.index_put((L.tensor([0, 2, 0]),), v, True),
     [(3, 4), (4,)]),
    ("index_put_acc_mask", lambda L, x, v: L.index_put(x, (L.tensor([True, False, True]),), v,
                                                       accumulate=True), [(3, 2), (2, 2)]),
    ("put", lambda L, x, v: L.put(x, L.tensor([5, -1, 0]), v), [(2, 3), (3,)]),
    ("put_acc", lambda L, x, v: x.put(L.tensor([[1, 1], [0, -6]]), v, True), [(2, 3), (2, 2)]),
    ("scatter_reduce_sum", lambda L, x, s: L.scatter_reduce(x, 0, L.tensor([0, 0, 2]), s, "sum"),
     [(3,), (3,)]),
    ("scatter_reduce_mean", lambda L, x, s: x.scatter_reduce(
        1, L.tensor([[0, 1, 0], [2, 2, 2]]), s, "mean", include_self=False), [(2, 4), (2, 3)]),
    ("scatter_reduce_mean_self", lambda L, x, s: L.scatter_reduce(
        x, 1, L.tensor([[0, 1, 0], [2, 2, 2]]), s, "mean"), [(2, 4), (2, 3)]),
    ("scatter_reduce_amax", lambda L, x, s: L.scatter_reduce(
        x, 0, L.tensor([0, 0, 2, 2]), s, "amax"),
     [np.array([1., 5., 2.]), np.array([3., 3., 0., 2.])]),
    ("scatter_reduce_amin", lambda L, x, s: L.scatter_reduce(
        x, 1, L.tensor([[1, 1], [0, 2]]), s, "amin", include_self=False), [(2, 3), (2, 2)]),
    ("inplace_index_forms", lambda L, x, s: (
        x.clone().index_copy_(0, L.tensor([1]), s[:1]) * 2,
        L.index_put_(x.clone(), (L.tensor([0, 0]),), s[0], accumulate=True),
        x.clone().put_(L.tensor([4, 1]), s[1, :2]),
        x.clone().scatter_reduce_(1, L.tensor([[0, 0], [1, 2]]), s[:, :2], "amax")),
     [(2, 3), (2, 3)]),
    ("index_reduce_amax", lambda L, x, s: L.index_reduce(x, 0, L.tensor([0, 0, 2]), s, "amax"),
     [(3, 2), (3, 2)]),
    ("index_reduce_mean", lambda L, x, s: x.index_reduce(1, L.tensor([1, 1]), s, "mean",
                                                         include_self=False), [(2, 3), (2, 2)]),
    ("index_reduce_amin_", lambda L, x, s: x.clone().index_reduce_(0, L.tensor([2, 0]), s,
                                                                   "amin"), [(3, 2), (2, 2)]),
    ("igamma", lambda L, a, x: (L.igamma(a, x), a.igammac(x)),
     [np.array([0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 0.1, 3.0]),
      np.array([0.3, 1.0, 3.0, 2.0, 12.0, 25.0, 0.01, 7.0])]),
    ("igamma_bcast", lambda L, a, x: L.igammac(a, x), [np.array([[0.7], [2.5]], np.float32),
                                                      np.array([0.2, 1.5, 4.0], np.float32)]),
    ("igamma_inplace", lambda L, a, x: a.clone().igamma_(x), [np.array([1.5, 2.0]),
                                                                 np.array([0.5, 3.0])]),
    ("igamma_edges", lambda L, a, x: (L.igamma(a, x), L.igammac(a, x)),
     [np.array([0.0, 0.0, 1.0, -1.0, 2.0, NAN]), np.array([0.0, 1.0, 0.0, 1.0, INF, 1.0])]),
    ("gradient", lambda L, x: L.gradient(x), [(4, 5)]),
    ("gradient_edge2", lambda L, x: L.gradient(x, spacing=[0.5, 2.0], edge_order=2),
     [_f64((3, 4))]),
    ("gradient_dim", lambda L, x: L.gradient(x, spacing=3, dim=-1), [(2, 3, 4)]),
    ("gradient_dims", lambda L, x: L.gradient(x, dim=(0, 2)), [(2, 3, 4)]),
]


# PyTorch differentiates igamma in x only.
X_ONLY = {n: [False, True] for n in ("igamma", "igamma_bcast", "igamma_inplace",
                                     "igamma_edges")}


@pytest.mark.parametrize("name,fn,inputs", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_against_torch(name, fn, inputs):
    check_op(fn, inputs, grad=X_ONLY.get(name))


VALUE_CASES = [
    ("trace_int", lambda L, x: L.trace(x), [np.arange(6, dtype=np.int32).reshape(2, 3)]),
    ("isposinf", lambda L, x: (L.isposinf(x), x.isneginf(), L.isreal(x)),
     [np.array([INF, -INF, NAN, 1.0])]),
    ("isposinf_int", lambda L, x: (L.isposinf(x), L.isneginf(x)), [np.arange(3)]),
    ("mode_int", lambda L, x: L.mode(x), [np.array([[4, 4, 1, 1, 5]], np.int64)]),
    ("kthvalue_int", lambda L, x: L.kthvalue(x, 2), [np.array([5, 1, 4, 2], np.int64)]),
    ("windows", lambda L: [L.hann_window(7), L.hann_window(6, False), L.hamming_window(5),
                           L.hamming_window(6, False, 0.5, 0.3), L.blackman_window(8),
                           L.bartlett_window(7), L.bartlett_window(6, False),
                           L.kaiser_window(9), L.kaiser_window(6, False, 5.0),
                           L.hann_window(1), L.kaiser_window(0),
                           L.hann_window(4, dtype=L.float64)], []),
    ("scalar_ops", lambda L, x: (L.is_nonzero(x[0]), L.is_same_size(x, x[:2]),
                                 L.is_signed(x), L.is_complex(x), L.is_inference(x),
                                 L.is_conj(x), L.is_neg(x),
                                 L.is_signed(x.to(L.uint8))), [np.array([1., 0.])]),
    ("factories", lambda L: (L.scalar_tensor(3), L.scalar_tensor(True, dtype=L.int64),
                             L.empty_strided((2, 3), (1, 2)).stride(),
                             L.empty_strided((2, 0), (1, 2)).shape), []),
    ("gradient_int", lambda L, x: L.gradient(x), [np.array([1, 4, 9, 16])]),
    ("scatter_reduce_int", lambda L, x: (L.scatter_reduce(x, 0, L.tensor([0, 0, 2]), x, "mean"),
                                         L.scatter_reduce(x, 0, L.tensor([1, 1, 1]), x, "amin",
                                                          include_self=False)),
     [np.array([0, 1, 2])]),
    ("nonzero_static", lambda L, x: (L.nonzero_static(x, size=2),
                                     x.nonzero_static(size=5, fill_value=-7),
                                     L.nonzero_static(x, size=0)),
     [np.array([[0, 1, 1], [1, 0, 0]])]),
]


@pytest.mark.parametrize("name,fn,inputs", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_against_torch(name, fn, inputs):
    check_op(fn, inputs)


HIST_POINTS = np.array([[0., 1.], [1., 0.], [2., 0.], [2., 2.], [0.5, 0.7], [3., -1.]],
                       np.float32)


@pytest.mark.parametrize("call", [
    lambda L, x: L.histogramdd(x, bins=[3, 3], weight=L.arange(6.0)),
    lambda L, x: L.histogramdd(x, bins=2, range=[0., 1., 0., 1.], density=True),
    lambda L, x: L.histogramdd(x, bins=[L.tensor([0., 1., 2.]), L.tensor([0., 2.])]),
    lambda L, x: L.histogramdd(x[:, :1], bins=4),
    lambda L, x: L.histogramdd(x.reshape(3, 2, 2), bins=[2, 3], density=True),
])
def test_histogramdd_against_torch(call):
    def run(L):
        res = call(L, L.tensor(HIST_POINTS))
        return type(res).__name__, res.hist, list(res.bin_edges)
    check_behaviour(run)


def test_frombuffer_against_torch():
    """frombuffer makes CPU tensors only (it has no device argument), so outside check_op."""
    check_behaviour(lambda L: L.frombuffer(bytearray(b"abcdefgh"), dtype=L.int16, count=2,
                                           offset=2))


def test_memory_formats_against_torch():
    check_behaviour(lambda L: [repr(getattr(L, n)).split(".")[1] for n in
                               ("contiguous_format", "preserve_format", "channels_last",
                                "channels_last_3d")])


def test_info_against_torch():
    for d in ("float16", "float32", "float64"):
        check_behaviour(lambda L, d=d: [getattr(L.finfo(getattr(L, d)), a) for a in
                                        ("bits", "eps", "max", "min", "tiny", "smallest_normal",
                                         "resolution")])
    for d in ("uint8", "int8", "int16", "int32", "int64"):
        check_behaviour(lambda L, d=d: [getattr(L.iinfo(getattr(L, d)), a)
                                        for a in ("bits", "max", "min")])
    check_behaviour(lambda L: (L.finfo().eps, L.finfo(L.float64).dtype))
    names = ("bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64")
    check_behaviour(lambda L: [[L.can_cast(getattr(L, a), getattr(L, b)) for b in names]
                               for a in names])


ERROR_CASES = [
    lambda L: L.hsplit(L.zeros(()), 2),
    lambda L: L.hsplit(L.zeros(2, 4), 3),
    lambda L: L.vsplit(L.zeros(4), 2),
    lambda L: L.dsplit(L.zeros(4, 2), 2),
    lambda L: L.split_with_sizes(L.zeros(3), [1, 1]),
    lambda L: L.tensor_split(L.zeros(3), 0),
    lambda L: L.tensor_split(L.zeros(()), 1),
    lambda L: L.tensor_split(L.zeros(3), L.tensor([1.0])),
    lambda L: L.column_stack([]),
    lambda L: L.kthvalue(L.zeros(3), 4),
    lambda L: L.kthvalue(L.zeros(3), 0),
    lambda L: L.mode(L.zeros(0)),
    lambda L: L.aminmax(L.zeros(0)),
    lambda L: L.nanmean(L.zeros(3, dtype=L.long)),
    lambda L: L.quantile(L.zeros(3), 1.5),
    lambda L: L.quantile(L.zeros(3, dtype=L.long), 0.5),
    lambda L: L.quantile(L.zeros(3), L.tensor([0.5], dtype=L.float64)),
    lambda L: L.quantile(L.zeros(0), 0.5),
    lambda L: L.quantile(L.zeros(3), 0.5, interpolation="foo"),
    lambda L: L.quantile(L.zeros(3), L.zeros(2, 2)),
    lambda L: L.nanquantile(L.zeros(3), L.tensor([0.5, 2.0])),
    lambda L: L.trace(L.zeros(3)),
    lambda L: L.is_nonzero(L.zeros(2)),
    lambda L: L.is_nonzero(L.zeros(0)),
    lambda L: L.imag(L.zeros(2)),
    lambda L: L.adjoint(L.zeros(2)),
    lambda L: L.finfo(L.int32),
    lambda L: L.iinfo(L.float32),
    lambda L: L.iinfo(L.bool),
    lambda L: L.hann_window(3, dtype=L.int32),
    lambda L: L.kaiser_window(-1),
    lambda L: L.sqrt_(L.tensor([1, 2])),
    lambda L: L.slice_scatter(L.zeros(4, 3), L.zeros(2, 2), 0, 0, 2),
    lambda L: L.select_scatter(L.zeros(4, 3), L.zeros(2), 0, 0),
    lambda L: L.diagonal_scatter(L.zeros(3, 3), L.zeros(2)),
    lambda L: L.index_copy(L.zeros(3, 2), 1, L.tensor([1]), L.ones(3)),
    lambda L: L.index_copy(L.zeros(3, 2), 1, L.tensor([1, 0]), L.ones(3, 1)),
    lambda L: L.index_copy(L.zeros(3, 2), 1, L.tensor([1]), L.ones(1, 1)),
    lambda L: L.index_copy(L.zeros(3, 2), 1, L.tensor([1.0]), L.ones(3, 1)),
    lambda L: L.put(L.zeros(3), L.tensor([0, 1]), L.ones(3)),
    lambda L: L.put(L.zeros(3), L.tensor([3]), L.ones(1)),
    lambda L: L.empty_strided((2, 3), (1,)),
    lambda L: L.frombuffer(bytearray(b"abc"), dtype=L.float32),
    lambda L: L.frombuffer(bytearray(b""), dtype=L.float32),
    lambda L: L.frombuffer(bytearray(b"abcdefgh"), dtype=L.float32, count=3),
    lambda L: L.frombuffer(bytearray(b"abcdefgh"), dtype=L.float32, offset=9),
    lambda L: L.gradient(L.zeros(1)),
    lambda L: L.gradient(L.zeros(2), edge_order=2),
    lambda L: L.gradient(L.zeros(3), edge_order=3),
    lambda L: L.gradient(L.zeros(3, 3), spacing=[1.0, 2.0, 3.0]),
    lambda L: L.nonzero_static(L.tensor([1]), size=-1),
    lambda L: L.scatter_reduce(L.zeros(3), 0, L.tensor([0]), L.ones(1), "foo"),
    lambda L: L.histogramdd(L.zeros(4, 2, dtype=L.long), 2),
    lambda L: L.igamma(L.tensor([1]), L.tensor([2])),
    lambda L: L.igamma(L.ones(2, requires_grad=True), L.ones(2)).sum().backward(),
    lambda L: L.index_reduce(L.zeros(3, 2), 0, L.tensor([0, 0, 2]), L.ones(3, 2), "sum"),
    lambda L: L.index_reduce(L.zeros(3, 2), 0, L.tensor([[0]]), L.ones(3, 2), "mean"),
    lambda L: L.index_reduce(L.zeros(3, 2), 0, L.tensor([0, 1]), L.ones(3, 2), "mean"),
    lambda L: L.histogramdd(L.zeros(4, 2), [2, 2, 2]),
    lambda L: L.histogramdd(L.zeros(4, 2), 0),
    lambda L: L.histogramdd(L.zeros(4, 2), 2, range=[0., 1., 1., 0.]),
    lambda L: L.abs_(L.ones(2, requires_grad=True)),
]


@pytest.mark.parametrize("fn", ERROR_CASES, ids=[str(i) for i in range(len(ERROR_CASES))])
def test_errors_match_torch(fn):
    assert isinstance(check_behaviour(fn), Exception)


@pytest.mark.parametrize("name", misc_more._INPLACE_FUNCTIONS)
def test_inplace_functions_against_torch(name):
    """Each ``torch.xxx_(t, ...)`` modifies ``t`` as ``t.xxx_(...)`` and returns it."""
    extra = {"clamp_": (-0.5, 0.5), "clamp_max_": (0.3,), "clamp_min_": (0.3,),
             "clip_": (-0.2, 0.1), "fill_": (1.5,), "ldexp_": None, "gcd_": None, "lcm_": None,
             "xlogy_": None, "addmv_": None, "logit_": (0.1,), "index_put_": None}

    def run(L):
        if name in ("gcd_", "lcm_"):
            x, args = L.tensor([4, 6, 9]), (L.tensor([6, 4, 3]),)
        elif name in ("ldexp_", "xlogy_"):
            x, args = L.tensor([0.5, 1.5, 0.25]), (L.tensor([1.0, 2.0, 3.0]),)
        elif name == "index_put_":
            x, args = L.tensor([0.5, 1.5]), ((L.tensor([1]),), L.tensor(3.0))
        elif name == "addmv_":
            x, args = L.tensor([0.5, 1.5]), (L.ones(2, 3), L.tensor([1.0, 2.0, 3.0]))
        else:
            x, args = L.tensor([0.25, 0.5, 0.75]), extra.get(name) or ()
        r = getattr(L, name)(x, *args)
        return r is x, x

    same, _ = check_behaviour(run)
    assert same


def test_without_torch():
    """NumPy expectations and finite differences that need no PyTorch."""
    x = brickwork.tensor(_with_nan())
    want = np.nanquantile(_with_nan(), [0.2, 0.7], axis=1)
    np.testing.assert_allclose(brickwork.nanquantile(x, brickwork.tensor([0.2, 0.7], dtype=
                                                                         brickwork.float64),
                                                     dim=1).numpy(), want)
    np.testing.assert_allclose(brickwork.nanmean(x, 0).numpy(), np.nanmean(_with_nan(), 0))
    np.testing.assert_allclose(brickwork.hann_window(8, False).numpy(), np.hanning(8),
                               atol=1e-7)
    np.testing.assert_allclose(brickwork.kaiser_window(7, False, 3.0, dtype=brickwork.float64)
                               .numpy(), np.kaiser(7, 3.0))
    assert brickwork.finfo(brickwork.float32).eps == float(np.finfo(np.float32).eps)
    assert [t.shape[0] for t in brickwork.tensor_split(brickwork.zeros(10), 4)] == [3, 3, 2, 2]
    y = brickwork.tensor(_f64((3, 5)), requires_grad=True)
    assert gradcheck(lambda t: brickwork.quantile(t, 0.35, dim=1), (y,))
    assert gradcheck(lambda t: brickwork.kthvalue(t, 2, 0).values, (y,))
    assert brickwork.get_device(brickwork.zeros(2)) == -1
    xs = np.array([0.01, 0.5, 1.0, 3.0, 20.0])
    np.testing.assert_allclose(brickwork.igamma(brickwork.ones(5, dtype=brickwork.float64),
                                                brickwork.tensor(xs)).numpy(), 1 - np.exp(-xs),
                               rtol=1e-12)
    half = brickwork.full((5,), 0.5, dtype=brickwork.float64)
    np.testing.assert_allclose(brickwork.igammac(half, brickwork.tensor(xs)).numpy(),
                               brickwork.erfc(brickwork.tensor(np.sqrt(xs))).numpy(), rtol=1e-9)
    xg = brickwork.tensor(xs, requires_grad=True)
    assert gradcheck(lambda t: brickwork.igamma(half * 5, t), (xg,))
    buf = bytearray(np.arange(3, dtype=np.float32).tobytes())
    shared = brickwork.frombuffer(buf, dtype=brickwork.float32)
    shared[1] = 9.0  # the tensor shares the (writable) buffer's memory
    assert np.frombuffer(buf, np.float32).tolist() == [0.0, 9.0, 2.0]
    t = brickwork.tensor([1.0, -2.0])
    np.testing.assert_allclose(brickwork.gradient(brickwork.tensor(_f64((4, 6))), spacing=0.5,
                                                  edge_order=2)[1].numpy(),
                               np.gradient(_f64((4, 6)), 0.5, axis=1, edge_order=2))
    from brickwork.ops._more_numeric import layout_order

    for fmt, rank in ((brickwork.channels_last, 4), (brickwork.channels_last_3d, 5)):
        assert isinstance(fmt, brickwork.memory_format)
        assert layout_order("contiguous", fmt, rank)[-1] == 1  # channels stored last
        with pytest.raises(RuntimeError, match=f"required rank {rank} tensor"):
            layout_order("contiguous", fmt, 2)
    assert layout_order("clone", brickwork.preserve_format, 4) is None
    with pytest.raises(TypeError, match="memory_format"):
        layout_order("clone", "channels_last", 4)
    assert brickwork.abs_(t) is t and t.tolist() == [1.0, 2.0]


def test_real_and_imag_are_properties_of_real_tensors():
    x = brickwork.ones(2)
    assert x.real is x  # as PyTorch: a real tensor's real part is itself
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with "
                                           "non-complex dtypes"):
        x.imag


def test_special_gammainc_is_the_regularized_lower_incomplete_gamma():
    a, x = brickwork.tensor([2.0]), brickwork.tensor([1.0])
    # P(2, 1) = 1 - 2/e, Q(2, 1) = 2/e
    assert abs(brickwork.special.gammainc(a, x).item() - (1 - 2 / np.e)) < 1e-6
    assert abs(brickwork.special.gammaincc(a, x).item() - 2 / np.e) < 1e-6


def test_channels_last_is_honoured_by_contiguous_and_clone():
    check_behaviour(lambda L: L.arange(24.).reshape(1, 2, 3, 4)
                    .contiguous(memory_format=L.channels_last).stride())
    check_behaviour(lambda L: L.arange(24.).reshape(1, 2, 3, 4)
                    .clone(memory_format=L.channels_last).stride())
    check_behaviour(lambda L: L.ones(2, 3).contiguous(memory_format=L.channels_last))
    x = brickwork.arange(24.).reshape(1, 2, 3, 4).requires_grad_()
    y = x.contiguous(memory_format=brickwork.channels_last)
    assert y.contiguous(memory_format=brickwork.channels_last) is y
    assert np.array_equal(y.detach().numpy(), x.detach().numpy())
    (y * brickwork.arange(24.).reshape(1, 2, 3, 4)).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.arange(24.).reshape(1, 2, 3, 4))


def test_nanmean_refuses_an_integer_dtype_like_torch():
    check_behaviour(lambda L: L.nanmean(L.tensor([[0.1, 0.2, 0.7]]), 1, dtype=L.int64))
