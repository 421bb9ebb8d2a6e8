"""Losses against PyTorch (every reduction and option), stability, errors, modules."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from helpers import check_error, check_op, host, pick, rand_array, requires_torch

REDUCTIONS = ["mean", "sum", "none"]
TARGET = np.array([1, 0, 4, 2])


def _probs(shape, seed, axis=1):
    e = np.exp(rand_array(shape, seed=seed))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2}, {"ignore_index": 0},
                                {"ignore_index": 4, "label_smoothing": 0.1}])
def test_cross_entropy_indices_matches_torch(reduction, kw):
    check_op(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, reduction=reduction, **kw),
             [(4, 5), TARGET])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_weighted_matches_torch(reduction, smoothing):
    w = np.abs(rand_array((5,), seed=3)) + 0.1
    check_op(lambda lib, x, t, w: lib.nn.functional.cross_entropy(
        x, t, weight=w, reduction=reduction, label_smoothing=smoothing, ignore_index=2),
        [(4, 5), TARGET, w], grad=[True, False, False])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_probabilities_matches_torch(reduction, smoothing):
    w = np.abs(rand_array((5,), seed=3)) + 0.1
    check_op(lambda lib, x, t, w: lib.nn.functional.cross_entropy(
        x, t, weight=w, reduction=reduction, label_smoothing=smoothing),
        [(4, 5), _probs((4, 5), 2), w], grad=[True, False, False])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_k_dim_matches_torch(reduction):
    t = rand_array((2, 3, 2), "int64", 0, 5, seed=4)
    check_op(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, reduction=reduction),
             [(2, 5, 3, 2), t])
    check_op(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, reduction=reduction),
             [(2, 5, 3), t[..., 0]])


@requires_torch
def test_cross_entropy_unbatched_matches_torch():
    check_op(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), [(5,), np.array(3)])
    check_op(lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, reduction="none"),
             [(5,), np.array(3)])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction):
    w = np.abs(rand_array((5,), seed=3)) + 0.1
    check_op(lambda lib, x, t, w: lib.nn.functional.nll_loss(x.log_softmax(1), t, weight=w,
                                                             reduction=reduction),
             [(4, 5), TARGET, w], grad=[True, False, False])
    t = rand_array((2, 3, 4), "int64", 0, 5, seed=4)
    check_op(lambda lib, x, t: lib.nn.functional.nll_loss(x, t, reduction=reduction),
             [(2, 5, 3, 4), t])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target,ignore", [([1, 0, 4, 3], -100), ([1, -100, 4, -100], -100),
                                           ([2, 2, 2, 2], 2), ([1, 2, 4, 3], 2)])
def test_nll_loss_of_class_indices_matches_torch(reduction, target, ignore):
    # (N, C) log-probabilities with int64 targets pick each row's entry (no coefficient array):
    # ignored rows, everything ignored (a mean of nan) and every reduction, to second order
    t = np.array(target, dtype=np.int64)
    check_op(lambda lib, x, t: lib.nn.functional.nll_loss(x.log_softmax(1), t, reduction=reduction,
                                                          ignore_index=ignore), [(4, 5), t])


def test_cross_entropy_is_stable_for_huge_logits():
    x = brickwork.tensor([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, brickwork.tensor([0, 0]))
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), 5e4, rtol=1e-6)
    loss.backward()
    assert np.isfinite(host(x.grad)).all()


def test_cross_entropy_numpy_expectation():
    x = rand_array((6, 4), seed=1)
    t = np.array([0, 3, 1, 1, 2, 0])
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    expect = -logp[np.arange(6), t].mean()
    out = F.cross_entropy(brickwork.tensor(x), brickwork.tensor(t))
    assert out.dtype == brickwork.float32 and out.shape == ()
    np.testing.assert_allclose(out.item(), expect, rtol=1e-5)


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2, "reduction": "sum"}])
def test_cross_entropy_gradcheck(kw):
    x = brickwork.tensor(rand_array((3, 4), "float64", seed=0), requires_grad=True)
    t = brickwork.tensor([1, 0, 3])
    assert gradcheck(lambda x: F.cross_entropy(x, t, **kw), (x,))


POINTWISE = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]


@requires_torch
@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(4, 5), (), (0, 3)])
def test_pointwise_losses_match_torch(name, reduction, shape):
    check_op(lambda lib, x, y: getattr(lib.nn.functional, name)(x, y, reduction=reduction),
             [shape, shape])


@requires_torch
def test_pointwise_loss_parameters_and_broadcast():
    check_op(lambda lib, x, y: lib.nn.functional.smooth_l1_loss(x, y, beta=0.5), [(4, 5), (4, 5)])
    check_op(lambda lib, x, y: lib.nn.functional.smooth_l1_loss(x, y, beta=0.0), [(4, 5), (4, 5)])
    check_op(lambda lib, x, y: lib.nn.functional.huber_loss(x, y, delta=0.5), [(4, 5), (4, 5)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda lib, x, y: lib.nn.functional.mse_loss(x, y), [(4, 5), (5,)])


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(reduction):
    p = np.random.default_rng(0).uniform(0.05, 0.95, (4, 5)).astype(np.float32)
    t = np.random.default_rng(1).uniform(0, 1, (4, 5)).astype(np.float32)
    check_op(lambda lib, x, y, w: lib.nn.functional.binary_cross_entropy(x, y, w,
                                                                         reduction=reduction),
             [p, t, (5,)], grad=[True, True, False])


def test_binary_cross_entropy_clamps_log():
    p = brickwork.tensor([0.0, 1.0, 0.5], requires_grad=True)
    t = brickwork.tensor([1.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [100.0, 100.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.isfinite(host(p.grad)).all()


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["none", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch(reduction, options):
    t = np.random.default_rng(1).uniform(0, 1, (4, 5)).astype(np.float32)
    w = rand_array((5,), seed=5) if options in ("weight", "both") else None
    pw = np.abs(rand_array((5,), seed=6)) if options in ("pos_weight", "both") else None

    def fn(lib, x, y):
        return lib.nn.functional.binary_cross_entropy_with_logits(
            x * 20, y, None if w is None else lib.tensor(w), reduction=reduction,
            pos_weight=None if pw is None else lib.tensor(pw))

    check_op(fn, [(4, 5), t], grad_atol=1e-4)


@requires_torch
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    t = rand_array((4, 5), seed=3) if log_target else _probs((4, 5), 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda lib, x, y: lib.nn.functional.kl_div(x, y, reduction=reduction,
                                                            log_target=log_target), [(4, 5), t])
        if not log_target:  # a zero target contributes 0 to the loss, not nan
            t[0, 0] = 0.0
            check_op(lambda lib, x, y: lib.nn.functional.kl_div(x, y, reduction=reduction),
                     [(4, 5), t], grad=[True, False])


@requires_torch
@pytest.mark.parametrize("fn,inputs", [
    (lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), [(3, 5), np.array([1, 0, 5])]),
    (lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), [(3, 5), np.array([1, 0, -3])]),
    (lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), [(3, 5), np.array([1, 0])]),
    (lambda lib, x, t: lib.nn.functional.cross_entropy(x, t), [(3, 5), (3, 4)]),
    (lambda lib, x, t: lib.nn.functional.cross_entropy(x, t.int()), [(3, 5), np.array([1, 0, 2])]),
    (lambda lib, x, t: lib.nn.functional.cross_entropy(x, t, reduction="foo"),
     [(3, 5), np.array([1, 0, 2])]),
    (lambda lib, x, t: lib.nn.functional.nll_loss(x, t, weight=lib.ones(4)),
     [(3, 5), np.array([1, 0, 2])]),
    (lambda lib, x, t: lib.nn.functional.smooth_l1_loss(x, t, beta=-1), [(3,), (3,)]),
    (lambda lib, x, t: lib.nn.functional.huber_loss(x, t, delta=0), [(3,), (3,)]),
    (lambda lib, x, t: lib.nn.functional.binary_cross_entropy(x.sigmoid() + 1, t), [(3,), (3,)]),
])
def test_loss_errors_match_torch(fn, inputs):
    check_error(fn, inputs)


@requires_torch
@pytest.mark.parametrize("fn,inputs", [
    (lambda lib, x, t: lib.nn.functional.binary_cross_entropy(x.sigmoid(), t), [(3,), (3, 1)]),
    (lambda lib, x, t: lib.nn.functional.binary_cross_entropy_with_logits(x, t),
     [(3, 5), (3, 4)]),
])
def test_loss_shape_errors(fn, inputs):
    err = check_error(fn, inputs, match_message=False)
    assert "brickwork.Size" in str(err)


# -- modules -----------------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("name,kw,inputs", [
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, [(4, 5), TARGET]),
    ("NLLLoss", {"ignore_index": 1}, [(4, 5), TARGET]),
    ("MSELoss", {"reduction": "sum"}, [(4, 5), (4, 5)]),
    ("L1Loss", {}, [(4, 5), (4, 5)]),
    ("SmoothL1Loss", {"beta": 0.5}, [(4, 5), (4, 5)]),
    ("HuberLoss", {"delta": 2.0}, [(4, 5), (4, 5)]),
    ("BCEWithLogitsLoss", {}, [(4, 5), _probs((4, 5), 1)]),
    ("KLDivLoss", {"reduction": "batchmean"}, [(4, 5), _probs((4, 5), 1)]),
])
def test_loss_modules_match_torch(name, kw, inputs):
    import torch

    t_mod, b_mod = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
    assert repr(b_mod) == repr(t_mod)
    assert b_mod.reduction == t_mod.reduction
    check_op(lambda lib, x, t: pick(lib, b_mod, t_mod)(x, t), inputs)


@requires_torch
def test_weighted_loss_modules_hold_buffers():
    import torch

    w = np.abs(rand_array((5,), seed=3))
    b_mod = nn.CrossEntropyLoss(weight=brickwork.tensor(w))
    t_mod = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))
    assert list(b_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
    b_pw = nn.BCEWithLogitsLoss(pos_weight=brickwork.ones(2))
    assert list(b_pw.state_dict()) == ["pos_weight"]
    check_op(lambda lib, x: pick(lib, b_mod, t_mod)(x, lib.tensor(TARGET)),
             [(4, 5)])
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.BCELoss(reduce=False).reduction == "none"
