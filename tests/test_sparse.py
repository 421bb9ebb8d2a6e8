"""Sparse COO tensors: construction, validation, conversion, accessors, printing, arithmetic,
refusals, pickling/saving and the simulated CUDA backend, compared with PyTorch."""
import copy
import io
import pickle
import warnings

import numpy as np
import pytest

import brickwork as bw
from helpers import requires_torch, torch

IDX = [[0, 1, 1, 0], [2, 0, 2, 2]]  # (0, 2) repeats: an uncoalesced tensor
VAL = [3.0, 4.0, 5.0, 1.0]


@pytest.fixture(autouse=True)
def _quiet_torch():
    with warnings.catch_warnings():  # PyTorch warns that invariant checks are off
        warnings.simplefilter("ignore")
        yield


def both(fn):
    """``fn(lib)`` for brickwork and PyTorch."""
    return fn(bw), fn(torch)


def assert_sparse_equal(b, t, coalesce=True):
    """Same size, sparse/dense dims and (after coalescing) the same indices and values."""
    assert b.is_sparse and t.is_sparse
    assert tuple(b.shape) == tuple(t.shape)
    assert (b.sparse_dim(), b.dense_dim()) == (t.sparse_dim(), t.dense_dim())
    assert b.dtype.name == str(t.dtype).replace("torch.", "")
    if coalesce:
        b, t = b.coalesce(), t.coalesce()
    np.testing.assert_array_equal(b._indices().cpu().numpy(), t._indices().numpy())
    np.testing.assert_allclose(b._values().detach().cpu().numpy(),
                               t._values().detach().numpy(), rtol=1e-6, atol=1e-6)


def torch_repr(t) -> str:
    return repr(t).replace("torch.", "brickwork.")


# -- construction ----------------------------------------------------------------------------
def test_numpy_only_construction_and_to_dense():
    s = bw.sparse_coo_tensor(IDX, VAL, (2, 3))
    assert s.is_sparse and s.layout is bw.sparse_coo and not s.is_coalesced()
    assert s._nnz() == 4 and s.sparse_dim() == 2 and s.dense_dim() == 0
    want = np.zeros((2, 3), np.float32)
    np.add.at(want, tuple(np.array(IDX)), np.array(VAL, np.float32))
    np.testing.assert_array_equal(s.to_dense().numpy(), want)
    c = s.coalesce()
    assert c.is_coalesced() and c._nnz() == 3
    np.testing.assert_array_equal(c.indices().numpy(), [[0, 1, 1], [2, 0, 2]])
    np.testing.assert_array_equal(c.values().numpy(), [4.0, 4.0, 5.0])
    dense = bw.ones(2, 3)
    assert not dense.is_sparse and dense.layout is bw.strided
    assert dense.sparse_dim() == 0 and dense.dense_dim() == 2


@requires_torch
@pytest.mark.parametrize("case", [
    dict(i=IDX, v=VAL, size=(2, 3)),
    dict(i=IDX, v=VAL, size=None),
    dict(i=IDX, v=np.ones((4, 2)).tolist(), size=(2, 3, 2)),  # hybrid
    dict(i=[[0, 2]], v=np.arange(6.0).reshape(2, 3).tolist(), size=(4, 3)),
    dict(i=np.zeros((2, 0), np.int64), v=np.zeros(0), size=(2, 3)),
    dict(i=np.zeros((1, 0), np.int64), v=np.zeros((0, 2)), size=(4, 2)),
    dict(i=IDX, v=[1, 2, 3, 4], size=(2, 3)),  # integer values
])
def test_construction_matches_torch(case):
    size = () if case["size"] is None else (case["size"],)
    b, t = both(lambda lib: lib.sparse_coo_tensor(
        lib.tensor(np.asarray(case["i"], np.int64)), lib.tensor(np.asarray(case["v"])), *size))
    assert_sparse_equal(b, t, coalesce=False)
    assert b._nnz() == t._nnz() and b.is_coalesced() == t.is_coalesced()
    assert repr(b) == torch_repr(t)
    np.testing.assert_allclose(b.to_dense().numpy(), t.to_dense().numpy())


