"""Complex tensors: values, dtypes and gradients (PyTorch's conjugate-Wirtinger convention)
against PyTorch, plus finite-difference checks that need no PyTorch.

PyTorch's convention: for a real loss ``L`` of ``z = x + iy``, ``z.grad = dL/dx + i dL/dy``; a
real input that meets a complex one gets the real part. ``check_op`` uses a complex upstream
gradient for complex outputs (``helpers._upstream``), so both parts of every output are tested.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from tests.helpers import check_op, rand_array

C = rand_array((3, 4), "complex64", seed=3)
C2 = rand_array((3, 4), "complex64", seed=5)
D = rand_array((3, 4), "complex128", seed=6)
R = rand_array((3, 4), "float32", seed=4)

CASES = {
    "mul": (lambda lib, a, b: a * b, [C, C2]),
    "mul_real": (lambda lib, a, b: a * b, [C, R]),
    "div": (lambda lib, a, b: a / b, [C, C2]),
    "div_real": (lambda lib, a, b: b / a, [C, R]),
    "add_sub_real": (lambda lib, a, b: a + b - a * 2j, [C, R]),
    "neg": (lambda lib, a: -a, [C]),
    "reciprocal": (lambda lib, a: a.reciprocal(), [C]),
    "exp": (lambda lib, a: a.exp(), [C]),
    "log": (lambda lib, a: a.log(), [C]),
    "log2": (lambda lib, a: lib.log2(a), [C]),
    "log10": (lambda lib, a: lib.log10(a), [C]),
    "log1p": (lambda lib, a: lib.log1p(a), [C]),
    "expm1": (lambda lib, a: lib.expm1(a), [C]),
    "sqrt": (lambda lib, a: a.sqrt(), [C]),
    "rsqrt": (lambda lib, a: lib.rsqrt(a), [C]),
    "square": (lambda lib, a: a.square(), [C]),
    "pow_scalar": (lambda lib, a: a ** 2.5, [C]),
    "pow_complex_scalar": (lambda lib, a: a ** (1 + 1j), [C]),
    "pow_tensor": (lambda lib, a, b: a ** b, [C, C2]),
    "rpow": (lambda lib, a: 2 ** a, [C]),
    "sin": (lambda lib, a: a.sin(), [C]),
    "cos": (lambda lib, a: a.cos(), [C]),
    "tan": (lambda lib, a: lib.tan(a), [C]),
    "tanh": (lambda lib, a: a.tanh(), [C]),
    "sinh": (lambda lib, a: lib.sinh(a), [C]),
    "cosh": (lambda lib, a: lib.cosh(a), [C]),
    "asin": (lambda lib, a: lib.asin(a), [C]),
    "atan": (lambda lib, a: lib.atan(a), [C]),
    "sigmoid": (lambda lib, a: a.sigmoid(), [C]),
    "abs": (lambda lib, a: a.abs(), [C]),
    "angle": (lambda lib, a: a.angle(), [C]),
    "angle_real": (lambda lib, a: lib.angle(a), [R]),
    "sgn": (lambda lib, a: a.sgn(), [C]),
    "real": (lambda lib, a: a.real * 1, [C]),
    "imag": (lambda lib, a: a.imag * 1, [C]),
    "conj": (lambda lib, a: a.conj() * 1, [C]),
    "conj_physical": (lambda lib, a: lib.conj_physical(a), [C]),
    "resolve_conj": (lambda lib, a: a.conj().resolve_conj(), [C]),
    "view_as_real": (lambda lib, a: lib.view_as_real(a) * 1, [C]),
    "view_as_complex": (lambda lib, a: lib.view_as_complex(a) * 1, [rand_array((3, 2))]),
    "complex": (lambda lib, a, b: lib.complex(a, b), [R, R[:1]]),
    "polar": (lambda lib, a, b: lib.polar(a, b), [R, R[::-1].copy()]),
    "to_complex": (lambda lib, a: a.to(lib.complex64) * (1 + 2j), [R]),
    "cfloat": (lambda lib, a: a.double().cfloat() * 1j, [R]),
    "sum": (lambda lib, a: a.sum(1), [C]),
    "mean": (lambda lib, a: a.mean(), [C]),
    "prod": (lambda lib, a: a.prod(1), [C]),
    "cumsum": (lambda lib, a: a.cumsum(1), [C]),
    "cumprod": (lambda lib, a: a.cumprod(1), [C]),
    "var": (lambda lib, a: a.var(1), [C]),
    "std": (lambda lib, a: a.std(), [C]),
    "matmul": (lambda lib, a, b: a @ b.mT, [C, C2]),
    "mm_real": (lambda lib, a, b: a.mm(b.mT.to(a.dtype)), [C, R]),
    "bmm": (lambda lib, a, b: lib.bmm(a[None], b.mH[None]), [C, C2]),
    "mv": (lambda lib, a, b: lib.mv(a, b[0]), [C, C2]),
    "dot": (lambda lib, a, b: lib.dot(a[0], b[1]), [C, C2]),
    "vdot": (lambda lib, a, b: lib.vdot(a[0], b[1]), [C, C2]),
    "outer": (lambda lib, a, b: lib.outer(a[0], b[0]), [C, C2]),
    "addmm": (lambda lib, a, b: lib.addmm(a[:, :3], a, b.mT[:, :3]), [C, C2]),
    "einsum": (lambda lib, a, b: lib.einsum("ij,kj->ik", a, b), [C, C2]),
    "shape_ops": (lambda lib, a: lib.cat([a.T.reshape(2, 6), lib.stack([a[0], a[1]])[:, 1:]
                                           .repeat(1, 2)[:, :6]]).transpose(0, 1), [C]),
    "index": (lambda lib, a: a[[0, 2, 0]][:, 1:3], [C]),
    "mask": (lambda lib, a: a[a.real > 0], [C]),
    "gather": (lambda lib, a: a.gather(1, lib.tensor([[0, 1], [2, 3], [1, 1]])), [C]),
    "where": (lambda lib, a: lib.where(a.real > 0, a, a * 2), [C]),
    "flip": (lambda lib, a: a.flip(1), [C]),
    "H": (lambda lib, a: a.H * 1, [C]),
    "mH": (lambda lib, a: a.mH * 1, [C]),
    "adjoint": (lambda lib, a: a.adjoint() * 1, [C]),
    "vector_norm": (lambda lib, a: lib.linalg.vector_norm(a), [C]),
    "vector_norm_1": (lambda lib, a: lib.linalg.vector_norm(a, 1, dim=1), [C]),
    "complex128_chain": (lambda lib, a: (a.exp() * a.conj()).sqrt().abs(), [D]),
    "sinc": (lambda lib, a: lib.sinc(a), [C]),
    "ldexp": (lambda lib, a: lib.ldexp(a, lib.tensor([1, 2, 0, 3])), [C]),
    "float_power": (lambda lib, a: lib.float_power(a, 2), [C]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_complex_op_matches_torch(name):
    fn, inputs = CASES[name]
    check_op(fn, inputs)


# -- finite differences, no PyTorch ------------------------------------------------------------
def _numeric_grad(loss, z: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """``dL/dx + i dL/dy`` by central differences, for a real ``loss`` of complex ``z``."""
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        for unit in (1, 1j):
            up, dn = z.copy(), z.copy()
            up[idx] += eps * unit
            dn[idx] -= eps * unit
            g[idx] += unit * (loss(up) - loss(dn)) / (2 * eps)
    return g


FD_CASES = {
    # name: (brickwork function of a tensor, the same in NumPy); the loss is Re(f) + 2 Im(f)
    "exp_mul": (lambda z: z.exp() * z, lambda z: np.exp(z) * z),
    "div_log": (lambda z: z.log() / (z + 2), lambda z: np.log(z) / (z + 2)),
    "pow": (lambda z: z ** 1.7, lambda z: z ** 1.7),
    "abs": (lambda z: z.abs() * 1j, lambda z: np.abs(z) * 1j),
    "angle": (lambda z: z.angle() + z.sgn(), lambda z: np.angle(z) + z / np.abs(z)),
    "tanh_conj": (lambda z: z.tanh() * z.conj(), lambda z: np.tanh(z) * np.conj(z)),
    "matmul": (lambda z: z @ z.mH, lambda z: z @ z.conj().T),
    "parts": (lambda z: brickwork.complex(z.imag, z.real ** 2),
              lambda z: z.imag + 1j * z.real ** 2),
    "view_as_real": (lambda z: brickwork.view_as_real(z) ** 3, lambda z: np.stack(
        [z.real, z.imag], -1) ** 3),
    "polar": (lambda z: brickwork.polar(z.abs(), z.imag), lambda z: np.abs(z) * np.exp(
        1j * z.imag)),
}


@pytest.mark.parametrize("name", list(FD_CASES))
def test_complex_gradient_by_finite_differences(name):
    b_fn, np_fn = FD_CASES[name]
    z0 = rand_array((2, 2), "complex128", low=0.5, high=1.5, seed=9)

    def loss(z):
        f = np_fn(z)
        return float(np.real(f).sum() + 2 * np.imag(f).sum())

    z = brickwork.tensor(z0, requires_grad=True)
    f = b_fn(z)
    out = f.real.sum() + 2 * f.imag.sum() if f.is_complex() else f.sum()
    out.backward()
    np.testing.assert_allclose(z.grad.numpy(), _numeric_grad(loss, z0), atol=1e-6)


def test_abs_squared_gradient_is_twice_z():
    # The convention's signature: d(|z|^2)/dz stored as 2z (PyTorch documents this).
    z = brickwork.tensor([1 + 2j, -3 + 0.5j], requires_grad=True)
    (z.abs() ** 2).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), 2 * np.array([1 + 2j, -3 + 0.5j]), rtol=1e-6)


def test_real_input_meeting_complex_gets_the_real_part():
    x = brickwork.tensor([1.0, 2.0], requires_grad=True)
    w = brickwork.tensor([1 + 1j, 2 - 3j])
    (x * w).imag.sum().backward()
    assert x.grad.dtype is brickwork.float32
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -3.0])
