"""``default_collate``: turn a list of samples into one batch, with PyTorch's rules.

Tensors are stacked along a new first dimension; NumPy arrays become tensors and are stacked;
Python floats become a float64 tensor and ints an int64 tensor (bools a bool tensor); strings
stay as they are; dicts are collated key by key, and sequences position by position (a tuple
gives a list, as in PyTorch).
"""
from __future__ import annotations

import collections.abc as cabc
from typing import Any

import numpy as np

from ...device import runs_on_input_device
from ...ops._util import xp_of
from ...tensor import Tensor, _make

__all__ = ["default_collate", "default_convert"]

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


@runs_on_input_device
def _stack_on(first: Tensor, tensors: list[Tensor], dtype) -> Tensor:
    """Stack the arrays on ``first``'s device (a dataset may live on a GPU)."""
    xp = xp_of(first._data)
    for t in tensors:
        if t._device is not first._device:
            raise RuntimeError(f"default_collate: batch items on different devices, "
                               f"{first._device} and {t._device}")
    return _make(xp.stack([t._data for t in tensors]).astype(dtype, copy=False), first._device)


def _stack(tensors: list[Tensor]) -> Tensor:
    first = tensors[0]
    shape = first._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t._data.shape)} at entry "
                               f"{i}")
    # Batches are data, not part of a graph: stacking the arrays directly is the fast path.
    dtype = np.result_type(*[t._data.dtype for t in tensors])
    if first._device.index is not None:
        return _stack_on(first, tensors, dtype)
    return _make(np.stack([t._data for t in tensors]).astype(dtype, copy=False), first._device)


def _is_numpy_array(x) -> bool:
    return isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind not in "OUSV"


def default_collate(batch: list) -> Any:
    """Collate a list of samples into a batch. See: torch.utils.data.default_collate.

    Example:
        >>> default_collate([(brickwork.zeros(2), 0), (brickwork.ones(2), 1)])
        [tensor([[0., 0.],
                [1., 1.]]), tensor([0, 1])]
    """
    from ...factories import tensor

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if _is_numpy_array(elem):
        return _stack([_make(np.asarray(b), _cpu()) for b in batch])
    if isinstance(elem, float):
        return tensor(batch, dtype=_float64())
    if isinstance(elem, (bool, int)):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, cabc.Mapping):
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:  # a mapping type that cannot be built from a dict
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, cabc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))  # tuples, as PyTorch passes them on
        if isinstance(elem, tuple):
            return [default_collate(s) for s in transposed]
        try:
            return type(elem)([default_collate(s) for s in transposed])
        except TypeError:
            return [default_collate(s) for s in transposed]
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays (also inside dicts and sequences) into tensors, leaving the rest.

    Used instead of collation when a DataLoader has ``batch_size=None``.
    See: torch.utils.data.default_convert.
    """
    if isinstance(data, Tensor):
        return data
    if _is_numpy_array(data):
        return _make(np.asarray(data), _cpu())
    if isinstance(data, cabc.Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, cabc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def _cpu():
    from ...device import CPU

    return CPU


def _float64():
    from ... import dtypes

    return dtypes.float64
