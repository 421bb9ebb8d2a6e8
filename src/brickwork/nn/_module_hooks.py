"""Module hooks: forward pre-hooks, forward hooks, full backward hooks and their handles.

Kept out of ``module.py`` so the core of Module stays about registration and traversal. The
functions here are installed as Module methods (see the bottom of ``module.py``).
"""
from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Callable


class RemovableHandle:
    """A handle returned by ``register_*_hook``; ``remove()`` unregisters the hook.

    Also a context manager that removes the hook on exit. See: torch.utils.hooks.RemovableHandle.
    """

    _ids = itertools.count()

    def __init__(self, *hooks_dicts: dict) -> None:
        self.id = next(RemovableHandle._ids)
        self._dicts = hooks_dicts

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _add(module, dict_name: str, hook: Callable, prepend: bool, extra: dict | None = None):
    hooks = module.__dict__[dict_name]
    handle = RemovableHandle(hooks, *([extra] if extra is not None else []))
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle, hooks


def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False):
    """Run ``hook(module, args)`` before ``forward``; a non-None result replaces the args.

    With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs)`` and may return a new
    ``(args, kwargs)`` pair. See: torch.nn.Module.register_forward_pre_hook.
    """
    handle, _ = _add(self, "_forward_pre_hooks", hook, prepend,
                     self._forward_pre_hooks_with_kwargs)
    if with_kwargs:
        self._forward_pre_hooks_with_kwargs[handle.id] = True
    return handle


def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                          with_kwargs: bool = False, always_call: bool = False):
    """Run ``hook(module, args, output)`` after ``forward``; a non-None result replaces output.

    ``always_call=True`` (run the hook even when forward raises) is not supported and raises.
    See: torch.nn.Module.register_forward_hook.
    """
    if always_call:
        raise NotImplementedError("register_forward_hook(always_call=True) is not supported: "
                                  "hooks run only after a forward that returns")
    handle, _ = _add(self, "_forward_hooks", hook, prepend, self._forward_hooks_with_kwargs)
    if with_kwargs:
        self._forward_hooks_with_kwargs[handle.id] = True
    return handle


def register_full_backward_hook(self, hook: Callable, prepend: bool = False):
    """Run ``hook(module, grad_input, grad_output)`` when gradients w.r.t. the module's tensor
    inputs have been computed (inputs that need no gradient get ``None``).

    See: torch.nn.Module.register_full_backward_hook.
    """
    handle, _ = _add(self, "_backward_hooks", hook, prepend)
    return handle


def call_with_hooks(module, args: tuple, kwargs: dict):
    """The slow path of ``Module.__call__``: pre-hooks, forward (+ backward hooks), hooks."""
    for hid, hook in list(module._forward_pre_hooks.items()):
        if hid in module._forward_pre_hooks_with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {res}.")
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    if module._backward_hooks:
        out = _forward_with_backward_hooks(module, args, kwargs)
    else:
        out = module.forward(*args, **kwargs)
    for hid, hook in list(module._forward_hooks.items()):
        if hid in module._forward_hooks_with_kwargs:
            res = hook(module, args, kwargs, out)
        else:
            res = hook(module, args, out)
        if res is not None:
            out = res
    return out


def _forward_with_backward_hooks(module, args, kwargs):
    """Wrap the tensor inputs and outputs in identity Functions that report their gradients.

    The output-side identity records ``grad_output``; the input-side identity's backward then
    sees ``grad_input`` and calls the hooks (a hook may return replacement input gradients).
    """
    from ..autograd.function import Function
    from ..tensor import Tensor

    state = {"grad_output": None}
    tensor_idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    class _Inputs(Function):
        _array_level = True
        _backward_name = "BackwardHookFunctionBackward"

        @staticmethod
        def forward(ctx, *xs):
            return tuple(x.copy() if hasattr(x, "copy") else x for x in xs)

        @staticmethod
        def backward(ctx, *grads):
            from ..ops._util import wrap

            like = args[tensor_idx[0]]
            g_in = tuple(None if g is None else wrap(g, like) for g in grads)
            g_out = state["grad_output"]
            for hook in list(module._backward_hooks.values()):
                res = hook(module, g_in, g_out)
                if res is not None:
                    g_in = tuple(res)
            return tuple(None if g is None else g._data for g in g_in)

    class _Outputs(Function):
        _array_level = True
        _backward_name = "BackwardHookFunctionBackward"

        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, g):
            from ..ops._util import wrap

            state["grad_output"] = (wrap(g, out),)
            return g

    args = list(args)
    if tensor_idx and any(args[i].requires_grad for i in tensor_idx):
        wrapped = _Inputs.apply(*[args[i] for i in tensor_idx])
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        for i, w in zip(tensor_idx, wrapped):
            args[i] = w
    out = module.forward(*args, **kwargs)
    if isinstance(out, Tensor) and out.requires_grad:
        out = _Outputs.apply(out)
    return out


def new_hook_dicts(module) -> None:
    """Create the (empty) hook dictionaries of a new module."""
    d = module.__dict__
    for name in ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
                 "_forward_hooks_with_kwargs", "_backward_hooks"):
        d[name] = OrderedDict()


__all__ = ["RemovableHandle"]
