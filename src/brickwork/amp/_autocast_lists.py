"""Which ops autocast casts, and how: PyTorch's per-device op lists.

PyTorch registers a cast policy per ATen op (``aten/src/ATen/autocast_mode.cpp`` and
``autocast_mode.h``); the Python functions reach those ops, directly or through a
decomposition. Here each policy is keyed by the Python name that reaches it: ``torch.X``,
``Tensor.X``, ``F.X`` (``nn.functional``), ``linalg.X``, ``fft.X``, ``special.X``.

Policies (``CastPolicy`` in PyTorch):

- ``lower``: cast floating-point arguments (not float64) to the autocast dtype;
- ``fp32``: cast them to float32;
- ``fp32_opt`` (``fp32_set_opt_dtype``): run in float32 unless an explicit ``dtype`` is given,
  and only when the first argument is eligible;
- ``fp32_append`` (``norm``): as ``fp32_opt`` (run in float32 when the first argument is
  eligible and no dtype is given);
- ``promote``: run in the widest floating dtype among the arguments;
- ``banned``: raise (``binary_cross_entropy`` under CUDA autocast);
- ``keep_input``: normalizations whose PyTorch kernels accept a lower-precision input with
  float32 weights: computed in float32 and returned in the input's dtype;
- ``opaque``: ops that brickwork builds from listed ones but PyTorch runs as one kernel
  (``matrix_exp``): no casts, and their inner ops are not autocast;
- ``fp32_pad``: ``F.pad``, whose reflect/replicate modes reach the ``reflection_pad*`` and
  ``replication_pad*`` kernels that CPU autocast runs in float32.

Entries marked *via* are not on PyTorch's lists themselves: PyTorch implements them by
decomposing into listed ops (``einsum`` into ``bmm``, ``cross_entropy`` into ``log_softmax``
and ``nll_loss``, ``hstack`` into ``cat``...), so their results have the listed op's dtype.
The CPU ones were checked by running PyTorch's CPU autocast (tests/test_autocast.py compares
every entry).
"""
from __future__ import annotations


def _names(spec: str, *namespaces: str) -> list[str]:
    return [f"{ns}.{n}" for n in spec.split() for ns in namespaces]


