"""Out-of-place random sampling with tensor parameters: ``normal``, ``bernoulli``,
``multinomial`` and ``poisson`` (exported by ``random_fill``).

Draws come from brickwork's generators on the host, as the random factories' do, and land on the
parameters' device. Samples are not reparameterized: as in PyTorch, a parameter that requires
grad gets a zero gradient through them (``NormalBackward3``...).
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..device import resolve, runs_on_input_device
from ..random import rng_for
from ..tensor import _SCALAR_TYPE_NAMES, Tensor, _make, _size_args
from ._util import broadcast_mismatch, xp_of


class _Sampled(Function):
    """A sample as an op of its tensor parameters: every gradient is zero."""

    _array_level = True

    @staticmethod
    def forward(ctx, draws, *params):
        ctx.params = [(p.shape, p.dtype) for p in params]
        return draws

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        return (None, *(xp.zeros(s, d) for s, d in ctx.params))


class _NoDerivative(Function):
    """``bernoulli(input, p)``: PyTorch defines no derivative (its node is ``NotImplemented``)."""

    _array_level = True
    _backward_name = "NotImplemented"

    @staticmethod
    def forward(ctx, input, u, p):
        return (u < p).astype(input.dtype)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::bernoulli is not implemented")


_NODES: dict = {}


def _finish(host: np.ndarray, like: Tensor, params: tuple, backward_name: str) -> Tensor:
    """``host`` on ``like``'s device, recorded as a zero-gradient op of the tensors in
    ``params`` that require grad."""
    arr = like._data
    out = host if isinstance(arr, np.ndarray) else xp_of(arr).asarray(host)
    params = tuple(p for p in params if isinstance(p, Tensor))
    if _GRAD.enabled and any(p._requires_grad for p in params):
        cls = _NODES.get(backward_name)
        if cls is None:
            cls = _NODES[backward_name] = type(backward_name, (_Sampled,),
                                               {"_backward_name": backward_name})
        return cls.apply(out, *params)
    return _make(out, like._device)


def _not_implemented(kernel: str, t: Tensor):
    return NotImplementedError(f'"{kernel}" not implemented for '
                               f"'{_SCALAR_TYPE_NAMES[t._data.dtype.name]}'")


def _draw_dtype(np_dtype):
    return np.float64 if np_dtype == np.float64 else np.float32


@runs_on_input_device
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples from normal distributions. See: torch.normal.

    Forms: ``normal(mean_tensor, std_tensor)`` (broadcast), ``normal(mean_tensor, std=1.0)``,
    ``normal(mean, std_tensor)``, and ``normal(mean, std, size, *, dtype, device,
    requires_grad)`` for scalar mean and std. The result of a tensor form has the dtype of the
    tensor mean (else of std).
    """
    m_t, s_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (m_t or s_t):
        return _normal_scalars(mean, std, size, generator, dtype, device, requires_grad)
    if size is not None or requires_grad:
        raise TypeError("normal() with a tensor mean or std takes no size or requires_grad "
                        "(the result's shape follows the tensors)")
    like = mean if m_t else std
    if not _dt.is_float_array(like._data):
        raise _not_implemented("normal_kernel_cpu", like)
    # dtype and device come from out= (see _out.py): the result is computed in out's dtype.
    if device is not None and resolve(device) != like._device:
        raise RuntimeError(f"normal(): expected the result on {like.device}, got device="
                           f"{resolve(device)}")
    out_dtype = like._data.dtype if dtype is None else _float_np(dtype)
    m = mean._host() if m_t else float(mean)
    s = std._host() if s_t else float(std)
    if s_t:
        if not (np.asarray(s) >= 0).all():
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif s < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_fmt(s)}")
    shape = _broadcast(np.shape(m), np.shape(s))
    z = rng_for(generator).standard_normal(shape, dtype=_draw_dtype(out_dtype))
    host = np.asarray(m + s * z).astype(out_dtype, copy=False)
    name = "NormalBackward3" if m_t and s_t else "NormalBackward1" if m_t else "NormalBackward2"
    return _finish(host, like, (mean, std), name)


def _normal_scalars(mean, std, size, generator, dtype, device, requires_grad) -> Tensor:
    from .. import dtypes as _dt
    from ..factories import _finish as _factory_finish

    if size is None or not isinstance(size, (tuple, list)):
        raise TypeError("normal() with a float mean and std needs size, a tuple of ints")
    shape = _size_args((size,), "normal")
    d = _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
    _float_np(d)
    std = float(std)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_fmt(std)}")
    z = rng_for(generator).standard_normal(shape, dtype=_draw_dtype(d.np))
    return _factory_finish(z * std + float(mean), d, device, requires_grad)


def _float_np(dtype) -> np.dtype:
    from .. import dtypes as _dt

    d = _dt.to_dtype(dtype)
    if not d.is_floating_point:
        raise NotImplementedError(f'"normal_kernel_cpu" not implemented for '
                                  f"'{_SCALAR_TYPE_NAMES[d.name]}'")
    return d.np


def _broadcast(a: tuple, b: tuple) -> tuple:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(broadcast_mismatch(a, b)) from None


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


