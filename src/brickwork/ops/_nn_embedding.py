"""Bag reductions: ``embedding_bag`` (ATen's four results and ``nn.functional``'s one) and
``segment_reduce``.

The bookkeeping (which position belongs to which bag, the winners of a max) is integer work on
the backend arrays; the values are then gathered and summed with differentiable ops
(``embedding``, ``index_add``, ``gather``), so the gradients are theirs: ``scale_grad_by_freq``
and ``padding_idx`` behave as in ``embedding``.
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import wrap, xp_of

_MODES = {"sum": 0, "mean": 1, "max": 2}


def _check_index_dtype(t: Tensor, arg: str, op: str) -> None:
    if t.dtype.name not in ("int64", "int32"):
        legacy = t.type().split(".")[-1]  # PyTorch's text names its own type: torch.XTensor
        raise RuntimeError(f"Expected tensor for argument #{arg} to have one of the following "
                           f"scalar types: Long, Int; but got torch.{legacy} instead (while "
                           f"checking arguments for {op})")


def _bags(idx, off, include_last_offset: bool):
    """Each position's bag and the number of bags, as ATen's CPU kernel assigns them (the
    last bag runs to the end of ``indices`` whatever the last offset says)."""
    xp = xp_of(idx)
    n = int(idx.shape[0])
    nb = int(off.shape[0]) - 1 if include_last_offset else int(off.shape[0])
    nb = max(nb, 0)
    if off.shape[0]:
        first = int(off[0])
        if first != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the "
                               "mini-batch has to start from position 0. However, got "
                               f"{first}")
        last = int(off[-1])
        if last > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but "
                               f"got offsets[-1] of {last}")
        if off.shape[0] > 1 and bool((off[1:] < off[:-1]).any()):
            raise RuntimeError("offsets must be non-decreasing (each bag starts where the "
                               f"previous one ends), got {off.tolist()}")
    starts = off[:nb]
    bag = xp.searchsorted(starts, xp.arange(n), side="right") - 1
    return bag.astype(np.int64), nb


def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor,
                  scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """ATen's embedding bag: the sum (``mode=0``), mean (1) or max (2) of the rows of
    ``weight`` picked by each bag of ``indices`` (bags start at ``offsets``).

    Returns ``(output, offset2bag, bag_size, max_indices)`` as PyTorch's CPU kernel fills them:
    each position's bag (empty on the float32 ``sum`` fast path), the bag sizes (zeros for
    ``sum``) and the row that won each max (the bag sizes for ``mean``, zeros for ``sum``).
    See: torch.embedding_bag.
    """
    if sparse:
        raise NotImplementedError("embedding_bag(sparse=True): brickwork has no sparse tensors; "
                                  "use sparse=False (a dense gradient)")
    # PyTorch names both arguments #1 'indices' in this message.
    _check_index_dtype(indices, "1 'indices'", "embedding_bag")
    _check_index_dtype(offsets, "1 'indices'", "embedding_bag")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    if mode not in (0, 1, 2):
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != 0:
        name = {1: "mean", 2: "max"}[mode]
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{name}'). Please open a feature request on "
                                  "GitHub.")
    num, dim = weight.shape
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError("padding_idx must be within the number of embeddings, "
                               f"{-num} through {num - 1}, but got {padding_idx}")
        padding_idx %= num
    idx = indices._data.reshape(-1).astype(np.int64)
    xp = xp_of(idx)
    bad = xp.nonzero((idx < 0) | (idx >= num))[0]
    if bad.size:
        k = int(bad[0])
        v = int(idx[k])
        if v < 0:
            raise RuntimeError(f"Index {k} of input takes value {v} which is not in the valid "
                               f"range [0, {num})")
        raise RuntimeError("embedding_bag: Expected idx >= 0 && idx < num_embeddings but found "
                           f"idx to be {v}")
    bag, nb = _bags(idx, offsets._data.astype(np.int64), include_last_offset)
    valid = idx != padding_idx if padding_idx is not None else xp.ones(idx.shape, dtype=bool)
    counts = xp.bincount(bag[valid], minlength=nb)[:nb] if nb else xp.zeros(0, np.int64)
    from ..dtypes import promote_types

    aux = promote_types(indices.dtype, offsets.dtype).np
    fast = (mode == 0 and weight.dtype.name == "float32" and indices.dtype.name == "int64"
            and per_sample_weights is None and padding_idx is None and not scale_grad_by_freq)
    offset2bag = wrap((xp.zeros(0) if fast else bag).astype(aux), indices)
    from ..factories import zeros
    from .normalization import embedding

    if mode == 2:
        output, max_idx = _bag_max(weight, indices, idx, bag, valid, nb, scale_grad_by_freq)
        return output, offset2bag, wrap(counts.astype(aux), indices), \
            wrap(max_idx.astype(aux), indices)
    keep = xp.nonzero(valid)[0]
    rows = embedding(wrap(idx[keep], indices), weight,
                     scale_grad_by_freq=bool(scale_grad_by_freq))
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[wrap(keep, indices)].unsqueeze(1)
    out = zeros(nb, dim, dtype=weight.dtype, device=weight.device)
    out = out.index_add(0, wrap(bag[keep], indices), rows)
    if mode == 1:
        out = out / wrap(xp.maximum(counts, 1).astype(weight._data.dtype)[:, None], weight)
        sizes = counts
        max_idx = counts
    else:
        sizes = max_idx = xp.zeros(offsets.shape[0], dtype=np.int64)
    return out, offset2bag, wrap(sizes.astype(aux), indices), wrap(max_idx.astype(aux), indices)


def _bag_max(weight, indices, idx, bag, valid, nb, scale_grad_by_freq):
    """The max of each bag per column: the winning positions are found on the arrays, then
    the values are gathered differentiably (an empty bag gives 0 and index 0, as ATen)."""
    from .normalization import embedding

    xp = xp_of(idx)
    num, dim = weight.shape
    vals = weight._data[idx]
    pos = xp.zeros((nb, dim), dtype=np.int64)
    filled = xp.zeros(nb, dtype=bool)
    for b in range(nb):
        where = xp.nonzero((bag == b) & valid)[0]
        if where.size:
            # argmax picks the first of equal values, as ATen's strict comparison does.
            pos[b] = where[vals[where].argmax(axis=0)]
            filled[b] = True
    max_idx = xp.where(filled[:, None], idx[pos], 0)
    rows = embedding(indices.reshape(-1), weight, scale_grad_by_freq=bool(scale_grad_by_freq))
    if idx.shape[0] == 0:
        from ..factories import zeros

        return zeros(nb, dim, dtype=weight.dtype, device=weight.device) + rows.sum(), max_idx
    out = rows.gather(0, wrap(pos, indices))
    out = out * wrap(filled[:, None].astype(weight._data.dtype), weight)
    return out, max_idx


def embedding_bag_functional(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                             max_norm: float | None = None, norm_type: float = 2,
                             scale_grad_by_freq: bool = False, mode: str = "mean",
                             sparse: bool = False, per_sample_weights: Tensor | None = None,
                             include_last_offset: bool = False,
                             padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without building the gathered rows'
    tensor in full. A 2-D ``input`` is a batch of fixed-size bags; a 1-D one is split at
    ``offsets``. See: torch.nn.functional.embedding_bag."""
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim}")
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets)}")
        from ..factories import arange

        offsets = arange(0, input.numel(), input.shape[1], dtype=input.dtype,
                         device=input.device)
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    if max_norm is not None:
        from ..autograd.grad_mode import no_grad
        from ._nn_norm import embedding_renorm_

        with no_grad():
            embedding_renorm_(weight, input, max_norm, norm_type)
    return embedding_bag(weight, input, offsets, scale_grad_by_freq, _MODES[mode], sparse,
                         per_sample_weights, include_last_offset, padding_idx)[0]


