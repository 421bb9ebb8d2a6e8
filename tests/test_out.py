"""``out=`` against PyTorch: every function that declares it writes into it as PyTorch does.

One table (``CASES``) calls each such function; the tests run every entry on brickwork and
PyTorch with and without ``out`` and compare values, dtypes, errors and warnings. The table must
list exactly the functions whose signature has ``out`` (found by introspection), and those must
be exactly the ones PyTorch gives ``out`` among the functions brickwork has, so no function
accepts the keyword and ignores it, and none lacks it. A new such function needs an entry in
``brickwork/_out_rules.py``'s ``_RULES`` and one here.
"""
from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

import brickwork
from helpers import (TOLERANCES, assert_close, rand_array, requires_torch, to_brick, to_torch,
                     torch)

X = rand_array((2, 3))
Y = rand_array((2, 3), seed=1)
P = rand_array((2, 3), low=0.5, high=2.0, seed=2)
U = rand_array((2, 3), low=0.05, high=0.95, seed=3)   # in (0, 1): probabilities
I = rand_array((2, 3), "int64", 0, 5, seed=4)
J = rand_array((2, 3), "int64", 1, 5, seed=5)
B = rand_array((2, 3), "bool", seed=6)
C = rand_array((2, 3), "bool", seed=7)
A = rand_array((2, 4), seed=8)
M = rand_array((4, 3), seed=9)
S = rand_array((2, 2), seed=10)
BA = rand_array((2, 2, 4), seed=11)
BM = rand_array((2, 4, 3), seed=12)
V = rand_array((3,), seed=13)
W = rand_array((3,), seed=14)
Q = rand_array((4,), seed=15)
IMG = rand_array((1, 2, 4, 4), seed=16)
G = np.array([[0, 2, 1], [1, 0, 2]], dtype=np.int64)      # gather/scatter index along dim 1
K = np.array([2, 0], dtype=np.int64)                      # index_select rows / cols
T = np.array([5, 0, 3], dtype=np.int64)                   # take: flat positions
G1 = rand_array((2, 3), low=1.1, high=3.0, seed=17)       # > 1: acosh, mvlgamma
SQ = rand_array((3, 3), seed=18) + 3 * np.eye(3, dtype=np.float32)   # well conditioned
SPD = (SQ @ SQ.T).astype(np.float32)                      # symmetric positive definite
LT = np.tril(SPD)                                         # lower triangular, nonzero diagonal
B32 = rand_array((3, 2), seed=19)                         # right-hand sides
SPD4 = (lambda a: (a @ a.T + np.eye(4)).astype(np.float32))(rand_array((4, 4), seed=20))
H = rand_array((3, 2), seed=21)                           # householder_product's reflectors
TAU = rand_array((2,), low=0.5, high=1.5, seed=22)
SEQ = np.sort(rand_array((4,), seed=23))                  # searchsorted's sorted sequence

