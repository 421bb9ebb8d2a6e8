"""Tensor attributes about memory, graph position and layout: ``data_ptr``, shared memory,
``record_stream``, post-accumulate-grad hooks, ``output_nr``, ``name``, ``dim_order``,
``grad_dtype``, ``hash_tensor``, ``module_load``, ``as_subclass``, device predicates and the
removed ``volatile``/``reinforce``.

Part of the ``tensor_extra`` family (see ``ops/tensor_extra.py``).
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor, _make
from ._util import normalize_dim, xp_of


# -- memory --------------------------------------------------------------------------------------
def data_ptr(self: Tensor) -> int:
    """The address of the first element (0 for an empty tensor). See: torch.Tensor.data_ptr."""
    arr = self._data
    if arr.size == 0:
        return 0
    if isinstance(arr, np.ndarray):
        return int(arr.__array_interface__["data"][0])
    return int(arr.data.ptr)


def const_data_ptr(self: Tensor) -> int:
    """``data_ptr`` for reading only. See: torch.Tensor.const_data_ptr."""
    return data_ptr(self)


def is_shared(self: Tensor) -> bool:
    """Whether the data is in memory other processes can map: always for CUDA tensors, and for
    CPU tensors after ``share_memory_()``. See: torch.Tensor.is_shared."""
    if self._device.type == "cuda":
        return True
    from ..autograd._views import root_of
    from ._extra_storage import _owner

    root = root_of(self)
    shm = root.__dict__.get("_shm")  # (block, array on it); a deep copy has its own memory
    return shm is not None and _owner(root._data) is shm[1]


def share_memory_(self: Tensor) -> Tensor:
    """Move a CPU tensor's data into a shared-memory block (a no-op on CUDA, or when done).

    The block is a ``multiprocessing.shared_memory.SharedMemory`` kept alive by the tensor.
    brickwork's pickling still copies the values: another process gets a copy, not the block.

    Raises:
        NotImplementedError: for a view, or a tensor with live views (their memory could not
            follow the move).

    See: torch.Tensor.share_memory_.
    """
    if self._device.type == "cuda" or is_shared(self):
        return self
    if self._base is not None or any(r() is not None for r in (self._views or ())):
        raise NotImplementedError("share_memory_: brickwork moves a tensor into shared memory "
                                  "only when it is not a view and has no live views")
    from multiprocessing import shared_memory

    data = self._data
    shm = shared_memory.SharedMemory(create=True, size=max(data.nbytes, 1))
    moved = np.ndarray(data.shape, dtype=data.dtype, buffer=shm.buf)
    moved[...] = data
    self._data = moved
    self._shm = (shm, moved)
    import weakref

    weakref.finalize(self, _release_shared, shm)
    return self


def _release_shared(shm) -> None:
    try:
        shm.close()
        shm.unlink()
    except (BufferError, FileNotFoundError):  # an array still maps it: the OS frees it later
        pass


_PENDING_STREAM_USES: list = []


def record_stream(self: Tensor, stream) -> None:
    """Keep this CUDA tensor's memory from being reused until the work queued on ``stream`` so
    far is done (an event on the stream holds a reference to the memory until then).

    Raises:
        NotImplementedError: for a CPU tensor, as PyTorch.

    See: torch.Tensor.record_stream.
    """
    if self._device.type != "cuda":
        raise NotImplementedError("Could not run 'aten::record_stream' with arguments from the "
                                  "'CPU' backend.")
    event = stream.record_event()
    _PENDING_STREAM_USES[:] = [(e, a) for e, a in _PENDING_STREAM_USES if not e.query()]
    _PENDING_STREAM_USES.append((event, self._data))


# -- autograd ------------------------------------------------------------------------------------
def register_post_accumulate_grad_hook(self: Tensor, hook):
    """Call ``hook(self)`` each time a gradient has been accumulated into this leaf's ``.grad``.

    Returns a handle whose ``remove()`` unregisters it.

    See: torch.Tensor.register_post_accumulate_grad_hook.
    """
    if not self._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    from ..autograd.engine import RemovableHandle
    from ..autograd.function import _edge

    node, _ = _edge(self)
    hooks = node.__dict__.setdefault("_post_accumulate_hooks", [])
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def _output_nr(self: Tensor) -> int:
    return self._output_nr


def _leaf_only(self: Tensor, verb: str) -> None:
    if self.grad_fn is not None:
        raise RuntimeError(f"grad_dtype can only be {verb} on leaf tensors.")


_SAME = object()


def _get_grad_dtype(self: Tensor):
    _leaf_only(self, "accessed")
    gd = self.__dict__.get("_grad_dtype", _SAME)
    if gd is _SAME:
        return self.dtype
    return None if gd is None else _dt._FROM_NP[gd]


def _set_grad_dtype(self: Tensor, value) -> None:
    _leaf_only(self, "set")
    if value is not None and not isinstance(value, _dt.dtype):
        raise TypeError(f"grad_dtype must be a torch.dtype or None, but got "
                        f"{type(value).__name__}")
    g = self._grad
    if value is not None and g is not None and g.dtype != value:
        from ..tensor import _SCALAR_TYPE_NAMES as names

        raise RuntimeError(
            f"Cannot set grad_dtype to '{names[value.np.name]}' because there is already a "
            f"gradient with dtype '{_C_NAMES[g.dtype.np.name]}'. Please clear the gradient "
            "(.grad = None) before changing grad_dtype, or ensure the new grad_dtype matches "
            "the existing gradient's dtype.")
    self._grad_dtype = None if value is None else value.np


def grad_dtype_mismatch(got, want) -> str:
    """PyTorch's error for a ``.grad`` assignment whose dtype is not the tensor's grad_dtype."""
    from ..tensor import _SCALAR_TYPE_NAMES as names

    return (f"attempting to assign a gradient with dtype '{_C_NAMES.get(got.name, got.name)}' "
            f"to a tensor with grad_dtype '{names.get(want.name, want.name)}'. The gradient "
            "must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
            "the tensor's grad_dtype attribute with a specific dtype, or None to allow any "
            "dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its "
            "gradient may break downstream systems that assume they match.")


_C_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}

grad_dtype = property(_get_grad_dtype, _set_grad_dtype, doc=(
    "The dtype incoming gradients are cast to before accumulating into ``.grad`` (leaves "
    "only): the tensor's dtype by default, ``None`` for no cast. See: torch.Tensor.grad_dtype."))


def _volatile_get(self: Tensor) -> bool:
    warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning,
                  stacklevel=2)
    return False


def _volatile_set(self: Tensor, value) -> None:
    warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                  "instead.", UserWarning, stacklevel=2)


volatile = property(_volatile_get, _volatile_set, doc="Removed; always False (warns).")

_REINFORCE = """reinforce() was removed.
Use torch.distributions instead.
See https://pytorch.org/docs/main/distributions.html

