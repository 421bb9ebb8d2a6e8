"""Shape ops (ops/shape.py, join.py, reorder.py): values, gradients, grad_fn names, views, errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brickwork
from brickwork.autograd import gradcheck
from helpers import check_op, rand_array, requires_torch, torch

F64 = brickwork.float64

# (id, fn(lib, *tensors), input shapes or arrays)
CASES = [
    ("reshape", lambda L, x: x.reshape(4, -1), [(2, 3, 4)]),
    ("reshape_tuple", lambda L, x: L.reshape(x, (-1,)), [(2, 3)]),
    ("reshape_scalar", lambda L, x: x.reshape(1, 1), [()]),
    ("reshape_to_scalar", lambda L, x: x.reshape(()), [(1,)]),
    ("reshape_empty", lambda L, x: x.reshape(3, 0, 2), [(0, 6)]),
    ("reshape_noncontig", lambda L, x: x.transpose(0, 1).reshape(-1), [(2, 3)]),
    ("view", lambda L, x: x.view(3, 2), [(2, 3)]),
    ("view_as", lambda L, x, y: x.view_as(y), [(2, 3), (6,)]),
    ("reshape_as", lambda L, x, y: x.reshape_as(y), [(2, 3), (3, 2)]),
    ("flatten", lambda L, x: L.flatten(x), [(2, 3, 4)]),
    ("flatten_mid", lambda L, x: x.flatten(1, 2), [(2, 3, 4, 5)]),
    ("flatten_same", lambda L, x: x.flatten(1, 1), [(2, 3)]),
    ("flatten_scalar", lambda L, x: x.flatten(), [()]),
    ("flatten_zero", lambda L, x: x.flatten(1), [(2, 0, 3)]),
    ("ravel", lambda L, x: L.ravel(x), [(2, 3)]),
    ("unflatten", lambda L, x: x.unflatten(1, (2, -1)), [(3, 4)]),
    ("transpose", lambda L, x: x.transpose(0, -1), [(2, 3, 4)]),
    ("swapaxes", lambda L, x: L.swapaxes(x, 0, 1), [(2, 3)]),
    ("transpose_scalar", lambda L, x: x.transpose(0, -1), [()]),
    ("permute", lambda L, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute_tuple", lambda L, x: L.permute(x, (1, 0)), [(2, 3)]),
    ("movedim", lambda L, x: L.movedim(x, 0, -1), [(2, 3, 4)]),
    ("movedim_many", lambda L, x: x.movedim((0, 1), (2, 0)), [(2, 3, 4)]),
    ("squeeze", lambda L, x: x.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze_dim", lambda L, x: x.squeeze(2), [(1, 3, 1, 2)]),
    ("squeeze_dim_noop", lambda L, x: x.squeeze(1), [(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda L, x: x.squeeze((0, 2)), [(1, 3, 1, 2)]),
    ("squeeze_scalar", lambda L, x: x.squeeze(0), [()]),
    ("unsqueeze", lambda L, x: x.unsqueeze(1), [(2, 3)]),
    ("unsqueeze_neg", lambda L, x: L.unsqueeze(x, -1), [(2, 3)]),
    ("unsqueeze_scalar", lambda L, x: x.unsqueeze(0), [()]),
    ("expand", lambda L, x: x.expand(2, 3, 4), [(3, 1)]),
    ("expand_keep", lambda L, x: x.expand(-1, 4), [(3, 1)]),
    ("expand_scalar", lambda L, x: x.expand(2, 2), [()]),
    ("expand_as", lambda L, x, y: x.expand_as(y), [(1, 3), (2, 3)]),
    ("broadcast_to", lambda L, x: L.broadcast_to(x, (2, 2, 3)), [(3,)]),
    ("repeat", lambda L, x: x.repeat(2, 3), [(2, 3)]),
    ("repeat_lead", lambda L, x: x.repeat(2, 1, 3), [(2, 3)]),
    ("repeat_zero", lambda L, x: x.repeat(0, 2), [(2, 3)]),
    ("repeat_scalar", lambda L, x: x.repeat(3), [()]),
    ("tile", lambda L, x: L.tile(x, (2,)), [(2, 3)]),
    ("narrow", lambda L, x: x.narrow(1, 1, 2), [(2, 4)]),
    ("narrow_neg", lambda L, x: L.narrow(x, -1, -3, 2), [(2, 4)]),
    ("select", lambda L, x: x.select(1, -1), [(2, 4)]),
    ("clone", lambda L, x: x.clone(), [(2, 3)]),
    ("contiguous", lambda L, x: x.t().contiguous(), [(2, 3)]),
    ("flip", lambda L, x: x.flip(0, 2), [(2, 3, 4)]),
    ("fliplr", lambda L, x: L.fliplr(x), [(2, 3)]),
    ("flipud", lambda L, x: L.flipud(x), [(2, 3)]),
    ("roll", lambda L, x: x.roll(1, 0), [(3, 4)]),
    ("roll_flat", lambda L, x: L.roll(x, -2), [(3, 4)]),
    ("roll_many", lambda L, x: x.roll((1, -1), (0, 1)), [(3, 4)]),
    ("tril", lambda L, x: x.tril(), [(3, 4)]),
    ("tril_k", lambda L, x: L.tril(x, -1), [(2, 3, 3)]),
    ("triu", lambda L, x: L.triu(x, 1), [(4, 3)]),
    ("diag_vec", lambda L, x: L.diag(x), [(3,)]),
    ("diag_vec_k", lambda L, x: L.diag(x, -1), [(3,)]),
    ("diag_mat", lambda L, x: L.diag(x), [(3, 4)]),
    ("diag_mat_k", lambda L, x: x.diag(1), [(3, 4)]),
    ("diag_mat_negk", lambda L, x: x.diag(-2), [(3, 4)]),
    ("cat", lambda L, x, y: L.cat([x, y], 1), [(2, 3), (2, 2)]),
    ("cat_neg_dim", lambda L, x, y: L.cat((x, y), -1), [(2, 3), (2, 2)]),
    ("cat_one", lambda L, x: L.cat([x]), [(2, 3)]),
    ("cat_empty_1d", lambda L, x, y: L.cat([x, y]), [(2, 3), (0,)]),
    ("cat_zero_size", lambda L, x, y: L.cat([x, y]), [(0, 3), (2, 3)]),
    ("concat", lambda L, x, y: L.concat([x, y]), [(2, 3), (1, 3)]),
    ("concatenate_axis", lambda L, x, y: L.concatenate([x, y], axis=0), [(2, 3), (1, 3)]),
    ("stack_axis", lambda L, x, y: L.stack([x, y], axis=1), [(2, 3), (2, 3)]),
    ("split_kw", lambda L, x: x.split(split_size=2, dim=1), [(2, 3)]),
    ("permute_kw", lambda L, x: x.permute(dims=(1, 0)), [(2, 3)]),
    ("reshape_kw", lambda L, x: x.reshape(shape=(3, 2)), [(2, 3)]),
    ("cat_promote", lambda L, x, y: L.cat([x, y.double()]), [(2, 3), (1, 3)]),
    ("cat_int_float", lambda L, x, y: L.cat([x, y]),
     [rand_array((2,), "int64", 0, 5), (3,)]),
    ("stack", lambda L, x, y: L.stack([x, y]), [(2, 3), (2, 3)]),
    ("stack_last", lambda L, x, y: L.stack([x, y], -1), [(2, 3), (2, 3)]),
    ("stack_scalars", lambda L, x, y: L.stack([x, y]), [(), ()]),
    ("hstack", lambda L, x, y: L.hstack([x, y]), [(2, 3), (2, 1)]),
    ("hstack_1d", lambda L, x, y: L.hstack([x, y]), [(2,), (3,)]),
    ("vstack", lambda L, x, y: L.vstack([x, y]), [(3,), (2, 3)]),
    ("dstack", lambda L, x, y: L.dstack([x, y]), [(3,), (3,)]),
    ("split", lambda L, x: x.split(2, 1), [(2, 5)]),
    ("split_sizes", lambda L, x: L.split(x, [1, 3, 0], dim=1), [(2, 4)]),
    ("split_big", lambda L, x: x.split(10), [(3, 2)]),
    ("chunk", lambda L, x: x.chunk(3, 1), [(2, 5)]),
    ("chunk_fewer", lambda L, x: L.chunk(x, 4), [(6,)]),
    ("unbind", lambda L, x: x.unbind(1), [(2, 3)]),
    ("unbind_fn", lambda L, x: L.unbind(x), [(3,)]),
    ("split_partial_use", lambda L, x: x.split(1)[1], [(3, 2)]),
]


@requires_torch
@pytest.mark.parametrize("fn,inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_against_torch(fn, inputs):
    check_op(fn, inputs)


GRAD_FN_CASES = [c for c in CASES if c[0] not in ("cat_one",)]


@requires_torch
@pytest.mark.parametrize("fn,inputs", [c[1:] for c in GRAD_FN_CASES],
                         ids=[c[0] for c in GRAD_FN_CASES])
def test_grad_fn_names(fn, inputs):
    def names(lib):
        ins = [lib.tensor(rand_array(s) if isinstance(s, tuple) else s) for s in inputs]
        # Multiply so that ops see a non-leaf, as in a real graph.
        ins = [(t.double() if t.is_floating_point() else t).requires_grad_() * 1
               if t.is_floating_point() else t for t in ins]
        outs = fn(lib, *ins)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return [type(o.grad_fn).__name__ for o in outs]

    assert names(brickwork) == names(torch)


@requires_torch
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=0, max_size=4), st.data())
def test_permute_reshape_random(shape, data):
    shape = tuple(shape)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    n = int(np.prod(shape))
    new = (-1,) if n == 0 else (n,) if not shape else (shape[-1], -1)
    check_op(lambda L, x: x.permute(perm).reshape(new) * 2, [shape])


@requires_torch
@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_cat_stack_random(shape, data):
    shape = tuple(shape)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[dim] = data.draw(st.integers(0, 3))
    check_op(lambda L, x, y: L.cat([x, y, x], dim), [shape, tuple(other)])
    check_op(lambda L, x, y: L.stack([x, y], dim), [shape, shape])


# -- without torch: NumPy expectations and finite differences -----------------------------------
def test_numpy_expectations():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = brickwork.tensor(a)
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.reshape(-1, 4).numpy(), a.reshape(-1, 4))
    np.testing.assert_array_equal(brickwork.cat([x, x], 2).numpy(), np.concatenate([a, a], 2))
    np.testing.assert_array_equal(brickwork.stack([x, x], 1).numpy(), np.stack([a, a], 1))
    np.testing.assert_array_equal(x.repeat(1, 2, 1, 2).numpy(), np.tile(a, (1, 2, 1, 2)))
    np.testing.assert_array_equal(x.flip(1).numpy(), a[:, ::-1])
    np.testing.assert_array_equal(x.roll(2, 2).numpy(), np.roll(a, 2, 2))
    pieces = x.split([1, 3], dim=2)
    np.testing.assert_array_equal(pieces[1].numpy(), a[:, :, 1:])
    assert [p.shape[1] for p in x.chunk(2, 1)] == [2, 1]
    assert x.unsqueeze(0).squeeze().shape == x.shape
    assert x.expand(5, 2, 3, 4).shape == (5, 2, 3, 4)


GRADCHECK = [
    lambda x: x.permute(1, 0).reshape(-1) * brickwork.arange(6.0, dtype=F64),
    lambda x: x.expand(4, 2, 3).sum(0),
    lambda x: x.repeat(2, 2) ** 2,
    lambda x: brickwork.cat([x, x * x], 1),
    lambda x: brickwork.stack([x, x * 3], 0) ** 2,
    lambda x: x.split([1, 2], 1)[1] * 2,
    lambda x: x.chunk(2, 0)[0] ** 2,
    lambda x: x.unbind(1)[2] ** 2,
    lambda x: x.flip(1) ** 2,
    lambda x: x.roll(1, 1) ** 2,
    lambda x: x.tril() ** 2,
    lambda x: brickwork.diag(x) ** 2,
    lambda x: brickwork.diag(x[0]) ** 2,
    lambda x: x.narrow(1, 1, 2).clone() ** 2,
]


@pytest.mark.parametrize("fn", GRADCHECK)
def test_gradcheck(fn):
    x = brickwork.tensor(rand_array((2, 3), "float64"), requires_grad=True)
    assert gradcheck(fn, (x,))


# -- views share memory ----------------------------------------------------------------------------
@pytest.mark.parametrize("make_view", [
    lambda x: x.view(6), lambda x: x.reshape(3, 2), lambda x: x.transpose(0, 1),
    lambda x: x.permute(1, 0), lambda x: x.unsqueeze(0), lambda x: x[0:1].squeeze(0),
    lambda x: x.flatten(), lambda x: x.narrow(1, 0, 2), lambda x: x.select(0, 0),
    lambda x: x.split(1)[0], lambda x: x.unbind(0)[1], lambda x: x.detach(),
], ids=["view", "reshape", "transpose", "permute", "unsqueeze", "squeeze", "flatten", "narrow",
        "select", "split", "unbind", "detach"])
def test_views_share_storage(make_view):
    x = brickwork.zeros(2, 3)
    v = make_view(x)
    v.data.fill_(7)  # writes through the view's storage
    assert x.sum().item() == 7 * v.numel()
    v.add_(1)
    assert x.sum().item() == 8 * v.numel()


def test_copies_do_not_share():
    x = brickwork.zeros(2, 3)
    for y in (x.clone(), x.flip(0), x.roll(1), x.repeat(1, 1), brickwork.cat([x])):
        y.data.fill_(1)
    assert x.sum().item() == 0


def test_contiguous_returns_self():
    x = brickwork.zeros(2, 3)
    assert x.contiguous() is x
    t = x.t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c is not t


def test_view_dtype_reinterprets():
    x = brickwork.tensor([1.0, -2.0])
    np.testing.assert_array_equal(x.view(brickwork.int32).numpy(), x.numpy().view(np.int32))


# -- errors ----------------------------------------------------------------------------------------
ERRORS = [
    lambda L: L.zeros(3, 4).reshape(3, 5),
    lambda L: L.zeros(3, 4).view(-1, -1),
    lambda L: L.zeros(2, 3).reshape(-1, 4),
    lambda L: L.zeros(2, 3).reshape(-2, 3),
    lambda L: L.zeros(0, 3).reshape(-1, 0),
    lambda L: L.zeros(2, 3).expand(2, 4),
    lambda L: L.zeros(2, 3).expand(-1, 2, 3),
    lambda L: L.zeros(2, 3).permute(1),
    lambda L: L.zeros(2, 3).permute(0, 0),
    lambda L: L.zeros(2, 3).permute(0, 2),
    lambda L: L.zeros(2, 3).transpose(0, 2),
    lambda L: L.cat([L.zeros(2, 3), L.zeros(3, 3)], 1),
    lambda L: L.cat([L.zeros(2, 3), L.zeros(2, 3, 1)]),
    lambda L: L.cat([]),
    lambda L: L.cat([L.tensor(1.0)]),
    lambda L: L.cat([L.zeros(2, 3)], 2),
    lambda L: L.stack([L.zeros(2, 3), L.zeros(2, 4)]),
    lambda L: L.stack([]),
    lambda L: L.zeros(2, 3).repeat(2),
    lambda L: L.zeros(2, 3).split(0),
    lambda L: L.zeros(3).split([1, 1]),
    lambda L: L.zeros(2, 3).chunk(0),
    lambda L: L.zeros(2, 3).narrow(1, 2, 2),
    lambda L: L.zeros(2, 3).squeeze(2),
    lambda L: L.zeros(2, 3).unsqueeze(3),
    lambda L: L.zeros(2, 3).flatten(1, 0),
    lambda L: L.zeros(2, 3).unflatten(1, (2, 2)),
    lambda L: L.zeros(2, 3).movedim((0, 1), (1,)),
    lambda L: L.zeros(2, 3).flip(0, 0),
    lambda L: L.zeros(3).tril(),
    lambda L: L.zeros(2, 2, 2).diag(),
]


@requires_torch
@pytest.mark.parametrize("fn", ERRORS)
def test_errors_match_torch(fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as b_err:
        fn(brickwork)
    assert str(b_err.value) == str(t_err.value).replace("torch.", "brickwork.")


def test_errors_without_torch():
    with pytest.raises(RuntimeError, match=r"shape '\[3, 5\]' is invalid for input of size 12"):
        brickwork.zeros(3, 4).reshape(3, 5)
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 1"):
        brickwork.cat([brickwork.zeros(2, 3), brickwork.zeros(3, 3)], 1)
    with pytest.raises(TypeError, match="must be tuple of ints"):
        brickwork.zeros(2).reshape(1.5)
