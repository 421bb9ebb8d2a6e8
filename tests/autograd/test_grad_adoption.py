"""A leaf's first gradient becomes its ``.grad`` uncopied only when nothing else holds the
array (PyTorch's use-count test); every shared array is copied, so no two ``.grad`` tensors,
nor a ``.grad`` and the user's own arrays, ever share memory."""
import numpy as np

import brickwork as torch
from brickwork.autograd import engine

engine._bind_tensor()  # done by the first backward; these tests call _accumulate directly


def test_sole_array_is_adopted_and_shared_one_is_copied():
    t = torch.zeros(3, requires_grad=True)
    arr = np.ones(3, dtype=np.float32)
    engine._accumulate(t, arr)  # held only by this frame's variable, as the engine holds it
    assert t.grad._data is arr
    u = torch.zeros(3, requires_grad=True)
    arr = np.ones(3, dtype=np.float32)
    keep = [arr]  # a second holder
    engine._accumulate(u, arr)
    assert u.grad._data is not arr and u.grad._data.base is None
    keep[0][0] = 5
    assert u.grad.tolist() == [1, 1, 1]


def test_views_and_casts():
    t = torch.zeros(3, requires_grad=True)
    base = np.ones(6, dtype=np.float32)
    engine._accumulate(t, base[::2])  # a view: its memory belongs to another array
    base[:] = 7
    assert t.grad.tolist() == [1, 1, 1]
    d = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    engine._accumulate(d, np.ones(2, dtype=np.float32))  # cast: a fresh array either way
    assert d.grad.dtype == torch.float64 and d.grad.tolist() == [1, 1]


def test_one_gradient_reaching_two_leaves_is_not_shared():
    x = torch.ones(4, requires_grad=True)
    y = torch.ones(4, requires_grad=True)
    (x + y).sum().backward()  # add's backward hands the same array to both
    x.grad.mul_(3)
    assert y.grad.tolist() == [1, 1, 1, 1]
    assert x.grad.tolist() == [3, 3, 3, 3]


def test_user_gradient_passed_through_is_not_adopted():
    x = torch.ones(3, requires_grad=True)
    g = torch.tensor([1.0, 2.0, 3.0])
    (x + 0).backward(g)
    g.mul_(10)
    assert x.grad.tolist() == [1, 2, 3]


def test_gradient_kept_by_a_hook_is_not_adopted():
    w = torch.ones(2, 3, requires_grad=True)
    kept = []
    w.register_hook(lambda grad: kept.append(grad))
    (w @ torch.ones(3, 1)).sum().backward()
    w.grad.zero_()
    assert kept[0].tolist() == [[1, 1, 1], [1, 1, 1]]


def test_linear_weight_gradients_accumulate_over_steps():
    lin = torch.nn.Linear(5, 4)
    x = torch.randn(8, 5)
    lin(x).sum().backward()
    first = lin.weight.grad.clone()
    lin(x).sum().backward()  # the adopted array is added into in place
    np.testing.assert_allclose(lin.weight.grad.numpy(), 2 * first.numpy(), rtol=1e-6)
    np.testing.assert_allclose(first.numpy(), np.tile(x.numpy().sum(0), (4, 1)), rtol=1e-5)


def test_whole_view_of_an_unshared_array_is_adopted():
    # a GEMM's output reshaped to the weight's shape: the view and its base are the engine's
    t = torch.zeros(2, 3, requires_grad=True)
    arr = np.ones(6, dtype=np.float32).reshape(2, 3)
    engine._accumulate(t, arr)
    assert t.grad._data is arr


def test_views_of_shared_or_larger_arrays_are_copied():
    t = torch.zeros(2, 3, requires_grad=True)
    base = np.ones(6, dtype=np.float32)
    engine._accumulate(t, base.reshape(2, 3))  # the base has a second holder
    base[:] = 7
    assert t.grad.tolist() == [[1, 1, 1], [1, 1, 1]]
    u = torch.zeros(2, 3, requires_grad=True)
    arr = np.ones(8, dtype=np.float32)[:6].reshape(2, 3)  # part of an array only it holds
    engine._accumulate(u, arr)
    assert u.grad._data is not arr
    arr[:] = 7
    assert u.grad.tolist() == [[1, 1, 1], [1, 1, 1]]


def test_gradient_viewing_an_array_a_function_keeps_is_copied():
    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w):
            ctx.buf = np.ones(6, dtype=np.float32)  # reused by every backward
            return w * 2

        @staticmethod
        def backward(ctx, g):
            ctx.buf[:] = 2 * g.numpy().reshape(-1)
            return torch.from_numpy(ctx.buf.reshape(2, 3))

    w = torch.zeros(2, 3, requires_grad=True)
    y = Scale.apply(w)
    y.backward(torch.ones(2, 3), retain_graph=True)
    y.backward(torch.full((2, 3), 5.0), retain_graph=True)  # rewrites ctx.buf
    assert w.grad.tolist() == [[12] * 3] * 2
