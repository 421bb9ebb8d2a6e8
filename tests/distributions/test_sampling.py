"""Sampling: statistics of 10^5 draws against the analytic moments, and reparameterized
gradients (finite differences at a fixed seed; expectations for the implicit Gamma family)."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.distributions import (Bernoulli, Beta, Binomial, Categorical, Dirichlet,
                                     Exponential, Gamma, Gumbel, Laplace, LogNormal,
                                     LowRankMultivariateNormal, MixtureSameFamily,
                                     Multinomial, MultivariateNormal, Normal,
                                     OneHotCategorical, Poisson, StudentT, Uniform)

N = 100_000
t = brickwork.tensor


def _stats(d, n=N):
    x = d.sample((n,))._host().astype(np.float64)
    return x.mean(0), x.var(0), x


DISTS = {
    "Normal": lambda: Normal(t([0.5, -2.0]), t([1.0, 3.0])),
    "Uniform": lambda: Uniform(t([0.0, -1.0]), t([2.0, 5.0])),
    "Exponential": lambda: Exponential(t([0.5, 4.0])),
    "Laplace": lambda: Laplace(t([1.0, -1.0]), t([0.5, 2.0])),
    "Gumbel": lambda: Gumbel(t([1.0, -1.0]), t([0.5, 2.0])),
    "LogNormal": lambda: LogNormal(t([0.0, 0.5]), t([0.25, 0.5])),
    "Gamma": lambda: Gamma(t([0.3, 2.0, 50.0]), t([1.0, 3.0, 0.5])),
    "Beta": lambda: Beta(t([0.5, 2.0]), t([0.5, 5.0])),
    "StudentT": lambda: StudentT(t([5.0, 10.0]), t([1.0, 0.0]), t([1.0, 2.0])),
    "Poisson": lambda: Poisson(t([0.5, 7.0])),
    "Binomial": lambda: Binomial(10, t([0.2, 0.7])),
    "Bernoulli": lambda: Bernoulli(logits=t([-1.0, 2.0])),
    "NegativeBinomial": lambda: brickwork.distributions.NegativeBinomial(t([2.0, 5.5]),
                                                                         t([0.3, 0.6])),
    "Dirichlet": lambda: Dirichlet(t([0.5, 1.0, 3.0])),
    "Multinomial": lambda: Multinomial(6, t([0.2, 0.3, 0.5])),
    "OneHotCategorical": lambda: OneHotCategorical(t([0.2, 0.3, 0.5])),
    "MultivariateNormal": lambda: MultivariateNormal(t([1.0, -1.0]),
                                                     t([[2.0, 0.6], [0.6, 1.0]])),
    "LowRankMultivariateNormal": lambda: LowRankMultivariateNormal(
        t([1.0, -1.0]), t([[1.0], [0.5]]), t([0.5, 1.0])),
}


@pytest.mark.parametrize("name", sorted(DISTS))
def test_sample_moments(name):
    brickwork.manual_seed(0)
    d = DISTS[name]()
    mean, var, x = _stats(d)
    want_mean = d.mean._host()
    want_var = d.variance._host()
    assert x.shape == (N,) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert d.support.check(brickwork.tensor(x[:1000])).all()
    # 5 standard errors of the mean; the variance within 5% (heavy tails included)
    np.testing.assert_allclose(mean, want_mean, atol=5 * np.sqrt(want_var / N).max() + 1e-12)
    np.testing.assert_allclose(var, want_var, rtol=0.05, atol=1e-3)


def test_categorical_frequencies_and_mixture_moments():
    brickwork.manual_seed(1)
    c = Categorical(t([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]]))
    x = c.sample((N,))._host()
    freq = np.stack([(x == k).mean(0) for k in range(3)], -1)
    np.testing.assert_allclose(freq, c.probs._host(), atol=0.01)
    m = MixtureSameFamily(Categorical(t([0.3, 0.7])), Normal(t([-2.0, 3.0]), t([0.5, 1.0])))
    mean, var, _ = _stats(m)
    np.testing.assert_allclose(mean, m.mean._host(), atol=0.05)
    np.testing.assert_allclose(var, m.variance._host(), rtol=0.03)


def test_samples_repeat_with_the_seed():
    for name in ("Normal", "Gamma", "Categorical"):
        make = DISTS.get(name, lambda: Categorical(t([0.2, 0.8])))
        brickwork.manual_seed(3)
        a = make().sample((5,))._host()
        brickwork.manual_seed(3)
        b = make().sample((5,))._host()
        np.testing.assert_array_equal(a, b)


# rsample is a deterministic function of the parameters once the noise is fixed: compare the
# autograd gradient of sum(rsample) with central differences at the same seed
FD_CASES = {
    "Normal": (lambda a, b: Normal(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "Uniform": (lambda a, b: Uniform(a, a + b), [[0.5, -1.0], [1.0, 2.0]]),
    "Exponential": (lambda a: Exponential(a), [[0.5, 2.0]]),
    "Laplace": (lambda a, b: Laplace(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "Gumbel": (lambda a, b: Gumbel(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "LogNormal": (lambda a, b: LogNormal(a, b), [[0.5, -1.0], [0.3, 0.6]]),
    "Cauchy": (lambda a, b: brickwork.distributions.Cauchy(a, b), [[0.5, -1.0], [1.0, 2.0]]),
    "HalfNormal": (lambda b: brickwork.distributions.HalfNormal(b), [[1.0, 2.0]]),
    "Pareto": (lambda a, b: brickwork.distributions.Pareto(a, b), [[0.5, 1.0], [1.0, 2.0]]),
    "Weibull": (lambda a, b: brickwork.distributions.Weibull(a, b), [[0.5, 1.0], [1.0, 2.0]]),
    "MultivariateNormal": (lambda m, s: MultivariateNormal(m, s), [[0.5, -1.0],
                                                                  [[2.0, 0.3], [0.3, 1.0]]]),
    "LowRankMultivariateNormal": (lambda m, w, d: LowRankMultivariateNormal(m, w, d),
                                  [[0.5, -1.0], [[1.0], [0.5]], [0.5, 1.0]]),
}


@pytest.mark.parametrize("name", sorted(FD_CASES))
def test_rsample_gradient_by_finite_differences(name):
    make, values = FD_CASES[name]
    params = [t(v, dtype=brickwork.float64, requires_grad=True) for v in values]
    w = np.random.default_rng(0).uniform(-1, 1, (3,) + tuple(make(*params).batch_shape)
                                         + tuple(make(*params).event_shape))

    def f(*ps):
        brickwork.manual_seed(7)
        return (make(*ps).rsample((3,)) * t(w)).sum()

    grads = brickwork.autograd.grad(f(*params), params)
    eps = 1e-6
    for p, g in zip(params, grads):
        base = p.detach()._host()
        fd = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            hi, lo = base.copy(), base.copy()
            hi[idx] += eps
            lo[idx] -= eps
            args_hi = [t(hi) if q is p else q.detach() for q in params]
            args_lo = [t(lo) if q is p else q.detach() for q in params]
            fd[idx] = (float(f(*args_hi)) - float(f(*args_lo))) / (2 * eps)
        g = g._host()
        if name == "MultivariateNormal" and g.ndim == 2:
            # the covariance is symmetric: the finite differences see only its lower triangle
            # (the factorization reads no more), the gradient is symmetrized as PyTorch's;
            # both agree on each symmetric pair's total
            g, fd = np.tril(g + g.T - np.diag(np.diag(g))), np.tril(fd + fd.T - np.diag(
                np.diag(fd)))
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-6, err_msg=name)


def test_gamma_family_rsample_gradients_match_the_mean():
    # E[dX/dtheta] = dE[X]/dtheta for implicit reparameterization
    brickwork.manual_seed(11)
    alpha = t([0.3, 2.0, 20.0], dtype=brickwork.float64, requires_grad=True)
    rate = t([1.0, 3.0, 0.5], dtype=brickwork.float64, requires_grad=True)
    x = Gamma(alpha, rate).rsample((N,))
    ga, gr = brickwork.autograd.grad(x.mean(0).sum(), [alpha, rate])
    np.testing.assert_allclose(ga._host(), 1 / rate.detach()._host(), rtol=0.03)
    want_gr = -(alpha / rate ** 2).detach()._host()
    np.testing.assert_allclose(gr._host(), want_gr, rtol=0.03)

    conc = t([0.5, 1.0, 3.0], dtype=brickwork.float64, requires_grad=True)
    y = Dirichlet(conc).rsample((N,))
    (g,) = brickwork.autograd.grad(y[:, 0].mean(), [conc])
    a = conc.detach()._host()
    a0 = a.sum()
    want = np.array([(a0 - a[0]) / a0 ** 2, -a[0] / a0 ** 2, -a[0] / a0 ** 2])
    np.testing.assert_allclose(g._host(), want, atol=0.01)

    c1 = t(2.0, dtype=brickwork.float64, requires_grad=True)
    c0 = t(3.0, dtype=brickwork.float64, requires_grad=True)
    z = Beta(c1, c0).rsample((N,))
    g1, g0 = brickwork.autograd.grad(z.mean(), [c1, c0])
    np.testing.assert_allclose([float(g1), float(g0)], [3 / 25, -2 / 25], atol=0.01)

    df = t([4.0], dtype=brickwork.float64, requires_grad=True)
    s = StudentT(df).rsample((N,))
    (gdf,) = brickwork.autograd.grad((s ** 2).mean(), [df])  # d/ddf df/(df-2) = -2/(df-2)^2
    np.testing.assert_allclose(gdf._host(), [-0.5], atol=0.15)


def test_standard_gamma_grad_against_torch():
    torch = pytest.importorskip("torch")
    from brickwork.distributions._gamma_sampling import standard_gamma_grad

    rng = np.random.default_rng(0)
    for a in (0.05, 0.5, 1.0, 3.0, 30.0, 1000.0):
        alpha = np.full(2000, a)
        x = rng.standard_gamma(alpha)
        want = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
        got = standard_gamma_grad(t(alpha), t(x))._host()
        # PyTorch's is a piecewise approximation good to ~1e-3; ours is ~1e-9 (see module)
        np.testing.assert_allclose(got, want, rtol=3e-3, err_msg=f"alpha={a}")


def test_more_families_sample_moments():
    from brickwork.distributions import Cauchy, Geometric, HalfNormal

    brickwork.manual_seed(4)
    from brickwork.distributions import Pareto, Weibull

    for d in (HalfNormal(t([0.5, 2.0])), Geometric(t([0.2, 0.7])),
              Pareto(t([1.0, 2.0]), t([5.0, 8.0])), Weibull(t([1.0, 2.0]), t([0.8, 3.0]))):
        mean, var, x = _stats(d)
        np.testing.assert_allclose(mean, d.mean._host(), rtol=0.02)
        np.testing.assert_allclose(var, d.variance._host(), rtol=0.1)
        assert d.support.check(brickwork.tensor(x[:1000])).all()
    c = Cauchy(t([1.0, -2.0]), t([0.5, 2.0]))
    x = c.sample((N,))._host()
    # no moments: compare the median and the quartiles
    np.testing.assert_allclose(np.median(x, 0), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(np.percentile(x, 75, 0) - np.percentile(x, 25, 0), [1.0, 4.0],
                               rtol=0.03)


def test_gamma_rsample_second_derivative_refuses():
    alpha = t([2.0], dtype=brickwork.float64, requires_grad=True)
    x = Gamma(alpha, 1.0).rsample()
    (g,) = brickwork.autograd.grad(x.sum(), [alpha], create_graph=True)
    with pytest.raises(NotImplementedError, match="_standard_gamma_grad"):
        g.sum().backward()


def test_categorical_never_draws_zero_probability_categories():
    brickwork.manual_seed(2)
    c = Categorical(t([[0.0, 0.5, 0.0, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]]))
    x = c.sample((20000,))._host()
    assert set(np.unique(x[:, 0])) == {1, 3} and set(np.unique(x[:, 1])) == {0}


@pytest.mark.parametrize("device", ["cpu", "cuda:1"])
def test_categorical_sample_dtype_shape_and_device(device, sim_cuda):
    probs = brickwork.tensor([[0.2, 0.8], [0.7, 0.3]], requires_grad=True).to(device)
    x = Categorical(probs).sample((3,))
    assert x.dtype == brickwork.int64 and tuple(x.shape) == (3, 2) and not x.requires_grad
    assert str(x.device) == device and set(np.unique(x.cpu()._host())) <= {0, 1}
    one = Categorical(brickwork.tensor([0.2, 0.8]).to(device)).sample()  # 0-d
    assert tuple(one.shape) == () and one.dtype == brickwork.int64 and int(one) in (0, 1)
    assert repr(one).startswith("tensor(") and (one + 1).item() in (1, 2)
