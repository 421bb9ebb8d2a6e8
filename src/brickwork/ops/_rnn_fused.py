"""One layer and direction of a recurrent network as a single op, forward and backward fused.

``_rnn_seq.py`` runs a layer as Tensor ops, one graph node per gate operation and time step; for
a 35-step LSTM that is hundreds of nodes, and every step's slice of the input projection comes
back in backward as a zero-padded full-size gradient. Here each layer and direction is one
``Function``: forward steps through time in place on backend arrays (one small GEMM per step
plus the gate arithmetic), saving the activated gates; backward walks the steps in reverse,
collecting every step's gate gradient in one (T, N, G) array, so the gradients of ``W_hh``,
``b_hh`` and of the input projection each come out of one BLAS call or reduction at the end.

The first-order backward is hand-written; ``create_graph=True`` differentiates the ``composite``
(the Tensor-op loop of ``_rnn_seq``) instead, so higher-order gradients still work.

Sigmoid is ``0.5 * tanh(0.5 x) + 0.5``: one transcendental per element and no overflow.
"""
from __future__ import annotations

from ..autograd.function import Function
from ._util import xp_of


def _sigmoid_(x):
    x *= 0.5
    xp_of(x).tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _recurrent(w_hh, h):
    """``h @ w_hh.T``, the per-step GEMM, computed as ``(w_hh @ h.T).T`` (a transposed
    view): OpenBLAS packs the large weight far faster in this orientation. (32, 256) @
    (256, 1024): 112 us, against 202 us for ``h @ w_hh.T`` and 147 us from a contiguous copy
    of ``w_hh.T``; with 8-256 rows and H of 128-512 it was the fastest of the three but at
    8 rows and H = 128 (12 us against 17 from the copy)."""
    return (w_hh @ h.T).T


def _steps(n: int, reverse: bool):
    return range(n - 1, -1, -1) if reverse else range(n)


