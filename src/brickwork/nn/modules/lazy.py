"""Lazy modules: layers whose parameter shapes come from the first input they see.

How to write a lazy layer (``LazyLinear`` in ``linear.py`` is the model):

1. Subclass ``LazyModuleMixin`` *first*, then the eager layer: ``class LazyConv2d(
   LazyModuleMixin, Conv2d)``, and set ``cls_to_become = Conv2d``.
2. In ``__init__``, call the eager ``__init__`` with placeholder sizes (0), then replace the
   parameters/buffers whose shape depends on the input by ``UninitializedParameter()`` /
   ``UninitializedBuffer()``. Override ``reset_parameters`` to do nothing while
   ``self.has_uninitialized_params()``.
3. Define ``initialize_parameters(self, input)``: read the missing size from ``input``, call
   ``p.materialize(shape)`` on each uninitialized tensor, then ``self.reset_parameters()``.

The mixin registers a forward pre-hook that calls ``initialize_parameters(*args)`` on the first
call, checks that nothing is left uninitialized, removes itself, and changes the instance's class
to ``cls_to_become`` (so ``type(net[0]) is nn.Linear`` afterwards, as in PyTorch).
``load_state_dict`` materializes uninitialized tensors from the file's shapes (see
``Module._plan_load``), so a saved model loads into a fresh lazy model without a forward pass.
Until then, reading an uninitialized parameter's shape or using it in an op raises an error that
names the layer and says to run a forward pass or load a state_dict first.

See: torch.nn.modules.lazy.LazyModuleMixin.
"""
from __future__ import annotations

from ..parameter import is_lazy


class LazyModuleMixin:
    """Mixin for modules that infer their parameter shapes from the first input.

    See: torch.nn.modules.lazy.LazyModuleMixin.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters,
                                                               with_kwargs=True)
        for name, p in list(self._parameters.items()) + list(self._buffers.items()):
            if p is not None and is_lazy(p):
                p._where = f" ({type(self).__name__} '{name}')"

    def has_uninitialized_params(self) -> bool:
        """Whether any of this module's own parameters or buffers still lacks a shape."""
        return any(p is not None and is_lazy(p)
                   for p in list(self._parameters.values()) + list(self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        """Materialize the uninitialized parameters from the first input (override this)."""
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def __setattr__(self, name, value) -> None:
        if is_lazy(value) and not value.__dict__.get("_where"):
            value._where = f" ({type(self).__name__} '{name}')"
        super().__setattr__(name, value)


def _infer_parameters(module, args, kwargs=None):
    """The forward pre-hook: initialize from the first input, then become the eager class."""
    module.initialize_parameters(*args, **(kwargs or {}))
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    module._initialize_hook.remove()
    del module._initialize_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become
    return None


__all__ = ["LazyModuleMixin"]
