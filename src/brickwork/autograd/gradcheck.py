"""Finite-difference gradient checking (float64), as torch.autograd.gradcheck."""
from __future__ import annotations

import numpy as np

from ..device import DeviceFollower


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _flat_outputs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Compare backward's gradients of ``func`` with central finite differences.

    Inputs that require grad should be float64 tensors. Every output element's gradient with
    respect to every input element is checked (use small inputs).

    Example:
        >>> x = brickwork.randn(3, dtype=brickwork.float64, requires_grad=True)
        >>> gradcheck(brickwork.sin, (x,))
        True

    See: torch.autograd.gradcheck.
    """
    from ..tensor import Tensor

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    devices = DeviceFollower()  # the perturbations write into the inputs on their GPU
    try:
        first = next((t for t in inputs if isinstance(t, Tensor)), None)
        if first is not None:
            devices.follow(first._device)
        return _check(func, inputs, eps, atol, rtol, raise_exception)
    finally:
        devices.restore()


def _check(func, inputs, eps, atol, rtol, raise_exception) -> bool:
    from ..tensor import Tensor
    from .engine import grad as autograd_grad
    from .grad_mode import no_grad

    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = [o for o in _flat_outputs(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
    for out_index, out in enumerate(outs):
        n_out = out.numel()
        for k in range(n_out):
            seed = np.zeros(n_out, dtype=out._data.dtype)
            seed[k] = 1
            from ..factories import tensor

            res = _flat_outputs(func(*inputs))
            o = [r for r in res if isinstance(r, Tensor) and r.requires_grad][out_index]
            analytic = autograd_grad(o, [inputs[i] for i in diff],
                                     tensor(seed.reshape(o.shape), dtype=o.dtype,
                                            device=o.device),
                                     allow_unused=True)
            for j, i in enumerate(diff):
                x = inputs[i]
                flat = x._data.reshape(-1)
                numeric = np.zeros(flat.size)
                with no_grad():
                    for p in range(flat.size):
                        orig = flat[p].item()
                        flat[p] = orig + eps
                        plus = _flat_outputs(func(*inputs))
                        fp = [r for r in plus if isinstance(r, Tensor)][out_index]
                        fp = fp._host().reshape(-1)[k].item()
                        flat[p] = orig - eps
                        minus = _flat_outputs(func(*inputs))
                        fm = [r for r in minus if isinstance(r, Tensor)][out_index]
                        fm = fm._host().reshape(-1)[k].item()
                        flat[p] = orig
                        numeric[p] = (fp - fm) / (2 * eps)
                a = analytic[j]
                a = np.zeros(flat.size) if a is None else a._host().reshape(-1)
                if not np.allclose(a, numeric, atol=atol, rtol=rtol):
                    if not raise_exception:
                        return False
                    raise GradcheckError(
                        f"Jacobian mismatch for output {out_index} element {k} with respect to "
                        f"input {i},\nnumerical:{numeric}\nanalytical:{a}")
    return True
