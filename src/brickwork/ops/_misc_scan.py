"""Scans and differences: cummax, cummin, logcumsumexp, diff, trapezoid/trapz and
cumulative_trapezoid.

All are composed from differentiable Tensor ops, so gradients (and second derivatives) come
from those ops: cummax/cummin find their indices on the arrays and then ``gather`` the values,
whose backward scatters the gradient to those indices exactly as PyTorch's does.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._bf16 import float32_compute
from ._misc_count import _require_float, return_types
from ._complex_grad import refuse_complex_kernel
from ._util import normalize_dim, wrap, xp_of


def _scan_indices(x, axis: int, larger: bool):
    """Index of the running maximum (``larger``) or minimum along ``axis``.

    Ties go to the later element and NaN beats every number (a later NaN the earlier one), as
    in PyTorch. A Hillis-Steele scan: log2(n) vector steps, each combining an element with the
    one ``s`` places earlier; the combine (by value, NaN highest, ties to the later) is
    associative.
    """
    xp = xp_of(x)
    v = xp.moveaxis(x, axis, 0)
    n = v.shape[0]
    idx = xp.broadcast_to(xp.arange(n).reshape((n,) + (1,) * (v.ndim - 1)), v.shape).copy()
    v = v.copy()
    s = 1
    while s < n:
        va, ia = v[:-s], idx[:-s]  # the earlier candidates
        vb, ib = v[s:], idx[s:]
        better = (vb >= va) if larger else (vb <= va)
        take_b = (vb != vb) | ((va == va) & better)
        v = xp.concatenate([v[:s], xp.where(take_b, vb, va)])
        idx = xp.concatenate([idx[:s], xp.where(take_b, ib, ia)])
        s *= 2
    return xp.moveaxis(idx, 0, axis).astype(np.int64)


def _cumulative_extreme(name: str, input: Tensor, dim: int):
    x = input._data
    d = normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        idx = wrap(np.zeros((), np.int64), input)
        return return_types[name]((input.clone(), idx))
    idx = wrap(_scan_indices(x, d, name == "cummax"), input)
    return return_types[name]((input.gather(d, idx), idx))


def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim`` and where it was found.

    Returns:
        ``(values, indices)`` as ``brickwork.return_types.cummax``.

    See: torch.cummax.
    """
    refuse_complex_kernel("cummax_cpu", input)
    return _cumulative_extreme("cummax", input, dim)


def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim`` and where it was found. See: torch.cummin."""
    refuse_complex_kernel("cummin_cpu", input)
    return _cumulative_extreme("cummin", input, dim)


def _logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """``log(exp(a) + exp(b))`` without overflow, differentiable through ``a`` and ``b``.

    The shift ``m`` is detached: the value does not depend on it, so neither does the gradient.
    An infinite shift is replaced by 0 (inf - inf would be NaN).
    """
    m = a.detach().maximum(b.detach())
    m = m.where(m.isfinite(), m.new_zeros(()))
    return m + ((a - m).exp() + (b - m).exp()).log()


@float32_compute
def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input)))`` along ``dim``, computed stably. See: torch.logcumsumexp.

    A log2(n)-step scan of pairwise ``logaddexp`` keeps every partial result in range, where a
    single global shift would underflow early terms far below the maximum.
    """
    _require_float(input, "logcumsumexp_out_cpu")
    d = normalize_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        return input.clone()
    from .join import cat

    out = input
    n = input._data.shape[d]
    s = 1
    while s < n:
        tail = _logaddexp(out.narrow(d, s, n - s), out.narrow(d, 0, n - s))
        out = cat([out.narrow(d, 0, s), tail], d)
        s *= 2
    return out if n > 1 else input.clone()


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (XOR for bool tensors).

    ``prepend``/``append`` are joined to ``input`` along ``dim`` first. See: torch.diff.
    """
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = normalize_dim(dim, input._data.ndim)
    x = input
    if prepend is not None or append is not None:
        from .join import cat

        parts = [t for t in (prepend, input, append) if t is not None]
        for t in parts:
            if t._data.ndim != input._data.ndim:
                raise RuntimeError("diff expects prepend or append to be the same dimension as "
                                   "input")
            for i, (a, b) in enumerate(zip(input._data.shape, t._data.shape)):
                if i != d and a != b:
                    raise RuntimeError(f"diff expects the shape of tensor to prepend or append "
                                       f"to match that of input except along the differencing "
                                       f"dimension; input.size({i}) = {a}, but got "
                                       f"tensor.size({i}) = {b}")
        x = cat(parts, d)
    for _ in range(n):
        length = x._data.shape[d]
        if length == 0:
            break
        a, b = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = a.logical_xor(b) if x._data.dtype == np.bool_ else a - b
    return x


def _spacing(y: Tensor, x: Tensor, d: int) -> Tensor:
    """Differences of the sample points ``x`` along ``d``, shaped to broadcast against ``y``."""
    if x._data.ndim == 1:
        if x._data.shape[0] != y._data.shape[d]:
            raise RuntimeError("trapezoid: There must be one `x` value for each sample point")
        shape = [1] * y._data.ndim
        shape[d] = -1
        return diff(x).reshape(shape)
    return diff(x, dim=d)


def _sample_dim(y: Tensor, dim: int) -> int:
    if y._data.ndim == 0:  # PyTorch's wording for a dim of a 0-d tensor here
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return normalize_dim(dim, y._data.ndim)


def _check_x_dx(x, dx, fn: str) -> None:
    if x is not None and dx is not None:
        raise TypeError(f"{fn}() received an invalid combination of arguments: pass either the "
                        f"sample points x or the spacing dx, not both")


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """Integral of ``y`` along ``dim`` by the trapezoid rule, with sample points ``x`` or a
    constant spacing ``dx`` (default 1).

    See: torch.trapezoid.
    """
    _check_x_dx(x, dx, "trapezoid")
    d = _sample_dim(y, dim)
    length = y._data.shape[d]
    if length == 0:  # PyTorch: zeros of the reduced shape
        return y.sum(d) * 0.0
    left, right = y.narrow(d, 0, length - 1), y.narrow(d, 1, length - 1)
    if x is None:
        step = 1 if dx is None else dx
        # PyTorch's form for a constant spacing: (sum - (first + last) / 2) * dx.
        return (y.sum(d) - (y.select(d, 0) + y.select(d, -1)) * 0.5) * step
    return (_spacing(y, x, d) * (left + right)).sum(d) / 2.0


def trapz(y: Tensor, x: Tensor | None = None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoid rule, an alias of :func:`trapezoid`. See: torch.trapz."""
    _check_x_dx(x, dx, "trapz")
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx=None,
                         dim: int = -1) -> Tensor:
    """The running trapezoid-rule integral of ``y`` along ``dim`` (one element fewer).

    See: torch.cumulative_trapezoid.
    """
    _check_x_dx(x, dx, "cumulative_trapezoid")
    d = _sample_dim(y, dim)
    length = y._data.shape[d]
    if length == 0:
        return y * 0.5
    left, right = y.narrow(d, 0, length - 1), y.narrow(d, 1, length - 1)
    if x is None:
        step = 1 if dx is None else dx
        return ((left + right) * (step / 2.0)).cumsum(d)
    return ((_spacing(y, x, d) / 2.0) * (left + right)).cumsum(d)


__all__ = ["cummax", "cummin", "logcumsumexp", "diff", "trapezoid", "trapz",
           "cumulative_trapezoid"]
