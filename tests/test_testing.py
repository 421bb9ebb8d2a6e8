"""brickwork.testing.assert_close against torch.testing.assert_close: which inputs pass, and
the exception type and message of each failure (tensors, numbers, containers, tolerances); plus
expectations that need no torch."""
import numpy as np
import pytest

import brickwork
from helpers import requires_torch, torch

def _ac(lib):
    return lib.testing.assert_close


CASES = [
    lambda L: _ac(L)(L.tensor([1., 2., 3.]), L.tensor([1., 2.1, 3.])),
    lambda L: _ac(L)(L.tensor([1, 2, 3]), L.tensor([1, 3, 3])),
    lambda L: _ac(L)(1.0, 1.1),
    lambda L: _ac(L)(1, 2),
    lambda L: _ac(L)(L.ones(2), L.ones(3)),
    lambda L: _ac(L)(L.ones(2), L.ones(2, dtype=L.float64)),
    lambda L: _ac(L)(L.ones(2), L.ones(2, dtype=L.float64), check_dtype=False),
    lambda L: _ac(L)([L.ones(2), L.zeros(2)], [L.ones(2), L.ones(2)]),
    lambda L: _ac(L)({'a': L.ones(2)}, {'a': L.zeros(2)}),
    lambda L: _ac(L)(L.ones(2), L.ones(2), rtol=1e-3),
    lambda L: _ac(L)(L.tensor([float('nan')]), L.tensor([float('nan')])),
    lambda L: _ac(L)(L.tensor([float('nan')]), L.tensor([float('nan')]), equal_nan=True),
    lambda L: _ac(L)(L.ones(2), [1., 1.]),
    lambda L: _ac(L)(L.ones(2), 1.0),
    lambda L: _ac(L)(L.ones(2, 3), L.ones(2, 3) * 1.5, msg="custom"),
    lambda L: _ac(L)(L.tensor(1.0), L.tensor(1.5)),
    lambda L: _ac(L)(L.ones(2), L.ones(2).numpy()),
    lambda L: _ac(L)(L.ones(2).numpy(), L.ones(2).numpy()*2),
    lambda L: _ac(L)(L.tensor([True, False]), L.tensor([True, True])),
    lambda L: _ac(L)(L.tensor([1e-6]), L.tensor([0.])),
    lambda L: _ac(L)(L.tensor([[1., 2.], [3., 4.]]), L.tensor([[1., 2.], [3., 5.]])),
    lambda L: _ac(L)(L.tensor([1.+1j]), L.tensor([1.+2j])),
    lambda L: _ac(L)((1, 2), (1, 2, 3)),
    lambda L: _ac(L)(L.ones(2, 3).t(), L.ones(3, 2), check_stride=True),
    lambda L: _ac(L)(L.tensor([float('inf')]), L.tensor([float('inf')])),
    lambda L: _ac(L)(L.tensor([float('inf')]), L.tensor([float('-inf')])),
    lambda L: _ac(L)(L.ones(2), L.ones(2), atol=0),
    lambda L: _ac(L)("a", "a"),
    lambda L: _ac(L)(None, None),
    lambda L: _ac(L)(1, 1.0),
    lambda L: _ac(L)(True, False),
    lambda L: _ac(L)(None, 1),
    lambda L: _ac(L)(np.float32(1.0), 1.0),
    lambda L: _ac(L)(L.tensor([1, 2]), L.tensor([1., 2.]), check_dtype=False),
    lambda L: _ac(L)(L.tensor([2**60+1]), L.tensor([2**60])),
    lambda L: _ac(L)({'a': 1, 'b': 2}, {'a': 1, 'c': 2}),
    lambda L: _ac(L)([1, 2], (1, 2)),
    lambda L: _ac(L)(L.ones(2), L.ones(2) * 2, msg=lambda m: m + "\nFooter"),
    lambda L: _ac(L)([L.ones(2)], [L.ones(2)*2], msg="x"),
    lambda L: _ac(L)(L.ones(2, requires_grad=True), L.ones(2)),
    lambda L: _ac(L)(L.tensor([1., float('nan')]), L.tensor([1.5, float('nan')])),
    lambda L: _ac(L)(L.tensor([0., 1.]), L.tensor([0., 2.]), rtol=0, atol=0),
    lambda L: _ac(L)(L.ones(2, dtype=L.float16), L.ones(2, dtype=L.float16) * 1.01),
    lambda L: _ac(L)(L.ones(2, dtype=L.int32), L.ones(2, dtype=L.int64), check_dtype=False),
    lambda L: _ac(L)(L.ones(2), L.ones(2) * 2, rtol=1e-3, msg="ignored"),
    lambda L: _ac(L)([[L.ones(1)], {'k': [1.0, 2.0]}], [[L.ones(1)], {'k': [1.0, 2.5]}]),
    lambda L: _ac(L)(L.tensor([3., -0.0, 5.]), L.tensor([3., 0.0, 5.001])),
    lambda L: _ac(L)(L.arange(6.).reshape(2, 3),
                     L.arange(6.).reshape(2, 3) + L.tensor([0., 0., 1e-4])),
]


def _outcome(fn, lib):
    try:
        fn(lib)
    except Exception as e:  # the library's name and Tensor's module path aside
        text = str(e).replace(lib.__name__ + ".", "LIB.").replace("LIB.tensor.Tensor", "LIB.Tensor")
        return type(e).__name__, text
    return "passed", ""


@requires_torch
@pytest.mark.parametrize("i", range(len(CASES)))
def test_assert_close_as_torch(i):
    assert _outcome(CASES[i], brickwork) == _outcome(CASES[i], torch)


def test_assert_close_numpy_expectations():
    close = brickwork.testing.assert_close
    x = brickwork.tensor(np.linspace(0, 1, 7, dtype=np.float32))
    close(x, x + 5e-6)  # within float32's atol of 1e-5
    with pytest.raises(AssertionError, match=r"Mismatched elements: 2 / 7 \(28.6%\)"):
        close(x, x + brickwork.tensor([0, 0, 1e-3, 0, 0, 2e-3, 0]))
    with pytest.raises(AssertionError, match=r"at index \(5,\)"):
        close(x, x + brickwork.tensor([0, 0, 1e-3, 0, 0, 2e-3, 0]))
    close(brickwork.tensor([1, 2]), brickwork.tensor([1, 2]))
    with pytest.raises(AssertionError, match="are not equal!"):
        close(brickwork.tensor([1, 2]), brickwork.tensor([1, 3]))
    close({"w": [x, 3]}, {"w": [x.clone(), 3]})
