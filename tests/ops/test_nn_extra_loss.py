"""The nn-function family, part 2: distances and losses (torch level with int reductions, and
nn.functional) against PyTorch, plus NumPy expectations and finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
import brickwork.nn.functional as BF
from brickwork.autograd import gradcheck, gradgradcheck
from helpers import check_error, check_op, rand_array

F64 = "float64"


def F(lib):
    return lib.nn.functional


def _x(shape=(3, 4), dtype=F64, seed=0, low=-2.0, high=2.0):
    return rand_array(shape, dtype, low, high, seed)


def _pm1(n, seed=3):
    """A target of +1/-1 values (float64)."""
    return np.where(np.random.default_rng(seed).random(n) > 0.5, 1.0, -1.0)


LONG = "int64"

CASES = [
    # distances
    ("pdist", lambda L, x: L.pdist(x), [_x((5, 3))]),
    ("pdist_p1", lambda L, x: F(L).pdist(x, 1), [_x((4, 3))]),
    ("pdist_p3", lambda L, x: L.pdist(x, 3.5), [_x((4, 2))]),
    ("pdist_inf", lambda L, x: L.pdist(x, float("inf")), [_x((4, 3))]),
    ("pdist_one_row", lambda L, x: L.pdist(x), [_x((1, 3))]),
    ("cosine_similarity", lambda L, a, b: L.cosine_similarity(a, b), [_x(), _x(seed=1)]),
    ("cosine_similarity_dim", lambda L, a, b: F(L).cosine_similarity(a, b, dim=0, eps=1e-3),
     [_x(), _x(seed=1)]),
    ("cosine_similarity_bcast", lambda L, a, b: L.cosine_similarity(a, b, -1),
     [_x((2, 3, 4)), _x((4,), seed=1)]),
    ("pairwise_distance", lambda L, a, b: L.pairwise_distance(a, b), [_x(), _x(seed=1)]),
    ("pairwise_distance_p", lambda L, a, b: F(L).pairwise_distance(a, b, 1.5, 1e-3, True),
     [_x(), _x(seed=1)]),
    ("pairwise_distance_1d", lambda L, a, b: L.pairwise_distance(a, b),
     [_x((4,)), _x((4,), seed=1)]),
    ("pairwise_distance_bcast", lambda L, a, b: L.pairwise_distance(a, b),
     [_x((3, 2)), _x((2,), seed=1)]),
    ("normalize", lambda L, x: F(L).normalize(x), [_x()]),
    ("normalize_p1_dim0", lambda L, x: F(L).normalize(x, 1, 0), [_x()]),
    ("normalize_1d", lambda L, x: F(L).normalize(x, dim=0), [_x((4,))]),
    # losses, torch level (int reduction; PyTorch's binding default is 0: none)
    ("cosine_embedding", lambda L, a, b, t: L.cosine_embedding_loss(a, b, t),
     [_x(), _x(seed=1), _pm1(3)]),
    ("cosine_embedding_mean", lambda L, a, b, t: L.cosine_embedding_loss(a, b, t, 0.2, 1),
     [_x(), _x(seed=1), _pm1(3)]),
    ("cosine_embedding_0d", lambda L, a, b, t: L.cosine_embedding_loss(a, b, t, -0.5, 2),
     [_x((4,)), _x((4,), seed=1), np.array(-1.0)]),
    ("hinge_embedding", lambda L, x, t: L.hinge_embedding_loss(x, t), [_x(), _pm1((3, 4))]),
    ("hinge_embedding_sum", lambda L, x, t: L.hinge_embedding_loss(x, t, 0.5, 2),
     [_x(), _pm1((3, 4))]),
    ("margin_ranking", lambda L, a, b, t: L.margin_ranking_loss(a, b, t),
     [_x((5,)), _x((5,), seed=1), _pm1(5)]),
    ("margin_ranking_mean", lambda L, a, b, t: L.margin_ranking_loss(a, b, t, 0.3, 1),
     [_x((5,)), _x((5,), seed=1), _pm1(5)]),
    ("poisson_nll", lambda L, x, t: L.poisson_nll_loss(x, t, True, False, 1e-8, 1),
     [_x(), _x(seed=1, low=0.5, high=3)]),
    ("poisson_nll_full", lambda L, x, t: L.poisson_nll_loss(x, t, False, True, 1e-8, 0),
     [_x(low=0.1, high=3), _x(seed=1, low=0.2, high=3)]),
    ("triplet", lambda L, a, p, n: L.triplet_margin_loss(a, p, n),
     [_x(), _x(seed=1), _x(seed=2)]),
    ("triplet_swap", lambda L, a, p, n: L.triplet_margin_loss(a, p, n, 2.0, 1.0, 1e-6, True, 1),
     [_x(), _x(seed=1), _x(seed=2)]),
    # losses, nn.functional
    ("F_cosine_embedding", lambda L, a, b, t: F(L).cosine_embedding_loss(a, b, t, 0.1),
     [_x(), _x(seed=1), _pm1(3)]),
    ("F_cosine_embedding_none", lambda L, a, b, t: F(L).cosine_embedding_loss(
        a, b, t, reduction="none"), [_x(), _x(seed=1), np.array([1, -1, 0])]),
    ("F_hinge_embedding", lambda L, x, t: F(L).hinge_embedding_loss(x, t, reduction="sum"),
     [_x(), _pm1((3, 4))]),
    ("F_margin_ranking", lambda L, a, b, t: F(L).margin_ranking_loss(a, b, t, 0.5),
     [_x((5,)), _x((5,), seed=1), _pm1(5)]),
    ("F_poisson_nll", lambda L, x, t: F(L).poisson_nll_loss(x, t), [_x(), _x(seed=1, low=0)]),
    ("F_poisson_nll_full", lambda L, x, t: F(L).poisson_nll_loss(
        x, t, log_input=False, full=True, reduction="none"),
     [_x(low=0.1, high=3), _x(seed=1, low=0.2, high=3)]),
    ("F_gaussian_nll", lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v),
     [_x(), _x(seed=1), _x(seed=2, low=0.1, high=2)]),
    ("F_gaussian_nll_full", lambda L, x, t, v: F(L).gaussian_nll_loss(
        x, t, v, full=True, reduction="sum"), [_x(), _x(seed=1), _x((3,), seed=2, low=0.1)]),
    ("F_gaussian_nll_bcast", lambda L, x, t, v: F(L).gaussian_nll_loss(
        x, t, v, reduction="none", eps=0.5), [_x(), _x(seed=1), _x((3, 1), seed=2, low=0.1)]),
    ("F_gaussian_nll_float", lambda L, x, t: F(L).gaussian_nll_loss(x, t, 0.7),
     [_x(), _x(seed=1)]),
    ("F_soft_margin", lambda L, x, t: F(L).soft_margin_loss(x, t), [_x(), _pm1((3, 4))]),
    ("F_soft_margin_none", lambda L, x, t: F(L).soft_margin_loss(x, t, reduction="none"),
     [_x(), _pm1((3, 4))]),
    ("F_multilabel_soft_margin", lambda L, x, t: F(L).multilabel_soft_margin_loss(x, t),
     [_x(), (rand_array((3, 4), seed=4) > 0).astype(F64)]),
    ("F_multilabel_soft_margin_w", lambda L, x, t, w: F(L).multilabel_soft_margin_loss(
        x, t, w, reduction="none"), [_x(), (rand_array((3, 4), seed=4) > 0).astype(F64),
                                     _x((4,), seed=5, low=0.1)]),
    ("F_multi_margin", lambda L, x, t: F(L).multi_margin_loss(x, t),
     [_x(), np.array([0, 3, 1])]),
    ("F_multi_margin_p2", lambda L, x, t, w: F(L).multi_margin_loss(
        x, t, 2, 0.7, w, reduction="none"), [_x(), np.array([2, 2, 0]), _x((4,), seed=5)]),
    ("F_multi_margin_1d", lambda L, x, t: F(L).multi_margin_loss(x, t, reduction="none"),
     [_x((4,)), np.array([1])]),
    ("F_multi_margin_sum", lambda L, x, t: F(L).multi_margin_loss(x, t, reduction="sum"),
     [_x((5, 3)), np.array([0, 1, 2, 1, 0])]),
    ("F_multilabel_margin", lambda L, x, t: F(L).multilabel_margin_loss(x, t),
     [_x(), np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 2, 1, 1]])]),
    ("F_multilabel_margin_none", lambda L, x, t: F(L).multilabel_margin_loss(
        x, t, reduction="none"), [_x(), np.array([[3, 3, -1, 1], [0, -1, 3, 0], [2, 1, 0, -1]])]),
    ("F_multilabel_margin_1d", lambda L, x, t: F(L).multilabel_margin_loss(
        x, t, reduction="none"), [_x((4,)), np.array([3, 1, -1, 1])]),
    ("F_triplet", lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=0.5, p=1),
     [_x(), _x(seed=1), _x(seed=2)]),
    ("F_triplet_swap_none", lambda L, a, p, n: F(L).triplet_margin_loss(
        a, p, n, swap=True, reduction="none"), [_x(), _x(seed=1), _x(seed=2)]),
    ("F_triplet_distance", lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(a, p, n),
     [_x(), _x(seed=1), _x(seed=2)]),
    ("F_triplet_distance_fn", lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: 1 - F(L).cosine_similarity(u, v), margin=0.3,
        swap=True, reduction="sum"), [_x(), _x(seed=1), _x(seed=2)]),
    ("F_legacy_reduce", lambda L, x, t: F(L).soft_margin_loss(x, t, size_average=False),
     [_x(), _pm1((3, 4))]),
]


# PyTorch has no second derivative for these kernels.
NO_SECOND_ORDER = ("pdist", "F_multi_margin", "F_multilabel_margin")
# PyTorch refuses a target that requires grad here.
INPUT_GRAD_ONLY = ("F_soft_margin", "F_legacy_reduce", "F_multi_margin_p2")


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs):
    grad = [True] + [False] * (len(inputs) - 1) if name.startswith(INPUT_GRAD_ONLY) else None
    check_op(fn, inputs, grad=grad, second_order=not name.startswith(NO_SECOND_ORDER))


def test_cosine_similarity_mixed_precision():
    # float32 and float64: each is divided by its norm in its own precision, as in ATen.
    check_op(lambda L, a, b: L.cosine_similarity(a, b),
             [_x((3, 2), "float32"), _x((3, 2), seed=1)], grad_atol=1e-6, grad_rtol=1e-5)


def test_float32_loss():
    check_op(lambda L, a, b, t: F(L).cosine_embedding_loss(a, b, t),
             [_x((3, 4), "float32"), _x((3, 4), "float32", 1), _pm1(3).astype("float32")])
    check_op(lambda L, x, t: F(L).multi_margin_loss(x, t),
             [_x((3, 4), "float32"), np.array([0, 3, 1])], second_order=False)


ERRORS = [
    ("pdist_1d", lambda L, x: L.pdist(x), [_x((3,))]),
    ("pdist_neg", lambda L, x: L.pdist(x, -1), [_x((3, 2))]),
    ("pdist_int", lambda L, x: L.pdist(x), [np.arange(6).reshape(3, 2)]),
    ("cos_sim_int", lambda L, a, b: L.cosine_similarity(a, b),
     [np.arange(6).reshape(3, 2), np.arange(6).reshape(3, 2)]),
    ("cos_sim_dim", lambda L, a, b: L.cosine_similarity(a, b, dim=2), [_x(), _x()]),
    ("normalize_int", lambda L, x: F(L).normalize(x), [np.arange(3)]),
    ("cos_emb_2d_target", lambda L, a, b, t: L.cosine_embedding_loss(a, b, t),
     [_x(), _x(), _x((3, 2))]),
    ("cos_emb_0d_target", lambda L, a, b, t: L.cosine_embedding_loss(a, b, t),
     [_x(), _x(), np.array(1.0)]),
    ("cos_emb_1d_target", lambda L, a, b, t: L.cosine_embedding_loss(a, b, t),
     [_x(), _x((3,)), _x((3,))]),
    ("multi_margin_range", lambda L, x, t: F(L).multi_margin_loss(x, t),
     [_x(), np.array([0, 1, 5])]),
    ("multi_margin_size", lambda L, x, t: F(L).multi_margin_loss(x, t), [_x(), np.array([0, 1])]),
    ("multi_margin_weight", lambda L, x, t, w: F(L).multi_margin_loss(x, t, weight=w),
     [_x(), np.array([0, 1, 2]), _x((3,))]),
    ("multi_margin_weight_2d", lambda L, x, t, w: F(L).multi_margin_loss(x, t, weight=w),
     [_x(), np.array([0, 1, 2]), _x((4, 1))]),
    ("multi_margin_p", lambda L, x, t: F(L).multi_margin_loss(x, t, p=3),
     [_x(), np.array([0, 1, 2])]),
    ("multi_margin_float_t", lambda L, x, t: F(L).multi_margin_loss(x, t),
     [_x(), np.array([0.0, 1, 2])]),
    ("multi_margin_3d", lambda L, x, t: F(L).multi_margin_loss(x, t),
     [_x((2, 3, 4)), np.array([1])]),
    ("multilabel_margin_size", lambda L, x, t: F(L).multilabel_margin_loss(x, t),
     [_x(), np.array([[0, 1, -1, 2]] * 2)]),
    ("multilabel_margin_range", lambda L, x, t: F(L).multilabel_margin_loss(x, t),
     [_x(), np.array([[0, 1, -1, 5]] * 3)]),
    ("multilabel_margin_int32", lambda L, x, t: F(L).multilabel_margin_loss(x, t),
     [_x(), np.array([[0, 1, -1, 2]] * 3, dtype="int32")]),
    ("gaussian_negative", lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v),
     [_x(), _x(), -np.ones((3, 4))]),
    ("gaussian_size", lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v),
     [_x(), _x(), np.ones(2)]),
    ("gaussian_reduction", lambda L, x, t, v: F(L).gaussian_nll_loss(x, t, v, reduction="x"),
     [_x(), _x(), np.ones((3, 4))]),
    ("triplet_dims", lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n),
     [_x(), _x(), _x((4,))]),
    ("triplet_dims_torch", lambda L, a, p, n: L.triplet_margin_loss(a, p, n),
     [_x(), _x(), _x((4,))]),
    ("triplet_margin", lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=0),
     [_x(), _x(), _x()]),
    ("triplet_distance_margin", lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(
        a, p, n, margin=-1), [_x(), _x(), _x()]),
    ("triplet_distance_reduction", lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(
        a, p, n, reduction="avg"), [_x(), _x(), _x()]),
    ("loss_reduction", lambda L, x, t: F(L).soft_margin_loss(x, t, reduction="avg"),
     [_x(), _x()]),
    ("poisson_reduction", lambda L, x, t: F(L).poisson_nll_loss(x, t, reduction="avg"),
     [_x(), _x()]),
]


@pytest.mark.parametrize("fn,inputs", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_like_torch(fn, inputs):
    check_error(fn, inputs)


def test_margin_ranking_dims_error():
    x = brickwork.zeros(3)
    with pytest.raises(RuntimeError, match="All input tensors should have same dimension"):
        BF.margin_ranking_loss(x, x, brickwork.zeros(3, 1))


# -- without PyTorch ---------------------------------------------------------------------------
def test_numpy_expectations():
    a, b = _x((4, 3)), _x((4, 3), seed=1)
    got = brickwork.pdist(brickwork.tensor(a)).numpy()
    want = [np.linalg.norm(a[i] - a[j]) for i in range(4) for j in range(i + 1, 4)]
    np.testing.assert_allclose(got, want)
    cs = brickwork.cosine_similarity(brickwork.tensor(a), brickwork.tensor(b)).numpy()
    np.testing.assert_allclose(cs, (a * b).sum(1) / np.linalg.norm(a, axis=1)
                               / np.linalg.norm(b, axis=1))
    x = _x((2, 3))
    t = np.array([[2, -1, 0], [0, 1, -1]])
    got = BF.multilabel_margin_loss(brickwork.tensor(x), brickwork.tensor(t), reduction="none")
    want = []
    for row, tr in zip(x, t):
        ys = list(tr[:list(tr).index(-1)])
        want.append(sum(max(0.0, 1 - row[j] + row[i]) for j in ys for i in range(3)
                        if i not in ys) / 3)
    np.testing.assert_allclose(got.numpy(), want)
    xm = _x((3, 4))
    ym = np.array([1, 0, 3])
    got = BF.multi_margin_loss(brickwork.tensor(xm), brickwork.tensor(ym), reduction="none")
    want = [sum(max(0.0, 1 - r[y] + r[i]) for i in range(4) if i != y) / 4
            for r, y in zip(xm, ym)]
    np.testing.assert_allclose(got.numpy(), want)


@pytest.mark.parametrize("fn", [
    lambda a, b: brickwork.pdist(a),
    lambda a, b: brickwork.cosine_similarity(a, b),
    lambda a, b: brickwork.pairwise_distance(a, b, 3),
    lambda a, b: BF.normalize(a),
    lambda a, b: brickwork.triplet_margin_loss(a, b, a * 0.5, 3.0, 2.0, 1e-6, True, 1),
    lambda a, b: BF.gaussian_nll_loss(a, b, b.abs() + 0.1),
    lambda a, b: BF.multilabel_soft_margin_loss(a, b.sigmoid()),
    lambda a, b: BF.multi_margin_loss(a, brickwork.tensor([0, 2, 1]), p=2),
    lambda a, b: BF.poisson_nll_loss(a, b.abs(), full=True),
])
def test_gradcheck(fn):
    a = brickwork.tensor(_x((3, 3)), requires_grad=True)
    b = brickwork.tensor(_x((3, 3), seed=1), requires_grad=True)
    assert gradcheck(fn, (a, b))
    assert gradgradcheck(fn, (a, b))
