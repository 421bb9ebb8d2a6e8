"""Helpers shared by the distributions. See: torch.distributions.utils."""
from __future__ import annotations

import numbers
from functools import update_wrapper

import numpy as np

from ..tensor import Tensor
from . import constraints

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


def _finish_expand(self, new, batch_shape):
    """The common tail of ``expand``: initialise ``new`` at ``batch_shape``, unvalidated.

    ``new`` keeps ``self``'s event shape and validation flag, as PyTorch's ``expand`` does.
    ``Distribution.__init__`` is called directly: PyTorch's ``super(cls, new).__init__``
    would reach a family mixin's constructor (``_LocScale``) here.
    """
    from .distribution import Distribution

    Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


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
    return _finish_expand(self, new, batch_shape)


def _broadcast_params(self, **params):
    """Broadcast ``params`` together, set each as an attribute and return the batch shape.

    The shared constructor body of the parameter families (loc/scale, rate, ...): numbers
    become tensors of the tensors' dtype, and all-number parameters give an empty shape.
    """
    from ..size import Size

    values = broadcast_all(*params.values())
    for name, value in zip(params, values):
        setattr(self, name, value)
    if all(isinstance(v, numbers.Number) for v in params.values()):
        return Size()
    return values[0].shape


class _LocScale:
    """The constructor and constraints of the real location-scale families.

    Normal, Laplace, Cauchy and Gumbel: ``loc`` real, ``scale`` positive, broadcast together.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        batch_shape = _broadcast_params(self, loc=loc, scale=scale)
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mode(self) -> Tensor:
        return self.loc


def _one_of(probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _init_probs_or_logits(self, probs, logits, **others):
    """The constructor body of the binary probs/logits families; returns the batch shape.

    Whichever of ``probs``/``logits`` is given is broadcast with ``others`` (set first, as
    PyTorch's ``broadcast_all(total_count, probs)``), stored under its name and as
    ``_param``; ``others`` take its dtype.
    """
    _one_of(probs, logits)
    name, given = ("probs", probs) if probs is not None else ("logits", logits)
    batch_shape = _broadcast_params(self, **others, **{name: given})
    self._param = getattr(self, name)
    for other in others:
        setattr(self, other, getattr(self, other).type_as(self._param))
    return batch_shape


def _expand_probs_logits(self, cls, batch_shape, _instance, param_shape=(), others=()):
    """``expand`` for the probs/logits families: whichever of the two exists is expanded.

    ``param_shape`` is the parameter's trailing (event) shape; ``others`` name further
    batch-shaped parameters (``total_count``) expanded alongside.
    """
    from ..size import Size

    new = self._get_checked_instance(cls, _instance)
    batch_shape = Size(tuple(batch_shape))
    for name in others:
        setattr(new, name, getattr(self, name).expand(tuple(batch_shape)))
    shape = tuple(batch_shape) + tuple(param_shape)
    for name in ("probs", "logits"):
        if name in self.__dict__:
            setattr(new, name, getattr(self, name).expand(shape))
            new._param = getattr(new, name)
    return _finish_expand(self, new, batch_shape)


class _BinaryProbsLogits:
    """``probs`` and ``logits`` of a binary family, each derived lazily from the other."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)


class _BinaryParam(_BinaryProbsLogits):
    """``_BinaryProbsLogits`` plus ``param_shape``, the shape of the given parameter."""

    @property
    def param_shape(self):
        return self._param.shape
