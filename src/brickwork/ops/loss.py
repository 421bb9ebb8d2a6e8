"""Loss functions, each a Function with a hand-written, numerically stable backward.

cross_entropy is fused (log-softmax + weighted negative log-likelihood in one node): every
variant (class indices or probabilities, ``weight``, ``ignore_index``, ``label_smoothing``,
any reduction) is ``loss = -sum(A * log_softmax(x))`` for a coefficient array ``A``, whose
gradient is simply ``softmax(x) * sum_c(A) - A``. This avoids materialising separate
softmax/log/gather nodes and never computes ``log(softmax)`` (which underflows to -inf).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor
from . import _loss_common as checks
from ._bf16 import float32_compute
from ._loss_common import expand_grad as _expand_grad
from ._loss_common import reduce as _reduce
from ._loss_common import reduction_name as _reduction
from ._loss_entropy import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                            kl_div)
from . import _rowwise
from ._util import numpy_floats, promote, unbroadcast, xp_of

def _log_softmax(x, axis):
    if 0 in x.shape:  # nothing to normalize (and max() of an empty axis has no value)
        return x
    if numpy_floats(x):
        # a language model's logits (tokens x vocabulary) are the largest array of its step:
        # block by block of rows on threads, no full-size exp temporary (``_rowwise.py``)
        return _rowwise.softmax(x, axis, log=True)
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def _exp_scaled(z, scale):
    """``exp(z) * scale`` (a scalar)."""
    if numpy_floats(z):
        return _rowwise.exp_scaled(z, scale)
    out = np.exp(z)
    out *= scale
    return out


# -- cross entropy and nll ---------------------------------------------------------------------


class WeightedLogLikelihood(Function):
    """``-sum_c A * z`` with z = log_softmax(x) (``fused``) or z = x (nll_loss on log-probs).

    A 'mean' is the sum divided by ``denom`` (a 0-d array). When ``denom`` is 0 (an empty
    batch, every target ignored or of weight 0) the loss is PyTorch's 0/0 = nan, and its
    gradient has terms only where PyTorch's has (``mask``: the counted targets' classes, every
    class of a counted sample under label smoothing); elsewhere it is 0, not 0 * inf. Then
    ``mask`` is ``(mask, nll_coef)``: with label smoothing PyTorch divides the nll term
    (``nll_coef``) and the smoothing term by 0 apart, and adds them.
    """

    _array_level = True
    _backward_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, coef, reduction, fused, denom=None, mask=None):
        z = _log_softmax(x, 1) if fused else x
        # 0.0 - s, not -s: a sample with no terms gives +0, as in PyTorch.
        per = 0.0 - (coef * z).sum(axis=1)
        ctx.coef, ctx.reduction, ctx.fused, ctx.x_dtype = coef, reduction, fused, x.dtype
        ctx.denom, ctx.mask = denom, mask
        if fused and ctx.needs_input_grad[0]:
            ctx.z = z
        if reduction == "none":
            return per
        total = per.sum()
        if denom is None:
            return total
        with np.errstate(divide="ignore", invalid="ignore"):
            if mask is not None and mask[1] is not None:
                nll = 0.0 - (mask[1] * z).sum()
                return nll / denom + (total - nll) / denom
            return total / denom

    @staticmethod
    def backward(ctx, g):
        coef = ctx.coef
        if ctx.reduction == "none":
            g = np.expand_dims(g, 1)
        else:
            if ctx.denom is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    g = g / ctx.denom
            g = g.reshape((1,) * coef.ndim)
        if ctx.mask is not None:  # denom is 0: PyTorch's terms only (see the class docstring)
            with np.errstate(invalid="ignore"):
                gz = xp_of(coef).where(ctx.mask[0], -coef * g, 0)
                gx = gz - np.exp(ctx.z) * gz.sum(axis=1, keepdims=True) if ctx.fused else gz
        elif ctx.fused:
            p = np.exp(ctx.z)
            gx = (p * coef.sum(axis=1, keepdims=True) - coef) * g
        else:
            gx = -coef * g
        return gx.astype(ctx.x_dtype, copy=False), None, None, None, None, None


class NllLoss2d(WeightedLogLikelihood):
    _array_level = True
    _backward_name = "NllLoss2DBackward0"


def _index_coef(x, t, weight, ignore_index, reduction, smoothing):
    """For class-index targets: the coefficient array A (see the module docstring), the divisor
    of a 'mean' (the counted targets' total weight; None for other reductions) and, when that
    divisor is 0, the mask of ``WeightedLogLikelihood``.

    Shapes and dtypes are checked by the caller (``checks.index_target``).
    """
    xp = xp_of(x)
    n_cls = x.shape[1]
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_cls))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    tc = xp.where(valid, t, 0)
    w = xp.ones(n_cls, dtype=x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
    wt = w[tc] * valid  # (N, ...) weight of each sample's class, 0 where ignored
    onehot = xp.expand_dims(tc, 1) == xp.arange(n_cls).reshape((1, -1) + (1,) * (t.ndim - 1))
    coef = onehot * xp.expand_dims(wt * (1 - smoothing), 1)
    nll_coef = coef
    if smoothing:
        wb = w.reshape((1, -1) + (1,) * (t.ndim - 1))
        coef = coef + xp.expand_dims(valid, 1) * wb * (smoothing / n_cls)
    coef = coef.astype(x.dtype, copy=False)
    if reduction != "mean":
        return coef, None, None
    denom = wt.sum().astype(x.dtype)  # PyTorch's weighted mean
    mask = None
    if not denom:  # one host read; the rare 0/0 case needs the mask
        mask = (xp.expand_dims(valid, 1) & (True if smoothing else onehot),
                nll_coef.astype(x.dtype, copy=False) if smoothing else None)
    return coef, denom, mask




@float32_compute
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits ``input`` (N, C, ...) and class indices or probabilities.

    Args:
        input: unnormalized scores, (C,), (N, C) or (N, C, d1, ...).
        target: int64 class indices (N, d1, ...) or class probabilities shaped like input.
        weight: optional per-class rescaling (C,).
        ignore_index: class-index targets equal to this contribute nothing.
        reduction: 'mean' (weighted mean), 'sum' or 'none'.
        label_smoothing: mix the target with the uniform distribution by this amount.

    Example:
        >>> loss = cross_entropy(brickwork.randn(4, 10), brickwork.tensor([1, 0, 9, 3]))

    See: torch.nn.functional.cross_entropy.
    """
    reduction = _reduction(reduction, size_average, reduce)
    # PyTorch checks the upper bound only; a negative amount means no smoothing.
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    smoothing = max(float(label_smoothing), 0.0)
    if tuple(target.shape) == tuple(input.shape):  # PyTorch's test for class probabilities
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction, smoothing)
    if input.ndim == 0:  # log_softmax over dim 1
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    checks.check_log_softmax_input(input)
    x, t, unbatched = checks.index_target(input, target, weight, kernel_check=False)
    if x.ndim == 2 and weight is None and not smoothing and t.dtype == np.int64:
        if not unbatched:
            return _CrossEntropyIndices.apply(input, t, ignore_index, reduction)
        return _apply_nll(input, x, _index_coef(x, t, None, ignore_index, reduction, 0.0),
                          reduction, unbatched, fused=True)
    coef = _index_coef(x, t, None if weight is None else weight._data, ignore_index, reduction,
                       smoothing)
    return _apply_nll(input, x, coef, reduction, unbatched, fused=True)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, smoothing):
    """cross_entropy against class probabilities, in the dtype PyTorch's ``-(log_softmax(x) *
    target * weight).sum()`` gives: the promotion of all three (log_softmax in input's dtype,
    the products in the promoted one)."""
    checks.check_probability_target(target, ignore_index)
    if input.ndim == 0:
        raise IndexError("Dimension specified as 1 but tensor has no dimensions")
    n_cls = input.shape[0 if input.ndim == 1 else 1]
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_cls):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{n_cls} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    checks.check_log_softmax_input(input)
    rt = _dt.result_type(input, target) if weight is None else \
        _dt.result_type(input, target, weight)
    x, t = input._data, target._data.astype(rt.np, copy=False)
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], t[None]
    coef = t * (1 - smoothing) + smoothing / n_cls if smoothing else t
    if weight is not None:
        coef = coef * weight._data.astype(rt.np, copy=False).reshape(
            (1, -1) + (1,) * (x.ndim - 2))
    denom = None
    if reduction == "mean":  # over the samples; 0/0 = nan for an empty input, as PyTorch
        denom = float(x.size // n_cls if x.size else 0)
    return _apply_nll(input, x, coef.astype(rt.np, copy=False), reduction, unbatched,
                      fused=True, denom=denom)


class _CrossEntropyIndices(Function):
    """The common case (N, C) logits with int64 class indices, no weight or smoothing; with
    ``fused`` False, nll_loss's (N, C) log-probabilities.

    Picks each row's log-probability instead of building the dense coefficient array of the
    general path: in a training step of a small MLP that array cost more than the loss itself
    (nll_loss of one row by the general path: 31 us against PyTorch's 5).
    """

    _array_level = True
    _backward_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, t, ignore_index, reduction, fused=True):
        n, n_cls = x.shape
        valid = t != ignore_index
        # One host read in the common case (every target a valid class): on a GPU each read
        # waits for the queued kernels, so the details are only looked at when something is off.
        unusual = (~valid) | (t < 0) | (t >= n_cls)
        all_valid = not bool(unusual.any())
        if not all_valid:
            bad = valid & ((t < 0) | (t >= n_cls))
            if bad.any():
                raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
            all_valid = bool(valid.all())
        tc = t if all_valid else np.where(valid, t, 0)
        rows = xp_of(x).arange(n)
        z = _log_softmax(x, 1) if fused else x
        per = -z[rows, tc]
        if not all_valid:
            per = per * valid
        count = n if all_valid else int(valid.sum())
        ctx.z, ctx.tc, ctx.rows, ctx.valid = z, tc, rows, None if all_valid else valid
        ctx.reduction, ctx.count, ctx.fused = reduction, count, fused
        if reduction == "none":
            return per
        total = per.sum()
        if reduction == "sum":
            return total
        # A mean over zero targets (an empty batch, or every target ignored) is nan, as in
        # PyTorch.
        with np.errstate(divide="ignore", invalid="ignore"):
            return total / x.dtype.type(count)

    @staticmethod
    def backward(ctx, g):
        if not ctx.fused:  # d(-z[row, t])/dz: one entry per counted row
            return _picked_grad(ctx, g), None, None, None, None
        if ctx.valid is None and (ctx.reduction == "sum" or
                                  (ctx.reduction == "mean" and ctx.count)):
            # the common case (every target counted, one scale): exp and scale in one sweep
            scale = (g if ctx.reduction == "sum" else g / ctx.count).astype(ctx.z.dtype)
            gx = _exp_scaled(ctx.z, scale)
            gx[ctx.rows, ctx.tc] -= scale
            return gx, None, None, None, None
        gx = np.exp(ctx.z)
        gx[ctx.rows, ctx.tc] -= 1
        if ctx.valid is not None:
            gx *= ctx.valid[:, None]
            gx += 0.0  # ignored rows: +0, not the -0 of (p - 1) * 0
        if ctx.reduction == "none":
            gx *= g[:, None]
        elif ctx.reduction == "sum":
            gx *= g.astype(gx.dtype)
        elif ctx.count:
            gx *= (g / ctx.count).astype(gx.dtype)
        # else nothing was counted: every row is already 0 (masked above), as in PyTorch
        return gx, None, None, None, None


