"""Complex tensors: building them (``complex``, ``polar``), taking them apart (``real``,
``imag``, ``angle``, ``view_as_real``/``view_as_complex``), the conjugate and its transposes.

Gradients follow PyTorch's convention: for a real loss ``L`` of ``z = x + iy`` the stored
gradient is ``dL/dx + i dL/dy``; a real input that meets a complex one receives the real part.
Element-wise ops elsewhere handle complex inputs by conjugating the derivative they multiply by
(``_complex_grad.cj``).

**The conjugate bit.** PyTorch's ``conj()`` is lazy: a view with a bit set, resolved on use.
brickwork computes the conjugate at once (a copy: NumPy has no conjugating view) and keeps the
bit only as a mark on that result, so ``is_conj()``, ``resolve_conj()`` and ``view_as_real``'s
refusal answer as PyTorch's do for a tensor fresh from ``conj()``/``H``/``mH``/``adjoint()``.
Values and gradients are PyTorch's. Two differences remain: the result does not alias its input
(a later write to ``z`` is not seen through ``z.conj()``), and views or clones of it report no
bit.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.function import Function
from ..tensor import _SCALAR_TYPE_NAMES, Tensor
from ._complex_grad import cj, real_part
from ._complex_views import (_check_tensor, conj, conj_physical, imag, real, view_as_complex,
                             view_as_real)
from ._util import broadcast_mismatch, unbroadcast, xp_of

_REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32),
            np.dtype(np.complex128): np.dtype(np.float64)}


class Complex(Function):
    _array_level = True
    _backward_name = "ComplexBackward0"

    @staticmethod
    def forward(ctx, re, im):
        cdt = np.complex64 if re.dtype == np.float32 else np.complex128
        out = re.astype(cdt) + im.astype(cdt) * 1j
        ctx.shapes = (re.shape, im.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        from ._complex_grad import imag_part

        sr, si = ctx.shapes
        nr, ni = ctx.needs_input_grad
        return (unbroadcast(real_part(g), sr) if nr else None,
                unbroadcast(imag_part(g), si) if ni else None)


class Polar(Function):
    _array_level = True
    _backward_name = "PolarBackward0"

    @staticmethod
    def forward(ctx, r, theta):
        xp = xp_of(r)
        cdt = np.complex64 if r.dtype == np.float32 else np.complex128
        out = r * xp.cos(theta) + (r * xp.sin(theta)).astype(cdt) * 1j
        ctx.out = out
        ctx.shapes = (r.shape, theta.shape)
        return out.astype(cdt, copy=False)

    @staticmethod
    def backward(ctx, g):
        # out = r e^{i theta}: dL/dr = Re(conj(g) e^{i theta}), dL/dtheta = Re(conj(g) i out).
        # PyTorch writes e^{i theta} as sgn(out), which flips the sign where r < 0: so here.
        sr, st = ctx.shapes
        nr, nt = ctx.needs_input_grad
        gc = cj(g)
        gr = unbroadcast(real_part(gc * _sgn_array(ctx.out)), sr) if nr else None
        gt = unbroadcast(real_part(gc * ctx.out * 1j), st) if nt else None
        return gr, gt


def _sgn_array(z):
    xp = xp_of(z)
    a = xp.abs(z)
    with np.errstate(divide="ignore", invalid="ignore"):
        return xp.where(a == 0, 0, z / a)


class Angle(Function):
    _array_level = True
    _backward_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, z):
        xp = xp_of(z)
        if z.dtype.kind == "c":
            ctx.z = z
            return xp.angle(z)
        # Real inputs: pi for negatives, 0 otherwise, nan stays nan (PyTorch).
        return xp.where(xp.isnan(z), z, xp.where(z < 0, np.pi, 0).astype(z.dtype))

    @staticmethod
    def backward(ctx, g):
        z = getattr(ctx, "z", None)
        if z is None:  # piecewise constant for real inputs
            return xp_of(g).zeros_like(g)
        # theta = atan2(y, x): dtheta/dx + i dtheta/dy = i z / |z|^2; 0 at z = 0.
        xp = xp_of(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            den = (z * cj(z))
            res = g.astype(z.dtype) * z * 1j / den
        return xp.where(z == 0, 0, res).astype(z.dtype)


class Sgn(Function):
    _array_level = True
    _backward_name = "SgnBackward0"

    @staticmethod
    def forward(ctx, z):
        xp = xp_of(z)
        if z.dtype.kind != "c":  # the sign, with 0 for NaN as PyTorch
            return xp.where(xp.isnan(z), 0, xp.sign(z)).astype(z.dtype, copy=False)
        a = xp.abs(z)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = xp.where(a == 0, 0, z / a).astype(z.dtype)
        ctx.z, ctx.a, ctx.out = z, a, out
        return out

    @staticmethod
    def backward(ctx, g):
        z = getattr(ctx, "z", None)
        if z is None:
            return xp_of(g).zeros_like(g)
        # s = z/|z|: ds/dz = 1/(2|z|), ds/dz* = -z^2/(2|z|^3), so
        # grad = conj(g) ds/dz* + g conj(ds/dz) = (g - conj(g) s^2) / (2|z|); 0 at z = 0.
        xp = xp_of(z)
        s, a = ctx.out, ctx.a
        with np.errstate(divide="ignore", invalid="ignore"):
            res = (g - cj(g) * s * s) / (2 * a)
        return xp.where(a == 0, 0, res).astype(z.dtype)


def complex(real: Tensor, imag: Tensor) -> Tensor:  # noqa: A001 - torch.complex
    """``real + i * imag`` from two float tensors of the same dtype. See: torch.complex."""
    for pos, (name, t) in enumerate((("real", real), ("imag", imag)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"complex(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(t).__name__}")
    _check_parts(real, imag)
    return Complex.apply(real, imag)


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002
    """``abs * (cos(angle) + i sin(angle))``. See: torch.polar."""
    for pos, (name, t) in enumerate((("abs", abs), ("angle", angle)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"polar(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(t).__name__}")
    _check_parts(abs, angle)
    return Polar.apply(abs, angle)


def _check_parts(a: Tensor, b: Tensor) -> None:
    da, db = a._data.dtype, b._data.dtype
    if da.kind != "f" or db.kind != "f":
        na = _SCALAR_TYPE_NAMES.get(da.name, a.dtype.name)
        nb = _SCALAR_TYPE_NAMES.get(db.name, b.dtype.name)
        raise RuntimeError(f"Expected both inputs to be Half, Float or Double tensors but got "
                           f"{na} and {nb}")
    if da != db:
        raise RuntimeError(f"Expected object of scalar type {_SCALAR_TYPE_NAMES[da.name]} but "
                           f"got scalar type {_SCALAR_TYPE_NAMES[db.name]} for second argument")
    if da == np.float16:
        raise NotImplementedError("float16 parts make complex32, which brickwork does not "
                                  "support")
    try:
        np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        raise RuntimeError(broadcast_mismatch(a._data.shape, b._data.shape)) from None


def angle(input: Tensor) -> Tensor:
    """The argument of each element, in radians; for real inputs pi where negative, else 0
    (integers give the default float dtype). See: torch.angle."""
    _check_tensor(input, "angle")
    if input._data.dtype.kind in "biu":
        from .. import dtypes as _dt

        input = input.to(_dt.get_default_dtype())
    return Angle.apply(input)


def sgn(input: Tensor) -> Tensor:
    """``z / |z|`` for complex elements (0 at 0); the sign for real ones. See: torch.sgn."""
    _check_tensor(input, "sgn")
    return Sgn.apply(input)


def is_complex(input: Tensor) -> bool:
    """Whether the dtype is complex64 or complex128. See: torch.is_complex."""
    _check_tensor(input, "is_complex")
    return input._data.dtype.kind == "c"


def is_conj(input: Tensor) -> bool:
    """Whether the conjugate bit is set (a fresh result of ``conj()``; see the module doc).

    See: torch.is_conj.
    """
    _check_tensor(input, "is_conj")
    return bool(getattr(input, "_conj_bit", False))


def resolve_conj(input: Tensor) -> Tensor:
    """A tensor with the conjugate bit cleared: a copy if it was set, else ``input``.

    See: torch.resolve_conj.
    """
    _check_tensor(input, "resolve_conj")
    if not getattr(input, "_conj_bit", False):
        return input
    return input.clone()


def conj_physical_(input: Tensor) -> Tensor:
    """Conjugate ``input`` in place. See: torch.conj_physical_."""
    _check_tensor(input, "conj_physical_")
    if input._data.dtype.kind != "c":
        return input
    return input._inplace(conj_physical)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims. See: torch.adjoint."""
    _check_tensor(input, "adjoint")
    if input.dim() < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.dim()}-D tensor.")
    return conj(input.transpose(-2, -1))


