"""The Cauchy distribution. See: torch.distributions.Cauchy."""
from __future__ import annotations

import math

from ..size import Size
from ..tensor import Tensor
from .distribution import Distribution
from .utils import _LocScale, _expand_params

__all__ = ["Cauchy"]


class Cauchy(_LocScale, Distribution):
    """Cauchy (Lorentz) distribution with median ``loc`` and half-width ``scale``.

    See: torch.distributions.Cauchy.
    """

    def expand(self, batch_shape, _instance=None) -> "Cauchy":
        return _expand_params(self, Cauchy, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self) -> Tensor:
        from .. import full

        return full(tuple(self._extended_shape()), float("nan"), dtype=self.loc.dtype,
                    device=self.loc.device)

    @property
    def variance(self) -> Tensor:
        from .. import full

        return full(tuple(self._extended_shape()), float("inf"), dtype=self.loc.dtype,
                    device=self.loc.device)

    def rsample(self, sample_shape=Size()) -> Tensor:
        from .. import rand

        shape = self._extended_shape(sample_shape)
        u = rand(tuple(shape), dtype=self.loc.dtype, device=self.loc.device)
        eps = (math.pi * (u - 0.5)).tan()  # the inverse cdf of a standard Cauchy
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() \
            - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value: Tensor) -> Tensor:
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()
