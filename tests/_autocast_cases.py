"""Arguments for every op on the autocast lists, for tests/test_autocast.py.

``CASES[name]`` is a list of builders ``(c) -> (args, kwargs)``; ``c`` makes the same tensors
for brickwork or PyTorch (``c.lib``) from fixed NumPy data, floating ones in ``c.dt`` unless a
builder asks for float32 (weights and running statistics of mixed-precision layers).
"""
from __future__ import annotations

import numpy as np


class Maker:
    """Deterministic tensors of one library, floating ones in ``dt``."""

    def __init__(self, lib, dt: str, device: str = "cpu") -> None:
        self.lib, self.dt, self.device = lib, dt, device
        self.rng = np.random.default_rng(0)

    def _t(self, arr, dt=None):
        lib = self.lib
        t = lib.tensor(arr, device=self.device)
        return t.to(getattr(lib, dt or self.dt)) if arr.dtype.kind == "f" else t

    def m(self, *shape, low=-1.0, high=1.0, dt=None):
        return self._t(self.rng.uniform(low, high, size=shape).astype(np.float32), dt)

    def pos(self, *shape):
        return self.m(*shape, low=0.5, high=1.5)

    def prob(self, *shape):
        return self.m(*shape, low=0.1, high=0.9)

    def f32(self, *shape, low=-1.0, high=1.0):
        return self.m(*shape, low=low, high=high, dt="float32")

    def spd(self, n=3):
        a = self.rng.uniform(-1, 1, size=(n, n))
        return self._t((a @ a.T + n * np.eye(n)).astype(np.float32))

    def lower_tri(self, n=3):
        return self._t(np.linalg.cholesky(self.spd(n).float().cpu().numpy()).astype(np.float32))

    def ints(self, values):
        return self.lib.tensor(np.array(values, dtype=np.int64), device=self.device)

    def pm1(self, n):
        return self._t(np.array([1.0, -1.0] * n, dtype=np.float32)[:n])

    def lu_factor(self):
        A = self.lib.tensor(np.array([[4.0, 1, 0], [1, 3, 1], [0, 1, 2]], np.float32),
                            device=self.device)
        return self.lib.linalg.lu_factor(A)


def _one(f):
    return [f]


def _u(c):
    return (c.m(3, 3, low=-0.9, high=0.9),), {}


def _p(c):
    return (c.pos(3, 3),), {}


def _pair(c):
    return (c.m(2, 3), c.m(2, 3)), {}


def _mat(c):
    return (c.m(3, 3),), {}


def _spd(c):
    return (c.spd(),), {}


def _list(c):
    return ([c.m(2, 3), c.m(2, 3)],), {}


def _dim0(c):
    return (c.m(3, 3), 0), {}


def _loss(c):
    return (c.m(2, 3), c.m(2, 3)), {}


