"""brickwork.cuda.elementwise on the CPU: fallbacks vs composed ops, gradients, caching, errors.

The CUDA kernels themselves run only in tests/cuda; here a stand-in CuPy module checks that
kernels are built with the right parameter lists and only once.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import kernels
from brickwork.autograd import gradcheck
from helpers import check_op, rand_array


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _swish_bwd(gy, x):
    s = _sig(x)
    return gy * s * (1 + x * (1 - s))


SWISH_FWD = "y = x / (1 + exp(-x))"
SWISH_BWD = "T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))"
swish = brickwork.cuda.elementwise("swish", SWISH_FWD, SWISH_BWD,
                                   cpu_forward=lambda x: x * _sig(x), cpu_backward=_swish_bwd)


def _fma_bwd(gy, a, b, c):
    return gy * b, gy * a, gy


fma = brickwork.cuda.elementwise("fused_mul_add", "y = a * b + c",
                                 "ga = gy * b; gb = gy * a; gc = gy", inputs=("a", "b", "c"),
                                 cpu_forward=lambda a, b, c: a * b + c, cpu_backward=_fma_bwd)


def _swish(lib, x):
    return swish(x) if lib is brickwork else x * lib.sigmoid(x)


@pytest.mark.parametrize("shape", [(), (0,), (7,), (3, 4, 5)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_swish_matches_composed(shape, dtype):
    out = check_op(_swish, [rand_array(shape, dtype, low=-6, high=6)])
    assert out[0].grad_fn.name() == "SwishBackward0"


def test_swish_matches_numpy_without_torch():
    x = rand_array((4, 3), "float32", low=-5, high=5)
    y = swish(brickwork.tensor(x))
    assert y.dtype == brickwork.float32
    np.testing.assert_allclose(y.numpy(), x * _sig(x), rtol=1e-6)


@pytest.mark.parametrize("shapes", [[(3, 4)] * 3, [(2, 1, 4), (3, 1), (4,)], [(), (5,), ()]])
def test_three_inputs_broadcast(shapes):
    check_op(lambda lib, a, b, c: fma(a, b, c) if lib is brickwork else a * b + c, shapes)


def test_mixed_dtypes_promote():
    a = brickwork.ones(3, dtype=brickwork.float32, requires_grad=True)
    b = brickwork.ones(3, dtype=brickwork.float64, requires_grad=True)
    c = brickwork.zeros(3, dtype=brickwork.float32)
    y = fma(a, b, c)
    assert y.dtype == brickwork.float64
    y.sum().backward()
    assert a.grad.dtype == brickwork.float32 and b.grad.dtype == brickwork.float64


def test_gradcheck_float64():
    x = brickwork.randn(3, 4, dtype=brickwork.float64, requires_grad=True)
    assert gradcheck(swish, (x,))
    a, b, c = (brickwork.randn(*s, dtype=brickwork.float64, requires_grad=True)
               for s in [(2, 3), (3,), (2, 1)])
    assert gradcheck(fma, (a, b, c))


def test_no_grad_saves_nothing():
    y = swish(brickwork.randn(3))
    assert y.grad_fn is None and not y.requires_grad


def test_function_class_and_apply():
    assert issubclass(swish.function, brickwork.autograd.Function)
    x = brickwork.randn(4, requires_grad=True)
    assert brickwork.equal(swish.function.apply(x), swish(x))


def test_in_a_module_and_optimizer():
    net = brickwork.nn.Sequential(brickwork.nn.Linear(4, 3))
    x = brickwork.randn(5, 4)
    swish(net(x)).sum().backward()
    assert net[0].weight.grad is not None and net[0].weight.grad.shape == (3, 4)


def test_no_cpu_fallback_error():
    op = brickwork.cuda.elementwise("gpu_only_cube", "y = x * x * x", "gx = 3 * gy * x * x")
    with pytest.raises(RuntimeError, match="'gpu_only_cube' got a CPU tensor but has no "
                                           "cpu_forward"):
        op(brickwork.randn(3))
    half = brickwork.cuda.elementwise("half_cube", "y = x * x * x", "gx = 3 * gy * x * x",
                                      cpu_forward=lambda x: x ** 3)
    y = half(brickwork.randn(3, requires_grad=True))
    with pytest.raises(RuntimeError, match="no cpu_backward"):
        y.sum().backward()


def test_wrong_number_of_cpu_grads():
    op = brickwork.cuda.elementwise("bad_grads", "y = a + b", "ga = gy; gb = gy",
                                    inputs=("a", "b"), cpu_forward=np.add,
                                    cpu_backward=lambda gy, a, b: gy)
    y = op(brickwork.ones(2, requires_grad=True), brickwork.ones(2))
    with pytest.raises(RuntimeError, match="returned 1 gradient"):
        y.sum().backward()


def test_same_definition_is_cached():
    again = brickwork.cuda.elementwise("swish", SWISH_FWD, SWISH_BWD,
                                       cpu_forward=swish.cpu_forward, cpu_backward=_swish_bwd)
    assert again is swish and again.function is swish.function
    other = brickwork.cuda.elementwise("swish", SWISH_FWD + ";", SWISH_BWD)
    assert other is not swish


class _FakeCupy:
    """Stands in for CuPy to record how kernels are built (no CUDA here)."""

    def __init__(self):
        self.built = []

    def ElementwiseKernel(self, in_params, out_params, body, name, **kw):  # noqa: N802
        self.built.append((in_params, out_params, body, name, kw))
        return object()


def test_kernels_built_once_with_type_placeholders(monkeypatch):
    fake = _FakeCupy()
    monkeypatch.setattr(kernels, "cupy_module", lambda: fake)
    monkeypatch.setattr(kernels, "_KERNELS", {})
    k1, k2 = fma.forward_kernel(), fma.forward_kernel()
    b1 = fma.backward_kernel()
    assert k1 is k2 and b1 is fma.backward_kernel() and b1 is not k1
    assert [b[:2] for b in fake.built] == [("T a, T b, T c", "T y"),
                                           ("T gy, T a, T b, T c", "T ga, T gb, T gc")]
    assert fake.built[0][3] == "brickwork_fused_mul_add_forward"
    assert fake.built[1][2] == "ga = gy * b; gb = gy * a; gc = gy"


def test_kernel_without_cupy_says_what_to_install(monkeypatch):
    monkeypatch.setattr(kernels, "cupy_module", lambda: None)
    monkeypatch.setattr(kernels, "_KERNELS", {})
    with pytest.raises(RuntimeError, match=r"needs a CUDA GPU.*pip install brickwork\[cuda12\]"):
        swish.forward_kernel()


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(name="1bad"), ValueError, "C identifier"),
    (dict(name="for"), ValueError, "C identifier"),
    (dict(forward=""), TypeError, "forward must be a non-empty"),
    (dict(backward=None), TypeError, "backward must be a non-empty"),
    (dict(inputs=("y",)), ValueError, "input names"),
    (dict(inputs=("x", "x")), ValueError, "distinct"),
    (dict(inputs=("x", "gx")), ValueError, "distinct"),
    (dict(inputs=()), ValueError, "one or more"),
    (dict(inputs=("_x",)), ValueError, "input names"),
    (dict(cpu_forward=3), TypeError, "cpu_forward must be callable"),
])
def test_definition_errors(kwargs, exc, match):
    args = dict(name="op", forward="y = x", backward="gx = gy")
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        brickwork.cuda.elementwise(args.pop("name"), args.pop("forward"), args.pop("backward"),
                                   **args)


def test_call_errors():
    with pytest.raises(TypeError, match=r"takes 1 tensor argument\(s\) \('x',\), but 2"):
        swish(brickwork.ones(2), brickwork.ones(2))
    with pytest.raises(TypeError, match="argument 'x' must be a Tensor, not float"):
        swish(1.0)
    with pytest.raises(TypeError, match="must be a floating-point tensor, got brickwork.int64"):
        swish(brickwork.arange(3))


def _example_ops():
    import importlib.util
    import os

    root = os.path.join(os.path.dirname(__file__), "..")
    ops = [swish, fma]
    for rel in ("examples/fused_layers.py", "benchmarks/gpu.py"):
        spec = importlib.util.spec_from_file_location(rel.replace("/", "_")[:-3],
                                                      os.path.join(root, rel))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        ops += [v for v in vars(mod).values() if isinstance(v, kernels.ElementwiseOp)]
        if hasattr(mod, "_swish_op"):
            ops.append(mod._swish_op(brickwork))
    return ops


def _cuda_source(ops) -> str:
    """Each op's bodies inside kernels shaped like CuPy's ElementwiseKernel, for T = float and
    double: inputs as ``const T`` values, outputs as ``T &`` references."""
    parts = ["#include <cuda_runtime.h>"]
    for ctype in ("float", "double"):
        parts.append(f"namespace k_{ctype} {{\ntypedef {ctype} T;")
        for op in ops:
            for part, (ins, outs), body in (("forward", op._fwd_params, op.forward_source),
                                           ("backward", op._bwd_params, op.backward_source)):
                in_names = [p.split()[-1] for p in ins.split(", ")]
                out_names = [p.split()[-1] for p in outs.split(", ")]
                args = ", ".join([f"const T* p_{n}" for n in in_names]
                                 + [f"T* p_{n}" for n in out_names] + ["int n"])
                reads = " ".join(f"const T {n} = p_{n}[i];" for n in in_names)
                refs = " ".join(f"T &{n} = p_{n}[i];" for n in out_names)
                parts.append(f"__global__ void {op.name}_{part}({args}) {{\n"
                             f"  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
                             f"  if (i >= n) return;\n  {reads} {refs}\n  {body};\n}}")
        parts.append("}")
    return "\n".join(parts)


def test_kernel_bodies_compile_as_cuda(tmp_path):
    """The CUDA C of every fused op in the tests, examples and benchmarks compiles with nvcc.

    CI has no GPU, so nothing else checks the C itself (the simulated backend evaluates the
    bodies' formulas); nvcc compiles without one.
    """
    import shutil
    import subprocess

    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc (the CUDA toolkit) is not installed")
    ops = {op.name: op for op in _example_ops()}
    assert {"swish", "fused_mul_add", "center", "bias_relu"} <= set(ops)
    src = tmp_path / "bodies.cu"
    src.write_text(_cuda_source(list(ops.values())))
    done = subprocess.run([nvcc, "-c", str(src), "-o", str(tmp_path / "bodies.o")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
