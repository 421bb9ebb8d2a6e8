"""Sparse COO tensors. See: torch.sparse.

A sparse tensor is a plain ``brickwork.Tensor`` with ``layout == brickwork.sparse_coo``: its
``indices()`` (``(sparse_dim, nnz)``, int64) and ``values()`` (``(nnz, *dense_shape)``) arrays
live on its device (NumPy or CuPy). Make one with ``brickwork.sparse_coo_tensor`` or
``Tensor.to_sparse()``; ``nn.Embedding(sparse=True)`` produces sparse gradients, which
``optim.SGD`` and ``optim.SparseAdam`` consume.

Supported: construction and conversion, ``coalesce``, ``sum``, ``softmax``/``log_softmax``,
``mm``/``addmm`` (and ``torch.mm``/``matmul``/``@`` with a sparse operand), sparse + sparse,
dense + sparse, sparse * scalar, sparse * dense (a sparse result), ``t()``, ``neg``, ``clone``,
``to``, ``spdiags``. Other ops raise
``NotImplementedError`` as PyTorch does for ops without a sparse kernel. The compressed layouts
(CSR/CSC/BSR/BSC) are out of scope.
"""
from ._matmul import addmm, mm
from ._reduce import log_softmax, softmax, sum
from ._extra import spdiags
from ._tensor import check_sparse_tensor_invariants

__all__ = ["addmm", "check_sparse_tensor_invariants", "log_softmax", "mm", "softmax", "spdiags",
           "sum"]
