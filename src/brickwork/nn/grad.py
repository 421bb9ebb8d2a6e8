"""Gradients of the convolutions with respect to their input or weight.

Each function differentiates the matching ``conv{1,2,3}d`` through brickwork's autograd (the
convolution is linear in each argument, so a zero tensor of the requested shape stands in for
the other operand), and keeps the graph when ``weight``/``input`` or ``grad_output`` require
grad, so the results are themselves differentiable like PyTorch's.

See: torch.nn.grad.
"""
from __future__ import annotations

from .. import factories
from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..ops._spatial_conv import conv3d
from ..ops.conv import conv1d, conv2d
from ..tensor import Tensor

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _input_grad(conv, input_size, weight: Tensor, grad_output: Tensor, stride, padding,
                dilation, groups) -> Tensor:
    keep = is_grad_enabled() and (weight.requires_grad or grad_output.requires_grad)
    with enable_grad():
        x = factories.zeros(tuple(input_size), dtype=grad_output.dtype,
                            device=grad_output.device, requires_grad=True)
        out = conv(x, weight, None, stride, padding, dilation, groups)
        _check_shape(out, grad_output)
        return _autograd_grad(out, x, grad_output, create_graph=keep)[0]


def _weight_grad(conv, input: Tensor, weight_size, grad_output: Tensor, stride, padding,
                 dilation, groups) -> Tensor:
    keep = is_grad_enabled() and (input.requires_grad or grad_output.requires_grad)
    with enable_grad():
        w = factories.zeros(tuple(weight_size), dtype=grad_output.dtype,
                            device=grad_output.device, requires_grad=True)
        out = conv(input, w, None, stride, padding, dilation, groups)
        _check_shape(out, grad_output)
        return _autograd_grad(out, w, grad_output, create_graph=keep)[0]


def _check_shape(out: Tensor, grad_output: Tensor) -> None:
    if tuple(out.shape) != tuple(grad_output.shape):
        raise RuntimeError(f"grad_output has shape {tuple(grad_output.shape)}, but the "
                           f"convolution of the given sizes gives {tuple(out.shape)}")


def conv1d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups=1) -> Tensor:
    """Gradient of ``conv1d`` with respect to its input, of shape ``input_size``.

    Args:
        input_size: shape of the input (and of the result).
        weight: ``(out_channels, in_channels / groups, kW)``.
        grad_output: ``(N, out_channels, oW)``.
        stride, padding, dilation, groups: as for ``conv1d``.

    See: torch.nn.grad.conv1d_input.
    """
    return _input_grad(conv1d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups=1) -> Tensor:
    """Gradient of ``conv1d`` with respect to its weight, of shape ``weight_size``.

    See: torch.nn.grad.conv1d_weight.
    """
    return _weight_grad(conv1d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups=1) -> Tensor:
    """Gradient of ``conv2d`` with respect to its input, of shape ``input_size``.

    See: torch.nn.grad.conv2d_input.
    """
    return _input_grad(conv2d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups=1) -> Tensor:
    """Gradient of ``conv2d`` with respect to its weight, of shape ``weight_size``.

    See: torch.nn.grad.conv2d_weight.
    """
    return _weight_grad(conv2d, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size, weight: Tensor, grad_output: Tensor, stride=1, padding=0,
                 dilation=1, groups=1) -> Tensor:
    """Gradient of ``conv3d`` with respect to its input, of shape ``input_size``.

    See: torch.nn.grad.conv3d_input.
    """
    return _input_grad(conv3d, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input: Tensor, weight_size, grad_output: Tensor, stride=1, padding=0,
                  dilation=1, groups=1) -> Tensor:
    """Gradient of ``conv3d`` with respect to its weight, of shape ``weight_size``.

    See: torch.nn.grad.conv3d_weight.
    """
    return _weight_grad(conv3d, input, weight_size, grad_output, stride, padding, dilation, groups)
