"""The sparse COO family's top-level names and Tensor methods (implemented in
``brickwork/sparse``): ``sparse_coo_tensor``, the sparse products (``spmm``, ``smm``, ``hspmm``,
``sspaddmm``...), conversions (``to_sparse``, ``to_dense``) and the accessors (``indices``,
``values``, ``coalesce``...). Compressed layouts (CSR/CSC/BSR/BSC) are out of scope.
"""
from __future__ import annotations

from ..sparse._matmul import dsmm, hsmm, hspmm, saddmm, smm, spmm, sspaddmm
from ..sparse._extra import (ccol_indices, col_indices, crow_indices, resize_as_sparse_,
                             row_indices, sparse_resize_, sparse_resize_and_clear_)
from ..sparse._tensor import (_indices, _nnz, _values, coalesce, dense_dim, indices,
                              is_coalesced, sparse_coo_tensor, sparse_dim, sparse_mask, to_dense,
                              to_sparse, to_sparse_bsc, to_sparse_bsr, to_sparse_coo,
                              to_sparse_csc, to_sparse_csr, values)

__all__: list = ["sparse_coo_tensor", "spmm", "smm", "hsmm", "hspmm", "dsmm", "saddmm",
                 "sspaddmm", "resize_as_sparse_"]

_METHODS = {
    "to_dense": to_dense, "to_sparse": to_sparse, "to_sparse_coo": to_sparse_coo,
    "to_sparse_csr": to_sparse_csr, "to_sparse_csc": to_sparse_csc,
    "to_sparse_bsr": to_sparse_bsr, "to_sparse_bsc": to_sparse_bsc, "coalesce": coalesce,
    "is_coalesced": is_coalesced, "indices": indices, "values": values, "_indices": _indices,
    "_values": _values, "sparse_dim": sparse_dim, "dense_dim": dense_dim, "_nnz": _nnz,
    "sparse_mask": sparse_mask, "sparse_resize_": sparse_resize_,
    "sparse_resize_and_clear_": sparse_resize_and_clear_, "resize_as_sparse_": resize_as_sparse_,
    "smm": smm, "sspaddmm": sspaddmm, "crow_indices": crow_indices, "col_indices": col_indices,
    "ccol_indices": ccol_indices, "row_indices": row_indices,
}
TENSOR_METHODS: dict = dict(_METHODS)
INPLACE_METHODS: tuple = ()
