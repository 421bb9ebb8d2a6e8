"""The remaining loss modules, the distance modules and EmbeddingBag against PyTorch: values and
gradients over every reduction and flag, signatures, repr, buffers and legacy arguments."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.autograd import gradcheck
from helpers import check_behaviour, check_op, host, pick, rand_array, requires_torch

REDUCTIONS = ["mean", "sum", "none"]
N, C = 4, 5


def _sign(shape, seed):
    return np.where(rand_array(shape, seed=seed) > 0, 1.0, -1.0).astype(np.float32)


def _positive(shape, seed, low=0.2, high=3.0):
    return rand_array(shape, low=low, high=high, seed=seed)


def _multilabel_target(seed):
    """Class indices per row, ended by -1 (what follows the -1 is ignored)."""
    rng = np.random.default_rng(seed)
    t = np.full((N, C), -1, dtype=np.int64)
    for i in range(N):
        k = int(rng.integers(0, C))
        t[i, :k] = rng.permutation(C)[:k]
    t[0, 3] = 2  # after the terminator: ignored
    return t


def _ctc_inputs(zero_infinity):
    T, S = 8, 3
    rng = np.random.default_rng(7)
    targets = rng.integers(1, C, size=(N, S)).astype(np.int64)
    input_lengths = np.array([8, 7, 8, 6], dtype=np.int64)
    target_lengths = np.array([3, 2, 1, 3], dtype=np.int64)
    if zero_infinity:  # three labels, one repeated, cannot fit in 3 steps: an infinite loss
        targets[3] = [2, 2, 3]
        input_lengths[3] = 3
    return [rand_array((T, N, C), seed=3), targets, input_lengths, target_lengths]


# name -> (list of constructor kwargs, inputs, which inputs require grad, second order checked)
LOSSES = {
    "CTCLoss": ([{}, {"blank": 0, "zero_infinity": True}], None, None, False),
    "PoissonNLLLoss": ([{}, {"full": True}, {"log_input": False, "eps": 1e-3},
                        {"log_input": False, "full": True}],
                       [_positive((N, C), 1), rand_array((N, C), low=0, high=4, seed=2)],
                       [True, False], True),
    "GaussianNLLLoss": ([{}, {"full": True, "eps": 1e-2}],
                        [(N, C), (N, C), _positive((N, C), 3)], [True, False, True], True),
    "MarginRankingLoss": ([{}, {"margin": 0.5}], [(N,), (N,), _sign((N,), 3)],
                          [True, True, False], True),
    "HingeEmbeddingLoss": ([{}, {"margin": 2.0}], [(N, C), _sign((N, C), 2)],
                           [True, False], True),
    "MultiLabelMarginLoss": ([{}], [(N, C), _multilabel_target(2)], [True, False], False),
    "SoftMarginLoss": ([{}], [(N, C), _sign((N, C), 2)], [True, False], True),
    "MultiLabelSoftMarginLoss": ([{}], [(N, C), (rand_array((N, C), seed=2) > 0)
                                        .astype(np.float32)], [True, False], True),
    "CosineEmbeddingLoss": ([{}, {"margin": 0.2}], [(N, C), (N, C), _sign((N,), 3)],
                            [True, True, False], True),
    "MultiMarginLoss": ([{}, {"p": 2, "margin": 0.7}], [(N, C), np.array([1, 0, 4, 2])],
                        [True, False], False),
    "TripletMarginLoss": ([{}, {"margin": 2.0, "p": 1.0, "eps": 1e-3},
                           {"swap": True, "margin": 3.0}], [(N, C), (N, C), (N, C)],
                          [True, True, True], True),
    "TripletMarginWithDistanceLoss": ([{}, {"margin": 2.5, "swap": True}],
                                      [(N, C), (N, C), (N, C)], [True, True, True], True),
}
LOSS_CASES = [(name, kw) for name, (kws, *_) in LOSSES.items() for kw in kws]


def _case_id(case):
    return case[0] + "".join(f"-{k}={v}" for k, v in case[1].items())


@requires_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", LOSS_CASES, ids=_case_id)
def test_loss_modules_match_torch(case, reduction):
    import torch

    name, kw = case
    _, inputs, grad, second_order = LOSSES[name]
    kw = dict(kw, reduction=reduction)
    t_mod, b_mod = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
    assert repr(b_mod) == repr(t_mod)
    assert b_mod.reduction == t_mod.reduction == reduction
    if name == "CTCLoss":
        inputs = _ctc_inputs(kw.get("zero_infinity", False))
        grad = [True, False, False, False]

        def fn(lib, lp, *rest):
            return pick(lib, b_mod, t_mod)(lp.log_softmax(2), *rest)
    else:
        def fn(lib, *args):
            return pick(lib, b_mod, t_mod)(*args)
    check_op(fn, inputs, grad=grad, second_order=second_order, grad_atol=1e-4)


@requires_torch
@pytest.mark.parametrize("name", list(LOSSES) + ["CosineSimilarity", "PairwiseDistance",
                                                 "EmbeddingBag"])
def test_signatures_and_constants_match_torch(name):
    import torch

    b_cls, t_cls = getattr(nn, name), getattr(torch.nn, name)
    for method in ("__init__", "forward"):
        b_sig, t_sig = inspect.signature(getattr(b_cls, method)), \
            inspect.signature(getattr(t_cls, method))
        assert [(p.name, p.default, p.kind) for p in b_sig.parameters.values()] == \
               [(p.name, p.default, p.kind) for p in t_sig.parameters.values()], method
    assert b_cls.__constants__ == t_cls.__constants__


def _fill_legacy(lib, name, size_average, reduce):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(lib.nn, name)(size_average=size_average, reduce=reduce).reduction


LEGACY = [n for n in LOSSES if "size_average" in inspect.signature(getattr(nn, n)).parameters]


@requires_torch
@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True),
                                                 (False, True), (True, None)])
def test_legacy_reduction_arguments_match_torch(name, size_average, reduce):
    check_behaviour(lambda lib: _fill_legacy(lib, name, size_average, reduce))


def test_legacy_arguments_exist_where_torch_has_them():
    assert sorted(LEGACY) == sorted([
        "PoissonNLLLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "MultiLabelMarginLoss",
        "SoftMarginLoss", "MultiLabelSoftMarginLoss", "CosineEmbeddingLoss", "MultiMarginLoss",
        "TripletMarginLoss"])
    assert nn.SoftMarginLoss(size_average=False).reduction == "sum"
    assert nn.MultiMarginLoss(reduce=False, reduction="sum").reduction == "none"


@requires_torch
@pytest.mark.parametrize("name", ["MultiMarginLoss", "MultiLabelSoftMarginLoss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_loss_modules_hold_weight_buffer(name, reduction):
    import torch

    w = _positive((C,), 9)
    t_mod = getattr(torch.nn, name)(weight=torch.tensor(w), reduction=reduction)
    b_mod = getattr(nn, name)(weight=brickwork.zeros(C), reduction=reduction)
    assert list(b_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
    assert [n for n, _ in b_mod.named_buffers()] == ["weight"]
    assert list(b_mod.parameters()) == []
    b_mod.load_state_dict({k: brickwork.tensor(v.numpy()) for k, v in t_mod.state_dict().items()})
    np.testing.assert_array_equal(b_mod.weight.numpy(), w)
    assert repr(b_mod) == repr(t_mod)
    target = np.array([1, 0, 4, 2]) if name == "MultiMarginLoss" else \
        (rand_array((N, C), seed=2) > 0).astype(np.float32)
    check_op(lambda lib, x, t: pick(lib, b_mod, t_mod)(x, t), [(N, C), target],
             grad=[True, False], second_order=name != "MultiMarginLoss")
    assert list(nn.MultiMarginLoss().state_dict()) == []  # weight=None: no buffer saved


@requires_torch
@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.MultiMarginLoss(p=3),
    lambda lib: lib.nn.MultiMarginLoss(weight=lib.ones(2, 3)),
    lambda lib: lib.nn.TripletMarginLoss(margin=0.0),
    lambda lib: lib.nn.TripletMarginWithDistanceLoss(margin=-1.0),
    lambda lib: lib.nn.TripletMarginWithDistanceLoss(None),
    lambda lib: lib.nn.GaussianNLLLoss(True),
    lambda lib: lib.nn.EmbeddingBag(5, 2, padding_idx=5),
    lambda lib: lib.nn.EmbeddingBag(5, 2, padding_idx=-6),
    lambda lib: lib.nn.EmbeddingBag(5, 2, _weight=lib.ones(4, 2)),
    lambda lib: lib.nn.EmbeddingBag.from_pretrained(lib.ones(4)),
])
def test_constructor_errors_match_torch(make):
    check_behaviour(make)


@requires_torch
def test_triplet_margin_with_distance_function():
    import torch

    t_mod = torch.nn.TripletMarginWithDistanceLoss()
    b_mod = nn.TripletMarginWithDistanceLoss()
    # The default distance is a PairwiseDistance submodule, shown in repr as PyTorch shows it.
    assert repr(b_mod) == repr(t_mod)
    assert [n for n, _ in b_mod.named_modules()] == ["", "distance_function"]
    assert isinstance(b_mod.distance_function, nn.PairwiseDistance)

    def cosine_distance(x, y):
        return 1.0 - (x * y).sum(-1) / (x.norm(dim=-1) * y.norm(dim=-1))

    for swap in (False, True):
        t_mod = torch.nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance,
                                                       margin=0.5, swap=swap)
        b_mod = nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance, margin=0.5,
                                                 swap=swap)
        assert repr(b_mod) == repr(t_mod) == "TripletMarginWithDistanceLoss()"
        assert b_mod.distance_function is cosine_distance
        check_op(lambda lib, a, p, n: pick(lib, b_mod, t_mod)(a, p, n),
                 [(N, C), (N, C), (N, C)], grad_atol=1e-4)


@requires_torch
@pytest.mark.parametrize("var_shape", [(N, C), (N, 1), (N,)])
def test_gaussian_nll_variance_shapes(var_shape):
    import torch

    t_mod, b_mod = torch.nn.GaussianNLLLoss(), nn.GaussianNLLLoss()
    check_op(lambda lib, x, t, v: pick(lib, b_mod, t_mod)(x, t, v),
             [(N, C), (N, C), _positive(var_shape, 4)], grad=[True, False, True])
    check_op(lambda lib, x, t: pick(lib, b_mod, t_mod)(x, t, 0.5), [(N, C), (N, C)],
             grad=[True, False])


# -- distance modules --------------------------------------------------------------------------


@requires_torch
@pytest.mark.parametrize("kw,shapes", [
    ({}, [(N, C), (N, C)]), ({"dim": 0}, [(N, C), (N, C)]), ({"dim": -1, "eps": 1e-3},
                                                            [(2, N, C), (N, C)]),
    ({}, [(N, C, 2), (1, C, 2)]),
])
def test_cosine_similarity_module_matches_torch(kw, shapes):
    import torch

    t_mod, b_mod = torch.nn.CosineSimilarity(**kw), nn.CosineSimilarity(**kw)
    assert repr(b_mod) == repr(t_mod) == "CosineSimilarity()"
    assert (b_mod.dim, b_mod.eps) == (t_mod.dim, t_mod.eps)
    check_op(lambda lib, x, y: pick(lib, b_mod, t_mod)(x, y), shapes)


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"p": 1.0}, {"p": 3.0, "keepdim": True},
                                {"p": float("inf"), "eps": 1e-3}, {"keepdim": True}])
@pytest.mark.parametrize("shapes", [[(N, C), (N, C)], [(N, C), (C,)], [(C,), (C,)]])
def test_pairwise_distance_module_matches_torch(kw, shapes):
    import torch

    t_mod, b_mod = torch.nn.PairwiseDistance(**kw), nn.PairwiseDistance(**kw)
    assert repr(b_mod) == repr(t_mod) == "PairwiseDistance()"
    assert (b_mod.norm, b_mod.eps, b_mod.keepdim) == (t_mod.norm, t_mod.eps, t_mod.keepdim)
    assert list(b_mod.state_dict()) == []
    check_op(lambda lib, x, y: pick(lib, b_mod, t_mod)(x, y), shapes)


# -- EmbeddingBag ------------------------------------------------------------------------------

FLAT_INPUT = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0], dtype=np.int64)
OFFSETS = np.array([0, 3, 3, 7], dtype=np.int64)  # the second bag is empty


def _offsets(kw):
    """With ``include_last_offset`` the offsets end with the input's length, as documented
    (PyTorch's CPU kernels disagree among themselves on any other last offset)."""
    return np.append(OFFSETS, len(FLAT_INPUT)) if kw.get("include_last_offset") else OFFSETS


def _bag_pair(kw):
    import torch

    t_mod = torch.nn.EmbeddingBag(10, 3, **kw)
    b_mod = nn.EmbeddingBag(10, 3, **kw)
    b_mod.load_state_dict({k: brickwork.tensor(v.detach().numpy())
                           for k, v in t_mod.state_dict().items()})
    return b_mod, t_mod


def _check_bag(b_mod, t_mod, fn, inputs, grad):
    """The gradient with respect to the module's weight (on the CPU, one shared upstream),
    then values (and input gradients) on every device through check_op."""
    import torch

    b_out = fn(brickwork, *[brickwork.tensor(a, requires_grad=g) for a, g in zip(inputs, grad)])
    t_out = fn(torch, *[torch.tensor(a, requires_grad=g) for a, g in zip(inputs, grad)])
    up = rand_array(tuple(t_out.shape), seed=11)
    (b_out * brickwork.tensor(up)).sum().backward()
    (t_out * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(host(b_mod.weight.grad), host(t_mod.weight.grad), atol=1e-5,
                               rtol=1e-4)
    b_mod.weight.grad = t_mod.weight.grad = None
    check_op(fn, inputs, grad=grad, grad_atol=1e-4)


@requires_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 0}, {"include_last_offset": True},
                                {"padding_idx": -1, "include_last_offset": True}])
