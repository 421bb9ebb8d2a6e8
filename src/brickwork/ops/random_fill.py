"""In-place random fills (``x.normal_()``, ``x.uniform_()``, ``x.random_()``...).

The out-of-place samplers (``normal``, ``bernoulli``, ``multinomial``, ``poisson``) live in
``random_sample.py`` and are exported from here.

Each fill draws on the host from brickwork's generator (``generator=`` or the default one, which
``manual_seed`` seeds), as the random factories do, and writes the draws into the tensor's own
buffer (moved to its GPU when it lives on one). Like ``fill_``, a fill is an in-place update: the
version counter moves on, a leaf that requires grad is refused outside ``no_grad``, and on a
non-leaf under autograd the result is recorded as a node (``NormalBackward0``...) whose gradient
is zero, since the new values no longer depend on the old ones.

Values differ from PyTorch's for the same seed (another generator); distributions, ranges,
dtypes and errors are PyTorch's.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd._views import OVERLAP, overlapping, write_direct
from ..autograd.function import Function
from ..autograd.grad_mode import STATE as _GRAD
from ..device import array_writeable, runs_on_input_device
from ..random import rng_for
from .. import dtypes as _dt
from ..tensor import _SCALAR_TYPE_NAMES, Tensor
from ._util import xp_of

# C++ spellings PyTorch uses in the continuous-distribution dtype errors of cauchy_.
_C_TYPE_NAMES = {"float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
                 "float64": "double", "int8": "signed char", "int16": "short int", "int32": "int",
                 "int64": "long int", "uint8": "unsigned char", "bool": "bool"}


class _RandomFill(Function):
    """A fill as an op of the filled tensor (and of ``bernoulli_``'s probability tensor): the
    result is the draws, so every gradient is zero."""

    _array_level = True

    @staticmethod
    def forward(ctx, a, values, *probs):
        ctx.probs = [(p.shape, p.dtype) for p in probs]
        return values.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        return (g * 0, None, *(xp.zeros(s, d) for s, d in ctx.probs))


_NODES: dict = {}


def _node(backward_name: str) -> type:
    cls = _NODES.get(backward_name)
    if cls is None:
        cls = _NODES[backward_name] = type(backward_name, (_RandomFill,),
                                           {"_backward_name": backward_name})
    return cls


def _write(self: Tensor, host: np.ndarray, backward_name: str, *probs: Tensor) -> Tensor:
    """Write host draws ``host`` into ``self`` as one in-place update."""
    arr = self._data
    host = np.asarray(host).astype(arr.dtype, copy=False)
    if not isinstance(arr, np.ndarray):
        host = xp_of(arr).asarray(host)
    if _GRAD.enabled and (self.requires_grad or any(p._requires_grad for p in probs)):
        return self._inplace(_node(backward_name).apply, host, *probs)
    if not array_writeable(arr) and overlapping(arr):
        raise RuntimeError(OVERLAP)
    return write_direct(self, lambda: arr.__setitem__(Ellipsis, host))


def _scalar(v):
    return v.item() if isinstance(v, Tensor) else v


def _type_name(t: Tensor) -> str:
    return _SCALAR_TYPE_NAMES[t._data.dtype.name]


def _need_float(t: Tensor, kernel: str) -> None:
    if not _dt.is_float_array(t._data):
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(t)}\'')


def _need_continuous(t: Tensor, dist: str, names: dict | None = None) -> None:
    if not _dt.is_float_array(t._data):
        name = (names or _SCALAR_TYPE_NAMES)[t._data.dtype.name]
        raise RuntimeError(f"{dist} distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified {name}")


def _draw_float(t: Tensor):
    """The float dtype to draw in for ``t``: float64 for float64, float32 otherwise."""
    return np.float64 if t._data.dtype == np.float64 else np.float32


def _fmt(v) -> str:
    """A number as PyTorch prints it in these messages (``1`` for 1.0)."""
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


# -- continuous fills -----------------------------------------------------------------------------
@runs_on_input_device
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples from N(``mean``, ``std``²), in place. See: torch.Tensor.normal_."""
    _need_float(self, "normal_kernel_cpu")
    mean, std = float(_scalar(mean)), float(_scalar(std))
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_fmt(std)}")
    z = rng_for(generator).standard_normal(self.shape, dtype=_draw_float(self))
    return _write(self, z * std + mean, "NormalBackward0")


