"""Helpers shared by Adadelta, Adamax, NAdam, RAdam, ASGD and Rprop.

They reproduce PyTorch's single-tensor update paths operation for operation, so the helpers
here mirror the ATen kernels' order of evaluation (``lerp``'s two formulas, ``addcdiv`` as
``self + value * t1 / t2``) and its handling of options that brickwork cannot honour.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._sparse_coo import SparseCOO
from ..device import CPU
from ..dtypes import get_default_dtype
from ..tensor import Tensor, _make
from .optimizer import _arr, _check


def check_lr(lr) -> None:
    """PyTorch's learning-rate validation, which also accepts a one-element tensor."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    _check(0.0 <= lr, "learning rate", lr)


def group_lr(group: dict[str, Any]) -> float:
    """The group's learning rate as a Python float (PyTorch's ``_to_scalar``): a tensor lr
    (which a scheduler may change in place) is read at every step."""
    lr = group["lr"]
    return float(lr.item()) if isinstance(lr, Tensor) else lr


def refuse_differentiable(group: dict[str, Any], name: str) -> None:
    """``differentiable=True`` asks for the update to be recorded by autograd; brickwork's
    updates write parameter arrays in place outside autograd, so it cannot be honoured.
    (Read with ``.get``: state dicts of old PyTorch releases lack the key.)"""
    if group.get("differentiable", False):
        raise RuntimeError(f"{name}: differentiable=True is not supported by brickwork (the "
                           "update is applied in place outside autograd, so no gradient can "
                           "flow through it); use differentiable=False")


def refuse_sparse(g, name: str) -> None:
    if g.__class__ is SparseCOO:
        raise RuntimeError(f"{name} does not support sparse gradients")


def real(arr):
    """A complex array viewed as interleaved reals (PyTorch's ``view_as_real``): the update
    rules then act on the real and imaginary parts separately, as PyTorch's do."""
    if arr.dtype.kind == "c":
        return arr.view(arr.real.dtype)
    return arr


def state_arr(t: Tensor):
    """The writable (real-viewed) array of a state tensor."""
    return real(_arr(t))


def lerp_(start, end, weight: float) -> None:
    """``start.lerp_(end, weight)`` in place, with ATen's two formulas (the one used depends
    on ``|weight| < 0.5``), so float results agree bit for bit."""
    diff = np.subtract(end, start)
    if abs(weight) < 0.5:
        diff *= weight
        start += diff
    else:
        diff *= 1 - weight
        np.subtract(end, diff, out=start)


def scalar_like(template: Tensor, value: float, dtype) -> Tensor:
    """A 0-d state tensor of ``dtype`` holding ``value``, on ``template``'s device."""
    t = _make(np.array(value, dtype=dtype), CPU)
    return t.to(template.device)


def set_scalar(t: Tensor, value: float) -> None:
    """Write ``value`` into the 0-d state tensor ``t``, rounded through the default dtype
    first as PyTorch's ``t.copy_(torch.as_tensor(value))`` does."""
    # a Python float (not a NumPy array) so the write also works on a CuPy array
    _arr(t)[...] = float(np.asarray(value, dtype=get_default_dtype().np))
