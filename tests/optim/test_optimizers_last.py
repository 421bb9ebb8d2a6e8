"""Adafactor, Muon and swap_in_optimizer_params_and_state against PyTorch: signatures,
20-step trajectories (Adafactor in float64 to 1e-10; Muon, whose Newton–Schulz iteration
runs in bfloat16, to bfloat16 tolerance), state and state_dict layout (through real files
both ways), errors, plus NumPy-only expectations that need no torch."""
from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

import brickwork
from tests.optim._trajectory import _compare_state, _np, _run
from tests.optim._trajectory import _data as _random_data
from brickwork import optim
from brickwork.optim.muon import _round_bf16, _zeropower_via_newtonschulz
from helpers import check_error, requires_torch, torch

SHAPES = [(4, 3), (3,), (), (2, 3, 4)]  # 2-d, 1-d, 0-d and 3-d (factored over its last two)


def _data(steps, dtype="float64", seed=0, shapes=SHAPES):
    return _random_data(steps, dtype, seed, shapes)
MUON_SHAPES = [(4, 3), (3, 5), (6, 6)]  # tall (transposed for the iteration), wide, square
ADAFACTOR = [
    {},
    dict(lr=0.5),  # rho_t = min(lr, 1/sqrt(t)) switches from lr to 1/sqrt(t) at step 5
    dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=1.5, weight_decay=0.1),
    dict(eps=(0.3, 0.5), d=2.0),  # eps1 large enough to clamp the variance estimate
    dict(maximize=True, weight_decay=0.2),
    dict(foreach=True, weight_decay=0.1),
    dict(foreach=False, maximize=True),
]
MUON = [
    {},
    dict(lr=0.02, nesterov=False),
    dict(momentum=0.5, weight_decay=0.0, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.01, adjust_lr_fn="original", ns_steps=3, eps=1e-3),
    dict(ns_coefficients=(2.0, -1.5, 0.5), momentum=0.9, weight_decay=0.3),
]


def _ids(cases):
    return ["-".join(f"{k}={v}" for k, v in kw.items()) or "plain" for kw in cases]


# -- Adafactor against PyTorch -----------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.values()]


@requires_torch
def test_swap_in_signature_matches_torch():
    ours = inspect.signature(optim.swap_in_optimizer_params_and_state).parameters
    theirs = inspect.signature(torch.optim.swap_in_optimizer_params_and_state).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.values()]


@requires_torch
@pytest.mark.parametrize("kw", ADAFACTOR, ids=_ids(ADAFACTOR))
def test_adafactor_float64_trajectory_matches_torch(kw):
    init, grads = _data(20)
    bp, bopt = _run(brickwork, "Adafactor", kw, init, grads)
    tp, topt = _run(torch, "Adafactor", kw, init, grads)
    for b, t, a in zip(bp, tp, init):
        assert b.dtype == brickwork.float64 and tuple(b.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-10)
        assert not np.allclose(_np(b), a)  # the test can fail: every parameter moved
    _compare_state(bopt, topt, rtol=0, atol=1e-10)
    assert repr(bopt) == repr(topt)


