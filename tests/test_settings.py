"""Process-wide settings, ``version``, ``accelerator``, ``backends``, ``compile`` and the
``cuda`` module, compared with PyTorch's CPU build (the reference installed here) and run on the
simulated CUDA backend.
"""
from __future__ import annotations

import importlib.util
import gc
import operator
import sys
import types
import warnings

import numpy as np
import pytest

import brickwork
import simcuda
from brickwork import _settings
from brickwork.backends import cudnn as bw_cudnn
from helpers import check_behaviour, torch

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the reference) not installed")
HAVE_CUPY = importlib.util.find_spec("cupy") is not None
# Behaviour without CUDA: brickwork without CuPy, compared with PyTorch's CPU-only build.
without_cuda = pytest.mark.skipif(HAVE_CUPY, reason="CuPy is installed: brickwork has CUDA")
vs_torch_cpu_build = pytest.mark.skipif(
    torch is None or HAVE_CUPY or torch.version.cuda is not None,
    reason="needs PyTorch's CPU-only build as the reference and brickwork without CuPy")


@pytest.fixture(autouse=True)
def restore_settings():
    """Put every global switch back after each test, in brickwork and in torch."""
    saved = (dict(_settings._deterministic), list(_settings._matmul_precision),
             dict(_settings._threads), brickwork.get_default_dtype(),
             {n: getattr(bw_cudnn, n) for n in ("enabled", "benchmark", "deterministic",
                                               "allow_tf32", "benchmark_limit")},
             dict(brickwork.backends.cuda.matmul._reduction))
    t_saved = None
    if torch is not None:
        t_saved = (torch.are_deterministic_algorithms_enabled(),
                   torch.is_deterministic_algorithms_warn_only_enabled(),
                   torch.get_float32_matmul_precision(), torch.get_default_dtype())
    yield
    _settings._deterministic.update(saved[0])
    _settings._matmul_precision[:] = saved[1]
    _settings._threads.clear()
    _settings._threads.update(saved[2])
    brickwork.set_default_dtype(saved[3])
    for n, v in saved[4].items():
        setattr(bw_cudnn, n, v)
    brickwork.backends.cuda.matmul._reduction.update(saved[5])
    brickwork.set_default_device(None)
    if t_saved is not None:
        torch.use_deterministic_algorithms(t_saved[0], warn_only=t_saved[1])
        torch.set_float32_matmul_precision(t_saved[2])
        torch.set_default_dtype(t_saved[3])
        torch.set_default_device(None)


# -- version ----------------------------------------------------------------------------------
VERSION_PAIRS = [
    ("2.13.0+cpu", "2.0"), ("2.13.0+cpu", "2.13.0"), ("2.13.0+cpu", "2.13.0+cpu"),
    ("2.13.0", (2, 13)), ("2.13.0", (2, 13, 1)), ("0.10.0", "0.9.9"), ("1.0", "1.0.0"),
    ("1.0rc1", "1.0"), ("1.0a2", "1.0b1"), ("1.0.dev3", "1.0a0"), ("1.0.post1", "1.0"),
    ("1.0+abc", "1.0+5"), ("2!1.0", "3.0"), ("0.1.0", "abc"), ("abc", "abd"), ("1.0", [1, 0]),
]


@requires_torch
@pytest.mark.parametrize("mine,other", VERSION_PAIRS)
def test_version_comparisons_match_torch(mine, other):
    from torch.torch_version import TorchVersion as T

    b, t = brickwork.version.TorchVersion(mine), T(mine)
    for op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq):
        assert op(b, other) == op(t, other), (mine, op, other)
    # PyTorch keeps str's != (so its "2.13.0" != "2.13" although they are ==); brickwork's !=
    # is the negation of its ==.
    assert (b != other) is (not b == other)


