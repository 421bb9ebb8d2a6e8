"""Saved values versus in-place updates: backward refuses a value overwritten after it was saved.

Every tensor's data has a version counter (``_views.py``) that in-place updates bump. PyTorch
notes the version of each tensor an op saves for backward and, when backward unpacks it,
raises if the version moved. Built-in brickwork ops save backend *arrays* on their node
(``ctx.a = a``), and recording an op must stay cheap, so the same check is made this way:

- a global in-place clock (``CLOCK``) ticks at every update, and a counter keeps the clock
  times of its recent updates. ``Function.apply`` stamps each node with the clock
  (``_epoch``): when the clock has not moved since, nothing the node saved can have changed
  and backward skips the check (no in-place update: no cost).
- inputs: an argument whose counter was updated after the stamp is looked for, by identity,
  among the arrays the node saved; only then is it an error (ops that save nothing, ``add``,
  never fail). The version it had is its version now less the updates since.
- results: an op that saves its own result (``exp``, ``sigmoid``) is found when something is
  about to change that result (an in-place update, a ``detach()``): ``_views.pin_saved_output``
  then notes the result tensor's counter and version in ``_out_versions``.

User Functions save Tensors with ``ctx.save_for_backward``; those are noted when the Function
runs and checked when ``ctx.saved_tensors`` is read, as in PyTorch.
"""
from __future__ import annotations

import re

from . import anomaly_mode

_Tensor = None  # brickwork.tensor.Tensor, bound on first use (import cycle)


class _Clock:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


# Ticks at every in-place update (``_views.bump``); read by every recorded op, so a slot.
CLOCK = _Clock()


def _tensor_cls():
    global _Tensor
    if _Tensor is None:
        from ..tensor import Tensor

        _Tensor = Tensor
    return _Tensor


# -- finding saved arrays -------------------------------------------------------------------------
def saves(d: dict, arr) -> bool:
    """Whether a node's attribute dict ``d`` holds ``arr`` (directly or in a list or tuple).

    Underscored entries are the mechanism's own bookkeeping (``_args``...), not saved values.
    """
    for k, v in d.items():
        if k[0] == "_":
            continue
        if v is arr:
            return True
        if v.__class__ is tuple or v.__class__ is list:
            for x in v:
                if x is arr:
                    return True
    return False


def replace_saved(d: dict, old, new) -> bool:
    """Replace every saved reference to array ``old`` by ``new``; whether there was one."""
    found = False
    for k, v in d.items():
        if k[0] == "_":
            continue
        if v is old:
            d[k] = new
            found = True
        elif (v.__class__ is tuple or v.__class__ is list) and any(x is old for x in v):
            d[k] = v.__class__([new if x is old else x for x in v])
            found = True
    return found


def _saves_values(d: dict) -> bool:
    """Whether a node's attribute dict holds floating-point arrays (directly or in a tuple)."""
    for k, v in d.items():
        if k[0] == "_":
            continue
        for x in (v if v.__class__ is tuple or v.__class__ is list else (v,)):
            dt = getattr(x, "dtype", None)
            if dt is not None and getattr(dt, "kind", "") == "f" and getattr(x, "ndim", 0):
                return True
    return False


# -- noting versions ------------------------------------------------------------------------------
def record_saved_output(node, vc: list, output_nr: int, arr, name: str | None = None) -> None:
    """Watch output ``output_nr`` of ``node``, saved as ``arr``, through counter ``vc``
    (``name``: how the error names the value's maker, when it is not ``node``)."""
    records = node.__dict__.get("_out_versions")
    if records is None:
        records = node._out_versions = []
    elif any(r[2] == output_nr for r in records):
        return  # already watched since an earlier version: that one is what backward needs
    records.append((vc, vc[0], output_nr, arr.shape, arr.dtype, name))


