"""``memory_format`` honoured where PyTorch accepts it: factories, ``*_like``, ``to`` and the
dtype conversions, ``clone``, ``is_contiguous``, and ``nn.Module.to``.

Each case runs on brickwork and PyTorch (``check_behaviour``) and compares the values, the
strides and the contiguity flags of the result; a few NumPy-only expectations need no torch.
"""
import numpy as np
import pytest

import brickwork
from helpers import CaseTable, check_behaviour, torch

# legacy_contiguous_format is contiguous_format itself (checked below).
FORMATS = ["contiguous_format", "channels_last", "channels_last_3d", "preserve_format", None]


def _source(lib, shape, layout):
    """A tensor of ``shape`` (values 0, 1, 2, ...) laid out as ``layout`` says."""
    nd = len(shape)
    x = lib.tensor(np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape))
    if layout == "contiguous":
        return x
    if layout == "channels_last":  # C innermost, the rest in order
        perm = (0,) + tuple(range(2, nd)) + (1,)
        inv = tuple(perm.index(i) for i in range(nd))
        return x.permute(*perm).contiguous().permute(*inv)
    if layout == "permuted":  # a dense layout of no named format
        return x.transpose(0, nd - 1).contiguous().transpose(0, nd - 1)
    if layout == "sliced":  # not dense: every other element of the last dim
        big = lib.tensor(np.arange(int(np.prod(shape)) * 2, dtype=np.float32)
                         .reshape(shape[:-1] + (2 * shape[-1],)))
        return big[..., ::2]
    if layout == "sliced_permuted":
        return _source(lib, shape[::-1], "sliced").permute(*range(nd - 1, -1, -1))
    if layout == "expanded":  # overlapping: a stride-0 dim
        return x[:1].expand(*shape)
    raise ValueError(layout)


def _describe(lib, t):
    """What is compared: values, strides, and contiguity in each format that fits the rank."""
    flags = [t.is_contiguous()]
    if t.dim() == 4:
        flags.append(t.is_contiguous(memory_format=lib.channels_last))
    if t.dim() == 5:
        flags.append(t.is_contiguous(memory_format=lib.channels_last_3d))
    return [t.detach(), t.stride(), flags]


def _fmt(lib, name):
    return None if name is None else getattr(lib, name)


SHAPES = [(2, 3, 4, 5), (2, 1, 3, 3), (1, 3, 1, 1), (2, 3, 2, 2, 3), (2, 0, 3, 1), (3, 4)]
LAYOUTS = ["contiguous", "channels_last", "permuted", "sliced", "sliced_permuted", "expanded"]


def _cases():
    for shape in SHAPES:
        for layout in LAYOUTS:
            if layout == "channels_last" and len(shape) < 3:
                continue
            # Left out: sources whose strides already differ from PyTorch's (NumPy gives a
            # zero-size array, and a size-1 dim of an expanded one, other strides). Zero-size
            # results are covered by test_empty.
            if 0 in shape or (layout == "expanded" and 1 in shape):
                continue
            yield shape, layout


CASES = list(_cases())
IDS = [f"{'x'.join(map(str, s))}-{lay}" for s, lay in CASES]


def _kw(lib, name):
    return {} if name is None else {"memory_format": getattr(lib, name)}


LIKE = CaseTable()


@LIKE.case
def empty_like(lib, x, kw):
    return lib.empty_like(x, **kw).zero_()


@LIKE.case
def zeros_like(lib, x, kw):
    return lib.zeros_like(x, **kw)


@LIKE.case
def ones_like(lib, x, kw):
    return lib.ones_like(x, dtype=lib.float64, **kw)


@LIKE.case
def full_like(lib, x, kw):
    return lib.full_like(x, 2.5, **kw)


@LIKE.case
def rand_like(lib, x, kw):
    return lib.rand_like(x, **kw).zero_()  # random values differ; the layout must not


@LIKE.case
def randn_like(lib, x, kw):
    return lib.randn_like(x, **kw).zero_()


@LIKE.case
def randint_like(lib, x, kw):
    return lib.randint_like(x, 1, 2, **kw)


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("op", list(LIKE))
@pytest.mark.parametrize("shape,layout", CASES, ids=IDS)
def test_like_factories(op, name, shape, layout):
    check_behaviour(lambda lib: _describe(lib, LIKE[op](lib, _source(lib, shape, layout),
                                                        _kw(lib, name))))


CONVERT = CaseTable()


@CONVERT.case
def to_format(lib, x, kw):
    return x.to(**kw)


@CONVERT.case
def to_dtype(lib, x, kw):
    return x.to(lib.float64, **kw)


@CONVERT.case
def to_copy(lib, x, kw):
    return x.to(lib.float32, copy=True, **kw)


@CONVERT.case
def double(lib, x, kw):
    return x.double(**kw)


@CONVERT.case
def half(lib, x, kw):
    return x.half(**kw)


@CONVERT.case
def long(lib, x, kw):
    return x.long(**kw)


@CONVERT.case
def float_(lib, x, kw):
    return x.float(**kw)


@CONVERT.case
def cpu(lib, x, kw):
    return x.cpu(**kw)


@CONVERT.case
def cdouble(lib, x, kw):
    return x.cdouble(**kw)


@CONVERT.case
def clone(lib, x, kw):
    return x.clone(**kw)


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("op", list(CONVERT))
@pytest.mark.parametrize("shape,layout", CASES, ids=IDS)
def test_conversions(op, name, shape, layout):
    check_behaviour(lambda lib: _describe(lib, CONVERT[op](lib, _source(lib, shape, layout),
                                                           _kw(lib, name))))


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("shape,layout", CASES, ids=IDS)
def test_to_aliases_when_nothing_changes(name, shape, layout):
    # PyTorch's to_will_alias: same dtype and device, no copy, and the format already matches.
    def fn(lib):
        x = _source(lib, shape, layout)
        return [x.to(lib.float32, **_kw(lib, name)) is x, x.float(**_kw(lib, name)) is x]

    check_behaviour(fn)


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 2, 2, 3), (2, 0, 3, 1), (1, 3, 1, 1),
                                   (3, 4), (1,)])
def test_empty(name, shape):
    if name is None and 0 in shape:
        pytest.skip("without memory_format brickwork keeps NumPy's strides for zero-size arrays")
    check_behaviour(lambda lib: _describe(lib, lib.empty(*shape, **_kw(lib, name)).zero_()))


@pytest.mark.parametrize("name", [n for n in FORMATS if n is not None])
@pytest.mark.parametrize("shape,layout", CASES, ids=IDS)
def test_is_contiguous(name, shape, layout):
    check_behaviour(lambda lib: _source(lib, shape, layout).is_contiguous(
        memory_format=getattr(lib, name)))


@pytest.mark.parametrize("name", [n for n in FORMATS if n is not None])
@pytest.mark.parametrize("shape,layout", CASES, ids=IDS)
def test_contiguous(name, shape, layout):
    def fn(lib):
        x = _source(lib, shape, layout)
        y = x.contiguous(memory_format=getattr(lib, name))
        return _describe(lib, y) + [y is x]

    check_behaviour(fn)


def test_conversion_gradient_keeps_flowing():
    def fn(lib):
        x = _source(lib, (2, 3, 2, 2), "contiguous").requires_grad_()
        y = x.to(lib.float64, memory_format=lib.channels_last)
        (y * lib.arange(24, dtype=lib.float64).reshape(2, 3, 2, 2)).sum().backward()
        return [y.stride(), x.grad]

    check_behaviour(fn)


ERRORS = CaseTable()


@ERRORS.case
def to_wrong_type(lib):
    return lib.ones(2, 3, 4, 5).to(lib.float64, memory_format=3)


@ERRORS.case
def like_wrong_type(lib):
    return lib.zeros_like(lib.ones(2, 3), memory_format="channels_last")


@ERRORS.case
def like_wrong_rank(lib):
    return lib.empty_like(lib.ones(2, 3), memory_format=lib.channels_last)


@ERRORS.case
def empty_preserve(lib):
    return lib.empty(2, 3, memory_format=lib.preserve_format)


@ERRORS.case
def empty_wrong_rank(lib):
    return lib.empty(2, 3, 4, 5, memory_format=lib.channels_last_3d)


@ERRORS.case
def to_wrong_rank(lib):
    return lib.ones(2, 3, 4).to(memory_format=lib.channels_last)


@ERRORS.case
def contiguous_preserve(lib):
    return lib.ones(2, 3).t().contiguous(memory_format=lib.preserve_format)


@ERRORS.case
def is_contiguous_none(lib):
    return lib.ones(2, 3).is_contiguous(memory_format=lib.float32)


@ERRORS.case
def module_5d_channels_last(lib):
    return _module_with(lib, (1, 2, 2, 2, 2)).to(memory_format=lib.channels_last)


def _module_with(lib, shape):
    m = lib.nn.Module()
    m.w = lib.nn.Parameter(lib.ones(*shape))
    return m


# Where PyTorch's argument parser words the message its own way, only the type is compared.
_TYPE_ONLY = {"to_wrong_type"}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors(case):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    with pytest.raises(Exception) as t_exc:
        ERRORS[case](torch)
    with pytest.raises(Exception) as b_exc:
        ERRORS[case](brickwork)
    assert type(b_exc.value) is type(t_exc.value) or \
        type(b_exc.value).__name__ == type(t_exc.value).__name__
    if case not in _TYPE_ONLY:
        assert str(b_exc.value) == str(t_exc.value).replace("torch.", "brickwork.")