def test_embedding_bag_offsets_match_torch(mode, kw):
    b_mod, t_mod = _bag_pair(dict(kw, mode=mode))
    assert repr(b_mod) == repr(t_mod)
    assert b_mod.padding_idx == t_mod.padding_idx
    _check_bag(b_mod, t_mod, lambda lib, i, o: pick(lib, b_mod, t_mod)(i, o),
               [FLAT_INPUT, _offsets(kw)], [False, False])


@requires_torch
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_input_matches_torch(mode):
    b_mod, t_mod = _bag_pair({"mode": mode, "padding_idx": 4})
    _check_bag(b_mod, t_mod, lambda lib, i: pick(lib, b_mod, t_mod)(i),
               [FLAT_INPUT[:9].reshape(3, 3)], [False])


@requires_torch
@pytest.mark.parametrize("kw", [{}, {"padding_idx": 2}, {"include_last_offset": True}])
def test_embedding_bag_per_sample_weights_match_torch(kw):
    b_mod, t_mod = _bag_pair(dict(kw, mode="sum"))
    psw = rand_array(FLAT_INPUT.shape, seed=5)
    _check_bag(b_mod, t_mod, lambda lib, i, o, w: pick(lib, b_mod, t_mod)(i, o, w),
               [FLAT_INPUT, _offsets(kw), psw], [False, False, True])


