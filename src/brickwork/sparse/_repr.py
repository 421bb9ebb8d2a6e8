"""``repr`` of a sparse COO tensor, laid out as PyTorch's ``_str_intern`` lays it out."""
from __future__ import annotations

from .. import dtypes as _dt
from .._tensor_str import _NAME_EXTRA, PRINT_OPTS, array_str


def _host(arr):
    return arr.get() if hasattr(arr, "get") and not hasattr(arr, "__array_interface__") else arr


def _inner(arr, indent: int) -> str:
    """The body of ``indices=tensor(...)``/``values=tensor(...)`` (no dtype: the outer says)."""
    arr = _host(arr)
    if arr.size == 0:
        return f"[], size={tuple(arr.shape)}"
    return array_str(arr, indent)


def sparse_repr(t) -> str:
    """``tensor(indices=tensor(...), values=tensor(...), size=.., nnz=.., layout=..)``."""
    coo = t._data
    cls = type(t)
    prefix = "tensor(" if cls.__name__ in ("Tensor", "Parameter") else f"{cls.__name__}("
    indent = len(prefix)
    suffixes = []
    if t._device.type != "cpu":
        suffixes.append(f"device='{t._device}'")
    suffixes.append(f"size={coo.shape}")
    suffixes.append(f"nnz={coo.nnz}")
    dtype = _dt._FROM_NP[coo.dtype]
    if dtype not in (_dt.get_default_dtype(), _dt.int64, _dt.bool):
        suffixes.append(f"dtype={dtype}")
    ip, vp = "indices=tensor(", "values=tensor("
    body = (ip + _inner(coo.indices, indent + len(ip)) + "),\n" + " " * indent + vp
            + _inner(coo.values, indent + len(vp)) + ")")
    suffixes.append("layout=brickwork.sparse_coo")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    """PyTorch's ``_add_suffixes`` with ``force_newline`` (sparse tensors start the suffixes on
    a line of their own); names measured as PyTorch's ``torch.`` ones."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    force = True
    for suffix in suffixes:
        n = len(suffix) - _NAME_EXTRA * suffix.count("brickwork.")
        if force or last + n + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last = indent + n
            force = False
        else:
            parts.append(", " + suffix)
            last += n + 2
    parts.append(")")
    return "".join(parts)
