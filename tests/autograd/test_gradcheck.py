"""gradcheck: finite differences in float64, the oracle that needs no PyTorch."""
from __future__ import annotations

import pytest

import brickwork
from brickwork.autograd import Function, gradcheck
from brickwork.autograd.gradcheck import GradcheckError


def _inputs(*shapes, seed=0):
    brickwork.manual_seed(seed)
    return tuple(brickwork.randn(*s, dtype=brickwork.float64, requires_grad=True)
                 for s in shapes)


@pytest.mark.parametrize("fn,shapes", [
    (lambda a, b: a * b + a, [(3,), (3,)]),
    (lambda a, b: (a * b).exp() / (b * b + 1), [(2, 3), (3,)]),
    (lambda a: a.tanh() * a.sin(), [(4,)]),
    (lambda a: a.sigmoid(), [()]),
    (lambda a, b: (a - b, a * b), [(2,), (2,)]),
])
def test_gradcheck_passes_for_correct_gradients(fn, shapes):
    assert gradcheck(fn, _inputs(*shapes))


class WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 * x


def test_gradcheck_catches_a_wrong_backward():
    (x,) = _inputs((3,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(WrongSquare.apply, (x,))
    assert gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradcheck_accepts_a_single_tensor_and_restores_inputs():
    (x,) = _inputs((2, 2))
    before = x.detach().numpy().copy()
    assert gradcheck(lambda a: a * a, x)
    assert (x.detach().numpy() == before).all()
