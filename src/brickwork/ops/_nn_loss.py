"""More losses, in ``nn.functional``'s signatures: cosine_embedding, hinge_embedding,
margin_ranking, poisson_nll, gaussian_nll, soft_margin, multilabel_soft_margin,
multilabel_margin, multi_margin, triplet_margin and triplet_margin_with_distance.

Each is written, as ATen writes it, with differentiable ops (so gradients of every order come
from those ops); the integer masks of the margin losses are built on the backend arrays, where
no gradient flows. The ``torch.xxx`` forms (ATen's int ``reduction``) are in ``nn_extra.py``.
"""
from __future__ import annotations

import math

from ..tensor import Tensor
from ._loss_common import reduce, reduction_name
from ._util import wrap, xp_of

_EPSILON = 1e-12  # ATen's cosine_embedding_loss guard on the squared magnitudes


def _where(cond, a, b):
    from .comparison import where

    return where(cond, a, b)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``target == -1`` (0 elsewhere). See: torch.nn.functional.cosine_embedding_loss."""
    name = reduction_name(reduction, size_average, reduce)
    if target.ndim == 1:
        if input1.ndim != 2 or input2.ndim != 2:
            raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs "
                               f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    elif target.ndim == 0:
        if input1.ndim != 1 or input2.ndim != 1:
            raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs "
                               f"with sizes {list(input1.shape)} and {list(input2.shape)}.")
    else:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    d = target.ndim
    prod_sum = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + _EPSILON
    mag2 = (input2 * input2).sum(d) + _EPSILON
    cos = prod_sum / (mag1 * mag2).sqrt()
    zeros = cos * 0
    out = _where(target == 1, 1 - cos, zeros) + \
        _where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(out, name)


def _reduce(loss: Tensor, name: str) -> Tensor:
    return reduce(loss, name)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``x`` where ``target == 1``, ``max(0, margin - x)`` where ``target == -1``.

    See: torch.nn.functional.hinge_embedding_loss.
    """
    name = reduction_name(reduction, size_average, reduce)
    zeros = input * 0
    out = _where(target != 1, (margin - input).clamp_min(0), zeros) + \
        _where(target != -1, input, zeros)
    return _reduce(out, name)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (x1 - x2) + margin)``. See: torch.nn.functional.margin_ranking_loss."""
    name = reduction_name(reduction, size_average, reduce)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError("margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {_size(input1)}, input2: {_size(input2)}, "
                           f"target: {_size(target)} ")
    return _margin_ranking(input1, input2, target, margin, name)


def _size(t: Tensor) -> str:
    return f"brickwork.Size({list(t.shape)})"


def _margin_ranking(input1, input2, target, margin, name):
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), name)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log likelihood of a Poisson target: ``exp(x) - target * x`` (``log_input``) or
    ``x - target * log(x + eps)``, plus Stirling's term where ``target > 1`` if ``full``.

    See: torch.nn.functional.poisson_nll_loss.
    """
    name = reduction_name(reduction, size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + _where(target <= 1, stirling * 0, stirling)
    return _reduce(loss, name)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log likelihood of a Gaussian target: ``(log(var) + (x - target)**2 / var) / 2``
    (plus ``log(2 pi) / 2`` if ``full``). ``var`` is clamped to ``eps`` without changing its
    gradient, as in PyTorch. See: torch.nn.functional.gaussian_nll_loss."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * input.detach().new_ones(input.shape)
    elif not isinstance(var, Tensor):
        raise TypeError(f"gaussian_nll_loss(): argument 'var' must be Tensor or float, not "
                        f"{type(var).__name__}")
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and \
                sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass  # one broadcast dimension: the homoscedastic case
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    # PyTorch clamps a clone in place under no_grad: the value is clamped, the gradient is
    # var's own. Adding the (constant) clamping correction does exactly that.
    v = var.detach()
    var = var + (v.clamp_min(eps) - v)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * x))``. See: torch.nn.functional.soft_margin_loss."""
    name = reduction_name(reduction, size_average, reduce)
    return _reduce((-input * target).exp().log1p(), name)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Binary logistic loss per class, averaged over the classes (the last dimension).

    See: torch.nn.functional.multilabel_soft_margin_loss.
    """
    from ._nn_activation import logsigmoid

    name = reduction_name(reduction, size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, name)