@runs_on_input_device
def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or the number ``p``) and 0 otherwise, in ``input``'s
    dtype and shape. See: torch.bernoulli."""
    rng = rng_for(generator)
    if p is None:
        if not _dt.is_float_array(input._data):
            raise _not_implemented("bernoulli_tensor_cpu_p_", input)
        probs = input._host()
        if not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("bernoulli expects every element of input to be in [0, 1]")
        host = (rng.random(probs.shape) < probs).astype(input._data.dtype)
        return _finish(host, input, (input,), "BernoulliBackward0")
    p = float(p.item() if isinstance(p, Tensor) else p)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_fmt(p)}")
    u = rng.random(input._data.shape)
    if not isinstance(input._data, np.ndarray):
        u = xp_of(input._data).asarray(u)
    if _GRAD.enabled and input._requires_grad:
        return _NoDerivative.apply(input, u, p)
    return _make((u < p).astype(input._data.dtype), input._device)


_MAX_CATEGORIES = 2 ** 24  # PyTorch's limit (float32 cumulative sums)


@runs_on_input_device
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Category indices drawn from each row of ``input`` (unnormalized, non-negative weights).

    Without replacement an index is not drawn twice in a row; zero-weight categories are
    drawn only after every positive one. See: torch.multinomial.
    """
    if not _dt.is_float_array(input._data):
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_SCALAR_TYPE_NAMES[input._data.dtype.name]}")
    if input.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if n > _MAX_CATEGORIES:
        raise RuntimeError("number of categories cannot exceed 2^24")
    w = input._host().astype(np.float64).reshape(-1, n)
    bad = ~(w >= 0) | ~np.isfinite(w)
    if bad.any():
        if not (replacement and num_samples > 1):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        # PyTorch's kernel for several draws with replacement names the first bad entry.
        first = w.reshape(-1)[np.argmax(bad.reshape(-1))]
        what = "< 0" if not first >= 0 else "= infinity or NaN"
        raise RuntimeError(f"invalid multinomial distribution (encountering probability entry "
                           f"{what})")
    totals = w.sum(axis=1)
    if w.shape[0] and not (totals > 0).all():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    rng = rng_for(generator)
    if replacement:
        out = np.empty((w.shape[0], num_samples), np.int64)
        for r, row in enumerate(w):
            cdf = np.cumsum(row) / totals[r]
            cdf[-1] = 1.0  # rounding must not leave u in [cdf[-1], 1) unmatched
            # side="right": a zero-weight category (an empty cdf step) is never drawn.
            out[r] = np.searchsorted(cdf, rng.random(num_samples), side="right")
    else:
        # The exponential race: the order of w / E (E ~ Exp(1)) is successive sampling
        # without replacement in proportion to w (PyTorch's kernel does the same).
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = w / rng.standard_exponential(w.shape)
        out = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64)
    host = out if input.ndim == 2 else out[0]
    arr = input._data
    return _make(host if isinstance(arr, np.ndarray) else xp_of(arr).asarray(host),
                 input._device)


@runs_on_input_device
def poisson(input: Tensor, generator=None) -> Tensor:
    """Samples from Poisson distributions with rates ``input`` (same shape and dtype).

    See: torch.poisson.
    """
    if not _dt.is_float_array(input._data):
        raise _not_implemented("poisson_cpu", input)
    rates = input._host().astype(np.float64)
    if not (rates >= 0).all():  # NaN fails too, as in PyTorch
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    rng = rng_for(generator)
    # NumPy refuses rates above ~1e19 (and inf): there the normal limit is exact to float
    # precision.
    big = rates > 1e15
    draws = rng.poisson(np.where(big, 0.0, rates)).astype(np.float64)
    if big.any():
        with np.errstate(invalid="ignore"):
            approx = np.round(rates + np.sqrt(rates) * rng.standard_normal(rates.shape))
        draws = np.where(big, np.where(np.isinf(rates), np.inf, approx), draws)
    return _finish(draws.astype(input._data.dtype), input, (input,), "PoissonBackward0")


class _BinomialSample(_Sampled):
    """A binomial sample: PyTorch defines no gradient, so backward raises, as PyTorch's does."""

    _backward_name = "NotImplemented"

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::binomial is not implemented")


@runs_on_input_device
def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Samples from Binomial(``count``, ``prob``) distributions (broadcast; float results).

    Counts are floored; ``prob`` is clamped to [0, 1]; a NaN count or probability gives NaN.
    See: torch.binomial.
    """
    if not _dt.is_float_array(count._data):
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: "
                         f"{_SCALAR_TYPE_NAMES[count._data.dtype.name]}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {_SCALAR_TYPE_NAMES[prob._data.dtype.name]} but "
                           f"expected {_SCALAR_TYPE_NAMES[count._data.dtype.name]}")
    n, p = np.broadcast_arrays(count._host().astype(np.float64), prob._host().astype(np.float64))
    if np.isinf(n).any():  # PyTorch's sampler never returns here; say so instead
        raise RuntimeError("binomial: count must be finite")
    nan = np.isnan(n) | np.isnan(p)
    trials = np.where(nan, 0, np.maximum(np.floor(np.where(nan, 0, n)), 0)).astype(np.int64)
    draws = rng_for(generator).binomial(trials, np.clip(np.where(nan, 0.5, p), 0.0, 1.0))
    draws = np.where(nan, np.nan, draws.astype(np.float64)).astype(count._data.dtype)
    like = count if count.ndim >= prob.ndim else prob
    arr = like._data
    out = draws if isinstance(arr, np.ndarray) else xp_of(arr).asarray(draws)
    params = tuple(t for t in (count, prob) if t._requires_grad)
    if _GRAD.enabled and params:
        return _BinomialSample.apply(out, *params)
    return _make(out, like._device)


__all__ = ["normal", "bernoulli", "multinomial", "poisson", "binomial"]
