"""SGD's chunked, threaded updates equal the one-line NumPy ones."""
import numpy as np
import pytest

from brickwork.optim._inplace import CHUNK, momentum_step_, sub_scaled_


@pytest.mark.parametrize("size", [2 * CHUNK + 1, 5 * CHUNK + 7])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sub_scaled_matches_numpy(size, dtype):
    rng = np.random.default_rng(0)
    arr = rng.standard_normal(size).astype(dtype).reshape(-1, 1)
    g = rng.standard_normal(size).astype(dtype).reshape(-1, 1)
    want = arr - np.multiply(g, 0.01, dtype=arr.dtype)
    view = arr[:10]  # an alias sees the update: it is made in the parameter's own buffer
    sub_scaled_(arr, g, 0.01)
    np.testing.assert_array_equal(arr, want)
    np.testing.assert_array_equal(view, want[:10])


def test_sub_scaled_strided_and_mixed_dtype_fall_back():
    rng = np.random.default_rng(1)
    arr = rng.standard_normal((4 * CHUNK, 2)).astype("float32")
    g = rng.standard_normal((2, 4 * CHUNK)).astype("float64").T  # not C-contiguous
    want = arr - np.multiply(g, 0.5, dtype=arr.dtype)
    sub_scaled_(arr, g, 0.5)
    np.testing.assert_array_equal(arr, want)


@pytest.mark.parametrize("size", [2 * CHUNK + 1, 5 * CHUNK + 7, 100])
@pytest.mark.parametrize("dampening, nesterov", [(0.0, False), (0.3, False), (0.0, True)])
def test_momentum_step_matches_numpy(size, dampening, nesterov):
    rng = np.random.default_rng(2)
    arr, buf, g = (rng.standard_normal(size).astype("float32") for _ in range(3))
    want_buf = buf * np.float32(0.9) + (g if dampening == 0 else (1 - dampening) * g)
    step = g + np.float32(0.9) * want_buf if nesterov else want_buf
    want = arr - np.multiply(step, 0.1, dtype=arr.dtype)
    momentum_step_(arr, buf, g, 0.1, 0.9, dampening, nesterov)
    np.testing.assert_allclose(buf, want_buf, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(arr, want, rtol=1e-6, atol=1e-6)
