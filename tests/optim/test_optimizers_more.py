"""Adadelta, Adamax, NAdam, RAdam, ASGD and Rprop against PyTorch: signatures, 20-step
trajectories (float64 to 1e-10), state and state_dict layout (through real files both ways),
hyper-parameter errors, plus NumPy-only expectations that need no torch."""
from __future__ import annotations

import inspect
import pickle

import numpy as np
import pytest

import brickwork
from tests.optim._trajectory import _compare_state, _np, _run
from tests.optim._trajectory import _data as _random_data
from brickwork import optim
from helpers import check_error, requires_torch, torch

NAMES = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
SHAPES = [(4, 3), (3,), (), (0, 2)]


def _data(steps, dtype="float64", seed=0, shapes=SHAPES):
    return _random_data(steps, dtype, seed, shapes)
CASES = [
    ("Adadelta", {}),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True, weight_decay=0.05)),
    ("Adamax", {}),
    ("Adamax", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adamax", dict(maximize=True)),
    ("NAdam", {}),
    ("NAdam", dict(weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(betas=(0.7, 0.9), maximize=True)),
    ("RAdam", {}),
    ("RAdam", dict(betas=(0.8, 0.5), weight_decay=0.1)),  # rectified from step 3 on
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(betas=(0.8, 0.6), maximize=True)),
    ("ASGD", {}),
    ("ASGD", dict(lr=0.05, t0=5, lambd=0.01, alpha=0.5)),  # averaging starts at step 6
    ("ASGD", dict(t0=3, weight_decay=0.1, maximize=True)),
    ("Rprop", {}),
    ("Rprop", dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05))),
    ("Rprop", dict(maximize=True, step_sizes=(0.005, 0.03))),
]
IDS = [f"{c}-{'-'.join(kw) or 'plain'}" for c, kw in CASES]


# -- against PyTorch ---------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(optim, name).__init__).parameters
    theirs = inspect.signature(getattr(torch.optim, name).__init__).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.values()]


@requires_torch
@pytest.mark.parametrize("cls,kw", CASES, ids=IDS)
def test_float64_trajectory_matches_torch(cls, kw):
    init, grads = _data(20)
    bp, bopt = _run(brickwork, cls, kw, init, grads)
    tp, topt = _run(torch, cls, kw, init, grads)
    for b, t in zip(bp, tp):
        assert b.dtype == brickwork.float64 and tuple(b.shape) == tuple(t.shape)
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-10)
    assert not np.allclose(_np(bp[0]), init[0])  # the test can fail: the parameters moved
    _compare_state(bopt, topt, rtol=0, atol=1e-10)
    assert repr(bopt) == repr(topt)


@requires_torch
@pytest.mark.parametrize("cls,kw", CASES[::2], ids=IDS[::2])
def test_float32_trajectory_matches_torch(cls, kw):
    init, grads = _data(8, "float32", seed=1)
    bp, bopt = _run(brickwork, cls, kw, init, grads)
    tp, topt = _run(torch, cls, kw, init, grads)
    for b, t in zip(bp, tp):
        assert b.dtype == brickwork.float32
        np.testing.assert_allclose(_np(b), _np(t), rtol=1e-5, atol=1e-6)
    _compare_state(bopt, topt, rtol=1e-5, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_quadratic_loss_with_closure_matches_torch(name):
    target = np.linspace(-1.0, 2.0, 6)

    def run(lib):
        w = lib.zeros(6, dtype=lib.float64, requires_grad=True)
        opt = getattr(lib.optim, name)([w], lr=0.05)
        t = lib.tensor(target)

        def closure():
            opt.zero_grad()
            loss = ((w - t) ** 2 * lib.arange(1.0, 7.0, dtype=lib.float64)).sum()
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(20)]
        return _np(w), losses

    (bw, bl), (tw, tl) = run(brickwork), run(torch)
    np.testing.assert_allclose(bw, tw, rtol=0, atol=1e-10)
    np.testing.assert_allclose(bl, tl, rtol=1e-12)
    assert bl[-1] < bl[0]


@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_complex_parameters_match_torch(name):
    rng = np.random.default_rng(3)
    shapes = [(3, 2), ()]
    init = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in shapes]
             for _ in range(10)]
    kw = dict(weight_decay=0.1) if name != "Rprop" else {}
    bp, bopt = _run(brickwork, name, kw, init, grads)
    tp, topt = _run(torch, name, kw, init, grads)
    for b, t in zip(bp, tp):
        assert b.dtype == brickwork.complex128
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-10)
    _compare_state(bopt, topt, rtol=0, atol=1e-10)


