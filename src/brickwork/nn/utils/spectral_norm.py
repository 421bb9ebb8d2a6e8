"""The hook-based spectral normalization (``weight_orig``/``weight_u``/``weight_v``).

A forward pre-hook sets ``module.weight = weight_orig / sigma`` before every call, where sigma,
the largest singular value, is estimated by power iteration on the buffers ``weight_u`` and
``weight_v`` (advanced only in training mode). PyTorch's older API; see also
``parametrizations.spectral_norm``.

See: torch.nn.utils.spectral_norm.
"""
from __future__ import annotations

from typing import Any, TypeVar

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..module import Module
from ..parameter import Parameter, is_lazy

import brickwork as _bw


class SpectralNorm:
    """The forward pre-hook behind ``spectral_norm``.

    See: torch.nn.utils.spectral_norm.SpectralNorm.
    """

    _version: int = 1
    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """``weight`` as a matrix with ``dim`` first and the other dims flattened."""
        weight_mat = weight
        if self.dim != 0:
            weight_mat = weight_mat.permute(
                self.dim, *[d for d in range(weight_mat.dim()) if d != self.dim])
        return weight_mat.reshape(weight_mat.size(0), -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        """``<name>_orig / sigma``, after advancing the power iteration if asked."""
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                # in place (out=) so the buffers advance from one call to the next
                for _ in range(self.n_power_iterations):
                    v = F.normalize(_bw.mv(weight_mat.t(), u), dim=0, eps=self.eps, out=v)
                    u = F.normalize(_bw.mv(weight_mat, v), dim=0, eps=self.eps, out=u)
                # clones: backward must not see the next iteration's in-place edits
                u = u.clone()
                v = v.clone()
        sigma = _bw.dot(u, _bw.mv(weight_mat, v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        """Make ``<name>`` a Parameter holding the normalized weight; drop the rest."""
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        """The forward pre-hook: recompute ``module.<name>`` (power iteration when training)."""
        setattr(module, self.name,
                self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int,
              eps: float) -> "SpectralNorm":
        """Move ``<name>`` to ``<name>_orig``, add the ``_u``/``_v`` buffers and the hook."""
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError("Cannot register two spectral_norm hooks on the same "
                                   f"parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if is_lazy(weight):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized "
                             "parameters. Make sure to run the dummy forward before applying "
                             "spectral normalization")
        with no_grad():
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=fn.eps)
            v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # a plain attribute until the first forward recomputes it (PyTorch does the same)
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


T_module = TypeVar("T_module", bound=Module)


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> T_module:
    """Replace ``module.<name>`` by ``<name>_orig / sigma`` before every forward.

    Args:
        module: the module to normalize.
        name: the weight's name.
        n_power_iterations: power iterations per forward in training mode.
        eps: added for stability when normalizing.
        dim: the output dimension (default 1 for ConvTranspose layers, else 0).

    Example:
        >>> m = spectral_norm(nn.Linear(20, 40))
        >>> m.weight_u.shape
        brickwork.Size([40])

    See: torch.nn.utils.spectral_norm.
    """
    if dim is None:
        dim = 1 if isinstance(module, (_bw.nn.ConvTranspose1d, _bw.nn.ConvTranspose2d,
                                       _bw.nn.ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo ``spectral_norm``: ``<name>`` becomes a Parameter holding the normalized weight.

    See: torch.nn.utils.remove_spectral_norm.
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")


__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]
