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

from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor
from ._util import promote, unbroadcast, xp_of
from .conv import scalar_name

_REDUCTIONS = ("mean", "sum", "none")


def _reduction(reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:
        # PyTorch's legacy arguments, still accepted with a deprecation warning.
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _expand_grad(g, shape, reduction, dtype):
    """The upstream gradient of a reduced loss, broadcast back to the per-element shape."""
    if reduction == "none":
        return g
    n = int(np.prod(shape)) if shape else 1
    scale = g / n if reduction == "mean" else g
    return xp_of(g).broadcast_to(scale.astype(dtype, copy=False), shape)


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


# -- cross entropy and nll ---------------------------------------------------------------------


class WeightedLogLikelihood(Function):
    """``-sum_c A * z`` with z = log_softmax(x) (``fused``) or z = x (nll_loss on log-probs)."""

    _array_level = True
    _backward_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, coef, reduction, fused):
        z = _log_softmax(x, 1) if fused else x
        per = -(coef * z).sum(axis=1)  # per-sample loss, already scaled for 'mean'
        ctx.coef, ctx.reduction, ctx.fused = coef, reduction, fused
        if fused and ctx.needs_input_grad[0]:
            ctx.z = z
        return per if reduction == "none" else per.sum()

    @staticmethod
    def backward(ctx, g):
        coef = ctx.coef
        g = g if ctx.reduction == "none" else g.reshape((1,) * coef.ndim)
        if ctx.reduction == "none":
            g = np.expand_dims(g, 1)
        if ctx.fused:
            p = np.exp(ctx.z)
            gx = (p * coef.sum(axis=1, keepdims=True) - coef) * g
        else:
            gx = -coef * g
        return gx.astype(coef.dtype, copy=False), None, None, None


class NllLoss2d(WeightedLogLikelihood):
    _array_level = True
    _backward_name = "NllLoss2DBackward0"


def _as_batched(input: Tensor, target: Tensor, probs: bool):
    """Check shapes like PyTorch; returns (x array (N, C, ...), target array, unbatched)."""
    x = input._data
    t = target._data
    if x.ndim == 1:
        if probs:
            if t.shape != x.shape:
                raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
            return x[None], t[None], True
        if t.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return x[None], t[None], True
    if x.ndim == 0:
        raise ValueError("Expected 1 or more dimensions (got 0)")
    if probs:
        if t.shape != x.shape:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return x, t, False
    if t.ndim != x.ndim - 1:
        if x.ndim == 2 and t.ndim != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        raise RuntimeError(f"Expected target size {list((x.shape[0],) + x.shape[2:])}, got "
                           f"{list(t.shape)}")
    if t.shape[0] != x.shape[0]:
        raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                         f"({t.shape[0]}).")
    if t.shape[1:] != x.shape[2:]:
        raise RuntimeError(f"Expected target size {list((x.shape[0],) + x.shape[2:])}, got "
                           f"{list(t.shape)}")
    return x, t, False


