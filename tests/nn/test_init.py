"""nn.init: distributions match PyTorch's formulas (bounds, mean, std) on large tensors."""
import math

import numpy as np
import pytest

import brickwork
from brickwork import nn
from helpers import requires_torch, torch

SHAPE = (400, 300)


def stats(t):
    a = np.asarray(t.detach().numpy() if hasattr(t, "detach") else t, dtype=np.float64)
    return a.min(), a.max(), a.mean(), a.std()


@requires_torch
@pytest.mark.parametrize("name,kw", [
    ("uniform_", {"a": -3.0, "b": 2.0}), ("normal_", {"mean": 1.0, "std": 0.5}),
    ("xavier_uniform_", {}), ("xavier_normal_", {"gain": 2.0}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}), ("kaiming_normal_", {"mode": "fan_out"}),
    ("kaiming_uniform_", {"nonlinearity": "relu"}), ("trunc_normal_", {"std": 2.0}),
    ("orthogonal_", {}),
])
def test_distributions_match_torch(name, kw):
    brickwork.manual_seed(0)
    torch.manual_seed(0)
    b = getattr(nn.init, name)(brickwork.empty(*SHAPE), **kw)
    t = getattr(torch.nn.init, name)(torch.empty(*SHAPE), **kw)
    bmin, bmax, bmean, bstd = stats(b)
    tmin, tmax, tmean, tstd = stats(t)
    assert abs(bstd - tstd) < 0.03 * tstd
    assert abs(bmean - tmean) < 0.05 * tstd + 1e-3
    if "uniform" in name or name == "trunc_normal_":
        bound = max(abs(tmin), abs(tmax))
        assert bmin >= -bound * 1.01 - 1 and bmax <= bound * 1.01 + 1
        assert bmin > tmin - 0.01 * bound and bmax < tmax + 0.01 * bound


def test_kaiming_uniform_bound_is_pytorch_linear_default():
    w = nn.init.kaiming_uniform_(brickwork.empty(500, 64), a=math.sqrt(5))
    bound = math.sqrt(6 / ((1 + 5) * 64))  # gain sqrt(2/(1+a^2)) * sqrt(3 / fan_in)
    a = w.numpy()
    assert a.min() >= -bound and a.max() <= bound and a.max() > 0.98 * bound


def test_in_place_no_grad_and_returns_tensor():
    p = nn.Parameter(brickwork.empty(3, 4))
    assert nn.init.constant_(p, 42) is p
    assert p.grad_fn is None and p.requires_grad and (p.detach().numpy() == 42).all()
    assert nn.init.zeros_(p) is p and not p.detach().numpy().any()
    assert nn.init.ones_(p) is p and (p.detach().numpy() == 1).all()
    np.testing.assert_array_equal(nn.init.eye_(brickwork.empty(3, 4)).numpy(), np.eye(3, 4))
    q = nn.init.orthogonal_(brickwork.empty(4, 6, dtype=brickwork.float64)).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-12)


def test_seeded_draws_repeat():
    brickwork.manual_seed(3)
    a = nn.init.normal_(brickwork.empty(5)).numpy().copy()
    brickwork.manual_seed(3)
    np.testing.assert_array_equal(nn.init.normal_(brickwork.empty(5)).numpy(), a)
    g = brickwork.Generator().manual_seed(3)
    np.testing.assert_array_equal(nn.init.normal_(brickwork.empty(5), generator=g).numpy(), a)


@requires_torch
def test_dirac_and_gain_match_torch():
    for groups, shape in [(1, (4, 3, 3, 3)), (2, (4, 2, 3)), (1, (2, 2, 1, 3, 3))]:
        b = nn.init.dirac_(brickwork.empty(*shape), groups)
        t = torch.nn.init.dirac_(torch.empty(*shape), groups)
        np.testing.assert_array_equal(b.numpy(), t.numpy())
    for nl, p in [("relu", None), ("tanh", None), ("leaky_relu", 0.2), ("selu", None),
                  ("conv2d", None), ("sigmoid", None), ("leaky_relu", None)]:
        assert nn.init.calculate_gain(nl, p) == torch.nn.init.calculate_gain(nl, p)
    for shape in [(3, 4), (2, 3, 5, 5), (7, 2, 3)]:
        assert nn.init._calculate_fan_in_and_fan_out(brickwork.empty(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


@requires_torch
@pytest.mark.parametrize("call", [
    lambda lib: lib.nn.init.xavier_uniform_(lib.empty(3)),
    lambda lib: lib.nn.init.eye_(lib.empty(3)),
    lambda lib: lib.nn.init.dirac_(lib.empty(3, 3)),
    lambda lib: lib.nn.init.orthogonal_(lib.empty(3)),
    lambda lib: lib.nn.init.calculate_gain("bogus"),
    lambda lib: lib.nn.init.calculate_gain("leaky_relu", "x"),
    lambda lib: lib.nn.init.kaiming_normal_(lib.empty(2, 2), mode="fan_middle"),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as te:
        call(torch)
    with pytest.raises(Exception) as be:
        call(brickwork)
    assert type(be.value) is type(te.value) and str(be.value) == str(te.value)
