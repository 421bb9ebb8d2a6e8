"""``SparseCOO``: the backend payload of a sparse COO tensor (what its ``_data`` holds).

A dense tensor's ``_data`` is a NumPy or CuPy array; a sparse tensor's is this object: an
``indices`` array of shape ``(sparse_dim, nnz)`` (int64), a ``values`` array of shape
``(nnz, *dense_shape)``, the full ``shape`` and whether the entries are known to be coalesced
(sorted, no repeated index). It answers the array attributes the Tensor class reads (``shape``,
``dtype``, ``ndim``, ``size``, ``device``...) so that a sparse tensor is a plain ``Tensor`` and
flows through ``Function.apply`` and the autograd engine like any other; the arithmetic that
autograd needs on gradients (sparse + sparse, dense + sparse, sparse * scalar, transpose) is
implemented here on the arrays. Anything else an op tries on it (a NumPy/CuPy function, a ufunc,
an array method) raises ``NotImplementedError`` naming what was tried, as PyTorch's
"Could not run 'aten::exp' with arguments from the 'SparseCPU' backend".

Only the COO layout exists; the compressed layouts (CSR/CSC/BSR/BSC) are out of scope.
"""
from __future__ import annotations

import numbers

import numpy as np


def _module_of(arr):
    """NumPy or CuPy, whichever ``arr`` belongs to."""
    if isinstance(arr, np.ndarray):
        return np
    from .device import cupy_module

    return cupy_module()


def _backend_name(values) -> str:
    return "SparseCPU" if isinstance(values, np.ndarray) else "SparseCUDA"


def unsupported(what: str, values) -> NotImplementedError:
    """PyTorch's error for an op that has no sparse kernel."""
    return NotImplementedError(
        f"Could not run '{what}' with arguments from the '{_backend_name(values)}' backend: "
        "brickwork supports only the sparse COO operations listed in brickwork.sparse "
        "(convert with .to_dense() first)")


class SparseUnsupportedError(NotImplementedError, AttributeError):
    """An array attribute a sparse payload does not have: PyTorch's ``NotImplementedError``,
    and an ``AttributeError`` too, so that ``hasattr``/``getattr(x, name, default)`` probes in
    array code keep working."""


class _Flags:
    c_contiguous = False  # PyTorch's is_contiguous() is False for sparse tensors
    writeable = True  # engine accumulation may add into a sparse gradient in place


class _Refusing:
    """What ``xp_of`` hands an op given a sparse payload: every function it asks for raises."""

    def __init__(self, values) -> None:
        self._values = values

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise SparseUnsupportedError(str(unsupported(name, self._values)))


