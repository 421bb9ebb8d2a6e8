"""``assert_close``: PyTorch's comparison of tensors, numbers and their containers.

The inputs are walked as PyTorch walks them (sequences and mappings element by element, the
path of a failing element named in the message), and each pair of leaves goes to the first kind
that takes it: None, booleans, numbers (Python's and NumPy's scalars), then tensor-likes (tensors,
or two NumPy arrays). Tensors must agree in shape, layout, device and dtype (the last three can be
switched off), then in values: ``|actual - expected| <= atol + rtol * |expected|`` in their
common dtype, infinities equal only to themselves, NaN equal only with ``equal_nan``. The
messages are PyTorch's, number for number (the differences are computed in the compared dtype,
integer ones in int64, and printed as PyTorch prints them). Sparse tensors are compared as dense
ones.
"""
from __future__ import annotations

import cmath
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import numpy as np

# {dtype name: (rtol, atol)}; other dtypes (integers, bool) compare exactly
_PRECISIONS = {"float16": (0.001, 1e-5), "bfloat16": (0.016, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7), "complex32": (0.001, 1e-5),
               "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7)}
_NUMBER_DTYPES = {int: "int64", float: "float64", complex: "complex128"}


class _Failure(Exception):
    """A comparison's failure: the exception type, its message and the failing item's path."""

    def __init__(self, kind: type, msg: str, path: tuple = ()) -> None:
        super().__init__(msg)
        self.kind, self.msg, self.path = kind, msg, path

    def error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if isinstance(msg, str):
            return self.kind(msg)
        text = self.msg
        if self.path:
            text += "\n\nThe failure occurred for item " + "".join(str([i]) for i in self.path)
        return self.kind(msg(text) if callable(msg) else text)


class _Unsupported(Exception):
    """This kind of pair does not take these inputs: the next kind is tried."""


def _tolerances(dtypes, rtol, atol, path) -> tuple:
    if (rtol is None) ^ (atol is None):
        raise _Failure(ValueError, f"Both 'rtol' and 'atol' must be either specified or "
                                   f"omitted, but got no {'rtol' if rtol is None else 'atol'}.",
                       path)
    if rtol is not None:
        return rtol, atol
    pairs = [_PRECISIONS.get(d, (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _mismatch(identifier: str, extra: str, abs_diff, abs_idx, atol: float, rel_diff, rel_idx,
              rtol: float) -> str:
    equality = rtol == 0 and atol == 0
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    for kind, diff, idx, tol in (("absolute", abs_diff, abs_idx, atol),
                                 ("relative", rel_diff, rel_idx, rtol)):
        line = f"{kind.title()} difference: {diff}" if idx is None else \
            f"Greatest {kind} difference: {diff} at index {idx}"
        msg += line + ("" if equality else f" (up to {tol} allowed)") + "\n"
    return msg.strip()


def _scalar_mismatch(actual, expected, rtol: float, atol: float) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _mismatch("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None, atol,
                     rel_diff, None, rtol)


# -- the kinds of pairs ---------------------------------------------------------------------------
def _none_pair(actual, expected, path, **_):
    if not (actual is None or expected is None):
        raise _Unsupported
    if not (actual is None and expected is None):
        raise _Failure(AssertionError, f"None mismatch: {actual} is not {expected}", path)


def _bool_pair(actual, expected, path, **_):
    kinds = (bool, np.bool_)
    if not (isinstance(actual, kinds) and isinstance(expected, kinds)):
        raise _Unsupported
    actual, expected = bool(actual), bool(expected)
    if actual is not expected:
        raise _Failure(AssertionError, f"Booleans mismatch: {actual} is not {expected}", path)


def _number_pair(actual, expected, path, rtol=None, atol=None, equal_nan=False,
                 check_dtype=False, **_):
    kinds = (int, float, complex, np.number)
    if not (isinstance(actual, kinds) and isinstance(expected, kinds)):
        raise _Unsupported
    actual, expected = (v.item() if isinstance(v, np.number) else v for v in (actual, expected))
    rtol, atol = _tolerances([_NUMBER_DTYPES[type(v)] for v in (actual, expected)
                              if type(v) in _NUMBER_DTYPES], rtol, atol, path)
    if check_dtype and type(actual) is not type(expected):
        raise _Failure(AssertionError, f"The (d)types do not match: {type(actual)} != "
                                       f"{type(expected)}.", path)
    if actual == expected or equal_nan and cmath.isnan(actual) and cmath.isnan(expected):
        return
    diff = abs(actual - expected)
    if cmath.isfinite(diff) and diff <= atol + rtol * abs(expected):
        return
    raise _Failure(AssertionError, _scalar_mismatch(actual, expected, rtol, atol), path)


def _tensor_pair(actual, expected, path, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False):
    from .. import promote_types, tensor as as_tensor
    from ..tensor import Tensor

    if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
        raise _Unsupported
    if not allow_subclasses and type(actual) is not type(expected):
        raise _Unsupported
    try:
        actual, expected = (v if isinstance(v, Tensor) else as_tensor(v)
                            for v in (actual, expected))
    except Exception:
        raise _Unsupported from None
    rtol, atol = _tolerances([actual.dtype.name, expected.dtype.name], rtol, atol, path)

    def differ(name, a, e):
        raise _Failure(AssertionError,
                       f"The values for attribute '{name}' do not match: {a} != {e}.", path)
    if actual.shape != expected.shape:
        differ("shape", actual.shape, expected.shape)
    if actual.layout != expected.layout:
        if check_layout:
            differ("layout", actual.layout, expected.layout)
    elif check_stride and not actual.is_sparse and actual.stride() != expected.stride():
        differ("stride()", actual.stride(), expected.stride())
    if check_device and actual.device != expected.device:
        differ("device", actual.device, expected.device)
    if check_dtype and actual.dtype != expected.dtype:
        differ("dtype", actual.dtype, expected.dtype)
    a, e = (v.to_dense() if v.is_sparse else v for v in (actual, expected))
    if a.dtype != e.dtype:
        common = promote_types(a.dtype, e.dtype)
        a, e = a.to(common), e.to(common)
    _compare_values(a.detach().cpu().numpy(), e.detach().cpu().numpy(), rtol, atol,
                    equal_nan, path)


def _compare_values(a, e, rtol: float, atol: float, equal_nan: bool, path) -> None:
    if a.dtype.kind == "V":  # bfloat16: NumPy's comparisons take it as float32
        a, e = a.astype(np.float32), e.astype(np.float32)
    if rtol == 0 and atol == 0 or a.dtype.kind in "biu":
        matches = a == e
    else:
        with np.errstate(invalid="ignore", over="ignore"):
            matches = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if equal_nan and a.dtype.kind in "fc":
        matches |= np.isnan(a) & np.isnan(e)
    if matches.all():
        return
    if a.ndim == 0:
        raise _Failure(AssertionError, _scalar_mismatch(a.item(), e.item(), rtol, atol), path)
    n = matches.size
    wrong = n - int(matches.sum())
    extra = f"Mismatched elements: {wrong} / {n} ({wrong / n:.1%})"
    a, e, ok = a.reshape(-1), e.reshape(-1), matches.reshape(-1)
    if a.dtype.kind in "biu":  # as PyTorch: in int64, the relative difference in float32
        a, e = a.astype(np.int64), e.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[ok] = 0
        scale = np.abs(e)
        if abs_diff.dtype.kind in "iu":
            rel_diff = abs_diff.astype(np.float32) / scale.astype(np.float32)
        else:
            rel_diff = abs_diff / scale
        rel_diff[ok] = 0
    ia, ir = int(np.argmax(abs_diff)), int(np.argmax(rel_diff))
    shape = matches.shape
    raise _Failure(AssertionError, _mismatch(
        "Tensor-likes", extra, abs_diff[ia].item(), tuple(int(i) for i in np.unravel_index(
            ia, shape)), atol, rel_diff[ir].item(),
        tuple(int(i) for i in np.unravel_index(ir, shape)), rtol), path)


_PAIRS = (_none_pair, _bool_pair, _number_pair, _tensor_pair)


def _leaf_pairs(actual, expected, path: tuple, out: list) -> None:
    """Walk sequences and mappings together; collect the leaf pairs with their paths."""
    if isinstance(actual, Sequence) and not isinstance(actual, str) and \
            isinstance(expected, Sequence) and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise _Failure(AssertionError, f"The length of the sequences mismatch: "
                                           f"{len(actual)} != {len(expected)}", path)
        for i in range(len(actual)):
            _leaf_pairs(actual[i], expected[i], path + (i,), out)
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        keys_a, keys_e = set(actual.keys()), set(expected.keys())
        if keys_a != keys_e:
            raise _Failure(AssertionError,
                           f"The keys of the mappings do not match:\n"
                           f"Missing keys in the actual mapping: {sorted(keys_e - keys_a)}\n"
                           f"Additional keys in the actual mapping: {sorted(keys_a - keys_e)}",
                           path)
        try:
            keys = sorted(keys_a)
        except Exception:
            keys = list(keys_a)
        for k in keys:
            _leaf_pairs(actual[k], expected[k], path + (k,), out)
    else:
        out.append((actual, expected, path))


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise unless ``actual`` and ``expected`` are close (tensors, numbers, or nested sequences
    and mappings of them), with PyTorch's default tolerances per dtype and its messages.

    Example:
        >>> brickwork.testing.assert_close(brickwork.tensor([1.0]), brickwork.tensor([1.0]))

    See: torch.testing.assert_close.
    """
    __tracebackhide__ = True
    options = dict(allow_subclasses=allow_subclasses, rtol=rtol, atol=atol,
                   equal_nan=equal_nan, check_device=check_device, check_dtype=check_dtype,
                   check_layout=check_layout, check_stride=check_stride)
    leaves: list = []
    try:
        _leaf_pairs(actual, expected, (), leaves)
    except _Failure as failure:
        raise failure.error() from None
    for a, e, path in leaves:
        for pair in _PAIRS:
            try:
                pair(a, e, path, **options)
            except _Unsupported:
                continue
            except _Failure as failure:  # (bad tolerances are the call's error: no msg)
                raise failure.error(None if failure.kind is ValueError else msg) from None
            break
        else:
            raise TypeError(f"No comparison pair was able to handle inputs of type {type(a)} "
                            f"and {type(e)}." + (
                                "\n\nThe failure occurred for item "
                                + "".join(str([i]) for i in path) if path else ""))
