"""The nn-function family, part 3: normalizations, embedding bags, segment_reduce, the CTC
loss and the SyncBatchNorm kernels, against PyTorch; plus NumPy expectations and finite
differences that need no PyTorch.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
import brickwork.nn.functional as BF
from brickwork.autograd import gradcheck
from helpers import check_behaviour, check_error, check_op, rand_array, requires_torch

F64 = "float64"

# (PyTorch's deprecation notes for at::frobenius_norm / at::nuclear_norm; brickwork's match.)
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(frobenius|nuclear)_norm is deprecated:UserWarning")


def F(lib):
    return lib.nn.functional


def _x(shape=(3, 4), dtype=F64, seed=0, low=-2.0, high=2.0):
    return rand_array(shape, dtype, low, high, seed)


def _pos(shape, seed=0):
    return rand_array(shape, F64, 0.5, 2.0, seed)


IDX = np.array([1, 2, 4, 5, 4, 3, 2, 9])
OFF = np.array([0, 4, 4])
W = _x((10, 3), seed=7)

CASES = [
    # instance_norm / rms_norm / local_response_norm
    ("instance_norm", lambda L, x: F(L).instance_norm(x), [_x((2, 3, 5))]),
    ("instance_norm_affine", lambda L, x, w, b: F(L).instance_norm(x, weight=w, bias=b, eps=1e-3),
     [_x((2, 3, 4, 2)), _x((3,), seed=1), _x((3,), seed=2)]),
    ("instance_norm_torch", lambda L, x, w, b: L.instance_norm(
        x, w, b, None, None, True, 0.1, 1e-5, False), [_x((2, 3, 5)), _x((3,), seed=1),
                                                      _x((3,), seed=2)]),
    ("rms_norm", lambda L, x: F(L).rms_norm(x, (4,)), [_x()]),
    ("rms_norm_w", lambda L, x, w: L.rms_norm(x, [3, 4], w, 1e-3), [_x((2, 3, 4)), _x((3, 4))]),
    ("rms_norm_f32", lambda L, x, w: F(L).rms_norm(x, [4], w), [_x((3, 4), "float32"),
                                                                 _x((4,), "float32")]),
    ("local_response_norm", lambda L, x: F(L).local_response_norm(x, 3), [_x((2, 5, 4))]),
    ("local_response_norm_4d", lambda L, x: F(L).local_response_norm(x, 2, 0.1, 0.5, 2.0),
     [_x((2, 4, 3, 2))]),
    ("local_response_norm_5d", lambda L, x: F(L).local_response_norm(x, 4, 1e-2),
     [_x((1, 3, 2, 2, 2))]),
    # legacy norms
    ("norm_except_dim", lambda L, v: L.norm_except_dim(v, 2, 0), [_x((3, 4, 2))]),
    ("norm_except_dim_1", lambda L, v: L.norm_except_dim(v, 3, 1), [_x((3, 4, 2))]),
    ("norm_except_dim_last", lambda L, v: L.norm_except_dim(v, 2, 2), [_x((3, 4, 2))]),
    ("norm_except_dim_all", lambda L, v: L.norm_except_dim(v, 2, -1), [_x((3, 4))]),
    ("norm_except_dim_neg", lambda L, v: L.norm_except_dim(v, 1, -2), [_x((3, 4, 2))]),
    ("norm_except_dim_1d", lambda L, v: L.norm_except_dim(v), [_x((4,))]),
    ("frobenius_norm", lambda L, x: L.frobenius_norm(x, [0, 1]), [_x((3, 4, 2))]),
    ("frobenius_norm_keep", lambda L, x: L.frobenius_norm(x, [-1], True), [_x((3, 4))]),
    ("frobenius_norm_all", lambda L, x: L.frobenius_norm(x, []), [_x((3, 4))]),
    ("nuclear_norm", lambda L, x: L.nuclear_norm(x), [_x((3, 4))]),
    ("nuclear_norm_keep", lambda L, x: L.nuclear_norm(x, True), [_x((4, 3))]),
    ("nuclear_norm_dim", lambda L, x: L.nuclear_norm(x, [0, 2], True), [_x((3, 2, 4))]),
    # embedding_bag (nn.functional)
    ("bag_mean", lambda L, i, w, o: F(L).embedding_bag(i, w, o), [IDX, W, OFF]),
    ("bag_sum", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="sum"), [IDX, W, OFF]),
    ("bag_max", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="max"), [IDX, W, OFF]),
    ("bag_2d", lambda L, i, w: F(L).embedding_bag(i, w, mode="max"), [IDX.reshape(2, 4), W]),
    ("bag_2d_mean", lambda L, i, w: F(L).embedding_bag(i, w), [IDX.reshape(4, 2), W]),
    ("bag_psw", lambda L, i, w, o, p: F(L).embedding_bag(i, w, o, mode="sum",
                                                         per_sample_weights=p),
     [IDX, W, OFF, _x((8,), seed=3)]),
    ("bag_last_offset", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="sum",
                                                              include_last_offset=True),
     [IDX, W, np.array([0, 3, 3, 8])]),
    ("bag_padding", lambda L, i, w, o: F(L).embedding_bag(i, w, o, padding_idx=2), [IDX, W, OFF]),
    ("bag_padding_max", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="max",
                                                              padding_idx=-8), [IDX, W, OFF]),
    # (small: PyTorch's CPU kernel scales wrongly for some longer index lists, see
    # test_embedding_bag_scale_grad_by_freq)
    ("bag_freq", lambda L, i, w, o: F(L).embedding_bag(i, w, o, scale_grad_by_freq=True),
     [np.array([3, 4, 4, 1]), W, np.array([0, 2])]),
    ("bag_int32", lambda L, i, w, o: F(L).embedding_bag(i, w, o), [IDX.astype("int32"), W,
                                                                   OFF.astype("int32")]),
    ("bag_f32", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="sum"),
     [IDX, W.astype("float32"), OFF]),
    # embedding_bag (torch level: four results)
    ("torch_bag_sum", lambda L, w, i, o: L.embedding_bag(w, i, o), [W, IDX, OFF]),
    ("torch_bag_mean", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 1), [W, IDX, OFF]),
    ("torch_bag_max", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 2), [W, IDX, OFF]),
    ("torch_bag_last", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 1, False, None, True),
     [W, IDX, np.array([0, 4, 4, 8])]),
    ("torch_bag_pad", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 0, False, None, False,
                                                         2), [W, IDX, OFF]),
    ("torch_bag_pad_max", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 2, False, None,
                                                             False, 2), [W, IDX, OFF]),
    ("torch_bag_int32", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 1),
     [W, IDX.astype("int32"), OFF.astype("int32")]),
    ("torch_bag_mixed", lambda L, w, i, o: L.embedding_bag(w, i, o, False, 1),
     [W, IDX, OFF.astype("int32")]),
    ("torch_bag_f32_fast", lambda L, w, i, o: L.embedding_bag(w, i, o),
     [W.astype("float32"), IDX, OFF]),
    # segment_reduce
    ("segment_sum", lambda L, d, n: L.segment_reduce(d, "sum", lengths=n),
     [_x((6, 2)), np.array([2, 0, 4])]),
    ("segment_mean", lambda L, d, n: L.segment_reduce(d, "mean", lengths=n, initial=0.5),
     [_x((6, 2)), np.array([2, 1, 3])]),
    ("segment_max", lambda L, d, n: L.segment_reduce(d, "max", lengths=n),
     [_x((6, 2)), np.array([2, 1, 3])]),
    ("segment_amin_init", lambda L, d, n: L.segment_reduce(d, "amin", lengths=n, initial=-0.5),
     [_x((6, 2)), np.array([2, 1, 3])]),
    ("segment_prod", lambda L, d, o: L.segment_reduce(d, "prod", offsets=o),
     [_x((6,)), np.array([0, 2, 3, 6])]),
    ("segment_axis1", lambda L, d, n: L.segment_reduce(d, "sum", lengths=n, axis=1),
     [_x((2, 6)), np.array([[2, 0, 4], [1, 1, 4]])]),
    ("segment_offsets_axis1", lambda L, d, o: L.segment_reduce(d, "mean", offsets=o, axis=1),
     [_x((2, 6)), np.array([[0, 2, 3, 6], [0, 1, 5, 6]])]),
]

NO_SECOND_ORDER = ("segment", "bag_max", "bag_psw", "bag_2d", "bag_padding_max", "torch_bag_max",
                   "torch_bag_pad_max", "local_response")


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_against_torch(name, fn, inputs):
    check_op(fn, inputs, second_order=not name.startswith(NO_SECOND_ORDER))


def test_segment_reduce_empty_segments_values():
    for red in ("sum", "mean", "max", "min", "prod"):
        check_op(lambda L, d, n: L.segment_reduce(d, red, lengths=n),
                 [_x((6, 2)), np.array([2, 0, 4])], grad=[False, False])
        check_op(lambda L, d, n: L.segment_reduce(d, red, lengths=n, initial=5),
                 [_x((6, 2)), np.array([2, 0, 4])], grad=[False, False])


def test_instance_norm_running_stats():
    def run(lib):
        x = lib.tensor(_x((2, 3, 5)))
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        y = lib.nn.functional.instance_norm(x, rm, rv, momentum=0.3)
        z = lib.nn.functional.instance_norm(x, rm, rv, use_input_stats=False)
        w = lib.instance_norm(x, None, None, rm, rv, False, 0.1, 1e-5, True)
        return y, rm, rv, z, w

    check_behaviour(run)


def test_embedding_renorm_():
    def run(lib):
        w = lib.tensor(_x((6, 3), seed=1) * 3)
        v = w._version
        r = lib.embedding_renorm_(w, lib.tensor([0, 2, 2, 5]), 1.5, 2.0)
        w2 = lib.tensor(_x((6, 3), seed=2) * 3)
        lib.embedding_renorm_(w2, lib.tensor([1, 3]), 2.0, 1.0)
        return r is w, w._version > v, w, w2

    check_behaviour(run)


def test_embedding_bag_max_norm():
    def run(lib):
        w = lib.tensor(_x((10, 3), seed=1) * 3)
        out = lib.nn.functional.embedding_bag(lib.tensor(IDX), w, lib.tensor(OFF), max_norm=1.0)
        return out, w

    check_behaviour(run)


def _ctc_inputs(T=7, N=3, C=5, seed=0):
    x = rand_array((T, N, C), F64, -2, 2, seed)
    lp = x - np.log(np.exp(x).sum(2, keepdims=True))
    return lp


TG = np.array([[1, 2, 2, 3], [3, 1, 0, 0], [4, 4, 4, 0]])
CTC = [
    ("mean", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [4, 2, 3]), [_ctc_inputs(), TG]),
    ("sum", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 5], [4, 2, 3], reduction="sum"),
     [_ctc_inputs(), TG]),
    ("none", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [4, 2, 3], reduction="none"),
     [_ctc_inputs(), TG]),
    ("blank", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 7, 7], [3, 2, 3], blank=4),
     [_ctc_inputs(), np.array([[1, 2, 2], [3, 1, 0], [0, 0, 0]])]),
    ("concat", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [4, 2, 3]),
     [_ctc_inputs(), np.array([1, 2, 2, 3, 3, 1, 4, 4, 4])]),
    ("tensor_lengths", lambda L, lp, t, il, tl: F(L).ctc_loss(lp, t, il, tl, reduction="sum"),
     [_ctc_inputs(), TG, np.array([7, 6, 7]), np.array([4, 2, 3])]),
    ("impossible_zero_inf", lambda L, lp, t: F(L).ctc_loss(lp, t, [2, 6, 7], [4, 2, 3],
                                                           zero_infinity=True),
     [_ctc_inputs(), TG]),
    ("empty_target", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 0, 7], [4, 0, 0],
                                                    reduction="none"), [_ctc_inputs(), TG]),
    ("unbatched", lambda L, lp, t: F(L).ctc_loss(lp, t, [7], [4]), [_ctc_inputs()[:, 0], TG[0]]),
    ("torch_level", lambda L, lp, t: L.ctc_loss(lp, t, [7, 6, 7], [4, 2, 3]),
     [_ctc_inputs(), TG]),
    ("torch_level_mean", lambda L, lp, t: L.ctc_loss(lp, t, [7, 6, 7], [4, 2, 3], 0, 1, False),
     [_ctc_inputs(), TG]),
    ("float32", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [4, 2, 3]),
     [_ctc_inputs().astype("float32"), TG]),
    ("log_softmax_input", lambda L, x, t: F(L).ctc_loss(x.log_softmax(2), t, [7, 6, 7],
                                                        [4, 2, 3]),
     [rand_array((7, 3, 5), F64, -2, 2, 3), TG]),
]


@pytest.mark.parametrize("fn,inputs", [c[1:] for c in CTC], ids=[c[0] for c in CTC])
def test_ctc_loss(fn, inputs):
    # PyTorch has no second derivative for ctc_loss.
    check_op(fn, inputs, second_order=False)


def test_ctc_impossible_is_inf():
    check_op(lambda L, lp, t: F(L).ctc_loss(lp, t, [2, 6, 7], [4, 2, 3], reduction="none"),
             [_ctc_inputs(), TG], grad=[False, False])


ERRORS = [
    ("rms_shape", lambda L, x: F(L).rms_norm(x, (4,)), [_x((2, 3))]),
    ("rms_empty_shape", lambda L, x: F(L).rms_norm(x, []), [_x()]),
    ("rms_weight", lambda L, x, w: F(L).rms_norm(x, (3,), w), [_x((2, 3)), _x((4,))]),
    ("instance_running", lambda L, x, m, v: F(L).instance_norm(x, m, v),
     [_x((2, 3, 4)), _x((2,)), _pos((2,))]),
    ("instance_weight", lambda L, x, w: F(L).instance_norm(x, weight=w), [_x((2, 3, 4)), _x((2,))]),
    ("lrn_2d", lambda L, x: F(L).local_response_norm(x, 2), [_x((2, 3))]),
    ("frobenius_dims", lambda L, x: L.frobenius_norm(x, [0, 1, 2]), [_x((2, 3, 4))]),
    ("bag_offsets_none", lambda L, i, w: F(L).embedding_bag(i, w), [IDX, W]),
    ("bag_psw_mean", lambda L, i, w, o, p: F(L).embedding_bag(i, w, o, per_sample_weights=p),
     [IDX, W, OFF, np.ones(8)]),
    ("bag_last_offset", lambda L, i, w, o: F(L).embedding_bag(i, w, o), [IDX, W,
                                                                         np.array([0, 4, 9])]),
    ("bag_mode", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="foo"), [IDX, W, OFF]),
    ("bag_index", lambda L, i, w, o: F(L).embedding_bag(i, w, o), [np.array([1, 20]), W,
                                                                   np.array([0])]),
    ("bag_float_index", lambda L, i, w, o: F(L).embedding_bag(i, w, o), [IDX * 1.0, W, OFF]),
    ("bag_3d", lambda L, i, w: F(L).embedding_bag(i, w), [IDX.reshape(1, 2, 4), W]),
    ("bag_padding_range", lambda L, i, w, o: F(L).embedding_bag(i, w, o, padding_idx=20),
     [IDX, W, OFF]),
    ("bag_max_freq", lambda L, i, w, o: F(L).embedding_bag(i, w, o, mode="max",
                                                           scale_grad_by_freq=True),
     [IDX, W, OFF]),
    ("segment_indices", lambda L, d, i: L.segment_reduce(d, "sum", indices=i),
     [_x((6,)), np.array([0, 0, 1, 1, 1, 2])]),
    ("segment_lengths_sum", lambda L, d, n: L.segment_reduce(d, "sum", lengths=n),
     [_x((6,)), np.array([2, 3])]),
    ("segment_reduce_name", lambda L, d, n: L.segment_reduce(d, "foo", lengths=n),
     [_x((6,)), np.array([2, 4])]),
    ("segment_none", lambda L, d: L.segment_reduce(d, "sum"), [_x((6,))]),
    ("segment_negative", lambda L, d, n: L.segment_reduce(d, "sum", lengths=n),
     [_x((6,)), np.array([2, -1, 5])]),
    ("segment_int", lambda L, d, n: L.segment_reduce(d, "sum", lengths=n),
     [np.arange(6), np.array([2, 4])]),
    ("segment_axis", lambda L, d, n: L.segment_reduce(d, "sum", lengths=n, axis=1),
     [_x((6, 2)), np.array([2, 4])]),
    ("ctc_input_len", lambda L, lp, t: F(L).ctc_loss(lp, t, [8, 6, 7], [4, 2, 3]),
     [_ctc_inputs(), TG]),
    ("ctc_target_len", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [5, 2, 3]),
     [_ctc_inputs(), TG]),
    ("ctc_blank", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [4, 2, 3], blank=5),
     [_ctc_inputs(), TG]),
    ("ctc_batch", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6], [4, 2, 3]), [_ctc_inputs(), TG]),
    ("ctc_negative", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [-1, 2, 3]),
     [_ctc_inputs(), TG]),
    ("ctc_concat_len", lambda L, lp, t: F(L).ctc_loss(lp, t, [7, 6, 7], [4, 2, 3]),
     [_ctc_inputs(), np.arange(8) % 4 + 1]),
]


@pytest.mark.parametrize("fn,inputs", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors_like_torch(fn, inputs):
    check_error(fn, inputs)


# Same type; the text differs only where PyTorch prints torch.Size or a tensor type dump.
ERRORS_TYPE = [
    ("instance_spatial", lambda L, x: F(L).instance_norm(x), [_x((2, 3, 1))],
     "Expected more than 1 spatial element when training, got input size"),
    ("instance_2d", lambda L, x: F(L).instance_norm(x), [_x((2, 3))], "spatial element"),
    ("bag_psw_shape", lambda L, i, w, o, p: F(L).embedding_bag(
        i, w, o, mode="sum", per_sample_weights=p), [IDX, W, OFF, np.ones(7)],
     "must have the same shape as the input"),
    ("bag_first_offset", lambda L, i, w, o: F(L).embedding_bag(i, w, o),
     [IDX, W, np.array([1, 4])], "offsets[0] has to be 0"),
]


@pytest.mark.parametrize("fn,inputs,text", [c[1:] for c in ERRORS_TYPE],
                         ids=[c[0] for c in ERRORS_TYPE])
def test_errors_type_like_torch(fn, inputs, text):
    assert text in str(check_error(fn, inputs, match_message=False))


def test_embedding_bag_scale_grad_by_freq():
    # Each row's gradient is divided by how often the row occurs in the mini-batch, as in
    # F.embedding (PyTorch's CPU embedding_bag gives other numbers for this longer list).
    w = brickwork.zeros(10, 1, dtype=brickwork.float64, requires_grad=True)
    BF.embedding_bag(brickwork.tensor(IDX), w, brickwork.tensor(OFF), mode="sum",
                     scale_grad_by_freq=True).sum().backward()
    want = np.zeros(10)
    want[np.unique(IDX)] = 1.0
    np.testing.assert_allclose(w.grad.numpy()[:, 0], want)


# -- SyncBatchNorm kernels: PyTorch runs most only on CUDA, so they are checked by composing
# them into batch norm's forward and backward, which PyTorch runs on the CPU. ------------------
@requires_torch
def test_syncbn_kernels_compose_to_batch_norm():
    import torch

    x = _x((4, 3, 5))
    parts = [x[:1], x[1:]]  # two "processes" with different counts
    w, b = _x((3,), seed=1), _x((3,), seed=2)
    B = brickwork
    stats = [B.batch_norm_stats(B.tensor(p), 1e-5) for p in parts]
    mean = B.stack([s[0] for s in stats])
    invstd = B.stack([s[1] for s in stats])
    counts = B.tensor([5.0, 15.0], dtype=B.float64)
    rm, rv = B.zeros(3, dtype=B.float64), B.ones(3, dtype=B.float64)
    gm, ginv = B.batch_norm_gather_stats_with_counts(B.tensor(x), mean, invstd, rm, rv, 0.1,
                                                     1e-5, counts)
    y = B.batch_norm_elemt(B.tensor(x), B.tensor(w), B.tensor(b), gm, ginv, 1e-5)
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, True, 0.1, 1e-5)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), atol=1e-12)
    # backward: reduce per process, all-reduce (sum), then the elementwise input gradient
    g = _x((4, 3, 5), seed=9)
    ty.backward(torch.tensor(g))
    sums = [B.batch_norm_backward_reduce(B.tensor(gp), B.tensor(p), gm, ginv, B.tensor(w),
                                         True, True, True)
            for gp, p in zip([g[:1], g[1:]], parts)]
    sum_dy = sums[0][0] + sums[1][0]
    sum_dy_xmu = sums[0][1] + sums[1][1]
    np.testing.assert_allclose((sums[0][2] + sums[1][2]).numpy(), tw.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose((sums[0][3] + sums[1][3]).numpy(), tb.grad.numpy(), atol=1e-12)
    gi = B.batch_norm_backward_elemt(B.tensor(g), B.tensor(x), gm, ginv, B.tensor(w), sum_dy,
                                     sum_dy_xmu, B.tensor([5, 15], dtype=B.int32))
    np.testing.assert_allclose(gi.numpy(), tx.grad.numpy(), atol=1e-12)
    # gather_stats: the same count everywhere
    m2, inv2 = B.batch_norm_gather_stats(B.tensor(x), B.stack([stats[1][0]] * 2),
                                         B.stack([stats[1][1]] * 2), None, None, 0.1, 1e-5, 15)
    np.testing.assert_allclose(m2.numpy(), stats[1][0].numpy())
    np.testing.assert_allclose(inv2.numpy(), stats[1][1].numpy())
    flags = B.batch_norm_backward_reduce(B.tensor(g), B.tensor(x), gm, ginv, None, False, True,
                                         False)
    assert flags[0] is None and flags[1] is None and flags[3] is None


def test_batch_norm_update_stats():
    def run(lib):
        x = lib.tensor(_x((4, 3, 5)))
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        m, v = lib.batch_norm_update_stats(x, rm, rv, 0.2)
        m2, v2 = lib.batch_norm_update_stats(x.float(), None, None, 0.2)
        return m, v, rm, rv, m2, v2

    check_behaviour(run)


def test_batch_norm_stats_numpy():
    x = _x((4, 3, 5))
    m, inv = brickwork.batch_norm_stats(brickwork.tensor(x), 1e-3)
    np.testing.assert_allclose(m.numpy(), x.mean((0, 2)))
    np.testing.assert_allclose(inv.numpy(), 1 / np.sqrt(x.var((0, 2)) + 1e-3))
    h = brickwork.batch_norm_stats(brickwork.tensor(x).half(), 1e-3)
    assert h[0].dtype == brickwork.float32  # the accumulation type of half


# -- without PyTorch ---------------------------------------------------------------------------
def test_numpy_expectations():
    w = brickwork.tensor(W)
    out = BF.embedding_bag(brickwork.tensor(IDX), w, brickwork.tensor(OFF), mode="sum")
    np.testing.assert_allclose(out.numpy(), [W[IDX[:4]].sum(0), np.zeros(3), W[IDX[4:]].sum(0)])
    out = BF.embedding_bag(brickwork.tensor(IDX), w, brickwork.tensor(OFF), mode="max")
    np.testing.assert_allclose(out.numpy(), [W[IDX[:4]].max(0), np.zeros(3), W[IDX[4:]].max(0)])
    x = _x((2, 3, 4))
    got = BF.instance_norm(brickwork.tensor(x)).numpy()
    want = (x - x.mean(2, keepdims=True)) / np.sqrt(x.var(2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(got, want, atol=1e-12)
    got = BF.rms_norm(brickwork.tensor(x), (4,), eps=1e-6).numpy()
    np.testing.assert_allclose(got, x / np.sqrt((x * x).mean(2, keepdims=True) + 1e-6))
    seg = brickwork.segment_reduce(brickwork.tensor([1.0, 2, 3, 4]), "max",
                                   lengths=brickwork.tensor([1, 3]))
    assert seg.tolist() == [1.0, 4.0]


def test_ctc_numpy_brute_force():
    # Sum over every alignment of a tiny problem, by enumeration.
    import itertools

    lp = _ctc_inputs(T=4, N=1, C=3)[:, 0]
    target = [1, 2]
    total = 0.0
    for path in itertools.product(range(3), repeat=4):
        collapsed = [k for i, k in enumerate(path) if k != 0 and (i == 0 or path[i - 1] != k)]
        if collapsed == target:
            total += np.exp(sum(lp[t, k] for t, k in enumerate(path)))
    got = BF.ctc_loss(brickwork.tensor(lp), brickwork.tensor(target), [4], [2],
                      reduction="sum")
    np.testing.assert_allclose(float(got), -np.log(total))


def test_gradcheck():
    x = brickwork.tensor(_x((2, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: BF.instance_norm(t), (x,))
    assert gradcheck(lambda t: BF.rms_norm(t, (4,)), (x,))
    assert gradcheck(lambda t: BF.local_response_norm(t, 2), (x,))
    w = brickwork.tensor(W, requires_grad=True)
    psw = brickwork.tensor(_x((8,), seed=3), requires_grad=True)
    assert gradcheck(lambda a, p: BF.embedding_bag(brickwork.tensor(IDX), a,
                                                   brickwork.tensor(OFF), mode="sum",
                                                   per_sample_weights=p), (w, psw))
    y = brickwork.tensor(rand_array((5, 2, 4), F64, -1, 1, 4), requires_grad=True)
    assert gradcheck(lambda t: BF.ctc_loss(t.log_softmax(2), brickwork.tensor([[1, 3], [2, 2]]),
                                           [5, 4], [2, 2]), (y,))


def test_legacy_norms_warn_once_and_match_linalg():
    import warnings

    from brickwork.ops import _nn_norm

    _nn_norm._WARNED.clear()
    x = brickwork.tensor(_x((3, 4)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = brickwork.frobenius_norm(x, [0, 1])
        brickwork.frobenius_norm(x, [0])
        b = brickwork.nuclear_norm(x)
    texts = [str(w.message) for w in caught]
    assert len(texts) == 2 and "frobenius_norm is deprecated" in texts[0]
    assert "nuclear_norm is deprecated" in texts[1]
    np.testing.assert_allclose(float(a), np.linalg.norm(_x((3, 4))))
    np.testing.assert_allclose(float(b), np.linalg.svd(_x((3, 4)), compute_uv=False).sum())
