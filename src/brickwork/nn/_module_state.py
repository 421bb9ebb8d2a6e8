"""``state_dict`` and ``load_state_dict``: a module's tensors by dotted name, and back.

Loading is two-phase: every module first *plans* (checks keys and shapes and lists what to copy),
and only when nothing is wrong are the copies made, so a failed load leaves the model unchanged:
no parameter is replaced or written, and each keeps its identity. Everything that can fail is
done while planning (the ``assign=True`` replacement is built, a copy's source converted to the
parameter's dtype and device), so the second phase only stores. All problems — missing keys,
unexpected keys, shape mismatches, values that cannot become the parameter — are reported in one
``RuntimeError`` worded like PyTorch's, each naming its key.

A layer with special needs overrides ``_save_to_state_dict(destination, prefix, keep_vars)`` or
``_plan_load(state_dict, prefix, plan, missing, unexpected, errors)``; ``plan`` is a list of
zero-argument callables run in order once the whole load has been validated (lazy layers use it
to materialize their parameters from the file's shapes).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ..device import runs_on_input_device
from ..tensor import Tensor
from .parameter import Parameter, is_lazy


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: keys the file lacked and keys the model lacked."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, " \
               f"unexpected_keys={self.unexpected_keys!r})"

    __str__ = __repr__


def save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
    """Write this module's own parameters and persistent buffers (not its children's)."""
    for name, p in self._parameters.items():
        if p is not None:
            destination[prefix + name] = p if keep_vars or is_lazy(p) else p.detach()
    skip = self._non_persistent_buffers_set
    for name, b in self._buffers.items():
        if b is not None and name not in skip:
            destination[prefix + name] = b if keep_vars or is_lazy(b) else b.detach()


def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
    """An ``OrderedDict`` of every parameter and persistent buffer by dotted name.

    Tensors are detached (sharing storage) unless ``keep_vars=True``. A module reachable
    through several paths appears under each of them, as in PyTorch.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
        >>> list(net.state_dict())
        ['0.weight', '0.bias', '2.weight', '2.bias']

    See: torch.nn.Module.state_dict.
    """
    if args:  # the deprecated positional form state_dict(destination, prefix, keep_vars)
        destination = args[0]
        if len(args) > 1:
            prefix = args[1]
        if len(args) > 2:
            keep_vars = args[2]
    if destination is None:
        destination = OrderedDict()
        destination._metadata = OrderedDict()
    meta = getattr(destination, "_metadata", None)
    if meta is not None:
        meta[prefix[:-1]] = {"version": self._version}
    self._save_to_state_dict(destination, prefix, keep_vars)
    for name, module in self._modules.items():
        if module is not None:
            module.state_dict(destination=destination, prefix=prefix + name + ".",
                              keep_vars=keep_vars)
    return destination


@runs_on_input_device
def _converted(target: Tensor, source: Tensor):
    """``source``'s values as an array in ``target``'s dtype, device and shape (no copy when
    nothing differs)."""
    src = source.detach().to(device=target._device, dtype=target.dtype)._data
    return src.reshape(target._data.shape)


@runs_on_input_device
def _store(target: Tensor, src) -> None:
    target._data[...] = src


def _copy_into(target: Tensor, source: Tensor) -> None:
    _store(target, _converted(target, source))


def plan_load(self, state_dict: Mapping, prefix: str, plan: list, missing: list,
              unexpected: list, errors: list, assign: bool = False) -> None:
    """Check this module's own entries of ``state_dict`` and queue the copies in ``plan``."""
    local = dict(self._parameters)
    local.update((k, v) for k, v in self._buffers.items()
                 if k not in self._non_persistent_buffers_set)
    for name, param in local.items():
        if param is None:
            continue
        key = prefix + name
        if key not in state_dict:
            missing.append(key)
            continue
        value = state_dict[key]
        if not isinstance(value, Tensor):
            errors.append(f'While copying the parameter named "{key}", expected '
                          f"brickwork.Tensor or Tensor-like object from checkpoint but received "
                          f"{type(value)}")
            continue
        if is_lazy(value):
            errors.append(f'While copying the parameter named "{key}": the checkpoint holds an '
                          "uninitialized parameter (save the model after a forward pass)")
            continue
        lazy = is_lazy(param)
        if not lazy and value.shape != param.shape and not (
                param.ndim == 0 and value.shape == (1,)):
            errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} "
                          f"from checkpoint, the shape in current model is {param.shape}.")
            continue
        if value._data.dtype.kind not in "fiubcV":  # 'V': bfloat16
            errors.append(f'While copying the parameter named "{key}": unsupported dtype '
                          f"{value._data.dtype}")
            continue
        step = _prepare(self, name, key, param, value, lazy, assign, errors)
        if step is not None:
            plan.append(step)
    for key in state_dict:
        if not key.startswith(prefix):
            continue
        head = key[len(prefix):].split(".", 1)[0]
        # a None parameter or buffer has no entry: a key aimed at it is unexpected (as PyTorch)
        if head not in self._modules and local.get(key[len(prefix):]) is None:
            unexpected.append(key)


