"""Files move both ways between brickwork and PyTorch 2.13 (weights_only=True)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import brickwork
from brickwork.nn.parameter import Parameter
from helpers import rand_array, requires_torch, torch

pytestmark = requires_torch

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _state_dict(lib, param_cls):
    """A state_dict with a tied weight, a view, a transposed view and a Parameter, in ``lib``."""
    w = lib.tensor(rand_array((4, 3)))
    sd = collections.OrderedDict()
    sd["enc.weight"] = w
    sd["dec.weight"] = w.detach()  # tied: same storage, another tensor
    sd["row"] = w[2]
    sd["wt"] = w.t()
    sd["steps"] = lib.tensor(rand_array((2, 2), "int64", 0, 100))
    sd["p"] = param_cls(lib.tensor(rand_array((3,), seed=2)))
    sd["mask"] = lib.tensor(rand_array((5,), "bool"))
    return sd


def _check_shared(sd, data_of):
    data_of(sd["enc.weight"])[2, 1] = 77
    assert data_of(sd["dec.weight"])[2, 1] == 77
    assert data_of(sd["row"])[1] == 77
    assert data_of(sd["wt"])[1, 2] == 77


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 3)])
def test_brickwork_writes_torch_reads(tmp_path, dtype, shape):
    arr = rand_array(shape, dtype)
    brickwork.save({"x": brickwork.tensor(arr), "n": 3, "l": [1.5, "a", None]},
                   tmp_path / "x.pt")
    out = torch.load(tmp_path / "x.pt", weights_only=True)
    assert str(out["x"].dtype) == f"torch.{dtype}" and tuple(out["x"].shape) == shape
    np.testing.assert_array_equal(out["x"].numpy(), arr)
    assert out["n"] == 3 and out["l"] == [1.5, "a", None]


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_writes_brickwork_reads(tmp_path, dtype):
    arr = rand_array((3, 2), dtype)
    torch.save({"x": torch.from_numpy(arr), "t": (1, 2.0)}, tmp_path / "x.pt")
    out = brickwork.load(tmp_path / "x.pt")
    assert out["x"].dtype.name == dtype
    np.testing.assert_array_equal(out["x"].numpy(), arr)
    assert out["t"] == (1, 2.0)


def test_state_dict_with_ties_and_views_to_torch(tmp_path):
    sd = _state_dict(brickwork, Parameter)
    brickwork.save(sd, tmp_path / "sd.pt")
    out = torch.load(tmp_path / "sd.pt", weights_only=True)
    assert type(out) is collections.OrderedDict and list(out) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(out[k].detach().numpy(), sd[k].detach().numpy())
        assert out[k].dtype == getattr(torch, sd[k].dtype.name)
    assert isinstance(out["p"], torch.nn.Parameter) and out["p"].requires_grad
    with torch.no_grad():
        _check_shared(out, lambda t: t)


def test_state_dict_with_ties_and_views_from_torch(tmp_path):
    sd = _state_dict(torch, torch.nn.Parameter)
    torch.save(sd, tmp_path / "sd.pt")
    out = brickwork.load(tmp_path / "sd.pt")
    assert type(out) is collections.OrderedDict and list(out) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(out[k].detach().numpy(), sd[k].detach().numpy())
    assert type(out["p"]) is Parameter and out["p"].requires_grad
    _check_shared(out, lambda t: t._data)


def test_torch_module_state_dict_metadata(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    torch.save(net.state_dict(), tmp_path / "net.pt")
    out = brickwork.load(tmp_path / "net.pt")
    assert out._metadata == net.state_dict()._metadata
    brickwork.save(out, tmp_path / "back.pt")
    back = torch.load(tmp_path / "back.pt", weights_only=True)
    net.load_state_dict(back)
    assert back._metadata == net.state_dict()._metadata


def test_torch_reads_brickwork_mmap_and_writes_with_map_location(tmp_path):
    x = torch.arange(10.0)
    torch.save([x, x[3:]], tmp_path / "l.pt")
    a, b = brickwork.load(tmp_path / "l.pt", mmap=True, map_location="cpu")
    np.testing.assert_array_equal(b.numpy(), np.arange(3.0, 10.0, dtype=np.float32))
    a._data[5] = -1
    assert b._data[2] == -1
