"""SyncBatchNorm: batch normalization whose statistics span every rank of a process group.

In data-parallel training each rank sees a shard of the global batch; SyncBatchNorm normalizes
with the mean and variance of the whole global batch, so a run on N ranks behaves like one
process on the concatenated batch. Per step it costs one all-reduce in forward (per channel:
the sum and sum of squares of the values, plus the count) and one in backward (per channel:
the sums of ``dL/dxhat`` and ``dL/dxhat * xhat``).

brickwork synchronizes CPU tensors too (over MPI), where PyTorch accepts only accelerator
tensors once a process group is up; CUDA tensors go through the group's backend (NCCL or MPI).
Outside training, without a process group, or on a group of one rank, it is exactly
BatchNorm.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ...autograd.function import Function
from ...device import device_of_array
from ...ops._util import xp_of
from ...ops.normalization import _affine_grads, _channel_shape, _scale_shift, batch_norm
from ...tensor import Tensor, _make
from ..module import Module
from .normalization import BatchNorm1d, BatchNorm2d, _NormBase
from .normalization_more import BatchNorm3d

__all__ = ["SyncBatchNorm"]

_F64 = np.dtype(np.float64)


def _compute_dtype(dt):
    # bfloat16 (NumPy kind 'V') and float16 are normalized in float32, as BatchNorm's kernels do.
    return np.dtype(np.float32) if dt.kind == "V" or dt.itemsize < 4 else dt


def _all_reduce_sum(arr, process_group) -> None:
    """Sum ``arr`` in place over ``process_group`` (wrapped without a copy)."""
    from ... import distributed as dist

    dist.all_reduce(_make(arr, device_of_array(arr)), dist.ReduceOp.SUM, process_group)


class SyncBatchNormFunction(Function):
    """The synchronized batch-norm op: forward and backward each all-reduce once."""

    _array_level = True
    _backward_name = "SyncBatchNormBackward"

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, eps, momentum, process_group):
        xp = xp_of(x)
        c = x.shape[1]
        cs = _channel_shape(x.ndim)
        axes = (0,) + tuple(range(2, x.ndim))
        ct = _compute_dtype(x.dtype)
        xc = x.astype(ct, copy=False)
        n_local = x.size // c
        # [sum x (C), sum x^2 (C), count (1)] in float64, summed over the ranks in one call.
        stats = xp.zeros(2 * c + 1, _F64)
        if x.size:
            # The sums are taken about this rank's (rounded) mean K: sum(x) = n K + sum(x - K)
            # and sum(x^2) = sum((x - K)^2) + 2 K sum(x - K) + n K^2, which keeps the local
            # cancellation out of float32 when the mean is large next to the spread.
            k = xc.mean(axis=axes, dtype=_F64)
            d = xc - k.astype(ct).reshape(cs)
            k = k.astype(ct).astype(_F64)
            s1 = d.sum(axis=axes, dtype=_F64)
            s2 = (d * d).sum(axis=axes, dtype=_F64)
            stats[:c] = n_local * k + s1
            stats[c:2 * c] = s2 + 2 * k * s1 + n_local * k * k
            stats[2 * c] = n_local
        _all_reduce_sum(stats, process_group)
        n = float(stats[2 * c])
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = stats[:c] / n
            var = xp.maximum(stats[c:2 * c] / n - mean * mean, 0.0)
            if running_mean is not None and running_var is not None:
                # The unbiased variance over the global count, as BatchNorm on the whole batch.
                unbiased = var * (n / (n - 1)) if n > 1 else var * float("inf")
                running_mean *= 1 - momentum
                running_mean += (momentum * mean).astype(running_mean.dtype, copy=False)
                running_var *= 1 - momentum
                running_var += (momentum * unbiased).astype(running_var.dtype, copy=False)
        invstd = (1.0 / xp.sqrt(var + eps)).astype(ct).reshape(cs)
        ctx.n, ctx.w, ctx.invstd, ctx.group = n, w, invstd, process_group
        if not x.size:
            ctx.xhat = xc
            return xp.empty_like(x)
        xhat = (xc - mean.astype(ct).reshape(cs)) * invstd
        ctx.xhat = xhat
        return _scale_shift(xhat, w, b, cs).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        ni = ctx.needs_input_grad
        xhat, w = ctx.xhat, ctx.w
        xp = xp_of(xhat)
        c = xhat.shape[1]
        axes = (0,) + tuple(range(2, xhat.ndim))
        gc = g.astype(xhat.dtype, copy=False)
        wc = None if w is None else w.astype(xhat.dtype, copy=False)
        gw, gb, h = _affine_grads(gc, xhat, wc, axes, (ni[0], ni[1], ni[2]))
        gx = None
        if ni[0]:
            # Every rank joins the all-reduce, an empty shard with zeros, or its peers would wait.
            sums = xp.zeros(2 * c, _F64)
            if xhat.size:
                sums[:c] = h.sum(axis=axes, dtype=_F64)
                sums[c:] = (h * xhat).sum(axis=axes, dtype=_F64)
            _all_reduce_sum(sums, ctx.group)
            cs = _channel_shape(xhat.ndim)
            mh = (sums[:c] / ctx.n).astype(xhat.dtype).reshape(cs)
            mhx = (sums[c:] / ctx.n).astype(xhat.dtype).reshape(cs)
            gx = ((h - mh - xhat * mhx) * ctx.invstd).astype(g.dtype, copy=False)
        # weight and bias keep this rank's gradient: DistributedDataParallel averages them.
        if gw is not None:
            gw = gw.astype(w.dtype, copy=False)
        if gb is not None:
            gb = gb.astype(w.dtype if w is not None else g.dtype, copy=False)
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def composite(*args):
        """Second derivatives would need a differentiable all-reduce: refused, by name."""
        raise RuntimeError("SyncBatchNorm does not support double backward "
                           "(create_graph=True through a synchronized batch norm)")


class SyncBatchNorm(_NormBase):
    r"""Batch normalization over (N, C, \*) with statistics over every rank of a process group.

    Args:
        num_features: C, the number of channels.
        eps: added to the variance for stability.
        momentum: weight of the new statistic in the running ones (None: cumulative average).
        affine: learn a per-channel ``weight`` and ``bias``.
        track_running_stats: keep ``running_mean``/``running_var`` for evaluation.
        process_group: the group whose ranks share statistics (None: the default group).
        device: where parameters and buffers live.
        dtype: their floating-point type.
        bias: with ``affine``, learn the shift too.

    Training with an initialized process group of more than one rank normalizes with the
    global batch's mean and variance; otherwise (eval mode, no process group, one rank) it is
    BatchNorm. Unlike PyTorch, CPU tensors synchronize too (brickwork's MPI backend).

    Example:
        >>> bn = nn.SyncBatchNorm(6)
        >>> bn(brickwork.randn(8, 6, 4, 4)).shape
        brickwork.Size([8, 6, 4, 4])

    See: torch.nn.SyncBatchNorm.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any | None = None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            if self.num_batches_tracked is None:
                raise AssertionError("num_batches_tracked must not be None")
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        running_mean = self.running_mean if use_running else None
        running_var = self.running_var if use_running else None
        group = None
        if bn_training and self.training:
            group = self._sync_group()
        if group is None:
            return batch_norm(input, running_mean, running_var, self.weight, self.bias,
                              bn_training, factor, self.eps)
        return SyncBatchNormFunction.apply(input, self.weight, self.bias, running_mean,
                                           running_var, self.eps, factor, group)

    def _sync_group(self):
        """The group to synchronize over, or None when there is nothing to synchronize."""
        from ... import distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return None
        group = self.process_group if self.process_group is not None else dist.group.WORLD
        return group if dist.get_world_size(group) > 1 else None

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Replace every BatchNorm1d/2d/3d in ``module`` by a SyncBatchNorm.

        The new layers share the old ones' parameters and buffers (same tensors, so
        ``requires_grad`` carries over) and their training flag; ``module`` itself is
        returned, or a new SyncBatchNorm when it is a batch norm.

        Args:
            module: a module tree holding batch-norm layers.
            process_group: the group the new layers synchronize over (None: the default).

        Returns:
            The converted module.

        Example:
            >>> net = nn.Sequential(nn.Linear(20, 100), nn.BatchNorm1d(100))
            >>> type(nn.SyncBatchNorm.convert_sync_batchnorm(net)[1]).__name__
            'SyncBatchNorm'

        See: torch.nn.SyncBatchNorm.convert_sync_batchnorm.
        """
        out = module
        if isinstance(module, (BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm)):
            out = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                                module.affine, module.track_running_stats, process_group,
                                bias=module.bias is not None)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
