"""AdaptiveLogSoftmaxWithLoss, LinearCrossEntropyLoss/Options, F.linear_cross_entropy,
F.grouped_mm, F.conv_tbc, nn.grad and nn.factory_kwargs against PyTorch (weights copied:
values, gradients, state_dict keys, repr, errors), plus float64 gradchecks that need no torch."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from helpers import (assert_close, check_behaviour, check_error, check_op, rand_array,
                     requires_torch, to_brick, to_torch)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _copy(b_module, t_module):
    b_module.load_state_dict({k: brickwork.tensor(v.detach().numpy())
                              for k, v in t_module.state_dict().items()})


def _same_error(fn):
    """Both libraries raise the same type and text (``torch.Size`` reading ``brickwork.Size``)."""
    with pytest.raises(Exception) as t_exc:
        fn(torch)
    with pytest.raises(Exception) as b_exc:
        fn(brickwork)
    assert type(b_exc.value) is type(t_exc.value) or \
        type(b_exc.value).__name__ == type(t_exc.value).__name__
    assert str(b_exc.value) == str(t_exc.value).replace("torch.", "brickwork.")


def _grads(module):
    return {k: p.grad for k, p in module.named_parameters()}


# ---------------------------------------------------------------- AdaptiveLogSoftmaxWithLoss

ASM_CONFIGS = [dict(cutoffs=[5, 12], div_value=2.0, head_bias=False),
               dict(cutoffs=[3], div_value=4.0, head_bias=True),
               dict(cutoffs=[2, 6, 15], div_value=1.5, head_bias=True)]


def _asm_pair(cfg, in_features=16, n_classes=20):
    torch.manual_seed(0)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, **cfg)
    b = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, **cfg)
    _copy(b, t)
    return b, t


@requires_torch
@pytest.mark.parametrize("cfg", ASM_CONFIGS)
def test_asm_forward_backward_matches_torch(cfg):
    b, t = _asm_pair(cfg)
    assert list(b.state_dict()) == list(t.state_dict())
    assert repr(b) == repr(t)
    x = rand_array((9, 16), seed=1)
    target = np.array([0, 19, 4, 5, 11, 12, 2, 17, 8], dtype=np.int64)
    bx, tx = to_brick(x, True), to_torch(x, True)
    bo, tout = b(bx, to_brick(target)), t(tx, to_torch(target))
    assert type(bo).__name__ == "_ASMoutput" and bo._fields == ("output", "loss")
    assert_close(bo.output, tout.output)
    assert_close(bo.loss, tout.loss)
    up = rand_array((9,), seed=3)
    (bo.output * to_brick(up)).sum().add(bo.loss).backward()
    (tout.output * to_torch(up)).sum().add(tout.loss).backward()
    assert_close(bx.grad, tx.grad)
    tg = _grads(t)
    for k, g in _grads(b).items():
        assert_close(g, tg[k], what=k)
    assert_close(b.log_prob(bx), t.log_prob(tx))
    assert_close(b.predict(bx), t.predict(tx))


@requires_torch
def test_asm_unbatched_predict_branches_and_dtype():
    b, t = _asm_pair(ASM_CONFIGS[0])
    x = rand_array((16,), seed=4)
    bo, tout = b(to_brick(x), brickwork.tensor(13)), t(to_torch(x), torch.tensor(13))
    assert_close(bo.output, tout.output)
    assert_close(bo.loss, tout.loss)
    # predict's three branches: all in the shortlist, none, and mixed (head bias steers it).
    for shift in (10.0, -10.0, 0.0):
        with torch.no_grad():
            t.head.weight.zero_()
            t.head.weight[:, 0] = torch.linspace(-1, 1, t.head_size) * shift
        _copy(b, t)
        x = rand_array((12, 16), seed=5, low=-3, high=3)
        assert_close(b.predict(to_brick(x)), t.predict(to_torch(x)))
    b64 = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], dtype=brickwork.float64)
    assert b64.head.weight.dtype == brickwork.float64


@requires_torch
@pytest.mark.parametrize("case", [
    dict(cutoffs=[]), dict(cutoffs=[5, 3]), dict(cutoffs=[0, 3]), dict(cutoffs=[3, 20]),
    dict(cutoffs=[3, 3]), dict(cutoffs=[2.5])])
def test_asm_constructor_errors(case):
    check_behaviour(lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 20, **case))


@requires_torch
@pytest.mark.parametrize("xshape,target", [
    ((4, 16), [0, 1, 2]), ((4, 2, 16), [0, 1, 2, 3]), ((4, 16), [[0, 1]] * 4),
    ((4, 16), [0, 1, 25, 3]), ((4, 16), [0, -1, 2, 3])])
def test_asm_forward_errors(xshape, target):
    b, t = _asm_pair(ASM_CONFIGS[0])

    def run(lib):
        m = b if lib is brickwork else t
        return m(lib.zeros(xshape), lib.tensor(target))
    _same_error(run)


@requires_torch
def test_asm_unbatched_input_error():
    b, t = _asm_pair(ASM_CONFIGS[0])
    _same_error(lambda lib: (b if lib is brickwork else t)(lib.zeros(2, 16), lib.tensor(1)))


def test_asm_gradcheck_and_numpy_expectation():
    brickwork.manual_seed(0)
    m = nn.AdaptiveLogSoftmaxWithLoss(6, 8, [3, 5], div_value=2.0, dtype=brickwork.float64)
    x = brickwork.randn(5, 6, dtype=brickwork.float64, requires_grad=True)
    target = brickwork.tensor([0, 3, 7, 5, 2])
    assert gradcheck(lambda v: m(v, target).output, (x,))
    # log_prob is a proper distribution, and forward's output picks its entries.
    lp = m.log_prob(x).detach().numpy()
    np.testing.assert_allclose(np.exp(lp).sum(1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(m(x, target).output.detach().numpy(),
                               lp[np.arange(5), target.numpy()], rtol=1e-12)
    np.testing.assert_array_equal(m.predict(x).numpy(), lp.argmax(1))


# -------------------------------------------------------------------- linear_cross_entropy

N, D, C = 6, 4, 7
_T = np.array([1, 0, 6, 3, -100, 2], dtype=np.int64)
_T3 = np.array([1, 0, 6, 3, 3, 2], dtype=np.int64)  # for ignore_index=3


def _lce(**kw):
    def fn(lib, x, w, b, cw, target):
        k = dict(kw)
        if k.get("ignore_index") == 3:
            target = lib.tensor(_T3)
        return lib.nn.functional.linear_cross_entropy(
            x, w, target, linear_bias=b if k.pop("bias", True) else None,
            weight=cw if k.pop("cw", False) else None, **k)
    return fn


LCE_CASES = [dict(), dict(reduction="sum"), dict(reduction="none"), dict(cw=True),
             dict(cw=True, reduction="none"), dict(ignore_index=3), dict(label_smoothing=0.2),
             dict(bias=False, reduction="sum")]


@pytest.mark.parametrize("kw", LCE_CASES)
def test_linear_cross_entropy_reference_matches_torch(kw):
    check_op(_lce(**kw), [(N, D), (C, D), (C,), rand_array((C,), low=0.2, high=2.0, seed=9),
                          _T], grad=[True, True, True, False, False])


@pytest.mark.parametrize("opts", [dict(), dict(batch_chunk_size=4, chunking_method=None),
                                  dict(batch_chunk_size=1, chunking_method=None),
                                  dict(chunking_method="aspect_ratio:2"),
                                  dict(allow_retain_graph=True, acc_policy="balanced")])
@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(reduction="none"),
                                dict(cw=True), dict(cw=True, reduction="none"),
                                dict(ignore_index=3, bias=False)])
def test_linear_cross_entropy_chunked_matches_torch(opts, kw):
    def fn(lib, *args):
        options = lib.nn.LinearCrossEntropyOptions(**opts)
        out = _lce(options=options, **kw)(lib, *args)
        assert "Chunked" in type(out.grad_fn).__name__ or lib is torch  # not the reference path
        return out
    check_op(fn, [(N, D), (C, D), (C,), rand_array((C,), low=0.2, high=2.0, seed=9), _T],
             grad=[True, True, True, False, False], second_order=False)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_linear_cross_entropy_chunked_low_precision(dtype):
    def fn(lib, x, w, b, target):
        dt = getattr(lib, dtype)
        return lib.nn.functional.linear_cross_entropy(
            x.to(dt), w.to(dt), target, linear_bias=b.to(dt),
            options=lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method=None))
    check_op(fn, [(N, D), (C, D), (C,), _T], grad=[True, True, True, False],
             second_order=False, atol=2e-2, rtol=2e-2, grad_atol=2e-2, grad_rtol=2e-2)


def test_linear_cross_entropy_kdim_unbatched_and_probabilities():
    t3 = np.array([[0, 1], [2, 3], [4, 0]], dtype=np.int64)
    check_op(lambda lib, x, w, b, t: lib.nn.functional.linear_cross_entropy(
        x, w, t, linear_bias=b), [(3, D), (C, 2, D), (C, 2), t3], grad=[True, True, True, False])
    check_op(lambda lib, x, w, t: lib.nn.functional.linear_cross_entropy(x, w, t),
             [(D,), (C, D), np.array(2, dtype=np.int64)], grad=[True, True, False])
    probs = np.random.default_rng(0).dirichlet(np.ones(C), size=N).astype(np.float32)
    check_op(lambda lib, x, w, p: lib.nn.functional.linear_cross_entropy(
        x, w, p, reduction="sum"), [(N, D), (C, D), probs], grad=[True, True, False])
    check_op(lambda lib, x, w, t: lib.nn.functional.linear_cross_entropy(
        x, w, t, options=lib.nn.LinearCrossEntropyOptions(), reduction="none"),
        [(D,), (C, D), np.array(2, dtype=np.int64)], grad=[True, True, False],
        second_order=False)


@requires_torch
@pytest.mark.parametrize("args", [
    ((N, D, 2), (C, D), _T), ((N, D), (D,), _T), ((N, D), (C, D + 1), _T),
    ((D,), (C, 2, D), np.array(1, dtype=np.int64)), ((N, D), (C, D), np.array([1, 2, 3]))])
def test_linear_cross_entropy_errors(args):
    check_error(lambda lib, x, w, t: lib.nn.functional.linear_cross_entropy(x, w, t), args)
    check_error(lambda lib, x, w, b: lib.nn.functional.linear_cross_entropy(
        x, w, lib.zeros(N, dtype=lib.int64), linear_bias=b), [(N, D), (C, D), (C + 1,)])
    probs = np.full((N, C), 1.0 / C, dtype=np.float32)
    check_error(lambda lib, x, w, p: lib.nn.functional.linear_cross_entropy(
        x, w, p, ignore_index=1), [(N, D), (C, D), probs])


@requires_torch
def test_linear_cross_entropy_chunked_second_backward_and_fallback_warning():
    def twice(lib):
        x = lib.tensor(rand_array((N, D)), requires_grad=True)
        w = lib.tensor(rand_array((C, D), seed=2), requires_grad=True)
        loss = lib.nn.functional.linear_cross_entropy(
            x, w, lib.tensor(_T), options=lib.nn.LinearCrossEntropyOptions())
        loss.backward(retain_graph=True)
        loss.backward()
    check_behaviour(twice)

    def retained(lib, red):
        x = lib.tensor(rand_array((N, D)), requires_grad=True)
        w = lib.tensor(rand_array((C, D), seed=2), requires_grad=True)
        opts = lib.nn.LinearCrossEntropyOptions(allow_retain_graph=True, batch_chunk_size=2,
                                                chunking_method=None)
        loss = lib.nn.functional.linear_cross_entropy(x, w, lib.tensor(_T), options=opts,
                                                      reduction=red).sum()
        loss.backward(retain_graph=True)
        loss.backward()
        return x.grad, w.grad
    for red in ("mean", "none"):
        check_behaviour(lambda lib: retained(lib, red))

    def warn(lib):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            out = lib.nn.functional.linear_cross_entropy(
                lib.tensor(rand_array((N, D))), lib.tensor(rand_array((C, D), seed=2)),
                lib.tensor(_T), label_smoothing=0.1, options=lib.nn.LinearCrossEntropyOptions())
        return out, len(rec), str(rec[0].message).startswith("linear_cross_entropy: ``options``")
    check_behaviour(warn)
    with pytest.raises(RuntimeError, match="out of bounds"):
        nn.functional.linear_cross_entropy(brickwork.zeros(2, D), brickwork.zeros(C, D),
                                           brickwork.tensor([0, C]),
                                           options=nn.LinearCrossEntropyOptions())


@requires_torch
@pytest.mark.parametrize("kw", [dict(acc_policy="fast"), dict(chunking_method="ratio"),
                                dict(chunking_method="aspect_ratio:0"), dict(batch_chunk_size=0),
                                dict(batch_chunk_size=2.0)])
def test_options_validation(kw):
    check_behaviour(lambda lib: lib.nn.LinearCrossEntropyOptions(**kw))


@requires_torch
def test_options_repr_adjust_and_conflict():
    check_behaviour(lambda lib: repr(lib.nn.LinearCrossEntropyOptions(batch_chunk_size=3)))
    for n, d, c, kw in [(64, 8, 1000, {}), (64, 8, 1000, dict(chunking_method="aspect_ratio")),
                        (6, 4, 7, dict(batch_chunk_size=10)), (5, 4, 7, dict(acc_policy="balanced"))]:
        for dt in ("float32", "bfloat16"):
            def adj(lib):
                a = lib.nn.LinearCrossEntropyOptions(**kw)._adjust(
                    n, d, c, getattr(lib, dt), lib.device("cpu"))
                return a.batch_chunk_size, a.acc_policy, a.chunking_method, str(a.acc_dtype)[-8:]
            check_behaviour(adj)
    with pytest.raises(ValueError, match="give different chunk sizes"):
        nn.LinearCrossEntropyOptions(batch_chunk_size=3, chunking_method="aspect_ratio")._adjust(
            64, 8, 1000, brickwork.float32, brickwork.device("cpu"))
    with pytest.raises(ValueError, match="acc_dtype must be one of"):
        nn.LinearCrossEntropyOptions(acc_dtype=brickwork.int32)
    with pytest.raises(RuntimeError, match="supports float32 acc_dtype"):
        nn.functional.linear_cross_entropy(
            brickwork.zeros(2, D), brickwork.zeros(C, D), brickwork.tensor([0, 1]),
            options=nn.LinearCrossEntropyOptions(acc_dtype=brickwork.float16))


@requires_torch
@pytest.mark.parametrize("kw", [dict(), dict(bias=True, reduction="sum", ignore_index=2),
                                dict(out_features=(2, 3), bias=True),
                                dict(bias=True, options="chunked", label_smoothing=0.0)])
def test_linear_cross_entropy_loss_module(kw):
    def make(lib):
        k = dict(kw)
        if k.get("options") == "chunked":
            k["options"] = lib.nn.LinearCrossEntropyOptions(batch_chunk_size=2,
                                                            chunking_method=None)
        return lib.nn.LinearCrossEntropyLoss(D, C, **k)
    torch.manual_seed(0)
    t, b = make(torch), make(brickwork)
    _copy(b, t)
    assert repr(b) == repr(t).replace("torch.", "brickwork.")
    assert list(b.state_dict()) == list(t.state_dict())
    x = rand_array((N, D), seed=3)
    target = rand_array((N, *kw.get("out_features", ())), "int64", 0, C, seed=4)
    bx, tx = to_brick(x, True), to_torch(x, True)
    bl, tl = b(bx, to_brick(target)), t(tx, to_torch(target))
    assert_close(bl, tl)
    bl.backward()
    tl.backward()
    assert_close(bx.grad, tx.grad)
    tg = _grads(t)
    for k, g in _grads(b).items():
        assert_close(g, tg[k], what=k)


@requires_torch
def test_linear_cross_entropy_loss_errors_and_signatures():
    check_behaviour(lambda lib: lib.nn.LinearCrossEntropyLoss(D, C, weight=lib.ones(C + 1)))
    check_behaviour(lambda lib: lib.nn.LinearCrossEntropyLoss(D, C, label_smoothing=1.5))
    pairs = [(nn.LinearCrossEntropyLoss, torch.nn.LinearCrossEntropyLoss),
             (nn.AdaptiveLogSoftmaxWithLoss, torch.nn.AdaptiveLogSoftmaxWithLoss),
             (nn.functional.linear_cross_entropy, torch.nn.functional.linear_cross_entropy),
             (nn.functional.grouped_mm, torch.nn.functional.grouped_mm),
             (nn.LinearCrossEntropyOptions, torch.nn.LinearCrossEntropyOptions)]
    pairs += [(getattr(nn.grad, n), getattr(torch.nn.grad, n)) for n in nn.grad.__all__]
    for b, t in pairs:
        bp = list(inspect.signature(b).parameters.values())
        tp = list(inspect.signature(t).parameters.values())
        assert [(p.name, p.kind, p.default) for p in bp] == \
               [(p.name, p.kind, p.default) for p in tp], b


def test_linear_cross_entropy_gradcheck_chunked_and_reference():
    rng = np.random.default_rng(0)
    x = brickwork.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    w = brickwork.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    b = brickwork.tensor(rng.normal(size=(4,)), requires_grad=True)
    t = brickwork.tensor([0, 3, 1, -100, 2])
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method=None)
    for red in ("mean", "none"):
        for o in (None, opts):
            assert gradcheck(lambda *a: nn.functional.linear_cross_entropy(
                a[0], a[1], t, linear_bias=a[2], reduction=red, options=o), (x, w, b))
    # NumPy expectation of the reference numbers.
    logits = x.detach().numpy() @ w.detach().numpy().T + b.detach().numpy()
    lse = np.log(np.exp(logits).sum(1))
    keep = np.array([0, 1, 2, 4])
    want = (lse[keep] - logits[keep, t.numpy()[keep]]).mean()
    got = nn.functional.linear_cross_entropy(x, w, t, linear_bias=b, options=opts)
    np.testing.assert_allclose(got.item(), want, rtol=1e-12)


# ----------------------------------------------------------------------- grouped_mm, conv_tbc

OFFS = np.array([2, 5, 8], dtype=np.int32)


@pytest.mark.parametrize("shapes,offs", [
    (((3, 4, 8), (3, 8, 4)), None), (((8, 4), (3, 4, 8)), OFFS),
    (((8, 4), (3, 4, 8)), np.array([2, 2, 6], dtype=np.int32)),
    (((4, 8), (8, 4)), OFFS), (((3, 4, 8), (8, 8)), OFFS), (((3, 4, 8), (8, 12)), OFFS)])
def test_grouped_mm_matches_torch(shapes, offs):
    if offs is None:
        check_op(lambda lib, a, b: lib.nn.functional.grouped_mm(a, b), list(shapes))
        return
    valid = int(offs[-1])

    def fn(lib, a, b, o):
        out = lib.nn.functional.grouped_mm(a, b, offs=o)
        # PyTorch leaves rows/columns past offs[-1] uninitialized: compare the groups only.
        if a.dim() == 2 and b.dim() == 3:
            return out[:valid]
        if a.dim() == 3 and b.dim() == 2:
            return out[:, :valid]
        return out
    # PyTorch's gradients past offs[-1] are uninitialized memory too: compare values only there.
    full = valid == (shapes[0][0] if len(shapes[0]) == 2 and len(shapes[1]) == 3
                     else shapes[1][1] if len(shapes[1]) == 2 and len(shapes[0]) == 3
                     else valid)
    check_op(fn, [*shapes, offs], grad=[full, full, False])


def test_grouped_mm_bfloat16_and_tail_zeros():
    check_op(lambda lib, a, b: lib.nn.functional.grouped_mm(a.to(lib.bfloat16),
                                                            b.to(lib.bfloat16)),
             [(2, 3, 8), (2, 8, 8)], second_order=False)
    out = nn.functional.grouped_mm(brickwork.ones(8, 4), brickwork.ones(2, 4, 4),
                                   offs=brickwork.tensor([2, 5], dtype=brickwork.int32))
    np.testing.assert_array_equal(out.numpy(), np.r_[np.full((5, 4), 4.0), np.zeros((3, 4))])
    a = brickwork.tensor(np.random.default_rng(0).normal(size=(8, 2)), requires_grad=True)
    w = brickwork.tensor(np.random.default_rng(1).normal(size=(2, 2, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="16 bytes"):
        nn.functional.grouped_mm(a.float(), w.float(), offs=brickwork.tensor(
            [3, 8], dtype=brickwork.int32))
    with pytest.raises(RuntimeError, match="non-decreasing"):
        nn.functional.grouped_mm(brickwork.ones(8, 4), brickwork.ones(2, 4, 4),
                                 offs=brickwork.tensor([5, 2], dtype=brickwork.int32))


@requires_torch
@pytest.mark.parametrize("case", [
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 4), lib.ones(2, 4, 5)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 4, dtype=lib.float64),
                                             lib.ones(2, 4, 4, dtype=lib.float64)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 4, 4, dtype=lib.int32),
                                             lib.ones(2, 4, 4, dtype=lib.int32)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(4), lib.ones(2, 4, 4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 4), lib.ones(4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(3, 3, 4), lib.ones(2, 4, 4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 4), lib.ones(2, 8, 4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 4, 3).transpose(1, 2),
                                             lib.ones(2, 4, 4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 8)[:, :, ::2], lib.ones(2, 4, 4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(8, 4), lib.ones(3, 4, 8)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(3, 4, 4), lib.ones(3, 4, 8),
                                             offs=lib.tensor([1, 2, 3], dtype=lib.int32)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(8, 4), lib.ones(3, 4, 8),
                                             offs=lib.tensor([1, 2, 3])),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(8, 4), lib.ones(3, 4, 8),
                                             offs=lib.tensor([[1, 2, 3]], dtype=lib.int32)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(8, 4), lib.ones(2, 4, 8),
                                             offs=lib.tensor([1, 2, 3], dtype=lib.int32)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 4), lib.ones(2, 4, 4),
                                             bias=lib.ones(2, 4)),
    lambda lib: lib.nn.functional.grouped_mm(lib.ones(2, 3, 4), lib.ones(2, 4, 4),
                                             out_dtype=lib.float64),
])
def test_grouped_mm_errors(case):
    check_behaviour(case)


def test_grouped_mm_gradcheck_via_float32_free_path():
    # float64 is refused (as in PyTorch), so check the gradient rule against a finite
    # difference of the float32 op with a loose step.
    rng = np.random.default_rng(0)
    a = brickwork.tensor(rng.normal(size=(8, 4)).astype(np.float32), requires_grad=True)
    b = brickwork.tensor(rng.normal(size=(3, 4, 8)).astype(np.float32), requires_grad=True)
    offs = brickwork.tensor(OFFS)
    up = brickwork.tensor(rng.normal(size=(8, 8)).astype(np.float32))
    (nn.functional.grouped_mm(a, b, offs=offs) * up).sum().backward()
    an, bn, un = a.detach().numpy(), b.detach().numpy(), up.numpy()
    want_a = np.concatenate([un[s:e] @ bn[g].T for g, (s, e) in enumerate([(0, 2), (2, 5),
                                                                             (5, 8)])])
    np.testing.assert_allclose(a.grad.numpy(), want_a, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy()[1], an[2:5].T @ un[2:5], rtol=1e-5, atol=1e-5)


def test_conv_tbc_matches_torch():
    check_op(lambda lib, x, w, b: lib.nn.functional.conv_tbc(x, w, b, 1),
             [(5, 2, 3), (3, 3, 4), (4,)])


# ------------------------------------------------------------------- nn.grad, factory_kwargs

GRAD_CASES = [
    (1, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=1, groups=2)),
    (2, (2, 3, 7, 6), (4, 3, 3, 2), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    (3, (1, 2, 5, 4, 5), (2, 1, 2, 2, 3), dict(stride=1, padding=1, dilation=1, groups=2)),
]


@pytest.mark.parametrize("nd,xshape,wshape,kw", GRAD_CASES)
def test_nn_grad_matches_torch(nd, xshape, wshape, kw):
    conv = f"conv{nd}d"
    x = rand_array(xshape, seed=1)
    w = rand_array(wshape, seed=2)
    out_shape = tuple(getattr(torch.nn.functional, conv)(
        torch.from_numpy(x), torch.from_numpy(w), **kw).shape) if torch else None
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    g = rand_array(out_shape, seed=3)
    check_op(lambda lib, wt, go: getattr(lib.nn.grad, conv + "_input")(xshape, wt, go, **kw),
             [w, g])
    check_op(lambda lib, xt, go: getattr(lib.nn.functional.grad, conv + "_weight")(
        xt, wshape, go, **kw), [x, g])


def test_nn_grad_equals_autograd_without_torch():
    rng = np.random.default_rng(0)
    x = brickwork.tensor(rng.normal(size=(2, 3, 6, 5)), requires_grad=True)
    w = brickwork.tensor(rng.normal(size=(4, 3, 3, 3)), requires_grad=True)
    out = nn.functional.conv2d(x, w, stride=2, padding=1)
    go = brickwork.tensor(rng.normal(size=tuple(out.shape)))
    gx, gw = brickwork.autograd.grad(out, (x, w), go)
    np.testing.assert_allclose(nn.grad.conv2d_input(x.shape, w, go, 2, 1).detach().numpy(),
                               gx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(nn.grad.conv2d_weight(x, w.shape, go, 2, 1).detach().numpy(),
                               gw.numpy(), rtol=1e-12)
    ws = brickwork.tensor(rng.normal(size=(2, 1, 2, 2)), requires_grad=True)
    gs = brickwork.tensor(rng.normal(size=(1, 2, 2, 2)), requires_grad=True)
    assert gradcheck(lambda wt, g: nn.grad.conv2d_input((1, 1, 3, 3), wt, g, 2, 1), (ws, gs))


@requires_torch
@pytest.mark.parametrize("kwargs", [None, {}, {"dtype": "d"}, {"device": "cpu", "other": 1},
                                    {"dtype": "d", "factory_kwargs": {"device": "cpu"}},
                                    {"dtype": "d", "factory_kwargs": {"dtype": "e"}}])
def test_factory_kwargs(kwargs):
    check_behaviour(lambda lib: sorted(lib.nn.factory_kwargs(kwargs).items()))