@runs_on_input_device
def uniform_(self: Tensor, from_: float = 0.0, to: float = 1.0, *, generator=None,
             **kwargs) -> Tensor:
    """Fill with samples from the uniform distribution on [``from``, ``to``), in place.

    PyTorch's keyword for the lower end is ``from`` (a Python keyword): pass it positionally,
    as ``from_=``, or as ``**{"from": a}``. See: torch.Tensor.uniform_.
    """
    from_ = _from_kwarg("uniform_", from_, kwargs)
    _need_float(self, "check_uniform_bounds")
    a, b = float(_scalar(from_)), float(_scalar(to))
    info = np.finfo(self._data.dtype)
    lo, hi = float(info.min), float(info.max)
    if not lo <= a <= hi:
        raise RuntimeError(f"from is out of bounds for {_C_TYPE_NAMES[self._data.dtype.name]}")
    if not lo <= b <= hi:
        raise RuntimeError(f"to is out of bounds for {_C_TYPE_NAMES[self._data.dtype.name]}")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_fmt(a)} > to={_fmt(b)}")
    if b - a > hi:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<"
                           f"{_SCALAR_TYPE_NAMES[self._data.dtype.name]}>::max(), but found "
                           f"to={b:g} and from={a:g} which result in to-from to exceed the limit")
    u = rng_for(generator).random(self.shape, dtype=_draw_float(self))
    return _write(self, u * (b - a) + a, "UniformBackward0")


def _from_kwarg(op: str, value, kwargs: dict):
    if kwargs:
        extra = set(kwargs) - {"from"}
        if extra:
            raise TypeError(f"{op}() got an unexpected keyword argument '{sorted(extra)[0]}'")
        value = kwargs["from"]
    return value


@runs_on_input_device
def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *,
                generator=None) -> Tensor:
    """Fill with ``exp(N(mean, std²))`` samples, in place. See: torch.Tensor.log_normal_."""
    _need_float(self, "log_normal_cpu")
    mean, std = float(_scalar(mean)), float(_scalar(std))
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={_fmt(std)}")
    z = rng_for(generator).standard_normal(self.shape, dtype=np.float64)
    return _write(self, np.exp(z * std + mean), "LogNormalBackward0")


@runs_on_input_device
def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of density ``lambd * exp(-lambd * x)``, in place.

    See: torch.Tensor.exponential_.
    """
    _need_continuous(self, "Exponential")
    lambd = float(_scalar(lambd))
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_fmt(lambd)}")
    e = rng_for(generator).standard_exponential(self.shape, dtype=_draw_float(self))
    return _write(self, e / lambd, "ExponentialBackward0")


@runs_on_input_device
def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *,
            generator=None) -> Tensor:
    """Fill with Cauchy(``median``, ``sigma``) samples, in place. See: torch.Tensor.cauchy_."""
    _need_continuous(self, "Cauchy", _C_TYPE_NAMES)
    median, sigma = float(_scalar(median)), float(_scalar(sigma))
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={_fmt(sigma)}")
    c = rng_for(generator).standard_cauchy(self.shape)
    return _write(self, c * sigma + median, "CauchyBackward0")


# -- discrete fills -------------------------------------------------------------------------------
@runs_on_input_device
def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...),
    in place. See: torch.Tensor.geometric_."""
    if self._data.dtype == np.bool_:
        raise NotImplementedError("\"geometric_cpu\" not implemented for 'Bool'")
    p = float(_scalar(p))
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={_fmt(p)}")
    return _write(self, rng_for(generator).geometric(p, self.shape), "GeometricBackward0")


@runs_on_input_device
def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability ``p`` and 0 otherwise, in place.

    ``p`` is a number or a floating tensor broadcastable to ``self`` (one probability per
    element). See: torch.Tensor.bernoulli_.
    """
    rng = rng_for(generator)
    if isinstance(p, Tensor):
        if not _dt.is_float_array(p._data):
            raise NotImplementedError(f'"bernoulli_tensor_cpu_p_" not implemented for '
                                      f"'{_type_name(p)}'")
        probs = _expanded(p._host(), self.shape).astype(np.float64)
        if not ((probs >= 0) & (probs <= 1)).all():
            raise RuntimeError("bernoulli_ expects every element of p to be in [0, 1]")
        return _write(self, rng.random(self.shape) < probs, "BernoulliBackward1", p)
    p = float(p)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_fmt(p)}")
    return _write(self, rng.random(self.shape) < p, "BernoulliBackward2")


def _expanded(arr: np.ndarray, shape: tuple) -> np.ndarray:
    """``arr`` broadcast to ``shape`` with PyTorch's ``expand`` error."""
    if arr.ndim > len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({arr.ndim})")
    for i in range(1, arr.ndim + 1):
        if arr.shape[-i] not in (1, shape[-i]):
            raise RuntimeError(f"The expanded size of the tensor ({shape[-i]}) must match the "
                               f"existing size ({arr.shape[-i]}) at non-singleton dimension "
                               f"{len(shape) - i}.  Target sizes: {list(shape)}.  Tensor "
                               f"sizes: {list(arr.shape)}")
    return np.broadcast_to(arr, shape)


