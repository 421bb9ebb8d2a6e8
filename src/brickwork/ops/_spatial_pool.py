"""3-d and adaptive max pooling, 3-d average and adaptive-average pooling, power-average
(``lp_pool``) pooling and max unpooling (1-, 2- and 3-d).

Max pooling of any rank picks its indices on the arrays: the windows' flat input positions
are an (outputs, window) index table built per axis (regular windows: ``o * s - p + k * d``;
adaptive ones: PyTorch's bins ``[floor(i n / o), ceil((i + 1) n / o))``, padded with invalid
slots to the largest bin), one gather reads every window, and an argmax chooses as PyTorch's
kernels do (the first maximum; a window holding NaN: its last NaN; a window whose maximum is
the padding value: its first position inside the input). The values are then read with
``take_along_dim`` at those indices, whose backward (a scatter-add) and double backward are
autograd's. Average pooling sums the padded input one axis at a time (a box filter is
separable) with strided slices, also in differentiable Tensor ops.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from . import _conv_composite as C
from . import pooling as _pool
from ._adaptive_pool import AdaptiveAvgPool3d, refuse_integers
from ._bf16 import float32_compute
from ._util import wrap, xp_of
from .activation import relu
from .conv import scalar_name

# -- index tables ---------------------------------------------------------------------------


def _regular_axes(sizes, k, s, p, d, out):
    """Per axis: (positions (o, k), valid (o, k)) of regular pooling windows."""
    axes = []
    for size, kk, ss, pp, dd, oo in zip(sizes, k, s, p, d, out):
        pos = (np.arange(oo) * ss - pp)[:, None] + (np.arange(kk) * dd)[None, :]
        axes.append((pos, (pos >= 0) & (pos < size)))
    return axes


def _adaptive_axes(sizes, out):
    """Per axis: positions and validity of PyTorch's adaptive bins, padded to the widest."""
    axes = []
    for size, oo in zip(sizes, out):
        i = np.arange(oo)
        start = (i * size) // oo
        end = -((-(i + 1) * size) // oo)
        width = int((end - start).max()) if oo else 1
        pos = start[:, None] + np.arange(width)[None, :]
        axes.append((pos, pos < end[:, None]))
    return axes


def _max_indices(x: Tensor, axes):
    """Flat input indices (lead..., o1, ..., on) of each window's chosen maximum."""
    nd = len(axes)
    arr = x._data
    xp = xp_of(arr)
    lead, spatial = arr.shape[:-nd], arr.shape[-nd:]
    out = tuple(pos.shape[0] for pos, _ in axes)
    win = tuple(pos.shape[1] for pos, _ in axes)
    idx, valid = 0, True
    step = 1
    for i in range(nd - 1, -1, -1):
        pos, ok = axes[i]
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = pos.shape
        idx = idx + np.clip(pos, 0, spatial[i] - 1).reshape(shape) * step
        valid = valid & ok.reshape(shape)
        step *= spatial[i]
    n_out, n_win = int(np.prod(out)), int(np.prod(win))
    idx = np.broadcast_to(idx, out + win).reshape(n_out, n_win)
    valid = xp.asarray(np.broadcast_to(valid, out + win).reshape(n_out, n_win))
    n_lead = int(np.prod(lead))
    flat = arr.reshape(n_lead, int(np.prod(spatial)))
    vals = flat[:, xp.asarray(idx)]  # (lead, O, K): every window, one gather
    if _dt.is_float_array(arr):
        fill = -np.inf
    else:
        fill = np.iinfo(arr.dtype).min
    masked = xp.where(valid, vals, xp.asarray(fill, dtype=arr.dtype))
    arg = masked.argmax(-1)
    y = xp.take_along_axis(masked, arg[..., None], -1)
    # A maximum equal to the padding value: PyTorch points inside the input.
    inside = valid & (vals == y)
    arg = xp.where((y[..., 0] == fill) & inside.any(-1), inside.argmax(-1), arg)
    if _dt.is_float_array(arr):
        nan = xp.isnan(vals) & valid
        last = n_win - 1 - nan[..., ::-1].argmax(-1)
        arg = xp.where(nan.any(-1), last, arg)
    chosen = xp.asarray(idx)[xp.arange(n_out)[None, :], arg]
    return wrap(chosen.reshape(lead + out).astype(np.int64), x)


def _gather_max(x: Tensor, axes):
    """(values, indices) of the max pooling whose windows ``axes`` describes."""
    nd = len(axes)
    idx = _max_indices(x, axes)
    lead = tuple(x.shape[:-nd])
    n_in, n_out = int(np.prod(x.shape[-nd:])), int(np.prod(idx.shape[-nd:]))
    y = x.reshape(lead + (n_in,)).take_along_dim(idx.reshape(lead + (n_out,)), -1)
    return y.reshape(tuple(idx.shape)), idx


# -- max_pool3d ---------------------------------------------------------------------------------


def _check_pool3d_input(op: str, input: Tensor) -> None:
    if input.ndim not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    shape = list(input.shape)
    first = input.ndim - 4
    for i in range(first, input.ndim):
        if shape[i] == 0:
            raise RuntimeError(f"{op}(): Expected input's non-batch dimensions to have positive "
                               f"length, but input has a shape of {shape} and non-batch "
                               f"dimension {i - first} has length zero!")


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """3-d max pooling returning ``(values, indices)``; indices are flat over (D, H, W).

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.

    See: torch.nn.functional.max_pool3d_with_indices.
    """
    _check_pool3d_input("max_pool3d_with_indices_out_cpu_template", input)
    if input.dtype.name == "bool":
        raise RuntimeError('"max_pool3d_with_indices" not implemented for \'Bool\'')
    k, s, p, d, out = _pool._geometry("max_pool3d", tuple(input.shape), 3, kernel_size,
                                      stride, padding, dilation, ceil_mode)
    axes = _regular_axes(tuple(input.shape[-3:]), k, s, p, d, out)
    return _gather_max(input, axes)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W).

    Example:
        >>> y = max_pool3d(brickwork.randn(1, 1, 4, 4, 4), 2)  # (1, 1, 2, 2, 2)

    See: torch.nn.functional.max_pool3d.
    """
    y, idx = max_pool3d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode)
    return (y, idx) if return_indices else y


# -- adaptive max pooling -----------------------------------------------------------------------


def _adaptive_sizes(op: str, nd: int, output_size, shape) -> tuple:
    if isinstance(output_size, (tuple, list)):
        sizes = tuple(output_size)
        if nd == 1 and len(sizes) != 1:
            raise RuntimeError(f"{op}() argument 'output_size' should contain one int (got "
                               f"{len(sizes)})")
        if len(sizes) == 1:
            sizes = sizes * nd
    else:
        sizes = (output_size,) * nd
    if len(sizes) != nd:
        raise RuntimeError(f"{op}(): internal error: output_size.size() must be {nd}")
    return tuple(shape[-nd + i] if o is None else int(o) for i, o in enumerate(sizes))


def _check_adaptive_input(op: str, input: Tensor, nd: int) -> None:
    if input.ndim not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{op})")
        sep = " " if op.startswith("adaptive_avg") else ": "
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got"
                           f"{sep}{list(input.shape)}")
    shape = list(input.shape)
    for i in range(1, len(shape)):  # (an unbatched input's channel axis may be empty)
        if shape[i] == 0:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {shape} with dimension {i} "
                               f"being empty")


def _adaptive_max(op: str, nd: int, input: Tensor, output_size):
    _check_adaptive_input(op, input, nd)
    if not input.is_floating_point():
        name = "adaptive_max_pool2d" if nd == 1 else op
        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{scalar_name(input.dtype)}'")
    out = _adaptive_sizes(op, nd, output_size, tuple(input.shape))
    return _gather_max(input, _adaptive_axes(tuple(input.shape[-nd:]), out))


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """1-d adaptive max pooling returning ``(values, indices)``.

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.

    See: torch.nn.functional.adaptive_max_pool1d_with_indices.
    """
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """2-d adaptive max pooling returning ``(values, indices)``.

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.

    See: torch.nn.functional.adaptive_max_pool2d_with_indices.
    """
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False):
    """3-d adaptive max pooling returning ``(values, indices)``.

    ``return_indices`` is accepted for PyTorch's signature; the pair is always returned.

    See: torch.nn.functional.adaptive_max_pool3d_with_indices.
    """
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed length. See: torch.nn.functional.adaptive_max_pool1d."""
    y, idx = adaptive_max_pool1d_with_indices(input, output_size)
    return (y, idx) if return_indices else y


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed (H, W) (None keeps that axis).

    See: torch.nn.functional.adaptive_max_pool2d.
    """
    y, idx = adaptive_max_pool2d_with_indices(input, output_size)
    return (y, idx) if return_indices else y


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed (D, H, W). See: torch.nn.functional.adaptive_max_pool3d."""
    y, idx = adaptive_max_pool3d_with_indices(input, output_size)
    return (y, idx) if return_indices else y


