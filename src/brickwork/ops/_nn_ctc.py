"""Connectionist temporal classification loss (Graves et al., 2006), as ATen computes it.

The forward (alpha) and backward (beta) recursions run in log space over the extended target
``blank, l1, blank, l2, ..., blank``, vectorized over the batch and the target positions, one
time step at a time. The gradient with respect to ``log_probs`` is ATen's:
``exp(lp) - exp(logsumexp_{s: l'_s = c}(alpha + beta) + nll - lp)``. It is the true gradient
once composed with the ``log_softmax`` that produces ``log_probs`` (the extra ``exp(lp)`` sums
to 1 per step and cancels there), and it is what PyTorch returns for ``log_probs`` itself, so
brickwork returns it too. The recursions are computed in float64 on the backend arrays.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap, xp_of

_NEG_INF = -np.inf


def _lse(*arrays):
    """Elementwise log(sum(exp(a_i))), -inf where every a_i is -inf."""
    xp = xp_of(arrays[0])
    m = arrays[0]
    for a in arrays[1:]:
        m = xp.maximum(m, a)
    safe = xp.where(xp.isfinite(m), m, 0.0)
    total = sum(xp.exp(a - safe) for a in arrays)
    with np.errstate(divide="ignore"):
        return xp.where(m == _NEG_INF, _NEG_INF, xp.log(total) + safe)


def _shift(a, k: int, fill=_NEG_INF):
    """``a`` moved ``k`` places right along its last axis (``fill`` enters on the left)."""
    xp = xp_of(a)
    out = xp.full_like(a, fill)
    out[..., k:] = a[..., :a.shape[-1] - k]
    return out


class CtcLoss(Function):
    _array_level = True
    _backward_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, log_probs, ext, ext_len, in_len, zero_infinity):
        xp = xp_of(log_probs)
        lp = log_probs.astype(np.float64)
        T, N, _ = lp.shape
        L = ext.shape[1]
        s_idx = xp.arange(L)
        in_state = s_idx[None, :] < ext_len[:, None]                        # (N, L)
        # Skipping a blank is allowed onto a label that differs from the one two back.
        skip = (ext != ext[:, :1]) & (ext != _shift(ext, 2, -1))   # ext[:, 0] is the blank
        skip[:, :2] = False
        emit = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T, N, L)), axis=2)
        emit = xp.where(in_state[None], emit, _NEG_INF)                     # (T, N, L)
        alpha = xp.full((T, N, L), _NEG_INF)
        if T:
            alpha[0, :, :2] = emit[0, :, :2]
        for t in range(1, T):
            a = alpha[t - 1]
            alpha[t] = emit[t] + _lse(a, _shift(a, 1), xp.where(skip, _shift(a, 2), _NEG_INF))
        beta = xp.full((T, N, L), _NEG_INF)
        last = ext_len - 1                                                  # (N,)
        end = (s_idx[None, :] >= last[:, None] - 1) & (s_idx[None, :] <= last[:, None])
        skip_next = xp.concatenate([skip[:, 2:], xp.zeros((N, 2), dtype=bool)], axis=1)
        for t in range(T - 1, -1, -1):
            if t + 1 < T:
                b = beta[t + 1]
                nxt = emit[t] + _lse(b, _shift(b[..., ::-1], 1)[..., ::-1],
                                     xp.where(skip_next, _shift(b[..., ::-1], 2)[..., ::-1],
                                              _NEG_INF))
            else:
                nxt = xp.full((N, L), _NEG_INF)
            start = xp.where(end, emit[t], _NEG_INF)
            is_end = (in_len - 1 == t)[:, None]
            beta[t] = xp.where(is_end, start, xp.where((t < in_len - 1)[:, None], nxt, _NEG_INF))
        n_idx = xp.arange(N)
        tl = xp.maximum(in_len - 1, 0)
        fin = alpha[tl, n_idx]                                              # (N, L)
        a_last = xp.take_along_axis(fin, last[:, None], 1)[:, 0]
        a_prev = xp.where(last >= 1, xp.take_along_axis(fin, xp.maximum(last - 1, 0)[:, None],
                                                        1)[:, 0], _NEG_INF)
        nll = -_lse(a_last, a_prev)
        # No input steps: an empty target costs nothing, any other is impossible.
        nll = xp.where(in_len == 0, xp.where(ext_len == 1, 0.0, np.inf), nll)
        inf = xp.isinf(nll)
        if zero_infinity:
            nll = xp.where(inf, 0.0, nll)
        ctx.saved = (lp, alpha, beta, ext, in_len, nll, inf, zero_infinity, log_probs.dtype)
        return nll.astype(log_probs.dtype)

    @staticmethod
    def backward(ctx, g):
        lp, alpha, beta, ext, in_len, nll, inf, zero_infinity, dtype = ctx.saved
        xp = xp_of(lp)
        T, N, C = lp.shape
        ab = alpha + beta                                                   # (T, N, L)
        m = ab.max(axis=2, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0.0)
        onehot = (ext[:, :, None] == xp.arange(C)[None, None, :]).astype(np.float64)
        summed = xp.einsum("tnl,nlc->tnc", xp.exp(ab - m), onehot)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            lcab = xp.log(summed) + m
            grad = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
        active = xp.arange(T)[:, None] < in_len[None, :]                    # (T, N)
        grad = xp.where(active[:, :, None], grad, 0.0)
        if zero_infinity:
            grad = xp.where(inf[None, :, None], 0.0, grad)
        grad = grad * g.astype(np.float64)[None, :, None]
        return grad.astype(dtype), None, None, None, None


def _lengths(v, like: Tensor):
    xp = xp_of(like._data)
    if isinstance(v, Tensor):
        return xp.asarray(v._data).astype(np.int64).reshape(-1)
    return xp.asarray(np.asarray(v, dtype=np.int64).reshape(-1))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss of ``log_probs`` (T, N, C) (or (T, C)) against ``targets``, padded (N, S)
    or concatenated (sum(target_lengths),). ``reduction='mean'`` divides each sample's loss by
    its target length before averaging; ``zero_infinity`` zeroes impossible alignments (and
    their gradients). See: torch.nn.functional.ctc_loss."""
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 else targets
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: expected log_probs of 2 or 3 dimensions (T, N, C), got "
                           f"{log_probs.ndim}")
    T, N, C = log_probs.shape
    if not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    in_len = _lengths(input_lengths, log_probs)
    tg_len = _lengths(target_lengths, log_probs)
    if in_len.shape[0] != N:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tg_len.shape[0] != N:
        raise RuntimeError("target_lengths must be of size batch_size")
    where = "(while checking arguments for ctc_loss_allocate_outputs)"
    for name, arr in (("input_lengths", in_len), ("target_lengths", tg_len)):
        if arr.size and int(arr.min()) < 0:
            raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                               f"{int(arr.min())} {where}")
    if in_len.size and int(in_len.max()) > T:
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{int(in_len.max())} {where}")
    tg = targets._data.astype(np.int64)
    xp = xp_of(tg)
    s_max = int(tg_len.max()) if tg_len.size else 0
    if tg.ndim == 1:  # concatenated
        total = int(tg_len.sum())
        if tg.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got "
                               f"size {tg.shape[0]} for argument #2 'targets' {where}")
        starts = xp.concatenate([xp.zeros(1, np.int64), xp.cumsum(tg_len)[:-1]])
        cols = xp.arange(s_max)
        pos = xp.minimum(starts[:, None] + cols[None, :], max(total - 1, 0))
        padded = tg[pos] if total else xp.zeros((N, s_max), np.int64)
    else:
        if s_max > tg.shape[1]:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, "
                               f"but got size {tg.shape[1]} for argument #2 'targets' {where}")
        padded = tg[:, :s_max]
    L = 2 * s_max + 1
    ext = xp.full((N, L), blank, dtype=np.int64)
    ext[:, 1::2] = padded
    # Labels past a sample's own length are never read (their states are outside it).
    ext = xp.where(xp.arange(L)[None, :] < (2 * tg_len + 1)[:, None], ext, blank)
    nll = CtcLoss.apply(log_probs, ext, 2 * tg_len + 1, in_len, bool(zero_infinity))
    if reduction == "mean":
        denom = wrap(xp.maximum(tg_len, 1).astype(log_probs._data.dtype), log_probs)
        return (nll / denom).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.reshape(()) if unbatched else nll


__all__ = ["ctc_loss"]
