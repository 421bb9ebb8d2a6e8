"""Autocast (mixed precision) compared with PyTorch's: state functions, the context manager,
the per-device cast policies, gradients, the weight cache, custom Functions and training.

The CPU policy is compared op by op with PyTorch's CPU autocast; the CUDA policy (PyTorch here
has no GPU) runs on the simulated CUDA backend and is checked against PyTorch's CUDA lists.
"""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import brickwork
from brickwork.amp import _autocast_core
from brickwork.amp._autocast_lists import CPU, CUDA
from helpers import brickwork_device, requires_torch, torch

from _autocast_cases import CASES, Maker, resolve

F = brickwork.nn.functional


@pytest.fixture(autouse=True)
def _clean_state():
    """Each test starts and ends with autocast off and default dtypes (state is per thread)."""
    yield
    for dev in ("cpu", "cuda"):
        brickwork.set_autocast_enabled(dev, False)
    brickwork.set_autocast_dtype("cpu", brickwork.bfloat16)
    brickwork.set_autocast_dtype("cuda", brickwork.float16)
    brickwork.set_autocast_cache_enabled(True)
    _autocast_core.STATE.nesting = 0
    brickwork.clear_autocast_cache()


# -- state functions ---------------------------------------------------------------------------
def test_defaults_and_setters_without_torch():
    assert brickwork.get_autocast_dtype("cpu") is brickwork.bfloat16
    assert brickwork.get_autocast_dtype("cuda") is brickwork.float16
    assert not brickwork.is_autocast_enabled() and not brickwork.is_autocast_enabled("cpu")
    brickwork.set_autocast_enabled("cpu", True)
    assert brickwork.is_autocast_enabled("cpu") and not brickwork.is_autocast_enabled("cuda")
    brickwork.set_autocast_enabled(True)  # the one-argument form is CUDA's
    assert brickwork.is_autocast_enabled() and brickwork.is_autocast_enabled("cuda")
    brickwork.set_autocast_dtype("cpu", brickwork.float16)
    assert brickwork.get_autocast_dtype("cpu") is brickwork.float16
    assert brickwork.autocast_increment_nesting() == 1
    assert brickwork.autocast_decrement_nesting() == 0
    brickwork.set_autocast_cache_enabled(False)
    assert not brickwork.is_autocast_cache_enabled()
    with pytest.raises(TypeError, match="must be bool"):
        brickwork.set_autocast_enabled("cpu", "yes")
    with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
        brickwork.get_autocast_dtype("foo")


@requires_torch
@pytest.mark.parametrize("dev", ["cpu", "cuda", "ipu", "xpu", "xla", "hpu", "mps", "mtia"])
def test_default_dtypes_and_availability_match_torch(dev):
    assert str(brickwork.get_autocast_dtype(dev)).split(".")[1] == \
        str(torch.get_autocast_dtype(dev)).split(".")[1]
    assert brickwork.amp.is_autocast_available(dev) == torch.amp.is_autocast_available(dev)


@requires_torch
@pytest.mark.parametrize("name", [
    "is_autocast_cpu_enabled", "get_autocast_cpu_dtype", "get_autocast_gpu_dtype",
    "get_autocast_ipu_dtype", "is_autocast_ipu_enabled", "get_autocast_xla_dtype",
    "is_autocast_xla_enabled"])
def test_deprecated_per_device_getters(name):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = getattr(brickwork, name)()
        want = getattr(torch, name)()
    assert [x.category for x in w] == [DeprecationWarning, DeprecationWarning]
    assert str(got).split(".")[-1] == str(want).split(".")[-1]
    assert "is deprecated. Please use" in str(w[0].message)


