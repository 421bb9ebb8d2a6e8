"""Optimizer and scheduler state_dicts through real files, both ways: brickwork saves, PyTorch
loads and continues; PyTorch saves, brickwork loads and continues; the result equals one
uninterrupted run."""
import numpy as np
import pytest

import brickwork

torch = pytest.importorskip("torch")

OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]


def _grads(n):
    rng = np.random.default_rng(3)
    return [[rng.standard_normal((3, 4)), rng.standard_normal(4)] for _ in range(n)]


def _steps(lib, opt, params, grads):
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = lib.tensor(g)
        opt.step()


def _np(t):
    return t.detach().numpy().copy()


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[n for n, _ in OPTIMIZERS])
def test_optimizer_state_through_files(name, kw, tmp_path):
    init = [np.linspace(-1, 1, 12).reshape(3, 4), np.linspace(0, 1, 4)]
    grads = _grads(9)
    ref = [torch.tensor(a, requires_grad=True) for a in init]
    _steps(torch, getattr(torch.optim, name)(ref, **kw), ref, grads)

    bp = [brickwork.tensor(a, requires_grad=True) for a in init]
    bopt = getattr(brickwork.optim, name)(bp, **kw)
    _steps(brickwork, bopt, bp, grads[:3])
    brickwork.save(bopt.state_dict(), tmp_path / "b.pt")
    tp = [torch.tensor(_np(p), requires_grad=True) for p in bp]
    topt = getattr(torch.optim, name)(tp, lr=123.0)
    topt.load_state_dict(torch.load(tmp_path / "b.pt", weights_only=True))
    _steps(torch, topt, tp, grads[3:6])
    torch.save(topt.state_dict(), tmp_path / "t.pt")
    bp2 = [brickwork.tensor(_np(p), requires_grad=True) for p in tp]
    bopt2 = getattr(brickwork.optim, name)(bp2, lr=123.0)
    bopt2.load_state_dict(brickwork.load(tmp_path / "t.pt"))
    _steps(brickwork, bopt2, bp2, grads[6:])
    for b, t in zip(bp2, ref):
        np.testing.assert_allclose(_np(b), _np(t), rtol=1e-12, atol=1e-12)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("LinearLR", dict(start_factor=0.2, total_iters=5)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=20)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2")),
]


@pytest.mark.parametrize("name,kw", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_state_through_files(name, kw, tmp_path):
    def make(lib):
        p = lib.zeros(2, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        return opt, getattr(lib.optim.lr_scheduler, name)(opt, **kw)

    def run(opt, sched, n):
        out = []
        for _ in range(n):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr()[0])
        return out

    want = run(*make(torch), 12)
    opt, sched = make(brickwork)
    got = run(opt, sched, 4)
    brickwork.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "b.pt")
    topt, tsched = make(torch)
    saved = torch.load(tmp_path / "b.pt", weights_only=True)
    topt.load_state_dict(saved["opt"])
    tsched.load_state_dict(saved["sched"])
    got += run(topt, tsched, 4)
    torch.save({"opt": topt.state_dict(), "sched": tsched.state_dict()}, tmp_path / "t.pt")
    opt, sched = make(brickwork)
    saved = brickwork.load(tmp_path / "t.pt")
    opt.load_state_dict(saved["opt"])
    sched.load_state_dict(saved["sched"])
    got += run(opt, sched, 4)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_lbfgs_state_through_files(tmp_path):
    def problem(lib):
        w = lib.tensor(np.array([1.5, -0.5, 2.0]), requires_grad=True)
        A = lib.tensor(np.array([[3.0, 0.2, 0.0], [0.2, 2.0, 0.1], [0.0, 0.1, 1.0]]))
        return w, A

    def closure_for(lib, opt, w, A):
        def closure():
            opt.zero_grad()
            loss = (w @ (A @ w)) + (w ** 4).sum() * 0.1
            loss.backward()
            return loss
        return closure

    w_ref, A_ref = problem(torch)
    topt = torch.optim.LBFGS([w_ref], max_iter=3, history_size=4)
    for _ in range(4):
        topt.step(closure_for(torch, topt, w_ref, A_ref))

    w, A = problem(brickwork)
    bopt = brickwork.optim.LBFGS([w], max_iter=3, history_size=4)
    for _ in range(2):
        bopt.step(closure_for(brickwork, bopt, w, A))
    brickwork.save(bopt.state_dict(), tmp_path / "b.pt")
    tw = torch.tensor(_np(w), requires_grad=True)
    t2 = torch.optim.LBFGS([tw], max_iter=3, history_size=4)
    t2.load_state_dict(torch.load(tmp_path / "b.pt", weights_only=True))
    t2.step(closure_for(torch, t2, tw, torch.tensor(A.numpy())))
    torch.save(t2.state_dict(), tmp_path / "t.pt")
    w2 = brickwork.tensor(tw.detach().numpy().copy(), requires_grad=True)
    b2 = brickwork.optim.LBFGS([w2], max_iter=3, history_size=4)
    b2.load_state_dict(brickwork.load(tmp_path / "t.pt"))
    b2.step(closure_for(brickwork, b2, w2, A))
    np.testing.assert_allclose(_np(w2), _np(w_ref), rtol=1e-10, atol=1e-12)


def test_counter_in_both_formats_without_torch(tmp_path):
    # MultiStepLR keeps its milestones in a Counter: both file formats carry it
    import collections

    p = brickwork.zeros(1, requires_grad=True)
    sched = brickwork.optim.lr_scheduler.MultiStepLR(brickwork.optim.SGD([p], lr=1.0), [2, 2, 5])
    for name in ("s.safetensors", "s.pt"):
        brickwork.save(sched.state_dict(), tmp_path / name)
        back = brickwork.load(tmp_path / name)
        assert type(back["milestones"]) is collections.Counter
        assert back["milestones"] == collections.Counter({2: 2, 5: 1})