def _mH(self: Tensor) -> Tensor:
    nd = self.dim()
    if nd == 0:
        warnings.warn("Tensor.mH is deprecated on 0-D tensors. Consider using x.conj().",
                      UserWarning, stacklevel=3)
        return conj(self)
    if nd < 2:
        raise RuntimeError("tensor.mH is only supported on matrices or batches of matrices. "
                           f"Got {nd}-D tensor.")
    return conj(self.transpose(-2, -1))


def _H(self: Tensor) -> Tensor:
    nd = self.dim()
    if nd == 0:
        warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
                      UserWarning, stacklevel=3)
        return conj(self)
    if nd != 2:
        hint = " For batches of matrices, consider using tensor.mH" if nd > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{nd}-D tensor.{hint}")
    return conj(self.transpose(0, 1))


def _cfloat(self: Tensor, memory_format=None) -> Tensor:
    from .. import dtypes as _dt

    return self.to(_dt.complex64, memory_format=memory_format)


def _cdouble(self: Tensor, memory_format=None) -> Tensor:
    from .. import dtypes as _dt

    return self.to(_dt.complex128, memory_format=memory_format)


_cfloat.__name__, _cdouble.__name__ = "cfloat", "cdouble"
_cfloat.__doc__ = "``self.to(brickwork.complex64)``. See: torch.Tensor.cfloat."
_cdouble.__doc__ = "``self.to(brickwork.complex128)``. See: torch.Tensor.cdouble."

_FUNCTIONS = {
    "complex": complex, "polar": polar, "real": real, "imag": imag, "angle": angle, "sgn": sgn,
    "view_as_real": view_as_real, "view_as_complex": view_as_complex, "conj": conj,
    "conj_physical": conj_physical, "conj_physical_": conj_physical_,
    "resolve_conj": resolve_conj, "is_conj": is_conj, "is_complex": is_complex,
    "adjoint": adjoint,
}
TENSOR_METHODS = {
    "angle": angle, "sgn": sgn, "conj": conj, "conj_physical": conj_physical,
    "resolve_conj": resolve_conj, "is_conj": is_conj, "is_complex": is_complex,
    "conj_physical_": conj_physical_, "adjoint": adjoint, "cfloat": _cfloat, "cdouble": _cdouble,
    "H": property(_H, doc="The conjugate transpose of a matrix."),
    "mH": property(_mH, doc="The conjugate transpose of the last two dimensions."),
}
INPLACE_METHODS = ("sgn",)
__all__ = list(_FUNCTIONS)