_SEGMENT_REDUCE = {"sum": "sum", "prod": "prod", "mean": "mean", "max": "amax", "amax": "amax",
                   "min": "amin", "amin": "amin"}


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None,
                   indices: Tensor | None = None, offsets: Tensor | None = None,
                   axis: int = 0, unsafe: bool = False, initial=None) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis`` (``sum``, ``prod``, ``mean``,
    ``max``/``amax``, ``min``/``amin``), the segments given by ``lengths`` or ``offsets``
    (batched over the leading dimensions when those have more than one dimension). An empty
    segment gives ``initial`` when given, else the reduction's identity (``nan`` for mean).

    See: torch.segment_reduce.
    """
    if reduce not in _SEGMENT_REDUCE:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if indices is not None and lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    if not data.is_floating_point():
        from .reduction import _torch_type_name

        raise NotImplementedError('"_segment_reduce_cpu" not implemented for '
                                  f"'{_torch_type_name(data.dtype)}'")
    seg = lengths if lengths is not None else offsets
    if seg.is_floating_point():
        from .reduction import _torch_type_name

        raise NotImplementedError('"_segment_reduce_lengths_cpu_kernel1" not implemented for '
                                  f"'{_torch_type_name(seg.dtype)}'")
    ax = axis + data.ndim if axis < 0 else axis
    if ax != seg.ndim - 1:
        raise RuntimeError("segment_reduce(): Expected axis to be the last dimension of "
                           f"lengths but got {axis}.")
    arr = seg._data.astype(np.int64)
    xp = xp_of(arr)
    if lengths is not None:
        if not unsafe:
            if bool((arr < 0).any()):
                raise RuntimeError("lengths contains negative value!")
            if bool((arr.sum(axis=-1) != data.shape[ax]).any()):
                raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis "
                                   "to sum to data.size(lengths.dim()-1) when !unsafe.")
        zero = xp.zeros(arr.shape[:-1] + (1,), dtype=np.int64)
        arr = xp.concatenate([zero, xp.cumsum(arr, axis=-1)], axis=-1)
    batch = arr.shape[:-1]
    flat = arr.reshape(-1, arr.shape[-1]).tolist()
    rows = []
    for b, bounds in enumerate(flat):
        row = data
        if batch:
            row = data.reshape(-1, *data.shape[ax:])[b]
        rows.append(_segments(row, bounds, _SEGMENT_REDUCE[reduce], initial))
    from .join import stack

    if not batch:
        return rows[0]
    return stack(rows).reshape(*batch, *rows[0].shape)


def _segments(row: Tensor, bounds: list, op: str, initial) -> Tensor:
    """Reduce ``row`` (segments along its dimension 0) between consecutive ``bounds``."""
    from .join import stack

    out = []
    identity = {"sum": 0.0, "prod": 1.0, "mean": float("nan"), "amax": float("-inf"),
                "amin": float("inf")}[op]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        n = hi - lo
        if n <= 0:
            fill = identity if initial is None else float(initial)
            out.append(row.new_full(tuple(row.shape[1:]), fill))
            continue
        part = row.narrow(0, lo, n)
        if op == "mean":
            r = part.sum(0)
            r = (r if initial is None else r + initial) / n
        else:
            r = getattr(part, op)(0)
            if initial is not None:
                r = {"sum": lambda v: v + initial, "prod": lambda v: v * initial,
                     "amax": lambda v: v.clamp_min(initial),
                     "amin": lambda v: v.clamp_max(initial)}[op](r)
        out.append(r)
    if not out:
        return row.new_zeros((0,) + tuple(row.shape[1:]))
    return stack(out)


__all__ = ["embedding_bag", "segment_reduce"]
