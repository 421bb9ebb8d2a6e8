"""The small Tensor methods of ops/tensor_extra.py, compared with PyTorch.

In-place comparisons and view ops, shifts, resize/set, unsafe splits, legacy constructors,
Python callbacks, addresses, hooks and flags.
"""
import warnings

import numpy as np
import pytest

import brickwork
from helpers import CaseTable, brickwork_device, check_behaviour, check_op, rand_array

X = rand_array((2, 3), seed=1)


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]

Y = rand_array((2, 3), seed=2)


# -- in-place comparisons and logical ops ----------------------------------------------------------
@pytest.mark.parametrize("name", ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "less_",
                                  "less_equal_", "greater_", "greater_equal_", "not_equal_"])
def test_compare_inplace_values_and_zero_grad(name):
    def fn(lib, x, y):
        z = x * 1
        getattr(z, name)(y.round())
        w = x * 2
        getattr(w, name)(0.5)
        return z, w, z.grad_fn.name(), w.grad_fn.name()

    check_op(lambda lib, x, y: fn(lib, x, y)[:2], [X, Y])
    check_behaviour(lambda lib: fn(lib, lib.tensor(X, requires_grad=True),
                                   lib.tensor(Y, requires_grad=True))[2:])


def test_compare_inplace_on_integers_and_leaf_error():
    check_behaviour(lambda lib: lib.tensor([1, 2, 3]).lt_(2.5))
    check_behaviour(lambda lib: lib.tensor([True, False]).eq_(lib.tensor([True, True])))
    check_behaviour(lambda lib: lib.tensor([1., 2.], requires_grad=True).eq_(1.0))


@pytest.mark.parametrize("name", ["logical_and_", "logical_or_", "logical_xor_"])
def test_logical_inplace(name):
    check_behaviour(lambda lib: getattr(lib.tensor([1, 0, 2]), name)(lib.tensor([1, 1, 0])))
    check_behaviour(lambda lib: getattr(lib.tensor([1., 0., 2.]), name)(lib.tensor([0., 1., 3.])))

    def history(lib):  # not differentiable: the old history stays (PyTorch's MulBackward0)
        y = lib.tensor([1., 2.], requires_grad=True) * 2
        getattr(y, name)(lib.tensor([1., 0.]))
        return y, y.grad_fn.name()

    check_behaviour(history)


def test_bitwise_not_inplace():
    check_behaviour(lambda lib: lib.tensor([1, -2, 0]).bitwise_not_())
    check_behaviour(lambda lib: lib.tensor([True, False]).bitwise_not_())
    check_behaviour(lambda lib: lib.tensor([1.0]).bitwise_not_())


# -- shifts ----------------------------------------------------------------------------------------
SHIFTS = CaseTable()


@SHIFTS.case
def left_scalar(lib):
    return lib.tensor([1, -2, 5]).bitwise_left_shift(3)


@SHIFTS.case
def left_overflow_int8(lib):
    return lib.tensor([1, -2, 3], dtype=lib.int8).bitwise_left_shift(7)


@SHIFTS.case
def shifts_out_of_range(lib):
    a = lib.tensor([1, -1, 2, -8])
    return a << 70, a >> 70, a << -1, a >> -1, a >> 64


@SHIFTS.case
def python_amount_past_dtype(lib):
    return lib.tensor([1, 2], dtype=lib.int8) << 200, lib.tensor([-5], dtype=lib.int8) >> 300


@SHIFTS.case
def uint8_right_past_width(lib):
    return lib.tensor([1, 200], dtype=lib.uint8) >> lib.tensor([9, 3], dtype=lib.uint8)


@SHIFTS.case
def reflected_and_promoted(lib):
    return 2 << lib.tensor([1, 2]), lib.bitwise_left_shift(3, lib.tensor([1])), \
        lib.tensor([True]) << 1, lib.tensor([1, 2], dtype=lib.int16) >> lib.tensor([1])


@SHIFTS.case
def inplace_and_operators(lib):
    a = lib.tensor([1, 2, 3])
    a <<= 2
    b = lib.tensor([-16, 16])
    b >>= lib.tensor([2, 3])
    c = lib.tensor([5, 6]).bitwise_right_shift_(1)
    return a, b, c, lib.tensor([7]).bitwise_left_shift_(lib.tensor([2]))


