"""torch.special's Bessel, Airy and orthogonal-polynomial functions against PyTorch (values
over sweeps with edges, dtypes, errors, no gradient) and against known values and identities
that need no torch."""
import math

import numpy as np
import pytest

import brickwork
from helpers import requires_torch

B = brickwork.special

UNARY = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
         "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
         "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai",
         "spherical_bessel_j0"]
POLY = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
        "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
        "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
        "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
        "laguerre_polynomial_l", "legendre_polynomial_p"]

_rng = np.random.default_rng(0)
XS = np.concatenate([_rng.uniform(-30, 30, 400), _rng.uniform(-3, 3, 400),
                     [0.0, -0.0, 1e-6, 5.0, -5.0, 2.0, 2.09, -2.09, 8.3203353, 103.0, 104.0,
                      np.inf, -np.inf, np.nan, 1e-300, 700.0, -700.0]])
PX = np.concatenate([_rng.uniform(-1.5, 1.5, 60), [1.0, -1.0, 0.0, 0.5, 0.999]])
PN = np.array([-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 20, 50, np.nan, 1e30])


@requires_torch
@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_matches_torch(name, dtype):
    import torch

    t = getattr(torch.special, name)(torch.from_numpy(XS.astype(dtype))).numpy()
    b = getattr(B, name)(brickwork.tensor(XS.astype(dtype)))
    assert b.dtype.name == dtype and not b.requires_grad
    # float64: Cephes' formulas to rounding; float32: PyTorch computes in float32, brickwork
    # in float64, so near a zero of an oscillating function they differ by float32 rounding.
    rtol, atol = (1e-10, 1e-300) if dtype == "float64" else (1e-5, 1e-5)
    np.testing.assert_allclose(b.numpy(), t, rtol=rtol, atol=atol, equal_nan=True)


@requires_torch
@pytest.mark.parametrize("name", POLY)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_polynomials_match_torch(name, dtype):
    import torch

    # (float32 rounds differently from n = 50 on, where values reach float32's overflow.)
    X, N = np.meshgrid(PX, PN if dtype == "float64" else PN[PN != 50])
    t = getattr(torch.special, name)(torch.from_numpy(X.astype(dtype)),
                                     torch.from_numpy(N.astype(dtype))).numpy()
    b = getattr(B, name)(brickwork.tensor(X.astype(dtype)), brickwork.tensor(N.astype(dtype)))
    assert b.dtype.name == dtype and not b.requires_grad
    tol = 1e-8 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(b.numpy(), t, rtol=tol, atol=tol, equal_nan=True)


@requires_torch
@pytest.mark.parametrize("x,n", [("int", 3), ("f64", "int"), (0.5, "int"), ("f32", 2.0),
                                 ("bool", 2), (True, "f64")])
def test_polynomial_argument_kinds_and_dtypes(x, n):
    import torch

    def make(lib, v):
        if isinstance(v, str):
            data = {"int": [1, 2], "f64": [0.25, 3.0], "f32": [0.25, 3.0], "bool": [True, False]}
            dt = {"int": lib.int64, "f64": lib.float64, "f32": lib.float32, "bool": lib.bool}
            return lib.tensor(data[v], dtype=dt[v])
        return v

    t = torch.special.legendre_polynomial_p(make(torch, x), make(torch, n))
    b = B.legendre_polynomial_p(make(brickwork, x), make(brickwork, n))
    assert b.dtype.name == str(t.dtype)[6:]
    np.testing.assert_allclose(b.numpy(), t.numpy())


@requires_torch
def test_errors_like_torch():
    import torch

    for lib in (torch, brickwork):
        with pytest.raises(NotImplementedError, match="bessel_j0_cpu\" not implemented for 'Half'"):
            lib.special.bessel_j0(lib.ones(2, dtype=lib.float16))
        with pytest.raises(NotImplementedError, match="not implemented for 'BFloat16'"):
            lib.special.chebyshev_polynomial_t(lib.ones(2, dtype=lib.bfloat16), 2)
        with pytest.raises(TypeError, match="received an invalid combination of arguments"):
            lib.special.chebyshev_polynomial_t(0.5, 3)