F_ = "nn.functional."
# name -> (call, inputs): call(lib, *tensors, **out) runs the function once, passing `out` on.
CASES = {
    "abs": (lambda L, x, **o: L.abs(x, **o), [X]),
    "absolute": (lambda L, x, **o: L.absolute(x, **o), [X]),
    "acos": (lambda L, u, **o: L.acos(u, **o), [U]),
    "acosh": (lambda L, g, **o: L.acosh(g, **o), [G1]),
    "add": (lambda L, x, y, **o: L.add(x, y, alpha=2, **o), [X, Y]),
    "addbmm": (lambda L, x, a, m, **o: L.addbmm(x, a, m, beta=0.5, alpha=2, **o), [X, BA, BM]),
    "addcdiv": (lambda L, x, y, p, **o: L.addcdiv(x, y, p, value=0.5, **o), [X, Y, P]),
    "addcmul": (lambda L, x, y, p, **o: L.addcmul(x, y, p, value=0.5, **o), [X, Y, P]),
    "addmm": (lambda L, s, a, m, **o: L.addmm(s[:, :1], a, m, beta=0.5, **o), [S, A, M]),
    "addmv": (lambda L, v, m, q, **o: L.addmv(v, m.T, q, alpha=0.5, **o), [V, M, Q]),
    "addr": (lambda L, m, q, v, **o: L.addr(m, q, v, beta=2, **o), [M, Q, V]),
    "all": (lambda L, b, **o: L.all(b, 1, **o), [B]),
    "amax": (lambda L, x, **o: L.amax(x, 1, **o), [X]),
    "amin": (lambda L, x, **o: L.amin(x, 0, keepdim=True, **o), [X]),
    "aminmax": (lambda L, x, **o: L.aminmax(x, dim=1, **o), [X]),
    "any": (lambda L, b, **o: L.any(b, 0, **o), [B]),
    "arange": (lambda L, **o: L.arange(1, 7, 2, **o), []),
    "arccos": (lambda L, u, **o: L.arccos(u, **o), [U]),
    "arccosh": (lambda L, g, **o: L.arccosh(g, **o), [G1]),
    "arcsin": (lambda L, u, **o: L.arcsin(u, **o), [U]),
    "arcsinh": (lambda L, x, **o: L.arcsinh(x, **o), [X]),
    "arctan": (lambda L, x, **o: L.arctan(x, **o), [X]),
    "arctan2": (lambda L, x, y, **o: L.arctan2(x, y, **o), [X, Y]),
    "arctanh": (lambda L, u, **o: L.arctanh(u, **o), [U]),
    "argmax": (lambda L, x, **o: L.argmax(x, 1, **o), [X]),
    "argmin": (lambda L, x, **o: L.argmin(x, **o), [X]),
    "argsort": (lambda L, x, **o: L.argsort(x, stable=True, dim=1, **o), [X]),
    "asin": (lambda L, u, **o: L.asin(u, **o), [U]),
    "asinh": (lambda L, x, **o: L.asinh(x, **o), [X]),
    "atan": (lambda L, x, **o: L.atan(x, **o), [X]),
    "atan2": (lambda L, x, y, **o: L.atan2(x, y, **o), [X, Y]),
    "atanh": (lambda L, u, **o: L.atanh(u, **o), [U]),
    "baddbmm": (lambda L, x, a, m, **o: L.baddbmm(x, a, m, alpha=0.5, **o), [X, BA, BM]),
    "bernoulli": (lambda L, u, **o: L.bernoulli(u, **o), [U]),
    "bitwise_and": (lambda L, i, j, **o: L.bitwise_and(i, j, **o), [I, J]),
    "bitwise_left_shift": (lambda L, i, **o: L.bitwise_left_shift(i, 2, **o), [I]),
    "bitwise_right_shift": (lambda L, i, j, **o: L.bitwise_right_shift(i, j.abs(), **o), [I, J]),
    "hash_tensor": (lambda L, x, **o: L.hash_tensor(x, 1, **o), [X]),
    "range": (lambda L, **o: L.range(1, 7, 2, **o), []),
    "bitwise_not": (lambda L, i, **o: L.bitwise_not(i, **o), [I]),
    "bitwise_or": (lambda L, i, j, **o: L.bitwise_or(i, j, **o), [I, J]),
    "bitwise_xor": (lambda L, i, j, **o: L.bitwise_xor(i, j, **o), [I, J]),
    "bmm": (lambda L, a, m, **o: L.bmm(a, m, **o), [BA, BM]),
    "bucketize": (lambda L, x, s, **o: L.bucketize(x, s, right=True, **o), [X, SEQ]),
    "cat": (lambda L, x, y, **o: L.cat([x, y], 1, **o), [X, Y]),
    "ceil": (lambda L, x, **o: L.ceil(x, **o), [X]),
    "chain_matmul": (lambda L, a, m, s, **o: L.chain_matmul(s, a, m, **o), [A, M, S]),
    "cholesky": (lambda L, a, **o: L.cholesky(a, **o), [SPD]),
    "cholesky_inverse": (lambda L, t, **o: L.cholesky_inverse(t, **o), [LT]),
    "cholesky_solve": (lambda L, b, t, **o: L.cholesky_solve(b, t, **o), [B32, LT]),
    "clamp": (lambda L, x, **o: L.clamp(x, -0.5, 0.5, **o), [X]),
    "clamp_max": (lambda L, x, **o: L.clamp_max(x, 0.5, **o), [X]),
    "clamp_min": (lambda L, x, **o: L.clamp_min(x, -0.5, **o), [X]),
    "clip": (lambda L, x, **o: L.clip(x, max=0.5, **o), [X]),
    "column_stack": (lambda L, x, y, **o: L.column_stack([x, y], **o), [X, Y]),
    "concat": (lambda L, x, y, **o: L.concat([x, y], **o), [X, Y]),
    "concatenate": (lambda L, x, y, **o: L.concatenate([x, y], 1, **o), [X, Y]),
    "conj_physical": (lambda L, x, **o: L.conj_physical(x, **o), [X]),
    "copysign": (lambda L, x, y, **o: L.copysign(x, y, **o), [X, Y]),
    "cos": (lambda L, x, **o: L.cos(x, **o), [X]),
    "cosh": (lambda L, x, **o: L.cosh(x, **o), [X]),
    "cross": (lambda L, x, y, **o: L.cross(x, y, 1, **o), [X, Y]),
    "cummax": (lambda L, x, **o: L.cummax(x, 1, **o), [X]),
    "cummin": (lambda L, x, **o: L.cummin(x, 0, **o), [X]),
    "cumprod": (lambda L, x, **o: L.cumprod(x, 1, **o), [X]),
    "cumsum": (lambda L, x, **o: L.cumsum(x, 0, **o), [X]),
    "deg2rad": (lambda L, x, **o: L.deg2rad(x, **o), [X]),
    "diag": (lambda L, v, **o: L.diag(v, 1, **o), [V]),
    "diff": (lambda L, x, **o: L.diff(x, dim=1, **o), [X]),
    "digamma": (lambda L, p, **o: L.digamma(p, **o), [P]),
    "div": (lambda L, x, p, **o: L.div(x, p, **o), [X, P]),
    "divide": (lambda L, x, p, **o: L.divide(x, p, rounding_mode="floor", **o), [X, P]),
    "dot": (lambda L, v, w, **o: L.dot(v, w, **o), [V, W]),
    "dstack": (lambda L, x, y, **o: L.dstack([x, y], **o), [X, Y]),
    "empty": (lambda L, **o: L.empty(2, 3, **o), []),
    "eq": (lambda L, i, j, **o: L.eq(i, j, **o), [I, J]),
    "erf": (lambda L, x, **o: L.erf(x, **o), [X]),
    "erfc": (lambda L, x, **o: L.erfc(x, **o), [X]),
    "erfinv": (lambda L, u, **o: L.erfinv(u, **o), [U]),
    "exp": (lambda L, x, **o: L.exp(x, **o), [X]),
    "exp2": (lambda L, x, **o: L.exp2(x, **o), [X]),
    "expm1": (lambda L, x, **o: L.expm1(x, **o), [X]),
    "eye": (lambda L, **o: L.eye(2, 3, **o), []),
    "fix": (lambda L, x, **o: L.fix(x, **o), [X]),
    "float_power": (lambda L, p, y, **o: L.float_power(p, y, **o), [P, Y]),
    "floor": (lambda L, x, **o: L.floor(x, **o), [X]),
    "floor_divide": (lambda L, x, p, **o: L.floor_divide(x, p, **o), [X, P]),
    "fmax": (lambda L, x, y, **o: L.fmax(x, y, **o), [X, Y]),
    "fmin": (lambda L, x, y, **o: L.fmin(x, y, **o), [X, Y]),
    "fmod": (lambda L, x, p, **o: L.fmod(x, p, **o), [X, P]),
    "frac": (lambda L, x, **o: L.frac(x, **o), [X]),
    "frexp": (lambda L, x, **o: L.frexp(x, **o), [X]),
    "full": (lambda L, **o: L.full((2, 3), 1.5, **o), []),
    "gather": (lambda L, x, g, **o: L.gather(x, 1, g, **o), [X, G]),
    "gcd": (lambda L, i, j, **o: L.gcd(i, j, **o), [I, J]),
    "ge": (lambda L, x, y, **o: L.ge(x, y, **o), [X, Y]),
    "ger": (lambda L, v, q, **o: L.ger(v, q, **o), [V, Q]),
    "greater": (lambda L, x, y, **o: L.greater(x, y, **o), [X, Y]),
    "greater_equal": (lambda L, x, **o: L.greater_equal(x, 0.0, **o), [X]),
    "gt": (lambda L, x, y, **o: L.gt(x, y, **o), [X, Y]),
    "heaviside": (lambda L, x, y, **o: L.heaviside(x, y, **o), [X, Y]),
    "histc": (lambda L, x, **o: L.histc(x, 4, -2, 2, **o), [X]),
    "histogram": (lambda L, x, **o: L.histogram(x, 4, **o), [X]),
    "hstack": (lambda L, x, y, **o: L.hstack([x, y], **o), [X, Y]),
    "hypot": (lambda L, x, y, **o: L.hypot(x, y, **o), [X, Y]),
    "i0": (lambda L, x, **o: L.i0(x, **o), [X]),
    "igamma": (lambda L, p, g, **o: L.igamma(p, g, **o), [P, G1]),
    "igammac": (lambda L, p, g, **o: L.igammac(p, g, **o), [P, G1]),
    "index_add": (lambda L, x, k, a, **o: L.index_add(x, 1, k, a[:, :2], alpha=2, **o), [X, K, A]),
    "index_copy": (lambda L, x, k, a, **o: L.index_copy(x, 1, k, a[:, :2], **o), [X, K, A]),
    "index_reduce": (
        lambda L, x, k, a, **o: L.index_reduce(x, 1, k, a[:, :2], "amax", **o), [X, K, A]),
    "index_select": (lambda L, x, k, **o: L.index_select(x, 1, k, **o), [X, K]),
    "inner": (lambda L, x, y, **o: L.inner(x, y, **o), [X, Y]),
    "inverse": (lambda L, a, **o: L.inverse(a, **o), [SQ]),
    "isin": (lambda L, i, j, **o: L.isin(i, j, **o), [I, J]),
    "isneginf": (lambda L, x, **o: L.isneginf(x, **o), [X]),
    "isposinf": (lambda L, x, **o: L.isposinf(x, **o), [X]),
    "kron": (lambda L, s, v, **o: L.kron(s, v, **o), [S, V]),
    "kthvalue": (lambda L, x, **o: L.kthvalue(x, 2, 1, **o), [X]),
    "lcm": (lambda L, i, j, **o: L.lcm(i, j, **o), [I, J]),
    "ldexp": (lambda L, x, i, **o: L.ldexp(x, i, **o), [X, I]),
    "le": (lambda L, x, y, **o: L.le(x, y, **o), [X, Y]),
    "lerp": (lambda L, x, y, **o: L.lerp(x, y, 0.25, **o), [X, Y]),
    "less": (lambda L, x, y, **o: L.less(x, y, **o), [X, Y]),
    "less_equal": (lambda L, x, y, **o: L.less_equal(x, y, **o), [X, Y]),
    "lgamma": (lambda L, p, **o: L.lgamma(p, **o), [P]),
    "linspace": (lambda L, **o: L.linspace(-1, 1, 5, **o), []),
    "log": (lambda L, p, **o: L.log(p, **o), [P]),
    "log10": (lambda L, p, **o: L.log10(p, **o), [P]),
    "log1p": (lambda L, p, **o: L.log1p(p, **o), [P]),
    "log2": (lambda L, p, **o: L.log2(p, **o), [P]),
    "log_softmax": (lambda L, x, **o: L.log_softmax(x, 1, **o), [X]),
    "logaddexp": (lambda L, x, y, **o: L.logaddexp(x, y, **o), [X, Y]),
    "logaddexp2": (lambda L, x, y, **o: L.logaddexp2(x, y, **o), [X, Y]),
    "logcumsumexp": (lambda L, x, **o: L.logcumsumexp(x, 1, **o), [X]),
    "logical_and": (lambda L, b, c, **o: L.logical_and(b, c, **o), [B, C]),
    "logical_not": (lambda L, x, **o: L.logical_not(x, **o), [X]),
    "logical_or": (lambda L, b, i, **o: L.logical_or(b, i, **o), [B, I]),
    "logical_xor": (lambda L, b, c, **o: L.logical_xor(b, c, **o), [B, C]),
    "logit": (lambda L, u, **o: L.logit(u, **o), [U]),
    "logspace": (lambda L, **o: L.logspace(0, 2, 3, **o), []),
    "logsumexp": (lambda L, x, **o: L.logsumexp(x, 1, **o), [X]),
    "lt": (lambda L, x, y, **o: L.lt(x, y, **o), [X, Y]),
    "lu_solve": (lambda L, b, a, **o: L.lu_solve(b, *L.linalg.lu_factor(a), **o), [B32, SQ]),
    "masked_select": (lambda L, x, b, **o: L.masked_select(x, b, **o), [X, B]),
    "matmul": (lambda L, a, m, **o: L.matmul(a, m, **o), [A, M]),
    "matrix_power": (lambda L, a, **o: L.matrix_power(a, 2, **o), [SQ]),
    "max": (lambda L, x, **o: L.max(x, 1, **o), [X]),
    "maximum": (lambda L, x, y, **o: L.maximum(x, y, **o), [X, Y]),
    "mean": (lambda L, x, **o: L.mean(x, 1, **o), [X]),
    "median": (lambda L, x, **o: L.median(x, 1, keepdim=True, **o), [X]),
    "min": (lambda L, x, **o: L.min(x, 0, **o), [X]),
    "minimum": (lambda L, x, y, **o: L.minimum(x, y, **o), [X, Y]),
    "mm": (lambda L, a, m, **o: L.mm(a, m, **o), [A, M]),
    "mode": (lambda L, i, **o: L.mode(i, 1, **o), [I]),
    "msort": (lambda L, x, **o: L.msort(x, **o), [X]),
    "mul": (lambda L, x, y, **o: L.mul(x, y, **o), [X, Y]),
    "multinomial": (lambda L, u, **o: L.multinomial(u, 2, **o), [U]),
    "multiply": (lambda L, x, i, **o: L.multiply(x, i, **o), [X, I]),
    "mv": (lambda L, m, v, **o: L.mv(m, v, **o), [M, V]),
    "mvlgamma": (lambda L, g, **o: L.mvlgamma(g, 2, **o), [G1]),
    "nan_to_num": (lambda L, x, **o: L.nan_to_num(x, 1.0, **o), [X]),
    "nanmean": (lambda L, x, **o: L.nanmean(x, 1, **o), [X]),
    "nanmedian": (lambda L, x, **o: L.nanmedian(x, 1, **o), [X]),
    "nanquantile": (lambda L, x, **o: L.nanquantile(x, 0.75, dim=0, **o), [X]),
    "nansum": (lambda L, x, **o: L.nansum(x, 1, **o), [X]),
    "narrow_copy": (lambda L, x, **o: L.narrow_copy(x, 1, 1, 2, **o), [X]),
    "ne": (lambda L, x, y, **o: L.ne(x, y, **o), [X, Y]),
    "neg": (lambda L, x, **o: L.neg(x, **o), [X]),
    "negative": (lambda L, x, **o: L.negative(x, **o), [X]),
    "nextafter": (lambda L, x, y, **o: L.nextafter(x, y, **o), [X, Y]),
    "nonzero": (lambda L, i, **o: L.nonzero(i, **o), [I]),
    "nonzero_static": (lambda L, i, **o: L.nonzero_static(i, size=4, **o), [I]),
    "norm": (lambda L, x, **o: L.norm(x, 2, 1, **o), [X]),
    "normal": (lambda L, x, p, **o: L.normal(x, p, **o), [X, P]),
    "not_equal": (lambda L, x, y, **o: L.not_equal(x, y, **o), [X, Y]),
    "ones": (lambda L, **o: L.ones(2, 3, **o), []),
    "outer": (lambda L, v, q, **o: L.outer(v, q, **o), [V, Q]),
    "polygamma": (lambda L, p, **o: L.polygamma(1, p, **o), [P]),
    "pow": (lambda L, p, y, **o: L.pow(p, y, **o), [P, Y]),
    "prod": (lambda L, x, **o: L.prod(x, 1, **o), [X]),
    "qr": (lambda L, a, **o: L.qr(a, **o), [SQ]),
    "quantile": (lambda L, x, **o: L.quantile(x, 0.25, dim=1, **o), [X]),
    "rad2deg": (lambda L, x, **o: L.rad2deg(x, **o), [X]),
    "rand": (lambda L, **o: L.rand(2, 3, **o), []),
    "randint": (lambda L, **o: L.randint(0, 5, (2, 3), **o), []),
    "randn": (lambda L, **o: L.randn((2, 3), **o), []),
    "randperm": (lambda L, **o: L.randperm(5, **o), []),
    "reciprocal": (lambda L, p, **o: L.reciprocal(p, **o), [P]),
    "remainder": (lambda L, x, p, **o: L.remainder(x, p, **o), [X, P]),
    "renorm": (lambda L, x, **o: L.renorm(x, 2, 0, 1.0, **o), [X]),
    "round": (lambda L, x, **o: L.round(x, decimals=1, **o), [X]),
    "row_stack": (lambda L, x, y, **o: L.row_stack([x, y], **o), [X, Y]),
    "rsqrt": (lambda L, p, **o: L.rsqrt(p, **o), [P]),
    "scatter": (lambda L, x, g, y, **o: L.scatter(x, 1, g, y, **o), [X, G, Y]),
    "scatter_add": (lambda L, x, g, y, **o: L.scatter_add(x, 1, g, y, **o), [X, G, Y]),
    "scatter_reduce": (
        lambda L, x, g, y, **o: L.scatter_reduce(x, 1, g, y, "amax", **o), [X, G, Y]),
    "searchsorted": (lambda L, s, x, **o: L.searchsorted(s, x, out_int32=True, **o), [SEQ, X]),
    "sgn": (lambda L, x, **o: L.sgn(x, **o), [X]),
    "angle": (lambda L, x, **o: L.angle(x, **o), [X]),
    "complex": (lambda L, x, y, **o: L.complex(x, y, **o), [X, Y]),
    "polar": (lambda L, x, y, **o: L.polar(x, y, **o), [P, Y]),
    "sigmoid": (lambda L, x, **o: L.sigmoid(x, **o), [X]),
    "sign": (lambda L, x, **o: L.sign(x, **o), [X]),
    "signbit": (lambda L, x, **o: L.signbit(x, **o), [X]),
    "sin": (lambda L, x, **o: L.sin(x, **o), [X]),
    "sinc": (lambda L, x, **o: L.sinc(x, **o), [X]),
    "sinh": (lambda L, x, **o: L.sinh(x, **o), [X]),
    "slice_scatter": (
        lambda L, x, y, **o: L.slice_scatter(x, y[:, :2], dim=1, start=1, **o), [X, Y]),
    "slogdet": (lambda L, a, **o: L.slogdet(a, **o), [SQ]),
    "softmax": (lambda L, x, **o: L.softmax(x, 0, **o), [X]),
    "sort": (lambda L, x, **o: L.sort(x, 1, descending=True, **o), [X]),
    "sqrt": (lambda L, p, **o: L.sqrt(p, **o), [P]),
    "square": (lambda L, x, **o: L.square(x, **o), [X]),
    "stack": (lambda L, x, y, **o: L.stack([x, y], 1, **o), [X, Y]),
    "std": (lambda L, x, **o: L.std(x, 1, **o), [X]),
    "sub": (lambda L, x, y, **o: L.sub(x, y, **o), [X, Y]),
    "subtract": (lambda L, x, y, **o: L.subtract(x, y, alpha=0.5, **o), [X, Y]),
    "sum": (lambda L, x, **o: L.sum(x, (0, 1), **o), [X]),
    "svd": (lambda L, a, **o: L.svd(a, **o), [SQ]),
    "take": (lambda L, x, t, **o: L.take(x, t, **o), [X, T]),
    "take_along_dim": (lambda L, x, g, **o: L.take_along_dim(x, g, 1, **o), [X, G]),
    "tan": (lambda L, x, **o: L.tan(x, **o), [X]),
    "tanh": (lambda L, x, **o: L.tanh(x, **o), [X]),
    "tensordot": (lambda L, a, m, **o: L.tensordot(a, m, 1, **o), [A, M]),
    "topk": (lambda L, x, **o: L.topk(x, 2, **o), [X]),
    "triangular_solve": (lambda L, b, t, **o: L.triangular_solve(b, t, False, **o), [B32, LT]),
    "tril": (lambda L, x, **o: L.tril(x, **o), [X]),
    "triu": (lambda L, x, **o: L.triu(x, 1, **o), [X]),
    "true_divide": (lambda L, x, p, **o: L.true_divide(x, p, **o), [X, P]),
    "trunc": (lambda L, x, **o: L.trunc(x, **o), [X]),
    "var": (lambda L, x, **o: L.var(x, 0, correction=0, **o), [X]),
    "vdot": (lambda L, v, w, **o: L.vdot(v, w, **o), [V, W]),
    "vstack": (lambda L, x, y, **o: L.vstack([x, y], **o), [X, Y]),
    "where": (lambda L, b, x, y, **o: L.where(b, x, y, **o), [B, X, Y]),
    "xlogy": (lambda L, x, p, **o: L.xlogy(x, p, **o), [X, P]),
    "zeros": (lambda L, **o: L.zeros((2, 3), **o), []),
    "linalg.cholesky": (lambda L, a, **o: L.linalg.cholesky(a, **o), [SPD]),
    "linalg.cholesky_ex": (lambda L, a, **o: L.linalg.cholesky_ex(a, **o), [SPD]),
    "linalg.cond": (lambda L, a, **o: L.linalg.cond(a, **o), [SPD]),
    "linalg.cross": (lambda L, x, y, **o: L.linalg.cross(x, y, **o), [X, Y]),
    "linalg.det": (lambda L, a, **o: L.linalg.det(a, **o), [SQ]),
    # float64: NumPy computes float32 in double, so only then are the phases LAPACK's own.
    "linalg.eig": (lambda L, a, **o: L.linalg.eig(a, **o), [SQ.astype(np.float64)]),
    "linalg.eigh": (lambda L, a, **o: L.linalg.eigh(a, **o), [SPD]),
    "linalg.eigvals": (lambda L, a, **o: L.linalg.eigvals(a, **o), [SQ]),
    "linalg.eigvalsh": (lambda L, a, **o: L.linalg.eigvalsh(a, "U", **o), [SPD]),
    "linalg.householder_product": (
        lambda L, h, t, **o: L.linalg.householder_product(h, t, **o), [H, TAU]),
    "linalg.inv": (lambda L, a, **o: L.linalg.inv(a, **o), [SQ]),
    "linalg.inv_ex": (lambda L, a, **o: L.linalg.inv_ex(a, **o), [SQ]),
    "linalg.lstsq": (lambda L, a, b, **o: L.linalg.lstsq(a, b, **o), [SPD, B32]),
    "linalg.lu": (lambda L, a, **o: L.linalg.lu(a, **o), [SQ]),
    "linalg.lu_factor": (lambda L, a, **o: L.linalg.lu_factor(a, **o), [SQ]),
    "linalg.lu_factor_ex": (lambda L, a, **o: L.linalg.lu_factor_ex(a, **o), [SQ]),
    "linalg.lu_solve": (
        lambda L, a, b, **o: L.linalg.lu_solve(*L.linalg.lu_factor(a), b, **o), [SQ, B32]),
    "linalg.ldl_factor": (lambda L, a, **o: L.linalg.ldl_factor(a, **o), [SPD]),
    "linalg.ldl_factor_ex": (lambda L, a, **o: L.linalg.ldl_factor_ex(a, **o), [SPD]),
    "linalg.ldl_solve": (
        lambda L, a, b, **o: L.linalg.ldl_solve(*L.linalg.ldl_factor(a), b, **o), [SPD, B32]),
    "geqrf": (lambda L, a, **o: L.geqrf(a, **o), [SQ]),
    "orgqr": (lambda L, h, t, **o: L.orgqr(h, t, **o), [H, TAU]),
    "ormqr": (lambda L, h, t, b, **o: L.ormqr(h, t, b, **o), [H, TAU, B32]),
    "lu_unpack": (lambda L, a, **o: L.lu_unpack(*L.linalg.lu_factor(a), **o), [SQ]),
    "linalg.matmul": (lambda L, a, m, **o: L.linalg.matmul(a, m, **o), [A, M]),
    "linalg.matrix_norm": (lambda L, a, **o: L.linalg.matrix_norm(a, "nuc", **o), [SQ]),
    "linalg.matrix_power": (lambda L, a, **o: L.linalg.matrix_power(a, 3, **o), [SQ]),
    "linalg.matrix_rank": (lambda L, a, **o: L.linalg.matrix_rank(a, **o), [SQ]),
    "linalg.multi_dot": (lambda L, a, m, v, **o: L.linalg.multi_dot([a, m, v], **o), [A, M, V]),
    "linalg.norm": (lambda L, x, **o: L.linalg.norm(x, **o), [X]),
    "linalg.pinv": (lambda L, a, **o: L.linalg.pinv(a, **o), [A]),
    "linalg.qr": (lambda L, a, **o: L.linalg.qr(a, **o), [SQ]),
    "linalg.slogdet": (lambda L, a, **o: L.linalg.slogdet(a, **o), [SQ]),
    "linalg.solve": (lambda L, a, b, **o: L.linalg.solve(a, b, **o), [SPD, B32]),
    "linalg.solve_ex": (lambda L, a, b, **o: L.linalg.solve_ex(a, b, **o), [SPD, B32]),
    "linalg.solve_triangular": (
        lambda L, t, b, **o: L.linalg.solve_triangular(t, b, upper=False, **o), [LT, B32]),
    "linalg.svd": (lambda L, a, **o: L.linalg.svd(a, **o), [SQ]),
    "linalg.svdvals": (lambda L, a, **o: L.linalg.svdvals(a, **o), [SQ]),
    "linalg.tensorinv": (lambda L, a, **o: L.linalg.tensorinv(a.reshape(4, 2, 2), 1, **o), [SPD4]),
    "linalg.tensorsolve": (
        lambda L, a, s, **o: L.linalg.tensorsolve(a.reshape(2, 2, 4), s, **o), [SPD4, S]),
    "linalg.vecdot": (lambda L, x, y, **o: L.linalg.vecdot(x, y, dim=0, **o), [X, Y]),
    "linalg.vector_norm": (lambda L, x, **o: L.linalg.vector_norm(x, 1, 1, **o), [X]),
    F_ + "avg_pool2d": (lambda L, x, **o: L.nn.functional.avg_pool2d(x, 2, **o), [IMG]),
    F_ + "avg_pool3d": (lambda L, x, **o: L.nn.functional.avg_pool3d(x, 2, **o),
                        [rand_array((1, 2, 2, 4, 4), seed=16)]),
    F_ + "gelu": (lambda L, x, **o: L.nn.functional.gelu(x, **o), [X]),
    F_ + "linear": (lambda L, a, m, v, **o: L.nn.functional.linear(a, m.T, v, **o), [A, M, V]),
    F_ + "softplus": (lambda L, x, **o: L.nn.functional.softplus(x, 2.0, **o), [X]),
    # the nn functions of ops/nn_extra.py (issue 15)
    "threshold": (lambda L, x, **o: L.threshold(x, 0.1, 2.0, **o), [X]),
    "hardshrink": (lambda L, x, **o: L.hardshrink(x, 0.3, **o), [X]),
    "frobenius_norm": (lambda L, x, **o: L.frobenius_norm(x, [1], **o), [X]),
    "nuclear_norm": (lambda L, x, **o: L.nuclear_norm(x, **o), [X]),
    F_ + "hardshrink": (lambda L, x, **o: L.nn.functional.hardshrink(x, **o), [X]),
    F_ + "softshrink": (lambda L, x, **o: L.nn.functional.softshrink(x, 0.2, **o), [X]),
    F_ + "logsigmoid": (lambda L, x, **o: L.nn.functional.logsigmoid(x, **o), [X]),
    F_ + "normalize": (lambda L, x, **o: L.nn.functional.normalize(x, 1.0, 0, **o), [X]),
    **{"fft." + n: ((lambda n: lambda L, x, **o: getattr(L.fft, n)(x, **o))(n), [X])
       for n in "fft ifft rfft ihfft fft2 ifft2 rfft2 ihfft2 fftn ifftn rfftn ihfftn".split()},
    # c2r transforms of a one-sided spectrum (computed from X, so that grad=True reaches them)
    **{"fft." + n: ((lambda n: lambda L, x, **o: getattr(L.fft, n)(L.fft.rfft(x), **o))(n), [X])
       for n in "irfft hfft irfft2 hfft2 irfftn hfftn".split()},
    "fft.fftfreq": (lambda L, **o: L.fft.fftfreq(5, 0.5, **o), []),
    "fft.rfftfreq": (lambda L, **o: L.fft.rfftfreq(6, **o), []),
}