@requires_torch
def test_keywords_match_torch():
    for kw in (dict(dtype="float64"), dict(is_coalesced=True), dict(requires_grad=True)):
        bkw = {k: (getattr(bw, v) if k == "dtype" else v) for k, v in kw.items()}
        tkw = {k: (getattr(torch, v) if k == "dtype" else v) for k, v in kw.items()}
        b = bw.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2), **bkw)
        t = torch.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2), **tkw)
        assert repr(b) == torch_repr(t)
        assert b.is_coalesced() == t.is_coalesced() and b.requires_grad == t.requires_grad


@requires_torch
@pytest.mark.parametrize("args", [
    (IDX[0], VAL, (2, 3), {}),  # 1-D indices
    (IDX, VAL[:2], (2, 3), {}),  # nnz mismatch
    (IDX, VAL, (2,), {}),  # too few dims
    (IDX, VAL, (2, 3, 4), {}),  # too many dims
    (IDX, np.ones((4, 4)).tolist(), (2, 3, 5), {}),  # dense part of wrong size
    (IDX, VAL, (2, 2), {"check_invariants": True}),  # index out of range
    ((-np.array(IDX)).tolist(), VAL, (2, 3), {"check_invariants": True}),  # negative
])
def test_validation_errors_match_torch(args):
    i, v, size, kw = args
    with pytest.raises(RuntimeError) as te:
        torch.sparse_coo_tensor(torch.tensor(i), torch.tensor(v), size, **kw)
    with pytest.raises(RuntimeError) as be:
        bw.sparse_coo_tensor(bw.tensor(i), bw.tensor(v), size, **kw)
    if np.asarray(i).ndim == 2:  # (1-D indices: PyTorch's text mis-reads the shape)
        assert str(be.value) == str(te.value)


@requires_torch
def test_size_only_overload_matches_torch():
    b, t = both(lambda lib: lib.sparse_coo_tensor((2, 3), dtype=lib.float64))
    assert_sparse_equal(b, t, coalesce=False)
    assert repr(b) == torch_repr(t)


def test_invariant_checks_follow_the_context():
    with bw.sparse.check_sparse_tensor_invariants():
        with pytest.raises(RuntimeError, match="size is inconsistent"):
            bw.sparse_coo_tensor(IDX, VAL, (2, 2))
    bw.sparse_coo_tensor(IDX, VAL, (2, 2))  # off again: accepted, as in PyTorch


# -- conversions and accessors ---------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("sparse_dim", [None, 1, 2, 3])
def test_to_sparse_matches_torch(sparse_dim):
    x = np.array([[[0.0, 2], [0, 0]], [[3, 0], [0, 0]], [[0, 0], [0, 0]]], np.float32)
    args = () if sparse_dim is None else (sparse_dim,)
    b, t = both(lambda lib: lib.tensor(x).to_sparse(*args))
    assert_sparse_equal(b, t, coalesce=False)
    assert b.is_coalesced() and t.is_coalesced()
    assert repr(b) == torch_repr(t)


@requires_torch
def test_conversion_errors_and_identities():
    d = bw.tensor([[0.0, 2, 0], [3, 0, 0]])
    s = d.to_sparse()
    assert d.to_dense() is d and s.to_sparse() is s and d.to_sparse_coo().is_sparse
    with pytest.raises(RuntimeError, match=r"must be in \[0,2\] range, but 3"):
        d.to_sparse(3)
    with pytest.raises(RuntimeError, match="!=self.sparse_dim"):
        s.to_sparse(1)
    with pytest.raises(RuntimeError, match="dtype argument is not supported"):
        s.to_dense(dtype=bw.float64)
    with pytest.raises(NotImplementedError, match="out of scope"):
        d.to_sparse_csr()
    with pytest.raises(NotImplementedError, match="out of scope"):
        d.to_sparse(layout=bw.sparse_csr)
    for name in ("indices", "coalesce", "is_coalesced"):
        with pytest.raises(RuntimeError, match=f"{name} expected sparse coordinate"):
            getattr(d, name)()
    with pytest.raises(NotImplementedError, match="_nnz"):
        d._nnz()
    u = bw.sparse_coo_tensor(IDX, VAL, (2, 3))
    with pytest.raises(RuntimeError, match="Cannot get indices on an uncoalesced"):
        u.indices()
    with pytest.raises(RuntimeError, match="Cannot get values on an uncoalesced"):
        u.values()
    assert u._indices().shape == (2, 4) and u._values().shape == (4,)
    with pytest.raises(TypeError, match="can't convert Sparse layout tensor to numpy"):
        u.numpy()
    assert not u.is_contiguous() and not u.is_sparse_csr


