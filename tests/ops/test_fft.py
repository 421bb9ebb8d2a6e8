"""brickwork.fft against PyTorch: values, dtypes, shapes, errors and gradients of every
transform, on the CPU and the simulated CUDA backend, plus NumPy-only checks.

Complex results are compared two ways: through ``view_as_real``/``view_as_complex`` with
``check_op`` (real losses, as PyTorch's own tests do), and by backpropagating the same complex
upstream gradient through both libraries (``_vjp``), which needs nothing but the transforms.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
import helpers
from helpers import (CaseTable, brickwork_device, check_behaviour, check_op, requires_torch,
                     to_brick, to_torch, torch)

RNG = np.random.default_rng(0)


def _real(shape, dtype="float32"):
    return RNG.standard_normal(shape).astype(dtype)


def _cplx(shape, dtype="complex64"):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def _np(t):
    t = t.detach()
    if torch is not None and isinstance(t, torch.Tensor):
        return t.resolve_conj().cpu().numpy()
    return t._host()


def _close(b, t, what, dtype):
    tol = 1e-4 if dtype in ("float32", "complex64") else 1e-9
    assert tuple(b.shape) == tuple(t.shape), f"{what}: shape {tuple(b.shape)} != {tuple(t.shape)}"
    assert b.dtype.name == str(t.dtype)[6:], f"{what}: dtype {b.dtype} != {t.dtype}"
    np.testing.assert_allclose(_np(b), _np(t), atol=tol, rtol=tol, err_msg=what)


def _vjp(fn, *arrays):
    """Compare ``fn(lib, *inputs)`` and the gradients of one complex (or real) upstream
    gradient, backpropagated through both libraries, on check_op's device."""
    b_in = [to_brick(a, True) for a in arrays]
    t_in = [to_torch(a, True) for a in arrays]
    b_out, t_out = fn(brickwork, *b_in), fn(torch, *t_in)
    _close(b_out, t_out, "output", str(t_out.dtype)[6:])
    g = RNG.standard_normal(tuple(t_out.shape))
    if t_out.is_complex():
        g = g + 1j * RNG.standard_normal(tuple(t_out.shape))
    g = g.astype(str(t_out.dtype)[6:])
    b_out.backward(to_brick(g))
    t_out.backward(to_torch(g))
    for i, (b, t) in enumerate(zip(b_in, t_in)):
        _close(b.grad, t.grad, f"grad of input {i}", str(t.dtype)[6:])
        assert b.grad.device == b.device
    return b_out


ONE_D = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
N_D = ("fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
       "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn")
REAL_ONLY = {"rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn"}
C2R = {"irfft", "hfft", "irfft2", "hfft2", "irfftn", "hfftn"}


def _sizes(name):
    """Signal lengths worth checking: none, shorter, longer; for c2r even and odd outputs."""
    if name in ONE_D:
        return [{}, {"n": 4}, {"n": 11}] + ([{"n": 7}, {"n": 8}] if name in C2R else [])
    return [{}, {"s": (2, 9)}, {"s": (4, 7)}, {"s": (-1, 6)}]


@requires_torch
@pytest.mark.parametrize("device", ["cpu", "simcuda"])
@pytest.mark.parametrize("name", ONE_D + N_D)
def test_gradients_match_torch(name, device):
    """Every transform, norm and size, for real and complex input: values and gradients."""
    with brickwork_device(device) as dev, helpers.testing_on(dev):
        inputs = [_real((3, 6)), _real((2, 3, 5), "float64")]
        if name not in REAL_ONLY:
            inputs += [_cplx((3, 5)), _cplx((2, 3, 4), "complex128")]
        norms = (None, "backward", "ortho", "forward")
        for i, x in enumerate(inputs):
            for j, size in enumerate(_sizes(name)):  # the norms rotate over sizes and inputs
                norm = norms[(i + j) % 4]
                _vjp(lambda L, t: getattr(L.fft, name)(t, norm=norm, **size), x)


@requires_torch
@pytest.mark.parametrize("name", ["rfft", "irfft", "hfft", "ihfft", "fft", "rfftn", "irfft2",
                                  "hfftn", "ihfft2"])
