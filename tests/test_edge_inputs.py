"""Ops and modules under edge-case input (issue 14), against PyTorch.

Integer division by zero, losses on empty batches, all-ignored targets and refused dtypes,
layers on a batch of 0, and ``load_state_dict`` that must change nothing when it fails.
Each comparison runs the same code on brickwork and PyTorch (``check_behaviour``: equal
results, or the same exception type and text); a few checks need no PyTorch at all.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brickwork
from helpers import brickwork_device, check_behaviour, check_op, requires_torch

pytestmark = pytest.mark.timeout(60)

INT_DTYPES = ["int8", "uint8", "int32", "int64"]

# -- integer division by zero ------------------------------------------------------------------

DIVISIONS = {
    "floor_divide": lambda L, a, b: L.floor_divide(a, b),
    "remainder": lambda L, a, b: L.remainder(a, b),
    "fmod": lambda L, a, b: L.fmod(a, b),
    "div_floor": lambda L, a, b: L.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
    "operator //": lambda L, a, b: a // b,
    "operator %": lambda L, a, b: a % b,
}
INPLACE = {
    "//=": lambda a, b: a.__ifloordiv__(b),
    "%=": lambda a, b: a.__imod__(b),
    "floor_divide_": lambda a, b: a.floor_divide_(b),
    "remainder_": lambda a, b: a.remainder_(b),
    "fmod_": lambda a, b: a.fmod_(b),
    "div_ trunc": lambda a, b: a.div_(b, rounding_mode="trunc"),
    "div_ floor": lambda a, b: a.div_(b, rounding_mode="floor"),
}


def _dividend(L, dtype):
    values = [7, 5, 3] if dtype == "uint8" else [7, -5, 3]
    return L.tensor(values, dtype=getattr(L, dtype))


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("divisor", ["tensor", "scalar", "broadcast", "0-d"])
@pytest.mark.parametrize("op", list(DIVISIONS))
def test_integer_division_by_zero_raises_like_torch(op, divisor, dtype):
    def divide(L):
        a = _dividend(L, dtype)
        b = {"tensor": lambda: L.tensor([2, 0, 1], dtype=a.dtype),
             "scalar": lambda: 0,
             "broadcast": lambda: L.tensor([[1], [0]], dtype=a.dtype),
             "0-d": lambda: L.tensor(0, dtype=a.dtype)}[divisor]()
        return DIVISIONS[op](L, a, b)

    err = check_behaviour(divide)
    assert isinstance(err, RuntimeError) and str(err) == "ZeroDivisionError"


@pytest.mark.parametrize("op", list(DIVISIONS))
def test_reflected_integer_division_by_zero_raises_like_torch(op):
    if op.startswith("operator"):
        fn = {"operator //": lambda L: 7 // L.tensor([2, 0]),
              "operator %": lambda L: 7 % L.tensor([2, 0])}[op]
    else:
        fn = lambda L: DIVISIONS[op](L, L.tensor([7, 5]), L.tensor([3, 0]))  # noqa: E731
    check_behaviour(fn)


@pytest.mark.parametrize("divisor", ["tensor", "scalar"])
@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_integer_division_by_zero_raises_and_keeps_the_tensor(op, divisor):
    def divide(L):
        a = L.tensor([7, -5, 3])
        INPLACE[op](a, L.tensor([2, 0, 1]) if divisor == "tensor" else 0)
        return a

    check_behaviour(divide)
    a = brickwork.tensor([7, -5, 3])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        INPLACE[op](a, brickwork.tensor([2, 0, 1]))
    assert a.tolist() == [7, -5, 3]  # computed aside first: a failed update writes nothing


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("op", list(DIVISIONS))
def test_integer_division_without_zero_matches_torch(op, dtype):
    divisors = [3, 2, 1] if dtype == "uint8" else [3, -2, -1]
    check_behaviour(lambda L: DIVISIONS[op](L, _dividend(L, dtype),
                                            L.tensor(divisors, dtype=getattr(L, dtype))))
    check_behaviour(lambda L: DIVISIONS[op](L, _dividend(L, dtype), 2))


@pytest.mark.parametrize("op", list(DIVISIONS))
def test_integer_division_of_an_empty_tensor_by_zero_is_empty(op):
    check_behaviour(lambda L: DIVISIONS[op](L, L.tensor([], dtype=L.int64), 0))
    check_behaviour(lambda L: DIVISIONS[op](L, L.zeros(0, 2, dtype=L.int64),
                                            L.tensor([1, 0])))


@pytest.mark.parametrize("op", ["floor_divide", "remainder", "fmod", "div_trunc", "div_floor"])
def test_bool_division_has_no_kernel(op):
    err = check_behaviour(lambda L: DIVISIONS[op](L, L.tensor([True, False]),
                                                  L.tensor([True, True])))
    assert isinstance(err, NotImplementedError)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", list(DIVISIONS))
def test_float_division_by_zero_keeps_inf_and_nan(op, dtype):
    def divide(L):
        a = L.tensor([5.0, -7.0, 0.0], dtype=getattr(L, dtype))
        return DIVISIONS[op](L, a, 0), DIVISIONS[op](L, a, L.zeros(3, dtype=a.dtype))

    check_behaviour(divide)
    check_behaviour(lambda L: L.tensor([3, -3, 0]) // 0.0)  # an int tensor by a float zero


@pytest.mark.parametrize("op", list(DIVISIONS))
def test_shapes_that_do_not_broadcast_fail_before_the_zero_check(op):
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        DIVISIONS[op](brickwork, brickwork.tensor([1, 2]), brickwork.tensor([0, 1, 2]))


def test_trunc_division_of_large_int64_is_exact():
    big = [2 ** 62 + 1, -(2 ** 62) - 3, 2 ** 63 - 1]
    check_behaviour(lambda L: L.div(L.tensor(big), L.tensor([3, 7, -2]), rounding_mode="trunc"))
    check_behaviour(lambda L: L.tensor([-128], dtype=L.int8) // -1)  # wraps, no warning raised


def test_integer_division_by_zero_raises_without_torch():
    """The NumPy oracle: NumPy's 0 would be a silent wrong answer."""
    a = brickwork.tensor([6, 4])
    with np.errstate(divide="ignore"):
        assert np.floor_divide(np.array([6, 4]), np.array([3, 0])).tolist() == [2, 0]
    for fn in (lambda: a // brickwork.tensor([3, 0]), lambda: a % 0, lambda: a.fmod(0),
               lambda: a.div(0, rounding_mode="trunc")):
        with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
            fn()
    assert (a // brickwork.tensor([3, 2])).tolist() == [2, 2]


def test_integer_division_by_zero_on_a_gpu_tensor():
    """The GPU path reads one flag back, on the tensor's own device (simulated CuPy)."""
    with brickwork_device("simcuda") as dev:
        a = brickwork.tensor([6, 4], device=dev)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            a // brickwork.tensor([3, 0], device=dev)
        assert (a % brickwork.tensor([4, 3], device=dev)).cpu().tolist() == [2, 1]


@requires_torch
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(-50, 50), max_size=6).flatmap(
    lambda num: st.tuples(st.just(num), st.integers(-3, 3) | st.lists(
        st.integers(-3, 3), min_size=len(num), max_size=len(num)))),
    st.sampled_from(list(DIVISIONS)))