def _table(*groups: tuple[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for policy, locations in groups:
        for loc in locations:
            out[loc] = policy
    return out


TF = ("torch", "Tensor")

# -- CPU (``TORCH_LIBRARY_IMPL(aten, AutocastCPU, m)``) ----------------------------------------
CPU = _table(
    ("lower", _names("mm bmm matmul addmm addbmm baddbmm", *TF)
     + _names("conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d prelu",
              "torch", "F")
     + _names("prelu", "Tensor") + _names("conv_tbc", "torch")
     + ["F.linear", "linalg.vecdot", "F.scaled_dot_product_attention", "Tensor.__matmul__",
        "Tensor.__rmatmul__"]
     # via mm/bmm/linear
     + _names("einsum tensordot chain_matmul rnn_tanh_cell rnn_relu_cell", "torch")
     + _names("inner", *TF) + ["linalg.multi_dot"]),
    ("fp32", _names("prod quantile nanquantile stft trace cholesky cholesky_inverse "
                    "cholesky_solve inverse lu_solve orgqr ormqr pinverse geqrf qr svd "
                    "triangular_solve lu", *TF)
     + _names("polar cdist view_as_complex grid_sampler fake_quantize_per_tensor_affine "
              "binary_cross_entropy_with_logits kl_div hinge_embedding_loss "
              "margin_ranking_loss poisson_nll_loss cosine_embedding_loss ctc_loss "
              "triplet_margin_loss max_pool3d", "torch")
     + _names("avg_pool3d binary_cross_entropy grid_sample max_pool3d max_unpool2d max_unpool3d "
              "adaptive_avg_pool3d adaptive_max_pool3d fractional_max_pool2d "
              "fractional_max_pool3d mse_loss cosine_embedding_loss nll_loss "
              "hinge_embedding_loss poisson_nll_loss smooth_l1_loss cross_entropy l1_loss "
              "huber_loss margin_ranking_loss soft_margin_loss triplet_margin_loss "
              "multi_margin_loss ctc_loss kl_div multilabel_margin_loss "
              "binary_cross_entropy_with_logits", "F")
     + _names("fft ifft fft2 ifft2 fftn ifftn rfft irfft rfft2 irfft2 rfftn irfftn hfft ihfft",
              "fft")
     + _names("cond matrix_rank solve cholesky svdvals eigvals eigvalsh inv householder_product "
              "tensorinv tensorsolve qr cholesky_ex svd eig eigh lstsq inv_ex", "linalg")),
    ("fp32_pad", ["F.pad"]),
    ("keep_input", _names("layer_norm group_norm batch_norm instance_norm", "torch", "F")),
    ("opaque", _names("matrix_exp", *TF) + ["linalg.matrix_exp"]),
    ("promote", _names("stack cat concat concatenate", "torch") + _names("index_copy", *TF)
     # via cat
     + _names("hstack vstack dstack column_stack row_stack", "torch")),
)

# -- CUDA (``TORCH_LIBRARY_IMPL(aten, Autocast, m)``, the AT_FORALL_* lists) -------------------
CUDA = _table(
    ("lower", _names("mm bmm matmul addmm addbmm baddbmm addmv addr mv prelu", *TF)
     + _names("conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d prelu",
              "torch", "F")
     + _names("conv_tbc convolution einsum chain_matmul lstm_cell gru_cell rnn_tanh_cell "
              "rnn_relu_cell", "torch")
     + ["F.linear", "linalg.vecdot", "linalg.multi_dot", "F.scaled_dot_product_attention",
        "Tensor.__matmul__", "Tensor.__rmatmul__"]),
    ("fp32", _names("acos asin cosh erfinv exp expm1 log log10 log2 log1p reciprocal rsqrt sinh "
                    "tan pow dist renorm logsumexp", *TF)
     + ["Tensor.__pow__", "Tensor.__rpow__", "F.softplus"]
     + _names("layer_norm group_norm rms_norm", "torch", "F")
     + _names("frobenius_norm nuclear_norm cdist pdist cosine_similarity poisson_nll_loss "
              "cosine_embedding_loss hinge_embedding_loss kl_div margin_ranking_loss "
              "triplet_margin_loss binary_cross_entropy_with_logits", "torch")
     + _names("pdist cosine_similarity poisson_nll_loss cosine_embedding_loss nll_loss "
              "hinge_embedding_loss kl_div l1_loss smooth_l1_loss huber_loss mse_loss "
              "margin_ranking_loss multilabel_margin_loss soft_margin_loss "
              "triplet_margin_loss multi_margin_loss binary_cross_entropy_with_logits "
              "interpolate upsample upsample_nearest upsample_bilinear", "F")
     # via the listed ops: aliases, log_softmax + nll_loss, pow, norm, reciprocal
     + _names("arccos arcsin square", *TF)
     + ["F.cross_entropy", "F.normalize", "F.pairwise_distance", "torch.pairwise_distance",
        "special.erfinv", "special.expm1", "special.log1p", "special.logsumexp",
        "Tensor.__rtruediv__"]),
    ("fp32_opt", _names("prod softmax log_softmax cumprod cumsum sum", *TF)
     + _names("softmax log_softmax softmin", "F")
     + _names("vector_norm matrix_norm norm", "linalg")
     + _names("softmax log_softmax", "special")),
    ("fp32_append", _names("norm", *TF)),
    ("promote", _names("addcdiv addcmul atan2 arctan2 cross dot vdot scatter_add index_put", *TF)
     + _names("bilinear tensordot grid_sampler", "torch") + ["F.bilinear", "F.grid_sample"]
     + _names("inner", *TF)),  # via tensordot
    ("banned", ["F.binary_cross_entropy"]),
    ("keep_input", _names("batch_norm instance_norm", "torch", "F")),
    ("opaque", _names("matrix_exp", *TF) + ["linalg.matrix_exp"]),
)

POLICIES = {"cpu": CPU, "cuda": CUDA}

# PyTorch's message for the one banned op (CUDA autocast).
BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using "
    "torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")


def policies_by_location() -> dict[str, dict[str, str]]:
    """``{'torch.mm': {'cpu': 'lower', 'cuda': 'lower'}, ...}`` over both devices."""
    out: dict[str, dict[str, str]] = {}
    for dev, table in POLICIES.items():
        for loc, policy in table.items():
            out.setdefault(loc, {})[dev] = policy
    return out
