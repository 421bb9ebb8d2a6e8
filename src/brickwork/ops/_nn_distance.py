"""Rearrangements and distances of ``nn.functional``: pixel_shuffle, pixel_unshuffle,
channel_shuffle, pdist, cosine_similarity, pairwise_distance and normalize.

All are compositions of differentiable view, reduction and arithmetic ops, so their gradients
(of every order) are those ops' gradients.
"""
from __future__ import annotations

from ..tensor import Tensor
from ._util import normalize_dim


def _check_factor(op: str, kind: str, factor: int) -> None:
    if factor <= 0:
        raise RuntimeError(f"{op} expects a positive {kind}, but got {factor}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Rearrange ``(*, C * r**2, H, W)`` into ``(*, C, H * r, W * r)``.

    See: torch.nn.functional.pixel_shuffle.
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    _check_factor("pixel_shuffle", "upscale_factor", r)
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    nb = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    # (..., C, r1, r2, H, W) -> (..., C, H, r1, W, r2)
    order = list(range(nb)) + [nb, nb + 3, nb + 1, nb + 4, nb + 2]
    return x.permute(*order).reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """Rearrange ``(*, C, H * r, W * r)`` into ``(*, C * r**2, H, W)`` (pixel_shuffle's
    inverse). See: torch.nn.functional.pixel_unshuffle."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    _check_factor("pixel_unshuffle", "downscale_factor", r)
    *batch, c, h, w = input.shape
    if h % r:
        raise RuntimeError("pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError("pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    nb = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    # (..., C, H, r1, W, r2) -> (..., C, r1, r2, H, W)
    order = list(range(nb)) + [nb, nb + 2, nb + 4, nb + 1, nb + 3]
    return x.permute(*order).reshape(*batch, c * r * r, h // r, w // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``(N, C, *)`` from ``groups`` groups: ``(N, g, C/g, *)`` is
    transposed to ``(N, C/g, g, *)``. See: torch.nn.functional.channel_shuffle."""
    if input.ndim <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    g = int(groups)
    if g <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    return input.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(input.shape)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm distances between every pair of rows ``i < j`` of a 2-D input, in
    row-major order of the upper triangle. See: torch.nn.functional.pdist."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    import numpy as np

    from ..factories import tensor
    from .linalg import vector_norm

    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    ii = tensor(i, device=input.device)
    jj = tensor(j, device=input.device)
    diff = input.index_select(0, ii) - input.index_select(0, jj)
    return vector_norm(diff, p, 1)


def _check_float(x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
    """ATen's rule: the common dtype must be floating; integer inputs are converted to it,
    floating ones keep their own dtype (each is divided by its norm in its own precision)."""
    from ..dtypes import promote_types

    dt = promote_types(x1.dtype, x2.dtype)
    if not dt.is_floating_point:
        from .reduction import _torch_type_name

        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{_torch_type_name(dt)}")
    return tuple(x if x.is_floating_point() else x.to(dt) for x in (x1, x2))


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """``||x||`` along ``dim``, clamped to ``eps`` in value only: PyTorch clamps in place under
    no_grad, so the gradient is the unclamped norm's."""
    from .linalg import vector_norm

    n = vector_norm(x, 2, dim, True)
    v = n.detach()
    return n + (v.clamp_min(eps) - v)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``<x1, x2> / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim`` (inputs broadcast).

    See: torch.nn.functional.cosine_similarity.
    """
    from ._misc_shape import broadcast_tensors

    x1, x2 = broadcast_tensors(*_check_float(x1, x2))
    d = normalize_dim(dim, max(x1.ndim, 1))
    return ((x1 / _clamped_norm(x1, d, eps)) * (x2 / _clamped_norm(x2, d, eps))).sum(d)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dimension. See:
    torch.nn.functional.pairwise_distance."""
    from .linalg import vector_norm

    diff = x1 - x2 + eps
    if diff.ndim == 0:
        return diff.abs() if p != 0 else (diff != 0).to(diff.dtype)
    return vector_norm(diff, p, diff.ndim - 1, keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``. See: torch.nn.functional.normalize."""
    from .linalg import vector_norm

    denom = vector_norm(input, p, dim, True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    from .. import div  # the public div, which takes out= (see _out.py)

    return div(input, denom, out=out)


__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "pdist", "cosine_similarity",
           "pairwise_distance", "normalize"]
