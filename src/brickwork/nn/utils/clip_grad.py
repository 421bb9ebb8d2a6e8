"""Gradient clipping by total norm or by value, in place on ``.grad``.

The arithmetic runs on the gradients' arrays in their own dtype, as PyTorch's does, so the
returned norm and the scaled gradients match PyTorch's to float32 rounding.
"""
from __future__ import annotations

import math
import warnings
from typing import Iterable

from ...device import DeviceFollower, runs_on_input_device
from ...ops._util import xp_of
from ...tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _tensors(tensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _grads(parameters) -> list[Tensor]:
    return [p._grad for p in _tensors(parameters) if p._grad is not None]


def _vector_norm(arr, p: float):
    """The ``p``-norm of all entries of ``arr`` as a 0-d array of ``arr``'s dtype."""
    xp = xp_of(arr)
    a = xp.abs(arr.reshape(-1))
    if a.size == 0:
        return xp.zeros((), dtype=arr.dtype)
    if p == 2:
        return xp.sqrt(xp.dot(a, a)).astype(arr.dtype)
    if p == 1:
        return a.sum().astype(arr.dtype)
    if p == math.inf:
        return a.max().astype(arr.dtype)
    if p == -math.inf:
        return a.min().astype(arr.dtype)
    if p == 0:
        return (a != 0).sum().astype(arr.dtype)
    return (a ** p).sum().astype(arr.dtype) ** (1.0 / p)


@runs_on_input_device
def _norm(t: Tensor, p: float) -> Tensor:
    return _make(_vector_norm(t._data, p), t._device)


def get_total_norm(tensors, norm_type: float | str = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type`` norm of the norms of ``tensors`` (as if concatenated into one vector).

    ``foreach`` is accepted for PyTorch's signature and ignored: it picks a kernel strategy,
    not a result.

    Each tensor's norm is taken on its own device; the total lives on the first one's.
    See: torch.nn.utils.get_total_norm.
    """
    tensors = _tensors(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        from ...factories import tensor

        return tensor(0.0)
    first = tensors[0]
    total = _total(first, [_norm(t, norm_type).to(first._device) for t in tensors], norm_type)
    if error_if_nonfinite and not math.isfinite(float(total._data)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    return total


@runs_on_input_device
def _total(first: Tensor, norms: list, p: float) -> Tensor:
    """The ``p``-norm of the per-tensor ``norms`` (all on ``first``'s device), in its dtype."""
    dtype = first._data.dtype
    stacked = xp_of(first._data).stack([n._data.astype(dtype) for n in norms])
    return _make(_vector_norm(stacked, p), first._device)


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1.

    ``foreach`` is accepted for PyTorch's signature and ignored: it picks a kernel strategy,
    not a result.

    See: torch.nn.utils.clip_grads_with_norm_.
    """
    grads = _grads(parameters)
    if not grads:
        return
    tn = float(total_norm._data) if isinstance(total_norm, Tensor) else float(total_norm)
    # The coefficient in the gradients' dtype, as PyTorch computes it (a host scalar, so it
    # serves gradients on any device).
    one = grads[0]._data.dtype.type
    coef = min(one(max_norm) / (one(tn) + one(1e-6)), one(1.0))
    devices = DeviceFollower()
    try:
        for g in grads:
            devices.follow(g._device)
            g._data *= g._data.dtype.type(coef)
    finally:
        devices.restore()


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale gradients in place so that their total norm is at most ``max_norm``.

    ``foreach`` is accepted for PyTorch's signature and ignored: it picks a kernel strategy,
    not a result.

    Args:
        parameters: tensors (or one tensor) whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: the p of the p-norm (``'inf'`` for the max norm).
        error_if_nonfinite: raise ``RuntimeError`` when the total norm is nan or inf.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Example:
        >>> loss.backward()
        >>> brickwork.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)

    See: torch.nn.utils.clip_grad_norm_.
    """
    params = _tensors(parameters)
    grads = _grads(params)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm: float, norm_type: float | str = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_``. See: torch.nn.utils.clip_grad_norm."""
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry into ``[-clip_value, clip_value]`` in place.

    ``foreach`` is accepted for PyTorch's signature and ignored: it picks a kernel strategy,
    not a result.

    Example:
        >>> brickwork.nn.utils.clip_grad_value_(model.parameters(), 0.5)

    See: torch.nn.utils.clip_grad_value_.
    """
    clip_value = float(clip_value)
    devices = DeviceFollower()
    try:
        for g in _grads(parameters):
            devices.follow(g._device)
            g._data.clip(-clip_value, clip_value, out=g._data)
    finally:
        devices.restore()
