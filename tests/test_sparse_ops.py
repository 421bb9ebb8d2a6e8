"""Operations on sparse COO tensors (products, sums, softmax) and their gradients, compared
with PyTorch, plus finite-difference checks that need no torch."""
import warnings

import numpy as np
import pytest

import brickwork as bw
from helpers import requires_torch, torch

IDX = [[0, 2, 2, 0], [2, 0, 2, 2]]  # (0, 2) repeats
VAL = [3.0, 4.0, 5.0, 1.0]
DENSE = np.arange(6.0, dtype=np.float32).reshape(3, 2) - 2.0


@pytest.fixture(autouse=True)
def _quiet_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def sp(lib, requires_grad=False, dtype="float32", coalesce=False):
    s = lib.sparse_coo_tensor(lib.tensor(IDX), lib.tensor(np.array(VAL, dtype)), (3, 3))
    if coalesce:
        s = s.coalesce()
    return s.requires_grad_(requires_grad) if requires_grad else s


def dense(lib, requires_grad=False, arr=DENSE):
    return lib.tensor(arr.copy(), requires_grad=requires_grad)


def to_np(t):
    t = t.detach()
    return (t.to_dense() if t.is_sparse else t).cpu().numpy()


def assert_same(b, t, rtol=1e-5, atol=1e-5):
    assert b.is_sparse == t.is_sparse, (b.layout, t.layout)
    assert tuple(b.shape) == tuple(t.shape)
    np.testing.assert_allclose(to_np(b), to_np(t), rtol=rtol, atol=atol)


# -- products -----------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("fn", [
    lambda lib, s, d: lib.sparse.mm(s, d),
    lambda lib, s, d: lib.sparse.addmm(lib.ones(3, 2), s, d, beta=2, alpha=3),
    lambda lib, s, d: lib.addmm(lib.ones(3, 2), s, d),
    lambda lib, s, d: lib.mm(s, d), lambda lib, s, d: lib.matmul(s, d),
    lambda lib, s, d: s @ d, lambda lib, s, d: lib.spmm(s, d), lambda lib, s, d: lib.dsmm(s, d),
    lambda lib, s, d: lib.mm(d.t(), s), lambda lib, s, d: lib.mv(s, d[:, 0]),
    lambda lib, s, d: lib.matmul(s, d[:, 1]),
    lambda lib, s, d: lib.smm(s, d), lambda lib, s, d: s.smm(d),
    lambda lib, s, d: lib.hspmm(s, d), lambda lib, s, d: lib.hsmm(s, d),
    lambda lib, s, d: lib.sparse.mm(s, s),
])
def test_products_match_torch(fn):
    b = fn(bw, sp(bw), dense(bw))
    t = fn(torch, sp(torch), dense(torch))
    assert_same(b, t)
    if t.is_sparse:
        assert (b.sparse_dim(), b.dense_dim()) == (t.sparse_dim(), t.dense_dim())
        tc, bc = t.coalesce(), b.coalesce()
        np.testing.assert_array_equal(bc.indices().numpy(), tc.indices().numpy())


@requires_torch
@pytest.mark.parametrize("beta,alpha", [(1, 1), (2, 3)])
def test_sspaddmm_matches_torch(beta, alpha):
    res = {}
    for lib in (bw, torch):
        base = lib.sparse_coo_tensor([[0], [0]], [1.0], (3, 2))
        out = lib.sspaddmm(base, sp(lib), dense(lib), beta=beta, alpha=alpha)
        out2 = base.sspaddmm(sp(lib), dense(lib), beta=beta, alpha=alpha)
        res[lib.__name__] = (out, out2)
    for b, t in zip(res["brickwork"], res["torch"]):
        assert b._nnz() == t._nnz()
        np.testing.assert_array_equal(b._indices().numpy(), t._indices().numpy())
        np.testing.assert_allclose(b._values().numpy(), t._values().numpy())
    with pytest.raises(RuntimeError, match="sspaddmm: Argument #1: Expected dim 1 size 2"):
        bw.sspaddmm(sp(bw), sp(bw), dense(bw))


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda lib, s, d: lib.sparse.mm(s, d),
    lambda lib, s, d: lib.sparse.addmm(lib.ones(3, 2), s, d, beta=2, alpha=3),
])
@pytest.mark.parametrize("coalesce", [False, True])
def test_sparse_mm_gradients_match_torch(fn, coalesce):
    got = {}
    up = np.linspace(-1, 1, 6, dtype=np.float32).reshape(3, 2)
    for lib in (bw, torch):
        s, d = sp(lib, True, coalesce=coalesce), dense(lib, True)
        out = fn(lib, s, d)
        assert type(out.grad_fn).__name__ == "SparseAddmmBackward0"
        (out * lib.tensor(up)).sum().backward()
        assert s.grad.is_sparse
        got[lib.__name__] = (s.grad, d.grad)
    (bs, bd), (ts, td) = got["brickwork"], got["torch"]
    assert_same(bs, ts)
    np.testing.assert_array_equal(bs.coalesce().indices().numpy(),
                                  ts.coalesce().indices().numpy())
    assert_same(bd, td)