def test_deprecated_per_device_setters():
    with pytest.warns(DeprecationWarning, match=r"set_autocast_cpu_dtype\(dtype\) is deprecated"):
        brickwork.set_autocast_cpu_dtype(brickwork.float16)
    assert brickwork.get_autocast_dtype("cpu") is brickwork.float16
    with pytest.warns(DeprecationWarning):
        brickwork.set_autocast_cpu_enabled(True)
    assert brickwork.is_autocast_enabled("cpu")
    with pytest.warns(DeprecationWarning):
        brickwork.set_autocast_gpu_dtype(brickwork.bfloat16)
    assert brickwork.get_autocast_dtype("cuda") is brickwork.bfloat16
    for dev in ("ipu", "xla"):
        with pytest.warns(DeprecationWarning):
            getattr(brickwork, f"set_autocast_{dev}_enabled")(True)
        assert brickwork.is_autocast_enabled(dev)
        brickwork.set_autocast_enabled(dev, False)


@requires_torch
def test_every_autocast_name_in_torch_namespace_exists():
    names = [n for n in dir(torch) if "autocast" in n]
    assert [n for n in names if not hasattr(brickwork, n)] == []
    assert all(hasattr(brickwork.amp, n) for n in ("autocast", "custom_fwd", "custom_bwd",
                                                    "is_autocast_available", "GradScaler"))


def test_state_is_thread_local():
    seen = {}

    def other():
        seen["enabled"] = brickwork.is_autocast_enabled("cpu")
        seen["dtype"] = brickwork.get_autocast_dtype("cpu")
        seen["mm"] = brickwork.mm(brickwork.ones(2, 2), brickwork.ones(2, 2)).dtype

    with brickwork.autocast("cpu", dtype=brickwork.float16):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert brickwork.mm(brickwork.ones(2, 2), brickwork.ones(2, 2)).dtype \
            is brickwork.float16
    assert seen == {"enabled": False, "dtype": brickwork.bfloat16, "mm": brickwork.float32}


# -- the context manager -----------------------------------------------------------------------
def test_context_manager_nesting_and_decorator():
    a = brickwork.ones(2, 2)
    with brickwork.autocast("cpu"):
        assert brickwork.mm(a, a).dtype is brickwork.bfloat16
        with brickwork.autocast("cpu", dtype=brickwork.float16):
            assert brickwork.mm(a, a).dtype is brickwork.float16
            with brickwork.autocast("cpu", enabled=False):
                assert brickwork.mm(a, a).dtype is brickwork.float32
                assert brickwork.get_autocast_dtype("cpu") is brickwork.float16
            assert brickwork.is_autocast_enabled("cpu")
        assert brickwork.get_autocast_dtype("cpu") is brickwork.bfloat16
    assert not brickwork.is_autocast_enabled("cpu")
    assert brickwork.mm(a, a).dtype is brickwork.float32

    @brickwork.autocast("cpu")
    def run(x):
        return x @ x

    assert run(a).dtype is brickwork.bfloat16 and not brickwork.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match="requires a callable"):
        brickwork.autocast("cpu")(3)
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        brickwork.autocast(1)


@requires_torch
@pytest.mark.parametrize("kwargs", [{"dtype": "float32"}, {"dtype": "float64"}])
def test_unsupported_dtype_warns_and_disables_like_torch(kwargs):
    def run(lib):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with lib.autocast("cpu", dtype=getattr(lib, kwargs["dtype"])):
                on = lib.is_autocast_enabled("cpu")
        return on, [(x.category, str(x.message).splitlines()[0]) for x in w]

    assert run(brickwork) == run(torch)


@requires_torch
def test_cuda_without_gpu_warns_and_disables_like_torch():
    if brickwork.cuda.is_available():
        pytest.skip("a GPU is present")

    def run(lib, make):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            with make(lib):
                on = lib.is_autocast_enabled("cuda")
        return on, [(x.category, str(x.message).replace("torch", "brickwork")) for x in w]

    assert run(brickwork, lambda lib: lib.autocast("cuda")) == \
        run(torch, lambda lib: lib.autocast("cuda"))
    assert run(brickwork, lambda lib: lib.cuda.amp.autocast()) == \
        run(torch, lambda lib: lib.cuda.amp.autocast())


