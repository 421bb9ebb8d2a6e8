"""Matrix products, einsum, t and norms against PyTorch, NumPy and finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import brickwork
from brickwork.autograd import gradcheck
from helpers import check_error, check_op, rand_array, to_brick

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)), ((0, 3), (3, 2)), ((2, 0), (0, 3)), ((1, 2, 3), (4, 1, 3, 2)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    check_op(lambda lib, a, b: a @ b, [sa, sb])
    check_op(lambda lib, a, b: lib.matmul(a, b), [sa, sb])


@pytest.mark.parametrize("rows", [2, 32, 48, 49])
def test_matmul_few_rows_by_a_large_matrix(rows):
    # up to THIN_ROWS rows by a matrix of 64K values or more: a transposed right operand (the
    # forward) and the left gradient (g @ b^T of a row-major b) run as (b^T @ x^T)^T
    tol = dict(atol=1e-4, grad_atol=1e-4, second_order=False)
    check_op(lambda lib, a, b: a @ b, [(rows, 300), (300, 256)], **tol)
    check_op(lambda lib, a, w: lib.mm(a, w.t()), [(rows, 300), (256, 300)], **tol)
    check_op(lambda lib, a, b: lib.matmul(a, b), [rand_array((rows, 300), "float64"),
                                                  rand_array((300, 256), "float64")])


@pytest.mark.parametrize("sa,sb,name", [
    ((3,), (3,), "DotBackward0"), ((2, 3), (3,), "MvBackward0"),
    ((2, 3), (3, 4), "MmBackward0"), ((5, 2, 3), (5, 3, 4), "UnsafeViewBackward0"),
])
def test_matmul_grad_fn_names(sa, sb, name):
    a = brickwork.ones(*sa, requires_grad=True)
    assert type((a @ brickwork.ones(*sb)).grad_fn).__name__ == name


@pytest.mark.parametrize("sa,sb", [
    ((3,), (4,)), ((2, 3), (4, 5)), ((2, 3), (4,)), ((3,), (4, 5)), ((5, 2, 3), (4, 5)),
    ((5, 2, 3), (4,)), ((4,), (5, 3, 2)), ((5, 2, 3), (5, 4, 2)), ((6, 5, 2, 3), (5, 4, 2)),
    ((3, 5, 2, 3), (2, 1, 3, 4)), ((), (3,)), ((3,), ()),
])
def test_matmul_shape_errors(sa, sb):
    check_error(lambda lib, a, b: lib.matmul(a, b), [sa, sb])


def test_matmul_dtype_rules():
    ints = rand_array((2, 3), "int64", -3, 3)
    check_op(lambda lib, a, b: a @ b, [ints, rand_array((3,), "int64", -3, 3)])
    check_op(lambda lib, a, b: a.to(lib.int32) @ b.to(lib.int32), [ints, ints.T.copy()])
    check_op(lambda lib, a, b: a @ b,
             [rand_array((2, 3), "float64"), rand_array((3, 2), "float64")])
    check_error(lambda lib, a, b: a @ b, [rand_array((3,), "int64"), (3,)])
    check_error(lambda lib, a, b: a @ b, [(2, 3), rand_array((3, 3), "float64")])


@pytest.mark.parametrize("fn,sa,sb", [
    (lambda lib, a, b: lib.mm(a, b), (2, 3), (3, 4)),
    (lambda lib, a, b: a.mm(b), (0, 3), (3, 2)),
    (lambda lib, a, b: lib.bmm(a, b), (4, 2, 3), (4, 3, 5)),
    (lambda lib, a, b: a.dot(b), (5,), (5,)),
    (lambda lib, a, b: lib.mv(a, b), (2, 3), (3,)),
    (lambda lib, a, b: lib.outer(a, b), (2,), (3,)),
    (lambda lib, a, b: a.outer(b), (0,), (3,)),
])
def test_named_products(fn, sa, sb):
    check_op(fn, [sa, sb])


@pytest.mark.parametrize("fn,sa,sb", [
    (lambda lib, a, b: lib.mm(a, b), (2, 3), (4, 5)),
    (lambda lib, a, b: lib.mm(a, b), (2, 3, 1), (3, 5)),
    (lambda lib, a, b: lib.mm(a, b), (3,), (3, 5)),
    (lambda lib, a, b: lib.bmm(a, b), (2, 3), (3, 4)),
    (lambda lib, a, b: lib.bmm(a, b), (2, 2, 3), (3, 3, 4)),
    (lambda lib, a, b: lib.bmm(a, b), (2, 2, 3), (2, 4, 4)),
    (lambda lib, a, b: lib.dot(a, b), (3,), (4,)),
    (lambda lib, a, b: lib.dot(a, b), (2, 3), (3,)),
    (lambda lib, a, b: lib.mv(a, b), (2, 3), (4,)),
    (lambda lib, a, b: lib.mv(a, b), (2, 3), (3, 1)),
    (lambda lib, a, b: lib.outer(a, b), (2, 2), (3,)),
])
def test_named_product_errors(fn, sa, sb):
    check_error(fn, [sa, sb])


@pytest.mark.parametrize("sbias", [(4,), (2, 4), (1, 4), (2, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_addmm(sbias, beta, alpha):
    out = check_op(lambda lib, c, a, b: lib.addmm(c, a, b, beta=beta, alpha=alpha),
                   [sbias, (2, 3), (3, 4)])
    assert type(out[0].grad_fn).__name__ == "AddmmBackward0"


def test_addmm_errors():
    check_error(lambda lib, c, a, b: lib.addmm(c, a, b), [(4,), (2, 3), (4, 4)])
    check_error(lambda lib, c, a, b: lib.addmm(c, a, b), [(3,), (2, 3), (3, 4)])


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)])
def test_t(shape):
    out = check_op(lambda lib, x: x.t(), [shape])
    if len(shape) == 2:
        assert type(out[0].grad_fn).__name__ == "TBackward0"
    check_error(lambda lib, x: lib.t(x), [(2, 2, 2)])


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]), ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]), ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(1, 2, 3), (4, 3, 2)]), ("ijk,k->ij", [(2, 3, 4), (4,)]),
    # through one batched product (einsum._pair): batch, free and summed letters in any order,
    # letters summed away alone, size-1 letters broadcast, and three operands left to right
    ("bij,bkj->bik", [(3, 4, 5), (3, 2, 5)]), ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ijb,jkb->bki", [(2, 3, 4), (3, 5, 4)]), ("ijk,jl->li", [(2, 3, 4), (3, 5)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 2)]), ("bi,bi->b", [(4, 3), (4, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("ij,kl->ijkl", [(2, 3), (4, 2)]), ("ij,ij->", [(0, 3), (0, 3)]),
])
def test_einsum(eq, shapes):
    check_op(lambda lib, *ops: lib.einsum(eq, *ops), shapes)


def test_einsum_list_form_and_errors():
    check_op(lambda lib, a, b: lib.einsum("ij,jk", [a, b]), [(2, 3), (3, 5)])
    check_op(lambda lib, a: lib.einsum("ii->i", a), [(3, 3)], grad=[False])
    check_error(lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), [(2, 3), (4, 5)])
    check_error(lambda lib, a: lib.einsum("ij,jk->ik", a), [(2, 3)])
    check_error(lambda lib, a: lib.einsum("ij->i", a), [(3,)])
    check_error(lambda lib, a, b: lib.einsum("ij,jk->ikl", a, b), [(2, 3), (3, 4)])
    check_error(lambda lib, a, b: lib.einsum("ij,jk->ii", a, b), [(2, 3), (3, 4)])
    check_error(lambda lib, a, b: lib.einsum("ij,jk->ik", a, b),
                [(2, 3), rand_array((3, 4), "float64")])


NORM_P = [2, 1, 3, 0, float("inf"), -float("inf"), "fro"]


@pytest.mark.parametrize("p", NORM_P)
@pytest.mark.parametrize("dim", [None, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_norm(p, dim, keepdim):
    if p == "fro" and dim == 1:
        dim = (1,)  # torch's fro with one int dim goes through a different (deprecated) path
    check_op(lambda lib, x: lib.norm(x, p=p, dim=dim, keepdim=keepdim), [(3, 4)])


def test_norm_edge_cases():
    check_op(lambda lib, x: (x.norm(), x.norm(p=1)), [np.zeros(3, dtype="float32")])
    check_op(lambda lib, x: x.norm(p=float("inf")), [np.array([1.0, -3.0, 3.0], "float32")])
    check_op(lambda lib, x: x.norm(), [()])
    check_op(lambda lib, x: x.norm(dim=1), [(0, 3)])
    check_error(lambda lib, x: x.norm(), [rand_array((3,), "int64")])
    check_error(lambda lib, x: x.norm(dim=2), [(3, 4)])
    x = brickwork.ones(2, requires_grad=True)
    assert type(x.norm().grad_fn).__name__ == "LinalgVectorNormBackward0"


# -- without torch ----------------------------------------------------------------------------
def _f64(shape, seed):
    return brickwork.tensor(rand_array(shape, "float64", seed=seed), requires_grad=True)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:10])
def test_matmul_gradcheck_and_numpy(sa, sb):
    a, b = _f64(sa, 1), _f64(sb, 2)
    np.testing.assert_allclose((a @ b)._host(), a._host() @ b._host())
    assert gradcheck(lambda x, y: x @ y, (a, b))


@pytest.mark.parametrize("fn,shapes", [
    (lambda c, a, b: brickwork.addmm(c, a, b, beta=0.5, alpha=2.0), [(3,), (2, 4), (4, 3)]),
    (lambda a, b: brickwork.einsum("bij,jk->bki", a, b), [(2, 2, 3), (3, 2)]),
    (lambda a, b: brickwork.outer(a, b), [(2,), (3,)]),
    (lambda a: a.norm(), [(2, 3)]), (lambda a: a.norm(p=3, dim=1), [(2, 3)]),
    (lambda a: a.norm(p=1), [(2, 3)]), (lambda a: a.norm(p=float("inf"), dim=0), [(2, 3)]),
    (lambda a: a.t(), [(2, 3)]),
])
def test_gradcheck(fn, shapes):
    assert gradcheck(fn, tuple(_f64(s, i) for i, s in enumerate(shapes)))


def test_numpy_expectations():
    a, b = rand_array((2, 3), "float64"), rand_array((3, 4), "float64", seed=1)
    np.testing.assert_allclose(brickwork.einsum("ij,jk->ki", to_brick(a), to_brick(b))._host(),
                               np.einsum("ij,jk->ki", a, b))
    np.testing.assert_allclose(to_brick(a).norm(p=3, dim=1)._host(),
                               (np.abs(a) ** 3).sum(1) ** (1 / 3))
    np.testing.assert_allclose(brickwork.addmm(to_brick(b[0]), to_brick(a), to_brick(b))._host(),
                               b[0] + a @ b)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=2), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 3), st.booleans(), st.booleans())
def test_hypothesis_batched_matmul_vs_numpy(batch, n, k, m, vec_a, vec_b):
    sa = (k,) if vec_a else tuple(batch) + (n, k)
    sb = (k,) if vec_b else (k, m)
    a, b = _f64(sa, 1), _f64(sb, 2)
    out = a @ b
    np.testing.assert_allclose(out._host(), np.matmul(a._host(), b._host()))
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@pytest.mark.parametrize("sa,sb", [((6, 1, 40), (6, 40, 30)), ((6, 40, 1), (6, 1, 30)),
                                   ((2, 3, 5, 1), (3, 1, 4))])
def test_batched_outer_products(sa, sb):
    # a contraction over one value (the right gradient of single-row products, or such a
    # forward) runs as a broadcast multiply: the same single roundings as a GEMM
    check_op(lambda lib, a, b: lib.matmul(a, b), [sa, sb])
    a, b = rand_array(sa, seed=3), rand_array(sb, seed=4)
    got = (brickwork.tensor(a) @ brickwork.tensor(b))._host()
    np.testing.assert_array_equal(got, np.matmul(a, b))


@pytest.mark.parametrize("sa,sb", [((3, 4, 5), (5, 6)), ((2, 3, 4, 5), (5, 6)), ((0, 4, 5), (5, 6)),
                                   ((3, 0, 5), (5, 6)), ((3, 4, 0), (0, 6)), ((3, 1, 5), (5, 1))])
def test_stack_by_matrix(sa, sb):
    # a stack of matrices by one matrix runs as one product of the stack's rows, and the
    # matrix's gradient as one product over all rows
    check_op(lambda lib, a, b: a @ b, [sa, sb])
    check_op(lambda lib, a, w: a @ w.t(), [sa, sb[::-1]])
    check_op(lambda lib, a, b: lib.matmul(a.transpose(0, 1), b), [sa[1:2] + sa[:1] + sa[2:], sb])
