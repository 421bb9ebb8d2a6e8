"""The one reference helper: run the same code on brickwork and PyTorch and compare.

``check_op(fn, inputs)`` calls ``fn(lib, *tensors)`` once with ``lib=brickwork`` and once with
``lib=torch`` on tensors built from the same NumPy arrays, then compares the outputs' shapes,
dtypes and values and, when an input requires grad, the gradients of a shared random upstream
gradient with respect to every such input. Tests that use it skip when torch is absent; keep a
NumPy expectation or a ``gradcheck`` beside them so something still runs without torch.
"""
from __future__ import annotations

import contextlib
import re

import numpy as np
import pytest

import brickwork

try:
    import torch
except ImportError:  # pragma: no cover - the reference tests skip
    torch = None

# Where check_op puts its tensors: brickwork's device and the reference's (tests/conftest.py
# switches them per test; the reference stays on the CPU when PyTorch has no GPU).
DEVICE = {"brickwork": "cpu", "torch": "cpu"}

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the reference) not installed")

TOLERANCES = {  # (atol, rtol) by dtype name
    "bfloat16": (1e-2, 2e-2),  # 8 significant bits: about two units in the last place
    "float16": (1e-2, 1e-2), "float32": (1e-5, 1e-4), "float64": (1e-10, 1e-8),
    "complex64": (1e-5, 1e-4), "complex128": (1e-10, 1e-8),
}


def rand_array(shape, dtype="float32", low=-2.0, high=2.0, seed=0) -> np.ndarray:
    """Deterministic test data of ``shape`` and ``dtype`` (ints in ``[low, high)``)."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) > 0.5
    if np.dtype(dtype).kind == "c":  # real and imaginary parts each uniform in [low, high)
        parts = rng.uniform(low, high, size=tuple(shape) + (2,))
        return (parts[..., 0] + 1j * parts[..., 1]).astype(dtype)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(int(low), int(high), size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


@contextlib.contextmanager
def testing_on(device: str, torch_device: str = "cpu"):
    """Make ``check_op`` run brickwork on ``device`` and the reference on ``torch_device``."""
    saved = dict(DEVICE)
    DEVICE.update(brickwork=device, torch=torch_device)
    try:
        yield
    finally:
        DEVICE.update(saved)


@contextlib.contextmanager
def brickwork_device(device: str):
    """Yield the brickwork device for a test's ``device`` parameter: ``'cpu'``, or for
    ``'simcuda'`` the simulated CuPy installed and ``cuda:1`` (not CuPy's current GPU, so each
    op must follow its tensors)."""
    if device == "simcuda":
        import simcuda

        with simcuda.installed():
            yield "cuda:1"
    else:
        yield "cpu"


def to_torch(arr, requires_grad=False):
    arr = np.asarray(arr)
    if arr.dtype == brickwork.bfloat16.np:  # torch.from_numpy knows no ml_dtypes bfloat16
        t = torch.from_numpy(arr.view(np.uint16).copy()).view(torch.bfloat16)
    else:
        t = torch.from_numpy(np.array(arr, copy=True))
    if DEVICE["torch"] != "cpu":
        t = t.to(DEVICE["torch"])
    return t.requires_grad_(requires_grad)


def to_brick(arr, requires_grad=False):
    return brickwork.tensor(np.array(arr, copy=True), requires_grad=requires_grad,
                            device=DEVICE["brickwork"])


def pick(lib, b_module, t_module):
    """The module of ``lib``'s pair, moved to check_op's device for that library."""
    if lib is brickwork:
        return b_module.to(DEVICE["brickwork"])
    return t_module.to(DEVICE["torch"])


def host(t) -> np.ndarray:
    """A brickwork or torch tensor's values as a NumPy array, from any device (bfloat16, which
    neither library's ``numpy()`` gives, as float32)."""
    t = t.detach().cpu().resolve_conj()
    return (t.float() if str(t.dtype).endswith("bfloat16") else t).numpy()