def test_integer_division_fuzz_matches_torch(operands, op):
    """Random dividends and divisors (a scalar, or a tensor of the same length) with zeros."""
    num, den = operands
    check_behaviour(lambda L: DIVISIONS[op](
        L, L.tensor(num, dtype=L.int64),
        L.tensor(den, dtype=L.int64) if isinstance(den, list) else den))


# -- losses: empty batches and targets that count for nothing ----------------------------------

REDUCTIONS = ["mean", "sum", "none"]


def _loss_and_grad(L, fn, shape=(0, 3), values=None):
    x = (L.zeros(shape) if values is None else L.tensor(values)).requires_grad_()
    loss = fn(L, x)
    loss.sum().backward()
    return loss, x.grad


EMPTY_LOSSES = {
    "nll": lambda L, x, r: L.nn.functional.nll_loss(x, L.zeros(0, dtype=L.int64), reduction=r),
    "nll weight": lambda L, x, r: L.nn.functional.nll_loss(
        x, L.zeros(0, dtype=L.int64), weight=L.ones(3), reduction=r),
    "cross_entropy": lambda L, x, r: L.nn.functional.cross_entropy(
        x, L.zeros(0, dtype=L.int64), reduction=r),
    "cross_entropy weight": lambda L, x, r: L.nn.functional.cross_entropy(
        x, L.zeros(0, dtype=L.int64), weight=L.tensor([1.0, 2.0, 3.0]), reduction=r),
    "cross_entropy smoothing": lambda L, x, r: L.nn.functional.cross_entropy(
        x, L.zeros(0, dtype=L.int64), label_smoothing=0.2, reduction=r),
    "cross_entropy probabilities": lambda L, x, r: L.nn.functional.cross_entropy(
        x, L.zeros(0, 3), reduction=r),
    "mse": lambda L, x, r: L.nn.functional.mse_loss(x, L.zeros(0, 3), reduction=r),
    "l1": lambda L, x, r: L.nn.functional.l1_loss(x, L.zeros(0, 3), reduction=r),
    "bce_with_logits": lambda L, x, r: L.nn.functional.binary_cross_entropy_with_logits(
        x, L.zeros(0, 3), reduction=r),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", list(EMPTY_LOSSES))
def test_loss_of_an_empty_batch_matches_torch(loss, reduction):
    """A mean over nothing is nan (PyTorch), not 0; sums are 0; gradients are empty."""
    out = check_behaviour(lambda L: _loss_and_grad(L, lambda L, x: EMPTY_LOSSES[loss](
        L, x, reduction)))
    if reduction == "mean":
        assert np.isnan(out[0].item())


SPATIAL_EMPTY = {
    "nll (0, C, H, W)": lambda L, r: L.nn.functional.nll_loss(
        L.zeros(0, 3, 2, 2), L.zeros(0, 2, 2, dtype=L.int64), reduction=r),
    "cross_entropy H=0": lambda L, r: L.nn.functional.cross_entropy(
        L.zeros(2, 3, 0, 2), L.zeros(2, 0, 2, dtype=L.int64), reduction=r),
    "cross_entropy (0, 0)": lambda L, r: L.nn.functional.cross_entropy(
        L.zeros(0, 0), L.zeros(0, dtype=L.int64), reduction=r),
    "cross_entropy probabilities C=0": lambda L, r: L.nn.functional.cross_entropy(
        L.ones(2, 0), L.ones(2, 0), reduction=r),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(SPATIAL_EMPTY))
def test_losses_of_other_empty_inputs_match_torch(case, reduction):
    check_behaviour(lambda L: SPATIAL_EMPTY[case](L, reduction))


IGNORED = [[0.1, 0.5, -1.0], [2.0, 0.3, 0.0], [1.0, 1.0, 1.0], [-1.0, 2.0, 0.5]]
NO_COUNT = {
    "ce all ignored": lambda L, x: L.nn.functional.cross_entropy(
        x, L.full((4,), -100, dtype=L.int64)),
    "ce all ignored weight": lambda L, x: L.nn.functional.cross_entropy(
        x, L.full((4,), -100, dtype=L.int64), weight=L.ones(3)),
    "ce all ignored smoothing": lambda L, x: L.nn.functional.cross_entropy(
        x, L.full((4,), -100, dtype=L.int64), label_smoothing=0.2, weight=L.ones(3)),
    "nll all ignored": lambda L, x: L.nn.functional.nll_loss(x, L.full((4,), 7, dtype=L.int64),
                                                             ignore_index=7),
    "ce zero class weights": lambda L, x: L.nn.functional.cross_entropy(
        x, L.tensor([0, 1, 0, 1]), weight=L.tensor([0.0, 0.0, 1.0])),
    "nll zero class weights": lambda L, x: L.nn.functional.nll_loss(
        x, L.tensor([0, 1, 0, 1]), weight=L.tensor([0.0, 0.0, 1.0])),
    "ce zero class weights smoothing": lambda L, x: L.nn.functional.cross_entropy(
        x, L.tensor([0, 1, 0, 1]), weight=L.tensor([0.0, 0.0, 1.0]), label_smoothing=0.1),
    "nll weights summing to zero": lambda L, x: L.nn.functional.nll_loss(
        x, L.tensor([0, 1, 0, 1]), weight=L.tensor([1.0, -1.0, 0.0])),
    "ce weights summing to zero": lambda L, x: L.nn.functional.cross_entropy(
        x, L.tensor([0, 1, 0, 1]), weight=L.tensor([1.0, -1.0, 0.0])),
    "ce some ignored": lambda L, x: L.nn.functional.cross_entropy(
        x, L.tensor([0, -100, 2, -100]), label_smoothing=0.3),
}


@pytest.mark.parametrize("case", list(NO_COUNT))
def test_loss_when_no_target_counts_matches_torch(case):
    """PyTorch's mean divides by the counted weight: 0/0 = nan, with 0 gradients for the
    samples that do not count and nan/inf exactly where PyTorch has them."""
    check_behaviour(lambda L: _loss_and_grad(L, NO_COUNT[case], values=IGNORED))
    check_behaviour(lambda L: NO_COUNT[case](L, L.tensor(IGNORED)).shape)


def test_nll_of_an_empty_batch_is_nan_without_torch():
    loss = brickwork.nn.functional.nll_loss(brickwork.zeros(0, 3),
                                            brickwork.zeros(0, dtype=brickwork.int64))
    assert np.isnan(loss.item())
    per = brickwork.nn.functional.cross_entropy(
        brickwork.zeros(2, 3), brickwork.full((2,), -100, dtype=brickwork.int64),
        reduction="none")
    assert per.tolist() == [0.0, 0.0] and not np.signbit(per.numpy()).any()


# -- losses: dtypes PyTorch refuses --------------------------------------------------------------

DTYPE_PAIRS = [("float32", "float32"), ("float32", "float64"), ("float64", "float32"),
               ("float16", "float32"), ("int64", "int64"), ("int32", "int32"),
               ("uint8", "uint8"), ("bool", "bool"), ("int64", "float32"), ("float32", "int64"),
               ("float32", "bool"), ("bool", "float32"), ("int32", "int64")]
POINTWISE = {
    "mse_loss": lambda F, a, b: F.mse_loss(a, b),
    "l1_loss": lambda F, a, b: F.l1_loss(a, b),
    "l1_loss sum": lambda F, a, b: F.l1_loss(a, b, reduction="sum"),
    "smooth_l1_loss": lambda F, a, b: F.smooth_l1_loss(a, b),
    "smooth_l1_loss beta=0": lambda F, a, b: F.smooth_l1_loss(a, b, beta=0.0, reduction="none"),
    "huber_loss": lambda F, a, b: F.huber_loss(a, b),
    "huber_loss none": lambda F, a, b: F.huber_loss(a, b, reduction="none"),
    "binary_cross_entropy": lambda F, a, b: F.binary_cross_entropy(a, b),
    "binary_cross_entropy_with_logits": lambda F, a, b: F.binary_cross_entropy_with_logits(a, b),
    "bce_with_logits pos_weight": lambda F, a, b: F.binary_cross_entropy_with_logits(
        a, b, pos_weight=a.new_ones(3).float()),
    "kl_div": lambda F, a, b: F.kl_div(a, b, reduction="batchmean"),
    "cross_entropy probabilities": lambda F, a, b: F.cross_entropy(a, b),
}


def _half_filled(L, dtype, shape=(4, 3)):
    return (L.ones(shape, dtype=getattr(L, dtype)) if dtype in ("bool", "int64", "int32", "uint8")
            else L.full(shape, 0.5, dtype=getattr(L, dtype)))


def _each(cases, fn):
    """Run ``fn(case)`` for every case, naming the case in a failure (one test, many cases:
    pytest's per-test overhead would dominate these millisecond checks)."""
    for case in cases:
        try:
            fn(case)
        except AssertionError as exc:
            raise AssertionError(f"case {case}: {exc}") from None


@pytest.mark.parametrize("loss", list(POINTWISE))
def test_loss_dtypes_match_torch(loss):
    """The result dtype where PyTorch computes, its exception type and text where it refuses."""
    _each(DTYPE_PAIRS, lambda dts: check_behaviour(lambda L: POINTWISE[loss](
        L.nn.functional, _half_filled(L, dts[0]), _half_filled(L, dts[1]))))


INDEX_CASES = {
    "ce": lambda F, x, t, w: F.cross_entropy(x, t),
    "nll": lambda F, x, t, w: F.nll_loss(x, t),
    "ce weight": lambda F, x, t, w: F.cross_entropy(x, t, weight=w),
    "nll weight": lambda F, x, t, w: F.nll_loss(x, t, weight=w),
    "ce smoothing weight": lambda F, x, t, w: F.cross_entropy(x, t, weight=w,
                                                              label_smoothing=0.1),
}


@pytest.mark.parametrize("shapes", [((2, 3), (2,)), ((3,), ()), ((2, 3, 4), (2, 4)),
                                    ((2, 3, 2, 2), (2, 2, 2)), ((3,), (1,)), ((3,), (2,)),
                                    ((2, 3), (3,)), ((2, 3, 2, 2), (2, 2))], ids=str)
@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_class_index_losses_check_like_torch(case, shapes):
    """Shapes, target dtype, input dtype and weight dtype, checked in PyTorch's order."""
    def one(dtypes):
        input_dtype, target_dtype, weight_dtype = dtypes
        if case == "ce smoothing weight" and input_dtype.startswith("float") and (
                (target_dtype == "uint8" and len(shapes[0]) <= 2) or shapes == ((3,), (1,))):
            # PyTorch's own bugs, not copied: its smoothing term gathers the weight with a
            # Byte index (refused by gather), and writes a (1,) result into a 0-d one.
            return

        def run(L):
            x = _half_filled(L, input_dtype, shapes[0])
            t = L.zeros(shapes[1], dtype=getattr(L, target_dtype))
            return INDEX_CASES[case](L.nn.functional, x, t,
                                     L.ones(3, dtype=getattr(L, weight_dtype)))
        check_behaviour(run)

    _each([(i, t, w) for i in ("float32", "float64", "int64", "bool")
           for t in ("int64", "uint8", "int32", "float32", "bool")
           for w in (("float32", "float64") if "weight" in case else ("float32",))], one)


def test_cross_entropy_probabilities_promote_like_torch():
    for dts in (("float64", "float32", "float16"), ("float32", "float16", "float32"),
                ("float32", "float32", "int64")):
        check_behaviour(lambda L: _loss_and_grad(
            L, lambda L, x: L.nn.functional.cross_entropy(
                x.to(getattr(L, dts[0])),
                L.tensor([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], dtype=getattr(L, dts[1])),
                weight=L.tensor([1, 2, 3], dtype=getattr(L, dts[2]))),
            values=[[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]]))
    check_behaviour(lambda L: L.nn.functional.cross_entropy(L.ones(2, 3), L.ones(2, 3) / 3,
                                                            ignore_index=1))
    check_behaviour(lambda L: L.nn.functional.cross_entropy(  # negative: no smoothing
        L.ones(2, 3), L.zeros(2, dtype=L.int64), label_smoothing=-0.5))


# -- layers on a batch of 0 ----------------------------------------------------------------------

def _module_run(L, make, shape, train=True):
    L.manual_seed(0)
    m = make(L.nn)
    m.train(train)
    x = L.zeros(shape, requires_grad=True)
    y = m(x)
    y.sum().backward()
    grads = [p.grad for p in m.parameters()]
    return [y, x.grad, grads, [b for b in m.buffers()]]


EMPTY_LAYERS = {
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), (0, 3)),
    "BatchNorm1d (N, C, L)": (lambda nn: nn.BatchNorm1d(3), (0, 3, 4)),
    "BatchNorm1d L=0": (lambda nn: nn.BatchNorm1d(3), (2, 3, 0)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), (0, 3, 4, 4)),
    "BatchNorm2d no running stats": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False),
                                     (0, 3, 4, 4)),
    "BatchNorm2d no affine": (lambda nn: nn.BatchNorm2d(3, affine=False), (0, 3, 4, 4)),
    "MaxPool1d": (lambda nn: nn.MaxPool1d(2), (0, 3, 4)),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (0, 3, 5, 5)),
    "AvgPool1d": (lambda nn: nn.AvgPool1d(2), (0, 3, 4)),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (0, 3, 5, 5)),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d(2), (0, 3, 4, 4)),
    "AdaptiveAvgPool2d unbatched C=0": (lambda nn: nn.AdaptiveAvgPool2d(2), (0, 4, 4)),
    "Conv2d": (lambda nn: nn.Conv2d(3, 4, 3, padding=1, stride=2), (0, 3, 5, 5)),
    "Linear": (lambda nn: nn.Linear(3, 4), (0, 3)),
    "Linear (B, 0, F)": (lambda nn: nn.Linear(3, 4), (2, 0, 3)),
    "LayerNorm": (lambda nn: nn.LayerNorm([3, 4]), (0, 3, 4)),
    "GroupNorm": (lambda nn: nn.GroupNorm(1, 3), (0, 3, 4)),
    "Flatten": (lambda nn: nn.Flatten(), (0, 3, 4)),
    "Dropout": (lambda nn: nn.Dropout(0.5), (0, 3)),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("layer", list(EMPTY_LAYERS))
