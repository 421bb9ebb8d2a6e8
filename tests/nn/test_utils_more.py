"""torch.nn.utils: parametrize, parametrizations, the hook-based weight_norm/spectral_norm,
functional_call, fusion, skip_init and memory_format, compared with PyTorch (outputs, gradients,
state_dict keys, parameter and class names, state dicts loading both ways), plus NumPy-only
checks that need no torch."""
import copy

import numpy as np
import pytest

import brickwork
import brickwork.nn as nn
from brickwork.nn.utils import parametrizations as PZ
from brickwork.nn.utils import parametrize as P
from brickwork.nn.utils.stateless import func_functional_call
from tests.helpers import assert_close, check_behaviour, requires_torch, torch

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _to_brick_sd(sd):
    return {k: brickwork.tensor(v.detach().numpy().copy()) for k, v in sd.items()}


def _to_torch_sd(sd):
    return {k: torch.tensor(v.detach().numpy().copy()) for k, v in sd.items()}


def _pair(build, apply=None):
    """``build(lib)`` in both libraries, ``apply(lib, module)`` on each, torch's state copied in."""
    torch.manual_seed(0)
    t = build(torch)
    b = build(brickwork)
    if apply is not None:
        t = apply(torch, t) or t
        b = apply(brickwork, b) or b
    b.load_state_dict(_to_brick_sd(t.state_dict()))
    return b, t


def _compare_forward_backward(b, t, shape, seed=0, steps=1):
    """Same outputs and parameter gradients over ``steps`` calls (buffers advance each call)."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    for _ in range(steps):
        bo, to = b(brickwork.tensor(x)), t(torch.tensor(x))
        assert_close(bo, to)
    bo.sum().backward()
    to.sum().backward()
    bp, tp = dict(b.named_parameters()), dict(t.named_parameters())
    assert list(bp) == list(tp)
    for k in tp:
        assert_close(bp[k].grad, tp[k].grad, what=f"grad of {k}")


def _check_raises(fn):
    """``fn(lib)`` raises alike in both libraries (sizes print as ``brickwork.Size``)."""
    with pytest.raises(Exception) as t_exc:
        fn(torch)
    with pytest.raises(Exception) as b_exc:
        fn(brickwork)
    assert type(b_exc.value) is type(t_exc.value) or \
        type(b_exc.value).__name__ == type(t_exc.value).__name__
    assert str(b_exc.value) == str(t_exc.value).replace("torch.", "brickwork.")


def _same_layout(b, t):
    assert type(b).__name__ == type(t).__name__
    assert list(b.state_dict()) == list(t.state_dict())
    assert [n for n, _ in b.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in b.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert repr(b) == repr(t)


def _round_trip(b, t):
    """Both state dicts load into the other library's module, strictly."""
    t.load_state_dict(_to_torch_sd(b.state_dict()))
    b.load_state_dict(_to_brick_sd(t.state_dict()))
    for k, v in t.state_dict().items():
        assert_close(b.state_dict()[k], v, what=k)


def _symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(0, 1)

        def right_inverse(self, A):
            return A.triu()
    return Symmetric()


def _rank_one(lib):
    class RankOne(lib.nn.Module):
        def forward(self, x, y):
            return x.unsqueeze(-1) @ y.unsqueeze(-2)

        def right_inverse(self, Z):
            return Z[:, 0].clone(), Z[0].clone()
    return RankOne()