def test_no_gradient_as_in_torch():
    x = brickwork.tensor([0.5, 1.5], requires_grad=True)
    assert not B.bessel_j0(x).requires_grad and not B.hermite_polynomial_h(x, 3).requires_grad


# -- without torch: known values and identities ---------------------------------------------------
KNOWN = {  # from Abramowitz & Stegun tables
    "bessel_j0": (1.0, 0.7651976865579666), "bessel_j1": (1.0, 0.4400505857449335),
    "bessel_y0": (1.0, 0.08825696421567697), "bessel_y1": (1.0, -0.7812128213002887),
    "modified_bessel_i0": (1.0, 1.2660658777520082), "modified_bessel_i1": (1.0, 0.5651591039924851),
    "modified_bessel_k0": (1.0, 0.42102443824070834), "modified_bessel_k1": (1.0, 0.6019072301972346),
    "scaled_modified_bessel_k0": (3.0, 0.03473950438627925 * math.exp(3.0)),
    "scaled_modified_bessel_k1": (3.0, 0.04015643112819418 * math.exp(3.0)),
    "airy_ai": (0.0, 0.3550280538878172), "spherical_bessel_j0": (2.0, math.sin(2.0) / 2.0),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_values(name):
    x, want = KNOWN[name]
    got = getattr(B, name)(brickwork.tensor([x], dtype=brickwork.float64)).item()
    assert got == pytest.approx(want, rel=1e-13)


def test_airy_at_both_tails():
    # Ai(-10) and Ai(5) (DLMF tables): the oscillating and decaying asymptotic forms.
    got = B.airy_ai(brickwork.tensor([-10.0, 5.0], dtype=brickwork.float64)).tolist()
    assert got == pytest.approx([0.04024123848644319, 1.0834442813607441e-04], rel=1e-12)


def test_polynomial_identities():
    x = np.linspace(-0.99, 0.99, 41)
    theta = np.arccos(x)
    X = brickwork.tensor(x)
    for n in (0, 1, 2, 5, 9, 12):
        np.testing.assert_allclose(B.chebyshev_polynomial_t(X, n).numpy(), np.cos(n * theta),
                                   atol=1e-12)
        np.testing.assert_allclose(B.chebyshev_polynomial_u(X, n).numpy(),
                                   np.sin((n + 1) * theta) / np.sin(theta), atol=1e-10)
        np.testing.assert_allclose(B.shifted_chebyshev_polynomial_t(
            brickwork.tensor((x + 1) / 2), n).numpy(), np.cos(n * theta), atol=1e-12)
    np.testing.assert_allclose(B.legendre_polynomial_p(X, 2).numpy(), (3 * x ** 2 - 1) / 2,
                               atol=1e-14)
    np.testing.assert_allclose(B.hermite_polynomial_h(X, 3).numpy(), 8 * x ** 3 - 12 * x,
                               atol=1e-13)
    np.testing.assert_allclose(B.hermite_polynomial_he(X, 3).numpy(), x ** 3 - 3 * x, atol=1e-13)
    np.testing.assert_allclose(B.laguerre_polynomial_l(X, 2).numpy(), (x * x - 4 * x + 2) / 2,
                               atol=1e-14)
    assert B.chebyshev_polynomial_t(X, -1).abs().sum().item() == 0  # n < 0 gives 0


def test_simulated_gpu_keeps_the_device():
    from helpers import brickwork_device

    host = brickwork.tensor([0.5, 2.0])
    with brickwork_device("simcuda") as dev:
        x = host.to(dev)
        for fn in (B.bessel_j0, B.airy_ai, lambda t: B.legendre_polynomial_p(t, 3)):
            out = fn(x)
            assert out.device == x.device
            np.testing.assert_allclose(out.cpu().numpy(), fn(host).numpy())