# -- average pooling ----------------------------------------------------------------------------


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W).

    See: torch.nn.functional.avg_pool3d.
    """
    _check_pool3d_input("avg_pool3d", input)
    if input.dtype.name in ("float16", "bfloat16"):  # PyTorch's CPU kernel refuses them too
        raise NotImplementedError(f'"avg_pool3d_out_frame" not implemented for '
                                  f"'{scalar_name(input.dtype)}'")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    k, s, p = (_pool._pair(kernel_size, 3), _pool._pair(kernel_size if stride is None or (
        isinstance(stride, (tuple, list)) and not stride) else stride, 3), _pool._pair(padding, 3))
    sizes = tuple(input.shape[-3:])
    if all(kk > 0 for kk in k) and all(ss > 0 for ss in s) and any(
            n + 2 * pp < kk for n, pp, kk in zip(sizes, p, k)):
        raise RuntimeError(f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) smaller "
                           f"than kernel size (kT: {k[0]} kH: {k[1]} kW: {k[2]})")
    k, s, p, d, out = _pool._geometry("avg_pool3d", tuple(input.shape), 3, kernel_size, stride,
                                      padding, 1, ceil_mode)
    x = input if input.ndim == 5 else input.unsqueeze(0)
    extra = _pool._overhang(tuple(x.shape), k, s, p, d, out)
    x = C.pad_constant(x, [(0, 0), (0, 0)] + [(pp, pp + e) for pp, e in zip(p, extra)])
    for axis, kk, ss, oo in zip((2, 3, 4), k, s, out):  # separable box sums
        total = None
        for i in range(kk):
            sl = x[(slice(None),) * axis + (slice(i, i + ss * (oo - 1) + 1, ss),)]
            total = sl if total is None else total + sl
        x = total
    if divisor_override:
        div = np.asarray(divisor_override)
    else:
        c = [_pool._counts(n, kk, ss, pp, oo, count_include_pad)
             for n, kk, ss, pp, oo in zip(sizes, k, s, p, out)]
        div = c[0][:, None, None] * c[1][None, :, None] * c[2][None, None, :]
    if input.is_floating_point():
        y = x / wrap(div.astype(input.dtype.np), x)
    else:  # PyTorch's integer kernel divides in integers, truncating
        y = x.div(wrap(div.astype(np.int64), x), rounding_mode="trunc").to(input.dtype)
    return y if input.ndim == 5 else y.squeeze(0)


@float32_compute
def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (D, H, W) (None keeps that axis).

    One averaging-matrix product per axis (``_adaptive_pool.py``). See:
    torch.nn.functional.adaptive_avg_pool3d.
    """
    _check_adaptive_input("adaptive_avg_pool3d", input, 3)
    refuse_integers("adaptive_avg_pool3d_cpu", input)
    out = _adaptive_sizes("adaptive_avg_pool3d", 3, output_size, tuple(input.shape))
    if out == (1, 1, 1):  # PyTorch takes the mean here (grad_fn MeanBackward1)
        return input.mean(dim=(-3, -2, -1), keepdim=True)
    return AdaptiveAvgPool3d.apply(input, tuple(None if n == o else o for n, o in
                                                zip(input.shape[-3:], out)))