@SHIFTS.case
def float_refused(lib):
    return lib.tensor([1.0, 2.0]).bitwise_left_shift(1)


@SHIFTS.case
def float_shift_amount_refused(lib):
    return lib.bitwise_right_shift(lib.tensor([1, 2]), 1.5)


@pytest.mark.parametrize("case", SHIFTS)
def test_shifts(case):
    check_behaviour(SHIFTS[case])


@pytest.mark.parametrize("device", ["cpu", "simcuda"])
def test_shift_on_device_matches_numpy(device):
    with brickwork_device(device) as dev:
        a = brickwork.tensor([1, -3, 64], device=dev)
        r = a << 2
        assert r.device == brickwork.device(dev)
        np.testing.assert_array_equal(r._host(), np.array([4, -12, 256]))
        np.testing.assert_array_equal((a >> 1)._host(), np.array([0, -2, 32]))


# -- in-place view ops -----------------------------------------------------------------------------
VIEWS = CaseTable()


@VIEWS.case
def squeeze_variants(lib):
    out = []
    for args in ((), (1,), ((1, 3),), (0,)):
        x = lib.arange(6.).reshape(2, 1, 3, 1)
        r = x.squeeze_(*args)
        out.append((r is x, tuple(x.shape), x.stride(), x._version))
    return out


@VIEWS.case
def unsqueeze_t_transpose(lib):
    x = lib.arange(6.).reshape(2, 3)
    x.t_()
    s1 = (tuple(x.shape), x.stride(), x.is_contiguous())
    x.unsqueeze_(-1)
    x.transpose_(0, 2)
    x.swapaxes_(1, 2)
    x.swapdims_(0, 1)
    # (strides of size-1 dims are arbitrary: NumPy's differ from PyTorch's)
    keep = [s for s, n in zip(x.stride(), x.shape) if n != 1]
    return s1, tuple(x.shape), keep, x, x._version


@VIEWS.case
def t_on_3d_refused(lib):
    return lib.zeros(2, 3, 4).t_()


@VIEWS.case
def graph_through_inplace_views(lib):
    x = lib.tensor(X.reshape(2, 1, 3), requires_grad=True)
    y = x * 2
    y.squeeze_(1)
    n1 = y.grad_fn.name()
    y.t_()
    n2 = y.grad_fn.name()
    y.unsqueeze_(0)
    y.transpose_(0, 2)
    n3 = y.grad_fn.name()
    (y * lib.arange(6.).reshape(y.shape)).sum().backward()
    return n1, n2, n3, tuple(y.shape), x.grad


@VIEWS.case
def root_views_follow(lib):
    x = lib.tensor(X, requires_grad=True)
    y = x * 1
    v = y[1]
    y.t_()
    v.mul_(3)  # an update through the old view reaches y's (transposed) elements
    (y * lib.arange(6.).reshape(3, 2)).sum().backward()
    return y, v, x.grad, v._version, y._version


@VIEWS.case
def view_inplace_then_update(lib):
    x = lib.tensor(X, requires_grad=True)
    z = x * 1
    v = z[0:1]
    v.t_()
    n = v.grad_fn.name()
    v.mul_(2)
    (z * lib.arange(6.).reshape(2, 3)).sum().backward()
    return n, v._base is z, tuple(v.shape), z, x.grad


@VIEWS.case
def leaf_refused(lib):
    return lib.zeros(2, 1, requires_grad=True).squeeze_(1)


@VIEWS.case
def view_of_leaf_refused(lib):
    return lib.zeros(2, 3, requires_grad=True)[0].unsqueeze_(0)


@VIEWS.case
def no_grad_view_refused(lib):
    x = lib.zeros(2, 1, requires_grad=True)
    with lib.no_grad():
        v = x.squeeze(1)
    return v.unsqueeze_(0)


@VIEWS.case
def leaf_in_no_grad_allowed(lib):
    x = lib.zeros(2, 1, requires_grad=True)
    with lib.no_grad():
        x.squeeze_(1)
    return tuple(x.shape), x.is_leaf, x.requires_grad


@VIEWS.case
def as_strided_inplace(lib):
    x = lib.arange(8.)
    r = x.as_strided_((2, 2), (1, 2), 1)
    y = lib.arange(8., requires_grad=True) * 1
    y.as_strided_((3,), (2,))
    (y * lib.tensor([1., 2., 3.])).sum().backward()
    return r is x, x, x.stride(), y, y.grad_fn.name()


