"""brickwork.nn.utils: gradient clipping and parameter/vector conversion against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                                vector_to_parameters)
from helpers import requires_torch, torch

SHAPES = [(3, 4), (5,), ()]


def _params(lib, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    ps = []
    for s in SHAPES:
        p = lib.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
        p.grad = lib.tensor((rng.standard_normal(s) * scale).astype(np.float32))
        ps.append(p)
    return ps


@requires_torch
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
@pytest.mark.parametrize("norm_type", [2.0, 1, "inf", 3.0, 0.0])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    bp, tp = _params(brickwork), _params(torch)
    bn = clip_grad_norm_(bp, max_norm, norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert isinstance(bn, brickwork.Tensor) and bn.dtype == brickwork.float32 and bn.ndim == 0
    np.testing.assert_allclose(float(bn), float(tn), rtol=1e-5)
    for b, t in zip(bp, tp):
        np.testing.assert_allclose(np.asarray(b.grad), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_scales_to_max_norm():
    ps = _params(brickwork, scale=10.0)
    total = float(clip_grad_norm_(ps, 1.0))
    flat = np.concatenate([np.asarray(p.grad).ravel() for p in ps])
    assert total > 1.0
    assert np.linalg.norm(flat) == pytest.approx(1.0, rel=1e-4)
    assert float(clip_grad_norm_([], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite():
    ps = _params(brickwork)
    ps[0].grad._data[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert np.isnan(float(clip_grad_norm_(ps, 1.0)))


@requires_torch
def test_clip_grad_value_matches_torch():
    bp, tp = _params(brickwork), _params(torch)
    assert clip_grad_value_(bp, 0.3) is None
    torch.nn.utils.clip_grad_value_(tp, 0.3)
    for b, t in zip(bp, tp):
        np.testing.assert_array_equal(np.asarray(b.grad), t.grad.numpy())


def test_parameters_to_vector_round_trip():
    ps = _params(brickwork)
    vec = parameters_to_vector(ps)
    expected = np.concatenate([np.asarray(p.detach()).ravel() for p in ps])
    np.testing.assert_array_equal(np.asarray(vec.detach()), expected)
    assert vec.requires_grad
    new = brickwork.tensor(np.arange(vec.numel(), dtype=np.float32))
    vector_to_parameters(new, ps)
    assert [tuple(p.shape) for p in ps] == SHAPES
    np.testing.assert_array_equal(np.asarray(parameters_to_vector(ps).detach()),
                                  np.arange(vec.numel()))
    with pytest.raises(TypeError, match="expected brickwork.Tensor"):
        vector_to_parameters([1.0], ps)
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        vector_to_parameters(brickwork.zeros(3), ps)


def test_parameters_to_vector_gradient():
    ps = _params(brickwork)
    (parameters_to_vector(ps) * 2).sum().backward()
    for p, s in zip(ps, SHAPES):
        assert tuple(p.grad.shape) == s
