"""How tensors print: PyTorch's ``torch/_tensor_str.py`` algorithm, on NumPy arrays.

The output matches ``repr(torch_tensor)`` character for character (with ``brickwork.`` in dtype
names): 4 significant decimals, scientific notation when the magnitudes are far apart, ``1.`` for
integer-valued floats, aligned columns, wrapping at 80 characters and ``...`` summaries above
1000 elements. Values are formatted with Python's own float formatting, as PyTorch does, so
rounding agrees too.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator

import numpy as np

from . import dtypes as _dt


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print.

    Args:
        precision: digits after the decimal point (default 4).
        threshold: element count above which a tensor is summarised with ``...`` (default 1000).
        edgeitems: items shown at each end of a summarised dimension (default 3).
        linewidth: characters per line before wrapping (default 80).
        profile: ``'default'``, ``'short'`` or ``'full'``; the other arguments override it.
        sci_mode: force (True) or forbid (False) scientific notation; None decides per tensor.
            Like PyTorch, every call resets it to this argument.

    Example:
        >>> brickwork.set_printoptions(precision=2)
        >>> brickwork.tensor([1.12345])
        tensor([1.12])
        >>> brickwork.set_printoptions(profile="default")

    See: torch.set_printoptions.
    """
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                   "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions: unknown profile {profile!r}, expected one of "
                             f"{sorted(presets)}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = presets[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs) -> Iterator[None]:
    """Change the print options inside a ``with`` block only."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Formatter:
    """Decides one width and notation for all elements of a tensor, then formats each."""

    def __init__(self, arr: np.ndarray) -> None:
        self.floating_dtype = arr.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = arr.reshape(-1)
        if not self.floating_dtype:
            for value in flat.tolist():
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        nonzero = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero.size == 0:
            return
        # Float64 for the ratios: float16 overflows at 1e8 (PyTorch converts the same way).
        nz_abs = np.abs(nonzero).astype(np.float64)
        nz_min, nz_max = nz_abs.min(), nz_abs.max()
        self.int_mode = bool((nonzero == np.ceil(nonzero)).all())
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(nz_max / nz_min > 1000.0 or nz_max > 1.0e8 or nz_min < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        values = nonzero.tolist()
        precision = PRINT_OPTS.precision
        if self.sci_mode:
            width = max(len(f"{v:.{precision}e}") for v in values)
        elif self.int_mode:
            # A trailing "." marks integer-valued floats as floats: one more character.
            width = max(len(f"{v:.0f}") for v in values) + 1
        else:
            width = max(len(f"{v:.{precision}f}") for v in values)
        self.max_width = max(self.max_width, width)

    def width(self) -> int:
        return self.max_width

    def format(self, value) -> str:
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{PRINT_OPTS.precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_format(real_fmt: _Formatter, imag_fmt: _Formatter):
    """Format a complex value as PyTorch does: ``1.5000-2.0000j``, each part aligned by its own
    formatter, the imaginary part's padding dropped and its sign kept."""
    def fmt(value) -> str:
        real_str = real_fmt.format(value.real)
        imag_str = (imag_fmt.format(value.imag) + "j").lstrip()
        if imag_str[0] in "+-":  # negative numbers, nan/inf signs and -0.
            return real_str + imag_str
        return real_str + "+" + imag_str
    return fmt


