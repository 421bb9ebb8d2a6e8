"""The simulated CUDA backend refuses what CuPy refuses, so device tests on it can fail."""
from __future__ import annotations

import numpy as np
import pytest

import simcuda


@pytest.fixture
def cp():
    with simcuda.installed() as module:
        yield module


def test_no_implicit_host_conversion_or_mixing(cp):
    a = cp.arange(3.0)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Unsupported type"):
        a + np.ones(3)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.ones(3) * a
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.maximum(a, np.zeros(3))
    assert isinstance(a + np.float32(2), cp.ndarray) and isinstance(a * 2.0, cp.ndarray)
    np.testing.assert_array_equal(cp.asnumpy(a), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(a.get(), [0.0, 1.0, 2.0])


def test_numpy_functions_dispatch_and_reductions_stay_on_the_device(cp):
    a = cp.arange(6.0).reshape(2, 3)
    assert isinstance(np.exp(a), cp.ndarray) and isinstance(np.sum(a, axis=0), cp.ndarray)
    total = a.sum()
    assert isinstance(total, cp.ndarray) and total.ndim == 0 and float(total) == 15.0
    assert isinstance(a[0, 1], cp.ndarray)
    with pytest.raises(TypeError):
        np.nanpercentile(a, 50)  # CuPy has no nanpercentile


def test_only_cupys_names_exist(cp):
    assert hasattr(cp, "take_along_axis") and hasattr(cp.add, "at")
    for name in ("nanpercentile", "errstate", "matrix"):
        with pytest.raises(AttributeError):
            getattr(cp, name)
    with pytest.raises(AttributeError):
        cp.arange(3).setflags  # noqa: B018


def test_arrays_must_be_on_the_current_device(cp):
    with cp.cuda.Device(1):
        b = cp.ones(3)
    assert b.device.id == 1
    with pytest.raises(ValueError, match=r"resides \(1\) is different from the current device "
                                         r"\(0\)"):
        b + 1
    assert b.reshape(3, 1).shape == (3, 1) and b[1:].shape == (2,)  # views run no kernel
    with cp.cuda.Device(1):
        assert float((b + 1).sum()) == 6.0
    c = b.copy()  # a copy lands on the current device
    assert c.device.id == 0 and cp.asarray(b) is b


def test_memory_pool_counts_live_arrays(cp):
    pool = cp.get_default_memory_pool()
    before = pool.used_bytes()
    x = cp.zeros(1 << 16, dtype=np.float32)
    view = x[10:]
    assert pool.used_bytes() - before == 1 << 18
    del x
    assert pool.used_bytes() - before == 1 << 18  # the view keeps the buffer
    del view
    assert pool.used_bytes() == before


def test_elementwise_kernel_evaluates_simple_cuda_c(cp):
    k = cp.ElementwiseKernel("T gy, T x", "T gx",
                             "T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))", "k")
    x = np.linspace(-3, 3, 7).astype(np.float32)
    out = k(cp.ones(7, dtype=np.float32), cp.asarray(x))
    s = 1 / (1 + np.exp(-x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.get(), s * (1 + x * (1 - s)), rtol=1e-6)


@pytest.mark.parametrize("body", ["y = x > 0 ? x : 0", "y = (x > 0) && (x < 1)",
                                  "if (x > 0) y = x", "y = x * (1 / 2)", "y = !x"])
def test_elementwise_kernel_refuses_what_it_cannot_evaluate_faithfully(cp, body):
    with pytest.raises(NotImplementedError):
        cp.ElementwiseKernel("T x", "T y", body, "k")


def test_flags_are_cupys(cp):
    a = cp.zeros((2, 3))
    assert a.flags.c_contiguous and not a.T.flags.c_contiguous
    with pytest.raises(AttributeError):
        a.flags.writeable  # noqa: B018 - CuPy arrays have no read-only flag
