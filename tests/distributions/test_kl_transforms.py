"""kl_divergence (registry and closed forms) and the transforms, against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork.distributions import Distribution, Normal, kl_divergence, register_kl

from ._common import compare_methods, leaves, torch

R = np.random.default_rng(2)
POS = [R.uniform(0.3, 3.0, (2, 3)) for _ in range(2)]
REAL = [R.normal(size=(2, 3)) for _ in range(2)]
UNIT = [R.uniform(0.05, 0.95, (2, 3)) for _ in range(2)]
CONC = [R.uniform(0.5, 3.0, (2, 4)) for _ in range(2)]
PROBS = [R.uniform(0.1, 1.0, (2, 4)) for _ in range(2)]
A = [R.normal(size=(2, 3, 3)) for _ in range(2)]
TRIL = [np.linalg.cholesky(a @ a.transpose(0, 2, 1) + 2 * np.eye(3)) for a in A]

# name -> (constructor of one distribution from its parameters, parameters of p, of q)
PAIRS = {
    "Normal": (lambda D, a, b: D.Normal(a, b), [REAL[0], POS[0]], [REAL[1], POS[1]]),
    "Bernoulli": (lambda D, a: D.Bernoulli(a), [UNIT[0]], [UNIT[1]]),
    "Categorical": (lambda D, a: D.Categorical(a), [PROBS[0]], [PROBS[1]]),
    "OneHotCategorical": (lambda D, a: D.OneHotCategorical(a), [PROBS[0]], [PROBS[1]]),
    "Beta": (lambda D, a, b: D.Beta(a, b), [POS[0], POS[1]], [POS[1], POS[0] + 1]),
    "Gamma": (lambda D, a, b: D.Gamma(a, b), [POS[0], POS[1]], [POS[1], POS[0] + 1]),
    "Dirichlet": (lambda D, a: D.Dirichlet(a), [CONC[0]], [CONC[1]]),
    "Exponential": (lambda D, a: D.Exponential(a), [POS[0]], [POS[1]]),
    "Laplace": (lambda D, a, b: D.Laplace(a, b), [REAL[0], POS[0]], [REAL[1], POS[1]]),
    "Gumbel": (lambda D, a, b: D.Gumbel(a, b), [REAL[0], POS[0]], [REAL[1], POS[1]]),
    "Poisson": (lambda D, a: D.Poisson(a), [POS[0]], [POS[1]]),
    "Binomial": (lambda D, a: D.Binomial(4, a), [UNIT[0]], [UNIT[1]]),
    "Uniform": (lambda D, a, b: D.Uniform(a, a + b), [REAL[0], POS[0]],
                [REAL[0] - 0.5, POS[0] + 1.0]),
    "MultivariateNormal": (lambda D, m, s: D.MultivariateNormal(m, scale_tril=s),
                           [REAL[0], TRIL[0]], [REAL[1], TRIL[1]]),
    "LogNormal": (lambda D, a, b: D.LogNormal(a, b), [REAL[0], POS[0]], [REAL[1], POS[1]]),
    "Independent": (lambda D, a, b: D.Independent(D.Normal(a, b), 1), [REAL[0], POS[0]],
                    [REAL[1], POS[1]]),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_kl_against_torch(name):
    make, p_params, q_params = PAIRS[name]

    class KL:  # a stand-in distribution whose "kl" attribute is KL(p || q)
        def __init__(self, lib, *params):
            d = lib.distributions
            p = make(d, *params[:len(p_params)])
            q = make(d, *params[len(p_params):])
            self.kl = d.kl_divergence(p, q)

    compare_methods(KL, p_params + q_params, None, ["kl"], rtol=1e-8)


def test_kl_normal_laplace_against_torch():
    def make(lib, a, b, c, d):
        return type("KL", (), {"kl": lib.distributions.kl_divergence(
            lib.distributions.Normal(a, b), lib.distributions.Laplace(c, d))})

    compare_methods(make, [REAL[0], POS[0], REAL[1], POS[1]], None, ["kl"])


def test_kl_out_of_support_is_inf():
    d = brickwork.distributions
    kl = d.kl_divergence(d.Uniform(0.0, 2.0), d.Uniform(0.5, 1.0))
    assert float(kl) == float("inf")
    kl = d.kl_divergence(d.Bernoulli(brickwork.tensor([0.5])), d.Bernoulli(brickwork.tensor([0.0])))
    assert float(kl) == float("inf")


def test_unregistered_pair_raises_and_register_kl_dispatches():
    d = brickwork.distributions
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p "
                                                  "type Laplace and q type Poisson"):
        kl_divergence(d.Laplace(0.0, 1.0), d.Poisson(1.0))
    with pytest.raises(NotImplementedError, match="different exponential families"):
        kl_divergence(d.Exponential(1.0), d.Poisson(1.0))

    class MyNormal(Normal):
        pass

    # a subclass uses its parent's closed form until one is registered for it
    p, q = MyNormal(0.0, 1.0), Normal(1.0, 1.0)
    assert abs(float(kl_divergence(p, q)) - 0.5) < 1e-6

    @register_kl(MyNormal, Normal)
    def _kl(p, q):
        return brickwork.tensor(42.0)

    assert float(kl_divergence(p, q)) == 42.0
    with pytest.raises(TypeError):
        register_kl(int, Normal)
    assert issubclass(MyNormal, Distribution)


TRANSFORMS = {
    "Exp": (lambda T: T.ExpTransform(), REAL[0]),
    "Affine": (lambda T: T.AffineTransform(0.5, -2.0), REAL[0]),
    "Sigmoid": (lambda T: T.SigmoidTransform(), REAL[0]),
    "Tanh": (lambda T: T.TanhTransform(), REAL[0]),
    "Power": (lambda T: T.PowerTransform(1.5), POS[0]),
    "Compose": (lambda T: T.ComposeTransform([T.AffineTransform(1.0, 2.0), T.ExpTransform(),
                                              T.PowerTransform(0.5)]), REAL[0]),
    "Inverse": (lambda T: T.ExpTransform().inv, POS[0]),
    "StickBreaking": (lambda T: T.StickBreakingTransform(), REAL[0]),
    "Independent": (lambda T: T.IndependentTransform(T.SigmoidTransform(), 1), REAL[0]),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_against_torch(name):
    make, x = TRANSFORMS[name]

    class Out:
        def __init__(self, lib, x):
            t = make(lib.distributions.transforms)
            y = t(x)
            self.y, self.back = y, t.inv(y)
            self.ladj = t.log_abs_det_jacobian(x, y)

    compare_methods(Out, [x], None, ["y", "back", "ladj"], rtol=1e-8)


def test_softmax_transform_against_torch():
    class Out:
        def __init__(self, lib, x):
            t = lib.distributions.transforms.SoftmaxTransform()
            self.y = t(x)
            self.back = t.inv(self.y)

    compare_methods(Out, [REAL[0]], None, ["y", "back"])


def test_transformed_distribution_against_torch():
    def make(lib, loc, scale):
        D, T = lib.distributions, lib.distributions.transforms
        return D.TransformedDistribution(D.Normal(loc, scale),
                                         [T.AffineTransform(1.0, 2.0), T.SigmoidTransform()])

    compare_methods(make, [REAL[0], POS[0] / 3], UNIT[0], ["log_prob", "cdf"])
    compare_methods(make, [REAL[0], POS[0] / 3], UNIT[1], ["icdf"])


def test_transformed_distribution_decreasing_cdf_and_shapes():
    def make(lib, loc, scale):
        D, T = lib.distributions, lib.distributions.transforms
        return D.TransformedDistribution(D.Normal(loc, scale), T.AffineTransform(0.0, -3.0))

    compare_methods(make, [REAL[0], POS[0]], REAL[1], ["log_prob", "cdf"])
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    b = make(brickwork, *leaves(brickwork, [REAL[0], POS[0]]))
    t = make(torch, *leaves(torch, [REAL[0], POS[0]]))
    assert tuple(b.batch_shape) == tuple(t.batch_shape)
    assert tuple(b.event_shape) == tuple(t.event_shape)
    assert b.has_rsample and tuple(b.rsample((5,)).shape) == (5, 2, 3)


def test_transform_cache_returns_the_input():
    t = brickwork.distributions.transforms.ExpTransform().with_cache(1)
    x = brickwork.tensor([0.5, -1.0], requires_grad=True)
    y = t(x)
    assert t.inv(y) is x
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        brickwork.distributions.transforms.ExpTransform(cache_size=2)


def test_transform_reprs_and_constraints_match_torch():
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    names = ["ExpTransform", "SigmoidTransform", "TanhTransform", "SoftmaxTransform"]
    for n in names:
        b = getattr(brickwork.distributions.transforms, n)()
        t = getattr(torch.distributions.transforms, n)()
        assert repr(b) == repr(t)
        assert repr(b.domain) == repr(t.domain) and repr(b.codomain) == repr(t.codomain)
        assert repr(b.inv) == repr(t.inv)


@pytest.mark.parametrize("name", ["Normal", "Bernoulli", "Exponential", "Gamma", "Beta",
                                  "Dirichlet", "Poisson"])
def test_exponential_family_bregman_forms_against_torch(name):
    # the generic entropy and KL of ExponentialFamily, forced past the closed forms
    make, p_params, q_params = PAIRS[name]

    class Out:
        def __init__(self, lib, *params):
            d = lib.distributions
            p = make(d, *params[:len(p_params)])
            q = make(d, *params[len(p_params):])
            self.kl = d.kl._kl_expfamily_expfamily(p, q)
            # PyTorch (and so brickwork) knows E[k(x)] only where it is 0
            if name in ("Normal", "Bernoulli", "Exponential", "Gamma"):
                self.entropy = d.ExponentialFamily.entropy(p)

    methods = ["kl", "entropy"] if name in ("Normal", "Bernoulli", "Exponential", "Gamma") \
        else ["kl"]
    compare_methods(Out, p_params + q_params, None, methods, rtol=1e-8)


REGISTRY = {
    "real": lambda c: c.real,
    "positive": lambda c: c.positive,
    "nonnegative": lambda c: c.nonnegative,
    "greater_than": lambda c: c.greater_than(1.5),
    "less_than": lambda c: c.less_than(-0.5),
    "unit_interval": lambda c: c.unit_interval,
    "interval": lambda c: c.interval(-1.0, 3.0),
    "independent": lambda c: c.independent(c.positive, 1),
    "simplex": lambda c: c.simplex,
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_against_torch(name, registry):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    x = np.random.default_rng(5).normal(size=(2, 3))

    def run(lib):
        d = lib.distributions
        constraint = REGISTRY[name](d.constraints)
        try:
            t = getattr(d, registry)(constraint)
        except NotImplementedError as e:
            return "NotImplementedError", str(e)
        xt = lib.tensor(x)
        y = t(xt)
        ladj = y.sum(-1) if registry == "transform_to" and name == "simplex" \
            else t.log_abs_det_jacobian(xt, y)  # softmax has no log-det (not bijective)
        return repr(t), y, t.inv(y), ladj, bool(constraint.check(y).all())

    b, t = run(brickwork), run(torch)
    assert b[0] == t[0] and b[-1] == t[-1] is True
    for bv, tv in zip(b[1:-1], t[1:-1]):
        np.testing.assert_allclose(bv._host(), tv.numpy(), rtol=1e-10, atol=1e-12)


def test_registry_refuses_unknown_constraints():
    from brickwork.distributions import biject_to, constraints, transform_to

    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        biject_to(constraints.boolean)
    with pytest.raises(TypeError):
        transform_to.register(int, lambda c: None)


def test_transformed_distribution_changing_event_shape_against_torch():
    # a logistic-normal on the 4-simplex: the transform adds one coordinate to each event
    def make(lib, loc, scale):
        D, T = lib.distributions, lib.distributions.transforms
        return D.TransformedDistribution(D.Normal(loc, scale), T.StickBreakingTransform())

    value = np.random.default_rng(6).dirichlet(np.ones(4), 2)
    compare_methods(make, [REAL[0], POS[0]], value, ["log_prob"], rtol=1e-8)
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    b = make(brickwork, *leaves(brickwork, [REAL[0], POS[0]]))
    t = make(torch, *leaves(torch, [REAL[0], POS[0]]))
    assert (tuple(b.batch_shape), tuple(b.event_shape)) == (tuple(t.batch_shape),
                                                            tuple(t.event_shape))
    assert tuple(b.sample((5,)).shape) == (5, 2, 4)
