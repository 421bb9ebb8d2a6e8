"""``ElementwiseKernel`` for the simulated backend: simple CUDA C bodies evaluated with NumPy.

A body is a sequence of ``;``-separated statements: declarations (``T s = expr``), assignments
and compound assignments whose expressions use arithmetic, comparisons, parentheses, casts
``T(expr)`` and the C math functions below. The translator refuses what it cannot evaluate
faithfully (``?:``, ``&&``, ``if``, loops, integer-literal division, which truncates in C) with
NotImplementedError, rather than computing something else.
"""
from __future__ import annotations

import re

import numpy as np

_MATH = {
    "exp": np.exp, "expf": np.exp, "log": np.log, "logf": np.log, "log1p": np.log1p,
    "expm1": np.expm1, "tanh": np.tanh, "tanhf": np.tanh, "sqrt": np.sqrt, "sqrtf": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "sin": np.sin, "cos": np.cos, "fabs": np.abs,
    "abs": np.abs, "fmax": np.fmax, "fmin": np.fmin, "max": np.maximum, "min": np.minimum,
    "pow": np.power, "powf": np.power, "erf": None,
}
_DECL = re.compile(r"^(?:const\s+)?(?:T|float|double|int|bool)\s+([A-Za-z_]\w*)\s*=(.*)$", re.S)
_UNSUPPORTED = [(re.compile(r"\?"), "the ?: operator"), (re.compile(r"&&|\|\|"), "&& and ||"),
                (re.compile(r"\b(if|for|while|return)\b"), "control flow"),
                (re.compile(r"(?<![\w.])\d+\s*/\s*\d+(?![\w.])"), "integer-literal division"),
                (re.compile(r"![^=]"), "logical not"), (re.compile(r"[{}]"), "blocks")]


def translate(body: str) -> str:
    """Python source equivalent to a simple CUDA C element-wise body."""
    lines = []
    for stmt in body.split(";"):
        stmt = stmt.strip()
        if not stmt:
            continue
        for pattern, what in _UNSUPPORTED:
            if pattern.search(stmt):
                raise NotImplementedError(f"simulated ElementwiseKernel: {what} in {stmt!r}")
        m = _DECL.match(stmt)
        if m:
            stmt = f"{m.group(1)} = {m.group(2).strip()}"
        stmt = re.sub(r"(?<![\w.])(\d+\.\d*|\.\d+|\d+)[fF](?!\w)", r"\1", stmt)  # 0.5f -> 0.5
        lines.append(stmt)
    return "\n".join(lines)


def _params(spec: str):
    """``'T x, float32 y'`` -> ``[('T', 'x'), ('float32', 'y')]``."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if part:
            typ, name = part.rsplit(None, 1)
            out.append((typ.replace("raw ", "").strip(), name))
    return out


def make_elementwise_kernel(unwrap, wrap):
    """The simulated ``cupy.ElementwiseKernel`` class, over the backend's array helpers."""

    class ElementwiseKernel:
        def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                     preamble="", no_return=False, return_tuple=False, **kwargs) -> None:
            self.in_params = _params(in_params)
            self.out_params = _params(out_params)
            self.name = name
            self.return_tuple = return_tuple
            self.source = translate(operation)
            self._code = compile(self.source, f"<kernel {name}>", "exec")

        def __call__(self, *args, size=None, **kwargs):
            n_in = len(self.in_params)
            if len(args) != n_in:
                raise TypeError(f"Wrong number of arguments for {self.name!r}")
            arrays = [unwrap(a) for a in args]
            typed = [a.dtype for (t, _), a in zip(self.in_params, arrays)
                     if t == "T" and isinstance(a, np.ndarray)]
            T = np.result_type(*typed) if typed else np.dtype(np.float32)
            shape = np.broadcast_shapes(*[np.shape(a) for a in arrays])
            ns = {k: v for k, v in _MATH.items() if v is not None}
            ns["T"] = lambda v: np.asarray(v, dtype=T)
            for (t, n), a in zip(self.in_params, arrays):
                dt = T if t == "T" else np.dtype(t)
                ns[n] = np.asarray(a, dtype=dt)
            with np.errstate(all="ignore"):
                exec(self._code, ns)  # noqa: S102 - the body of a kernel defined in the tests
            outs = []
            for t, n in self.out_params:
                if n not in ns:
                    raise RuntimeError(f"kernel {self.name!r} never assigns output {n!r}")
                dt = T if t == "T" else np.dtype(t)
                outs.append(wrap(np.array(np.broadcast_to(np.asarray(ns[n], dtype=dt), shape))))
            return tuple(outs) if self.return_tuple or len(outs) > 1 else outs[0]

    ElementwiseKernel.__module__ = "cupy"
    return ElementwiseKernel
