"""Rprop: resilient backpropagation, per-coordinate step sizes driven by gradient signs."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ._more_common import check_lr, group_lr, real, refuse_differentiable, refuse_sparse, \
    state_arr
from .optimizer import Optimizer


class Rprop(Optimizer):
    """Rprop. See: torch.optim.Rprop.

    Each coordinate keeps a step size (initially ``lr``): it is multiplied by ``etaplus``
    where the gradient kept its sign since the last step, by ``etaminus`` where it flipped
    (and that gradient is then treated as zero), and clamped to ``step_sizes``; then
    ``p -= sign(g) * step_size``. ``foreach`` and ``capturable`` only select PyTorch kernels
    and give the same numbers; ``differentiable=True`` is refused at ``step``.

    Example:
        >>> opt = Rprop(model.parameters(), lr=0.01, etas=(0.5, 1.2))
    """

    def __init__(self, params: Iterable, lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _step_group(self, group: dict[str, Any]) -> None:
        refuse_differentiable(group, "Rprop")
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        for p, arr, g in self._grads(group):
            refuse_sparse(g, "Rprop")
            state = self.state[p]
            if len(state) == 0:
                lr = group_lr(group)
                state["step"] = self._step_tensor()
                state["prev"] = self._zeros_like(p)
                # complex parameters start with lr in both the real and imaginary parts
                state["step_size"] = self._zeros_like(p, complex(lr, lr) if p.is_complex()
                                                      else lr)
            state["step"]._data += 1
            arr, g = real(arr), real(g)
            prev, step_size = state_arr(state["prev"]), state_arr(state["step_size"])
            sign = np.sign(g * prev)
            # the same three masked writes as PyTorch (a NaN product keeps its NaN factor)
            sign[sign > 0] = etaplus
            sign[sign < 0] = etaminus
            sign[sign == 0] = 1
            step_size *= sign
            np.clip(step_size, step_size_min, step_size_max, out=step_size)
            g = g.copy()  # never write into the caller's .grad
            g[sign == etaminus] = 0
            arr += -1 * np.sign(g) * step_size
            prev[...] = g