def _special_cases() -> dict:
    """torch.special's functions: unary ones on (0, 1), polynomials of degree 3, the rest."""
    def unary(name):
        return lambda L, x, **o: getattr(L.special, name)(x, **o)

    def poly(name):
        return lambda L, x, **o: getattr(L.special, name)(x, 3, **o)

    def binary(name):
        return lambda L, x, y, **o: getattr(L.special, name)(x, y, **o)

    cases = {}
    for name in ("airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 digamma entr erf erfc erfcx "
                 "erfinv exp2 expit expm1 gammaln i0 i0e i1 i1e log1p log_ndtr logit "
                 "modified_bessel_i0 modified_bessel_i1 modified_bessel_k0 modified_bessel_k1 "
                 "ndtr ndtri psi round scaled_modified_bessel_k0 scaled_modified_bessel_k1 sinc "
                 "spherical_bessel_j0").split():
        cases[name] = (unary(name), [U])
    for name in ("chebyshev_polynomial_t chebyshev_polynomial_u chebyshev_polynomial_v "
                 "chebyshev_polynomial_w hermite_polynomial_h hermite_polynomial_he "
                 "laguerre_polynomial_l legendre_polynomial_p shifted_chebyshev_polynomial_t "
                 "shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v "
                 "shifted_chebyshev_polynomial_w").split():
        cases[name] = (poly(name), [U])
    for name in "gammainc gammaincc xlog1py xlogy".split():
        cases[name] = (binary(name), [P, U])
    cases["zeta"] = (binary("zeta"), [G1, P])
    cases["polygamma"] = (lambda L, x, **o: L.special.polygamma(1, x, **o), [P])
    cases["multigammaln"] = (lambda L, x, **o: L.special.multigammaln(x, 2, **o), [G1])
    cases["logsumexp"] = (lambda L, x, **o: L.special.logsumexp(x, 1, **o), [X])
    return {"special." + k: v for k, v in cases.items()}


