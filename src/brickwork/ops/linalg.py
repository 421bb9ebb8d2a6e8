"""Matrix products (matmul, mm, bmm, dot, mv, outer, addmm, einsum), ``t`` and vector norms.

``matmul`` follows ``torch.matmul``: 1-D operands get a dimension added for the product and
removed afterwards, and the batch dimensions broadcast. Its backward is the usual pair of
products with the other operand transposed, summed back to each input's shape. Operands must
share a dtype (PyTorch does not promote here); shape errors carry PyTorch's messages.
"""
from __future__ import annotations

import numpy as np

from .._sparse_coo import SparseCOO as _SparseCOO
from ..autograd._views import view_apply
from ..autograd.function import Function
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._complex_grad import cj, real_part
from ._complex_grad import sgn_of as _sgn_of
from ._util import normalize_dim, unbroadcast, xp_of
from ._products import matmul_2d, matmul_nd, rows, stacked_rows
from .einsum import einsum  # noqa: F401 (a Tensor method and a brickwork function)
from .reduction import _axes, _expand, _torch_type_name


# -- matmul and its named special cases --------------------------------------------------------
class Matmul(Function):
    """``a @ b`` for any ranks >= 1; the backward handles 1-D operands and batch broadcasting."""

    _array_level = True
    _backward_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        if na or nb:
            # Each operand only for the other's gradient, as PyTorch saves them: an in-place
            # update of the other one must not fail backward (see autograd/_saved.py).
            ctx.a, ctx.b, ctx.shapes = a if nb else None, b if na else None, (a.shape, b.shape)
        if a.ndim == 2 and b.ndim == 2:
            return matmul_2d(a, b)
        if stacked_rows(a, b):
            return matmul_2d(rows(a), b).reshape(a.shape[:-1] + b.shape[-1:])
        return matmul_nd(a, b)

    @staticmethod
    def backward(ctx, g):
        (sa, sb), a, b = ctx.shapes, ctx.a, ctx.b
        if len(sa) > 2 and len(sb) == 2 and g.__class__ is np.ndarray:
            # (..., K) @ (K, N) as one (M, K) @ (K, N) product (as forward): b's gradient is
            # one GEMM over all M rows, not one per matrix of the stack summed afterwards
            g2 = rows(g)
            ga = matmul_2d(g2, cj(b.T)).reshape(sa) if ctx.needs_input_grad[0] else None
            gb = matmul_nd(cj(rows(a).T), g2) if ctx.needs_input_grad[1] else None
            return ga, gb
        if len(sa) == 1:
            g = np.expand_dims(g, -2 if len(sb) > 1 else 0)
        if len(sb) == 1:
            g = np.expand_dims(g, -1)
        ga = gb = None
        if ctx.needs_input_grad[0] and len(sa) == len(sb) == 2:
            ga = matmul_2d(g, cj(b.T))  # b^T of a row-major b: the few-rows orientation
        elif ctx.needs_input_grad[0]:
            b2 = b[:, None] if len(sb) == 1 else b
            ga = unbroadcast(matmul_nd(g, cj(np.swapaxes(b2, -1, -2))),
                             (1,) + sa if len(sa) == 1 else sa).reshape(sa)
        if ctx.needs_input_grad[1]:
            a2 = a[None, :] if len(sa) == 1 else a
            gb = unbroadcast(matmul_nd(cj(np.swapaxes(a2, -1, -2)), g),
                             sb + (1,) if len(sb) == 1 else sb).reshape(sb)
        return ga, gb


class Dot(Matmul):
    _backward_name = "DotBackward0"


class Mv(Matmul):
    _backward_name = "MvBackward0"


class Mm(Matmul):
    _backward_name = "MmBackward0"


class VecMat(Matmul):
    # 1-D @ 2-D: PyTorch computes it as an unsqueezed mm followed by a squeeze.
    _backward_name = "SqueezeBackward4"


def _dims_str(shape) -> str:
    return "x".join(str(s) for s in shape)


def _check_same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        if op == "dot":
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_torch_type_name(a.dtype)} and {_torch_type_name(b.dtype)}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{_C_NAMES[a.dtype.name]} != {_C_NAMES[b.dtype.name]}")


