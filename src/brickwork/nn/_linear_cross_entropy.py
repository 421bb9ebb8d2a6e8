"""``linear_cross_entropy``: cross entropy of ``linear(input, W, b)``, with PyTorch's chunked path.

The reference path (``options=None``) is ``cross_entropy(linear(...))``. With a
:class:`LinearCrossEntropyOptions` the batch is processed ``batch_chunk_size`` rows at a time
and, for the ``'mean'``/``'sum'`` reductions, the gradients are computed inside the forward so
no ``(N, C)`` logits tensor outlives its chunk -- PyTorch 2.13's design, with its limits (no
higher-order gradients; a second backward raises unless ``allow_retain_graph=True``).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Literal, NamedTuple

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..ops.join import cat
from ..ops.linear import linear
from ..ops.loss import cross_entropy
from ..tensor import Tensor

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]


class _AutoDefault(NamedTuple):
    acc_policy: str
    chunking_method: str


# PyTorch's per-(device type, input dtype) picks for the "auto" sentinels.
_AUTO_DEFAULTS = {
    ("cuda", "bfloat16"): _AutoDefault("compact", "aspect_ratio:2"),
    ("cuda", "float16"): _AutoDefault("compact", "aspect_ratio:2"),
    ("cpu", "bfloat16"): _AutoDefault("accurate", "aspect_ratio"),
    ("cpu", "float16"): _AutoDefault("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = _AutoDefault("compact", "aspect_ratio:2")
_SUPPORTED_ACC_DTYPES = ("float16", "bfloat16", "float32", "float64")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Configuration of the chunked path of :func:`linear_cross_entropy`.

    Args:
        allow_retain_graph: allow a second backward of the ``'mean'``/``'sum'`` reductions
            (otherwise the precomputed gradients are consumed and a second backward raises).
        batch_chunk_size: batch rows per chunk (``None``: one chunk, or the heuristic).
        chunking_method: ``'auto'``, ``'aspect_ratio'``, ``'aspect_ratio:N'`` or ``None``.
        acc_policy: ``'auto'``, ``'accurate'``, ``'balanced'`` or ``'compact'``: PyTorch's
            precision/memory trade-off. brickwork validates and resolves it, and computes every
            policy the ``'accurate'`` way (all intermediates in ``acc_dtype``), which is at
            least as precise as the others.
        acc_dtype: accumulation dtype (``None``: float32 for float16/bfloat16 input under
            ``acc_policy='auto'``, else the input dtype).

    See: torch.nn.LinearCrossEntropyOptions.
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: dtypes.dtype | None = None

    def __post_init__(self):
        if self.acc_policy not in {"auto", "accurate", "balanced", "compact"}:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None or (isinstance(self.batch_chunk_size, int)
                                                  and self.batch_chunk_size > 0)):
            raise ValueError("batch_chunk_size must be positive int or None, got "
                             f"{self.batch_chunk_size!r}")
        if self.acc_dtype is not None and (
                not isinstance(self.acc_dtype, dtypes.dtype)
                or self.acc_dtype.name not in _SUPPORTED_ACC_DTYPES):
            raise ValueError(
                "acc_dtype must be one of {None, brickwork.float16, brickwork.bfloat16, "
                f"brickwork.float32, brickwork.float64}}, got {self.acc_dtype!r}. Pass "
                "acc_dtype=None to let the op pick automatically.")

    @staticmethod
    def _ceil_div(a: int, b: int) -> int:
        return -(-a // b)

    def _compute_batch_chunk_size(self, num_batches: int, in_features: int, num_classes: int,
                                  method: str | None = None) -> int:
        """The chunk size of an ``aspect_ratio[:N]`` method: the logits chunk about matches
        the input in memory, divided by ``N``."""
        method = str(method if method is not None else self.chunking_method)
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        inc_factor = self._ceil_div(num_classes, in_features)
        target = self._ceil_div(num_batches, inc_factor)
        chunk_size = 1 << (target - 1).bit_length()  # next power of 2 >= target
        return min(chunk_size // factor, num_batches)

    def _adjust(self, num_batches: int, in_features: int, num_classes: int, dtype, device=None):
        """Resolve the ``'auto'``/``None`` fields for one call; PyTorch's internal API."""
        acc_policy, chunking_method = self.acc_policy, self.chunking_method
        if chunking_method == "auto" and self.batch_chunk_size is not None:
            chunking_method = None
        if acc_policy == "auto" or chunking_method == "auto":
            ap, cm = (_AUTO_DEFAULTS.get((device.type, dtype.name), _AUTO_FALLBACK)
                      if device is not None else _AUTO_FALLBACK)
            acc_policy = ap if acc_policy == "auto" else acc_policy
            chunking_method = cm if chunking_method == "auto" else chunking_method
        batch_chunk_size = (num_batches if self.batch_chunk_size is None
                            else min(self.batch_chunk_size, num_batches))
        if chunking_method is not None:
            batch_chunk_size = self._compute_batch_chunk_size(num_batches, in_features,
                                                              num_classes, chunking_method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != batch_chunk_size:
                raise ValueError(
                    f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                    f"('{chunking_method}') give different chunk sizes "
                    f"({self.batch_chunk_size} vs {batch_chunk_size}); pass only one.")
        if self.acc_dtype is None:
            low = dtype.name in ("float16", "bfloat16")
            auto = self.acc_policy == "auto" and device is not None and low
            acc_dtype = dtypes.float32 if auto else dtype
        else:
            acc_dtype = self.acc_dtype
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=chunking_method,
                                   batch_chunk_size=max(1, batch_chunk_size), acc_dtype=acc_dtype)


