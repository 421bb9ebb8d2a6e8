"""dtypes and PyTorch's promotion rules, checked pair by pair against torch."""
from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

import brickwork
from brickwork import dtypes
from helpers import requires_torch, torch

NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


@requires_torch
@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_table_matches_torch(a, b):
    got = brickwork.promote_types(getattr(brickwork, a), getattr(brickwork, b))
    assert got.name == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))[6:]


def _operand(lib, kind, name):
    """A dimensioned tensor, a zero-dim tensor or a Python scalar of the given dtype."""
    if kind == "scalar":
        return {"bool": True, "float32": 2.5}.get(name, 3)
    shape = () if kind == "zero" else (2,)
    return lib.ones(shape, dtype=getattr(lib, name))


OPERAND_CASES = [(ka, na, kb, nb)
                 for ka, kb in [("dim", "dim"), ("dim", "zero"), ("zero", "dim"),
                                ("dim", "scalar"), ("zero", "zero"), ("zero", "scalar")]
                 for na in ["float16", "float64", "int32", "uint8", "bool", "int64"]
                 for nb in (["bool", "int64", "float32"] if kb == "scalar"
                            else ["float32", "int8", "bool", "float64"])]


@requires_torch
@pytest.mark.parametrize("ka,na,kb,nb", OPERAND_CASES)
def test_result_type_and_add_dtype_match_torch(ka, na, kb, nb):
    b_args = (_operand(brickwork, ka, na), _operand(brickwork, kb, nb))
    t_args = (_operand(torch, ka, na), _operand(torch, kb, nb))
    want = str(torch.result_type(*t_args))[6:]
    assert brickwork.result_type(*b_args).name == want
    if not (na == "bool" and nb == "bool" and kb == "scalar"):
        assert (b_args[0] + b_args[1]).dtype.name == str((t_args[0] + t_args[1]).dtype)[6:]


@requires_torch
@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes_match_torch(name):
    b, t = getattr(brickwork, name), getattr(torch, name)
    assert repr(b) == repr(t).replace("torch.", "brickwork.")
    assert str(b) == repr(b)
    assert b.is_floating_point == t.is_floating_point
    assert b.is_signed == t.is_signed
    assert b.itemsize == t.itemsize
    assert b.is_complex is False


def test_aliases_and_python_types():
    assert brickwork.float is brickwork.float32 and brickwork.double is brickwork.float64
    assert brickwork.half is brickwork.float16 and brickwork.long is brickwork.int64
    assert brickwork.int is brickwork.int32 and brickwork.short is brickwork.int16
    assert dtypes.to_dtype(float) is brickwork.float64  # dtype=float means double in PyTorch
    assert dtypes.to_dtype(int) is brickwork.int64
    assert dtypes.to_dtype(bool) is brickwork.bool
    assert dtypes.to_dtype(np.float32) is brickwork.float32


def test_dtypes_pickle_to_the_same_object():
    for name in NAMES:
        d = getattr(brickwork, name)
        assert pickle.loads(pickle.dumps(d)) is d


def test_from_numpy_dtype_rejects_unsupported():
    assert dtypes.from_numpy_dtype(np.dtype("int16")) is brickwork.int16
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.clongdouble"):
        dtypes.from_numpy_dtype(np.clongdouble)


def test_default_dtype_round_trip():
    assert brickwork.get_default_dtype() is brickwork.float32
    brickwork.set_default_dtype(brickwork.float64)
    try:
        assert brickwork.tensor([1.5]).dtype is brickwork.float64
        assert brickwork.zeros(2).dtype is brickwork.float64
        assert brickwork.arange(0.5, 2).dtype is brickwork.float64
        assert brickwork.result_type(brickwork.tensor([1]), 1.5) is brickwork.float64
    finally:
        brickwork.set_default_dtype(brickwork.float32)
    assert brickwork.tensor([1.5]).dtype is brickwork.float32
    with pytest.raises(TypeError, match="only floating-point types"):
        brickwork.set_default_dtype(brickwork.int64)


def test_promotion_without_torch():
    p = brickwork.promote_types
    assert p(brickwork.int64, brickwork.float16) is brickwork.float16  # any float beats ints
    assert p(brickwork.uint8, brickwork.int8) is brickwork.int16
    assert p(brickwork.bool, brickwork.uint8) is brickwork.uint8
    r = brickwork.result_type
    assert r(brickwork.tensor([1], dtype=brickwork.int32), 1.5) is brickwork.float32
    assert r(brickwork.tensor([1], dtype=brickwork.uint8), 300) is brickwork.uint8
    assert r(brickwork.tensor([1], dtype=brickwork.int32), brickwork.tensor(1.0)) is \
        brickwork.float32
    assert r(brickwork.tensor([1.0], dtype=brickwork.float16),
             brickwork.tensor(1.0, dtype=brickwork.float64)) is brickwork.float16
