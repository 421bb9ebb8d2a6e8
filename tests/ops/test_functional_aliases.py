"""Top-level functional ops with PyTorch's ATen signatures (torch.conv2d, torch.batch_norm,
torch.embedding, ...) against PyTorch, plus NumPy-only expectations."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from helpers import check_behaviour, check_error, check_op, rand_array, to_brick

POSITIVE = dict(low=0.1, high=2.0)


def test_conv_and_bilinear_positional_forms():
    check_op(lambda lib, x, w, b: lib.conv2d(x, w, b, 2, 1, 1, 1), [(2, 4, 6, 6), (3, 4, 3, 3),
                                                                      (3,)])
    check_op(lambda lib, x, w: lib.conv2d(x, w, None, 1, "same"), [(1, 2, 5, 5), (2, 2, 3, 3)])
    check_op(lambda lib, x, w: lib.conv1d(x, w, None, [1], [2], [2], 2), [(2, 4, 7), (4, 2, 3)])
    check_op(lambda lib, x, w, b: lib.conv_transpose1d(x, w, b, 2, 1, 1),
             [(1, 3, 5), (3, 2, 3), (2,)])
    check_op(lambda lib, x, w: lib.conv_transpose2d(x, w, None, 2, 0, 0, 1, 1),
             [(1, 2, 3, 3), (2, 3, 2, 2)])
    check_op(lambda lib, a, b, w, c: lib.bilinear(a, b, w, c), [(4, 3), (4, 2), (5, 3, 2), (5,)])


def test_pools_default_stride_is_the_kernel():
    check_op(lambda lib, x: lib.max_pool2d(x, 2), [(2, 3, 6, 5)])
    check_op(lambda lib, x: lib.max_pool2d(x, [3, 2], [], 1, 1, True), [(1, 2, 7, 6)])
    check_op(lambda lib, x: lib.max_pool1d(x, 3, 2, 1, 1, True), [(2, 3, 9)])
    check_op(lambda lib, x: lib.max_pool1d(x, 2), [(2, 3, 9)])
    check_op(lambda lib, x: lib.avg_pool1d(x, 3, [], 1, True, False), [(2, 3, 8)])
    check_op(lambda lib, x: lib.adaptive_avg_pool1d(x, 4), [(2, 3, 9)])
    check_error(lambda lib, x: lib.max_pool2d(x), [(1, 1, 4, 4)], match_message=False)


def test_max_pool_returns_values_only():
    out = brickwork.max_pool2d(to_brick(rand_array((1, 1, 4, 4))), 2)
    assert isinstance(out, brickwork.Tensor) and tuple(out.shape) == (1, 1, 2, 2)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_all_positional(training):
    rm, rv = rand_array((3,), seed=5), rand_array((3,), seed=6, **POSITIVE)

    def fn(lib, x, w, b):
        mean, var = lib.tensor(rm.copy()), lib.tensor(rv.copy())
        y = lib.batch_norm(x, w, b, mean, var, training, 0.3, 1e-3, True)
        return y, mean, var  # the running buffers are updated in training

    check_op(fn, [(4, 3, 5), (3,), (3,)])
    check_op(lambda lib, x: lib.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False),
             [(4, 3)])
    check_error(lambda lib, x: lib.batch_norm(x, None, None, None, None, True, 0.1, 1e-5),
                [(4, 3)], match_message=False)


def test_layer_and_group_norm():
    check_op(lambda lib, x, w, b: lib.layer_norm(x, [4, 5], w, b, 1e-3, False),
             [(2, 3, 4, 5), (4, 5), (4, 5)])
    check_op(lambda lib, x: lib.layer_norm(x, (5,)), [(2, 5)])
    check_op(lambda lib, x, w, b: lib.group_norm(x, 2, w, b, 1e-4, True),
             [(2, 4, 3, 3), (4,), (4,)])
    check_op(lambda lib, x: lib.group_norm(x, 1), [(2, 4, 3)])


@pytest.mark.parametrize("padding_idx", [-1, -2, 0, 4, 5, -6])
def test_embedding_weight_first(padding_idx):
    idx = np.array([[0, 4, 3], [4, 1, 0]])
    check_op(lambda lib, w, i: lib.embedding(w, i, padding_idx), [(5, 3), idx])
    check_op(lambda lib, w, i: lib.embedding(w, i, padding_idx, True), [(5, 3), idx])


def test_embedding_errors_and_sparse():
    check_error(lambda lib, w, i: lib.embedding(w, i), [(5, 3), np.array([7])])
    check_error(lambda lib, w, i: lib.embedding(w, i), [(5, 3), np.array([1.0])])
    w, i = to_brick(rand_array((5, 3)), True), to_brick(np.array([1, 2]))
    brickwork.embedding(w, i, -1, False, True).sum().backward()
    assert w.grad.is_sparse and w.grad._nnz() == 2  # (tests/optim/test_sparse_adam.py)


def test_embedding_numpy_expectation():
    w = rand_array((4, 2))
    got = brickwork.embedding(brickwork.tensor(w), brickwork.tensor([[3, 0]]))
    np.testing.assert_array_equal(got.numpy(), w[[[3, 0]]])
    wt = brickwork.tensor(w, requires_grad=True)
    brickwork.embedding(wt, brickwork.tensor([1, 1, 2]), 1).sum().backward()
    np.testing.assert_array_equal(wt.grad.numpy(), [[0, 0], [0, 0], [1, 1], [0, 0]])


def test_dropout_signature_and_identities():
    check_error(lambda lib, x: lib.dropout(x, 0.5), [(3,)], match_message=False)  # train needed
    check_behaviour(lambda lib: lib.dropout(lib.ones(3), 1.5, False))
    check_behaviour(lambda lib: lib.dropout_(lib.ones(3), -0.1, True))
    check_behaviour(lambda lib: [lib.dropout(x, 0.5, False) is x
                                 for x in [lib.ones(3)]])
    check_behaviour(lambda lib: [lib.dropout(x, 0.0, True) is x for x in [lib.ones(3)]])
    check_behaviour(lambda lib: lib.dropout(lib.ones(4), 1.0, True))
    check_behaviour(lambda lib: [lib.dropout_(x, 1.0, True) is x and x.sum().item()
                                 for x in [lib.ones(4)]])


def test_dropout_statistics_and_gradient():
    brickwork.manual_seed(0)
    x = brickwork.ones(20000, requires_grad=True)
    y = brickwork.dropout(x, 0.25, True)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)


def test_relu_inplace():
    check_op(lambda lib, x: lib.relu_(x * 1), [(2, 3)])
    check_behaviour(lambda lib: [lib.relu_(x) is x and x for x in [lib.tensor([-1.0, 2.0])]])


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_losses_with_int_reduction(reduction):
    check_op(lambda lib, x, t: lib.kl_div(x.log_softmax(1), t.softmax(1), reduction),
             [(3, 4), (3, 4)])
    check_op(lambda lib, x, t: lib.kl_div(x, t, reduction, log_target=True), [(3, 4), (3, 4)])
    target = rand_array((3, 4), low=0.0, high=1.0)
    check_op(lambda lib, x, t, w, p: lib.binary_cross_entropy_with_logits(x, t, w, p, reduction),
             [(3, 4), target, (3, 4), (4,)], grad=[True, False, False, False])
    check_op(lambda lib, x, t: lib.binary_cross_entropy_with_logits(x, t, None, None,
                                                                    reduction),
             [(3, 4), target], grad=[True, False])


def test_kl_div_mean_does_not_warn():
    import warnings

    x = to_brick(rand_array((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        brickwork.kl_div(x, x.exp(), 1)


def test_default_reduction_is_none_as_torch_binds_it():
    target = rand_array((3, 4), low=0.0, high=1.0)
    check_op(lambda lib, x, t: lib.kl_div(x, t), [(3, 4), target], grad=[True, False])
    check_op(lambda lib, x, t: lib.binary_cross_entropy_with_logits(x, t), [(3, 4), target],
             grad=[True, False])


def test_int_reduction_errors():
    check_error(lambda lib, x: lib.kl_div(x, x, "mean"), [(2, 3)], match_message=False)
    x = to_brick(rand_array((2, 3)))
    with pytest.raises(ValueError, match="reduction"):
        brickwork.binary_cross_entropy_with_logits(x, x, None, None, 5)


def test_constant_pad_nd():
    check_op(lambda lib, x: lib.constant_pad_nd(x, [1, 2]), [(2, 3, 4)])
    check_op(lambda lib, x: lib.constant_pad_nd(x, [1, -2, 0, 1], 3.5), [(2, 3, 4)])
    check_op(lambda lib, x: lib.constant_pad_nd(x, (2, 0), -1), [rand_array((2, 3), "int64")])
    check_error(lambda lib, x: lib.constant_pad_nd(x, [1, 2, 3]), [(2, 3, 4)])
    got = brickwork.constant_pad_nd(brickwork.tensor([[1.0, 2.0]]), [1, 0, 0, 1], 9)
    np.testing.assert_array_equal(got.numpy(), [[9, 1, 2], [9, 9, 9]])


def test_same_objects_as_functional():
    F = brickwork.nn.functional
    for name in ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "bilinear",
                 "adaptive_avg_pool1d"]:
        assert getattr(brickwork, name) is getattr(F, name)


def test_max_pool1d_with_indices():
    check_op(lambda lib, x: lib.max_pool1d_with_indices(x, 2), [(2, 3, 7)])
    check_op(lambda lib, x: lib.max_pool1d_with_indices(x, 3, 2, 1, 1, True), [(1, 2, 8)])
    check_behaviour(lambda lib: type(lib.max_pool1d_with_indices(lib.ones(1, 1, 4), 2)))


def test_feature_dropout_errors_and_identities():
    check_behaviour(lambda lib: lib.feature_dropout(lib.ones(4), 0.5, True))
    check_behaviour(lambda lib: lib.feature_dropout(lib.ones(3, 3), 2.0, False))
    check_behaviour(lambda lib: [lib.feature_dropout(x, 0.5, False) is x
                                 for x in [lib.ones(2, 3)]])
    check_behaviour(lambda lib: [lib.feature_dropout_(x, 1.0, True) is x and x
                                 for x in [lib.ones(2, 2, 3)]])


@pytest.mark.parametrize("shape", [(64, 50), (40, 30, 5), (20, 30, 2, 3)])
def test_feature_dropout_masks_whole_features(shape):
    brickwork.manual_seed(1)
    x = brickwork.ones(*shape, requires_grad=True)
    y = brickwork.feature_dropout(x, 0.4, True)
    v = y.detach().numpy().reshape(shape[0], shape[1], -1)
    # Each (sample, feature) slab is all kept (scaled by 1/0.6) or all zero.
    assert np.all((v == v[..., :1]))
    kept = v[..., 0] != 0
    np.testing.assert_allclose(v[..., 0][kept], 1 / 0.6, rtol=1e-6)
    assert abs(kept.mean() - 0.6) < 0.06
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy(), rtol=1e-6)


def test_batch_norm_gradcheck_without_torch():
    from brickwork.autograd import gradcheck

    x = brickwork.tensor(rand_array((4, 3, 2), "float64"), requires_grad=True)
    w = brickwork.tensor(rand_array((3,), "float64", seed=1), requires_grad=True)
    b = brickwork.tensor(rand_array((3,), "float64", seed=2), requires_grad=True)
    assert gradcheck(lambda x, w, b: brickwork.batch_norm(x, w, b, None, None, True, 0.1, 1e-5,
                                                          True), (x, w, b))
    y = brickwork.batch_norm(x, None, None, None, None, True, 0.1, 0.0, False).detach().numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2)), 1, rtol=1e-9)
