"""Optimizer: parameter groups, per-parameter state, and PyTorch's state_dict layout.

Subclasses implement ``_step_group(group)``, updating each parameter's backend array in place
(``p._data``) outside autograd. State values are tensors kept in ``self.state[param]`` under
PyTorch's key names, so ``state_dict()`` has PyTorch's exact structure::

    {'state': {0: {'momentum_buffer': tensor}, ...},
     'param_groups': [{'lr': 0.1, ..., 'params': [0, 1]}]}

and an optimizer restored with ``load_state_dict`` continues exactly where the saved one was.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Iterable

import numpy as np

from ..autograd.grad_mode import enable_grad
from ..device import DeviceFollower, runs_on_input_device
from ..tensor import Tensor, _make


class _RequiredParameter:
    """Marks a hyper-parameter that every param group must give (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return "brickwork." + type(obj).__name__
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", "__builtin__") else f"{module}.{name}"


def _is_uninitialized(p) -> bool:
    """True for a lazy module's parameter that has no shape yet."""
    try:
        from ..nn.parameter import UninitializedParameter
    except ImportError:  # the lazy machinery is not there: nothing can be uninitialized
        return False
    return isinstance(p, UninitializedParameter)


class Optimizer:
    """Base class of all optimizers. See: torch.optim.Optimizer.

    Args:
        params: an iterable of tensors, or of dicts (parameter groups) each holding ``'params'``
            and optional per-group options that override ``defaults``.
        defaults: the default value of every option.
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- groups --------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options. See: torch.optim.Optimizer."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(params) != len({id(p) for p in params}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._on_new_group(param_group)

    def _on_new_group(self, group: dict[str, Any]) -> None:
        """Hook for optimizers that create state eagerly (Adagrad)."""

    def _require_initialized(self, group: dict[str, Any]) -> None:
        """Raise a clear error for a lazy module's parameter that has no shape yet.

        Most optimizers accept such parameters, as PyTorch's do: the lazy parameter becomes a
        regular one in place on the first forward pass. Only optimizers that allocate state at
        construction (Adagrad) need the shape up front.
        """
        for i, p in enumerate(group["params"]):
            if _is_uninitialized(p):
                names = group.get("param_names")
                where = repr(names[i]) if names else \
                    f"parameter {i} of group {self.param_groups.index(group)}"
                raise ValueError(
                    f"{type(self).__name__} got an uninitialized parameter ({where}) of a lazy "
                    "module: its shape is not known yet. Run one forward pass with a batch of "
                    "inputs before building the optimizer.")

    # -- gradients and steps -------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors. See: torch.optim.Optimizer.zero_grad."""
        from ..nn.parameter import zero_grads

        for group in self.param_groups:
            zero_grads(group["params"], set_to_none)

    def step(self, closure: Callable | None = None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the
        loss. See: torch.optim.Optimizer.step."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _grads(group: dict[str, Any]):
        """``(param, its array, its gradient array)`` for every parameter that has a gradient.

        With ``maximize`` the gradient is negated (a new array: ``.grad`` is left untouched).
        """
        maximize = group.get("maximize", False)
        devices = DeviceFollower()  # each update runs on its parameter's GPU
        try:
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                devices.follow(p._device)
                garr = _arr(g)
                yield p, _arr(p), (-garr if maximize else garr)
        finally:
            devices.restore()

    @staticmethod
    @runs_on_input_device  # allocated on the parameter's GPU
    def _zeros_like(p: Tensor, fill: float = 0.0) -> Tensor:
        """A state buffer shaped like parameter ``p`` (same dtype and device)."""
        arr = np.zeros_like(p._data) if fill == 0 else np.full_like(p._data, fill)
        return _make(arr, p._device)

    @staticmethod
    def _step_tensor(value: float = 0.0) -> Tensor:
        """PyTorch keeps the step count as a float32 scalar tensor (on the CPU)."""
        from ..device import CPU

        return _make(np.array(value, dtype=np.float32), CPU)

    # -- state_dict ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``, the
        layout PyTorch uses. See: torch.optim.Optimizer.state_dict."""
        index: dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {index[id(p)]: v for p, v in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by ``state_dict`` (tensors are copied and cast to
        each parameter's dtype and device). See: torch.optim.Optimizer.load_state_dict."""
        state_dict = dict(state_dict)
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: _cast_state(param, key, val) for key, val in v.items()}
            else:
                state[k] = v
        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        out = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += "\n"
            out += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    out += f"    {key}: {group[key]}\n"
        out += ")"
        return out


def _arr(t: Tensor):
    """The array of ``t`` to update in place; a 0-d array is viewed as shape (1,) because
    NumPy turns 0-d results into scalars, which in-place operators would rebind, not write."""
    d = t._data
    return d.reshape(1) if d.ndim == 0 else d


def _cast_state(param: Tensor, key: str, value):
    """A copy of a saved state value on ``param``'s device; floating tensors take its dtype
    except ``step``, which PyTorch keeps as it was saved."""
    if not isinstance(value, Tensor):
        if type(value).__module__.startswith("torch"):
            raise TypeError(f"load_state_dict: state entry {key!r} is a {_typename(value)}; "
                            "convert torch tensors to brickwork tensors first (save the "
                            "state_dict with torch.save and read it with brickwork.load)")
        return deepcopy(value)
    if key != "step" and value.is_floating_point():
        value = value.to(dtype=param.dtype)
    moved = value.to(param.device)
    # clone runs on the tensor's own GPU (an array's copy() would land on the current one).
    return moved if moved is not value else value.detach().clone()


def _check(cond: bool, what: str, value) -> None:
    """PyTorch's hyper-parameter validation message: ``Invalid <what>: <value>``."""
    if not cond:
        raise ValueError(f"Invalid {what}: {value}")


def _check_adam_args(eps: float, betas, weight_decay: float) -> None:
    """The Adam family's checks of ``eps``, ``betas`` and ``weight_decay``, in PyTorch's words."""
    _check(0.0 <= eps, "epsilon value", eps)
    _check(0.0 <= betas[0] < 1.0, "beta parameter at index 0", betas[0])
    _check(0.0 <= betas[1] < 1.0, "beta parameter at index 1", betas[1])
    _check(0.0 <= weight_decay, "weight_decay value", weight_decay)
