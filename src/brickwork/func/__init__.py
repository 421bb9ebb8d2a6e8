"""Function transforms over modules. See: torch.func.

``functional_call`` (a module run with other tensors in place of its parameters and buffers),
``vmap``, and the transforms ``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``,
``jacfwd`` and ``hessian`` (``_transforms.py``: reverse mode underneath, forward-mode products
by the double-vjp trick).
"""
from ..ops._extra_vmap import vmap  # noqa: F401
from ..nn.utils.stateless import func_functional_call as functional_call
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp

__all__ = ["functional_call", "vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd",
           "hessian"]
