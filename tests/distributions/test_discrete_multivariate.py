"""Discrete and multivariate distributions against PyTorch (float64): log_prob, moments,
entropies and their gradients with respect to the parameters."""
from __future__ import annotations

import numpy as np
import pytest

from ._common import compare_methods

R = np.random.default_rng(1)
UNIT = R.uniform(0.05, 0.95, (2, 3))
LOGITS = R.normal(size=(2, 4))
PROBS = R.uniform(0.1, 1.0, (2, 4))
BITS = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
COUNTS = np.array([[2.0, 0.0, 5.0], [1.0, 3.0, 0.0]])
ONE_HOT = np.eye(4)[[1, 3]]
MULTI = np.array([[2.0, 0.0, 1.0, 2.0], [0.0, 5.0, 0.0, 0.0]])
CONC = R.uniform(0.5, 3.0, (2, 4))
SIMPLEX = R.dirichlet(np.ones(4), 2)
A = R.normal(size=(2, 3, 3))
COV = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
TRIL = np.linalg.cholesky(COV)
LOC = R.normal(size=(2, 3))
FACTOR = R.normal(size=(2, 3, 2))
DIAG = R.uniform(0.5, 2.0, (2, 3))
VEC = R.normal(size=(4, 2, 3))  # sample dimension in front of the batch
MOMENTS = ["mean", "variance", "entropy"]

