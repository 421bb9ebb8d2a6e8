"""Parameter, Buffer and UninitializedParameter."""
import copy
import pickle

import numpy as np
import pytest

import brickwork
from brickwork import nn
from helpers import requires_torch, torch


def test_parameter_shares_storage_and_requires_grad():
    t = brickwork.zeros(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, brickwork.Tensor) and p.requires_grad and p.is_leaf
    t[0, 0] = 5.0
    assert p[0, 0].item() == 5.0
    d = p.data
    assert type(d) is brickwork.Tensor and not d.requires_grad
    d[1, 1] = 7.0
    assert p[1, 1].item() == 7.0
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)


def test_parameter_ops_give_plain_tensors_and_grads():
    p = nn.Parameter(brickwork.ones(3))
    y = (p * 2).sum()
    assert type(p * 2) is brickwork.Tensor
    y.backward()
    np.testing.assert_allclose(p.grad.numpy(), [2, 2, 2])


@requires_torch
@pytest.mark.parametrize("dtype,rg", [("float32", True), ("float64", True), ("float32", False)])
def test_parameter_repr_matches_torch(dtype, rg):
    arr = np.arange(6, dtype=dtype).reshape(2, 3) / 7
    b = nn.Parameter(brickwork.tensor(arr), requires_grad=rg)
    t = torch.nn.Parameter(torch.tensor(arr), requires_grad=rg)
    assert repr(b) == repr(t).replace("torch.", "brickwork.")


def test_parameter_integer_data_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(brickwork.tensor([1, 2]))
    assert nn.Parameter(brickwork.tensor([1, 2]), requires_grad=False).dtype == brickwork.int64


def test_parameter_deepcopy_and_pickle():
    p = nn.Parameter(brickwork.ones(2))
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q is not p and q.requires_grad
    q.data[0] = 3.0
    assert p[0].item() == 1.0
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.requires_grad
    np.testing.assert_array_equal(r.detach().numpy(), [1.0, 1.0])


def test_buffer_marker():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.keep = nn.Buffer(brickwork.zeros(2))
            self.tmp = nn.Buffer(brickwork.ones(1), persistent=False)

    m = M()
    assert list(m._buffers) == ["keep", "tmp"]
    assert list(m.state_dict()) == ["keep"]
    assert type(m.keep) is brickwork.Tensor


def test_uninitialized_parameter_errors_and_materialize():
    p = nn.UninitializedParameter()
    assert repr(p) == "<UninitializedParameter>"
    with pytest.raises(RuntimeError, match="forward pass .* or load a state_dict"):
        p.shape
    with pytest.raises(ValueError, match="UninitializedParameter"):
        p + 1
    assert tuple(p.data.shape) == (0,)  # as PyTorch: an empty stand-in, so data.normal_() is a no-op
    p.materialize((3, 2))
    assert type(p) is nn.Parameter and p.shape == (3, 2) and p.requires_grad
    b = nn.UninitializedBuffer()
    b.materialize(4)
    assert type(b) is brickwork.Tensor and b.shape == (4,)
