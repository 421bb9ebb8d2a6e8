"""Automatic differentiation: the Function mechanism, the backward engine and grad modes."""
from . import anomaly_mode, functional
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, Node
from .grad_mode import enable_grad, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck
from .variable import Variable

__all__ = ["Function", "Node", "backward", "functional", "grad", "gradcheck", "gradgradcheck", "no_grad", "enable_grad",
           "set_grad_enabled", "detect_anomaly", "set_detect_anomaly", "Variable"]
