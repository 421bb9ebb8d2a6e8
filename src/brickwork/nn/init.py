"""Parameter initialization: fill a tensor in place, outside autograd, and return it.

Draws come from brickwork's default generator (seeded by ``brickwork.manual_seed``) unless a
``generator`` is passed. The formulas (gains, fans, bounds) are PyTorch's, so the distributions
match even though the random streams differ.

Example:
    >>> w = brickwork.empty(8, 4)
    >>> nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # nn.Linear's default
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..device import array_writeable, runs_on_input_device
from ..ops._util import xp_of
from ..random import rng_for
from ..tensor import Tensor


@runs_on_input_device
def _write(tensor: Tensor, values) -> Tensor:
    """Store host ``values`` into ``tensor``'s buffer (on its device), keeping its identity."""
    arr = tensor._data
    xp = xp_of(arr)
    src = xp.asarray(np.asarray(values).astype(arr.dtype, copy=False))
    if array_writeable(arr):
        arr[...] = src
    else:
        tensor._data = src.reshape(arr.shape).copy()
    return tensor


def _shape(tensor: Tensor) -> tuple:
    return tuple(tensor._data.shape)


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for ``nonlinearity`` (``'relu'`` -> sqrt(2), ``'tanh'`` -> 5/3...).

    See: torch.nn.init.calculate_gain.
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid = ["fan_in", "fan_out"]
    if mode not in valid:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b). See: torch.nn.init.uniform_."""
    return _write(tensor, rng_for(generator).uniform(a, b, _shape(tensor)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2). See: torch.nn.init.normal_."""
    return _write(tensor, rng_for(generator).normal(mean, std, _shape(tensor)))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2) truncated to ``[a, b]`` (rejection sampling).

    See: torch.nn.init.trunc_normal_.
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    rng = rng_for(generator)
    n = int(np.prod(_shape(tensor)))
    out = np.empty(n)
    filled = 0
    while filled < n:
        draw = rng.normal(mean, std, max(2 * (n - filled), 16))
        draw = draw[(draw >= a) & (draw <= b)][: n - filled]
        out[filled:filled + draw.size] = draw
        filled += draw.size
    return _write(tensor, out.reshape(_shape(tensor)))


@runs_on_input_device
def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``. See: torch.nn.init.constant_."""
    tensor._data[...] = val
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1. See: torch.nn.init.ones_."""
    return constant_(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0. See: torch.nn.init.zeros_."""
    return constant_(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity matrix. See: torch.nn.init.eye_."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*_shape(tensor)))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a 3/4/5-D (convolution) weight with the Dirac delta: the layer copies its input.

    See: torch.nn.init.dirac_.
    """
    shape = _shape(tensor)
    if len(shape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = shape[0] // groups
    min_dim = min(out_per_group, shape[1])
    vals = np.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            vals[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, vals)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot).

    See: torch.nn.init.xavier_uniform_.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    See: torch.nn.init.xavier_normal_.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(-bound, bound) with ``bound = gain * sqrt(3 / fan)`` (He).

    See: torch.nn.init.kaiming_uniform_.
    """
    if 0 in _shape(tensor):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std^2) with ``std = gain / sqrt(fan)`` (He). See: torch.nn.init.kaiming_normal_."""
    if 0 in _shape(tensor):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix (QR of a Gaussian matrix), times ``gain``.

    See: torch.nn.init.orthogonal_.
    """
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = shape[0]
    cols = tensor.numel() // rows
    flat = rng_for(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # make the decomposition unique (as PyTorch does)
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Fill a 2-D tensor with N(0, std^2) values, then zero ``ceil(sparsity * rows)`` randomly
    chosen entries in each column (Martens, 2010).

    Both the values and the zeroed rows are drawn from ``generator`` (PyTorch draws the rows
    from its global generator), so a seeded generator makes the whole fill reproducible.

    Example:
        >>> nn.init.sparse_(brickwork.empty(3, 5), sparsity=0.1)

    See: torch.nn.init.sparse_.
    """
    shape = _shape(tensor)
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = shape
    num_zeros = math.ceil(sparsity * rows)
    rng = rng_for(generator)
    vals = rng.normal(0.0, std, shape)
    # An independent permutation of the row indices per column; its first num_zeros rows
    # (a slice, so a negative count behaves as PyTorch's does) become zero.
    perms = rng.permuted(np.broadcast_to(np.arange(rows)[:, None], shape), axis=0)
    zero_rows = perms[:num_zeros]
    vals[zero_rows, np.broadcast_to(np.arange(cols), zero_rows.shape)] = 0
    return _write(tensor, vals)


def _make_deprecate(meth):
    """PyTorch's deprecated spelling of ``meth`` (no trailing underscore): warns, then calls it."""
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{new_name}`.", FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = (f"{old_name}(...): deprecated in favor of {new_name}. "
                               f"See: torch.nn.init.{new_name}.")
    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    return deprecated_init


# PyTorch's deprecated spellings, still found in older code; they warn as PyTorch's do.
uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_", "uniform", "normal", "constant", "eye",
           "dirac", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
           "orthogonal", "sparse"]
