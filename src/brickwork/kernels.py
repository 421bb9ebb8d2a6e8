"""Custom ops as fused element-wise GPU kernels, with NumPy fallbacks for CPU tensors.

A composed activation such as ``x * torch.sigmoid(x)`` reads and writes its whole tensor once
per primitive op (sigmoid, then multiply) and keeps the intermediate for backward. A fused
kernel computes the result in one pass over memory: on a GPU, where such ops are limited by
memory bandwidth, that is the whole difference in speed. ``elementwise`` builds one from two
CUDA C snippets (compiled by CuPy's ``ElementwiseKernel``) and plugs it into autograd as a
``Function`` with its own backward kernel; optional NumPy callables run the same op on CPU
tensors, so a layer written with it works on either device. Higher-order gradients
(``create_graph=True``) run those fallbacks on graph-recording values (``autograd/_lifted.py``),
on either device, so they need them too.

Kernel bodies use CuPy's conventions: ``T`` is the element type (float32 or float64, taken
from the inputs), each input is a scalar named as in ``inputs``; the forward body assigns the
output ``y``; the backward body reads ``gy`` (the upstream gradient) and the inputs and assigns
one gradient per input, named ``g`` + the input's name (``gx`` for ``x``). Write constants as
integers or ``T(0.5)``: a ``0.5`` literal is a double and would compute float32 data in double.

Example (runs on the CPU through the fallbacks; on a GPU the kernels run instead):
    >>> import numpy as np
    >>> import brickwork
    >>> swish = brickwork.cuda.elementwise(
    ...     "swish",
    ...     forward="y = x / (1 + exp(-x))",
    ...     backward="T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))",
    ...     cpu_forward=lambda x: x / (1 + np.exp(-x)),
    ...     cpu_backward=lambda gy, x: gy * (s := 1 / (1 + np.exp(-x))) * (1 + x * (1 - s)),
    ... )
    >>> x = brickwork.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    >>> y = swish(x)
    >>> y.grad_fn.name()
    'SwishBackward0'
    >>> y.sum().backward()

Kernels are built once per definition and cached in this module (CuPy then compiles them once
per dtype and device and keeps the binaries on disk); calling ``elementwise`` again with the
same definition returns the same op object.
"""
from __future__ import annotations

import keyword
from typing import Callable, Sequence

import numpy as np

from .autograd._lifted import Lifted
from .autograd.function import Function
from .device import _CUPY_HINT, cupy_module
from .ops._util import unbroadcast

__all__ = ["elementwise", "ElementwiseOp"]

_OPS: dict = {}  # definition -> ElementwiseOp: the same definition gives the same op
_KERNELS: dict = {}  # (name, part, params, body) -> cupy.ElementwiseKernel


def _kernel(name: str, part: str, in_params: str, out_params: str, body: str):
    """The cached ``cupy.ElementwiseKernel`` for one body (built on first use)."""
    key = (name, part, in_params, out_params, body)
    k = _KERNELS.get(key)
    if k is None:
        cp = cupy_module()
        if cp is None:
            raise RuntimeError(f"elementwise op '{name}': the {part} kernel needs a CUDA GPU: "
                               f"{_CUPY_HINT}.")
        # Type placeholder T: one definition serves float32 and float64; CuPy compiles (and
        # caches) one binary per dtype and device on first call.
        k = cp.ElementwiseKernel(in_params, out_params, body, f"brickwork_{name}_{part}",
                                 return_tuple=True)
        _KERNELS[key] = k
    return k


