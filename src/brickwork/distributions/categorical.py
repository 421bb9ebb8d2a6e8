"""The categorical distribution. See: torch.distributions.Categorical."""
from __future__ import annotations

import numpy as np

from ..device import runs_on_input_device
from ..ops._util import xp_of
from ..size import Size
from ..tensor import Tensor, _make
from . import constraints
from .distribution import Distribution
from .utils import (_expand_probs_logits, _finfo, _finish_expand, _one_of, lazy_property,
                    logits_to_probs, probs_to_logits)

__all__ = ["Categorical"]


class Categorical(Distribution):
    """Categorical distribution over ``0..K-1`` from ``probs`` or ``logits`` (last dimension K).

    See: torch.distributions.Categorical.
    """

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            # Normalize: logits become log-probabilities
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        batch_shape = self._param.shape[:-1] if self._param.dim() > 1 else Size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Categorical":
        new = _expand_probs_logits(self, Categorical, batch_shape, _instance,
                                   (self._num_events,))
        new._num_events = self._num_events
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits)

    @property
    def param_shape(self) -> Size:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        from .. import full

        return full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype,
                    device=self.probs.device)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, sample_shape=Size()) -> Tensor:
        from .. import float64, rand

        shape = tuple(self._extended_shape(sample_shape))
        return _inverse_cdf(self.probs, rand(shape, dtype=float64, device=self.probs.device),
                            self._num_events)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = tuple(_broadcast(value.shape, self.logits.shape))
        value = value.expand(shape[:-1] + (1,))
        log_pmf = self.logits.expand(shape)
        return log_pmf.gather(-1, value).squeeze(-1)

    def entropy(self) -> Tensor:
        min_real = float(_finfo(self.logits.dtype).min)
        logits = self.logits.clamp(min=min_real)
        p_log_p = logits * self.probs
        return -p_log_p.sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        from .. import arange, int64

        values = arange(self._num_events, dtype=int64, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


@runs_on_input_device
def _inverse_cdf(probs: Tensor, u: Tensor, n: int) -> Tensor:
    """Category indices for uniform draws ``u``: the number of cumulative probabilities at or
    below ``u`` times the total (zero-probability categories are never chosen). On the arrays:
    a draw per step of a policy (batch 1) paid ~90 us for eight tensor ops."""
    p = probs._data
    xp = xp_of(p)
    cdf = p.astype(np.float64).cumsum(-1)
    index = (cdf <= u._data[..., None] * cdf[..., -1:]).sum(-1, dtype=np.int64)
    # asarray: one draw of an unbatched distribution sums to a NumPy scalar
    return _make(xp.asarray(xp.minimum(index, n - 1)), probs.device)


def _broadcast(a, b):
    return np.broadcast_shapes(tuple(a), tuple(b))


class _OverCategorical:
    """Families built on a Categorical over the last dimension, kept as ``_categorical``.

    OneHotCategorical, Multinomial and ExpRelaxedCategorical: their ``probs``, ``logits``
    and ``param_shape`` are the categorical's, and ``expand`` expands it.
    """

    def _set_categorical(self, probs, logits) -> tuple:
        """Build ``_categorical``; return the (batch_shape, event_shape) it implies."""
        self._categorical = Categorical(probs, logits)
        return self._categorical.batch_shape, self._categorical.param_shape[-1:]

    def _expand_categorical(self, cls, batch_shape, _instance):
        new = self._get_checked_instance(cls, _instance)
        batch_shape = Size(tuple(batch_shape))
        new._categorical = self._categorical.expand(batch_shape)
        return _finish_expand(self, new, batch_shape)

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape
