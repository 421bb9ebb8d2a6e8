"""Tensor: a backend array with a device, and the autograd bookkeeping around it.

The operators and math methods (``+``, ``sum``, ``reshape``...) are installed from
``brickwork/_tensor_methods.py`` and live, with their gradients, in ``brickwork/ops``. This file
holds what a tensor *is*: its data, dtype, device, gradient state, conversions and the rule for
in-place updates; ``type()`` and the dtype casts (``float()``, ``long()``...) are installed from
``brickwork/_tensor_convert.py``.
"""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .device import CPU, array_module, device_of_array, runs_on_input_device
from ._sparse_coo import SparseCOO as _SparseCOO
from .size import Size

_new = object.__new__


def _make(arr, dev, requires_grad: bool = False):
    """Wrap a backend array without copying or checking: the constructor ops use."""
    t = _new(Tensor)
    t._data = arr
    t._device = dev
    if requires_grad:
        t._requires_grad = True
    return t


class Tensor:
    """A multi-dimensional array that records operations for automatic differentiation.

    Tensors are made with factory functions (``brickwork.tensor``, ``zeros``, ``rand``...).
    ``Tensor(*sizes)`` and ``Tensor(data)`` work as PyTorch's legacy constructor (float32).

    See: torch.Tensor.
    """

    # Class-level defaults: most tensors never set these, so creating one only writes
    # `_data` and `_device` (the hot path of every op).
    _requires_grad = False
    _grad = None
    grad_fn = None
    _output_nr = 0
    _accum = None
    _retains_grad = False
    # Aliasing (see autograd/_views.py): a view's root base, the view ops that derive it from
    # the base, how it was made; the version counter shared by aliases (a list, made on first
    # need); and, on a base, weak references to its live views.
    _base = None
    _view_steps = ()
    _view_meta = 0
    _vc = None
    _views = None
    __array_priority__ = 1000  # make `ndarray + tensor` defer to Tensor.__radd__

    def __init__(self, *args, device=None) -> None:
        from .factories import _legacy_data

        self._data, self._device = _legacy_data(args, _dt.float32, device)

    # -- basic properties ----------------------------------------------------------------------
    @property
    def dtype(self) -> _dt.dtype:
        return _dt._FROM_NP[self._data.dtype]

    @property
    def device(self):
        return self._device

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as a ``Size``, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        from .ops._util import normalize_dim

        return self._data.shape[normalize_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    @property
    def is_sparse(self) -> bool:
        """Whether this is a sparse COO tensor (see ``brickwork.sparse``)."""
        return self._data.__class__ is _SparseCOO

    @property
    def layout(self):
        """``brickwork.strided`` (dense) or ``brickwork.sparse_coo``. See: torch.Tensor.layout."""
        from .factories import sparse_coo, strided

        return sparse_coo if self._data.__class__ is _SparseCOO else strided

    def is_floating_point(self) -> bool:
        return _dt.is_float_array(self._data)  # bfloat16 included (its NumPy kind is 'V')

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the data is laid out densely in ``memory_format``'s order (default
        row-major). See: torch.Tensor.is_contiguous."""
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from .ops._memory_format import check_format, is_contiguous_as

        check_format("is_contiguous", memory_format, allow_none=False)
        if self._data.__class__ is _SparseCOO:
            return False
        return is_contiguous_as(self._data.shape, self.stride(), memory_format)

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else self._device.index

    # -- autograd state ------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        base = self._base  # a view made in no_grad mode still reports its base's flag (PyTorch)
        return self._requires_grad or (base is not None and base._requires_grad)

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if value and not (_dt.is_float_array(self._data) or self._data.dtype.kind == "c"):
            # PyTorch's exact message (it names no dtype).
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size: got "
                                   f"{list(value.shape)}, expected {list(self.shape)}")
            if value._device != self._device:
                raise RuntimeError(f"assigned grad has data located on a different device: "
                                   f"got {value._device}, expected {self._device}")
            want = self.__dict__.get("_grad_dtype", self._data.dtype)  # Tensor.grad_dtype
            if want is not None and value._data.dtype != want:
                from .ops._extra_flags import grad_dtype_mismatch

                raise RuntimeError(grad_dtype_mismatch(value._data.dtype, want))
        self._grad = value

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's storage, outside autograd (edits change this tensor).

        Unlike ``detach()`` it has its own version counter: edits through it go unnoticed by
        backward's saved-value checks, as in PyTorch.
        """
        return _make(self._data, self._device)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data, self._device = value._data, value._device

    def detach(self) -> "Tensor":
        """A new tensor on the same storage and version counter, cut from the graph.

        See: torch.Tensor.detach.
        """
        return _views.detached(self)

    def detach_(self) -> "Tensor":
        if self._base is not None:
            raise RuntimeError(_DETACH_VIEW)
        self.grad_fn = None
        self._requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``. See: torch.Tensor.backward."""
        _engine_backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.engine import RemovableHandle
        from .autograd.function import _edge

        node, nr = _edge(self)
        if node._hooks is None:
            node._hooks = {}
        fns = node._hooks.setdefault(nr, [])
        fns.append(hook)
        return RemovableHandle(fns, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref

        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                t._grad = g.clone() if t._grad is None else t._grad + g

        self.register_hook(keep)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # -- conversions ---------------------------------------------------------------------------
    def item(self):
        """The value of a one-element tensor as a Python number. See: torch.Tensor.item."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               "to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array behind a CPU tensor (shared, not copied). See: torch.Tensor.numpy."""
        if self._data.__class__ is _SparseCOO:
            raise TypeError("can't convert Sparse layout tensor to numpy. Use "
                            "Tensor.to_dense() first.")
        if self._device.type != "cpu":
            if force:
                return _no_numpy_bfloat16(self._host())
            raise TypeError(f"can't convert {self._device.type}:{self._device.index or 0} "
                            "device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        _no_numpy_bfloat16(self._data)
        return self._data

    def _host(self) -> np.ndarray:
        """The data as a NumPy array, copied from the GPU when needed."""
        d = self._data
        return d if isinstance(d, np.ndarray) else d.get()

    def __array__(self, dtype=None, copy=None):
        arr = self._host()
        return arr if dtype is None else arr.astype(dtype)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        # PyTorch iterates over unbind(0), so the rows carry grad_fn=<UnbindBackward0>.
        unbind = getattr(self, "unbind", None)
        if unbind is not None:
            return iter(unbind(0))
        return (self[i] for i in range(self._data.shape[0]))

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    def __bool__(self) -> bool:
        n = self._data.size
        if n != 1:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous" if n == 0
                               else "Boolean value of Tensor with more than one value is "
                               "ambiguous")
        return bool(self._data.reshape(()).item())

    def __float__(self) -> float:
        if self._requires_grad and not _FLOAT_WARNED:
            _warn_float_of_grad()
        return float(_real_scalar(self._scalar(), "double"))

    def __int__(self) -> int:
        return int(_real_scalar(self._scalar(), "int64_t"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self._data.reshape(()).item())

    def __complex__(self) -> complex:
        return complex(self._scalar())

    __hash__ = object.__hash__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        if self._data.__class__ is _SparseCOO:
            from .sparse._repr import sparse_repr

            return sparse_repr(self)
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        if self._data.__class__ is _SparseCOO:
            from .sparse._convert import reduce_sparse

            return reduce_sparse(self)
        return (_rebuild, (self._host(), str(self._device), self._requires_grad))

    @runs_on_input_device  # the copy is made on this tensor's GPU
    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = type(self).__new__(type(self))
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k not in _NOT_COPIED})
        new._data = self._data.copy()
        new._device = self._device
        if self._vc is not None:  # the copy is no alias: its own counter, at the same version
            new._vc = [self._vc[0]]
        if self._grad is not None:
            new._grad = _make(self._grad._data.copy(), self._device)
        memo[id(self)] = new
        return new

    # -- the in-place rule ---------------------------------------------------------------------
    @runs_on_input_device
    def _inplace(self, fn, *args, **kwargs) -> "Tensor":
        """Apply out-of-place ``fn(self, *args)`` and store the result into ``self``'s buffer.

        Every alias (views, ``detach()``, ``.data``) sees the new values, the version counter
        moves on, and under autograd the update is recorded as PyTorch records it (see
        ``autograd/_views.py``).
        """
        return _views.inplace(self, fn, args, kwargs)

    @runs_on_input_device
    def _inplace_fill(self, value, zero: bool = False) -> "Tensor":
        """``fill_``/``zero_``: write ``value`` everywhere (a zero gradient flows back)."""
        from .ops.conversion import fill_into

        return fill_into(self, value, zero)

    @property
    def _version(self) -> int:
        """How many in-place updates this tensor's data has had (shared by its aliases)."""
        vc = self._vc
        return 0 if vc is None else vc[0]

    def _is_view(self) -> bool:
        """Whether this tensor is a view of another (its ``_base``). See: torch.Tensor._is_view."""
        return self._base is not None

    def copy_(self, src: "Tensor", non_blocking: bool = False) -> "Tensor":
        """Write ``src`` (broadcast, cast to this dtype, moved to this device) into ``self``.

        Differentiable: the gradient flows to ``src``; the overwritten values get none.
        ``non_blocking`` is accepted for PyTorch's signature and ignored: copies are synchronous.
        See: torch.Tensor.copy_.
        """
        from .ops.conversion import copy_into

        return copy_into(self, src)

    # -- device and dtype movement -------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """Return a tensor with the requested dtype and/or device; ``self`` when nothing changes.

        Accepts ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)`` and the
        keywords ``dtype``, ``device``, ``non_blocking``, ``copy``, ``memory_format`` (default
        ``preserve_format``). See: torch.Tensor.to.
        """
        from .ops.conversion import parse_to_args, to_copy

        dev, dtype, copy, fmt = parse_to_args(args, kwargs, with_format=True)
        if self._data.__class__ is _SparseCOO:
            from .sparse._convert import sparse_to

            if fmt is not None and fmt._name != "preserve_format":
                raise RuntimeError(f"to(): memory_format={fmt} is not supported for sparse "
                                   f"tensors")
            return sparse_to(self, dev, dtype, copy)
        return to_copy(self, dev, dtype, copy, fmt)

    def cpu(self, memory_format=None) -> "Tensor":
        return self.to(CPU, memory_format=memory_format)

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> "Tensor":
        """A copy on a GPU (``self`` when already there). ``non_blocking`` is accepted for
        PyTorch's signature and ignored: copies are synchronous. See: torch.Tensor.cuda."""
        from .device import device as _device

        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = _device("cuda", device)
        return self.to(device, memory_format=memory_format)

    def pin_memory(self) -> "Tensor":
        """A copy for fast host-to-GPU transfer; NumPy memory is not page-locked, so this is a
        plain copy and ``is_pinned()`` stays False. See: torch.Tensor.pin_memory."""
        return self.clone()

    def is_pinned(self) -> bool:
        return False

    # -- new_* factories -----------------------------------------------------------------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> "Tensor":
        from .factories import tensor

        return tensor(data, dtype=dtype or self.dtype, device=device or self._device,
                      requires_grad=requires_grad)

    def _new_filled(self, fill, size, dtype, device, requires_grad) -> "Tensor":
        from .factories import full

        return full(_size_args(size), fill, dtype=dtype or self.dtype,
                    device=device or self._device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        return self._new_filled(0, size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        return self._new_filled(1, size, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False) -> "Tensor":
        return self._new_filled(0, size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None,
                 requires_grad=False) -> "Tensor":
        return self._new_filled(fill_value, size, dtype, device, requires_grad)


def _real_scalar(value, ctype: str):
    """A complex value as a real one for float()/int(): only with no imaginary part (PyTorch)."""
    if isinstance(value, complex):
        if value.imag != 0:
            raise RuntimeError(f"value cannot be converted to type {ctype} without overflow")
        return value.real
    return value


def _size_args(size, name: str = "empty") -> tuple:
    """Accept sizes as varargs or one tuple/list/Size: ``(2, 3)``, ``((2, 3),)``.

    ``name`` is the calling function, for PyTorch's error text.
    """
    packed = len(size) == 1 and isinstance(size[0], (tuple, list))
    if packed:
        size = size[0]
    # The common case, plain non-negative ints, without the per-item checks below.
    for s in size:
        if s.__class__ is not int or s < 0:
            break
    else:
        return tuple(size)
    out = []
    for pos, s in enumerate(size):
        if isinstance(s, Tensor):
            s = s.__index__()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            kind = type(s).__name__
            if len(size) == 1 and not packed:
                raise TypeError(f"{name}(): argument 'size' (position 1) must be tuple of ints, "
                                f"not {kind}")
            raise TypeError(f"{name}(): argument 'size' failed to unpack the object at pos "
                            f"{pos + 1} with error \"type must be tuple of ints,but got {kind}\"")
        if s < 0:
            if name == "zeros":  # PyTorch checks zeros' sizes with its own message
                raise RuntimeError("zeros: Dimension size must be non-negative.")
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{[int(v) for v in size]}")
        out.append(int(s))
    return tuple(out)


def _can_cast(src: np.dtype, dst: np.dtype) -> bool:
    # PyTorch's canCast: no float -> integral, no non-bool -> bool.
    order = {"b": 0, "u": 1, "i": 1, "f": 2, "V": 2, "c": 3}  # 'V': bfloat16
    return order[src.kind] <= order[dst.kind]


# PyTorch's ScalarType names, which its in-place casting errors use.
_SCALAR_TYPE_NAMES = {d.name: name for d, name in _dt._LEGACY.items()}


def _rebuild(arr, dev, requires_grad):
    from .device import resolve

    d = resolve(dev)
    xp = array_module(d)
    t = _make(xp.asarray(arr), d)
    t._requires_grad = requires_grad
    return t


def _no_numpy_bfloat16(arr):
    """NumPy has no bfloat16: PyTorch refuses ``numpy()`` on one, and so does brickwork (the
    ml_dtypes array behind it would surprise code that expects a NumPy float type)."""
    if _dt.is_bfloat16(arr):
        raise TypeError("Got unsupported ScalarType BFloat16")
    return arr

# What a deep copy does not take over: data and history, and the aliasing of views.
_NOT_COPIED = frozenset(("_data", "grad_fn", "_accum", "_grad", "_base", "_vc", "_views",
                         "_view_steps", "_view_meta"))

_DETACH_VIEW = (
    "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel "
    "(DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP "
    "buckets, and hence detach_() cannot be called on these gradients. To fix this error, please "
    "refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
)

__all__ = ["Tensor", "Size", "device_of_array"]

_FLOAT_WARNED = False


def _warn_float_of_grad() -> None:
    """``float()`` of a tensor that requires grad, with grad mode on, warns once per process,
    as PyTorch's TORCH_WARN_ONCE (``int()`` and ``.item()`` do not; under no_grad, as in an
    optimizer's step, nothing is said)."""
    global _FLOAT_WARNED
    import warnings

    from .autograd.grad_mode import STATE

    if not STATE.enabled:
        return
    _FLOAT_WARNED = True
    warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                  "unexpected behavior.\nConsider using tensor.detach() first.", UserWarning,
                  stacklevel=3)


# Views, version counters and the in-place rule; imported last, as it builds on Tensor.
from .autograd import _views  # noqa: E402
from .autograd.engine import backward as _engine_backward  # noqa: E402
# Installs type(), type_as() and the dtype casts on Tensor.
from ._tensor_convert import _LEGACY_TYPE_NAMES  # noqa: E402,F401