CASES = {
    "Bernoulli-probs": (lambda lib, p: lib.distributions.Bernoulli(probs=p), [UNIT], BITS,
                        ["log_prob", "mean", "mode", "variance", "entropy", "logits"]),
    "Bernoulli-logits": (lambda lib, p: lib.distributions.Bernoulli(logits=p), [UNIT - 0.5],
                         BITS, ["log_prob", "mean", "variance", "entropy", "probs"]),
    "Categorical-probs": (lambda lib, p: lib.distributions.Categorical(probs=p), [PROBS],
                          np.array([0, 3]), ["log_prob", "entropy", "mode", "logits"]),
    "Categorical-logits": (lambda lib, p: lib.distributions.Categorical(logits=p), [LOGITS],
                           np.array([[1, 2], [0, 3]]), ["log_prob", "entropy", "probs"]),
    "OneHotCategorical": (lambda lib, p: lib.distributions.OneHotCategorical(p), [PROBS],
                          ONE_HOT, ["log_prob", "mode"] + MOMENTS),
    "Poisson": (lambda lib, r: lib.distributions.Poisson(r), [UNIT * 5], COUNTS,
                ["log_prob", "mean", "mode", "variance"]),
    "Binomial-probs": (lambda lib, p: lib.distributions.Binomial(5, probs=p), [UNIT], COUNTS,
                       ["log_prob", "mean", "mode", "variance", "entropy"]),
    "Binomial-logits": (lambda lib, p: lib.distributions.Binomial(5, logits=p), [UNIT - 0.5],
                        COUNTS, ["log_prob", "mean", "variance"]),
    "NegativeBinomial-probs": (lambda lib, n, p: lib.distributions.NegativeBinomial(n, p),
                               [UNIT * 4 + 0.5, UNIT], COUNTS,
                               ["log_prob", "mean", "mode", "variance"]),
    "NegativeBinomial-logits": (lambda lib, n, p: lib.distributions.NegativeBinomial(
        n, logits=p), [UNIT * 4 + 0.5, UNIT - 0.5], COUNTS, ["log_prob", "mean", "variance"]),
    # PyTorch's entropy takes lgamma of an int64 tensor here, i.e. in float32: rtol 1e-7
    "Multinomial": (lambda lib, p: lib.distributions.Multinomial(5, p), [PROBS], MULTI,
                    ["log_prob", "mean", "variance", "entropy"], {"rtol": 1e-7}),
    "Dirichlet": (lambda lib, c: lib.distributions.Dirichlet(c), [CONC], SIMPLEX,
                  ["log_prob", "mode"] + MOMENTS),
    "MVN-covariance": (lambda lib, m, c: lib.distributions.MultivariateNormal(m, c),
                       [LOC, COV], VEC, ["log_prob", "variance", "entropy", "scale_tril",
                                         "precision_matrix"]),
    "MVN-precision": (lambda lib, m, p: lib.distributions.MultivariateNormal(
        m, precision_matrix=p), [LOC, COV], VEC, ["log_prob", "variance", "entropy",
                                                  "covariance_matrix", "scale_tril"]),
    "MVN-scale_tril": (lambda lib, m, s: lib.distributions.MultivariateNormal(
        m, scale_tril=s), [LOC, TRIL], VEC, ["log_prob", "variance", "entropy",
                                              "covariance_matrix"]),
    # PyTorch's precision here goes through cholesky_inverse, whose gradient also reaches the
    # (unused, zero) upper triangle of scale_tril: compare values only
    "MVN-scale_tril-precision": (lambda lib, m, s: lib.distributions.MultivariateNormal(
        m, scale_tril=s), [LOC, TRIL], None, ["precision_matrix"], {"grad": False}),
    "MVN-broadcast": (lambda lib, m, s: lib.distributions.MultivariateNormal(
        m, scale_tril=s), [LOC[0], TRIL], VEC, ["log_prob", "mean", "entropy"]),
    "LowRankMVN": (lambda lib, m, w, d: lib.distributions.LowRankMultivariateNormal(m, w, d),
                   [LOC, FACTOR, DIAG], VEC, ["log_prob", "variance", "entropy",
                                              "covariance_matrix", "precision_matrix",
                                              "scale_tril"]),
    "Independent": (lambda lib, m, s: lib.distributions.Independent(
        lib.distributions.Normal(m, s), 1), [LOC, DIAG], VEC,
        ["log_prob", "mean", "variance", "entropy"]),
    "MixtureSameFamily": (lambda lib, w, m, s: lib.distributions.MixtureSameFamily(
        lib.distributions.Categorical(logits=w), lib.distributions.Normal(m, s)),
        [LOC[:, :2].copy(), LOC[:, 1:].copy(), DIAG[:, :2].copy()], VEC[..., :1].copy(),
        ["log_prob", "cdf", "mean", "variance"]),
    "MixtureSameFamily-MVN": (lambda lib, w, m, s: lib.distributions.MixtureSameFamily(
        lib.distributions.Categorical(logits=w),
        lib.distributions.MultivariateNormal(m, scale_tril=s)),
        [LOC[0, :2].copy(), LOC[:, None, :] + np.zeros((2, 2, 3)), TRIL],
        VEC[:, :1, :] + np.zeros((4, 2, 3)), ["log_prob", "mean", "variance"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_torch(name):
    make, params, value, methods, *options = CASES[name]
    compare_methods(make, params, value, methods, **{"rtol": 1e-8, **(options[0] if options
                                                                     else {})})


@pytest.mark.parametrize("name", ["Bernoulli-probs", "Categorical-logits", "Binomial-probs",
                                  "OneHotCategorical"])
def test_enumerate_support(name):
    make, params = CASES[name][:2]
    import brickwork

    from ._common import leaves, torch

    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    for expand in (True, False):
        b = make(brickwork, *leaves(brickwork, params)).enumerate_support(expand)
        t = make(torch, *leaves(torch, params)).enumerate_support(expand)
        assert tuple(b.shape) == tuple(t.shape)
        np.testing.assert_array_equal(b._host(), t.numpy())


TEMP = np.array(0.7)
RELAXED = {
    "RelaxedBernoulli": (lambda lib, temp, p: lib.distributions.RelaxedBernoulli(temp, p),
                         [TEMP, UNIT], R.uniform(0.05, 0.95, (2, 3)), ["log_prob", "logits"]),
    "RelaxedBernoulli-logits": (lambda lib, temp, p: lib.distributions.RelaxedBernoulli(
        temp, logits=p), [TEMP, UNIT - 0.5], R.uniform(0.05, 0.95, (2, 3)), ["log_prob"]),
    "RelaxedOneHotCategorical": (lambda lib, temp, p: lib.distributions
                                 .RelaxedOneHotCategorical(temp, p), [TEMP, PROBS], SIMPLEX,
                                 ["log_prob", "probs"]),
    "RelaxedOneHotCategorical-logits": (lambda lib, temp, p: lib.distributions
                                        .RelaxedOneHotCategorical(temp, logits=p),
                                        [TEMP, LOGITS], SIMPLEX, ["log_prob"]),
}


@pytest.mark.parametrize("name", sorted(RELAXED))
def test_relaxed_against_torch(name):
    make, params, value, methods = RELAXED[name]
    compare_methods(make, params, value, methods, rtol=1e-8)


def test_relaxed_samples():
    import brickwork

    brickwork.manual_seed(0)
    temp = brickwork.tensor(0.5, requires_grad=True)
    logits = brickwork.tensor([[0.1, 1.0, -1.0]], requires_grad=True)
    d = brickwork.distributions.RelaxedOneHotCategorical(temp, logits=logits)
    x = d.rsample((20000,))
    assert tuple(x.shape) == (20000, 1, 3) and d.support.check(x).all()
    # at a low temperature the argmax of a sample is distributed as the categorical
    freq = np.bincount(x.detach()._host().argmax(-1).ravel(), minlength=3) / 20000
    np.testing.assert_allclose(freq, logits.softmax(-1).detach()._host()[0], atol=0.015)
    x[..., 1].mean().backward()
    assert logits.grad is not None and temp.grad is not None
    b = brickwork.distributions.RelaxedBernoulli(brickwork.tensor(0.1),
                                                 brickwork.tensor([0.3, 0.8]))
    y = b.sample((20000,))._host()
    np.testing.assert_allclose((y > 0.5).mean(0), [0.3, 0.8], atol=0.015)
