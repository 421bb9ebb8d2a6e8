"""The Dirichlet distribution. See: torch.distributions.Dirichlet."""
from __future__ import annotations

from ..size import Size
from ..tensor import Tensor
from . import constraints
from ._gamma_sampling import standard_gamma
from ._special import digamma, lgamma, xlogy
from .exp_family import ExponentialFamily
from .utils import _finfo

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution over the simplex, with ``concentration`` (last dimension K).

    ``rsample`` normalizes K implicitly reparameterized Gamma draws; PyTorch differentiates
    through a dedicated ``_dirichlet_grad`` instead, so per-sample gradients differ while their
    expectation agrees. See: torch.distributions.Dirichlet.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Dirichlet":
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.concentration = self.concentration.expand(tuple(batch_shape)
                                                      + tuple(self.event_shape))
        super(Dirichlet, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        gammas = standard_gamma(self.concentration.expand(shape))
        fi = _finfo(self.concentration.dtype)
        return (gammas / gammas.sum(-1, keepdim=True)).clamp(min=float(fi.tiny),
                                                             max=1 - float(fi.eps))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return xlogy(self.concentration - 1.0, value).sum(-1) \
            + lgamma(self.concentration.sum(-1)) - lgamma(self.concentration).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        from .. import arange, where

        concm1 = (self.concentration - 1).clamp(min=0.0)
        mode = concm1 / concm1.sum(-1, keepdim=True)
        # Every concentration below 1: the density peaks at the vertex of the largest one
        k = self.concentration.shape[-1]
        vertex = (mode.argmax(-1, keepdim=True) == arange(k, device=mode.device)).to(mode.dtype)
        mask = (self.concentration < 1).all(-1, keepdim=True)
        return where(mask, vertex, mode)

    @property
    def variance(self) -> Tensor:
        con0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x):
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))

    def entropy(self) -> Tensor:
        k = self.concentration.shape[-1]
        a0 = self.concentration.sum(-1)
        return lgamma(self.concentration).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) \
            - ((self.concentration - 1.0) * digamma(self.concentration)).sum(-1)
