"""More normalization layers: InstanceNorm1d/2d/3d, BatchNorm3d, RMSNorm, LocalResponseNorm,
CrossMapLRN2d, and the lazy LazyBatchNorm3d and LazyInstanceNorm1d/2d/3d.

The instance norms share ``_NormBase`` with the batch norms (same buffers, same repr), but they
normalize each sample's channels over its own spatial positions; with
``track_running_stats`` their running statistics are the batch mean of those per-sample
statistics, and ``num_batches_tracked`` is registered but never advanced, as in PyTorch.
"""
from __future__ import annotations

import warnings

from ... import factories
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops._nn_norm import instance_norm, local_response_norm, rms_norm
from ...ops.join import stack
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from .normalization import _LazyNormBase, _NormBase


class BatchNorm3d(_NormBase):
    """Batch normalization over (N, C, D, H, W).

    Example:
        >>> bn = nn.BatchNorm3d(4)
        >>> bn(brickwork.randn(2, 4, 3, 3, 3)).shape
        brickwork.Size([2, 4, 3, 3, 3])

    See: torch.nn.BatchNorm3d.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim != 5:
            raise ValueError(f"expected 5D input (got {input.ndim}D input)")


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """BatchNorm3d with ``num_features`` read from the first input. See:
    torch.nn.LazyBatchNorm3d."""

    cls_to_become = BatchNorm3d


class _InstanceNorm(_NormBase):
    """Shared forward of the instance norms; subclasses give the unbatched rank."""

    _no_batch_dim = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def _check_input_dim(self, input: Tensor) -> None:
        nd = self._no_batch_dim
        if input.ndim not in (nd, nd + 1):
            raise ValueError(f"expected {nd}D or {nd + 1}D input (got {input.ndim}D input)")

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        # Batch statistics while training, and always when there are no running ones.
        return instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                             self.training or not self.track_running_stats,
                             self.momentum if self.momentum is not None else 0.0, self.eps)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.ndim - self._no_batch_dim
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(f"expected input's size at dim={feature_dim} to match "
                                 f"num_features ({self.num_features}), but got: "
                                 f"{input.shape[feature_dim]}.")
            # Without affine parameters num_features is only used by running statistics.
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. "
                          "You can silence this warning by not passing in num_features, "
                          "which is not used because affine=False", stacklevel=2)
        if input.ndim == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over (N, C, L) or unbatched (C, L). See: torch.nn.InstanceNorm1d."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over (N, C, H, W) or unbatched (C, H, W).

    Example:
        >>> norm = nn.InstanceNorm2d(3, affine=True)
        >>> norm(brickwork.randn(2, 3, 4, 4)).shape
        brickwork.Size([2, 3, 4, 4])

    See: torch.nn.InstanceNorm2d.
    """

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over (N, C, D, H, W) or unbatched (C, D, H, W). See:
    torch.nn.InstanceNorm3d."""

    _no_batch_dim = 4


# As in PyTorch, the lazy instance norms default to affine=True and track_running_stats=True
# (the _LazyNormBase signature), and read num_features from input.shape[1].
class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """InstanceNorm1d with ``num_features`` read from the first input. See:
    torch.nn.LazyInstanceNorm1d."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """InstanceNorm2d with ``num_features`` read from the first input. See:
    torch.nn.LazyInstanceNorm2d."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """InstanceNorm3d with ``num_features`` read from the first input. See:
    torch.nn.LazyInstanceNorm3d."""

    cls_to_become = InstanceNorm3d


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape`` dimensions.

    Args:
        normalized_shape: the trailing shape normalized over (an int means the last dimension).
        eps: added under the square root; None uses the machine epsilon of the input's
            computation type.
        elementwise_affine: learn a per-element scale ``weight`` (initialized to ones).

    Example:
        >>> norm = nn.RMSNorm([2, 3])
        >>> norm(brickwork.randn(4, 2, 3)).shape
        brickwork.Size([4, 2, 3])

    See: torch.nn.RMSNorm.
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(self, normalized_shape, eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(factories.empty(self.normalized_shape, device=device,
                                                    dtype=dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Scale 1: a fresh layer leaves the normalized values alone."""
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Normalize each element by the energy of ``size`` neighbouring channels. See:
    torch.nn.LocalResponseNorm."""

    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class _CrossMapLRN2dFn(Function):
    """The legacy (Lua Torch) cross-channel LRN, forward and backward exactly as PyTorch's
    ``torch.nn.modules._functions.CrossMapLRN2d``.

    Its forward's running window never drops channel 0, and its hand-written backward sums the
    ratios over a window shifted from the forward's; both quirks are kept so that values and
    gradients agree with PyTorch's, channel loops included.
    """

    @staticmethod
    def forward(ctx, input, size, alpha, beta, k):
        channels = input.shape[1]
        with no_grad():
            sq = input * input
            pre_pad = int((size - 1) / 2 + 1)
            first = sq[:, 0] * 0
            for c in range(min(pre_pad, channels)):
                first = first + sq[:, c]
            scales = [first]
            for c in range(1, channels):
                cur = scales[-1]
                if c < channels - pre_pad + 1:
                    cur = cur + sq[:, c + pre_pad - 1]
                if c > pre_pad:
                    cur = cur - sq[:, c - pre_pad]
                scales.append(cur)
            scale = stack(scales, 1) * (alpha / size) + k
            output = scale ** -beta * input
        ctx.size, ctx.alpha, ctx.beta = size, alpha, beta
        ctx.scale = scale
        ctx.save_for_backward(input, output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, output = ctx.saved_tensors
        size, scale = ctx.size, ctx.scale
        channels = input.shape[1]
        cache_ratio_value = 2 * ctx.alpha * ctx.beta / size
        inverse_pre_pad = int(size - (size - 1) / 2)
        if inverse_pre_pad > size - 1:  # size 1: PyTorch's narrow of the ratios overflows
            raise RuntimeError(f"start ({inverse_pre_pad}) + length ({channels}) exceeds "
                               f"dimension size ({channels + size - 1}).")
        with no_grad():
            grad_input = scale ** -ctx.beta * grad_output
            ratio = grad_output * output / scale
            # The ratios sit at [inverse_pre_pad, inverse_pre_pad + C) of C + size - 1 zeros.
            zero = ratio[:, 0] * 0
            padded = ([zero] * inverse_pre_pad + [ratio[:, c] for c in range(channels)]
                      + [zero] * (size - 1 - inverse_pre_pad))
            accum = zero
            for j in range(size - 1):
                accum = accum + padded[j]
            out = []
            for c in range(channels):
                accum = accum + padded[c + size - 1]
                out.append(grad_input[:, c] - cache_ratio_value * input[:, c] * accum)
                accum = accum - padded[c]
            return stack(out, 1), None, None, None, None


class CrossMapLRN2d(Module):
    """Cross-channel local response normalization of (N, C, H, W), the legacy Lua Torch form
    (its window and gradient differ slightly from LocalResponseNorm's).

    See: torch.nn.CrossMapLRN2d.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D "
                             f"instead.")
        return _CrossMapLRN2dFn.apply(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


__all__ = ["BatchNorm3d", "LazyBatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
           "RMSNorm", "LocalResponseNorm", "CrossMapLRN2d"]