def test_layers_accept_an_empty_batch_like_torch(layer, train):
    """Forward and backward: empty outputs and input gradients, zero parameter gradients,
    running statistics untouched (BatchNorm still counts the batch, as PyTorch does)."""
    make, shape = EMPTY_LAYERS[layer]
    check_behaviour(lambda L: _module_run(L, make, shape, train))


RAISING_LAYERS = {
    "BatchNorm1d one value per channel": (lambda nn: nn.BatchNorm1d(3), (1, 3)),
    "BatchNorm2d one value per channel": (lambda nn: nn.BatchNorm2d(3), (1, 3, 1, 1)),
    "BatchNorm1d no channels": (lambda nn: nn.BatchNorm1d(0), (2, 0)),
    "MaxPool1d C=0": (lambda nn: nn.MaxPool1d(2), (2, 0, 4)),
    "MaxPool1d with indices C=0": (lambda nn: nn.MaxPool1d(2, return_indices=True), (2, 0, 4)),
    "MaxPool1d too small": (lambda nn: nn.MaxPool1d(2), (0, 3, 1)),
    "MaxPool2d C=0": (lambda nn: nn.MaxPool2d(2), (2, 0, 4, 4)),
    "MaxPool2d H=0": (lambda nn: nn.MaxPool2d(2), (2, 3, 0, 4)),
    "MaxPool2d unbatched C=0": (lambda nn: nn.MaxPool2d(2), (0, 4, 4)),
    "MaxPool2d kernel too big": (lambda nn: nn.MaxPool2d(5), (0, 3, 4, 4)),
    "AvgPool1d C=0": (lambda nn: nn.AvgPool1d(2), (2, 0, 4)),
    "AvgPool1d rank": (lambda nn: nn.AvgPool1d(2), (4,)),
    "AvgPool1d too small": (lambda nn: nn.AvgPool1d(2), (0, 3, 1)),
    "AvgPool2d W=0": (lambda nn: nn.AvgPool2d(2), (2, 3, 4, 0)),
    "AvgPool2d rank": (lambda nn: nn.AvgPool2d(2), (4, 4)),
    "AdaptiveAvgPool2d H=0": (lambda nn: nn.AdaptiveAvgPool2d(2), (2, 3, 0, 4)),
    "AdaptiveAvgPool2d C=0 backward": (lambda nn: nn.AdaptiveAvgPool2d(2), (2, 0, 4, 4)),
    "AdaptiveAvgPool1d L=0": (lambda nn: nn.AdaptiveAvgPool1d(2), (2, 3, 0)),
    "AdaptiveAvgPool1d C=0 backward": (lambda nn: nn.AdaptiveAvgPool1d(2), (2, 0, 4)),
    "Conv2d C=0": (lambda nn: nn.Conv2d(3, 4, 3), (2, 0, 5, 5)),
}


