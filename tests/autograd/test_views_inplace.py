"""Views alias their base; in-place updates are seen through every alias and recorded for
autograd as PyTorch records them (CopySlices, regenerated view histories, its refusals).

Each case of the table runs on brickwork and on PyTorch (``check_behaviour``): values,
``_version``, ``_base is``, ``_is_view()``, grad_fn names, gradients, and error types and texts
must agree. The tests after the table need no PyTorch: NumPy expectations of the same rules.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from helpers import CaseTable, check_behaviour, leaf, requires_torch

CASES = CaseTable()
case = CASES.case


def name(node) -> str | None:
    return None if node is None else type(node).__name__


# -- aliasing -------------------------------------------------------------------------------------
@case
def tracked_add_is_seen_through_a_slice(L):
    a = leaf(L, [1., 2.])
    b = a * 1
    v = b[:]
    b.add_(1)
    return v, b._version, v._version, v._base is b, v._is_view(), b._is_view(), name(v.grad_fn)


@case
def update_of_a_view_is_seen_by_the_base(L):
    b = leaf(L, [[1., 2.], [3., 4.]]) * 1
    b[0].mul_(10)
    return b, b._version, name(b.grad_fn)


@case
def views_alias_their_base_without_grad(L):
    x = L.zeros(2, 3)
    views = [x.view(6), x.reshape(3, 2), x.flatten(), x[0], x[:, 1], x.select(1, 2),
             x.narrow(1, 0, 2), x.transpose(0, 1), x.permute(1, 0), x.t(), x.T, x.mT,
             x.unsqueeze(0), x.unsqueeze(0).squeeze(0), x.expand(2, 2, 3), x.view_as(x),
             x.diagonal(), x.as_strided((2, 2), (1, 2)), x.unfold(1, 2, 1), x.unbind(0)[1],
             x.split(1, 1)[2], x.chunk(2, 0)[0], x[None], x[...], x[0, 1], x.unbind(1)[0][1]]
    x.add_(1)
    return ([v._is_view() for v in views], [v._base is x for v in views],
            [v._version for v in views], [v.sum().item() for v in views])


@case
def detach_shares_data_and_version_data_only_data(L):
    b = leaf(L, [1., 2.]) * 1
    d = b.detach()
    d.add_(1)
    dd = b.data
    dd.add_(1)
    return b, b._version, d._version, dd._version, d._is_view(), d._base is None, \
        b.data._version, b.data._is_view()


@case
def copies_are_not_views(L):
    x = L.zeros(2, 3)
    copies = [x[[0]], x.t().reshape(6), x.t().contiguous(), x.clone(), x[x > 0]]
    x.add_(1)
    return ([c._is_view() for c in copies], [c._base is None for c in copies],
            [c._version for c in copies], [c.sum().item() for c in copies],
            x.flatten(0, 0) is x)


@case
def view_of_a_view_points_at_the_root(L):
    x = L.zeros(3, 4)
    v = x[1]
    w = v[1:]
    u = w.unsqueeze(0)
    return u._base is x, w._base is x, v._base is x, x._base is None, u._is_view()


@case
def view_refuses_incompatible_strides(L):
    return L.zeros(3, 2).t().view(6)


@case
def view_accepts_compatible_strides(L):
    x = L.zeros(3)
    return x.view(1, 3).t().view(3)._base is x


@case
def expanded_tensor_refuses_in_place_update(L):
    L.zeros(3).expand(2, 3).add_(1)


@case
def untracked_setitem_bumps_versions(L):
    x = L.zeros(3)
    v = x[1:]
    x[0] = 1
    v[0] = 2
    return x, x._version, v._version


# -- CopySlices and regenerated view histories ----------------------------------------------------
@case
def copyslices_routes_the_column_gradient(L):
    a = leaf(L, [[1., 2., 3.], [4., 5., 6.], [7., 8., 9.]])
    x = a.clone()
    x[:, 0].mul_(2)
    x.sum().backward()
    return a.grad, x, name(x.grad_fn)


@case
def view_history_is_regenerated_after_base_update(L):
    a = leaf(L, [[1., 2.], [3., 4.]])
    b = a.clone()
    v = b[0]
    b.mul_(2)
    (v * 1).sum().backward()
    return a.grad, v, name(v.grad_fn), name(v.grad_fn.next_functions[0][0])


@case
def base_update_gives_requires_grad_to_old_views(L):
    a = leaf(L, [1., 2., 3.])
    x = L.zeros(3)
    v = x[:2]
    x.mul_(a)
    (v * 1).sum().backward()
    return v.requires_grad, name(v.grad_fn), name(x.grad_fn), a.grad


@case
def chained_updates_through_a_view(L):
    a = leaf(L, [1., 2., 3.])
    x = a * 1
    v = x[1:]
    v.mul_(L.tensor([2., 3.]))
    v.add_(1)
    x.pow(2).sum().backward()
    return a.grad, x, v


@case
def update_through_transpose(L):
    a = leaf(L, [[1., 2.], [3., 4.]])
    x = a * 1
    x.t()[0].mul_(3)
    (x * x).sum().backward()
    return a.grad, x


@case
def diagonal_add_(L):
    a = leaf(L, [[1., 2., 3.], [4., 5., 6.]])
    x = a * 1
    x.diagonal().add_(10)
    (x * x).sum().backward()
    return x, a.grad, name(x.grad_fn)


@case
def relu_inplace_on_a_slice(L):
    a = leaf(L, [-1., 2., -3., 4.])
    x = a * 1
    x[1:].relu_()
    x.sum().backward()
    return a.grad, x


@case
def copy_into_a_slice_of_a_plain_tensor(L):
    a = leaf(L, [1., 2., 3.])
    x = L.zeros(3)
    x[1:].copy_(a[:2] * 2)
    x.sum().backward()
    return x, a.grad, name(x.grad_fn)


@case
def fill_and_zero(L):
    a = leaf(L, [1., 2.])
    x = a.clone()
    x.fill_(3)
    y = a.clone()
    y.zero_()
    (x + y).sum().backward()
    return name(x.grad_fn), name(y.grad_fn), x, y, a.grad, x._version


@case
def update_under_no_grad_keeps_history(L):
    a = leaf(L, [1., 2.])
    v = a[0:1]
    with L.no_grad():
        v.mul_(2)
    return a, a._version, name(v.grad_fn), name(v.grad_fn.next_functions[0][0])


# -- setitem --------------------------------------------------------------------------------------
@case
def setitem_basic_keys(L):
    a = leaf(L, [1., 2., 3.])
    x = a.clone()
    v = x[1:]
    x[0] = 5.
    x[1] = a[0] * 3
    (x * L.tensor([1., 2., 3.])).sum().backward()
    return x, v, x._version, v._version, name(x.grad_fn), a.grad


@case
def setitem_copyslices_edges(L):
    a = leaf(L, [1., 2., 3.])
    x = a.clone()
    x[0] = a[2] * 2
    x.sum().backward()
    return a.grad, name(x.grad_fn.next_functions[0][0])


@case
def setitem_advanced_key(L):
    a = leaf(L, [1., 2., 3.])
    x = a.clone()
    x[[0, 1]] = a[:2] * 2
    x.sum().backward()
    return a.grad, name(x.grad_fn), x._version


@case
def setitem_through_a_transposed_view(L):
    a = leaf(L, [[1., 2.], [3., 4.]])
    b = a.clone()
    v = b.t()
    v[0, 1] = 10.
    b.sum().backward()
    return b, a.grad, name(b.grad_fn), name(v.grad_fn), b._version


@case
def setitem_value_requires_grad(L):
    x = L.zeros(3)
    w = leaf(L, 2.)
    x[1:] = w
    (x * L.tensor([1., 2., 3.])).sum().backward()
    return w.grad, name(x.grad_fn), x


# -- refusals -------------------------------------------------------------------------------------
@case
def leaf_in_place(L):
    leaf(L, [1., 2.]).add_(1)


@case
def view_of_leaf_in_place(L):
    leaf(L, [1., 2.])[0].mul_(2)


@case
def view_of_leaf_setitem(L):
    a = leaf(L, [1., 2.])
    a[0] = 3.


@case
def split_output_in_place(L):
    leaf(L, [1., 2., 3.]).clone().split(1)[1].mul_(2)


@case
def chunk_output_in_place(L):
    leaf(L, [1., 2.]).clone().chunk(2)[1].add_(1)


@case
def unbind_output_in_place(L):
    leaf(L, [[1., 2.], [3., 4.]]).clone().unbind()[0].add_(1)


@case
def split_of_plain_tensor_updated_with_grad(L):
    L.zeros(3).split(1)[0].add_(leaf(L, [1.]))


@case
def split_output_updated_under_no_grad(L):
    x = leaf(L, [1., 2., 3.]).clone()
    pieces = x.split(1)
    with L.no_grad():
        pieces[0].mul_(2)
    return x, x._version


@case
def split_output_updated_without_autograd(L):
    y = L.zeros(3)
    y.split(1)[0].add_(1)
    return y


@case
def split_output_used_after_base_update(L):
    # PyTorch refuses when the piece's history is next read; brickwork when backward reaches it.
    x = leaf(L, [1., 2., 3.]).clone()
    pieces = x.split(1)
    x.mul_(2)
    (pieces[0] * 2).sum().backward()


@case
def no_grad_view_updated_with_grad(L):
    a = leaf(L, [1., 2.])
    with L.no_grad():
        v = a[0:1]
    v.mul_(2)


@case
def no_grad_view_of_plain_tensor_updated_with_grad(L):
    b = L.zeros(3)
    with L.no_grad():
        v = b[:2]
    v.add_(leaf(L, [1., 1.]))


@case
def no_grad_view_reports_its_base_requires_grad(L):
    a = leaf(L, [1., 2.])
    with L.no_grad():
        v = a[0:1]
    return v.requires_grad, v.grad_fn is None, v._is_view(), v._base is a


@case
def detach_in_place_on_a_view(L):
    (leaf(L, [1., 2.]) * 1)[0:1].detach_()


# -- the added views: as_strided, unfold, diagonal ------------------------------------------------
@case
def unfold_values_and_gradient(L):
    w = leaf(L, [0., 1., 2., 3., 4., 5.])
    y = w.unfold(0, 3, 2)
    (y * y).sum().backward()
    return w.grad, y, name(y.grad_fn)


@case
def as_strided_reads_storage(L):
    w = leaf(L, [0., 1., 2., 3., 4., 5.])
    y = w[1:].as_strided((2, 2), (1, 2))
    (y * y).sum().backward()
    return w.grad, y, name(y.grad_fn), y.storage_offset(), w[1:].storage_offset(), y.stride()


@case
def diagonal_values_and_gradient(L):
    w = leaf(L, [[0., 1., 2.], [3., 4., 5.]])
    y = w.diagonal(1)
    (y * y).sum().backward()
    return w.grad, y, name(y.grad_fn)


@case
def diagonal_of_other_dims(L):
    x = L.arange(24.).reshape(2, 3, 4)
    return x.diagonal(1, -1, 0), x.diagonal(-1, 2, 1), x.diagonal(0, 0, 2), x.diagonal(7).shape


@case
def strides(L):
    x = L.zeros(2, 3)
    return x.stride(), x.t().stride(), x.expand(4, 2, 3).stride(), x.stride(1), \
        x[:, 1:].storage_offset()


@case
def unfold_too_large(L):
    L.arange(6.).unfold(0, 7, 1)


@case
def unfold_zero_step(L):
    L.arange(6.).unfold(0, 2, 0)


@case
def as_strided_negative_stride(L):
    L.arange(6.).as_strided((3,), (-1,))


@case
def as_strided_out_of_bounds(L):
    L.arange(6.).as_strided((3,), (1,), 5)


@case
def diagonal_same_dims(L):
    L.zeros(2, 3).diagonal(0, 1, 1)


@requires_torch
@pytest.mark.parametrize("case_name", list(CASES))
def test_matches_torch(case_name):
    check_behaviour(CASES[case_name])


# -- NumPy expectations (no PyTorch needed) -------------------------------------------------------
def test_in_place_update_writes_the_shared_buffer():
    a = brickwork.tensor([1., 2.], requires_grad=True)
    b = a * 1
    v = b[:]
    data = b.data
    b.add_(1)
    np.testing.assert_array_equal(v.detach().numpy(), [2., 3.])
    np.testing.assert_array_equal(data.numpy(), [2., 3.])
    assert np.shares_memory(v._data, b._data)
    assert (b._version, v._version, data._version) == (1, 1, 0)


def test_copyslices_gradient_doubles_the_modified_column():
    a = brickwork.ones(3, 3, requires_grad=True)
    x = a.clone()
    x[:, 0].mul_(2)
    x.sum().backward()
    want = np.ones((3, 3), np.float32)
    want[:, 0] = 2
    np.testing.assert_array_equal(a.grad.numpy(), want)
    assert type(x.grad_fn).__name__ == "CopySlices"
    assert x.grad_fn.name() == "torch::autograd::CopySlices"


def test_regenerated_view_reads_the_new_history():
    a = brickwork.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    b = a.clone()
    v = b[1]
    b.mul_(3)
    (v * v).sum().backward()
    want = np.zeros((2, 2), np.float32)
    want[1] = 2 * 9 * a.detach().numpy()[1]  # d/da (3a)^2
    np.testing.assert_allclose(a.grad.numpy(), want)
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"


def test_views_made_by_each_op_share_memory():
    x = brickwork.arange(24.).reshape(2, 3, 4)
    for v in (x[0], x[:, 1], x.transpose(0, 2), x.permute(2, 0, 1), x.view(6, 4), x.flatten(),
              x.unsqueeze(1), x.expand(2, 2, 3, 4), x.narrow(2, 1, 2), x.select(1, 0),
              x.diagonal(0, 1, 2), x.unfold(2, 2, 1), x.as_strided((3,), (5,)), x[0, 0, 0],
              x.split(1)[1], x.unbind(2)[3], x.detach(), x[..., None]):
        assert np.shares_memory(v._data, x._data)
        assert v._version == x._version
    x.mul_(2)
    assert x[1, 2, 3].item() == 46 and x.unbind(2)[3][1, 2].item() == 46


@pytest.mark.parametrize("offset,dims", [(0, (0, 1)), (1, (0, 1)), (-1, (1, 2)), (2, (2, 0)),
                                         (-5, (0, 2))])
def test_diagonal_matches_numpy(offset, dims):
    arr = np.arange(60.).reshape(3, 4, 5)
    got = brickwork.tensor(arr).diagonal(offset, *dims)
    np.testing.assert_array_equal(got.numpy(), np.diagonal(arr, offset, *dims))


def test_unfold_and_as_strided_gradients_match_finite_differences():
    x = brickwork.tensor(np.linspace(-1, 1, 7), dtype=brickwork.float64, requires_grad=True)
    assert brickwork.autograd.gradcheck(lambda t: (t.unfold(0, 3, 2) ** 2).sum(), (x,))
    assert brickwork.autograd.gradcheck(lambda t: t[1:].as_strided((2, 3), (1, 2)) ** 3, (x,))
    m = brickwork.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    assert brickwork.autograd.gradcheck(lambda t: t.diagonal(1) ** 2, (m,))


def test_setitem_under_autograd_writes_in_place():
    a = brickwork.tensor([1., 2., 3.], requires_grad=True)
    x = a.clone()
    buf = x._data
    x[0] = 7.
    x[[1]] = a[:1] * 10
    assert x._data is buf and x.tolist() == [7., 10., 3.] and x._version == 2
    x.sum().backward()
    assert a.grad.tolist() == [10., 0., 1.]


def test_refusals_without_torch():
    a = brickwork.tensor([1., 2.], requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        a[0].mul_(2)
    with pytest.raises(RuntimeError, match="output of a function that returns multiple views"):
        a.clone().unbind()[0].add_(1)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        brickwork.zeros(2).expand(3, 2).fill_(1)
    with brickwork.no_grad():
        a[0].mul_(2)  # allowed outside autograd
    assert a.tolist() == [2., 2.] and a._version == 1