@requires_torch
@pytest.mark.parametrize("kw", ADAFACTOR[:3], ids=_ids(ADAFACTOR[:3]))
def test_adafactor_float32_trajectory_matches_torch(kw):
    init, grads = _data(8, "float32", seed=1)
    bp, bopt = _run(brickwork, "Adafactor", kw, init, grads)
    tp, topt = _run(torch, "Adafactor", kw, init, grads)
    for b, t in zip(bp, tp):
        assert b.dtype == brickwork.float32
        np.testing.assert_allclose(_np(b), _np(t), rtol=1e-5, atol=1e-6)
    _compare_state(bopt, topt, rtol=1e-5, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("foreach", [None, True])
def test_adafactor_mixed_dtypes_share_one_eps1(foreach):
    # eps1=None becomes one machine epsilon for the whole group: the first parameter's, or
    # with foreach=True that of the dtype group PyTorch's foreach path lists first
    rng = np.random.default_rng(5)
    shapes = [(3,), (3, 2), (2, 2)]
    dtypes = ["float64", "float32", "float64"]
    init = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    grads = [[1e-9 * rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
             for _ in range(4)]
    bp, _ = _run(brickwork, "Adafactor", dict(foreach=foreach), init, grads)
    tp, _ = _run(torch, "Adafactor", dict(foreach=foreach), init, grads)
    for b, t in zip(bp, tp):
        np.testing.assert_allclose(_np(b), _np(t), rtol=1e-6, atol=1e-9)


@requires_torch
@pytest.mark.parametrize("kw", ADAFACTOR[:3], ids=_ids(ADAFACTOR[:3]))
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_adafactor_low_precision_parameters_follow_torch(kw, dtype):
    # every op rounds to the parameter's dtype; the last bits may differ (a bfloat16 entry
    # is one of 128 per binade), so the comparison allows a few units in the last place of
    # the tensor's largest entries (the step scales with the tensor's RMS)
    init, grads = _data(10, "float32", seed=2)

    def run(lib):
        dt = getattr(lib, dtype)
        params = [lib.tensor(a).to(dt).requires_grad_() for a in init]
        opt = lib.optim.Adafactor(params, **kw)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = lib.tensor(g).to(dt)
            opt.step()
        return [(p.detach().float().numpy(), p.dtype) for p in params]

    for (bp, bdt), (tp, _), a in zip(run(brickwork), run(torch), init):
        assert bdt == getattr(brickwork, dtype)
        np.testing.assert_allclose(bp, tp, rtol=2 ** -5, atol=2 ** -6 * np.abs(tp).max())
        assert np.abs(bp - a).max() > 0.005


@requires_torch
def test_adafactor_tensor_lr_matches_torch():
    init, grads = _data(6)
    bp, _ = _run(brickwork, "Adafactor", dict(lr=brickwork.tensor(0.3, dtype="float64")),
                 init, grads)
    tp, _ = _run(torch, "Adafactor", dict(lr=torch.tensor(0.3, dtype=torch.float64)), init,
                 grads)
    for b, t in zip(bp, tp):
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-10)


@requires_torch
@pytest.mark.parametrize("name,kw,shapes", [
    ("Adafactor", ADAFACTOR[2], SHAPES), ("Adafactor", ADAFACTOR[4], SHAPES),
    ("Muon", MUON[0], MUON_SHAPES), ("Muon", MUON[2], MUON_SHAPES)], ids=str)
def test_state_dict_files_round_trip_with_torch(name, kw, shapes, tmp_path):
    """brickwork -> file -> PyTorch continues; PyTorch -> file -> brickwork continues."""
    init, grads = _data(12, "float32", shapes=shapes)
    ref, _ = _run(torch, name, kw, init, grads)
    bp, bopt = _run(brickwork, name, kw, init, grads[:4])
    brickwork.save(bopt.state_dict(), tmp_path / "b.pt")
    tparams = [torch.tensor(_np(p), requires_grad=True) for p in bp]
    topt = getattr(torch.optim, name)(tparams, lr=123.0)
    topt.load_state_dict(torch.load(tmp_path / "b.pt", weights_only=True))
    _run(torch, name, kw, init, grads[4:8], opt=topt, params=tparams)
    torch.save(topt.state_dict(), tmp_path / "t.pt")
    bparams = [brickwork.tensor(_np(p), requires_grad=True) for p in tparams]
    bopt2 = getattr(optim, name)(bparams, lr=123.0)
    bopt2.load_state_dict(brickwork.load(tmp_path / "t.pt"))
    assert bopt2.param_groups[0]["lr"] == kw.get("lr", bopt.defaults["lr"])
    assert list(bopt2.state[bparams[0]]) == list(topt.state[tparams[0]])
    _run(brickwork, name, kw, init, grads[8:], opt=bopt2, params=bparams)
    for b, t in zip(bparams, ref):
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-6)


ADAFACTOR_ERRORS = [dict(lr=-1.0), dict(beta2_decay=0.5), dict(eps=(-1.0, 1e-3)),
                    dict(eps=(None, -1e-3)), dict(d=0.5), dict(weight_decay=-0.1)]


