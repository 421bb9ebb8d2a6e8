"""Flatten parameters into one vector and back. See: torch.nn.utils.parameters_to_vector."""
from __future__ import annotations

from typing import Iterable

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param: Tensor, device):
    if device is None:
        return param.device
    if param.device != device:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return device


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-D tensor holding every parameter flattened, in order (differentiable).

    Example:
        >>> vec = parameters_to_vector(model.parameters())

    See: torch.nn.utils.parameters_to_vector.
    """
    from ... import cat

    device = None
    flat = []
    for p in parameters:
        device = _check_same_device(p, device)
        flat.append(p.reshape(-1))
    return cat(flat)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into each parameter's data, in order.

    Example:
        >>> vector_to_parameters(vec, model.parameters())

    See: torch.nn.utils.vector_to_parameters.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected brickwork.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    data = vec.detach()._data.reshape(-1)
    for p in parameters:
        device = _check_same_device(p, device)
        n = p.numel()
        chunk = data[pointer:pointer + n]
        if chunk.size != n:
            raise RuntimeError(f"shape '{list(p.shape)}' is invalid for input of size "
                               f"{chunk.size}")
        # Like PyTorch's `param.data = ...`: a new array (the parameter's old buffer is left).
        p._data = chunk.reshape(p._data.shape).astype(p._data.dtype, copy=True)
        pointer += n