@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_foreach_and_capturable_flags_give_torchs_numbers(name):
    init, grads = _data(6)
    # PyTorch refuses capturable=True for CPU tensors; its numbers are those of the default
    for flags, tflags in ((dict(foreach=True), dict(foreach=True)),
                          (dict(foreach=False, capturable=True), dict(foreach=False))):
        tp, _ = _run(torch, name, dict(weight_decay=0.1, **tflags) if name != "Rprop"
                     else tflags, init, grads)
        bp, bopt = _run(brickwork, name, dict(weight_decay=0.1, **flags) if name != "Rprop"
                        else flags, init, grads)
        for b, t in zip(bp, tp):
            np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-10)
        assert all(bopt.param_groups[0][k] == v for k, v in flags.items())


@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr_matches_torch(name):
    init, grads = _data(5)
    for dtype, atol in (("float64", 1e-10), ("float32", 1e-7)):
        # a float32 lr tensor: PyTorch forms some lr factors in float32 arithmetic; ours are
        # formed from the tensor's value in double precision
        bp, _ = _run(brickwork, name, dict(lr=brickwork.tensor(0.02, dtype=dtype)), init,
                     grads)
        tp, _ = _run(torch, name, dict(lr=torch.tensor(0.02, dtype=getattr(torch, dtype))),
                     init, grads)
        for b, t in zip(bp, tp):
            np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=atol)


@requires_torch
@pytest.mark.parametrize("cls,kw", [CASES[1], CASES[7], CASES[12], CASES[15], CASES[18],
                                    CASES[4]], ids=lambda x: str(x))
def test_state_dict_files_round_trip_with_torch(cls, kw, tmp_path):
    """brickwork -> file -> PyTorch continues; PyTorch -> file -> brickwork continues."""
    init, grads = _data(12)
    ref, _ = _run(torch, cls, kw, init, grads)
    bp, bopt = _run(brickwork, cls, kw, init, grads[:4])
    brickwork.save(bopt.state_dict(), tmp_path / "b.pt")
    tparams = [torch.tensor(_np(p), requires_grad=True) for p in bp]
    topt = getattr(torch.optim, cls)(tparams, lr=123.0)
    topt.load_state_dict(torch.load(tmp_path / "b.pt", weights_only=True))
    _run(torch, cls, kw, init, grads[4:8], opt=topt, params=tparams)
    torch.save(topt.state_dict(), tmp_path / "t.pt")
    bparams = [brickwork.tensor(_np(p), requires_grad=True) for p in tparams]
    bopt2 = getattr(optim, cls)(bparams, lr=123.0)
    bopt2.load_state_dict(brickwork.load(tmp_path / "t.pt"))
    assert bopt2.param_groups[0]["lr"] == kw.get("lr", bopt.defaults["lr"])
    _run(brickwork, cls, kw, init, grads[8:], opt=bopt2, params=bparams)
    for b, t in zip(bparams, ref):
        # NAdam's mu_product and ASGD's eta/mu come back in the parameter's dtype after a
        # load (as in PyTorch), hence not bit-identical to the uninterrupted float32 run
        np.testing.assert_allclose(_np(b), _np(t), rtol=0, atol=1e-7)


ERRORS = [
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(eps=-1e-3)),
    ("Adadelta", dict(weight_decay=-0.1)),
    ("Adamax", dict(lr=-0.5)), ("Adamax", dict(betas=(1.0, 0.9))),
    ("Adamax", dict(betas=(0.9, -0.1))), ("Adamax", dict(eps=-1.0)),
    ("Adamax", dict(weight_decay=-1)),
    ("NAdam", dict(lr=-1)), ("NAdam", dict(betas=(0.9, 1.0))), ("NAdam", dict(eps=-2.0)),
    ("NAdam", dict(weight_decay=-1.0)), ("NAdam", dict(momentum_decay=-0.1)),
    ("RAdam", dict(lr=-1e-3)), ("RAdam", dict(betas=(-0.1, 0.9))), ("RAdam", dict(eps=-1.0)),
    ("RAdam", dict(weight_decay=-1e-2)),
    ("ASGD", dict(lr=-1.0)), ("ASGD", dict(weight_decay=-1.0)),
    ("Rprop", dict(lr=-1.0)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("Rprop", dict(etas=(0.0, 1.2))),
]


@pytest.mark.parametrize("cls,kw", ERRORS, ids=[f"{c}-{kw}" for c, kw in ERRORS])
def test_invalid_hyperparameters_match_torch(cls, kw):
    check_error(lambda lib: getattr(lib.optim, cls)([lib.ones(2, requires_grad=True)], **kw))


@pytest.mark.parametrize("name", NAMES)
def test_tensor_lr_must_have_one_element(name):
    check_error(lambda lib: getattr(lib.optim, name)([lib.ones(2, requires_grad=True)],
                                                    lr=lib.tensor([0.1, 0.2])))