CASES.update(_special_cases())
# Their values differ from PyTorch's (another generator) or are undefined: compare shape and
# dtype with PyTorch, and values with brickwork's own call under the same seed.
RANDOM = {"bernoulli", "multinomial", "normal", "rand", "randint", "randn", "randperm", "empty"}
# The function itself (not out=) computes in a dtype PyTorch's kernel refuses: with out of
# that dtype PyTorch raises NotImplementedError and brickwork returns values.
# ldexp: PyTorch fails an internal assert writing a float32 result into a float64 out (a bug);
# brickwork casts, as for every other TensorIterator op.
DTYPE_DEVIATIONS = {("arange", "bool"), ("cumprod", "bool"), ("cumsum", "bool"),
                    ("linspace", "bool"), ("logspace", "bool"), ("nansum", "bool"),
                    ("nansum", "int32"), ("randperm", "bool"), ("ldexp", "float64")}
# Results brickwork cannot make: with or without out they raise NotImplementedError.
UNSUPPORTED: set = set()
pytestmark = [pytest.mark.filterwarnings(f"ignore:torch.{n} is deprecated")
              for n in ("ger", "qr", "triangular_solve", "range")]
# Functions PyTorch removed but keeps (with out=) to raise its migration message: both raise
# RuntimeError alike with and without out (test_removed_with_out).
REMOVED = {"lstsq": [SQ, SQ], "solve": [SQ, SQ], "symeig": [SPD], "matrix_rank": [SQ]}
# Sparse results: out= must be a sparse tensor (tested in tests/test_sparse_ops.py).
SPARSE_OUT = ("hspmm", "sspaddmm")
# out= that PyTorch's binding accepts, but whose kernel exists only on CUDA (the CPU reference
# cannot run it), so brickwork leaves it out: the SyncBatchNorm kernel batch_norm_elemt.
CUDA_ONLY_OUT = ("batch_norm_elemt",)
NAMESPACES = {"": brickwork, "linalg.": brickwork.linalg, F_: brickwork.nn.functional,
              "fft.": brickwork.fft, "special.": brickwork.special}


