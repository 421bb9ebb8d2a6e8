"""3-d convolutions (plain and transposed), ATen's generic ``convolution`` and ``conv_tbc``.

A 3-d convolution is computed as one 2-d convolution (``conv.Convolution``, the im2col GEMM
kernels): the kD depth offsets of each output depth are gathered as extra channels, so the
input (N, C, D, H, W) becomes (N * OD, C * kD, H, W) and the weight (O, C/g, kD, kH, kW)
becomes (O, C/g * kD, kH, kW), the (channel, depth offset) order agreeing within each group.
The gather is strided slices and a ``stack``, so autograd differentiates the whole to any
order. A transposed 3-d convolution is, as in ``_conv_composite.transposed``, a plain one of
the input spread out by the stride, over the flipped kernel with in/out channels swapped.
"""
from __future__ import annotations

from ..tensor import Tensor
from . import _conv_composite as C
from . import conv as _conv
from ._bf16 import float32_compute
from ._im2col import out_size
from .join import stack


def _check_3d_dtype(input: Tensor) -> None:
    # PyTorch also convolves integer tensors in 3-d; brickwork's kernels are floating only.
    if not input.is_floating_point():
        raise RuntimeError(f'"conv3d" not implemented for '
                           f"'{_conv.scalar_name(input.dtype)}' in brickwork (floating-point "
                           f"inputs only)")


def _conv3d_core(x: Tensor, weight: Tensor, stride, pads, dilation, groups: int) -> Tensor:
    """(N, C, D, H, W) * (O, C/g, kD, kH, kW) -> (N, O, OD, OH, OW), no bias, no checks."""
    n, c, depth = x.shape[:3]
    o, cg, kd = weight.shape[:3]
    (dlo, dhi), (hlo, hhi), (wlo, whi) = pads
    od = out_size(depth, kd, stride[0], dlo, dhi, dilation[0])
    if dlo or dhi:
        x = C.pad_constant(x, [(0, 0), (0, 0), (dlo, dhi)])
    if kd == 1 and stride[0] == 1 and od == depth:
        cols = x.permute(0, 2, 1, 3, 4)  # no depth window to gather
    else:
        s, d = stride[0], dilation[0]
        slabs = [x[:, :, i * d:i * d + s * (od - 1) + 1:s] for i in range(kd)]
        cols = stack(slabs, 3).permute(0, 2, 1, 3, 4, 5)  # (N, OD, C, kD, H, W)
    cols = cols.reshape(n * od, c * kd, x.shape[3], x.shape[4])
    w2 = weight.reshape(o, cg * kd, weight.shape[3], weight.shape[4])
    y = _conv.Convolution.apply(cols, w2, None, tuple(stride[1:]), (hlo, hhi, wlo, whi),
                                tuple(dilation[1:]), groups, False, None)
    return y.reshape(n, od, o, y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4)


def _batched(input: Tensor, nd: int):
    return (input, True) if input.ndim == nd + 2 else (input.unsqueeze(0), False)


