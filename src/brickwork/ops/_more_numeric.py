"""gradient (finite differences), nonzero_static, and the memory-format objects."""
from __future__ import annotations

from ..tensor import Tensor


def _along(t: Tensor, d: int, start, stop) -> Tensor:
    return t[(slice(None),) * d + (slice(start, stop),)]


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Second-order central differences inside, one-sided (first or second order) at the
    edges, one tensor per dimension. See: torch.gradient.

    ``spacing`` is a scalar or one scalar per dimension; coordinate tensors (non-uniform
    spacing) are not supported yet and raise.
    """
    from .join import cat

    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(range(input.dim())) if dim is None else \
        [dim] if isinstance(dim, int) else list(dim)
    dims = [d % max(input.dim(), 1) for d in dims]
    if isinstance(spacing, (list, tuple)):
        if len(spacing) != len(dims):
            what = ("since dim argument was not given" if dim is None else
                    f"since dim argument was given as {dim}")
            raise RuntimeError("torch.gradient expected spacing to be unspecified, a scalar, "
                               "or a list of length equal to 'self.dim() = "
                               f"{input.dim()}', {what}, but got a list of length "
                               f"{len(spacing)}")
        steps = list(spacing)
    else:
        steps = [spacing] * len(dims)
    if any(isinstance(s, Tensor) for s in steps):
        raise NotImplementedError("brickwork.gradient: spacing given as coordinate tensors "
                                  "(non-uniform spacing) is not supported yet")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    f = input if input.dtype.is_floating_point else input.to(_default_float())
    out = []
    for d, h in zip(dims, steps):
        h = float(h)
        inner = (_along(f, d, 2, None) - _along(f, d, None, -2)) / (2 * h)
        if edge_order == 1:
            first = (_along(f, d, 1, 2) - _along(f, d, 0, 1)) / h
            last = (_along(f, d, -1, None) - _along(f, d, -2, -1)) / h
        else:
            first = (-3 * _along(f, d, 0, 1) + 4 * _along(f, d, 1, 2)
                     - _along(f, d, 2, 3)) / (2 * h)
            last = (3 * _along(f, d, -1, None) - 4 * _along(f, d, -2, -1)
                    + _along(f, d, -3, -2)) / (2 * h)
        out.append(cat([first, inner, last], d))
    return tuple(out)


def _default_float():
    from ..dtypes import get_default_dtype

    return get_default_dtype()


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` cut or padded (with ``fill_value``) to exactly ``size`` rows.

    See: torch.nonzero_static.
    """
    from ..factories import full

    if not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    idx = input.nonzero()[:size]
    if idx.shape[0] == size:
        return idx
    pad = full((size - idx.shape[0], input.dim()), fill_value, dtype=idx.dtype,
               device=input.device)
    from .join import cat

    return cat([idx, pad], 0)


class memory_format:
    """How a tensor's elements are laid out in memory. See: torch.memory_format.

    Results are row-major (``contiguous_format``) unless asked otherwise; ``channels_last`` /
    ``channels_last_3d`` give channels-last strides, and ``preserve_format`` (the default of
    ``*_like``, ``to`` and the dtype conversions) keeps a dense input's strides. The rules are
    PyTorch's, in ``ops/_memory_format.py``.
    """

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"brickwork.{self._name}"

    def __reduce__(self):
        return self._name


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
# PyTorch's legacy_contiguous_format is the same object as contiguous_format.
legacy_contiguous_format = contiguous_format


_CHANNELS_LAST = {"channels_last": (4, (0, 2, 3, 1)), "channels_last_3d": (5, (0, 2, 3, 4, 1))}