def _index_coef(x, t, weight, ignore_index, reduction, smoothing):
    """The coefficient array A for class-index targets (see the module docstring)."""
    xp = xp_of(x)
    n_cls = x.shape[1]
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_dtype_word(t)}")
    if t.dtype != np.int64 and t.dtype != np.uint8:
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{_dtype_word(t)}")
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_cls))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")
    tc = xp.where(valid, t, 0)
    w = xp.ones(n_cls, dtype=x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
    wt = w[tc] * valid  # (N, ...) weight of each sample's class, 0 where ignored
    onehot = xp.expand_dims(tc, 1) == xp.arange(n_cls).reshape((1, -1) + (1,) * (t.ndim - 1))
    coef = onehot * xp.expand_dims(wt * (1 - smoothing), 1)
    if smoothing:
        wb = w.reshape((1, -1) + (1,) * (t.ndim - 1))
        coef = coef + xp.expand_dims(valid, 1) * wb * (smoothing / n_cls)
    if reduction == "mean":
        coef = coef / wt.sum()  # PyTorch's weighted mean (nan when every target is ignored)
    return coef.astype(x.dtype, copy=False)


def _dtype_word(a) -> str:
    return {"f": "Float" if a.dtype == np.float32 else "Double", "i": "Int" if a.dtype ==
            np.int32 else "Long", "b": "Bool", "u": "Byte"}[a.dtype.kind]


def _check_weight(weight, n_cls):
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != n_cls):
        raise RuntimeError(f"weight tensor should be defined either for all {n_cls} classes or "
                           f"no classes but got weight tensor of shape: {list(weight.shape)}")


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
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    probs = target.is_floating_point()
    x, t, unbatched = _as_batched(input, target, probs)
    n_cls = x.shape[1]
    _check_weight(weight, n_cls)
    wa = None if weight is None else weight._data
    if probs:
        if target.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {scalar_name(input.dtype)} but "
                               f"found {scalar_name(target.dtype)}")
        coef = t * (1 - label_smoothing) + label_smoothing / n_cls if label_smoothing else t
        if wa is not None:
            coef = coef * wa.reshape((1, -1) + (1,) * (x.ndim - 2))
        if reduction == "mean":
            coef = coef / (x.size // n_cls)
        coef = coef.astype(x.dtype, copy=False)
    elif x.ndim == 2 and wa is None and not label_smoothing and t.dtype == np.int64:
        return _CrossEntropyIndices.apply(input, t, ignore_index, reduction) if not unbatched \
            else _apply_nll(input, x, _index_coef(x, t, None, ignore_index, reduction, 0.0),
                            reduction, unbatched, fused=True)
    else:
        coef = _index_coef(x, t, wa, ignore_index, reduction, label_smoothing)
    return _apply_nll(input, x, coef, reduction, unbatched, fused=True)


class _CrossEntropyIndices(Function):
    """The common case (N, C) logits with int64 class indices, no weight or smoothing.

    Picks each row's log-probability instead of building the dense coefficient array of the
    general path: in a training step of a small MLP that array cost more than the loss itself.
    """

    _array_level = True
    _backward_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, x, t, ignore_index, reduction):
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
        z = _log_softmax(x, 1)
        per = -z[rows, tc]
        if not all_valid:
            per = per * valid
        count = n if all_valid else int(valid.sum())
        ctx.z, ctx.tc, ctx.rows, ctx.valid = z, tc, rows, None if all_valid else valid
        ctx.reduction, ctx.count = reduction, count
        if reduction == "none":
            return per
        total = per.sum()
        # A mean over zero targets is nan, as PyTorch gives when every target is ignored.
        return total / count if reduction == "mean" else total

    @staticmethod
    def backward(ctx, g):
        gx = np.exp(ctx.z)
        gx[ctx.rows, ctx.tc] -= 1
        if ctx.valid is not None:
            gx *= ctx.valid[:, None]
        if ctx.reduction == "none":
            gx *= g[:, None]
        else:
            gx *= (g / ctx.count if ctx.reduction == "mean" else g).astype(gx.dtype)
        return gx, None, None, None


def _apply_nll(input, x, coef, reduction, unbatched, fused):
    cls = NllLoss2d if x.ndim == 4 else WeightedLogLikelihood
    # Feed the batched view through the graph, so the gradient arrives in input's shape.
    src = input if not unbatched else _Unsqueeze0.apply(input)
    out = cls.apply(src, coef, reduction, fused)
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


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities ``input``.

    See: torch.nn.functional.nll_loss.
    """
    reduction = _reduction(reduction, size_average, reduce)
    x, t, unbatched = _as_batched(input, target, False)
    _check_weight(weight, x.shape[1])
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
    a, b = promote(input, target)
    return _CLASSES[kind].apply(a, b, reduction, kind, param)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight=None) -> Tensor:
    """Mean squared error. See: torch.nn.functional.mse_loss."""
    if weight is not None:
        raise NotImplementedError("mse_loss(weight=...) is not supported yet; weight the "
                                  "unreduced loss (reduction='none') instead")
    return _pointwise("mse", input, target, _reduction(reduction, size_average, reduce))


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight=None) -> Tensor:
    """Mean absolute error. See: torch.nn.functional.l1_loss."""
    if weight is not None:
        raise NotImplementedError("l1_loss(weight=...) is not supported yet; weight the "
                                  "unreduced loss (reduction='none') instead")
    return _pointwise("l1", input, target, _reduction(reduction, size_average, reduce))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Squared below ``beta`` (scaled by 1/beta), absolute above. See:
    torch.nn.functional.smooth_l1_loss."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return _pointwise("smooth_l1", input, target, _reduction(reduction, size_average, reduce),
                      float(beta))


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


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities ``input``. See:
    torch.nn.functional.binary_cross_entropy."""
    reduction = _reduction(reduction, size_average, reduce)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
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
    dt = input._data.dtype
    w = None if weight is None else weight._data.astype(dt, copy=False)
    pw = None if pos_weight is None else pos_weight._data.astype(dt, copy=False)
    return BinaryCrossEntropyWithLogits.apply(input, target, w, pw, reduction)


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
    a, b = promote(input, target)
    return KLDiv.apply(a, b, reduction, bool(log_target))


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
