"""Batch/layer/group normalization against PyTorch, running statistics, gradchecks, modules."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from helpers import check_error, check_op, host, pick, rand_array, requires_torch, torch


@requires_torch
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (4, 3, 5, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(shape, training):
    rm, rv = rand_array((3,), seed=7), rand_array((3,), low=0.5, high=2.0, seed=8)
    state = {}

    def fn(lib, x, w, b):
        mean, var = lib.tensor(rm.copy()), lib.tensor(rv.copy())
        out = lib.nn.functional.batch_norm(x, mean, var, w, b, training=training, momentum=0.3)
        state[lib.__name__] = (mean, var)
        return out

    check_op(fn, [shape, (3,), (3,)])
    # The running statistics were updated in place the same way (unbiased variance).
    (bm, bv), (tm, tv) = state["brickwork"], state["torch"]
    np.testing.assert_allclose(host(bm), host(tm), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(bv), host(tv), rtol=1e-5, atol=1e-6)


@requires_torch
def test_batch_norm_without_running_stats_or_affine():
    check_op(lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=True),
             [(5, 3, 2)])


@requires_torch
@pytest.mark.parametrize("shape,norm", [((4, 3, 5, 2), (5, 2)), ((4, 6), (6,)), ((2, 3, 4), [4])])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, norm, affine):
    n_shape = tuple(norm)
    params = [n_shape, n_shape] if affine else []
    check_op(lambda lib, x, *wb: lib.nn.functional.layer_norm(x, norm, *wb), [shape] + params)


@requires_torch
@pytest.mark.parametrize("shape,groups", [((4, 6, 5, 2), 3), ((2, 6, 7), 2), ((3, 4), 2)])
def test_group_norm_matches_torch(shape, groups):
    c = shape[1]
    check_op(lambda lib, x, w, b: lib.nn.functional.group_norm(x, groups, w, b),
             [shape, (c,), (c,)])


@requires_torch
@pytest.mark.parametrize("shape,norm", [((64, 40, 128), (128,)), ((4, 30, 50, 60), (50, 60)),
                                        ((2, 3, 400000), (400000,))])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_layer_norm_in_blocks_on_threads(shape, norm, affine):
    # rows cut into blocks of 256K values and shared over threads (_rowwise.py), one row
    # bigger than a block; a NaN reaches its own row only; a weight or a bias alone
    x = rand_array(shape, "float32", -3, 3)
    x.reshape(-1)[7] = np.nan

    def fn(lib, x, *p):
        w = p[0] if affine in ("both", "weight") else None
        b = p[-1] if affine in ("both", "bias") else None
        return lib.nn.functional.layer_norm(x, norm, w, b)
    params = {"both": [norm, norm], "weight": [norm], "bias": [norm], "none": []}[affine]
    check_op(fn, [x] + params, second_order=False)


def test_layer_norm_numpy_expectation():
    x = rand_array((3, 8), seed=2)
    out = F.layer_norm(brickwork.tensor(x), (8,)).numpy()
    expect = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expect, rtol=1e-5, atol=1e-5)


def _f64(shape, seed):
    return brickwork.tensor(rand_array(shape, "float64", seed=seed), requires_grad=True)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    x, w, b = _f64((3, 2, 2), 0), _f64((2,), 1), _f64((2,), 2)
    rm, rv = brickwork.zeros(2, dtype=brickwork.float64), brickwork.ones(2,
                                                                         dtype=brickwork.float64)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=training,
                                                  momentum=0.0), (x, w, b))


def test_layer_norm_gradcheck():
    assert gradcheck(lambda x, w, b: F.layer_norm(x, (3,), w, b),
                     (_f64((2, 3), 0), _f64((3,), 1), _f64((3,), 2)))


@requires_torch
@pytest.mark.parametrize("shape,groups,affine", [
    ((8, 32, 32, 32), 8, "both"),  # 262K values: the row passes on two threads
    ((3, 8, 5, 4), 1, "weight"), ((3, 8, 5, 4), 8, "both"), ((2, 6, 9), 3, "none")])
def test_group_norm_row_kernels_match_torch(shape, groups, affine):
    c = shape[1]
    # (a bias without a weight is left out: PyTorch's own backward fails on it)
    params = {"both": [(c,), (c,)], "weight": [(c,)], "none": []}[affine]

    def fn(lib, x, *wb):
        return lib.nn.functional.group_norm(x, groups, *wb)
    check_op(fn, [shape] + params, second_order=False)


@requires_torch
def test_group_norm_broadcast_gradient_matches_torch():
    # .sum()'s gradient is a broadcast, not a contiguous array: the generic formulas
    a = rand_array((2, 6, 3, 4))
    grads = []
    for lib in (brickwork, torch):
        x = lib.tensor(a, requires_grad=True)
        w = lib.tensor(np.linspace(0.5, 2, 6, dtype=np.float32), requires_grad=True)
        (lib.nn.functional.group_norm(x, 3, w) * 3.0).sum().backward()
        grads.append((x.grad.numpy(), w.grad.numpy()))
    for b, t in zip(*grads):
        np.testing.assert_allclose(b, t, rtol=1e-4, atol=1e-5)


@requires_torch
def test_group_norm_retained_graph_takes_both_gradients():
    # a broadcast gradient first (the generic formulas), then a contiguous one (the row
    # kernels) through the same retained graph: the first must leave the saved state as it was
    a = rand_array((2, 6, 3, 4))
    up = rand_array((2, 6, 3, 4), seed=5)
    grads = []
    for lib in (brickwork, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.functional.group_norm(x, 3)
        y.sum().backward(retain_graph=True)
        x.grad = None
        y.backward(lib.tensor(up))
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)


def test_group_norm_gradcheck():
    assert gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b),
                     (_f64((2, 4, 2), 0), _f64((4,), 1), _f64((4,), 2)))


@requires_torch
@pytest.mark.parametrize("fn,shape", [
    (lambda lib, x: lib.nn.functional.layer_norm(x, (4,)), (2, 3)),
    (lambda lib, x: lib.nn.functional.group_norm(x, 2), (2, 3, 4)),
    (lambda lib, x: lib.nn.functional.batch_norm(x, None, None, training=True), (1, 3)),
    (lambda lib, x: lib.nn.functional.batch_norm(x, lib.zeros(4), lib.ones(4)), (2, 3)),
])
def test_norm_errors_match_torch(fn, shape):
    check_error(fn, [shape], match_message=False)


# -- modules -----------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("name,args,kw,shape", [
    ("BatchNorm1d", (3,), {}, (6, 3)),
    ("BatchNorm1d", (3,), {"momentum": None}, (6, 3, 4)),
    ("BatchNorm2d", (3,), {"affine": False}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), {"bias": False, "eps": 1e-3, "momentum": 0.5}, (4, 3, 5, 5)),
])
def test_batch_norm_modules_follow_torch_over_steps(name, args, kw, shape):
    import torch

    t_mod, b_mod = getattr(torch.nn, name)(*args, **kw), getattr(nn, name)(*args, **kw)
    assert repr(b_mod) == repr(t_mod)
    assert list(b_mod.state_dict()) == list(t_mod.state_dict())
    for step in range(3):  # three training batches, then eval
        check_op(lambda lib, x: pick(lib, b_mod, t_mod)(x), [shape],
                 seed=step)
    for (k, bv), tv in zip(b_mod.state_dict().items(), t_mod.state_dict().values()):
        np.testing.assert_allclose(host(bv), host(tv), rtol=1e-5, atol=1e-6, err_msg=k)
        assert bv.dtype.name == str(tv.dtype)[6:], k
    b_mod.eval()
    t_mod.eval()
    check_op(lambda lib, x: pick(lib, b_mod, t_mod)(x), [shape], seed=9)


@requires_torch
@pytest.mark.parametrize("name,args,kw", [
    ("LayerNorm", (10,), {}), ("LayerNorm", ([3, 4],), {"elementwise_affine": False}),
    ("LayerNorm", (4,), {"bias": False}), ("GroupNorm", (2, 4), {}),
    ("GroupNorm", (2, 4), {"affine": False}),
])
def test_norm_module_reprs(name, args, kw):
    import torch

    assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(torch.nn, name)(*args, **kw))


def test_batch_norm_module_errors():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(brickwork.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(brickwork.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(2, 3)


def test_batch_norm_running_stats_numpy():
    bn = nn.BatchNorm2d(2, momentum=None)
    batches = [rand_array((4, 2, 3, 3), seed=s) for s in range(3)]
    for b in batches:
        bn(brickwork.tensor(b))
    assert bn.num_batches_tracked.dtype == brickwork.int64
    assert int(bn.num_batches_tracked) == 3
    # momentum=None: a plain average of the batch statistics.
    mean = np.mean([b.mean(axis=(0, 2, 3)) for b in batches], axis=0)
    var = np.mean([b.var(axis=(0, 2, 3), ddof=1) for b in batches], axis=0)
    np.testing.assert_allclose(host(bn.running_mean), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(host(bn.running_var), var, rtol=1e-5, atol=1e-6)
    bn.eval()
    x = batches[0]
    out = bn(brickwork.tensor(x)).detach().numpy()
    expect = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(out, expect, rtol=1e-4, atol=1e-5)


def test_lazy_batch_norm2d():
    bn = nn.LazyBatchNorm2d()
    assert repr(bn).startswith("LazyBatchNorm2d(0, eps=1e-05")
    out = bn(brickwork.randn(4, 5, 3, 3))
    assert type(bn) is nn.BatchNorm2d and bn.num_features == 5
    assert tuple(bn.running_mean.shape) == (5,) and int(bn.num_batches_tracked) == 1
    assert tuple(out.shape) == (4, 5, 3, 3)
    assert sorted(bn.state_dict()) == ["bias", "num_batches_tracked", "running_mean",
                                       "running_var", "weight"]
