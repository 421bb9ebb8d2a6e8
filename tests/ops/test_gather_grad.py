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


@pytest.mark.parametrize("case", ["rows", "rows3d", "negative", "strided", "chunks", "float64"])
def test_add_at_rows_equals_add_at(case, monkeypatch):
    # ``add_at`` with a 1-d row key runs NumPy's flat 1-d ``at`` in chunks: the same additions
    # in the same order as ``np.add.at`` on the rows, so the same bits; negative keys take the
    # general path
    from brickwork.ops import _util

    rng = np.random.default_rng(1)
    shape, dtype = (9, 4), np.float32
    key = rng.integers(0, 9, 200)
    if case == "rows3d":
        shape = (9, 3, 2)
    elif case == "negative":
        key = key - 9
    elif case == "chunks":
        monkeypatch.setattr(_util, "ROWS_AT_CHUNK", 8)
    elif case == "float64":
        dtype = np.float64
    values = (rng.standard_normal((200,) + shape[1:]) * 1e3).astype(dtype)
    if case == "strided":
        values = np.asfortranarray(values)
    assert _util._rows_add_at(np.ones(shape, dtype), key, values) == (case != "negative")
    out, expected = np.ones(shape, dtype), np.ones(shape, dtype)
    _util.add_at(out, key, values)
    np.add.at(expected, key, values)
    np.testing.assert_array_equal(out, expected)