def _picked_grad(ctx, g):
    """nll_loss's input gradient: minus the output gradient (per row, or scaled by the count
    of a mean) at each counted row's target, zero elsewhere."""
    z = ctx.z
    if ctx.reduction == "none":
        vals = -g.astype(z.dtype, copy=False)
    elif ctx.reduction == "mean" and not ctx.count:  # nothing counted: no terms, as PyTorch
        return xp_of(z).zeros_like(z)
    else:
        scale = g if ctx.reduction == "sum" else g / ctx.count
        vals = xp_of(z).full(z.shape[:1], -scale, dtype=z.dtype)
    if ctx.valid is not None:
        vals = vals * ctx.valid
    gx = xp_of(z).zeros_like(z)
    gx[ctx.rows, ctx.tc] = vals
    return gx


def _apply_nll(input, x, coef, reduction, unbatched, fused, denom=None):
    """Record the loss node; ``coef`` is an array, or ``_index_coef``'s (coef, denom, mask)."""
    mask = None
    if isinstance(coef, tuple):
        coef, denom, mask = coef
    cls = NllLoss2d if x.ndim == 4 else WeightedLogLikelihood
    # Feed the batched view through the graph, so the gradient arrives in input's shape.
    src = input if not unbatched else _Unsqueeze0.apply(input)
    out = cls.apply(src, coef, reduction, fused, denom, mask)
    if unbatched and reduction == "none":
        out = _Squeeze0.apply(out)
    return out