@requires_torch
def test_mm_gradient_to_the_dense_operand_matches_torch():
    # (PyTorch's torch.mm fails in backward when the sparse operand requires grad; brickwork
    # gives the same masked gradient as torch.sparse.mm there.)
    got = {}
    for lib in (bw, torch):
        d = dense(lib, True)
        out = lib.mm(sp(lib), d)
        assert type(out.grad_fn).__name__ == "MmBackward0"
        out.pow(2).sum().backward()
        got[lib.__name__] = d.grad
    assert_same(got["brickwork"], got["torch"])
    s = sp(bw, True)
    bw.mm(s, dense(bw)).sum().backward()
    want = sp(torch, True)
    torch.sparse.mm(want, dense(torch)).sum().backward()
    assert_same(s.grad, want.grad)


@requires_torch
@pytest.mark.parametrize("cols", [16, 7])
def test_spmm_of_a_graph_bits_as_torch(cols):
    # a GCN layer's product: each output row's terms added in entry order by fused
    # multiply-adds, as PyTorch's kernel adds them (rounds of whole rows), forward and the
    # dense operand's gradient (the transposed product)
    rng = np.random.default_rng(4)
    n, e = 300, 2500
    ij = rng.integers(0, n, (2, e))
    vals = (rng.standard_normal(e) * 10.0 ** rng.integers(-2, 3, e)).astype(np.float32)
    d = rng.standard_normal((n, cols)).astype(np.float32)
    g = rng.standard_normal((n, cols)).astype(np.float32)
    out = []
    for lib in (bw, torch):
        sp = lib.sparse_coo_tensor(lib.tensor(ij), lib.tensor(vals), (n, n)).coalesce()
        x = lib.tensor(d, requires_grad=True)
        y = lib.spmm(sp, x)
        y.backward(lib.tensor(g))
        out.append((y.detach().numpy(), x.grad.numpy()))
    for got, want in zip(*out):
        np.testing.assert_array_equal(got, want)


@requires_torch
def test_sparse_sparse_mm_gradients_match_torch():
    got = {}
    for lib in (bw, torch):
        a, b = sp(lib, True), sp(lib, True, coalesce=True).detach().requires_grad_()
        out = lib.sparse.mm(a, b)
        assert type(out.grad_fn).__name__ == "SparseSparseMatmulBackward0"
        (out.to_dense() * lib.arange(9.0).reshape(3, 3)).sum().backward()
        got[lib.__name__] = (a.grad, b.grad)
    for b, t in zip(got["brickwork"], got["torch"]):
        assert_same(b, t)


def test_sparse_mm_gradients_finite_differences():
    idx = bw.tensor(IDX)
    vals = bw.tensor(np.array(VAL), requires_grad=True)
    d = bw.tensor(DENSE.astype(np.float64), requires_grad=True)

    def f(v, m):
        return bw.sparse.mm(bw.sparse_coo_tensor(idx, v, (3, 3)), m).pow(2).sum()

    assert bw.autograd.gradcheck(f, (vals, d))

    def g(v, m):
        return bw.mm(m.t(), bw.sparse_coo_tensor(idx, v, (3, 3))).sin().sum()

    assert bw.autograd.gradcheck(g, (vals, d))


@requires_torch
@pytest.mark.parametrize("call", [
    lambda lib: lib.mm(sp(lib), lib.ones(4, 2)),
    lambda lib: lib.mm(sp(lib), dense(lib).double()),
    lambda lib: lib.sparse.mm(sp(lib), dense(lib).double()),
    lambda lib: lib.sparse.mm(sp(lib), dense(lib), reduce="sum"),
])
def test_product_errors_match_torch(call):
    with pytest.raises((RuntimeError, NotImplementedError)) as te:
        call(torch)
    with pytest.raises(te.type) as be:
        call(bw)
    if te.type is RuntimeError:
        assert str(be.value) == str(te.value)


