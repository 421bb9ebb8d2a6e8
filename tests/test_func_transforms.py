"""brickwork.func's transforms (grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian) against
torch.func: values, structures, nesting, vmap of grad, what requires grad afterwards, and errors;
plus finite differences that need no torch."""
import numpy as np
import pytest

import brickwork
from helpers import requires_torch, torch

F64 = np.float64


def _both(fn):
    """``fn(lib)`` for brickwork and torch, as nested lists of arrays and flags to compare."""
    def plain(x):
        if isinstance(x, (tuple, list)):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        if hasattr(x, "detach"):
            return (x.detach().numpy(), bool(x.requires_grad), tuple(x.shape))
        return x
    return plain(fn(brickwork)), plain(fn(torch))


def _assert_same(got, want):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w)
    elif isinstance(want, dict):
        assert got.keys() == want.keys()
        for k in want:
            _assert_same(got[k], want[k])
    elif isinstance(want, tuple):
        np.testing.assert_allclose(got[0], want[0], rtol=1e-10, atol=1e-12)
        assert got[0].dtype == want[0].dtype
        assert got[1:] == want[1:]  # requires_grad and shape
    else:
        assert got == want


def _x(lib, *shape, seed=0, grad=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return lib.tensor(a, requires_grad=grad)


CASES = {
    "grad": lambda L: L.func.grad(lambda x: (x.sin() * x).sum())(_x(L, 4)),
    "grad_argnums": lambda L: L.func.grad(lambda x, y: (x * y.exp()).sum(), argnums=(0, 1))(
        _x(L, 3), _x(L, 3, seed=1)),
    "grad_negative_argnum": lambda L: L.func.grad(lambda x, y: (x * y).sum(), argnums=-1)(
        _x(L, 3), _x(L, 3, seed=1)),
    "grad_dict": lambda L: L.func.grad(lambda p, x: (p["w"] @ x + p["b"]).pow(2).sum())(
        {"w": _x(L, 2, 3), "b": _x(L, 2, seed=2)}, _x(L, 3, seed=1)),
    "grad_unused_input": lambda L: L.func.grad(lambda x, y: x.sum() * 2, argnums=(0, 1))(
        _x(L, 3), _x(L, 2)),
    "grad_aux": lambda L: L.func.grad(lambda x: (x.pow(2).sum(), x.cos()), has_aux=True)(
        _x(L, 3)),
    "grad_and_value": lambda L: L.func.grad_and_value(lambda x: x.exp().sum())(_x(L, 3)),
    "grad_of_grad": lambda L: L.func.grad(L.func.grad(lambda x: x.sin() * x ** 2))(
        L.tensor(0.7, dtype=L.float64)),
    "grad_keeps_outer_graph": lambda L: L.func.grad(lambda x: (x ** 3).sum())(
        _x(L, 3, grad=True)),
    # a closure tensor that requires grad keeps the gradient differentiable (MAML's pattern)
    "grad_through_closure": lambda L: (lambda w: (lambda g: (g, L.autograd.grad(
        g.sum(), w)[0]))(L.func.grad(lambda x: (w * x.sin() ** 2).sum())(_x(L, 3))))(
        _x(L, 3, seed=7, grad=True)),
    "jacrev_through_closure": lambda L: (lambda w: (lambda j: (j, L.autograd.grad(
        j.sum(), w)[0]))(L.func.jacrev(lambda x: w * x.exp())(_x(L, 3))))(
        _x(L, 3, seed=7, grad=True)),
    "vjp": lambda L: (lambda o, f: (o, f(_x(L, 3, seed=4))))(
        *L.func.vjp(lambda x, y: x * y.sin(), _x(L, 3), _x(L, 3, seed=1))),
    "vjp_aux_tuple_out": lambda L: (lambda o, f, a: (o, a, f((_x(L, 3, seed=5),
                                                               L.tensor(1.0, dtype=L.float64)))))(
        *L.func.vjp(lambda x: ((x.exp(), x.sum()), x.abs()), _x(L, 3), has_aux=True)),
    "jvp": lambda L: L.func.jvp(lambda x, y: x.sin() * y, (_x(L, 3), _x(L, 3, seed=1)),
                                (_x(L, 3, seed=2), _x(L, 3, seed=3))),
    "jvp_aux": lambda L: L.func.jvp(lambda x: (x.tanh(), x * 3), (_x(L, 4),),
                                    (_x(L, 4, seed=1),), has_aux=True),
    "jacrev": lambda L: L.func.jacrev(lambda x: x.sin().outer(x))(_x(L, 3)),
    "jacrev_argnums_tuple_out": lambda L: L.func.jacrev(
        lambda x, y: (x * y, (x ** 2).sum()), argnums=(0, 1))(_x(L, 2), _x(L, 2, seed=1)),
    "jacfwd": lambda L: L.func.jacfwd(lambda x: x.exp().cumsum(0))(_x(L, 4)),
    "hessian": lambda L: L.func.hessian(lambda x: (x.sin() * x.cos().sum()).sum())(_x(L, 3)),
    "hessian_two_args": lambda L: L.func.hessian(lambda x, y: (x * y).sum() * x.sum(),
                                                 argnums=(0, 1))(_x(L, 2), _x(L, 2, seed=1)),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_transforms_as_torch_func(name):
    got, want = _both(CASES[name])
    _assert_same(got, want)


@requires_torch
def test_per_sample_gradients_as_the_tutorial():
    # PyTorch's per-sample-gradients tutorial: vmap(grad(loss)) over a batch with
    # functional_call and detached parameters
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 3))
        model = model.double()
        if lib is brickwork:
            model.load_state_dict({k: brickwork.tensor(v.detach().numpy())
                                   for k, v in ref.state_dict().items()})
        params = {k: v.detach() for k, v in model.named_parameters()}
        data, targets = _x(lib, 6, 4), lib.tensor([0, 2, 1, 1, 0, 2])

        def loss(p, sample, target):
            out = lib.func.functional_call(model, p, (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, target.unsqueeze(0))
        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, data, targets)
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(),
                              torch.nn.Linear(5, 3)).double()
    got, want = run(brickwork), run(torch)
    for k in want:
        np.testing.assert_allclose(got[k].numpy(), want[k].numpy(), rtol=1e-10, atol=1e-12)
        assert not got[k].requires_grad and got[k].shape == want[k].shape


