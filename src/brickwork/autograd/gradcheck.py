"""Finite-difference gradient checking (float64), as torch.autograd.gradcheck."""
from __future__ import annotations

import numpy as np

from ..device import DeviceFollower


class GradcheckError(RuntimeError):
    """Analytical and numerical gradients disagree."""


def _flat_outputs(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked=None) -> bool:
    """Compare backward's gradients of ``func`` with central finite differences.

    Inputs that require grad should be float64 tensors. Every output element's gradient with
    respect to every input element is checked (use small inputs). ``fast_mode`` is accepted for
    PyTorch's signature; the full check runs either way (it passes exactly when the fast one
    would). Checks that need forward-mode AD or batched gradients are refused.

    Example:
        >>> x = brickwork.randn(3, dtype=brickwork.float64, requires_grad=True)
        >>> gradcheck(brickwork.sin, (x,))
        True

    See: torch.autograd.gradcheck.
    """
    from ..tensor import Tensor

    _refuse_unsupported(check_batched_grad=check_batched_grad,
                        check_batched_forward_grad=check_batched_forward_grad,
                        check_forward_ad=check_forward_ad, masked=bool(masked))
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    if not check_backward_ad:
        return True
    devices = DeviceFollower()  # the perturbations write into the inputs on their GPU
    try:
        first = next((t for t in inputs if isinstance(t, Tensor)), None)
        if first is not None:
            devices.follow(first._device)
        ok = _check(func, inputs, eps, atol + nondet_tol, rtol, raise_exception,
                    check_grad_dtypes)
        if ok and check_undefined_grad:
            _check_undefined_grad(func, inputs)
        return ok
    finally:
        devices.restore()


def _check_undefined_grad(func, inputs) -> None:
    """Backward must cope with outputs whose gradient is undefined: each output alone."""
    from ..tensor import Tensor
    from .engine import grad as autograd_grad

    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    outs = [o for o in _flat_outputs(func(*inputs)) if isinstance(o, Tensor) and o.requires_grad]
    if len(outs) < 2 or not diff:
        return
    for k in range(len(outs)):
        outs = [o for o in _flat_outputs(func(*inputs))
                if isinstance(o, Tensor) and o.requires_grad]
        try:
            autograd_grad(outs[k].sum(), diff, allow_unused=True)
        except Exception as err:
            raise GradcheckError(f"Backward fails when only output {k} has a gradient (the "
                                 f"others undefined): {err}") from err


def _refuse_unsupported(**flags) -> None:
    for name, on in flags.items():
        if on:
            raise NotImplementedError(f"gradcheck: {name}=True is not supported (brickwork has "
                                      "no forward-mode AD, batched gradients or masked "
                                      "tensors)")


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: ``gradcheck`` of the map ``(inputs, v) -> v^T J(inputs)``.

    The first-order gradients are taken with ``create_graph=True``, so this checks the gradient
    of the backward pass against finite differences of it. ``grad_outputs`` default to random
    float64 tensors.

    Example:
        >>> x = brickwork.randn(3, dtype=brickwork.float64, requires_grad=True)
        >>> gradgradcheck(lambda t: t.sigmoid() * t, (x,))
        True

    See: torch.autograd.gradgradcheck.
    """
    from ..factories import randn_like
    from ..tensor import Tensor
    from .engine import grad as autograd_grad
    from .grad_mode import enable_grad

    _refuse_unsupported(check_batched_grad=check_batched_grad,
                        check_fwd_over_rev=check_fwd_over_rev, masked=masked)
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    if not check_rev_over_rev:
        return True
    if grad_outputs is None:
        outs = [o for o in _flat_outputs(func(*inputs))
                if isinstance(o, Tensor) and o.requires_grad]
        grad_outputs = tuple(randn_like(o).requires_grad_() for o in outs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if gen_non_contig_grad_outputs:  # same values, transposed storage
        grad_outputs = tuple(g.detach().T.contiguous().T.requires_grad_(g.requires_grad)
                             if g.ndim >= 2 else g for g in grad_outputs)
    n_in = len(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]

    def first_order(*args):
        with enable_grad():
            outs = [o for o in _flat_outputs(func(*args[:n_in]))
                    if isinstance(o, Tensor) and o.requires_grad]
            grads = autograd_grad(outs, [args[i] for i in diff], list(args[n_in:]),
                                  create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_order, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode)


def _check(func, inputs, eps, atol, rtol, raise_exception, check_grad_dtypes=False) -> bool:
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
                if check_grad_dtypes and a is not None and a.dtype != x.dtype:
                    raise GradcheckError(f"Gradient has dtype mismatch for input {i}: "
                                         f"{a.dtype} instead of {x.dtype}")
                a = np.zeros(flat.size) if a is None else a._host().reshape(-1)
                if not np.allclose(a, numeric, atol=atol, rtol=rtol):
                    if not raise_exception:
                        return False
                    raise GradcheckError(
                        f"Jacobian mismatch for output {out_index} element {k} with respect to "
                        f"input {i},\nnumerical:{numeric}\nanalytical:{a}")
    return True