def test_deprecated_cuda_amp_spellings_warn():
    with pytest.warns(FutureWarning, match=r"brickwork.cuda.amp.autocast\(args...\)` is "
                                           r"deprecated"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no GPU here: also disabled
            brickwork.cuda.amp.autocast()
    with pytest.warns(FutureWarning):
        brickwork.cuda.amp.custom_fwd(lambda ctx, x: x)
    with pytest.warns(FutureWarning):
        brickwork.cuda.amp.custom_bwd(lambda ctx, g: g)
    from brickwork.amp.cpu_compat import autocast as cpu_autocast

    with pytest.warns(FutureWarning, match=r"cpu.amp.autocast\(args...\)` is deprecated"):
        ctx = cpu_autocast()
    with ctx:
        assert brickwork.is_autocast_enabled("cpu")
        assert brickwork.get_autocast_dtype("cpu") is brickwork.bfloat16


def test_unknown_device_type():
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        brickwork.autocast("foo")
    assert not brickwork.amp.is_autocast_available("meta")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'meta'"):
        brickwork.autocast("meta", dtype=brickwork.float16)


# -- casting rules (no torch needed) -----------------------------------------------------------
def test_only_eligible_tensors_are_cast():
    a64 = brickwork.ones(2, 2, dtype=brickwork.float64)
    i = brickwork.ones(2, 2, dtype=brickwork.int64)
    a = brickwork.ones(2, 2)
    with brickwork.autocast("cpu"):
        assert brickwork.mm(a64, a64).dtype is brickwork.float64  # float64 is left alone
        assert brickwork.mm(i, i).dtype is brickwork.int64        # integers too
        assert (a + a).dtype is brickwork.float32                  # no list: no cast
        assert brickwork.mm(a, a, out=brickwork.empty(2, 2)).dtype is brickwork.float32
        # promote: the widest of the floating arguments
        assert brickwork.cat([a.bfloat16(), a]).dtype is brickwork.float32
        assert brickwork.cat([a.bfloat16(), a.bfloat16()]).dtype is brickwork.bfloat16
        with pytest.raises(RuntimeError, match="Unexpected floating ScalarType"):
            brickwork.cat([a.half(), a.half()])
        # fp32 policy casts lower-precision arguments up
        assert brickwork.linalg.inv(a.bfloat16() + brickwork.eye(2)).dtype is brickwork.float32
    with brickwork.autocast("cpu", dtype=brickwork.float16):
        assert brickwork.cat([a.half(), a.half()]).dtype is brickwork.float16


def test_casts_are_differentiable_and_weights_get_float32_grads():
    lin = brickwork.nn.Linear(3, 2)
    x = brickwork.randn(4, 3, requires_grad=True)
    with brickwork.autocast("cpu"):
        y = lin(x)
        loss = F.mse_loss(y, brickwork.zeros(4, 2))
    assert y.dtype is brickwork.bfloat16 and loss.dtype is brickwork.float32
    loss.backward()
    assert lin.weight.grad.dtype is brickwork.float32 and x.grad.dtype is brickwork.float32
    assert lin.bias.grad.dtype is brickwork.float32
    # The same computation by hand, with explicit casts, gives the same gradients.
    w = lin.weight.detach().requires_grad_()
    yh = F.linear(x.detach().bfloat16(), w.bfloat16(), lin.bias.detach().bfloat16())
    F.mse_loss(yh.float(), brickwork.zeros(4, 2)).backward()
    np.testing.assert_allclose(w.grad.numpy(), lin.weight.grad.numpy(), rtol=1e-6)


def test_weight_cast_cache():
    w = brickwork.randn(3, 3, requires_grad=True)
    x = brickwork.randn(3, 3)
    with brickwork.autocast("cpu"):
        y = brickwork.mm(x, w) + brickwork.mm(x, w)
        # one cached cast per float32 leaf weight, shared by both products
        assert len(_autocast_core._CACHE) == 1
        with brickwork.autocast("cpu", enabled=False):
            pass
        assert len(_autocast_core._CACHE) == 1  # an inner region's exit keeps it
    assert len(_autocast_core._CACHE) == 0      # the outermost exit drops it
    y.float().sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.bfloat16().float().sum(0).numpy()[:, None]
                               * np.ones((1, 3)), rtol=1e-2)
    with brickwork.autocast("cpu", cache_enabled=False):
        brickwork.mm(x, w)
        assert len(_autocast_core._CACHE) == 0
    with brickwork.autocast("cpu"):
        brickwork.mm(x, w.detach())   # not requiring grad: not cached
        brickwork.mm(x, w[:2].T)      # a view: not cached
        assert len(_autocast_core._CACHE) == 0