class LSTMLayer(Function):
    """``(out, h_T, c_T)`` of an LSTM layer over ``gi`` (T, N, 4H) = every step's ``W_ih x +
    b_ih``, from ``h0``, ``c0`` (N, H), gates i, f, g, o."""

    _array_level = True
    _backward_name = "LstmBackward0"

    @staticmethod
    def forward(ctx, gi, h0, c0, w_hh, b_hh, reverse):
        xp = xp_of(gi)
        T, N, G = gi.shape
        H = G // 4
        gates = gi + b_hh if b_hh is not None else gi.copy()  # activated in place below
        hs = xp.empty((T + 1, N, H), gi.dtype)  # hs[k]: the state before the k-th step taken
        cs = xp.empty((T + 1, N, H), gi.dtype)
        tc = xp.empty((T, N, H), gi.dtype)
        out = xp.empty((T, N, H), gi.dtype)
        hs[0], cs[0] = h0, c0
        for k, t in enumerate(_steps(T, reverse)):
            a = gates[t]
            a += _recurrent(w_hh, hs[k])
            _sigmoid_(a[:, :2 * H])
            xp.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            _sigmoid_(a[:, 3 * H:])
            c = cs[k + 1]
            xp.multiply(a[:, H:2 * H], cs[k], out=c)
            c += a[:, :H] * a[:, 2 * H:3 * H]
            xp.tanh(c, out=tc[t])
            xp.multiply(a[:, 3 * H:], tc[t], out=hs[k + 1])
            out[t] = hs[k + 1]
        if any(ctx.needs_input_grad):
            ctx.gates, ctx.hs, ctx.cs, ctx.tc, ctx.w_hh = gates, hs, cs, tc, w_hh
            ctx.reverse = reverse
        return out, hs[T].copy(), cs[T].copy()

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        xp = xp_of(g_out)
        gates, hs, cs, tc, w_hh = ctx.gates, ctx.hs, ctx.cs, ctx.tc, ctx.w_hh
        T, N, G = gates.shape
        H = G // 4
        dgates = xp.empty_like(gates)
        dh = g_h.copy()
        dc = g_c.copy()
        for k, t in reversed(list(enumerate(_steps(T, ctx.reverse)))):
            a, d = gates[t], dgates[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            dh += g_out[t]
            tct = tc[t]
            # d o (pre-activation) = dh * tanh(c) * o (1 - o)
            xp.multiply(dh, tct, out=d[:, 3 * H:])
            d[:, 3 * H:] *= o * (1 - o)
            dc += dh * o * (1 - tct * tct)
            xp.multiply(dc, g, out=d[:, :H])          # d i
            d[:, :H] *= i * (1 - i)
            xp.multiply(dc, cs[k], out=d[:, H:2 * H])  # d f
            d[:, H:2 * H] *= f * (1 - f)
            xp.multiply(dc, i, out=d[:, 2 * H:3 * H])  # d g
            d[:, 2 * H:3 * H] *= 1 - g * g
            dc *= f
            dh = d @ w_hh
        need = ctx.needs_input_grad
        flat = dgates.reshape(T * N, G)
        # Every step's W_hh gradient at once: sum_t dgates_t^T h_{t-1}.
        prev = _prev_states(hs, ctx.reverse)
        gw = (flat.T @ prev.reshape(T * N, H)) if need[3] else None
        gb = flat.sum(0) if need[4] else None
        return (dgates if need[0] else None), dh, dc, gw, gb, None

    @staticmethod
    def composite(gi, h0, c0, w_hh, b_hh, reverse):
        """The layer in differentiable Tensor ops (for ``create_graph``)."""
        from ._rnn_seq import run_direction

        outs, (h, c) = run_direction("lstm", gi, (h0, c0), (w_hh, b_hh, None), None, reverse)
        from .join import stack

        return stack(outs, 0), h, c


def _prev_states(hs, reverse: bool):
    """The state each time step ``t`` started from, in time order (T, N, H): ``hs[k]`` is the
    state before the k-th step taken, and in reverse the k-th step taken is ``t = T-1-k``."""
    return hs[:-1] if not reverse else hs[-2::-1]


class GRULayer(Function):
    """``(out, h_T)`` of a GRU layer over ``gi`` (T, N, 3H), gates r, z, n (PyTorch's)."""

    _array_level = True
    _backward_name = "GruBackward0"

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, reverse):
        xp = xp_of(gi)
        T, N, G = gi.shape
        H = G // 3
        hs = xp.empty((T + 1, N, H), gi.dtype)
        act = xp.empty((T, N, G), gi.dtype)  # r, z, n activated
        hn = xp.empty((T, N, H), gi.dtype)   # W_hn h + b_hn, which r multiplies
        out = xp.empty((T, N, H), gi.dtype)
        hs[0] = h0
        for k, t in enumerate(_steps(T, reverse)):
            gh = _recurrent(w_hh, hs[k])
            if b_hh is not None:
                gh += b_hh
            a = act[t]
            xp.add(gi[t, :, :2 * H], gh[:, :2 * H], out=a[:, :2 * H])
            _sigmoid_(a[:, :2 * H])
            hn[t] = gh[:, 2 * H:]
            n = a[:, 2 * H:]
            xp.multiply(a[:, :H], gh[:, 2 * H:], out=n)
            n += gi[t, :, 2 * H:]
            xp.tanh(n, out=n)
            h = hs[k + 1]
            xp.subtract(hs[k], n, out=h)
            h *= a[:, H:2 * H]
            h += n
            out[t] = h
        if any(ctx.needs_input_grad):
            ctx.act, ctx.hn, ctx.hs, ctx.w_hh, ctx.reverse = act, hn, hs, w_hh, reverse
        return out, hs[T].copy()

    @staticmethod
    def backward(ctx, g_out, g_h):
        xp = xp_of(g_out)
        act, hn, hs, w_hh = ctx.act, ctx.hn, ctx.hs, ctx.w_hh
        T, N, G = act.shape
        H = G // 3
        dgi = xp.empty_like(act)
        dgh = xp.empty_like(act)
        dh = g_h.copy()
        for k, t in reversed(list(enumerate(_steps(T, ctx.reverse)))):
            a, di, dg = act[t], dgi[t], dgh[t]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dh += g_out[t]
            dn = dh * (1 - z)
            dn *= 1 - n * n                               # d n (pre-activation)
            di[:, 2 * H:] = dn
            xp.multiply(dn, r, out=dg[:, 2 * H:])         # d (W_hn h + b_hn)
            xp.multiply(dn, hn[t], out=di[:, :H])         # d r ...
            di[:, :H] *= r * (1 - r)                      # ... pre-activation
            xp.subtract(hs[k], n, out=di[:, H:2 * H])     # d z = dh (h - n) ...
            di[:, H:2 * H] *= dh
            di[:, H:2 * H] *= z * (1 - z)
            dg[:, :2 * H] = di[:, :2 * H]
            dh *= z
            dh += dg @ w_hh
        need = ctx.needs_input_grad
        flat = dgh.reshape(T * N, G)
        gw = (flat.T @ _prev_states(hs, ctx.reverse).reshape(T * N, H)) if need[2] else None
        gb = flat.sum(0) if need[3] else None
        return (dgi if need[0] else None), dh, gw, gb, None

    @staticmethod
    def composite(gi, h0, w_hh, b_hh, reverse):
        """The layer in differentiable Tensor ops (for ``create_graph``)."""
        from ._rnn_seq import run_direction
        from .join import stack

        outs, (h,) = run_direction("gru", gi, (h0,), (w_hh, b_hh, None), None, reverse)
        return stack(outs, 0), h


