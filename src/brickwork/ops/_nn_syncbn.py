"""The kernels SyncBatchNorm is built from (``torch.batch_norm_stats`` and friends).

PyTorch runs them on CUDA only (``batch_norm_update_stats`` also on the CPU); brickwork runs
them on any device with the same formulas as ATen's CUDA kernels. They are plain array
functions: each computes per-channel statistics or an elementwise map from its arguments and
records no gradient (SyncBatchNorm's own backward calls the ``backward_*`` kernels). Channels are
dimension 1 of (N, C, ...); the statistics are accumulated in float64 and returned in the
accumulation type of the input (float32 for half types, as ATen's ``acc_type``).
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import xp_of


def _acc_dtype(t: Tensor):
    return np.float64 if t.dtype.name == "float64" else np.float32


def _axes(x) -> tuple:
    return (0,) + tuple(range(2, x.ndim))


def _chan(a, ndim: int):
    """A per-channel (C,) array shaped to broadcast over (N, C, ...)."""
    return a.reshape((1, -1) + (1,) * (ndim - 2))


def _wrap(arr, like: Tensor) -> Tensor:
    from ._util import wrap

    return wrap(arr, like)


def _check_input(input: Tensor, op: str) -> None:
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected an input of at least 2 dimensions (N, C, ...), got "
                           f"{input.ndim}")
    if not input.is_floating_point():
        from .reduction import _torch_type_name

        raise NotImplementedError(f'"{op}" not implemented for '
                                  f"'{_torch_type_name(input.dtype)}'")


def _f64(t: Tensor):
    return t._data.astype(np.float64)


def batch_norm_stats(input: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """Per-channel ``(mean, invstd)`` of (N, C, ...), ``invstd = 1 / sqrt(var + eps)`` with the
    biased variance. See: torch.batch_norm_stats."""
    _check_input(input, "batch_norm_stats")
    x = _f64(input)
    mean = x.mean(axis=_axes(x))
    var = x.var(axis=_axes(x))
    xp = xp_of(x)
    dt = _acc_dtype(input)
    return _wrap(mean.astype(dt), input), _wrap((1 / xp.sqrt(var + eps)).astype(dt), input)


def batch_norm_elemt(input: Tensor, weight: Tensor | None, bias: Tensor | None, mean: Tensor,
                     invstd: Tensor, eps: float) -> Tensor:
    """``(x - mean) * invstd * weight + bias`` per channel.

    ``eps`` is part of ATen's signature only: the kernel reads it nowhere (``invstd`` already
    includes it), so it has no effect here either. See: torch.batch_norm_elemt.
    """
    del eps  # already folded into invstd (see the docstring)
    _check_input(input, "batch_norm_elemt")
    x = _f64(input)
    y = (x - _chan(_f64(mean), x.ndim)) * _chan(_f64(invstd), x.ndim)
    if weight is not None:
        y = y * _chan(_f64(weight), x.ndim)
    if bias is not None:
        y = y + _chan(_f64(bias), x.ndim)
    return _wrap(y.astype(input._data.dtype), input)


def batch_norm_gather_stats_with_counts(input: Tensor, mean: Tensor, invstd: Tensor,
                                        running_mean: Tensor | None,
                                        running_var: Tensor | None, momentum: float,
                                        eps: float, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Combine per-process statistics ``mean``/``invstd`` of shape (world, C), each over
    ``counts[i]`` values, into the global ``(mean, invstd)``, updating the running statistics
    in place (unbiased variance). ``input`` gives only the dtype of the running statistics'
    update, as in ATen. See: torch.batch_norm_gather_stats_with_counts."""
    del input  # ATen reads only its dtype, which the running statistics carry here
    m = _f64(mean)
    inv = _f64(invstd)
    n_i = _f64(counts).reshape(-1, 1)
    # Chan et al.'s parallel variance, in ATen's order: merge one process at a time.
    xp = xp_of(m)
    var_i = (1 / (inv * inv) - eps) * n_i            # sum of squared deviations per process
    total = n_i.sum(axis=0)
    avg = (m * n_i).sum(axis=0) / total
    m2 = (var_i + n_i * (m - avg) ** 2).sum(axis=0)
    save_invstd = 1 / xp.sqrt(m2 / total + eps)
    for buf, value in ((running_mean, avg), (running_var, m2 / (total - 1))):
        if buf is not None:
            d = buf._data
            d *= 1 - momentum
            d += (momentum * value).astype(d.dtype, copy=False)
    dt = mean._data.dtype
    return _wrap(avg.astype(dt), mean), _wrap(save_invstd.astype(dt), mean)