@pytest.mark.parametrize("case", VIEWS)
def test_inplace_view_ops(case):
    check_behaviour(VIEWS[case])


def test_inplace_view_gradcheck():
    def fn(x):
        y = x * 1
        y.unsqueeze_(0).transpose_(0, 2).squeeze_(2)
        return y.t_() * y.t().sum()

    x = brickwork.tensor(rand_array((3, 2), "float64"), requires_grad=True)
    assert brickwork.autograd.gradcheck(fn, (x,))


def test_as_strided_inplace_torch_level():
    check_behaviour(lambda lib: lib.as_strided_(lib.arange(6.), (2,), (3,), 0))


# -- fill_diagonal_ --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), True), ((7, 3), False),
                                        ((3, 5), True), ((3, 3, 3), False), ((3, 3, 2), False),
                                        ((3,), False), ((8, 2), True)])
def test_fill_diagonal(shape, wrap):
    check_behaviour(lambda lib: lib.zeros(shape).fill_diagonal_(5, wrap=wrap))


def test_fill_diagonal_grad():
    def fn(lib, x):
        y = x * 1
        y.fill_diagonal_(2.0)
        return y

    check_op(fn, [rand_array((4, 3))])


# -- resize and set --------------------------------------------------------------------------------
RESIZE = CaseTable()


@RESIZE.case
def shrink_and_grow_back(lib):
    x = lib.arange(6.)
    a = x.resize_(2, 2).clone()
    v1 = x._version
    x.resize_(2, 2)
    v2 = x._version
    x.resize_(6)
    return a, x, v1, v2, tuple(x.shape)


@RESIZE.case
def grow_keeps_front(lib):
    x = lib.arange(6.).resize_(3, 3)
    return x[:2], tuple(x.shape)


@RESIZE.case
def view_resize(lib):
    x = lib.arange(6.)
    v = x[2:]
    v.resize_(2, 2)
    return v, v.is_contiguous(), v._base is x, v.storage_offset()


@RESIZE.case
def requires_grad_refused(lib):
    return (lib.arange(6., requires_grad=True) * 1).resize_(2, 3)


@RESIZE.case
def bad_size(lib):
    return lib.zeros(2).resize_(2.5)


@RESIZE.case
def resize_as_inplace(lib):
    x = lib.arange(6.)
    return x.resize_as_(lib.zeros(3, 2)), lib.resize_as_(lib.arange(4.), lib.zeros(2, 2))


@RESIZE.case
def resize_deprecated(lib):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = lib.arange(6.).resize(2, 3)
        s = lib.arange(6.).resize_as(lib.zeros(3, 2))
    return r, s, [str(m.message) for m in w]


@RESIZE.case
def resize_deprecated_count_mismatch(lib):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lib.zeros(6).resize(2, 2)


@RESIZE.case
def set_shares_memory(lib):
    a = lib.zeros(3)
    v = a[1:]
    b = lib.ones(4)
    r = a.set_(b)
    a[0] = 7
    return r is a, a, b, a.is_set_to(b), b.is_set_to(a), b[1:].is_set_to(a), a._version, \
        v._version, v, a._base is None


@RESIZE.case
def set_empty(lib):
    a = lib.arange(3.)
    a.set_()
    return tuple(a.shape), _name(a.dtype), a._version


@RESIZE.case
def set_dtype_mismatch(lib):
    return lib.zeros(3).set_(lib.zeros(3, dtype=lib.float64))


@RESIZE.case
def set_int_mismatch(lib):
    return lib.zeros(3, dtype=lib.int32).set_(lib.zeros(3, dtype=lib.uint8))


@RESIZE.case
def set_leaf_refused(lib):
    return lib.zeros(3, requires_grad=True).set_(lib.zeros(2))


@RESIZE.case
def set_not_differentiable(lib):
    y = lib.zeros(3, requires_grad=True) * 1
    y.set_(lib.ones(2, requires_grad=True) * 2)
    name = y.grad_fn.name()
    y.sum().backward()
    return name


@RESIZE.case
def is_set_to_distinct(lib):
    a = lib.zeros(3)
    return a.is_set_to(lib.zeros(3)), a.is_set_to(a), a.is_set_to(a.view(3)), \
        a.is_set_to(a[1:])


