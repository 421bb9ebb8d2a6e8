"""Version counters, the saved-value check of backward, user Functions' ``save_for_backward``
and ``mark_dirty``, and anomaly mode.

Each case of the table runs on brickwork and on PyTorch (``check_behaviour``): versions,
values, gradients, and the exact error texts (tensor type names read ``brickwork.FloatTensor``)
must agree. The tests after the table need no PyTorch.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import brickwork
from helpers import CaseTable, check_behaviour, leaf, requires_torch

CASES = CaseTable()
case = CASES.case


# -- counting -------------------------------------------------------------------------------------
@case
def every_in_place_op_counts(L):
    x = L.zeros(3)
    v0 = x._version
    x.add_(1)
    x.zero_()
    x.fill_(2)
    x.copy_(L.ones(3))
    x += 1
    x[0] = 3
    x.clamp_(0, 1)
    return v0, x._version, (x + 1)._version


@case
def updates_under_no_grad_count(L):
    a = leaf(L, [1., 2.])
    with L.no_grad():
        a.add_(1)
        a[0] = 2
    return a._version, a


@case
def views_share_the_counter(L):
    x = L.zeros(2, 3)
    v = x[0]
    w = x.t()
    v.add_(1)
    w.mul_(2)
    return x._version, v._version, w._version, x.detach()._version, x.data._version


# -- the saved-value check ------------------------------------------------------------------------
@case
def sigmoid_result_changed(L):  # the example
    a = leaf(L, [1., 2.])
    y = a.sigmoid()
    y.mul_(2)
    y.sum().backward()


@case
def add_saves_nothing(L):  # the example: no error
    a = leaf(L, [1., 2.])
    b = a + 1
    b.mul_(2)
    b.sum().backward()
    return a.grad, b._version


@case
def zero_dim_shape_in_message(L):
    y = (leaf(L, 2.) * 1).sigmoid()
    y.mul_(2)
    y.backward()


@case
def saved_input_changed(L):
    y0 = leaf(L, [[1., 2.], [3., 4.]]) * 1
    z = y0 * y0
    y0.add_(1)
    z.sum().backward()


@case
def saved_leaf_changed_through_detach(L):
    w = leaf(L, [1., 2.])
    y = w * w
    w.detach().mul_(2)
    y.sum().backward()


@case
def saved_result_changed_through_detach(L):
    y = leaf(L, [1., 2.]).exp()
    y.detach().add_(1)
    y.sum().backward()


@case
def data_alias_is_not_checked(L):
    a = leaf(L, [1., 2.])
    y = a.exp()
    y.data.add_(1)
    y.sum().backward()
    return a.grad


@case
def exp_saves_its_result_not_its_input(L):
    a = leaf(L, [1., 2.])
    x = a * 1
    z = x.exp() * 3
    x.add_(1)
    z.sum().backward()
    return a.grad


@case
def sin_saves_its_input(L):
    x = leaf(L, [1., 2.]) * 1
    y = x.sin()
    x.add_(1)
    y.sum().backward()


@case
def double_tensor_in_message(L):
    y = leaf(L, [1., 2.], dtype=L.float64).sigmoid()
    y.mul_(2)
    y.sum().backward()


@case
def saved_result_shape_not_view_shape(L):
    y = L.zeros(2, 2, requires_grad=True).exp().view(4)
    y.add_(1)
    y.sum().backward()


@case
def in_place_sigmoid_twice(L):
    y = leaf(L, [1., 2.]).sigmoid()
    y.sigmoid_()
    y.mul_(2)
    y.sum().backward()


@case
def in_place_sigmoid_alone(L):
    a = leaf(L, [1., 2.])
    y = a * 1
    y.sigmoid_()
    y.sum().backward()
    return a.grad, y._version


@case
def in_place_mul_keeps_the_original_for_the_other_operand(L):
    a, c = leaf(L, [1., 2.]), leaf(L, [2., 3.])
    x = a.clone()
    x.mul_(c)
    x.sum().backward()
    return a.grad, c.grad


@case
def in_place_mul_by_itself(L):
    x = leaf(L, [1., 2.]).clone()
    x.mul_(x)
    x.sum().backward()


@case
def view_updated_by_itself(L):
    x = leaf(L, [1., 2., 3.]) * 1
    v = x[1:]
    v.mul_(v)
    x.sum().backward()


@case
def view_result_changed_through_base(L):
    x = leaf(L, [1., 2., 3.]) * 1
    v = x[1:]
    v.exp_()
    w = v * 2
    x.mul_(3)
    w.sum().backward()


@case
def setitem_after_saving(L):
    x = leaf(L, [1., 2., 3.]).clone()
    y = x * x
    x[0] = 5
    y.sum().backward()


@case
def advanced_setitem_after_saving(L):
    x = leaf(L, [1., 2., 3.]).clone()
    y = x[0:2] * x[1:3]
    x[[0]] = 5
    y.sum().backward()


@case
def tanh_result_changed(L):
    y = leaf(L, [1., 2.]).tanh()
    y.add_(1)
    y.sum().backward()


@case
def relu_result_changed(L):
    y = leaf(L, [1., -2.]).relu()
    y.add_(1)
    y.sum().backward()


@case
def softmax_result_changed(L):
    y = leaf(L, [1., 2.]).softmax(0)
    y.mul_(2)
    y.sum().backward()


@case
def pow_saves_its_input_only(L):
    a = leaf(L, [1., -2.])
    y = (a * 1).pow(2)
    y.add_(1)
    y.sum().backward()
    return a.grad


@case
def matmul_input_changed(L):
    x = leaf(L, [1., 2.]).clone()
    y = x @ x
    x.add_(1)
    y.backward()


@case
def matmul_weight_updated_under_no_grad(L):  # mm saves only what the other gradient needs
    w = leaf(L, [[1., 2.], [3., 4.]])
    y = L.tensor([[1., 1.]]) @ w
    with L.no_grad():
        w.add_(1)
    y.sum().backward()
    return w.grad, w._version


@case
def second_backward_after_update(L):
    y = leaf(L, [1., 2.]).exp()
    s = y.sum()
    s.backward(retain_graph=True)
    y.detach().zero_()
    s.backward()


@case
def unsaved_value_changed(L):
    a = leaf(L, [1., 2.])
    x = a * 2
    y = x + 3
    x.mul_(10)
    y.sum().backward()
    return a.grad


# -- user Functions: save_for_backward and mark_dirty ---------------------------------------------
def _functions(L):
    class Double(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            ctx.saved_tensors
            return g * 2

    class AddOne_(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    class DirtyNotReturned(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g

    return Double, AddOne_, DirtyNotReturned


@case
def user_saved_output_changed(L):
    y = _functions(L)[0].apply(leaf(L, [1., 2.]))
    y.mul_(2)
    y.sum().backward()


@case
def user_saved_input_changed(L):
    x = leaf(L, [1., 2.]) * 1
    y = _functions(L)[0].apply(x)
    x.mul_(2)
    y.sum().backward()


@case
def user_saved_unchanged(L):
    a = leaf(L, [1., 2.])
    _functions(L)[0].apply(a * 1).sum().backward()
    return a.grad


@case
def mark_dirty_on_a_non_leaf(L):
    a = leaf(L, [1., 2.])
    x = a * 3
    v0 = x._version
    y = _functions(L)[1].apply(x)
    (y * y).sum().backward()
    return y is x, v0, x._version, type(x.grad_fn).__name__, a.grad, x


@case
def mark_dirty_on_a_leaf(L):
    _functions(L)[1].apply(leaf(L, [1., 2.]))


@case
def mark_dirty_on_a_view(L):
    a = leaf(L, [1., 2., 3.])
    x = a * 1
    v = x[1:]
    _functions(L)[1].apply(v)
    (x * x).sum().backward()
    return x, a.grad, type(x.grad_fn).__name__, type(v.grad_fn).__name__, x._version


@case
def mark_dirty_not_returned(L):
    _functions(L)[2].apply(leaf(L, [1., 2.]) * 1)


@case
def mark_dirty_without_autograd(L):
    x = L.tensor([1., 2.])
    y = _functions(L)[1].apply(x)
    return y, x._version, y is x


@requires_torch
@pytest.mark.parametrize("case_name", list(CASES))
def test_matches_torch(case_name):
    check_behaviour(CASES[case_name])


# -- anomaly mode ---------------------------------------------------------------------------------
def _anomaly_run(lib, fn, **kwargs):
    """``fn()`` under ``detect_anomaly``: (error type and text, warning texts)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = None
        try:
            with lib.autograd.detect_anomaly(**kwargs):
                fn()
        except Exception as exc:  # noqa: BLE001 - compared below
            error = (type(exc).__name__, str(exc).replace("torch.FloatTensor",
                                                          "brickwork.FloatTensor"))
    texts = [str(w.message) for w in caught if w.category is UserWarning]
    return error, texts


