"""The gamma and chi-squared distributions. See: torch.distributions.Gamma, Chi2."""
from __future__ import annotations

from ..size import Size
from ..tensor import Tensor
from . import constraints
from ._gamma_sampling import gammainc, standard_gamma
from ._special import digamma, lgamma, xlogy
from .exp_family import ExponentialFamily
from .utils import _broadcast_params, _expand_params

__all__ = ["Chi2", "Gamma"]


class Gamma(ExponentialFamily):
    """Gamma distribution with shape ``concentration`` and inverse scale ``rate``.

    ``rsample`` is differentiable in both through implicit reparameterization (see
    ``_gamma_sampling``). See: torch.distributions.Gamma.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        batch_shape = _broadcast_params(self, concentration=concentration, rate=rate)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Gamma":
        return _expand_params(self, Gamma, batch_shape, _instance, ("concentration", "rate"))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        return standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value if isinstance(value, Tensor) else _like(value, self.rate)
        return xlogy(self.concentration, self.rate) + xlogy(self.concentration - 1, value) \
            - self.rate * value - lgamma(self.concentration)

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        x = self.rate * value
        return gammainc(self.concentration.expand(x.shape), x)

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()

    def entropy(self) -> Tensor:
        return self.concentration - self.rate.log() + lgamma(self.concentration) \
            + (1.0 - self.concentration) * digamma(self.concentration)


def _like(value, ref: Tensor) -> Tensor:
    from ..factories import tensor

    return tensor(value, dtype=ref.dtype, device=ref.device)


class Chi2(Gamma):
    """Chi-squared distribution with ``df`` degrees of freedom: Gamma(df/2, 1/2).

    See: torch.distributions.Chi2.
    """

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Chi2":
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
