"""NumPy keyword aliases, every indexing form, factory overloads and ``autograd.Variable``.

Programs written for PyTorch call ``X.argmax(axis=1)``, ``X.sum(0, keepdims=True)``,
``x.flip(dims=[0])``, ``x[range(3), [0, 5, 2]]``, ``torch.randint(3, size=(4, 5))`` and
``from torch.autograd import Variable`` (d2l does all of these); each form here runs on brickwork
and on PyTorch through ``check_behaviour`` (same result, or the same exception and message).
"""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import factories
from helpers import CaseTable, brickwork_device, check_behaviour, check_op, requires_torch, torch

ARR = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) * np.array([1, -1, 2, 1], np.float32)


def X(lib):
    return lib.tensor(ARR.copy())


def idx(lib, values):
    return lib.tensor(values, dtype=lib.long)


# -- keyword aliases: axis= for dim=, keepdims= for keepdim=, dims=, size=, repeats= -------------
ALIASES = CaseTable()
for _name, _fn in {
    "argmax_axis": lambda L: X(L).argmax(axis=1),
    "sum_keepdims": lambda L: X(L).sum(0, keepdims=True),
    "sum_axis_keepdims": lambda L: X(L).sum(axis=0, keepdims=True),
    "sum_fn_axis": lambda L: L.sum(X(L), axis=1, keepdims=True),
    "sum_axis_tuple": lambda L: X(L).sum(axis=(0, 1)),
    "sum_axis_dtype": lambda L: L.sum(X(L), axis=0, dtype=L.float64),
    "sum_input_kw": lambda L: L.sum(input=X(L), axis=0),
    "mean_axis": lambda L: X(L).mean(axis=1),
    "mean_fn_axis": lambda L: L.mean(X(L), axis=1, keepdims=True),
    "nansum_axis": lambda L: X(L).nansum(axis=0),
    "prod_axis": lambda L: X(L).prod(axis=0, keepdims=True),
    "max_axis": lambda L: X(L).max(axis=1),
    "max_fn_axis_keepdims": lambda L: L.max(X(L), axis=1, keepdims=True),
    "max_other_kw": lambda L: L.max(X(L), other=-X(L)),
    "min_axis": lambda L: X(L).min(axis=0),
    "min_other_method": lambda L: X(L).min(other=-X(L)),
    "amax_axis": lambda L: X(L).amax(axis=0),
    "amin_axis": lambda L: L.amin(X(L), axis=(0, 1), keepdims=True),
    "argmin_axis_keepdims": lambda L: X(L).argmin(axis=0, keepdims=True),
    "argmax_fn": lambda L: L.argmax(X(L), axis=1, keepdims=True),
    "median_axis": lambda L: X(L).median(axis=0),
    "var_axis": lambda L: X(L).var(axis=0, keepdims=True),
    "std_fn_axis": lambda L: L.std(X(L), axis=0, correction=0),
    "var_mean_axis": lambda L: L.var_mean(X(L), axis=0),
    "std_mean_axis": lambda L: L.std_mean(X(L), axis=1, keepdims=True),
    "logsumexp_axis": lambda L: L.logsumexp(X(L), axis=1, keepdims=True),
    "logsumexp_method": lambda L: X(L).logsumexp(axis=0),
    "all_axis": lambda L: (X(L) > 0).all(axis=0),
    "any_fn_axis": lambda L: L.any(X(L) > 0, axis=1, keepdims=True),
    "count_nonzero_axis": lambda L: X(L).count_nonzero(axis=0),
    "cumsum_axis": lambda L: X(L).cumsum(axis=0),
    "cumsum_fn_axis": lambda L: L.cumsum(X(L), axis=1),
    "cumprod_axis": lambda L: L.cumprod(X(L), axis=0, dtype=L.float64),
    "sort_axis": lambda L: X(L).sort(axis=0),
    "sort_fn_axis": lambda L: L.sort(X(L), axis=0, descending=True),
    "argsort_axis": lambda L: X(L).argsort(axis=0),
    "topk_axis": lambda L: X(L).topk(2, axis=0),
    "gather_axis": lambda L: L.gather(X(L), axis=1, index=idx(L, [[0], [1], [2]])),
    "index_select_axis": lambda L: L.index_select(X(L), axis=0, index=idx(L, [0, 2])),
    "take_along_dim_axis": lambda L: L.take_along_dim(X(L), idx(L, [[0], [1], [2]]), axis=1),
    "squeeze_axis": lambda L: X(L)[None].squeeze(axis=0),
    "unsqueeze_axis": lambda L: L.unsqueeze(X(L), axis=0),
    "unbind_axis": lambda L: L.unbind(X(L), axis=1),
    "chunk_axis": lambda L: L.chunk(X(L), 2, axis=0),
    "narrow_axis": lambda L: L.narrow(X(L), axis=0, start=1, length=2),
    "select_axis": lambda L: L.select(X(L), axis=1, index=2),
    "cat_axis": lambda L: L.cat([X(L), X(L)], axis=0),
    "stack_axis": lambda L: L.stack([X(L), X(L)], axis=1),
    "flip_dims_kw": lambda L: X(L).flip(dims=[0]),
    "flip_fn_dims_kw": lambda L: L.flip(X(L), dims=(0, 1)),
    "flip_input_kw": lambda L: L.flip(input=X(L), dims=[1]),
    "flip_varargs": lambda L: X(L).flip(0, 1),
    "flip_list": lambda L: X(L).flip([0]),
    "roll_dims_kw": lambda L: X(L).roll(shifts=1, dims=0),
    "swapaxes_axis_names": lambda L: X(L).swapaxes(axis0=0, axis1=1),
    "swapdims_dim_names": lambda L: L.swapdims(X(L), dim0=0, dim1=1),
    "transpose_dim_names": lambda L: X(L).transpose(dim0=1, dim1=0),
    "permute_dims_kw": lambda L: X(L).permute(dims=(1, 0)),
    "permute_fn_dims_kw": lambda L: L.permute(X(L), dims=(1, 0)),
    "reshape_shape_kw": lambda L: X(L).reshape(shape=(12,)),
    "view_size_kw": lambda L: X(L).view(size=(2, 6)),
    "view_dtype_kw": lambda L: X(L).view(dtype=L.int32),
    "expand_size_kw": lambda L: X(L).expand(size=(2, 3, 4)),
    "repeat_repeats_kw": lambda L: X(L).repeat(repeats=(2, 1)),
    "tile_dims_kw": lambda L: L.tile(X(L), dims=(2,)),
    # refused as PyTorch refuses them
    "both_dim_and_axis": lambda L: X(L).sum(0, axis=0),
    "both_dim_kw_and_axis": lambda L: L.sum(X(L), dim=0, axis=1),
    "both_keepdim_spellings": lambda L: L.mean(X(L), 0, keepdim=True, keepdims=True),
    "cumsum_without_dim": lambda L: L.cumsum(X(L)),
    "flip_dims_int": lambda L: X(L).flip(dims=0),
    "flip_dims_twice": lambda L: X(L).flip(0, dims=[0]),
    "expand_size_twice": lambda L: X(L).expand(2, 3, 4, size=(2, 3, 4)),
    "permute_dims_twice": lambda L: X(L).permute(1, 0, dims=(1, 0)),
    "split_takes_no_axis": lambda L: L.split(X(L), 2, axis=0),
    "flatten_takes_no_axis": lambda L: X(L).flatten(axis=0),
    "roll_takes_no_axis": lambda L: L.roll(X(L), 1, axis=0),
    "max_other_and_dim": lambda L: L.max(X(L), X(L), axis=0),
}.items():
    ALIASES[_name] = _fn