def assert_on_device(t, what="output"):
    """``t`` is on check_op's device, and its data really lives there."""
    from brickwork.device import device_of_array

    want = brickwork.device(DEVICE["brickwork"])
    assert t.device == want, f"{what}: on {t.device}, expected {want}"
    assert device_of_array(t._data) == want, \
        f"{what}: labelled {t.device} but its data is on {device_of_array(t._data)}"


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def assert_close(b, t, atol=None, rtol=None, what="output", check_dtype=True):
    """Compare one brickwork tensor with one torch tensor: shape, dtype and values."""
    assert isinstance(b, brickwork.Tensor), f"{what}: brickwork gave {type(b).__name__}"
    tn = host(t)
    assert tuple(b.shape) == tuple(t.shape), f"{what}: shape {tuple(b.shape)} != {tuple(t.shape)}"
    if check_dtype:
        assert b.dtype.name == str(t.dtype).replace("torch.", ""), \
            f"{what}: dtype {b.dtype} != {t.dtype}"
    d_atol, d_rtol = TOLERANCES.get(b.dtype.name, (0, 0))
    bn = b.detach()._host()
    bn = bn.astype(np.float32) if bn.dtype == brickwork.bfloat16.np else bn
    np.testing.assert_allclose(bn, tn, atol=d_atol if atol is None else atol,
                               rtol=d_rtol if rtol is None else rtol, err_msg=what,
                               equal_nan=True)


def check_op(fn, inputs, *, grad=None, atol=None, rtol=None, grad_atol=None, grad_rtol=None,
             check_dtype=True, seed=1, second_order=True):
    """Run ``fn(lib, *tensors)`` on brickwork and PyTorch and compare everything.

    Args:
        fn: a function of ``(lib, *tensors)`` written once against the shared API.
        inputs: NumPy arrays (or shapes, which become float32 data).
        grad: which inputs require grad; default: every floating-point input.
        atol, rtol: forward tolerances (default by dtype); grad_atol, grad_rtol for gradients.
        second_order: also compare second derivatives (``check_second_order``).

    Returns:
        The brickwork outputs, for extra checks.
    """
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    arrays = [rand_array(a, seed=seed + i) if isinstance(a, tuple) else np.asarray(a)
              for i, a in enumerate(inputs)]
    if grad is None:
        grad = [a.dtype.kind in "fc" or a.dtype == brickwork.bfloat16.np for a in arrays]
    b_in = [to_brick(a, g) for a, g in zip(arrays, grad)]
    t_in = [to_torch(a, g) for a, g in zip(arrays, grad)]
    with brickwork.device(DEVICE["brickwork"]):  # factories inside fn allocate there too
        b_out = _as_tuple(fn(brickwork, *b_in))
    with torch.device(DEVICE["torch"]):
        t_out = _as_tuple(fn(torch, *t_in))
    assert len(b_out) == len(t_out), f"{len(b_out)} outputs, torch has {len(t_out)}"
    for i, (b, t) in enumerate(zip(b_out, t_out)):
        if isinstance(t, torch.Tensor):
            assert_close(b, t, atol, rtol, what=f"output {i}", check_dtype=check_dtype)
            assert_on_device(b, f"output {i}")
        else:
            assert b == t, f"output {i}: {b!r} != {t!r}"
    diff = [(b, t) for b, t in zip(b_out, t_out)
            if isinstance(t, torch.Tensor) and t.requires_grad]
    if any(grad) and diff:
        rng = np.random.default_rng(seed + 100)
        b_loss, t_loss = None, None
        for b, t in diff:
            up = _upstream(rng, t)
            bl = _real_sum(b * to_brick(up))
            tl = _real_sum(t * to_torch(up))
            b_loss = bl if b_loss is None else b_loss + bl
            t_loss = tl if t_loss is None else t_loss + tl
        b_loss.backward()
        t_loss.backward()
        for i, (b, t) in enumerate(zip(b_in, t_in)):
            if not t.requires_grad:
                continue
            if t.grad is None:
                assert b.grad is None or not b.grad._host().any(), f"grad of input {i}"
                continue
            assert b.grad is not None, f"input {i}: brickwork produced no gradient"
            assert_close(b.grad, t.grad, grad_atol, grad_rtol, what=f"grad of input {i}")
            assert_on_device(b.grad, f"grad of input {i}")
        if second_order:
            check_second_order(fn, arrays, grad, seed=seed, atol=grad_atol, rtol=grad_rtol)
    return b_out


