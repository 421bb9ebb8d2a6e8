"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""
from collections import OrderedDict

import pytest

import brickwork
from brickwork import nn
from helpers import requires_torch, torch


def seq(lib):
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))


@requires_torch
@pytest.mark.parametrize("op", [
    lambda lib, s: s[1:],
    lambda lib, s: s[::-1],
    lambda lib, s: s[-1],
    lambda lib, s: s.append(lib.nn.Tanh()),
    lambda lib, s: s.insert(1, lib.nn.Tanh()),
    lambda lib, s: s.extend([lib.nn.Tanh(), lib.nn.Sigmoid()]),
    lambda lib, s: (s.__delitem__(1), s)[1],
    lambda lib, s: (s.__delitem__(slice(0, 2)), s)[1],
    lambda lib, s: (s.pop(0), s)[1],
    lambda lib, s: (s.__setitem__(1, lib.nn.Tanh()), s)[1],
    lambda lib, s: s + seq(lib),
    lambda lib, s: s * 2,
    lambda lib, s: lib.nn.Sequential(OrderedDict([("a", lib.nn.ReLU()), ("b", s)]))[1:],
])
def test_sequential_ops_match_torch(op):
    b, t = op(brickwork, seq(brickwork)), op(torch, seq(torch))
    assert repr(b) == repr(t)
    if isinstance(t, torch.nn.Sequential):
        assert len(b) == len(t)
        assert list(b._modules) == list(t._modules)


@requires_torch
def test_sequential_index_errors_match_torch():
    for idx in (3, -4):
        with pytest.raises(IndexError) as te:
            seq(torch)[idx]
        with pytest.raises(IndexError) as be:
            seq(brickwork)[idx]
        assert str(be.value) == str(te.value) == f"index {idx} is out of range"


def test_sequential_forward_iter_and_slices_share_modules():
    s = seq(brickwork)
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear"]
    assert s[0:2][0] is s[0]
    assert s(brickwork.ones(4, 2)).shape == (4, 1)
    assert nn.Sequential()(brickwork.ones(1)).shape == (1,)


@requires_torch
def test_module_list_and_dict_match_torch():
    def build(lib):
        ml = lib.nn.ModuleList([lib.nn.Linear(2, 2) for _ in range(3)] + [lib.nn.ReLU()])
        ml.append(lib.nn.ReLU())
        md = lib.nn.ModuleDict({"b": lib.nn.Tanh(), "a": lib.nn.ReLU()})
        md["c"] = lib.nn.Linear(1, 1)
        return lib.nn.Sequential(OrderedDict([("list", ml), ("dict", md)]))

    b, t = build(brickwork), build(torch)
    assert repr(b) == repr(t)
    assert list(b.state_dict()) == list(t.state_dict())
    ml = b[0]
    assert len(ml) == 5 and isinstance(ml[-1], nn.ReLU) and len(ml[1:3]) == 2
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"]
    md = b[1]
    assert list(md.keys()) == ["b", "a", "c"] and "a" in md
    assert isinstance(md.pop("a"), nn.ReLU) and len(md) == 2
    with pytest.raises(IndexError, match="index 9 is out of range"):
        ml[9]


@requires_torch
def test_parameter_list_and_dict_match_torch():
    def build(lib):
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3)), lib.zeros(4)])
        pd = lib.nn.ParameterDict({"w": lib.nn.Parameter(lib.ones(1)), "a": lib.zeros(2, 2)})
        m = lib.nn.Module()
        m.pl, m.pd = pl, pd
        return m

    b, t = build(brickwork), build(torch)
    assert repr(b).replace("brickwork", "torch") == repr(t)
    assert list(b.state_dict()) == list(t.state_dict())
    assert all(isinstance(p, nn.Parameter) for p in b.pl)
    assert isinstance(b.pd["a"], nn.Parameter) and list(b.pd.keys()) == ["a", "w"]
    assert len(list(b.parameters())) == 4
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        b.pl(1)