Instead of:

probs = policy_network(state)
action = probs.multinomial()
next_state, reward = env.step(action)
action.reinforce(reward)
action.backward()

Use:

probs = policy_network(state)
# NOTE: categorical is equivalent to what used to be called multinomial
m = torch.distributions.Categorical(probs)
action = m.sample()
next_state, reward = env.step(action)
loss = -m.log_prob(action) * reward
loss.backward()
"""


def reinforce(self: Tensor, reward) -> None:
    """Removed from PyTorch; raises its RuntimeError. See: torch.Tensor.reinforce."""
    raise RuntimeError(_REINFORCE)


# -- layout --------------------------------------------------------------------------------------
def _contiguous_as(t: Tensor, fmt) -> bool:
    from ._more_numeric import channels_last, channels_last_3d, contiguous_format

    shape, strides = t._data.shape, t.stride()
    if fmt is contiguous_format:
        order = range(len(shape))
    elif fmt is channels_last and len(shape) == 4:
        order = (0, 2, 3, 1)
    elif fmt is channels_last_3d and len(shape) == 5:
        order = (0, 2, 3, 4, 1)
    else:
        return False
    want = 1
    for d in reversed(tuple(order)):
        if shape[d] != 1 and strides[d] != want:
            return False
        want *= shape[d]
    return True


def _should_swap(shape, strides, a: int, b: int) -> int:
    """PyTorch's comparison for ordering dims by stride (torch._prims_common)."""
    sa, sb = strides[a], strides[b]
    if sa == 0 or sb == 0:
        return 0

    def ge(x, y):
        return y == 0 or (x != 0 and (x >= y or x % y == 0))

    if sa == sb:
        return 0 if ge(shape[b], shape[a]) else 1
    if ge(sb, sa):
        return -1
    return 1 if ge(sa, sb) else 0