def _functions(module):
    for name in dir(module):
        fn = getattr(module, name)
        if not name.startswith("_") and callable(fn) and not inspect.isclass(fn):
            yield name, fn


def declares_out(fn) -> bool:
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def brickwork_out_functions() -> set:
    return {prefix + name for prefix, module in NAMESPACES.items()
            for name, fn in _functions(module) if declares_out(fn)} - set(REMOVED) \
        - set(SPARSE_OUT)


def _tuple(x):
    return tuple(x) if isinstance(x, tuple) else (x,)


def _run(name, lib, *, grad=False, make_out=None):
    """Run CASES[name] on ``lib``: (result without out, out given, result with out)."""
    fn, arrays = CASES[name]
    if name in UNSUPPORTED and lib is brickwork:
        pytest.skip(f"{name}: brickwork has no complex dtype yet (test_unsupported_with_out)")
    convert = to_brick if lib is brickwork else to_torch
    ins = [convert(a, grad and a.dtype.kind == "f") for a in arrays]
    lib.manual_seed(0)
    with lib.no_grad():
        ref = fn(lib, *ins)
    outs = make_out(lib, ref) if make_out else tuple(lib.empty(0, dtype=r.dtype) for r in
                                                     _tuple(ref))
    lib.manual_seed(0)
    got = fn(lib, *ins, out=outs if isinstance(ref, tuple) else outs[0])
    return ref, outs, got