def _upstream(rng, t):
    """A random upstream gradient for output ``t`` (complex for complex outputs)."""
    dt = str(t.dtype)[6:]
    up = rng.uniform(-1, 1, size=tuple(t.shape))
    if "complex" in dt:
        up = up + 1j * rng.uniform(-1, 1, size=tuple(t.shape))
    return up.astype(dt)


def _real_sum(x):
    """``x.sum()``, or ``x.real.sum()`` for complex ``x``: a real loss, as backward needs."""
    return x.real.sum() if x.is_complex() else x.sum()


def _weighted_sum(lib, outs, seed, like_torch):
    """``sum(out_i * v_i)`` over the differentiable outputs, with the same random ``v_i``."""
    rng = np.random.default_rng(seed)
    loss = None
    for o, t in outs:
        up = _upstream(rng, t)
        term = _real_sum(o * (to_torch(up) if like_torch else to_brick(up)))
        loss = term if loss is None else loss + term
    return loss


def check_second_order(fn, arrays, grad, *, seed=1, atol=None, rtol=None):
    """Compare second derivatives with PyTorch: ``d/dx <v2, d<v1, f(x)>/dx>`` via create_graph.

    First-order gradients are taken with ``create_graph=True`` on both libraries, contracted
    with a shared random vector, and differentiated again with respect to every input.
    """
    b_in = [to_brick(a, g) for a, g in zip(arrays, grad)]
    t_in = [to_torch(a, g) for a, g in zip(arrays, grad)]
    with brickwork.device(DEVICE["brickwork"]):
        b_out = _as_tuple(fn(brickwork, *b_in))
    with torch.device(DEVICE["torch"]):
        t_out = _as_tuple(fn(torch, *t_in))
    pairs = [(b, t) for b, t in zip(b_out, t_out)
             if isinstance(t, torch.Tensor) and t.requires_grad]
    if not pairs:
        return
    t_loss = _weighted_sum(torch, [(t, t) for _, t in pairs], seed + 100, True)
    b_loss = _weighted_sum(brickwork, pairs, seed + 100, False)
    idx = [i for i, t in enumerate(t_in) if t.requires_grad]
    t_g = torch.autograd.grad(t_loss, [t_in[i] for i in idx], create_graph=True,
                              allow_unused=True)
    b_g = brickwork.autograd.grad(b_loss, [b_in[i] for i in idx], create_graph=True,
                                  allow_unused=True)
    second = [(b, t) for b, t in zip(b_g, t_g) if t is not None and t.requires_grad]
    if not second:
        return
    for k, (b, t) in enumerate(second):
        assert b is not None, f"first-order gradient {k}: brickwork gave None"
    t2 = _weighted_sum(torch, [(t, t) for _, t in second], seed + 200, True)
    b2 = _weighted_sum(brickwork, [(b, t) for b, t in second], seed + 200, False)
    if not b2.requires_grad:
        b_h = [None] * len(idx)
    else:
        b_h = brickwork.autograd.grad(b2, [b_in[i] for i in idx], allow_unused=True)
    t_h = torch.autograd.grad(t2, [t_in[i] for i in idx], allow_unused=True)
    for i, b, t in zip(idx, b_h, t_h):
        what = f"second derivative wrt input {i}"
        if t is None or t._is_zerotensor() or not host(t).any():
            assert b is None or not b._host().any(), what
            continue
        assert b is not None, f"{what}: brickwork produced no gradient"
        d_atol, d_rtol = TOLERANCES.get(b.dtype.name, (0, 0))
        assert_close(b, t, 10 * d_atol if atol is None else atol,
                     10 * d_rtol if rtol is None else rtol, what=what)
        assert_on_device(b, what)