class _Unsqueeze0(Function):
    _array_level = True
    _backward_name = "UnsqueezeBackward0"

    @staticmethod
    def forward(ctx, x):
        return x[None]

    @staticmethod
    def backward(ctx, g):
        return g[0]


class _Squeeze0(Function):
    _array_level = True
    _backward_name = "SqueezeBackward1"

    @staticmethod
    def forward(ctx, x):
        return x.reshape(x.shape[1:])

    @staticmethod
    def backward(ctx, g):
        return g[None]


@float32_compute
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities ``input``.

    See: torch.nn.functional.nll_loss.
    """
    reduction = _reduction(reduction, size_average, reduce)
    x, t, unbatched = checks.index_target(input, target, weight, kernel_check=True)
    if x.ndim == 2 and weight is None and t.dtype == np.int64 and not unbatched:
        return _CrossEntropyIndices.apply(input, t, ignore_index, reduction, False)
    coef = _index_coef(x, t, None if weight is None else weight._data, ignore_index, reduction,
                       0.0)
    return _apply_nll(input, x, coef, reduction, unbatched, fused=False)


# -- regression losses -------------------------------------------------------------------------


class PointwiseLoss(Function):
    """A loss of ``d = input - target`` element by element, then reduced."""

    _array_level = True

    @staticmethod
    def forward(ctx, x, y, reduction, kind, param):
        d = x - y
        loss, dl = _POINTWISE[kind](d, param, ctx.needs_input_grad[0] or ctx.needs_input_grad[1])
        ctx.dl, ctx.reduction, ctx.shapes = dl, reduction, (x.shape, y.shape)
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        dl = ctx.dl
        gd = _expand_grad(g, dl.shape, ctx.reduction, dl.dtype) * dl
        ni = ctx.needs_input_grad
        gx = unbroadcast(gd, ctx.shapes[0]) if ni[0] else None
        gy = unbroadcast(-gd, ctx.shapes[1]) if ni[1] else None
        return gx, gy, None, None, None


def _mse(d, _p, need):
    return d * d, (2 * d if need else None)


def _l1(d, _p, need):
    return np.abs(d), (np.sign(d) if need else None)


def _smooth_l1(d, beta, need):
    a = np.abs(d)
    if beta == 0:
        return a, (np.sign(d) if need else None)
    small = a < beta
    loss = np.where(small, 0.5 * d * d / beta, a - 0.5 * beta)
    return loss, (np.where(small, d / beta, np.sign(d)) if need else None)


def _huber(d, delta, need):
    a = np.abs(d)
    small = a < delta
    loss = np.where(small, 0.5 * d * d, delta * (a - 0.5 * delta))
    return loss, (np.where(small, d, delta * np.sign(d)) if need else None)


_POINTWISE = {"mse": _mse, "l1": _l1, "smooth_l1": _smooth_l1, "huber": _huber}
_NAMES = {"mse": "MseLossBackward0", "l1": "L1LossBackward0",
          "smooth_l1": "SmoothL1LossBackward0", "huber": "HuberLossBackward0"}
_CLASSES = {k: type(f"{k.title().replace('_', '')}Loss", (PointwiseLoss,),
                    {"_array_level": True, "_backward_name": v}) for k, v in _NAMES.items()}


def _pointwise(kind, input, target, reduction, param=None):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.", stacklevel=3)
    if kind == "l1":
        if input.dtype == _dt.bool or target.dtype == _dt.bool or \
                not _dt.result_type(input, target).is_floating_point:
            # PyTorch's l1_loss is (input - target).abs() reduced by tensor ops: those refuse
            # bool operands and an integer mean, and keep an integer sum integral.
            return _reduce((input - target).abs(), reduction)
        out_dtype = None
    else:
        checks.pointwise_dtype(kind, input, target)
        out_dtype = input.dtype if kind == "huber" else None
    a, b = promote(input, target)
    out = _CLASSES[kind].apply(a, b, reduction, kind, param)
    # Huber writes into a tensor like input: a wider target still gives input's dtype.
    return out if out_dtype is None or out.dtype == out_dtype else out.to(out_dtype)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """Mean squared error. See: torch.nn.functional.mse_loss."""
    if weight is not None:
        raise NotImplementedError("mse_loss(weight=...) is not supported yet; weight the "
                                  "unreduced loss (reduction='none') instead")
    return _pointwise("mse", input, target, _reduction(reduction, size_average, reduce))


@float32_compute
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """Mean absolute error. See: torch.nn.functional.l1_loss."""
    if weight is not None:
        raise NotImplementedError("l1_loss(weight=...) is not supported yet; weight the "
                                  "unreduced loss (reduction='none') instead")
    return _pointwise("l1", input, target, _reduction(reduction, size_average, reduce))


@float32_compute
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Squared below ``beta`` (scaled by 1/beta), absolute above. See:
    torch.nn.functional.smooth_l1_loss."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    reduction = _reduction(reduction, size_average, reduce)
    if beta == 0:  # PyTorch computes l1_loss here, with l1's dtype rules
        return _pointwise("l1", input, target, reduction)
    return _pointwise("smooth_l1", input, target, reduction, float(beta))


@float32_compute
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """Squared below ``delta``, ``delta``-scaled absolute above. See:
    torch.nn.functional.huber_loss."""
    if weight is not None:
        raise NotImplementedError("huber_loss(weight=...) is not supported yet; weight the "
                                  "unreduced loss (reduction='none') instead")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise("huber", input, target, _reduction(reduction), float(delta))


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