@pytest.mark.parametrize("layer", list(RAISING_LAYERS))
def test_layers_refuse_what_torch_refuses(layer):
    make, shape = RAISING_LAYERS[layer]

    def run(L):
        out = make(L.nn)(L.zeros(shape, requires_grad=True))
        (out[0] if isinstance(out, tuple) else out).sum().backward()

    torch = pytest.importorskip("torch")
    errors = []
    for lib in (brickwork, torch):
        with pytest.raises((RuntimeError, ValueError, IndexError)) as exc:
            run(lib)
        errors.append((type(exc.value), str(exc.value).replace("torch.Size", "brickwork.Size")))
    assert errors[0] == errors[1]  # (check_behaviour does not translate torch.Size)


EMPTY_OPS = {
    "max_pool2d": lambda L, x: L.nn.functional.max_pool2d(x, 2),
    "max_pool1d with indices": lambda L, x: L.nn.functional.max_pool1d(
        x.flatten(2), 2, return_indices=True)[0],
    "avg_pool2d": lambda L, x: L.nn.functional.avg_pool2d(x, 3, 1, 1),
    "adaptive_avg_pool2d": lambda L, x: L.nn.functional.adaptive_avg_pool2d(x, 3),
    "batch_norm training": lambda L, x: L.nn.functional.batch_norm(
        x, None, None, L.ones(3), L.zeros(3), training=True),
    "group_norm": lambda L, x: L.nn.functional.group_norm(x, 3),
    "layer_norm": lambda L, x: L.nn.functional.layer_norm(x, (4, 4)),
    "cross_entropy": lambda L, x: L.nn.functional.cross_entropy(
        x.flatten(1), L.zeros(0, dtype=L.int64)),
}


