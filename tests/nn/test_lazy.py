"""Lazy layers: shapes from the first input, class change, state_dict materialization, errors."""
import copy

import numpy as np
import pytest

import brickwork
from brickwork import nn


def test_lazy_linear_first_forward():
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    assert repr(net[0]) == "LazyLinear(in_features=0, out_features=256, bias=True)"
    assert repr(net[0].weight) == "<UninitializedParameter>"
    y = net(brickwork.rand(2, 20))
    assert y.shape == (2, 10)
    assert type(net[0]) is nn.Linear and type(net[2]) is nn.Linear
    assert net[0].weight.shape == (256, 20) and net[2].weight.shape == (10, 256)
    assert type(net[0].weight) is nn.Parameter and net[0].in_features == 20
    assert repr(net[0]) == "Linear(in_features=20, out_features=256, bias=True)"
    assert not net[0]._forward_pre_hooks  # the init hook removed itself
    bound = 1 / np.sqrt(20)
    assert np.abs(net[0].weight.detach().numpy()).max() <= bound


def test_uninitialized_errors_name_the_layer():
    net = nn.Sequential(nn.LazyLinear(4))
    params = list(net.named_parameters())  # listing works
    assert [n for n, _ in params] == ["0.weight", "0.bias"]
    with pytest.raises(RuntimeError, match=r"LazyLinear '0.weight'.*forward pass.*state_dict"):
        net[0].weight.shape
    with pytest.raises(ValueError, match=r"LazyLinear '0.bias'"):
        net[0].bias * 2


def test_state_dict_materializes_without_forward():
    src = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 2))
    lazy = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(2))
    lazy.load_state_dict(src.state_dict())
    assert lazy[0].weight.shape == (3, 5)
    x = brickwork.rand(4, 5)
    np.testing.assert_array_equal(lazy(x).detach().numpy(), src(x).detach().numpy())
    assert type(lazy[0]) is nn.Linear and lazy[0].in_features == 5


def test_lazy_state_dict_and_deepcopy_before_init():
    lazy = nn.LazyLinear(3)
    sd = lazy.state_dict()
    assert list(sd) == ["weight", "bias"] and repr(sd["weight"]) == "<UninitializedParameter>"
    clone = copy.deepcopy(lazy)
    clone(brickwork.ones(1, 7))
    assert clone.weight.shape == (3, 7)
    assert type(lazy) is nn.LazyLinear


def test_lazy_to_dtype_before_init():
    lazy = nn.LazyLinear(3).double()
    assert lazy(brickwork.ones(2, 4, dtype=brickwork.float64)).dtype == brickwork.float64


def test_lazy_without_bias():
    lazy = nn.LazyLinear(3, bias=False)
    lazy(brickwork.ones(2, 4))
    assert lazy.bias is None and lazy.weight.shape == (3, 4)