@pytest.mark.parametrize("kw", ADAFACTOR_ERRORS, ids=str)
def test_adafactor_invalid_hyperparameters_match_torch(kw):
    check_error(lambda lib: lib.optim.Adafactor([lib.ones(2, requires_grad=True)], **kw))


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_tensor_lr_must_have_one_element(name):
    check_error(lambda lib: getattr(lib.optim, name)([lib.ones(2, 2, requires_grad=True)],
                                                    lr=lib.tensor([0.1, 0.2])))


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_complex_parameters_are_refused_before_any_update(name):
    def fn(lib):
        ps = [lib.ones(2, 2, requires_grad=True),
              lib.ones(2, 2, dtype=lib.complex64, requires_grad=True)]
        opt = getattr(lib.optim, name)(ps)
        for p in ps:
            p.grad = lib.ones_like(p)
        try:
            opt.step()
        finally:
            assert float(ps[0].detach().sum()) == 4.0  # the first one did not move either

    check_error(fn)


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_sparse_gradients_are_refused(name):
    def fn(lib):
        emb = lib.nn.Embedding(4, 2, sparse=True)
        opt = getattr(lib.optim, name)(emb.parameters())
        emb(lib.tensor([1, 2])).sum().backward()
        opt.step()

    check_error(fn)


def test_adafactor_empty_parameter_fails_as_torchs():
    def fn(lib):
        p = lib.zeros(0, 3, requires_grad=True)
        opt = lib.optim.Adafactor([p])
        p.grad = lib.zeros(0, 3)
        opt.step()

    check_error(fn)  # PyTorch divides the norm by sqrt(numel) = 0


# -- Muon against PyTorch ----------------------------------------------------------------------
def _muon_tol(kw, steps):
    # each orthogonalized entry is a bfloat16 (relative spacing 2**-8) of size <= ~1.2; an
    # entry rounded the other way moves the parameter by one spacing times the adjusted lr
    lr = kw.get("lr", 1e-3) * (0.2 * 6 ** 0.5 if kw.get("adjust_lr_fn") == "match_rms_adamw"
                               else 4 ** 0.5)
    return steps * lr * 2.0 ** -7


@requires_torch
@pytest.mark.parametrize("kw", MUON, ids=_ids(MUON))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_muon_trajectory_matches_torch(kw, dtype):
    init, grads = _data(20, dtype, shapes=MUON_SHAPES)
    bp, bopt = _run(brickwork, "Muon", kw, init, grads)
    tp, topt = _run(torch, "Muon", kw, init, grads)
    atol = _muon_tol(kw, 20)
    for b, t, a in zip(bp, tp, init):
        assert b.dtype.name == dtype and tuple(b.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=atol)
        # the test can fail: every parameter moved by much more than the tolerance
        assert np.abs(_np(b) - a).max() > 10 * atol
    _compare_state(bopt, topt, rtol=0, atol=1e-2)
    assert repr(bopt) == repr(topt)


@requires_torch
@pytest.mark.parametrize("kw", MUON[:2], ids=_ids(MUON[:2]))
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_muon_low_precision_parameters_match_torch(kw, dtype):
    # each op computes in float32 and rounds once; with nesterov=False PyTorch normalizes a
    # bfloat16 momentum buffer in place (its .bfloat16() copy is the buffer itself)
    init, grads = _data(10, "float32", shapes=MUON_SHAPES)

    def run(lib):
        dt = getattr(lib, dtype)
        params = [lib.tensor(a).to(dt).requires_grad_() for a in init]
        opt = lib.optim.Muon(params, **kw)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = lib.tensor(g).to(dt)
            opt.step()
        return [(p.detach().float().numpy(), opt.state[p]["momentum_buffer"].float().numpy(),
                 p.dtype) for p in params]

    for (bp, bbuf, bdt), (tp, tbuf, _), a in zip(run(brickwork), run(torch), init):
        assert bdt == getattr(brickwork, dtype)
        np.testing.assert_allclose(bp, tp, rtol=2 ** -7, atol=_muon_tol(kw, 10))
        np.testing.assert_allclose(bbuf, tbuf, rtol=2 ** -7, atol=1e-4)
        assert np.abs(bp - a).max() > 0.003


@requires_torch
def test_muon_newton_schulz_is_bit_exact_with_torch():
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns

    rng = np.random.default_rng(2)
    for shape in [(4, 3), (3, 5), (16, 16), (40, 24)]:
        for dtype in ("float64", "float32"):
            g = rng.standard_normal(shape).astype(dtype)
            want = torch_ns(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7)
            got = _zeropower_via_newtonschulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7)
            assert want.dtype == torch.bfloat16 and got.dtype == np.float32
            np.testing.assert_array_equal(got, want.float().numpy())