@requires_torch
@pytest.mark.parametrize("name", list(ALIASES))
def test_keyword_aliases_match_torch(name):
    if name == "max_other_and_dim":  # both refuse; the texts of the refusal differ
        with pytest.raises(TypeError):
            ALIASES[name](torch)
        with pytest.raises(TypeError):
            ALIASES[name](brickwork)
        return
    check_behaviour(ALIASES[name])


@requires_torch
def test_aliases_with_out():
    def fn(L):
        out = L.empty(4)
        r = L.sum(X(L), axis=0, keepdims=False, out=out)
        c = L.empty(3, 4)
        L.cumsum(X(L), axis=1, out=c)
        return r, out, c, r is out

    check_behaviour(fn)


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L, x: x.sum(axis=0, keepdims=True),
    lambda L, x: L.logsumexp(x, axis=1),
    lambda L, x: x.flip(dims=[0, 1]),
    lambda L, x: x.max(axis=1).values,
    lambda L, x: L.cumsum(x, axis=0),
    lambda L, x: x.var(axis=0, keepdims=True),
], ids=["sum", "logsumexp", "flip", "max", "cumsum", "var"])
def test_aliases_keep_gradients(fn):
    check_op(fn, [(3, 4)])


def test_aliases_without_torch():
    x = brickwork.tensor(ARR)
    np.testing.assert_array_equal(x.sum(axis=0, keepdims=True)._host(),
                                  ARR.sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(x.argmax(axis=1)._host(), ARR.argmax(axis=1))
    np.testing.assert_array_equal(brickwork.cumsum(x, axis=1)._host(), ARR.cumsum(axis=1))
    np.testing.assert_array_equal(x.flip(dims=[0])._host(), ARR[::-1])
    # The aliases are in the signatures (the out= wrappers are generated from them).
    assert {"axis", "keepdims"} <= set(inspect.signature(brickwork.sum).parameters)
    assert "axis" in inspect.signature(brickwork.Tensor.cumsum).parameters
    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
        x.sum(0, axis=1)


# -- indexing: reads and writes ------------------------------------------------------------------
KEYS = {
    "range_and_list": lambda L: (range(3), [0, 3, 2]),
    "range_out_of_bounds": lambda L: (range(3), [0, 5, 2]),
    "range": lambda L: range(2),
    "range_empty": lambda L: range(0),
    "range_and_slice": lambda L: (range(1, 3), slice(1, None)),
    "two_ranges": lambda L: (range(2), range(2)),
    "list_of_range_and_list": lambda L: [[0, 1], range(2)],
    "list": lambda L: [0, 2],
    "list_negative": lambda L: [-1, -3],
    "tuple_of_lists": lambda L: ([0, 2], [1, 3]),
    "nested_list": lambda L: [[0, 1], [1, 2]],
    "bool_list": lambda L: [True, False, True],
    "bool_list_and_int": lambda L: ([True, False, True], 1),
    "float_list_truncates": lambda L: [1.0, 2.7],
    "empty_list": lambda L: [],
    "numpy_ints": lambda L: np.array([0, 2]),
    "numpy_int8": lambda L: np.array([1, 0], dtype=np.int8),
    "numpy_floats": lambda L: np.array([1.0, 0.0]),
    "numpy_bools": lambda L: np.array([True, False, True]),
    "numpy_2d": lambda L: np.array([[0, 1], [1, 2]]),
    "numpy_0d": lambda L: np.array(1),
    "none_ellipsis_int": lambda L: (None, 1, Ellipsis, None),
    "ellipsis_int": lambda L: (Ellipsis, 1),
    "ellipsis_list": lambda L: (Ellipsis, [0, 3]),
    "slices_none": lambda L: (slice(1, None), None, slice(None, None, 2)),
    "tensor_and_slice": lambda L: (idx(L, [0, 2]), slice(1, None)),
    "tensor_2d_second_dim": lambda L: (slice(None), idx(L, [[0, 1], [2, 3]])),
    "int_tensor_0d": lambda L: L.tensor(1),
    "int32_tensor": lambda L: L.tensor([0, 1], dtype=L.int32),
    "mask_tensor": lambda L: L.tensor([[True, False, True, False]] * 3),
    "int_and_list": lambda L: (0, [1, 2]),
    "list_with_none": lambda L: [[0, 1], None],
    "broadcast_lists": lambda L: ([[0]], [[1], [2]]),
    # refused as PyTorch refuses them
    "negative_step": lambda L: slice(None, None, -1),
    "zero_step": lambda L: slice(None, None, 0),
    "int16_tensor": lambda L: L.tensor([1], dtype=L.int16),
    "int8_tensor": lambda L: L.tensor([1], dtype=L.int8),
    "float_tensor": lambda L: L.tensor([0.0]),
    "float_in_tuple": lambda L: (1.0, 2),
    "out_of_bounds": lambda L: [0, 3],
    "too_many": lambda L: (0, 0, 0),
    "bad_mask_shape": lambda L: [True, False],
    "string": lambda L: "a",
    "set": lambda L: {1},
}


@requires_torch
@pytest.mark.parametrize("name", list(KEYS))
def test_getitem_forms(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's deprecation of non-tuple sequences
        check_behaviour(lambda L: X(L)[KEYS[name](L)])


@requires_torch
@pytest.mark.parametrize("name", list(KEYS))
def test_setitem_forms(name):
    def fn(L):
        x = X(L)
        x[KEYS[name](L)] = -100.0
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_behaviour(fn)


@requires_torch
def test_setitem_range_with_tensor_values():
    def fn(L):
        x = X(L)
        x[range(3), [0, 3, 2]] = L.tensor([1.0, 2.0, 3.0])
        x[range(1, 3)] = L.zeros(4)
        return x

    check_behaviour(fn)


@requires_torch
@pytest.mark.parametrize("key", [
    (range(3), [0, 3, 3]), [1.0, 1.0], np.array([[0, 1], [1, 2]]), (Ellipsis, range(2)),
], ids=["range_repeat", "floats", "numpy", "ellipsis_range"])
def test_indexing_forms_keep_gradients(key):
    check_op(lambda L, x: x[key], [(3, 4)])


def test_indexing_forms_without_torch():
    x = brickwork.tensor(ARR)
    np.testing.assert_array_equal(x[range(3), [0, 3, 2]]._host(), ARR[[0, 1, 2], [0, 3, 2]])
    np.testing.assert_array_equal(x[[1.9, 0.2]]._host(), ARR[[1, 0]])
    with pytest.raises(IndexError, match="out of bounds for dimension 1 with size 4"):
        x[range(3), [0, 5, 2]]
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]


# -- factories --------------------------------------------------------------------------------
def meta(t):
    """What can be compared for random draws: shape, dtype, requires_grad, device type."""
    return tuple(t.shape), str(t.dtype).split(".")[-1], t.requires_grad, t.device.type


def strided(L):
    return L.strided if L is torch else factories.strided


def sparse(L):
    return L.sparse_coo if L is torch else factories.sparse_coo


def gen(L, seed=0):
    return L.Generator().manual_seed(seed)


FACTORIES = {
    # randint: both overloads, every way of passing size, and its keywords
    "randint_high_size_kw": lambda L: meta(L.randint(3, size=(4, 5))),
    "randint_high_size": lambda L: meta(L.randint(3, (4, 5))),
    "randint_low_high_size": lambda L: meta(L.randint(1, 3, (4, 5))),
    "randint_low_high_size_kw": lambda L: meta(L.randint(1, 3, size=(4, 5))),
    "randint_all_kw": lambda L: meta(L.randint(low=1, high=3, size=(4, 5))),
    "randint_high_kw": lambda L: meta(L.randint(high=3, size=(4, 5))),
    "randint_size_list": lambda L: meta(L.randint(3, size=[4, 5])),
    "randint_size_Size": lambda L: meta(L.randint(3, size=L.Size([4, 5]))),
    "randint_size_empty": lambda L: meta(L.randint(3, ())),
    "randint_dtype_float": lambda L: meta(L.randint(3, (4,), dtype=L.float32)),
    "randint_dtype_int32": lambda L: meta(L.randint(3, (4,), dtype=L.int32)),
    "randint_generator": lambda L: meta(L.randint(0, 3, (4,), generator=gen(L))),
    "randint_requires_grad_float": lambda L: meta(
        L.randint(3, (4,), dtype=L.float32, requires_grad=True)),
    "randint_device": lambda L: meta(L.randint(3, (4,), device="cpu")),
    "randint_layout": lambda L: meta(L.randint(3, (4,), layout=strided(L))),
    "randint_pin_memory_false": lambda L: meta(L.randint(3, (4,), pin_memory=False)),
    "randint_tensor_bound": lambda L: meta(L.randint(L.tensor(3), (2,))),
    "randint_requires_grad_int": lambda L: L.randint(3, size=(4,), requires_grad=True),
    "randint_bool": lambda L: meta(L.randint(2, (4,), dtype=L.bool)),
    "randint_bool_too_high": lambda L: L.randint(3, (4,), dtype=L.bool),
    "randint_int8_too_high": lambda L: L.randint(200, (4,), dtype=L.int8),
    "randint_int8_too_low": lambda L: L.randint(-200, 2, (4,), dtype=L.int8),
    "randint_uint8_negative": lambda L: L.randint(-1, 2, (4,), dtype=L.uint8),
    "randint_uint8_full_range": lambda L: meta(L.randint(256, (4,), dtype=L.uint8)),
    "randint_empty_range": lambda L: L.randint(3, 1, (4,)),
    "randint_size_int_kw": lambda L: L.randint(3, size=4),
    "randint_size_int_pos": lambda L: L.randint(3, 2),
    "randint_like_high": lambda L: meta(L.randint_like(L.ones(2, 3), 5)),
    "randint_like_low_high": lambda L: meta(L.randint_like(L.ones(2, 3), 2, 5)),
    "randint_like_kw": lambda L: meta(L.randint_like(L.ones(2, 3), low=2, high=5)),
    "randint_like_high_kw": lambda L: meta(L.randint_like(L.ones(2, 3), high=5)),
    "randint_like_dtype": lambda L: meta(L.randint_like(L.ones(2), 5, dtype=L.int64)),
    # the shape forms of the fills
    "zeros_varargs": lambda L: L.zeros(2, 3),
    "zeros_tuple": lambda L: L.zeros((2, 3)),
    "zeros_list": lambda L: L.zeros([2, 3]),
    "zeros_size_kw": lambda L: L.zeros(size=(2, 3)),
    "zeros_size_kw_list": lambda L: L.zeros(size=[2, 3]),
    "zeros_Size": lambda L: L.zeros(L.Size([2, 3])),
    "zeros_empty_list": lambda L: L.zeros([]),
    "zeros_numpy_int": lambda L: L.zeros(np.int64(2), 3),
    "zeros_dtype": lambda L: L.zeros(2, 3, dtype=L.int64),
    "zeros_layout": lambda L: L.zeros(2, 3, layout=strided(L)),
    "zeros_pin_memory_false": lambda L: L.zeros(2, pin_memory=False),
    "zeros_requires_grad": lambda L: L.zeros(2, 3, requires_grad=True).requires_grad,
    "zeros_requires_grad_int": lambda L: L.zeros(2, dtype=L.int64, requires_grad=True),
    "zeros_negative": lambda L: L.zeros(2, -1),
    "zeros_float_size": lambda L: L.zeros(2.0),
    "zeros_size_twice": lambda L: L.zeros(2, size=(2,)),
    "zeros_two_tuples": lambda L: L.zeros((2, 3), (1,)),
    "ones_tuple_and_int": lambda L: L.ones((2,), 3),
    "ones_tuple_dtype": lambda L: L.ones((2, 3), dtype=L.float64),
    "ones_size_kw": lambda L: L.ones(size=(2,)),
    "ones_layout": lambda L: L.ones(2, layout=strided(L)),
    "empty_forms": lambda L: [L.empty(2, 3).shape, L.empty((2, 3)).shape,
                              L.empty(size=[2, 3]).shape, L.empty(2, layout=strided(L)).shape,
                              L.empty(2, pin_memory=False).shape],
    "full_tuple": lambda L: L.full((2, 3), 1.5),
    "full_list_int": lambda L: L.full([2, 3], 1),
    "full_kw": lambda L: L.full(size=(2, 3), fill_value=True),
    "full_dtype": lambda L: L.full((2,), 1, dtype=L.float32),
    "full_layout": lambda L: L.full((2,), 1.0, layout=strided(L), pin_memory=False),
    "full_requires_grad": lambda L: L.full((2,), 1.5, requires_grad=True).requires_grad,
    "full_int_size": lambda L: L.full(2, 1),
    "rand_forms": lambda L: [meta(L.rand(2, 3)), meta(L.rand((2, 3))), meta(L.rand([2, 3])),
                             meta(L.rand(size=(2, 3))), meta(L.rand(2, generator=gen(L))),
                             meta(L.rand(2, dtype=L.float64)),
                             meta(L.rand(2, requires_grad=True)),
                             meta(L.rand(2, layout=strided(L), pin_memory=False))],
    "rand_int_dtype": lambda L: L.rand(2, 3, dtype=L.int64),
    "randn_forms": lambda L: [meta(L.randn(2, 3)), meta(L.randn((2, 3), dtype=L.float64)),
                              meta(L.randn(size=(2,), generator=gen(L))),
                              meta(L.randn(2, layout=strided(L)))],
    "arange_end": lambda L: L.arange(5),
    "arange_start_end": lambda L: L.arange(1, 5),
    "arange_step": lambda L: L.arange(1, 5, 2),
    "arange_float": lambda L: L.arange(0, 1, 0.25),
    "arange_end_kw": lambda L: L.arange(end=5),
    "arange_start_end_kw": lambda L: L.arange(start=1, end=5),
    "arange_step_kw": lambda L: L.arange(1, 5, step=2),
    "arange_dtype": lambda L: L.arange(5, dtype=L.float32),
    "arange_layout": lambda L: L.arange(5, layout=strided(L), pin_memory=False),
    "arange_requires_grad": lambda L: L.arange(5.0, requires_grad=True).requires_grad,
    "arange_requires_grad_int": lambda L: L.arange(5, requires_grad=True),
    "arange_zero_step": lambda L: L.arange(1, 5, 0),
    "linspace_forms": lambda L: [L.linspace(0, 1, 5), L.linspace(0, 1, steps=5),
                                 L.linspace(start=0, end=1, steps=5),
                                 L.linspace(0, 10, 5, dtype=L.int64),
                                 L.linspace(0, 1, 3, layout=strided(L), pin_memory=False)],
    "linspace_negative": lambda L: L.linspace(0, 1, -1),
    "logspace_forms": lambda L: [L.logspace(0, 2, 3), L.logspace(0, 2, steps=3, base=2),
                                 L.logspace(0, 2, 3, 2.0), L.logspace(0, 2, 3, dtype=L.float64),
                                 L.logspace(0, 2, 3, layout=strided(L))],
    "logspace_requires_grad": lambda L: L.logspace(0, 2, 3, requires_grad=True).requires_grad,
    "logspace_negative": lambda L: L.logspace(0, 2, -1),
    "eye_forms": lambda L: [L.eye(3), L.eye(2, 3), L.eye(n=2, m=3), L.eye(3, dtype=L.int64),
                            L.eye(2, layout=strided(L), pin_memory=False)],
    "eye_negative": lambda L: L.eye(-1),
    "like_forms": lambda L: [L.zeros_like(L.ones(2, 3)),
                             L.zeros_like(L.ones(2, 3), dtype=L.int64),
                             L.zeros_like(input=L.ones(2)),
                             L.ones_like(L.ones(2), layout=strided(L), pin_memory=False),
                             L.empty_like(L.ones(2, 3)).shape,
                             L.full_like(L.ones(2, 3), 7),
                             L.full_like(L.ones(2), 7.5, dtype=L.int64),
                             L.full_like(L.ones(2), 1, layout=strided(L)),
                             meta(L.rand_like(L.ones(2, 3))),
                             meta(L.randn_like(L.ones(2), dtype=L.float64)),
                             L.ones_like(L.ones(2), requires_grad=True).requires_grad],
    "rand_like_int": lambda L: L.rand_like(L.ones(2, dtype=L.int64)),
    "tensor_forms": lambda L: [L.tensor([1, 2]), L.tensor(data=[1.0]), L.tensor(range(3)),
                               L.tensor([1, 2], device="cpu"),
                               L.tensor([1.0], pin_memory=False),
                               L.tensor(3.0, requires_grad=True).requires_grad],
    "tensor_requires_grad_int": lambda L: L.tensor([1, 2], requires_grad=True),
    "as_tensor_forms": lambda L: [L.as_tensor([1, 2]), L.as_tensor([1, 2], dtype=L.float32),
                                  L.as_tensor(np.arange(3)), L.as_tensor(data=[1, 2]),
                                  L.as_tensor(range(3)), L.as_tensor(3), L.as_tensor((1, 2.0)),
                                  L.as_tensor(np.arange(3), dtype=L.float32)],
    "from_numpy_forms": lambda L: [L.from_numpy(np.arange(3)), L.from_numpy(np.array(1.5))],
    "from_numpy_list": lambda L: L.from_numpy([1, 2]),
    "randperm_forms": lambda L: [meta(L.randperm(5)), meta(L.randperm(5, dtype=L.float32)),
                                 meta(L.randperm(5, generator=gen(L))), L.randperm(0),
                                 meta(L.randperm(5, dtype=L.float32, requires_grad=True)),
                                 meta(L.randperm(3, layout=strided(L), pin_memory=False))],
    "randperm_requires_grad_int": lambda L: L.randperm(5, requires_grad=True),
    "randperm_negative": lambda L: L.randperm(-1),
}


@requires_torch
@pytest.mark.parametrize("name", list(FACTORIES))
def test_factory_forms_match_torch(name):
    check_behaviour(FACTORIES[name])


@requires_torch
@pytest.mark.parametrize("fn", [
    lambda L: L.randint(3),
    lambda L: L.randint(size=(2,)),
    lambda L: L.randint(1.5, (2,)),
    lambda L: L.randint(1, 2, 3, (2,)),
    lambda L: L.randint(1, 3, (2,), low=1),
    lambda L: L.zeros(2, layout=1),
], ids=["no_size", "no_high", "float_bound", "too_many", "low_twice",
                                                       "layout_not_a_layout"])
def test_factory_misuse_raises_like_torch(fn):
    # Same exception type; PyTorch's text lists its C++ overloads, which brickwork abbreviates.
    with pytest.raises(TypeError):
        fn(torch)
    with pytest.raises(TypeError):
        fn(brickwork)


@pytest.mark.parametrize("call", [
    lambda: brickwork.zeros(2, layout=factories.sparse_coo),
    lambda: brickwork.randint(3, (2,), layout=factories.sparse_csr),
    lambda: brickwork.ones_like(brickwork.ones(2), layout=factories.sparse_coo),
], ids=["zeros", "randint", "ones_like"])
def test_sparse_layouts_are_refused_by_name(call):
    with pytest.raises(NotImplementedError, match="layout=brickwork.sparse"):
        call()


@pytest.mark.parametrize("call", [
    lambda: brickwork.zeros(2, pin_memory=True),
    lambda: brickwork.tensor([1.0], pin_memory=True),
    lambda: brickwork.rand(2, pin_memory=True),
    lambda: brickwork.randint(3, (2,), pin_memory=True),
    lambda: brickwork.full_like(brickwork.ones(2), 1, pin_memory=True),
], ids=["zeros", "tensor", "rand", "randint", "full_like"])
def test_pin_memory_true_is_refused_by_name(call):
    with pytest.raises(NotImplementedError, match="pin_memory=True"):
        call()


def test_random_factories_without_torch():
    a = brickwork.randint(2, 7, (1000,), generator=brickwork.Generator().manual_seed(3))
    b = brickwork.randint(low=2, high=7, size=[1000],
                          generator=brickwork.Generator().manual_seed(3))
    assert a.dtype == brickwork.int64 and (a == b).all()
    assert int(a.min()) == 2 and int(a.max()) == 6
    assert sorted(brickwork.randperm(6)._host().tolist()) == list(range(6))
    assert brickwork.randint(3, size=(4, 5)).shape == (4, 5)
    assert brickwork.arange(end=3)._host().tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="from=3 >= to=1"):
        brickwork.randint(3, 1, (2,))


