"""Which functions take ``out=`` and how: each one's dtype rule and PyTorch's names for it.

``_out.py`` builds an ``OutSpec`` per entry of ``_RULES`` from these tables and does the writing;
this module only says, function by function, what PyTorch allows and how it words the refusal.
A new function that PyTorch gives ``out`` gets it by an entry in ``_RULES`` (tests/test_out.py
fails until it has one, and a case in its table).
"""
from __future__ import annotations

from .tensor import _SCALAR_TYPE_NAMES, _can_cast

# PyTorch's names for dtypes in its messages: C++ type names and legacy tensor type names.
_C_NAMES = {
    "float16": "c10::Half", "float32": "float", "float64": "double", "int8": "signed char",
    "int16": "short int", "int32": "int", "int64": "long int", "uint8": "unsigned char",
    "bool": "bool", "bfloat16": "c10::BFloat16", "complex64": "c10::complex<float>",
    "complex128": "c10::complex<double>", "uint16": "unsigned short",
    "uint32": "unsigned int", "uint64": "unsigned long",
}
_LEGACY_NAMES = {n: f"brickwork.{s}Tensor" for n, s in _SCALAR_TYPE_NAMES.items()}
_LEGACY_NAMES["bool"] = "CPUBoolType"  # what PyTorch prints for a bool tensor here


class _Rule:
    """How one function's ``out`` may differ in dtype from its result, and PyTorch's error.

    ``kind`` is ``"cast"`` (PyTorch's ``canCast``: no float to integer, nothing but bool to
    bool), ``"same"`` (exactly the result's dtype), ``"float"`` (any floating dtype) or
    ``"any"``. ``template`` is the message, formatted with the result's and out's dtype names:
    ``{res}``/``{out}`` (Float), ``{res_c}``/``{out_c}`` (float), ``{res_t}``/``{out_t}``
    (torch.FloatTensor). ``then`` is a second rule checked after this one passes.
    """

    __slots__ = ("kind", "template", "error", "then")

    def __init__(self, kind: str, template: str = "", error: type = RuntimeError,
                 then: "_Rule | None" = None) -> None:
        self.kind, self.template, self.error, self.then = kind, template, error, then

    def check(self, res, out) -> None:
        """Raise when an array of dtype ``res`` may not be written into one of dtype ``out``."""
        ok = (self.kind == "any" or res == out
              or (self.kind == "cast" and _can_cast(res, out))
              or (self.kind == "float" and out.kind == "f")
              or (self.kind == "complex" and out.kind == "c"))
        if not ok:
            raise self.error(self.template.format(
                res=_SCALAR_TYPE_NAMES[res.name], out=_SCALAR_TYPE_NAMES[out.name],
                res_c=_C_NAMES[res.name], out_c=_C_NAMES[out.name],
                res_t=_LEGACY_NAMES[res.name], out_t=_LEGACY_NAMES[out.name],
                i32=res.name == "int32"))
        if self.then is not None:
            self.then.check(res, out)


# Rules and messages measured on PyTorch 2.13 (tests/test_out.py compares them).
_CAST = _Rule("cast", "result type {res} can't be cast to the desired output type {out}")
_ANY = _Rule("any")
_FOUND = _Rule("same", "Found dtype {out} but expected {res}")
_EXPECTED = _Rule("same", "Expected out tensor to have dtype {res_c}, but got {out_c} instead")
_CAT = _Rule("cast", "torch.cat(): input types can't be cast to the desired output type {out}",
             TypeError)


def _same(template: str) -> _Rule:
    return _Rule("same", template)