@pytest.mark.parametrize("op", list(EMPTY_OPS))
def test_ops_on_an_empty_batch_have_first_and_second_derivatives(op):
    """check_op on a batch of 0: shapes, values and gradients (also with create_graph, where
    pooling differentiates its composite form)."""
    check_op(EMPTY_OPS[op], [np.zeros((0, 3, 4, 4), np.float32)])


def test_batch_norm_on_an_empty_batch_keeps_running_stats():
    def run(L, momentum):
        m = L.nn.BatchNorm1d(3, momentum=momentum)
        m.running_mean.fill_(2.0)
        m.running_var.fill_(3.0)
        y = m(L.zeros(0, 3))
        return y, m.running_mean, m.running_var, m.num_batches_tracked

    for momentum in (0.1, None):
        out = check_behaviour(lambda L: run(L, momentum))
        assert out[1].tolist() == [2.0, 2.0, 2.0] and int(out[3]) == 1
    for train in (True, False):  # the functional form, without running statistics
        check_behaviour(lambda L: L.nn.functional.batch_norm(
            L.zeros(0, 3), None, None, L.ones(3), L.zeros(3), training=train))


# -- load_state_dict: a failed load changes nothing ----------------------------------------------

def _net(lib=brickwork):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3), lib.nn.Linear(3, 1))


