"""``grouped_mm``: per-group matrix products with jagged group sizes (Mixture-of-Experts).

PyTorch 2.13 runs this on the CPU with float32/bfloat16/float16 operands whose leading-dimension
strides are multiples of 16 bytes; brickwork checks the same constraints, in the same order, so
code that runs here runs there. The product is composed of differentiable brickwork ops.
"""
from __future__ import annotations

from .. import dtypes
from ..ops.join import cat, stack
from ..tensor import Tensor

__all__ = ["grouped_mm"]

_FLOATS = {"float32": "Float32", "bfloat16": "BFloat16", "float16": "Float16"}
_NAMES = {"float64": "Double", "int64": "Long", "int32": "Int", "int16": "Short",
          "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
          "complex128": "ComplexDouble"}


def _check_strides(mat: Tensor) -> None:
    # The grouped-GEMM kernels need one unit stride among the last two dims (row- or
    # column-major) and the other (the leading dimension) aligned to 16 bytes.
    s0, s1 = mat.stride()[-2:]
    if s1 == 1:
        lead = s0
    elif s0 == 1:
        lead = s1
    else:
        raise RuntimeError(f"Invalid strides/sizes, got {list(mat.stride())} for strides and "
                           f"{list(mat.shape)} for sizes")
    if (lead * mat.element_size()) % 16 != 0:
        raise RuntimeError("strides should be multiple of 16 bytes")


def _bounds(offs: Tensor, length: int) -> list[tuple[int, int]]:
    """``[(start, stop)]`` of each group along a jagged dimension of size ``length``."""
    ends = [int(v) for v in offs.tolist()]
    bounds, start = [], 0
    for end in ends:
        # PyTorch reads out of bounds (or nothing) here without checking; refuse instead.
        if end < start or end > length:
            raise RuntimeError(f"grouped_mm: offs must be non-decreasing and at most {length}, "
                               f"got {ends}")
        bounds.append((start, end))
        start = end
    return bounds


def grouped_mm(mat_a: Tensor, mat_b: Tensor, *, offs: Tensor | None = None,
               bias: Tensor | None = None, out_dtype: dtypes.dtype | None = None) -> Tensor:
    """Grouped matrix multiply with jagged group sizes given by ``offs``.

    Shapes (``G`` groups; ``offs`` int32 ``(G,)`` of group ends along the jagged dimension):

    - 3d x 3d: ``(G, M, K) @ (G, K, N) -> (G, M, N)``, ``offs=None``.
    - 2d x 3d: rows of ``(M, K)`` split by ``offs``, group ``g`` times ``mat_b[g]`` -> ``(M, N)``.
    - 3d x 2d: columns of ``(K, N)`` split by ``offs``, ``mat_a[g]`` times group ``g`` ->
      ``(M, N)``.
    - 2d x 2d: the shared ``K`` split by ``offs`` -> ``(G, M, N)``.

    Rows/columns past ``offs[-1]`` are zero (PyTorch leaves them uninitialized).

    Args:
        mat_a: left operand, 2-d or 3-d.
        mat_b: right operand, 2-d or 3-d.
        offs: int32 group ends; required iff an operand is 2-d.
        bias: not supported (PyTorch raises the same).
        out_dtype: must equal ``mat_a``'s dtype on the CPU.

    See: torch.nn.functional.grouped_mm.
    """
    if mat_a.dim() not in (2, 3):
        raise RuntimeError("mat_a has to be 2 or 3d")
    if mat_b.dim() not in (2, 3):
        raise RuntimeError("mat_b has to be 2 or 3d")
    for name, mat in (("mat_a", mat_a), ("mat_b", mat_b)):
        if mat.dtype.name not in _FLOATS:
            kind = _NAMES.get(mat.dtype.name, mat.dtype.name)
            raise RuntimeError(f"Expected {name} to be Float32, BFloat16 or Float16 matrix, got "
                               f"{kind}")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    _check_strides(mat_a)
    _check_strides(mat_b)
    a_is_2d, b_is_2d = mat_a.dim() == 2, mat_b.dim() == 2
    if (offs is not None) != (a_is_2d or b_is_2d):
        raise RuntimeError("Have to provide offsets if there is a 2d matrix, or no offset if "
                           "both matrices are 3d")
    if offs is not None:
        if offs.dim() != 1:
            raise RuntimeError("offs has to be 1D")
        if offs.dtype != dtypes.int32:
            raise RuntimeError("Offsets have to be int32")
    if not a_is_2d and not b_is_2d and mat_a.shape[0] != mat_b.shape[0]:
        raise RuntimeError("batched dimension has to match")
    groups = offs.shape[0] if offs is not None else mat_a.shape[0]
    if (not a_is_2d and mat_a.shape[0] != groups) or (not b_is_2d and mat_b.shape[0] != groups):
        raise RuntimeError("matrix batch sizes have to match")
    if bias is not None:
        raise RuntimeError("Bias not supported yet")
    if out_dtype is not None and out_dtype != mat_a.dtype:
        raise RuntimeError("Grouped gemm output dtype must match `mat_a` dtype")
    if mat_a.dtype != mat_b.dtype:
        raise RuntimeError(f"grouped_mm: mat_a and mat_b must have the same dtype, got "
                           f"{mat_a.dtype} and {mat_b.dtype}")
    dtype = mat_a.dtype
    # Low-precision operands accumulate in float32, like the kernels, then round once.
    a, b = (mat_a, mat_b) if dtype == dtypes.float32 else (mat_a.float(), mat_b.float())
    if not a_is_2d and not b_is_2d:
        out = a @ b
    elif a_is_2d and not b_is_2d:
        m = a.shape[0]
        bounds = _bounds(offs, m)
        pieces = [a[s:e] @ b[g] for g, (s, e) in enumerate(bounds)]
        tail = m - (bounds[-1][1] if bounds else 0)
        pieces.append(a.new_zeros((tail, b.shape[-1])))
        out = cat(pieces, 0)
    elif not a_is_2d and b_is_2d:
        n = b.shape[1]
        bounds = _bounds(offs, n)
        pieces = [a[g] @ b[:, s:e] for g, (s, e) in enumerate(bounds)]
        tail = n - (bounds[-1][1] if bounds else 0)
        pieces.append(a.new_zeros((a.shape[1], tail)))
        out = cat(pieces, 1)
    else:
        bounds = _bounds(offs, a.shape[1])
        pieces = [a[:, s:e] @ b[s:e] for s, e in bounds]
        out = (stack(pieces, 0) if pieces
               else a.new_zeros((0, a.shape[0], b.shape[1])))
    return out if out.dtype == dtype else out.to(dtype)
