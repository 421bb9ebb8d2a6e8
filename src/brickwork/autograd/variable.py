"""``Variable``: PyTorch's deprecated name for a tensor that records gradients.

Since PyTorch 0.4 ``Variable(t, requires_grad=True)`` just returns a Tensor, and every tensor
counts as a ``Variable`` for ``isinstance``; old tutorials (``from torch.autograd import
Variable``) still run that way, and so they do here.
"""
from __future__ import annotations

import warnings

from ..tensor import Tensor
from .engine import EXECUTION_ENGINE


class VariableMeta(type):
    """Makes ``isinstance(x, Variable)`` true exactly for tensors, as in PyTorch."""

    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)


class Variable(metaclass=VariableMeta):
    """Deprecated: ``Variable(data, requires_grad=False)`` is a new leaf Tensor sharing ``data``'s
    memory, detached from its graph, with ``requires_grad`` set.

    ``volatile=True`` is accepted with PyTorch's warning that it has no effect (use
    ``brickwork.no_grad()``), and refused together with ``requires_grad=True``.

    Example:
        >>> x = Variable(brickwork.ones(2), requires_grad=True)
        >>> type(x).__name__, x.requires_grad, isinstance(x, Variable)
        ('Tensor', True, True)

    See: torch.autograd.Variable.
    """

    _execution_engine = EXECUTION_ENGINE

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = False,
                volatile: bool = False) -> Tensor:
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
            if requires_grad:
                raise ValueError("Variable can't be volatile and require_grad at the same time!")
        if data is None:
            from ..factories import empty

            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got "
                            f"{type(data).__name__}")
        out = data.detach()
        if requires_grad:
            if not out.dtype.is_floating_point:
                raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                                   "gradients")
            out.requires_grad_(True)
        return out