def _snapshot(model):
    named = list(model.named_parameters()) + list(model.named_buffers())
    return {k: (id(v), v.detach().numpy().copy(), type(v)) for k, v in named}


def _changed(model, before):
    now = dict(list(model.named_parameters()) + list(model.named_buffers()))
    return [k for k, (ident, value, kind) in before.items()
            if id(now[k]) != ident or type(now[k]) is not kind
            or not np.array_equal(now[k].detach().numpy(), value)]


def _fresh_state(lib, model):
    return {k: (v + 1 if v.is_floating_point() else v).clone()
            for k, v in model.state_dict().items()}


BAD_LOADS = {  # (edit of the state dict, keys the error must name, kwargs)
    "wrong shape last": (lambda L, sd: sd.__setitem__("2.bias", L.zeros(2)), ["2.bias"], {}),
    "not a tensor last": (lambda L, sd: sd.__setitem__("2.bias", [1.0]), ["2.bias"], {}),
    "ndarray last": (lambda L, sd: sd.__setitem__("2.bias", np.zeros(1, np.float32)),
                     ["2.bias"], {}),
    "integer value last": (lambda L, sd: sd.__setitem__("2.bias", L.tensor([3])), ["2.bias"],
                           {"only_assign": True}),
    "bool value last": (lambda L, sd: sd.__setitem__("2.bias", L.tensor([True])), ["2.bias"],
                        {"only_assign": True}),
    "missing key": (lambda L, sd: sd.pop("2.bias"), ["2.bias"], {}),
    "unexpected key": (lambda L, sd: sd.__setitem__("2.extra", L.zeros(1)), ["2.extra"], {}),
    "two problems": (lambda L, sd: (sd.__setitem__("0.weight", L.zeros(1)),
                                    sd.__setitem__("2.bias", "x")), ["0.weight", "2.bias"], {}),
    "non-strict, bad shape": (lambda L, sd: (sd.pop("0.bias"),
                                             sd.__setitem__("2.bias", L.zeros(5))),
                              ["2.bias"], {"strict": False}),
}


