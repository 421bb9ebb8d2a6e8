"""Parameter, Buffer and their uninitialized (lazy) forms.

A :class:`Parameter` is a Tensor that a :class:`~brickwork.nn.Module` registers as one of its
learnable weights when it is assigned as an attribute. It shares the array of the tensor it was
made from; ``.data`` is a plain tensor on that same storage.

:class:`UninitializedParameter` has no shape yet (lazy layers such as ``LazyLinear``): any use of
its values raises an error saying to run a forward pass or load a state_dict first (``.data``
reads as an empty tensor, as in PyTorch, so in-place fills of it are no-ops), and
``materialize(shape)`` turns it into an ordinary Parameter in place (identity kept).
"""
from __future__ import annotations

import numpy as np

from ..device import runs_on_input_device
from ..tensor import Tensor, _make


def _plain(t: Tensor) -> Tensor:
    """A plain Tensor on ``t``'s storage, keeping its requires_grad flag (for printing)."""
    out = _make(t._data, t._device)
    out._requires_grad = t._requires_grad
    return out


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight (``requires_grad=True`` by default).

    Args:
        data: the tensor whose storage the parameter shares (an empty float tensor if None).
        requires_grad: whether the parameter requires gradient.

    Example:
        >>> w = nn.Parameter(brickwork.randn(3, 2))
        >>> w.requires_grad
        True

    See: torch.nn.Parameter.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        self = object.__new__(cls)
        if data is None:
            self._data = np.empty((0,), dtype=np.float32)
            from ..device import CPU

            self._device = CPU
        elif isinstance(data, Tensor):
            self._data = data._data
            self._device = data._device
            # The same data: updates through either count for both (PyTorch shares the counter).
            from ..autograd._views import counter

            self._vc = counter(data)
        else:
            raise TypeError(f"Parameter(): expected a Tensor as data, got "
                            f"{type(data).__name__}")
        if requires_grad:
            # Through the property so integer data gets PyTorch's error.
            self.requires_grad = True
        return self

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (Tensor.__init__ is the legacy constructor)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + repr(_plain(self))

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (_plain(self).detach(), self._requires_grad))

    @runs_on_input_device  # the copy is made on this parameter's GPU
    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = Parameter(_make(self._data.copy(), self._device), self._requires_grad)
        if self._grad is not None:
            new._grad = _make(self._grad._data.copy(), self._device)
        memo[id(self)] = new
        return new


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor to be registered as a module buffer when assigned as an attribute.

    Assigning ``self.running = nn.Buffer(t)`` registers ``t`` (a plain tensor) as a buffer,
    persistent (saved in ``state_dict``) unless ``persistent=False``.

    See: torch.nn.Buffer.
    """

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        self = object.__new__(cls)
        if data is None:
            from ..factories import empty

            data = empty(0)
        self._data, self._device = data._data, data._device
        self._requires_grad = data._requires_grad
        self.persistent = persistent
        return self

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        pass


_UNINIT_MSG = (
    "{what} has no shape or values yet: it belongs to a lazy layer{where} that has not seen an "
    "input. Run a forward pass with a batch of data (e.g. net(X)) or load a state_dict before "
    "{action}."
)


class _UninitializedMixin:
    """Shared behaviour of UninitializedParameter/UninitializedBuffer: no data until materialized.

    ``_where`` is filled in by the module that owns the tensor (its type, and its dotted name when
    it was listed by ``named_parameters``), so errors can say which layer needs initializing.
    """

    cls_to_become: type = Tensor
    _where = ""

    def _error(self, action: str, exc=RuntimeError):
        return exc(_UNINIT_MSG.format(what=f"Uninitialized{self.cls_to_become.__name__}",
                                      where=self._where, action=action))

    # `_data` is read by every op: a property that raises gives a clear message wherever the
    # tensor is used. materialize() stores the array in __dict__ and switches the class, after
    # which the instance attribute is found normally.
    @property
    def _data(self):
        raise self._error("using it in a computation", ValueError)

    @_data.setter
    def _data(self, value) -> None:
        self.__dict__["_data"] = value

    @property
    def shape(self):
        raise self._error("reading its shape")

    def size(self, dim=None):
        raise self._error("reading its size")

    @property
    def data(self):
        """A new empty tensor, as PyTorch's uninitialized storage reads.

        In-place updates of it change nothing: ``net.weight.data.normal_(0, 0.01)`` before the
        first forward is a no-op, as in PyTorch, and the layer's ``reset_parameters`` initializes
        the weight when it is materialized.
        """
        from ..factories import empty

        return empty(0, dtype=self.dtype, device=self.__dict__.get("_device"))

    @data.setter
    def data(self, value) -> None:
        raise self._error("assigning its data")

    def numel(self) -> int:
        raise self._error("counting its elements")

    @property
    def dtype(self):
        return self.__dict__.get("_lazy_dtype") or _default_dtype()

    def is_floating_point(self) -> bool:
        return True

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Allocate (uninitialized) storage of ``shape`` and become a regular tensor in place.

        See: torch.nn.parameter.UninitializedParameter.materialize.
        """
        from ..device import resolve
        from ..factories import empty

        if isinstance(shape, int):
            shape = (shape,)
        dev = resolve(device if device is not None else self.__dict__.get("_device"))
        dtype = dtype or self.__dict__.get("_lazy_dtype") or _default_dtype()
        t = empty(tuple(shape), dtype=dtype, device=dev)
        requires_grad = self._requires_grad
        self.__class__ = self.cls_to_become
        self._data = t._data
        self._device = t._device
        self._requires_grad = requires_grad
        self.__dict__.pop("_lazy_dtype", None)
        self.__dict__.pop("_where", None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)(requires_grad=self._requires_grad)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_accum"})
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        raise self._error("saving it")


def _default_dtype():
    from ..dtypes import get_default_dtype

    return get_default_dtype()


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A Parameter without a shape yet; lazy layers materialize it on their first forward.

    See: torch.nn.parameter.UninitializedParameter.
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        self = object.__new__(cls)
        from ..device import resolve

        self.__dict__["_device"] = resolve(device)
        if dtype is not None:
            self.__dict__["_lazy_dtype"] = dtype
        self._requires_grad = bool(requires_grad)
        return self

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer without a shape yet (lazy normalization layers).

    See: torch.nn.parameter.UninitializedBuffer.
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        self = object.__new__(cls)
        from ..device import resolve

        self.__dict__["_device"] = resolve(device)
        if dtype is not None:
            self.__dict__["_lazy_dtype"] = dtype
        self._requires_grad = bool(requires_grad)
        self.persistent = persistent
        return self

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True) -> None:
        pass


def is_lazy(t) -> bool:
    """Whether ``t`` is an uninitialized parameter or buffer."""
    return isinstance(t, _UninitializedMixin)


__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


def zero_grads(params, set_to_none: bool = True) -> None:
    """Reset the ``.grad`` of each tensor in ``params``: to None, or zeroed in place.

    Shared by ``Module.zero_grad`` and ``Optimizer.zero_grad``.
    """
    for p in params:
        g = p._grad
        if g is None:
            continue
        if set_to_none:
            p._grad = None
        else:
            g.grad_fn = None
            g._requires_grad = False
            g._data[...] = 0