def _vector_str(arr: np.ndarray, indent: int, summarize: bool, formatter: _Formatter,
                imag_formatter: _Formatter | None = None) -> str:
    # The length of one element includes the ", " between elements.
    element_length = formatter.width() + 2
    if imag_formatter is not None:  # the imaginary part and its "j"
        element_length += imag_formatter.width() + 1
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems
    fmt = formatter.format if imag_formatter is None else \
        _complex_format(formatter, imag_formatter)
    if summarize and not edge:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * edge:
        data = ([fmt(v) for v in arr[:edge].tolist()] + [" ..."]
                + [fmt(v) for v in arr[-edge:].tolist()])
    else:
        data = [fmt(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(arr: np.ndarray, indent: int, summarize: bool,
                               formatter: _Formatter,
                               imag_formatter: _Formatter | None = None) -> str:
    dim = arr.ndim
    if dim == 0:
        if imag_formatter is not None:
            return _complex_format(formatter, imag_formatter)(arr.item())
        return formatter.format(arr.item())
    if dim == 1:
        return _vector_str(arr, indent, summarize, formatter, imag_formatter)
    edge = PRINT_OPTS.edgeitems
    n = arr.shape[0]
    if summarize and n > 2 * edge:
        rows = list(range(edge)) + [None] + list(range(n - edge, n))
    else:
        rows = list(range(n))
    slices = ["..." if i is None else
              _tensor_str_with_formatter(arr[i], indent + 1, summarize, formatter,
                                         imag_formatter)
              for i in rows]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized_data(arr: np.ndarray) -> np.ndarray:
    """Only the elements a summary shows, so they alone decide the formatting."""
    edge = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        if arr.shape[0] > 2 * edge:
            # `arr[-0:]` is the whole vector, as `t[-0:]` is in PyTorch.
            return np.concatenate((arr[:edge], arr[-edge:]))
        return arr
    if not edge:
        return np.empty((0,) * arr.ndim, arr.dtype)
    n = arr.shape[0]
    rows = list(range(edge)) + list(range(n - edge, n)) if n > 2 * edge else range(n)
    return np.stack([_summarized_data(arr[i]) for i in rows])


def array_str(arr: np.ndarray, indent: int) -> str:
    """The bracketed body of a tensor's repr, continuation lines indented by ``indent``."""
    if arr.size == 0:
        return "[]"
    summarize = arr.size > PRINT_OPTS.threshold
    if _dt.is_bfloat16(arr):  # PyTorch prints bfloat16 (and float16) through float32
        arr = arr.astype(np.float32)
    shown = _summarized_data(arr) if summarize else arr
    if arr.dtype.kind == "c":  # real and imaginary parts each get their own width and notation
        return _tensor_str_with_formatter(arr, indent, summarize, _Formatter(shown.real),
                                          _Formatter(shown.imag))
    return _tensor_str_with_formatter(arr, indent, summarize, _Formatter(shown))


_NAME_EXTRA = len("brickwork.") - len("torch.")


def _add_suffixes(tensor_str: str, suffixes: list, indent: int) -> str:
    parts = [tensor_str]
    # PyTorch's arithmetic, kept as is (the +1 overcounts by two) so that wrapping agrees.
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        # Measure "dtype=brickwork.float64" as PyTorch measures "dtype=torch.float64", so that
        # the line breaks fall where PyTorch's do (the text differs only in the module name).
        suffix_len = len(suffix) - _NAME_EXTRA * suffix.count("brickwork.")
        if last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
        else:
            parts.append(", " + suffix)
            last_line_len += suffix_len + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t) -> str:
    """``repr(t)``: ``tensor([1., 2.], requires_grad=True)`` exactly as PyTorch prints it.

    See: torch.Tensor.__repr__.
    """
    from . import dtypes as _dt
    from .tensor import Tensor

    cls = type(t)
    # Parameters print their data as a plain tensor (Parameter's own repr adds its header).
    plain = cls is Tensor or cls.__name__ == "Parameter"
    prefix = "tensor(" if plain else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    arr = t._host()
    dtype = _dt._FROM_NP[arr.dtype]
    default = _dt.get_default_dtype()
    # A complex tensor of the default float's complex dtype prints no dtype either.
    default_complex = _dt.complex128 if default is _dt.float64 else _dt.complex64
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype is not default:  # even the default complex dtype, as PyTorch
            suffixes.append(f"dtype={dtype}")
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dtype not in (default, default_complex, _dt.int64, _dt.bool):
            suffixes.append(f"dtype={dtype}")
        body = array_str(arr, indent)
    grad_fn = t.grad_fn
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(grad_fn).__name__}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
