"""Ready-made parametrizations: ``weight_norm``, ``spectral_norm`` and ``orthogonal``.

Each registers a small module with ``parametrize.register_parametrization``, so the module keeps
PyTorch's layout (``parametrizations.weight.original0``/``original1`` for weight_norm,
``parametrizations.weight.original`` plus the ``_u``/``_v`` power-iteration buffers for
spectral_norm) and state dicts load both ways.

See: torch.nn.utils.parametrizations.
"""
from __future__ import annotations

from enum import Enum, auto

import brickwork as _bw
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..module import Module
from . import parametrize


def _weight_norm(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``g * v / ||v||`` with the norm over every dim but ``dim`` (all dims when -1), as
    ``torch._weight_norm``."""
    return v * (g / _bw.norm_except_dim(v, 2, dim))


# -- orthogonal -------------------------------------------------------------------------------
def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.size(-2), Q.size(-1)
    Id = _bw.eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10.0 * n * _bw.finfo(Q.dtype).eps
    return _bw.allclose(Q.mH @ Q, Id, atol=eps)


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of A's QR decomposition with R's diagonal made positive (unique for full rank)."""
    X, tau = _bw.geqrf(A)
    Q = _bw.linalg.householder_product(X, tau)
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    base: Tensor

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *,
                 use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                X = _bw.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = _bw.matrix_exp(A)
            else:
                Id = _bw.eye(n, dtype=A.dtype, device=A.device)
                Q = _bw.linalg.solve(_bw.add(Id, A, alpha=-0.5), _bw.add(Id, A, alpha=0.5))
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _bw.linalg.householder_product(A, tau)
            # the diagonal of X (+-1 after right_inverse) picks the sign of each column
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if "base" in self._buffers:  # use_trivialization
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            return self._right_inverse(Q)

    def _right_inverse(self, Q: Tensor) -> Tensor:
        if Q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                             f"Got a tensor of shape {Q.shape}.")
        Q_init = Q
        n, k = Q.size(-2), Q.size(-1)
        transpose = n < k
        if transpose:
            Q = Q.mT
            n, k = k, n
        if "base" not in self._buffers:
            if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                          "or the Cayley parametrizations when "
                                          "use_trivialization=False.")
            A, tau = _bw.geqrf(Q)
            # Householder reflectors in A below the diagonal; its diagonal holds the signs,
            # flipped where tau == 0 (no reflection was applied there).
            diag = A.diagonal(dim1=-2, dim2=-1).sign()
            A = _set_diagonal(A, _bw.where(tau == 0.0, -diag, diag))
            return A.mT if transpose else A
        if n == k:
            Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
        else:
            N = _bw.randn(*(tuple(Q.size()[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device)
            Q = _make_orthogonal(_bw.cat([Q, N], dim=-1))
        self.base = Q
        # base @ matrix_exp(0-like) must give Q back: with X = -I, householder and the
        # exponential of the zero skew part both yield the identity.
        neg_Id = _bw.zeros_like(Q_init)
        m = min(neg_Id.size(-2), neg_Id.size(-1))
        idx = _bw.arange(m, device=neg_Id.device)
        neg_Id[..., idx, idx] = -1.0
        return neg_Id


def _set_diagonal(A: Tensor, diag: Tensor) -> Tensor:
    A = A.clone()
    m = diag.size(-1)
    idx = _bw.arange(m, device=A.device)
    A[..., idx, idx] = diag
    return A


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Constrain ``module.<name>`` to (semi-)orthogonal matrices.

    Args:
        module: the module to parametrize.
        name: the weight's name.
        orthogonal_map: ``"matrix_exp"``, ``"cayley"`` or ``"householder"`` (default:
            ``matrix_exp`` for square or complex matrices, else ``householder``).
        use_trivialization: keep a ``base`` buffer so the weight can be assigned.

    See: torch.nn.utils.parametrizations.orthogonal.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError("Expected a matrix or batch of matrices. "
                         f"Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.size(-2) == weight.size(-1) or \
            weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# -- weight_norm ------------------------------------------------------------------------------
class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _bw.norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||``.

    ``g`` (the magnitude) becomes ``parametrizations.<name>.original0`` and ``v`` (the
    direction) ``parametrizations.<name>.original1``; the norm is over every dim but ``dim``
    (over all of them when ``dim=None``).

    Example:
        >>> m = weight_norm(nn.Linear(20, 40), name="weight")
        >>> m.parametrizations.weight.original0.shape
        brickwork.Size([40, 1])

    See: torch.nn.utils.parametrizations.weight_norm.
    """
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


# -- spectral_norm ----------------------------------------------------------------------------
class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                weight_mat = self._reshape_weight_to_matrix(weight)
                h, w = weight_mat.size()
                u = weight_mat.new_empty(h).normal_(0, 1)
                v = weight_mat.new_empty(w).normal_(0, 1)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # start from good estimates of the singular vectors
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # In place on the buffers (out=), as PyTorch, so they stay the registered tensors.
        with no_grad():
            for _ in range(n_power_iterations):
                F.normalize(_bw.mv(weight_mat, self._v), dim=0, eps=self.eps, out=self._u)
                F.normalize(_bw.mv(weight_mat.H, self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # clones: the buffers change in place at the next power iteration, after which
        # backward would otherwise see modified saved tensors
        u = self._u.clone()
        v = self._v.clone()
        sigma = _bw.vdot(u, _bw.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration.

    The power iteration's vectors are the buffers ``parametrizations.<name>.0._u`` and ``._v``;
    they are updated on every access in training mode.

    Args:
        module: the module to parametrize.
        name: the weight's name.
        n_power_iterations: power iterations per access.
        eps: added for stability when normalizing.
        dim: the output dimension (default 1 for ConvTranspose layers, else 0).

    See: torch.nn.utils.parametrizations.spectral_norm.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (_bw.nn.ConvTranspose1d, _bw.nn.ConvTranspose2d,
                                        _bw.nn.ConvTranspose3d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


__all__ = ["orthogonal", "spectral_norm", "weight_norm"]
