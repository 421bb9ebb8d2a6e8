"""``_util.gather_grad`` (the gradient of ``take`` along an axis, behind index_select, pads
and interpolation taps) against ``np.add.at``, the element-by-element definition, on each of
its paths."""
import numpy as np
import pytest

from brickwork.ops._util import gather_grad

CASES = {
    # each input read twice in a row (a 2x nearest upsampling): strided slices added
    "repeat2": (6, np.arange(12) // 2),
    "repeat3": (4, np.arange(12) // 3),
    # a reflection pad: every input read, a few twice
    "pad": (5, np.array([1, 0, 1, 2, 3, 4, 3])),
    # sorted with runs of uneven length (a bilinear tap)
    "sorted": (5, np.array([0, 0, 0, 1, 1, 2, 2, 3, 4])),
    # unsorted, some inputs never read
    "unsorted": (7, np.array([5, 1, 5, 0, 2, 2])),
    # negative indices count from the end
    "negative": (4, np.array([-1, 0, -1, 1])),
}


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_gather_grad_equals_add_at(case, axis):
    n, idx = CASES[case]
    rng = np.random.default_rng(0)
    shape = [3, 4, 5]
    shape[axis] = n
    g_shape = list(shape)
    g_shape[axis] = idx.size
    g = rng.standard_normal(g_shape).astype(np.float32)
    want = np.zeros(shape, np.float32)
    np.add.at(want, (slice(None),) * axis + (idx,), g)
    got = gather_grad(tuple(shape), axis, idx, g)
    assert got.dtype == np.float32 and got.shape == tuple(shape)
    # add.at adds in index order, as every path does: the same bits
    np.testing.assert_array_equal(got, want)