def _same_values(b, t, b_ref, name, same_draws=True):
    if name in RANDOM:
        assert tuple(b.shape) == tuple(t.shape) and b.dtype.name == str(t.dtype)[6:]
        if name != "empty" and same_draws:
            np.testing.assert_array_equal(b._host(), b_ref._host().astype(b._data.dtype))
    else:  # within the tolerance of the dtype the result was computed in
        assert_close(b, t, *TOLERANCES.get(b_ref.dtype.name, (0, 0)), what=name)


def test_cases_cover_every_function_that_declares_out():
    assert brickwork_out_functions() == set(CASES)


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_is_written_and_returned(name):
    b_ref, b_out, b_got = _run(name, brickwork)
    t_ref, t_out, t_got = _run(name, torch)
    if isinstance(t_ref, tuple):
        assert type(b_got).__name__ == type(t_got).__name__  # e.g. return_types.max_out
        assert len(b_got) == len(b_out) and all(g is o for g, o in zip(b_got, b_out))
    else:
        assert b_got is b_out[0]
    for b, t, r in zip(b_out, t_out, _tuple(b_ref)):
        _same_values(b, t, r, name)
    # An out of the right shape keeps its storage: no warning, and an alias made before the
    # call (sharing the buffer, as a view does) sees the values.
    aliases = []

    def sized(lib, ref):
        outs = tuple(lib.full(r.shape, 7, dtype=r.dtype) for r in _tuple(ref))
        aliases.extend(o.detach() for o in outs)
        return outs

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "torch.chain_matmul is deprecated")  # as PyTorch's
        warnings.filterwarnings("ignore", "torch.range is deprecated")
        b_ref, b_out, _ = _run(name, brickwork, make_out=sized)
    for o, alias, r in zip(b_out, aliases, _tuple(b_ref)):
        if name != "empty":
            np.testing.assert_array_equal(o._host(), r._host())
            np.testing.assert_array_equal(alias._host(), r._host())