# -- custom autograd Functions -----------------------------------------------------------------
class _Scale(brickwork.autograd.Function):
    @staticmethod
    @brickwork.amp.custom_fwd(device_type="cpu", cast_inputs=brickwork.float32)
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        ctx.inner_enabled = brickwork.is_autocast_enabled("cpu")
        return brickwork.mm(x, w)

    @staticmethod
    @brickwork.amp.custom_bwd(device_type="cpu")
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        ctx.bwd_enabled = brickwork.is_autocast_enabled("cpu")
        return g.mm(w.t()), x.t().mm(g)


def test_custom_fwd_casts_inputs_and_disables_autocast():
    x = brickwork.randn(2, 3, dtype=brickwork.bfloat16, requires_grad=True)
    w = brickwork.randn(3, 2, requires_grad=True)
    with brickwork.autocast("cpu"):
        y = _Scale.apply(x, w)
    assert y.dtype is brickwork.float32           # inputs cast to float32, mm not autocast
    assert y.grad_fn is not None
    y.sum().backward()
    assert w.grad.dtype is brickwork.float32 and x.grad.dtype is brickwork.bfloat16

    class _Plain(brickwork.autograd.Function):
        @staticmethod
        @brickwork.amp.custom_fwd(device_type="cpu")
        def forward(ctx, a):
            return brickwork.mm(a, a)

        @staticmethod
        @brickwork.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            return g

    with brickwork.autocast("cpu"):
        assert _Plain.apply(brickwork.ones(2, 2)).dtype is brickwork.bfloat16
    with pytest.raises(ValueError, match="device_type"):
        brickwork.amp.custom_fwd(device_type=None)


# -- the CPU policy, op by op, against PyTorch -------------------------------------------------
def _cpu_locations():
    return sorted(CPU)


# brickwork gaps outside autocast, found by these comparisons (see the report in the docs).
# (location, autocast dtype or None for both, input kind or None for both) -> reason
KNOWN_GAPS = {
    ("linalg.eig", None, None): "brickwork's linalg.eig has no complex results yet",
    ("linalg.eigvals", None, None): "brickwork's linalg.eigvals has no complex results yet",
    **{(loc, None, "lower"): "brickwork's matrix_exp refuses float16/bfloat16 (PyTorch's CPU "
       "kernel takes them)"
       for loc in ("torch.matrix_exp", "Tensor.matrix_exp", "linalg.matrix_exp")},
}


def _gap(location, dt, input_dt):
    for key in ((location, None, None), (location, dt, None), (location, None, input_dt),
                (location, dt, input_dt)):
        if key in KNOWN_GAPS:
            return KNOWN_GAPS[key]
    return None