_C_NAMES = {  # the C++ type names PyTorch's dtype-mismatch messages print
    "float16": "c10::Half", "float32": "float", "float64": "double", "int8": "signed char",
    "int16": "short int", "int32": "int", "int64": "long int", "uint8": "unsigned char",
    "bool": "bool", "bfloat16": "c10::BFloat16", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>", "uint16": "short unsigned int",
    "uint32": "unsigned int", "uint64": "long unsigned int"}


def _check_matmul_shapes(sa, sb) -> None:
    """Raise PyTorch's message for operands ``torch.matmul`` cannot multiply."""
    na, nb = len(sa), len(sb)
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{na}D and {nb}D")
    if na == 1 and nb == 1:
        if sa[0] != sb[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{sa[0]}] and src "
                               f"[{sb[0]}] to have the same number of elements, but got "
                               f"{sa[0]} and {sb[0]} elements respectively")
        return
    if nb == 1:
        rows = int(np.prod(sa[:-1]))
        if sa[-1] != sb[0]:
            raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{sa[-1]}), "
                               f"vec ({sb[0]})")
        return
    if nb == 2:
        rows = int(np.prod(sa[:-1]))
        if sa[-1] != sb[0]:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({rows}x{sa[-1]} and {_dims_str(sb)})")
        return
    ba, bb = sa[:-2], sb[:-2]
    n = max(len(ba), len(bb))
    pa, pb = (1,) * (n - len(ba)) + tuple(ba), (1,) * (n - len(bb)) + tuple(bb)
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                               f"({y}) at non-singleton dimension {i}")
    batch = int(np.prod([max(x, y) for x, y in zip(pa, pb)]))
    if sa[-1] != sb[-2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {sa[-1]}] but got: [{batch}, {sb[-2]}].")


def _sparse_mm(a: Tensor, b: Tensor, name: str, **kwargs) -> Tensor:
    """A product with a sparse COO operand (``brickwork/sparse``: a sparse gradient)."""
    from ..sparse._matmul import mm_dispatch

    return mm_dispatch(a, b, name, **kwargs)


@float32_compute
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with ``torch.matmul``'s rules for 1-D and batched operands.

    Example:
        >>> (brickwork.ones(5, 2, 3) @ brickwork.ones(3, 4)).shape
        brickwork.Size([5, 2, 4])

    See: torch.matmul.
    """
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other if isinstance(input, Tensor) else input).__name__}")
    if input._data.__class__ is _SparseCOO or other._data.__class__ is _SparseCOO:
        return _sparse_mm(input, other, "matmul")
    sa, sb = input._data.shape, other._data.shape
    _check_matmul_shapes(sa, sb)
    na, nb = len(sa), len(sb)
    _check_same_dtype("dot" if na == nb == 1 else "mm", input, other)
    if na == 1 and nb == 1:
        return Dot.apply(input, other)
    if na == 2 and nb == 1:
        return Mv.apply(input, other)
    if na == 2 and nb == 2:
        return Mm.apply(input, other)
    if na == 1 and nb == 2:
        return VecMat.apply(input, other)
    return Matmul.apply(input, other)


@float32_compute
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only, no broadcasting). See: torch.mm."""
    if input._data.__class__ is _SparseCOO or mat2._data.__class__ is _SparseCOO:
        return _sparse_mm(input, mat2, "mm")
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    sa, sb = input._data.shape, mat2._data.shape
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_dims_str(sa)} and "
                           f"{_dims_str(sb)})")
    _check_same_dtype("mm", input, mat2)
    return Mm.apply(input, mat2)


class Bmm(Matmul):
    _backward_name = "BmmBackward0"


