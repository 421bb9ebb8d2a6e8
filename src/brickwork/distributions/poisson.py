"""The Poisson distribution. See: torch.distributions.Poisson."""
from __future__ import annotations

from ..size import Size
from ..tensor import Tensor
from . import constraints
from ._special import lgamma, xlogy
from .exp_family import ExponentialFamily
from .utils import _broadcast_params, _expand_params, broadcast_all

__all__ = ["Poisson"]


def _host_draw(draw, like: Tensor) -> Tensor:
    """A tensor of ``like``'s dtype and device from a NumPy draw of brickwork's generator."""
    from ..factories import tensor
    from ..random import rng_for

    return tensor(draw(rng_for(None)), dtype=like.dtype, device=like.device)


class Poisson(ExponentialFamily):
    """Poisson distribution with rate ``rate``. See: torch.distributions.Poisson."""


    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args: bool | None = None) -> None:
        batch_shape = _broadcast_params(self, rate=rate)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Poisson":
        return _expand_params(self, Poisson, batch_shape, _instance, ("rate",))

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        rate = self.rate.detach().expand(shape)._host()
        return _host_draw(lambda rng: rng.poisson(rate).astype(rate.dtype), self.rate)

    @property
    def _natural_params(self) -> tuple:
        return (self.rate.log(),)

    def _log_normalizer(self, x):
        return x.exp()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return xlogy(value, rate) - rate - lgamma(value + 1)