# -- parametrize -------------------------------------------------------------------------------
@requires_torch
def test_register_parametrization_layout_forward_and_grad():
    b, t = _pair(lambda lib: lib.nn.Linear(4, 4), lambda lib, m: lib.nn.utils.parametrize
                 .register_parametrization(m, "weight", _symmetric(lib)))
    _same_layout(b, t)
    assert type(b).__name__ == "ParametrizedLinear"
    assert list(b.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert P.is_parametrized(b) and P.is_parametrized(b, "weight")
    assert not P.is_parametrized(b, "bias")
    assert P.type_before_parametrizations(b) is nn.Linear
    assert isinstance(b.parametrizations.weight, P.ParametrizationList)
    assert_close(b.weight, t.weight)
    np.testing.assert_allclose(b.weight.detach().numpy(), b.weight.detach().numpy().T)
    _compare_forward_backward(b, t, (3, 4))
    _round_trip(b, t)


@requires_torch
def test_right_inverse_on_assignment_and_remove():
    def run(lib):
        lib.manual_seed(0)
        m = lib.nn.Linear(3, 3)
        orig = m.weight
        lib.nn.utils.parametrize.register_parametrization(m, "weight", _symmetric(lib))
        A = lib.arange(9.0).reshape(3, 3)
        m.weight = A + A.T
        kept = m.parametrizations.weight.original is orig
        w = m.weight.detach().clone()
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
        gone = (type(m).__name__, hasattr(m, "parametrizations"), m.weight is orig)
        return [kept, w, m.weight.detach().clone(), list(m.state_dict()), gone]
    check_behaviour(run)


@requires_torch
def test_remove_leave_parametrized_and_chain():
    def run(lib):
        m = lib.nn.Linear(3, 3)
        with lib.no_grad():
            m.weight.copy_(lib.arange(9.0).reshape(3, 3).cos())
        P_ = lib.nn.utils.parametrize
        P_.register_parametrization(m, "weight", _symmetric(lib))
        P_.register_parametrization(m, "weight", _symmetric(lib))
        keys = list(m.state_dict())
        w = m.weight.detach().clone()
        P_.remove_parametrizations(m, "weight")
        return [keys, w, m.weight.detach(), isinstance(m.weight, lib.nn.Parameter),
                type(m).__name__, P_.is_parametrized(m)]
    check_behaviour(run)


@requires_torch
def test_several_originals_and_unsafe():
    b, t = _pair(lambda lib: lib.nn.Linear(3, 4), lambda lib, m: lib.nn.utils.parametrize
                 .register_parametrization(m, "weight", _rank_one(lib)))
    _same_layout(b, t)
    _compare_forward_backward(b, t, (2, 3))

    def bad(lib):
        class Shrink(lib.nn.Module):
            def forward(self, X):
                return X[:2]
        m = lib.nn.Linear(3, 4)
        return lib.nn.utils.parametrize.register_parametrization(m, "weight", Shrink())
    _check_raises(bad)

    def unsafe(lib):
        class Shrink(lib.nn.Module):
            def forward(self, X):
                return X[:2]
        m = lib.nn.utils.parametrize.register_parametrization(lib.nn.Linear(3, 4), "weight",
                                                              Shrink(), unsafe=True)
        return [m.weight.shape, list(m.state_dict())]
    check_behaviour(unsafe)

    def leave_several(lib):
        m = lib.nn.utils.parametrize.register_parametrization(lib.nn.Linear(3, 4), "weight",
                                                              _rank_one(lib))
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
    check_behaviour(leave_several)

    def missing(lib):
        lib.nn.utils.parametrize.remove_parametrizations(lib.nn.Linear(1, 1), "weight")
    check_behaviour(missing)


def test_cached_computes_once():
    calls = []

    class Count(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 2

    m = P.register_parametrization(nn.Linear(2, 2), "weight", Count())
    calls.clear()
    with P.cached():
        w1, w2 = m.weight, m.weight
    assert w1 is w2 and len(calls) == 1
    m.weight  # noqa: B018 - outside the block every read recomputes
    assert len(calls) == 2
    # a buffer is parametrized into a buffer; deepcopy keeps the class and values
    bn = P.register_parametrization(nn.BatchNorm1d(3), "running_var", Count())
    assert "parametrizations.running_var.original" in bn.state_dict()
    clone = copy.deepcopy(bn)
    assert type(clone).__name__ == "ParametrizedBatchNorm1d"
    np.testing.assert_allclose(clone.running_var.numpy(), bn.running_var.numpy())


# -- parametrizations ----------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_parametrizations_weight_norm(dim):
    b, t = _pair(lambda lib: lib.nn.Conv1d(2, 3, 3),
                 lambda lib, m: lib.nn.utils.parametrizations.weight_norm(m, dim=dim))
    _same_layout(b, t)
    assert list(b.state_dict()) == ["bias", "parametrizations.weight.original0",
                                    "parametrizations.weight.original1"]
    _compare_forward_backward(b, t, (2, 2, 5))
    _round_trip(b, t)


def test_weight_norm_numpy_formula():
    m = PZ.weight_norm(nn.Linear(5, 3))
    g = m.parametrizations.weight.original0.detach().numpy().copy()
    v = m.parametrizations.weight.original1.detach().numpy().copy()
    assert g.shape == (3, 1)
    np.testing.assert_allclose(m.weight.detach().numpy(),
                               g * v / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-6)
    with brickwork.no_grad():
        m.parametrizations.weight.original0.mul_(2.0)
    np.testing.assert_allclose(m.weight.detach().numpy(),
                               2 * g * v / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-6)


def test_weight_norm_gradcheck():
    g = brickwork.tensor(np.random.default_rng(0).random((3, 1)) + 0.5, requires_grad=True)
    v = brickwork.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    wn = PZ._WeightNorm(0)
    assert brickwork.autograd.gradcheck(lambda a, c: wn(a, c), (g, v))


@requires_torch
@pytest.mark.parametrize("build,shape", [
    (lambda lib: lib.nn.Linear(4, 3), (2, 4)),
    (lambda lib: lib.nn.ConvTranspose1d(2, 3, 2), (1, 2, 4)),
])
def test_parametrizations_spectral_norm(build, shape):
    b, t = _pair(build, lambda lib, m: lib.nn.utils.parametrizations.spectral_norm(m))
    _same_layout(b, t)
    # training: each forward advances _u/_v in place, as PyTorch's
    _compare_forward_backward(b, t, shape, steps=3)
    for k, v in t.state_dict().items():
        assert_close(b.state_dict()[k], v, what=k)
    b.eval()
    t.eval()
    _compare_forward_backward(b, t, shape, seed=1)
    _round_trip(b, t)


def test_spectral_norm_numpy_sigma():
    brickwork.manual_seed(0)
    m = PZ.spectral_norm(nn.Linear(6, 5), n_power_iterations=50)
    m.eval()
    w = m.parametrizations.weight.original.detach().numpy()
    np.testing.assert_allclose(m.weight.detach().numpy(), w / np.linalg.norm(w, 2), rtol=1e-4)


@pytest.mark.parametrize("orth_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal(orth_map, shape):
    if orth_map != "householder" and shape[0] != shape[1]:
        pass  # non-square matrix_exp/cayley pad to square: still tested
    brickwork.manual_seed(0)
    m = nn.Linear(shape[1], shape[0])
    PZ.orthogonal(m, orthogonal_map=orth_map)
    w = m.weight.detach().numpy().astype(np.float64)
    small = w if w.shape[0] >= w.shape[1] else w.T
    np.testing.assert_allclose(small.T @ small, np.eye(small.shape[1]), atol=1e-5)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original",
                                    "parametrizations.weight.0.base"]
    m(brickwork.ones(2, shape[1])).sum().backward()
    assert m.parametrizations.weight.original.grad is not None
    # assigning an orthogonal matrix is exact
    q = np.linalg.qr(np.random.default_rng(2).standard_normal((max(shape), min(shape))))[0]
    q = (q if shape[0] >= shape[1] else q.T).astype(np.float32)
    m.weight = brickwork.tensor(q)
    np.testing.assert_allclose(m.weight.detach().numpy(), q, atol=1e-5)


@requires_torch
def test_orthogonal_layout_and_errors():
    def run(lib):
        m = lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(3, 5))
        return [list(m.state_dict()), type(m).__name__, repr(m)]
    check_behaviour(run)
    check_behaviour(lambda lib: lib.nn.utils.parametrizations.orthogonal(
        lib.nn.Linear(3, 5), orthogonal_map="qr"))
    check_behaviour(lambda lib: lib.nn.utils.parametrizations.orthogonal(
        lib.nn.Linear(3, 5), "bias"))


# -- the hook-based weight_norm and spectral_norm ----------------------------------------------
@requires_torch
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm(dim):
    b, t = _pair(lambda lib: lib.nn.Linear(4, 3),
                 lambda lib, m: lib.nn.utils.weight_norm(m, dim=dim))
    _same_layout(b, t)
    assert list(b.state_dict()) == ["bias", "weight_g", "weight_v"]
    _compare_forward_backward(b, t, (2, 4))
    _round_trip(b, t)
    nn.utils.remove_weight_norm(b)
    torch.nn.utils.remove_weight_norm(t)
    _same_layout(b, t)
    assert_close(b.weight, t.weight)
    check_behaviour(lambda lib: lib.nn.utils.remove_weight_norm(lib.nn.Linear(2, 2)))

    def twice(lib):
        m = lib.nn.utils.weight_norm(lib.nn.Linear(2, 2))
        lib.nn.utils.weight_norm(m)
    check_behaviour(twice)


def test_old_weight_norm_warns_and_numpy():
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        m = nn.utils.weight_norm(nn.Linear(3, 2), dim=None)
    assert m.weight_g.shape == ()
    v = m.weight_v.detach().numpy()
    np.testing.assert_allclose(m.weight.detach().numpy(),
                               m.weight_g.item() * v / np.linalg.norm(v), rtol=1e-6)


@requires_torch
def test_old_spectral_norm():
    b, t = _pair(lambda lib: lib.nn.Linear(4, 3), lambda lib, m: lib.nn.utils.spectral_norm(m))
    _same_layout(b, t)
    assert list(b.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    _compare_forward_backward(b, t, (2, 4), steps=3)
    for k, v in t.state_dict().items():
        assert_close(b.state_dict()[k], v, what=k)
    b.eval()
    t.eval()
    _compare_forward_backward(b, t, (2, 4), seed=1)
    _round_trip(b, t)
    nn.utils.remove_spectral_norm(b)
    torch.nn.utils.remove_spectral_norm(t)
    _same_layout(b, t)
    assert_close(b.weight, t.weight)
    check_behaviour(lambda lib: lib.nn.utils.remove_spectral_norm(lib.nn.Linear(2, 2)))
    check_behaviour(lambda lib: lib.nn.utils.spectral_norm(lib.nn.Linear(2, 2),
                                                           n_power_iterations=0))


@requires_torch
def test_old_spectral_norm_conv_transpose_dim():
    b, t = _pair(lambda lib: lib.nn.ConvTranspose2d(2, 3, 2),
                 lambda lib, m: lib.nn.utils.spectral_norm(m))
    assert b.weight_u.shape == (3,) and b.weight_v.shape == (8,)
    _compare_forward_backward(b, t, (1, 2, 3, 3), steps=2)


# -- functional_call ---------------------------------------------------------------------------
@requires_torch
def test_functional_call_matches_torch():
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 2))
        m[0].bias = lib.nn.Parameter(lib.zeros(3))
        m[2].weight = lib.nn.Parameter(lib.ones(2, 3))
        m[2].bias = lib.nn.Parameter(lib.zeros(2))
        w = lib.arange(9.0).reshape(3, 3).requires_grad_()
        x = lib.arange(6.0).reshape(2, 3) / 6
        out = lib.func.functional_call(m, {"0.weight": w}, (x,)) if lib is torch else \
            func_functional_call(m, {"0.weight": w}, (x,))
        out.sum().backward()
        return [out, w.grad, m[0].weight.grad is None, m[1].running_mean]
    check_behaviour(run)