def _prepare(module, name: str, key: str, param: Tensor, value: Tensor, lazy: bool,
             assign: bool, errors: list):
    """Do now whatever could fail, and return the step that stores the result (or None, with
    the failure in ``errors`` under PyTorch's wording, naming ``key``)."""
    try:
        if lazy:  # materialized in the store step: that changes the parameter in place
            return lambda: _materialize_from(param, value)
        if not assign:
            src = _converted(param, value)
            return lambda: _store(param, src)
        if isinstance(param, Parameter):
            if isinstance(value, Parameter):
                if param.requires_grad and not value.is_floating_point():
                    raise RuntimeError("only Tensors of floating point dtype can require "
                                       "gradients")
                new = value  # PyTorch keeps the file's Parameter, with the model's flag
            else:
                new = Parameter(value.detach(), requires_grad=param.requires_grad)
        else:
            new = value.detach()
    except Exception as exc:  # noqa: BLE001 - reported under the key, as PyTorch does
        errors.append(f'While copying the parameter named "{key}", whose dimensions in the model '
                      f"are {param.shape} and whose dimensions in the checkpoint are "
                      f"{value.shape}, an exception occurred : {exc.args!r}.")
        return None

    def run() -> None:
        if isinstance(param, Parameter):
            if new is value:
                new.requires_grad_(param.requires_grad)
            module._parameters[name] = new
        else:
            module._buffers[name] = new
    return run


def _materialize_from(param: Tensor, value: Tensor) -> None:
    param.materialize(value.shape, device=param._device,
                      dtype=value.dtype if value.is_floating_point() else None)
    _copy_into(param, value)


def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False):
    """Copy tensors from ``state_dict`` into this module's parameters and buffers.

    Parameters keep their identity (values are copied in), unless ``assign=True``. With
    ``strict=True`` every key must match. On any problem nothing is changed and one RuntimeError
    lists every missing key, unexpected key and shape mismatch.

    Returns:
        ``_IncompatibleKeys(missing_keys, unexpected_keys)``.

    See: torch.nn.Module.load_state_dict.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
    missing: list = []
    unexpected: list = []
    errors: list = []
    plan: list = []

    def visit(module, sd: Mapping, prefix: str) -> None:
        module._plan_load(sd, prefix, plan, missing, unexpected, errors, assign)
        for name, child in module._modules.items():
            if child is not None:
                child_prefix = prefix + name + "."
                visit(child, {k: v for k, v in sd.items() if k.startswith(child_prefix)},
                      child_prefix)

    visit(self, state_dict, "")
    if strict:
        if unexpected:
            errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in unexpected)))
        if missing:
            errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                ", ".join(f'"{k}"' for k in missing)))
    if errors:
        raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
            type(self).__name__, "\n\t".join(errors)))
    for step in plan:
        step()
    return _IncompatibleKeys(missing, unexpected)


__all__: list = []