def test_double_backward_matches_torch(name):
    """The gradient is itself differentiable (in the upstream gradient), as in PyTorch."""
    x = _cplx((3, 5)) if name in C2R else _real((3, 6))
    b_x, t_x = to_brick(x, True), to_torch(x, True)
    t_out = getattr(torch.fft, name)(t_x, norm="ortho")
    b_out = getattr(brickwork.fft, name)(b_x, norm="ortho")
    v = _cplx(tuple(t_out.shape)) if t_out.is_complex() else _real(tuple(t_out.shape))
    b_v, t_v = to_brick(v, True), to_torch(v, True)
    (t_g,) = torch.autograd.grad(t_out, t_x, t_v, create_graph=True)
    (b_g,) = brickwork.autograd.grad(b_out, b_x, b_v, create_graph=True)
    _close(b_g, t_g, "first derivative", str(t_g.dtype)[6:])
    w = _cplx(tuple(t_g.shape)) if t_g.is_complex() else _real(tuple(t_g.shape))
    t_g.backward(to_torch(w))
    b_g.backward(to_brick(w))
    _close(b_v.grad, t_v.grad, "derivative in the upstream gradient", str(t_v.dtype)[6:])


# -- check_op through real views (also runs on simcuda: check_op is per-device) ----------------
def _as_real(lib, z):
    return lib.view_as_real(z) if z.is_complex() else z


VIEWED = CaseTable()


@VIEWED.case
def rfft_n(lib, x):
    return _as_real(lib, lib.fft.rfft(x, n=10, norm="ortho"))


@VIEWED.case
def irfft_odd(lib, x):
    return _as_real(lib, lib.fft.irfft(lib.view_as_complex(x), n=7))


@VIEWED.case
def hfft2_s(lib, x):
    return _as_real(lib, lib.fft.hfft2(lib.view_as_complex(x), s=(2, 6), norm="forward"))


@VIEWED.case
def fftn_real_dims(lib, x):
    return _as_real(lib, lib.fft.fftn(x, dim=(0, 2)))


@VIEWED.case
def ihfftn_s(lib, x):
    return _as_real(lib, lib.fft.ihfftn(x[..., 1], s=(4, 4)))


@VIEWED.case
def shifts(lib, x):
    return lib.fft.fftshift(x, dim=(0, -1)) * 2 + lib.fft.ifftshift(x)


@pytest.mark.parametrize("case", sorted(VIEWED))
def test_real_views_match_torch(case):
    # (Linear maps: the second derivatives are zero; check_op still runs the first-order
    # gradients with create_graph. The derivative in the upstream gradient is
    # test_double_backward_matches_torch's job.)
    check_op(VIEWED[case], [(3, 5, 2)])


# -- dtypes and errors -------------------------------------------------------------------------
BEHAVIOUR = CaseTable()


@BEHAVIOUR.case
def integers_promote_to_the_default_float(lib):
    x = lib.arange(6)
    return [lib.fft.fft(x), lib.fft.rfft(x), lib.fft.ihfft(x.bool()), lib.fft.fftn(x)]


@BEHAVIOUR.case
def float64_gives_complex128(lib):
    x = lib.arange(6, dtype=lib.float64)
    return [lib.fft.fft(x), lib.fft.irfft(lib.fft.rfft(x)), lib.fft.hfft(lib.fft.ihfft(x))]


@BEHAVIOUR.case
def default_dtype_float64(lib):
    old = lib.get_default_dtype()
    lib.set_default_dtype(lib.float64)
    try:
        return lib.fft.fft(lib.arange(4))
    finally:
        lib.set_default_dtype(old)


@BEHAVIOUR.case
def scalar_fftn_and_no_dims(lib):
    x = lib.tensor(2.0)
    return [lib.fft.fftn(x), lib.fft.ifftn(lib.ones(3), dim=()), lib.fft.fftn(x, dim=[])]


@BEHAVIOUR.case
def half_refused(lib):
    return lib.fft.fft(lib.ones(4, dtype=lib.float16))


@BEHAVIOUR.case
def bfloat16_refused(lib):
    return lib.fft.rfftn(lib.ones(4, dtype=lib.bfloat16))


@BEHAVIOUR.case
def bad_norm(lib):
    return lib.fft.fft(lib.ones(4), norm="bad")