def check_error(fn, inputs=(), *, match_message=True):
    """Run ``fn(lib, *tensors)`` on brickwork and PyTorch; both must raise alike.

    Compares the exception type and (by default) the message text exactly.

    Returns:
        The brickwork exception, for extra checks.
    """
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    arrays = [rand_array(a, seed=i) if isinstance(a, tuple) else np.asarray(a)
              for i, a in enumerate(inputs)]
    with pytest.raises(Exception) as t_exc:
        fn(torch, *[to_torch(a) for a in arrays])
    with pytest.raises(Exception) as b_exc:
        fn(brickwork, *[to_brick(a) for a in arrays])
    t_err, b_err = t_exc.value, b_exc.value
    assert type(b_err).__name__ == type(t_err).__name__, \
        f"brickwork raised {type(b_err).__name__}: {b_err}; torch {type(t_err).__name__}: {t_err}"
    if match_message:
        assert str(b_err) == str(t_err), f"message {str(b_err)!r} != torch's {str(t_err)!r}"
    return b_err


def check_behaviour(fn):
    """Run ``fn(lib)`` on brickwork and PyTorch; both must return alike or raise alike.

    ``fn`` returns a value or a (nested) list/tuple of them: tensors are compared with
    ``assert_close``, anything else (versions, ``_base is x``, grad_fn names, sizes) with ``==``.
    If PyTorch raises, brickwork must raise the same type with the same text, PyTorch's tensor
    type names (``torch.FloatTensor``) reading as brickwork's.

    Returns:
        brickwork's result (or exception), for extra checks.
    """
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")

    def run(lib):
        try:
            return False, fn(lib)
        except Exception as exc:  # noqa: BLE001 - the exception is the result compared
            return True, exc

    t_failed, t_res = run(torch)
    b_failed, b_res = run(brickwork)
    if t_failed:
        assert b_failed, f"torch raised {type(t_res).__name__}: {t_res}; brickwork returned " \
                         f"{b_res!r}"
        want = re.sub(r"torch\.(\w*Tensor)\b", r"brickwork.\1", str(t_res))
        assert type(b_res).__name__ == type(t_res).__name__ and str(b_res) == want, \
            f"brickwork raised {type(b_res).__name__}: {b_res}\ntorch raised " \
            f"{type(t_res).__name__}: {want}"
        return b_res
    assert not b_failed, f"brickwork raised {type(b_res).__name__}: {b_res}"
    _compare_results(b_res, t_res, "result")
    return b_res


def _compare_results(b, t, what):
    if isinstance(t, torch.Tensor):
        assert_close(b, t, what=what)
    elif isinstance(t, (list, tuple)) and not isinstance(t, torch.Size):
        assert isinstance(b, (list, tuple)) and len(b) == len(t), f"{what}: {b!r} != {t!r}"
        for i, (bi, ti) in enumerate(zip(b, t)):
            _compare_results(bi, ti, f"{what}[{i}]")
    elif isinstance(t, torch.Size):
        assert tuple(b) == tuple(t), f"{what}: {tuple(b)} != {tuple(t)}"
    else:
        assert b == t, f"{what}: brickwork {b!r} != torch {t!r}"


class CaseTable(dict):
    """Named cases of a table test: ``@table.case`` registers a function under its name."""

    def case(self, fn):
        self[fn.__name__] = fn
        return fn


def leaf(lib, values, **kwargs):
    """A leaf tensor of ``lib`` (brickwork or torch) that requires grad."""
    return lib.tensor(values, requires_grad=True, **kwargs)