@requires_torch
def test_functional_call_tie_weights_and_strict():
    def build(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False))
        m[1].weight = m[0].weight
        return m

    def fc(lib):
        return torch.func.functional_call if lib is torch else func_functional_call

    def tied(lib):
        x = lib.ones(1, 2)
        return [fc(lib)(build(lib), {"0.weight": lib.full((2, 2), 2.0)}, x),
                fc(lib)(build(lib), {"0.weight": lib.full((2, 2), 2.0)}, x, tie_weights=False)
                .shape]
    check_behaviour(tied)
    check_behaviour(lambda lib: fc(lib)(build(lib), {"0.weight": lib.ones(2, 2),
                                                     "1.weight": lib.zeros(2, 2)}, lib.ones(1, 2)))
    check_behaviour(lambda lib: fc(lib)(build(lib), {"2.weight": lib.ones(2, 2)},
                                        lib.ones(1, 2), strict=True))
    check_behaviour(lambda lib: fc(lib)(build(lib), ({"0.weight": lib.ones(2, 2)},
                                                     {"0.weight": lib.ones(2, 2)}), lib.ones(1, 2)))


def test_functional_call_restores_and_deprecated_name():
    m = nn.Linear(2, 1)
    w0 = m.weight
    with pytest.warns(FutureWarning):
        out = nn.utils.stateless.functional_call(
            m, {"weight": brickwork.ones(1, 2), "bias": brickwork.zeros(1)}, brickwork.ones(3, 2))
    np.testing.assert_allclose(out.numpy(), np.full((3, 1), 2.0))
    assert m.weight is w0 and isinstance(m.weight, nn.Parameter)
    with pytest.raises(ZeroDivisionError):
        func_functional_call(m, {"weight": brickwork.ones(1, 2)}, kwargs={"input": 1 / 0})
    assert m.weight is w0