_RULES = {
    # TensorIterator ops: any dtype the result can be cast to.
    **dict.fromkeys(
        "acos acosh add addcdiv addcmul addr arccos arccosh arcsin arcsinh arctan arctan2 "
        "arctanh asin asinh atan atan2 atanh bitwise_and bitwise_or bitwise_xor copysign cos "
        "cosh deg2rad diff digamma div divide eq erf erfc erfinv exp exp2 expm1 floor_divide "
        "fmax fmin fmod gcd ge ger greater greater_equal gt hypot i0 kron lcm le lerp less "
        "less_equal lgamma log log10 log1p log2 logaddexp logaddexp2 logical_and logical_not "
        "logical_or logical_xor logit lt maximum mean minimum mul multiply ne "
        "nextafter not_equal outer polygamma pow rad2deg reciprocal remainder rsqrt sigmoid "
        "sin sinc sinh sqrt square std sub subtract tan tanh true_divide var xlogy".split(),
        _CAST),
    # Computed in out's dtype (_FROM_OUT below), or sampled into it: any dtype is fine.
    **dict.fromkeys("arange bernoulli cumprod cumsum empty eye full linspace logspace nansum "
                    "ones prod rand randint randn randperm sum zeros".split(), _ANY),
    **dict.fromkeys("cat concat concatenate dstack hstack row_stack stack vstack".split(), _CAT),
    # Unary ops whose kernel keeps the input dtype: out must have it exactly.
    **dict.fromkeys("abs absolute bitwise_not ceil clamp clamp_max clamp_min clip fix floor "
                    "frac neg negative round sgn sign trunc nn.functional.gelu "
                    "nn.functional.softplus".split(), _FOUND),
    # The nn functions of ops/nn_extra.py (issue 15).
    "threshold": _CAST,
    **dict.fromkeys("hardshrink nn.functional.hardshrink nn.functional.softshrink".split(),
                    _FOUND),
    "nn.functional.logsigmoid": _same("expected scalar type {res} but found {out}"),
    "frobenius_norm": _EXPECTED,
    "nuclear_norm": _same("linalg.matrix_norm expected out tensor dtype {res} but got: {out}"),
    **dict.fromkeys(
        "addmm addmv argmax argmin argsort baddbmm bmm cross gather index_add inverse isin "
        "log_softmax lu_solve matmul mm mv norm renorm scatter scatter_add softmax "
        "take_along_dim tril triu linalg.cholesky linalg.cross linalg.det linalg.eigh "
        "linalg.eigvalsh linalg.inv linalg.lu linalg.lu_solve linalg.matmul linalg.qr "
        "linalg.slogdet linalg.solve linalg.svd linalg.svdvals linalg.vector_norm "
        "nn.functional.avg_pool2d nn.functional.avg_pool3d nn.functional.linear".split(),
        _EXPECTED),
    # Several results: one rule per output; max(x)/max(x, y) are TensorIterator ops.
    **dict.fromkeys("max min sort topk qr slogdet triangular_solve linalg.cholesky_ex "
                    "linalg.inv_ex linalg.lu_factor linalg.solve_ex".split(),
                    (_EXPECTED, _EXPECTED)),
    **dict.fromkeys("svd linalg.lu linalg.lu_factor_ex linalg.svd".split(), (_EXPECTED,) * 3),
    # Linear algebra that casts (canCast) into out, in its own words.
    **{n: _Rule("cast", prefix + ": Expected result to be safely castable from {res} dtype, "
                "but got result with dtype {out}")
       for n, prefix in (("cholesky", "cholesky"), ("cholesky_inverse", "cholesky_inverse"),
                         ("cholesky_solve", "cholesky_solve"), ("linalg.cond", "linalg.cond"),
                         ("linalg.householder_product", "torch.linalg.householder_product"),
                         ("linalg.matrix_rank", "torch.linalg.matrix_rank"),
                         ("linalg.pinv", "linalg.pinv"), ("linalg.tensorinv", "tensorinv"),
                         ("linalg.tensorsolve", "tensorsolve"))},
    **dict.fromkeys(("orgqr",), _Rule("cast", "torch.linalg.householder_product: Expected "
                                      "result to be safely castable from {res} dtype, but got "
                                      "result with dtype {out}")),
    "geqrf": tuple(_Rule("cast", "torch.geqrf: Expected " + n + " to be safely castable from "
                         "{res} dtype, but got " + n + " with dtype {out}") for n in ("a", "tau")),
    "ormqr": _same("torch.ormqr: Expected input and result to have the same dtype, but input "
                   "has dtype{res} and result has dtype {out}"),
    "lu_unpack": (_EXPECTED,) * 3,
    "linalg.ldl_factor": (_EXPECTED,) * 2,
    "linalg.ldl_factor_ex": (_EXPECTED,) * 3,
    "linalg.ldl_solve": _EXPECTED,
    **dict.fromkeys(("matrix_power", "linalg.matrix_power"), _Rule(
        "cast", "matrix_power: Expected result to be safely castable from {res} dtype, but got "
        "result with dtype {out}", then=_EXPECTED)),
    # (PyTorch calls the residuals "solution" too.)
    "linalg.lstsq": tuple(_Rule("cast", "torch.linalg.lstsq: Expected " + n + " to be safely "
                                "castable from {res} dtype, but got " + n + " with dtype {out}")
                          for n in ("solution", "solution", "rank", "singular_values")),
    # (brickwork has no complex dtype yet: both raise NotImplementedError before out is seen.)
    "linalg.eig": tuple(_Rule("cast", "torch.linalg.eig: Expected " + n + " to be safely "
                              "castable from {res} dtype, but got " + n + " with dtype {out}")
                        for n in ("eigenvalues", "eigenvectors")),
    "linalg.eigvals": _Rule("cast", "torch.linalg.eigvals: Expected eigenvalues to be safely "
                            "castable from {res} dtype, but got eigenvalues with dtype {out}"),
    # (cummax/cummin: the values' rule and the indices' alike, each with its own result dtype.)
    **dict.fromkeys(("cummax", "cummin", "logcumsumexp"),
                    _same("expected scalar_type {res} but found {out}")),
    "frexp": (_same("torch.frexp() expects mantissa to have dtype {res_c} but got {out_c}"),
              _same("torch.frexp() expects exponent to have int dtype but got {out_c}")),
    "histogram": tuple(_same("torch.histogram: input tensor and " + n + " tensor should have the "
                             "same dtype, but got input {res_c} and " + n + " {out_c}" + end)
                       for n, end in (("hist", ""), ("bin_edges", " for dimension 0"))),
    "histc": _same("torch.histogram: input tensor and hist tensor should have the same dtype, "
                   "but got input {res_c} and hist {out_c}"),
    **dict.fromkeys(("bucketize", "searchsorted"), _same(
        "torch.searchsorted(): output tensor's dtype is wrong, it can only be Int(int32) or "
        "Long(int64) depending on whether out_int32 flag is True, but we got output tensor's "
        "dtype {out} and out_int32 flag is {i32}")),
    **dict.fromkeys(("chain_matmul", "linalg.multi_dot"), _same(
        "multi_dot(): expected out tensor to have dtype {res_c} but got {out_c}")),
    **dict.fromkeys(("inner", "tensordot"), _same(
        "tensordot: Expected the output tensor to have dtype {res}, but got an output tensor "
        "with dtype {out}")),
    "addbmm": _same("self and mat2 must have the same dtype, but got {out} and {res}"),
    "float_power": _same("the output given to float_power has dtype {out} but the operation's "
                         "result requires dtype {res}"),
    "heaviside": _same("heaviside is not yet implemented for tensors with different dtypes."),
    "ldexp": _Rule("cast", "ldexp can't be cast to the desired output type {out}"),
    # PyTorch names the result's dtype twice here.
    "mvlgamma": _Rule("cast", "mvlgamma: result type {res} can't be cast to the desired output "
                              "type {res}"),
    "linalg.matrix_norm": _same("linalg.matrix_norm expected out tensor dtype {res} but got: "
                                "{out}"),
    "linalg.solve_triangular": _same("expected scalar type {res} but found {out}"),
    "linalg.vecdot": _same("linalg.vecdot: Expected out of dtype{res} but found {out}"),
    "nan_to_num": _same("nan_to_num: dtype of out: {out} should be same as input: {res}"),
    "narrow_copy": _same("Expected self.dtype() == output.dtype() to be true, but got false.  "
                         "(Could this error message be improved?  If so, please report an "
                         "enhancement request to PyTorch.)"),
    "signbit": _same("signbit does not support non-boolean outputs."),
    "vdot": _same("result dtype {out} does not match input dtype {res}"),
    **dict.fromkeys(("median", "nanmedian"), (
        _same("Expected tensor for 'values' to have the same type as tensor for argument #2 "
              "'self'; but type {out_t} does not equal {res_t} (while checking arguments for "
              "median)"),
        _same("Expected tensor for argument #1 'indices' to have scalar type Long; but got "
              "{out_t} instead (while checking arguments for median)"))),
    **{n: _same("Expected the dtype for input and out to match, but got {res} for input's "
                "dtype and {out} for out's dtype.") for n in ("amax", "amin")},
    **{n: _same(n + " only supports bool tensor for result, got: {out}") for n in ("all", "any")},
    **{n: _same(n + "(): self and result must have the same scalar type")
       for n in ("index_select", "masked_select")},
    "diag": _Rule("cast", "diag: result type {res} can't be cast to the desired out= type {out}",
                  then=_EXPECTED),
    "dot": _same("result dtype {out} does not match input dtype {res}"),
    "linalg.norm": _same("linalg.norm expected out tensor dtype {res} but got: {out}"),
    "logsumexp": _Rule("float", "logsumexp(): Expected floating point type for result tensor, "
                                "but got: {out}"),
    "multinomial": _same("multinomial expects Long tensor out, got: {out}"),
    # torch.special: TensorIterator ops under their special names, and the three that are not.
    **dict.fromkeys(["special." + n for n in (
        "airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t "
        "chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w digamma entr erf "
        "erfc erfcx erfinv exp2 expit expm1 gammainc gammaincc gammaln hermite_polynomial_h "
        "hermite_polynomial_he i0 i0e i1 i1e laguerre_polynomial_l legendre_polynomial_p log1p "
        "log_ndtr logit modified_bessel_i0 modified_bessel_i1 modified_bessel_k0 "
        "modified_bessel_k1 ndtr ndtri polygamma psi scaled_modified_bessel_k0 "
        "scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t shifted_chebyshev_polynomial_u "
        "shifted_chebyshev_polynomial_v shifted_chebyshev_polynomial_w sinc spherical_bessel_j0 "
        "xlog1py xlogy zeta").split()], _CAST),
    "special.round": _FOUND,
    "special.multigammaln": _Rule("cast", "mvlgamma: result type {res} can't be cast to the "
                                          "desired output type {res}"),
    "special.logsumexp": _Rule("float", "logsumexp(): Expected floating point type for result "
                                        "tensor, but got: {out}"),
    "nonzero": _same("nonzero: Expected out tensor to have scalar type Long but got scalar "
                     "type{out}"),
    "normal": _Rule("float", "\"normal_kernel_cpu\" not implemented for '{out}'",
                    NotImplementedError),
    "take": _same("take(): self and out expected to have the same dtype, but got self.dtype = "
                  "{res} and out.dtype = {out}"),
    "where": _same("Expected out type to be {res} but got {out}"),
    **dict.fromkeys("index_copy index_reduce msort scatter_reduce slice_scatter".split(),
                    _EXPECTED),
    "aminmax": (_EXPECTED, _EXPECTED),
    "column_stack": _CAT,
    "conj_physical": _FOUND,
    "angle": _CAST,
    **dict.fromkeys(("complex", "polar"), _same(
        "Expected object of scalar type {res} but got scalar type {out} for argument 'out'")),
    **dict.fromkeys(("igamma", "igammac"), _CAST),
    **{n: _same(n + " does not support non-boolean outputs.") for n in ("isposinf", "isneginf")},
    "kthvalue": (_same("output values must be of same type as input"),
                 _same("output indices must be of scalar type Long")),
    "mode": (_same("expected scalar type '{res}' but got '{out}' for values output"),
             _same("expected scalar type 'Long' but got '{out}' for indices output")),
    **dict.fromkeys(("quantile", "nanquantile"), _same(
        "quantile() out tensor must be same dtype as the input tensor")),
    "nonzero_static": _same("nonzero_static: Expected out tensor to have scalar type Long but "
                            "got scalar type{out}"),
    # PyTorch computes it as nansum into out, then divides: integer outs reach nansum's kernel.
    "nanmean": _Rule("float", "\"nansum_cpu\" not implemented for '{out}'", NotImplementedError),
    # torch.fft: complex results take any complex out (ifft/ihfft of a real input, computed as
    # a conjugate, only their own dtype); real (c2r) results any floating out. PyTorch names
    # the n-dimensional function in the 2-D ones' messages.
    **{"fft." + n: _Rule("complex", m + " expects a complex output tensor, but got {out}")
       for n, m in (("fft", "fft"), ("rfft", "rfft"), ("fft2", "fftn"), ("ifft2", "fftn"),
                    ("fftn", "fftn"), ("ifftn", "fftn"), ("rfft2", "rfftn"),
                    ("rfftn", "rfftn"), ("ihfft2", "ihfftn"), ("ihfftn", "ihfftn"))},
    **{"fft." + n: _Rule("complex", n + " expects a complex output tensor, but got {out}",
                         then=_FOUND) for n in ("ifft", "ihfft")},
    **{"fft." + n: _Rule("float", m + " expects a floating point output tensor, but got {out}")
       for n, m in (("irfft", "irfft"), ("hfft", "hfft"), ("irfft2", "irfftn"),
                    ("irfftn", "irfftn"), ("hfft2", "hfftn"), ("hfftn", "hfftn"))},
    **dict.fromkeys(("fft.fftfreq", "fft.rfftfreq"), _ANY),
    # (tensor_extra / torch_extra)
    **dict.fromkeys(("bitwise_left_shift", "bitwise_right_shift"), _CAST),
    "hash_tensor": _same("Expected result to be of dtype uint64, but got {out}"),
    "range": _ANY,
}