class ElmanLayer(Function):
    """``(out, h_T)`` of an Elman RNN layer (tanh or relu) over ``gi`` (T, N, H)."""

    _array_level = True
    _backward_name = "RnnBackward0"

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh, reverse, relu):
        xp = xp_of(gi)
        T, N, H = gi.shape
        pre = gi + b_hh if b_hh is not None else gi.copy()
        hs = xp.empty((T + 1, N, H), gi.dtype)
        hs[0] = h0
        for k, t in enumerate(_steps(T, reverse)):
            a = pre[t]
            a += _recurrent(w_hh, hs[k])
            if relu:
                xp.maximum(a, 0, out=a)
            else:
                xp.tanh(a, out=a)
            hs[k + 1] = a
        if any(ctx.needs_input_grad):
            ctx.out, ctx.hs, ctx.w_hh, ctx.reverse, ctx.relu = pre, hs, w_hh, reverse, relu
        return pre.copy(), hs[T].copy()  # a copy: an in-place edit of the result must not
        # change what backward reads

    @staticmethod
    def backward(ctx, g_out, g_h):
        xp = xp_of(g_out)
        out, hs, w_hh = ctx.out, ctx.hs, ctx.w_hh
        T, N, H = out.shape
        dpre = xp.empty_like(out)
        dh = g_h.copy()
        for t in reversed(list(_steps(T, ctx.reverse))):
            d, y = dpre[t], out[t]
            xp.add(dh, g_out[t], out=d)
            if ctx.relu:
                d *= y > 0
            else:
                d *= 1 - y * y
            dh = d @ w_hh
        need = ctx.needs_input_grad
        flat = dpre.reshape(T * N, H)
        gw = (flat.T @ _prev_states(hs, ctx.reverse).reshape(T * N, H)) if need[2] else None
        gb = flat.sum(0) if need[3] else None
        return (dpre if need[0] else None), dh, gw, gb, None, None

    @staticmethod
    def composite(gi, h0, w_hh, b_hh, reverse, relu):
        """The layer in differentiable Tensor ops (for ``create_graph``)."""
        from ._rnn_seq import run_direction
        from .join import stack

        kind = "rnn_relu" if relu else "rnn_tanh"
        outs, (h,) = run_direction(kind, gi, (h0,), (w_hh, b_hh, None), None, reverse)
        return stack(outs, 0), h


def fused_layer(kind: str, gi, hs, w_hh, b_hh, reverse: bool):
    """One padded layer-direction through the fused ops: ``(out (T, N, H), states)``."""
    if kind == "lstm":
        out, h, c = LSTMLayer.apply(gi, hs[0], hs[1], w_hh, b_hh, reverse)
        return out, (h, c)
    if kind == "gru":
        out, h = GRULayer.apply(gi, hs[0], w_hh, b_hh, reverse)
        return out, (h,)
    out, h = ElmanLayer.apply(gi, hs[0], w_hh, b_hh, reverse, kind == "rnn_relu")
    return out, (h,)