@BEHAVIOUR.case
def zero_points(lib):
    return lib.fft.fft(lib.ones(4), n=0)


@BEHAVIOUR.case
def empty_signal(lib):
    return lib.fft.fftn(lib.ones(0, 3))


@BEHAVIOUR.case
def irfft_of_one_bin(lib):
    return lib.fft.irfft(lib.ones(1))


@BEHAVIOUR.case
def irfftn_zero(lib):
    return lib.fft.irfftn(lib.ones(3, 4), s=(2, 0))


@BEHAVIOUR.case
def dim_out_of_range(lib):
    return lib.fft.fft(lib.ones(4), dim=3)


@BEHAVIOUR.case
def dim_of_a_scalar(lib):
    return lib.fft.fft(lib.tensor(1.0))


@BEHAVIOUR.case
def fft2_of_a_vector(lib):
    return lib.fft.fft2(lib.ones(4))


@BEHAVIOUR.case
def rfft_of_complex(lib):
    return lib.fft.rfft(lib.fft.fft(lib.ones(4)))


@BEHAVIOUR.case
def ihfftn_of_complex(lib):
    return lib.fft.ihfftn(lib.fft.fft(lib.ones(4)))


@BEHAVIOUR.case
def rfftn_of_a_scalar(lib):
    return lib.fft.rfftn(lib.tensor(1.0))


@BEHAVIOUR.case
def irfftn_no_dims(lib):
    return lib.fft.irfftn(lib.ones(3), dim=())


@BEHAVIOUR.case
def repeated_dims(lib):
    return lib.fft.fftn(lib.ones(3, 3), dim=(0, -2))


@BEHAVIOUR.case
def s_longer_than_ndim(lib):
    return lib.fft.fftn(lib.ones(3), s=(3, 4))


@BEHAVIOUR.case
def s_and_dim_lengths_differ(lib):
    return lib.fft.rfftn(lib.ones(3, 3), s=(3,), dim=(0, 1))


@BEHAVIOUR.case
def fftfreq_values(lib):
    return [lib.fft.fftfreq(5), lib.fft.fftfreq(6, 0.3), lib.fft.rfftfreq(5, d=2),
            lib.fft.rfftfreq(8, dtype=lib.float64), lib.fft.fftfreq(0),
            lib.fft.fftfreq(5, dtype=lib.float16), lib.fft.fftfreq(5, d=0)]


@BEHAVIOUR.case
def fftfreq_requires_grad(lib):
    f = lib.fft.rfftfreq(6, 0.1, dtype=lib.float64, requires_grad=True)
    return [f, f.requires_grad, f.is_leaf]


@BEHAVIOUR.case
def fftfreq_integer_dtype(lib):
    return lib.fft.fftfreq(5, dtype=lib.int64)


@BEHAVIOUR.case
def rfftfreq_integer_dtype(lib):
    return lib.fft.rfftfreq(5, dtype=lib.int32)


@BEHAVIOUR.case
def fftfreq_complex_dtype(lib):
    return lib.fft.fftfreq(4, dtype=lib.complex64)


@BEHAVIOUR.case
def fftfreq_negative(lib):
    return lib.fft.fftfreq(-1)


@BEHAVIOUR.case
def fftfreq_float_n(lib):
    return lib.fft.fftfreq(2.5)


@BEHAVIOUR.case
def shifts_of_integers(lib):
    x = lib.arange(12).reshape(3, 4)
    return [lib.fft.fftshift(x), lib.fft.ifftshift(x), lib.fft.fftshift(x, dim=1),
            lib.fft.ifftshift(x, dim=(0, 0)), lib.fft.fftshift(lib.fft.fftfreq(5))]


@BEHAVIOUR.case
def shift_of_a_scalar(lib):
    return lib.fft.fftshift(lib.tensor(1.0))


@BEHAVIOUR.case
def shift_dim_out_of_range(lib):
    return lib.fft.ifftshift(lib.ones(3, 2), dim=(-3,))


@BEHAVIOUR.case
def shift_float_dim(lib):
    return lib.fft.fftshift(lib.ones(3), dim=1.5)


@BEHAVIOUR.case
def float_dim(lib):
    return lib.fft.rfft(lib.ones(3), dim=1.0)


@BEHAVIOUR.case
def float_n(lib):
    return lib.fft.fft(lib.ones(3), n=2.5)


