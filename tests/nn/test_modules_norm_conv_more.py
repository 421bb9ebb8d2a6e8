"""InstanceNorm1d/2d/3d, BatchNorm3d, RMSNorm, LocalResponseNorm, CrossMapLRN2d, Conv3d,
ConvTranspose3d and their lazy forms against PyTorch (same weights: values, gradients, running
statistics, repr, state_dict keys), plus NumPy expectations and gradchecks that need no torch."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn.parameter import is_lazy
from helpers import (assert_close, check_error, check_op, pick, rand_array, requires_torch,
                     torch)


def copy_state(b_module, t_module) -> None:
    """Give the brickwork module the torch module's parameters and buffers."""
    b_module.load_state_dict({k: brickwork.tensor(v.detach().numpy().copy())
                              for k, v in t_module.state_dict().items()})


def run_pair(make, x_shape, steps: int = 1, seed: int = 0, **fwd):
    """Build the layer in both libraries with the same state, run ``steps`` training
    forward/backward passes and one in eval mode, and compare everything on the way."""
    b, t = make(brickwork), make(torch)
    assert repr(b) == repr(t)
    assert list(b.state_dict()) == list(t.state_dict())
    copy_state(b, t)
    for step in range(steps):
        x = rand_array(x_shape, seed=seed + step)
        bx = brickwork.tensor(x, requires_grad=True)
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        bo, to = b(bx, **fwd), t(tx, **fwd)
        assert_close(bo, to, what=f"output, step {step}")
        up = rand_array(tuple(to.shape), seed=seed + 50 + step)
        (bo * brickwork.tensor(up)).sum().backward()
        (to * torch.from_numpy(up)).sum().backward()
        assert_close(bx.grad, tx.grad, atol=1e-4, what="input grad")
        for (name, bp), (tname, tp) in zip(b.named_parameters(), t.named_parameters()):
            assert name == tname
            assert_close(bp.grad, tp.grad, atol=1e-4, what=f"grad of {name}")
    for (name, bb), (_, tb) in zip(b.named_buffers(), t.named_buffers()):
        assert_close(bb, tb, atol=1e-5, what=f"buffer {name}")
    x = rand_array(x_shape, seed=seed + 99)
    b.eval()
    t.eval()
    assert_close(b(brickwork.tensor(x), **fwd), t(torch.from_numpy(x), **fwd), what="eval")
    return b


