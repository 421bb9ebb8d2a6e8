"""More normalizations: instance_norm, rms_norm, local_response_norm (``nn.functional``
signatures), the legacy norms ``norm_except_dim``, ``frobenius_norm`` and ``nuclear_norm``, and
``embedding_renorm_``.

instance_norm is ATen's: the input is viewed as one batch of N*C channels and batch-normalized
(so its gradients are batch_norm's); the others compose differentiable ops.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..tensor import Tensor
from ._bf16 import float32_compute
from ._util import normalize_dim, xp_of


def _spatial_check(input: Tensor) -> None:
    size = int(np.prod(input.shape[2:])) if input.ndim > 2 else 1
    if size == 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel of each sample of (N, C, ...) over its spatial positions.

    With ``use_input_stats`` the given running statistics are updated in place with the mean
    over the batch of each sample's statistics; without it they are used instead.
    See: torch.nn.functional.instance_norm.
    """
    if use_input_stats:
        _spatial_check(input)
    return _instance_norm(input, weight, bias, running_mean, running_var, use_input_stats,
                          momentum, eps)


def _instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                   eps):
    from .normalization import batch_norm

    if input.ndim < 2:
        raise ValueError(f"Expected 2D or 3D input (got {input.ndim}D input)")
    b, c = input.shape[:2]

    def rep(t):
        return None if t is None else t.repeat(b)

    rm, rv = rep(running_mean), rep(running_var)
    out = batch_norm(input.reshape(1, b * c, *input.shape[2:]), rm, rv, rep(weight), rep(bias),
                     bool(use_input_stats), momentum, eps)
    from ..autograd.grad_mode import no_grad

    with no_grad():  # ATen writes the averaged statistics back through an alias
        for mine, rep_t in ((running_mean, rm), (running_var, rv)):
            if mine is not None:
                mine.copy_(rep_t.reshape(b, c).mean(0))
    return out.reshape(input.shape)


@float32_compute
def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the trailing ``normalized_shape``
    dimensions; ``eps`` defaults to the machine epsilon of the input's dtype.

    See: torch.nn.functional.rms_norm.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
        tuple(normalized_shape)
    nd = len(shape)
    if nd == 0:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    if input.ndim < nd or tuple(input.shape[input.ndim - nd:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size"
                           f"{list(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError("Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f"rms_norm only supports floating-point inputs, got {input.dtype}")
    if eps is None:
        # ATen's opmath epsilon: float32's for half types, the dtype's own otherwise.
        eps = float(np.finfo(np.float64 if input.dtype.name == "float64" else np.float32).eps)
    dims = tuple(range(input.ndim - nd, input.ndim))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Divide each element by ``(k + alpha * mean of x**2 over `size` neighbouring channels)
    ** beta`` (the window is zero-padded). See: torch.nn.functional.local_response_norm."""
    if input.ndim < 3:
        # The run of spaces is PyTorch's message, kept so that errors compare equal.
        raise ValueError("Expected 3D or higher dimensionality                          input "
                         f"(got {input.ndim} dimensions)")
    if input.numel() == 0:
        return input
    from .conv import pad

    sq = input * input
    c = input.shape[1]
    # Pad the channel dimension (size // 2 before, (size - 1) // 2 after): F.pad counts pairs
    # from the last dimension backwards.
    widths = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    padded = pad(sq, widths)
    div = padded.narrow(1, 0, c)
    for j in range(1, size):
        div = div + padded.narrow(1, j, c)
    div = (div / size * alpha + k) ** beta
    return input / div


def norm_except_dim(v: Tensor, pow: int = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """The ``pow``-norm over every dimension except ``dim`` (kept, others of size 1); for
    ``dim=-1`` the norm of everything. See: torch.norm_except_dim (weight normalization)."""
    from .linalg import vector_norm

    if dim == -1:
        return vector_norm(v, pow)
    d = normalize_dim(dim, v.ndim)
    others = tuple(i for i in range(v.ndim) if i != d)
    return _norm_keep(v, pow, others)


def _norm_keep(v: Tensor, p, dims: tuple) -> Tensor:
    from .linalg import vector_norm

    if not dims:  # a 1-D v: each element is its own norm (of a row of one, as ATen views it)
        return vector_norm(v.unsqueeze(1), p, (1,), False)
    return vector_norm(v, p, dims, True)


_WARNED: set = set()


def _deprecated(name: str, instead: str) -> None:
    # Once per process, as PyTorch's TORCH_WARN_ONCE.
    if name in _WARNED:
        return
    _WARNED.add(name)
    warnings.warn(f"at::{name} is deprecated and it is just left for JIT compatibility. It will "
                  f"be removed in a future PyTorch release. Please use `{instead}` instead",
                  UserWarning, stacklevel=3)


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """The 2-norm over ``dim`` (at most two dimensions; ``[]`` for all). Deprecated in
    PyTorch. See: torch.frobenius_norm."""
    from .linalg import vector_norm

    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions "
                           "instead.")
    _deprecated("frobenius_norm", "linalg.vector_norm(A, 2., dim, keepdim)")
    return vector_norm(input, 2, dims if dims else None, keepdim)


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The sum of the singular values over the two dimensions ``dim`` (default the last two);
    ``nuclear_norm(input, keepdim)`` is also accepted, as in PyTorch. Deprecated in PyTorch.
    See: torch.nuclear_norm."""
    from ._linalg_more import matrix_norm

    if isinstance(dim, bool):  # the nuclear_norm(self, keepdim) overload
        dim, keepdim = None, dim
    _deprecated("nuclear_norm", "linalg.matrix_norm(A, 'nuc', dim, keepdim)")
    return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float,
                      norm_type: float) -> Tensor:
    """Rescale, in place, each row of ``input`` picked by ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm`` to norm ``max_norm`` (times ``1 / (1 + 1e-7 / norm)``, as ATen).

    See: torch.embedding_renorm_.
    """
    if input.ndim != 2:
        raise RuntimeError(f"embedding_renorm_(): expected input to have 2 dimensions, got "
                           f"{input.ndim}")
    if indices.is_floating_point():
        legacy = indices.type().split(".")[-1]
        raise RuntimeError("Expected tensor for argument #2 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got torch.{legacy} instead "
                           "(while checking arguments for embedding_renorm_)")
    w = input._data
    xp = xp_of(w)
    rows = xp.unique(indices._data.reshape(-1))
    scale = xp.ones((w.shape[0], 1), dtype=w.dtype)
    if rows.size:
        sub = xp.abs(w[rows].astype(np.float64))
        if norm_type == float("inf"):
            norms = sub.max(axis=1)
        elif norm_type == 0:
            norms = (sub != 0).sum(axis=1).astype(np.float64)
        else:
            norms = (sub ** norm_type).sum(axis=1) ** (1.0 / norm_type)
        factor = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        scale[rows, 0] = factor.astype(w.dtype)
    from ._util import wrap

    return input.mul_(wrap(scale, input))


__all__ = ["instance_norm", "rms_norm", "local_response_norm", "norm_except_dim",
           "frobenius_norm", "nuclear_norm", "embedding_renorm_"]