@pytest.mark.parametrize("assign", [False, True], ids=["copy", "assign"])
@pytest.mark.parametrize("case", list(BAD_LOADS))
def test_failed_load_state_dict_changes_nothing(case, assign):
    edit, keys, kw = BAD_LOADS[case]
    kw = dict(kw)
    if kw.pop("only_assign", False) and not assign:
        pytest.skip("copying an integer into a float parameter is a valid load")
    model = _net()
    sd = _fresh_state(brickwork, model)
    edit(brickwork, sd)
    before = _snapshot(model)
    with pytest.raises(RuntimeError) as exc:
        model.load_state_dict(sd, assign=assign, **kw)
    msg = str(exc.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:\n\t"), msg
    for key in keys:
        assert f'"{key}"' in msg or f"for {key}:" in msg, msg
    assert _changed(model, before) == []


@requires_torch
@pytest.mark.parametrize("assign", [False, True], ids=["copy", "assign"])
@pytest.mark.parametrize("case", list(BAD_LOADS))
def test_failed_load_state_dict_reports_like_torch(case, assign):
    """The same error text as PyTorch (PyTorch itself has half-loaded the model by then)."""
    import torch

    edit, _, kw = BAD_LOADS[case]
    kw = dict(kw)
    if kw.pop("only_assign", False) and not assign:
        pytest.skip("copying an integer into a float parameter is a valid load")
    messages = []
    for lib in (brickwork, torch):
        model = _net(lib)
        sd = _fresh_state(lib, model)
        edit(lib, sd)
        with pytest.raises(RuntimeError) as exc:
            model.load_state_dict(sd, assign=assign, **kw)
        messages.append(str(exc.value).replace("torch.", "brickwork."))
    if "an exception occurred" in messages[1]:  # the inner text is each library's own
        messages = [m.split(", an exception occurred")[0] for m in messages]
    assert messages[0] == messages[1]


@pytest.mark.parametrize("assign", [False, True], ids=["copy", "assign"])
def test_good_load_state_dict_after_a_failed_one(assign):
    model = _net()
    sd = _fresh_state(brickwork, model)
    bad = dict(sd, **{"2.bias": brickwork.zeros(7)})
    ids = {k: id(v) for k, v in model.named_parameters()}
    with pytest.raises(RuntimeError):
        model.load_state_dict(bad, assign=assign)
    assert repr(model.load_state_dict(sd, assign=assign)) == "<All keys matched successfully>"
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), sd[k].numpy()), k
    same = [id(v) == ids[k] for k, v in model.named_parameters()]
    assert all(same) if not assign else not any(same)


def test_failed_load_leaves_a_lazy_module_uninitialized():
    src = brickwork.nn.Sequential(brickwork.nn.Linear(4, 3), brickwork.nn.Linear(3, 2))
    lazy = brickwork.nn.Sequential(brickwork.nn.LazyLinear(3), brickwork.nn.Linear(3, 2))
    bad = dict(src.state_dict(), **{"1.bias": brickwork.zeros(5)})
    with pytest.raises(RuntimeError, match="size mismatch for 1.bias"):
        lazy.load_state_dict(bad)
    assert lazy[0].has_uninitialized_params()
    lazy.load_state_dict(src.state_dict())
    assert not lazy[0].has_uninitialized_params()
    assert np.array_equal(lazy[0].weight.detach().numpy(), src[0].weight.detach().numpy())