@requires_torch
def test_muon_tensor_lr_matches_torch():
    init, grads = _data(6, shapes=MUON_SHAPES)
    bp, _ = _run(brickwork, "Muon", dict(lr=brickwork.tensor(0.01, dtype="float64")), init,
                 grads)
    tp, _ = _run(torch, "Muon", dict(lr=torch.tensor(0.01, dtype=torch.float64)), init, grads)
    for b, t in zip(bp, tp):
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=_muon_tol(dict(lr=0.01), 6))


MUON_ERRORS = [dict(lr=-1.0), dict(momentum=-0.5), dict(weight_decay=-0.1),
               dict(adjust_lr_fn="nope")]


@pytest.mark.parametrize("kw", MUON_ERRORS, ids=str)
def test_muon_invalid_hyperparameters_match_torch(kw):
    check_error(lambda lib: lib.optim.Muon([lib.ones(2, 2, requires_grad=True)], **kw))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_muon_refuses_parameters_that_are_not_2d(shape):
    err = check_error(lambda lib: lib.optim.Muon([lib.ones(2, 2, requires_grad=True),
                                                  lib.ones(shape, requires_grad=True)]),
                      match_message=False)
    assert str(err) == ("Muon only supports 2D parameters whereas we found a parameter with "
                        f"size: brickwork.Size({list(shape)})")


@pytest.mark.parametrize("kw", [dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))], ids=str)
def test_muon_iteration_options_fail_at_step_as_torchs(kw):
    def fn(lib):
        p = lib.ones(2, 3, requires_grad=True)
        opt = lib.optim.Muon([p], **kw)
        p.grad = lib.ones(2, 3)
        opt.step()

    check_error(fn)


def test_muon_parameter_added_later_fails_at_step_as_torchs():
    def fn(lib):
        opt = lib.optim.Muon([lib.ones(2, 3, requires_grad=True)])
        p = lib.ones(4, requires_grad=True)
        opt.add_param_group(dict(params=[p]))  # only the constructor checks dimensions
        p.grad = lib.ones(4)
        opt.step()

    check_error(fn)


# -- swap_in_optimizer_params_and_state against PyTorch ------------------------------------------
def _swap_scenario(lib):
    rng = np.random.default_rng(7)
    live = [lib.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 2), (2,))]
    opt = lib.optim.Adam([{"params": live[:1]}, {"params": live[1:], "lr": 0.2}], lr=0.1)
    for p in live:
        p.grad = lib.ones_like(p)
    opt.step()
    saved = opt.state_dict()
    # stand-ins: other values, other state (copied), other options
    other = {"w": lib.tensor(rng.standard_normal((3, 2)), requires_grad=True),
             "b": lib.tensor(rng.standard_normal(2), requires_grad=True)}
    state = {"state": {k: {n: t.clone() * 3 for n, t in v.items()} for k, v in
                       saved["state"].items()},
             "param_groups": [dict(g, lr=0.05) for g in saved["param_groups"]]}
    live_before = [p.detach().clone() for p in live]
    live_groups = opt.param_groups[0]["params"]
    for p in other.values():
        p.grad = lib.full_like(p, 0.5)
    with lib.optim.swap_in_optimizer_params_and_state(opt, other, state):
        seen_lr = [g["lr"] for g in opt.param_groups]
        opt.step()
        seen_params = opt.param_groups[0]["params"][0] is other["w"]
    return [list(other.values()), state["state"][0]["exp_avg"], state["state"][1]["step"],
            seen_lr, seen_params, [g["lr"] for g in opt.param_groups],
            opt.param_groups[0]["params"] is live_groups,
            [bool((p == q).all()) for p, q in zip(live, live_before)],
            opt.state[live[0]]["exp_avg"], opt.state_dict()["state"][1]["step"]]


@requires_torch
def test_swap_in_steps_the_stand_ins_and_restores_the_optimizer():
    b, t = _swap_scenario(brickwork), _swap_scenario(torch)
    for i, (bv, tv) in enumerate(zip(b, t)):
        if isinstance(tv, torch.Tensor) or (isinstance(tv, list) and tv
                                            and isinstance(tv[0], torch.Tensor)):
            for x, y in zip(bv if isinstance(bv, list) else [bv],
                            tv if isinstance(tv, list) else [tv]):
                np.testing.assert_allclose(_np(x), _np(y), rtol=1e-12, err_msg=f"item {i}")
        else:
            assert bv == tv, f"item {i}: {bv!r} != {tv!r}"
    assert b[3] == [0.05, 0.05] and b[5] == [0.1, 0.2] and b[4] and b[6]
    assert float(b[2]) == 4.0  # the caller's step tensor (1 * 3) was advanced in place