MODULES = {
    "conv3d": (lambda lib: lib.nn.Conv3d(2, 4, 3), (2, 2, 4, 4, 3)),
    "conv3d_strided_groups": (lambda lib: lib.nn.Conv3d(
        4, 6, (1, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), groups=2,
        bias=False), (1, 4, 3, 5, 4)),
    "conv3d_same_reflect": (lambda lib: lib.nn.Conv3d(
        2, 3, (2, 3, 2), padding="same", padding_mode="reflect"), (1, 2, 3, 4, 3)),
    "conv3d_valid": (lambda lib: lib.nn.Conv3d(2, 3, 2, padding="valid"), (1, 2, 3, 3, 3)),
    "conv3d_circular_unbatched": (lambda lib: lib.nn.Conv3d(
        2, 3, 2, padding=1, padding_mode="circular"), (2, 3, 3, 3)),
    "conv3d_replicate": (lambda lib: lib.nn.Conv3d(
        1, 2, 3, padding=(1, 0, 1), padding_mode="replicate"), (1, 1, 3, 3, 3)),
    "conv_transpose3d": (lambda lib: lib.nn.ConvTranspose3d(2, 3, 2), (2, 2, 2, 3, 2)),
    "conv_transpose3d_full": (lambda lib: lib.nn.ConvTranspose3d(
        2, 4, (1, 2, 3), stride=2, padding=(0, 1, 1), output_padding=1, groups=2,
        dilation=2), (1, 2, 2, 3, 2)),
    "conv_transpose3d_unbatched": (lambda lib: lib.nn.ConvTranspose3d(2, 2, 2, bias=False),
                                   (2, 2, 2, 2)),
    "instance_norm1d": (lambda lib: lib.nn.InstanceNorm1d(3), (2, 3, 5)),
    "instance_norm1d_unbatched": (lambda lib: lib.nn.InstanceNorm1d(3, affine=True), (3, 5)),
    "instance_norm2d_affine": (lambda lib: lib.nn.InstanceNorm2d(3, affine=True), (2, 3, 2, 3)),
    "instance_norm2d_no_bias": (lambda lib: lib.nn.InstanceNorm2d(3, affine=True, bias=False),
                                (2, 3, 2, 2)),
    "instance_norm2d_tracked": (lambda lib: lib.nn.InstanceNorm2d(
        3, momentum=0.3, affine=True, track_running_stats=True), (2, 3, 3, 2)),
    "instance_norm3d_tracked": (lambda lib: lib.nn.InstanceNorm3d(
        2, track_running_stats=True), (2, 2, 2, 2, 2)),
    "instance_norm3d_unbatched": (lambda lib: lib.nn.InstanceNorm3d(
        2, eps=1e-3, track_running_stats=True), (2, 2, 3, 2)),
    "instance_norm1d_cumulative": (lambda lib: lib.nn.InstanceNorm1d(
        3, momentum=None, track_running_stats=True), (2, 3, 4)),
    "batch_norm3d": (lambda lib: lib.nn.BatchNorm3d(3), (2, 3, 2, 2, 2)),
    "batch_norm3d_cumulative": (lambda lib: lib.nn.BatchNorm3d(3, momentum=None, affine=False),
                                (2, 3, 2, 1, 2)),
    "rms_norm": (lambda lib: lib.nn.RMSNorm([2, 3]), (4, 2, 3)),
    "rms_norm_eps": (lambda lib: lib.nn.RMSNorm(3, eps=1e-2), (2, 2, 3)),
    "rms_norm_no_affine": (lambda lib: lib.nn.RMSNorm(3, elementwise_affine=False), (4, 3)),
    "local_response_norm": (lambda lib: lib.nn.LocalResponseNorm(3), (2, 5, 3)),
    "local_response_norm_4d": (lambda lib: lib.nn.LocalResponseNorm(
        2, alpha=0.5, beta=0.9, k=2.0), (2, 4, 2, 3)),
    "cross_map_lrn": (lambda lib: lib.nn.CrossMapLRN2d(5, alpha=0.5, beta=0.6, k=2),
                      (2, 8, 2, 3)),
    "cross_map_lrn_even": (lambda lib: lib.nn.CrossMapLRN2d(4, alpha=0.3), (1, 7, 2, 2)),
    "cross_map_lrn_few_channels": (lambda lib: lib.nn.CrossMapLRN2d(3, beta=1.5, k=1.5),
                                   (2, 2, 3, 2)),
}


@requires_torch
@pytest.mark.parametrize("name", list(MODULES))
def test_module_matches_torch(name):
    make, shape = MODULES[name]
    run_pair(make, shape, steps=2)


@requires_torch
@pytest.mark.parametrize("size", [(3, 5, 3), [4, 6, 4]])
def test_conv_transpose3d_output_size(size):
    run_pair(lambda lib: lib.nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1), (1, 2, 2, 3, 2),
             output_size=size)


@requires_torch
@pytest.mark.parametrize("name", ["conv3d_strided_groups", "conv_transpose3d_full",
                                  "instance_norm2d_tracked", "rms_norm", "cross_map_lrn"])
def test_module_on_each_device(name):
    make, shape = MODULES[name]
    b, t = make(brickwork), make(torch)
    copy_state(b, t)
    # CrossMapLRN2d's backward is PyTorch's hand-written one, differentiable once only.
    check_op(lambda lib, x: pick(lib, b, t)(x), [shape], second_order=name != "cross_map_lrn")


LAZY = [
    ("LazyConv1d", (3, 2), {"stride": 2, "bias": False}, (2, 4, 6), "Conv1d"),
    ("LazyConv3d", (4, 2), {"padding": "same", "groups": 2}, (1, 2, 3, 3, 3), "Conv3d"),
    ("LazyConv3d", (2, 2), {}, (2, 3, 3, 2), "Conv3d"),
    ("LazyConvTranspose1d", (4, 3), {"groups": 2, "output_padding": 1, "stride": 2},
     (2, 4, 5), "ConvTranspose1d"),
    ("LazyConvTranspose2d", (3, 2), {"dilation": 2}, (2, 3, 3), "ConvTranspose2d"),
    ("LazyConvTranspose3d", (2, 2), {"stride": 2}, (1, 3, 2, 2, 2), "ConvTranspose3d"),
    ("LazyBatchNorm3d", (), {}, (2, 3, 2, 2, 2), "BatchNorm3d"),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 4), "InstanceNorm1d"),
    ("LazyInstanceNorm2d", (), {"affine": False}, (2, 3, 2, 3), "InstanceNorm2d"),
    ("LazyInstanceNorm3d", (), {"track_running_stats": False, "bias": False},
     (2, 2, 2, 2, 2), "InstanceNorm3d"),
]


