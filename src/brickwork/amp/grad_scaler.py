"""Dynamic loss scaling for float16 training. See: torch.amp.GradScaler.

float16 gradients underflow to zero when they are small. The scaler multiplies the loss by a
large factor before ``backward`` so the gradients stay representable, divides them back before
the optimizer step, skips the step when a gradient overflowed (inf/NaN), and adapts the factor:
it shrinks by ``backoff_factor`` after an overflow and grows by ``growth_factor`` after
``growth_interval`` clean steps. The bookkeeping (a float32 scale, an int32 growth tracker, a
float32 ``found_inf`` flag per device) follows PyTorch's, so the same gradients give the same
sequence of scales and skipped steps, and ``state_dict`` interchanges with PyTorch's.
"""
from __future__ import annotations

import warnings
from collections import abc, defaultdict
from enum import Enum
from typing import Any, Iterable

import numpy as np

from ..device import DeviceFollower, device as _device
from ..ops._util import xp_of
from ..tensor import Tensor, _make

__all__ = ["OptState", "GradScaler"]


class OptState(Enum):
    """Where one optimizer is in the current iteration. See: torch.amp.grad_scaler.OptState."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> dict[str, Any]:
    # A module-level factory (not a lambda) so a scaler's state can be pickled, as in PyTorch.
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class _MultiDeviceReplicator:
    """Serves copies of one tensor on each device asked for, made once per device."""

    def __init__(self, master: Tensor) -> None:
        self.master = master
        self._per_device_tensors: dict[_device, Tensor] = {}

    def get(self, dev: _device) -> Tensor:
        t = self._per_device_tensors.get(dev)
        if t is None:
            t = self.master.to(device=dev, copy=True)
            self._per_device_tensors[dev] = t
        return t


def _full(value, dtype, dev: _device) -> Tensor:
    """A 0-d tensor on ``dev`` (the scaler's bookkeeping lives beside the gradients)."""
    from ..factories import full

    return full((), value, dtype=dtype, device=dev)


def _check_and_unscale_(grads: list[Tensor], found_inf: Tensor, inv_scale: Tensor) -> None:
    """Multiply each gradient in place by ``inv_scale``; set ``found_inf`` to 1.0 if any holds
    an inf or NaN. See: torch._amp_foreach_non_finite_check_and_unscale_.

    As PyTorch's kernel, half-precision gradients are multiplied in float32 and rounded back.
    """
    inv = inv_scale._data
    devices = DeviceFollower()  # work on the gradients' own GPU
    try:
        for g in grads:
            arr = g._data
            devices.follow_array(arr)
            xp = xp_of(arr)
            flag = found_inf._data
            # Raised on the device, without reading the result back (no GPU sync per gradient).
            bad = xp.logical_not(xp.isfinite(arr).all()).astype(flag.dtype)
            flag[...] = xp.maximum(flag, bad)
            compute = np.float32 if arr.dtype.itemsize < 4 else arr.dtype
            scaled = arr.astype(compute, copy=False) * inv.astype(compute)
            arr[...] = scaled.astype(arr.dtype, copy=False)
    finally:
        devices.restore()


def _update_scale_(scale: Tensor, growth_tracker: Tensor, found_inf: Tensor,
                   growth_factor: float, backoff_factor: float, growth_interval: int) -> None:
    """Back off after an overflow, grow after ``growth_interval`` clean steps.
    See: torch._amp_update_scale_."""
    devices = DeviceFollower()  # the scale may live on a GPU that is not the current one
    try:
        devices.follow_array(scale._data)
        _update_arrays(scale._data, growth_tracker._data, float(found_inf._data),
                       growth_factor, backoff_factor, growth_interval)
    finally:
        devices.restore()


def _update_arrays(s, tracker, found_inf: float, growth_factor: float, backoff_factor: float,
                   growth_interval: int) -> None:
    if found_inf != 0.0:
        s[...] = np.float32(float(s) * backoff_factor)
        tracker[...] = 0
        return
    successful = int(tracker) + 1
    if successful == growth_interval:
        with np.errstate(over="ignore"):  # an overflow is expected here and handled below
            new_scale = np.float32(float(s) * growth_factor)
        if np.isfinite(new_scale):  # an overflowing scale stays where it was
            s[...] = new_scale
        tracker[...] = 0
    else:
        tracker[...] = successful


class GradScaler:
    """Scales the loss, unscales the gradients and skips steps that overflowed.

    Example::

        scaler = GradScaler("cpu")
        for input, target in data:
            optimizer.zero_grad()
            loss = loss_fn(model(input), target)
            scaler.scale(loss).backward()
            scaler.step(optimizer)   # unscales, then steps unless a gradient is inf/NaN
            scaler.update()          # adapts the scale

    Args:
        device: ``'cuda'`` or ``'cpu'``. A ``'cuda'`` scaler on a machine without a GPU warns
            and disables itself, as PyTorch's does.
        init_scale: the first scale factor.
        growth_factor: multiplies the scale after ``growth_interval`` clean steps (> 1).
        backoff_factor: multiplies the scale after a step with inf/NaN gradients (< 1).
        growth_interval: how many consecutive clean steps before the scale grows.
        enabled: ``False`` makes every method pass through (``step`` just calls
            ``optimizer.step()``).

    See: torch.amp.GradScaler.
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if not isinstance(device, str) or device.partition(":")[0] not in ("cpu", "cuda"):
            raise RuntimeError(f"GradScaler: brickwork has no {device!r} device type; expected "
                               "'cuda' or 'cpu'")
        self._device = device
        self._enabled = enabled
        from .. import cuda  # imported here: brickwork.cuda may import this module

        if self._device == "cuda" and enabled and not cuda.is_available():
            warnings.warn("brickwork.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                          "Disabling.", stacklevel=2)
            self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            # The scale and growth tracker are made on the first scale(), on the loss's device.
            self._scale: Tensor | None = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker: Tensor | None = None
            self._per_optimizer_states: dict[int, dict[str, Any]] = defaultdict(
                _refresh_per_optimizer_state)

    # -- lazy state ----------------------------------------------------------------------------
    def _check_scale_growth_tracker(self, funcname: str) -> tuple[Tensor, Tensor]:
        fix = ("This may indicate your script did not use scaler.scale(loss or outputs) earlier "
               "in the iteration.")
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    def _lazy_init_scale_growth_tracker(self, dev: _device) -> None:
        from ..dtypes import float32, int32

        self._scale = _full(self._init_scale, float32, dev)
        self._growth_tracker = _full(self._init_growth_tracker, int32, dev)

    # -- the iteration -------------------------------------------------------------------------
    def scale(self, outputs: Tensor | Iterable) -> Tensor | Iterable:
        """Multiply a tensor, or the tensors in (nested) lists, tuples and iterables, by the
        scale. Returns ``outputs`` unchanged when the scaler is disabled.
        See: torch.amp.GradScaler.scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs.device)
            return outputs * self._scale.to(device=outputs.device)
        stash: list[_MultiDeviceReplicator] = []  # one replicator shared by every output

        def apply_scale(val):
            if isinstance(val, Tensor):
                if not stash:
                    if self._scale is None:
                        self._lazy_init_scale_growth_tracker(val.device)
                    stash.append(_MultiDeviceReplicator(self._scale))
                return val * stash[0].get(val.device)
            if isinstance(val, abc.Iterable):
                scaled = map(apply_scale, val)
                if isinstance(val, (list, tuple)):
                    return type(val)(scaled)
                return scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale: Tensor, found_inf: Tensor,
                        allow_fp16: bool) -> dict[_device, Tensor]:
        from ..dtypes import float16

        per_device_inv_scale = _MultiDeviceReplicator(inv_scale)
        per_device_found_inf = _MultiDeviceReplicator(found_inf)
        grouped: dict[_device, dict[Any, list[Tensor]]] = defaultdict(lambda: defaultdict(list))
        for group in optimizer.param_groups:
            for param in group["params"]:
                if not isinstance(param, Tensor):
                    raise AssertionError(
                        f"expected param to be brickwork.Tensor, got {type(param).__name__}")
                grad = param._grad
                if grad is None:
                    continue
                if not allow_fp16 and grad.dtype == float16:
                    raise ValueError("Attempting to unscale FP16 gradients.")
                grouped[grad.device][grad.dtype].append(grad)
        for dev, per_dtype in grouped.items():
            for grads in per_dtype.values():
                _check_and_unscale_(grads, per_device_found_inf.get(dev),
                                    per_device_inv_scale.get(dev))
        return per_device_found_inf._per_device_tensors

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale in place (once per iteration), e.g. to
        clip them before ``step``. See: torch.amp.GradScaler.unscale_."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # The reciprocal is taken in float64, then rounded to float32, as PyTorch does.
        inv_scale = self._scale.double().reciprocal().float()
        found_inf = _full(0.0, inv_scale.dtype, self._scale.device)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, found_inf,
                                                             False)
        state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, optimizer_state: dict[str, Any], *args, **kwargs):
        if not sum(v.item() for v in optimizer_state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer, *args: Any, **kwargs: Any):
        """Unscale the gradients (unless ``unscale_`` was called) and call
        ``optimizer.step(*args, **kwargs)`` unless a gradient is inf or NaN.

        Returns what ``optimizer.step`` returned, or None when the step was skipped.
        See: torch.amp.GradScaler.step.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if getattr(optimizer, "_step_supports_amp_scaling", False):
            # No brickwork optimizer unscales inside its own step; refuse rather than step with
            # scaled gradients.
            raise NotImplementedError("GradScaler: optimizers with _step_supports_amp_scaling "
                                      "are not supported by brickwork")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, state, *args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Adapt the scale from this iteration's inf checks, or set it to ``new_scale``.
        See: torch.amp.GradScaler.update."""
        if not self._enabled:
            return
        scale, growth_tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element brickwork.cuda.FloatTensor or "
                          "brickwork.FloatTensor with requires_grad=False.")
                if (not isinstance(new_scale, Tensor)
                        or new_scale.device.type != self._device.partition(":")[0]
                        or new_scale.numel() != 1 or new_scale.requires_grad):
                    raise AssertionError(reason)
                scale.copy_(new_scale)
        else:
            found_infs = [found_inf.to(device=scale.device)
                          for state in self._per_optimizer_states.values()
                          for found_inf in state["found_inf_per_device"].values()]
            if len(found_infs) == 0:
                raise AssertionError("No inf checks were recorded prior to update.")
            combined = found_infs[0]
            for extra in found_infs[1:]:
                combined = combined + extra
            _update_scale_(scale, growth_tracker, combined, self._growth_factor,
                           self._backoff_factor, self._growth_interval)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # -- settings ------------------------------------------------------------------------------
    def _get_scale_async(self) -> Tensor | None:
        return self._scale

    def get_scale(self) -> float:
        """The current scale as a float (1.0 when disabled). See: torch.amp.GradScaler.get_scale."""
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        """See: torch.amp.GradScaler.get_growth_factor."""
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        """See: torch.amp.GradScaler.set_growth_factor."""
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        """See: torch.amp.GradScaler.get_backoff_factor."""
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        """See: torch.amp.GradScaler.set_backoff_factor."""
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        """See: torch.amp.GradScaler.get_growth_interval."""
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        """See: torch.amp.GradScaler.set_growth_interval."""
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return (self._init_growth_tracker if self._growth_tracker is None
                    else int(self._growth_tracker.item()))
        return 0

    def is_enabled(self) -> bool:
        """See: torch.amp.GradScaler.is_enabled."""
        return self._enabled

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` (PyTorch's keys); empty when disabled.
        See: torch.amp.GradScaler.state_dict."""
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor,
                    "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict`` (a no-op when disabled).
        See: torch.amp.GradScaler.load_state_dict."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._enabled:
            if len(self._per_optimizer_states) != 0:
                raise AssertionError("A GradScaler instance may only be pickled at the beginning "
                                     "of an iteration, or at the end after scaler.update().")
            # The unpickled scaler re-creates its tensors lazily, on the next loss's device.
            state["_init_scale"] = self.get_scale()
            state["_init_growth_tracker"] = self._get_growth_tracker()
            state["_scale"] = None
            state["_growth_tracker"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