def test_version_module_and_dunder():
    v = brickwork.__version__
    assert isinstance(v, brickwork.version.TorchVersion) and isinstance(v, str)
    assert v == brickwork.version.__version__ == "0.1.0"
    assert v >= "0.1" and v < (1, 0) and v > "0.0.9" and v == (0, 1)
    assert "0.10" > brickwork.version.TorchVersion("0.9")  # as versions, not as strings
    with pytest.raises(TypeError):
        v > 2  # noqa: B015 - the comparison is what raises
    assert hash(v) == hash("0.1.0") and {v: 1}["0.1.0"] == 1
    assert brickwork.version.hip is None and brickwork.version.debug is False
    assert isinstance(brickwork.version.git_version, str)
    if not HAVE_CUPY:
        assert brickwork.version.cuda is None


def test_version_cuda_reads_cupy_runtime(sim_cuda, monkeypatch):
    monkeypatch.setattr(sim_cuda.cuda.runtime, "runtimeGetVersion", lambda: 12040, raising=False)
    assert brickwork.version.cuda == "12.4"


# -- accelerator ------------------------------------------------------------------------------
@vs_torch_cpu_build
@pytest.mark.parametrize("call", [
    lambda lib: lib.accelerator.is_available(),
    lambda lib: lib.accelerator.current_accelerator(),
    lambda lib: lib.accelerator.current_accelerator(check_available=True),
    lambda lib: lib.accelerator.device_count(),
    lambda lib: lib.accelerator.current_device_index(),
    lambda lib: lib.accelerator.set_device_index(0),
    lambda lib: lib.accelerator.synchronize(),
    lambda lib: lib.accelerator.device_index(0).__enter__(),
    lambda lib: lib.accelerator.device_index(None).__enter__(),
    lambda lib: lib.accelerator.memory_allocated(), lambda lib: lib.accelerator.memory_stats(),
    lambda lib: lib.accelerator.max_memory_reserved(0), lambda lib: lib.accelerator.empty_cache(),
    lambda lib: lib.accelerator.get_memory_info(), lambda lib: lib.accelerator.current_stream(),
    lambda lib: lib.accelerator.reset_peak_memory_stats(),
])
def test_accelerator_without_gpu_matches_torch_cpu_build(call):
    check_behaviour(call)


def test_accelerator_on_simulated_cuda(sim_cuda):
    acc = brickwork.accelerator
    assert acc.is_available() and acc.device_count() == 2
    assert acc.current_accelerator() == brickwork.device("cuda")
    assert acc.current_device_index() == 0
    acc.set_device_index(1)
    assert acc.current_device_index() == 1 == brickwork.cuda.current_device()
    acc.set_device_index("cuda:0")
    with acc.device_index(1):
        assert acc.current_device_index() == 1
        assert brickwork.zeros(2, device="cuda").device == brickwork.device("cuda:1")
    assert acc.current_device_index() == 0
    acc.synchronize()
    acc.synchronize("cuda:1")
    with pytest.raises(ValueError, match="doesn't match the current accelerator"):
        acc.set_device_index("cpu")
    with pytest.warns(FutureWarning):
        assert acc.current_device_idx() == 0
    with acc.device_index(1):
        x = brickwork.zeros(1 << 10, device="cuda")
    assert acc.memory_allocated(1) == brickwork.cuda.memory_allocated(1) >= 4 << 10
    assert acc.memory_allocated() == brickwork.cuda.memory_allocated(0)
    assert acc.memory_stats("cuda:1")["allocated_bytes.all.current"] >= 4 << 10
    assert acc.max_memory_allocated(1) >= 4 << 10 and acc.memory_reserved(1) >= 4 << 10
    acc.reset_peak_memory_stats(1)
    assert acc.max_memory_reserved(1) == acc.memory_reserved(1)
    acc.empty_cache()
    del x