def _sigmoid_mul(lib):
    a = lib.tensor([1., 2.], requires_grad=True)
    y = a.sigmoid()
    y.mul_(2)  # noqa - the line the warning must show
    y.sum().backward()


def _sqrt_of_negative(lib):
    x = lib.tensor([-1., 1.], requires_grad=True)
    x.sqrt().sum().backward()


@requires_torch
@pytest.mark.parametrize("fn,kwargs", [(_sigmoid_mul, {}), (_sqrt_of_negative, {}),
                                       (_sqrt_of_negative, {"check_nan": False})],
                         ids=["version", "nan", "nan_unchecked"])
def test_anomaly_mode_matches_torch(fn, kwargs):
    import torch

    t_err, t_warn = _anomaly_run(torch, lambda: fn(torch), **kwargs)
    b_err, b_warn = _anomaly_run(brickwork, lambda: fn(brickwork), **kwargs)
    assert b_err == t_err
    assert b_warn[0] == t_warn[0]  # "Anomaly Detection has been enabled. ..."
    assert len(b_warn) == len(t_warn)
    if t_err is not None:
        # "Error detected in XBackward0. Traceback of forward call that caused the error:" and
        # the forward's frames, ending at the line of the op.
        assert b_warn[1].splitlines()[0] == t_warn[1].splitlines()[0]
        assert "in " + fn.__name__ in b_warn[1] and "x.sqrt()" in b_warn[1] or \
            "a.sigmoid()" in b_warn[1]


