"""Function transforms over modules. See: torch.func.

Present: ``functional_call`` (a module run with other tensors in place of its parameters and
buffers) and ``vmap``. The functorch transforms ``grad``, ``vjp``, ``jvp``, ``jacrev``,
``jacfwd`` and ``hessian`` are not here yet: ``brickwork.autograd.grad`` and
``brickwork.autograd.functional`` cover what they compute.
"""
from ..ops._extra_vmap import vmap  # noqa: F401
from ..nn.utils.stateless import func_functional_call as functional_call

__all__ = ["functional_call", "vmap"]
