"""``Variable._execution_engine.queue_callback``: functions run when backward finishes."""
import pytest

import brickwork as bw
from brickwork.autograd import Variable


def test_callback_runs_after_every_gradient_is_accumulated():
    x = bw.ones(3, requires_grad=True)
    y = bw.ones(2, requires_grad=True)
    seen = []

    def hook(g):
        Variable._execution_engine.queue_callback(
            lambda: seen.append((x.grad is not None, y.grad is not None)))

    x.register_hook(hook)
    ((x * 2).sum() + (y * 3).sum()).backward()
    assert seen == [(True, True)]
    (x * 2).sum().backward()  # a fresh pass: the list starts empty again
    assert seen == [(True, True), (True, True)]


def test_callback_may_queue_another():
    x = bw.ones(2, requires_grad=True)
    order = []

    def second():
        order.append(2)

    def first():
        order.append(1)
        Variable._execution_engine.queue_callback(second)

    x.register_hook(lambda g: Variable._execution_engine.queue_callback(first))
    x.sum().backward()
    assert order == [1, 2]


def test_queue_outside_backward_is_refused():
    with pytest.raises(RuntimeError, match="Final callbacks can only be installed during "
                                           "backward pass."):
        Variable._execution_engine.queue_callback(lambda: None)
