"""Tensor printing: ``repr(brickwork_tensor)`` must equal PyTorch's text, dtype prefix aside."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork
from brickwork._tensor_str import get_printoptions, printoptions, set_printoptions
from brickwork.device import device
from brickwork.tensor import _make
from helpers import requires_torch, torch


def torch_repr(t) -> str:
    return repr(t).replace("torch.", "brickwork.")


def assert_same_repr(arr: np.ndarray, requires_grad: bool = False) -> None:
    b = brickwork.from_numpy(np.array(arr, copy=True))
    t = torch.from_numpy(np.array(arr, copy=True))
    if requires_grad:
        b.requires_grad_()
        t.requires_grad_()
    assert repr(b) == torch_repr(t)
    assert str(b) == repr(b)


@pytest.fixture(autouse=True)
def _reset_printoptions():
    yield
    set_printoptions(profile="default")
    if torch is not None:
        torch.set_printoptions(profile="default")


_RNG = np.random.default_rng(0)
CASES = {
    "scalar": np.array(3.0, np.float32),
    "scalar_frac": np.array(-3.25, np.float32),
    "scalar_int": np.array(7),
    "scalar_bool": np.array(True),
    "scalar_nan": np.array(np.nan, np.float32),
    "ints_as_floats": np.arange(10, dtype=np.float32),
    "normal_2d": _RNG.standard_normal((3, 4)).astype(np.float32),
    "wide_wraps": _RNG.standard_normal((3, 40)).astype(np.float32),
    "sci_large": (_RNG.standard_normal((4, 5)) * 1e9).astype(np.float32),
    "sci_small": (_RNG.standard_normal(6) * 1e-6).astype(np.float64),
    "sci_ratio": np.array([1e-3, 1.0, 2.0], np.float32),
    "mixed_magnitude": np.array([0.5, 123.25, -7.0], np.float32),
    "special": np.array([np.nan, np.inf, -np.inf, 0.0, 1.5], np.float32),
    "special_only": np.array([np.nan, -np.inf, 0.0], np.float32),
    "negative_zero": np.array([-0.0, 1.0], np.float32),
    "zeros_3d": np.zeros((2, 3, 4), np.float32),
    "float16": _RNG.standard_normal((5, 5)).astype(np.float16),
    "float64": _RNG.standard_normal((2, 3)),
    "int32": np.arange(-6, 6, dtype=np.int32).reshape(3, 4),
    "int8": np.arange(-50, 50, dtype=np.int8),
    "uint8": np.arange(100, dtype=np.uint8),
    "int16": np.array([[1, -300], [2, 4]], np.int16),
    "bool": np.array([[True, False], [False, True]]),
    "big_ints": np.array([2**62, -5, 3]),
    "empty_1d_float": np.zeros(0, np.float32),
    "empty_1d_int": np.zeros(0, np.int64),
    "empty_2d": np.zeros((0, 3), np.float32),
    "empty_3d_bool": np.zeros((2, 0, 3), np.bool_),
    "empty_float64": np.zeros((3, 0)),
    "summarized_1d": np.arange(2000, dtype=np.float32) / 7,
    "summarized_2d": np.arange(2000).reshape(20, 100),
    "summarized_3d": _RNG.standard_normal((10, 11, 12)).astype(np.float32),
    "summarized_one_long_dim": _RNG.standard_normal((1001, 2)).astype(np.float32),
    "just_below_threshold": np.ones(1000, np.float32),
    "deep": np.arange(64, dtype=np.float32).reshape(2, 2, 2, 2, 2, 2),
    "single_row": np.ones((1, 7), np.float32),
}


@requires_torch
@pytest.mark.parametrize("name", list(CASES))
def test_repr_matches_torch(name):
    assert_same_repr(CASES[name])


@requires_torch
@pytest.mark.parametrize("name", ["scalar", "normal_2d", "wide_wraps", "sci_large", "float64",
                                  "empty_1d_float", "empty_2d", "summarized_3d"])
def test_requires_grad_suffix_matches_torch(name):
    assert_same_repr(CASES[name], requires_grad=True)


@requires_torch
@pytest.mark.parametrize("n", [1, 5, 11, 12, 13, 30])
def test_grad_fn_suffix_and_wrapping_match_torch(n):
    # Rows of different lengths put the suffix on the same line or push it to the next one.
    arr = np.linspace(-3, 3, n).astype(np.float64)
    b = brickwork.from_numpy(arr.copy()).requires_grad_() * 2
    t = torch.from_numpy(arr.copy()).requires_grad_() * 2
    assert repr(b) == torch_repr(t)
    assert "grad_fn=<MulBackward0>" in repr(b)


@requires_torch
@pytest.mark.parametrize("options", [
    {"precision": 2}, {"precision": 8}, {"threshold": 5}, {"edgeitems": 1, "threshold": 10},
    {"edgeitems": 0, "threshold": 10}, {"linewidth": 40}, {"sci_mode": True},
    {"sci_mode": False}, {"profile": "short"}, {"profile": "full"},
    {"profile": "short", "precision": 6},
])
@pytest.mark.parametrize("name", ["normal_2d", "sci_large", "summarized_2d", "summarized_1d",
                                  "int32", "scalar_frac", "empty_2d", "wide_wraps"])
def test_printoptions_match_torch(options, name):
    set_printoptions(**options)
    torch.set_printoptions(**options)
    assert_same_repr(CASES[name])


def test_printoptions_context_restores_and_get_reports():
    before = get_printoptions()
    with printoptions(precision=1):
        assert get_printoptions()["precision"] == 1
        assert repr(brickwork.tensor([1.25, 2.5])) == "tensor([1.2, 2.5])"
    assert get_printoptions() == before
    with pytest.raises(ValueError, match="unknown profile"):
        set_printoptions(profile="tiny")


def test_set_printoptions_is_public():
    from brickwork import _tensor_str

    public = getattr(brickwork, "set_printoptions", _tensor_str.set_printoptions)
    assert public is _tensor_str.set_printoptions


_DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
           np.bool_]


@st.composite
def arrays(draw):
    dt = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
    if dt.kind == "f":
        scale = 10.0 ** draw(st.integers(-6, 9))
        elements = st.one_of(st.floats(-1e4, 1e4, width=16),
                             st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0]))
        base = draw(hnp.arrays(np.float64, shape, elements=elements))
        if draw(st.booleans()):
            base = np.round(base)  # integer-valued floats print as "1."
        with np.errstate(over="ignore", invalid="ignore"):
            return (base * scale).astype(dt)
    return draw(hnp.arrays(dt, shape))


@requires_torch
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arr=arrays(), requires_grad=st.booleans())
def test_repr_matches_torch_hypothesis(arr, requires_grad):
    assert_same_repr(arr, requires_grad and arr.dtype.kind == "f")


@requires_torch
@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=8, max_side=40),
       seed=st.integers(0, 100))
def test_large_repr_matches_torch_hypothesis(shape, seed):
    arr = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    assert_same_repr(arr)


# -- expectations that need no torch -------------------------------------------------------------
def test_basic_text_without_torch():
    assert repr(brickwork.tensor(3.0)) == "tensor(3.)"
    assert repr(brickwork.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert repr(brickwork.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"
    assert repr(brickwork.zeros(0, 3)) == "tensor([], size=(0, 3))"
    assert repr(brickwork.tensor([True, False])) == "tensor([ True, False])"
    assert repr(brickwork.ones(2, dtype=brickwork.float64)) == \
        "tensor([1., 1.], dtype=brickwork.float64)"
    assert repr(brickwork.ones(2, requires_grad=True)) == "tensor([1., 1.], requires_grad=True)"


def test_summary_shows_edges_without_torch():
    text = repr(brickwork.arange(2000))
    assert text == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"


def test_device_suffix_for_cuda_tensors():
    # The repr only reads the device's name, so a CPU array tagged as cuda:0 shows the suffix.
    t = _make(np.array([1.0, 2.0], np.float32), device("cuda", 0))
    assert repr(t) == "tensor([1., 2.], device='cuda:0')"
    t._requires_grad = True
    assert repr(t) == "tensor([1., 2.], device='cuda:0', requires_grad=True)"


def test_default_dtype_float64_changes_which_dtype_is_shown():
    brickwork.set_default_dtype(brickwork.float64)
    try:
        assert repr(brickwork.tensor([1.5])) == "tensor([1.5000])"
        assert repr(brickwork.tensor([1.5], dtype=brickwork.float32)) == \
            "tensor([1.5000], dtype=brickwork.float32)"
    finally:
        brickwork.set_default_dtype(brickwork.float32)


def test_format_of_zero_dim_tensor():
    assert f"{brickwork.tensor(2.34567):.2f}" == "2.35"
    assert math.isclose(float(f"{brickwork.tensor(1.5)}"), 1.5)
