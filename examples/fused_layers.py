"""The chapter's custom layers as fused GPU kernels, plus a fused x*sigmoid(x) (SiLU/swish) layer.

``CenteredLayer`` and ``MyLinear`` are the chapter's layers, composed of built-in ops;
``FusedCenteredLayer`` and ``FusedMyLinear`` compute the same with their element-wise part as
one kernel each way (``brickwork.cuda.elementwise``). ``Swish`` does x*sigmoid(x) the same way:
on a GPU it reads x and writes y once, where ``x * torch.sigmoid(x)`` makes three passes and
keeps an intermediate. The NumPy fallbacks make the same layers run on CPU tensors.

Run: ``python examples/fused_layers.py`` (uses the GPU too when one is available).
"""
from __future__ import annotations

import numpy as np

import brickwork as torch
from brickwork import nn
from brickwork.nn import functional as F


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _swish_backward(gy, x):
    s = _sigmoid(x)
    return gy * s * (1 + x * (1 - s))


# T is the element type (float32 or float64): integer constants keep float32 math in float32.
swish = torch.cuda.elementwise(
    "swish",
    forward="y = x / (1 + exp(-x))",
    backward="T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))",
    cpu_forward=lambda x: x * _sigmoid(x),
    cpu_backward=_swish_backward,
)


class Swish(nn.Module):
    """x * sigmoid(x), one fused kernel forward and one backward."""

    def forward(self, X):
        return swish(X)


class CenteredLayer(nn.Module):
    """The chapter's layer without parameters: subtract the mean."""

    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - X.mean()


class MyLinear(nn.Module):
    """The chapter's layer with parameters: a fully connected layer followed by ReLU."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)


# The same two layers with their element-wise part fused: one kernel reads each input once and
# writes the output once. Inputs broadcast (m below is the 0-d mean, b the bias row); the op
# sums each gradient back to its input's shape.
center = torch.cuda.elementwise(
    "center", forward="y = x - m", backward="gx = gy; gm = -gy", inputs=("x", "m"),
    cpu_forward=lambda x, m: x - m, cpu_backward=lambda gy, x, m: (gy, -gy))
bias_relu = torch.cuda.elementwise(
    "bias_relu", forward="y = fmax(a + b, T(0))",
    backward="T on = a + b > 0; ga = gy * on; gb = gy * on", inputs=("a", "b"),
    cpu_forward=lambda a, b: np.maximum(a + b, 0),
    cpu_backward=lambda gy, a, b: (gy * (a + b > 0), gy * (a + b > 0)))


class FusedCenteredLayer(nn.Module):
    """``CenteredLayer`` with the subtraction as one fused kernel."""

    def forward(self, X):
        return center(X, X.mean())


class FusedMyLinear(MyLinear):
    """``MyLinear`` with bias and ReLU fused into one kernel after the matrix product."""

    def forward(self, X):
        return bias_relu(torch.matmul(X, self.weight.data), self.bias.data)


def run(device: str) -> None:
    print(f"--- on {device}")
    torch.manual_seed(0)
    layer = CenteredLayer()
    print(layer(torch.tensor([1.0, 2, 3, 4, 5], device=device)))
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer()).to(device)
    print("centered:", abs(net(torch.rand(4, 8, device=device)).mean().item()) < 1e-6)
    linear = MyLinear(5, 3).to(device)
    print(linear.weight.shape, linear(torch.rand(2, 5, device=device)).shape)
    net = nn.Sequential(MyLinear(64, 8), Swish(), MyLinear(8, 1)).to(device)
    print(net(torch.rand(2, 64, device=device)))
    X = torch.rand(4, 5, device=device)
    fused = FusedMyLinear(5, 3).to(device)
    fused.load_state_dict(linear.state_dict())
    print("fused MyLinear matches:", torch.allclose(fused(X), linear(X), atol=1e-6),
          "| fused CenteredLayer matches:",
          torch.allclose(FusedCenteredLayer()(X), CenteredLayer()(X), atol=1e-6))
    x = torch.linspace(-4, 4, 9, device=device, requires_grad=True)
    y = Swish()(x)
    ref = x * torch.sigmoid(x)
    print("swish:", y, "\nmatches x*sigmoid(x):", torch.allclose(y, ref, atol=1e-6))
    y.sum().backward()
    g_fused = x.grad
    x.grad = None
    ref.sum().backward()
    print("gradient matches:", torch.allclose(g_fused, x.grad, atol=1e-6))


def main() -> None:
    run("cpu")
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    print("gradcheck (cpu, float64):", torch.autograd.gradcheck(swish, (x,)))
    if torch.cuda.is_available():
        run("cuda")
        xg = x.detach().cuda().requires_grad_()
        print("gradcheck (cuda, float64):", torch.autograd.gradcheck(swish, (xg,)))
    else:
        print("no CUDA GPU: skipped the GPU run")


if __name__ == "__main__":
    main()