CASES: dict[str, list] = {
    # lower precision
    "mm": _one(lambda c: ((c.m(3, 3), c.m(3, 3)), {})),
    "matmul": _one(lambda c: ((c.m(2, 3), c.m(3, 4)), {})),
    "__matmul__": _one(lambda c: ((c.m(2, 3), c.m(3, 4)), {})),
    "__rmatmul__": _one(lambda c: ((c.m(3, 4), c.m(2, 3)), {})),
    "bmm": _one(lambda c: ((c.m(2, 3, 3), c.m(2, 3, 3)), {})),
    "addmm": _one(lambda c: ((c.m(3, 3), c.m(3, 3), c.m(3, 3)), {})),
    "addbmm": _one(lambda c: ((c.m(3, 3), c.m(2, 3, 3), c.m(2, 3, 3)), {})),
    "baddbmm": _one(lambda c: ((c.m(2, 3, 3), c.m(2, 3, 3), c.m(2, 3, 3)), {})),
    "addmv": _one(lambda c: ((c.m(3), c.m(3, 3), c.m(3)), {})),
    "addr": _one(lambda c: ((c.m(3, 3), c.m(3), c.m(3)), {})),
    "mv": _one(lambda c: ((c.m(3, 3), c.m(3)), {})),
    "dot": _one(lambda c: ((c.m(3), c.m(3)), {})),
    "vdot": _one(lambda c: ((c.m(3), c.m(3)), {})),
    "inner": _one(lambda c: ((c.m(2, 3), c.m(4, 3)), {})),
    "einsum": _one(lambda c: (("ij,jk->ik", c.m(2, 3), c.m(3, 4)), {})),
    "tensordot": _one(lambda c: ((c.m(2, 3), c.m(3, 4)), {"dims": 1})),
    "chain_matmul": _one(lambda c: ((c.m(2, 3), c.m(3, 3), c.m(3, 4)), {})),
    "multi_dot": _one(lambda c: (([c.m(2, 3), c.m(3, 3), c.m(3, 4)],), {})),
    "vecdot": _one(lambda c: ((c.m(2, 3), c.m(2, 3)), {})),
    "linear": [lambda c: ((c.m(2, 3), c.m(4, 3), c.m(4)), {}),
               lambda c: ((c.m(2, 3), c.f32(4, 3)), {})],
    "bilinear": _one(lambda c: ((c.m(2, 3), c.m(2, 3), c.m(4, 3, 3), c.m(4)), {})),
    "conv1d": _one(lambda c: ((c.m(1, 2, 5), c.m(3, 2, 2), c.m(3)), {})),
    "conv2d": _one(lambda c: ((c.m(1, 2, 4, 4), c.m(3, 2, 2, 2)), {})),
    "conv3d": _one(lambda c: ((c.m(1, 2, 3, 3, 3), c.m(3, 2, 2, 2, 2)), {})),
    "conv_transpose1d": _one(lambda c: ((c.m(1, 2, 5), c.m(2, 3, 2)), {})),
    "conv_transpose2d": _one(lambda c: ((c.m(1, 2, 3, 3), c.m(2, 3, 2, 2)), {})),
    "conv_transpose3d": _one(lambda c: ((c.m(1, 2, 2, 2, 2), c.m(2, 3, 2, 2, 2)), {})),
    "conv_tbc": _one(lambda c: ((c.m(5, 1, 2), c.m(2, 2, 3), c.m(3)), {})),
    "convolution": _one(lambda c: ((c.m(1, 2, 5), c.m(3, 2, 2), None, [1], [0], [1], False,
                                    [0], 1), {})),
    "prelu": _one(lambda c: ((c.m(2, 3), c.m(1)), {})),
    "scaled_dot_product_attention": _one(lambda c: ((c.m(1, 2, 3), c.m(1, 2, 3),
                                                     c.m(1, 2, 3)), {})),
    "lstm_cell": _one(lambda c: ((c.m(2, 3), (c.m(2, 4), c.m(2, 4)), c.m(16, 3), c.m(16, 4)),
                                 {})),
    "gru_cell": _one(lambda c: ((c.m(2, 3), c.m(2, 4), c.m(12, 3), c.m(12, 4)), {})),
    "rnn_tanh_cell": _one(lambda c: ((c.m(2, 3), c.m(2, 4), c.m(4, 3), c.m(4, 4)), {})),
    "rnn_relu_cell": _one(lambda c: ((c.m(2, 3), c.m(2, 4), c.m(4, 3), c.m(4, 4)), {})),
    # float32: elementwise (CUDA)
    **{n: _one(_u) for n in "acos asin arccos arcsin erfinv cosh exp expm1 sinh tan square "
       "softplus".split()},
    **{n: _one(_p) for n in "log log10 log2 log1p reciprocal rsqrt".split()},
    "pow": _one(lambda c: ((c.m(3, 3), 2), {})),
    "__pow__": _one(lambda c: ((c.m(3, 3), 2), {})),
    "__rpow__": _one(lambda c: ((c.m(3, 3), 2), {})),
    "__rtruediv__": _one(lambda c: ((c.pos(3, 3), 1.0), {})),
    # float32: normalization, distances, reductions
    "layer_norm": _one(lambda c: ((c.m(2, 3), [3], c.f32(3), c.f32(3)), {})),
    "group_norm": _one(lambda c: ((c.m(2, 4), 2, c.f32(4), c.f32(4)), {})),
    "rms_norm": _one(lambda c: ((c.m(2, 3), [3], c.f32(3)), {})),
    "torch.batch_norm": _one(lambda c: ((c.m(4, 3), c.f32(3), c.f32(3), c.f32(3),
                                         c.f32(3, low=0.5, high=1.5), True, 0.1, 1e-5, False),
                                        {})),
    "torch.poisson_nll_loss": _one(lambda c: ((c.m(2, 3), c.pos(2, 3), True, False, 1e-8, 1),
                                              {})),
    "batch_norm": _one(lambda c: ((c.m(4, 3), c.f32(3), c.f32(3, low=0.5, high=1.5),
                                   c.f32(3), c.f32(3)), {"training": True})),
    "instance_norm": _one(lambda c: ((c.m(2, 3, 4),), {"weight": c.f32(3), "bias": c.f32(3)})),
    "torch.instance_norm": _one(lambda c: ((c.m(2, 3, 4), c.f32(3), c.f32(3), None, None, True,
                                            0.1, 1e-5, False), {})),
    "frobenius_norm": _one(lambda c: ((c.m(3, 3), [0, 1]), {})),
    "nuclear_norm": _one(_mat),
    "cosine_similarity": _one(_pair), "pairwise_distance": _one(_pair),
    "pdist": _one(_mat), "cdist": _one(_pair), "dist": _one(_pair),
    "normalize": _one(_mat),
    "renorm": _one(lambda c: ((c.m(3, 3), 2, 0, 1.0), {})),
    "logsumexp": _one(_dim0),
    "prod": _one(_mat), "sum": [_mat, lambda c: ((c.m(3, 3),), {"dtype": c.lib.float64})],
    "cumsum": _one(_dim0), "cumprod": _one(_dim0),
    "softmax": [_dim0, lambda c: ((c.m(3, 3), 0), {"dtype": c.lib.float64})],
    "log_softmax": _one(_dim0), "softmin": _one(_dim0),
    "norm": _one(_mat), "vector_norm": _one(_mat), "matrix_norm": _one(_mat),
    # float32: losses
    **{n: _one(_loss) for n in "mse_loss l1_loss smooth_l1_loss huber_loss kl_div".split()},
    "soft_margin_loss": _one(lambda c: ((c.m(2, 3), c.pm1(3).expand(2, 3)), {})),
    "binary_cross_entropy_with_logits": _one(lambda c: ((c.m(2, 3), c.prob(2, 3)), {})),
    "binary_cross_entropy": _one(lambda c: ((c.prob(2, 3), c.prob(2, 3)), {})),
    "poisson_nll_loss": _one(lambda c: ((c.m(2, 3), c.pos(2, 3)), {})),
    "cosine_embedding_loss": _one(lambda c: ((c.m(2, 3), c.m(2, 3), c.pm1(2)), {})),
    "hinge_embedding_loss": _one(lambda c: ((c.m(2, 3), c.pm1(3).expand(2, 3)), {})),
    "margin_ranking_loss": _one(lambda c: ((c.m(3), c.m(3), c.pm1(3)), {})),
    "triplet_margin_loss": _one(lambda c: ((c.m(2, 3), c.m(2, 3), c.m(2, 3)), {})),
    "nll_loss": _one(lambda c: ((c.m(3, 4), c.ints([0, 3, 1])), {})),
    "cross_entropy": _one(lambda c: ((c.m(3, 4), c.ints([0, 3, 1])), {})),
    "multi_margin_loss": _one(lambda c: ((c.m(3, 4), c.ints([0, 3, 1])), {})),
    "multilabel_margin_loss": _one(lambda c: ((c.m(2, 4), c.ints([[3, 0, -1, 1],
                                                                  [0, 1, 2, 3]])), {})),
    "ctc_loss": _one(lambda c: ((c.m(5, 1, 4), c.ints([[1, 2]]), c.ints([5]), c.ints([2])),
                                {})),
    # float32: resampling and pooling
    "interpolate": _one(lambda c: ((c.m(1, 2, 4),), {"scale_factor": 2})),
    "upsample": _one(lambda c: ((c.m(1, 2, 4),), {"scale_factor": 2})),
    "upsample_nearest": _one(lambda c: ((c.m(1, 2, 4),), {"scale_factor": 2})),
    "upsample_bilinear": _one(lambda c: ((c.m(1, 1, 3, 3),), {"scale_factor": 2})),
    "avg_pool3d": _one(lambda c: ((c.m(1, 1, 4, 4, 4), 2), {})),
    "max_pool3d": _one(lambda c: ((c.m(1, 1, 4, 4, 4), 2), {})),
    "adaptive_avg_pool3d": _one(lambda c: ((c.m(1, 1, 4, 4, 4), 2), {})),
    "adaptive_max_pool3d": _one(lambda c: ((c.m(1, 1, 4, 4, 4), 2), {})),
    "max_unpool2d": _one(lambda c: ((c.m(1, 1, 2, 2), c.ints([[[[0, 3], [8, 11]]]]), 2), {})),
    "max_unpool3d": _one(lambda c: ((c.m(1, 1, 1, 1, 1), c.ints([[[[[0]]]]]), 2), {})),
    "fractional_max_pool2d": _one(lambda c: ((c.m(1, 1, 4, 4), 2), {"output_size": 2})),
    "fractional_max_pool3d": _one(lambda c: ((c.m(1, 1, 4, 4, 4), 2), {"output_size": 2})),
    "pad": [lambda c: ((c.m(1, 2, 4), (1, 1)), {"mode": "reflect"}),
            lambda c: ((c.m(1, 2, 4, 4), (1, 1, 1, 1)), {"mode": "replicate"}),
            lambda c: ((c.m(1, 2, 4), (1, 1)), {}),
            lambda c: ((c.m(1, 2, 4), (1, 1)), {"mode": "circular"})],
    "grid_sample": _one(lambda c: ((c.m(1, 1, 3, 3), c.m(1, 2, 2, 2, low=-0.5, high=0.5)),
                                   {"align_corners": False})),
    "grid_sampler": _one(lambda c: ((c.m(1, 1, 3, 3), c.m(1, 2, 2, 2, low=-0.5, high=0.5), 0,
                                     0, False), {})),
    # float32: CPU linear algebra, spectral and the rest
    **{n: _one(_spd) for n in "cholesky inverse pinverse geqrf qr svd lu cond matrix_rank "
       "svdvals eigvalsh inv inv_ex cholesky_ex eigh eig eigvals trace matrix_exp".split()},
    "cholesky_inverse": _one(lambda c: ((c.lower_tri(),), {})),
    "cholesky_solve": _one(lambda c: ((c.m(3, 2), c.lower_tri()), {})),
    "triangular_solve": _one(lambda c: ((c.m(3, 2), c.lower_tri()), {"upper": False})),
    "lu_solve": _one(lambda c: ((c.m(3, 1),) + tuple(c.lu_factor()), {})),
    "orgqr": _one(lambda c: ((c.m(3, 3), c.m(2)), {})),
    "householder_product": _one(lambda c: ((c.m(3, 3), c.m(2)), {})),
    "ormqr": _one(lambda c: ((c.m(3, 3), c.m(3), c.m(3, 3)), {})),
    "solve": _one(lambda c: ((c.spd(), c.m(3, 2)), {})),
    "lstsq": _one(lambda c: ((c.spd(), c.m(3, 2)), {})),
    "tensorinv": _one(lambda c: ((c.spd(4).reshape(4, 2, 2),), {"ind": 1})),
    "tensorsolve": _one(lambda c: ((c.spd(6).reshape(2, 3, 6), c.m(2, 3)), {})),
    "quantile": _one(lambda c: ((c.m(5), 0.5), {})),
    "nanquantile": _one(lambda c: ((c.m(5), 0.5), {})),
    "stft": _one(lambda c: ((c.m(16), 8), {"return_complex": True})),
    "polar": _one(lambda c: ((c.pos(3), c.m(3)), {})),
    "view_as_complex": _one(lambda c: ((c.m(3, 2),), {})),
    "fake_quantize_per_tensor_affine": _one(lambda c: ((c.m(3), 0.1, 0, 0, 255), {})),
    **{n: _one(lambda c: ((c.m(8),), {})) for n in "fft ifft rfft ihfft hfft irfft".split()},
    **{n: _one(lambda c: ((c.m(4, 4),), {}))
       for n in "fft2 ifft2 fftn ifftn rfft2 rfftn irfft2 irfftn".split()},
    # promote
    **{n: [_list, lambda c: (([c.m(2, 3), c.f32(2, 3)],), {})]
       for n in "stack cat concat concatenate hstack vstack dstack column_stack row_stack"
       .split()},
    "index_copy": _one(lambda c: ((c.m(3, 2), 0, c.ints([0, 2]), c.f32(2, 2)), {})),
    "addcdiv": _one(lambda c: ((c.m(3), c.m(3), c.pos(3)), {})),
    "addcmul": _one(lambda c: ((c.m(3), c.m(3), c.f32(3)), {})),
    "atan2": _one(_pair), "arctan2": _one(_pair),
    "cross": _one(lambda c: ((c.m(2, 3), c.m(2, 3)), {"dim": 1})),
    "scatter_add": _one(lambda c: ((c.m(2, 3), 0, c.ints([[0, 1, 0]]), c.f32(1, 3)), {})),
    "index_put": _one(lambda c: ((c.m(3), (c.ints([0, 1]),), c.f32(2)), {})),
}


def resolve(lib, location: str):
    """The function at ``'torch.mm'``/``'Tensor.mm'``/``'F.linear'``/``'linalg.inv'``... in
    ``lib`` (brickwork or torch), or None when it has none."""
    ns, name = location.split(".", 1)
    owner = {"torch": lib, "Tensor": lib.Tensor, "F": lib.nn.functional, "linalg": lib.linalg,
             "fft": getattr(lib, "fft", None), "special": getattr(lib, "special", None)}[ns]
    return getattr(owner, name, None) if owner is not None else None