def layout_order(op: str, value, ndim: int):
    """The axis order a memory format stores in (``None`` for row-major / preserve).

    ``channels_last`` keeps an (N, C, H, W) tensor's elements in (N, H, W, C) order; PyTorch's
    rule that it needs a rank-4 tensor (rank 5 for ``channels_last_3d``) applies.
    """
    if value is None or value is contiguous_format or value is preserve_format:
        return None
    if not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be brickwork.memory_format, not "
                        f"{type(value).__name__}")
    rank, order = _CHANNELS_LAST[value._name]
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {value._name} format")
    return order


__all__ = ["gradient", "nonzero_static", "memory_format", "contiguous_format", "preserve_format",
           "channels_last", "channels_last_3d", "legacy_contiguous_format"]


def histogramdd(input: Tensor, bins, *, range=None, weight: Tensor | None = None,  # noqa: A002
                density: bool = False):
    """Histogram of the points in ``input``'s last dimension (``(..., D)``): per dimension an
    int number of equal bins or a 1-D tensor of edges.

    Returns:
        ``(hist, bin_edges)`` as ``brickwork.return_types.histogramdd`` (a tuple of edges).

    See: torch.histogramdd.
    """
    import numpy as np

    from ._misc_count import _require_float, histogram
    from ._util import wrap, xp_of

    _require_float(input, "histogramdd")
    dims = input.shape[-1] if input.dim() else 1
    pts = input.reshape(-1, dims)
    if isinstance(bins, (int, Tensor)):
        bins = [bins] * dims
    bins = list(bins)
    if len(bins) != dims:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost "
                           "dimension of the input.")
    if range is not None and len(range) != 2 * dims:
        raise RuntimeError("histogramdd: for a 2-dimensional input tensor, expected range to "
                           f"have length {2 * dims}, but got {len(range)}")
    edges = []
    for d, b in enumerate(bins):
        rng = None if range is None else (range[2 * d], range[2 * d + 1])
        try:  # histogram's own checks and edges, one dimension at a time
            edges.append(histogram(pts[:, d], b, range=rng).bin_edges._data)
        except RuntimeError as exc:
            raise RuntimeError(str(exc).replace("dimension 0", f"dimension {d}")) from None
    x = pts._data
    xp = xp_of(x)
    n = [e.shape[0] - 1 for e in edges]
    keep = xp.ones(x.shape[0], bool)
    lin = xp.zeros(x.shape[0], np.int64)
    for d, e in enumerate(edges):
        col = x[:, d]
        # The last bin is closed on the right, as in histogram.
        pos = xp.searchsorted(e, col, side="right") - 1
        pos = xp.where(col == e[-1], n[d] - 1, pos)
        keep &= (col >= e[0]) & (col <= e[-1]) & (n[d] > 0)
        lin = lin * max(n[d], 1) + xp.clip(pos, 0, max(n[d] - 1, 0))
    if weight is not None:
        if tuple(weight.shape) != tuple(input.shape[:-1]):
            raise RuntimeError("torch.histogramdd: if weight tensor is provided it should have "
                               "the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape {list(input.shape)} and "
                               f"weight with shape {list(weight.shape)}")
        w = xp.where(keep, weight._data.reshape(-1).astype(x.dtype), 0)
    else:
        w = keep.astype(x.dtype)
    total = int(np.prod(n))
    hist = xp.bincount(xp.where(keep, lin, 0), weights=w, minlength=total)[:total]
    hist = hist.astype(x.dtype).reshape(n)
    if density and hist.size:
        volume = xp.ones(n, x.dtype)
        for d, e in enumerate(edges):
            shape = [1] * len(n)
            shape[d] = n[d]
            volume = volume * (e[1:] - e[:-1]).reshape(shape)
        hist = (hist / (hist.sum() * volume)).astype(x.dtype)
    return return_types["histogramdd"]((wrap(hist, input),
                                        tuple(wrap(e.copy(), input) for e in edges)))


def _histogramdd_type():
    from ._misc_count import _histogram_type

    return _histogram_type("histogramdd")


return_types = {"histogramdd": _histogramdd_type()}
__all__.append("histogramdd")
