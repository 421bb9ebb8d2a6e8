"""Convolutions of 1-3 input channels (LeNet's and AlexNet's first layers, a CIFAR stem), block
by block of images: the column matrix never reaches memory.

With so few channels the columns are kh*kw times the input (25x for LeNet's 5x5 kernel, 10 MB
at batch 128) while the GEMMs on them are cheap, so writing the columns out and reading them
back cost more than the products. Here each block of images gets its columns in one strided
copy into a buffer of about ``BLOCK_BYTES``, which its GEMMs then read from cache; the weight
gradient makes them again from the padded input instead of keeping them from the forward. The
blocks are split over the cores (``_parallel.run_jobs``).

Measured on 2 cores against the whole column matrix (in-process medians; forward with the
bias added, which the blocks do while their output is in cache):

- LeNet's first convolution, (128, 1, 28, 28) 5x5: forward 1.99 -> 1.18 ms, weight gradient
  0.92 -> 1.04 ms, and 10 MB less kept between them; the LeNet step 5.5% faster.
- (32, 3, 32, 32) 3x3 to 64: forward 3.55 -> 2.41 ms, weight gradient 2.17 -> 2.19 ms.
- AlexNet's first, (16, 1, 224, 224) 11x11 stride 4: forward 12.7 -> 9.5 ms, weight gradient
  8.9 -> 10.4 ms.

Columns are offset-major, (kh, kw, C, images, OH*OW), and each image's (kh*kw*C, OH*OW) matrix
meets the (O, kh*kw*C) weight in one stacked ``matmul`` that writes NCHW directly.

Shapes: ``x`` (N, C, H, W), ``w`` (O, C, kh, kw); ``pad`` is (top, bottom, left, right).
"""
from __future__ import annotations

from .._parallel import bounds, num_parts
from ._im2col import block_columns, out_size, pad_nchw, windows
from ._util import xp_of

# Each block's columns take about this much memory (at least one image's worth).
BLOCK_BYTES = 1 << 20


def _windows(xpad, kh: int, kw: int, stride, dilation, oh: int, ow: int):
    """The (kh, kw, C, N, OH, OW) strided view of a padded NCHW array's windows (read only)."""
    return windows(xpad, kh, kw, stride, dilation, oh, ow).transpose(4, 5, 1, 0, 2, 3)


def _blocks(n: int, k: int, p: int, itemsize: int, work: int):
    """``(parts, step)`` for ``block_columns``: threads get equal shares of the ``n`` images
    (``work`` values in all), cut into blocks of columns of about BLOCK_BYTES."""
    return bounds(n, num_parts(n, work)), max(1, BLOCK_BYTES // (k * p * itemsize))


def conv_forward(x, w, stride, pad, dilation, bias=None):
    """``(y, xpad)``: y (N, O, OH, OW) with ``bias`` (O,) added when given, and the padded
    input, which the weight gradient needs."""
    xp = xp_of(x)
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh = out_size(h, kh, stride[0], pad[0], pad[1], dilation[0])
    ow = out_size(wd, kw, stride[1], pad[2], pad[3], dilation[1])
    k, p = kh * kw * c, oh * ow
    xpad = pad_nchw(x, pad)
    win = _windows(xpad, kh, kw, stride, dilation, oh, ow)
    wm = xp.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(o, k)
    y = xp.empty((n, o, oh, ow), dtype=x.dtype)
    if y.size == 0:
        return y, xpad
    yr = y.reshape(n, o, p)

    def block(a, b, cols):
        xp.matmul(wm, cols.reshape(k, b - a, p).transpose(1, 0, 2), out=yr[a:b])
        if bias is not None:
            yr[a:b] += bias.reshape(1, o, 1)

    block_columns(win, *_blocks(n, k, p, x.itemsize, y.size), block)
    return y, xpad


def weight_grad(gy, xpad, w_shape, stride, dilation):
    """dL/dw (O, C, kh, kw) from gy (N, O, OH, OW) and the padded input ``conv_forward`` kept:
    per block, the columns again and ``gy @ cols.T`` per image, summed."""
    xp = xp_of(gy)
    n, o, oh, ow = gy.shape
    _, c, kh, kw = w_shape
    k, p = kh * kw * c, oh * ow
    if gy.size == 0:
        return xp.zeros(w_shape, dtype=gy.dtype)
    win = _windows(xpad, kh, kw, stride, dilation, oh, ow)
    gr = gy.reshape(n, o, p)

    def block(a, b, cols):
        return xp.matmul(gr[a:b], cols.reshape(k, b - a, p).transpose(1, 2, 0)).sum(0)

    # each thread's blocks summed in order, then the threads' sums
    parts = [sum(blocks[1:], blocks[0]) for blocks in
             block_columns(win, *_blocks(n, k, p, gy.itemsize, gy.size), block)]
    gw = sum(parts[1:], parts[0])
    return xp.ascontiguousarray(gw.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))
