"""The second set of lr schedulers: PyTorch's lr (and momentum) sequences over 100 steps, also
across a state_dict round trip and inside SequentialLR / ChainedScheduler."""
from __future__ import annotations

import math
import pickle
import warnings

import pytest

import brickwork
from brickwork import optim
from helpers import check_error, requires_torch, torch

N = 100
# PyTorch warns when a scheduler nested in SequentialLR takes its initial step.
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")


class _Halve:
    """A callable object: its state is saved by state_dict, unlike a lambda's."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return 0.5 ** x


class _Factor:
    def __init__(self, f):
        self.f = f

    def __call__(self, epoch):
        return self.f


CASES = {
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95),
    "MultiplicativeLR-list": lambda m, o: m.MultiplicativeLR(
        o, [lambda e: 0.9 if e % 3 else 1.1, _Factor(0.97)]),
    "ConstantLR": lambda m, o: m.ConstantLR(o),
    "ConstantLR-40": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=40),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o),
    "PolynomialLR-pow": lambda m, o: m.PolynomialLR(o, total_iters=60, power=0.9),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 10),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, 3, T_mult=2, eta_min=0.001),
    "CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=7),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], 5, 8,
                                                    mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, 0.001, 0.1, 6, mode="exp_range",
                                                  gamma=0.97, base_momentum=0.7,
                                                  max_momentum=0.95),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 4, scale_fn=_Halve(),
                                                 scale_mode="cycle"),
    "CyclicLR-scale_fn-iter": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 4, 2,
                                                      scale_fn=lambda x: 1 / (1 + x),
                                                      scale_mode="iterations"),
    "CyclicLR-no-momentum": lambda m, o: m.CyclicLR(o, 0.01, 0.1, 3, cycle_momentum=False),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=20), m.ExponentialLR(o, gamma=0.97)]),
    "ChainedScheduler-3": lambda m, o: m.ChainedScheduler(
        [m.MultiplicativeLR(o, lambda e: 0.99), m.CosineAnnealingWarmRestarts(o, 9),
         m.PolynomialLR(o, 70, 1.5)], optimizer=o),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, 0.5, 10), m.PolynomialLR(o, 30, 2.0),
            m.CosineAnnealingWarmRestarts(o, 8, 2)], [15, 40]),
    "SequentialLR-of-chained": lambda m, o: m.SequentialLR(
        o, [m.ChainedScheduler([m.ConstantLR(o, 0.5, 4), m.ExponentialLR(o, 0.9)]),
            m.PolynomialLR(o, 50, 2.0)], [12]),
    "ChainedScheduler-of-sequential": lambda m, o: m.ChainedScheduler(
        [m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=5), m.ExponentialLR(o, 0.98)],
                        [5]), m.MultiplicativeLR(o, lambda e: 1.0 if e % 10 else 0.5)]),
}
ADAM_CASES = ["CyclicLR", "CyclicLR-exp_range", "CyclicLR-scale_fn"]


def _optimizer(lib, name="SGD"):
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(2, requires_grad=True)
    kw = {"momentum": 0.9} if name == "SGD" else {}
    return getattr(lib.optim, name)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1,
                                    **kw)


def _record(opt, sched):
    g = opt.param_groups[1]
    return list(sched.get_last_lr()) + [g.get("momentum", g.get("betas"))]


def _run(opt, sched, n):
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns about step order on some paths
        for _ in range(n):
            opt.step()
            sched.step()
            out.append(_record(opt, sched))
    return out


def _sequence(lib, make, opt_name="SGD", n=N):
    opt = _optimizer(lib, opt_name)
    sched = make(lib.optim.lr_scheduler, opt)
    return [_record(opt, sched)] + _run(opt, sched, n)


def _resumed(lib, make, opt_name="SGD", n=N, at=N // 2):
    """Run ``at`` steps, save both state_dicts (through pickle), rebuild, load, finish."""
    opt = _optimizer(lib, opt_name)
    sched = make(lib.optim.lr_scheduler, opt)
    first = [_record(opt, sched)] + _run(opt, sched, at)
    saved_opt = pickle.loads(pickle.dumps(opt.state_dict()))
    saved = pickle.loads(pickle.dumps(sched.state_dict()))
    opt2 = _optimizer(lib, opt_name)
    sched2 = make(lib.optim.lr_scheduler, opt2)  # built before the optimizer is loaded
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert sched2.get_last_lr() == first[-1][:2]
    return first + _run(opt2, sched2, n - at)


@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_sequence_matches_torch(name):
    expected = _sequence(torch, CASES[name])
    assert _sequence(brickwork, CASES[name]) == expected
    assert _resumed(brickwork, CASES[name]) == expected


@requires_torch
@pytest.mark.parametrize("name", ADAM_CASES)
def test_cyclic_lr_cycles_adam_beta1_like_torch(name):
    expected = _sequence(torch, CASES[name], "Adam")
    got = _sequence(brickwork, CASES[name], "Adam")
    assert got == expected
    assert got[3][2][1] == 0.999  # only beta1 cycles
    assert _resumed(brickwork, CASES[name], "Adam") == expected


def _state(lib, name, steps=13):
    opt = _optimizer(lib)
    sched = CASES[name](lib.optim.lr_scheduler, opt)
    _run(opt, sched, steps)
    return sched.state_dict()


def _plain(sd):
    """The state_dict with PyTorch-internal flags dropped and nested schedulers unpacked."""
    out = {k: v for k, v in sd.items() if k != "_get_lr_called_within_step"}
    if "_schedulers" in out:
        out["_schedulers"] = [_plain(s) for s in out["_schedulers"]]
    return out


@requires_torch
@pytest.mark.parametrize("name", ["MultiplicativeLR-list", "ConstantLR", "PolynomialLR-pow",
                                  "CosineAnnealingWarmRestarts-mult", "CyclicLR-exp_range",
                                  "CyclicLR-scale_fn", "CyclicLR-scale_fn-iter",
                                  "ChainedScheduler-3", "SequentialLR-of-chained"])
def test_state_dict_matches_torch(name):
    """Same keys and values as PyTorch's: lambdas saved as None, callable objects as their
    __dict__, the optimizer and the built-in scale function left out."""
    got, expected = _plain(_state(brickwork, name)), _plain(_state(torch, name))
    assert got == expected
    assert "optimizer" not in got


def test_state_dict_skips_lambdas_keeps_callable_objects():
    opt = _optimizer(brickwork)
    sched = optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, 4, scale_fn=_Halve())
    _run(opt, sched, 5)
    sd = sched.state_dict()
    # Called for the lr and for the momentum of each of 2 groups, on each of 6 steps.
    assert sd["_scale_fn_custom"] == {"calls": 24}
    assert "_scale_fn_ref" not in sd
    other = optim.lr_scheduler.CyclicLR(_optimizer(brickwork), 0.01, 0.1, 4, scale_fn=_Halve())
    other.load_state_dict(sd)
    assert other._scale_fn_custom.calls == 24 and other.last_epoch == 5
    sched = optim.lr_scheduler.MultiplicativeLR(opt, [lambda e: 0.5, _Factor(0.25)])
    assert sched.state_dict()["lr_lambdas"] == [None, {"f": 0.25}]
    sched2 = optim.lr_scheduler.MultiplicativeLR(opt, [lambda e: 0.5, _Factor(0.75)])
    sd = sched.state_dict()
    sched2.load_state_dict(sd)
    assert sched2.lr_lambdas[1].f == 0.25 and "lr_lambdas" in sd


@requires_torch
@pytest.mark.parametrize("epochs", [[0, 0.5, 1.25, 3, 2.75, 10, 23.5, 31, 7.5, 44.0],
                                    [5, 12, 0.1, 100, 62.5]])
@pytest.mark.parametrize("t_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs_match_torch(epochs, t_mult):
    def run(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 4, t_mult, 0.01)
        out = []
        for e in epochs:
            sched.step(e)
            out.append((sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch))
        return out

    assert run(brickwork) == run(torch)


@requires_torch
@pytest.mark.parametrize("name", ["ConstantLR-40", "PolynomialLR-pow", "MultiplicativeLR"])
def test_step_with_epoch_matches_torch(name):
    def run(lib):
        opt = _optimizer(lib)
        sched = CASES[name](lib.optim.lr_scheduler, opt)
        out = []
        for e in [3, 1, 50, 39, 40, 41, 0, 80]:
            with pytest.warns(UserWarning, match="deprecated"):
                sched.step(e)
            out.append(sched.get_last_lr())
        return out

    assert run(brickwork) == run(torch)


def test_numpy_only_expectations():
    """Closed forms from the papers/docs, checked without PyTorch."""
    lr_sched = optim.lr_scheduler
    opt = _optimizer(brickwork)
    sched = lr_sched.PolynomialLR(opt, total_iters=8, power=2.0)
    lrs = [sched.get_last_lr()[0]] + [r[0] for r in _run(opt, sched, 12)]
    assert lrs == pytest.approx([0.1 * (1 - min(e, 8) / 8) ** 2 for e in range(13)], abs=1e-15)

    opt = _optimizer(brickwork)
    sched = lr_sched.CyclicLR(opt, 0.0, 1.0, step_size_up=4, step_size_down=2)
    got = [_record(opt, sched)] + _run(opt, sched, 12)
    tri = [0, 0.25, 0.5, 0.75, 1.0, 0.5]
    assert [r[0] for r in got] == pytest.approx((tri * 3)[:13])
    assert [r[2] for r in got] == pytest.approx([0.9 - 0.1 * t for t in (tri * 3)[:13]])

    opt = _optimizer(brickwork)
    sched = lr_sched.CosineAnnealingWarmRestarts(opt, 5, 2, eta_min=0.01)
    lrs = [sched.get_last_lr()[0]] + [r[0] for r in _run(opt, sched, 20)]
    t_cur = list(range(5)) + list(range(10)) + list(range(6))
    t_i = [5] * 5 + [10] * 10 + [20] * 6
    assert lrs == pytest.approx([0.01 + 0.09 * (1 + math.cos(math.pi * c / t)) / 2
                                 for c, t in zip(t_cur, t_i)])

    opt = _optimizer(brickwork)
    sched = lr_sched.ConstantLR(opt, factor=0.5, total_iters=3)
    assert [sched.get_last_lr()[1]] + [r[1] for r in _run(opt, sched, 5)] == \
        [0.025, 0.025, 0.025, 0.05, 0.05, 0.05]


@requires_torch
@pytest.mark.parametrize("make", [
    lambda m, o: m.ConstantLR(o, factor=1.5),
    lambda m, o: m.ConstantLR(o, factor=-0.1),
    lambda m, o: m.MultiplicativeLR(o, [lambda e: 1.0]),
    lambda m, o: m.MultiplicativeLR(o, 0.5),
    lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="sawtooth"),
    lambda m, o: m.CyclicLR(o, [0.01], 0.1),
    lambda m, o: m.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9, 0.9, 0.9]),
    lambda m, o: m.CyclicLR(object(), 0.01, 0.1),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, 0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, 2.0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, T_mult=0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, T_mult=1.5),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, eta_min="0"),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, 2).step(-1),
    lambda m, o: m.ChainedScheduler([]),
    lambda m, o: m.ChainedScheduler([m.ConstantLR(o), m.ReduceLROnPlateau(o)]),
    lambda m, o: m.ChainedScheduler([m.ConstantLR(o), object()], o),
])
def test_errors_match_torch(make):
    check_error(lambda lib: make(lib.optim.lr_scheduler, _optimizer(lib)))


@requires_torch
def test_cycle_momentum_needs_momentum_and_mixed_optimizers():
    check_error(lambda lib: lib.optim.lr_scheduler.CyclicLR(_optimizer(lib, "Adagrad"), 0.1, 1))

    def mixed(lib):
        m = lib.optim.lr_scheduler
        return m.ChainedScheduler([m.ConstantLR(_optimizer(lib)), m.ConstantLR(_optimizer(lib))])

    # The message names the optimizer's repr, which differs between the libraries.
    err = check_error(mixed, match_message=False)
    assert "expects all schedulers to belong to the same optimizer" in str(err)


_GET_LR_WARNS = {
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.9 ** e),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.9),
    "StepLR": lambda S, o: S.StepLR(o, 2), "MultiStepLR": lambda S, o: S.MultiStepLR(o, [2]),
    "ConstantLR": lambda S, o: S.ConstantLR(o), "LinearLR": lambda S, o: S.LinearLR(o),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o), "CosineAnnealingLR": lambda S, o:
    S.CosineAnnealingLR(o, 5), "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, 0.1),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, 3),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, 1.0, total_steps=10),
    "SequentialLR": lambda S, o: S.SequentialLR(o, [S.ConstantLR(o), S.StepLR(o, 2)], [2]),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(_GET_LR_WARNS))
def test_get_lr_outside_step_warns_and_state_keys_as_torch(name):
    # get_lr() outside step() warns as PyTorch's schedulers do (step() itself never does), and
    # the flag that tells them apart is in the state_dict as in PyTorch's
    seen = []
    for lib in (brickwork, torch):
        opt = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1, momentum=0.9)
        with warnings.catch_warnings(record=True) as during_step:
            warnings.simplefilter("always")
            sched = _GET_LR_WARNS[name](lib.optim.lr_scheduler, opt)
            opt.step()
            sched.step()
        with warnings.catch_warnings(record=True) as outside:
            warnings.simplefilter("always")
            if name != "SequentialLR":
                sched.get_lr()
        seen.append(([str(w.message) for w in during_step], [str(w.message) for w in outside],
                     sorted(sched.state_dict())))
    assert seen[0] == seen[1]
