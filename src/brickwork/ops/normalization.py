"""Batch, layer and group normalization, embedding, one_hot and dropout2d.

The three normalizations share one backward formula: with ``xhat = (x - mean) * invstd`` over M
values and ``h = dL/dxhat``, ``dL/dx = invstd * (h - mean(h) - xhat * mean(h * xhat))``. It is
written by hand (rather than composed from sub/mul/mean nodes) because it needs only ``xhat``
saved and two reductions, where the composed graph keeps several full-size temporaries alive.
Layer and group norm run it as written (``_norm_input_grad``); batch norm folds it into
per-channel factors over its per-channel sums (``_norm_stats.py``).
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Function
from ..device import guard_functions
from ..tensor import Tensor
from . import _norm_stats as S
from . import _group_norm as GN
from . import _rowwise
from ._norm_stats import channel_shape as _channel_shape
from ._bf16 import float32_compute
from ._util import add_at_zeros, numpy_floats, out_of_range, wrap, xp_of


def _norm_input_grad(h, xhat, invstd, axes):
    """dL/dx of ``xhat = (x - mean) * invstd`` (stats over ``axes``) given h = dL/dxhat."""
    mh = h.mean(axis=axes, keepdims=True)
    mhx = (h * xhat).mean(axis=axes, keepdims=True)
    return (h - mh - xhat * mhx) * invstd


def _scale_shift(xhat, w, b, cs):
    """``y = xhat * w + b`` with per-channel ``w``/``b`` (either may be None)."""
    y = xhat if w is None else xhat * w.reshape(cs)
    return y if b is None else y + b.reshape(cs)


def _affine_grads(g, xhat, w, axes, needs):
    """Backward of ``_scale_shift``: the gradients of w and b, and dL/dxhat (when needed)."""
    gw = (g * xhat).sum(axis=axes) if needs[1] else None
    gb = g.sum(axis=axes) if needs[2] else None
    h = None
    if needs[0]:
        h = g if w is None else g * w.reshape(_channel_shape(g.ndim))
    return gw, gb, h


class BatchNorm(Function):
    _array_level = True
    _backward_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, mean, var, eps, training, xc=None):
        # mean/var: batch statistics (training) or the running ones (eval), shaped (C,); xc,
        # when given, is x - mean, already made while computing them.
        ctx.training = training
        cs = _channel_shape(x.ndim)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        if xc is None:
            xc = x - mean.reshape(cs)
        # y = xc * (invstd * w) + b: the per-channel factors fold before touching the array
        scale = invstd if w is None else invstd * w
        xp = xp_of(x)
        y = xp.empty(x.shape, dtype=x.dtype)
        # each factor as one (C * H * W) row against rows of whole images (S.channel_rows)
        xc = xp.ascontiguousarray(xc)
        xr, yr = S.channel_view(xc), S.channel_view(y)
        S.scaled_sum(yr, xr, S.channel_factor(scale, x.shape),
                     c=None if b is None else S.channel_factor(b, x.shape))
        ctx.xc, ctx.invstd, ctx.w = xc, invstd, w
        return y

    @staticmethod
    def backward(ctx, g):
        """With h = g * w and xhat = xc * invstd over M values per channel, dL/dx is
        ``invstd * (h - mean(h) - xhat * mean(h * xhat))``; it is folded into per-channel
        factors of g, xc and 1, so only two sums (of g and of g * xc) read the arrays."""
        ni = ctx.needs_input_grad
        xc, invstd, w = ctx.xc, ctx.invstd, ctx.w
        sum_g = S.channel_sums(g)
        sum_gxc = S.channel_dots(g, xc)
        gw = (invstd * sum_gxc).astype(g.dtype) if ni[1] else None
        gb = sum_g.astype(g.dtype) if ni[2] else None
        gx = None
        if ni[0]:
            a = invstd if w is None else invstd * w
            m = g.size // g.shape[1]
            k = (-a * invstd * invstd * (sum_gxc / m)).astype(g.dtype)
            c0 = (-a * (sum_g / m)).astype(g.dtype)
            xp = xp_of(g)
            gx = xp.empty(g.shape, dtype=g.dtype)
            # the factors as rows of whole images (S.channel_rows)
            gr, xr, outr = (S.channel_view(v) for v in (xp.ascontiguousarray(g), xc, gx))
            a_r, k_r, c0_r = (S.channel_factor(v, g.shape) for v in (a, k, c0))
            if ctx.training:
                S.scaled_sum(outr, gr, a_r, xr, k_r, c0_r)
            else:
                S.scaled_sum(outr, gr, a_r)
        return gx, gw, gb, None, None, None, None, None

    @staticmethod
    def composite(x, w, b, mean, var, eps, training, xc=None):
        """The forward in differentiable ops, for higher-order gradients: in training the
        statistics depend on ``x``, where the array forward takes them as constants. ``xc``
        (the array forward's reused x - mean) is ignored: here it must stay a function of x."""
        cs = _channel_shape(x.ndim)
        if training:
            axes = (0,) + tuple(range(2, x.ndim))
            mean = x.mean(axes, keepdim=True)
            var = x.var(axes, unbiased=False, keepdim=True)
        else:
            mean, var = (wrap(a.reshape(cs), x) for a in (mean, var))
        y = (x - mean) * (var + eps).rsqrt()
        if w is not None:
            y = y * w.reshape(cs)
        return y if b is None else y + b.reshape(cs)


@float32_compute
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of (N, C, ...) by batch statistics (training) or running ones.

    In training the running buffers, when given, are updated in place:
    ``running = (1 - momentum) * running + momentum * batch_stat`` (unbiased variance).

    See: torch.nn.functional.batch_norm.
    """
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or 3D input (got {input.ndim}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    x = input._data
    axes = (0,) + tuple(range(2, x.ndim))
    # Values per channel, counted as PyTorch does (without the channel axis, so C = 0 counts).
    m = int(np.prod([x.shape[a] for a in axes]))
    if training and m == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got "
                         f"input size {input.shape}")
    if x.size == 0:
        return _empty_batch_norm(input, weight, bias)
    xc = None
    if training:
        mean, var, xc = S.batch_stats(x)
        if running_mean is not None and running_var is not None:
            rm, rv = running_mean._data, running_var._data
            rm *= 1 - momentum
            rm += (momentum * mean).astype(rm.dtype, copy=False)
            rv *= 1 - momentum
            rv += (momentum * var * (m / (m - 1))).astype(rv.dtype, copy=False)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation "
                               "mode")
        mean, var = running_mean._data, running_var._data
    mean = mean.astype(x.dtype, copy=False)
    var = var.astype(x.dtype, copy=False)
    # The statistics go in as arrays: constants to autograd, like PyTorch's running buffers.
    return BatchNorm.apply(input, weight, bias, mean, var, eps, bool(training), xc)


def _empty_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """batch_norm of an input with no values (batch or a spatial size 0): PyTorch's
    ``input.clone() * weight[0] + bias[0]``, in train and eval mode alike.

    No statistics exist, so the running buffers keep their values; the output is still
    connected to the graph, so backward gives zero gradients to ``weight`` and ``bias``.
    """
    out = input.clone()
    for t, op in ((weight, "mul"), (bias, "add")):
        if t is not None:
            if t.numel() == 0:  # C = 0: PyTorch's weight[0] has nothing to pick
                raise IndexError("select(): index 0 out of range for tensor of size [0] at "
                                 "dimension 0")
            out = getattr(out, op)(t[0])
    return out


class LayerNorm(Function):
    _array_level = True
    _backward_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, nd, eps):
        axes = tuple(range(x.ndim - nd, x.ndim))
        if numpy_floats(*(a for a in (x, w, b) if a is not None)):
            # block by block of rows in cache, on threads (see _rowwise.py)
            y, xhat, invstd = _rowwise.layer_norm(x, w, b, nd, eps)
            ctx.xhat, ctx.invstd, ctx.w, ctx.axes = xhat, invstd, w, axes
            return y
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        var = (xc * xc).mean(axis=axes, keepdims=True)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = xc * invstd
        y = xhat if w is None else xhat * w
        if b is not None:
            y = y + b
        ctx.xhat, ctx.invstd, ctx.w, ctx.axes = xhat, invstd, w, axes
        return y

    @staticmethod
    def backward(ctx, g):
        ni = ctx.needs_input_grad
        xhat = ctx.xhat
        if numpy_floats(*(a for a in (g, xhat, ctx.invstd, ctx.w) if a is not None)) and \
                g.shape == xhat.shape:
            norm_shape = tuple(xhat.shape[a] for a in ctx.axes)
            return _rowwise.layer_norm_backward(g, xhat, ctx.invstd, ctx.w, ni[:3],
                                                norm_shape) + (None, None)
        lead = tuple(range(g.ndim - len(ctx.axes)))
        gx = gw = gb = None
        # the rows' sums accumulated in float64: in float32 they drifted past the reference
        # tolerance over thousands of rows
        if ni[1]:
            gw = (g * xhat).sum(axis=lead, dtype=np.float64).astype(g.dtype, copy=False)
        if ni[2]:
            gb = g.sum(axis=lead, dtype=np.float64).astype(g.dtype, copy=False)
        if ni[0]:
            h = g if ctx.w is None else g * ctx.w
            gx = _norm_input_grad(h, xhat, ctx.invstd, ctx.axes)
        return gx, gw, gb, None, None


@float32_compute
def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dimensions. See:
    torch.nn.functional.layer_norm."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    nd = len(shape)
    if nd == 0 or tuple(input.shape[input.ndim - nd:]) != shape or input.ndim < nd:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(shape)}")
    return LayerNorm.apply(input, weight, bias, nd, eps)


class GroupNorm(Function):
    _array_level = True
    _backward_name = "NativeGroupNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, groups, eps):
        ctx.fast = x.ndim >= 3 and x.size > 0 and x.flags.c_contiguous and \
            numpy_floats(*(a for a in (x, w, b) if a is not None))
        if ctx.fast:  # BLAS row sums and per-row factors (_group_norm.py)
            y, ctx.xc, ctx.invstd = GN.forward(x, w, b, groups, eps)
            ctx.w, ctx.groups = w, groups
            return y
        n, c = x.shape[:2]
        xg = x.reshape(n, groups, x.size // max(n * groups, 1))  # no -1: n may be 0
        mean = xg.mean(axis=2, keepdims=True)
        xc = xg - mean
        var = (xc * xc).mean(axis=2, keepdims=True)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = (xc * invstd).reshape(x.shape)
        cs = _channel_shape(x.ndim)
        y = _scale_shift(xhat, w, b, cs)
        ctx.xhat, ctx.invstd, ctx.w, ctx.groups = xhat, invstd, w, groups
        return y

    @staticmethod
    def backward(ctx, g):
        ni = ctx.needs_input_grad
        if ctx.fast and numpy_floats(g) and g.flags.c_contiguous:
            return GN.backward(g, ctx.xc, ctx.invstd, ctx.w, ctx.groups, ni) + (None, None)
        if ctx.fast:  # an unusual gradient: the generic formulas, from the kept statistics
            # (locals, not ctx: a retained graph's next backward takes the fast path again)
            invstd = ctx.invstd[:, :, None]
            xhat = (ctx.xc.reshape(invstd.shape[:2] + (-1,)) * invstd).reshape(g.shape)
        else:
            xhat, invstd = ctx.xhat, ctx.invstd
        axes = (0,) + tuple(range(2, g.ndim))
        gx = None
        gw, gb, h = _affine_grads(g, xhat, ctx.w, axes, ni)
        if ni[0]:
            n, m = g.shape[0], g.size // max(g.shape[0] * ctx.groups, 1)
            gx = _norm_input_grad(h.reshape(n, ctx.groups, m), xhat.reshape(n, ctx.groups, m),
                                  invstd, (2,)).reshape(g.shape)
        return gx, gw, gb, None, None


@float32_compute
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalize each sample over groups of channels. See: torch.nn.functional.group_norm."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.ndim}")
    c = input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.shape[0] != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} "
                               f"and input of shape {list(input.shape)}")
    if input.numel() == 0:  # no statistics to take: PyTorch returns the empty input, scaled
        cs = _channel_shape(input.ndim)
        out = input.clone()
        out = out if weight is None else out * weight.reshape(cs)
        return out if bias is None else out + bias.reshape(cs)
    return GroupNorm.apply(input, weight, bias, int(num_groups), eps)


# -- embedding, one_hot, dropout2d ------------------------------------------------------------


class Embedding(Function):
    _array_level = True
    _backward_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad_by_freq, sparse=False):
        ctx.idx, ctx.n, ctx.padding_idx = idx, w.shape[0], padding_idx
        ctx.scale, ctx.sparse = scale_grad_by_freq, sparse
        return xp_of(w).take(w, idx, axis=0)  # 1.7x faster than w[idx] for (512, 60) of 100

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        row = g.shape[ctx.idx.ndim:]
        flat = ctx.idx.reshape(-1)
        if ctx.sparse:
            return None, _sparse_weight_grad(ctx, flat, g.reshape((-1,) + row)), None, None
        gw = add_at_zeros((ctx.n,) + row, flat, g.reshape((-1,) + row))
        if ctx.scale:
            # Divide each row by how often its index occurs in the batch.
            counts = xp.bincount(flat, minlength=ctx.n).astype(g.dtype)
            gw /= xp.maximum(counts, 1).reshape((-1,) + (1,) * (gw.ndim - 1))
        if ctx.padding_idx is not None:
            gw[ctx.padding_idx] = 0
        return None, gw, None, None


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; ``padding_idx``'s row gets no
    gradient. ``sparse=True`` makes ``weight``'s gradient a sparse COO tensor (see
    ``brickwork.sparse``). See: torch.nn.functional.embedding."""
    if input.dtype.is_floating_point or input.dtype.name == "bool":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"torch.{_legacy_name(input)} instead (while checking arguments for "
                           f"embedding)")
    n = weight.shape[0]
    idx = input._data
    if out_of_range(idx, 0, n) is not None:
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx % n
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    if sparse:
        return Embedding.apply(input, weight, padding_idx, bool(scale_grad_by_freq), True)
    return Embedding.apply(input, weight, padding_idx, bool(scale_grad_by_freq))


