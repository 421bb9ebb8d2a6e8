"""``fold`` / ``unfold`` (col2im / im2col) and ``dropout3d`` in functional form.

Both sliding-block transforms gather or scatter along the flattened, zero-padded image with
one precomputed index array: ``unfold`` is ``index_select`` and ``fold`` is its adjoint,
``index_add`` (overlapping blocks sum). Each is the other's gradient, so autograd handles
both directions and higher orders.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..device import guard_functions
from ..ops._util import wrap
from ..tensor import Tensor


def _pair(name: str, value) -> tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(value)}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _check_params(kernel, dilation, padding, stride, stride_first: bool) -> None:
    kh, kw = kernel
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kh} kernel_width: {kw}")
    checks = [
        (stride[0] > 0 and stride[1] > 0, f"stride should be greater than zero, but got "
         f"stride_height: {stride[0]} stride_width: {stride[1]}"),
        (dilation[0] > 0 and dilation[1] > 0, f"dilation should be greater than zero, but got "
         f"dilation_height: {dilation[0]} dilation_width: {dilation[1]}"),
        (padding[0] >= 0 and padding[1] >= 0, f"padding should be non-negative, but got "
         f"pad_height: {padding[0]} pad_width: {padding[1]}"),
    ]
    if not stride_first:  # im2col checks the stride last, col2im right after the kernel
        checks.append(checks.pop(0))
    for ok, message in checks:
        if not ok:
            raise RuntimeError(message)


def _block_count(size: int, k: int, d: int, p: int, s: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1  # div_rtn: floor division


def _block_index(hp: int, wp: int, kernel, dilation, stride, oh: int, ow: int) -> np.ndarray:
    """Flat index into the padded (hp, wp) image of every (ki, kj, oy, ox) block element."""
    kh, kw = kernel
    rows = (np.arange(kh)[:, None] * dilation[0] + np.arange(oh)[None, :] * stride[0])
    cols = (np.arange(kw)[:, None] * dilation[1] + np.arange(ow)[None, :] * stride[1])
    flat = rows[:, None, :, None] * wp + cols[None, :, None, :]  # (kh, kw, oh, ow)
    return np.ascontiguousarray(flat.reshape(-1), dtype=np.int64)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C * kh * kw, L).

    Args:
        input: a 4-d (N, C, H, W) or unbatched 3-d (C, H, W) tensor.
        kernel_size, dilation, padding, stride: ints or pairs, as for ``conv2d``.

    Returns:
        The blocks: channel ``c * kh * kw + i * kw + j`` holds kernel element (i, j) of input
        channel ``c``, and the last dimension runs over the L block positions row by row.

    Example:
        >>> F.unfold(brickwork.ones(1, 2, 4, 4), 2).shape
        brickwork.Size([1, 8, 9])

    See: torch.nn.functional.unfold.
    """
    kernel = _pair("kernel_size", kernel_size)
    dil = _pair("dilation", dilation)
    pad = _pair("padding", padding)
    st = _pair("stride", stride)
    _check_params(kernel, dil, pad, st, stride_first=False)
    nd = input.ndim
    if nd < 3:  # ATen reads input.size(1) and input.size(2) before checking the rank
        bad = 1 if nd < 2 else 2
        lo, hi = (-1, 0) if nd == 0 else (-nd, nd - 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {bad})")
    shape = tuple(input.shape)
    valid = shape[1] != 0 and shape[2] != 0
    if not ((nd == 3 and shape[0] and valid) or (nd == 4 and valid and shape[3] != 0)):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: {list(shape)}")
    x = input.unsqueeze(0) if nd == 3 else input
    n, c, h, w = x.shape
    oh = _block_count(h, kernel[0], dil[0], pad[0], st[0])
    ow = _block_count(w, kernel[1], dil[1], pad[1], st[1])
    if oh < 1 or ow < 1:
        # ATen's message repeats the height (sic); PyTorch users see exactly this text.
        raise RuntimeError(
            f"Given input with spatial size ({h}, {h}), kernel_size=({kernel[0]}, "
            f"{kernel[1]}), dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, {pad[1]}), "
            f"calculated shape of the array of sliding blocks as ({oh}, {ow}), but its "
            "components must be at least one.")
    from ..ops.conv import pad as _pad

    hp, wp = h + 2 * pad[0], w + 2 * pad[1]
    if pad != (0, 0):
        x = _pad(x, (pad[1], pad[1], pad[0], pad[0]))
    idx = wrap(_block_index(hp, wp, kernel, dil, st, oh, ow), x)
    cols = x.reshape(n, c, hp * wp).index_select(2, idx)
    out = cols.reshape(n, c * kernel[0] * kernel[1], oh * ow)
    return out.squeeze(0) if nd == 3 else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum sliding local blocks back into an image (col2im): (N, C * kh * kw, L) -> (N, C, H, W).

    The adjoint of :func:`unfold`: values of overlapping blocks add up.

    Args:
        input: a 3-d (N, C * kh * kw, L) or unbatched 2-d (C * kh * kw, L) tensor.
        output_size: the spatial size (H, W) of the image (int or pair).
        kernel_size, dilation, padding, stride: ints or pairs, as for :func:`unfold`.

    Example:
        >>> F.fold(brickwork.ones(1, 8, 9), (4, 4), 2).shape
        brickwork.Size([1, 2, 4, 4])

    See: torch.nn.functional.fold.
    """
    out_hw = _pair("output_size", output_size)
    kernel = _pair("kernel_size", kernel_size)
    dil = _pair("dilation", dilation)
    pad = _pair("padding", padding)
    st = _pair("stride", stride)
    _check_params(kernel, dil, pad, st, stride_first=True)
    nd = input.ndim
    shape = tuple(input.shape)
    if not ((nd == 2 and shape[0] != 0 and shape[1] != 0)
            or (nd == 3 and shape[1] != 0 and shape[2] != 0)):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    planes, length = shape[-2], shape[-1]
    kk = kernel[0] * kernel[1]
    if planes % kk != 0:
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={planes} and kernel_size="
                           f"({kernel[0]}, {kernel[1]}).")
    h, w = out_hw
    oh = _block_count(h, kernel[0], dil[0], pad[0], st[0])
    ow = _block_count(w, kernel[1], dil[1], pad[1], st[1])
    where = (f"Given output_size=({h}, {w}), kernel_size=({kernel[0]}, {kernel[1]}), "
             f"dilation=({dil[0]}, {dil[1]}), padding=({pad[0]}, {pad[1]}), "
             f"stride=({st[0]}, {st[1]}), ")
    if length != oh * ow:
        raise RuntimeError(f"{where}expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {oh} * {ow} = {oh * ow}, but "
                           f"got input.size(2)={length}.")
    if oh < 1 or ow < 1:
        raise RuntimeError(f"{where}calculated shape of the array of sliding blocks as ({oh}, "
                           f"{ow}), which is too small (non-positive)")
    x = input.unsqueeze(0) if nd == 2 else input
    n = x.shape[0]
    c = planes // kk
    hp, wp = h + 2 * pad[0], w + 2 * pad[1]
    from ..factories import zeros

    idx = wrap(_block_index(hp, wp, kernel, dil, st, oh, ow), x)
    canvas = zeros(n, c, hp * wp, dtype=x.dtype, device=x.device)
    out = canvas.index_add(2, idx, x.reshape(n, c, kk * length)).reshape(n, c, hp, wp)
    out = out[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w]
    return out.squeeze(0) if nd == 2 else out


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) (or unbatched (C, D, H, W)) with probability
    ``p``, scaling the rest by ``1 / (1 - p)``.

    See: torch.nn.functional.dropout3d.
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    nd = input.ndim
    if nd not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {nd}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    from ..ops.functional_aliases import feature_dropout, feature_dropout_

    batched = nd == 5
    if not batched:
        input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    result = feature_dropout_(input, p, training) if inplace else \
        feature_dropout(input, p, training)
    if not batched:
        result = result.squeeze_(0) if inplace else result.squeeze(0)
    return result


__all__: list = ["fold", "unfold", "dropout3d"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