# -- power-average pooling -------------------------------------------------------------------


def _lp(nd: int, input: Tensor, norm_type, kernel_size, stride, ceil_mode) -> Tensor:
    """PyTorch's lp_pool: ``(sum over the window of x ** p) ** (1 / p)`` via average pooling."""
    ks = _pool._pair(kernel_size, nd)
    if norm_type == float("inf"):
        return _MAX[nd](input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -_MAX[nd](-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = _AVG[nd](input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    # sign * relu(abs): a zero window sum gets gradient zero rather than NaN (as in PyTorch).
    return (out.sign() * relu(out.abs())).mul(int(np.prod(ks))).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """1-d power-average pooling. See: torch.nn.functional.lp_pool1d."""
    return _lp(1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """2-d power-average pooling. See: torch.nn.functional.lp_pool2d."""
    return _lp(2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """3-d power-average pooling. See: torch.nn.functional.lp_pool3d."""
    return _lp(3, input, norm_type, kernel_size, stride, ceil_mode)


_MAX = {1: _pool.max_pool1d, 2: _pool.max_pool2d, 3: max_pool3d}
_AVG = {1: _pool.avg_pool1d, 2: _pool.avg_pool2d, 3: avg_pool3d}

# -- max unpooling ------------------------------------------------------------------------------


def _unpool_size(input: Tensor, k, s, p, output_size) -> list:
    """PyTorch's ``_unpool_output_size``: the default size, or a checked ``output_size``."""
    nd = len(k)
    default = [(input.shape[-nd + i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(nd)]
    if output_size is None:
        ret = default
    else:
        output_size = list(output_size)
        if len(output_size) == nd + 2:
            output_size = output_size[2:]
        if len(output_size) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(output_size)}'")
        for i in range(nd):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < output_size[i] < hi:
                raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {i} must be '
                                 f"between {lo} and {hi})")
        ret = output_size
    for i, r in enumerate(ret):
        if r < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial "
                             f"dimensions, but got output_size[{i}]={r}")
    return [int(r) for r in ret]


def _max_unpool(nd: int, input: Tensor, indices: Tensor, kernel_size, stride, padding,
                output_size) -> Tensor:
    k = _pool._pair(kernel_size, nd)
    s = k if stride is None else _pool._pair(stride, nd)
    p = _pool._pair(padding, nd)
    out = _unpool_size(input, k, s, p, output_size)
    if indices.dtype.name != "int64":
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{scalar_name(indices.dtype)}")
    if tuple(indices.shape) != tuple(input.shape):
        shown = list(input.shape) + ([1] if nd == 1 else [])
        got = list(indices.shape) + ([1] if nd == 1 else [])
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({shown}) but got indices tensor with shape: {got}")
    lead = tuple(input.shape[:-nd])
    n_out = int(np.prod(out))
    flat_idx = indices.reshape(lead + (-1,)) if indices.numel() else indices.reshape(
        lead + (int(np.prod(input.shape[-nd:])),))
    if flat_idx.numel():
        arr = flat_idx._data
        bad = arr[(arr < 0) | (arr >= n_out)]
        if bad.size:
            sizes = "x".join(map(str, out + ([1] if nd == 1 else [])))
            raise RuntimeError(f"Found an invalid max index: {int(bad.reshape(-1)[0])} (output "
                               f"volumes are of size {sizes})")
    zeros = input.new_zeros(lead + (n_out,))
    y = zeros.scatter(-1, flat_idx, input.reshape(tuple(flat_idx.shape)))
    return y.reshape(lead + tuple(out))


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool1d: values placed at their indices, zeros elsewhere.

    See: torch.nn.functional.max_unpool1d.
    """
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool2d. See: torch.nn.functional.max_unpool2d."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The partial inverse of max_pool3d. See: torch.nn.functional.max_unpool3d."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


__all__ = ["max_pool3d", "max_pool3d_with_indices", "avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
           "adaptive_avg_pool3d", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d",
           "max_unpool2d", "max_unpool3d"]