def _swap_error(mutate):
    def fn(lib):
        ps = [lib.ones(2, 2, requires_grad=True), lib.ones(3, requires_grad=True)]
        opt = lib.optim.SGD(ps, lr=0.1, momentum=0.9)
        for p in ps:
            p.grad = lib.ones_like(p)
        opt.step()
        sd = opt.state_dict()
        params = {"a": lib.zeros(2, 2), "b": lib.zeros(3)}
        sd, params = mutate(lib, sd, params, opt)
        with lib.optim.swap_in_optimizer_params_and_state(opt, params, sd):
            pass
    return fn


def _forget_state(lib, sd, ps, opt):
    opt.state.clear()
    return sd, ps


SWAP_ERRORS = {
    "not_stepped": _forget_state,
    "not_a_dict": lambda lib, sd, ps, opt: ([sd], ps),
    "state_not_dict": lambda lib, sd, ps, opt: (dict(sd, state=[1]), ps),
    "state_tensor_keys": lambda lib, sd, ps, opt: (
        dict(sd, state={p: v for p, v in opt.state.items()}), ps),
    "state_entry_not_dict": lambda lib, sd, ps, opt: (dict(sd, state={0: 1}), ps),
    "groups_not_list": lambda lib, sd, ps, opt: (dict(sd, param_groups=()), ps),
    "groups_count": lambda lib, sd, ps, opt: (dict(sd, param_groups=sd["param_groups"] * 2),
                                              ps),
    "group_not_dict": lambda lib, sd, ps, opt: (dict(sd, param_groups=[1]), ps),
    "group_ids": lambda lib, sd, ps, opt: (
        dict(sd, param_groups=[dict(sd["param_groups"][0], params=["a", "b"])]), ps),
    "group_size": lambda lib, sd, ps, opt: (
        dict(sd, param_groups=[dict(sd["param_groups"][0], params=[0])]), ps),
    "group_keys": lambda lib, sd, ps, opt: (
        dict(sd, param_groups=[dict(sd["param_groups"][0], extra=1)]), ps),
    "too_few_params": lambda lib, sd, ps, opt: (sd, {"a": ps["a"]}),
    "extra_state_ids": lambda lib, sd, ps, opt: (
        dict(sd, state=dict(sd["state"], **{"7": {}})), ps),
}


@pytest.mark.parametrize("case", SWAP_ERRORS)
def test_swap_in_errors_match_torch(case):
    check_error(_swap_error(SWAP_ERRORS[case]))


# -- NumPy expectations (no torch) -------------------------------------------------------------
def test_adafactor_first_steps_by_hand():
    p0 = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    g = np.array([[0.5, 2.0, -1.0], [1.0, -0.5, 0.25]])
    p = brickwork.tensor(p0.copy(), requires_grad=True)
    opt = optim.Adafactor([p], lr=0.1, weight_decay=0.5)
    p.grad = brickwork.tensor(g)
    opt.step()
    # step 1: beta2 weight 1**-0.8 = 1, so R and C are the row and column means of g*g
    r = (g * g).mean(axis=1, keepdims=True)
    c = (g * g).mean(axis=0, keepdims=True)
    v = r @ c / r.mean()
    u = g / np.sqrt(v)
    alpha = max(1e-3, np.sqrt((p0 * p0).mean())) * min(0.1, 1.0)
    want = p0 * (1 - 0.1 * 0.5) - alpha * u / max(1.0, np.sqrt((u * u).mean()))
    np.testing.assert_allclose(_np(p), want, rtol=1e-13)
    state = opt.state[p]
    assert list(state) == ["step", "row_var", "col_var"]
    np.testing.assert_allclose(_np(state["row_var"]), r, rtol=1e-13)
    np.testing.assert_allclose(_np(state["col_var"]), c, rtol=1e-13)
    assert state["step"].dtype == brickwork.float32 and float(state["step"]) == 1.0
    # a vector keeps the unfactored variance: at step 2 its weight is 2**-0.8
    q = brickwork.tensor([1.0, -1.0], dtype="float64", requires_grad=True)
    opt = optim.Adafactor([q])
    for gv in ([2.0, 1.0], [1.0, 3.0]):
        q.grad = brickwork.tensor(gv, dtype="float64")
        opt.step()
    w = 2.0 ** -0.8
    np.testing.assert_allclose(_np(opt.state[q]["variance"]),
                               np.array([4.0, 1.0]) * (1 - w) + np.array([1.0, 9.0]) * w,
                               rtol=1e-13)


