"""Tensor creation: every factory against PyTorch (values, shapes, dtypes, errors)."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from helpers import check_op, requires_torch, torch

# Each entry is written once against the shared API and run on both libraries.
DETERMINISTIC = {
    "tensor_ints": lambda lib: lib.tensor([1, 2, 3]),
    "tensor_floats": lambda lib: lib.tensor([[1.5, 2.0], [3.0, -4.25]]),
    "tensor_mixed": lambda lib: lib.tensor([1, 2.5, True]),
    "tensor_bool": lambda lib: lib.tensor([True, False]),
    "tensor_bool_int": lambda lib: lib.tensor([True, 1]),
    "tensor_scalar_int": lambda lib: lib.tensor(3),
    "tensor_scalar_float": lambda lib: lib.tensor(2.5),
    "tensor_empty": lambda lib: lib.tensor([]),
    "tensor_empty_nested": lambda lib: lib.tensor([[]]),
    "tensor_tuple": lambda lib: lib.tensor((1, 2)),
    "tensor_range": lambda lib: lib.tensor(range(4)),
    "tensor_np_int32": lambda lib: lib.tensor(np.array([1, 2], dtype=np.int32)),
    "tensor_np_float64": lambda lib: lib.tensor(np.array([1.5, 2.5])),
    "tensor_np_scalar": lambda lib: lib.tensor(np.float64(2.5)),
    "tensor_np_int_scalar": lambda lib: lib.tensor(np.int32(3)),
    "tensor_dtype_f64": lambda lib: lib.tensor([[1, 2], [3, 4]], dtype=lib.float64),
    "tensor_dtype_python_float": lambda lib: lib.tensor([1, 2], dtype=float),
    "tensor_dtype_truncates": lambda lib: lib.tensor([1.5, -2.5], dtype=lib.int64),
    "tensor_of_tensors": lambda lib: lib.tensor([lib.tensor(1.5), lib.tensor(2.0)]),
    "tensor_copy_of_tensor": lambda lib: lib.tensor(lib.tensor([1, 2], dtype=lib.int16)),
    "as_tensor_list": lambda lib: lib.as_tensor([1, 2]),
    "as_tensor_dtype": lambda lib: lib.as_tensor([1, 2], dtype=lib.float32),
    "as_tensor_np": lambda lib: lib.as_tensor(np.array([1.0, 2.0])),
    "from_numpy": lambda lib: lib.from_numpy(np.arange(6, dtype=np.int32).reshape(2, 3)),
    "zeros_varargs": lambda lib: lib.zeros(2, 3),
    "zeros_tuple": lambda lib: lib.zeros((2, 3)),
    "zeros_list": lambda lib: lib.zeros([2, 3]),
    "zeros_size_kw": lambda lib: lib.zeros(size=(2, 3)),
    "zeros_size_obj": lambda lib: lib.zeros(lib.Size([2, 3])),
    "zeros_scalar": lambda lib: lib.zeros(()),
    "zeros_empty": lambda lib: lib.zeros(0, 4),
    "zeros_python_int_dtype": lambda lib: lib.zeros(2, dtype=int),
    "zeros_python_float_dtype": lambda lib: lib.zeros(2, dtype=float),
    "zeros_python_bool_dtype": lambda lib: lib.zeros(2, dtype=bool),
    "ones_int32": lambda lib: lib.ones(2, dtype=lib.int32),
    "ones_size_kw": lambda lib: lib.ones(size=[2, 1]),
    "ones_f16": lambda lib: lib.ones(3, 1, dtype=lib.float16),
    "empty_shape": lambda lib: lib.empty(2, 3).shape,
    "empty_size_kw": lambda lib: lib.empty(size=(4,)).fill_(1),
    "full_int": lambda lib: lib.full((2, 2), 7),
    "full_float": lambda lib: lib.full((2, 2), 7.0),
    "full_bool": lambda lib: lib.full((2,), True),
    "full_dtype": lambda lib: lib.full([2], 1.5, dtype=lib.float64),
    "full_scalar": lambda lib: lib.full((), 2.5),
    "full_to_bool": lambda lib: lib.full((2,), 3, dtype=lib.bool),
    "arange_end": lambda lib: lib.arange(5),
    "arange_start_end": lambda lib: lib.arange(1, 4),
    "arange_float_step": lambda lib: lib.arange(0, 1, 0.1),
    "arange_float_end": lambda lib: lib.arange(5.0),
    "arange_negative_step": lambda lib: lib.arange(10, 0, -3),
    "arange_float_start": lambda lib: lib.arange(-1.5, 2),
    "arange_inexact": lambda lib: lib.arange(0.0, 1.05, 0.35),
    "arange_dtype": lambda lib: lib.arange(0, 5, 2, dtype=lib.float32),
    "arange_dtype_f64": lambda lib: lib.arange(1, 2, dtype=lib.float64),
    "arange_empty": lambda lib: lib.arange(0),
    "linspace": lambda lib: lib.linspace(0, 1, 5),
    "linspace_odd": lambda lib: lib.linspace(-10, 10, steps=7),
    "linspace_long": lambda lib: lib.linspace(-3.3, 7.1, 1000),
    "linspace_one": lambda lib: lib.linspace(3, 1, 1),
    "linspace_zero": lambda lib: lib.linspace(0, 1, 0),
    "linspace_int": lambda lib: lib.linspace(0, 10, 5, dtype=lib.int64),
    "linspace_int_negative": lambda lib: lib.linspace(-1, 2, 7, dtype=lib.int64),
    "linspace_f64": lambda lib: lib.linspace(0, 1, 33, dtype=lib.float64),
    "logspace": lambda lib: lib.logspace(0, 2, 3),
    "eye": lambda lib: lib.eye(3),
    "eye_rect": lambda lib: lib.eye(2, 3),
    "eye_int": lambda lib: lib.eye(2, dtype=lib.int64),
    "eye_empty": lambda lib: lib.eye(0),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2, dtype=lib.int32)),
    "zeros_like_dtype": lambda lib: lib.zeros_like(lib.ones(2, 3), dtype=lib.int64),
    "ones_like": lambda lib: lib.ones_like(lib.ones(2, 3)),
    "full_like": lambda lib: lib.full_like(lib.ones(2), 3),
    "full_like_int_truncates": lambda lib: lib.full_like(lib.ones(2, dtype=lib.int64), 3.7),
    "full_like_bool": lambda lib: lib.full_like(lib.ones(2), 2, dtype=lib.bool),
    "empty_like": lambda lib: lib.empty_like(lib.ones(2, dtype=lib.float64)).fill_(1),
    "legacy_float": lambda lib: lib.FloatTensor([1, 2, 3]),
    "legacy_float_shape": lambda lib: lib.FloatTensor(2, 3).shape,
    "legacy_long": lambda lib: lib.LongTensor([1, 2, 3]),
    "legacy_long_truncates": lambda lib: lib.LongTensor([1.7]),
    "legacy_double": lambda lib: lib.DoubleTensor([1, 2]),
    "legacy_int": lambda lib: lib.IntTensor([[1], [2]]),
    "legacy_bool": lambda lib: lib.BoolTensor([1, 0]),
    "legacy_byte": lambda lib: lib.ByteTensor([1, 255]),
    "Tensor_data": lambda lib: lib.Tensor([1, 2]),
    "Tensor_sizes": lambda lib: lib.Tensor(2, 3).shape,
    "new_zeros": lambda lib: lib.ones(2, dtype=lib.int32).new_zeros(3),
    "new_zeros_tuple": lambda lib: lib.ones(2).new_zeros((3, 2)),
    "new_ones_dtype": lambda lib: lib.ones(2).new_ones(2, dtype=lib.int64),
    "new_full": lambda lib: lib.ones(2).new_full((2,), 3),
    "new_tensor": lambda lib: lib.ones(3, dtype=lib.int32).new_tensor([1.5]),
    "new_empty": lambda lib: lib.ones(2, dtype=lib.float64).new_empty(3).shape,
}


@requires_torch
@pytest.mark.filterwarnings("ignore:To copy construct from a tensor")
@pytest.mark.parametrize("name", list(DETERMINISTIC))
def test_factory_matches_torch(name):
    check_op(DETERMINISTIC[name], [], atol=0, rtol=0)


RANDOM = {
    "rand": lambda lib: lib.rand(2, 3),
    "rand_tuple": lambda lib: lib.rand((2, 3)),
    "rand_size_kw": lambda lib: lib.rand(size=(4,)),
    "rand_f64": lambda lib: lib.rand(3, dtype=lib.float64),
    "randn": lambda lib: lib.randn(2, 3),
    "randn_size_kw": lambda lib: lib.randn(size=(2, 3)),
    "randn_scalar": lambda lib: lib.randn(()),
    "randint": lambda lib: lib.randint(0, 10, (3,)),
    "randint_high_only": lambda lib: lib.randint(10, (3, 2)),
    "randint_size_kw": lambda lib: lib.randint(3, 10, size=(2, 2)),
    "randint_dtype": lambda lib: lib.randint(0, 10, (3,), dtype=lib.float32),
    "randint_int32": lambda lib: lib.randint(3, (2, 2), dtype=lib.int32),
    "normal_size": lambda lib: lib.normal(0, 1, size=(2, 3)),
    "normal_tensor_mean": lambda lib: lib.normal(lib.zeros(3), 1.0),
    "normal_tensors": lambda lib: lib.normal(lib.zeros(3), lib.ones(3)),
    "normal_broadcast": lambda lib: lib.normal(lib.zeros(2, 3), lib.ones(3)),
    "normal_f64": lambda lib: lib.normal(lib.zeros(2, dtype=lib.float64), 1.0),
    "normal_scalar_mean_tensor_std": lambda lib: lib.normal(2.0, lib.ones(2, 3)),
    "rand_like": lambda lib: lib.rand_like(lib.ones(2)),
    "randn_like": lambda lib: lib.randn_like(lib.ones(2, dtype=lib.float64)),
    "randint_like": lambda lib: lib.randint_like(lib.ones(2, 3), 5),
    "randint_like_low": lambda lib: lib.randint_like(lib.ones(2, 3), 2, 5),
    "randperm": lambda lib: lib.randperm(6),
}


@requires_torch
@pytest.mark.parametrize("name", list(RANDOM))
def test_random_factory_shape_and_dtype_match_torch(name):
    fn = RANDOM[name]
    b, t = fn(brickwork), fn(torch)
    assert tuple(b.shape) == tuple(t.shape)
    assert str(b.dtype).replace("brickwork.", "") == str(t.dtype).replace("torch.", "")
    assert b.requires_grad is False


def test_random_values_are_in_range_and_distributed():
    brickwork.manual_seed(0)
    u = brickwork.rand(10000).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    z = brickwork.randn(10000).numpy()
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
    n = brickwork.normal(3.0, 2.0, size=(10000,)).numpy()
    assert abs(n.mean() - 3) < 0.1 and abs(n.std() - 2) < 0.1
    r = brickwork.randint(2, 5, (1000,)).numpy()
    assert set(np.unique(r)) == {2, 3, 4}
    p = brickwork.randperm(50).numpy()
    assert sorted(p.tolist()) == list(range(50))


@pytest.mark.parametrize("draw", [
    lambda: brickwork.rand(3, 2), lambda: brickwork.randn(4), lambda: brickwork.randint(0, 9, (5,)),
    lambda: brickwork.normal(0.0, 1.0, size=(3,)), lambda: brickwork.randperm(7),
])
def test_manual_seed_repeats_draws(draw):
    brickwork.manual_seed(123)
    first = draw().numpy().copy()
    brickwork.manual_seed(123)
    np.testing.assert_array_equal(draw().numpy(), first)
    brickwork.manual_seed(124)
    assert not np.array_equal(draw().numpy(), first) or first.size < 2


def test_generator_argument_is_independent_of_global_seed():
    g = brickwork.Generator().manual_seed(5)
    a = brickwork.rand(4, generator=g).numpy().copy()
    brickwork.manual_seed(0)
    brickwork.rand(10)
    g.manual_seed(5)
    np.testing.assert_array_equal(brickwork.rand(4, generator=g).numpy(), a)


def test_requires_grad_keyword():
    for t in (brickwork.zeros(2, requires_grad=True), brickwork.rand(2, requires_grad=True),
              brickwork.tensor([1.0], requires_grad=True),
              brickwork.full((2,), 1, dtype=brickwork.float32, requires_grad=True)):
        assert t.requires_grad and t.is_leaf and t.grad_fn is None


def test_from_numpy_and_as_tensor_share_memory():
    a = np.array([1.0, 2.0])
    t = brickwork.from_numpy(a)
    t[0] = 5
    assert a[0] == 5
    brickwork.as_tensor(a)[1] = 7
    assert a[1] == 7
    assert t.dtype is brickwork.float64
    x = brickwork.ones(2)
    assert brickwork.as_tensor(x) is x
    assert brickwork.as_tensor(x, dtype=brickwork.float64) is not x


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0], np.float32)
    t = brickwork.tensor(a)
    a[0] = 9
    assert t.tolist() == [1.0, 2.0]


def test_numpy_expectations_without_torch():
    np.testing.assert_array_equal(brickwork.arange(1, 10, 3).numpy(), np.arange(1, 10, 3))
    np.testing.assert_array_equal(brickwork.eye(3, 2).numpy(), np.eye(3, 2, dtype=np.float32))
    np.testing.assert_allclose(brickwork.linspace(0, 1, 11).numpy(), np.linspace(0, 1, 11),
                               rtol=1e-6)
    assert brickwork.full((2, 3), 1.5).numpy().tolist() == np.full((2, 3), 1.5).tolist()
    assert brickwork.zeros(2, 3).dtype is brickwork.float32
    assert brickwork.tensor([1, 2]).dtype is brickwork.int64


ERRORS = {
    "ragged": lambda lib: lib.tensor([[1, 2], [3]]),
    "ragged_deep": lambda lib: lib.tensor([[[1], [2]], [[1], [2, 3]]]),
    "not_a_sequence": lambda lib: lib.tensor([[1, 2], 3]),
    "list_in_numbers": lambda lib: lib.tensor([1, [2]]),
    "string": lambda lib: lib.tensor("a"),
    "none": lambda lib: lib.tensor([None]),
    "negative_size": lambda lib: lib.ones(-1),
    "negative_size_zeros": lambda lib: lib.zeros(-1),
    "negative_size_full": lambda lib: lib.full((2, -1), 2),
    "float_size": lambda lib: lib.ones(2.5),
    "float_size_in_tuple": lambda lib: lib.ones((2, 2.5)),
    "float_size_vararg": lambda lib: lib.rand(2, 2.5),
    "size_twice": lambda lib: lib.zeros(2, size=(2,)),
    "randint_empty_range": lambda lib: lib.randint(5, 3, (2,)),
    "rand_int_dtype": lambda lib: lib.rand(2, dtype=lib.int64),
    "randn_int_dtype": lambda lib: lib.randn(2, dtype=lib.int64),
    "arange_zero_step": lambda lib: lib.arange(0, 5, 0),
    "arange_wrong_sign": lambda lib: lib.arange(5, 0),
    "arange_wrong_sign_step": lambda lib: lib.arange(0, 5, -1),
    "linspace_negative": lambda lib: lib.linspace(0, 1, -1),
    "eye_negative": lambda lib: lib.eye(-1),
    "int_requires_grad": lambda lib: lib.zeros(2, dtype=lib.int64, requires_grad=True),
    "int_tensor_requires_grad": lambda lib: lib.tensor([1, 2], requires_grad=True),
}


@requires_torch
@pytest.mark.parametrize("name", list(ERRORS))
def test_factory_errors_match_torch(name):
    fn = ERRORS[name]
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(type(t_err.value)) as b_err:
        fn(brickwork)
    assert str(b_err.value) == str(t_err.value).replace("torch.", "brickwork.")


def test_tensor_with_float64_dtype_keeps_python_float_precision():
    # Python floats are doubles: a requested float64 must not round them through float32.
    assert brickwork.tensor([170.2], dtype=brickwork.float64).item() == 170.2
    assert brickwork.tensor(0.1, dtype=brickwork.float64).item() == 0.1
    assert brickwork.tensor([0.1]).dtype == brickwork.float32