@float32_compute
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of ``(b, n, m)`` and ``(b, m, p)`` tensors (3-D only). See: torch.bmm."""
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    sa, sb = input._data.shape, mat2._data.shape
    if sb[0] != sa[0] or sb[1] != sa[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{sa[0]}, {sa[2]}] but got: [{sb[0]}, {sb[1]}].")
    _check_same_dtype("mm", input, mat2)
    return Bmm.apply(input, mat2)


@float32_compute
def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors. See: torch.dot."""
    na, nb = input._data.ndim, tensor._data.ndim
    if na != 1 or nb != 1:
        raise RuntimeError(f"1D tensors expected, but got {na}D and {nb}D tensors")
    _check_matmul_shapes(input._data.shape, tensor._data.shape)
    _check_same_dtype("dot", input, tensor)
    return Dot.apply(input, tensor)


@float32_compute
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product. See: torch.mv."""
    if input._data.__class__ is _SparseCOO:
        return _sparse_mm(input, vec, "mv")
    sa, sb = input._data.shape, vec._data.shape
    if len(sa) != 2 or len(sb) != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {len(sa)}, {len(sb)}")
    if sa[1] != sb[0]:
        raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({sa[0]}x{sa[1]}), vec "
                           f"({sb[0]})")
    _check_same_dtype("mm", input, vec)
    return Mv.apply(input, vec)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product ``input[:, None] * vec2[None, :]`` of two 1-D tensors. See: torch.outer."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return Outer.apply(input, vec2)


class Outer(Function):
    # PyTorch builds outer from a broadcasting multiply, hence the name of its grad_fn.
    _array_level = True
    _backward_name = "MulBackward0"

    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad  # saved as PyTorch saves them (see Matmul)
        ctx.a, ctx.b = a if nb else None, b if na else None
        return np.multiply.outer(a, b) if isinstance(a, np.ndarray) else a[:, None] * b[None, :]

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (g @ cj(ctx.b) if na else None), (cj(ctx.a) @ g if nb else None)


ger = outer


class Addmm(Function):
    _array_level = True
    _backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, bias, m1, m2, beta, alpha):
        if any(ctx.needs_input_grad):
            _, n1, n2 = ctx.needs_input_grad[:3]  # saved as PyTorch saves them (see Matmul)
            ctx.m1, ctx.m2, ctx.bias_shape = m1 if n2 else None, m2 if n1 else None, np.shape(bias)
            ctx.beta, ctx.alpha = beta, alpha
        prod = np.matmul(m1, m2)
        if alpha != 1:
            prod = prod * alpha
        if beta == 0:
            # PyTorch ignores the bias entirely when beta is 0 (NaN/inf in it do not leak).
            return np.broadcast_to(prod, prod.shape).copy() if prod.ndim else prod
        return (bias * beta if beta != 1 else bias) + prod

    @staticmethod
    def backward(ctx, g):
        nbias, n1, n2 = ctx.needs_input_grad[:3]
        gb = g1 = g2 = None
        if nbias:
            gb = unbroadcast(g * cj(ctx.beta) if ctx.beta != 1 else g, ctx.bias_shape)
        ga = g * cj(ctx.alpha) if ctx.alpha != 1 else g
        if n1:
            g1 = ga @ cj(ctx.m2.T)
        if n2:
            g2 = cj(ctx.m1.T) @ ga
        return gb, g1, g2, None, None


@float32_compute
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``, the fused op behind ``nn.Linear``.

    See: torch.addmm.
    """
    if mat1._data.__class__ is _SparseCOO or mat2._data.__class__ is _SparseCOO:
        return _sparse_mm(mat1, mat2, "addmm", bias=input, beta=beta, alpha=alpha)
    if mat1._data.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1._data.ndim}-D tensor")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2._data.ndim}-D tensor")
    sa, sb = mat1._data.shape, mat2._data.shape
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_dims_str(sa)} and "
                           f"{_dims_str(sb)})")
    _check_same_dtype("mm", mat1, mat2)
    out_shape = (sa[0], sb[1])
    try:
        np.broadcast_shapes(input._data.shape, out_shape)
    except ValueError:
        raise RuntimeError(f"The expanded size of the tensor ({out_shape[1]}) must match the "
                           f"existing size ({input._data.shape[-1]}) at non-singleton dimension "
                           f"1.  Target sizes: {list(out_shape)}.  Tensor sizes: "
                           f"{list(input._data.shape)}") from None
    return Addmm.apply(input, mat1, mat2, beta, alpha)