@BEHAVIOUR.case
def bool_n(lib):
    return lib.fft.ihfft(lib.ones(3), n=True)


@BEHAVIOUR.case
def integer_norm(lib):
    return lib.fft.hfft(lib.ones(3), norm=1)


@BEHAVIOUR.case
def float_s(lib):
    return lib.fft.fftn(lib.ones(3), s=2.0)


@BEHAVIOUR.case
def float_dims_of_fft2(lib):
    return lib.fft.irfft2(lib.ones(3, 3), dim=(1.0,))


@BEHAVIOUR.case
def grad_fn_names(lib):
    x = lib.ones(4, requires_grad=True)
    z = lib.ones(3, dtype=lib.complex64, requires_grad=True)
    return [lib.fft.fft(x).grad_fn.name(), lib.fft.rfft(x).grad_fn.name(),
            lib.fft.irfft(z).grad_fn.name(), lib.fft.fft(z).grad_fn.name(),
            lib.fft.ihfft(x).grad_fn.name(), lib.fft.rfft(x, n=6).grad_fn.name()]


@pytest.mark.parametrize("case", sorted(BEHAVIOUR))
def test_behaviour_matches_torch(case):
    check_behaviour(BEHAVIOUR[case])


# -- without PyTorch ---------------------------------------------------------------------------
@pytest.mark.parametrize("norm", [None, "ortho", "forward"])
def test_values_match_numpy(norm):
    x = _real((4, 6), "float64")
    z = _cplx((4, 6), "complex128")
    bx, bz = brickwork.tensor(x), brickwork.tensor(z)
    pairs = [(brickwork.fft.fft(bz, norm=norm), np.fft.fft(z, norm=norm)),
             (brickwork.fft.rfft(bx, n=9, norm=norm), np.fft.rfft(x, n=9, norm=norm)),
             (brickwork.fft.irfft(bz, n=7, norm=norm), np.fft.irfft(z, n=7, norm=norm)),
             (brickwork.fft.hfft(bz, norm=norm), np.fft.hfft(z, norm=norm)),
             (brickwork.fft.ihfft(bx, norm=norm), np.fft.ihfft(x, norm=norm)),
             (brickwork.fft.fft2(bz, s=(3, 8), norm=norm), np.fft.fft2(z, s=(3, 8), norm=norm)),
             (brickwork.fft.irfftn(bz, norm=norm), np.fft.irfftn(z, norm=norm))]
    for b, want in pairs:
        assert b.dtype in (brickwork.complex128, brickwork.float64)
        np.testing.assert_allclose(b.numpy(), want, atol=1e-12)
    np.testing.assert_allclose(brickwork.fft.fftfreq(7, 0.5).numpy(), np.fft.fftfreq(7, 0.5),
                               rtol=1e-6)
    np.testing.assert_array_equal(brickwork.fft.fftshift(bx).numpy(), np.fft.fftshift(x))


def test_rfft_gradient_by_finite_differences():
    # rfft then irfft (real to real): the halving and doubling of the one-sided bins must meet.
    x = brickwork.tensor(_real((2, 7), "float64"), requires_grad=True)
    w = brickwork.tensor(_real((2, 9), "float64"))
    assert brickwork.autograd.gradcheck(
        lambda t: brickwork.fft.irfft(brickwork.fft.rfft(t, n=10, norm="ortho"), n=9) * w, (x,))
    assert brickwork.autograd.gradcheck(
        lambda t: brickwork.fft.hfft(brickwork.fft.ihfft(t), n=5) * w[:, :5], (x,))


def test_roundtrip_gradient_is_identity():
    x = brickwork.tensor(_real((3, 8), "float64"), requires_grad=True)
    y = brickwork.fft.irfftn(brickwork.fft.rfftn(x), s=(3, 8))
    g = brickwork.tensor(_real((3, 8), "float64"))
    y.backward(g)
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), g.numpy(), atol=1e-12)


def test_fft_namespace_exports():
    assert brickwork.fft.Tensor is brickwork.Tensor
    for name in ONE_D + N_D + ("fftfreq", "rfftfreq", "fftshift", "ifftshift"):
        assert name in brickwork.fft.__all__ and callable(getattr(brickwork.fft, name))