def test_values_share_memory():
    s = bw.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,)).coalesce()
    s.values().mul_(10)  # values() is a view, as in PyTorch
    np.testing.assert_array_equal(s.to_dense().numpy(), [10.0, 20.0, 0.0])


@requires_torch
def test_sparse_mask_matches_torch():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    b, t = both(lambda lib: lib.tensor(x, requires_grad=True))
    bm, tm = both(lambda lib: lib.sparse_coo_tensor(IDX, VAL, (2, 3)))
    bo, to = b.sparse_mask(bm), t.sparse_mask(tm)
    assert_sparse_equal(bo, to, coalesce=False)
    bo.to_dense().sum().backward()
    to.to_dense().sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), t.grad.numpy())
    with pytest.raises(NotImplementedError, match="sparse_mask"):
        bw.ones(2, 3).sparse_mask(bw.ones(2, 3))


@requires_torch
@pytest.mark.parametrize("call", [
    lambda s, lib: s.sparse_resize_((3, 4), 2, 0),
    lambda s, lib: s.sparse_resize_((1, 4), 2, 0),
    lambda s, lib: s.sparse_resize_((3, 4, 5), 2, 1),
    lambda s, lib: s.sparse_resize_and_clear_((3, 4), 2, 0),
    lambda s, lib: s.sparse_resize_and_clear_((3, 4, 2), 1, 2),
    lambda s, lib: s.resize_as_sparse_(lib.sparse_coo_tensor([[0], [0]], [1.0], (5, 5))),
    lambda s, lib: lib.resize_as_sparse_(s, lib.sparse_coo_tensor([[0], [0]], [1.0], (5, 6))),
])
def test_resizes_match_torch(call):
    b, t = both(lambda lib: lib.sparse_coo_tensor(IDX, VAL, (2, 3)))
    try:
        tr = call(t, torch)
    except RuntimeError as e:
        with pytest.raises(RuntimeError, match=str(e)[:40].replace("(", r"\(")
                           .replace(")", r"\)").replace("[", r"\[")):
            call(b, bw)
        return
    br = call(b, bw)
    assert br is b and tr is t
    assert_sparse_equal(b, t)


# -- arithmetic --------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("op", [
    lambda a, b, lib: a * 2, lambda a, b, lib: 2.5 * a, lambda a, b, lib: a / 4,
    lambda a, b, lib: -a, lambda a, b, lib: a + b, lambda a, b, lib: a - b,
    lambda a, b, lib: lib.add(a, b, alpha=2), lambda a, b, lib: a.coalesce() * b.coalesce(),
    lambda a, b, lib: a.t(), lambda a, b, lib: a.transpose(0, 1), lambda a, b, lib: a.clone(),
    lambda a, b, lib: a.double(), lambda a, b, lib: a.detach(),
    lambda a, b, lib: a.coalesce() * lib.tensor(3.0),
])
def test_arithmetic_matches_torch(op):
    a_b, a_t = both(lambda lib: lib.sparse_coo_tensor(IDX, VAL, (2, 3)))
    b_b, b_t = both(lambda lib: lib.sparse_coo_tensor([[0, 1], [2, 1]], [7.0, -1.0], (2, 3)))
    assert_sparse_equal(op(a_b, b_b, bw), op(a_t, b_t, torch))


@requires_torch
def test_dense_plus_sparse_matches_torch():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    b, t = both(lambda lib: lib.tensor(x) + lib.sparse_coo_tensor(IDX, VAL, (2, 3)))
    assert not b.is_sparse
    np.testing.assert_array_equal(b.numpy(), t.numpy())
    b, t = both(lambda lib: lib.tensor(x).add_(lib.sparse_coo_tensor(IDX, VAL, (2, 3)),
                                               alpha=2))
    np.testing.assert_array_equal(b.numpy(), t.numpy())


@requires_torch
@pytest.mark.parametrize("swap", [False, True])
def test_sparse_times_dense_matches_torch(swap):
    got = {}
    for lib in (bw, torch):
        s = lib.sparse_coo_tensor(IDX, VAL, (2, 3), requires_grad=True)
        x = lib.arange(6.0).reshape(2, 3).requires_grad_()
        y = x * s if swap else s * x
        assert y.is_sparse
        (y.to_dense() * lib.arange(1.0, 7.0).reshape(2, 3)).sum().backward()
        got[lib.__name__] = (y, s.grad, x.grad)
    for b, t in zip(got["brickwork"], got["torch"]):
        assert_sparse_equal(b, t)


@requires_torch
@pytest.mark.parametrize("op", [
    lambda s, lib: s - lib.ones(2, 3),
    lambda s, lib: s + lib.ones(2, 3),
    lambda s, lib: s + lib.sparse_coo_tensor(IDX, VAL, (2, 4)),
    lambda s, lib: lib.sparse_coo_tensor(IDX, lib.ones(4, 2), (2, 3, 2)).t(),
])
def test_arithmetic_errors_match_torch(op):
    b, t = both(lambda lib: lib.sparse_coo_tensor(IDX, VAL, (2, 3)))
    with pytest.raises(RuntimeError) as te:
        op(t, torch)
    with pytest.raises(RuntimeError) as be:
        op(b, bw)
    if "t()" not in str(te.value):
        assert str(be.value) == str(te.value)


@pytest.mark.parametrize("op", [
    lambda s: bw.exp(s), lambda s: s.view(6), lambda s: s.mean(), lambda s: s.sum(),
    lambda s: s.relu(), lambda s: bw.where(s > 0, s, s), lambda s: s.reshape(6),
])
def test_unsupported_ops_raise_not_implemented(op):
    s = bw.sparse_coo_tensor(IDX, VAL, (2, 3))
    with pytest.raises((NotImplementedError, RuntimeError)) as e:
        op(s)
    assert "Sparse" in str(e.value) or "sparse" in str(e.value)


# -- autograd of construction and conversion ---------------------------------------------------
@requires_torch
def test_gradients_of_values_and_to_dense_match_torch():
    v = np.array(VAL, np.float32)
    w = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    res = {}
    for lib in (bw, torch):
        vals = lib.tensor(v, requires_grad=True)
        s = lib.sparse_coo_tensor(lib.tensor(IDX), vals, (2, 3))
        assert type(s.grad_fn).__name__ == "SparseCooTensorWithDimsAndTensorsBackward0"
        d = s.to_dense()
        assert type(d.grad_fn).__name__ == "ToDenseBackward0"
        (d * lib.tensor(w)).pow(2).sum().backward()
        res[lib.__name__] = vals.grad.numpy()
    np.testing.assert_allclose(res["brickwork"], res["torch"])


@requires_torch
def test_to_dense_gradient_is_sparse_on_the_pattern():
    b, t = both(lambda lib: lib.sparse_coo_tensor(IDX, VAL, (2, 3), requires_grad=True))
    for s, lib in ((b, bw), (t, torch)):
        (s.to_dense() * lib.arange(6.0).reshape(2, 3)).sum().backward()
    assert_sparse_equal(b.grad, t.grad)


def test_values_gradient_finite_differences():
    # No torch: the gradient through the sparse tensor, checked against finite differences.
    v = bw.tensor(np.array(VAL, np.float64), requires_grad=True)
    w = bw.tensor(np.arange(6.0).reshape(2, 3))
    idx = bw.tensor(IDX)

    def f(vals):
        return (bw.sparse_coo_tensor(idx, vals, (2, 3)).to_dense() * w).pow(2).sum()

    assert bw.autograd.gradcheck(f, (v,))


