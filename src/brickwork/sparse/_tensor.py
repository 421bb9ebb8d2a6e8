"""Making sparse COO tensors and converting them: ``sparse_coo_tensor``, ``to_sparse``,
``to_dense``, ``coalesce``, ``indices``/``values`` and the in-place resizes.

Only the COO layout is supported; the compressed layouts (CSR/CSC/BSR/BSC) are out of scope and
their conversions raise ``NotImplementedError``.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..tensor import Tensor, _make
from .._sparse_coo import SparseCOO, is_sparse_array


class _Invariants:
    """Whether ``sparse_coo_tensor`` checks its indices by default (PyTorch: off).

    See: torch.sparse.check_sparse_tensor_invariants.
    """

    enabled = False

    def __init__(self, enable: bool = True) -> None:
        self._enable, self._saved = bool(enable), None

    @staticmethod
    def is_enabled() -> bool:
        return _Invariants.enabled

    @staticmethod
    def enable() -> None:
        _Invariants.enabled = True

    @staticmethod
    def disable() -> None:
        _Invariants.enabled = False

    def __enter__(self):
        self._saved, _Invariants.enabled = _Invariants.enabled, self._enable
        return self

    def __exit__(self, *exc) -> None:
        _Invariants.enabled = self._saved


check_sparse_tensor_invariants = _Invariants


def coo(t: Tensor, op: str) -> SparseCOO:
    """``t``'s sparse payload; PyTorch's error when ``t`` is dense."""
    d = t._data
    if d.__class__ is not SparseCOO:
        raise RuntimeError(f"{op} expected sparse coordinate tensor layout but got Strided")
    return d


# -- autograd Functions ----------------------------------------------------------------------


def gather_at(g, indices, shape):
    """The gradient ``g`` (dense array or SparseCOO) read at the sparse ``indices``: one row of
    values per entry, zero where a sparse ``g`` has no entry."""
    if g.__class__ is not SparseCOO:
        return g[tuple(indices)]
    xp = g.xp
    gc = g.coalesce()
    query = SparseCOO(indices, xp.zeros((indices.shape[1],), g.dtype), shape)
    lg, lq = gc.linear_index(), query.linear_index()
    if gc.nnz == 0:
        return xp.zeros((indices.shape[1],) + gc.values.shape[1:], g.dtype)
    pos = xp.clip(xp.searchsorted(lg, lq), 0, gc.nnz - 1)
    found = (lg[pos] == lq).reshape((-1,) + (1,) * (gc.values.ndim - 1))
    return xp.where(found, gc.values[pos], 0).astype(g.dtype)


class SparseCooTensor(Function):
    _array_level = True
    _backward_name = "SparseCooTensorWithDimsAndTensorsBackward0"

    @staticmethod
    def forward(ctx, indices, values, shape, coalesced):
        ctx.indices, ctx.shape = indices, shape
        return SparseCOO(indices, values, shape, coalesced)

    @staticmethod
    def backward(ctx, g):
        # Each stored entry (repeats included) receives the gradient at its position.
        return None, gather_at(g, ctx.indices, ctx.shape), None, None


class ToDense(Function):
    _array_level = True
    _backward_name = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.pattern = x.coalesce()
        return x.to_dense()

    @staticmethod
    def backward(ctx, g):
        # PyTorch masks the gradient to the input's (coalesced) pattern: a sparse gradient.
        p = ctx.pattern
        return SparseCOO(p.indices, gather_at(g, p.indices, p.shape), p.shape, True)


class ToSparse(Function):
    _array_level = True
    _backward_name = "ToSparseBackward0"

    @staticmethod
    def forward(ctx, x, sparse_dim):
        xp = np if isinstance(x, np.ndarray) else _cupy()
        lead = x.shape[:sparse_dim]
        nz = x != 0
        if x.ndim > sparse_dim:
            nz = nz.reshape(lead + (-1,)).any(axis=-1)
        if sparse_dim == 0:  # one entry holding the whole tensor
            return SparseCOO(xp.zeros((0, 1), np.int64), x[None].copy(), x.shape, True)
        idx = xp.stack(xp.nonzero(nz)).astype(np.int64)
        return SparseCOO(idx, x[tuple(idx)], x.shape, True)

    @staticmethod
    def backward(ctx, g):
        return (g.to_dense() if g.__class__ is SparseCOO else g), None


class Coalesce(Function):
    _array_level = True
    _backward_name = "CoalesceBackward0"

    @staticmethod
    def forward(ctx, x):
        return x.coalesce().copy() if x.coalesced else x.coalesce()

    @staticmethod
    def backward(ctx, g):
        return g  # the same dense value: the gradient passes through


class Values(Function):
    _array_level = True
    _backward_name = "ValuesBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.indices, ctx.shape = x.indices, x.shape
        return x.values  # an alias, as PyTorch's values() is a view

    @staticmethod
    def backward(ctx, g):
        return SparseCOO(ctx.indices, g, ctx.shape)


class SparseMask(Function):
    _array_level = True
    _backward_name = "SparseMaskBackward0"

    @staticmethod
    def forward(ctx, x, indices, shape, coalesced):
        ctx.indices, ctx.shape = indices, shape
        return SparseCOO(indices, x[tuple(indices)], shape, coalesced)

    @staticmethod
    def backward(ctx, g):
        vals = gather_at(g, ctx.indices, ctx.shape)
        return SparseCOO(ctx.indices, vals, ctx.shape).to_dense(), None, None, None


def _cupy():
    from ..device import cupy_module

    return cupy_module()


# -- public functions -------------------------------------------------------------------------


def sparse_coo_tensor(indices, values=None, size=None, *, dtype=None, device=None,
                      pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> Tensor:
    """A sparse COO tensor with ``values`` at ``indices`` (shape ``(sparse_dim, nnz)``).

    ``sparse_coo_tensor(size)`` (no values) makes an empty one of that size.
    ``values`` may have trailing dense dimensions (a hybrid tensor). Repeated indices are allowed
    (the tensor is then uncoalesced; they add up). ``check_invariants`` (default:
    ``check_sparse_tensor_invariants.is_enabled()``, off) checks that indices lie in ``size``.
    Gradients flow to ``values``.

    Example:
        >>> s = brickwork.sparse_coo_tensor([[0, 1], [2, 0]], [3., 4.], (2, 3))
        >>> s.to_dense()
        tensor([[0., 0., 3.],
                [4., 0., 0.]])

    See: torch.sparse_coo_tensor.
    """
    from ..factories import tensor as _tensor

    if pin_memory:
        raise NotImplementedError("sparse_coo_tensor(pin_memory=True) is not supported: "
                                  "brickwork has no page-locked host memory")
    if values is None:  # the (size) overload: no entries
        if size is not None:
            raise TypeError("sparse_coo_tensor(): missing the 'values' argument")
        size = tuple(int(s) for s in indices)
        indices = _tensor(np.zeros((len(size), 0), np.int64))
        values = _tensor(np.zeros((0,), (dtype or _dt.get_default_dtype()).np))
    if not isinstance(indices, Tensor):
        indices = _tensor(indices, dtype=_dt.int64)
    if not isinstance(values, Tensor):
        values = _tensor(values, dtype=dtype)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype is _dt.bool:
        indices = indices.to(_dt.int64)
    elif indices.dtype is not _dt.int64:
        indices = indices.to(_dt.int64)
    if dtype is not None and values.dtype is not _dt.to_dtype(dtype):
        values = values.to(_dt.to_dtype(dtype))
    if device is not None:
        indices, values = indices.to(device), values.to(device)
    if indices.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    if values.ndim == 0 and indices.shape[1] == 1:  # one entry given as a scalar (PyTorch)
        values = values.reshape(1)
    sdim, nnz = indices.shape
    vnnz = values.shape[0] if values.ndim else 1
    if nnz != vnnz:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{nnz}, nnz from values: {vnnz}")
    idx = indices._data
    dense_shape = tuple(values.shape[1:])
    if size is None:
        top = (idx.max(axis=1) + 1).tolist() if nnz else [0] * sdim
        size = tuple(int(s) for s in top) + dense_shape
    else:
        size = tuple(int(s) for s in size)
        if len(size) != sdim + len(dense_shape):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: "
                               f"len(size) = {len(size)}, sparse_dim = {sdim}, dense_dim = "
                               f"{len(dense_shape)}")
        if size[sdim:] != dense_shape:
            raise RuntimeError(f"values has incorrect size, expected {[nnz, *size[sdim:]]}, "
                               f"got {list(values.shape)}")
    if check_invariants if check_invariants is not None else _Invariants.enabled:
        _check_indices(idx, size, sdim)
    out = SparseCooTensor.apply(indices.detach(), values, size, bool(is_coalesced))
    if requires_grad:
        if values.requires_grad:
            raise RuntimeError("sparse_coo_tensor(requires_grad=True): values already require "
                               "grad; the result is not a leaf")
        out.requires_grad_(True)
    return out


def _check_indices(idx, size, sdim) -> None:
    if idx.shape[1] == 0:
        return
    lo, hi = idx.min(axis=1).tolist(), idx.max(axis=1).tolist()
    for d in range(sdim):
        if lo[d] < 0:
            raise RuntimeError(f"found negative index {lo[d]} for dim {d}")
        if hi[d] >= size[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is "
                               f"{size[d]} but found index {hi[d]}")


def to_dense(input: Tensor, dtype=None, *, masked_grad: bool | None = None) -> Tensor:
    """The dense tensor (repeated entries add up); a dense tensor is returned as is.

    See: torch.Tensor.to_dense.
    """
    if masked_grad is not None and not masked_grad:
        raise NotImplementedError("to_dense(masked_grad=False) is not supported: the gradient "
                                  "of a sparse input is masked to its pattern")
    if input._data.__class__ is not SparseCOO:
        if dtype is not None:
            return input.to(dtype)
        return input
    if dtype is not None:
        raise RuntimeError("dtype argument is not supported by sparse_to_dense")
    return ToDense.apply(input)


def to_sparse(input: Tensor, sparse_dim: int | None = None, *, layout=None, blocksize=None,
              dense_dim: int | None = None) -> Tensor:
    """A sparse COO tensor holding the nonzeros of ``input`` (its first ``sparse_dim``
    dimensions sparse, the rest dense in ``values``). See: torch.Tensor.to_sparse."""
    from ..factories import sparse_coo, strided

    if layout is not None and layout is not sparse_coo:
        if layout is strided:
            raise RuntimeError("to_sparse: layout must be a sparse layout, got torch.strided")
        raise NotImplementedError(f"to_sparse(layout={layout}): only the COO layout is "
                                  "supported (compressed layouts are out of scope)")
    if blocksize is not None:
        raise NotImplementedError("to_sparse(blocksize=...) is for the block layouts, which "
                                  "brickwork does not have")
    if dense_dim is not None:
        if sparse_dim is not None and sparse_dim + dense_dim != input.ndim:
            raise RuntimeError("to_sparse: sparse_dim + dense_dim must equal the number of "
                               "dimensions")
        sparse_dim = input.ndim - dense_dim
    if input._data.__class__ is SparseCOO:
        if sparse_dim is not None and sparse_dim != input._data.sparse_dim:
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim "
                               "argument !=self.sparse_dim() is not supported")
        return input
    nd = input.ndim
    if sparse_dim is None:
        sparse_dim = nd
    if not 0 <= sparse_dim <= nd:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{nd}] range, "
                           f"but {sparse_dim} is given")
    return ToSparse.apply(input, int(sparse_dim))


def to_sparse_coo(input: Tensor) -> Tensor:
    """``to_sparse()`` with every dimension sparse. See: torch.Tensor.to_sparse_coo."""
    return to_sparse(input)


def _no_compressed(name: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(f"{name}: the compressed sparse layouts (CSR/CSC/BSR/BSC) are "
                                  "out of scope in brickwork; use to_sparse() (COO)")

    method.__name__ = name
    return method


to_sparse_csr = _no_compressed("to_sparse_csr")
to_sparse_csc = _no_compressed("to_sparse_csc")
to_sparse_bsr = _no_compressed("to_sparse_bsr")
to_sparse_bsc = _no_compressed("to_sparse_bsc")


def coalesce(input: Tensor) -> Tensor:
    """Sorted unique indices, repeats summed (``self`` when already coalesced).

    See: torch.Tensor.coalesce.
    """
    d = coo(input, "coalesce")
    if d.coalesced:
        return input
    return Coalesce.apply(input)


def is_coalesced(input: Tensor) -> bool:
    """See: torch.Tensor.is_coalesced."""
    return coo(input, "is_coalesced").coalesced


def indices(input: Tensor) -> Tensor:
    """The ``(sparse_dim, nnz)`` indices of a coalesced tensor. See: torch.Tensor.indices."""
    d = coo(input, "indices")
    if not d.coalesced:
        raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                           ".coalesce() first")
    return _make(d.indices, input._device)


def values(input: Tensor) -> Tensor:
    """The ``(nnz, *dense)`` values of a coalesced tensor (shared, differentiable).

    See: torch.Tensor.values.
    """
    d = coo(input, "values")
    if not d.coalesced:
        raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                           ".coalesce() first")
    return Values.apply(input)


def _indices(input: Tensor) -> Tensor:
    """The indices as stored (coalesced or not). See: torch.Tensor._indices."""
    return _make(coo(input, "_indices").indices, input._device)


def _values(input: Tensor) -> Tensor:
    """The values as stored (coalesced or not), shared. See: torch.Tensor._values."""
    coo(input, "_values")
    return Values.apply(input)


def sparse_dim(input: Tensor) -> int:
    """How many leading dimensions are sparse (0 for a dense tensor).

    See: torch.Tensor.sparse_dim.
    """
    d = input._data
    return d.sparse_dim if d.__class__ is SparseCOO else 0


def dense_dim(input: Tensor) -> int:
    """How many trailing dimensions are dense (all of them for a dense tensor).

    See: torch.Tensor.dense_dim.
    """
    d = input._data
    return d.dense_dim if d.__class__ is SparseCOO else d.ndim


def _nnz(input: Tensor) -> int:
    """How many entries are stored (repeats counted). See: torch.Tensor._nnz."""
    d = input._data
    if d.__class__ is not SparseCOO:
        raise NotImplementedError("Could not run 'aten::_nnz' with arguments from the 'CPU' "
                                  "backend: _nnz() needs a sparse tensor")
    return d.nnz


def sparse_mask(input: Tensor, mask: Tensor) -> Tensor:
    """The entries of dense ``input`` at the (coalesced) pattern of sparse ``mask``.

    See: torch.Tensor.sparse_mask.
    """
    m = input._data
    pattern = mask._data
    if pattern.__class__ is not SparseCOO:
        raise NotImplementedError("Could not run 'aten::sparse_mask' with arguments from the "
                                  "'CPU' backend: the mask must be a sparse tensor")
    if tuple(input.shape) != pattern.shape:
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(input.shape)} but mask has size {list(pattern.shape)}")
    # The mask's entries as stored (repeats included), as PyTorch keeps them.
    if m.__class__ is SparseCOO:
        vals = gather_at(m, pattern.indices, pattern.shape)
        return _make(SparseCOO(pattern.indices, vals, pattern.shape, pattern.coalesced),
                     input._device)
    return SparseMask.apply(input, pattern.indices, pattern.shape, pattern.coalesced)


__all__ = ["sparse_coo_tensor", "check_sparse_tensor_invariants", "is_sparse_array"]
