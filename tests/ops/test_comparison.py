"""Comparisons, logical/bitwise ops and ``where`` against PyTorch and NumPy."""
from __future__ import annotations

import operator

import numpy as np
import pytest

import brickwork
from helpers import check_error, check_op, rand_array, to_brick

CMP = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]
SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((0, 3), (3,))]


def _ints(shape, seed=0):
    return rand_array(shape, "int64", -2, 3, seed=seed)


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("op", CMP)
def test_comparisons(sa, sb, op):
    out = check_op(lambda lib, a, b: op(a, b), [_ints(sa), _ints(sb, 1)])
    assert out[0].dtype == brickwork.bool
    check_op(lambda lib, a, b: op(a, b), [_ints(sa).astype("float32"), _ints(sb, 1)])


@pytest.mark.parametrize("op", CMP)
@pytest.mark.parametrize("scalar", [0, 0.5, True])
def test_comparisons_with_scalars(op, scalar):
    check_op(lambda lib, a: (op(a, scalar), op(scalar, a)), [_ints((2, 3))])


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "less_equal",
                                  "not_equal", "greater_equal", "less"])
def test_named_comparisons(name):
    check_op(lambda lib, a, b: (getattr(lib, name)(a, b), getattr(a, name)(b)),
             [_ints((2, 3)), _ints((3,), 1)])


@pytest.mark.parametrize("op", CMP)
def test_comparison_shape_mismatch(op):
    err = check_error(lambda lib, a, b: op(a, b), [(2, 3), (4,)], match_message=False)
    assert "(3)" in str(err) and "(4)" in str(err)


@pytest.mark.parametrize("dtype", ["bool", "int64", "uint8", "int32"])
@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor])
def test_bitwise(dtype, op):
    a, b = rand_array((2, 3), dtype, 0, 4), rand_array((3,), dtype, 0, 4, seed=1)
    check_op(lambda lib, x, y: op(x, y), [a, b])


@pytest.mark.parametrize("dtype", ["bool", "int64", "uint8"])
def test_invert(dtype):
    check_op(lambda lib, x: (~x, lib.bitwise_not(x)), [rand_array((2, 3), dtype, 0, 4)])


def test_bitwise_errors():
    check_error(lambda lib, x: ~x, [(2,)])
    check_error(lambda lib, x, y: x & y, [(2,), rand_array((2,), "int64")])


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical(name):
    a, b = rand_array((2, 3), "int64", -1, 2), rand_array((2, 3), "float32", seed=1)
    check_op(lambda lib, x, y: getattr(lib, name)(x, y), [a, b], grad=[False, False])
    check_op(lambda lib, x: (lib.logical_not(x), x.logical_not()), [a])


def test_nan_inf_checks_and_closeness():
    a = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], dtype="float32")
    check_op(lambda lib, x: (lib.isnan(x), lib.isinf(x), lib.isfinite(x)), [a], grad=[False])
    b = a * np.float32(1 + 1e-7)
    check_op(lambda lib, x, y: (lib.isclose(x, y), lib.isclose(x, y, equal_nan=True)), [a, b],
             grad=[False, False])
    x, y = to_brick(a), to_brick(b)
    assert brickwork.allclose(x, y, equal_nan=True) and not brickwork.allclose(x, y)
    assert brickwork.equal(to_brick(a[:1]), to_brick(a[:1]))
    assert not brickwork.equal(to_brick(a[:1]), to_brick(b[:1]))


@pytest.mark.parametrize("sc,sa,sb", [((2, 3), (2, 3), (2, 3)), ((2, 3), (3,), ()),
                                      ((2, 1), (1, 3), (2, 3)), ((), (3,), (3,))])
def test_where(sc, sa, sb):
    out = check_op(lambda lib, c, a, b: lib.where(c, a, b),
                   [rand_array(sc, "bool"), (sa), rand_array(sb, "float32", seed=2)])
    if out[0].requires_grad:
        assert type(out[0].grad_fn).__name__ == "WhereBackward0"


def test_where_dtype_and_errors():
    cond = rand_array((3,), "bool")
    check_op(lambda lib, c, a: lib.where(c, a, 2.5), [cond, _ints((3,))])
    check_op(lambda lib, c, a, b: lib.where(c, a, b), [cond, _ints((3,)),
                                                       rand_array((3,), "float64")])
    check_error(lambda lib, c, a: lib.where(c, a, a), [_ints((3,)), (3,)], match_message=False)


def test_numpy_expectations():
    a, b = _ints((3, 4)), _ints((4,), 1)
    x, y = to_brick(a), to_brick(b)
    np.testing.assert_array_equal((x < y)._host(), a < b)
    np.testing.assert_array_equal((x == 1)._host(), a == 1)
    np.testing.assert_array_equal((x & y)._host(), a & b)
    np.testing.assert_array_equal(brickwork.where(x > 0, x, y)._host(), np.where(a > 0, a, b))