@pytest.mark.parametrize("case", RESIZE)
def test_resize_and_set(case):
    check_behaviour(RESIZE[case])


def test_resize_gradient_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = brickwork.tensor(rand_array((2, 3), "float64"), requires_grad=True)
        assert brickwork.autograd.gradcheck(lambda t: t.resize(3, 2) * 2, (x,))


# -- sums, splits, slice_inverse -------------------------------------------------------------------
@pytest.mark.parametrize("size", [(1, 3), (3,), (2, 1), (1, 1), (2, 3)])
def test_sum_to_size(size):
    check_op(lambda lib, x: x.sum_to_size(size), [X])
    check_op(lambda lib, x: x.sum_to_size(*size), [X])


def test_sum_to_size_errors():
    check_behaviour(lambda lib: lib.zeros(2, 3).sum_to_size(4, 3))
    check_behaviour(lambda lib: lib.zeros(2, 3).sum_to_size(3, 1))


SPLITS = CaseTable()


@SPLITS.case
def unsafe_chunk(lib):
    return lib.arange(10.).reshape(2, 5).unsafe_chunk(3, 1)


@SPLITS.case
def unsafe_split_int_and_list(lib):
    x = lib.arange(10.).reshape(5, 2)
    return lib.unsafe_split(x, 2), lib.unsafe_split_with_sizes(x, [2, 3])


@SPLITS.case
def unsafe_split_list_refused(lib):
    return lib.arange(4.).unsafe_split([1, 3])


@SPLITS.case
def unsafe_pieces_share_memory(lib):
    x = lib.arange(4.)
    a, b = x.unsafe_split(2)
    a.add_(10)
    return x, a, a._base is None, a._is_view(), x._version


@SPLITS.case
def unsafe_grad_fn_and_inplace(lib):
    y = lib.tensor(X, requires_grad=True)
    pieces = (y * 1).unsafe_chunk(2, 1)
    names = [p.grad_fn.name() for p in pieces]
    pieces[0].mul_(2)  # allowed, unlike split's views
    (pieces[0].sum() + 3 * pieces[1].sum()).backward()
    names2 = [p.grad_fn.name() for p in y.unsafe_split_with_sizes([1, 2], 1)]
    return names, names2, y.grad


@SPLITS.case
def unsafe_split_bad_sizes(lib):
    return lib.zeros(5).unsafe_split_with_sizes([1, 2])


@pytest.mark.parametrize("case", SPLITS)
def test_unsafe_splits(case):
    check_behaviour(SPLITS[case])


def test_unsafe_split_grads():
    check_op(lambda lib, x: lib.unsafe_split(x, 2, 1), [rand_array((3, 5))])
    check_op(lambda lib, x: x.unsafe_chunk(2, 0)[1], [rand_array((3, 5))])


INVERSE = CaseTable()


@INVERSE.case
def slice_inverse_1d(lib):
    base = lib.arange(10.)
    src = lib.zeros(20)[2:8]
    return lib.slice_inverse(base[3:5], src, 0, 1, 3), base[3:5].slice_inverse(src, 0, 0, 3)


@INVERSE.case
def slice_inverse_2d_step(lib):
    src = lib.zeros(4, 6)[:, ::2]
    inp = lib.arange(24.).view(4, 6)[:, 2:4]
    return lib.slice_inverse(inp, src, 1, 1, 2, 2)


@INVERSE.case
def slice_inverse_grad_fn(lib):
    x = lib.arange(10., requires_grad=True) * 1
    return lib.slice_inverse(x[3:5], lib.zeros(20)[2:8], 0, 1, 3).grad_fn.name()


@INVERSE.case
def slice_inverse_out_of_bounds(lib):
    return lib.slice_inverse(lib.arange(2.), lib.zeros(5), 0, 1, 3)


@pytest.mark.parametrize("case", INVERSE)
def test_slice_inverse(case):
    check_behaviour(INVERSE[case])


