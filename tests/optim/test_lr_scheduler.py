"""Learning-rate schedulers: the same lr sequence as PyTorch's, and state_dict round trips."""
from __future__ import annotations

import pickle
import warnings

import pytest

import brickwork
from brickwork import optim
from helpers import requires_torch, torch

CASES = {
    "StepLR": lambda m, o: m.StepLR(o, 7, 0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, [3, 5, 5, 20], 0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 10, 0.001),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + e)),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [lambda e: 0.9 ** e, lambda e: 1 + e]),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, 1.0, total_steps=31),
    "OneCycleLR-3phase": lambda m, o: m.OneCycleLR(o, [1.0, 0.5], epochs=3,
                                                   steps_per_epoch=10, three_phase=True,
                                                   anneal_strategy="linear"),
    "LinearLR": lambda m, o: m.LinearLR(o, 0.25, 1.0, 8),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, total_iters=5), m.CosineAnnealingLR(o, 12),
            m.ExponentialLR(o, 0.8)], [5, 17]),
}
METRICS = [1, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85] * 3


def _optimizer(lib, name="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(2, requires_grad=True)
    cls = getattr(lib.optim, name)
    kw = {"momentum": 0.9} if name == "SGD" else {}
    return cls([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **kw)


def _sequence(lib, make, n=30, metrics=None, opt_name="SGD"):
    opt = _optimizer(lib, opt_name)
    sched = make(lib.optim.lr_scheduler, opt)
    out = [list(sched.get_last_lr())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            opt.step()
            sched.step(metrics[i]) if metrics else sched.step()
            g = opt.param_groups[0]
            out.append(list(sched.get_last_lr()) + [g.get("momentum", g.get("betas"))])
    return out


@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch(name):
    assert _sequence(brickwork, CASES[name]) == _sequence(torch, CASES[name])


@requires_torch
def test_one_cycle_cycles_adam_betas_like_torch():
    make = CASES["OneCycleLR"]
    assert _sequence(brickwork, make, opt_name="Adam") == _sequence(torch, make,
                                                                    opt_name="Adam")


@requires_torch
@pytest.mark.parametrize("kw", [dict(patience=2, factor=0.5, cooldown=1),
                                dict(mode="max", threshold_mode="abs", patience=1,
                                     min_lr=[0.02, 0.0])])
def test_reduce_lr_on_plateau_matches_torch(kw):
    def make(m, o):
        return m.ReduceLROnPlateau(o, **kw)

    n = len(METRICS)
    assert _sequence(brickwork, make, n, METRICS) == _sequence(torch, make, n, METRICS)


def test_step_lr_closed_form():
    opt = _optimizer(brickwork)
    sched = optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(9):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.1 * 0.5 ** ((e + 1) // 3) for e in range(9)])


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR",
                                  "MultiStepLR"])
def test_state_dict_resume(name):
    make = CASES[name]
    full = _sequence(brickwork, make, 20)
    opt = _optimizer(brickwork)
    sched = make(optim.lr_scheduler, opt)
    for _ in range(8):
        opt.step()
        sched.step()
    saved_opt = pickle.loads(pickle.dumps(opt.state_dict()))
    saved = pickle.loads(pickle.dumps(sched.state_dict()))
    assert "optimizer" not in saved
    opt2 = _optimizer(brickwork)
    sched2 = make(optim.lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    rest = []
    for _ in range(12):
        opt2.step()
        sched2.step()
        rest.append(list(sched2.get_last_lr()) + [opt2.param_groups[0]["momentum"]])
    assert rest == full[9:]


def test_errors():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        optim.lr_scheduler.StepLR(object(), 3)
    opt = _optimizer(brickwork)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="total_steps OR"):
        optim.lr_scheduler.OneCycleLR(opt, 1.0)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        optim.lr_scheduler.ReduceLROnPlateau(opt, factor=2.0)
    sched = optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=2)
    sched.step()
    sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        sched.step()