def _as_matrix(input: Tensor, target: Tensor, op_target_1d: bool):
    """(N, C) views of a vector-or-matrix input and its target (ATen's check)."""
    empty = input.shape[-1] == 0 if input.ndim else False  # no classes
    if input.ndim > 2 or empty:
        raise RuntimeError("Expected non-empty vector or matrix with optional 0-dim batch "
                           f"size, but got: {list(input.shape)}")
    if target.dtype.name != "int64":
        from .reduction import _torch_type_name

        raise RuntimeError(f"expected scalar type Long but found "
                           f"{_torch_type_name(target.dtype)}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if op_target_1d:
        return x, target.reshape(-1)
    return x, (target.reshape(1, -1) if input.ndim < 2 else target)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{i != y} max(0, margin - x[y] + x[i])**p * w[y] / C``.

    See: torch.nn.functional.multi_margin_loss.
    """
    name = reduction_name(reduction, size_average, reduce)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x, t = _as_matrix(input, target, True)
    n, c = x.shape
    if t.shape[0] != n:
        raise RuntimeError("multi_margin_loss: target tensor should be 1-D with size equal to "
                           "the number of input samples (batch size). Expected target size "
                           f"[{n}], but got {list(target.shape)}. Input has shape "
                           f"{list(input.shape)}.")
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"inconsistent weight size, expected {c} but got "
                           f"{list(weight.shape)}")
    ta = t._data
    xp = xp_of(ta)
    if ta.size and bool(((ta < 0) | (ta >= c)).any()):
        raise RuntimeError("target out of range")
    x_y = x.gather(1, t.reshape(n, 1))
    z = (margin - x_y + x).clamp_min(0)
    h = z if p == 1 else z * z
    # The target class itself does not count.
    others = wrap((xp.arange(c)[None, :] != ta[:, None]).astype(x._data.dtype), x)
    h = h * others
    if weight is not None:
        h = h * weight.index_select(0, t).reshape(n, 1)
    loss = h.sum(1) / c
    if input.ndim < 2 and target.ndim == 0:
        loss = loss.reshape(())
    return _reduce(loss, name)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: for each target class ``j`` (the entries of ``target`` before
    the first -1) and each non-target class ``i``, ``max(0, 1 - (x[j] - x[i])) / C``.

    See: torch.nn.functional.multilabel_margin_loss.
    """
    name = reduction_name(reduction, size_average, reduce)
    x, t = _as_matrix(input, target, False)
    n, c = x.shape
    if tuple(t.shape) != (n, c) or (input.ndim < 2 and target.ndim != input.ndim):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of "
                           f"size: {list(input.shape)}")
    ta = t._data
    xp = xp_of(ta)
    if ta.size and bool(((ta < -1) | (ta >= c)).any()):
        raise RuntimeError("argument #2 'target' is out of range")
    neg = ta == -1
    # Entries count up to (not including) the first -1 of each row.
    first = xp.where(neg.any(1), neg.argmax(1), c)
    valid = xp.arange(c)[None, :] < first[:, None]                          # (N, K)
    hit = valid[:, :, None] & (ta[:, :, None] == xp.arange(c)[None, None, :])  # (N, K, C)
    is_target = hit.any(1)                                                  # (N, C)
    pairs = valid[:, :, None] & ~is_target[:, None, :]                      # (N, K, C)
    safe = wrap(xp.where(valid, ta, 0), t)
    x_t = x.gather(1, safe)                                                 # (N, K)
    z = (1 - x_t.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    loss = (z * wrap(pairs.astype(x._data.dtype), x)).sum((1, 2)) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, name)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with the pairwise ``p``-norm distance ``d``
    (``swap`` uses ``min(d(a, n), d(p, n))``). See: torch.nn.functional.triplet_margin_loss."""
    name = reduction_name(reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    return _triplet(anchor, positive, negative, margin, p, eps, swap, name)


def _check_triplet_dims(anchor, positive, negative) -> None:
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p and p == n):
        raise RuntimeError("The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {p}D, "
                           f"and negative {n}D inputs")


def _triplet(anchor, positive, negative, margin, p, eps, swap, name):
    from ._nn_distance import pairwise_distance

    _check_triplet_dims(anchor, positive, negative)
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = dist_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + dist_pos - dist_neg).clamp_min(0), name)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any distance function (default ``pairwise_distance``).

    See: torch.nn.functional.triplet_margin_with_distance_loss.
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    if distance_function is None:
        from ._nn_distance import pairwise_distance as distance_function
    dist_pos = distance_function(anchor, positive)
    dist_neg = distance_function(anchor, negative)
    if swap:
        dist_neg = dist_neg.minimum(distance_function(positive, negative))
    return _reduce((margin + dist_pos - dist_neg).clamp_min(0), reduction)


__all__ = ["cosine_embedding_loss", "hinge_embedding_loss", "margin_ranking_loss",
           "poisson_nll_loss", "gaussian_nll_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss"]
