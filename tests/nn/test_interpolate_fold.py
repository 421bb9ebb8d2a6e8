"""F.interpolate (and the deprecated upsample*), F.fold / F.unfold, F.dropout3d and their
modules (Upsample*, Fold, Unfold, Dropout3d, AlphaDropout, FeatureAlphaDropout) against
PyTorch: values, gradients, dtypes, errors, reprs; plus NumPy expectations and float64
gradchecks that need no torch."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from brickwork.nn import functional as F
from helpers import check_error, check_op, rand_array, requires_torch

try:
    import torch
except ImportError:  # pragma: no cover - the reference tests skip
    torch = None

# (input shape, interpolate kwargs): every mode, both align_corners, up and down, 3/4/5-d.
INTERP = [
    ((2, 3, 5), dict(size=9, mode="nearest")),
    ((2, 3, 5), dict(scale_factor=0.6, mode="nearest")),
    ((2, 3, 6, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 6, 5), dict(size=(4, 11), mode="nearest")),
    ((1, 2, 3, 4, 5), dict(scale_factor=(1.5, 0.5, 2.3), mode="nearest")),
    ((2, 3, 7), dict(scale_factor=2.3, mode="nearest-exact")),
    ((1, 2, 7, 5), dict(size=(3, 9), mode="nearest-exact")),
    ((1, 2, 3, 4, 5), dict(size=(5, 2, 7), mode="nearest-exact")),
    ((2, 3, 5), dict(size=9, mode="linear")),
    ((2, 3, 9), dict(scale_factor=0.4, mode="linear", align_corners=True)),
    ((2, 3, 6, 5), dict(scale_factor=2, mode="bilinear")),
    ((2, 3, 6, 5), dict(scale_factor=(1.7, 0.6), mode="bilinear", align_corners=True)),
    ((1, 2, 6, 5), dict(size=(3, 11), mode="bilinear", align_corners=False)),
    ((1, 2, 6, 5), dict(scale_factor=2.5, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 6, 5), dict(scale_factor=2, mode="bicubic")),
    ((2, 3, 6, 5), dict(size=(4, 9), mode="bicubic", align_corners=True)),
    ((1, 2, 7, 8), dict(scale_factor=(0.5, 0.7), mode="bicubic", align_corners=False)),
    ((1, 2, 3, 4, 5), dict(scale_factor=1.8, mode="trilinear")),
    ((1, 2, 3, 4, 5), dict(size=(2, 6, 3), mode="trilinear", align_corners=True)),
    ((2, 3, 7), dict(size=3, mode="area")),
    ((2, 3, 6, 5), dict(scale_factor=0.5, mode="area")),
    ((1, 2, 3, 4, 5), dict(size=(6, 2, 3), mode="area")),
    ((1, 1, 1, 1), dict(size=4, mode="bicubic")),
    ((2, 3, 9, 7), dict(size=(3, 2), mode="bilinear", antialias=True)),
    ((1, 2, 9, 7), dict(scale_factor=0.45, mode="bilinear", align_corners=True,
                        antialias=True)),
    ((1, 2, 9, 7), dict(size=(4, 12), mode="bicubic", antialias=True)),
    ((1, 2, 9, 7), dict(scale_factor=(0.3, 0.6), mode="bicubic", align_corners=True,
                        antialias=True)),
    ((2, 1, 4, 3), dict(size=1, mode="bilinear")),
]


def _interp_id(case):
    shape, kw = case
    return f"{len(shape)}d-" + "-".join(f"{k}={v}" for k, v in kw.items())


@requires_torch
@pytest.mark.parametrize("case", INTERP, ids=[_interp_id(c) for c in INTERP])
@pytest.mark.parametrize("path", ["matrix", "taps"])
def test_interpolate_matches_torch(case, path, monkeypatch):
    # short axes are resampled by a dense matrix product, long ones by index_select taps
    shape, kwargs = case
    if path == "taps":
        if kwargs["mode"] in ("nearest", "nearest-exact", "area"):
            pytest.skip("one path only")
        from brickwork.nn import _functional_interpolate

        monkeypatch.setattr(_functional_interpolate, "MATRIX_MAX_IN", 0)
    check_op(lambda lib, x: lib.nn.functional.interpolate(x, **kwargs), [shape])


@requires_torch
@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 5), dict(mode="linear")), ((1, 2, 5, 4), dict(mode="bilinear")),
    ((1, 2, 5, 4), dict(mode="bicubic")), ((1, 2, 5, 4, 3), dict(mode="trilinear")),
    ((1, 2, 5, 4), dict(mode="bilinear", antialias=True)),
    ((1, 2, 5, 4), dict(mode="bicubic", antialias=True))])
def test_interpolate_grad_fn_names_match_torch(shape, kw):
    names = [lib.nn.functional.interpolate(lib.ones(*shape, requires_grad=True),
                                           scale_factor=0.5 if kw.get("antialias") else 2,
                                           **kw).grad_fn.name() for lib in (brickwork, torch)]
    assert names[0] == names[1]


@requires_torch
@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_interpolate_dtypes(dtype, mode):
    x = rand_array((1, 2, 5, 4), dtype="float64").astype(
        brickwork.bfloat16.np if dtype == "bfloat16" else dtype)
    atol = {"float64": None, "float16": 2e-2, "bfloat16": 5e-2}[dtype]
    check_op(lambda lib, t: lib.nn.functional.interpolate(t, scale_factor=1.6, mode=mode),
             [x], atol=atol, rtol=atol, grad_atol=atol, grad_rtol=atol, second_order=False)


@requires_torch
def test_interpolate_sweep_matches_torch():
    """Many sizes and scales per mode (the coordinate rules differ only at some sizes)."""
    rng = np.random.default_rng(0)
    modes = {3: ["nearest", "nearest-exact", "linear", "area"],
             4: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
             5: ["trilinear", "nearest-exact"]}
    for nd, names in modes.items():
        a = rng.standard_normal((1, 2) + (7, 5, 4)[:nd - 2]).astype(np.float32)
        for mode in names:
            for ac in ([None] if mode in ("nearest", "nearest-exact", "area") else [False, True]):
                geoms = [dict(size=s) for s in (1, 3, 6, 13)]
                geoms += [dict(scale_factor=s, recompute_scale_factor=r)
                          for s in (0.5, 0.7, 1.0, 2.0, 2.3, 3.0) for r in (None, True)]
                for g in geoms:
                    kw = dict(g, mode=mode, align_corners=ac)
                    tx = torch.tensor(a, requires_grad=True)
                    bx = brickwork.tensor(a, requires_grad=True)
                    t = torch.nn.functional.interpolate(tx, **kw)
                    b = F.interpolate(bx, **kw)
                    up = rng.standard_normal(tuple(t.shape)).astype(np.float32)
                    (t * torch.tensor(up)).sum().backward()
                    (b * brickwork.tensor(up)).sum().backward()
                    assert tuple(b.shape) == tuple(t.shape), kw
                    np.testing.assert_allclose(b.detach().numpy(), t.detach().numpy(),
                                               atol=1e-5, rtol=1e-4, err_msg=str(kw))
                    np.testing.assert_allclose(bx.grad.numpy(), tx.grad.numpy(), atol=1e-4,
                                               rtol=1e-4, err_msg=str(kw))


@requires_torch
def test_interpolate_integer_nearest_and_empty_batch():
    x = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(1, 2, 3, 4)
    check_op(lambda lib, t: lib.nn.functional.interpolate(t, size=(5, 7)), [x])
    check_op(lambda lib, t: lib.nn.functional.interpolate(t, size=(2, 3), mode="bilinear"),
             [(0, 2, 3, 4)])


INTERP_ERRORS = [
    ((1, 2, 4, 4), dict(size=2, scale_factor=2)),
    ((1, 2, 4, 4), dict()),
    ((1, 2, 4, 4), dict(size=(2, 3, 4))),
    ((1, 2, 4, 4), dict(scale_factor=(2.0,))),
    ((1, 2, 4, 4), dict(size=(2.0, 3))),
    ((1, 2, 4, 4), dict(size=3, recompute_scale_factor=True)),
    ((1, 2, 4, 4), dict(size=3, align_corners=True)),
    ((1, 2, 4, 4), dict(size=3, mode="area", align_corners=False)),
    ((1, 2, 4, 4), dict(scale_factor=0.1)),
    ((1, 2, 4), dict(size=0)),
    ((1, 2, 4, 3, 3), dict(size=(0, 1, 1))),
    ((1, 2, 0, 3), dict(size=2)),
    ((1, 2, 4, 4), dict(size=3, mode="linear")),
    ((1, 2, 4, 4), dict(size=3, mode="trilinear")),
    ((1, 2, 4), dict(size=3, mode="bilinear")),
    ((1, 2, 4, 4, 4), dict(size=3, mode="bicubic")),
    ((1, 2, 4, 4, 4), dict(size=3, mode="linear")),
    ((4, 4), dict(size=3)),
    ((1, 2, 4, 4), dict(size=3, mode="cubic")),
    ((1, 2, 4, 4, 4), dict(size=3, antialias=True)),
    ((1, 2, 4, 4), dict(size=3, mode="lanczos")),
    ((1, 2, 4, 4), dict(size=3, mode="lanczos", align_corners=True)),
]


@requires_torch
@pytest.mark.parametrize("case", INTERP_ERRORS, ids=[_interp_id(c) for c in INTERP_ERRORS])
def test_interpolate_errors_match_torch(case):
    shape, kwargs = case
    check_error(lambda lib, x: lib.nn.functional.interpolate(x, **kwargs), [shape])


def test_lanczos_and_integer_linear_refused():
    with pytest.raises(NotImplementedError, match="lanczos"):
        F.interpolate(brickwork.ones(1, 1, 4, 4), size=2, mode="lanczos", antialias=True)
    with pytest.raises(NotImplementedError, match="floating-point"):
        F.interpolate(brickwork.ones(1, 1, 4, 4, dtype=brickwork.int64), size=2,
                      mode="bilinear")


@requires_torch
@pytest.mark.parametrize("name,kwargs", [
    ("upsample", dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ("upsample_nearest", dict(size=(3, 7))),
    ("upsample_bilinear", dict(scale_factor=1.5)),
])
def test_deprecated_upsample_warns_and_matches(name, kwargs):
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        out = getattr(F, name)(brickwork.ones(1, 1, 2, 2), **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda lib, x: getattr(lib.nn.functional, name)(x, **kwargs), [(1, 2, 4, 5)])
        want = getattr(torch.nn.functional, name)(torch.ones(1, 1, 2, 2), **kwargs)
    assert tuple(out.shape) == tuple(want.shape)


# -- modules ------------------------------------------------------------------------------

MODULES = [
    ("Upsample", (), dict(scale_factor=2), (1, 2, 3, 4)),
    ("Upsample", (), dict(size=(5, 3), mode="bilinear"), (1, 2, 3, 4)),
    ("Upsample", (), dict(scale_factor=(2, 1.5), mode="bicubic", align_corners=True),
     (1, 2, 3, 4)),
    ("Upsample", (7,), dict(mode="linear"), (2, 3, 4)),
    ("Upsample", (), dict(scale_factor=1.5, mode="trilinear", recompute_scale_factor=True),
     (1, 2, 2, 3, 4)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 3, 4)),
    ("UpsamplingBilinear2d", ((4, 7),), {}, (1, 2, 3, 4)),
    ("Unfold", (2,), {}, (2, 3, 4, 5)),
    ("Unfold", ((2, 3),), dict(dilation=(1, 2), padding=1, stride=(2, 1)), (3, 6, 7)),
    ("Fold", ((4, 5), 2), {}, (2, 12, 12)),
    ("Fold", ((6, 7), (2, 3)), dict(dilation=(1, 2), padding=1, stride=(2, 1)), (18, 20)),
]


@requires_torch
@pytest.mark.parametrize("case", MODULES, ids=[f"{c[0]}-{c[2]}" for c in MODULES])
def test_module_matches_torch(case):
    name, args, kwargs, shape = case
    check_op(lambda lib, x: getattr(lib.nn, name)(*args, **kwargs)(x), [shape])
    assert repr(getattr(nn, name)(*args, **kwargs)) == \
        repr(getattr(torch.nn, name)(*args, **kwargs))


@requires_torch
@pytest.mark.parametrize("name", ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
                                  "Fold", "Unfold", "Dropout3d", "AlphaDropout",
                                  "FeatureAlphaDropout"])
def test_module_signatures_and_constants(name):
    b, t = getattr(nn, name), getattr(torch.nn, name)
    assert list(inspect.signature(b).parameters) == list(inspect.signature(t).parameters)
    for (bn, bp), tp in zip(inspect.signature(b).parameters.items(),
                            inspect.signature(t).parameters.values()):
        assert bp.default == tp.default, bn
    assert list(getattr(b, "__constants__", [])) == list(getattr(t, "__constants__", []))
    if name.startswith("Upsampl"):
        assert repr(b(size=3)) == repr(t(size=3))
        assert repr(b(scale_factor=(2, 3))) == repr(t(scale_factor=(2, 3)))


@requires_torch
@pytest.mark.parametrize("name", ["interpolate", "upsample", "upsample_nearest",
                                  "upsample_bilinear", "fold", "unfold", "dropout3d"])
def test_functional_signatures(name):
    b = inspect.signature(getattr(F, name)).parameters
    t = inspect.signature(getattr(torch.nn.functional, name)).parameters
    assert [(p.name, p.default) for p in b.values()] == [(p.name, p.default) for p in t.values()]


# -- fold / unfold ------------------------------------------------------------------------

FOLD = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((1, 2, 7, 6), dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(2, 3))),
    ((2, 5, 4), dict(kernel_size=3, padding=1)),
    ((0, 2, 4, 4), dict(kernel_size=2, stride=2)),
]


@requires_torch
@pytest.mark.parametrize("case", FOLD, ids=[_interp_id(c) for c in FOLD])
def test_unfold_and_fold_match_torch(case):
    shape, kwargs = case

    def round_trip(lib, x):
        cols = lib.nn.functional.unfold(x, **kwargs)
        return cols, lib.nn.functional.fold(cols * cols, shape[-2:], **kwargs)

    check_op(round_trip, [shape])


UNFOLD_ERRORS = [
    ((1, 2, 5, 5), dict(kernel_size=6)),
    ((1, 2, 5, 5), dict(kernel_size=0)),
    ((1, 2, 5, 5), dict(kernel_size=2, stride=0)),
    ((1, 2, 5, 5), dict(kernel_size=2, dilation=(1, 0))),
    ((1, 2, 5, 5), dict(kernel_size=2, padding=-1)),
    ((1, 2, 5, 5), dict(kernel_size=(2, 2, 2))),
    ((1, 2, 3, 4, 5), dict(kernel_size=2)),
    ((1, 0, 5, 5), dict(kernel_size=2)),
    ((5, 5), dict(kernel_size=2)),
]


@requires_torch
@pytest.mark.parametrize("case", UNFOLD_ERRORS, ids=[_interp_id(c) for c in UNFOLD_ERRORS])
def test_unfold_errors_match_torch(case):
    shape, kwargs = case
    check_error(lambda lib, x: lib.nn.functional.unfold(x, **kwargs), [shape])


FOLD_ERRORS = [
    ((1, 8, 16), dict(output_size=4, kernel_size=2)),
    ((1, 7, 16), dict(output_size=5, kernel_size=2)),
    ((1, 8, 16), dict(output_size=5, kernel_size=2, stride=0)),
    ((1, 8, 16), dict(output_size=5, kernel_size=0)),
    ((1, 8, 16), dict(output_size=5, kernel_size=2, padding=(0, -1))),
    ((1, 8, 16), dict(output_size=(5, 5, 5), kernel_size=2)),
    ((2, 8), dict(output_size=5, kernel_size=2)),
    ((1, 2, 8, 16), dict(output_size=5, kernel_size=2)),
    ((1, 0, 16), dict(output_size=5, kernel_size=2)),
    ((1, 8, 1), dict(output_size=1, kernel_size=2)),
]


@requires_torch
@pytest.mark.parametrize("case", FOLD_ERRORS, ids=[_interp_id(c) for c in FOLD_ERRORS])
def test_fold_errors_match_torch(case):
    shape, kwargs = case
    check_error(lambda lib, x: lib.nn.functional.fold(x, **kwargs), [shape])


# -- without torch: NumPy expectations and gradchecks -------------------------------------

def test_nearest_doubling_is_repeat():
    a = rand_array((2, 3, 4, 5))
    out = F.interpolate(brickwork.tensor(a), scale_factor=2).numpy()
    np.testing.assert_array_equal(out, a.repeat(2, axis=2).repeat(2, axis=3))


def test_linear_align_corners_keeps_a_ramp():
    ramp = np.arange(5, dtype=np.float64).reshape(1, 1, 5)
    out = F.interpolate(brickwork.tensor(ramp), size=9, mode="linear", align_corners=True)
    np.testing.assert_allclose(out.numpy()[0, 0], np.linspace(0, 4, 9))


def test_bicubic_reproduces_constant_and_area_is_block_mean():
    ones = brickwork.ones(1, 1, 4, 5, dtype=brickwork.float64)
    np.testing.assert_allclose(F.interpolate(ones, size=(7, 3), mode="bicubic").numpy(), 1.0)
    a = rand_array((1, 2, 4, 6), dtype="float64")
    out = F.interpolate(brickwork.tensor(a), scale_factor=0.5, mode="area").numpy()
    np.testing.assert_allclose(out, a.reshape(1, 2, 2, 2, 3, 2).mean(axis=(3, 5)))


def test_unfold_matches_numpy_windows():
    a = rand_array((2, 3, 5, 6), dtype="float64")
    cols = F.unfold(brickwork.tensor(a), (2, 3), stride=(2, 1)).numpy()
    want = np.stack([a[:, :, i:i + 2, j:j + 3].reshape(2, -1)
                     for i in range(0, 4, 2) for j in range(4)], axis=-1)
    np.testing.assert_allclose(cols, want)
    # fold of unfold counts how many blocks cover each pixel
    ones = brickwork.ones(1, 1, 5, 6, dtype=brickwork.float64)
    cover = F.fold(F.unfold(ones, 2), (5, 6), 2).numpy()[0, 0]
    want_cover = np.outer([1, 2, 2, 2, 1], [1, 2, 2, 2, 2, 1])
    np.testing.assert_allclose(cover, want_cover)


@pytest.mark.parametrize("fn", [
    lambda x: F.interpolate(x, scale_factor=1.7, mode="bilinear"),
    lambda x: F.interpolate(x, size=(2, 5), mode="bicubic", align_corners=True),
    lambda x: F.interpolate(x, size=(5, 2), mode="area"),
    lambda x: F.unfold(x, 2, padding=1, stride=(1, 2)),
    lambda x: F.fold(x.reshape(1, 4, 3), (2, 3), (2, 1)),
    lambda x: F.interpolate(x, size=(2, 3), mode="bicubic", antialias=True),
], ids=["bilinear", "bicubic", "area", "unfold", "fold", "bicubic-antialias"])
def test_gradcheck_float64(fn):
    x = brickwork.tensor(rand_array((1, 1, 3, 4), dtype="float64"), requires_grad=True)
    assert gradcheck(fn, (x,))


# -- dropout ------------------------------------------------------------------------------

def test_dropout3d_drops_whole_channels():
    brickwork.manual_seed(0)
    x = brickwork.ones(4, 8, 2, 3, 2)
    out = F.dropout3d(x, 0.5, training=True).numpy()
    per_channel = out.reshape(4, 8, -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # constant inside a channel
    assert set(np.unique(out)) <= {0.0, 2.0} and 0 < (out == 0).mean() < 1
    unbatched = F.dropout3d(brickwork.ones(8, 2, 3, 2), 0.5).numpy().reshape(8, -1)
    assert np.all(unbatched.min(-1) == unbatched.max(-1))
    assert F.dropout3d(x, 0.5, training=False) is x
    drop = nn.Dropout3d(0.25)
    assert repr(drop) == "Dropout3d(p=0.25, inplace=False)"
    assert drop.eval()(x) is x
    y = brickwork.ones(2, 3, 2, 2, 2)
    assert nn.Dropout3d(1.0, inplace=True)(y) is y and not y.numpy().any()


def test_dropout3d_warns_and_validates():
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        F.dropout3d(brickwork.ones(2, 3, 4), 0.5)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        F.dropout3d(brickwork.ones(2, 3, 4, 4, 4), 1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout3d(-0.1)


@pytest.mark.parametrize("name", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropouts(name):
    brickwork.manual_seed(0)
    x = brickwork.randn(64, 16, 8, 8)
    layer = getattr(nn, name)(0.2)
    assert repr(layer) == f"{name}(p=0.2, inplace=False)"
    out = layer(x).numpy()
    # SELU's self-normalization: mean about 0 and variance about 1 survive
    assert abs(out.mean()) < 0.05 and abs(out.var() - 1) < 0.1
    assert not np.allclose(out, x.numpy())
    if name == "FeatureAlphaDropout":  # whole channels share one (a, b) transform
        changed = (out != x.numpy()).reshape(64, 16, -1)
        assert np.all(changed.all(-1) | ~changed.any(-1))
    assert layer.eval()(x) is x
    y = brickwork.randn(4, 3, 2, 2)
    assert getattr(nn, name)(0.5, inplace=True)(y) is y


@requires_torch
def test_dropout3d_p_one_and_grad_match_torch():
    check_op(lambda lib, x: lib.nn.functional.dropout3d(x, 1.0), [(2, 3, 2, 2, 2)])
    check_error(lambda lib, x: lib.nn.functional.dropout3d(x, -1.0), [(2, 3, 2, 2, 2)])


@requires_torch
@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "trilinear"])
def test_interpolate_keeps_inf_and_nan_local_as_torch(mode):
    # the dense-matrix product would multiply an inf by its row's zeros and spread NaN over
    # the row; PyTorch's taps keep it to the neighbours, forward and backward
    shape = (1, 2, 6, 5) if mode != "trilinear" else (1, 1, 3, 6, 5)
    a = rand_array(shape)
    a.reshape(-1)[7], a.reshape(-1)[22] = np.inf, np.nan
    grads = []
    for lib in (brickwork, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.nn.functional.interpolate(x, scale_factor=2, mode=mode)
        up = np.ones(tuple(y.shape), np.float32)
        up.reshape(-1)[3] = -np.inf
        y.backward(lib.tensor(up))
        grads.append((y.detach().numpy(), x.grad.numpy()))
    (by, bg), (ty, tg) = grads
    assert 0 < np.isnan(ty).sum() < ty.size // 4  # local, in PyTorch
    np.testing.assert_allclose(by, ty, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bg, tg, rtol=1e-5, atol=1e-5)
