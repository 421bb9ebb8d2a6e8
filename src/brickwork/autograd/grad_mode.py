"""Switching gradient recording on and off: no_grad, enable_grad, set_grad_enabled."""
from __future__ import annotations

import functools


class _GradState:
    __slots__ = ("enabled",)

    def __init__(self) -> None:
        self.enabled = True


# One flag read by every op on its hot path; a module-level object keeps that read cheap.
STATE = _GradState()


def is_grad_enabled() -> bool:
    """Whether ops record a graph for backward. See: torch.is_grad_enabled."""
    return STATE.enabled


class _GradModeContext:
    """Base for the grad-mode switches: each is a context manager and a decorator."""

    _mode = True

    def __enter__(self) -> None:
        self._prev = STATE.enabled
        STATE.enabled = self._mode

    def __exit__(self, *exc) -> None:
        STATE.enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._ctor_args()):
                return fn(*args, **kwargs)

        return wrapper

    def _ctor_args(self) -> tuple:
        return ()


class no_grad(_GradModeContext):
    """Context manager / decorator in which ops record no graph. See: torch.no_grad.

    Example:
        >>> with no_grad():
        ...     y = x * 2          # y.requires_grad is False
    """

    _mode = False

    def __init__(self, orig_func=None) -> None:
        # Allow `@no_grad` without parentheses, as PyTorch does.
        self._wrapped = self.__call__(orig_func) if callable(orig_func) else None

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self


class enable_grad(_GradModeContext):
    """Context manager / decorator that turns graph recording back on. See: torch.enable_grad."""

    _mode = True


class inference_mode(no_grad):
    """Alias of :class:`no_grad` (brickwork has no separate inference tensors)."""

    def __new__(cls, mode=True):
        self = object.__new__(cls)
        if callable(mode):
            return no_grad()(mode)
        self._mode = not mode
        return self

    def __init__(self, mode=True) -> None:
        pass

    def __enter__(self) -> None:
        super().__enter__()
        self._prev_inference = INFERENCE.enabled  # for torch.is_inference_mode_enabled
        INFERENCE.enabled = not self._mode

    def __exit__(self, *exc) -> None:
        INFERENCE.enabled = self._prev_inference
        super().__exit__(*exc)

    def _ctor_args(self) -> tuple:
        return (not self._mode,)


INFERENCE = _GradState()  # whether an inference_mode block is active
INFERENCE.enabled = False


class set_grad_enabled(_GradModeContext):
    """Set grad mode now; as a context manager, restore it on exit. See: torch.set_grad_enabled."""

    def __init__(self, mode: bool) -> None:
        self._prev = STATE.enabled
        self._mode = bool(mode)
        STATE.enabled = self._mode

    def __enter__(self) -> None:
        pass

    def _ctor_args(self) -> tuple:
        return (self._mode,)

    def __call__(self, fn):
        STATE.enabled = self._prev  # used as a decorator: the mode applies only inside fn
        return super().__call__(fn)