def dim_order(self: Tensor, *, ambiguity_check=False) -> tuple:
    """The dims from outermost to innermost in memory (``(0, 1, ...)`` when row-major).

    ``ambiguity_check``: True raises when the order is not unique (size-1 dims, equal strides);
    a list of memory formats allows such a tensor when it matches exactly one of them.

    See: torch.Tensor.dim_order.
    """
    from ._more_numeric import memory_format

    if not isinstance(ambiguity_check, bool):
        if not isinstance(ambiguity_check, list) or not all(
                isinstance(f, memory_format) for f in ambiguity_check):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory "
                            "formats.")
    shape, strides = self._data.shape, self.stride()
    nd = len(shape)
    formats = ambiguity_check if isinstance(ambiguity_check, list) else []
    check = ambiguity_check if isinstance(ambiguity_check, bool) else True
    multiple = len(set(strides)) != len(strides) or 1 in shape
    if check and multiple and sum(_contiguous_as(self, f) for f in formats) != 1:
        raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact "
                           "one of the given memory formats.")
    if nd <= 1:
        return tuple(range(nd))
    perm = list(reversed(range(nd)))
    for i in range(1, nd):  # insertion sort tolerating ties, back to front (as PyTorch)
        d1 = i
        for d0 in reversed(range(i)):
            c = _should_swap(shape, strides, perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    if ambiguity_check is not False and any(
            _should_swap(shape, strides, perm[i], perm[i + 1]) != -1 for i in range(nd - 1)):
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(reversed(perm))


# -- hashing -------------------------------------------------------------------------------------
def hash_tensor(input: Tensor, dim=None, *, keepdim: bool = False, mode: int = 0) -> Tensor:
    """XOR of the elements' 64-bit patterns (floats as float64, integers as int64), a uint64
    tensor, over ``dim`` (default: every dim). See: torch.hash_tensor."""
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    a = input._data
    xp = xp_of(a)
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        if a.size == 0:
            raise RuntimeError("hash_tensor: Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        axes = tuple(range(a.ndim))
    else:
        dims = dim if isinstance(dim, (list, tuple)) else (dim,)
        axes = tuple(sorted({normalize_dim(d, max(a.ndim, 1)) for d in dims}))
        if a.ndim == 0:
            axes = ()
    wide = a.astype(np.float64 if _dt.is_float_array(a) else np.int64)
    bits = wide.view(np.uint64)
    if hasattr(xp.bitwise_xor, "reduce"):
        out = xp.bitwise_xor.reduce(bits, axis=axes, keepdims=keepdim) if axes else bits
    else:  # pragma: no cover - a backend without ufunc reductions: reduce on the host
        host = bits.get()
        out = xp.asarray(np.bitwise_xor.reduce(host, axis=axes, keepdims=keepdim)
                         if axes else host)
    return _make(xp.asarray(out, dtype=np.uint64), input._device)


def module_load(self: Tensor, other: Tensor, assign: bool = False) -> Tensor:
    """How ``load_state_dict`` brings ``other`` into this parameter or buffer: ``other``
    detached when ``assign``, else a copy into ``self``, detached. See: torch.Tensor.module_load.
    """
    if assign:
        return other.detach()
    from ..autograd.grad_mode import no_grad

    with no_grad():
        self.copy_(other)
    return self.detach()


def as_subclass(self: Tensor, cls: type) -> Tensor:
    """``self``'s data and history as an instance of the Tensor subclass ``cls`` (an alias).

    See: torch.Tensor.as_subclass.
    """
    if not (isinstance(cls, type) and issubclass(cls, Tensor)):
        raise TypeError("Creating a Tensor subclass from a class that does not inherit from "
                        "Tensor is not possible. Make sure your class inherits from Tensor.")
    out = self.view_as(self) if self.requires_grad else _make(self._data, self._device)
    if self.requires_grad and out.grad_fn is not None:
        from ._extra_inplace import _renamed

        _renamed(out.grad_fn, "AliasBackward0")
    out.__class__ = cls
    return out


def is_distributed(self: Tensor) -> bool:
    """Always False: brickwork has no distributed tensors. See: torch.Tensor.is_distributed."""
    return False


def to_mkldnn(self: Tensor, dtype=None) -> Tensor:
    """Not available: brickwork has no MKL-DNN layout (PyTorch converts only CPU tensors).

    See: torch.Tensor.to_mkldnn.
    """
    raise NotImplementedError("to_mkldnn: brickwork has no MKL-DNN (oneDNN) tensor layout; "
                              "its CPU tensors are NumPy arrays")


def to_padded_tensor(self: Tensor, padding: float, output_size=None) -> Tensor:
    """For nested tensors only; raises for a dense one, as PyTorch.

    See: torch.Tensor.to_padded_tensor.
    """
    raise NotImplementedError(f"Could not run 'aten::to_padded_tensor' with arguments from the "
                              f"'{'CPU' if self._device.type == 'cpu' else 'CUDA'}' backend.")


def _false(doc: str):
    return property(lambda self: False, doc=doc)


_PREDICATES = {
    "is_meta": "meta (data-less)", "is_mps": "on an Apple MPS device", "is_xpu": "on an XPU",
    "is_xla": "on an XLA device", "is_ipu": "on an IPU", "is_maia": "on a MAIA device",
    "is_mtia": "on an MTIA device", "is_mkldnn": "in MKL-DNN layout",
    "is_vulkan": "on a Vulkan device", "is_nested": "nested", "is_quantized": "quantized",
    "is_sparse_csr": "in sparse CSR layout",
}

TENSOR_METHODS: dict = {
    "data_ptr": data_ptr, "const_data_ptr": const_data_ptr, "is_shared": is_shared,
    "share_memory_": share_memory_, "record_stream": record_stream,
    "register_post_accumulate_grad_hook": register_post_accumulate_grad_hook,
    "output_nr": property(_output_nr, doc="Which output of its grad_fn this tensor is."),
    "name": property(lambda self: None, doc="None: brickwork has no named tensors."),
    "dim_order": dim_order, "grad_dtype": grad_dtype, "hash_tensor": hash_tensor,
    "module_load": module_load, "as_subclass": as_subclass, "reinforce": reinforce,
    "volatile": volatile, "is_distributed": is_distributed, "to_mkldnn": to_mkldnn,
    "to_padded_tensor": to_padded_tensor,
    **{n: _false(f"False: brickwork tensors are never {what}.") for n, what in
       _PREDICATES.items()},
}
__all__: list = ["hash_tensor"]