def test_hspmm_has_no_derivative():
    s = sp(bw, True)
    out = bw.hspmm(s, dense(bw))
    with pytest.raises(RuntimeError, match="derivative for 'hspmm' is not implemented"):
        out.to_dense().sum().backward()


# -- sum, softmax -------------------------------------------------------------------------------
def hybrid(lib, requires_grad=False):
    vals = lib.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3) / 4)
    s = lib.sparse_coo_tensor(lib.tensor([[0, 1, 1, 0]]), vals, (2, 3))
    return s.requires_grad_(requires_grad) if requires_grad else s


CASES_SUM = [
    (sp, {}), (sp, {"dim": 0}), (sp, {"dim": 1}), (sp, {"dim": (0, 1)}), (sp, {"dim": -1}),
    (hybrid, {"dim": 1}), (hybrid, {"dim": 0}), (hybrid, {}),
    (sp, {"dim": 0, "dtype": "float64"}),
]


@requires_torch
@pytest.mark.parametrize("make,kw", CASES_SUM)
def test_sparse_sum_matches_torch(make, kw):
    got = {}
    for lib in (bw, torch):
        s = make(lib, True)
        kwl = {k: (getattr(lib, v) if k == "dtype" else v) for k, v in kw.items()}
        out = lib.sparse.sum(s, **kwl)
        got[lib.__name__] = out
        up = lib.tensor(np.linspace(-1, 1, max(out.numel(), 1)).reshape(tuple(out.shape))
                        .astype(str(out.dtype).split(".")[-1]))
        if out.is_sparse:
            (out.to_dense() * up).sum().backward()
        else:
            (out * up).sum().backward()
        got[lib.__name__ + ".grad"] = s.grad
    assert_same(got["brickwork"], got["torch"])
    assert got["brickwork"].dtype.name == str(got["torch"].dtype).split(".")[-1]
    assert_same(got["brickwork.grad"], got["torch.grad"])