class SparseCOO:
    """Indices, values, size and the coalesced flag of one sparse COO tensor."""

    __slots__ = ("indices", "values", "shape", "coalesced")
    __array_priority__ = 2000  # ndarray <op> SparseCOO defers to our reflected methods
    flags = _Flags()

    def __init__(self, indices, values, shape, coalesced: bool = False) -> None:
        self.indices = indices
        self.values = values
        self.shape = tuple(int(s) for s in shape)
        # Fewer than two entries cannot repeat: coalesced by construction (PyTorch says so too).
        self.coalesced = bool(coalesced) or values.shape[0] < 2

    # -- what Tensor reads --------------------------------------------------------------------
    @property
    def dtype(self):
        return self.values.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.values.itemsize

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.indices.nbytes

    @property
    def device(self):
        return self.values.device

    @property
    def xp(self):
        return _module_of(self.values)

    @property
    def sparse_dim(self) -> int:
        return self.indices.shape[0]

    @property
    def dense_dim(self) -> int:
        return self.values.ndim - 1

    @property
    def nnz(self) -> int:
        return self.values.shape[0]

    def refusing_namespace(self) -> _Refusing:
        return _Refusing(self.values)

    # -- copies and conversions ---------------------------------------------------------------
    def copy(self) -> "SparseCOO":
        return SparseCOO(self.indices.copy(), self.values.copy(), self.shape, self.coalesced)

    def astype(self, dtype, copy: bool = True) -> "SparseCOO":
        vals = self.values.astype(dtype, copy=copy)
        idx = self.indices.copy() if copy else self.indices
        return SparseCOO(idx, vals, self.shape, self.coalesced)

    def get(self) -> "SparseCOO":
        """The same tensor with host (NumPy) arrays (CuPy's ``get``)."""
        if isinstance(self.values, np.ndarray):
            return self
        return SparseCOO(self.indices.get(), self.values.get(), self.shape, self.coalesced)

    def moved(self, xp) -> "SparseCOO":
        """The same tensor with its arrays on ``xp``'s current device (CuPy's ``asarray``)."""
        return SparseCOO(xp.asarray(self.indices), xp.asarray(self.values), self.shape,
                         self.coalesced)

    def to_dense(self):
        """The dense array; repeated indices add up."""
        xp = self.xp
        out = xp.zeros(self.shape, self.values.dtype)
        if self.nnz:
            xp.add.at(out, tuple(self.indices), self.values)
        return out

    def linear_index(self):
        """One int64 per entry: its position among the sparse dimensions, row-major."""
        xp = self.xp
        lin = xp.zeros(self.nnz, np.int64)
        for d in range(self.sparse_dim):
            lin = lin * self.shape[d] + self.indices[d]
        return lin

    def unravel(self, lin):
        """Indices of shape ``(sparse_dim, n)`` from linear positions (``linear_index``)."""
        xp = self.xp
        rows = []
        for d in range(self.sparse_dim - 1, -1, -1):
            size = max(self.shape[d], 1)
            rows.append(lin % size)
            lin = lin // size
        rows.reverse()
        if not rows:
            return xp.zeros((0, lin.shape[0]), np.int64)
        return xp.stack(rows).astype(np.int64)

    def coalesce(self) -> "SparseCOO":
        """Sorted, unique indices with the values of repeats summed. See: torch.Tensor.coalesce."""
        if self.coalesced:
            return self
        xp = self.xp
        if self.sparse_dim == 0:  # one implicit index: every entry adds into the single slot
            vals = self.values.sum(axis=0, keepdims=True).astype(self.values.dtype)
            return SparseCOO(self.indices[:, :1] if self.nnz else xp.zeros((0, 1), np.int64),
                             vals, self.shape, True)
        lin = self.linear_index()
        uniq, inv = xp.unique(lin, return_inverse=True)
        vals = xp.zeros((uniq.shape[0],) + self.values.shape[1:], self.values.dtype)
        if self.nnz:
            xp.add.at(vals, inv.reshape(-1), self.values)
        return SparseCOO(self.unravel(uniq), vals, self.shape, True)

    # -- arithmetic autograd needs --------------------------------------------------------------
    def _check_same_size(self, other: "SparseCOO", op: str) -> None:
        if other.shape != self.shape:
            raise RuntimeError(f"{op}: expected sizes of 'self' and 'other' to match, but "
                               f"{list(self.shape)} != {list(other.shape)}")
        if other.sparse_dim != self.sparse_dim:
            raise RuntimeError(f"{op}: expected 'self' and 'other' to have same sparse "
                               f"dimensions, but got {self.sparse_dim} and {other.sparse_dim}")

    def concat(self, other: "SparseCOO") -> "SparseCOO":
        """Both entry lists end to end (uncoalesced): how gradients accumulate (PyTorch)."""
        self._check_same_size(other, "add")
        xp = self.xp
        dt = np.result_type(self.values.dtype, other.values.dtype)
        return SparseCOO(xp.concatenate([self.indices, other.indices], axis=1),
                         xp.concatenate([self.values.astype(dt, copy=False),
                                         other.values.astype(dt, copy=False)]), self.shape)

    def __add__(self, other):
        if isinstance(other, SparseCOO):
            out = self.concat(other).coalesce()
            out.coalesced = self.coalesced and other.coalesced
            return out
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")

    def __radd__(self, other):  # dense + sparse: a dense result
        if isinstance(other, numbers.Number):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        xp = self.xp
        dt = np.result_type(other.dtype, self.values.dtype)
        out = xp.array(xp.broadcast_to(other, self.shape), dtype=dt)
        if self.nnz:
            xp.add.at(out, tuple(self.indices), self.values)
        return out

    def __iadd__(self, other):
        """``grad += g`` of the autograd engine: sparse + sparse stays an uncoalesced list;
        sparse + dense becomes dense (PyTorch's AccumulateGrad does the same)."""
        if isinstance(other, SparseCOO):
            return self.concat(other)
        return self.__radd__(other)

    def __sub__(self, other):
        if isinstance(other, SparseCOO):
            return self + (-other)
        # (PyTorch's text names add: sub runs as add with alpha=-1)
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                           "instead.")

    def __rsub__(self, other):
        return (-self).__radd__(other)

    def __neg__(self) -> "SparseCOO":
        return SparseCOO(self.indices, -self.values, self.shape, self.coalesced)

    def _scalar(self, other):
        """``other`` as a scalar factor, or None when it is not one."""
        if isinstance(other, numbers.Number):
            return other
        if getattr(other, "ndim", None) == 0 and not isinstance(other, SparseCOO):
            return other
        return None

    def __mul__(self, other):
        k = self._scalar(other)
        if k is not None:
            vals = self.values * k
            return SparseCOO(self.indices, vals, self.shape, self.coalesced)
        if isinstance(other, SparseCOO):
            return self._mul_sparse(other)
        if getattr(other, "shape", None) is not None:  # a dense array: sparse at our entries
            xp = self.xp
            d = xp.broadcast_to(other, self.shape)
            return SparseCOO(self.indices, self.values * d[tuple(self.indices)], self.shape,
                             self.coalesced)
        raise unsupported("mul", self.values)

    __rmul__ = __mul__

    def __truediv__(self, other):
        k = self._scalar(other)
        if k is None:
            raise unsupported("div (by a tensor)", self.values)
        vals = self.values / k
        return SparseCOO(self.indices, vals, self.shape, self.coalesced)

    def _mul_sparse(self, other: "SparseCOO") -> "SparseCOO":
        """Element-wise product: entries where both have one (intersection of patterns)."""
        self._check_same_size(other, "mul")
        a, b = self.coalesce(), other.coalesce()
        xp = self.xp
        la, lb = a.linear_index(), b.linear_index()
        if a.nnz == 0 or b.nnz == 0:
            keep = xp.zeros(0, np.int64)
            return SparseCOO(a.indices[:, keep], a.values[keep] * b.values[keep], self.shape,
                             True)
        # Both sorted and unique: find each of a's entries in b (searchsorted, not
        # intersect1d(return_indices=...), which CuPy lacks in older releases).
        pos = xp.clip(xp.searchsorted(lb, la), 0, b.nnz - 1)
        ia = xp.nonzero(lb[pos] == la)[0]
        ib = pos[ia]
        return SparseCOO(a.indices[:, ia], a.values[ia] * b.values[ib], self.shape, True)

    @property
    def T(self) -> "SparseCOO":
        return self.transpose(0, 1) if self.ndim == 2 else self

    def transpose(self, *axes) -> "SparseCOO":
        """Permute the sparse dimensions (the index rows): NumPy's ``transpose(axes)``, or
        ``transpose(d0, d1)`` to swap two. Moving a dense dimension is not supported."""
        s = self.sparse_dim
        if len(axes) == 2 and all(isinstance(a, numbers.Integral) for a in axes):
            order = list(range(self.ndim))
            order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
        else:
            order = [int(a) for a in (axes[0] if len(axes) == 1 else axes)]
        if order[s:] != list(range(s, self.ndim)):
            raise unsupported("transpose (of a dense dimension)", self.values)
        if order == list(range(self.ndim)):
            return self
        shape = [self.shape[d] for d in order]
        return SparseCOO(self.indices[order[:s]], self.values, shape)

    def __setitem__(self, key, value) -> None:
        # ``grad._data[...] = 0`` (zero_grad(set_to_none=False)): PyTorch's zero_() on a sparse
        # tensor drops every entry.
        if key is Ellipsis and isinstance(value, numbers.Number) and value == 0:
            xp = self.xp
            self.indices = xp.zeros((self.sparse_dim, 0), np.int64)
            self.values = xp.zeros((0,) + self.values.shape[1:], self.values.dtype)
            self.coalesced = True
            return
        raise unsupported("index_put_", self.values)

    # -- everything else: PyTorch's NotImplementedError ----------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and len(inputs) == 2:
            a, b = inputs
            if ufunc is np.add and b is self and not isinstance(a, SparseCOO):
                out = kwargs.get("out")
                dense = self.__radd__(a)
                if out is not None:  # ``dense += sparse`` (in-place accumulation)
                    out[0][...] = dense
                    return out[0]
                return dense
            if ufunc is np.multiply:
                return self * (b if a is self else a)
            if ufunc is np.true_divide and a is self:
                return self / b
            if ufunc is np.subtract and b is self and "out" not in kwargs:
                return self.__rsub__(a)
            if ufunc is np.subtract and a is self and "out" not in kwargs:
                return self - b
        if method == "__call__" and len(inputs) == 1 and ufunc is np.negative:
            return -self
        raise unsupported(ufunc.__name__, self.values)

    def __array_function__(self, func, types, args, kwargs):
        raise unsupported(func.__name__, self.values)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() "
                        "first.")

    def tolist(self):
        raise RuntimeError("tolist() is not supported on a sparse tensor: convert with "
                           ".to_dense() first")

    def __getattr__(self, name: str):
        # Only reached for names the class lacks: an op asking an array method (x.sum(),
        # x.reshape()...) of a sparse payload. Protocol probes (dunders) stay AttributeErrors.
        if name.startswith("_"):
            raise AttributeError(name)
        raise SparseUnsupportedError(str(unsupported(name, object.__getattribute__(self,
                                                                                "values"))))

    def __repr__(self) -> str:
        return (f"SparseCOO(shape={self.shape}, nnz={self.nnz}, sparse_dim={self.sparse_dim}, "
                f"coalesced={self.coalesced})")


def is_sparse_array(arr) -> bool:
    return arr.__class__ is SparseCOO
