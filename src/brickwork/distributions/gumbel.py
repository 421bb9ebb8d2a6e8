"""The Gumbel distribution. See: torch.distributions.Gumbel."""
from __future__ import annotations

import math

from ..size import Size
from ..tensor import Tensor
from .distribution import Distribution
from .utils import _LocScale, _expand_params, _finfo, euler_constant

__all__ = ["Gumbel"]


class Gumbel(_LocScale, Distribution):
    """Gumbel (type-1 extreme value) distribution. See: torch.distributions.Gumbel.

    PyTorch builds it as a transformed Uniform; the closed forms here give the same values.
    """

    def expand(self, batch_shape, _instance=None) -> "Gumbel":
        return _expand_params(self, Gumbel, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * euler_constant

    @property
    def stddev(self) -> Tensor:
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def rsample(self, sample_shape=Size()) -> Tensor:
        from .. import rand

        shape = self._extended_shape(sample_shape)
        fi = _finfo(self.loc.dtype)
        # u in (tiny, 1 - eps), as PyTorch's base Uniform: both logs stay finite
        u = rand(tuple(shape), dtype=self.loc.dtype, device=self.loc.device) \
            .clamp(min=float(fi.tiny), max=1 - float(fi.eps))
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (-(-(value - self.loc) / self.scale).exp()).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc - self.scale * (-value.log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + euler_constant)