# -- fusion ------------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("conv,bn,shape,transpose", [
    (lambda lib: lib.nn.Conv2d(2, 3, 3), lambda lib: lib.nn.BatchNorm2d(3), (2, 2, 5, 5), False),
    (lambda lib: lib.nn.ConvTranspose1d(2, 3, 2, bias=False), lambda lib: lib.nn.BatchNorm1d(3),
     (2, 2, 4), True),
])
def test_fuse_conv_bn(conv, bn, shape, transpose):
    def run(lib):
        lib.manual_seed(0)
        c, n = conv(lib).eval(), bn(lib).eval()
        with lib.no_grad():
            n.running_mean.uniform_(-1, 1)
            n.running_var.uniform_(0.5, 2)
            n.weight.uniform_(0.5, 2)
            n.bias.uniform_(-1, 1)
        return c, n
    (bc, bn_), (tc, tn) = run(brickwork), run(torch)
    bc.load_state_dict(_to_brick_sd(tc.state_dict()))
    bn_.load_state_dict(_to_brick_sd(tn.state_dict()))
    bf = nn.utils.fuse_conv_bn_eval(bc, bn_, transpose=transpose)
    tf = torch.nn.utils.fuse_conv_bn_eval(tc, tn, transpose=transpose)
    assert type(bf.weight) is nn.Parameter and bf is not bc
    assert_close(bf.weight, tf.weight)
    assert_close(bf.bias, tf.bias)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with brickwork.no_grad():
        ref = bn_(bc(brickwork.tensor(x)))
    assert_close(bf(brickwork.tensor(x)), torch.tensor(ref.numpy()), atol=1e-5)


