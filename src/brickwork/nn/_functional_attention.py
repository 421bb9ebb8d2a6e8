"""Attention in functional form: ``scaled_dot_product_attention`` and
``multi_head_attention_forward`` (the computation behind ``nn.MultiheadAttention``).

Built from differentiable ops (matmul, softmax, masked_fill, dropout), so gradients of every
order come from those ops' backward rules.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes, factories
from ..ops.activation import softmax
from ..ops.activation_extra import dropout
from ..ops.conv import pad
from ..ops.join import cat
from ..ops.linalg import bmm, matmul
from ..ops.linear import linear
from ..ops._misc_products import baddbmm
from ..tensor import Tensor
from ._sdpa_kernel import SDPA

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _check_mask_dtype(attn_mask: Tensor, query: Tensor) -> None:
    # PyTorch's rule (checked on 2.13): bool, float32, or the query's own dtype
    ok = attn_mask.dtype in (dtypes.bool, dtypes.float32, query.dtype)
    if not ok:
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
            f"attn_mask.dtype: {attn_mask.dtype} and  query.dtype: {query.dtype} instead.")


def _masked_softmax(scores: Tensor, blocked: Tensor | None) -> Tensor:
    """Softmax over the last dim; a row whose every key is blocked gives zeros (not NaN).

    ``blocked`` is True where a score is -inf. PyTorch's CPU kernel returns zeros for such rows;
    setting their scores to 0 before the softmax and the probabilities to 0 after keeps the
    gradient finite (a softmax over an all -inf row would give NaN in both directions).
    """
    if blocked is None:
        return softmax(scores, dim=-1)
    dead = blocked.all(dim=-1, keepdim=True)
    if not bool(dead.any()):  # the common case: spare two full-size masked_fills
        return softmax(scores, dim=-1)
    probs = softmax(scores.masked_fill(dead, 0.0), dim=-1)
    return probs.masked_fill(dead, 0.0)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, with optional dropout on the weights.

    Args:
        query: ``(..., L, E)``; key: ``(..., S, E)``; value: ``(..., S, Ev)``. Leading dims
            broadcast.
        attn_mask: broadcastable to ``(..., L, S)``: bool (True = may attend) or float (added to
            the scores).
        dropout_p: probability of zeroing an attention weight (survivors scaled by 1/(1-p)).
        is_causal: attend only to keys at or before the query's position (top-left aligned).
            With ``attn_mask`` too, both apply (PyTorch's CPU kernel does the same when
            ``dropout_p == 0``; with dropout it raises, and so does this).
        scale: the score factor; default ``1/sqrt(E)``.
        enable_gqa: let key/value have fewer heads (dim -3) than query, each shared by
            ``Hq/Hkv`` consecutive query heads.

    Returns:
        ``(..., L, Ev)``. A query row with every key masked gives zeros, as PyTorch's CPU path.

    Example:
        >>> q = brickwork.randn(2, 4, 5, 8)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        brickwork.Size([2, 4, 5, 8])

    See: torch.nn.functional.scaled_dot_product_attention.
    """
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], "
                         f"got {dropout_p}")
    if attn_mask is not None and is_causal and (
            attn_mask.requires_grad or not _flash_shapes(query, key, value, dropout_p,
                                                         enable_gqa)):
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            "scaled_dot_product_attention: query, key and value must have at least 2 dims, got "
            f"{query.dim()}, {key.dim()} and {value.dim()}")
    if enable_gqa and query.dim() >= 3 and key.dim() >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk != hv or hq % hk != 0:
            raise RuntimeError(
                "scaled_dot_product_attention with enable_gqa=True: the number of query heads "
                f"({hq}) must be a multiple of the number of key/value heads (key {hk}, "
                f"value {hv}), and key and value must have the same number")
        if hq != hk:
            key = key.repeat_interleave(hq // hk, dim=-3)
            value = value.repeat_interleave(hq // hk, dim=-3)
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if attn_mask is not None:
        _check_mask_dtype(attn_mask, query)
    if dropout_p == 0.0 and _fusable(query, key, value, attn_mask):
        return SDPA.apply(query, key, value, attn_mask, is_causal, factor)
    return attention_ops(query, key, value, attn_mask, is_causal, factor, dropout_p)


def _flash_shapes(query: Tensor, key: Tensor, value: Tensor, dropout_p: float,
                  enable_gqa: bool) -> bool:
    """Whether PyTorch's CPU flash kernel takes these inputs (4-d, one head dim, equal batch
    and heads, or grouped heads with ``enable_gqa``, no dropout; nor a mask that needs a
    gradient): only that kernel applies a mask and ``is_causal`` together; its math fallback
    refuses the pair."""
    if dropout_p > 0.0 or not query.dim() == key.dim() == value.dim() == 4:
        return False
    (b, h, _, e), (bk, hk, _, ek), (bv, hv, _, ev) = query.shape, key.shape, value.shape
    heads = hk == hv and (h == hk or (enable_gqa and h % hk == 0))
    return b == bk == bv and e == ek == ev and heads


def _fusable(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None) -> bool:
    """Whether the one-op attention (``_sdpa_kernel.py``) takes these inputs: real float32 or
    float64, equal leading dims (no broadcasting between q, k and v), nothing empty, and a mask
    that needs no gradient and broadcasts to the scores without enlarging them."""
    dt = query._data.dtype
    if dt.name not in ("float32", "float64") or key._data.dtype != dt \
            or value._data.dtype != dt:
        return False
    lead = tuple(query.shape[:-2])
    if tuple(key.shape[:-2]) != lead or tuple(value.shape[:-2]) != lead \
            or 0 in query.shape or 0 in key.shape or 0 in value.shape:
        return False
    if attn_mask is None:
        return True
    scores = lead + (query.shape[-2], key.shape[-2])
    if attn_mask.requires_grad or attn_mask.dim() > len(scores):
        return False
    try:
        return np.broadcast_shapes(tuple(attn_mask.shape), scores) == scores
    except ValueError:
        return False


def attention_ops(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None,
                  is_causal: bool, factor: float, dropout_p: float = 0.0) -> Tensor:
    """Attention op by op (matmul, masked_fill, softmax, dropout, matmul): the path for what
    the fused op does not take, and its composite for higher-order gradients."""
    L, S = query.shape[-2], key.shape[-2]
    # scaling the (L, E) query costs less than scaling the (L, S) scores when E < S
    q_scaled = query * factor if query.shape[-1] <= S else None
    scores = (matmul(q_scaled, key.transpose(-2, -1)) if q_scaled is not None
              else matmul(query, key.transpose(-2, -1)) * factor)
    # causal and bool masks merge into one "blocked" mask, so one masked_fill does both
    blocked = None  # True where a score is -inf (a masked-out key)
    if is_causal:
        blocked = ~factories.ones((L, S), dtype=dtypes.bool, device=query.device).tril()
    if attn_mask is not None:
        if attn_mask.dtype == dtypes.bool:
            blocked = ~attn_mask if blocked is None else blocked | ~attn_mask
    if blocked is not None:
        scores = scores.masked_fill(blocked, float("-inf"))
    if attn_mask is not None and attn_mask.dtype != dtypes.bool:
        scores = scores + attn_mask.to(scores.dtype)  # the output keeps the query's dtype
        blocked = scores.detach() == float("-inf")  # the float mask may hold -inf too
    weights = _masked_softmax(scores, blocked)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, value)


def _canonical_mask(mask: Tensor | None, name: str, target_dtype) -> Tensor | None:
    """A bool mask (True = blocked, MHA's convention) becomes an additive float mask."""
    if mask is None:
        return None
    if mask.dtype == dtypes.bool:
        zeros = factories.zeros(mask.shape, dtype=target_dtype, device=mask.device)
        return zeros.masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _mha_is_batched(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                    attn_mask: Tensor | None, num_heads: int) -> bool:
    """True for ``(L, N, E)`` inputs, False for unbatched ``(L, E)``; checks the masks' dims."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError(
                "For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D but "
                f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError(
                "For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                f"found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key` and `value` to be 2-D but found "
                f"{key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError(
                "For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D but "
                f"found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError(
                    "For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D "
                    f"but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                         f"{tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.dim()}-D query tensor")


def _in_projection(query: Tensor, key: Tensor, value: Tensor, w: Tensor | None, b: Tensor | None,
                   separate: tuple | None) -> tuple:
    """q, k, v projections; the packed weight is applied once when inputs are shared (as torch)."""
    E = query.shape[-1]
    if separate is None:
        if key is value and query is key:  # self-attention: one matmul for all three
            return linear(query, w, b).chunk(3, dim=-1)
        w_q, w_k, w_v = w.chunk(3)
        b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
        if key is value:
            w_kv = w[E:]
            b_kv = b[E:] if b is not None else None
            k, v = linear(key, w_kv, b_kv).chunk(2, dim=-1)
            return linear(query, w_q, b_q), k, v
    else:
        w_q, w_k, w_v = separate
        b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
    return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple:
    """Multi-head attention on sequence-first inputs ``(L, N, E)`` (or unbatched ``(L, E)``).

    Masks: ``key_padding_mask`` ``(N, S)`` and ``attn_mask`` ``(L, S)`` or ``(N*num_heads, L, S)``;
    bool means True = *not* allowed to attend (the opposite of ``scaled_dot_product_attention``),
    float is added to the scores.

    Returns:
        ``(output (L, N, E), weights)``; weights are ``(N, L, S)`` averaged over heads, or
        ``(N, num_heads, L, S)`` with ``average_attn_weights=False``, or None when
        ``need_weights=False``.

    See: torch.nn.functional.multi_head_attention_forward.
    """
    is_batched = _mha_is_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
            "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the SDPA call below applies the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", query.dtype)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask below carries the padding; the hint no longer fits
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, "
                                 "k_proj_weight or v_proj_weight is None")
        q, k, v = _in_projection(query, key, value, None, in_proj_bias,
                                 (q_proj_weight, k_proj_weight, v_proj_weight))
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, None)

    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")

    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads_first(k, static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads_first(v, static_v, "static_v", bsz, num_heads, head_dim)
    if add_zero_attn:
        zero_attn = factories.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k = cat([k, zero_attn], dim=1)
        v = cat([v, zero_attn.to(v.dtype)], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    if need_weights:
        # explicit weights, as PyTorch computes them (a fully masked row gives NaN here, as there)
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        if attn_mask is not None:
            weights = baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
        else:
            weights = bmm(q_scaled, k.transpose(-2, -1))
        weights = softmax(weights, dim=-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = bmm(weights, v)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not is_batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights

    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not is_batched:
        out = out.squeeze(1)
    return out, None


def _heads_first(x: Tensor, static: Tensor | None, name: str, bsz: int, num_heads: int,
                 head_dim: int) -> Tensor:
    """``(S, N, E)`` -> ``(N*heads, S, head_dim)``, or the caller's precomputed ``static_k/v``."""
    if static is None:
        return x.reshape(x.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.shape[0] != bsz * num_heads:
        raise AssertionError(f"expecting {name}.size(0) of {bsz * num_heads}, but got "
                             f"{static.shape[0]}")
    if static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    return static