# -- autograd.Variable ----------------------------------------------------------------------------
VARIABLE = {
    "requires_grad": lambda L: (lambda v: (v, v.requires_grad, v.is_leaf, type(v).__name__))(
        L.autograd.Variable(L.ones(2), requires_grad=True)),
    "positional_requires_grad": lambda L: L.autograd.Variable(L.ones(2), True).requires_grad,
    "plain": lambda L: (lambda v: (v, v.requires_grad))(L.autograd.Variable(L.ones(2))),
    "empty": lambda L: L.autograd.Variable(),
    "shares_memory_not_identity": lambda L: (lambda t: (lambda v: (
        v is t, t.requires_grad, t.add_(1), v.detach()))(
        L.autograd.Variable(t, requires_grad=True)))(L.ones(2)),
    "detaches": lambda L: (lambda v: (v.grad_fn is None, v.is_leaf, v.requires_grad))(
        L.autograd.Variable(L.ones(2, requires_grad=True) * 2)),
    "isinstance": lambda L: (isinstance(L.ones(2), L.autograd.Variable),
                             isinstance(1.0, L.autograd.Variable),
                             isinstance(np.ones(2), L.autograd.Variable)),
    "backward": lambda L: (lambda v: ((v * v).sum().backward(), v.grad)[1])(
        L.autograd.Variable(L.tensor([1.0, 2.0]), requires_grad=True)),
    "int_requires_grad": lambda L: L.autograd.Variable(L.tensor([1, 2]), requires_grad=True),
    "not_a_tensor": lambda L: L.autograd.Variable([1, 2]),
    "bad_keyword": lambda L: L.autograd.Variable(L.ones(2), foo=1),
    "volatile_and_requires_grad": lambda L: L.autograd.Variable(L.ones(2), True, True),
}