def test_as_strided_scatter():
    # (input's gradient: PyTorch 2.13 returns the gradient *at* the scattered positions, which
    # the finite differences below contradict; compare src's gradient only)
    check_op(lambda lib, x, s: lib.as_strided_scatter(x, s, (2,), (2,), 1),
             [rand_array((6,)), rand_array((2,))], grad=[False, True])
    x = brickwork.tensor(rand_array((6,), "float64"), requires_grad=True)
    s = brickwork.tensor(rand_array((2,), "float64"), requires_grad=True)
    assert brickwork.autograd.gradcheck(
        lambda a, b: brickwork.as_strided_scatter(a * a, b * 3, (2,), (2,), 1), (x, s))
    out = brickwork.as_strided_scatter(x, s, (2,), (2,), 1)
    out.backward(brickwork.arange(1., 7., dtype=brickwork.float64))
    assert x.grad.tolist() == [1.0, 0.0, 3.0, 0.0, 5.0, 6.0] and s.grad.tolist() == [2.0, 4.0]
    # (a non-contiguous input: values only; PyTorch's gradient there assumes row-major memory)
    check_behaviour(lambda lib: lib.arange(6.).reshape(3, 2).t().as_strided_scatter(
        lib.ones(2, 2) * 9, (2, 2), (1, 3)))
    check_behaviour(lambda lib: lib.as_strided_scatter(lib.arange(6.)[2:], lib.ones(2) * 9,
                                                       (2,), (1,), 2))
    check_behaviour(lambda lib: lib.as_strided_scatter(lib.zeros(4), lib.ones(2), (3,), (1,)))


# -- legacy constructors ---------------------------------------------------------------------------
NEW = CaseTable()


@NEW.case
def new_sizes(lib):
    x = lib.zeros(2, dtype=lib.float64)
    return tuple(x.new(2, 3).shape), _name(x.new(2, 3).dtype), x.new((2, 3)), \
        tuple(x.new().shape), tuple(x.new(lib.Size([2, 3])).shape), tuple(x.new(3).shape)


@NEW.case
def new_float_refused(lib):
    return lib.zeros(2).new(2.5)


@NEW.case
def new_data(lib):
    x = lib.zeros(2, dtype=lib.int32)
    return x.new([1, 2]), x.new(lib.tensor([3, 4], dtype=lib.int32)), x.new([[1, 2]])


@NEW.case
def new_tensor_other_dtype(lib):
    return lib.zeros(2).new(lib.tensor([1, 2]))


@NEW.case
def new_empty_strided(lib):
    x = lib.zeros(2, dtype=lib.float64)
    a = x.new_empty_strided((2, 3), (1, 2))
    b = x.new_empty_strided((2, 3), (1, 2), dtype=lib.int64)
    return a.stride(), _name(a.dtype), tuple(a.shape), _name(b.dtype)


@pytest.mark.parametrize("case", NEW)
def test_new(case):
    check_behaviour(NEW[case])


def test_new_shares_same_dtype_tensor():
    x = brickwork.zeros(2)
    y = brickwork.ones(3)
    z = x.new(y)
    z[0] = 5
    assert y[0].item() == 5


# -- Python callbacks ------------------------------------------------------------------------------
CALLBACKS = CaseTable()


@CALLBACKS.case
def map_apply_map2(lib):
    z = lib.arange(3.)
    a = z.map_(lib.ones(3), lambda u, v: u + v * 2).clone()
    b = z.apply_(lambda u: u * 10).clone()
    c = z.map2_(lib.ones(3), lib.ones(1), lambda u, v, w: u + v + w)
    return a, b, c, z._version


@CALLBACKS.case
def apply_int_truncates(lib):
    return lib.arange(3).apply_(lambda a: a / 2)


@CALLBACKS.case
def map_broadcast_refused(lib):
    return lib.ones(1).map_(lib.ones(3), lambda a, b: a + b)


@CALLBACKS.case
def apply_requires_grad_refused(lib):
    return lib.ones(2, requires_grad=True).apply_(lambda a: a)


@CALLBACKS.case
def apply_view_reaches_base(lib):
    x = lib.zeros(2, 3)
    x[1].apply_(lambda a: a + 4)
    return x


@pytest.mark.parametrize("case", CALLBACKS)
def test_callbacks(case):
    check_behaviour(CALLBACKS[case])


# -- addresses, sharing, streams -------------------------------------------------------------------
def test_data_ptr_matches_views():
    def fn(lib):
        x = lib.arange(12.).reshape(3, 4)
        p = x.data_ptr()
        return (x[1].data_ptr() - p, x[:, 2].data_ptr() - p, x.t().data_ptr() - p,
                x.const_data_ptr() - p, lib.zeros(0).data_ptr(), p != 0)

    check_behaviour(fn)


