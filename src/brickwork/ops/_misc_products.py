"""Products and distances composed from differentiable Tensor ops: cross, kron, tensordot,
inner, vdot, chain_matmul, the fused ``add*`` products (baddbmm, addbmm, addmv, addr), cdist,
dist, renorm, cov and corrcoef.

Each is a few matmuls or elementwise ops, so composing them costs nothing measurable and gives
first and second derivatives from those ops.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes as _dt
from ..tensor import Tensor
from ._bf16 import float32_compute
from ._util import broadcast_mismatch, normalize_dim
from .reduction import _torch_type_name


def _type_name(t: Tensor) -> str:
    return _torch_type_name(t._data.dtype)


def _broadcast_shape(sa: tuple, sb: tuple) -> tuple:
    try:
        return tuple(np.broadcast_shapes(sa, sb))
    except ValueError:
        raise RuntimeError(broadcast_mismatch(sa, sb)) from None


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (broadcasting the other dims).

    Without ``dim`` PyTorch uses the first dim of size 3 and warns that this is deprecated.
    See: torch.cross.
    """
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input)} but found "
                           f"{_type_name(other)}")
    if dim is not None and input._data.ndim != other._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    shape = _broadcast_shape(input._data.shape, other._data.shape)
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\n"
                      "Please either pass the dim explicitly or simply use "
                      "torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning,
                      stacklevel=2)
        if 3 not in shape:
            raise RuntimeError("no dimension of size 3 in input")
        d = shape.index(3)
    else:
        d = normalize_dim(dim, len(shape))
        sa = input._data.shape[d - len(shape) + input._data.ndim] \
            if d - len(shape) + input._data.ndim >= 0 else 1
        sb = other._data.shape[d - len(shape) + other._data.ndim] \
            if d - len(shape) + other._data.ndim >= 0 else 1
        if sa != 3 or sb != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. "
                               f"Got {sa} and {sb}")
    a, b = input.expand(shape), other.expand(shape)
    a0, a1, a2 = (a.narrow(d, i, 1) for i in range(3))
    b0, b1, b2 = (b.narrow(d, i, 1) for i in range(3))
    from .join import cat

    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: every element of ``input`` times the whole of ``other``.

    See: torch.kron.
    """
    n = max(input._data.ndim, other._data.ndim)
    sa = (1,) * (n - input._data.ndim) + tuple(input._data.shape)
    sb = (1,) * (n - other._data.ndim) + tuple(other._data.shape)
    # Interleave the dims, (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...), then merge each pair.
    a = input.reshape([s for k in sa for s in (k, 1)])
    b = other.reshape([s for k in sb for s in (1, k)])
    return (a * b).reshape([x * y for x, y in zip(sa, sb)])


def _tensordot_dims(dims, na: int, nb: int):
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(na, nb):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(na - dims, na)), list(range(dims))
    if len(dims) != 2:
        raise RuntimeError("tensordot expects dims to be a pair of lists or an int")
    da, db = ([x] if isinstance(x, int) else list(x) for x in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    return [normalize_dim(x, na) for x in da], [normalize_dim(x, nb) for x in db]


@float32_compute
def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum of products over the dims ``dims`` names (an int: the last ``dims`` of ``a`` with
    the first of ``b``; or two lists of dims). See: torch.tensordot.
    """
    sa, sb = a._data.shape, b._data.shape
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    da, db = _tensordot_dims(dims, len(sa), len(sb))
    for x, y in zip(da, db):
        if sa[x] != sb[y] and sa[x] != 1 and sb[y] != 1:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{sa[x]} in dim {x} and second has size {sb[y]} in dim {y}")
    free_a = [i for i in range(len(sa)) if i not in da]
    free_b = [i for i in range(len(sb)) if i not in db]
    k = int(np.prod([max(sa[x], sb[y]) for x, y in zip(da, db)]))
    ka = [sa[x] if sa[x] == sb[y] else max(sa[x], sb[y]) for x, y in zip(da, db)]
    # A size-1 contracted dim against a larger one broadcasts, as PyTorch allows.
    at = a.permute(free_a + da).expand([sa[i] for i in free_a] + ka)
    bt = b.permute(db + free_b).expand(ka + [sb[i] for i in free_b])
    fa = int(np.prod([sa[i] for i in free_a]))
    fb = int(np.prod([sb[i] for i in free_b]))
    out = at.reshape(fa, k).matmul(bt.reshape(k, fb))
    return out.reshape([sa[i] for i in free_a] + [sb[i] for i in free_b])


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum of products over the last dims (a product with a 0-d operand). See: torch.inner."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    sa, sb = input._data.shape, other._data.shape
    if sa[-1] != sb[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(sa)} and {list(sb)}")
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product of two 1-D tensors (the first conjugated; real here). See: torch.vdot."""
    a, b = input._data, other._data
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype != b.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_type_name(input)} and {_type_name(other)}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    return input.conj().dot(other)  # conj: input itself for real tensors


def chain_matmul(*matrices: Tensor) -> Tensor:
    """Product of 2-D matrices, left to right (deprecated in PyTorch). See: torch.chain_matmul.
    """
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m._data.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m._data.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    for i in range(len(matrices) - 1):
        sa, sb = matrices[i]._data.shape, matrices[i + 1]._data.shape
        if sa[1] != sb[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(sa)} and "
                               f"{list(sb)} cannot be multiplied")
    out = matrices[0]
    for m in matrices[1:]:
        out = out.mm(m)
    return out


def _scaled_sum(input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * product``; with ``beta == 0`` the input is not read (NaN in it
    does not spread), yet it still gets a (zero) gradient, as in PyTorch."""
    if input._data.dtype.kind in "iu":  # PyTorch casts the scalars to the integer type
        beta, alpha = int(beta), int(alpha)
    out = product if alpha == 1 else product * alpha
    if beta == 0:
        return out + input.where(input.new_zeros((), dtype=np.bool_), input.new_zeros(()))
    return out + (input if beta == 1 else input * beta)