class ElementwiseOp:
    """A fused element-wise op built by :func:`elementwise`; call it on tensors.

    Attributes:
        name: the op's name (its grad_fn is ``<Name>Backward0``).
        inputs: the input names used in the kernel bodies.
        function: the ``autograd.Function`` subclass behind the op (``op.function.apply``).
    """

    def __init__(self, name: str, forward: str, backward: str, inputs: tuple,
                 cpu_forward: Callable | None, cpu_backward: Callable | None) -> None:
        self.name = name
        self.inputs = inputs
        self.forward_source = forward
        self.backward_source = backward
        self.cpu_forward = cpu_forward
        self.cpu_backward = cpu_backward
        self._fwd_params = (", ".join(f"T {n}" for n in inputs), "T y")
        self._bwd_params = (", ".join(["T gy"] + [f"T {n}" for n in inputs]),
                            ", ".join(f"T g{n}" for n in inputs))
        camel = "".join(p[:1].upper() + p[1:] for p in name.split("_")) or name
        self.function = type(camel, (Function,), {
            "_array_level": True,
            "_backward_name": f"{camel}Backward0",
            "forward": staticmethod(self._forward),
            "backward": staticmethod(self._backward),
            "__doc__": f"Fused element-wise op '{name}' (built by brickwork.cuda.elementwise).",
        })

    def __repr__(self) -> str:
        return f"ElementwiseOp(name={self.name!r}, inputs={self.inputs!r})"

    def __call__(self, *tensors):
        from .tensor import Tensor

        if len(tensors) != len(self.inputs):
            raise TypeError(f"elementwise op '{self.name}' takes {len(self.inputs)} tensor "
                            f"argument(s) {self.inputs}, but {len(tensors)} were given")
        for n, t in zip(self.inputs, tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"elementwise op '{self.name}': argument '{n}' must be a "
                                f"Tensor, not {type(t).__name__}")
            if t._data.dtype.kind != "f":
                raise TypeError(f"elementwise op '{self.name}': argument '{n}' must be a "
                                f"floating-point tensor, got {t.dtype}")
        return self.function.apply(*tensors)

    # -- kernels (GPU) -------------------------------------------------------------------------
    def forward_kernel(self):
        """The cached ``cupy.ElementwiseKernel`` of the forward body (needs CuPy)."""
        return _kernel(self.name, "forward", *self._fwd_params, self.forward_source)

    def backward_kernel(self):
        """The cached ``cupy.ElementwiseKernel`` of the backward body (needs CuPy)."""
        return _kernel(self.name, "backward", *self._bwd_params, self.backward_source)

    # -- the Function's forward and backward, on arrays ----------------------------------------
    def _common(self, arrays):
        # Kernels take one element type T, so mixed float32/float64 inputs are promoted first.
        dt = arrays[0].dtype if len(arrays) == 1 else np.result_type(*[a.dtype for a in arrays])
        return dt, [a if a.dtype == dt else a.astype(dt) for a in arrays]

    def _forward(self, ctx, *arrays):
        dt, arrays = self._common(arrays)
        if arrays[0].__class__ is Lifted:
            # create_graph=True replays the op on graph-recording values: the NumPy fallbacks
            # run on them (on any device), so the gradient is itself differentiable.
            if self.cpu_forward is None:
                raise RuntimeError(self._no_fallback("forward"))
            y = self.cpu_forward(*arrays)
        elif isinstance(arrays[0], np.ndarray):
            if self.cpu_forward is None:
                raise RuntimeError(self._no_cpu("forward"))
            y = np.asarray(self.cpu_forward(*arrays))
        else:
            (y,) = self.forward_kernel()(*arrays)
        if any(ctx.needs_input_grad):
            ctx.arrays = arrays  # backward recomputes from the inputs: nothing else is kept
        return y if y.dtype == dt else y.astype(dt)

    def _backward(self, ctx, gy):
        arrays = ctx.arrays
        if gy.dtype != arrays[0].dtype:
            gy = gy.astype(arrays[0].dtype)
        lifted = gy.__class__ is Lifted
        if lifted or isinstance(gy, np.ndarray):
            if self.cpu_backward is None:
                raise RuntimeError(self._no_fallback("backward") if lifted
                                   else self._no_cpu("backward"))
            grads = self.cpu_backward(gy, *arrays)
            grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
            if len(grads) != len(arrays):
                raise RuntimeError(f"elementwise op '{self.name}': cpu_backward returned "
                                   f"{len(grads)} gradient(s), expected {len(arrays)} (one per "
                                   f"input {self.inputs})")
            # A fallback may return a scalar or a broadcastable array: give each the full shape.
            grads = tuple(_full(g if lifted else np.asarray(g, dtype=gy.dtype), gy)
                          for g in grads)
        else:
            grads = self.backward_kernel()(gy, *arrays)
        return tuple(unbroadcast(g, a.shape) if need else None
                     for g, a, need in zip(grads, arrays, ctx.needs_input_grad))

    def _no_fallback(self, part: str) -> str:
        return (f"elementwise op '{self.name}' has no cpu_{part}: higher-order gradients "
                f"(create_graph=True) run the NumPy fallbacks on graph-recording values, so "
                f"pass cpu_forward=/cpu_backward= to elementwise()")

    def _no_cpu(self, part: str) -> str:
        return (f"elementwise op '{self.name}' got a CPU tensor but has no cpu_{part}: pass "
                f"cpu_forward=/cpu_backward= NumPy callables to elementwise(), or move the "
                f"tensors to the GPU with .cuda()")