# -- backends ---------------------------------------------------------------------------------
@vs_torch_cpu_build
def test_backend_defaults_match_torch_cpu_build():
    b, t = brickwork.backends, torch.backends
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(b.cudnn, name) == getattr(t.cudnn, name), name
    for name in ("allow_tf32", "allow_fp16_reduced_precision_reduction",
                 "allow_bf16_reduced_precision_reduction"):
        assert getattr(b.cuda.matmul, name) == getattr(t.cuda.matmul, name), name
    assert b.cudnn.is_available() is t.cudnn.is_available() is False
    assert b.cudnn.version() is t.cudnn.version() is None
    assert b.mps.is_available() is t.mps.is_available() is False
    assert b.mps.is_built() is t.mps.is_built() is False
    assert b.cuda.is_built() is t.cuda.is_built() is False
    assert b.cpu.get_cpu_capability() == t.cpu.get_cpu_capability()
    # brickwork uses neither oneDNN nor OpenMP itself (PyTorch does): documented differences.
    assert b.mkldnn.is_available() is False and b.openmp.is_available() is False
    assert isinstance(b.mkl.is_available(), bool)


@requires_torch
@pytest.mark.parametrize("stmt", [
    "lib.backends.cudnn.benchmark = 'x'", "lib.backends.cudnn.benchmark = 1",
    "lib.backends.cudnn.deterministic = None", "lib.backends.cudnn.enabled = 0",
    "lib.backends.cuda.matmul.allow_tf32 = 'x'", "lib.backends.cuda.matmul.foo = 1",
    "lib.backends.cuda.matmul.foo",
    "lib.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = 1",
    "lib.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = 'no'",
])
def test_backend_switches_validate_like_torch(stmt):
    def run(lib):
        exec(stmt, {"lib": lib})

    check_behaviour(run)


@requires_torch
def test_allow_tf32_and_matmul_precision_move_together_as_in_torch():
    def sequence(lib):
        seen = []
        lib.backends.cuda.matmul.allow_tf32 = True
        seen.append(lib.get_float32_matmul_precision())
        lib.backends.cuda.matmul.allow_tf32 = False
        seen.append(lib.get_float32_matmul_precision())
        for p in ("medium", "high", "highest"):
            lib.set_float32_matmul_precision(p)
            seen.append((lib.get_float32_matmul_precision(), lib.backends.cuda.matmul.allow_tf32))
        lib.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
        seen.append(lib.backends.cuda.matmul.allow_fp16_reduced_precision_reduction)
        lib.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = True
        return seen

    check_behaviour(sequence)
    check_behaviour(lambda lib: lib.set_float32_matmul_precision(1))


def test_matmul_precision_unknown_name_warns_and_keeps_setting():
    brickwork.set_float32_matmul_precision("medium")
    with pytest.warns(UserWarning, match="has no effect"):
        brickwork.set_float32_matmul_precision("fastest")
    assert brickwork.get_float32_matmul_precision() == "medium"
    # The setting permits TF32 but brickwork computes in full float32 whatever it says.
    a = np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32)
    got = (brickwork.tensor(a) @ brickwork.tensor(a)).numpy()
    np.testing.assert_allclose(got, a @ a, rtol=1e-6, atol=1e-6)


def test_cudnn_flags_context_restores():
    bw_cudnn.benchmark = True
    with bw_cudnn.flags(enabled=False, benchmark=False, deterministic=True):
        assert (bw_cudnn.enabled, bw_cudnn.benchmark, bw_cudnn.deterministic) == \
            (False, False, True)
    assert (bw_cudnn.enabled, bw_cudnn.benchmark, bw_cudnn.deterministic) == (True, True, False)
    bw_cudnn.foo = 1  # other attributes are free, as on PyTorch's module
    del bw_cudnn.foo


# -- default device and dtype -----------------------------------------------------------------
@vs_torch_cpu_build
@pytest.mark.parametrize("call", [
    lambda lib: (lib.set_default_device("cpu"), repr(lib.get_default_device()),
                 repr(lib.zeros(2).device), repr(lib.tensor([1.0]).device)),
    lambda lib: (lib.set_default_device(lib.device("cpu")), repr(lib.get_default_device())),
    lambda lib: (lib.set_default_device(None), repr(lib.get_default_device())),
    lambda lib: lib.set_default_device("foo:0x"),
    lambda lib: lib.set_default_device(1),
])
def test_default_device_on_cpu_matches_torch(call):
    check_behaviour(call)