def _outcome(lib, location, build, dt, input_dt):
    c = Maker(lib, input_dt)
    args, kwargs = build(c)
    try:
        with lib.autocast("cpu", dtype=getattr(lib, dt)):
            out = resolve(lib, location)(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the outcome compared is the error's type
        return "error", type(e).__name__, str(e)[:120]
    out = out[0] if isinstance(out, (tuple, list)) else out
    return str(out.dtype).split(".")[1], tuple(out.shape)


@requires_torch
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")  # deprecated ops
@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
@pytest.mark.parametrize("input_dt", ["float32", "lower"])
@pytest.mark.parametrize("location", _cpu_locations())
def test_cpu_policy_matches_torch(location, dt, input_dt):
    if resolve(brickwork, location) is None:
        pytest.skip(f"brickwork has no {location} yet")
    gap = _gap(location, dt, input_dt)
    if gap:
        pytest.skip(gap)
    for build in _cases(location):
        ind = dt if input_dt == "lower" else "float32"
        want = _outcome(torch, location, build, dt, ind)
        got = _outcome(brickwork, location, build, dt, ind)
        if want[0] == "error":  # PyTorch refuses: brickwork must refuse too
            assert got[0] == "error", f"{location}: torch raised {want[1:]}, brickwork {got}"
        else:
            assert got == want, f"{location} with {ind} inputs"


def _cases(location):
    """The argument builders for ``location``: its own entry, else its name's."""
    builds = CASES.get(location) or CASES.get(location.split(".", 1)[1])
    assert builds, f"no test case for {location}"
    return builds


def test_every_listed_op_has_a_case():
    missing = [loc for loc in set(CPU) | set(CUDA)
               if loc not in CASES and loc.split(".", 1)[1] not in CASES]
    assert missing == []


# -- the CUDA policy on the simulated backend --------------------------------------------------
_EXPECT = {"lower": "float16", "fp32": "float32", "fp32_opt": "float32",
           "fp32_append": "float32", "promote": "float16", "keep_input": "float16",
           "opaque": "float32"}
# float32 inputs show a cast down, float16 inputs a cast up.
_INPUT = {"lower": "float32", "opaque": "float32"}


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")  # deprecated ops
@pytest.mark.parametrize("location", sorted(CUDA))
def test_cuda_policy_on_simulated_gpu(location):
    fn = resolve(brickwork, location)
    if fn is None:
        pytest.skip(f"brickwork has no {location} yet")
    policy = CUDA[location]
    builds = _cases(location)
    with brickwork_device("simcuda") as dev:
        c = Maker(brickwork, _INPUT.get(policy, "float16"), dev)
        args, kwargs = builds[0](c)
        want = _EXPECT.get(policy)
        if policy == "promote" and any(isinstance(a, brickwork.Tensor) and a.dtype is
                                       brickwork.float32 for a in args):
            want = "float32"
        with brickwork.autocast("cuda"):
            fn = resolve(brickwork, location)
            if policy == "banned":
                with pytest.raises(RuntimeError, match="unsafe to autocast"):
                    fn(*args, **kwargs)
                return
            out = fn(*args, **kwargs)
    out = out[0] if isinstance(out, (tuple, list)) else out
    assert str(out.dtype).split(".")[1] == want, location


def test_cuda_policy_details_on_simulated_gpu():
    with brickwork_device("simcuda") as dev:
        x = brickwork.ones(3, 3, device=dev)
        with brickwork.autocast("cuda"):
            h = x.half()
            assert F.softmax(h, 0, dtype=brickwork.float16).dtype is brickwork.float16
            assert brickwork.addcmul(h, h, x).dtype is brickwork.float32  # promote
            assert brickwork.exp(x.double()).dtype is brickwork.float64
            assert brickwork.mm(brickwork.ones(2, 2), brickwork.ones(2, 2)).dtype \
                is brickwork.float32  # CPU tensors: CUDA autocast does not touch them
            assert brickwork.ones(3, dtype=brickwork.int64, device=dev).sum().dtype \
                is brickwork.int64
            assert F.relu(h).dtype is brickwork.float16 and (h + x).dtype is brickwork.float32
        with brickwork.autocast("cpu"):  # CPU autocast leaves CUDA tensors alone
            assert brickwork.mm(x, x).dtype is brickwork.float32


# -- a model and a training loop -----------------------------------------------------------------
def _model(lib, seed=0):
    rng = np.random.default_rng(seed)
    net = lib.nn.Sequential(lib.nn.Linear(6, 8), lib.nn.ReLU(), lib.nn.LayerNorm(8),
                            lib.nn.Linear(8, 4))
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.uniform(-0.5, 0.5, size=tuple(p.shape)).astype(np.float32)))
    return net


