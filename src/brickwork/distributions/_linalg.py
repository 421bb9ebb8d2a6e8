"""Private Cholesky factorization and triangular solve, differentiable to any order.

PRIVATE STOP-GAP: ``brickwork.linalg`` had no ``cholesky`` / ``solve_triangular`` when this
package was written (another part of the work adds them). Fold these into those once they land.
Both are Tensor-level ``Function``s whose backward is written in Tensor ops (themselves included),
so gradients of gradients work.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..ops._util import xp_of
from ..tensor import Tensor
from ._special import _wrap


def _tri_mask(n: int, upper: bool, like: Tensor) -> Tensor:
    from .. import ones

    full = ones(n, n, dtype=like.dtype, device=like.device)
    return full.triu() if upper else full.tril()


class _SolveTriangular(Function):
    @staticmethod
    def forward(ctx, a, b, upper):
        xp = xp_of(a._data)
        # a general solve on a triangular matrix: exact for the triangle (the other half is
        # masked to zero first, as a triangular solver never reads it)
        tri = xp.triu(a._data) if upper else xp.tril(a._data)
        shape = np.broadcast_shapes(tri.shape[:-2], b._data.shape[:-2])
        out = xp.linalg.solve(xp.broadcast_to(tri, shape + tri.shape[-2:]),
                              xp.broadcast_to(b._data, shape + b._data.shape[-2:]))
        x = _wrap(out.astype(b._data.dtype), b)
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        ctx.b_shape = tuple(b.shape)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = solve_triangular(a.mT, g, upper=not ctx.upper)
        ga = -(gb @ x.mT) * _tri_mask(a.shape[-1], ctx.upper, a)
        return _sum_to(ga, a.shape), _sum_to(gb, ctx.b_shape), None


def _sum_to(g: Tensor, shape) -> Tensor:
    """Sum a broadcast gradient back down to ``shape``."""
    shape = tuple(shape)
    extra = g.dim() - len(shape)
    if extra:
        g = g.sum(tuple(range(extra)))
    dims = tuple(i for i, (n, m) in enumerate(zip(g.shape, shape)) if m == 1 and n != 1)
    return g.sum(dims, keepdim=True) if dims else g


def solve_triangular(a: Tensor, b: Tensor, *, upper: bool) -> Tensor:
    """X with ``a @ X = b`` for triangular ``a`` (private stop-gap for
    torch.linalg.solve_triangular(a, b, upper=upper))."""
    return _SolveTriangular.apply(a, b, upper)


class _Cholesky(Function):
    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a._data)
        try:
            low = xp.linalg.cholesky(a._data)
        except np.linalg.LinAlgError:
            raise ValueError("cholesky: The factorization could not be completed because the "
                             "input is not positive-definite.") from None
        out = _wrap(low.astype(a._data.dtype), a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (low,) = ctx.saved_tensors
        n = low.shape[-1]
        # Murray (2016): gA = L^-H Phi(L^H gL) L^-1, with Phi the lower triangle, diagonal
        # halved; then symmetrized (A is symmetric, so only its symmetric part has a gradient)
        from .. import eye

        phi = low.mT @ g
        phi = phi.tril() - 0.5 * phi * eye(n, dtype=low.dtype, device=low.device)
        s = solve_triangular(low.mT, phi, upper=True)
        s = solve_triangular(low.mT, s.mT, upper=True).mT
        return 0.5 * (s + s.mT)


def cholesky(a: Tensor) -> Tensor:
    """Lower Cholesky factor (private stop-gap for torch.linalg.cholesky)."""
    return _Cholesky.apply(a)