@requires_torch
def test_anomaly_switches_match_torch():
    import torch

    for lib in (torch, brickwork):
        states = [lib.is_anomaly_enabled()]
        with lib.autograd.set_detect_anomaly(True, check_nan=False):
            states += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        states += [lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()]
        lib.autograd.set_detect_anomaly(True)
        states.append(lib.is_anomaly_enabled())
        lib.autograd.set_detect_anomaly(False)
        states.append(lib.is_anomaly_enabled())
        if lib is torch:
            want = states
    assert states == want


# -- NumPy-only expectations ----------------------------------------------------------------------
def test_version_error_text():
    a = brickwork.tensor([1., 2.], requires_grad=True)
    y = a.sigmoid()
    y.mul_(2)
    with pytest.raises(RuntimeError) as err:
        y.sum().backward()
    assert str(err.value) == (
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [brickwork.FloatTensor [2]], which is output 0 of Sigmoid, is at version 1; "
        "expected version 0 instead. Hint: enable anomaly detection to find the operation that "
        "failed to compute its gradient, with torch.autograd.set_detect_anomaly(True, "
        "check_nan=False).")


def test_versions_count_every_alias():
    x = brickwork.zeros(2, 2)
    v, d, data = x[0], x.detach(), x.data
    v.add_(1)
    d.mul_(2)
    data.sub_(1)
    x[1, 1] = 4
    assert (x._version, v._version, d._version, data._version) == (3, 3, 3, 1)
    np.testing.assert_array_equal(x.numpy(), [[1., 1.], [-1., 4.]])


def test_ops_saving_nothing_never_fail():
    a = brickwork.tensor([1., 2.], requires_grad=True)
    b = a + 1
    c = b.view(2, 1).t()  # a view: it sees the update too
    b.mul_(2)
    (b.sum() + c.sum()).backward()
    assert a.grad.tolist() == [4., 4.]


def test_anomaly_mode_names_the_forward_line():
    a = brickwork.tensor([1., 2.], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with brickwork.autograd.detect_anomaly():
            y = a.sigmoid()  # the line named
            y.mul_(2)
            with pytest.raises(RuntimeError, match="Good luck!"):
                y.sum().backward()
    text = str(caught[-1].message)
    assert text.startswith("Error detected in SigmoidBackward0. Traceback of forward call that "
                           "caused the error:\n")
    assert "y = a.sigmoid()  # the line named" in text and "brickwork/" not in text
    assert not brickwork.is_anomaly_enabled()
    assert "__init__" not in brickwork.autograd.Node.__dict__  # nothing recorded when off


def test_anomaly_nan_check():
    x = brickwork.tensor([-1., 1.], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with brickwork.autograd.set_detect_anomaly(True):
            with pytest.raises(RuntimeError, match=r"^Function 'SqrtBackward0' returned nan "
                                                   r"values in its 0th output\.$"):
                x.sqrt().sum().backward()
        with brickwork.autograd.set_detect_anomaly(True, check_nan=False):
            x.sqrt().sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_errors_in_a_user_backward_are_named():
    class Bad(brickwork.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    x = brickwork.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with brickwork.autograd.detect_anomaly():
            with pytest.raises(ValueError, match="boom"):
                Bad.apply(x).sum().backward()
    assert str(caught[-1].message).startswith("Error detected in BadBackward. Traceback")