@without_cuda
def test_default_device_meta_and_cuda_without_cupy():
    with pytest.raises(NotImplementedError, match="meta"):
        brickwork.set_default_device("meta")
    brickwork.set_default_device("cuda")
    try:  # never silently on the CPU: making a tensor fails, naming what to install
        for make in (lambda: brickwork.zeros(2), lambda: brickwork.tensor([1.0]),
                     lambda: brickwork.rand(2)):
            with pytest.raises(RuntimeError, match="CuPy"):
                make()
    finally:
        brickwork.set_default_device(None)
    assert brickwork.zeros(1).device == brickwork.device("cpu")


def test_default_device_on_simulated_cuda(sim_cuda):
    gpu1 = brickwork.device("cuda:1")
    brickwork.set_default_device("cuda:1")
    assert brickwork.get_default_device() == gpu1
    makers = [lambda: brickwork.zeros(2), lambda: brickwork.ones(2, 3), lambda: brickwork.empty(1),
              lambda: brickwork.full((2,), 3.0), lambda: brickwork.tensor([1.0, 2.0]),
              lambda: brickwork.arange(3), lambda: brickwork.rand(2), lambda: brickwork.randn(2),
              lambda: brickwork.as_tensor(np.ones(2)), lambda: brickwork.eye(2),
              lambda: brickwork.linspace(0, 1, 3)]
    for make in makers:
        t = make()
        assert t.device == gpu1
    with brickwork.device("cpu"):  # an explicit block still wins
        assert brickwork.zeros(1).device.type == "cpu"
        brickwork.set_default_device("cuda:0")  # replaces the base default under the block
        assert brickwork.zeros(1).device.type == "cpu"
    assert brickwork.zeros(1).device == brickwork.device("cuda:0")
    assert brickwork.from_numpy(np.ones(1)).device.type == "cpu"  # as in PyTorch
    brickwork.set_default_device("cuda")
    assert brickwork.get_default_device() == brickwork.device("cuda:0")
    brickwork.set_default_device("cpu")
    assert brickwork.zeros(1).device.type == "cpu" and brickwork.get_default_device().type == "cpu"
    brickwork.set_default_device(1)  # a bare index means the accelerator
    assert brickwork.get_default_device() == gpu1


@requires_torch
@pytest.mark.parametrize("arg", ["int32", "bool", None, float, "float"])
def test_set_default_dtype_errors_match_torch(arg):
    def run(lib):
        lib.set_default_dtype(getattr(lib, arg) if arg in ("int32", "bool") else arg)

    check_behaviour(run)


@requires_torch
@pytest.mark.parametrize("name", ["float16", "float64", "float32"])
def test_set_default_dtype_drives_float_literals_like_torch(name):
    def run(lib):
        lib.set_default_dtype(getattr(lib, name))
        return (lib.get_default_dtype() is getattr(lib, name), lib.tensor(1.5).dtype.is_floating_point,
                str(lib.tensor([1.5]).dtype).split(".")[-1], str(lib.zeros(1).dtype).split(".")[-1])

    check_behaviour(run)


# -- determinism ------------------------------------------------------------------------------
@requires_torch
def test_deterministic_switches_match_torch():
    def run(lib):
        seen = []
        for mode, warn_only in ((True, False), (True, True), (False, False), (False, True)):
            lib.use_deterministic_algorithms(mode, warn_only=warn_only)
            seen.append((lib.are_deterministic_algorithms_enabled(),
                         lib.is_deterministic_algorithms_warn_only_enabled()))
        return seen

    check_behaviour(run)
    for bad in (lambda lib: lib.use_deterministic_algorithms("x"),
                lambda lib: lib.use_deterministic_algorithms(1),
                lambda lib: lib.use_deterministic_algorithms(True, warn_only="x")):
        with pytest.raises(TypeError):
            bad(torch)
        with pytest.raises(TypeError, match="must be bool"):
            bad(brickwork)