@requires_torch
@pytest.mark.parametrize("name", list(VARIABLE))
def test_variable_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "bad_keyword":  # both TypeError; the texts differ (C++ vs Python parser)
            with pytest.raises(TypeError):
                VARIABLE[name](torch)
            with pytest.raises(TypeError):
                VARIABLE[name](brickwork)
            return
        check_behaviour(VARIABLE[name])


def test_variable_without_torch():
    from brickwork.autograd import Variable

    x = Variable(brickwork.ones(3), requires_grad=True)
    assert type(x) is brickwork.Tensor and x.requires_grad and isinstance(x, Variable)
    (x * 3).sum().backward()
    assert x.grad._host().tolist() == [3.0, 3.0, 3.0]
    with pytest.warns(UserWarning, match="volatile was removed"):
        v = Variable(brickwork.ones(1), volatile=True)
    assert not v.requires_grad


# -- the same forms on the (simulated) GPU ------------------------------------------------------
@pytest.mark.parametrize("device", ["cpu", "simcuda"])
def test_forms_follow_the_device(device):
    from brickwork.device import device_of_array

    with brickwork_device(device) as dev:
        made = [brickwork.randint(3, size=(4, 5), device=dev),
                brickwork.zeros(size=[2, 3], device=dev, layout=factories.strided),
                brickwork.arange(end=4, device=dev), brickwork.randperm(4, device=dev),
                brickwork.randint_like(brickwork.ones(2, device=dev), high=5)]
        x = brickwork.tensor(ARR, device=dev)
        made += [x[range(3), [0, 3, 2]], x[np.array([1.0, 0.0])], x.sum(axis=0, keepdims=True),
                 brickwork.cumsum(x, axis=1), x.flip(dims=[0])]
        x[range(2)] = 0.0
        made.append(x)
        for t in made:
            assert t.device == brickwork.device(dev) and device_of_array(t._data) == t.device
        np.testing.assert_array_equal(made[5]._host(), ARR[[0, 1, 2], [0, 3, 2]])
        assert not x[:2]._host().any()


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "cummax", "cummin", "logcumsumexp",
                                  "diff", "trapezoid", "cumulative_trapezoid", "nanmean",
                                  "aminmax", "nanmedian", "mode", "count_nonzero", "gradient"])