@requires_torch
def test_fuse_linear_bn():
    def run(lib):
        lib.manual_seed(0)
        lin, bn = lib.nn.Linear(4, 3).eval(), lib.nn.BatchNorm1d(3).eval()
        with lib.no_grad():
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
        return lin, bn
    (bl, bb), (tl, tb) = run(brickwork), run(torch)
    bl.load_state_dict(_to_brick_sd(tl.state_dict()))
    bb.load_state_dict(_to_brick_sd(tb.state_dict()))
    bf, tf = nn.utils.fuse_linear_bn_eval(bl, bb), torch.nn.utils.fuse_linear_bn_eval(tl, tb)
    assert_close(bf.weight, tf.weight)
    assert_close(bf.bias, tf.bias)
    check_behaviour(lambda lib: lib.nn.utils.fuse_linear_bn_eval(lib.nn.Linear(2, 2),
                                                                 lib.nn.BatchNorm1d(2)))
    check_behaviour(lambda lib: lib.nn.utils.fuse_linear_bn_eval(
        lib.nn.Linear(2, 2).eval(), lib.nn.BatchNorm1d(3).eval()))


def test_fuse_linear_bn_numpy():
    lin, bn = nn.Linear(3, 2).eval(), nn.BatchNorm1d(2).eval()
    with brickwork.no_grad():
        bn.running_mean.fill_(0.5)
        bn.running_var.fill_(4.0)
    fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    x = brickwork.ones(1, 3)
    np.testing.assert_allclose(fused(x).detach().numpy(),
                               (lin(x).detach().numpy() - 0.5) / np.sqrt(4.0 + bn.eps),
                               rtol=1e-5, atol=1e-6)


