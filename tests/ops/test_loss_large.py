"""cross_entropy on logits large enough to be normalized block by block of rows on threads (a
language model's decoder output), against PyTorch and against a NumPy formula."""
import numpy as np
import pytest
from helpers import check_op, rand_array

import brickwork


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_large_logits(reduction, dtype):
    x = rand_array((301, 4000), dtype, seed=1) * 4
    t = np.random.default_rng(2).integers(0, 4000, 301)
    check_op(lambda L, a, b: L.nn.functional.cross_entropy(a, b, reduction=reduction), [x, t],
             second_order=False)


def test_cross_entropy_large_logits_numpy():
    x = rand_array((301, 4000), "float64", seed=3) * 4
    t = np.random.default_rng(4).integers(0, 4000, 301)
    xb = brickwork.tensor(x, requires_grad=True)
    loss = brickwork.nn.functional.cross_entropy(xb, brickwork.tensor(t))
    loss.backward()
    m = x.max(1, keepdims=True)
    logp = x - m - np.log(np.exp(x - m).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -logp[np.arange(301), t].mean(), rtol=1e-12)
    want = np.exp(logp)
    want[np.arange(301), t] -= 1
    np.testing.assert_allclose(xb.grad.numpy(), want / 301, rtol=1e-10, atol=1e-15)
