"""In-place resizes of sparse COO tensors, ``torch.sparse.spdiags``, and the compressed
layouts' accessors (refused: CSR/CSC/BSR/BSC are out of scope)."""
from __future__ import annotations

import numpy as np

from .._sparse_coo import SparseCOO
from ..tensor import Tensor
from ._tensor import coo, sparse_coo_tensor


def _check_resize(d: SparseCOO, size, sdim: int, ddim: int) -> None:
    if len(size) != sdim + ddim:
        raise RuntimeError(f"number of dimensions must be sparse_dim ({sdim}) + dense_dim "
                           f"({ddim}), but got {len(size)}")
    if d.nnz == 0:
        return
    if sdim != d.sparse_dim:
        raise RuntimeError(f"changing the number of sparse dimensions (from {d.sparse_dim} to "
                           f"{sdim}) on a non-empty sparse tensor is not supported.")
    if ddim != d.dense_dim:
        raise RuntimeError(f"changing the number of dense dimensions (from {d.dense_dim} to "
                           f"{ddim}) on a non-empty sparse tensor is not supported.")
    if any(n < o for n, o in zip(size[:sdim], d.shape[:sdim])):
        raise RuntimeError(f"shrinking the size of sparse dimensions (from "
                           f"{list(d.shape[:sdim])} to {list(size[:sdim])}) on a non-empty "
                           f"sparse tensor is not supported.")
    if tuple(size[sdim:]) != d.shape[sdim:]:
        raise RuntimeError(f"shrinking or expanding the size of dense dimensions (from "
                           f"{list(d.shape[sdim:])} to {list(size[sdim:])}) on a non-empty "
                           f"sparse tensor is not supported.")


def sparse_resize_(input: Tensor, size, sparse_dim: int, dense_dim: int) -> Tensor:
    """Resize a sparse tensor in place, keeping its entries. See: torch.Tensor.sparse_resize_."""
    d = coo(input, "sparse_resize_")
    size = tuple(int(s) for s in size)
    _check_resize(d, size, sparse_dim, dense_dim)
    if d.nnz == 0:
        xp = d.xp
        d.indices = xp.zeros((sparse_dim, 0), np.int64)
        d.values = xp.zeros((0,) + size[sparse_dim:], d.dtype)
    d.shape = size
    return input


def sparse_resize_and_clear_(input: Tensor, size, sparse_dim: int, dense_dim: int) -> Tensor:
    """Resize a sparse tensor in place and drop all its entries.

    See: torch.Tensor.sparse_resize_and_clear_.
    """
    d = coo(input, "sparse_resize_and_clear_")
    size = tuple(int(s) for s in size)
    if len(size) != sparse_dim + dense_dim:
        raise RuntimeError(f"number of dimensions must be sparse_dim ({sparse_dim}) + dense_dim "
                           f"({dense_dim}), but got {len(size)}")
    xp = d.xp
    d.indices = xp.zeros((sparse_dim, 0), np.int64)
    d.values = xp.zeros((0,) + size[sparse_dim:], d.dtype)
    d.shape, d.coalesced = size, True
    return input


def resize_as_sparse_(input: Tensor, the_template: Tensor) -> Tensor:
    """Resize sparse ``input`` in place to the template's size and dimensions.

    See: torch.Tensor.resize_as_sparse_.
    """
    coo(input, "resize_as_sparse_")
    t = coo(the_template, "resize_as_sparse_")
    return sparse_resize_(input, t.shape, t.sparse_dim, t.dense_dim)


def _compressed_accessor(name: str, kind: str):
    def method(self) -> Tensor:
        got = "Sparse" if self._data.__class__ is SparseCOO else "Strided"
        raise RuntimeError(f"{name} expected sparse {kind} compressed tensor layout but got "
                           f"{got} (the compressed layouts are out of scope in brickwork)")

    method.__name__ = name
    method.__doc__ = f"The compressed layouts' ``{name}``: always refused (COO only)."
    return method


crow_indices = _compressed_accessor("crow_indices", "row")
col_indices = _compressed_accessor("col_indices", "row")
ccol_indices = _compressed_accessor("ccol_indices", "column")
row_indices = _compressed_accessor("row_indices", "column")


def spdiags(diagonals: Tensor, offsets: Tensor, shape, layout=None) -> Tensor:
    """A sparse matrix of ``shape`` with row ``k`` of ``diagonals`` on diagonal
    ``offsets[k]`` (element ``j`` of the row lands in column ``j``, as SciPy's). Differentiable
    in ``diagonals``. See: torch.sparse.spdiags."""
    from ..factories import sparse_coo, tensor as _tensor

    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"spdiags(layout={layout}): only the COO layout is supported "
                                  "(compressed layouts are out of scope)")
    if diagonals.ndim != 2:
        raise RuntimeError(f"Diagonals must be 2 dimensional, got {diagonals.ndim}")
    if offsets.ndim != 1 or offsets.shape[0] != diagonals.shape[0]:
        raise RuntimeError("Number of diagonals (" + str(diagonals.shape[0]) + ") does not "
                           "match the number of offsets (" + str(offsets.numel()) + ")")
    rows_n, cols_n = (int(s) for s in shape)
    offs = [int(o) for o in offsets.tolist()]
    if len(set(offs)) != len(offs):
        raise RuntimeError("Offset tensor contains duplicate values")
    width = diagonals.shape[1]
    rows, cols, flat = [], [], []
    for k, off in enumerate(offs):
        lo, hi = max(0, off), min(cols_n, rows_n + off, width)
        for j in range(lo, hi):
            rows.append(j - off)
            cols.append(j)
            flat.append(k * width + j)
    idx = _tensor(np.array([rows, cols], np.int64).reshape(2, -1), device=diagonals.device)
    picked = diagonals.reshape(-1)[_tensor(np.array(flat, np.int64), device=diagonals.device)]
    return sparse_coo_tensor(idx, picked, (rows_n, cols_n))
