"""The negative binomial distribution. See: torch.distributions.NegativeBinomial."""
from __future__ import annotations

from ..size import Size
from ..tensor import Tensor
from . import constraints
from ._special import lgamma
from .bernoulli import _one_of
from .distribution import Distribution
from .gamma import Gamma
from .poisson import _host_draw
from .utils import broadcast_all, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["NegativeBinomial"]


def _logsigmoid(x: Tensor) -> Tensor:
    from ..nn.functional import softplus

    return -softplus(-x)


class NegativeBinomial(Distribution):
    """Number of successes before ``total_count`` failures of Bernoulli(``probs``) trials.

    See: torch.distributions.NegativeBinomial.
    """

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        super().__init__(self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "NegativeBinomial":
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.total_count = self.total_count.expand(tuple(batch_shape))
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(tuple(batch_shape)))
                new._param = getattr(new, name)
        super(NegativeBinomial, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> Size:
        return self._param.shape

    @lazy_property
    def _gamma(self) -> Gamma:
        # the gamma-Poisson mixture that the negative binomial is
        return Gamma(concentration=self.total_count, rate=(-self.logits).exp(),
                     validate_args=False)

    def sample(self, sample_shape=Size()) -> Tensor:
        from .. import no_grad

        with no_grad():
            rate = self._gamma.sample(sample_shape).detach()._host()
            return _host_draw(lambda rng: rng.poisson(rate).astype(rate.dtype), self._param)

    def log_prob(self, value: Tensor) -> Tensor:
        from .. import where

        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized_prob = self.total_count * _logsigmoid(-self.logits) \
            + value * _logsigmoid(self.logits)
        log_normalization = -lgamma(self.total_count + value) + lgamma(1.0 + value) \
            + lgamma(self.total_count)
        # no trials and no successes: probability 1
        log_normalization = where(self.total_count + value == 0.0, 0.0, log_normalization)
        return log_unnormalized_prob - log_normalization
