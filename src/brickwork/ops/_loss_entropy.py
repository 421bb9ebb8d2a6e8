"""Binary cross entropy (on probabilities and on logits) and KL divergence.

Split from ``loss.py`` for size; ``loss.py`` re-exports them, and ``nn.functional`` takes
them from there.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from . import _loss_common as checks
from ._bf16 import float32_compute
from ._loss_common import expand_grad as _expand_grad
from ._loss_common import reduce as _reduce
from ._loss_common import reduction_name as _reduction
from ._util import promote, unbroadcast, xp_of

# -- binary cross entropy ----------------------------------------------------------------------


class BinaryCrossEntropy(Function):
    _array_level = True
    _backward_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, p, t, w, reduction):
        # PyTorch clamps each log at -100 so that p = 0 or 1 gives a finite loss.
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100)
            l1p = np.maximum(np.log1p(-p), -100)
        loss = -(t * lp + (1 - t) * l1p)
        if w is not None:
            loss = loss * w
        ctx.saved = (p, t, w, lp, l1p)
        ctx.reduction = reduction
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        p, t, w, lp, l1p = ctx.saved
        ge = _expand_grad(g, p.shape, ctx.reduction, p.dtype)
        if w is not None:
            ge = ge * w
        ni = ctx.needs_input_grad
        gp = gt = None
        if ni[0]:
            gp = ge * (p - t) / np.maximum((1 - p) * p, 1e-12)
        if ni[1]:
            gt = ge * (l1p - lp)
        return gp, gt, None, None


@float32_compute
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities ``input``. See:
    torch.nn.functional.binary_cross_entropy."""
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    checks.check_binary_cross_entropy(input, target)
    p = input._data
    if p.size and ((p < 0) | (p > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    w = None
    if weight is not None:
        w = np.broadcast_to(weight._data, p.shape).astype(p.dtype, copy=False)
    return BinaryCrossEntropy.apply(input, target, w, reduction)


class BinaryCrossEntropyWithLogits(Function):
    _array_level = True
    _backward_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, t, w, pw, reduction):
        # log(sigmoid(x)) = -(max(-x, 0) + log1p(exp(-|x|))): never exponentiates a large x.
        softplus_neg = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        log_sig, log_sig_neg = -softplus_neg, -softplus_neg - x
        if pw is None:
            loss = -(t * log_sig + (1 - t) * log_sig_neg)
        else:
            loss = -(pw * t * log_sig + (1 - t) * log_sig_neg)
        if w is not None:
            loss = loss * w
        ctx.saved = (x, t, w, pw, log_sig, log_sig_neg)
        ctx.reduction = reduction
        out = _reduce(loss, reduction)
        return out

    @staticmethod
    def backward(ctx, g):
        x, t, w, pw, log_sig, log_sig_neg = ctx.saved
        shape = np.broadcast_shapes(x.shape, t.shape)
        ge = _expand_grad(g, shape, ctx.reduction, x.dtype)
        if w is not None:
            ge = ge * w
        sig = np.exp(log_sig)
        ni = ctx.needs_input_grad
        gx = gt = None
        if ni[0]:
            d = sig - t if pw is None else sig * (pw * t + 1 - t) - pw * t
            gx = unbroadcast(ge * d, x.shape)
        if ni[1]:
            d = log_sig_neg - log_sig if pw is None else log_sig_neg - pw * log_sig
            gt = unbroadcast(ge * d, t.shape)
        return gx, gt, None, None, None


@float32_compute
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy in one numerically stable step.

    See: torch.nn.functional.binary_cross_entropy_with_logits.
    """
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    out_dtype = checks.bce_with_logits_dtype(input, target)
    dt = input._data.dtype
    w = None if weight is None else weight._data.astype(dt, copy=False)
    pw = None if pos_weight is None else pos_weight._data.astype(dt, copy=False)
    out = BinaryCrossEntropyWithLogits.apply(input, target, w, pw, reduction)
    # PyTorch computes in place on (1 - target): the result has target's dtype.
    return out if out.dtype == out_dtype else out.to(out_dtype)


# -- KL divergence -----------------------------------------------------------------------------


class KLDiv(Function):
    _array_level = True
    _backward_name = "KlDivBackward0"

    @staticmethod
    def forward(ctx, x, t, reduction, log_target):
        if log_target:
            et = np.exp(t)
            loss = et * (t - x)
        else:
            # PyTorch's xlogy(t, t) - t * x: a zero target contributes 0, not 0 * log(0).
            logt = np.log(np.where(t > 0, t, 1))
            et = t
            loss = t * logt - t * x
            ctx.logt = logt
        ctx.saved = (x, t, et)
        ctx.reduction, ctx.log_target = reduction, log_target
        if reduction == "batchmean":
            return loss.sum() / (x.shape[0] if x.ndim else 1)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, et = ctx.saved
        red = ctx.reduction
        if red == "batchmean":
            ge = xp_of(x).broadcast_to(g / (x.shape[0] if x.ndim else 1), x.shape)
        else:
            ge = _expand_grad(g, x.shape, red, x.dtype)
        ni = ctx.needs_input_grad
        gx = gt = None
        if ni[0]:
            gx = -ge * et
        if ni[1]:
            if ctx.log_target:
                gt = ge * et * (t - x + 1)
            else:
                gt = ge * np.where(t > 0, ctx.logt + 1 - x, 0)
        return gx, gt, None, None


@float32_compute
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with log-probabilities ``input`` and probabilities (or log-) ``target``.

    See: torch.nn.functional.kl_div.
    """
    if reduction != "batchmean":
        reduction = _reduction(reduction, size_average, reduce)
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and "
                          "the support size.'batchmean' divides only by the batch size, and "
                          "aligns with the KL div math definition.'mean' will be changed to "
                          "behave the same as 'batchmean' in the next major release.",
                          stacklevel=2)
    checks.check_kl_div(input, target)
    a, b = promote(input, target)
    return KLDiv.apply(a, b, reduction, bool(log_target))


__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]
