"""The small torch-level names of ops/torch_extra.py, compared with PyTorch: range,
unravel_index, typename, DLPack, switches, vmap/cond/while_loop, streams, events and futures."""
import os
import warnings

import numpy as np
import pytest

import brickwork
from helpers import CaseTable, check_behaviour, check_op, rand_array

X = rand_array((2, 3), seed=1)
Y = rand_array((3,), seed=2)


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


# -- range, unravel_index, empty_permuted ----------------------------------------------------------
@pytest.mark.filterwarnings("ignore:torch.range is deprecated")
@pytest.mark.parametrize("args,kw", [((1, 4), {}), ((1, 4, 0.5), {}), ((1, 4), {"dtype": "int64"}),
                                     ((0, 1, 0.3), {}), ((4, 1), {}), ((4, 1, -1), {}),
                                     ((5,), {}), ((1, 4, 0), {}), ((0, 3), {"dtype": "bool"})])
def test_range(args, kw):
    def fn(lib):
        extra = {k: getattr(lib, v) for k, v in kw.items()}
        return lib.range(*args, **extra)

    check_behaviour(fn)


def test_range_warns():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        r = brickwork.range(1, 3)
    assert r.tolist() == [1.0, 2.0, 3.0] and r.dtype == brickwork.float32


UNRAVEL = CaseTable()


@UNRAVEL.case
def vector(lib):
    return lib.unravel_index(lib.tensor([4, 1, 5]), (2, 3))


@UNRAVEL.case
def scalar_and_negative(lib):
    return lib.unravel_index(lib.tensor(7), (2, 4)), lib.unravel_index(lib.tensor(-1), (2, 3))


@UNRAVEL.case
def int_shape(lib):
    return lib.unravel_index(lib.tensor([[3, 2]]), 5)


@UNRAVEL.case
def python_int_refused(lib):
    return lib.unravel_index(5, (2, 3))


@UNRAVEL.case
def out_of_range_wraps(lib):
    return lib.unravel_index(lib.tensor([6, -7, 60, -70]), (2, 3)), \
        lib.unravel_index(lib.tensor([1]), ())


@pytest.mark.parametrize("case", UNRAVEL)
def test_unravel_index(case):
    check_behaviour(UNRAVEL[case])


def test_unravel_index_float_refused():
    with pytest.raises(TypeError, match="expected 'indices' to be integer dtype"):
        brickwork.unravel_index(brickwork.tensor([1.]), (2, 3))


def test_unravel_index_numpy():
    idx = np.array([0, 5, 11, 7])
    got = brickwork.unravel_index(brickwork.tensor(idx), (3, 4))
    for g, w in zip(got, np.unravel_index(idx, (3, 4))):
        np.testing.assert_array_equal(g.numpy(), w)


def test_empty_permuted():
    def fn(lib):
        t = lib.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1))
        u = lib.empty_permuted((2, 3), (1, 0), dtype=lib.float64, requires_grad=True)
        return tuple(t.shape), t.stride(), u.stride(), _name(u.dtype), u.requires_grad

    check_behaviour(fn)
    check_behaviour(lambda lib: lib.empty_permuted((2, 3), (0, 0)))


# -- typename, is_storage, small switches ----------------------------------------------------------
def test_typename_and_is_storage():
    check_behaviour(lambda lib: [lib.typename(lib.ones(2, dtype=d)).split(".")[-1]
                                 for d in (lib.float32, lib.int64, lib.float64, lib.bool)])
    check_behaviour(lambda lib: (lib.typename(3), lib.typename(int), lib.is_storage(lib.ones(2)),
                                 lib.typename(lib.nn.Linear(1, 1)).split(".")[-1]))
    assert brickwork.typename(brickwork.nn.Linear(1, 1)) == "brickwork.nn.modules.linear.Linear" \
        or brickwork.typename(brickwork.nn.Linear(1, 1)).endswith(".Linear")