@pytest.mark.parametrize("name", NAMES)
def test_differentiable_is_refused_at_step(name):
    # PyTorch fails too (an in-place update of a leaf that requires grad); ours says why
    def fn(lib):
        p = lib.ones(2, requires_grad=True)
        opt = getattr(lib.optim, name)([p], differentiable=True)
        p.grad = lib.ones(2)
        opt.step()

    err = check_error(fn, match_message=False)
    assert "differentiable=True is not supported" in str(err) and name in str(err)


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradients_are_refused(name):
    def fn(lib):
        emb = lib.nn.Embedding(4, 2, sparse=True)
        opt = getattr(lib.optim, name)(emb.parameters())
        emb(lib.tensor([1, 2])).sum().backward()
        opt.step()

    check_error(fn)


# -- NumPy expectations (no torch) -------------------------------------------------------------
def _one(name, kw, p0, grads):
    p = brickwork.tensor(np.array(p0, dtype=np.float64), requires_grad=True)
    opt = getattr(optim, name)([p], **kw)
    out = []
    for g in grads:
        p.grad = brickwork.tensor(np.array(g, dtype=np.float64))
        opt.step()
        out.append(_np(p))
    return out, opt.state[p]


def test_adadelta_first_step_by_hand():
    (p1,), state = _one("Adadelta", dict(lr=1.0, rho=0.9, eps=1e-6), [1.0, -2.0], [[0.5, 2.0]])
    g = np.array([0.5, 2.0])
    v = 0.1 * g * g
    delta = np.sqrt(1e-6) / np.sqrt(v + 1e-6) * g
    np.testing.assert_allclose(p1, np.array([1.0, -2.0]) - delta, rtol=1e-13)
    np.testing.assert_allclose(_np(state["acc_delta"]), 0.1 * delta * delta, rtol=1e-13)
    assert float(state["step"]) == 1.0 and state["step"].dtype == brickwork.float32


def test_adamax_uses_the_infinity_norm():
    (p1, p2), state = _one("Adamax", dict(lr=0.1, betas=(0.5, 0.5), eps=0.0), [0.0, 0.0],
                           [[2.0, -1.0], [0.5, 4.0]])
    np.testing.assert_allclose(p1, [-0.1, 0.1], rtol=1e-13)  # m/(1-b1) / |g| = sign(g)
    m = 0.5 * (0.5 * np.array([2.0, -1.0])) + 0.5 * np.array([0.5, 4.0])
    u = np.maximum(0.5 * np.array([2.0, 1.0]), [0.5, 4.0])
    np.testing.assert_allclose(p2, p1 - 0.1 / 0.75 * m / u, rtol=1e-13)
    np.testing.assert_allclose(_np(state["exp_inf"]), u)


def test_nadam_first_step_by_hand():
    b1, b2, md, lr = 0.9, 0.999, 4e-3, 2e-3
    (p1,), state = _one("NAdam", dict(), [1.0], [[3.0]])
    mu1 = b1 * (1 - 0.5 * 0.96 ** md)
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * md))
    mp = float(np.float32(mu1))  # the product is kept in a float32 tensor
    denom = np.sqrt((1 - b2) * 9.0 / (1 - b2)) + 1e-8
    want = 1.0 - lr * (1 - mu1) / (1 - mp) * 3.0 / denom \
        - lr * mu2 / (1 - mp * mu2) * (1 - b1) * 3.0 / denom
    np.testing.assert_allclose(p1, [want], rtol=1e-13)
    assert state["mu_product"].dtype == brickwork.float32 and state["mu_product"].shape == ()


def test_radam_is_plain_momentum_until_the_variance_is_tractable():
    grads = [[1.0], [1.0], [1.0]]
    (p1, p2, p3), _ = _one("RAdam", dict(lr=0.1), [0.0], grads)
    # rho_t <= 5 for the first steps with beta2=0.999: p -= lr * m / (1 - b1**t) = lr * 1
    np.testing.assert_allclose([p1[0], p2[0], p3[0]], [-0.1, -0.2, -0.3], rtol=1e-13)
    wd, _ = _one("RAdam", dict(lr=0.1, weight_decay=0.5, decoupled_weight_decay=True),
                 [2.0], [[0.0]])
    np.testing.assert_allclose(wd[0], [2.0 * (1 - 0.05)], rtol=1e-13)


def test_asgd_averages_after_t0():
    kw = dict(lr=0.1, lambd=0.0, t0=2)
    ps, state = _one("ASGD", kw, [0.0], [[1.0]] * 5)
    traj = np.array([p[0] for p in ps])
    np.testing.assert_allclose(traj, -0.1 * np.arange(1, 6), rtol=1e-6)  # eta stays lr
    # ax copies p while mu == 1 (steps 1-3), then averages: mu = 1/(t - t0) after step t
    ax = traj[2]
    for t, p in ((4, traj[3]), (5, traj[4])):
        ax += (p - ax) * (1 / max(1, t - 1 - 2))
    np.testing.assert_allclose(_np(state["ax"]), [ax], rtol=1e-6)
    assert [state[k].shape for k in ("step", "eta", "mu")] == [(), (), ()]