def test_data_ptr_simcuda():
    with brickwork_device("simcuda") as dev:
        x = brickwork.arange(6., device=dev)
        assert x[2:].data_ptr() - x.data_ptr() == 8


def test_share_memory():
    check_behaviour(lambda lib: (lib.ones(2).is_shared(), lib.ones(2).share_memory_().is_shared()))
    x = brickwork.arange(4.)
    y = x.share_memory_()
    assert y is x and x.is_shared() and x.tolist() == [0.0, 1.0, 2.0, 3.0]
    x.add_(1)
    assert x.tolist() == [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(NotImplementedError):
        brickwork.arange(4.)[1:].share_memory_()


def test_record_stream_cpu_refused():
    with pytest.raises(NotImplementedError, match="record_stream"):
        brickwork.ones(2).record_stream(None)


# -- autograd attributes ---------------------------------------------------------------------------
def test_post_accumulate_grad_hook():
    def fn(lib):
        x = lib.tensor([1., 2.], requires_grad=True)
        seen = []
        h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
        (x * 2).sum().backward()
        (x * 3).sum().backward()
        h.remove()
        (x * 4).sum().backward()
        return seen, x.grad

    check_behaviour(fn)
    check_behaviour(lambda lib: (lib.ones(2, requires_grad=True) * 2)
                    .register_post_accumulate_grad_hook(lambda t: None))
    check_behaviour(lambda lib: lib.ones(2).register_post_accumulate_grad_hook(lambda t: None))


def test_post_accumulate_hook_can_step_in_backward():
    x = brickwork.tensor([1., 2.], requires_grad=True)

    def step(t):
        with brickwork.no_grad():
            t.sub_(t.grad)
        t.grad = None

    x.register_post_accumulate_grad_hook(step)
    (x * 2).sum().backward()
    assert x.tolist() == [-1.0, 0.0] and x.grad is None


GRAD_DTYPE = CaseTable()


@GRAD_DTYPE.case
def cast_incoming(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    d0 = x.grad_dtype
    x.grad_dtype = lib.float64
    (x * 2).sum().backward()
    g = x.grad
    x.grad = None
    x.grad_dtype = None
    return _name(d0), g, x.grad_dtype, _name(lib.tensor([1, 2]).grad_dtype)


@GRAD_DTYPE.case
def non_leaf_get(lib):
    return (lib.ones(2, requires_grad=True) * 2).grad_dtype


@GRAD_DTYPE.case
def non_leaf_set(lib):
    (lib.ones(2, requires_grad=True) * 2).grad_dtype = lib.float64


@GRAD_DTYPE.case
def existing_grad_mismatch(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    x.grad_dtype = lib.float64
    (x * 2).sum().backward()
    x.grad_dtype = lib.int64


@GRAD_DTYPE.case
def assign_mismatch(lib):
    lib.ones(2, requires_grad=True).grad = lib.ones(2, dtype=lib.float64)


@GRAD_DTYPE.case
def assign_mismatch_non_leaf(lib):
    (lib.ones(2, requires_grad=True) * 2).grad = lib.ones(2, dtype=lib.float64)


@GRAD_DTYPE.case
def assign_any_when_none(lib):
    x = lib.ones(2, requires_grad=True)
    x.grad_dtype = None
    x.grad = lib.ones(2, dtype=lib.float64)
    (x * 3).sum().backward()
    return _name(x.grad.dtype), x.grad


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("case", GRAD_DTYPE)
def test_grad_dtype(case):
    check_behaviour(GRAD_DTYPE[case])


def test_output_nr_name_volatile_predicates():
    names = ["is_meta", "is_mps", "is_xpu", "is_xla", "is_ipu", "is_maia", "is_mtia",
             "is_mkldnn", "is_vulkan", "is_nested", "is_quantized", "is_sparse_csr"]

    def fn(lib):
        x = lib.randn(2, 3, requires_grad=True)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            vol = x.volatile
            x.volatile = True
        return (x.output_nr, (x * 2).unbind()[1].output_nr, x.name, vol,
                [str(m.message) for m in w], [getattr(x, n) for n in names],
                x.is_distributed())

    check_behaviour(fn)


def test_reinforce_and_layout_conversions_raise():
    check_behaviour(lambda lib: lib.ones(2).reinforce(1))
    with pytest.raises(NotImplementedError, match="aten::to_padded_tensor"):
        brickwork.ones(2).to_padded_tensor(0.0)
    with pytest.raises(NotImplementedError, match="MKL-DNN"):
        brickwork.ones(2).to_mkldnn()


@pytest.mark.parametrize("make", [
    lambda lib: lib.ones(2, 3), lambda lib: lib.ones(2, 3).t(), lambda lib: lib.ones(2, 3, 1, 1),
    lambda lib: lib.ones(2, 3, 4, 5).permute(0, 2, 3, 1), lambda lib: lib.ones(2, 3)[:, ::2],
    lambda lib: lib.ones(4, 4)[::2], lambda lib: lib.ones(()), lambda lib: lib.ones(3),
    lambda lib: lib.ones(2, 1, 3)])
def test_dim_order(make):
    check_behaviour(lambda lib: make(lib).dim_order())
    check_behaviour(lambda lib: make(lib).dim_order(ambiguity_check=True))


def test_dim_order_formats():
    check_behaviour(lambda lib: lib.ones(2, 1, 3, 3).dim_order(
        ambiguity_check=[lib.contiguous_format]))
    check_behaviour(lambda lib: lib.ones(2, 3).dim_order(ambiguity_check=3))


@pytest.mark.parametrize("make", [
    lambda lib: lib.arange(6.).reshape(2, 3), lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8), lambda lib: lib.tensor([-1, 7]),
    lambda lib: lib.tensor([1.5, -2.25], dtype=lib.float16)])
def test_hash_tensor(make):
    check_behaviour(lambda lib: lib.hash_tensor(make(lib)))
    check_behaviour(lambda lib: make(lib).hash_tensor(0, keepdim=True))


def test_hash_tensor_errors_and_dims():
    check_behaviour(lambda lib: lib.hash_tensor(lib.arange(24.).reshape(2, 3, 4), (0, 2)))
    check_behaviour(lambda lib: lib.hash_tensor(lib.zeros(0, 2), 1))
    check_behaviour(lambda lib: lib.hash_tensor(lib.zeros(0)))
    check_behaviour(lambda lib: lib.hash_tensor(lib.ones(2), mode=1))
    # NumPy-only: the XOR of float64 bit patterns
    v = np.array([0.5, -3.0])
    want = np.bitwise_xor.reduce(v.view(np.uint64))
    assert brickwork.hash_tensor(brickwork.tensor(v)).item() == int(want)


def test_module_load_and_as_subclass():
    def fn(lib):
        a, b = lib.ones(3), lib.arange(3.)
        r = a.module_load(b)
        s = a.module_load(b, assign=True)
        y = lib.ones(2, requires_grad=True) * 2

        class P(lib.Tensor):
            pass

        q = y.as_subclass(P)
        return r, a, r is a, s is b, type(q).__name__, q.grad_fn.name(), q.requires_grad, \
            lib.ones(2).as_subclass(P).data_ptr() != 0

    check_behaviour(fn)
    check_behaviour(lambda lib: lib.ones(2).as_subclass(int))


def test_untyped_storage():
    def fn(lib):
        x = lib.arange(6.)
        s = x.untyped_storage()
        v = x[2:]
        a, b = lib.zeros(3), lib.ones(4)
        a.set_(b)
        return (s.nbytes(), s.size(), len(s), s.data_ptr() == x.data_ptr(),
                v.untyped_storage().data_ptr() == s.data_ptr(), v.untyped_storage() is s,
                str(s.device), s.element_size(), s.is_cuda, s.is_shared(), s[4], s[7],
                s.tolist()[:8], a.untyped_storage().data_ptr() == b.data_ptr(),
                lib.arange(6.).reshape(2, 3).t().untyped_storage().nbytes())

    check_behaviour(fn)


def test_untyped_storage_after_resize_and_share():
    x = brickwork.arange(6.)
    x.resize_(2)
    assert x.untyped_storage().nbytes() == 24  # the buffer keeps its size, as PyTorch's storage
    y = brickwork.arange(3.).share_memory_()
    assert y.untyped_storage().is_shared()
    with pytest.raises(NotImplementedError):
        y.untyped_storage().resize_(0)


def test_reversed_flips_dim_0_like_torch():
    from helpers import check_op

    check_op(lambda lib, x: reversed(x), [(3, 2)])
    check_op(lambda lib, x: reversed(x), [np.float32(2.5)], grad=[False])