def batch_norm_gather_stats(input: Tensor, mean: Tensor, invstd: Tensor,
                            running_mean: Tensor | None, running_var: Tensor | None,
                            momentum: float, eps: float, count: int) -> tuple[Tensor, Tensor]:
    """``batch_norm_gather_stats_with_counts`` with the same ``count`` for every process.

    See: torch.batch_norm_gather_stats.
    """
    counts = mean.new_full((mean.shape[0],), float(count))
    return batch_norm_gather_stats_with_counts(input, mean, invstd, running_mean, running_var,
                                               momentum, eps, counts)


def batch_norm_update_stats(input: Tensor, running_mean: Tensor | None,
                            running_var: Tensor | None,
                            momentum: float) -> tuple[Tensor, Tensor]:
    """Per-channel ``(mean, biased variance)`` of (N, C, ...), and the running statistics
    updated in place (with the unbiased variance). See: torch.batch_norm_update_stats."""
    _check_input(input, "batch_norm_update_stats")
    x = _f64(input)
    axes = _axes(x)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    n = x.size // max(x.shape[1], 1)
    for buf, value in ((running_mean, mean), (running_var, var * n / max(n - 1, 1))):
        if buf is not None:
            d = buf._data
            d *= 1 - momentum
            d += (momentum * value).astype(d.dtype, copy=False)
    dt = _acc_dtype(input)
    return _wrap(mean.astype(dt), input), _wrap(var.astype(dt), input)


def batch_norm_backward_reduce(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor,
                               weight: Tensor | None, input_g: bool, weight_g: bool,
                               bias_g: bool) -> tuple:
    """Per-channel sums for batch norm's backward: ``(sum_dy, sum_dy_xmu, grad_weight,
    grad_bias)`` with ``sum_dy = sum(dy)``, ``sum_dy_xmu = sum(dy * (x - mean))``,
    ``grad_weight = sum_dy_xmu * invstd`` and ``grad_bias = sum_dy``; a result whose flag
    (``input_g``, ``weight_g``, ``bias_g``) is False is None. See:
    torch.batch_norm_backward_reduce."""
    _check_input(input, "batch_norm_backward_reduce")
    x, g = _f64(input), _f64(grad_out)
    axes = _axes(x)
    sum_dy = g.sum(axis=axes)
    sum_dy_xmu = (g * (x - _chan(_f64(mean), x.ndim))).sum(axis=axes)
    st = mean._data.dtype
    wt = weight._data.dtype if weight is not None else st
    return (_wrap(sum_dy.astype(st), mean) if input_g else None,
            _wrap(sum_dy_xmu.astype(st), mean) if input_g else None,
            _wrap((sum_dy_xmu * _f64(invstd)).astype(wt), mean) if weight_g else None,
            _wrap(sum_dy.astype(wt), mean) if bias_g else None)


def batch_norm_backward_elemt(grad_out: Tensor, input: Tensor, mean: Tensor, invstd: Tensor,
                              weight: Tensor | None, sum_dy: Tensor, sum_dy_xmu: Tensor,
                              count: Tensor) -> Tensor:
    """Batch norm's input gradient from the (all-reduced) sums: ``(dy - sum_dy / n - (x - mean)
    * invstd**2 * sum_dy_xmu / n) * invstd * weight`` with ``n = sum(count)``.

    See: torch.batch_norm_backward_elemt.
    """
    _check_input(input, "batch_norm_backward_elemt")
    x, g = _f64(input), _f64(grad_out)
    n = float(_f64(count).sum())
    inv = _chan(_f64(invstd), x.ndim)
    proj = _chan(_f64(sum_dy_xmu), x.ndim) / n * inv * inv
    scale = inv if weight is None else inv * _chan(_f64(weight), x.ndim)
    gi = (g - _chan(_f64(sum_dy), x.ndim) / n - (x - _chan(_f64(mean), x.ndim)) * proj) * scale
    return _wrap(gi.astype(grad_out._data.dtype), grad_out)


__all__ = ["batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats",
           "batch_norm_gather_stats_with_counts", "batch_norm_update_stats",
           "batch_norm_backward_reduce", "batch_norm_backward_elemt"]
