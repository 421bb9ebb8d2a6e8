"""The Tensor core: properties, conversions, ``.data``, the in-place rule, ``copy_``, ``to``."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import brickwork
from helpers import check_op, rand_array, requires_torch, torch


def both(fn):
    """``fn(lib)`` on brickwork and torch; the pair of results, or of raised exceptions."""
    out = []
    for lib in (brickwork, torch):
        try:
            out.append(fn(lib))
        except Exception as e:  # noqa: BLE001 - compared below
            out.append(e)
    return out


def assert_same_error(fn):
    b, t = both(fn)
    assert isinstance(t, Exception), f"torch raised nothing (returned {t!r})"
    assert type(b) is type(t), f"brickwork gave {b!r}, torch raised {t!r}"
    assert str(b) == str(t).replace("torch.", "brickwork.")


# -- properties and conversions ---------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 3, 4)])
def test_shape_properties_match_torch(shape):
    for fn in (lambda lib: lib.zeros(shape).shape, lambda lib: lib.zeros(shape).size(),
               lambda lib: lib.zeros(shape).dim(), lambda lib: lib.zeros(shape).ndim,
               lambda lib: lib.zeros(shape).numel(), lambda lib: lib.zeros(shape).nelement(),
               lambda lib: lib.zeros(shape).element_size(),
               lambda lib: lib.zeros(shape).is_floating_point(),
               lambda lib: lib.zeros(shape).is_contiguous(),
               lambda lib: lib.zeros(shape).get_device(),
               lambda lib: lib.zeros(shape).is_leaf, lambda lib: lib.zeros(shape).grad,
               lambda lib: lib.zeros(shape).tolist()):
        b, t = both(fn)
        assert b == t
    assert repr(brickwork.zeros(shape).shape) == repr(torch.zeros(shape).shape).replace(
        "torch.", "brickwork.")


def test_size_behaves_like_torch_size():
    s = brickwork.Size([2, 3])
    assert repr(s) == "brickwork.Size([2, 3])" and str(s) == repr(s)
    assert repr(brickwork.Size([])) == "brickwork.Size([])"
    assert isinstance(s[1:], brickwork.Size) and s[1:] == (3,)
    assert isinstance(s + (4,), brickwork.Size) and s + (4,) == (2, 3, 4)
    assert s.numel() == 6 and brickwork.Size([]).numel() == 1
    assert pickle.loads(pickle.dumps(s)) == s
    assert isinstance(brickwork.ones(2, 3).shape, brickwork.Size)


@requires_torch
@pytest.mark.parametrize("code", [
    lambda lib: lib.ones(2, 3).size(1), lambda lib: lib.ones(2, 3).size(-1),
    lambda lib: lib.tensor([2.5]).item(), lambda lib: lib.tensor(2).item(),
    lambda lib: lib.tensor(True).item(), lambda lib: lib.tensor([[1, 2], [3, 4]]).tolist(),
    lambda lib: lib.tensor(2.5).tolist(), lambda lib: len(lib.ones(4, 2)),
    lambda lib: bool(lib.tensor([1])), lambda lib: bool(lib.tensor(0.0)),
    lambda lib: float(lib.tensor([2])), lambda lib: int(lib.tensor([2.7])),
    lambda lib: int(lib.tensor(-2.9)), lambda lib: lib.tensor(3).__index__(),
    lambda lib: lib.tensor(True).__index__(), lambda lib: [1, 2, 3][lib.tensor(1)],
    lambda lib: "{:.2f}".format(lib.tensor(2.3456)), lambda lib: lib.tensor(2 ** 63 - 1).item(),
    lambda lib: [x.tolist() for x in lib.tensor([[1, 2], [3, 4]])],
    lambda lib: lib.tensor([1.0, 2.0]).numpy().tolist(),
    lambda lib: lib.tensor([1, 2]).numpy().dtype,
    lambda lib: lib.ones(2).requires_grad_().detach().requires_grad,
])
def test_conversions_match_torch(code):
    b, t = both(code)
    assert b == t


@requires_torch
@pytest.mark.parametrize("code", [
    lambda lib: lib.ones(2, 3).size(2), lambda lib: lib.ones(2, 3).size(-3),
    lambda lib: lib.tensor([1.0, 2]).item(), lambda lib: lib.tensor([]).item(),
    lambda lib: len(lib.tensor(1.0)), lambda lib: iter(lib.tensor(1.0)),
    lambda lib: bool(lib.tensor([1, 2])), lambda lib: bool(lib.tensor([])),
    lambda lib: float(lib.tensor([2, 3])), lambda lib: float(lib.tensor([])),
    lambda lib: int(lib.tensor([2, 3])), lambda lib: lib.tensor(2.0).__index__(),
    lambda lib: lib.ones(2).__index__(),
    lambda lib: lib.ones(2, requires_grad=True).numpy(),
    lambda lib: lib.tensor([1]).requires_grad_(),
    lambda lib: (lib.ones(2, requires_grad=True) * 2).requires_grad_(False),
    lambda lib: lib.ones(2).register_hook(lambda g: g),
])
def test_conversion_errors_match_torch(code):
    assert_same_error(code)


@requires_torch
def test_iteration_matches_torch():
    check_op(lambda lib, x: tuple(x), [(3, 2)])
    check_op(lambda lib, x: tuple(r * 2 for r in x), [(2, 4)])
    b = list(brickwork.ones(2, requires_grad=True) * 2)
    t = list(torch.ones(2, requires_grad=True) * 2)
    assert [repr(x) for x in b] == [repr(x) for x in t]


def test_numpy_shares_memory_and_array_protocol():
    t = brickwork.zeros(3)
    t.numpy()[1] = 4
    assert t.tolist() == [0.0, 4.0, 0.0]
    assert np.asarray(t).tolist() == [0.0, 4.0, 0.0]
    assert np.asarray(t, dtype=np.int64).dtype == np.int64
    w = brickwork.ones(2, requires_grad=True)
    assert w.detach().numpy() is w.numpy(force=True)


# -- dtype movement ----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("code", [
    lambda lib, x: x.to(lib.float64), lambda lib, x: x.to(dtype=lib.float16),
    lambda lib, x: x.long(), lambda lib, x: x.int(), lambda lib, x: x.double(),
    lambda lib, x: x.bool(), lambda lib, x: x.half(), lambda lib, x: x.float(),
    lambda lib, x: x.to("cpu", lib.float64), lambda lib, x: x.to(lib.tensor([1])),
    lambda lib, x: x.to(lib.float64, copy=True), lambda lib, x: x.type(lib.float64),
    lambda lib, x: x.type_as(lib.tensor([1], dtype=lib.int16)),
    lambda lib, x: x.byte(), lambda lib, x: x.char(), lambda lib, x: x.short(),
])
def test_to_matches_torch(code):
    check_op(code, [rand_array((2, 3), low=-3, high=3)])


def test_to_returns_self_when_nothing_changes():
    x = brickwork.ones(2)
    assert x.to(brickwork.float32) is x and x.float() is x and x.to("cpu") is x
    assert x.to(brickwork.float32, copy=True) is not x
    assert x.type() == "brickwork.FloatTensor"
    assert brickwork.tensor([1]).type() == "brickwork.LongTensor"


# -- autograd state ----------------------------------------------------------------------------
def test_requires_grad_and_leaf_state():
    x = brickwork.ones(2)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    y.requires_grad_(True)  # allowed on non-leaves: it already requires grad
    x.requires_grad_(False)
    assert not x.requires_grad
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    y.detach_()
    assert not y.requires_grad and y.grad_fn is None


def test_grad_setter_checks():
    w = brickwork.ones(2, 3, requires_grad=True)
    w.grad = brickwork.zeros(2, 3)
    assert w.grad.tolist() == [[0.0] * 3] * 2
    with pytest.raises(RuntimeError, match="different size"):
        w.grad = brickwork.zeros(3)
    with pytest.raises(TypeError, match="expected to be a Tensor or None"):
        w.grad = [1, 2]
    w.grad = None
    assert w.grad is None


# -- .data -------------------------------------------------------------------------------------
def test_data_shares_storage_with_the_tensor():
    w = brickwork.tensor([[1.0, 7.0], [-6.0, 2.0]], requires_grad=True)
    w.data[0, 0] = 42
    assert w.detach().tolist()[0][0] == 42
    w.data *= w.data.abs() >= 5
    assert w.detach().tolist() == [[42.0, 7.0], [-6.0, 0.0]]
    assert w.requires_grad and w.is_leaf
    d = w.data
    assert not d.requires_grad and d.grad_fn is None
    w.data = brickwork.zeros(3)
    assert w.shape == (3,) and w.requires_grad


@requires_torch
def test_data_edits_match_torch():
    def edit(lib, w):
        w.data[0, 0] = 42
        w.data *= w.data.abs() >= 1
        w.data.add_(1).mul_(2)
        return w * 1

    check_op(edit, [(3, 4)])


# -- in-place rules ----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("code", [
    lambda lib: lib.ones(2, requires_grad=True).add_(1),
    lambda lib: lib.ones(2, requires_grad=True).mul_(2),
    lambda lib: lib.ones(2, requires_grad=True).zero_(),
    lambda lib: lib.ones(2, requires_grad=True).fill_(2),
    lambda lib: lib.ones(2, requires_grad=True).clamp_(0, 1),
    lambda lib: lib.ones(2, requires_grad=True).copy_(lib.zeros(2)),
    lambda lib: lib.ones(2, requires_grad=True).__iadd__(1),
    lambda lib: lib.tensor([1, 2]).add_(1.5),
    lambda lib: lib.tensor([1, 2]).add_(lib.tensor([1.5, 2])),
    lambda lib: lib.tensor([True]).add_(1),
    lambda lib: lib.ones(2).add_(lib.ones(2, 2)),
    lambda lib: lib.ones(2, 3).fill_(lib.ones(2)),
    lambda lib: lib.zeros(2).copy_(lib.ones(2, 2)),
    lambda lib: lib.zeros(2, 2).copy_(lib.ones(3)),
    lambda lib: lib.zeros(2).copy_([1, 2]),
])
def test_inplace_errors_match_torch(code):
    assert_same_error(code)


def _iops(lib, x, y):
    x = x * 1  # a non-leaf, so in-place updates are allowed and recorded
    x += y
    x -= 0.5
    x *= y
    x /= 3
    return x


def _method_iops(lib, x, y):
    x = x * 1
    x.add_(y).mul_(y).sub_(1, alpha=2).div_(2)
    x.clamp_(-1.0, 1.0)
    x.clamp_(min=-0.5)
    return x


def _fill_ops(lib, x, y):
    z = x * y
    a = (x * 1).fill_(3) * y
    b = (x * 1).zero_() + y
    return z, a, b


@requires_torch
@pytest.mark.parametrize("fn", [_iops, _method_iops, _fill_ops])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((), ())])
def test_inplace_ops_and_their_gradients_match_torch(fn, shapes):
    check_op(fn, list(shapes))


@requires_torch
def test_inplace_on_untracked_tensor_writes_the_buffer():
    def fn(lib, x):
        y = lib.zeros(x.shape)
        view = y.data
        y.add_(2).mul_(x.detach())
        return y, view

    check_op(fn, [(2, 3)], grad=[False])


@requires_torch
def test_inplace_keeps_dtype():
    check_op(lambda lib: lib.tensor([1, 2], dtype=lib.uint8).add_(lib.tensor([True, False])), [])
    check_op(lambda lib: lib.ones(2, dtype=lib.float16).add_(lib.ones(2, dtype=lib.float64)), [])
    check_op(lambda lib: lib.tensor([1, 2]).mul_(3), [])


@requires_torch
def test_inplace_loop_on_non_leaf_matches_torch():
    # The d2l "control flow" example: repeated in-place halving of a computed tensor.
    def fn(lib, x, w):
        y = x * w + 3
        while y.abs().sum() > 1:
            y /= 2
        return y

    check_op(fn, [rand_array((4,), seed=3), rand_array((4,), seed=4)])


# -- copy_ -------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dst,src", [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 3), ()),
                                     ((4,), (1,)), ((0, 3), (3,))])
def test_copy_values_and_gradients_match_torch(dst, src):
    def fn(lib, a, b):
        out = a * 2
        out.copy_(b)
        return out * 3

    check_op(fn, [dst, src])


@requires_torch
@pytest.mark.parametrize("code", [
    lambda lib: lib.zeros(2, dtype=lib.int64).copy_(lib.tensor([1.7, -2.2])),
    lambda lib: lib.zeros(2).copy_(lib.tensor([True, False])),
    lambda lib: lib.zeros(2, 2).copy_(lib.tensor(3)),
    lambda lib: lib.zeros(2, dtype=lib.bool).copy_(lib.tensor([0.0, 2.0])),
])
def test_copy_casts_like_torch(code):
    check_op(code, [])


def test_copy_into_untracked_tensor_keeps_storage_and_records_grad():
    dst = brickwork.zeros(2, 2)
    alias = dst.data
    dst.copy_(brickwork.tensor([1.0, 2.0]))
    assert alias.tolist() == [[1.0, 2.0], [1.0, 2.0]]
    src = brickwork.ones(2, requires_grad=True)
    out = brickwork.zeros(3, 2).copy_(src)
    assert type(out.grad_fn).__name__ == "CopyBackwards"
    out.backward(brickwork.ones(3, 2))
    assert src.grad.tolist() == [3.0, 3.0]


# -- copying and pickling ----------------------------------------------------------------------
def test_deepcopy_and_pickle():
    w = brickwork.tensor([[1.0, 2.0]], requires_grad=True)
    w.grad = brickwork.ones(1, 2)
    c = copy.deepcopy(w)
    assert c.requires_grad and c.grad.tolist() == [[1.0, 1.0]]
    assert not np.shares_memory(c.detach().numpy(), w.detach().numpy())
    p = pickle.loads(pickle.dumps(w))
    assert p.requires_grad and p.detach().tolist() == [[1.0, 2.0]] and p.dtype is w.dtype


def test_legacy_constructor_is_float32():
    t = brickwork.Tensor([1, 2])
    assert t.dtype is brickwork.float32 and t.tolist() == [1.0, 2.0]
    assert brickwork.Tensor(2, 3).shape == (2, 3)
    assert isinstance(brickwork.FloatTensor([1]), brickwork.Tensor)
