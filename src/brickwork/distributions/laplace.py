"""The Laplace distribution. See: torch.distributions.Laplace."""
from __future__ import annotations

from ..size import Size
from ..tensor import Tensor
from .distribution import Distribution
from .utils import _LocScale, _expand_params, _finfo

__all__ = ["Laplace"]


class Laplace(_LocScale, Distribution):
    """Laplace distribution with location ``loc`` and scale ``scale``.

    See: torch.distributions.Laplace.
    """

    def expand(self, batch_shape, _instance=None) -> "Laplace":
        return _expand_params(self, Laplace, batch_shape, _instance, ("loc", "scale"))

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape=Size()) -> Tensor:
        from .. import rand

        shape = self._extended_shape(sample_shape)
        eps = float(_finfo(self.loc.dtype).eps)
        # u uniform on [eps - 1, 1), as PyTorch: log1p(-|u|) stays finite
        u = rand(tuple(shape), dtype=self.loc.dtype, device=self.loc.device) * (2 - eps) \
            + (eps - 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() \
            * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()