def _outcome(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(), None
        except Exception as e:  # noqa: BLE001 - the type and text are what is compared
            return None, e


def _compare_outcomes(name, b, t):
    (b_res, b_err), (t_res, t_err) = b, t
    if t_err is not None or b_err is not None:
        # brickwork names its own tensor types where PyTorch says torch.FloatTensor
        t_text = re.sub(r"torch\.(\w+Tensor)\b", r"brickwork.\1", str(t_err))
        assert (type(b_err).__name__, str(b_err)) == (type(t_err).__name__, t_text), name
        return False
    return True


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "int32", "bool"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_out_dtype_rules_match_torch(name, dtype):
    def make(lib, ref):
        return tuple(lib.empty(0, dtype=getattr(lib, dtype)) for _ in _tuple(ref))

    b = _outcome(lambda: _run(name, brickwork, make_out=make))
    t = _outcome(lambda: _run(name, torch, make_out=make))
    if (name, dtype) in DTYPE_DEVIATIONS:
        assert b[1] is None and t[1] is not None, "fixed? drop it from DTYPE_DEVIATIONS"
        return
    if _compare_outcomes(name, b, t):
        for bo, to, r in zip(b[0][1], t[0][1], _tuple(b[0][0])):
            _same_values(bo, to, r, name, same_draws=False)  # out's dtype draws differently


@requires_torch
@pytest.mark.parametrize("name", sorted(n for n, (_, a) in CASES.items()
                                        if any(x.dtype.kind == "f" for x in a)))
def test_requires_grad_error_matches_torch(name):
    b = _outcome(lambda: _run(name, brickwork, grad=True))
    t = _outcome(lambda: _run(name, torch, grad=True))
    if _compare_outcomes(name, b, t):
        assert not any(o.requires_grad for o in b[0][1])
    with brickwork.no_grad():  # without grad mode out= always works
        _run(name, brickwork, grad=True)


@requires_torch
@pytest.mark.parametrize("name", sorted(REMOVED))
def test_removed_with_out(name):
    for kw in ({}, {"out": "empty"}):
        errors = []
        for lib, convert in ((brickwork, to_brick), (torch, to_torch)):
            out = {"out": lib.empty(0)} if kw else {}
            with pytest.raises(RuntimeError, match="deprecated since version 1.9") as exc:
                getattr(lib, name)(*[convert(a) for a in REMOVED[name]], **out)
            errors.append(str(exc.value))
        assert errors[0] == errors[1]


# -- every PyTorch function with out= that brickwork has takes it ------------------------------
_SCALARS = {"Tensor": lambda: torch.zeros(()), "int": lambda: 0, "float": lambda: 0.0,
            "bool": lambda: False, "number": lambda: 1, "str": lambda: "", "SymInt": lambda: 0}
_NO_OUT = re.compile(r"unexpected keyword argument 'out'|unrecognized keyword arguments: out")


def _dummy(typ):
    s = str(typ)
    if s.startswith("Optional["):
        return None
    m = re.fullmatch(r"List\[(?:Optional\[)?(\w+)\]?\]", s)
    return [_SCALARS.get(m.group(1), lambda: 1)()] if m else _SCALARS[s]()


def torch_takes_out(fn, aten_names) -> bool:
    """Whether PyTorch's Python function ``fn`` accepts ``out``.

    Python functions say so in their signature. Builtins have none: their ATen schemas name
    the candidates (an overload with a written-to keyword argument), and a call with dummy
    arguments tells whether Python's binding accepts ``out`` (it rejects an unknown keyword
    before running anything; any other outcome means the keyword was taken).
    """
    try:
        return "out" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        pass
    for aten in aten_names:
        for schema in torch._C._jit_get_schemas_for_operator(aten):
            outs = [a for a in schema.arguments
                    if a.kwarg_only and a.alias_info is not None and a.alias_info.is_write]
            if not outs:
                continue
            args = [_dummy(a.type) for a in schema.arguments
                    if not a.kwarg_only and not a.has_default_value()]
            kwargs = {a.name: _dummy(a.type) for a in schema.arguments if a.kwarg_only
                      and a not in outs and not a.has_default_value()}
            out = torch.empty(0) if len(outs) == 1 else tuple(torch.empty(0) for _ in outs)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn(*args, **kwargs, out=out)
            except TypeError as e:
                if _NO_OUT.search(str(e)) or not re.search(r"\bout = None", str(e)):
                    continue  # not this overload's binding; try the next one
            except Exception:  # noqa: BLE001 - the kernel ran, so out was accepted
                pass
            return True
    return False


@requires_torch
def test_out_exactly_where_torch_has_it():
    torch_modules = {"": torch, "linalg.": torch.linalg, F_: torch.nn.functional,
                     "fft.": torch.fft, "special.": torch.special}
    aten_prefix = {"": "", "linalg.": "linalg_", F_: "", "fft.": "fft_", "special.": "special_"}
    expected = set()
    for prefix, module in NAMESPACES.items():
        for name, _ in _functions(module):
            t_fn = getattr(torch_modules[prefix], name, None)
            if t_fn is not None and callable(t_fn) and not inspect.isclass(t_fn) and \
                    torch_takes_out(t_fn, [f"aten::{aten_prefix[prefix]}{name}",
                                           f"aten::{getattr(t_fn, '__name__', name)}"]):
                expected.add(prefix + name)
    have = brickwork_out_functions()
    expected -= set(REMOVED) | set(SPARSE_OUT) | set(CUDA_ONLY_OUT)  # (tested elsewhere)
    assert sorted(expected - have) == [], "PyTorch has out= here, brickwork does not"
    assert sorted(have - expected) == [], "brickwork has out= here, PyTorch does not"


# -- the rules one by one ----------------------------------------------------------------------
@requires_torch
def test_resize_warning_matches_torch():
    for lib in (brickwork, torch):
        x = lib.ones(2, 3)
        with pytest.warns(UserWarning) as record:
            r = lib.add(x, x, out=lib.zeros(5))
        assert tuple(r.shape) == (2, 3) and record[0].filename == __file__
        msg = str(record[0].message)
        if lib is torch:
            assert msg.startswith(b_msg)
        b_msg = msg
    with warnings.catch_warnings():  # an empty out is resized silently
        warnings.simplefilter("error")
        x = brickwork.ones(2, 3)
        assert brickwork.add(x, x, out=brickwork.empty(0)).shape == (2, 3)


_RESIZE_TEXTS = ("An output with one or more elements was resized",
                 "The number of elements in the out tensor")


@requires_torch
@pytest.mark.parametrize("name", sorted(set(CASES) - UNSUPPORTED - {"normal"}))
def test_resize_warned_exactly_where_torch_warns(name):
    """An out of another shape with elements: resized, with a warning only where PyTorch warns.

    (normal is left out: PyTorch warns for a tensor mean or std and not for its factory form,
    and brickwork, which cannot tell them apart here, never warns.)
    """
    def seven(lib, ref):
        return tuple(lib.zeros(7, dtype=r.dtype) for r in _tuple(ref))

    seen = []
    for lib in (brickwork, torch):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            ref, outs, _ = _run(name, lib, make_out=seven)
        seen.append([str(w.message)[:40] for w in record
                     if str(w.message).startswith(_RESIZE_TEXTS)])
        assert [tuple(o.shape) for o in outs] == [tuple(r.shape) for r in _tuple(ref)]
    assert seen[0] == seen[1]


@requires_torch
def test_arange_keeps_shape_when_the_count_matches():
    for lib in (brickwork, torch):
        o = lib.zeros(1, 3)
        assert lib.arange(3, out=o).shape == (1, 3)
        with pytest.warns(UserWarning, match="The number of elements in the out tensor"):
            assert lib.arange(3, out=lib.zeros(2)).shape == (3,)


@requires_torch
def test_dtype_error_text():
    for lib in (brickwork, torch):
        x = lib.ones(2)
        with pytest.raises(RuntimeError, match="^result type Float can't be cast to the "
                                               "desired output type Long$"):
            lib.add(x, x, out=lib.empty(2, dtype=lib.long))
        o = lib.empty(2)  # float out for an integer result: cast
        assert lib.add(lib.ones(2, dtype=lib.long), 1, out=o).tolist() == [2.0, 2.0]


def test_requires_grad_error_and_no_grad():
    x = brickwork.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^matmul\(\): functions with out=\.\.\. arguments "
                                           "don't support automatic differentiation, but one "
                                           "of the arguments requires grad.$"):
        brickwork.matmul(x, x, out=brickwork.empty(0))
    with pytest.raises(RuntimeError, match=r"^aten::zeros\(\): functions with out="):
        brickwork.zeros(3, out=brickwork.empty(3, requires_grad=True))
    with brickwork.no_grad():
        r = brickwork.empty(0)
        assert brickwork.mul(x, 2, out=r) is r and not r.requires_grad
        assert r.tolist() == [2.0, 2.0, 2.0]


@requires_torch
def test_max_with_dim_writes_values_and_indices():
    x = rand_array((3, 4))
    for lib, conv in ((brickwork, to_brick), (torch, to_torch)):
        v, i = lib.zeros(3), lib.zeros(3, dtype=lib.long)
        res = lib.max(conv(x), 1, out=(v, i))
        assert res.values is v and res.indices is i and res[0] is v
        assert type(res).__name__ == "max_out"
        assert v.tolist() == [float(m) for m in x.max(1)] and i.tolist() == list(x.argmax(1))
    with pytest.raises(TypeError, match="expected tuple of 2 elements but got 1"):
        brickwork.max(brickwork.ones(2, 2), 1, out=(brickwork.empty(0),))


