"""Univariate continuous distributions against PyTorch: densities, moments, cdf/icdf,
entropies and their gradients with respect to the parameters."""
from __future__ import annotations

import numpy as np
import pytest

from ._common import compare_methods

R = np.random.default_rng(0)
POS = R.uniform(0.3, 3.0, (2, 3))
POS2 = R.uniform(0.3, 3.0, (2, 3))
REAL = R.normal(size=(2, 3))
UNIT = R.uniform(0.05, 0.95, (2, 3))

# name -> (constructor, parameters, a value in the support, methods to compare)
MOMENTS = ["mean", "mode", "variance", "stddev", "entropy"]
CASES = {
    "Normal": (lambda lib, a, b: lib.distributions.Normal(a, b), [REAL, POS], REAL * 2,
               ["log_prob", "cdf"] + MOMENTS),
    "Uniform": (lambda lib, a, b: lib.distributions.Uniform(a, a + b), [REAL, POS],
                REAL + POS * UNIT, ["log_prob", "cdf", "mean", "variance", "stddev",
                                    "entropy"]),
    "Exponential": (lambda lib, a: lib.distributions.Exponential(a), [POS], POS2,
                    ["log_prob", "cdf"] + MOMENTS),
    "Laplace": (lambda lib, a, b: lib.distributions.Laplace(a, b), [REAL, POS], REAL * 2,
                ["log_prob", "cdf"] + MOMENTS),
    "Gumbel": (lambda lib, a, b: lib.distributions.Gumbel(a, b), [REAL, POS], REAL * 2,
               ["log_prob", "cdf"] + MOMENTS),
    "LogNormal": (lambda lib, a, b: lib.distributions.LogNormal(a, b), [REAL, POS], POS2,
                  ["log_prob", "cdf"] + MOMENTS),
    "Gamma": (lambda lib, a, b: lib.distributions.Gamma(a, b), [POS, POS2], POS2,
              ["log_prob"] + MOMENTS),
    "Chi2": (lambda lib, a: lib.distributions.Chi2(a), [POS * 2], POS2,
             ["log_prob", "mean", "variance", "entropy"]),
    "Beta": (lambda lib, a, b: lib.distributions.Beta(a, b), [POS + 1, POS2 + 1], UNIT,
             ["log_prob"] + MOMENTS),
    "StudentT": (lambda lib, a, b, c: lib.distributions.StudentT(a, b, c),
                 [POS * 2 + 0.5, REAL, POS2], REAL * 3,
                 ["log_prob", "mean", "mode", "variance", "entropy"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    make, params, value, methods = CASES[name]
    compare_methods(make, params, value, methods)


@pytest.mark.parametrize("name", ["Normal", "Uniform", "Exponential", "Laplace", "Gumbel",
                                  "LogNormal"])
def test_icdf_against_torch(name):
    make, params, _, _ = CASES[name]
    compare_methods(make, params, UNIT, ["icdf"], rtol=1e-9)


def test_scalar_parameters_give_empty_batch_shape():
    compare_methods(lambda lib: lib.distributions.Normal(0.5, 2.0), [], REAL,
                    ["log_prob", "entropy", "mean"])


def test_student_t_moments_where_undefined():
    compare_methods(lambda lib, df: lib.distributions.StudentT(df),
                    [np.array([0.5, 1.5, 3.0])], None, ["mean", "variance"])


def test_beta_mode_with_small_concentrations():
    compare_methods(lambda lib, a, b: lib.distributions.Beta(a, b),
                    [np.array([0.5, 2.0, 0.7]), np.array([0.5, 3.0, 2.0])], None, ["mode"],
                    grad=False)


def test_gamma_cdf_against_torch():
    # gradient only through rate (and value): neither library differentiates gammainc in its
    # first argument
    conc = np.array([[0.05, 0.5, 1.0], [3.0, 30.0, 1000.0]])
    value = np.array([[1e-3, 0.3, 1.0], [2.0, 60.0, 1010.0]])
    compare_methods(lambda lib, rate: lib.distributions.Gamma(lib.tensor(conc), rate),
                    [np.array([[2.0, 1.0, 0.5], [1.0, 0.5, 1.0]])], value, ["cdf"],
                    rtol=1e-8, atol=1e-9)


def test_gamma_cdf_refuses_concentration_gradient():
    import brickwork

    c = brickwork.tensor([2.0], requires_grad=True)
    out = brickwork.distributions.Gamma(c, 1.0).cdf(brickwork.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="first argument"):
        out.sum().backward()


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "StudentT", "Laplace"])
def test_second_derivatives_against_torch(name):
    from helpers import check_op

    make, params, value, _ = CASES[name]
    arrays = [p.astype(np.float64) for p in params] + [value.astype(np.float64)]
    check_op(lambda lib, *a: make(lib, *a[:-1]).log_prob(a[-1]), arrays,
             grad=[True] * len(params) + [False], grad_rtol=1e-7, grad_atol=1e-9)


EXTRA = {
    "HalfCauchy": (lambda lib, b: lib.distributions.HalfCauchy(b), [POS], POS2,
                   ["log_prob", "cdf", "mean", "mode", "variance", "entropy"]),
    # alpha > 2: where alpha is clamped, brickwork's clamp backward passes a NaN upstream
    # gradient on (PyTorch's gives 0); reported, not this package's to fix
    "Pareto": (lambda lib, a, b: lib.distributions.Pareto(a, b), [POS, POS2 + 2.0],
               POS + POS2, ["log_prob", "cdf", "mean", "mode", "variance", "entropy"]),
    "Weibull": (lambda lib, a, b: lib.distributions.Weibull(a, b), [POS, POS2 + 0.5], POS2,
                ["log_prob", "cdf", "mean", "mode", "variance", "entropy"]),
    "Cauchy": (lambda lib, a, b: lib.distributions.Cauchy(a, b), [REAL, POS], REAL * 2,
               ["log_prob", "cdf", "mean", "mode", "variance", "entropy"]),
    "HalfNormal": (lambda lib, b: lib.distributions.HalfNormal(b), [POS], POS2,
                   ["log_prob", "cdf"] + MOMENTS),
    "Geometric-probs": (lambda lib, p: lib.distributions.Geometric(p), [UNIT],
                        np.array([[0.0, 2.0, 5.0], [1.0, 0.0, 3.0]]),
                        ["log_prob", "mean", "mode", "variance", "entropy", "logits"]),
    "Geometric-logits": (lambda lib, p: lib.distributions.Geometric(logits=p), [REAL],
                         np.array([[0.0, 2.0, 5.0], [1.0, 0.0, 3.0]]),
                         ["log_prob", "mean", "variance", "entropy", "probs"]),
}


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_more_families_against_torch(name):
    make, params, value, methods = EXTRA[name]
    compare_methods(make, params, value, methods)


@pytest.mark.parametrize("name", ["Cauchy", "HalfNormal", "HalfCauchy", "Pareto", "Weibull"])
def test_more_icdf_against_torch(name):
    make, params = EXTRA[name][:2]
    compare_methods(make, params, UNIT, ["icdf"])