@float32_compute  # bfloat16 computed in float32 and rounded once
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-d cross-correlation over an (N, C, D, H, W) or unbatched (C, D, H, W) input.

    Args:
        weight: (C_out, C_in / groups, kD, kH, kW).
        stride, padding, dilation: an int or a triple; padding may be 'same' or 'valid'.

    Example:
        >>> y = conv3d(brickwork.randn(1, 2, 4, 4, 4), brickwork.randn(3, 2, 3, 3, 3))

    See: torch.nn.functional.conv3d.
    """
    _conv._check_inputs("conv3d", 3, input, weight, bias, groups, False)
    _check_3d_dtype(input)
    stride = _conv._tuple(stride, 3, "stride")
    dilation = _conv._tuple(dilation, 3, "dilation")
    pads = _conv._checked_pads(padding, tuple(input.shape[-3:]), tuple(weight.shape[2:]),
                               stride, dilation)
    x, batched = _batched(input, 3)
    y = _conv3d_core(x, weight, stride, pads, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y if batched else y.squeeze(0)


@float32_compute  # bfloat16 computed in float32 and rounded once
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-d transposed convolution: the gradient of conv3d with respect to its input.

    ``weight`` is (C_in, C_out / groups, kD, kH, kW).
    See: torch.nn.functional.conv_transpose3d.
    """
    _conv._check_inputs("conv_transpose3d", 3, input, weight, bias, groups, True)
    _check_3d_dtype(input)
    stride, padding, dilation, output_padding, out = _conv._transposed_geometry(
        input, weight, stride, padding, dilation, output_padding)
    k = tuple(weight.shape[2:])
    x, batched = _batched(input, 3)
    up = x
    for axis, s in zip((2, 3, 4), stride):
        up = C._upsample(up, axis, s)
    pads = []
    for axis, kk, d, p, o in zip((2, 3, 4), k, dilation, padding, out):
        before = d * (kk - 1) - p
        pads.append((before, o + d * (kk - 1) - up.shape[axis] - before))
    # Crop where a pad is negative, so the core convolution sees plain non-negative pads.
    up = C.pad_constant(up, [(0, 0), (0, 0)] + [(min(lo, 0), min(hi, 0)) for lo, hi in pads])
    pads = [(max(lo, 0), max(hi, 0)) for lo, hi in pads]
    c, og = weight.shape[:2]
    wt = weight.reshape((groups, c // groups, og) + k).permute(0, 2, 1, 3, 4, 5)
    wt = wt.reshape((groups * og, c // groups) + k).flip((2, 3, 4))
    y = _conv3d_core(up, wt, (1, 1, 1), pads, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1, 1)
    return y if batched else y.squeeze(0)


def _int_list(v, pos: int, name: str) -> list:
    if isinstance(v, (str, int)) or v is None:
        raise TypeError(f"convolution(): argument '{name}' (position {pos}) must be tuple of "
                        f"ints, not {type(v).__name__}")
    return [int(i) for i in v]


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding, dilation,
                transposed: bool, output_padding, groups: int) -> Tensor:
    """ATen's generic N-d convolution (1-, 2- or 3-d by ``weight``'s rank; batched input).

    Args:
        stride, padding, dilation, output_padding: lists with one value or one per spatial axis.
        transposed: a transposed convolution (``weight`` (C_in, C_out / groups, *k)).

    See: torch.convolution.
    """
    stride = _int_list(stride, 4, "stride")
    padding = _int_list(padding, 5, "padding")
    dilation = _int_list(dilation, 6, "dilation")
    output_padding = _int_list(output_padding, 8, "output_padding")
    nd = weight.ndim - 2
    if nd not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-, 4- or 5-dimensional weight, but got "
                           f"{weight.ndim}-dimensional weight of size {list(weight.shape)}")
    if input.ndim != weight.ndim:
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-"
                           f"dimensional weight {list(weight.shape)}, but got {input.ndim}-"
                           f"dimensional input of size {list(input.shape)} instead")
    if transposed:
        fn = {1: _conv.conv_transpose1d, 2: _conv.conv_transpose2d, 3: conv_transpose3d}[nd]
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    if any(output_padding):
        raise RuntimeError(f"convolution: output_padding {output_padding} applies only to a "
                           f"transposed convolution")
    fn = {1: _conv.conv1d, 2: _conv.conv2d, 3: conv3d}[nd]
    return fn(input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """1-d convolution in the (time, batch, channel) layout.

    Args:
        input: (T, N, C_in).
        weight: (kernel_width, C_in, C_out).
        bias: (C_out,).
        pad: zeros added at both ends of the time axis.

    Returns:
        (T + 2 * pad - kernel_width + 1, N, C_out).

    See: torch.conv_tbc.
    """
    if not isinstance(bias, Tensor):
        raise TypeError(f"conv_tbc(): argument 'bias' (position 3) must be Tensor, not "
                        f"{type(bias).__name__}")
    if input.ndim != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.ndim != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, "
                           "out_channels.")
    if bias.ndim != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    y = _conv.conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, 1, int(pad))
    return y.permute(2, 0, 1)


__all__ = ["conv3d", "conv_transpose3d", "convolution", "conv_tbc"]
