"""3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3), float32 only.

Each 2x2 block of outputs reads a 4x4 tile of the input (tiles two apart, overlapping by two).
With the tile and the kernel transformed, ``V = B^T d B`` and ``U = G w G^T`` (4x4 each), the
block is ``A^T (U * V) A``: 16 multiplications per block and channel pair instead of 36. Summed
over input channels, the 16 products are 16 GEMMs of (O, C) by (C, tiles), 4/9 of the direct
convolution's work, and no padding positions are computed.

The transforms are linear maps of the 16 tile values, so each is one small GEMM over all tiles
at once (``kron(B^T, B^T)`` is 16x16) instead of dozens of strided elementwise passes. The two
gradients are the adjoints of the same maps: with ``Gt = A g A^T`` of the output gradient's 2x2
blocks, the weight gradient is ``G^T (sum over tiles of Gt * V) G`` and the input gradient's
tiles are ``B (U^T Gt) B^T``, added back where the tiles overlap. The weight gradient makes
the transformed input tiles again (one gather and one 16x16 GEMM) rather than keeping them from
the forward, where they would hold four times the input's memory.

The transforms' coefficients are 0, +-1 and +-1/2: the float32 error stays within a few times
the direct convolution's. Float64 inputs keep the direct kernels.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C, 3, 3); ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

import numpy as np

from ._util import xp_of

_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
_G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]], dtype=np.float64)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)
# The transforms of a row-major flattened tile: vec(P X Q^T) = kron(P, Q) vec(X).
_B16 = np.kron(_BT, _BT)  # (16, 16): input tile -> V
_G16 = np.kron(_G, _G)  # (16, 9): kernel -> U
_A16 = np.kron(_AT, _AT)  # (4, 16): products -> 2x2 output block


def _matrix(xp, m, dtype):
    return xp.asarray(m.astype(dtype))


def _tiles(x_shape, pad):
    """Output size and the tile grid: ``(oh, ow, th, tw)``."""
    _, _, h, w = x_shape
    oh, ow = h + pad[0] + pad[1] - 2, w + pad[2] + pad[3] - 2
    return oh, ow, -(-oh // 2), -(-ow // 2)


def _phases(x, pad, th: int, tw: int):
    """The zero-padded input split by row and column parity, batch innermost:
    (2, 2, C, th + 1, tw + 1, N). A tile row then starts at a phase row and each of the 16
    tile positions is one slab of whole (tw, N) rows: the slab copies move runs of tw*N values
    where stride-2 gathers moved single values."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    t, left = pad[0], pad[2]
    ph = xp.zeros((2, 2, c, th + 1, tw + 1, n), dtype=x.dtype)
    for p in range(2):
        i0 = (p - t) % 2  # the first input row of padded-row parity p
        for q in range(2):
            j0 = (q - left) % 2
            src = x[:, :, i0::2, j0::2]
            r0, c0 = (t + i0) // 2, (left + j0) // 2
            ph[p, q, :, r0:r0 + src.shape[2], c0:c0 + src.shape[3]] = src.transpose(1, 2, 3, 0)
    return ph


def _input_tiles(x, pad, th: int, tw: int):
    """V: the transformed 4x4 input tiles, (16, C, th * tw * N)."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    ph = _phases(x, pad, th, tw)
    d = xp.empty((4, 4, c, th, tw, n), dtype=x.dtype)
    for a in range(4):
        for b in range(4):
            d[a, b] = ph[a % 2, b % 2, :, a // 2:a // 2 + th, b // 2:b // 2 + tw]
    v = _matrix(xp, _B16, x.dtype) @ d.reshape(16, -1)
    return v.reshape(16, c, th * tw * n)


def _kernel(w):
    """U: the transformed kernels, (16, O, C)."""
    xp = xp_of(w)
    o, c = w.shape[:2]
    return (_matrix(xp, _G16, w.dtype) @ w.reshape(o * c, 9).T).reshape(16, o, c)


def conv_forward(x, w, pad):
    """The output as a (O, OH, OW, N) view (``_conv_chwn._to_nchw`` turns it to NCHW)."""
    xp = xp_of(x)
    n = x.shape[0]
    o = w.shape[0]
    oh, ow, th, tw = _tiles(x.shape, pad)
    m = xp.matmul(_kernel(w), _input_tiles(x, pad, th, tw))  # (16, O, T*N)
    blocks = (_matrix(xp, _A16, x.dtype) @ m.reshape(16, -1)).reshape(2, 2, o, th, tw, n)
    # (a, b, o, i, j, n) -> (o, 2i + a, 2j + b, n), moving whole runs of N
    y = xp.ascontiguousarray(blocks.transpose(2, 3, 0, 4, 1, 5)).reshape(o, 2 * th, 2 * tw, n)
    return y[:, :oh, :ow]


def conv_backward(gy, w, x, x_shape, pad, need_x: bool, need_w: bool):
    """``(gx, gw)`` of ``conv_forward`` (None where not needed); ``x`` is its input (only read
    for the weight gradient); gx comes as a (C, H, W, N) array."""
    xp = xp_of(gy)
    n, c, h, wd = x_shape
    o = w.shape[0]
    oh, ow, th, tw = _tiles(x_shape, pad)
    gpad = xp.zeros((o, 2 * th, 2 * tw, n), dtype=gy.dtype)
    gpad[:, :oh, :ow] = gy.transpose(1, 2, 3, 0)
    blocks = gpad.reshape(o, th, 2, tw, 2, n).transpose(2, 4, 0, 1, 3, 5)
    gt = (_matrix(xp, _A16.T, gy.dtype) @ xp.ascontiguousarray(blocks).reshape(4, -1))
    gt = gt.reshape(16, o, th * tw * n)
    gx = gw = None
    if need_w:
        mw = xp.matmul(gt, _input_tiles(x, pad, th, tw).transpose(0, 2, 1))  # (16, O, C)
        gw = (_matrix(xp, _G16.T, gy.dtype) @ mw.reshape(16, -1)).T.reshape(o, c, 3, 3)
        gw = xp.ascontiguousarray(gw)
    if need_x:
        md = xp.matmul(_kernel(w).transpose(0, 2, 1), gt)  # (16, C, T*N)
        dd = (_matrix(xp, _B16.T, gy.dtype) @ md.reshape(16, -1)).reshape(4, 4, c, th, tw, n)
        dph = xp.zeros((2, 2, c, th + 1, tw + 1, n), dtype=gy.dtype)
        for a in range(4):
            for b in range(4):
                dph[a % 2, b % 2, :, a // 2:a // 2 + th, b // 2:b // 2 + tw] += dd[a, b]
        t, left = pad[0], pad[2]
        gx = xp.empty((c, h, wd, n), dtype=gy.dtype)
        for p in range(2):
            i0 = (p - t) % 2
            for q in range(2):
                j0 = (q - left) % 2
                dst = gx[:, i0::2, j0::2]
                r0, c0 = (t + i0) // 2, (left + j0) // 2
                dst[...] = dph[p, q, :, r0:r0 + dst.shape[1], c0:c0 + dst.shape[2]]
    return gx, gw