@requires_torch
@pytest.mark.parametrize("kw", [{"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}])
def test_embedding_bag_norm_options_match_torch(kw):
    b_mod, t_mod = _bag_pair(dict(kw, mode="mean"))
    assert repr(b_mod) == repr(t_mod)
    _check_bag(b_mod, t_mod, lambda lib, i, o: pick(lib, b_mod, t_mod)(i, o),
               [FLAT_INPUT, _offsets(kw)], [False, False])
    # The looked-up rows are renormalized in place, as in PyTorch.
    np.testing.assert_allclose(host(b_mod.weight), host(t_mod.weight), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq(mode):
    # Against NumPy, not PyTorch: PyTorch 2.13's CPU backward divides by the wrong index's
    # count (pytorch/pytorch#190063); brickwork divides each row by its own frequency.
    bag = nn.EmbeddingBag(10, 3, mode=mode, scale_grad_by_freq=True)
    assert repr(bag) == f"EmbeddingBag(10, 3, scale_grad_by_freq=True, mode='{mode}')"
    up = rand_array((len(OFFSETS), 3), seed=11)
    (bag(brickwork.tensor(FLAT_INPUT), brickwork.tensor(OFFSETS)) * brickwork.tensor(up)) \
        .sum().backward()
    counts = np.bincount(FLAT_INPUT, minlength=10)
    bounds = list(OFFSETS) + [len(FLAT_INPUT)]
    want = np.zeros((10, 3), np.float32)
    for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        for j in range(lo, hi):
            size = (hi - lo) if mode == "mean" else 1
            want[FLAT_INPUT[j]] += up[b] / size / counts[FLAT_INPUT[j]]
    np.testing.assert_allclose(bag.weight.grad.numpy(), want, rtol=1e-5, atol=1e-6)


@requires_torch
def test_embedding_bag_state_and_repr_match_torch():
    import torch

    for kw in [{}, {"mode": "sum", "max_norm": 2.0, "norm_type": 1.5, "padding_idx": 3,
                    "scale_grad_by_freq": True, "include_last_offset": True}]:
        t_mod, b_mod = torch.nn.EmbeddingBag(7, 2, **kw), nn.EmbeddingBag(7, 2, **kw)
        assert repr(b_mod) == repr(t_mod)
        assert list(b_mod.state_dict()) == list(t_mod.state_dict()) == ["weight"]
        for attr in t_mod.__constants__:
            assert getattr(b_mod, attr) == getattr(t_mod, attr), attr
    b_mod = nn.EmbeddingBag(7, 2, padding_idx=3, dtype=brickwork.float64)
    assert b_mod.weight.dtype == brickwork.float64 and b_mod.weight.shape == (7, 2)
    assert not b_mod.weight[3].detach().numpy().any() and b_mod.weight[2].detach().numpy().any()


@requires_torch
@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_bag_from_pretrained_matches_torch(freeze):
    import torch

    w = rand_array((10, 3), seed=8)
    t_mod = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=freeze, mode="max",
                                                  padding_idx=1)
    b_mod = nn.EmbeddingBag.from_pretrained(brickwork.tensor(w), freeze=freeze, mode="max",
                                            padding_idx=1)
    assert repr(b_mod) == repr(t_mod)
    assert b_mod.weight.requires_grad is t_mod.weight.requires_grad is (not freeze)
    np.testing.assert_array_equal(host(b_mod.weight), w)  # the given rows, padding row too
    check_op(lambda lib, i, o: pick(lib, b_mod, t_mod)(i, o), [FLAT_INPUT, OFFSETS])


def test_embedding_bag_sparse_refused_when_called():
    bag = nn.EmbeddingBag(4, 2, mode="sum", sparse=True)
    assert bag.sparse is True
    with pytest.raises(NotImplementedError, match="sparse"):
        bag(brickwork.tensor([[0, 1]]))


# -- NumPy-only expectations -------------------------------------------------------------------


def test_embedding_bag_numpy_expectation():
    w = rand_array((10, 3), "float64", seed=8)
    bag = nn.EmbeddingBag.from_pretrained(brickwork.tensor(w), mode="sum", padding_idx=0)
    psw = np.linspace(0.5, 2.0, len(FLAT_INPUT))
    out = bag(brickwork.tensor(FLAT_INPUT), brickwork.tensor(OFFSETS),
              brickwork.tensor(psw)).numpy()
    bounds = list(OFFSETS) + [len(FLAT_INPUT)]
    want = np.stack([sum((psw[j] * w[FLAT_INPUT[j]] for j in range(a, b)
                          if FLAT_INPUT[j] != 0), np.zeros(3))
                     for a, b in zip(bounds[:-1], bounds[1:])])
    np.testing.assert_allclose(out, want, rtol=1e-12)
    mean = nn.EmbeddingBag.from_pretrained(brickwork.tensor(w), mode="mean")
    np.testing.assert_allclose(mean(brickwork.tensor([[1, 2], [3, 3]])).numpy(),
                               [(w[1] + w[2]) / 2, w[3]], rtol=1e-12)


def test_loss_modules_numpy_expectations():
    x = rand_array((N, C), "float64", seed=1)
    y = np.where(rand_array((N, C), seed=2) > 0, 1.0, -1.0)
    bx, by = brickwork.tensor(x), brickwork.tensor(y)
    np.testing.assert_allclose(nn.SoftMarginLoss()(bx, by).item(),
                               np.log1p(np.exp(-y * x)).mean(), rtol=1e-12)
    np.testing.assert_allclose(nn.HingeEmbeddingLoss(margin=1.5, reduction="sum")(bx, by).item(),
                               np.where(y > 0, x, np.maximum(0, 1.5 - x)).sum(), rtol=1e-12)
    np.testing.assert_allclose(
        nn.MarginRankingLoss(margin=0.3, reduction="none")(bx[0], bx[1], by[2]).numpy(),
        np.maximum(0, -y[2] * (x[0] - x[1]) + 0.3), rtol=1e-12)
    np.testing.assert_allclose(nn.CosineSimilarity(dim=1)(bx, bx.flip(0)).numpy(),
                               (x * x[::-1]).sum(1) / np.linalg.norm(x, axis=1)
                               / np.linalg.norm(x[::-1], axis=1), rtol=1e-12)
    np.testing.assert_allclose(nn.PairwiseDistance(p=1.0)(bx, bx.flip(0)).numpy(),
                               np.abs(x - x[::-1] + 1e-6).sum(1), rtol=1e-12)
    target = np.array([1, 0, 4, 2])
    margins = np.maximum(0, 1.0 - x[np.arange(N), target][:, None] + x)
    margins[np.arange(N), target] = 0
    np.testing.assert_allclose(nn.MultiMarginLoss()(bx, brickwork.tensor(target)).item(),
                               (margins.sum(1) / C).mean(), rtol=1e-12)


@pytest.mark.parametrize("make,n_inputs", [
    (lambda: nn.SoftMarginLoss(), 1), (lambda: nn.CosineEmbeddingLoss(margin=0.1), 2),
    (lambda: nn.TripletMarginLoss(swap=True), 3), (lambda: nn.PoissonNLLLoss(full=True), 1),
    (lambda: nn.TripletMarginWithDistanceLoss(), 3), (lambda: nn.PairwiseDistance(p=3.0), 2),
    (lambda: nn.CosineSimilarity(), 2), (lambda: nn.GaussianNLLLoss(), 1),
])
def test_modules_gradcheck(make, n_inputs):
    mod = make()
    xs = tuple(brickwork.tensor(rand_array((3, 4), "float64", seed=s), requires_grad=True)
               for s in range(n_inputs))
    sign = brickwork.tensor(np.array([1.0, -1.0, 1.0]))
    target = brickwork.tensor(np.abs(rand_array((3, 4), "float64", seed=9)) * 3)

    def fn(*args):
        if isinstance(mod, nn.CosineEmbeddingLoss):
            return mod(*args, sign)
        if isinstance(mod, nn.SoftMarginLoss):
            return mod(args[0], sign[:, None].expand(3, 4))
        if isinstance(mod, nn.PoissonNLLLoss):
            return mod(args[0], target)
        if isinstance(mod, nn.GaussianNLLLoss):
            return mod(args[0], target, target + 0.5)
        return mod(*args)

    assert gradcheck(fn, xs)


def test_embedding_bag_factory_kwargs_on_simcuda(sim_cuda):
    bag = nn.EmbeddingBag(6, 2, mode="max", device="cuda:1", dtype=brickwork.float64)
    assert bag.weight.device == brickwork.device("cuda:1")
    assert bag.weight.dtype == brickwork.float64
    out = bag(brickwork.tensor([[0, 5], [2, 2]], device="cuda:1"))
    assert out.device == bag.weight.device and tuple(out.shape) == (2, 2)
    w = bag.weight.detach().cpu().numpy()
    np.testing.assert_allclose(host(out), [np.maximum(w[0], w[5]), w[2]])
