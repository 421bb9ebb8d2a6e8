"""Embedding and one_hot against PyTorch and NumPy."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.nn import functional as F
from helpers import check_error, check_op, host, pick, rand_array, requires_torch

IDX = np.array([[1, 2, 0], [4, 1, 1]])


@requires_torch
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
@pytest.mark.parametrize("idx", [IDX, IDX[0], np.array(3), np.zeros((0,), np.int64)])
def test_embedding_matches_torch(padding_idx, idx):
    check_op(lambda lib, i, w: lib.nn.functional.embedding(i, w, padding_idx=padding_idx),
             [idx, (5, 3)])


def test_embedding_padding_row_gets_no_gradient():
    w = brickwork.tensor(rand_array((5, 3)), requires_grad=True)
    out = F.embedding(brickwork.tensor(IDX), w, padding_idx=1)
    out.sum().backward()
    grad = host(w.grad)
    counts = np.bincount(IDX.reshape(-1), minlength=5).astype(np.float32)
    counts[1] = 0
    np.testing.assert_array_equal(grad, np.repeat(counts[:, None], 3, axis=1))


@requires_torch
def test_embedding_max_norm_renormalizes_rows_like_torch():
    w = rand_array((5, 3), seed=1) * 3
    check_op(lambda lib, i, w: lib.nn.functional.embedding(i, w.detach(), max_norm=1.0),
             [IDX, w], grad=[False, False])


@requires_torch
@pytest.mark.parametrize("fn,inputs", [
    (lambda lib, i, w: lib.nn.functional.embedding(i, w), [np.array([5]), (5, 3)]),
    (lambda lib, i, w: lib.nn.functional.embedding(i, w), [np.array([-1]), (5, 3)]),
])
def test_embedding_errors_match_torch(fn, inputs):
    check_error(fn, inputs)


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 0}, {"padding_idx": -2, "max_norm": 2.0},
                                {"norm_type": 1.0, "scale_grad_by_freq": True}])
def test_embedding_module_repr_and_forward(kw):
    import torch

    t_mod, b_mod = torch.nn.Embedding(10, 3, **kw), nn.Embedding(10, 3, **kw)
    assert repr(b_mod) == repr(t_mod)
    assert b_mod.padding_idx == t_mod.padding_idx
    if b_mod.padding_idx is not None:
        assert not b_mod.weight.detach().numpy()[b_mod.padding_idx].any()
    b_mod.weight._data[...] = t_mod.weight.detach().numpy()
    outs = check_op(lambda lib, i: pick(lib, b_mod, t_mod)(i), [IDX])
    outs[0].sum().backward()
    t_mod(torch.tensor(IDX)).sum().backward()
    np.testing.assert_allclose(host(b_mod.weight.grad), host(t_mod.weight.grad))


def test_embedding_init_and_from_pretrained():
    brickwork.manual_seed(0)
    emb = nn.Embedding(1000, 8)
    w = emb.weight.detach().numpy()
    assert w.dtype == np.float32
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05  # N(0, 1)
    pre = nn.Embedding.from_pretrained(brickwork.tensor(rand_array((4, 2))))
    assert not pre.weight.requires_grad and tuple(pre.weight.shape) == (4, 2)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)


@requires_torch
@pytest.mark.parametrize("num_classes", [-1, 7])
def test_one_hot_matches_torch(num_classes):
    check_op(lambda lib, t: lib.nn.functional.one_hot(t, num_classes), [IDX])


def test_one_hot_numpy_and_errors():
    out = F.one_hot(brickwork.tensor([0, 2]), 3)
    assert out.dtype == brickwork.int64
    np.testing.assert_array_equal(host(out), np.eye(3, dtype=np.int64)[[0, 2]])
    with pytest.raises(RuntimeError, match="Class values must be smaller than num_classes."):
        F.one_hot(brickwork.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="Class values must be non-negative."):
        F.one_hot(brickwork.tensor([-1]), 3)
    with pytest.raises(RuntimeError, match="LongTensor"):
        F.one_hot(brickwork.tensor([0.0]), 3)


@pytest.mark.parametrize("n,rows,dim", [(7, 300, 5), (50, 20000, 4), (1000, 5000, 3)])
def test_embedding_gradient_adds_repeats_in_order(n, rows, dim):
    # many repeats of each row: the gradient adds them one by one in index order, as
    # ``np.add.at`` on the rows does (and PyTorch's embedding backward), to the bit
    rng = np.random.default_rng(n)
    idx = rng.integers(0, n, rows)
    g = (rng.standard_normal((rows, dim)) * np.exp(3 * rng.standard_normal((rows, dim))))
    g = g.astype(np.float32)
    w = brickwork.zeros(n, dim, requires_grad=True)
    F.embedding(brickwork.tensor(idx), w).backward(brickwork.tensor(g))
    expected = np.zeros((n, dim), np.float32)
    np.add.at(expected, idx, g)
    np.testing.assert_array_equal(host(w.grad).view(np.int32), expected.view(np.int32))


@requires_torch
def test_embedding_gradient_bits_match_torch():
    import torch

    rng = np.random.default_rng(5)
    idx = rng.integers(0, 40, (64, 30))
    g = (rng.standard_normal((64, 30, 6)) * np.exp(3 * rng.standard_normal((64, 30, 6))))
    g = g.astype(np.float32)
    w = brickwork.zeros(40, 6, requires_grad=True)
    F.embedding(brickwork.tensor(idx), w).backward(brickwork.tensor(g))
    tw = torch.zeros(40, 6, requires_grad=True)
    torch.nn.functional.embedding(torch.from_numpy(idx), tw).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(host(w.grad).view(np.int32), tw.grad.numpy().view(np.int32))