def note_user_saved(ctx, outs) -> None:
    """After a user Function's forward: note the versions of its ``save_for_backward`` tensors
    (outputs by their counter, so the node does not keep its own outputs alive)."""
    outs = outs if isinstance(outs, tuple) else (outs,)
    records = []
    for t in ctx._saved:
        if t is None:
            continue
        nr = next((i for i, o in enumerate(outs) if o is t), None)
        if nr is None:
            records.append((t, t._version, None))
        else:
            from ._views import counter

            vc = counter(t)
            records.append((vc, vc[0], (nr, t._data.shape, t._data.dtype)))
    ctx._saved_checks = records


# -- checking -------------------------------------------------------------------------------------
def check_saved(node, replay: bool = False) -> None:
    """Raise PyTorch's error if a value ``node``'s backward needs was changed in place.

    With ``replay`` (create_graph, which re-runs the forward on the node's arguments) every
    tensor argument counts as saved when the node saved any floating-point values: those
    depend on the inputs, so a replay on changed inputs would give a wrong higher derivative.
    (Ops that save only shapes, keys and masks — slicing, reshapes, sums — are linear in their
    inputs and replay the same whatever the values.)

    (A counter keeps its last few dozen update times: a value updated more often than that
    since it was saved is still refused, but the version it names as expected may be too high.)
    """
    Tensor = _Tensor or _tensor_cls()
    epoch = node._epoch
    replay = replay and _saves_values(node.__dict__)
    for a in node._args:
        if isinstance(a, Tensor):
            vc = a._vc
            if vc is not None and len(vc) > 1 and vc[-1] > epoch \
                    and (replay or saves(node.__dict__, a._data)):
                since = sum(1 for when in vc[1:] if when > epoch)
                raise RuntimeError(_input_message(a, vc[0] - since))
    for vc, version, nr, shape, dtype, name in node._out_versions:
        if vc[0] != version:
            raise RuntimeError(version_message(_type_name(dtype), shape, nr,
                                               name or display_name(node), vc[0], version))


def check_user_saved(ctx) -> None:
    """``ctx.saved_tensors`` of a user Function: the same check for its saved tensors."""
    for holder, version, out in ctx._saved_checks:
        if out is None:
            if holder._version != version:
                raise RuntimeError(_input_message(holder, version))
        elif holder[0] != version:
            nr, shape, dtype = out
            raise RuntimeError(version_message(_type_name(dtype), shape, nr, display_name(ctx),
                                               holder[0], version))


def _input_message(t, expected: int) -> str:
    fn = t.grad_fn  # its history now, as PyTorch reports it
    return version_message(t.type(), t._data.shape, t._output_nr, display_name(fn) if fn else None,
                           t._version, expected)


_HINT = (" Hint: enable anomaly detection to find the operation that failed to compute its "
         "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")
_HINT_ANOMALY = (" Hint: the backtrace further above shows the operation that failed to compute "
                 "its gradient. The variable in question was changed in there or anywhere later. "
                 "Good luck!")


def version_message(type_name: str, shape: tuple, output_nr: int, name: str | None,
                    current: int, expected: int) -> str:
    """PyTorch's text for a saved value changed by an in-place update (``name``: the node that
    made it, None for a leaf)."""
    msg = ("one of the variables needed for gradient computation has been modified by an "
           f"inplace operation: [{type_name} [{', '.join(str(s) for s in shape)}]]")
    if name is not None:
        msg += f", which is output {output_nr} of {name},"
    msg += f" is at version {current}; expected version {expected} instead."
    return msg + (_HINT_ANOMALY if anomaly_mode.is_anomaly_enabled() else _HINT)


def _type_name(np_dtype) -> str:
    from .. import dtypes
    from ..tensor import _LEGACY_TYPE_NAMES

    return _LEGACY_TYPE_NAMES[dtypes._FROM_NP[np_dtype]]


_BACKWARD_SUFFIX = re.compile(r"Backward\d*$")


def display_name(node) -> str:
    """How PyTorch's messages name a node: ``SigmoidBackward0`` -> ``Sigmoid``."""
    return _BACKWARD_SUFFIX.sub("", node.name())
