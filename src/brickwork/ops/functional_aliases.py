"""Top-level ``torch.xxx`` forms of functional ops brickwork has under ``nn.functional``.

PyTorch exposes these with their ATen signatures, which differ from ``torch.nn.functional``'s:
``batch_norm`` takes every argument positionally (weight and bias before the running
statistics), ``embedding`` takes ``weight`` first, losses take ``reduction`` as an int
(0 none, 1 mean, 2 sum), pools default ``stride=[]`` to the kernel size. Each function here maps
that signature onto the ``nn.functional`` implementation.
"""
from __future__ import annotations

import warnings

from ..tensor import Tensor
# shape before conv: conv's helpers import join, and the shape/join import cycle resolves only
# when shape is loaded first (ops/__init__ imports this module before shape).
from . import shape as _shape  # noqa: F401  isort: skip
from . import activation_extra as _act
from . import conv as _conv
from . import linear as _linear
from . import normalization as _norm
from . import pooling as _pool
from . import loss as _loss
from ._loss_common import aten_reduction_name

# Same signature at top level as in nn.functional: torch.conv2d is torch.nn.functional.conv2d.
conv1d = _conv.conv1d
conv2d = _conv.conv2d
conv_transpose1d = _conv.conv_transpose1d
conv_transpose2d = _conv.conv_transpose2d
bilinear = _linear.bilinear
adaptive_avg_pool1d = _pool.adaptive_avg_pool1d


def _stride(stride):
    """ATen's pools take ``stride=[]`` for "the kernel size"; nn.functional takes None."""
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return None
    return stride


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """1-D max pooling (values only). See: torch.max_pool1d."""
    return _pool.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """2-D max pooling (values only). See: torch.max_pool2d."""
    return _pool.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple[Tensor, Tensor]:
    """1-D max pooling returning ``(values, indices)``. See: torch.max_pool1d_with_indices."""
    return tuple(_pool.max_pool1d(input, kernel_size, _stride(stride), padding, dilation,
                                  ceil_mode, return_indices=True))


def avg_pool1d(input: Tensor, kernel_size, stride=(), padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling. See: torch.avg_pool1d."""
    return _pool.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                            count_include_pad)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None,
               running_mean: Tensor | None, running_var: Tensor | None, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """Batch normalization with ATen's all-positional signature.

    ``cudnn_enabled`` only chooses PyTorch's cuDNN kernel, which gives the same result;
    brickwork has no cuDNN, so it has no effect. See: torch.batch_norm.
    """
    del cudnn_enabled  # a kernel choice, not a change in the result (see docstring)
    return _norm.batch_norm(input, running_mean, running_var, weight, bias, training,
                            momentum, eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    """Layer normalization; ``cudnn_enable`` (a kernel choice in PyTorch, same result) has no
    effect in brickwork. See: torch.layer_norm."""
    del cudnn_enable  # a kernel choice, not a change in the result (see docstring)
    return _norm.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    """Group normalization; ``cudnn_enabled`` (a kernel choice in PyTorch, same result) has no
    effect in brickwork. See: torch.group_norm."""
    del cudnn_enabled  # a kernel choice, not a change in the result (see docstring)
    return _norm.group_norm(input, num_groups, weight, bias, eps)


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by ``indices`` (note: weight first, unlike
    ``nn.functional.embedding``).

    As in ATen, ``padding_idx`` counts only when it is a valid non-negative row (its row then
    gets no gradient); -1, the default, and other negatives mean no padding row.
    ``sparse=True`` gives ``weight`` a sparse COO gradient. See: torch.embedding.
    """
    n = weight.shape[0] if weight.ndim else 0
    pad = padding_idx if 0 <= padding_idx < n else None
    return _norm.embedding(indices, weight, pad, scale_grad_by_freq=scale_grad_by_freq,
                           sparse=sparse)


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        # {p:g}: PyTorch prints the double C++-stream style (2, not 2.0).
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p:g}")


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout with ATen's signature (``p`` and ``train`` required). See: torch.dropout."""
    _check_p(p)
    return _act.dropout(input, p, bool(train))


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``dropout``. See: torch.dropout_."""
    _check_p(p)
    return _act.dropout(input, p, bool(train), inplace=True)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    _check_p(p)
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if input.ndim == 2:
        # Features of an (N, C) input are single elements: the mask is elementwise.
        return _act.dropout(input, p, bool(train), inplace=inplace)
    # dropout1d masks (N, C, 1, ...) for any batched rank >= 3, as feature_dropout does.
    return _norm.dropout1d(input, p, bool(train), inplace=inplace)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero whole features (dimension 1 of (N, C, ...)) with probability ``p``, scaling the
    rest by ``1 / (1 - p)``. See: torch.feature_dropout."""
    return _feature_dropout(input, p, train, inplace=False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_dropout``. See: torch.feature_dropout_."""
    return _feature_dropout(input, p, train, inplace=True)


def relu_(input: Tensor) -> Tensor:
    """In-place ReLU. See: torch.relu_."""
    return input.relu_()


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *,
           log_target: bool = False) -> Tensor:
    """KL divergence with ATen's int ``reduction`` (1, mean, averages over every element, with
    no warning, as in PyTorch). Without ``reduction`` PyTorch 2.13's binding returns the
    unreduced losses (its schema says mean); brickwork does the same. See: torch.kl_div."""
    name = aten_reduction_name(reduction, "kl_div")
    if name == "mean":
        # nn.functional warns that 'mean' is not 'batchmean'; torch.kl_div does not.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
            return _loss.kl_div(input, target, reduction="mean", log_target=log_target)
    return _loss.kl_div(input, target, reduction=name, log_target=log_target)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None,
                                     reduction: int = 0) -> Tensor:
    """Sigmoid + binary cross-entropy with ATen's argument order and int ``reduction``
    (unreduced by default, as PyTorch 2.13's binding behaves). See:
    torch.binary_cross_entropy_with_logits."""
    name = aten_reduction_name(reduction, "binary_cross_entropy_with_logits")
    return _loss.binary_cross_entropy_with_logits(input, target, weight, reduction=name,
                                                  pos_weight=pos_weight)


def constant_pad_nd(input: Tensor, pad, value: float = 0) -> Tensor:
    """Pad the last dimensions with ``value`` (negative amounts crop). See:
    torch.constant_pad_nd."""
    pad = list(pad)
    if len(pad) % 2:
        raise RuntimeError(f"Length of pad must be even but instead it equals {len(pad)}")
    return _conv.pad(input, pad, "constant", value)


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__: list = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "bilinear",
                 "adaptive_avg_pool1d", "max_pool1d", "max_pool2d", "avg_pool1d", "batch_norm",
                 "layer_norm", "group_norm", "embedding", "dropout", "dropout_", "feature_dropout",
                 "feature_dropout_", "max_pool1d_with_indices", "relu_",
                 "kl_div", "binary_cross_entropy_with_logits", "constant_pad_nd"]