@requires_torch
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own copy
@pytest.mark.parametrize("name,args,kwargs,shape,becomes", LAZY,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAZY)])
def test_lazy_becomes_concrete_like_torch(name, args, kwargs, shape, becomes):
    b = getattr(nn, name)(*args, **kwargs)
    t = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(b) == repr(t)
    assert list(b.state_dict()) == list(t.state_dict())
    assert b.has_uninitialized_params() == t.has_uninitialized_params()
    x = rand_array(shape, seed=3)
    bo = b(brickwork.tensor(x))
    t(torch.from_numpy(x))
    assert type(b) is getattr(nn, becomes) and type(t) is getattr(torch.nn, becomes)
    assert repr(b) == repr(t)
    assert not b._forward_pre_hooks
    assert not any(is_lazy(v) for v in list(b.parameters()) + list(b.buffers()))
    for (n, bv), (_, tv) in zip(b.state_dict().items(), t.state_dict().items()):
        assert tuple(bv.shape) == tuple(tv.shape), n
    if "Conv" in name:  # PyTorch's uniform init: bounded by 1/sqrt(fan_in)
        fan_in = b.weight.shape[1] * int(np.prod(b.weight.shape[2:]))
        assert np.abs(b.weight.detach().numpy()).max() <= 1 / np.sqrt(fan_in) * 1.0001
    copy_state(b, t)
    x2 = rand_array(shape, seed=4)
    assert_close(b(brickwork.tensor(x2)), t(torch.from_numpy(x2)))
    assert bo.shape == b(brickwork.tensor(x)).shape


@pytest.mark.parametrize("lazy,eager,shape", [
    (lambda: nn.LazyConvTranspose3d(4, 2, groups=2),
     lambda: nn.ConvTranspose3d(6, 4, 2, groups=2), (1, 6, 2, 2, 2)),
    (lambda: nn.LazyConv1d(4, 3, groups=2), lambda: nn.Conv1d(6, 4, 3, groups=2), (2, 6, 5)),
    (lambda: nn.LazyInstanceNorm2d(),
     lambda: nn.InstanceNorm2d(6, affine=True, track_running_stats=True).eval(), (2, 6, 2, 2)),
])
def test_lazy_loads_state_dict_without_forward(lazy, eager, shape):
    src, dst = eager(), lazy()
    dst.load_state_dict(src.state_dict())
    dst.train(src.training)
    x = brickwork.tensor(rand_array(shape, seed=5))
    np.testing.assert_allclose(dst(x).detach().numpy(), src(x).detach().numpy())
    assert type(dst) is type(src) and repr(dst) == repr(src)


CLASSES = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "BatchNorm3d", "RMSNorm",
           "LocalResponseNorm", "CrossMapLRN2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d", "Conv3d", "ConvTranspose3d",
           "LazyConv1d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d"]


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@requires_torch
@pytest.mark.parametrize("name", CLASSES)
def test_signatures_match_torch(name):
    b, t = getattr(nn, name), getattr(torch.nn, name)
    assert _params(b.__init__) == _params(t.__init__)
    assert _params(b.forward) == _params(t.forward)
    assert getattr(b, "__constants__", None) in (None, getattr(t, "__constants__", None)) or \
        set(b.__constants__) == set(t.__constants__)


