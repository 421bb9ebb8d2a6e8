"""Anomaly detection: name the forward call behind a failing backward, and refuse NaN gradients.

While anomaly mode is on, every graph node records the stack of the forward call that made it,
and the backward engine runs each node through :func:`run_node`: an error there (a saved value
changed in place, an exception in a user backward) is preceded by a warning that shows that
stack, and with ``check_nan`` a gradient holding NaN raises PyTorch's error.

The stack is recorded by an ``__init__`` that ``Node`` has only while the mode is on, so when it
is off creating a node costs exactly what it did before.
"""
from __future__ import annotations

import os
import traceback
import warnings

from .function import Node


class _AnomalyState:
    __slots__ = ("enabled", "check_nan")

    def __init__(self) -> None:
        self.enabled = False
        self.check_nan = True


STATE = _AnomalyState()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on. See: torch.is_anomaly_enabled."""
    return STATE.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection also checks gradients for NaN.

    See: torch.is_anomaly_check_nan_enabled.
    """
    return STATE.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off. See: torch.set_anomaly_enabled."""
    STATE.enabled, STATE.check_nan = bool(enabled), bool(check_nan)
    if STATE.enabled:
        Node.__init__ = _record_forward_stack
    elif "__init__" in Node.__dict__:
        del Node.__init__


class detect_anomaly:
    """Context manager that turns anomaly detection on. See: torch.autograd.detect_anomaly.

    Example:
        >>> with brickwork.autograd.detect_anomaly():
        ...     x = brickwork.tensor([-1.0], requires_grad=True)
        ...     x.sqrt().sum().backward()
        Traceback (most recent call last):
        RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output.
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = STATE.enabled
        self.check_nan = check_nan
        self.prev_check_nan = STATE.check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:
    """Turn anomaly detection on or off, as a call or a context manager.

    Args:
        mode: whether to enable anomaly detection.
        check_nan: whether a NaN gradient raises an error.

    See: torch.autograd.set_detect_anomaly.
    """

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = STATE.enabled
        self.prev_check_nan = STATE.check_nan
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def _record_forward_stack(self) -> None:
    # The caller's frames only: brickwork's own frames say nothing about where the op came from.
    stack = traceback.extract_stack()
    self._forward_stack = [f for f in stack if not f.filename.startswith(_PACKAGE_DIR)]


def run_node(call, node, grads, check):
    """``call(node, grads)`` with the anomaly checks (see module doc); ``check`` runs first."""
    try:
        check(node)
        result = call(node, grads)
        if STATE.check_nan:
            _refuse_nan(node, result)
    except Exception:
        stack = node.__dict__.get("_forward_stack")
        if stack is None:
            text = (f"Error detected in {node.name()}. No forward pass information available. "
                    "Enable detect anomaly during forward pass for more information.")
        else:
            text = (f"Error detected in {node.name()}. Traceback of forward call that caused the "
                    "error:\n" + "".join(traceback.format_list(stack)))
        warnings.warn(text, stacklevel=2)
        raise
    return result


def _refuse_nan(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        arr = getattr(g, "_data", g)  # a Tensor under create_graph
        if arr.dtype.kind in "fc" and bool((arr != arr).any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th "
                               "output.")


__all__ = ["detect_anomaly", "set_detect_anomaly"]