def test_rprop_grows_shrinks_and_skips_flipped_steps():
    kw = dict(lr=0.1, etas=(0.5, 2.0), step_sizes=(0.01, 0.3))
    (p1, p2, p3, p4), state = _one("Rprop", kw, [0.0, 0.0],
                                   [[1.0, 1.0], [2.0, -1.0], [1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(p1, [-0.1, -0.1])
    np.testing.assert_allclose(p2, [-0.3, -0.1])  # grows 0.2; flipped: step halves, no move
    np.testing.assert_allclose(p3, [-0.6, -0.05])  # capped at 0.3; after a skip: not grown
    np.testing.assert_allclose(p4, [-0.9, -0.05])  # flip again for the second coordinate
    np.testing.assert_allclose(_np(state["step_size"]), [0.3, 0.025])
    np.testing.assert_allclose(_np(state["prev"]), [1.0, 0.0])


def test_maximize_mirrors_minimize():
    for name in NAMES:
        lo, _ = _one(name, dict(lr=0.05), [0.5, -0.5], [[1.0, -2.0]] * 3)
        hi, _ = _one(name, dict(lr=0.05, maximize=True), [0.5, -0.5], [[-1.0, 2.0]] * 3)
        np.testing.assert_array_equal(lo[-1], hi[-1])


@pytest.mark.parametrize("cls,kw", CASES[::3], ids=IDS[::3])
def test_state_dict_resume_continues_exactly(cls, kw):
    init, grads = _data(8, "float32")
    ref, _ = _run(brickwork, cls, kw, init, grads)
    params, opt = _run(brickwork, cls, kw, init, grads[:3])
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    fresh = [brickwork.tensor(_np(p), requires_grad=True) for p in params]
    opt2 = getattr(optim, cls)(fresh, lr=123.0)
    opt2.load_state_dict(saved)
    _run(brickwork, cls, kw, init, grads[3:], opt=opt2, params=fresh)
    for a, b in zip(ref, fresh):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_grad_is_left_untouched():
    for name in NAMES:
        p = brickwork.tensor([1.0, -1.0], requires_grad=True)
        opt = getattr(optim, name)([p], weight_decay=0.1) if name != "Rprop" else \
            optim.Rprop([p])
        for _ in range(3):
            p.grad = brickwork.tensor([0.5, -0.25])
            opt.step()
            np.testing.assert_array_equal(_np(p.grad), [0.5, -0.25])


def test_on_simcuda_matches_cpu(sim_cuda):
    init, grads = _data(6, "float32")
    for name, kw in CASES[::2]:
        cpu, _ = _run(brickwork, name, kw, init, grads)
        params = [brickwork.tensor(a.copy(), device="cuda:1", requires_grad=True) for a in init]
        opt = getattr(optim, name)(params, **kw)
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = brickwork.tensor(g.copy(), device="cuda:1")
            opt.step()
        for a, b in zip(cpu, params):
            assert b.device == brickwork.device("cuda:1")
            np.testing.assert_allclose(_np(b), _np(a), rtol=1e-6, atol=1e-7)
        devices = {k: v.device.type for k, v in opt.state[params[0]].items()}
        assert all(d == "cuda" for k, d in devices.items() if k not in ("step", "mu_product")
                   or name == "ASGD"), (name, devices)


@pytest.mark.parametrize("name", NAMES)
def test_old_state_dict_without_newer_options_still_steps(name):
    # state dicts from older PyTorch releases lack maximize/foreach/differentiable/capturable
    # and the decoupled_weight_decay switches; stepping must fall back to their defaults
    init, grads = _data(4, "float32")  # float32: NAdam's mu_product keeps its dtype on load
    ref, _ = _run(brickwork, name, {}, init, grads)
    params, opt = _run(brickwork, name, {}, init, grads[:2])
    sd = opt.state_dict()
    for key in ("maximize", "foreach", "differentiable", "capturable",
                "decoupled_weight_decay"):
        sd["param_groups"][0].pop(key, None)
    fresh = [brickwork.tensor(_np(p), requires_grad=True) for p in params]
    opt2 = getattr(optim, name)(fresh)
    opt2.load_state_dict(sd)
    _run(brickwork, name, {}, init, grads[2:], opt=opt2, params=fresh)
    for a, b in zip(ref, fresh):
        np.testing.assert_array_equal(_np(a), _np(b))
