"""More activations, in ``nn.functional``'s signatures: selu, celu, prelu, rrelu, hardshrink,
softshrink, threshold, softsign, tanhshrink, logsigmoid, hardsigmoid, hardswish, glu,
gumbel_softmax, alpha_dropout and feature_alpha_dropout.

The pointwise ones with a kink or an exponential are ``Function``s built by activation_extra's
``_pointwise`` (forward and gradient side by side, NumPy/CuPy through the array protocol); the
others are compositions of differentiable ops, so their gradients of every order come from the
ops they are built from. The ``torch.xxx`` forms (ATen signatures) are in ``nn_extra.py``.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ._bf16 import float32_compute
from ._util import normalize_dim
from .activation_extra import _pointwise, _run, leaky_relu

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
# alpha_dropout's saturation value -SELU_SCALE * SELU_ALPHA, as ATen rounds it.
_ALPHA_DROPOUT = 1.7580993408473766
_ONE_SIXTH = float(np.float32(1.0) / np.float32(6.0))


def _celu_fwd(x, alpha, scale, input_scale, _grad_input_scale):
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) * input_scale))


def _celu_grad(g, x, alpha, scale, _input_scale, k):
    # d/dx alpha*(e^(k x) - 1) = alpha k e^(k x), taken where x <= 0 only (cannot overflow).
    # k is PyTorch's backward coefficient: for celu it is 1 / float32(alpha) (derivatives.yaml
    # rounds alpha to float there), which the gradients must match to float64 precision.
    # (x read through where(), not minimum(): a tie at 0 would halve the second derivative.)
    return g * scale * np.where(x > 0, 1, alpha * k * np.exp(np.where(x <= 0, x, 0) * k))


# ATen's one ELU kernel with (alpha, scale, input_scale): selu is (SELU_ALPHA, SELU_SCALE, 1),
# celu is (alpha, 1, 1 / alpha); PyTorch's EluBackward0 likewise serves both.
Celu = _pointwise("Celu", "EluBackward0", _celu_fwd, _celu_grad, "celu")
Hardshrink = _pointwise(
    "Hardshrink", "HardshrinkBackward0",
    lambda x, lambd: np.where((x > lambd) | (x < -lambd), x, 0),
    lambda g, x, lambd: np.where((x > lambd) | (x < -lambd), g, 0), "hardshrink")
Softshrink = _pointwise(
    "Softshrink", "SoftshrinkBackward0",
    lambda x, lambd: np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)),
    lambda g, x, lambd: np.where((x > lambd) | (x < -lambd), g, 0), "softshrink")


def _logsigmoid_grad(g, x):
    # sigmoid(-x) from the exponential of a non-positive number on each side of 0. Each side
    # reads x through a where() rather than abs/min, whose kink at 0 would make the second
    # derivative there 0 instead of -1/4.
    xn = np.where(x <= 0, x, 0)
    xq = np.where(x > 0, x, 0)
    eq = np.exp(-xq)
    return g * np.where(x > 0, eq / (1 + eq), 1 / (1 + np.exp(xn)))


LogSigmoid = _pointwise(
    "LogSigmoid", "LogSigmoidBackward0",
    # log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): never overflows.
    lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
    _logsigmoid_grad, "logsigmoid")
Hardsigmoid = _pointwise(
    "Hardsigmoid", "HardsigmoidBackward0",
    lambda x: np.clip(x / 6 + 0.5, 0, 1),
    # PyTorch's kernel multiplies by the float constant 1.0f / 6.0f, in every dtype.
    lambda g, x: np.where((x > -3) & (x < 3), g * _ONE_SIXTH, 0), "hardsigmoid")
Hardswish = _pointwise(
    "Hardswish", "HardswishBackward0",
    lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    # PyTorch's boundaries: 0 below -3, (2x + 3) / 6 on [-3, 3], 1 above.
    lambda g, x: np.where(x < -3, 0, np.where(x <= 3, g * (x / 3 + 0.5), g)), "hardswish")


def _float_only(input: Tensor, kernel: str) -> None:
    if not input.is_floating_point():
        from .reduction import _torch_type_name

        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_torch_type_name(input.dtype)}'")


@float32_compute
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU: ``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with SELU's fixed
    ``alpha`` and ``scale``. See: torch.nn.functional.selu."""
    _float_only(input, "elu_cpu")
    return _run(Celu, input, inplace, _SELU_ALPHA, _SELU_SCALE, 1.0, 1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``. See: torch.nn.functional.celu."""
    _float_only(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _run(Celu, input, inplace, float(alpha), 1.0, 1.0 / float(alpha),
                1.0 / float(np.float32(alpha)))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0. See: torch.nn.functional.hardshrink."""
    _float_only(input, "hardshrink_cpu")
    return _run(Hardshrink, input, False, float(lambd))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Shrink towards 0 by ``lambd`` (0 inside ``[-lambd, lambd]``).

    See: torch.nn.functional.softshrink.
    """
    _float_only(input, "softshrink_check")
    if lambd < 0:
        from .reduction import _torch_type_name

        top = float(np.finfo(input._data.dtype).max)
        raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                           f"{_torch_type_name(input.dtype)}, but found {lambd:g}")
    return _run(Softshrink, input, False, float(lambd))


@float32_compute
def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed without overflow. See: torch.nn.functional.logsigmoid."""
    _float_only(input, "log_sigmoid_cpu")
    return _run(LogSigmoid, input, False)


@float32_compute
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``clamp(x / 6 + 1/2, 0, 1)``. See: torch.nn.functional.hardsigmoid."""
    _float_only(input, "hardsigmoid_cpu")
    return _run(Hardsigmoid, input, inplace)


@float32_compute
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)``. See: torch.nn.functional.hardswish."""
    _float_only(input, "hardswish_cpu")
    return _run(Hardswish, input, inplace)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``. See: torch.nn.functional.softsign."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``. See: torch.nn.functional.tanhshrink."""
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float,  # noqa: A002 - PyTorch's name
              inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``. See: torch.nn.functional.threshold."""
    from .comparison import where

    if input.dtype.name == "bool":
        raise NotImplementedError("\"threshold_cpu\" not implemented for 'Bool'")
    if not input.is_floating_point():
        # Integer tensors compare with and fill in the tensor's own type, as ATen casts both.
        threshold, value = int(threshold), int(value)

    def fn(t):
        return where(t > threshold, t, value)

    if inplace:
        return input._inplace(fn)
    return fn(input)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """In-place ``threshold``. See: torch.nn.functional.threshold_."""
    return globals()["threshold"](input, threshold, value, inplace=True)


def _check_prelu(input: Tensor, weight: Tensor) -> Tensor:
    _float_only(input, "prelu_cpu")
    if weight.ndim > 1:
        raise RuntimeError("prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    n = weight.numel()
    if n != 1 and n != channels:
        raise RuntimeError("Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {n} and channel size = {channels}.")
    if n != 1 and input.ndim >= 2:
        return weight.reshape((channels,) + (1,) * (input.ndim - 2))
    return weight.reshape(()) if n == 1 else weight


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` for ``x > 0``, else ``weight * x`` with one learned slope per channel (dim 1) or
    one for all. See: torch.nn.functional.prelu."""
    from .comparison import where

    w = _check_prelu(input, weight)
    return where(input > 0, input, w * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
          training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU.

    In training each non-positive element gets its own slope drawn uniformly from
    ``[lower, upper]`` (from brickwork's default generator); in evaluation the slope is
    ``(lower + upper) / 2``. See: torch.nn.functional.rrelu.
    """
    return _rrelu(input, lower, upper, training, inplace, None)


def _rrelu(input: Tensor, lower: float, upper: float, training: bool, inplace: bool,
           generator) -> Tensor:
    _float_only(input, "leaky_relu_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ..factories import empty

    slopes = empty(*input.shape, dtype=input.dtype, device=input.device)
    slopes.uniform_(lower, upper, generator=generator)
    from .comparison import where

    # The noise is a constant: the gradient is g * slope where x <= 0, g elsewhere (as ATen).
    noise = where(input.detach() > 0, 1.0, slopes).to(input.dtype)
    if inplace:
        return input._inplace(lambda t: t * noise)
    return input * noise


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False, generator=None) -> Tensor:
    """In-place ``rrelu`` (slopes from ``generator`` when given). See:
    torch.nn.functional.rrelu_."""
    return _rrelu(input, lower, upper, training, True, generator)


@float32_compute
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``dim``.

    See: torch.nn.functional.glu.
    """
    _float_only(input, "glu_cpu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = normalize_dim(dim, input.ndim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = input.split(n // 2, d)
    return a * b.sigmoid()


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Sample from the Gumbel-softmax distribution: ``softmax((logits + g) / tau)`` with Gumbel
    noise ``g``; ``hard=True`` returns the one-hot argmax whose gradient is the soft sample's
    (straight-through). ``eps`` is deprecated in PyTorch and has no effect there either.

    See: torch.nn.functional.gumbel_softmax.
    """
    if eps != 1e-10:
        import warnings

        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    from ..factories import empty
    from .activation import softmax

    gumbels = -empty(*logits.shape, dtype=logits.dtype, device=logits.device).exponential_().log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    from ..factories import zeros

    index = y_soft.detach().argmax(dim, keepdim=True)
    y_hard = zeros(*logits.shape, dtype=logits.dtype, device=logits.device)
    y_hard = y_hard.scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def _alpha_dropout(input: Tensor, p: float, train: bool, inplace: bool, feature: bool,
                   error=RuntimeError) -> Tensor:
    """ATen's ``_dropout_impl`` with ``alpha=True``: dropped units take SELU's saturation value
    and an affine map keeps the mean and variance of a SELU network."""
    if p < 0 or p > 1:
        raise error(f"dropout probability has to be between 0 and 1, but got {p:g}"
                    if error is RuntimeError else
                    f"dropout probability has to be between 0 and 1, but got {p}")
    if feature and input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 0 or not train or input.numel() == 0:
        return input
    if p == 1:
        return input._inplace(lambda t: t * 0) if inplace else input * 0
    _float_only(input, "bernoulli_scalar_cpu_")
    from ..factories import empty

    shape = (input.shape[:2] + (1,) * (input.ndim - 2)) if feature else input.shape
    noise = empty(*shape, dtype=input.dtype, device=input.device).bernoulli_(1 - p)
    a = 1.0 / math.sqrt((_ALPHA_DROPOUT ** 2 * p + 1) * (1 - p))
    b = (noise - 1) * (_ALPHA_DROPOUT * a) + _ALPHA_DROPOUT * a * p
    noise = noise * a
    if inplace:
        return input._inplace(lambda t: t * noise + b)
    return input * noise + b


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: keeps zero mean and unit variance. Note ``training`` defaults
    to False, as in PyTorch. See: torch.nn.functional.alpha_dropout."""
    return _alpha_dropout(input, p, training, inplace, False, ValueError)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels (dimension 1 of (N, C, ...)).

    See: torch.nn.functional.feature_alpha_dropout.
    """
    return _alpha_dropout(input, p, training, inplace, True, ValueError)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``. See: torch.nn.functional.selu_."""
    return selu(input, True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``. See: torch.nn.functional.celu_."""
    return celu(input, alpha, True)


__all__ = ["selu", "selu_", "celu", "celu_", "hardshrink", "softshrink", "logsigmoid",
           "hardsigmoid", "hardswish", "softsign", "tanhshrink", "threshold", "threshold_",
           "prelu", "rrelu", "rrelu_", "glu", "gumbel_softmax", "alpha_dropout",
           "feature_alpha_dropout"]