def _int_arg(v, what: str):
    v = _scalar(v)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"random_(): argument '{what}' must be int, not {type(v).__name__}")
    return int(v)


def _random_args(args: tuple, kwargs: dict) -> tuple:
    """``random_``'s arguments as () / (to,) / (from, to), with PyTorch's keywords."""
    bad = set(kwargs) - {"from", "to"}
    if bad or len(args) > 2 or (args and "from" in kwargs) or (len(args) == 2 and kwargs):
        raise TypeError("random_() expects (*, generator=None), (to, *, generator=None) or "
                        "(from, to, *, generator=None)")
    if "from" in kwargs:
        if "to" not in kwargs:
            raise TypeError("random_() missing required argument 'to'")
        return kwargs["from"], kwargs["to"]
    if "to" in kwargs:
        return (args[0], kwargs["to"]) if args else (kwargs["to"],)
    return args


def _random_bounds(t: Tensor):
    """Inclusive [lowest, highest] a dtype can hold, and (for floats) its exact-integer range."""
    dt = t._data.dtype
    if dt == np.bool_:
        return 0, 1, None
    if _dt.is_float_array(dt):
        info = np.finfo(dt)
        return int(info.min), int(info.max), 2 ** (info.nmant + 1)
    info = np.iinfo(dt)
    return int(info.min), int(info.max), None


@runs_on_input_device
def random_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """Fill with integers drawn uniformly, in place.

    ``random_()`` draws from [0, 2^mantissa] for floating dtypes (exactly representable
    integers) and [0, max] for integer dtypes; ``random_(to)`` from [0, to);
    ``random_(from, to)`` from [from, to), or [from, max] when ``to`` is None.
    See: torch.Tensor.random_.
    """
    args = _random_args(args, kwargs)
    lo, hi, exact = _random_bounds(self)
    type_name = _C_TYPE_NAMES[self._data.dtype.name]
    if not args:  # the dtype's whole non-negative range
        low, high, node = 0, (exact if exact is not None else hi), "RandomBackward2"
    else:
        if len(args) == 1:
            low, to, node = 0, _int_arg(args[0], "to"), "RandomBackward1"
        else:
            low = _int_arg(args[0], "from")
            to = None if args[1] is None else _int_arg(args[1], "to")
            node = "RandomBackward0"
        if to is not None and low >= to:
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                               f"from={low} >= to={to}")
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {type_name}")
        if to is None:
            high = exact if exact is not None else hi
        else:
            high = to - 1
            if not lo <= high <= hi:
                raise RuntimeError(f"to - 1 is out of bounds for {type_name}")
        if exact is not None:
            _warn_inexact(low, high, exact, type_name)
    draws = rng_for(generator).integers(low, high, self.shape, dtype=np.int64, endpoint=True) \
        if high < 2 ** 63 else _wide_integers(rng_for(generator), low, high, self.shape)
    return _write(self, draws, node)


def _warn_inexact(low: int, high: int, exact: int, type_name: str) -> None:
    for name, v in (("from", low), ("to - 1", high)):
        if not -exact <= v <= exact:
            bits = int(math.log2(exact))
            warnings.warn(f"{name} is out of bounds [-(2^{bits}), 2^{bits}]. Due to precision "
                          f"limitations {type_name} can support discrete uniform distribution "
                          f"only within this range.", UserWarning, stacklevel=4)


def _wide_integers(rng: np.random.Generator, low: int, high: int, shape) -> np.ndarray:
    """Integers in [low, high] beyond int64 (a float64 tensor's range): drawn as float64."""
    return np.floor(rng.random(shape) * (float(high) - float(low) + 1) + float(low))


# The out-of-place samplers use the helpers above (hence the late import).
from .random_sample import bernoulli, binomial, multinomial, normal, poisson  # noqa: E402

TENSOR_METHODS: dict = {
    "normal_": normal_, "uniform_": uniform_, "log_normal_": log_normal_,
    "exponential_": exponential_, "cauchy_": cauchy_, "geometric_": geometric_,
    "bernoulli_": bernoulli_, "random_": random_, "bernoulli": bernoulli,
    "multinomial": multinomial,
}
INPLACE_METHODS: tuple = ()
# normal, bernoulli and multinomial replace factories' versions in the brickwork namespace (this
# family is star-imported after the factories).
__all__: list = ["normal", "bernoulli", "multinomial", "poisson", "binomial"]