# -- printing, copies, saving -------------------------------------------------------------------
@requires_torch
def test_repr_with_grad_matches_torch():
    b, t = both(lambda lib: lib.sparse_coo_tensor(IDX, lib.tensor(VAL, dtype=lib.float64),
                                                  (2, 3), requires_grad=True) * 2)
    assert repr(b) == torch_repr(t)
    b, t = both(lambda lib: lib.sparse_coo_tensor(IDX, VAL, (2, 3), requires_grad=True))
    assert repr(b) == torch_repr(t)


def test_pickle_and_deepcopy_round_trip():
    s = bw.sparse_coo_tensor(IDX, VAL, (2, 3))
    for c in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        assert c.is_sparse and c._nnz() == 4 and not c.is_coalesced()
        np.testing.assert_array_equal(c.to_dense().numpy(), s.to_dense().numpy())
    d = copy.deepcopy(s)
    d._values().mul_(0)
    assert s.to_dense().sum().item() == sum(VAL)  # the copy owns its arrays


@pytest.mark.parametrize("fmt", ["torch", "safetensors"])
def test_saving_refuses_sparse_tensors_by_name(fmt, tmp_path):
    s = bw.sparse_coo_tensor(IDX, VAL, (2, 3))
    with pytest.raises(NotImplementedError, match=r"emb.*sparse.*layout=brickwork.sparse_coo"):
        bw.save({"emb": s}, str(tmp_path / "x.bin"), format=fmt)
    buf = io.BytesIO()
    bw.save({"emb": s.coalesce().indices(), "v": s.coalesce().values()}, buf)  # the way out


# -- the simulated CUDA backend -------------------------------------------------------------------
def test_sparse_on_simcuda(sim_cuda):
    from brickwork.device import device_of_array

    s = bw.sparse_coo_tensor(IDX, VAL, (2, 3), device="cuda:1")
    assert s.device == bw.device("cuda:1")
    assert device_of_array(s._data.values) == s.device
    assert device_of_array(s._data.indices) == s.device
    assert "device='cuda:1', size=(2, 3)" in repr(s)
    want = bw.sparse_coo_tensor(IDX, VAL, (2, 3)).to_dense().numpy()
    np.testing.assert_array_equal(s.to_dense().cpu().numpy(), want)
    c = s.coalesce()
    assert c._nnz() == 3 and c.device == s.device
    np.testing.assert_array_equal(s.cpu().to_dense().numpy(), want)
    np.testing.assert_array_equal((s * 2 + s).to_dense().cpu().numpy(), 3 * want)
    np.testing.assert_array_equal(s.to_dense().to_sparse().to_dense().cpu().numpy(), want)
    with pytest.raises(NotImplementedError, match="SparseCUDA"):
        bw.exp(s)


@requires_torch
@pytest.mark.parametrize("op", [
    lambda a, b, lib: a * 3, lambda a, b, lib: a + b, lambda a, b, lib: a - b,
    lambda a, b, lib: a.t(), lambda a, b, lib: -a, lambda a, b, lib: a.coalesce(),
    lambda a, b, lib: a.double(), lambda a, b, lib: a.clone(),
])
def test_gradients_through_sparse_arithmetic_match_torch(op):
    got = {}
    for lib in (bw, torch):
        a = lib.sparse_coo_tensor(IDX, VAL, (2, 3), requires_grad=True)
        b = lib.sparse_coo_tensor([[0, 1], [2, 1]], [7.0, -1.0], (2, 3), requires_grad=True)
        out = op(a, b, lib).to_dense()
        (out * lib.arange(6.0, dtype=out.dtype).reshape(out.shape)).sum().backward()
        got[lib.__name__] = (a.grad, b.grad)
    for g_b, g_t in zip(got["brickwork"], got["torch"]):
        assert (g_b is None) == (g_t is None)
        if g_t is not None:
            assert g_b.is_sparse == g_t.is_sparse
            np.testing.assert_allclose(g_b.to_dense().numpy(), g_t.to_dense().numpy())
