"""Helpers shared by the distributions. See: torch.distributions.utils."""
from __future__ import annotations

import numbers
from functools import update_wrapper

import numpy as np

from ..tensor import Tensor

__all__ = ["broadcast_all", "clamp_probs", "lazy_property", "logits_to_probs",
           "probs_to_logits"]

euler_constant = 0.57721566490153286060


def broadcast_all(*values):
    """Broadcast tensors and numbers to one shape; numbers become tensors of the tensors' dtype.

    See: torch.distributions.utils.broadcast_all.
    """
    from .. import get_default_dtype, tensor

    if not all(isinstance(v, (Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of numbers.Number, "
                         "torch.Tensor or objects implementing __torch_function__.")
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None else get_default_dtype()
    device = like.device if like is not None else None
    values = [v if isinstance(v, Tensor) else tensor(v, dtype=dtype, device=device)
              for v in values]
    shape = tuple(np.broadcast_shapes(*[tuple(v.shape) for v in values]))
    return tuple(v if tuple(v.shape) == shape else v.expand(shape) for v in values)


def _standard_normal(shape, dtype, device):
    from .. import randn

    return randn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Logits to probabilities: sigmoid when binary, else softmax over the last dimension."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp probabilities into the open interval (0, 1) by the dtype's eps."""
    eps = float(np.finfo(np.dtype(probs.dtype.name)).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities to logits (log-odds when binary, else log-probabilities)."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


class lazy_property:
    """A property computed on first access and then cached on the instance.

    See: torch.distributions.utils.lazy_property.
    """

    def __init__(self, wrapped) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        from ..autograd.grad_mode import enable_grad

        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    """What ``lazy_property`` reads as on the class (so ``isinstance(..., property)`` holds)."""

    def __init__(self, wrapped) -> None:
        property.__init__(self, wrapped)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower triangle (from diagonal ``diag``) of each matrix, flattened row by row."""
    n = mat.shape[-1]
    rows, cols = np.tril_indices(n, k=diag)
    return mat[..., rows.tolist(), cols.tolist()]


def _finfo(dtype) -> np.finfo:
    """NumPy's finfo of a brickwork floating dtype (``torch.finfo``'s eps, tiny, min)."""
    return np.finfo(np.dtype(dtype.name))


def _expand_params(self, cls, batch_shape, _instance, names):
    """The shared body of ``expand``: a new instance with parameters ``names`` expanded."""
    from ..size import Size

    new = self._get_checked_instance(cls, _instance)
    batch_shape = Size(tuple(batch_shape))
    for name in names:
        if name in self.__dict__:
            param = getattr(self, name)
            setattr(new, name, param.expand(tuple(batch_shape) + tuple(param.shape[
                len(self.batch_shape):])))
    super(cls, new).__init__(batch_shape, self.event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new