# -- skip_init, memory_format ------------------------------------------------------------------
@requires_torch
def test_skip_init():
    m = nn.utils.skip_init(nn.Linear, 5, 2, bias=False)
    assert type(m) is nn.Linear and m.weight.shape == (2, 5) and m.bias is None
    check_behaviour(lambda lib: lib.nn.utils.skip_init(int))

    class NoDevice(nn.Module):
        pass

    class TNoDevice(torch.nn.Module):
        pass
    check_behaviour(lambda lib: lib.nn.utils.skip_init(NoDevice if lib is brickwork
                                                       else TNoDevice))


def test_convert_conv_weight_memory_format():
    m = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Sequential(nn.ConvTranspose2d(3, 2, 2)),
                      nn.Conv3d(1, 1, 1))
    w = m[0].weight
    before = w.detach().numpy().copy()
    out = nn.utils.convert_conv2d_weight_memory_format(m, brickwork.channels_last)
    assert out is m and m[0].weight is w
    assert m[0].weight.is_contiguous(memory_format=brickwork.channels_last)
    assert m[1][0].weight.is_contiguous(memory_format=brickwork.channels_last)
    np.testing.assert_array_equal(m[0].weight.detach().numpy(), before)
    nn.utils.convert_conv3d_weight_memory_format(m, brickwork.channels_last_3d)
    assert m[2].weight.is_contiguous(memory_format=brickwork.channels_last_3d)


@requires_torch
def test_signatures_match_torch():
    import inspect

    import torch.nn.utils.prune as tprune

    import brickwork.nn.utils.prune as bprune
    pairs = [(getattr(b, n), getattr(t, n)) for b, t in
             [(P, torch.nn.utils.parametrize), (PZ, torch.nn.utils.parametrizations),
              (bprune, tprune), (nn.utils, torch.nn.utils)] for n in b.__all__]
    pairs += [(func_functional_call, torch.func.functional_call),
              (nn.utils.stateless.functional_call, torch.nn.utils.stateless.functional_call)]
    assert len(pairs) > 40
    for b, t in pairs:
        bs, ts = inspect.signature(b), inspect.signature(t)
        assert [(p.name, p.kind, p.default) for p in bs.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in ts.parameters.values()], b.__name__
    assert set(nn.utils.__all__) <= set(torch.nn.utils.__all__) | {"clip_grad_norm"}
    assert set(P.__all__) == set(torch.nn.utils.parametrize.__all__)
    assert set(PZ.__all__) == set(torch.nn.utils.parametrizations.__all__)
    assert set(bprune.__all__) <= set(dir(tprune))


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
def test_everything_stays_on_device(device):
    import brickwork.nn.utils.prune as prune
    from tests.helpers import brickwork_device

    with brickwork_device(device) as dev:
        for apply in [PZ.weight_norm, PZ.spectral_norm, PZ.orthogonal, nn.utils.weight_norm,
                      nn.utils.spectral_norm,
                      lambda m: prune.l1_unstructured(m, "weight", 0.5),
                      lambda m: prune.random_unstructured(m, "weight", 0.5),
                      lambda m: prune.random_structured(m, "weight", 1, 0),
                      lambda m: prune.ln_structured(m, "weight", 0.5, 2, 0)]:
            m = apply(nn.Linear(4, 3).to(dev))
            y = m(brickwork.ones(2, 4, device=dev))
            y.sum().backward()
            assert y.device == brickwork.device(dev)
            for name, t in list(m.named_parameters()) + list(m.named_buffers()):
                assert t.device == brickwork.device(dev), name
                assert t.grad is None or t.grad.device == brickwork.device(dev), name
        m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).to(dev).eval()
        assert nn.utils.fuse_linear_bn_eval(m[0], m[1]).weight.device == brickwork.device(dev)
        out = func_functional_call(m, {"0.weight": brickwork.ones(2, 2, device=dev)},
                                   brickwork.ones(1, 2, device=dev))
        assert out.device == brickwork.device(dev)


