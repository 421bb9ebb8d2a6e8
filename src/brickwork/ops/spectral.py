"""Short-time Fourier transforms: ``stft`` and its inverse ``istft``, as PyTorch computes them
(``SpectralOps.cpp``): the signal is cut into frames ``hop_length`` apart, each frame is
multiplied by the window and transformed; ``istft`` transforms back, overlap-adds the windowed
frames and divides by the overlap-added squared window. Everything is differentiable, in the
signal and in the window.

Framing and overlap-add are each other's adjoint, so each is the other's gradient (written once,
as for the FFT primitives in ``brickwork.fft._core``, so that higher derivatives work too).
"""
from __future__ import annotations

import warnings

from .. import dtypes as _dt
from ..autograd.function import Function
from ..fft._core import (NORM_N, NORM_NONE, NORM_SQRT_N, FftC2C, FftC2R, FftR2C, Resize,
                         _call)
from ..tensor import Tensor
from ._util import xp_of

_NO_WINDOW_STFT = (
    "A window was not provided. A rectangular window will be applied,which is known to cause "
    "spectral leakage. Other windows such as torch.hann_window or torch.hamming_window are "
    "recommended to reduce spectral leakage.To suppress this warning and use a rectangular "
    "window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
_NO_WINDOW_ISTFT = (
    "A window was not provided. A rectangular window will be applied.Please provide the same "
    "window used by stft to make the inversion lossless.To suppress this warning and use a "
    "rectangular window, explicitly set `window=torch.ones(n_fft, device=<device>)`.")
_REAL_DEPRECATED = (
    "stft with return_complex=False is deprecated. In a future pytorch release, stft will return "
    "complex tensors for all inputs, and return_complex=False will raise an error.\nNote: you "
    "can still call torch.view_as_real on the complex output to recover the old return format.")
_SHORT = ("The length of signal is shorter than the length parameter. Result is being padded "
          "with zeros in the tail. Please check your center and hop_length settings.")


class Frames(Function):
    """``(B, L) -> (B, T, n)``: ``T`` frames of ``n`` samples, frame ``t`` from ``t*hop``."""

    _array_level = True
    _backward_name = "AsStridedBackward0"

    @staticmethod
    def run(x, n, hop, count):
        xp = xp_of(x)
        idx = hop * xp.arange(count)[:, None] + xp.arange(n)[None, :]
        return x[:, idx]

    @staticmethod
    def forward(ctx, x, n, hop, count):
        ctx.hop, ctx.length = hop, x.shape[1]
        return Frames.run(x, n, hop, count)

    @staticmethod
    def backward(ctx, g):
        return _call(OverlapAdd, g, ctx.hop, ctx.length), None, None, None


class OverlapAdd(Function):
    """``(B, T, n) -> (B, length)``: the sum of the frames placed ``hop`` apart (PyTorch's
    ``unfold_backward``)."""

    _array_level = True
    _backward_name = "UnfoldBackwardBackward0"

    @staticmethod
    def run(y, hop, length):
        xp = xp_of(y)
        b, count, n = y.shape
        # Split each frame into hop-long blocks: block r of frame t lands on block t + r of the
        # output, so a loop over the ceil(n/hop) block offsets adds whole slabs at once.
        blocks = -(-n // hop)
        framed = xp.zeros((b, count, blocks * hop), y.dtype)
        framed[:, :, :n] = y
        framed = framed.reshape(b, count, blocks, hop)
        acc = xp.zeros((b, count + blocks, hop), y.dtype)
        for r in range(blocks):
            acc[:, r:r + count] += framed[:, :, r]
        flat = acc.reshape(b, (count + blocks) * hop)
        if flat.shape[1] >= length:
            return flat[:, :length].copy()
        out = xp.zeros((b, length), y.dtype)
        out[:, :flat.shape[1]] = flat
        return out

    @staticmethod
    def forward(ctx, y, hop, length):
        ctx.params = (y.shape[2], hop, y.shape[1])
        return OverlapAdd.run(y, hop, length)

    @staticmethod
    def backward(ctx, g):
        return _call(Frames, g, *ctx.params), None, None


def _type_str(t: Tensor) -> str:
    """How PyTorch's ``toString`` names a tensor's type in stft's messages."""
    if t.is_complex():
        where = "CUDA" if t.device.type == "cuda" else "CPU"
        return f"{where}{_dt._LEGACY[t.dtype]}Type"
    return t.type()


def _opt(v) -> str:
    return "None" if v is None else str(int(v)) if isinstance(v, bool) else str(v)


def _window_str(window) -> str:
    return "None" if window is None else f"{_type_str(window)}{{{list(window.shape)}}}"


def _centered_window(window, win_length: int, n_fft: int, like: Tensor):
    """The window zero-padded on both sides to ``n_fft``; None (no window) stays None at full
    length and is a centred block of ones (in the signal's dtype, as PyTorch) otherwise."""
    from .. import ones
    from . import conv

    if win_length == n_fft:
        return window
    if window is None:
        window = ones(win_length, dtype=like.dtype, device=like.device)
    left = (n_fft - win_length) // 2
    return conv.pad(window, [left, n_fft - win_length - left])


def _real_dtype(t: Tensor):
    return {_dt.complex64: _dt.float32, _dt.complex128: _dt.float64}.get(t.dtype, t.dtype)


def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """Short-time Fourier transform of a signal ``(L,)`` or batch ``(B, L)``.

    Returns ``(B?, N, T)`` complex: ``N = n_fft//2 + 1`` for a one-sided transform of a real
    signal, else ``n_fft``; ``T`` frames. See: torch.stft.

    Example:
        >>> x = brickwork.randn(64)
        >>> brickwork.stft(x, 16, window=brickwork.hann_window(16), return_complex=True).shape
        brickwork.Size([9, 17])
    """
    from . import conv

    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if window is None:
        warnings.warn(_NO_WINDOW_STFT, UserWarning, stacklevel=2)
    if center:
        signal_dim = input.ndim
        pad = n_fft // 2
        extended = conv.pad(input.reshape([1] * (3 - signal_dim) + list(input.shape)),
                            [pad, pad], pad_mode)
        input = extended.reshape(extended.shape[-signal_dim:])
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    align = bool(align_to_window)

    def fail(what: str):
        return RuntimeError(
            f"stft({_type_str(input)}{list(input.shape)}, n_fft={n_fft}, hop_length={hop}, "
            f"win_length={win}, window={_window_str(window)}, normalized={int(normalized)}, "
            f"onesided={_opt(onesided)}, return_complex={_opt(return_complex)}, "
            f"align_to_window={_opt(align_to_window)}) : {what}")

    complex_in = input.is_complex() or (window is not None and window.is_complex())
    want_complex = complex_in if return_complex is None else return_complex
    if not want_complex:
        if return_complex is None:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        warnings.warn(_REAL_DEPRECATED, UserWarning, stacklevel=2)
    if not (_dt.is_float_array(input._data) or input.is_complex()):
        raise fail("expected a tensor of floating point or complex values")
    if input.ndim not in (1, 2):
        raise fail("expected a 1D or 2D tensor")
    x = input.unsqueeze(0) if input.ndim == 1 else input
    length = x.shape[1]
    if n_fft <= 0 or n_fft > length:
        raise fail(f"expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop <= 0:
        raise fail(f"expected hop_length > 0, but got hop_length={hop}")
    if win <= 0 or win > n_fft:
        raise fail(f"expected 0 < win_length <= n_fft, but got win_length={win}")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise fail(f"expected a 1D window tensor of size equal to win_length={win}, but got "
                   f"window with size {list(window.shape)}")
    for t in (x, window):
        if t is not None and t._data.dtype.name not in ("float32", "float64", "complex64",
                                                        "complex128"):
            raise RuntimeError(f"MKL FFT doesn't support tensors of type: "
                               f"{_dt._LEGACY[t.dtype]}")
    if align and win < n_fft:
        # The window starts where its frame starts: frames of win_length samples, zero-padded
        # on both sides to n_fft, as PyTorch's align_to_window computes.
        count = 1 + (length - win) // hop
        frames = Frames.apply(x, win, hop, count)
        if window is not None:
            frames = frames * window
        left = (n_fft - win) // 2
        frames = conv.pad(frames, [left, n_fft - win - left])
    else:
        count = 1 + (length - n_fft) // hop
        frames = Frames.apply(x, n_fft, hop, count)
        window_ = _centered_window(window, win, n_fft, x)
        if window_ is not None:
            frames = frames * window_
    complex_fft = frames.is_complex()
    sided = (not complex_fft) if onesided is None else onesided
    mode = NORM_SQRT_N if normalized else NORM_NONE
    if complex_fft:
        if sided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        out = FftC2C.apply(frames, (2,), mode, True)
    else:
        out = FftR2C.apply(frames, (2,), mode, sided)
    out = out.transpose(1, 2)
    if input.ndim == 1:
        out = out.squeeze(0)
    if not want_complex:
        from .. import view_as_real

        out = view_as_real(out)
    return out


def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """Inverse short-time Fourier transform: the least-squares signal of an :func:`stft`.

    See: torch.istft.
    """
    hop = n_fft >> 2 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    if not input.is_complex():
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    if window is None:
        warnings.warn(_NO_WINDOW_ISTFT, UserWarning, stacklevel=2)

    def fail(what: str, sep: str = " : "):
        return RuntimeError(
            f"istft({_type_str(input)}{list(input.shape)}, n_fft={n_fft}, hop_length={hop}, "
            f"win_length={win}, window={_window_str(window)}, center={int(center)}, "
            f"normalized={int(normalized)}, onesided={_opt(onesided)}, length={_opt(length)}, "
            f"return_complex={int(return_complex)}){sep}{what}")

    if input.numel() == 0:
        raise fail("input tensor cannot be empty.")
    if input.ndim not in (2, 3):  # PyTorch counts the real/imaginary pair as a dimension
        raise fail(f"expected a tensor with 3 or 4 dimensions, but got {input.ndim + 1}")
    n_frames, fft_size = input.shape[-1], input.shape[-2]
    expected_len = n_fft + hop * (n_frames - 1)
    sided = (fft_size != n_fft) if onesided is None else onesided
    if sided and n_fft // 2 + 1 != fft_size:
        raise fail("expected the frequency dimension (3rd to the last) of the input tensor to "
                   f"match n_fft / 2 + 1 when onesided=True, but got {fft_size}")
    if not sided and n_fft != fft_size:
        raise fail("expected the frequency dimension (3rd to the last) of the input tensor to "
                   f"match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop <= win:
        raise fail("expected 0 < hop_length <= win_length")
    if not 0 < win <= n_fft:
        raise fail("expected 0 < win_length <= n_fft")
    if window is not None and (window.ndim != 1 or window.shape[0] != win):
        raise fail("Invalid window shape. window has to be 1D and length of `win_length`")
    from .. import ones
    from . import conv

    if window is None:
        window_ = ones(win, dtype=_real_dtype(input), device=input.device)
    else:
        window_ = window
    if win != n_fft:
        left = (n_fft - win) // 2
        window_ = conv.pad(window_, [left, n_fft - win - left])
    x = input.unsqueeze(0) if input.ndim == 2 else input
    x = x.transpose(1, 2)  # (channel, n_frames, fft_size)
    mode = NORM_SQRT_N if normalized else NORM_N
    if return_complex:
        if sided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = FftC2C.apply(x, (2,), mode, False)
    else:
        if window is not None and window.is_complex():
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not sided:
            x = Resize.apply(x, (2,), (n_fft // 2 + 1,))
        frames = FftC2R.apply(x, (2,), mode, n_fft)
    y = OverlapAdd.apply(frames * window_.reshape(1, 1, n_fft), hop, expected_len)
    square = (window_ * window_).reshape(1, 1, n_fft).expand(1, n_frames, n_fft)
    envelope = OverlapAdd.apply(square, hop, expected_len)
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = -(n_fft // 2) if center else expected_len
    y = y[:, start:end]
    envelope = envelope[:, start:end]
    if bool((envelope.abs().min() < 1e-11).item()):
        cuda = "CUDA" if input.device.type == "cuda" else "CPU"
        raise fail(f"1\n[ {cuda}BoolType{{}} ]", sep=" window overlap add min: ")
    y = y / envelope
    if input.ndim == 2:
        y = y.squeeze(0)
    if end > expected_len:
        warnings.warn(_SHORT, UserWarning, stacklevel=2)
        y = conv.pad(y, [0, end - expected_len])
    return y


TENSOR_METHODS = {"stft": stft, "istft": istft}
INPLACE_METHODS: tuple = ()
__all__ = ["stft", "istft"]
