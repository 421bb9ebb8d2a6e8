"""Stochastic weight averaging and exponential moving averages of a model's weights.

``AveragedModel`` keeps a copy of a model whose parameters are the running average (SWA: equal
weights; EMA: ``get_ema_multi_avg_fn``) of the model's over the calls to ``update_parameters``;
``update_bn`` recomputes batch-norm statistics for the averaged weights; ``SWALR`` anneals
each group's learning rate to a constant SWA rate. See: torch.optim.swa_utils.
"""
from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any, Callable, Iterable

from .. import dtypes, factories
from ..autograd.grad_mode import no_grad
from ..nn.module import Module
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         f"[0,1] range.")


def _floating(t: Tensor) -> bool:
    return t.is_floating_point() or t.is_complex()


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """An in-place EMA over lists of tensors: ``ema = lerp(ema, current, 1 - decay)``.

    See: torch.optim.swa_utils.get_ema_multi_avg_fn.
    """
    _check_decay(decay)

    def ema_update(ema_param_list, current_param_list, _) -> None:
        with no_grad():
            if _floating(ema_param_list[0]):
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """An in-place running mean over lists of tensors. See:
    torch.optim.swa_utils.get_swa_multi_avg_fn."""

    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        with no_grad():
            if _floating(averaged_param_list[0]):
                w = 1 / (float(num_averaged) + 1)
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.lerp_(p_model, w)
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    diff = p_model - p_avg
                    if isinstance(num_averaged, Tensor):
                        p_avg.addcdiv_(diff, num_averaged + 1)
                    else:
                        p_avg.add_(diff, alpha=1.0 / (num_averaged + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """``decay * ema + (1 - decay) * current``, one tensor at a time. See:
    torch.optim.swa_utils.get_ema_avg_fn."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged):
        """The EMA step; ``num_averaged`` is ignored (an EMA weighs by ``decay`` alone)."""
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable:
    """``avg + (current - avg) / (n + 1)``, one tensor at a time. See:
    torch.optim.swa_utils.get_swa_avg_fn."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged):
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters average the model's over ``update_parameters``
    calls (equal weights by default; ``avg_fn``/``multi_avg_fn`` for others, e.g. EMA).

    Args:
        model: the model to average (deep-copied).
        device: where the copy lives (default: where the model is).
        avg_fn: ``(averaged, current, n_averaged) -> new averaged``, per tensor.
        multi_avg_fn: the same in place over lists of tensors.
        use_buffers: average the buffers too (else they are copied from the model).

    See: torch.optim.swa_utils.AveragedModel.
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged",
                             factories.tensor(0, dtype=dtypes.long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies)."""
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        averaged, current = [], []
        first = int(self.n_averaged) == 0
        with no_grad():
            for p_avg, p_model in zip(mine, theirs):
                p_model_ = p_model.detach().to(p_avg.device)
                averaged.append(p_avg.detach())
                current.append(p_model_)
                if first:
                    p_avg.detach().copy_(p_model_)
            if not first:
                n = self.n_averaged
                if self.avg_fn is None:
                    # per device and dtype, as the multi-tensor functions expect (with
                    # use_buffers the integer batch counters form their own group)
                    groups: dict = {}
                    for a, c in zip(averaged, current):
                        group = groups.setdefault((a.device, a.dtype), ([], []))
                        group[0].append(a)
                        group[1].append(c)
                    for (device, _), (group_avg, group_cur) in groups.items():
                        if self.multi_avg_fn is not None:
                            self.multi_avg_fn(group_avg, group_cur, n.to(device))
                        elif device.type == "cuda":  # PyTorch's multi-tensor kernels' device
                            get_swa_multi_avg_fn()(group_avg, group_cur, n.to(device))
                        else:  # one tensor at a time, as PyTorch on the CPU
                            avg_fn = get_swa_avg_fn()
                            for p_avg, p_model in zip(group_avg, group_cur):
                                p_avg.copy_(avg_fn(p_avg, p_model, n.to(device)))
                else:
                    for p_avg, p_model in zip(averaged, current):
                        p_avg.copy_(self.avg_fn(p_avg, p_model, n.to(p_avg.device)))
            if not self.use_buffers:  # the buffers follow the model's
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged += 1


def _is_batch_norm(module: Module) -> bool:
    return any(c.__name__ in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm")
               for c in type(module).__mro__)


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recompute the batch-norm running statistics of ``model`` with one pass over
    ``loader`` (cumulative averages: momentum None). See: torch.optim.swa_utils.update_bn."""
    momenta = {}
    for module in model.modules():
        if _is_batch_norm(module):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr from its value to ``swa_lr`` over ``anneal_epochs`` steps
    (cosine or linear), then hold it. See: torch.optim.swa_utils.SWALR."""

    def __init__(self, optimizer: Optimizer, swa_lr: float, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        swa_lrs = [v.clone() if isinstance(v, Tensor) else v
                   for v in _per_group("swa_lr", optimizer, swa_lr)]
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        # The lr before annealing is recovered from the current one, so the schedule chains
        # with changes other code makes to the lr.
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer and the anneal function."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
