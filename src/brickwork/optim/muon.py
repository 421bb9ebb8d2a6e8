"""Muon: momentum whose update is orthogonalized by a Newton–Schulz iteration in bfloat16."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ..dtypes import bfloat16
from ..tensor import Tensor
from ._more_common import group_lr, lerp_, refuse_sparse
from .optimizer import Optimizer, _arr

# Keller Jordan's constants, as PyTorch's (https://kellerjordan.github.io/posts/muon/)
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _round_bf16(x):
    """Round a float32 array to the nearest bfloat16 (ties to even), kept as float32.

    PyTorch runs the iteration on bfloat16 tensors: each op computes in float32 and rounds
    its result to bfloat16. Rounding float32 arrays by their bits reproduces that on NumPy
    and CuPy alike (CuPy has no bfloat16 dtype).
    """
    bits = x.view(np.uint32)
    bits = (bits + (((bits >> 16) & np.uint32(1)) + np.uint32(0x7FFF))) & np.uint32(0xFFFF0000)
    return np.where(np.isnan(x), x, bits.view(np.float32))


def _normalize(x, eps: float):
    """``x / max(||x||, eps)`` for bfloat16 values in a float32 array, so that the spectral
    norm is at most 1 (the first step of the iteration)."""
    norm = _round_bf16(np.sqrt(np.sum(x * x, dtype=np.float32)).reshape(1))
    return _round_bf16(x / _round_bf16(np.maximum(norm, np.float32(eps))))


def _zeropower_via_newtonschulz(grad, ns_coefficients: tuple[float, float, float],
                                ns_steps: int, eps: float):
    """The quintic Newton–Schulz iteration of PyTorch's Muon on a 2-d array: an approximate
    ``U V^T`` of ``grad = U S V^T``, bfloat16 values held in a float32 array."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in ns_coefficients)
    # float64 -> float32 -> bfloat16, the two roundings PyTorch's cast makes
    x = _round_bf16(grad.astype(np.float32))
    tall = grad.shape[0] > grad.shape[1]
    if tall:
        x = x.T
    x = _normalize(x, eps)
    for _ in range(ns_steps):
        gram = _round_bf16(x @ x.T)
        gram_update = _round_bf16(c * (gram @ gram) + b * gram)  # addmm(beta=b, alpha=c)
        x = _round_bf16(gram_update @ x + a * x)  # addmm(x, gram_update, x, beta=a)
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: str | None, param_shape) -> float:
    """The learning rate scaled for the shape ``(A, B)`` of the parameter."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio


class Muon(Optimizer):
    """Muon, for 2-d parameters. See: torch.optim.Muon.

    ``B = momentum*B + (1-momentum)*g`` (a lerp); the update ``g + momentum*(B - g)`` with
    ``nesterov`` (else ``B``) is orthogonalized by ``ns_steps`` quintic Newton–Schulz steps
    with ``ns_coefficients`` in bfloat16 (as PyTorch's), then ``p *= 1 - lr*weight_decay`` and
    ``p -= lr' * O``, where ``lr'`` is ``lr * sqrt(max(1, A/B))`` (``adjust_lr_fn=None`` or
    ``'original'``) or ``0.2 * lr * sqrt(max(A, B))`` (``'match_rms_adamw'``) for an
    ``A x B`` parameter. Parameters that are not 2-d are refused at construction.

    Example:
        >>> opt = Muon([p for p in model.parameters() if p.ndim == 2], lr=0.02)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B,
                                                                DEFAULT_C),
                 eps: float = EPS, ns_steps: int = DEFAULT_NS_STEPS,
                 adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        # (PyTorch checks only the constructor's parameters, not later add_param_group ones)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _init_group(self, group: dict[str, Any]) -> None:
        """Check every gradient and create missing buffers before any parameter moves."""
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            if _arr(p).dtype.kind == "c":
                raise RuntimeError("Muon does not support complex parameters")
            refuse_sparse(g._data, "Muon")
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = self._zeros_like(g)

    def _step_group(self, group: dict[str, Any]) -> None:
        self._init_group(group)
        lr, wd, momentum = group_lr(group), group["weight_decay"], group["momentum"]
        for p, arr, g in self._grads(group):
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            buf = _arr(self.state[p]["momentum_buffer"])
            # float16/bfloat16 tensors compute each op in float32 and round once, as ATen's
            low = arr.dtype.itemsize < 4
            work_buf = buf.astype(np.float32) if low else buf
            work_g = g.astype(np.float32) if low else g
            lerp_(work_buf, work_g, 1 - momentum)
            if low:
                buf[...] = work_buf
                work_buf = buf.astype(np.float32)
            if group["nesterov"]:
                update = work_g.copy()
                lerp_(update, work_buf, momentum)
                if low:
                    update = update.astype(arr.dtype).astype(np.float32)
            else:
                update = work_buf
            ortho = _zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                                group["ns_steps"], group["eps"])
            if p.dtype is bfloat16 and not group["nesterov"]:
                # PyTorch's iteration starts with ``buf.bfloat16().div_(norm)``, and for a
                # bfloat16 buffer ``.bfloat16()`` is the buffer itself: it is normalized in
                # place. Doing the same keeps the state (and later steps) equal.
                buf[...] = _normalize(work_buf, group["eps"])
            adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], p.shape)
            if low:
                work = arr.astype(np.float32)
                work *= np.float32(1 - lr * wd)
                arr[...] = work
                work = arr.astype(np.float32)
                work += np.float32(-adjusted_lr) * ortho
                arr[...] = work
            else:
                arr *= 1 - lr * wd
                arr += -adjusted_lr * ortho.astype(arr.dtype)
