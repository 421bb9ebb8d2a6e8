"""More activation layers (PReLU, RReLU, SELU, CELU, GLU, the hard/soft shrinks, ...): thin
Modules over ``brickwork.nn.functional``."""
from __future__ import annotations

from ... import factories
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter


class _InplaceOnly(Module):
    """Base of the activations whose only setting is ``inplace``."""

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class PReLU(Module):
    """``x`` if ``x >= 0`` else ``weight * x``, with a learnt slope per channel (or one shared).

    Args:
        num_parameters: number of slopes: 1 (shared) or the number of channels (dim 1).
        init: initial value of every slope.
        device, dtype: where and how the ``weight`` parameter is allocated.

    Example:
        >>> nn.PReLU()(brickwork.tensor([-2.0, 1.0])).tolist()
        [-0.5, 1.0]

    See: torch.nn.PReLU.
    """

    __constants__ = ["num_parameters"]

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(factories.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Set every slope back to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: in training each negative slope is drawn from
    ``U(lower, upper)``; in eval it is ``(lower + upper) / 2``. See: torch.nn.RReLU.
    """

    __constants__ = ["lower", "upper", "inplace"]

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"


class SELU(_InplaceOnly):
    """Scaled ELU with the self-normalising constants. See: torch.nn.SELU."""

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class CELU(Module):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``. See: torch.nn.CELU."""

    __constants__ = ["alpha", "inplace"]

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"alpha={self.alpha}{inplace}"


class GLU(Module):
    """Gated linear unit: ``a * sigmoid(b)`` with ``a, b`` the halves of ``dim``.
    See: torch.nn.GLU.
    """

    __constants__ = ["dim"]

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Hardswish(_InplaceOnly):
    """``x * relu6(x + 3) / 6``. See: torch.nn.Hardswish."""

    # PyTorch's repr of Hardswish/Hardsigmoid shows no ``inplace``: no extra_repr here.
    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, self.inplace)


class Hardsigmoid(_InplaceOnly):
    """``relu6(x + 3) / 6``. See: torch.nn.Hardsigmoid."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input, self.inplace)


class _Shrink(Module):
    """Base of Hardshrink/Softshrink: one threshold ``lambd``."""

    __constants__ = ["lambd"]

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """``x`` where ``|x| > lambd``, else 0. See: torch.nn.Hardshrink."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """``x - sign(x) * lambd`` where ``|x| > lambd``, else 0. See: torch.nn.Softshrink."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Softsign(Module):
    """``x / (1 + |x|)``. See: torch.nn.Softsign."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)``. See: torch.nn.Tanhshrink."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``. See: torch.nn.Threshold."""

    __constants__ = ["threshold", "value", "inplace"]

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class LogSigmoid(Module):
    """``log(sigmoid(x))``, computed stably. See: torch.nn.LogSigmoid."""

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of a ``(C, H, W)`` or ``(N, C, H, W)`` input.
    See: torch.nn.Softmax2d.
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D instead")
        return F.softmax(input, -3)


__all__ = ["PReLU", "RReLU", "SELU", "CELU", "GLU", "Hardswish", "Hardsigmoid", "Hardshrink",
           "Softshrink", "Softsign", "Tanhshrink", "Threshold", "LogSigmoid", "Softmax2d"]