@requires_torch
@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
def test_small_model_matches_torch(dt):
    rng = np.random.default_rng(1)
    xs = rng.standard_normal((5, 6)).astype(np.float32)
    target = np.array([0, 3, 1, 2, 0])
    results = {}
    for lib in (brickwork, torch):
        net = _model(lib)
        x = lib.tensor(xs)
        with lib.autocast("cpu", dtype=getattr(lib, dt)):
            logits = net(x)
            probs = lib.softmax(logits, -1)
            loss = lib.nn.functional.cross_entropy(logits, lib.tensor(target))
        loss.backward()
        results[lib] = (logits, probs, loss, [p.grad for p in net.parameters()])
    (bl, bp, bloss, bg), (tl, tp, tloss, tg) = results[brickwork], results[torch]
    for b, t in [(bl, tl), (bp, tp), (bloss, tloss)] + list(zip(bg, tg)):
        assert str(b.dtype).split(".")[1] == str(t.dtype).split(".")[1]
        np.testing.assert_allclose(b.detach().float().numpy(), t.detach().float().numpy(),
                                   atol=3e-2, rtol=3e-2)


def test_float16_autocast_with_grad_scaler_tracks_float32_training():
    rng = np.random.default_rng(2)
    xs = brickwork.tensor(rng.standard_normal((32, 6)).astype(np.float32))
    ys = brickwork.tensor(rng.integers(0, 4, size=32))

    def train(mixed):
        net = _model(brickwork, seed=3)
        opt = brickwork.optim.SGD(net.parameters(), lr=0.5)
        scaler = brickwork.amp.GradScaler("cpu", enabled=mixed)
        losses = []
        for _ in range(20):
            opt.zero_grad()
            with brickwork.autocast("cpu", dtype=brickwork.float16, enabled=mixed):
                loss = F.cross_entropy(net(xs), ys)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            losses.append(float(loss))
        return np.array(losses), net

    full, net32 = train(False)
    mixed, net16 = train(True)
    assert mixed[-1] < mixed[0] * 0.8  # it learns
    np.testing.assert_allclose(mixed, full, rtol=2e-2, atol=2e-2)
    for p, q in zip(net16.parameters(), net32.parameters()):
        assert p.dtype is brickwork.float32
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=2e-2)


# -- the interception hook ---------------------------------------------------------------------
def test_hook_is_installed_on_first_enable_only():
    import subprocess
    import sys

    code = ("import brickwork as b\n"
            "assert not hasattr(b.mm, '_autocast_policies')\n"
            "assert not hasattr(b.nn.functional.linear, '_autocast_policies')\n"
            "with b.autocast('cpu'):\n"
            "    pass\n"
            "assert b.mm._autocast_policies == {'cpu': 'lower', 'cuda': 'lower'}\n"
            "assert b.Tensor.sum._autocast_policies == {'cuda': 'fp32_opt'}\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hook_keeps_signatures_names_and_behaviour():
    import inspect

    with brickwork.autocast("cpu"):
        pass
    for fn in (brickwork.mm, brickwork.Tensor.sum, F.linear, F.pad, brickwork.cat):
        assert hasattr(fn, "_autocast_policies")
        assert inspect.signature(fn) == inspect.signature(fn.__wrapped__)
        assert fn.__name__ == fn.__wrapped__.__name__ and fn.__doc__ == fn.__wrapped__.__doc__
    x = brickwork.arange(6.0).reshape(2, 3)
    assert x.sum(dim=1, keepdim=True).tolist() == [[3.0], [12.0]]
    assert F.pad(x, (1, 0), value=-1.0).tolist() == [[-1.0, 0, 1, 2], [-1.0, 3, 4, 5]]
    r = brickwork.empty(0)
    with brickwork.autocast("cpu"):
        assert brickwork.mm(x, x.T, out=r) is r and r.dtype is brickwork.float32


def test_one_function_under_two_names_stays_one_after_wrapping():
    with brickwork.autocast("cpu"):
        pass
    F = brickwork.nn.functional
    for name in ("conv1d", "conv2d", "conv_transpose2d", "bilinear"):
        assert getattr(brickwork, name) is getattr(F, name), name
