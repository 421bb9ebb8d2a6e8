"""Optimizers against PyTorch: same start, same gradients -> same parameters and state."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import brickwork
from brickwork import optim
from helpers import requires_torch, torch

SHAPES = [(4, 3), (3,), (), (0, 2)]
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.2)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1)),
]
IDS = [f"{c}-{'-'.join(k for k in kw if k != 'lr') or 'plain'}" for c, kw in CASES]


def _data(steps=5, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _run(lib, cls, kw, init, grads, opt=None, params=None):
    params = params or [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = opt or getattr(lib.optim, cls)(params, **kw)
    for gs in grads:
        opt.zero_grad()
        for p, g in zip(params, gs):
            p.grad = lib.tensor(g.copy())
        opt.step()
    return params, opt


def _np(t):
    return np.array(t.detach().cpu().numpy() if hasattr(t, "cpu") else t)


@requires_torch
@pytest.mark.parametrize("cls,kw", CASES, ids=IDS)
def test_steps_match_torch(cls, kw):
    init, grads = _data()
    bp, bopt = _run(brickwork, cls, kw, init, grads)
    tp, topt = _run(torch, cls, kw, init, grads)
    for b, t in zip(bp, tp):
        assert b.dtype == brickwork.float32 and tuple(b.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(b), _np(t), rtol=1e-5, atol=1e-6)
    bsd, tsd = bopt.state_dict(), topt.state_dict()
    assert bsd["param_groups"] == tsd["param_groups"]
    assert bsd["state"].keys() == tsd["state"].keys()
    for i, tstate in tsd["state"].items():
        bstate = bsd["state"][i]
        assert list(bstate) == list(tstate), f"state keys of param {i}"
        for key, tv in tstate.items():
            bv = bstate[key]
            assert isinstance(bv, brickwork.Tensor), f"state[{i}][{key!r}]"
            assert bv.dtype.name == str(tv.dtype)[6:] and tuple(bv.shape) == tuple(tv.shape)
            np.testing.assert_allclose(_np(bv), _np(tv), rtol=1e-5, atol=1e-6)
    assert repr(bopt) == repr(topt)


@pytest.mark.parametrize("cls,kw", CASES, ids=IDS)
def test_state_dict_resume_continues_exactly(cls, kw):
    init, grads = _data(steps=6)
    ref, _ = _run(brickwork, cls, kw, init, grads)
    params, opt = _run(brickwork, cls, kw, init, grads[:3])
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    fresh = [brickwork.tensor(_np(p), requires_grad=True) for p in params]
    opt2 = getattr(optim, cls)(fresh, lr=123.0)  # options come back from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    _run(brickwork, cls, kw, init, grads[3:], opt=opt2, params=fresh)
    for a, b in zip(ref, fresh):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_param_groups_per_group_options_and_add_param_group():
    a = brickwork.ones(2, requires_grad=True)
    b = brickwork.ones(2, requires_grad=True)
    c = brickwork.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1)
    opt.add_param_group({"params": [c], "momentum": 0.9})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5, 0.1]
    assert opt.param_groups[2]["momentum"] == 0.9
    for p in (a, b, c):
        p.grad = brickwork.ones(2)
    opt.step()
    np.testing.assert_allclose(_np(a), 0.9)
    np.testing.assert_allclose(_np(b), 0.5)
    assert opt.state_dict()["param_groups"][2]["params"] == [2]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_zero_grad():
    p = brickwork.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = brickwork.ones(3)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and not _np(g).any()
    opt.zero_grad()
    assert p.grad is None


def test_closure_is_called_with_grad_enabled():
    p = brickwork.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum() if hasattr(p, "sum") else p * p
        loss.backward()
        return loss

    with brickwork.no_grad():
        loss = opt.step(closure)
    assert float(loss) == pytest.approx(5.0)
    np.testing.assert_allclose(_np(p), [0.0, 0.0])


@pytest.mark.parametrize("make,exc,msg", [
    (lambda p: optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    (lambda p: optim.SGD([p], lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=-0.5), ValueError, "Invalid momentum value"),
    (lambda p: optim.SGD([p], lr=0.1, nesterov=True), ValueError, "Nesterov momentum"),
    (lambda p: optim.Adam([p], betas=(1.0, 0.9)), ValueError, "beta parameter at index 0"),
    (lambda p: optim.Adam([p], eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda p: optim.RMSprop([p], alpha=-1.0), ValueError, "Invalid alpha value"),
    (lambda p: optim.Adagrad([p], lr_decay=-1.0), ValueError, "Invalid lr_decay value"),
    (lambda p: optim.SGD(p, lr=0.1), TypeError, "iterable of Tensors or dicts"),
    (lambda p: optim.SGD([p, 3], lr=0.1), TypeError, "can only optimize Tensors"),
    (lambda p: optim.SGD([{"params": {p}}], lr=0.1), TypeError, "ordered collections"),
])
def test_constructor_errors(make, exc, msg):
    p = brickwork.ones(2, requires_grad=True)
    with pytest.raises(exc, match=msg):
        make(p)


@requires_torch
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_constructor_errors_match_torch(name):
    for lib in (brickwork, torch):
        with pytest.raises(ValueError) as info:
            getattr(lib.optim, name)([lib.ones(2, requires_grad=True)], lr=-1)
        if lib is brickwork:
            ours = str(info.value)
        else:
            assert ours == str(info.value)


def test_non_leaf_is_refused():
    p = brickwork.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)


def test_load_state_dict_mismatch_errors():
    a, b = brickwork.ones(2, requires_grad=True), brickwork.ones(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_load_state_dict_casts_state_to_param_dtype():
    p = brickwork.ones(3, requires_grad=True)
    opt = optim.Adam([p])
    p.grad = brickwork.ones(3)
    opt.step()
    sd = copy.deepcopy(opt.state_dict())
    q = brickwork.ones(3, dtype=brickwork.float64, requires_grad=True)
    opt2 = optim.Adam([q])
    opt2.load_state_dict(sd)
    assert opt2.state[q]["exp_avg"].dtype == brickwork.float64
    assert opt2.state[q]["step"].dtype == brickwork.float32  # step keeps its saved dtype
    assert opt2.state[q]["exp_avg"] is not sd["state"][0]["exp_avg"]


def test_lazy_parameters():
    """As in PyTorch, an optimizer may be built before the lazy module's first forward pass,
    except Adagrad, which needs shapes up front and says to run a forward pass first."""
    nn = brickwork.nn
    if not hasattr(nn, "LazyLinear"):
        pytest.skip("nn.LazyLinear not available yet")
    with pytest.raises(ValueError, match="forward pass"):
        optim.Adagrad(nn.LazyLinear(3).parameters())
    m = nn.LazyLinear(3)
    opt = optim.SGD(m.parameters(), lr=0.1)
    m(brickwork.ones(2, 4)).sum().backward()
    before = _np(m.weight).copy()
    opt.step()
    assert not np.allclose(before, _np(m.weight))


def test_float64_parameters_stay_float64():
    p = brickwork.ones(3, dtype=brickwork.float64, requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.RMSprop, optim.Adagrad):
        opt = cls([p], lr=0.1)
        p.grad = brickwork.ones(3, dtype=brickwork.float64)
        opt.step()
        assert p.dtype == brickwork.float64


def test_update_is_in_place():
    p = brickwork.ones(3, requires_grad=True)
    alias = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad = brickwork.ones(3)
    opt.step()
    np.testing.assert_array_equal(_np(alias), _np(p))
    assert not np.allclose(_np(p), 1.0)


COMPLEX_CASES = [c for c in CASES if c[0] != "SGD"]


@requires_torch
@pytest.mark.parametrize("cls,kw", COMPLEX_CASES, ids=[i for i, c in zip(IDS, CASES)
                                                        if c[0] != "SGD"])
def test_complex_parameters_match_torch(cls, kw):
    # PyTorch updates a complex parameter as its view_as_real: the square averages track
    # the real and imaginary parts apart (not |g|^2, nor g*g)
    rng = np.random.default_rng(4)
    shapes = [(3, 2), ()]
    init = [(rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)
            for s in shapes]
    grads = [[(rng.standard_normal(s) + 1j * rng.standard_normal(s)).astype(np.complex64)
              for s in shapes] for _ in range(4)]
    bp, _ = _run(brickwork, cls, kw, init, grads)
    tp, _ = _run(torch, cls, kw, init, grads)
    for b, t in zip(bp, tp):
        assert b.dtype == brickwork.complex64
        np.testing.assert_allclose(_np(b), _np(t), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,kw", CASES + [("Adadelta", dict(lr=1.0, weight_decay=0.1))],
                         ids=IDS + ["Adadelta-weight_decay"])
def test_large_parameters_update_in_chunks_as_whole(cls, kw, monkeypatch):
    # above 2 * CHUNK values the update runs on chunks of the arrays, on threads: the same
    # operations on every value, so the same bits as the update of the whole arrays
    from brickwork.optim import _inplace

    size = 2 * _inplace.CHUNK + 4099
    init, grads = [], []
    for seed, shape in enumerate([(size,), (3, 7)]):
        rng = np.random.default_rng(seed)
        init.append(rng.standard_normal(shape).astype(np.float32))
    grads = [[np.random.default_rng(10 + k).standard_normal(a.shape).astype(np.float32)
              for a in init] for k in range(3)]
    chunked, _ = _run(brickwork, cls, kw, init, grads)
    monkeypatch.setattr(_inplace, "_chunked", lambda *arrays: False)
    whole, _ = _run(brickwork, cls, kw, init, grads)
    for a, b in zip(chunked, whole):
        np.testing.assert_array_equal(_np(a), _np(b))
    assert not np.array_equal(_np(chunked[0]), init[0])  # it moved
