"""no_grad, enable_grad, set_grad_enabled, inference_mode: context managers and decorators."""
from __future__ import annotations

import pytest

import brickwork


def _x():
    return brickwork.ones(2, requires_grad=True)


def test_no_grad_context():
    x = _x()
    with brickwork.no_grad():
        y = x * 2
        assert not brickwork.is_grad_enabled()
    assert brickwork.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_decorator_with_and_without_parentheses():
    @brickwork.no_grad()
    def f(x):
        return x * 2

    @brickwork.no_grad
    def g(x):
        return x * 2

    assert not f(_x()).requires_grad and not g(_x()).requires_grad
    assert f.__name__ == "f" and g.__name__ == "g"
    assert brickwork.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = _x()
    with brickwork.no_grad():
        with brickwork.enable_grad():
            y = x * 2
        z = x * 2

    @brickwork.enable_grad()
    def h(x):
        return x * 2

    with brickwork.no_grad():
        w = h(x)
    assert y.requires_grad and not z.requires_grad and w.requires_grad


@pytest.mark.parametrize("mode", [True, False])
def test_set_grad_enabled_context_function_and_decorator(mode):
    x = _x()
    with brickwork.set_grad_enabled(mode):
        assert (x * 2).requires_grad is mode
    assert brickwork.is_grad_enabled()

    @brickwork.set_grad_enabled(mode)
    def f(x):
        return x * 2

    assert brickwork.is_grad_enabled()
    assert f(x).requires_grad is mode
    brickwork.set_grad_enabled(False)  # as a plain call it sets the mode until changed
    try:
        assert not brickwork.is_grad_enabled()
    finally:
        brickwork.set_grad_enabled(True)


def test_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with brickwork.no_grad():
            raise ValueError("boom")
    assert brickwork.is_grad_enabled()


def test_inference_mode():
    x = _x()
    with brickwork.inference_mode():
        assert not (x * 2).requires_grad
    with brickwork.inference_mode(False):
        assert (x * 2).requires_grad

    @brickwork.inference_mode()
    def f(x):
        return x * 2

    assert not f(x).requires_grad


def test_autograd_namespace_exports_the_modes():
    assert brickwork.autograd.no_grad is brickwork.no_grad
    assert brickwork.autograd.enable_grad is brickwork.enable_grad
    assert brickwork.autograd.set_grad_enabled is brickwork.set_grad_enabled


def test_inplace_under_no_grad_on_leaf_is_allowed():
    w = _x()
    with brickwork.no_grad():
        w -= 0.5  # the optimiser update pattern
        w.mul_(2)
    assert w.is_leaf and w.requires_grad and w.tolist() == [1.0, 1.0]