def test_round_bf16_agrees_with_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(1000).astype(np.float32) * 10.0 ** k
                        for k in range(-30, 30, 6)])
    x = np.concatenate([x, np.float32([0.0, -0.0, np.inf, -np.inf, 1 + 2 ** -8, 1 + 3 * 2 ** -8,
                                       3.4e38])])
    np.testing.assert_array_equal(_round_bf16(x), x.astype(ml_dtypes.bfloat16).astype(np.float32))
    assert np.isnan(_round_bf16(np.float32([np.nan])))[0]


def test_newton_schulz_nearly_orthogonalizes():
    rng = np.random.default_rng(1)
    for shape in [(8, 5), (5, 8)]:
        g = rng.standard_normal(shape)
        out = _zeropower_via_newtonschulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7)
        s = np.linalg.svd(out.astype(np.float64), compute_uv=False)
        # the quintic pushes every singular value into roughly [0.5, 1.5] (Keller Jordan)
        assert out.shape == shape and s.min() > 0.5 and s.max() < 1.5
        u, _, vt = np.linalg.svd(g, full_matrices=False)
        assert np.sum(out * (u @ vt)) > 0.8 * min(shape)  # it points along U V^T


def test_muon_adjusts_lr_for_the_shape():
    g = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    for fn, scale in ((None, 2.0 ** 0.5), ("match_rms_adamw", 0.2 * 2.0)):
        p = brickwork.zeros(4, 2, dtype="float64", requires_grad=True)
        opt = optim.Muon([p], lr=0.1, adjust_lr_fn=fn, nesterov=False)
        p.grad = brickwork.tensor(g)
        opt.step()
        ortho = _zeropower_via_newtonschulz(g, opt.defaults["ns_coefficients"], 5, 1e-7)
        np.testing.assert_array_equal(_np(p), -0.1 * scale * ortho.astype(np.float64))
        assert list(opt.state[p]) == ["momentum_buffer"]
        np.testing.assert_allclose(_np(opt.state[p]["momentum_buffer"]), 0.05 * g)


@pytest.mark.parametrize("name,shapes", [("Adafactor", SHAPES), ("Muon", MUON_SHAPES)])
def test_state_dict_resume_continues_exactly(name, shapes):
    init, grads = _data(8, "float32", shapes=shapes)
    ref, _ = _run(brickwork, name, {}, init, grads)
    params, opt = _run(brickwork, name, {}, init, grads[:3])
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    fresh = [brickwork.tensor(_np(p), requires_grad=True) for p in params]
    opt2 = getattr(optim, name)(fresh, lr=123.0)
    opt2.load_state_dict(saved)
    _run(brickwork, name, {}, init, grads[3:], opt=opt2, params=fresh)
    for a, b in zip(ref, fresh):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_grad_is_left_untouched():
    for name, kw in (("Adafactor", dict(maximize=True, weight_decay=0.1)), ("Muon", {})):
        p = brickwork.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
        opt = getattr(optim, name)([p], **kw)
        for _ in range(3):
            p.grad = brickwork.tensor([[0.5, -0.25], [1.0, 0.0]])
            opt.step()
            np.testing.assert_array_equal(_np(p.grad), [[0.5, -0.25], [1.0, 0.0]])


def test_on_simcuda_matches_cpu(sim_cuda):
    for name, kw, shapes in (("Adafactor", ADAFACTOR[2], SHAPES), ("Muon", MUON[0],
                                                                   MUON_SHAPES)):
        init, grads = _data(5, "float32", shapes=shapes)
        cpu, _ = _run(brickwork, name, kw, init, grads)
        params = [brickwork.tensor(a.copy(), device="cuda:1", requires_grad=True)
                  for a in init]
        opt = getattr(optim, name)(params, **kw)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = brickwork.tensor(g.copy(), device="cuda:1")
            opt.step()
        for a, b in zip(cpu, params):
            assert b.device == brickwork.device("cuda:1")
            np.testing.assert_allclose(_np(b), _np(a), rtol=1e-6, atol=1e-7)
        devices = {k: v.device.type for k, v in opt.state[params[0]].items()}
        assert all(d == "cuda" for k, d in devices.items() if k != "step"), (name, devices)