def test_axis_alias_on_the_newer_families(name):
    # PyTorch's argument parser takes axis= for dim= on these too.
    check_behaviour(lambda L: getattr(L, name)(L.arange(12.).reshape(3, 4), axis=0))


def test_float_of_a_tensor_that_requires_grad_warns_once(monkeypatch):
    # PyTorch's TORCH_WARN_ONCE: the first float() of such a tensor in a process warns;
    # int(), .item(), float() of a detached tensor or under no_grad never do
    import sys

    monkeypatch.setattr(sys.modules["brickwork.tensor"], "_FLOAT_WARNED", False)
    x = brickwork.ones((), requires_grad=True) * 2
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        int(x), x.item(), float(x.detach())
        with brickwork.no_grad():
            float(x)
        assert not seen
        float(x)
        float(x)
    assert len(seen) == 1 and seen[0].category is UserWarning
    # the text PyTorch prints, up to its "(Triggered internally at ...)" source location
    assert str(seen[0].message).startswith(
        "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
        "behavior.\nConsider using tensor.detach() first.")


def test_floating_point_exceptions_pass_silently_as_in_pytorch():
    # NumPy warns of inf - inf or an overflow from the line running the ufunc; PyTorch says
    # nothing, and neither does a script on brickwork (a filter installed at import, for its
    # own modules; an import inside warnings.catch_warnings, as pytest's, loses it on exit);
    # the script's own NumPy code keeps its warnings
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "import brickwork as torch\n"
        "z = torch.tensor([0.0, -1.0, float('inf'), float('nan')])\n"
        "z - z, z * torch.zeros(4), torch.tensor([60000.0]).half() * 10\n"
        "torch.softmax(torch.tensor([float('inf'), 1.0]), 0)\n"
        "torch.tensor([float('nan')]).long(), torch.tensor([1e10]).half()\n"
        "np.array([np.inf]) - np.array([np.inf])\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("RuntimeWarning") == 1
    assert "<string>:7: RuntimeWarning: invalid value encountered in subtract" in run.stderr