ERRORS = {
    "instance_norm1d_rank": lambda lib, x: lib.nn.InstanceNorm1d(3)(x.reshape(2, 3, 2, 2)),
    "instance_norm2d_rank": lambda lib, x: lib.nn.InstanceNorm2d(3)(x.reshape(24)),
    "instance_norm3d_rank": lambda lib, x: lib.nn.InstanceNorm3d(3)(x.reshape(2, 12)),
    "instance_norm_affine_mismatch": lambda lib, x: lib.nn.InstanceNorm1d(4, affine=True)(
        x.reshape(2, 3, 4)),
    "instance_norm_one_position": lambda lib, x: lib.nn.InstanceNorm1d(3)(x.reshape(8, 3, 1)),
    "batch_norm3d_rank": lambda lib, x: lib.nn.BatchNorm3d(3)(x.reshape(2, 3, 4)),
    "rms_norm_shape": lambda lib, x: lib.nn.RMSNorm(5)(x.reshape(6, 4)),
    "lrn_rank": lambda lib, x: lib.nn.LocalResponseNorm(2)(x.reshape(4, 6)),
    "cross_map_rank": lambda lib, x: lib.nn.CrossMapLRN2d(3)(x.reshape(2, 3, 4)),
    "conv3d_padding_string": lambda lib, x: lib.nn.Conv3d(3, 3, 1, padding="full"),
    "conv3d_same_strided": lambda lib, x: lib.nn.Conv3d(3, 3, 1, stride=2, padding="same"),
    "conv3d_groups": lambda lib, x: lib.nn.Conv3d(3, 4, 1, groups=2),
    "conv3d_padding_mode": lambda lib, x: lib.nn.Conv3d(3, 3, 1, padding_mode="mirror"),
    "conv_transpose3d_padding_mode": lambda lib, x: lib.nn.ConvTranspose3d(
        3, 3, 1, padding_mode="reflect"),
    "conv_transpose3d_output_size": lambda lib, x: lib.nn.ConvTranspose3d(3, 2, 2, stride=2)(
        x.reshape(1, 3, 2, 2, 2), output_size=(7, 4, 4)),
    "lazy_conv3d_rank": lambda lib, x: lib.nn.LazyConv3d(2, 1)(x.reshape(2, 12)),
    "lazy_conv_transpose1d_groups": lambda lib, x: lib.nn.LazyConvTranspose1d(
        4, 1, groups=2)(x.reshape(1, 3, 8)),
}


# Messages compared with the sizes spelled alike; where PyTorch lists a set in hash order (its
# padding strings and modes) or words output_size errors its own way, only the type.
LOOSE = {"conv3d_padding_string", "conv3d_padding_mode", "conv_transpose3d_output_size"}


@requires_torch
@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    err = check_error(ERRORS[name], [(24,)], match_message=False)
    if name in LOOSE:
        return
    with pytest.raises(Exception) as t_err:
        ERRORS[name](torch, torch.zeros(24))
    assert str(err) == str(t_err.value).replace("torch.Size", "brickwork.Size")


@requires_torch
def test_instance_norm_warns_when_num_features_is_unused():
    with pytest.warns(UserWarning, match=r"input's size at dim=1 does not match num_features"):
        out = nn.InstanceNorm1d(4)(brickwork.ones(2, 3, 5))
    assert out.shape == (2, 3, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm1d(3)(brickwork.ones(2, 3, 5))  # matching sizes: silent


@requires_torch
def test_cross_map_lrn_size_one_backward_raises_like_torch():
    def fn(lib):
        x = lib.ones(1, 3, 2, 2, requires_grad=True)
        lib.nn.CrossMapLRN2d(1)(x).sum().backward()

    b = pytest.raises(RuntimeError, fn, brickwork)
    t = pytest.raises(RuntimeError, fn, torch)
    assert str(b.value) == str(t.value)


# ---- expectations that need no torch -------------------------------------------------------

def test_instance_norm_numpy_expectation():
    x = rand_array((2, 3, 4, 5), seed=1)
    m = nn.InstanceNorm2d(3, momentum=0.5, track_running_stats=True)
    out = m(brickwork.tensor(x)).numpy()
    mean = x.mean((2, 3), keepdims=True)
    expect = (x - mean) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expect, rtol=1e-4, atol=1e-5)
    # Running statistics: the batch mean of each sample's mean and unbiased variance.
    np.testing.assert_allclose(m.running_mean.numpy(), 0.5 * mean.mean((0, 2, 3)), atol=1e-6)
    unbiased = x.var((2, 3), ddof=1).mean(0)
    np.testing.assert_allclose(m.running_var.numpy(), 0.5 + 0.5 * unbiased, rtol=1e-5)
    assert int(m.num_batches_tracked.item()) == 0  # instance norms never count batches
    m.eval()
    expect = (x - m.running_mean.numpy()[:, None, None]) / np.sqrt(
        m.running_var.numpy()[:, None, None] + 1e-5)
    np.testing.assert_allclose(m(brickwork.tensor(x)).numpy(), expect, rtol=1e-4, atol=1e-5)


