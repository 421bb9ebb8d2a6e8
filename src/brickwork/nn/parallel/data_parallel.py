"""DataParallel: PyTorch's single-process wrapper, on one device.

PyTorch's ``DataParallel`` splits each batch across the GPUs of one process, runs a replica of
the module on each and gathers the outputs. brickwork's runs the module on one device only:

* ``device_ids=None``: the module runs where its parameters are (CPU or one GPU), unchanged;
* one device id: the module must already be on that CUDA device; inputs are moved there and
  the output is moved to ``output_device`` (default: that device);
* several device ids: ``NotImplementedError``. Train on several devices with
  ``DistributedDataParallel``, one process per device (``brickwork run -n N train.py``).

The wrapper holds the model as ``self.module``, so its ``state_dict`` keys start with
``module.`` as PyTorch's do.
"""
from __future__ import annotations

from typing import Any

from ..module import Module
from .distributed import _move

__all__ = ["DataParallel"]


class DataParallel(Module):
    """Run ``module`` on one device, in this process (see the module docstring).

    Args:
        module: the module to wrap.
        device_ids: ``None`` or a single CUDA device (id or device); more than one raises.
        output_device: where outputs go (default ``device_ids[0]``).
        dim: the batch dimension (kept for compatibility: with one device the batch is not
            split).

    Example::

        >>> net = nn.DataParallel(nn.Linear(4, 2))
        >>> net(brickwork.ones(3, 4)).shape
        brickwork.Size([3, 2])
        >>> list(net.state_dict())
        ['module.weight', 'module.bias']

    See: torch.nn.DataParallel.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None,
                 dim: int = 0) -> None:
        super().__init__()
        ids = None if device_ids is None else [_index(d) for d in device_ids]
        if ids is not None and len(ids) > 1:
            raise NotImplementedError(
                f"brickwork's DataParallel runs on one device and got device_ids {ids}: train "
                "on several devices with DistributedDataParallel, one process per device "
                "(brickwork run -n N train.py)")
        self.module = module
        self.dim = dim
        self.device_ids = ids if ids else []
        self.output_device = None
        if ids:
            self.output_device = ids[0] if output_device is None else _index(output_device)
            want = f"cuda:{ids[0]}"
            for t in list(module.parameters()) + list(module.buffers()):
                if str(t.device) != want:
                    raise RuntimeError(
                        f"module must have its parameters and buffers on device {want} "
                        f"(device_ids[0]) but found one of them on device: {t.device}")
        elif output_device is not None:
            raise ValueError("DataParallel: output_device needs device_ids (brickwork runs "
                             "the module where it is when device_ids is None)")

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """Run the module (on ``device_ids[0]`` when given) and return its output."""
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        dev = f"cuda:{self.device_ids[0]}"
        out = self.module(*_move(inputs, dev), **_move(kwargs, dev))
        return _move(out, f"cuda:{self.output_device}")


def _index(d) -> int:
    if isinstance(d, int):
        return d
    index = getattr(d, "index", None)
    if index is None:
        if str(d) == "cpu" or getattr(d, "type", None) == "cpu":
            raise ValueError("DataParallel: device_ids are CUDA devices; pass None for CPU")
        return 0
    return index
