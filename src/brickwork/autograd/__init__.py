"""Automatic differentiation: the Function mechanism, the backward engine and grad modes."""
from .engine import backward, grad
from .function import Function, Node
from .grad_mode import enable_grad, no_grad, set_grad_enabled
from .gradcheck import gradcheck

__all__ = ["Function", "Node", "backward", "grad", "gradcheck", "no_grad", "enable_grad",
           "set_grad_enabled"]