# -- transpose of a matrix ---------------------------------------------------------------------
class T(Function):
    _array_level = True
    _backward_name = "TBackward0"

    @staticmethod
    def forward(ctx, x):
        return x.T

    @staticmethod
    def backward(ctx, g):
        return g.T


def t(input: Tensor) -> Tensor:
    """Transpose of a matrix; 0-D and 1-D tensors come back as they are. See: torch.t."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return view_apply(T, input)


# -- norms -------------------------------------------------------------------------------------
class VectorNorm(Function):
    _array_level = True
    _backward_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, ord, axes, keepdim):
        xp = xp_of(x)
        a = xp.abs(x)
        if ord == 2:
            out = xp.sqrt((a * a).sum(axis=axes, keepdims=keepdim))
        elif ord == 1:
            out = a.sum(axis=axes, keepdims=keepdim)
        elif ord == float("inf"):
            out = a.max(axis=axes, keepdims=keepdim)
        elif ord == -float("inf"):
            out = a.min(axis=axes, keepdims=keepdim)
        elif ord == 0:
            out = (a != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
        else:
            with np.errstate(divide="ignore", over="ignore"):
                out = ((a ** ord).sum(axis=axes, keepdims=keepdim)) ** (1.0 / ord)
        out = out.astype(real_part(x).dtype, copy=False)  # a complex input's norm is real
        if ctx.needs_input_grad[0]:
            ctx.x, ctx.out, ctx.ord, ctx.axes, ctx.keepdim = x, out, ord, axes, keepdim
        return out

    @staticmethod
    def backward(ctx, g):
        x, ord, axes, keepdim = ctx.x, ctx.ord, ctx.axes, ctx.keepdim
        out = _expand(ctx.out, x.shape, axes, keepdim)
        g = _expand(g, x.shape, axes, keepdim)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if ord == 2:
                # The norm is not differentiable at 0; PyTorch uses the zero subgradient.
                gx = np.where(out == 0, 0, g * x / out)
            elif ord == 1:
                gx = g * _sgn_of(x)
            elif ord in (float("inf"), -float("inf")):
                # Ties at the extreme share the gradient evenly, as amax does.
                hit = np.abs(x) == out
                n = _expand(hit.sum(axis=axes, keepdims=keepdim), x.shape, axes, keepdim)
                gx = np.where(hit, g * _sgn_of(x) / n, 0)
            elif ord == 0:
                gx = np.zeros_like(x)
            else:
                a = np.abs(x)
                gx = np.where(out == 0, 0,
                              g * _sgn_of(x) * a ** (ord - 1) / out ** (ord - 1))
        return gx.astype(x.dtype, copy=False), None, None, None


@float32_compute
def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The ``ord``-norm of ``x`` (flattened, or over ``dim``). See: torch.linalg.vector_norm."""
    if dtype is not None:
        from .. import dtypes as _dt

        x = x.to(_dt.to_dtype(dtype))
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_torch_type_name(x.dtype)}")
    ord = float(ord)
    axes = _axes(dim, x._data.ndim)
    if x._data.size == 0 and ord < 0:
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
                           "tensor because the operation does not have an identity")
    return VectorNorm.apply(x, ord, axes, bool(keepdim))


@float32_compute
def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector norm of ``input`` (``'fro'`` is the 2-norm of all elements). See: torch.norm."""
    if p == "fro" or p is None:
        p = 2
    elif isinstance(p, str):
        raise NotImplementedError(f"norm: p='{p}' is not supported (only numbers and 'fro')")
    if isinstance(dim, int) and not isinstance(dim, bool):
        dim = (normalize_dim(dim, input._data.ndim),) if input._data.ndim else dim
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


TENSOR_METHODS = {
    "matmul": matmul, "mm": mm, "bmm": bmm, "dot": dot, "mv": mv, "outer": outer, "ger": outer,
    "addmm": addmm, "t": t, "norm": norm,
}
INPLACE_METHODS = ("addmm",)
__all__ = list(TENSOR_METHODS) + ["einsum"]