@requires_torch
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_out_only_with_dim(name):
    for lib in (brickwork, torch):
        x = lib.ones(2, 3)
        for out in (lib.empty(0), (lib.empty(0), lib.empty(0, dtype=lib.long))):
            with pytest.raises(TypeError, match=f'^{name}\\(\\) missing 1 required positional '
                                                'arguments: "dim"$'):
                getattr(lib, name)(x, out=out)
        v, i = lib.empty(0), lib.empty(0, dtype=lib.long)
        assert getattr(lib, name)(x, 0, out=(v, i)).values is v and v.tolist() == [1.0] * 3


def test_views_of_out_see_the_write():
    base = brickwork.zeros(2, 3)
    row = base[1]
    alias = base.view(6)
    assert brickwork.add(brickwork.ones(3), 1, out=row) is row
    assert base.tolist() == [[0, 0, 0], [2, 2, 2]] and alias.tolist() == [0, 0, 0, 2, 2, 2]
    x = brickwork.arange(4.0)
    assert brickwork.mul(x, x, out=x) is x and x.tolist() == [0, 1, 4, 9]  # out aliases input


@requires_torch
def test_out_of_the_wrong_kind():
    for lib in (brickwork, torch):
        x = lib.ones(2)
        with pytest.raises(TypeError, match=r"^exp\(\): argument 'out' must be Tensor, not "
                                            r"tuple$"):
            lib.exp(x, out=(lib.empty(0),))
        with pytest.raises(TypeError):  # Tensor methods have no out=, only the functions
            x.add(x, out=lib.empty(0))


def test_out_on_another_device(sim_cuda):
    x = brickwork.ones(2)
    with pytest.raises(RuntimeError, match=r"^Expected all tensors to be on the same device, "
                                           r"but found at least two devices, cuda:0 and cpu!$"):
        brickwork.add(x, x, out=brickwork.empty(2, device="cuda:0"))
    o = brickwork.empty(0, device="cuda:1")  # factories make their result on out's device
    assert brickwork.ones(2, out=o) is o and o.device == brickwork.device("cuda:1")
    assert o.tolist() == [1.0, 1.0]
    same = brickwork.empty(2, device="cuda:1")  # written on its own GPU, cuda:0 current
    assert brickwork.add(o, o, out=same) is same and same.tolist() == [2.0, 2.0]
    from brickwork.device import device_of_array

    assert device_of_array(same._data) == brickwork.device("cuda:1")


def test_factories_take_dtype_from_out():
    o = brickwork.empty(0, dtype=brickwork.int64)
    assert brickwork.full((2,), 3, out=o).dtype == brickwork.int64 and o.tolist() == [3, 3]
    s = brickwork.empty(0, dtype=brickwork.float64)
    assert brickwork.sum(brickwork.ones(2, 2), 0, out=s).dtype == brickwork.float64


@requires_torch
def test_out_write_is_an_inplace_update():
    for lib in (brickwork, torch):
        x = lib.ones(3)
        for o in (lib.empty(3), lib.empty(0)):  # written in place, or resized: one update
            lib.add(x, x, out=o)
            assert o._version == 1
        with pytest.raises(RuntimeError, match="^unsupported operation: more than one element"):
            lib.add(x, x, out=lib.zeros(1).expand(3))
        a = lib.ones(3, requires_grad=True)
        b = a.exp()  # exp saves its result for backward: overwriting it must be noticed
        with lib.no_grad():
            lib.mul(x, 2, out=b)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            b.sum().backward()


def test_several_outputs_written_without_torch():
    x = brickwork.tensor([[1.0, 3.0, 2.0], [-4.0, 0.5, 8.0]])
    v, i = brickwork.empty(0), brickwork.empty(0, dtype=brickwork.long)
    res = brickwork.cummax(x, 1, out=(v, i))
    assert type(res).__name__ == "cummax_out" and res.values is v and res.indices is i
    np.testing.assert_array_equal(v.numpy(), np.maximum.accumulate(x.numpy(), axis=1))
    assert i.tolist() == [[0, 1, 1], [0, 1, 2]]
    m, e = brickwork.empty(2, 3), brickwork.empty(2, 3, dtype=brickwork.int32)
    res = brickwork.frexp(x, out=(m, e))
    assert type(res).__name__ == "frexp_out" and res.mantissa is m and res.exponent is e
    want_m, want_e = np.frexp(x.numpy())
    np.testing.assert_array_equal(m.numpy(), want_m)
    np.testing.assert_array_equal(e.numpy(), want_e)
    with pytest.raises(RuntimeError, match="^torch.frexp\\(\\) expects exponent to have int "
                                           "dtype but got long int$"):
        brickwork.frexp(x, out=(m, brickwork.empty(0, dtype=brickwork.long)))
    with pytest.raises(RuntimeError, match="out_int32 flag is True$"):
        brickwork.searchsorted(brickwork.arange(3.0), x, out_int32=True,
                               out=brickwork.empty(0, dtype=brickwork.long))


def test_new_functions_write_out_without_torch():
    x = brickwork.tensor([[3.0, 1.0, 2.0], [-4.0, 8.0, 0.5]])
    v, i = brickwork.empty(0), brickwork.empty(0, dtype=brickwork.long)
    res = brickwork.kthvalue(x, 2, 1, out=(v, i))
    assert type(res).__name__ == "kthvalue_out" and res.values is v and res.indices is i
    assert v.tolist() == [2.0, 0.5] and i.tolist() == [2, 2]
    lo, hi = brickwork.empty(0), brickwork.empty(0)
    res = brickwork.aminmax(x, dim=0, out=(lo, hi))
    assert res.min is lo and res.max is hi
    assert lo.tolist() == [-4.0, 1.0, 0.5] and hi.tolist() == [3.0, 8.0, 2.0]
    o = brickwork.empty(0, dtype=brickwork.float64)
    p = brickwork.tensor([[0.1, 0.2, 0.7]])  # computed in out's dtype, as PyTorch does
    assert brickwork.nanmean(p, 1, out=o) is o and o.dtype == brickwork.float64
    assert o.tolist() == [p.numpy().astype(np.float64).mean()]
    with pytest.raises(RuntimeError, match="^nansum: provided dtype must match dtype of result. "
                                           "Got Float and Double.$"):
        brickwork.nanmean(p, 1, dtype=brickwork.float32, out=o)
    with pytest.raises(NotImplementedError, match="^\"nansum_cpu\" not implemented for 'Long'$"):
        brickwork.nanmean(x, 1, out=brickwork.empty(0, dtype=brickwork.long))
    with pytest.raises(RuntimeError, match="^isposinf does not support non-boolean outputs.$"):
        brickwork.isposinf(x, out=brickwork.empty(0))


@requires_torch
def test_out_kind_is_checked_before_grad_and_nonzero_static_has_no_grad():
    for lib in (brickwork, torch):
        x = lib.tensor([[0.0, 1.0, 1.0]], requires_grad=True)
        with pytest.raises(TypeError, match=r"^mode\(\): argument 'out' must be tuple of "
                                            "Tensors, not Tensor$"):
            lib.mode(x, 1, out=lib.empty(0))
        with pytest.raises(TypeError, match=r"^nonzero_static\(\): argument 'out' must be "
                                            "Tensor, not tuple$"):
            lib.nonzero_static(x, size=4, out=(lib.empty(0, dtype=lib.long),))
        o = lib.empty(0, dtype=lib.long)
        assert lib.nonzero_static(x, size=3, out=o) is o
        assert o.tolist() == [[0, 1], [0, 2], [-1, -1]]
