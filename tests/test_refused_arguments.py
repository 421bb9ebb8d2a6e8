"""Arguments brickwork cannot honour are refused by name, never accepted and ignored."""
import pytest

import brickwork
from brickwork.nn import functional as F


@pytest.mark.parametrize("call, name", [
    (lambda x: F.mse_loss(x, x, weight=x), "mse_loss"),
    (lambda x: F.l1_loss(x, x, weight=x), "l1_loss"),
    (lambda x: F.huber_loss(x, x, weight=x), "huber_loss"),
    (lambda x: brickwork.gather(x, 0, brickwork.tensor([0]), sparse_grad=True), "sparse_grad"),
    (lambda x: brickwork.nn.Linear(3, 3).register_forward_hook(lambda *a: None,
                                                              always_call=True), "always_call"),
])
def test_unsupported_values_raise_naming_the_argument(call, name):
    with pytest.raises(NotImplementedError, match=name):
        call(brickwork.ones(3))


def test_recorded_arrays_refuse_another_element_order():
    from brickwork.autograd._lifted import Lifted

    x = Lifted(brickwork.ones(2, 3))
    assert x.reshape(3, 2).shape == (3, 2)
    with pytest.raises(NotImplementedError, match="order='F'"):
        x.reshape(3, 2, order="F")


def test_recorded_var_honours_dtype():
    from brickwork.autograd._lifted import Lifted

    x = Lifted(brickwork.tensor([1.0, 2.0, 4.0]))
    assert x.var(dtype="float64").dtype.name == "float64"
    assert abs(x.std().item() - float(brickwork.tensor([1.0, 2.0, 4.0]).std(correction=0))) < 1e-6
