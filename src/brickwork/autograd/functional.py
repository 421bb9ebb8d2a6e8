"""Derivatives of whole functions: ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

Everything is reverse mode on top of ``autograd.grad``; forward-mode products (``jvp``,
``hvp``) use the double-backward trick: the gradient of a vector-Jacobian product with respect
to its (dummy) vector is a Jacobian-vector product. Signatures, results and error messages are
PyTorch's. brickwork has no forward-mode AD, so ``strategy="forward-mode"`` is refused by name;
``vectorize=True`` is accepted and computes the same result row by row.

See: torch.autograd.functional.
"""
from __future__ import annotations

from .engine import grad as _grad
from .grad_mode import STATE, enable_grad, set_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


# -- argument handling -------------------------------------------------------------------------
def _as_tuple(inp, arg_name: str, fn_name: str):
    """``(was_tuple, tuple_of_tensors)``, with PyTorch's TypeError for anything else."""
    Tensor = _tensor_cls()
    is_tuple = isinstance(inp, tuple)
    inp = inp if is_tuple else (inp,)
    for i, el in enumerate(inp):
        if not isinstance(el, Tensor):
            where = f"the value at index {i} has type {type(el)}" if is_tuple \
                else f"the given {arg_name} has type {type(el)}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {where}.")
    return is_tuple, inp