ERRORS = [
    lambda L: L.func.grad(lambda x: x * 2)(_x(L, 3)),
    lambda L: L.func.grad(lambda x: 3.0)(_x(L, 3)),
    lambda L: L.func.grad(lambda x: x.sum(), argnums=2)(_x(L, 3)),
    lambda L: L.func.grad(lambda x: x.sum(), argnums=(0, 0))(_x(L, 3), _x(L, 3)),
    lambda L: L.func.grad(lambda x: x.sum(), argnums=())(_x(L, 3)),
    lambda L: L.func.grad(lambda x: x.sum(), argnums=[0])(_x(L, 3)),
    lambda L: L.func.grad(lambda x: x.sum(), has_aux=True)(_x(L, 3)),
    lambda L: L.func.vjp(lambda x: x.sum(), _x(L, 3))[1]((_x(L, 1), _x(L, 1))),
    lambda L: L.func.vjp(lambda x: (x > 0), _x(L, 3)),
    lambda L: L.func.jvp(lambda x: x, _x(L, 3), _x(L, 3)),
    lambda L: L.func.jvp(lambda x: x, (_x(L, 3),), [_x(L, 3)]),
    lambda L: L.func.jvp(lambda x, y: x, (_x(L, 3), {"a": _x(L, 1), "b": [_x(L, 1)]}),
                         (_x(L, 3), {"a": _x(L, 1), "b": (_x(L, 1),)})),
    lambda L: L.func.vjp(lambda x: {"a": x, "b": [x]}, _x(L, 3))[1]({"a": _x(L, 3)}),
    lambda L: L.func.jvp(lambda x: x, (_x(L, 3),), (3.0,)),
    lambda L: L.func.jacrev(lambda x: x, chunk_size=0),
    lambda L: L.func.jacrev(lambda x: x)(L.tensor([1j, 2j])),
    lambda L: L.func.jacfwd(lambda x: x * L.rand(3, dtype=L.float64))(_x(L, 3)),
    lambda L: L.func.grad(lambda x: x.sum())(3.0),
]


@requires_torch
@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_as_torch_func(i):
    with pytest.raises(Exception) as t_err:
        ERRORS[i](torch)
    with pytest.raises(Exception) as b_err:
        ERRORS[i](brickwork)
    assert type(b_err.value) is type(t_err.value)
    assert str(b_err.value).replace("brickwork.", "torch.") == str(t_err.value)


def test_transforms_against_finite_differences():
    # no torch: central differences of float64 functions
    def f(x):
        return (x.sin() * x.exp()).sum() + (x[0] * x[1]) ** 2

    x = brickwork.tensor([0.3, -0.8, 1.1], dtype=brickwork.float64)
    eps = 1e-6

    def num_grad(fn, at):
        out = np.zeros(at.shape[0])
        for i in range(at.shape[0]):
            d = np.zeros(at.shape[0])
            d[i] = eps
            hi = fn(brickwork.tensor(at.numpy() + d)).item()
            lo = fn(brickwork.tensor(at.numpy() - d)).item()
            out[i] = (hi - lo) / (2 * eps)
        return out
    g = brickwork.func.grad(f)(x)
    np.testing.assert_allclose(g.numpy(), num_grad(f, x), rtol=1e-7, atol=1e-8)
    h = brickwork.func.hessian(f)(x).numpy()
    for i in range(3):
        row = num_grad(lambda t: brickwork.func.grad(f)(t)[i], x)
        np.testing.assert_allclose(h[i], row, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h, h.T, rtol=1e-12)
    t = brickwork.tensor([1.0, -2.0, 0.5], dtype=brickwork.float64)
    _, tangent = brickwork.func.jvp(lambda v: v.sin() * v, (x,), (t,))
    want = (np.cos(x.numpy()) * x.numpy() + np.sin(x.numpy())) * t.numpy()
    np.testing.assert_allclose(tangent.numpy(), want, rtol=1e-12)
    assert not g.requires_grad and not tangent.requires_grad
