"""``scatter_reduce(..., 'prod')``, ``index_reduce(..., 'prod')`` and ``scatter(...,
reduce='multiply')`` against PyTorch: values, gradients (zeros in the input included), on cpu
and simcuda (check_op), plus NumPy-only and finite-difference checks."""
import numpy as np
import pytest

import brickwork
from brickwork.ops._scatter_prod import multiply_in_rounds
from helpers import check_behaviour, check_op, rand_array

pytestmark = pytest.mark.filterwarnings("ignore:index_reduce.. is in beta",
                                        "ignore:The reduce argument of torch.scatter")

IDX0 = np.array([[0, 1, 2, 0], [0, 1, 0, 2], [1, 1, 0, 0]])  # repeats along dim 0
IDX1 = np.array([[0, 0, 3], [2, 2, 2], [1, 0, 1]])            # repeats along dim 1


def _with_zeros(shape, spots, seed=0):
    a = rand_array(shape, "float64", seed=seed)
    for s in spots:
        a[s] = 0.0
    return a


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim,idx,src_shape", [(0, IDX0, (3, 4)), (1, IDX1, (3, 3)),
                                               (0, IDX0, (4, 5)), (-1, IDX1, (3, 4))])
def test_scatter_reduce_prod(dim, idx, src_shape, include_self):
    # A src larger than index: PyTorch's own backward fails on it (a size mismatch inside
    # its formula), so the gradients there are checked by gradcheck below instead.
    larger = src_shape != idx.shape
    check_op(lambda L, x, s, i: L.scatter_reduce(x, dim, i, s, "prod",
                                                 include_self=include_self),
             [rand_array((3, 4), "float64", seed=1), rand_array(src_shape, "float64", seed=2),
              idx], grad=[not larger, not larger, False])


@pytest.mark.parametrize("include_self", [True, False])
def test_larger_src_gradcheck(include_self):
    x = brickwork.tensor(rand_array((3, 4), "float64", seed=1), requires_grad=True)
    s = brickwork.tensor(rand_array((4, 5), "float64", seed=2), requires_grad=True)
    i = brickwork.tensor(IDX0)
    assert brickwork.autograd.gradcheck(
        lambda a, b: a.scatter_reduce(0, i, b, "prod", include_self=include_self), (x, s))


# Zeros: one in self, a lone zero among src's factors, and two src zeros on one position
# (where PyTorch refuses double backward, so only first derivatives are compared).
ZERO_CASES = {
    "self_zero": ([(0, 0), (2, 3)], [], True),
    "src_single_zero": ([], [(0, 1), (2, 3)], True),
    "src_two_zeros_one_spot": ([], [(0, 0), (2, 2)], False),   # both land on [0, 0]
    "self_and_src_zero": ([(0, 0)], [(1, 0)], True),
}


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("case", list(ZERO_CASES))
def test_scatter_reduce_prod_zeros(case, include_self):
    x_zeros, s_zeros, second = ZERO_CASES[case]
    check_op(lambda L, x, s, i: L.scatter_reduce(x, 0, i, s, "prod",
                                                 include_self=include_self),
             [_with_zeros((3, 4), x_zeros, 1), _with_zeros((3, 4), s_zeros, 2), IDX0],
             second_order=second)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim,index,src_shape", [(0, [0, 2, 0, 0], (4, 3)),
                                                 (1, [2, 0, 2], (4, 3)),
                                                 (1, [1, 1], (4, 2))])
def test_index_reduce_prod(dim, index, src_shape, include_self):
    check_op(lambda L, x, s, i: L.index_reduce(x, dim, i, s, "prod",
                                               include_self=include_self),
             [rand_array((4, 3), "float64", seed=3), rand_array(src_shape, "float64", seed=4),
              np.array(index)])


@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_prod_zeros(include_self):
    check_op(lambda L, x, s, i: x.index_reduce(0, i, s, "prod", include_self=include_self),
             [_with_zeros((3, 2), [(0, 1)], 5), _with_zeros((3, 2), [(1, 0)], 6),
              np.array([0, 0, 2])])


def test_scatter_reduce_prod_float32_and_method():
    check_op(lambda L, x, s, i: x.scatter_reduce(1, i, s, "prod"),
             [(3, 4), (3, 3), IDX1])


def test_scatter_reduce_prod_in_place():
    check_op(lambda L, x, s, i: (x * 1).scatter_reduce_(0, i, s, "prod", include_self=False),
             [(3, 4), (3, 4), IDX0])


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_scatter_reduce_prod_integers(dtype):
    check_op(lambda L, x, s, i: L.scatter_reduce(x, 0, i, s, "prod"),
             [rand_array((3, 4), dtype, -3, 4, seed=7), rand_array((3, 4), dtype, -3, 4, seed=8),
              IDX0])


def test_scatter_multiply_values():
    check_op(lambda L, x, s, i: x.scatter(0, i, s, reduce="multiply"),
             [(3, 4), (3, 4), IDX0], grad=[False, False, False])
    check_op(lambda L, x, i: L.scatter(x, 1, i, 2.5, reduce="multiply"),
             [(3, 4), IDX1], grad=[False, False])


def test_scatter_multiply_has_no_derivative():
    def fn(lib):
        x = lib.ones(3, 4, requires_grad=True)
        x.scatter(0, lib.tensor(IDX0), 2.0, reduce="multiply").sum().backward()

    check_behaviour(fn)


def test_errors():
    check_behaviour(lambda lib: lib.ones(3, 4).scatter_reduce(0, lib.tensor(IDX0),
                                                              lib.ones(3, 4), "product"))
    check_behaviour(lambda lib: lib.ones(3, 4).scatter(0, lib.tensor(IDX0), 2.0,
                                                       reduce="mean"))


def test_gradcheck_without_torch():
    x = brickwork.tensor(rand_array((3, 4), "float64", seed=9), requires_grad=True)
    s = brickwork.tensor(_with_zeros((3, 4), [(0, 1)], 10), requires_grad=True)
    i = brickwork.tensor(IDX0)
    for inc in (True, False):
        assert brickwork.autograd.gradcheck(
            lambda a, b: a.scatter_reduce(0, i, b, "prod", include_self=inc), (x, s))


def test_values_without_torch():
    x = rand_array((3, 4), "float64", seed=11)
    s = rand_array((3, 4), "float64", seed=12)
    want = x.copy()
    for r in range(3):
        for c in range(4):
            want[IDX0[r, c], c] *= s[r, c]
    got = brickwork.tensor(x).scatter_reduce(0, brickwork.tensor(IDX0), brickwork.tensor(s),
                                             "prod")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_rounds_match_multiply_at():
    # The path used where the array module has no multiply.at (CuPy).
    rng = np.random.default_rng(0)
    out = rng.standard_normal((5, 6))
    idx = rng.integers(0, 5, size=(7, 6))
    vals = rng.standard_normal((7, 6))
    key = (idx, np.arange(6)[None, :])
    want = out.copy()
    np.multiply.at(want, key, vals)
    got = out.copy()
    multiply_in_rounds(got, key, vals)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    strided = out.T.copy().T  # a non-row-major target goes through unravel_index
    multiply_in_rounds(strided, key, vals)
    np.testing.assert_allclose(strided, want, rtol=1e-12)