def _sparse_weight_grad(ctx, flat, rows):
    """``sparse=True``: the weight's gradient as an uncoalesced sparse COO tensor listing one
    row per looked-up index (PyTorch's layout; the padding row's entries are left out)."""
    from .._sparse_coo import SparseCOO

    if ctx.scale:
        raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                           "gradients")
    if ctx.padding_idx is not None:
        keep = flat != ctx.padding_idx
        flat, rows = flat[keep], rows[keep]
    return SparseCOO(flat[None].astype("int64"), rows, (ctx.n,) + rows.shape[1:])


def _legacy_name(t: Tensor) -> str:
    return {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
            "bool": "BoolTensor"}.get(t.dtype.name, "Tensor")


def _renorm_rows(weight: Tensor, idx, max_norm, norm_type):
    # PyTorch rescales the looked-up rows of the weight in place, outside autograd.
    xp = xp_of(weight._data)
    rows = xp.unique(idx.reshape(-1))
    w = weight._data
    norms = (xp.abs(w[rows]) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] *= scale[:, None]


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot encoding with a new last dimension. See: torch.nn.functional.one_hot."""
    if tensor.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor._data
    xp = xp_of(idx)
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    if idx.size:
        if idx.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if idx.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (idx[..., None] == xp.arange(num_classes)).astype(np.int64)
    return wrap(out, tensor)


class _ChannelMask(Function):
    _array_level = True
    _backward_name = "MulBackward0"

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool, name: str,
                     batched_ndim: int) -> Tensor:
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    from ..random import rng_for

    shape = tuple(input.shape)
    if input.ndim == batched_ndim - 1:
        mask_shape = shape[:1] + (1,) * (len(shape) - 1)  # unbatched: (C, 1, ...)
    else:
        mask_shape = shape[:2] + (1,) * (len(shape) - 2)
    if p == 1:
        mask = np.zeros(mask_shape, dtype=input._data.dtype)
    else:
        keep = rng_for(None).random(mask_shape) >= p
        mask = (keep / (1 - p)).astype(input._data.dtype)
    mask = xp_of(input._data).asarray(mask)
    if inplace:
        return input._inplace(lambda t: _ChannelMask.apply(t, mask))
    return _ChannelMask.apply(input, mask)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) with probability ``p``; scale the rest by 1/(1-p).

    See: torch.nn.functional.dropout2d.
    """
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: Expected 3D (unbatched) or 4D (batched) input, but got "
                           f"input of size: {list(input.shape)}")
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, "
                      "H, W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace, "dropout2d", 3)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L). See: torch.nn.functional.dropout1d."""
    return _feature_dropout(input, p, training, inplace, "dropout1d", 3)


TENSOR_METHODS: dict = {}
INPLACE_METHODS: tuple = ()
__all__ = ["batch_norm", "layer_norm", "group_norm", "embedding", "one_hot", "dropout2d",
           "dropout1d"]

guard_functions(globals(), __all__)  # each runs on its input's GPU (see device.py)
