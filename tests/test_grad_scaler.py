"""GradScaler (dynamic loss scaling) against PyTorch's CPU GradScaler on the same gradients:
the sequence of scales, growth trackers and skipped steps, the unscaled gradients, the
state_dicts, the errors; a float16 training run against float32; and the disabled and
no-GPU pass-through."""
import pickle
import warnings

import numpy as np
import pytest

import brickwork
from helpers import torch

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the reference) not installed")

INF, NAN = float("inf"), float("nan")

# Each iteration gives the gradients of the loss sum(p * c) for two parameters; inf/NaN
# coefficients make the scaled gradients non-finite, which must skip the step.
COEFS = [
    ([1.0, 2.0, 3.0], [0.5]),
    ([1.0, INF, 3.0], [0.5]),
    ([1.0, 2.0, 3.0], [0.25]),
    ([-1.0, 2.0, 0.5], [0.5]),
    ([1e-3, 2.0, 3.0], [NAN]),
    ([1.0, 2.0, 3.0], [1.5]),
    ([1.0, 2.0, 3.0], [1.5]),
    ([3e4, 1.0, 1.0], [1.0]),   # with a large scale this overflows float32 via the scale
    ([1.0, 2.0, 3.0], [1.5]),
]


def _run(lib, coefs, *, dtype="float32", unscale_first=False, device="cpu", **scaler_kw):
    """Train two parameters with SGD under a GradScaler; record what each step did."""
    dt = getattr(lib, dtype)
    scaler = lib.amp.GradScaler(device.partition(":")[0], **scaler_kw)
    a = lib.nn.Parameter(lib.ones(3, dtype=dt, device=device))
    b = lib.nn.Parameter(lib.full((1,), 2.0, dtype=dt, device=device))
    unused = lib.nn.Parameter(lib.zeros(2, dtype=dt, device=device))  # never gets a gradient
    opt = lib.optim.SGD([{"params": [a, unused]}, {"params": [b], "lr": 0.05}], lr=0.1)
    record = []
    for ca, cb in coefs:
        opt.zero_grad()
        loss = ((a * lib.tensor(ca, dtype=dt, device=device)).sum()
                + (b * lib.tensor(cb, dtype=dt, device=device)).sum())
        scaled = scaler.scale(loss)
        scaled.backward()
        if unscale_first:
            scaler.unscale_(opt)
        ret = scaler.step(opt)
        grads = [a.grad.detach().cpu().numpy().copy(), b.grad.detach().cpu().numpy().copy()]
        scaler.update()
        record.append((float(scaled.detach()), ret, scaler.get_scale(),
                       scaler._get_growth_tracker(), grads,
                       [a.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy()]))
    return record, scaler


def _same_records(rb, rt):
    assert len(rb) == len(rt)
    for i, (b, t) in enumerate(zip(rb, rt)):
        np.testing.assert_allclose(b[0], t[0], rtol=1e-6, err_msg=f"scaled loss, step {i}")
        assert b[1] == t[1] and b[2] == t[2] and b[3] == t[3], f"step {i}: {b[1:4]} != {t[1:4]}"
        for gb, gt in zip(b[4] + b[5], t[4] + t[5]):
            assert gb.dtype == gt.dtype
            np.testing.assert_allclose(gb, gt, rtol=1e-6, atol=1e-7, err_msg=f"step {i}")


