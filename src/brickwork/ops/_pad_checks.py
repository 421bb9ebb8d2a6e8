"""PyTorch's checks of reflect, replicate and circular padding (input rank, empty dimensions,
padding larger than the input, wrapping more than once) and its handling of negative amounts
(crops), in the words of its kernels. ``F.pad`` and the padding layers both go through here.
"""
from __future__ import annotations

from ..tensor import Tensor

_UNSUPPORTED = ("Padding size {n} is not supported for {d}D input tensor.\n"
                "Supported combinations for non-constant padding:\n"
                "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")



def _too_small(mode: str, sizes: list, outs: list) -> RuntimeError:
    """PyTorch's "input is too small" error, in the exact wording of each kernel."""
    if len(sizes) == 1:
        return RuntimeError(f"input (W: {sizes[0]}) is too small. Calculated output W: {outs[0]}")
    if len(sizes) == 2:
        gap = " " if mode == "replicate" else ""  # PyTorch's replicate kernel has this space
        return RuntimeError(f"input (H: {sizes[0]}, W: {sizes[1]}{gap}) is too small. "
                            f"Calculated output H: {outs[0]} W: {outs[1]}")
    return RuntimeError(f"input (D: {sizes[0]} H: {sizes[1]}, W: {sizes[2]}) is too small. "
                        f"Calculated output D: {outs[0]} H: {outs[1]} W: {outs[2]}")


def checked_pad(input: Tensor, padding: tuple, mode: str, _pad) -> Tensor:
    """``F.pad(input, padding, mode)`` for reflect/replicate/circular with PyTorch's checks,
    and negative amounts (crops) handled as PyTorch does; ``_pad`` pads without checks."""
    padding = tuple(int(p) for p in padding)
    n, dim = len(padding) // 2, input.dim()
    if len(padding) % 2 or n > dim:
        return _pad(input, padding, mode)  # raises F.pad's own error (length, rank)
    if n not in (1, 2, 3) or dim not in (n + 1, n + 2):
        raise NotImplementedError(_UNSUPPORTED.format(n=len(padding), d=dim))
    shape = list(input.shape)
    axes = list(range(dim - n, dim))  # the padded axes, outermost first
    pairs = [(padding[2 * (dim - 1 - a)], padding[2 * (dim - 1 - a) + 1]) for a in axes]
    if mode == "circular":
        if any(lo > shape[a] or hi > shape[a] for a, (lo, hi) in zip(axes, pairs)):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if any(shape[a] + lo + hi < 0 for a, (lo, hi) in zip(axes, pairs)):
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
        # Circular padding crops first, then wraps around what is left.
        cropped = [s + min(lo, 0) + min(hi, 0) for s, (lo, hi) in zip(shape[dim - n:], pairs)]
        if any(max(lo, 0) > c or max(hi, 0) > c for c, (lo, hi) in zip(cropped, pairs)):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        out = _pad(input, tuple(min(p, 0) for p in padding), "constant")
        return _pad(out, tuple(max(p, 0) for p in padding), mode)
    first = 1 if dim == n + 2 else 0  # only a batch dimension may be empty
    if any(s == 0 for s in shape[first:]):
        raise RuntimeError(f"Expected {n + 1}D or {n + 2}D (batch mode) tensor with possibly 0 "
                           f"batch size and other non-zero dimensions for input, but got: "
                           f"{shape}")
    if mode == "reflect":
        for k in range(n):  # the last dimension first, as PyTorch reports it
            a = dim - 1 - k
            lo, hi = padding[2 * k], padding[2 * k + 1]
            if lo >= shape[a] or hi >= shape[a]:
                raise RuntimeError(f"Argument #{4 + 2 * k}: Padding size should be less than "
                                   f"the corresponding input dimension, but got: padding ({lo}, "
                                   f"{hi}) at dimension {a} of input {shape}")
    outs = [shape[a] + lo + hi for a, (lo, hi) in zip(axes, pairs)]
    if all(o < 1 for o in outs) or any(o < 0 for o in outs):
        raise _too_small(mode, shape[dim - n:], outs)
    # Reflect and replicate index the whole input (a negative amount on one side does not move
    # the mirror on the other): pad the positive amounts, then crop the negative ones.
    out = _pad(input, tuple(max(p, 0) for p in padding), mode)
    if any(p < 0 for p in padding):
        out = _pad(out, tuple(min(p, 0) for p in padding), "constant")
    return out
