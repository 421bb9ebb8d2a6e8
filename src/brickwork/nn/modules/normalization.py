"""Normalization layers: BatchNorm1d/2d, LazyBatchNorm1d/2d, LayerNorm, GroupNorm.

Batch normalization keeps ``running_mean``/``running_var`` (and the int64
``num_batches_tracked``) as buffers, updated in place while training; ``eval()`` switches to
them. The maths is in ``brickwork/ops/normalization.py``.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ... import dtypes, factories
from ...device import on_device
from ...ops.normalization import batch_norm, group_norm, layer_norm
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin



def _register_affine(module: Module, affine: bool, bias: bool, shape, kw: dict) -> None:
    """The learnable scale ``weight`` and shift ``bias`` of a normalization (or None)."""
    module.register_parameter("weight", Parameter(factories.empty(shape, **kw))
                              if affine else None)
    module.register_parameter("bias", Parameter(factories.empty(shape, **kw))
                              if affine and bias else None)


def _reset_affine(module: Module) -> None:
    """Scale 1 and shift 0: a freshly built normalization leaves its input's scale alone."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = {"device": device, "dtype": dtype}
        _register_affine(self, affine, bias, num_features, kw)
        if track_running_stats:
            self.register_buffer("running_mean", factories.zeros(num_features, **kw))
            self.register_buffer("running_var", factories.ones(num_features, **kw))
            self.register_buffer("num_batches_tracked",
                                 factories.tensor(0, dtype=dtypes.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, and no batches seen."""
        if self.track_running_stats:
            # Written through the arrays (buffers are outside autograd), with the buffers' GPU
            # current: CuPy writes on the current device.
            dev = self.running_mean.device
            with on_device(dev) if dev.type == "cuda" else contextlib.nullcontext():
                self.running_mean._data[...] = 0
                self.running_var._data[...] = 1
                self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked._data)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if use_running else None,
                          self.running_var if use_running else None, self.weight, self.bias,
                          bn_training, factor, self.eps)


class BatchNorm1d(_NormBase):
    """Batch normalization over (N, C) or (N, C, L). See: torch.nn.BatchNorm1d."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_NormBase):
    """Batch normalization over (N, C, H, W).

    Example:
        >>> bn = nn.BatchNorm2d(6)
        >>> bn(brickwork.randn(8, 6, 4, 4)).shape
        brickwork.Size([8, 6, 4, 4])

    See: torch.nn.BatchNorm2d.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class _LazyNormBase(LazyModuleMixin, _NormBase):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=bias)
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._use_bias = bias
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = factories.tensor(0, dtype=dtypes.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            for name in ("weight", "bias", "running_mean", "running_var"):
                t = getattr(self, name)
                if t is not None:
                    t.materialize((self.num_features,))
            self.reset_parameters()
        elif self.num_features == 0:  # materialized by load_state_dict
            ref = self.weight if self.weight is not None else self.running_mean
            if ref is not None:
                self.num_features = ref.shape[0]


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """BatchNorm1d with ``num_features`` read from the first input. See:
    torch.nn.LazyBatchNorm1d."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """BatchNorm2d with ``num_features`` read from the first input. See:
    torch.nn.LazyBatchNorm2d."""

    cls_to_become = BatchNorm2d


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` dimensions. See: torch.nn.LayerNorm."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _register_affine(self, elementwise_affine, bias, self.normalized_shape,
                         {"device": device, "dtype": dtype})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalize each sample over groups of channels. See: torch.nn.GroupNorm."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _register_affine(self, affine, bias, num_channels, {"device": device, "dtype": dtype})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


__all__ = ["BatchNorm1d", "BatchNorm2d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LayerNorm",
           "GroupNorm"]