@requires_torch
@pytest.mark.filterwarnings("ignore:overflow encountered")  # NumPy's, at a 2**120 scale
@pytest.mark.parametrize("kw", [
    dict(init_scale=4.0, growth_interval=2),
    dict(init_scale=2.0**16, growth_interval=3, growth_factor=4.0, backoff_factor=0.25),
    dict(init_scale=2.0**120, growth_interval=1),
    dict(init_scale=3.0, growth_interval=1, growth_factor=1.5, backoff_factor=0.3),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("unscale_first", [False, True])
def test_sequences_match_torch(kw, dtype, unscale_first):
    rb, sb = _run(brickwork, COEFS, dtype=dtype, unscale_first=unscale_first, **kw)
    rt, st = _run(torch, COEFS, dtype=dtype, unscale_first=unscale_first, **kw)
    _same_records(rb, rt)
    assert sb.state_dict() == st.state_dict()
    assert sb._scale.dtype == brickwork.float32
    assert sb._growth_tracker.dtype == brickwork.int32


@requires_torch
def test_growth_past_float32_is_refused():
    """At 2**127 a clean step would grow the scale to inf: it stays, and the tracker resets."""
    small = [([0.25, 0.125, 0.5], [0.5])] * 3
    rb, sb = _run(brickwork, small, init_scale=2.0**127, growth_interval=1)
    rt, st = _run(torch, small, init_scale=2.0**127, growth_interval=1)
    _same_records(rb, rt)
    assert [r[2] for r in rb] == [2.0**127] * 3 and [r[1] for r in rb] == [None] * 3
    assert sb.state_dict() == st.state_dict()


@pytest.mark.parametrize("device", ["simcuda", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_sequences_on_gpu_match_cpu(device, request):
    """The same sequence with the tensors (and so the scale) on a GPU."""
    if device == "cuda" and not brickwork.cuda.is_available():
        pytest.skip("no GPU")
    dev = "cuda:0"
    if device == "simcuda":
        request.getfixturevalue("sim_cuda")
        dev = "cuda:1"  # not the current GPU: the scaler must follow its tensors
    kw = dict(init_scale=2.0**16, growth_interval=2)
    rg, sg = _run(brickwork, COEFS, device=dev, unscale_first=True, **kw)
    assert sg._scale.device == brickwork.device(dev)
    rc, sc = _run(brickwork, COEFS, unscale_first=True, **kw)
    _same_records(rg, rc)
    assert sg.state_dict() == sc.state_dict()


def test_sequence_expected_without_torch():
    """Scales by hand: growth after 2 clean steps, halving on inf/NaN."""
    coefs = [([1.0, 2.0, 3.0], [1.0])] * 2 + [([INF, 1.0, 1.0], [1.0])] + \
        [([1.0, 2.0, 3.0], [1.0])] * 3 + [([1.0, 2.0, 3.0], [NAN])]
    rec, scaler = _run(brickwork, coefs, init_scale=8.0, growth_interval=2)
    assert [r[2] for r in rec] == [8.0, 16.0, 8.0, 8.0, 16.0, 16.0, 8.0]
    assert [r[3] for r in rec] == [1, 0, 0, 1, 0, 1, 0]
    # unscaled gradients are the true ones; skipped steps leave the parameters alone
    np.testing.assert_array_equal(rec[0][4][0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(rec[1][5][0], 1 - 0.2 * np.array([1.0, 2.0, 3.0]), rtol=1e-6)
    np.testing.assert_array_equal(rec[2][5][0], rec[1][5][0])
    np.testing.assert_array_equal(rec[6][5][0], rec[5][5][0])
    assert scaler.state_dict() == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                                   "growth_interval": 2, "_growth_tracker": 0}


@requires_torch
def test_two_optimizers_share_the_inf_check():
    """An inf seen by one optimizer backs the scale off for both; only its step is skipped."""
    def run(lib):
        scaler = lib.amp.GradScaler("cpu", init_scale=16.0, growth_interval=1)
        p, q = lib.nn.Parameter(lib.ones(2)), lib.nn.Parameter(lib.ones(2))
        o1, o2 = lib.optim.SGD([p], lr=0.1), lib.optim.Adam([q], lr=0.1)
        out = []
        for cp, cq in [([1.0, 2.0], [1.0, 1.0]), ([1.0, 2.0], [INF, 1.0]),
                       ([1.0, 2.0], [1.0, 2.0])]:
            o1.zero_grad(), o2.zero_grad()
            loss = (p * lib.tensor(cp)).sum() + (q * lib.tensor(cq)).sum()
            scaler.scale(loss).backward()
            scaler.step(o1)
            scaler.step(o2)
            scaler.update()
            out.append((scaler.get_scale(), p.detach().numpy().copy(), q.detach().numpy().copy()))
        return out

    for (sb, pb, qb), (st, pt, qt) in zip(run(brickwork), run(torch)):
        assert sb == st
        np.testing.assert_allclose(pb, pt, rtol=1e-6)
        np.testing.assert_allclose(qb, qt, rtol=1e-6)


@requires_torch
def test_scale_nested_outputs():
    for lib in (brickwork, torch):
        scaler = lib.amp.GradScaler("cpu", init_scale=3.0)
        x, y = lib.tensor([1.0, 2.0]), lib.tensor(4.0)
        out = scaler.scale([x, (y, [x])])
        assert isinstance(out, list) and isinstance(out[1], tuple) and isinstance(out[1][1], list)
        np.testing.assert_array_equal(out[0].numpy(), [3.0, 6.0])
        assert float(out[1][0]) == 12.0
        gen = scaler.scale(t for t in [x, y])  # other iterables come back as an iterator
        assert [v.tolist() for v in gen] == [[3.0, 6.0], 12.0]
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
            scaler.scale([x, 3.0])


@requires_torch
def test_state_dict_interchanges_with_torch():
    rt, st = _run(torch, COEFS[:4], init_scale=8.0, growth_interval=3)
    sd = st.state_dict()
    fresh = brickwork.amp.GradScaler("cpu")
    fresh.load_state_dict(sd)
    assert fresh.state_dict() == sd
    # continuing from the loaded state gives torch's next scales
    used = brickwork.amp.GradScaler("cpu", init_scale=5.0)
    used.scale(brickwork.tensor(1.0))  # its tensors exist already: load_state_dict fills them
    used.load_state_dict(sd)
    for s in (fresh, used):
        for _ in range(3):
            p = brickwork.nn.Parameter(brickwork.ones(1))
            opt = brickwork.optim.SGD([p], lr=0.1)
            s.scale(p.sum()).backward()
            s.step(opt)
            s.update()
            st.scale(torch.ones(1, requires_grad=True).sum())
    back = torch.amp.GradScaler("cpu")
    back.load_state_dict(fresh.state_dict())
    assert back.state_dict() == fresh.state_dict() == used.state_dict()
    assert fresh.state_dict()["_growth_tracker"] == (sd["_growth_tracker"] + 3) % 3


@requires_torch
def test_update_with_new_scale():
    def run(lib):
        s = lib.amp.GradScaler("cpu")
        s.scale(lib.tensor(1.0))
        s.update(7.5)
        a = s.get_scale()
        s.update(lib.tensor(0.25))
        return a, s.get_scale(), s._get_growth_tracker()

    assert run(brickwork) == run(torch) == (7.5, 0.25, 0)
    for bad in (lambda lib: lib.tensor([1.0, 2.0]),
                lambda lib: lib.tensor(1.0, requires_grad=True)):
        msgs = []
        for lib in (brickwork, torch):
            s = lib.amp.GradScaler("cpu")
            s.scale(lib.tensor(1.0))
            with pytest.raises(AssertionError) as e:
                s.update(bad(lib))
            msgs.append(str(e.value).replace("torch", "brickwork"))
        assert msgs[0] == msgs[1]


def _raise(lib, script):
    """Run ``script(lib, scaler, opt, p)`` on a fresh CPU scaler; return (type, message)."""
    s = lib.amp.GradScaler("cpu")
    p = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([p], lr=0.1)
    try:
        script(lib, s, opt, p)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc).__name__, str(exc)
    return None


def _backward(lib, s, p):
    s.scale((p * 2).sum()).backward()


def _fp16_unscale(lib, s):
    h = lib.nn.Parameter(lib.ones(2, dtype=lib.float16))
    s.scale(h.sum()).backward()
    s.unscale_(lib.optim.SGD([h], lr=0.1))


ERROR_SCRIPTS = {
    "unscale_ twice": lambda lib, s, o, p: (_backward(lib, s, p), s.unscale_(o), s.unscale_(o)),
    "unscale_ after step": lambda lib, s, o, p: (_backward(lib, s, p), s.step(o), s.unscale_(o)),
    "step twice": lambda lib, s, o, p: (_backward(lib, s, p), s.step(o), s.step(o)),
    "step before scale": lambda lib, s, o, p: s.step(o),
    "unscale_ before scale": lambda lib, s, o, p: s.unscale_(o),
    "update before scale": lambda lib, s, o, p: s.update(),
    "update without step": lambda lib, s, o, p: (_backward(lib, s, p), s.update()),
    "step without gradients": lambda lib, s, o, p: (s.scale(lib.tensor(1.0)), s.step(o)),
    "closure": lambda lib, s, o, p: (_backward(lib, s, p), s.step(o, closure=lambda: 0.0)),
    "fp16 gradients": lambda lib, s, o, p: _fp16_unscale(lib, s),
    "empty state": lambda lib, s, o, p: s.load_state_dict({}),
    "pickle mid-iteration": lambda lib, s, o, p: (_backward(lib, s, p), s.unscale_(o),
                                                  pickle.dumps(s)),
    "growth factor": lambda lib, s, o, p: lib.amp.GradScaler("cpu", growth_factor=1.0),
    "backoff factor": lambda lib, s, o, p: lib.amp.GradScaler("cpu", backoff_factor=1.0),
}


@requires_torch
@pytest.mark.filterwarnings("ignore:overflow encountered")  # a 2**16-scaled float16 gradient
@pytest.mark.parametrize("name", list(ERROR_SCRIPTS))
def test_errors_match_torch(name):
    b, t = _raise(brickwork, ERROR_SCRIPTS[name]), _raise(torch, ERROR_SCRIPTS[name])
    assert t is not None
    assert b == t


def test_errors_without_torch():
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        ERROR_SCRIPTS["unscale_ twice"](brickwork, *_parts())
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        ERROR_SCRIPTS["step twice"](brickwork, *_parts())
    with pytest.raises(RuntimeError, match="no 'xpu' device type"):
        brickwork.amp.GradScaler("xpu")


def _parts():
    s = brickwork.amp.GradScaler("cpu")
    p = brickwork.nn.Parameter(brickwork.ones(2))
    return s, brickwork.optim.SGD([p], lr=0.1), p


def test_step_after_unscale_and_clip():
    """The usual clipping recipe: the clipped gradients are the unscaled ones."""
    s, opt, p = _parts()
    s.scale((p * brickwork.tensor([3.0, 4.0])).sum()).backward()
    np.testing.assert_array_equal(p.grad.numpy(), [3.0 * 65536, 4.0 * 65536])
    s.unscale_(opt)
    np.testing.assert_array_equal(p.grad.numpy(), [3.0, 4.0])
    norm = brickwork.nn.utils.clip_grad_norm_([p], 1.0)
    assert float(norm) == pytest.approx(5.0)
    assert s.step(opt) is None  # SGD.step returns None (its closure's loss)
    s.update()
    np.testing.assert_allclose(p.detach().numpy(), [1 - 0.1 * 0.6, 1 - 0.1 * 0.8], rtol=1e-6)


def test_step_returns_the_optimizer_result_and_forwards_arguments():
    class Recorder:
        param_groups = []

        def __init__(self):
            self.calls = []

        def step(self, *args, **kwargs):
            self.calls.append((args, kwargs))
            return "stepped"

    for enabled in (True, False):
        s = brickwork.amp.GradScaler("cpu", enabled=enabled)
        opt = Recorder()
        p = brickwork.nn.Parameter(brickwork.ones(1))
        opt.param_groups = [{"params": [p]}]
        s.scale(p.sum()).backward()
        assert s.step(opt, 1, flag=True) == "stepped"
        assert opt.calls == [((1,), {"flag": True})]


def test_disabled_passes_through():
    s = brickwork.amp.GradScaler("cpu", enabled=False, growth_factor=0.5)  # not validated
    x = brickwork.tensor([1.0, 2.0])
    assert s.scale(x) is x and s.scale([x])[0] is x
    p = brickwork.nn.Parameter(brickwork.ones(2))
    opt = brickwork.optim.SGD([p], lr=0.5)
    (p * 2).sum().backward()
    s.unscale_(opt)
    s.unscale_(opt)  # no once-per-step check when disabled
    s.step(opt)
    s.update()
    np.testing.assert_array_equal(p.detach().numpy(), [0.0, 0.0])
    assert s.get_scale() == 1.0 and not s.is_enabled() and s.state_dict() == {}
    s.load_state_dict({})  # a no-op
    assert s._get_growth_tracker() == 0


def test_cuda_scaler_without_gpu_warns_and_disables(monkeypatch):
    monkeypatch.setattr(brickwork.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning) as rec:
        s = brickwork.amp.GradScaler()
    msg = "brickwork.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling."
    assert [str(w.message) for w in rec] == [msg]
    assert not s.is_enabled()
    x = brickwork.tensor(2.0)
    assert s.scale(x) is x
    if torch is not None and not torch.cuda.is_available():
        with pytest.warns(UserWarning) as trec:
            torch.amp.GradScaler()
        assert [str(w.message).replace("torch", "brickwork") for w in trec] == [msg]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not brickwork.amp.GradScaler(enabled=False).is_enabled()  # no warning


def test_cuda_scaler_on_simulated_gpu(sim_cuda):
    """The default 'cuda' scaler is enabled with a GPU; gradients on two devices (cuda:1 and
    the CPU) are checked separately and an inf on either skips the step."""
    s = brickwork.amp.GradScaler(init_scale=4.0, growth_interval=1)
    assert s.is_enabled()
    g = brickwork.nn.Parameter(brickwork.ones(2, device="cuda:1"))
    c = brickwork.nn.Parameter(brickwork.ones(2))
    opt = brickwork.optim.SGD([g, c], lr=0.1)
    scales = []
    for cg, cc in [([1.0, 1.0], [1.0, 1.0]), ([1.0, 1.0], [INF, 1.0]), ([NAN, 1.0], [1.0, 1.0]),
                   ([1.0, 2.0], [2.0, 1.0])]:
        opt.zero_grad()
        lg = (g * brickwork.tensor(cg, device="cuda:1")).sum()
        lc = (c * brickwork.tensor(cc)).sum()
        sg, sc = s.scale([lg, lc])
        assert sg.device == brickwork.device("cuda:1") and sc.device == brickwork.device("cpu")
        (sg + sc.to("cuda:1")).backward()
        s.step(opt)
        assert set(s._per_optimizer_states[id(opt)]["found_inf_per_device"]) == {
            brickwork.device("cuda:1"), brickwork.device("cpu")}
        s.update()
        scales.append(s.get_scale())
    assert s._scale.device == brickwork.device("cuda:1")
    assert scales == [8.0, 4.0, 2.0, 4.0]
    np.testing.assert_allclose(g.detach().cpu().numpy(), [0.8, 0.7], rtol=1e-6)
    np.testing.assert_allclose(c.detach().numpy(), [0.7, 0.8], rtol=1e-6)


def test_pickle_round_trip():
    rec, s = _run(brickwork, COEFS[:3], init_scale=8.0, growth_interval=5)
    back = pickle.loads(pickle.dumps(s))
    assert back._scale is None and back.state_dict() == s.state_dict()
    back.scale(brickwork.tensor(1.0))
    assert back.get_scale() == s.get_scale() and back._get_growth_tracker() == 1


def _mlp_run(lib, half: bool, steps: int = 25):
    """A 2-layer MLP trained with SGD. With ``half`` the forward runs in float16 on float32
    master weights (the weights are cast inside the graph) under a GradScaler, the loss in
    float32 — PyTorch's mixed-precision recipe without autocast."""
    rng = np.random.default_rng(0)
    w1 = lib.nn.Parameter(lib.tensor(rng.normal(0, 0.5, (8, 4)).astype(np.float32)))
    b1 = lib.nn.Parameter(lib.zeros(8))
    w2 = lib.nn.Parameter(lib.tensor(rng.normal(0, 0.5, (1, 8)).astype(np.float32)))
    x = lib.tensor(rng.normal(0, 1, (64, 4)).astype(np.float32))
    y = lib.tensor(rng.normal(0, 1, (64, 1)).astype(np.float32))
    F = lib.nn.functional
    opt = lib.optim.SGD([w1, b1, w2], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0**20, growth_interval=5, enabled=half)
    losses, skipped = [], 0
    for _ in range(steps):
        opt.zero_grad()
        if half:
            h = F.relu(F.linear(x.half(), w1.half(), b1.half()))
            out = F.linear(h, w2.half()).float()
        else:
            out = F.linear(F.relu(F.linear(x, w1, b1)), w2)
        loss = F.mse_loss(out, y)
        scaler.scale(loss).backward()
        assert w1.grad.dtype == lib.float32
        before = scaler.get_scale()
        scaler.step(opt)
        scaler.update()
        skipped += scaler.get_scale() < before
        losses.append(float(loss.detach()))
    return np.array(losses), scaler.get_scale(), w1.detach().numpy(), skipped


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_float16_training_matches_float32():
    l16, scale, w16, skipped = _mlp_run(brickwork, half=True, steps=30)
    # 2**20 overflows float16 gradients at first: those steps are skipped (the parameters
    # stay put) while the scaler backs off; after that every step is applied
    assert 0 < skipped < 10 and scale >= 2.0**14
    np.testing.assert_array_equal(l16[:skipped + 1], l16[0])
    l32, _, w32, _ = _mlp_run(brickwork, half=False, steps=30 - skipped)
    assert l16[-1] < 0.8 * l16[0]  # it trains
    np.testing.assert_allclose(l16[skipped:], l32, rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(w16, w32, rtol=1e-2, atol=2e-3)


@requires_torch
@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_float16_training_matches_torch():
    lb, sb, wb, kb = _mlp_run(brickwork, half=True)
    lt, st, wt, kt = _mlp_run(torch, half=True)
    assert sb == st and kb == kt
    np.testing.assert_allclose(lb, lt, rtol=5e-3, atol=1e-3)
    np.testing.assert_allclose(wb, wt, rtol=5e-3, atol=1e-3)


def test_cuda_amp_spelling(monkeypatch):
    """The old ``torch.cuda.amp.GradScaler``: deprecated, then disabled without a GPU."""
    from brickwork.amp.cuda_compat import GradScaler as CudaGradScaler

    monkeypatch.setattr(brickwork.cuda, "is_available", lambda: False)
    with pytest.warns(Warning) as rec:
        s = CudaGradScaler(init_scale=8.0)
    got = [(w.category, str(w.message)) for w in rec]
    assert got == [
        (FutureWarning, "`brickwork.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                        "`brickwork.amp.GradScaler('cuda', args...)` instead."),
        (UserWarning, "brickwork.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                      "Disabling.")]
    assert not s.is_enabled() and isinstance(s, brickwork.amp.GradScaler)
    if torch is not None and not torch.cuda.is_available():
        with pytest.warns(Warning) as trec:
            torch.cuda.amp.GradScaler(init_scale=8.0)
        assert [(w.category, str(w.message).replace("torch", "brickwork")) for w in trec] == got
