"""stft/istft against PyTorch: values, dtypes, shapes, gradients in the signal and the window,
errors and warnings; plus a round trip that needs no torch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import brickwork
import helpers
from helpers import (CaseTable, brickwork_device, check_behaviour, check_op, requires_torch,
                     to_brick, to_torch, torch)

RNG = np.random.default_rng(1)
X1 = RNG.standard_normal(40).astype(np.float32)
X2 = RNG.standard_normal((2, 37)).astype(np.float32)
XC = (RNG.standard_normal(30) + 1j * RNG.standard_normal(30)).astype(np.complex64)
W8 = (RNG.random(8) + 0.5).astype(np.float32)
W6 = (RNG.random(6) + 0.5).astype(np.float32)


def _np(t):
    t = t.detach()
    if torch is not None and isinstance(t, torch.Tensor):
        return t.resolve_conj().cpu().numpy()
    return t._host()


def _close(b, t, what):
    assert tuple(b.shape) == tuple(t.shape), f"{what}: shape {tuple(b.shape)} != {tuple(t.shape)}"
    assert b.dtype.name == str(t.dtype)[6:], f"{what}: dtype {b.dtype} != {t.dtype}"
    tol = 1e-4 if b.dtype.name in ("float32", "complex64") else 1e-9
    np.testing.assert_allclose(_np(b), _np(t), atol=tol, rtol=tol, err_msg=what)


def _vjp(fn, *arrays):
    """Values and the gradients of one random upstream gradient, brickwork against torch."""
    b_in = [to_brick(a, True) for a in arrays]
    t_in = [to_torch(a, True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b_out, t_out = fn(brickwork, *b_in), fn(torch, *t_in)
    _close(b_out, t_out, "output")
    g = RNG.standard_normal(tuple(t_out.shape))
    if t_out.is_complex():
        g = g + 1j * RNG.standard_normal(tuple(t_out.shape))
    g = g.astype(str(t_out.dtype)[6:])
    b_out.backward(to_brick(g))
    t_out.backward(to_torch(g))
    for i, (b, t) in enumerate(zip(b_in, t_in)):
        _close(b.grad, t.grad, f"grad of input {i}")


def _spectrum(x, n_fft, **kw):
    return torch.stft(torch.from_numpy(x), n_fft, return_complex=True, **kw).numpy()


STFT = CaseTable()


@STFT.case
def default_hop(lib, x, w):
    return lib.stft(x, 8, window=w, return_complex=True)


@STFT.case
def batch_full_normalized(lib, x, w):
    return lib.stft(x.expand(2, 40) * 1, 8, hop_length=3, window=w, normalized=True,
                    onesided=False, return_complex=True)


@STFT.case
def method_constant_pad(lib, x, w):
    return x.stft(8, hop_length=5, window=w, pad_mode="constant", return_complex=True)


@STFT.case
def replicate_pad(lib, x, w):
    return lib.stft(x, 8, hop_length=2, window=w, pad_mode="replicate", return_complex=True)


@STFT.case
def real_pairs(lib, x, w):
    return lib.stft(x, 8, hop_length=3, window=w, return_complex=False)


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
@requires_torch
@pytest.mark.parametrize("case", sorted(STFT))
def test_stft_matches_torch(case, device):
    with brickwork_device(device) as dev, helpers.testing_on(dev):
        _vjp(STFT[case], X1, W8)


@requires_torch
def test_stft_more_shapes_match_torch():
    # shorter windows (centred, or aligned with their frame), no window, float64, complex
    _vjp(lambda L, x, w: L.stft(x, 8, 3, 6, w, pad_mode="constant", return_complex=True),
         X2, W6)
    _vjp(lambda L, x, w: L.stft(x, 8, 3, 6, w, center=False, align_to_window=True,
                                return_complex=True), X2, W6)
    _vjp(lambda L, x: L.stft(x, 8, 3, 6, center=False, return_complex=True), X2)
    _vjp(lambda L, x: L.stft(x, 9, 4, return_complex=True), X1.astype(np.float64))
    _vjp(lambda L, x, w: L.stft(x, 8, window=w), XC, W8)
    _vjp(lambda L, x, w: L.stft(x, 8, window=w, return_complex=True), X1, W8.astype(np.float64))


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
@requires_torch
def test_istft_matches_torch(device):
    spec = _spectrum(X2, 8, hop_length=2, window=torch.from_numpy(W8))
    full = _spectrum(XC, 8, hop_length=2, window=torch.from_numpy(W8))
    with brickwork_device(device) as dev, helpers.testing_on(dev):
        _vjp(lambda L, s, w: L.istft(s, 8, hop_length=2, window=w), spec, W8)
        _vjp(lambda L, s, w: s.istft(8, 2, window=w, length=45, normalized=True), spec, W8)
        _vjp(lambda L, s, w: L.istft(s, 8, 2, 6, w, length=20), spec, W6)
        _vjp(lambda L, s, w: L.istft(s, 8, 2, window=w, return_complex=True), full, W8)
        _vjp(lambda L, s, w: L.istft(s, 8, 2, window=w, onesided=False), full, W8)
        _vjp(lambda L, s: L.istft(s[0], 8, 2, center=True), spec)


@pytest.mark.filterwarnings("ignore:stft with return_complex=False is deprecated")
def test_stft_check_op_through_real_pairs():
    # check_op: the deprecated real-pair output is real, so the shared helper compares it
    # directly (values, gradients, second derivatives in the window, and on simcuda through
    # the per-device run).
    check_op(lambda L, x, w: L.stft(x, 8, hop_length=3, window=w, return_complex=False),
             [X1, W8])


@requires_torch
def test_istft_check_op_second_order():
    # istft divides by the overlap-added squared window: second derivatives in the window
    # (and across spectrum and window) are not zero, and check_op compares them.
    spec = np.ascontiguousarray(torch.view_as_real(torch.from_numpy(
        _spectrum(X1, 8, hop_length=2, window=torch.from_numpy(W8)))).numpy())
    check_op(lambda L, s, w: L.istft(L.view_as_complex(s), 8, 2, window=w, length=38),
             [spec, W8], grad_atol=1e-4, grad_rtol=1e-4)
    check_op(lambda L, x, w: L.view_as_real(L.stft(x, 8, 3, 6, w, return_complex=True)),
             [X1, W6])


BEHAVIOUR = CaseTable()


@BEHAVIOUR.case
def real_input_needs_return_complex(lib):
    return lib.stft(lib.ones(20), 8, window=lib.ones(8))


@BEHAVIOUR.case
def n_fft_too_long(lib):
    return lib.stft(lib.ones(20), 30, window=lib.ones(30), center=False, return_complex=True)


@BEHAVIOUR.case
def n_fft_zero(lib):
    return lib.stft(lib.ones(20), 0, window=lib.ones(8), return_complex=True)


@BEHAVIOUR.case
def hop_zero(lib):
    return lib.stft(lib.ones(20), 8, hop_length=0, window=lib.ones(8), return_complex=True)


@BEHAVIOUR.case
def win_length_too_long(lib):
    return lib.stft(lib.ones(20), 8, win_length=9, window=lib.ones(9), return_complex=True)


@BEHAVIOUR.case
def window_of_wrong_size(lib):
    return lib.stft(lib.ones(20), 8, window=lib.ones(7), onesided=True, return_complex=True)


@BEHAVIOUR.case
def three_dimensional(lib):
    return lib.stft(lib.ones(2, 3, 20), 8, window=lib.ones(8), return_complex=True)


@BEHAVIOUR.case
def integer_signal(lib):
    return lib.stft(lib.arange(20), 8, window=lib.ones(8), return_complex=True)


@BEHAVIOUR.case
def onesided_complex(lib):
    return lib.stft(lib.ones(20, dtype=lib.complex64), 8, window=lib.ones(8), onesided=True)


@BEHAVIOUR.case
def align_with_center(lib):
    return lib.stft(lib.ones(20), 8, window=lib.ones(8), align_to_window=True,
                    return_complex=True)


@BEHAVIOUR.case
def unknown_pad_mode(lib):
    return lib.stft(lib.ones(20), 8, window=lib.ones(8), pad_mode="bad", return_complex=True)


@BEHAVIOUR.case
def complex_window_default_complex(lib):
    return lib.stft(lib.arange(20.0), 8, window=lib.ones(8, dtype=lib.complex64))


def _spec(lib):
    return lib.stft(lib.arange(40.0).sin(), 8, window=lib.ones(8), return_complex=True)


@BEHAVIOUR.case
def istft_real_input(lib):
    return lib.istft(lib.ones(5, 21), 8, window=lib.ones(8))


@BEHAVIOUR.case
def istft_empty(lib):
    return lib.istft(_spec(lib)[:0], 8, window=lib.ones(8))


@BEHAVIOUR.case
def istft_too_many_dims(lib):
    return lib.istft(_spec(lib)[None, None], 8, window=lib.ones(8))


@BEHAVIOUR.case
def istft_wrong_n_fft(lib):
    return lib.istft(_spec(lib), 10, window=lib.ones(10))


@BEHAVIOUR.case
def istft_not_onesided(lib):
    return lib.istft(_spec(lib), 8, window=lib.ones(8), onesided=False)


@BEHAVIOUR.case
def istft_hop_too_long(lib):
    return lib.istft(_spec(lib), 8, hop_length=9, window=lib.ones(8))


@BEHAVIOUR.case
def istft_bad_window(lib):
    return lib.istft(_spec(lib), 8, window=lib.ones(7))


@BEHAVIOUR.case
def istft_zero_window(lib):
    return lib.istft(_spec(lib), 8, window=lib.zeros(8))


@BEHAVIOUR.case
def istft_onesided_complex_output(lib):
    return lib.istft(_spec(lib), 8, window=lib.ones(8), return_complex=True)


@BEHAVIOUR.case
def istft_complex_window(lib):
    return lib.istft(_spec(lib), 8, window=lib.ones(8, dtype=lib.complex64))


@BEHAVIOUR.case
def istft_uncentred(lib):
    return lib.istft(_spec(lib), 8, window=lib.ones(8), center=False)


@BEHAVIOUR.case
def istft_dtypes(lib):
    s = _spec(lib)  # (the float32 spectra differ in the last bits: compare dtypes and shapes)
    outs = [lib.istft(s.to(lib.complex128), 8, window=lib.ones(8)),
            lib.istft(s, 8, window=lib.ones(8, dtype=lib.float64))]
    return [(str(o.dtype).rpartition(".")[2], tuple(o.shape)) for o in outs]


@pytest.mark.parametrize("case", sorted(BEHAVIOUR))
def test_behaviour_matches_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_behaviour(BEHAVIOUR[case])


def test_warnings():
    x = brickwork.ones(40)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        brickwork.stft(x, 8, window=brickwork.ones(8), return_complex=False)
    with pytest.warns(UserWarning, match="A window was not provided"):
        s = brickwork.stft(x, 8, return_complex=True)
    with pytest.warns(UserWarning, match="A window was not provided"):
        brickwork.istft(s, 8)
    with pytest.warns(UserWarning, match="shorter than the length parameter"):
        y = brickwork.istft(s, 8, window=brickwork.ones(8), length=50)
    assert tuple(y.shape) == (50,)


@pytest.mark.parametrize("center", [True, False])
def test_round_trip_without_torch(center):
    # A raised Hann window never vanishes (NOLA holds even at the edges of an uncentred
    # transform): istft(stft(x)) gives x back.
    x = brickwork.tensor(RNG.standard_normal((2, 64)), requires_grad=True)
    n = np.arange(16)
    w = brickwork.tensor(0.6 - 0.5 * np.cos(2 * np.pi * n / 16))
    s = brickwork.stft(x, 16, hop_length=4, window=w, center=center, return_complex=True)
    assert tuple(s.shape) == (2, 9, 17 if center else 13)
    # frame 1 (offset 4) of the uncentred transform, by NumPy
    want = np.fft.rfft(x.detach().numpy()[:, 4:20] * w.numpy())
    if not center:
        np.testing.assert_allclose(s.detach().numpy()[:, :, 1], want, atol=1e-12)
    y = brickwork.istft(s, 16, hop_length=4, window=w, center=center, length=64 if center else None)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy(), atol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1.0, atol=1e-12)