def _unpack(res, to_unpack):
    """Undo ``_as_tuple`` on results (one flag, or two for nested output/input tuples)."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _preprocess(inputs, create_graph: bool, need_graph: bool) -> tuple:
    # Always new tensor objects, so that inputs passed in are told apart from the same tensors
    # captured by the user's function; differentiable (a view) when the caller wants a graph.
    return tuple(inp.view_as(inp) if create_graph and inp.requires_grad
                 else inp.detach().requires_grad_(need_graph) for inp in inputs)


def _postprocess(values, create_graph: bool):
    """Drop the history of results unless the caller asked for a graph."""
    Tensor = _tensor_cls()
    if values and isinstance(values[0], Tensor):
        return values if create_graph else tuple(v.detach() for v in values)
    return tuple(_postprocess(v, create_graph) for v in values)


def _validate_v(v, other, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


_STRICT_NO_GRAD = {
    "hessian": ("The hessian of the user-provided function with respect to input {i} is "
                "independent of the input. This is not allowed in strict mode. You should "
                "ensure that your function is thrice differentiable and that the hessian "
                "depends on the inputs."),
    "jacobian": ("While computing the hessian, found that the jacobian of the user-provided "
                 "function with respect to input {i} is independent of the input. This is not "
                 "allowed in strict mode. You should ensure that your function is twice "
                 "differentiable and that the jacobian depends on the inputs (this would be "
                 "violated by a linear function for example)."),
    "grad_inputs": ("The gradient with respect to input {i} is independent of the inputs of "
                    "the user-provided function. This is not allowed in strict mode."),
    "outputs": ("Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."),
}


def _check_requires_grad(values, kind: str, strict: bool) -> None:
    if not strict:
        return
    for i, v in enumerate(values):
        if v is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not v.requires_grad:
            raise RuntimeError(_STRICT_NO_GRAD[kind].format(i=i))


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` that skips outputs without a graph and allows unused inputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return _grad([o for o, _ in pairs], inputs, [g for _, g in pairs], allow_unused=True,
                 create_graph=create_graph, retain_graph=retain_graph)


_ZERO_MESSAGES = {
    "back": "The output of the user-provided function is independent of input {i}. This is "
            "not allowed in strict mode.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the "
                  "grad_outputs when using the double backward trick to compute forward mode "
                  "gradients. This is not allowed in strict mode.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}. "
                   "This is not allowed in strict mode.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry "
                         "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                         "prevents from using the double backward trick to replace forward "
                         "mode AD.",
}


def _fill_in_zeros(grads, refs, strict: bool, create_graph: bool, stage: str) -> tuple:
    """Replace missing gradients by zeros, or raise in strict mode naming the stage."""
    from ..factories import zeros_like

    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_ZERO_MESSAGES[stage].format(i=i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        res.append(g)
    return tuple(res)


def _v_or_scalar(v, refs, is_refs_tuple, create_graph, fn_name, what):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _preprocess(v, create_graph, need_graph=False)
        _validate_v(v, refs, is_refs_tuple)
        return v
    if len(refs) != 1 or refs[0].nelement() != 1:
        raise RuntimeError(f"The vector v can only be None if {what} a single Tensor with a "
                           "single element.")
    return None


_USER_INPUT = "the input to the user-provided function is"


# -- the public functions ------------------------------------------------------------------------
def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: a vector-Jacobian product.

    Example:
        >>> out, g = vjp(lambda x: (x ** 2).sum(), brickwork.tensor([1., 2.]))
        >>> g
        tensor([2., 4.])

    See: torch.autograd.functional.vjp.
    """
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "vjp")
        _check_requires_grad(outputs, "outputs", strict)
        v = _v_or_scalar(v, outputs, is_outputs_tuple, create_graph, "vjp",
                         "the user-provided function returns")
    with set_grad_enabled(True if create_graph else STATE.enabled):
        res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "back")
    return _finish(outputs, is_outputs_tuple, res, is_inputs_tuple, create_graph)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: a Jacobian-vector product, by the double-backward trick.

    See: torch.autograd.functional.jvp.
    """
    from ..factories import zeros_like

    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        v = _v_or_scalar(v, inputs, is_inputs_tuple, create_graph, "jvp", _USER_INPUT)
        is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                              "outputs of the user-provided function", "jvp")
        _check_requires_grad(outputs, "outputs", strict)
        # The vjp is linear in its vector, so the dummy's value never shows in the result.
        dummies = tuple(zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, dummies, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict)
    with set_grad_enabled(True if create_graph else STATE.enabled):
        res = _autograd_grad(grad_inputs, dummies, v, create_graph=create_graph)
        res = _fill_in_zeros(res, outputs, strict, create_graph, "back_trick")
    return _finish(outputs, is_outputs_tuple, res, is_outputs_tuple, create_graph)


def _refuse_forward_mode(strategy: str, fn: str) -> None:
    if strategy == "forward-mode":
        raise NotImplementedError(f"brickwork.autograd.functional.{fn}: strategy="
                                  "'forward-mode' is not supported (brickwork has no "
                                  "forward-mode AD); use 'reverse-mode', which gives the same "
                                  "result")
    if strategy != "reverse-mode":
        raise ValueError(f'Expected strategy to be either "forward-mode" or "reverse-mode", got '
                         f"{strategy!r}.")


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: one ``(out.shape + in.shape)`` tensor per pair.

    ``vectorize=True`` gives the same result (computed one output element at a time).

    Example:
        >>> jacobian(lambda x: x ** 2, brickwork.tensor([1., 2.]))
        tensor([[2., 0.],
                [0., 4.]])

    See: torch.autograd.functional.jacobian.
    """
    from ..factories import zeros_like
    from ..ops.join import stack

    _refuse_forward_mode(strategy, "jacobian")
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _preprocess(inputs, create_graph, need_graph=True)
        is_outputs_tuple, outputs = _as_tuple(
            func(*inputs), "outputs of the user-provided function", "jacobian")
        _check_requires_grad(outputs, "outputs", strict)
        if vectorize and strict:
            raise RuntimeError("brickwork.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        jac = []
        for i, out in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = out.reshape(-1)
            for j in range(out.nelement()):
                vj = _autograd_grad((flat[j],), inputs, retain_graph=True,
                                    create_graph=create_graph)
                for k, (row, g, inp) in enumerate(zip(rows, vj, inputs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {k}. This is not allowed "
                                               "in strict mode.")
                        g = zeros_like(inp)
                    elif strict and create_graph and not g.requires_grad:
                        raise RuntimeError(f"The jacobian of the user-provided function is "
                                           f"independent of input {i}. This is not allowed in "
                                           "strict mode when create_graph=True.")
                    row.append(g)
            jac.append(tuple(
                (stack(row, 0) if row else inputs[k].new_zeros((0,) + tuple(inputs[k].shape)))
                .view(tuple(out.shape) + tuple(inputs[k].shape))
                for k, row in enumerate(rows)))
        jac = _postprocess(tuple(jac), create_graph)
        return _unpack(jac, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient.

    See: torch.autograd.functional.hessian.
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    _refuse_forward_mode(outer_jacobian_strategy, "hessian")
    Tensor = _tensor_cls()

    def single_output(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple or not isinstance(out, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.nelement() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        jac = jacobian(single_output, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize)
    return _unpack(res, (is_inputs_tuple, is_inputs_tuple))


def _scalar_output(func, inputs, fn_name: str, strict: bool):
    is_outputs_tuple, outputs = _as_tuple(func(*inputs),
                                          "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict)
    if is_outputs_tuple or not isinstance(outputs[0], _tensor_cls()):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")
    return is_outputs_tuple, outputs


def _vector_hessian_setup(func, inputs, v, create_graph, strict, fn_name):
    """What vhp and hvp share: tupled inputs and v, the scalar output, and its gradient
    (kept in the graph)."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    inputs = _preprocess(inputs, create_graph, need_graph=True)
    v = _v_or_scalar(v, inputs, is_inputs_tuple, create_graph, fn_name, _USER_INPUT)
    is_outputs_tuple, outputs = _scalar_output(func, inputs, fn_name, strict)
    jac = _autograd_grad(outputs, inputs, create_graph=True)
    _check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac


def _finish(outputs, is_outputs_tuple, res, is_res_tuple, create_graph):
    return (_unpack(_postprocess(outputs, create_graph), is_outputs_tuple),
            _unpack(_postprocess(res, create_graph), is_res_tuple))


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar function.

    See: torch.autograd.functional.vhp.
    """
    with enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _vector_hessian_setup(
            func, inputs, v, create_graph, strict, "vhp")
    with set_grad_enabled(True if create_graph else STATE.enabled):
        res = _autograd_grad(jac, inputs, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back")
    return _finish(outputs, is_outputs_tuple, res, is_inputs_tuple, create_graph)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar function, by the double-backward trick.

    See: torch.autograd.functional.hvp.
    """
    from ..factories import zeros_like

    with enable_grad():
        is_inputs_tuple, inputs, v, is_outputs_tuple, outputs, jac = _vector_hessian_setup(
            func, inputs, v, create_graph, strict, "hvp")
        dummies = tuple(zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, dummies, create_graph=True)
        _check_requires_grad(jac, "hessian", strict)
    with set_grad_enabled(True if create_graph else STATE.enabled):
        res = _autograd_grad(double_back, dummies, v, create_graph=create_graph)
        res = _fill_in_zeros(res, inputs, strict, create_graph, "double_back_trick")
    return _finish(outputs, is_outputs_tuple, res, is_inputs_tuple, create_graph)
