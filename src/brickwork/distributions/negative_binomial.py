"""The negative binomial distribution. See: torch.distributions.NegativeBinomial."""
from __future__ import annotations

from ..size import Size
from ..tensor import Tensor
from . import constraints
from ._special import lgamma
from .distribution import Distribution
from .gamma import Gamma
from .poisson import _host_draw
from .utils import _BinaryParam, _expand_probs_logits, _init_probs_or_logits, lazy_property

__all__ = ["NegativeBinomial"]


def _logsigmoid(x: Tensor) -> Tensor:
    from ..nn.functional import softplus

    return -softplus(-x)


class NegativeBinomial(_BinaryParam, Distribution):
    """Number of successes before ``total_count`` failures of Bernoulli(``probs``) trials.

    See: torch.distributions.NegativeBinomial.
    """

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count, probs=None, logits=None,
                 validate_args: bool | None = None) -> None:
        batch_shape = _init_probs_or_logits(self, probs, logits, total_count=total_count)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "NegativeBinomial":
        return _expand_probs_logits(self, NegativeBinomial, batch_shape, _instance,
                                    others=("total_count",))

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