def test_rms_norm_numpy_expectation():
    x = rand_array((3, 2, 4), seed=2)
    m = nn.RMSNorm((2, 4))
    assert m.weight.shape == (2, 4) and m.eps is None
    expect = x / np.sqrt((x * x).mean((1, 2), keepdims=True) + np.finfo(np.float32).eps)
    np.testing.assert_allclose(m(brickwork.tensor(x)).detach().numpy(), expect, rtol=1e-5)


def test_cross_map_lrn_numpy_expectation():
    # Few channels: the legacy window is the plain centred one of width 2 * (size // 2) + 1.
    x = rand_array((1, 3, 2, 2), seed=3)
    out = nn.CrossMapLRN2d(5, alpha=0.5, beta=0.75, k=1.0)(brickwork.tensor(x)).numpy()
    sq = (x * x).sum(1, keepdims=True)  # every channel sees all three
    np.testing.assert_allclose(out, x * (1 + 0.5 / 5 * sq) ** -0.75, rtol=1e-5)


def test_conv3d_and_batch_norm3d_shapes():
    x = brickwork.rand(2, 3, 4, 5, 6)
    assert nn.Conv3d(3, 5, (2, 3, 1), stride=(1, 2, 3))(x).shape == (2, 5, 3, 2, 2)
    assert nn.ConvTranspose3d(3, 2, 2, stride=2)(x).shape == (2, 2, 8, 10, 12)
    bn = nn.BatchNorm3d(3)
    bn(x)
    assert int(bn.num_batches_tracked.item()) == 1


def _f64(shape, seed):
    return brickwork.tensor(rand_array(shape, "float64", seed=seed), requires_grad=True)


def test_conv3d_module_gradcheck():
    conv = nn.Conv3d(2, 2, 2, stride=(1, 2, 1), padding=(1, 0, 1), padding_mode="circular",
                     dtype=brickwork.float64)
    assert gradcheck(lambda x: conv(x), (_f64((1, 2, 2, 3, 2), 0),))
    assert gradcheck(lambda w: brickwork.nn.functional.conv3d(
        _f64((1, 2, 2, 3, 2), 1).detach(), w), (_f64((2, 2, 2, 2, 1), 2),))


def test_conv_transpose3d_module_gradcheck():
    conv = nn.ConvTranspose3d(2, 2, 2, stride=2, groups=2, dtype=brickwork.float64)
    assert gradcheck(lambda x: conv(x, output_size=(3, 4, 3)), (_f64((1, 2, 1, 2, 1), 0),))


def test_instance_norm_and_rms_norm_gradcheck():
    inorm = nn.InstanceNorm1d(2, affine=True, dtype=brickwork.float64)
    assert gradcheck(lambda x, w, b: brickwork.nn.functional.instance_norm(
        x, weight=w, bias=b), (_f64((2, 2, 3), 0), _f64((2,), 1), _f64((2,), 2)))
    assert gradcheck(lambda x: inorm(x), (_f64((2, 3), 3),))
    rms = nn.RMSNorm(3, dtype=brickwork.float64)
    assert gradcheck(lambda x: rms(x), (_f64((2, 3), 4),))


def test_factory_kwargs_set_dtype_and_buffers():
    f64 = brickwork.float64
    assert nn.Conv3d(2, 2, 1, dtype=f64).bias.dtype == f64
    assert nn.ConvTranspose3d(2, 4, 1, groups=2, dtype=f64).weight.shape == (2, 2, 1, 1, 1)
    norm = nn.InstanceNorm3d(3, affine=True, track_running_stats=True, dtype=f64)
    assert [n for n, _ in norm.named_buffers()] == ["running_mean", "running_var",
                                                    "num_batches_tracked"]
    assert norm.running_var.dtype == f64 and norm.weight.dtype == f64
    assert norm.num_batches_tracked.dtype == brickwork.int64
    assert nn.RMSNorm(4, dtype=f64).weight.dtype == f64
    assert dict(nn.InstanceNorm1d(3).named_buffers()) == {}
    lazy = nn.LazyConvTranspose3d(2, 1, dtype=f64)
    assert lazy(brickwork.ones(1, 3, 1, 1, 1, dtype=f64)).dtype == f64