@pytest.mark.parametrize("shape,fmt", [((2, 3, 2, 2), "channels_last"),
                                       ((2, 3, 2, 2, 2), "channels_last_3d"),
                                       ((2, 3, 2, 2, 2), "contiguous_format"),
                                       ((3, 4), "channels_last"), ((2, 3, 4), "channels_last")])
def test_module_to_memory_format(shape, fmt):
    # PyTorch re-lays out only the 4-d and 5-d tensors; the rest are left as they are.
    def fn(lib):
        m = _module_with(lib, shape)
        m.register_buffer("b", lib.arange(float(np.prod(shape))).reshape(shape))
        if len(shape) == 5 and fmt == "contiguous_format":
            m.w.data = m.w.data.to(memory_format=lib.channels_last_3d)
        out = m.to(memory_format=getattr(lib, fmt))
        return [out is m, m.w.stride(), m.b.stride(), m.b, m.w]

    check_behaviour(fn)


def test_legacy_contiguous_format_is_contiguous_format():
    assert "legacy_contiguous_format" in dir(brickwork)
    assert brickwork.legacy_contiguous_format is brickwork.contiguous_format
    if torch is not None:
        assert torch.legacy_contiguous_format is torch.contiguous_format


def test_numpy_only_expectations():
    # No torch needed: the strides PyTorch documents for channels_last, and values kept.
    x = brickwork.tensor(np.arange(120.0).reshape(2, 3, 4, 5))
    y = x.to(memory_format=brickwork.channels_last)
    assert y.stride() == (60, 1, 15, 3) and y.is_contiguous(memory_format=brickwork.channels_last)
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    z = brickwork.empty_like(y)
    assert z.stride() == (60, 1, 15, 3)
    w = brickwork.empty(2, 3, 2, 4, 5, memory_format=brickwork.channels_last_3d)
    assert w.stride() == (120, 1, 60, 15, 3)
    p = x.permute(0, 2, 3, 1).clone()
    assert p.stride() == x.permute(0, 2, 3, 1).stride()
    np.testing.assert_array_equal(p.numpy(), x.numpy().transpose(0, 2, 3, 1))


def test_simcuda_conversions(sim_cuda):
    x = brickwork.tensor(np.arange(120.0, dtype=np.float32).reshape(2, 3, 4, 5))
    y = x.to("cuda:1", memory_format=brickwork.channels_last)
    assert y.device == brickwork.device("cuda:1") and y.stride() == (60, 1, 15, 3)
    z = brickwork.zeros_like(y)
    assert z.device == y.device and z.stride() == (60, 1, 15, 3)
    back = y.cpu(memory_format=brickwork.contiguous_format)
    assert back.stride() == (60, 20, 5, 1)
    np.testing.assert_array_equal(back.numpy(), x.numpy())


# -- nn layers on channels_last input ----------------------------------------------------------
def _layer_run(lib, make, shape, module_to_cl, seed=0):
    lib.manual_seed(0)
    rng = np.random.default_rng(seed)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32)).to(
        memory_format=lib.channels_last if len(shape) == 4 else lib.channels_last_3d)
    x.requires_grad_()
    m = make(lib)
    for p in m.parameters():  # same weights on both sides
        with lib.no_grad():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    if module_to_cl:
        m = m.to(memory_format=lib.channels_last if len(shape) == 4 else lib.channels_last_3d)
    out = m(x)
    out.backward(lib.ones_like(out))
    strides = [p.stride() for p in m.parameters()]
    grads = [p.grad for p in m.parameters()]
    return [out, x.grad, strides] + grads


LAYERS = {
    "conv2d": ((2, 3, 6, 6), lambda lib: lib.nn.Conv2d(3, 4, 3, padding=1)),
    "conv2d_strided": ((2, 3, 7, 7), lambda lib: lib.nn.Conv2d(3, 2, 3, stride=2, bias=False)),
    "batchnorm2d": ((4, 3, 5, 5), lambda lib: lib.nn.BatchNorm2d(3)),
    "linear_on_4d": ((2, 3, 4, 5), lambda lib: lib.nn.Linear(5, 2)),
}


@pytest.mark.parametrize("module_to_cl", [False, True])
@pytest.mark.parametrize("layer", list(LAYERS))
def test_layers_on_channels_last(layer, module_to_cl):
    shape, make = LAYERS[layer]
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    b = _layer_run(brickwork, make, shape, module_to_cl)
    t = _layer_run(torch, make, shape, module_to_cl)
    assert b[2] == [tuple(s) for s in t[2]]
    for i, (bi, ti) in enumerate(zip(b[:2] + b[3:], t[:2] + t[3:])):
        np.testing.assert_allclose(bi.detach().numpy(), ti.detach().numpy(), rtol=1e-4,
                                   atol=1e-4, err_msg=f"{layer}: result {i}")
