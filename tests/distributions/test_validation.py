"""Argument and sample validation: PyTorch's exception types and messages; shapes, expand,
constraints and the probs/logits pairs."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.distributions import constraints

from helpers import check_behaviour


def _msg(lib, fn):
    try:
        fn(lib)
    except Exception as e:  # noqa: BLE001 - the exception is what is compared
        return type(e).__name__, str(e).replace("torch.Size", "brickwork.Size")
    return None


ERRORS = {
    "negative_scale": lambda lib: lib.distributions.Normal(lib.tensor([0.0, 1.0]),
                                                           lib.tensor([1.0, -1.0])),
    "probs_out_of_range": lambda lib: lib.distributions.Bernoulli(lib.tensor([1.5])),
    "both_probs_and_logits": lambda lib: lib.distributions.Bernoulli(
        lib.tensor([0.5]), lib.tensor([0.0])),
    "neither": lambda lib: lib.distributions.Categorical(),
    "scalar_probs": lambda lib: lib.distributions.Categorical(lib.tensor(0.5)),
    "uniform_low_high": lambda lib: lib.distributions.Uniform(lib.tensor([1.0]),
                                                              lib.tensor([0.0])),
    "value_outside_support": lambda lib: lib.distributions.Exponential(
        lib.tensor([1.0])).log_prob(lib.tensor([-1.0])),
    "value_not_tensor": lambda lib: lib.distributions.Normal(0.0, 1.0).log_prob(0.5),
    "value_event_shape": lambda lib: lib.distributions.Dirichlet(
        lib.tensor([1.0, 2.0, 3.0])).log_prob(lib.tensor([0.5, 0.5])),
    "value_not_broadcastable": lambda lib: lib.distributions.Normal(
        lib.zeros(3), lib.ones(3)).log_prob(lib.zeros(2)),
    "dirichlet_scalar": lambda lib: lib.distributions.Dirichlet(lib.tensor(1.0)),
    "mvn_two_matrices": lambda lib: lib.distributions.MultivariateNormal(
        lib.zeros(2), lib.eye(2), scale_tril=lib.eye(2)),
    "mvn_not_pd": lambda lib: lib.distributions.MultivariateNormal(
        lib.zeros(2), lib.tensor([[1.0, 2.0], [2.0, 1.0]])),
    "mvn_scalar_loc": lambda lib: lib.distributions.MultivariateNormal(lib.tensor(0.0),
                                                                       lib.eye(2)),
    "independent_too_many": lambda lib: lib.distributions.Independent(
        lib.distributions.Normal(lib.zeros(3), lib.ones(3)), 2),
    "lowrank_factor_shape": lambda lib: lib.distributions.LowRankMultivariateNormal(
        lib.zeros(3), lib.ones(2, 1), lib.ones(3)),
    "mixture_not_categorical": lambda lib: lib.distributions.MixtureSameFamily(
        lib.distributions.Normal(0.0, 1.0), lib.distributions.Normal(lib.zeros(2),
                                                                     lib.ones(2))),
    "mixture_size_mismatch": lambda lib: lib.distributions.MixtureSameFamily(
        lib.distributions.Categorical(lib.ones(3)),
        lib.distributions.Normal(lib.zeros(2), lib.ones(2))),
    "transformed_not_transform": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(0.0, 1.0), [1]),
    "multinomial_outside_support": lambda lib: lib.distributions.Multinomial(
        2, lib.tensor([0.5, 0.5])).log_prob(lib.tensor([2.0, 1.0])),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_like_torch(name):
    torch = pytest.importorskip("torch")
    t = _msg(torch, ERRORS[name])
    b = _msg(brickwork, ERRORS[name])
    assert t is not None and b == t, f"brickwork {b}\ntorch     {t}"


def test_validation_can_be_turned_off():
    d = brickwork.distributions
    n = d.Normal(brickwork.tensor([0.0]), brickwork.tensor([-1.0]), validate_args=False)
    assert tuple(n.batch_shape) == (1,)
    e = d.Exponential(brickwork.tensor([1.0]), validate_args=False)
    assert np.isfinite(e.log_prob(brickwork.tensor([-1.0]))._host()).all()
    d.Distribution.set_default_validate_args(False)
    try:
        d.Normal(brickwork.tensor([0.0]), brickwork.tensor([-1.0]))
    finally:
        d.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        d.Distribution.set_default_validate_args("yes")


SHAPES = {
    "normal_expand": lambda lib: (lambda e: (e.batch_shape, e.event_shape, e.sample(
        (2,)).shape, e.log_prob(lib.zeros(4, 3)).shape))(
        lib.distributions.Normal(lib.zeros(3), lib.ones(3)).expand((4, 3))),
    "categorical_expand": lambda lib: (lambda e: (e.batch_shape, e.sample((5,)).shape,
                                                  e.probs.shape))(
        lib.distributions.Categorical(logits=lib.zeros(4)).expand((2, 3))),
    "mvn_expand": lambda lib: (lambda e: (e.batch_shape, e.event_shape, e.rsample(
        (2,)).shape))(lib.distributions.MultivariateNormal(lib.zeros(3), lib.eye(3))
                      .expand((5,))),
    "dirichlet_shapes": lambda lib: (lambda e: (e.batch_shape, e.event_shape,
                                                e.sample((7,)).shape))(
        lib.distributions.Dirichlet(lib.ones(2, 4))),
    "beta_expand": lambda lib: lib.distributions.Beta(1.0, 2.0).expand((3,)).batch_shape,
    "independent": lambda lib: (lambda e: (e.batch_shape, e.event_shape))(
        lib.distributions.Independent(lib.distributions.Normal(lib.zeros(2, 3, 4),
                                                               lib.ones(2, 3, 4)), 2)),
    "multinomial": lambda lib: (lambda e: (e.batch_shape, e.event_shape,
                                           e.sample((6,)).shape, e.sample().sum(-1)))(
        lib.distributions.Multinomial(7, lib.ones(2, 3))),
    "onehot_sample": lambda lib: (lambda e: (e.sample((4,)).shape, e.sample().sum(-1)))(
        lib.distributions.OneHotCategorical(lib.ones(2, 5))),
    "has_rsample": lambda lib: [getattr(lib.distributions, n).has_rsample for n in [
        "Normal", "Bernoulli", "Gamma", "Beta", "Dirichlet", "Poisson", "Categorical",
        "StudentT", "MultivariateNormal", "Laplace", "Exponential", "Uniform"]],
    "supports": lambda lib: [repr(getattr(lib.distributions, n).support) for n in [
        "Normal", "Bernoulli", "Gamma", "Beta", "Dirichlet", "Poisson", "Exponential",
        "LogNormal", "OneHotCategorical", "MultivariateNormal"]],
    "arg_constraints": lambda lib: [repr(v) for n in ["Normal", "Categorical", "Dirichlet",
                                                      "MultivariateNormal", "StudentT"]
                                    for v in getattr(lib.distributions, n)
                                    .arg_constraints.values()],
    "repr": lambda lib: [repr(lib.distributions.Normal(lib.tensor(0.0), lib.tensor(1.0))),
                         repr(lib.distributions.Gamma(lib.tensor([1.0]), lib.tensor([2.0]))),
                         repr(lib.distributions.Independent(lib.distributions.Normal(
                             lib.tensor([0.0]), lib.tensor([1.0])), 1))],
    "constraint_checks": lambda lib: [
        lib.distributions.constraints.simplex.check(lib.tensor([[0.2, 0.8], [0.5, 0.6]])),
        lib.distributions.constraints.positive_definite.check(
            lib.tensor([[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]])),
        lib.distributions.constraints.lower_cholesky.check(lib.tensor([[1.0, 0.0],
                                                                       [3.0, 2.0]])),
        lib.distributions.constraints.integer_interval(0, 3).check(
            lib.tensor([0.0, 3.0, 1.5, 4.0])),
        lib.distributions.constraints.independent(
            lib.distributions.constraints.positive, 1).check(lib.tensor([[1.0, -1.0],
                                                                         [1.0, 2.0]])),
        lib.distributions.constraints.one_hot.check(lib.tensor([[0.0, 1.0], [1.0, 1.0]])),
    ],
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_behaviour_like_torch(name):
    def run(lib):
        out = SHAPES[name](lib)
        return [str(x).replace("torch.", "").replace("brickwork.", "")
                if isinstance(x, str) else x for x in out] if isinstance(out, list) else out

    check_behaviour(run)


def test_constraint_classes_without_torch():
    assert constraints.is_dependent(constraints.dependent)
    assert not constraints.is_dependent(constraints.real)
    assert constraints.real_vector.event_dim == 1
    assert repr(constraints.interval(0.0, 1.0)) == "Interval(lower_bound=0.0, upper_bound=1.0)"
    ok = constraints.greater_than_eq(1.0).check(brickwork.tensor([0.5, 1.0]))
    assert ok.tolist() == [False, True]


def test_float32_parameters_keep_float32_like_torch():
    def run(lib):
        D = lib.distributions
        t = lib.tensor
        ds = [D.Normal(t([0.0, 1.0]), t([1.0, 2.0])), D.Gamma(t([2.0, 0.5]), t([1.0, 2.0])),
              D.Beta(t([2.0, 0.5]), t([1.0, 2.0])), D.StudentT(t([3.0, 1.5])),
              D.Dirichlet(t([1.0, 2.0, 3.0])), D.Poisson(t([1.0, 2.0])),
              D.Binomial(5, t([0.3, 0.6])), D.Categorical(t([0.2, 0.8])),
              D.MultivariateNormal(t([0.0, 1.0]), t([[2.0, 0.5], [0.5, 1.0]]))]
        out = []
        for d in ds:
            for m in ("sample", "mean", "variance", "entropy"):
                if m == "entropy" and isinstance(d, D.Poisson):
                    continue  # PyTorch has no Poisson entropy
                value = getattr(d, m)
                value = value() if callable(value) else value
                out.append(f"{type(d).__name__}.{m}: {str(value.dtype).split('.')[-1]}")
        return out

    check_behaviour(run)