def _full(g, like):
    if getattr(g, "shape", ()) == like.shape:
        return g
    return g + like * 0 if g.__class__ is Lifted else g + np.zeros_like(like)


def elementwise(name: str, forward: str, backward: str, *, inputs: Sequence[str] = ("x",),
                cpu_forward: Callable | None = None,
                cpu_backward: Callable | None = None) -> ElementwiseOp:
    """Define a differentiable op as fused element-wise CUDA kernels (with CPU fallbacks).

    Args:
        name: the op's name, a C identifier (``swish``); its grad_fn is ``SwishBackward0``.
        forward: CUDA C body that assigns ``y`` from the inputs (scalars of type ``T``).
        backward: CUDA C body that assigns ``g<input>`` for each input from ``gy`` and the
            inputs (e.g. ``gx = gy * ...``).
        inputs: the input names, in call order (default ``("x",)``).
        cpu_forward: ``f(*arrays) -> array`` in NumPy, used for CPU tensors.
        cpu_backward: ``f(gy, *arrays) -> grad or tuple of grads`` in NumPy, one per input.

    Returns:
        An :class:`ElementwiseOp`: call it on tensors of one device; inputs broadcast.

    Raises:
        TypeError: a name, body or callable of the wrong type.
        ValueError: a name that is no C identifier or clashes with ``y``/``gy``/a gradient.

    See: cupy.ElementwiseKernel; torch.autograd.Function.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"elementwise(): name must be a C identifier like 'swish', got {name!r}")
    for what, src in (("forward", forward), ("backward", backward)):
        if not isinstance(src, str) or not src.strip():
            raise TypeError(f"elementwise('{name}'): {what} must be a non-empty CUDA C string, "
                            f"got {src!r}")
    if isinstance(inputs, str):
        inputs = (inputs,)
    inputs = tuple(inputs)
    reserved = {"y", "gy", "T", "i", "n"}
    for n in inputs:
        if not isinstance(n, str) or not n.isidentifier() or n.startswith("_") or n in reserved:
            raise ValueError(f"elementwise('{name}'): input names must be C identifiers other "
                             f"than {sorted(reserved)} and not start with '_', got {n!r}")
    grads = {f"g{n}" for n in inputs}
    if not inputs or len(set(inputs)) != len(inputs) or grads & set(inputs):
        raise ValueError(f"elementwise('{name}'): inputs must be one or more distinct names, "
                         f"none of them a gradient name g<input>, got {inputs}")
    for what, fn in (("cpu_forward", cpu_forward), ("cpu_backward", cpu_backward)):
        if fn is not None and not callable(fn):
            raise TypeError(f"elementwise('{name}'): {what} must be callable or None, got "
                            f"{type(fn).__name__}")
    key = (name, forward, backward, inputs, cpu_forward, cpu_backward)
    op = _OPS.get(key)
    if op is None:
        op = _OPS[key] = ElementwiseOp(name, forward, backward, inputs, cpu_forward,
                                       cpu_backward)
    return op