@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("make,dim", [(sp, 0), (sp, 1), (hybrid, 0), (hybrid, 1)])
def test_sparse_softmax_matches_torch(name, make, dim):
    got = {}
    for lib in (bw, torch):
        s = make(lib, True)
        out = getattr(lib.sparse, name)(s, dim)
        assert type(out.grad_fn).__name__ == ("SparseSoftmaxBackward0" if name == "softmax"
                                              else "SparseLogSoftmaxBackward0")
        got[lib.__name__] = out
        w = lib.tensor(np.linspace(-1, 2, out.numel(), dtype=np.float32).reshape(out.shape))
        (out.to_dense() * w).sum().backward()
        got[lib.__name__ + ".grad"] = s.grad
    b, t = got["brickwork"], got["torch"]
    np.testing.assert_array_equal(b.indices().numpy(), t.coalesce().indices().numpy())
    np.testing.assert_allclose(b.values().detach().numpy(),
                               t.coalesce().values().detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_same(got["brickwork.grad"], got["torch.grad"])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_negative_dim_is_the_same_dim(name):
    # (PyTorch 2.13's backward for dim=-1 differs from dim=1 on this input; its dim=1 gradient
    # is the one finite differences confirm, and brickwork gives it for both.)
    grads = []
    for dim in (1, -1):
        s = sp(bw, True)
        out = getattr(bw.sparse, name)(s, dim)
        (out.to_dense() * bw.arange(9.0).reshape(3, 3)).sum().backward()
        grads.append(to_np(s.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


def test_softmax_numpy_expectation_and_gradcheck():
    s = bw.sparse_coo_tensor([[0, 0, 1], [0, 2, 1]], [1.0, 2.0, 3.0], (2, 3))
    out = bw.sparse.softmax(s, 1).to_dense().numpy()
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(out, [[e[0] / e.sum(), 0, e[1] / e.sum()], [0, 1, 0]], rtol=1e-6)
    idx = bw.tensor([[0, 0, 1, 1], [0, 2, 1, 2]])
    vals = bw.tensor(np.array([0.3, -1.0, 2.0, 0.5]), requires_grad=True)
    w = bw.tensor(np.arange(6.0).reshape(2, 3))
    for fn in (bw.sparse.softmax, bw.sparse.log_softmax):
        for dim in (0, 1):
            def f(v):
                return (fn(bw.sparse_coo_tensor(idx, v, (2, 3)), dim).to_dense() * w).sum()

            assert bw.autograd.gradcheck(f, (vals,))


def test_sum_numpy_expectation():
    s = bw.sparse_coo_tensor(IDX, VAL, (3, 3))
    d = s.to_dense().numpy()
    np.testing.assert_allclose(bw.sparse.sum(s, 0).to_dense().numpy(), d.sum(0))
    assert bw.sparse.sum(s).item() == pytest.approx(d.sum())


# -- on the simulated CUDA backend ----------------------------------------------------------------
def test_products_and_reductions_on_simcuda(sim_cuda):
    ref_s, ref_d = sp(bw, True), dense(bw, True)
    bw.sparse.mm(ref_s, ref_d).pow(2).sum().backward()
    s = sp(bw).to("cuda:1").requires_grad_()
    d = dense(bw).to("cuda:1").requires_grad_()
    out = bw.sparse.mm(s, d)
    assert out.device == bw.device("cuda:1")
    out.pow(2).sum().backward()
    assert s.grad.is_sparse and s.grad.device == s.device
    np.testing.assert_allclose(to_np(s.grad), to_np(ref_s.grad), rtol=1e-6)
    np.testing.assert_allclose(to_np(d.grad), to_np(ref_d.grad), rtol=1e-6)
    np.testing.assert_allclose(to_np(bw.sparse.sum(s, 1)), to_np(bw.sparse.sum(sp(bw), 1)))
    np.testing.assert_allclose(to_np(bw.sparse.softmax(s, 0)),
                               to_np(bw.sparse.softmax(sp(bw), 0)), rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("name", ["hspmm", "sspaddmm"])
@pytest.mark.parametrize("out_kind", ["sparse", "sparse64", "dense"])
def test_out_takes_a_sparse_tensor_as_torch(name, out_kind):
    got = {}
    for lib in (bw, torch):
        out = {"sparse": lambda: lib.sparse_coo_tensor((0, 0)),
               "sparse64": lambda: lib.sparse_coo_tensor((5, 5), dtype=lib.float64),
               "dense": lambda: lib.empty(0)}[out_kind]()
        args = (sp(lib), dense(lib)) if name == "hspmm" else (
            lib.sparse_coo_tensor([[0], [1]], [1.0], (3, 2)), sp(lib), dense(lib))
        try:
            res = getattr(lib, name)(*args, out=out)
            assert res is out
            got[lib.__name__] = out
        except RuntimeError as e:
            got[lib.__name__] = e
    b, t = got["brickwork"], got["torch"]
    assert type(b) is not RuntimeError or type(t) is RuntimeError
    if isinstance(t, RuntimeError):
        assert isinstance(b, RuntimeError)
        if out_kind == "sparse64":
            assert str(b) == str(t)
        return
    assert b._nnz() == t._nnz()
    np.testing.assert_array_equal(b._indices().numpy(), t._indices().numpy())
    np.testing.assert_allclose(b._values().numpy(), t._values().numpy())


@requires_torch
@pytest.mark.parametrize("offsets,shape", [([0, -1], (3, 3)), ([0, 1], (3, 4)), ([0, 1], (2, 4)),
                                           ([2, -2], (4, 3))])
def test_spdiags_matches_torch(offsets, shape):
    diag = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    bo = bw.sparse.spdiags(bw.tensor(diag), bw.tensor(offsets), shape)
    to = torch.sparse.spdiags(torch.tensor(diag), torch.tensor(offsets), shape)
    assert bo._nnz() == to._nnz()
    np.testing.assert_array_equal(bo._indices().numpy(), to._indices().numpy())
    np.testing.assert_array_equal(bo._values().numpy(), to._values().numpy())
    # (PyTorch has no derivative for spdiags; brickwork's is checked by finite differences.)
    d = bw.tensor(diag.astype(np.float64), requires_grad=True)
    w = bw.arange(float(np.prod(shape)), dtype=bw.float64).reshape(shape)

    def f(x):
        return (bw.sparse.spdiags(x, bw.tensor(offsets), shape).to_dense() * w).pow(2).sum()

    assert bw.autograd.gradcheck(f, (d,))


@requires_torch
@pytest.mark.parametrize("name", ["crow_indices", "col_indices", "ccol_indices", "row_indices"])
def test_compressed_accessors_are_refused_as_torch(name):
    for make in (lambda lib: lib.ones(2, 2), lambda lib: sp(lib)):
        with pytest.raises(RuntimeError) as te:
            getattr(make(torch), name)()
        with pytest.raises(RuntimeError) as be:
            getattr(make(bw), name)()
        assert str(be.value).startswith(str(te.value))