@requires_torch
@pytest.mark.parametrize("orth_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3)])
def test_orthogonal_matches_torch(orth_map, shape):
    w0 = np.random.default_rng(3).standard_normal(shape).astype(np.float32)

    def build(lib):
        m = lib.nn.Linear(shape[1], shape[0])
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w0))
            m.bias.zero_()
        return m
    b, t = build(brickwork), build(torch)
    PZ.orthogonal(b, orthogonal_map=orth_map)
    torch.nn.utils.parametrizations.orthogonal(t, orthogonal_map=orth_map)
    _same_layout(b, t)
    if shape[0] == shape[1]:  # no random completion: the same orthogonal matrix
        assert_close(b.weight, t.weight)
    # a non-trivial original (off-diagonal only: householder reads signs off the diagonal)
    sd = t.state_dict()
    off = np.random.default_rng(4).standard_normal(shape).astype(np.float32) * 0.3
    np.fill_diagonal(off, 0)
    sd["parametrizations.weight.original"] = sd["parametrizations.weight.original"] + \
        torch.tensor(off)
    t.load_state_dict(sd)
    b.load_state_dict(_to_brick_sd(sd))
    _compare_forward_backward(b, t, (2, shape[1]))


@requires_torch
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_householder_without_trivialization(shape):
    w0 = np.random.default_rng(3).standard_normal(shape).astype(np.float32)

    def run(lib):
        m = lib.nn.Linear(shape[1], shape[0])
        with lib.no_grad():
            m.weight.copy_(lib.tensor(w0))
        orth = PZ.orthogonal if lib is brickwork else torch.nn.utils.parametrizations.orthogonal
        orth(m, orthogonal_map="householder", use_trivialization=False)
        return [list(m.state_dict()), m.weight, m.parametrizations.weight.original]
    check_behaviour(run)

    def assign(lib):
        orth = PZ.orthogonal if lib is brickwork else torch.nn.utils.parametrizations.orthogonal
        m = orth(lib.nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
        m.weight = lib.eye(3)
    check_behaviour(assign)


@requires_torch
def test_transfer_parametrizations_and_params():
    def run(lib):
        src = lib.nn.Linear(3, 3)
        with lib.no_grad():
            src.weight.copy_(lib.arange(9.0).reshape(3, 3).sin())
        lib.nn.utils.parametrize.register_parametrization(src, "weight", _symmetric(lib))
        dst = lib.nn.utils.parametrize.transfer_parametrizations_and_params(
            src, lib.nn.Linear(3, 3))
        same = dst.parametrizations.weight.original is src.parametrizations.weight.original
        return [type(dst).__name__, list(dst.state_dict()), dst.weight, same]
    check_behaviour(run)