_FACTORIES = frozenset("arange empty eye full linspace logspace normal ones rand randint randn "
                       "randperm zeros range".split())
# Functions that compute in out's dtype when no dtype is given (PyTorch infers it from out),
# with PyTorch's error for a dtype that is not out's.
_FROM_OUT = {
    **dict.fromkeys(_FACTORIES, _Rule(
        "same", "dtype {res} does not match dtype of out parameter ({out})")),
    **dict.fromkeys("cumprod cumsum nansum prod sum".split(), _EXPECTED),
    "nanmean": _same("nansum: provided dtype must match dtype of result. Got {res} and {out}."),
    **dict.fromkeys(("fft.fftfreq", "fft.rfftfreq"), _Rule(
        "same", "dtype {res} does not match dtype of out parameter ({out})")),
}

# The op PyTorch names in the autograd error, where it is not the function's own name.
_GRAD_NAMES = {
    "absolute": "abs", "argsort": "sort", "clip": "clamp", "diag": "aten::diag_embed",
    "divide": "div", "true_divide": "div", "ger": "mul", "outer": "mul", "multiply": "mul",
    "negative": "neg", "norm": "linalg_vector_norm", "square": "pow", "subtract": "sub",
    "take_along_dim": "gather", "softmax": "aten::softmax", "log_softmax": "aten::log_softmax",
    "linalg.matmul": "matmul", "linalg.vector_norm": "linalg_vector_norm",
    **{n: "a" + n[3:] for n in "arccos arccosh arcsin arcsinh arctan arctan2 arctanh".split()},
    "chain_matmul": "mm", "linalg.multi_dot": "mm", "diff": "sub", "fix": "trunc",
    "float_power": "pow", "kron": "mul", "linalg.vecdot": "sum", "msort": "sort",
    "nanmean": "nansum", "conj_physical": "aten::conj_physical",
    "slice_scatter": "aten::slice_scatter",
    **dict.fromkeys(("matrix_power", "linalg.matrix_power"), "matmul"),
    **dict.fromkeys(("cross", "linalg.cross"), "linalg_cross"),
    **dict.fromkeys(("inverse", "linalg.inv", "linalg.inv_ex"), "linalg_inv_ex"),
    **dict.fromkeys(("linalg.cholesky", "linalg.cholesky_ex"), "linalg_cholesky_ex"),
    **dict.fromkeys(("linalg.lu_factor", "linalg.lu_factor_ex"), "linalg_lu_factor_ex"),
    **dict.fromkeys(("lu_solve", "linalg.lu_solve"), "linalg_lu_solve"),
    **dict.fromkeys(("qr", "linalg.qr"), "linalg_qr"),
    **dict.fromkeys(("slogdet", "linalg.slogdet"), "_linalg_slogdet"),
    **dict.fromkeys(("svd", "linalg.svd", "linalg.svdvals"), "_linalg_svd"),
    **dict.fromkeys(("linalg.eigh", "linalg.eigvalsh"), "_linalg_eigh"),
    **dict.fromkeys(("linalg.solve", "linalg.solve_ex"), "_linalg_solve_ex"),
    "linalg.det": "_linalg_det", "heaviside": "aten::heaviside", "histogram": "aten::histogram",
    "frobenius_norm": "norm", "nn.functional.logsigmoid": "log_sigmoid_forward",
    "nuclear_norm": None,  # a composite (linalg.matrix_norm) that PyTorch records into out
    **{n: "linalg_" + n[7:] for n in "linalg.eig linalg.householder_product linalg.lstsq "
       "linalg.lu linalg.pinv linalg.solve_triangular".split()},
    **dict.fromkeys("cat column_stack concat concatenate dstack hstack row_stack vstack"
                    .split(), "cat"),
    **{n: "aten::" + n for n in _FACTORIES if n != "normal"},
    **{n: "aten::" + n for n in "bitwise_and bitwise_not bitwise_or bitwise_xor floor_divide"
       .split()},
    # torch.special: its own kernels are named special_*, its aliases by what they alias, and
    # the Bessel functions and polynomials have no derivative (out= always goes through).
    **{"special." + n: "special_" + n for n in
       "entr erfcx i0e i1 i1e log_ndtr ndtri xlog1py zeta".split()},
    "special.expit": "sigmoid", "special.gammainc": "igamma", "special.gammaincc": "igammac",
    "special.gammaln": "lgamma", "special.multigammaln": "mvlgamma", "special.psi": "digamma",
    **dict.fromkeys("special." + n for n in
                    "airy_ai bessel_j0 bessel_j1 bessel_y0 bessel_y1 chebyshev_polynomial_t "
                    "chebyshev_polynomial_u chebyshev_polynomial_v chebyshev_polynomial_w "
                    "hermite_polynomial_h hermite_polynomial_he laguerre_polynomial_l "
                    "legendre_polynomial_p modified_bessel_i0 modified_bessel_i1 "
                    "modified_bessel_k0 modified_bessel_k1 ndtr scaled_modified_bessel_k0 "
                    "scaled_modified_bessel_k1 shifted_chebyshev_polynomial_t "
                    "shifted_chebyshev_polynomial_u shifted_chebyshev_polynomial_v "
                    "shifted_chebyshev_polynomial_w spherical_bessel_j0".split()),
    # Ops without a derivative: PyTorch lets even an out that requires grad through.
    **dict.fromkeys("all any argmax argmin eq ge greater greater_equal gt le less less_equal "
                    "logical_and logical_not logical_or logical_xor lt multinomial ne nonzero "
                    "nonzero_static not_equal linalg.norm".split()),
    **dict.fromkeys("bucketize gcd hash_tensor histc isin isneginf isposinf lcm searchsorted "
                    "signbit linalg.eigvals linalg.matrix_rank linalg.ldl_factor linalg.ldl_factor_ex "
                    "linalg.ldl_solve".split()),
    "orgqr": "linalg_householder_product",
    **{"fft." + n: "_fft_r2c" for n in ("fft", "rfft", "rfft2", "rfftn")},
    **{"fft." + n: "_fft_c2r" for n in ("irfft", "hfft", "irfft2", "irfftn", "hfft2", "hfftn")},
    **{"fft." + n: "_fft_c2c" for n in ("fft2", "ifft2", "fftn", "ifftn", "ihfft2", "ihfftn")},
    # ifft/ihfft of a real input end in conj_physical_out, which PyTorch lets record into out.
    **dict.fromkeys(("fft.ifft", "fft.ihfft")),
    # Composites that PyTorch records into out (brickwork writes it without a history).
    **dict.fromkeys("inner nanquantile quantile tensordot linalg.cond linalg.matrix_norm "
                    "linalg.tensorinv linalg.tensorsolve".split()),
}
# Kernels that check only out, not their inputs (composites such as softmax, and ops without
# a derivative whose out= path still refuses an out that requires grad).
_UNCHECKED_INPUTS = frozenset("diag softmax log_softmax bitwise_and bitwise_not bitwise_or "
                              "bitwise_xor floor_divide heaviside histogram conj_physical "
                              "slice_scatter".split())


# Functions whose out= exists only in their (values, indices) form, with a dim.
_OUT_NEEDS_DIM = frozenset(("median", "nanmedian"))

# Kernels that resize a non-empty out of another shape without PyTorch's deprecation warning.
_SILENT_RESIZE = _FACTORIES | {"addbmm", "bernoulli", "multinomial", "narrow_copy",
                               "nn.functional.logsigmoid"}
