"""``_blas.gemm_into``: BLAS GEMMs that add into (row-strided) outputs, against NumPy."""
import numpy as np
import pytest

from brickwork._blas import gemm_into


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
def test_write_then_accumulate_into_a_column_window(dtype, trans_a):
    rng = np.random.default_rng(0)
    wide_a = rng.standard_normal((7, 20)).astype(dtype)   # a is a window of a wider array
    a = wide_a[:, 3:8] if not trans_a else wide_a[:5, 2:9]   # (7, 5) or, transposed, (7, 5)
    wide_b = rng.standard_normal((5, 30)).astype(dtype)
    b = wide_b[:, 4:15]
    out_wide = rng.standard_normal((7, 40)).astype(dtype)
    keep = out_wide.copy()
    out = out_wide[:, 10:21]
    op_a = a.T if trans_a else a
    gemm_into(a, b, out, accumulate=False, trans_a=trans_a)
    np.testing.assert_allclose(out, op_a @ b, rtol=1e-5 if dtype == np.float32 else 1e-12)
    gemm_into(a, b, out, accumulate=True, trans_a=trans_a)
    np.testing.assert_allclose(out, 2 * (op_a @ b), rtol=1e-5 if dtype == np.float32 else 1e-12)
    outside = np.ones(out_wide.shape, bool)
    outside[:, 10:21] = False
    np.testing.assert_array_equal(out_wide[outside], keep[outside])  # nothing else written


def test_types_blas_cannot_take_fall_back_to_numpy():
    a = np.arange(6, dtype=np.float16).reshape(2, 3)
    b = np.ones((3, 4), np.float16)
    out = np.full((2, 4), 1, np.float16)
    gemm_into(a, b, out, accumulate=True)
    np.testing.assert_array_equal(out, a @ b + 1)
    ints = np.arange(6).reshape(3, 2)
    out_i = np.zeros((2, 2), ints.dtype)
    gemm_into(ints, ints, out_i, accumulate=False, trans_a=True)
    np.testing.assert_array_equal(out_i, ints.T @ ints)