def test_switches():
    def fn(lib):
        out = [lib.is_warn_always_enabled()]
        lib.set_warn_always(True)
        out.append(lib.is_warn_always_enabled())
        lib.set_warn_always(False)
        out.append(lib.is_warn_always_enabled())
        out += [lib.init_num_threads(), lib.is_vulkan_available(),
                lib.is_distributed(lib.ones(1)), lib.compiled_with_cxx11_abi(),
                lib.prepare_multiprocessing_environment("x"), lib.thread_safe_generator(),
                lib.get_deterministic_debug_mode()]
        return out

    check_behaviour(fn)
    # NumPy gives no control over the FPU's denormal mode: reported as unsupported.
    assert brickwork.set_flush_denormal(True) is False


@pytest.mark.parametrize("mode", ["warn", "error", "default", 1, 2, 0, "bad", 3])
def test_deterministic_debug_mode(mode):
    def fn(lib):
        try:
            lib.set_deterministic_debug_mode(mode)
            return (lib.get_deterministic_debug_mode(), lib.are_deterministic_algorithms_enabled(),
                    lib.is_deterministic_algorithms_warn_only_enabled())
        finally:
            lib.use_deterministic_algorithms(False)

    check_behaviour(fn)


def test_set_default_tensor_type():
    def fn(lib):
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                lib.set_default_tensor_type(lib.DoubleTensor)
                a = _name(lib.tensor([1.]).dtype)
                lib.set_default_tensor_type(f"{lib.__name__}.FloatTensor")
                b = _name(lib.tensor([1.]).dtype)
            # (PyTorch warns once per process, with a C++ suffix)
            return a, b, str(w[0].message).startswith("torch.set_default_tensor_type() is "
                                                      "deprecated as of PyTorch 2.1")
        finally:
            lib.set_default_dtype(lib.float32)

    check_behaviour(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_behaviour(lambda lib: lib.set_default_tensor_type(lib.LongTensor))
    assert brickwork.get_default_dtype() == brickwork.float32


def test_inference_mode_flag():
    def fn(lib):
        out = [lib.is_inference_mode_enabled()]
        with lib.inference_mode():
            out.append(lib.is_inference_mode_enabled())
            with lib.inference_mode(False):
                out.append(lib.is_inference_mode_enabled())
            out.append(lib.is_inference_mode_enabled())
        with lib.no_grad():
            out.append(lib.is_inference_mode_enabled())
        out.append(lib.is_inference_mode_enabled())
        return out

    check_behaviour(fn)


def test_build_facts_and_modules():
    assert brickwork.has_lapack is True and brickwork.has_spectral is True
    assert isinstance(brickwork.has_mkl, bool) and isinstance(brickwork.has_openmp, bool)
    assert brickwork.get_device_module("cuda") is brickwork.cuda
    assert brickwork.get_device_module(brickwork.device("cuda:0")) is brickwork.cuda
    with pytest.raises(RuntimeError, match="Invalid value of device"):
        brickwork.get_device_module(3)
    path = brickwork.get_file_path("brickwork", "tensor.py")
    assert os.path.exists(path)
    assert brickwork.functional.einsum is brickwork.einsum
    assert "meshgrid" in dir(brickwork.functional)
    with pytest.raises(AttributeError):
        brickwork.functional.zeros  # noqa: B018 - not one of torch.functional's names


def test_errors_and_enums():
    assert issubclass(brickwork.AcceleratorError, RuntimeError)
    assert issubclass(brickwork.OutOfMemoryError, RuntimeError)
    assert not issubclass(brickwork.FatalError, RuntimeError)
    check_behaviour(lambda lib: (int(lib.SUM.value), int(lib.AVG.value), lib.SUM == lib.SUM,
                                 lib.SUM == lib.AVG, lib.SUM.name))


def test_classproperty():
    for lib in (brickwork,):
        class A:
            _x = 3

            @lib.classproperty
            def x(cls):
                return cls._x * 2

        assert A.x == 6 and A().x == 6


# -- DLPack and files ------------------------------------------------------------------------------
def test_dlpack_round_trips():
    torch = pytest.importorskip("torch")
    t = torch.arange(6.).reshape(2, 3)
    b = brickwork.from_dlpack(t)
    assert b.tolist() == t.tolist() and b.dtype == brickwork.float32
    b[0, 0] = 9  # shares memory
    assert t[0, 0].item() == 9
    back = torch.from_dlpack(b._data)
    assert back.data_ptr() == b.data_ptr()
    cap = brickwork.to_dlpack(brickwork.arange(3.))
    assert type(cap).__name__ == "PyCapsule"
    t2 = torch.utils.dlpack.from_dlpack(cap)
    assert t2.tolist() == [0.0, 1.0, 2.0]
    n = np.arange(4, dtype=np.int32)
    assert brickwork.from_dlpack(n).dtype == brickwork.int32
    g = torch.ones(2, requires_grad=True)
    assert brickwork.from_dlpack(g).tolist() == [1.0, 1.0]


def test_from_file(tmp_path):
    path = str(tmp_path / "data.bin")
    np.arange(10, dtype=np.float32).tofile(path)

    def fn(lib):
        a = lib.from_file(path, size=6)
        b = lib.from_file(path, shared=False, size=3, dtype=lib.float32)
        return a, b

    check_behaviour(fn)
    check_behaviour(lambda lib: lib.from_file(path, size=20))
    c = brickwork.from_file(path, shared=True, size=4)
    c[0] = 42
    assert np.fromfile(path, dtype=np.float32)[0] == 42


# -- vmap ------------------------------------------------------------------------------------------
VMAP = CaseTable()


@VMAP.case
def dot_batched(lib):
    x = lib.arange(6.).view(2, 3)
    return lib.vmap(lib.dot)(x, x), lib.vmap(lib.dot, in_dims=(0, None))(x, lib.arange(3.))


@VMAP.case
def in_dim_1_and_out_dims(lib):
    x = lib.arange(6.).view(2, 3)
    return lib.vmap(lambda a: a.sum(), in_dims=1)(x), \
        lib.vmap(lambda a: (a, a * 2), out_dims=(0, 1))(x)


@VMAP.case
def nested(lib):
    return lib.vmap(lib.vmap(lib.mul))(lib.ones(2, 3), lib.arange(6.).view(2, 3))


@VMAP.case
def dict_inputs_and_outputs(lib):
    x = lib.arange(6.).view(2, 3)
    out = lib.vmap(lambda d: {"s": d["a"] + d["b"], "p": d["a"] * 2})({"a": x, "b": x})
    return out["s"], out["p"]


@VMAP.case
def negative_in_dim_and_kwargs(lib):
    x = lib.arange(6.).view(2, 3)
    return lib.vmap(lambda a, scale=1.0: a * scale, in_dims=-1)(x, scale=3.0)


@VMAP.case
def size_mismatch(lib):
    return lib.vmap(lib.mul)(lib.ones(2, 3), lib.ones(3, 3))


@VMAP.case
def non_tensor_mapped(lib):
    return lib.vmap(lambda a, b: a * b, in_dims=(0, 0))(lib.ones(2, 3), 2.0)


@VMAP.case
def non_tensor_output(lib):
    return lib.vmap(lambda a: 3)(lib.ones(2, 3))


@VMAP.case
def bad_in_dim(lib):
    return lib.vmap(lambda a: a.sum(), in_dims=2)(lib.ones(2, 3))


@VMAP.case
def bad_in_dims_type(lib):
    return lib.vmap(lambda a: a, in_dims=None)(lib.ones(2, 3))


@VMAP.case
def no_inputs(lib):
    return lib.vmap(lambda: 1)()


@VMAP.case
def bad_randomness(lib):
    return lib.vmap(lambda a: a, randomness="bad")(lib.ones(2))


@VMAP.case
def random_refused(lib):
    return lib.vmap(lambda a: a + lib.rand(1))(lib.ones(2, 3))


@VMAP.case
def out_dims_none_unbatched(lib):
    y = lib.arange(3.)
    return lib.vmap(lambda a: (a * 2, y), out_dims=(0, None))(lib.ones(2, 3))


@VMAP.case
def out_dims_none_batched_refused(lib):
    return lib.vmap(lambda a: a.sum(0), out_dims=None)(lib.arange(6.).view(2, 3))


@VMAP.case
def out_dim_out_of_range(lib):
    return lib.vmap(lambda a: a, out_dims=2)(lib.ones(2, 3))


@pytest.mark.parametrize("case", VMAP)
def test_vmap(case):
    check_behaviour(VMAP[case])


def test_vmap_grad_and_randomness():
    check_op(lambda lib, x, y: lib.vmap(lambda a: (a * y).sum().sin())(x), [X, Y])
    brickwork.manual_seed(0)
    same = brickwork.vmap(lambda a: a + brickwork.rand(()), randomness="same")(brickwork.zeros(3))
    assert len(set(same.tolist())) == 1
    diff = brickwork.vmap(lambda a: a + brickwork.rand(()),
                          randomness="different")(brickwork.zeros(3))
    assert len(set(diff.tolist())) == 3
    # the default randomness='error' notices a draw inside the function (one element is enough)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        brickwork.vmap(lambda a: a + brickwork.rand(()))(brickwork.zeros(3))
    assert brickwork.vmap(lambda a: a * 2)(brickwork.ones(3)).tolist() == [2.0, 2.0, 2.0]


# -- cond and while_loop ---------------------------------------------------------------------------
def test_cond_and_while_loop():
    def fn(lib):
        ones = lib.ones(2)
        return (lib.cond(lib.tensor(True), lambda x: x + 1, lambda x: x - 1, (ones,)),
                lib.cond(False, lambda x: x + 1, lambda x: x - 1, [ones]),
                lib.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2),
                               (lib.tensor(0), ones)),
                lib.while_loop(lambda i: i < 3, lambda i: i + 1, (lib.tensor(0),)))

    check_behaviour(fn)
    check_behaviour(lambda lib: lib.cond(lib.tensor([True, False]), lambda x: x, lambda x: x,
                                         (lib.ones(2),)))


