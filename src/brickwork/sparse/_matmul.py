"""Products with a sparse COO matrix: ``torch.sparse.mm``/``addmm``, ``mm``/``matmul``/``@``
with a sparse operand, ``spmm``, ``dsmm``, ``smm``, ``hspmm``/``hsmm``, ``sspaddmm``/``saddmm``.

The sparse operand's gradient is sparse, masked to its (coalesced) pattern, as PyTorch's
``torch.sparse.mm`` gives it. Only 2-D sparse matrices with no dense dimensions take part (as in
PyTorch); the compressed layouts are out of scope.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor, _make
from .._sparse_coo import SparseCOO
from ..ops._util import ROUNDS_MAX, Rounds
from ._tensor import gather_at

_LEGACY = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
           "int32": "Int", "bfloat16": "BFloat16"}


def _dense(g):
    return g.to_dense() if g.__class__ is SparseCOO else g


def _sp_times(sp: SparseCOO, d, transpose: bool = False):
    """``sp @ d`` (``sp.T @ d`` with ``transpose``) for a coalesced 2-D ``sp``, 2-D dense ``d``."""
    xp = sp.xp
    rows, cols = sp.indices
    if transpose:
        rows, cols = cols, rows
    shape = (sp.shape[1 if transpose else 0], d.shape[1])
    dtype = np.result_type(sp.dtype, d.dtype)
    if not sp.nnz:
        return xp.zeros(shape, dtype)
    if xp is np and dtype == np.float32 and sp.values.dtype == d.dtype:
        rounds = Rounds(rows)
        if rounds.count <= ROUNDS_MAX:
            return _fused_rounds(shape, rounds, sp.values, d, cols)
    out = xp.zeros(shape, dtype)
    xp.add.at(out, rows, sp.values[:, None] * d[cols])
    return out


def _fused_rounds(shape, rounds, values, d, cols):
    """``sp @ d`` in float32 as PyTorch's kernel forms it: each output row's terms added in
    entry order by fused multiply-adds, whole rows per round (``_util.Rounds``). The product
    is exact in float64 and the float64 sum is exact unless the two terms' exponents lie far
    apart, so rounding that sum to float32 is the FMA's one rounding nearly always (every
    value in the tests; a double rounding can differ in the last bit). A GCN layer, 2708
    nodes, 23788 entries, 16 columns: 3.4 -> 0.6 ms (add.at rounded each product first)."""
    out = np.zeros(shape, np.float32)
    wide_values = values.astype(np.float64)
    for targets, entries in rounds:
        acc = out[targets].astype(np.float64)
        acc += wide_values[entries, None] * d[cols[entries]]
        out[targets] = acc
    return out


class SparseAddmm(Function):
    """``beta * bias + alpha * (sp @ d)`` (``bias`` may be None) with a sparse first factor;
    ``left=False`` computes ``d @ sp`` instead."""

    _array_level = True
    _backward_name = "SparseAddmmBackward0"

    @staticmethod
    def forward(ctx, bias, m1, m2, beta, alpha, left):
        sp, d = (m1, m2) if left else (m2, m1)
        sp = sp.coalesce()
        vec = d.ndim == 1
        dd = d[:, None] if vec else d
        prod = _sp_times(sp, dd) if left else _sp_times(sp, dd.T, transpose=True).T
        ctx.sp, ctx.d, ctx.vec, ctx.left = sp, dd, vec, left
        ctx.beta, ctx.alpha = beta, alpha
        ctx.bias_shape = None if bias is None else bias.shape
        if alpha != 1:
            prod = prod * alpha
        if vec:
            prod = prod[:, 0]
        if bias is None or beta == 0:
            return prod
        return (bias * beta if beta != 1 else bias) + prod

    @staticmethod
    def backward(ctx, g):
        from ..ops._util import unbroadcast

        nb, n1, n2 = ctx.needs_input_grad[:3]
        g = _dense(g)
        gb = unbroadcast(g * ctx.beta if ctx.beta != 1 else g, ctx.bias_shape) if nb else None
        ga = g * ctx.alpha if ctx.alpha != 1 else g
        if ctx.vec:
            ga = ga[:, None]
        sp, d = ctx.sp, ctx.d
        rows, cols = sp.indices
        gsp = gd = None
        need_sp, need_d = (n1, n2) if ctx.left else (n2, n1)
        if need_sp:
            if ctx.left:  # d(sp @ d)/d sp[r, c] = sum_k g[r, k] d[c, k]
                vals = (ga[rows] * d[cols]).sum(axis=1)
            else:  # d(d @ sp)/d sp[r, c] = sum_i d[i, r] g[i, c]
                vals = (d[:, rows] * ga[:, cols]).sum(axis=0)
            gsp = SparseCOO(sp.indices, vals.astype(sp.dtype), sp.shape, True)
        if need_d:
            gd = _sp_times(sp, ga, transpose=True) if ctx.left else _sp_times(sp, ga.T).T
            if ctx.vec:
                gd = gd[:, 0]
        return (gb, gsp, gd, None, None, None) if ctx.left else (gb, gd, gsp, None, None, None)


class SparseMm(SparseAddmm):
    _backward_name = "MmBackward0"


class SparseSparseMatmul(Function):
    _array_level = True
    _backward_name = "SparseSparseMatmulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        a, b = a.coalesce(), b.coalesce()
        ctx.a, ctx.b = a, b
        xp = a.xp
        ad, bd = a.to_dense(), b.to_dense()
        # The structural pattern (PyTorch keeps entries whose products cancel to zero).
        ia = SparseCOO(a.indices, xp.ones(a.nnz, np.float64), a.shape).to_dense()
        ib = SparseCOO(b.indices, xp.ones(b.nnz, np.float64), b.shape).to_dense()
        idx = xp.stack(xp.nonzero((ia @ ib) > 0)).astype(np.int64)
        out = ad @ bd
        return SparseCOO(idx, out[tuple(idx)], out.shape, True)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.a, ctx.b
        gd = _dense(g)
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = SparseCOO(a.indices, gather_at(gd @ b.to_dense().T, a.indices, a.shape),
                           a.shape, True)
        if nb:
            gb = SparseCOO(b.indices, gather_at(a.to_dense().T @ gd, b.indices, b.shape),
                           b.shape, True)
        return ga, gb


class _NoGrad(Function):
    """Results PyTorch computes without a derivative: backward raises, as there."""

    _array_level = True

    @staticmethod
    def forward(ctx, sp, d, name):
        ctx.name = name
        return _row_hybrid(sp, d)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"the derivative for '{ctx.name}' is not implemented.")


def _row_hybrid(sp: SparseCOO, d) -> SparseCOO:
    """``sp @ d`` as a hybrid tensor: one sparse dimension (the rows ``sp`` has entries in)."""
    sp = sp.coalesce()
    xp = sp.xp
    rows = xp.unique(sp.indices[0])
    full = _sp_times(sp, d)
    return SparseCOO(rows[None].astype(np.int64), full[rows], full.shape, True)


def _check_mm(name: str, sp_shape, d_shape, dt1, dt2) -> None:
    if len(sp_shape) != 2:
        raise RuntimeError(f"{name}: matrices expected, got {len(sp_shape)}D tensor")
    if len(d_shape) != 2:
        raise RuntimeError(f"{name}: matrices expected, got {len(d_shape)}D tensor")
    if dt1 != dt2:
        raise RuntimeError(f"expected scalar type {_LEGACY.get(dt1.name, dt1.name)} but found "
                           f"{_LEGACY.get(dt2.name, dt2.name)}")


def _sparse_2d(t: Tensor, name: str) -> SparseCOO:
    d = t._data
    if d.sparse_dim != 2 or d.dense_dim != 0:
        raise RuntimeError(f"{name}: expected a 2-D sparse matrix with no dense dimensions, got "
                           f"sparse_dim={d.sparse_dim}, dense_dim={d.dense_dim}")
    return d


def _is_sparse(t) -> bool:
    return isinstance(t, Tensor) and t._data.__class__ is SparseCOO


def mm_dispatch(input: Tensor, mat2: Tensor, name: str = "mm", bias=None, beta=1,
                alpha=1) -> Tensor:
    """``input @ mat2`` where one of them is sparse (``ops.linalg`` hands these over)."""
    a, b = _is_sparse(input), _is_sparse(mat2)
    if a and b:
        if bias is not None:
            raise NotImplementedError(f"{name}: sparse @ sparse with a bias is not supported")
        _check_mm(name, input.shape, mat2.shape, input.dtype, mat2.dtype)
        _sparse_2d(input, name), _sparse_2d(mat2, name)
        _check_inner(input.shape, mat2.shape, name)
        return SparseSparseMatmul.apply(input, mat2)
    sp = input if a else mat2
    dense = mat2 if a else input
    if dense.ndim == 1 and a and name in ("matmul", "mv"):
        if input.ndim != 2:
            raise RuntimeError(f"{name}: matrices expected, got {input.ndim}D tensor")
        _check_mm(name, input.shape, (dense.shape[0], 1), input.dtype, dense.dtype)
    else:
        _check_mm(name, input.shape, mat2.shape, input.dtype, mat2.dtype)
    _sparse_2d(sp, name)
    _check_inner(input.shape, mat2.shape, name)
    cls = SparseAddmm if name in ("sparse.mm", "addmm") else SparseMm
    return cls.apply(bias, input, mat2, beta, alpha, a)


def _check_inner(sa, sb, name) -> None:
    if sa[1] != sb[0]:
        op = name if name == "hspmm" else "addmm"  # PyTorch's mm family runs through addmm
        raise RuntimeError(f"{op}: Argument #3 (dense): Expected dim 0 size {sa[1]}, got "
                           f"{sb[0]}")


def mm(mat1: Tensor, mat2: Tensor, reduce: str | None = None) -> Tensor:
    """Matrix product with a sparse COO ``mat1`` (dense or sparse ``mat2``): dense for a dense
    ``mat2``, sparse for a sparse one. Gradients flow to both; the sparse one's is masked to its
    pattern.

    Example:
        >>> s = brickwork.eye(2).to_sparse()
        >>> brickwork.sparse.mm(s, brickwork.ones(2, 3)).shape
        brickwork.Size([2, 3])

    See: torch.sparse.mm.
    """
    if reduce is not None:
        raise NotImplementedError(f"sparse.mm(reduce={reduce!r}) is for the CSR layout, which "
                                  "is out of scope in brickwork")
    if not _is_sparse(mat1) and not _is_sparse(mat2):
        from ..ops.linalg import mm as dense_mm

        return dense_mm(mat1, mat2)
    return mm_dispatch(mat1, mat2, "sparse.mm")


def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1.0,
          alpha: float = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse COO ``mat1``.

    See: torch.sparse.addmm.
    """
    if not _is_sparse(mat1):
        raise RuntimeError("sparse.addmm: expected mat1 to be a sparse COO tensor")
    return mm_dispatch(mat1, mat2, "addmm", bias=mat, beta=beta, alpha=alpha)


def spmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``mm`` with a sparse first operand (dense result). See: torch.spmm."""
    from ..ops.linalg import mm as _mm

    return _mm(input, mat2)


def dsmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Sparse @ dense with a dense result. See: torch.dsmm."""
    return spmm(input, mat2)


def _write_out(out: Tensor | None, result: Tensor) -> Tensor:
    """``out=`` for a sparse result: ``out`` (sparse, same dtype) takes the result's entries."""
    if out is None:
        return result
    if not _is_sparse(out):
        raise RuntimeError("out= must be a sparse COO tensor here (the result is sparse), got a "
                           "dense one")
    if out.dtype != result.dtype:
        raise RuntimeError(f"dtype of values ({_LEGACY.get(result.dtype.name)}) must match "
                           f"dtype of sparse tensor ({_LEGACY.get(out.dtype.name)})")
    if out._device != result._device:
        raise RuntimeError(f"Expected out tensor to have device {result._device}, but got "
                           f"out on device {out._device}")
    d, r = out._data, result._data
    d.indices, d.values, d.shape, d.coalesced = r.indices, r.values, r.shape, r.coalesced
    return out


def hspmm(mat1: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Sparse @ dense as a hybrid COO tensor: rows with entries sparse, columns dense. It has no
    derivative (as in PyTorch). ``out``, when given, must be a sparse tensor of the result's
    dtype; it takes the result's entries. See: torch.hspmm."""
    if not _is_sparse(mat1):
        raise RuntimeError("hspmm: expected mat1 to be a sparse COO tensor")
    _check_mm("hspmm", mat1.shape, mat2.shape, mat1.dtype, mat2.dtype)
    _sparse_2d(mat1, "hspmm")
    _check_inner(mat1.shape, mat2.shape, "hspmm")
    return _write_out(out, _NoGrad.apply(mat1, mat2, "hspmm"))


def hsmm(mat1: Tensor, mat2: Tensor) -> Tensor:
    """``hspmm``. See: torch.hsmm."""
    return hspmm(mat1, mat2)


def smm(input: Tensor, mat2: Tensor) -> Tensor:
    """Sparse @ dense as a sparse COO tensor (every column of each row with entries). It has
    no derivative (as in PyTorch). See: torch.smm."""
    h = hspmm(input, mat2)
    return _expand_rows(h)


def _expand_rows(h: Tensor) -> Tensor:
    d = h._data
    xp = d.xp
    rows, ncol = d.indices[0], d.shape[1]
    r = xp.repeat(rows, ncol)
    c = xp.tile(xp.arange(ncol, dtype=np.int64), rows.shape[0])
    coo = SparseCOO(xp.stack([r, c]), d.values.reshape(-1), d.shape, True)
    return _make(coo, h._device)


def sspaddmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1,
             alpha: float = 1, out: Tensor | None = None) -> Tensor:
    """``beta * input + alpha * smm(mat1, mat2)``, all sparse: the entries of both listed one
    after the other (uncoalesced). No derivative (as in PyTorch). ``out`` as in ``hspmm``.
    See: torch.sspaddmm."""
    if out is not None:
        return _write_out(out, sspaddmm(input, mat1, mat2, beta=beta, alpha=alpha))
    if not _is_sparse(input):
        raise RuntimeError("sspaddmm: expected input to be a sparse COO tensor, got a dense "
                           "one")
    if not _is_sparse(mat1):
        raise RuntimeError("sspaddmm: expected mat1 to be a sparse COO tensor")
    out_shape = (mat1.shape[0], mat2.shape[1]) if mat2.ndim == 2 else None
    if out_shape is not None and tuple(input.shape) != out_shape:
        for d in range(2):
            if input.shape[d] != out_shape[d]:
                raise RuntimeError(f"sspaddmm: Argument #1: Expected dim {d} size "
                                   f"{out_shape[d]}, got {input.shape[d]}")
    prod = smm(mat1, mat2)._data
    base = input._data
    xp = base.xp
    vals = xp.concatenate([base.values * beta, prod.values * alpha]).astype(base.dtype)
    coo = SparseCOO(xp.concatenate([base.indices, prod.indices], axis=1), vals, base.shape)
    return _make(coo, input._device)


def saddmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1,
           alpha: float = 1) -> Tensor:
    """``sspaddmm`` (without ``out``, as PyTorch's). See: torch.saddmm."""
    return sspaddmm(input, mat1, mat2, beta=beta, alpha=alpha)
