"""Splitting and stacking composites: tensor_split, hsplit/vsplit/dsplit, split_with_sizes,
column_stack. Each piece is a basic-indexing view of the input, so gradients flow through the
existing indexing ops."""
from __future__ import annotations

from typing import Sequence

from ..tensor import Tensor
from .reduction import _torch_type_name


def _slice_along(input: Tensor, dim: int, start: int, stop: int) -> Tensor:
    # Basic slicing clamps out-of-range bounds the way tensor_split's indices require.
    return input[(slice(None),) * dim + (slice(start, stop),)]


def _as_index_list(indices_or_sections):
    """tensor_split's argument as an int (sections) or a list of split indices."""
    if isinstance(indices_or_sections, Tensor):
        t = indices_or_sections
        if t._data.dtype.kind not in "iu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {_torch_type_name(t._data.dtype)}")
        if t.dim() > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a "
                               "zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {t.dim()} dims")
        vals = t.tolist()
        return vals if t.dim() == 1 else int(vals)
    if isinstance(indices_or_sections, int):
        return indices_or_sections
    return [int(i) for i in indices_or_sections]


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal views or at the given indices. See: torch.tensor_split."""
    if input.dim() == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = dim + input.dim() if dim < 0 else dim
    size = input.shape[d]
    spec = _as_index_list(indices_or_sections)
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        small, extra = divmod(size, spec)
        bounds, start = [], 0
        for i in range(spec):
            stop = start + small + (1 if i < extra else 0)
            bounds.append((start, stop))
            start = stop
    else:
        edges = [0] + spec + [size]
        bounds = [(a, max(a, b)) for a, b in zip(edges, edges[1:])]
    return tuple(_slice_along(input, d, a, b) for a, b in bounds)


def _dir_split(name: str, dim: int, min_dims: int):
    def split(input: Tensor, indices_or_sections) -> tuple:
        if input.dim() < min_dims:
            if min_dims == 1:
                raise RuntimeError(f"torch.{name} requires a tensor with at least 1 dimension, "
                                   f"but got a tensor with {input.dim()} dimensions!")
            raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} "
                               f"dimension, but got a tensor with {input.dim()} dimensions!")
        d = 0 if (name == "hsplit" and input.dim() == 1) else dim
        if isinstance(indices_or_sections, int):
            size = input.shape[d]
            if indices_or_sections == 0 or size % indices_or_sections:
                raise RuntimeError(f"torch.{name} attempted to split along dimension {d}, but "
                                   f"the size of the dimension {size} is not divisible by the "
                                   f"split_size {indices_or_sections}!")
        return tensor_split(input, indices_or_sections, d)

    split.__name__ = split.__qualname__ = name
    split.__doc__ = (f"Split along dimension {dim} into equal sections or at indices "
                     f"(``tensor_split`` with ``dim={dim}``). See: torch.{name}.")
    return split


hsplit = _dir_split("hsplit", 1, 1)
vsplit = _dir_split("vsplit", 0, 2)
dsplit = _dir_split("dsplit", 2, 3)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Views of ``input`` of the given sizes along ``dim``. See: torch.split_with_sizes."""
    d = dim + input.dim() if dim < 0 else dim
    sizes = [int(s) for s in split_sizes]
    if sum(sizes) != input.shape[d]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[d]} (input tensor's size at dimension {d}), but got "
                           f"split_sizes={sizes}")
    for s in sizes:
        if s < 0:
            raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
    out, start = [], 0
    for s in sizes:
        out.append(_slice_along(input, d, start, start + s))
        start += s
    return tuple(out)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack tensors as the columns of a matrix (0-d and 1-d become columns).

    See: torch.column_stack.
    """
    from .join import hstack

    if len(tensors) == 0:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    cols = [t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in tensors]
    return hstack(cols)


__all__ = ["tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes", "column_stack"]