class _ChunkedLCE(Function):
    """The chunked op: forward precomputes the gradients of a scalar reduction chunk by chunk;
    for ``'none'`` backward recomputes them from the saved inputs."""

    @staticmethod
    def forward(ctx, input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
                chunk, acc_dtype, allow_retain_graph, needs):
        ctx.reduction, ctx.ignore_index, ctx.chunk = reduction, ignore_index, chunk
        ctx.acc_dtype, ctx.allow_retain_graph = acc_dtype, allow_retain_graph
        ctx.dtypes = (input.dtype, linear_weight.dtype,
                      None if linear_bias is None else linear_bias.dtype)
        wt, safe = _target_weights(target, weight, ignore_index, acc_dtype,
                                    linear_weight.shape[0])
        if reduction == "none":
            ctx.save_for_backward(input, linear_weight, target, linear_bias, weight)
            rows = [_chunk_loss(input, linear_weight, linear_bias, safe, wt, s, chunk,
                                acc_dtype)[0] for s in range(0, input.shape[0], chunk)]
            return _cat(rows, input).to(input.dtype)
        scale = 1.0 / wt.sum() if reduction == "mean" else None
        grads, total = _chunked_grads(input, linear_weight, linear_bias, safe, wt, chunk,
                                      acc_dtype, scale, needs)
        ctx.grads = grads
        out = total * scale if reduction == "mean" else total
        return out.to(input.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        if ctx.reduction == "none":
            input, linear_weight, target, linear_bias, weight = ctx.saved_tensors
            wt, safe = _target_weights(target, weight, ctx.ignore_index, ctx.acc_dtype,
                                        linear_weight.shape[0])
            needs = (ctx.needs_input_grad[0], ctx.needs_input_grad[1],
                     linear_bias is not None and ctx.needs_input_grad[3])
            grads, _ = _chunked_grads(input, linear_weight, linear_bias, safe,
                                      wt * grad_output.to(ctx.acc_dtype), ctx.chunk,
                                      ctx.acc_dtype, None, needs)
        else:
            if ctx.grads is None:
                raise RuntimeError("linear_cross_entropy chunked backward called twice; "
                                   "retain_graph=True / double backward are not supported.")
            grads = ctx.grads
            if not ctx.allow_retain_graph:
                ctx.grads = None  # consumed, as PyTorch's in-place backward consumes its buffers
            g = grad_output.to(ctx.acc_dtype)
            grads = tuple(None if x is None else x * g for x in grads)
        gi, gw, gb = (None if x is None else x.to(d) for x, d in zip(grads, ctx.dtypes))
        return gi, gw, None, gb, None, None, None, None, None, None, None


def _cat(pieces, like):
    return cat(pieces) if pieces else like.new_zeros(0)


def _target_weights(target, weight, ignore_index, acc_dtype, num_classes):
    """Per-row weight ``weight[target]`` (1 without class weights, 0 on ignored rows) and the
    target with ignored rows pointed at class 0, so gathers stay in range."""
    valid = target != ignore_index
    bad = valid & ((target < 0) | (target >= num_classes))
    if bool(bad.any()):
        raise RuntimeError(f"index {int(target[bad][0])} is out of bounds for dimension 1 with "
                           f"size {num_classes}")
    safe = target.where(valid, 0)
    if weight is None:
        return valid.to(acc_dtype), safe
    return weight.to(acc_dtype)[safe] * valid.to(acc_dtype), safe


def _chunk_loss(input, linear_weight, linear_bias, target, wt, start, chunk, acc_dtype):
    """Rows ``start:start+chunk``: per-row weighted losses, softmax and safe targets."""
    stop = min(start + chunk, input.shape[0])
    xc = input[start:stop].to(acc_dtype)
    logits = xc @ linear_weight.to(acc_dtype).T
    if linear_bias is not None:
        logits = logits + linear_bias.to(acc_dtype)
    safe, wc = target[start:stop], wt[start:stop]
    lse = logits.logsumexp(1)
    picked = logits.gather(1, safe.unsqueeze(1)).squeeze(1)
    return wc * (lse - picked), logits, lse, safe, xc, stop


def _chunked_grads(input, linear_weight, linear_bias, target, wt, chunk, acc_dtype, scale,
                   needs):
    """Loss total and the gradients of ``sum(scale * wt_i * loss_i)`` chunk by chunk."""
    need_gi, need_gw, need_gb = needs
    gi_rows = []
    gw = gb = None
    total = None
    w_acc = linear_weight.to(acc_dtype)
    row_scale = wt if scale is None else wt * scale
    for s in range(0, input.shape[0], chunk):
        rows, logits, lse, safe, xc, stop = _chunk_loss(input, linear_weight, linear_bias,
                                                        target, wt, s, chunk, acc_dtype)
        part = rows.sum()
        total = part if total is None else total + part
        if not any(needs):
            continue
        # d loss_i / d logits_i = softmax_i - onehot(target_i), weighted per row.
        dlogits = (logits - lse.unsqueeze(1)).exp()
        dlogits = dlogits.scatter_add(1, safe.unsqueeze(1), -dlogits.new_ones(stop - s, 1))
        dlogits = dlogits * row_scale[s:stop].unsqueeze(1)
        if need_gi:
            gi_rows.append(dlogits @ w_acc)
        if need_gw:
            part_w = dlogits.T @ xc
            gw = part_w if gw is None else gw + part_w
        if need_gb and linear_bias is not None:
            part_b = dlogits.sum(0)
            gb = part_b if gb is None else gb + part_b
    if total is None:
        total = wt.sum() * 0
    if need_gi:
        gi = _cat(gi_rows, input.to(acc_dtype)).reshape(input.shape)
    else:
        gi = None
    if need_gw and gw is None:
        gw = w_acc.new_zeros(linear_weight.shape)
    if need_gb and linear_bias is not None and gb is None:
        gb = w_acc.new_zeros(linear_bias.shape)
    return (gi, gw, gb), total


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0,
                         options: LinearCrossEntropyOptions | None = None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``.

    Args:
        input: ``(in_features,)`` or ``(N, in_features)``.
        linear_weight: ``(C, in_features)`` or ``(C, d_1, ..., d_K, in_features)``.
        target: class indices or class probabilities, as for :func:`cross_entropy`.
        linear_bias: ``(C, d_1, ..., d_K)`` or ``None``.
        weight: a rescaling weight per class, ``(C,)``.
        reduction: ``'none'`` | ``'mean'`` | ``'sum'``.
        ignore_index: ignored target value (``None``: -100); not allowed with probabilities.
        label_smoothing: in ``[0, 1]``.
        options: ``None`` for the reference path, or :class:`LinearCrossEntropyOptions` for the
            chunked one (which falls back to the reference path, with a warning, for
            K-dimensional weights, label smoothing, non-int64 targets or other reductions).

    See: torch.nn.functional.linear_cross_entropy.
    """
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError("expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    num_batches = tuple(input.shape[:-1])
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions "
                           f"(in_features), got {input.shape[-1]} and {linear_weight.shape[-1]}, "
                           "respectively")
    num_classes = linear_weight.shape[0]
    out_features = tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if len(out_features) > 0 and len(num_batches) == 0:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {in_features}), got unbatched input with shape "
            f"{tuple(input.shape)}")
    logits_shape = (*num_batches, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = ignore_index if ignore_index is not None else -100
    chunkable = (not out_features and reduction in {"mean", "sum", "none"}
                 and label_smoothing == 0.0 and target.dtype == dtypes.int64)
    if options is not None and not chunkable:
        warnings.warn(
            "linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
            "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features "
            f"== (). Got reduction={reduction!r}, label_smoothing={label_smoothing}, "
            f"target.dtype={target.dtype}, out_features={out_features}, tracing=False, "
            "linear_bias.shape="
            f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
    if options is not None and chunkable:
        return _chunked(input, linear_weight, target, linear_bias, weight, reduction,
                        ignore_index, options)
    if out_features:
        linear_weight = linear_weight.reshape((math.prod(out_features, start=num_classes),
                                               in_features))
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(math.prod(out_features, start=num_classes))
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)


def _chunked(input, linear_weight, target, linear_bias, weight, reduction, ignore_index,
             options):
    has_batches = input.dim() == 2
    if not has_batches:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    num_classes = linear_weight.shape[0]
    opts = options._adjust(num_batches=input.shape[0], in_features=input.shape[1],
                           num_classes=num_classes, dtype=input.dtype, device=input.device)
    dtype, acc = input.dtype, opts.acc_dtype
    if dtype != acc and not (dtype.name in ("float16", "bfloat16") and acc == dtypes.float32):
        raise RuntimeError("linear_cross_entropy supports float32 acc_dtype with "
                           f"float16/bfloat16 inputs, but got {acc} acc_dtype and {dtype} inputs.")
    on = is_grad_enabled()
    needs = (input.requires_grad and on, linear_weight.requires_grad and on,
             linear_bias is not None and linear_bias.requires_grad and on)
    result = _ChunkedLCE.apply(input, linear_weight, target, linear_bias, weight, reduction,
                               ignore_index, opts.batch_chunk_size, acc,
                               opts.allow_retain_graph, needs)
    return result if has_batches else result.squeeze(0)