def _check_expand(input: Tensor, target: list) -> None:
    """PyTorch's error for ``input`` that cannot expand to the product's shape (checked from
    the last dim, as ``expand`` does)."""
    shape, n = input._data.shape, len(target)
    if len(shape) > n:
        raise RuntimeError(f"expand({input.type()}{{{list(shape)}}}, "
                           f"size={target}): the number of sizes provided ({n}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({len(shape)})")
    for i in range(1, len(shape) + 1):
        if shape[-i] != 1 and shape[-i] != target[-i]:
            raise RuntimeError(f"The expanded size of the tensor ({target[-i]}) must match the "
                               f"existing size ({shape[-i]}) at non-singleton dimension "
                               f"{n - i}.  Target sizes: {target}.  Tensor sizes: "
                               f"{list(shape)}")


def _dim(t: Tensor, i: int) -> int:
    shape = t._data.shape
    return shape[i] if -len(shape) <= i < len(shape) else 1


@float32_compute
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` per batch. See: torch.baddbmm."""
    _check_expand(input, [_dim(batch1, 0), _dim(batch1, 1), _dim(batch2, 2)])
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t._data.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    (nb, n, m), (nb2, m2, p) = batch1._data.shape, batch2._data.shape
    if (nb2, m2) != (nb, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{nb}, {m}] but got: [{nb2}, {m2}].")
    if batch1._data.dtype != batch2._data.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(batch1)} but found "
                           f"{_type_name(batch2)}")
    if input._data.dtype != batch1._data.dtype:
        raise RuntimeError(f"Input dtypes must be the same, got: input {input._data.dtype}, "
                           f"batch1: {batch1._data.dtype}, batch2: {batch2._data.dtype}"
                           .replace("float32", "float").replace("float64", "double"))
    return _scaled_sum(input, batch1.bmm(batch2), beta, alpha).expand(nb, n, p)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``. See: torch.addbmm."""
    _check_expand(input, [_dim(batch1, 1), _dim(batch2, 2)])
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t._data.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    (nb, n, m), (nb2, m2, p) = batch1._data.shape, batch2._data.shape
    if nb != nb2:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {nb} and "
                           f"{nb2}")
    if m != m2:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({n}x{m} and {m2}x{p})")
    for other in (batch1, batch2):
        if input._data.dtype != other._data.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                               f"{_type_name(input)} and {_type_name(other)}")
    # One matmul over the joined batch: (n, b*m) @ (b*m, p) is the sum of the batch products.
    prod = batch1.permute(1, 0, 2).reshape(n, nb * m).mm(batch2.reshape(nb * m, p))
    return _scaled_sum(input, prod, beta, alpha).expand(n, p)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``. See: torch.addmv."""
    dims = (input._data.ndim, mat._data.ndim, vec._data.ndim)
    if dims[1] != 2 or dims[2] != 1 or dims[0] > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {dims[0]}, {dims[1]}, "
                           f"{dims[2]}")
    (n, m), k = mat._data.shape, vec._data.shape[0]
    if m != k or (input._data.size != 1 and input._data.shape[0] != n):
        got = input._data.shape[0] if input._data.ndim else 1
        raise RuntimeError(f"size mismatch, got input ({got}), mat ({n}x{m}), vec ({k})")
    types = (input, mat, vec)
    if len({t._data.dtype for t in types}) > 1:
        a, b, c = (_type_name(t) for t in types)
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {a}, {b}, "
                           f"and {c}")
    return _scaled_sum(input, mat.mv(vec), beta, alpha).expand(n)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (logical and/or for bool). See: torch.addr.
    """
    for name, t in (("vec1", vec1), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    target = [vec1._data.shape[0], vec2._data.shape[0]]
    _check_expand(input, target)
    kinds = {t._data.dtype.kind for t in (input, vec1, vec2)}
    if kinds == {"b"}:  # PyTorch: (beta and input) or (alpha and vec1 and vec2)
        prod = vec1.outer(vec2) if alpha else vec1.outer(vec2).logical_and(
            vec1.new_zeros((), dtype=np.bool_))
        keep = input if beta else input.logical_and(input.new_zeros((), dtype=np.bool_))
        return keep.logical_or(prod).expand(target)
    if input._data.dtype.kind in "iub":
        for name, v in (("beta", beta), ("alpha", alpha)):
            if isinstance(v, float):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a "
                                   f"floating point number.")
    return _scaled_sum(input, vec1.outer(vec2), beta, alpha).expand(target)


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """p-norm distance between each row of ``x1`` and each row of ``x2`` (batched).

    ``compute_mode`` picks, for ``p == 2``, the matrix-product form
    ``sqrt(|a|^2 + |b|^2 - 2 a.b)`` (faster, less exact), as PyTorch does: always, never, or
    when either input has more than 25 rows. See: torch.cdist.
    """
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, t in (("X1", x1), ("X2", x2)):
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t._data.ndim}D")
    for name, t in (("X1", x1), ("X2", x2)):
        if t.dtype is _dt.bfloat16:  # PyTorch has no bfloat16 kernel for cdist
            raise NotImplementedError("\"cdist\" not implemented for 'BFloat16'")
        if t._data.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_type_name(t)}")
    if x1._data.dtype != x2._data.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x1)} but found {_type_name(x2)}")
    c1, c2 = x1._data.shape[-1], x2._data.shape[-1]
    if c1 != c2:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {c1} X2: {c2}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    r1, r2 = x1._data.shape[-2], x2._data.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == _CDIST_MODES[0] and (r1 > 25 or r2 > 25)))
    if use_mm:
        n1 = (x1 * x1).sum(-1, keepdim=True)
        n2 = (x2 * x2).sum(-1, keepdim=True)
        sq = n1 - 2 * x1.matmul(x2.transpose(-2, -1)) + n2.transpose(-2, -1)
        return sq.clamp_min(1e-30).sqrt()
    delta = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == float("inf"):
        # PyTorch gives every tied largest difference the whole gradient (a max would split
        # it): the value is the detached max, the gradient flows through the tied elements.
        a = delta.abs()
        top = a.detach().amax(-1, keepdim=True)
        tied = a.detach() == top
        return top.squeeze(-1) + ((a - a.detach()) * tied).sum(-1)
    if 0 < p < 1:
        # |d|^p has an infinite slope at d == 0, where PyTorch's gradient is 0: mask those
        # elements out (through where, so no inf * 0 reaches the gradient).
        a = delta.abs()
        zero = a == 0
        powered = a.where(~zero, a.new_ones(())).pow(p).where(~zero, a.new_zeros(()))
        total = powered.sum(-1)
        empty = total == 0
        return total.where(~empty, total.new_ones(())).pow(1 / p).where(~empty,
                                                                        total.new_zeros(()))
    from .linalg import vector_norm

    return vector_norm(delta, p, dim=-1)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input - other``. See: torch.dist."""
    for t in (input, other):
        if t._data.dtype.kind not in "fc":
            raise RuntimeError(f"norm(): input dtype should be either floating point or "
                               f"complex. Got {_type_name(t)} instead.")
    _broadcast_shape(input._data.shape, other._data.shape)
    from .linalg import vector_norm

    return vector_norm(input - other, p)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Scale each slice along ``dim`` whose p-norm exceeds ``maxnorm`` down to ``maxnorm``.

    See: torch.renorm.
    """
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {_type_name(input)}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if input._data.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got "
                           f"{input._data.ndim} dimensions")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = normalize_dim(dim, input._data.ndim)
    others = [i for i in range(input._data.ndim) if i != d]
    from .linalg import vector_norm

    norm = vector_norm(input, p, dim=others, keepdim=True)
    # PyTorch's factor, 1e-7 included, so results agree near the threshold.
    factor = (maxnorm / (norm + 1e-7)).where(norm > maxnorm, norm.new_ones(()))
    return input * factor


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in the columns),
    optionally with frequency and importance weights. See: torch.cov.
    """
    return _cov(input, correction, fweights, aweights, "cov")


def _cov(input: Tensor, correction, fweights, aweights, op: str) -> Tensor:
    if input._data.ndim > 2:
        raise RuntimeError(f"{op}(): expected input to have two or fewer dimensions but got an "
                           f"input with {input._data.ndim} dimensions")
    x = input.reshape(1, -1) if input._data.ndim < 2 else input
    n_obs = x._data.shape[1]
    w = None
    if fweights is not None:
        _check_weights("fweights", fweights, n_obs, "iu", "integral")
        w = fweights
    if aweights is not None:
        _check_weights("aweights", aweights, n_obs, "f", "floating point")
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = n_obs
        avg = x.sum(1) / w_sum
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
    if w is not None and correction != 0 and aweights is not None:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if float(norm.detach() if isinstance(norm, Tensor) else norm) <= 0:  # (no float() warning)
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = norm * 0
    xc = x - avg.unsqueeze(1)
    c = xc.mm((xc if w is None else xc * w).t().conj())  # conj: complex rows (PyTorch)
    return (c / norm).squeeze()


def _check_weights(name: str, w: Tensor, n_obs: int, kinds: str, kind_name: str) -> None:
    if w._data.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got "
                           f"{name} with {w._data.ndim} dimensions")
    if w._data.dtype.kind not in kinds:
        raise RuntimeError(f"cov(): expected {name} to have {kind_name} dtype but got {name} "
                           f"with {_type_name(w)} dtype")
    if w._data.size != n_obs:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are "
                           f"observations in the input but got {w._data.size} != {n_obs}")
    if w._data.size and float(w._data.min()) < 0:
        raise RuntimeError(f"cov(): {name} cannot be negative")


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows of ``input``. See: torch.corrcoef."""
    c = _cov(input, 1, None, None, "corrcoef")
    if c._data.ndim == 0:
        return c / c
    std = c.diagonal().sqrt()
    c = c / std.unsqueeze(1)
    c = c / std.unsqueeze(0)
    if c.is_complex():  # PyTorch clips the real and imaginary parts separately
        from .complex_ops import complex as _complex

        return _complex(c.real.clamp(-1, 1), c.imag.clamp(-1, 1))
    return c.clamp(-1, 1)


__all__ = ["cross", "kron", "tensordot", "inner", "vdot", "chain_matmul", "baddbmm", "addbmm",
           "addmv", "addr", "cdist", "dist", "renorm", "cov", "corrcoef"]