def test_alert_not_deterministic_raises_or_warns():
    _settings.alert_not_deterministic("index_add_cuda_")  # off: nothing happens
    brickwork.use_deterministic_algorithms(True)
    with pytest.raises(RuntimeError, match="index_add_cuda_ does not have a deterministic"):
        _settings.alert_not_deterministic("index_add_cuda_")
    brickwork.use_deterministic_algorithms(True, warn_only=True)
    with pytest.warns(UserWarning, match="deterministic"):
        _settings.alert_not_deterministic("index_add_cuda_")


# -- threads ----------------------------------------------------------------------------------
@requires_torch
@pytest.mark.parametrize("call", [
    lambda lib: lib.set_num_threads(0), lambda lib: lib.set_num_threads(-2),
    lambda lib: lib.set_num_threads(2.0), lambda lib: lib.set_num_threads(True),
    lambda lib: lib.set_num_threads("a"), lambda lib: lib.set_num_interop_threads(0),
    lambda lib: lib.set_num_interop_threads(1.5),
])
def test_thread_setting_errors_match_torch(call):
    check_behaviour(call)


def test_set_num_threads_without_threadpoolctl_warns(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.setitem(_settings._threads, "tpc", None)
    monkeypatch.setattr(_settings, "_blas_functions", lambda: None)  # nor a bundled OpenBLAS
    with pytest.warns(UserWarning, match="threadpoolctl"):
        brickwork.set_num_threads(3)
    assert brickwork.get_num_threads() == 3


def test_set_num_threads_goes_through_threadpoolctl(monkeypatch):
    calls = []
    fake = types.SimpleNamespace(threadpool_limits=lambda limits: calls.append(limits),
                                 threadpool_info=lambda: [{"num_threads": 7}])
    monkeypatch.setitem(sys.modules, "threadpoolctl", fake)
    monkeypatch.setitem(_settings._threads, "tpc", fake)
    monkeypatch.setattr(_settings, "_blas_functions", lambda: None)  # a BLAS other than OpenBLAS
    _settings._threads["intra"] = None
    assert brickwork.get_num_threads() == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        brickwork.set_num_threads(2)
    assert calls == [2] and brickwork.get_num_threads() == 2


def test_interop_threads_set_once():
    assert brickwork.get_num_interop_threads() == 1
    brickwork.set_num_interop_threads(4)
    assert brickwork.get_num_interop_threads() == 4
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        brickwork.set_num_interop_threads(2)


# -- compile ----------------------------------------------------------------------------------
def test_compile_returns_the_model_unchanged():
    net = brickwork.nn.Linear(2, 3)
    assert brickwork.compile(net) is net
    assert brickwork.compile(net, mode="max-autotune", fullgraph=True, dynamic=False) is net

    def f(x):
        return x * 2

    assert brickwork.compile(f, backend="eager") is f
    deco = brickwork.compile(mode="reduce-overhead")

    @deco
    def g(x):
        return x + 1

    @brickwork.compile
    def h(x):
        return x - 1

    x = brickwork.tensor([1.0, 2.0])
    assert g(x).tolist() == [2.0, 3.0] and h(x).tolist() == [0.0, 1.0]


@requires_torch
def test_compile_results_and_errors_match_torch():
    check_behaviour(lambda lib: lib.compile(lambda x: x * 3)(lib.tensor([1.0, 2.0])))
    check_behaviour(lambda lib: lib.compile(1))
    check_behaviour(lambda lib: lib.compile(lambda x: x, mode="default", options={}))
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        brickwork.compile(lambda x: x, mode="fast")
    with pytest.raises(TypeError, match="fullgraph"):
        brickwork.compile(lambda x: x, fullgraph="yes")


# -- cuda without CuPy ------------------------------------------------------------------------
CUDA_VALUES = ["is_available()", "device_count()", "is_initialized()", "memory_allocated()",
               "max_memory_allocated()", "memory_reserved()", "max_memory_reserved()",
               "memory_reserved(0)", "memory_allocated('cuda:0')", "memory_stats()",
               "empty_cache()", "is_bf16_supported()", "set_device(-1)",
               "device(-1).__enter__()", "stream(None).__enter__()", "set_device('cpu')"]
CUDA_ASSERTS = ["current_device()", "synchronize()", "get_device_properties(0)",
                "get_device_capability()", "get_device_name()", "mem_get_info()",
                "current_stream()", "default_stream()", "init()"]
# PyTorch's CPU build fails here by accident (AttributeError, KeyError); brickwork raises the
# AssertionError PyTorch raises for the other calls.
CUDA_ACCIDENTS = ["set_device(0)", "reset_peak_memory_stats()", "memory_summary()"]


@vs_torch_cpu_build
@pytest.mark.parametrize("expr", CUDA_VALUES)
def test_cuda_values_without_cupy_match_torch_cpu_build(expr):
    check_behaviour(lambda lib: eval(f"lib.cuda.{expr}", {"lib": lib}) or None)


@vs_torch_cpu_build
@pytest.mark.parametrize("expr", CUDA_ASSERTS + CUDA_ACCIDENTS)
def test_cuda_calls_without_cupy_raise(expr):
    if expr not in CUDA_ACCIDENTS:
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            eval(f"torch.cuda.{expr}")
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled.*CuPy"):
        eval(f"brickwork.cuda.{expr}")


@vs_torch_cpu_build
def test_cuda_stream_event_and_device_context_without_cupy():
    for make in ("Stream()", "Event()", "Event(enable_timing=True)"):
        for lib in (torch, brickwork):
            with pytest.raises(RuntimeError):
                eval(f"lib.cuda.{make}", {"lib": lib})
    for lib in (torch, brickwork):
        with pytest.raises(RuntimeError, match="compiled without CUDA|no CUDA support"):
            lib.cuda.device(0).__enter__()


# -- cuda on the simulated backend ------------------------------------------------------------
class _FakeRawStream:
    """CuPy's ``cuda.Stream`` as far as brickwork uses it; records what happens to it."""

    current: list = []
    null = None

    def __init__(self, non_blocking=False, *, ptr=None) -> None:
        self.ptr = ptr if ptr is not None else id(self)
        self.non_blocking, self.done, self.log = non_blocking, True, []

    def synchronize(self):
        self.log.append("sync")

    def wait_event(self, ev):
        self.log.append(("wait", ev))

    def use(self):
        _FakeRawStream.current[:] = [self]

    def __enter__(self):
        _FakeRawStream.current.append(self)
        return self

    def __exit__(self, *exc):
        _FakeRawStream.current.pop()


class _FakeRawEvent:
    def __init__(self, block=False, disable_timing=False, interprocess=False) -> None:
        self.flags, self.stream, self.done = (block, disable_timing, interprocess), None, True

    def record(self, stream):
        self.stream = stream

    def synchronize(self):
        pass


@pytest.fixture
def sim_streams(sim_cuda, monkeypatch):
    """The simulated backend plus CuPy's stream, event and memory-info calls (which the
    simulation lacks)."""
    null = _FakeRawStream(ptr=0)
    _FakeRawStream.null, _FakeRawStream.current = null, []
    cuda = sim_cuda.cuda
    monkeypatch.setattr(cuda, "Stream", _FakeRawStream, raising=False)
    monkeypatch.setattr(cuda, "Event", _FakeRawEvent, raising=False)
    monkeypatch.setattr(cuda, "get_current_stream",
                        lambda: (_FakeRawStream.current or [null])[-1], raising=False)
    monkeypatch.setattr(cuda, "get_elapsed_time", lambda a, b: 1.5, raising=False)
    monkeypatch.setattr(cuda.runtime, "memGetInfo", lambda: (3 << 30, 16 << 30), raising=False)
    return sim_cuda


def test_cuda_memory_counters_on_simulated_cuda(sim_cuda):
    cuda = brickwork.cuda
    # Earlier tests' graphs can hold device arrays in reference cycles until the collector
    # runs; collect them now so that the counts below are this test's alone.
    gc.collect()
    cuda.reset_peak_memory_stats()
    before, on_other = cuda.memory_allocated(), cuda.memory_allocated(1)
    big = brickwork.zeros(1 << 16, device="cuda:0")  # 256 KiB
    during = cuda.memory_allocated(0)
    assert during - before >= 1 << 18
    assert cuda.memory_reserved() >= during and cuda.max_memory_reserved() >= during
    stats = cuda.memory_stats()
    assert stats["allocated_bytes.all.current"] == during
    assert stats["allocated_bytes.all.peak"] >= during
    assert set(stats) == {"allocated_bytes.all.current", "allocated_bytes.all.peak",
                          "reserved_bytes.all.current", "reserved_bytes.all.peak"}
    del big
    assert cuda.memory_allocated() <= during - (1 << 18)
    assert cuda.max_memory_allocated() >= during  # the peak survives the free
    cuda.reset_peak_memory_stats()
    assert cuda.max_memory_allocated() == cuda.memory_allocated()
    summary = cuda.memory_summary(0)
    assert "device ID 0" in summary and "Allocated memory" in summary
    assert cuda.memory_allocated(1) == on_other  # counted per device
    small = brickwork.zeros(16, device="cuda:1")
    assert cuda.memory_allocated(1) == on_other + 64 and cuda.memory_allocated(0) == before
    del small
    with pytest.raises(ValueError, match="Expected a cuda device"):
        cuda.memory_allocated("cpu")
    cuda.empty_cache()


def test_cuda_device_queries_on_simulated_cuda(sim_streams):
    cuda = brickwork.cuda
    assert cuda.mem_get_info() == (3 << 30, 16 << 30)
    assert brickwork.accelerator.get_memory_info(1) == (3 << 30, 16 << 30)
    assert brickwork.accelerator.current_stream() == cuda.current_stream()
    assert cuda.get_device_capability(1) == (9, 0)
    assert cuda.get_device_properties("cuda:1").total_memory == 16 << 30
    # The simulated CuPy computes on bfloat16 (NumPy with ml_dtypes), as CuPy 14 does.
    assert cuda.is_bf16_supported() is True
    cuda.init()
    cuda.set_device(1)
    assert cuda.current_device() == 1
    with cuda.device(0):
        assert cuda.current_device() == 0
    with cuda.device(None):
        assert cuda.current_device() == 1
    cuda.set_device(brickwork.device("cuda:0"))
    assert cuda.current_device() == 0


def test_cuda_streams_and_events_on_simulated_cuda(sim_streams):
    cuda = brickwork.cuda
    assert cuda.current_stream() == cuda.default_stream() and cuda.current_stream().cuda_stream == 0
    with pytest.raises(NotImplementedError, match="priority"):
        cuda.Stream(priority=-1)
    s = cuda.Stream(device=1)
    assert s.device == brickwork.device("cuda:1")
    with cuda.stream(s):  # work inside runs on s, on its device
        assert cuda.current_device() == 1
        assert cuda.current_stream(1) == s
        x = brickwork.ones(2, device="cuda") * 2
    assert cuda.current_device() == 0 and cuda.current_stream() == cuda.default_stream()
    assert x.device == brickwork.device("cuda:1") and x.tolist() == [2.0, 2.0]
    start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
    assert start._raw.flags == (False, False, False)
    start.record()
    end.record(s)
    assert end._raw.stream is s._raw and start.query()
    end.synchronize()
    assert start.elapsed_time(end) == 1.5
    other = cuda.Stream()
    other.wait_stream(s)
    ev = s.record_event()
    assert ev._raw.stream is s._raw and other._raw.log[0][0] == "wait"
    s.synchronize()
    assert s.query() and s._raw.log == ["sync"]
    cuda.set_stream(other)
    assert cuda.current_stream() == other


def test_simulated_backend_left_clean():
    device_module = sys.modules["brickwork.device"]  # brickwork.device is the class
    assert device_module._CUPY is not simcuda and simcuda._current[0] == 0
