"""``swap_in_optimizer_params_and_state``: run an optimizer on other parameters and state."""
from __future__ import annotations

import contextlib
from collections import defaultdict
from typing import Any, Iterator, NamedTuple

from ..tensor import Tensor
from .optimizer import Optimizer

_NAME = "swap_in_optimizer_params_and_state"


class _GroupSwapinInfo(NamedTuple):
    """One live param group, its swap-in counterpart (options plus packed ids) and the
    tensors that stand in for its parameters, in the order of those ids."""

    live_group: dict[str, Any]
    swapin_group: dict[str, Any]
    swapin_params: list[Tensor]


def _validate_state_field(state: Any) -> dict[Any, Any]:
    if not isinstance(state, dict):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be a dict mapping "
                           "packed parameter ids to per-param state dicts, got "
                           f"{type(state).__name__}.")
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style state keyed by "
                           "packed parameter ids.")
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(f"{_NAME} requires per-parameter optimizer state entries to be "
                           "dictionaries.")
    return state


def _validate_param_groups_field(optimizer: Optimizer, param_groups: Any) -> list[dict]:
    if not isinstance(param_groups, list):
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['param_groups'] to be a list "
                           f"of param-group dicts, got {type(param_groups).__name__}.")
    if len(optimizer.param_groups) != len(param_groups):
        raise RuntimeError("swapin_optim_state has a different number of parameter groups "
                           "than the live optimizer.")
    return param_groups


def _validate_group_against_live(idx: int, group: dict[str, Any], swapin_group: Any) -> list:
    """The packed ids of one swap-in group, after checking it matches the live group's size
    and keys."""
    if not isinstance(swapin_group, dict):
        raise RuntimeError(f"{_NAME} requires each optimizer param group to be a dictionary.")
    ids = swapin_group.get("params")
    if not isinstance(ids, list) or not all(isinstance(pid, int) for pid in ids):
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style "
                           "param_groups[*]['params'] entries keyed by packed parameter ids.")
    if len(group["params"]) != len(ids):
        raise RuntimeError(f"swapin_optim_state param group {idx} has a different number of "
                           "params than the live optimizer param group.")
    swapin_only = [k for k in swapin_group if k not in group]
    live_only = [k for k in group if k not in swapin_group]
    if swapin_only or live_only:
        raise RuntimeError(f"{_NAME} requires optimizer.state_dict()-style param group keys "
                           "to exactly match the live optimizer group keys for "
                           f"group {idx}. Keys only in swap-in: {swapin_only}. Keys only in "
                           f"live: {live_only}.")
    return ids


def _prepare_swap_in(optimizer: Optimizer, swapin_parameters: dict[str, Tensor],
                     swapin_optim_state: dict[str, Any]):
    """Validate the swap-in state_dict and pair each live group with its new tensors.

    The tensors of ``swapin_parameters`` are taken in order: the first group's parameters
    first, as a state_dict numbers them.
    """
    if not optimizer.state:
        raise RuntimeError(f"{_NAME} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_NAME} requires a DCP-style optimizer state_dict.")
    swapin_state = _validate_state_field(swapin_optim_state.get("state"))
    swapin_groups = _validate_param_groups_field(optimizer,
                                                 swapin_optim_state.get("param_groups"))
    flat = list(swapin_parameters.values())
    offset = 0
    seen: set[int] = set()
    infos = []
    for idx, (group, swapin_group) in enumerate(zip(optimizer.param_groups, swapin_groups)):
        ids = _validate_group_against_live(idx, group, swapin_group)
        seen.update(ids)
        end = offset + len(ids)
        if end > len(flat):
            raise RuntimeError(f"{_NAME} requires the explicit parameter state to match "
                               "optimizer.param_groups ordering.")
        infos.append(_GroupSwapinInfo(group, swapin_group, flat[offset:end]))
        offset = end
    extra = [k for k in swapin_state if k not in seen]
    if extra:
        raise RuntimeError(f"{_NAME} requires swapin_optim_state['state'] to be keyed only by "
                           f"packed parameter ids from param_groups[*]['params']; got extra "
                           f"keys {extra!r}.")
    return swapin_state, infos


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(optimizer: Optimizer,
                                       swapin_parameters: dict[str, Tensor],
                                       swapin_optim_state: dict[str, Any]) -> Iterator[None]:
    """Temporarily give ``optimizer`` other parameters and state; restore its own on exit.

    Within the context, ``optimizer.step()`` updates the tensors of ``swapin_parameters`` (in
    the order of the optimizer's parameters) using the per-group options and the state of
    ``swapin_optim_state`` (an ``optimizer.state_dict()``-shaped dict). In-place changes to
    the state tensors reach ``swapin_optim_state``; new entries or replaced tensors do not.

    Args:
        optimizer: the live optimizer; its state must already exist (it has stepped).
        swapin_parameters: the stand-in parameters, e.g. ``dict(model.named_parameters())``
            of a copy of the model.
        swapin_optim_state: ``{'state': {id: {...}}, 'param_groups': [...]}``.

    Example:
        >>> with swap_in_optimizer_params_and_state(opt, copies, saved_state):
        ...     opt.step()

    See: torch.optim.swap_in_optimizer_params_and_state.
    """
    state, infos = _prepare_swap_in(optimizer, swapin_parameters, swapin_optim_state)
    original_state = optimizer.state
    # shallow copies restore every option and keep the identity of each group's params list
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapin_state: defaultdict = defaultdict(dict)
        for info in infos:
            info.live_group["params"] = info.swapin_params
            for key, value in info.swapin_group.items():
                if key != "params":
                    info.live_group[key] = value
            for param, pid in zip(info.swapin_params, info.swapin_group["params"]):
                # a shallow copy: in-place tensor updates reach the caller's dict, new keys
                # added during the context do not
                swapin_state[param] = dict(state.get(pid, {}))
        optimizer.state = swapin_state
        yield
    finally:
        for group, snapshot in zip(optimizer.param_groups, snapshots):
            group.clear()
            group.update(snapshot)
        optimizer.state = original_state


swap_in_optimizer_params_and_state.__module__ = "brickwork.optim"