def test_cond_gradient():
    check_op(lambda lib, x: lib.cond(x.sum() > 0, lambda a: a.sin(), lambda a: a.cos(), (x,)),
             [X])


# -- streams, events, futures ----------------------------------------------------------------------
def test_cpu_stream_and_event():
    def fn(lib):
        s = lib.Stream("cpu")
        e = lib.Event("cpu")
        s.synchronize()
        e.synchronize()
        e.wait()
        return (str(s.device), s.query(), s.device_index, s.stream_id, s.device_type,
                str(e.device), e.query(), s == lib.Stream("cpu"))

    check_behaviour(fn)
    check_behaviour(lambda lib: lib.Stream("cpu").record_event())
    check_behaviour(lambda lib: lib.Event("cpu").record(lib.Stream("cpu")))
    check_behaviour(lambda lib: lib.Stream("cpu").wait_stream(lib.Stream("cpu")))
    check_behaviour(lambda lib: lib.Event("cpu").elapsed_time(lib.Event("cpu")))
    with brickwork.Stream("cpu") as s:
        assert s.query()


def test_futures():
    def fn(lib):
        f = lib.fork(lambda a: a * 2, lib.ones(2))
        fu = lib.Future([])
        done0 = fu.done()
        seen = []
        fu.add_done_callback(lambda x: seen.append(x.value()))
        fu.set_result(3)
        chained = fu.then(lambda x: x.value() + 1)
        return lib.wait(f), f.done(), f.value(), done0, fu.wait(), chained.wait(), seen

    check_behaviour(fn)

    def twice(lib):
        fu = lib.Future([])
        fu.set_result(1)
        fu.set_result(2)

    check_behaviour(twice)

    def boom():
        raise KeyError("k")

    check_behaviour(lambda lib: lib.fork(boom))
    bad = brickwork.Future().then(lambda f: 1 / 0)
    assert not bad.done()
