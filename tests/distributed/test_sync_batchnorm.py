"""nn.SyncBatchNorm: global-batch statistics over ranks, conversion, single-process fallback.

The multi-rank checks run one program under ``mpiexec`` (2 and 4 ranks) that writes each
rank's results; pytest compares them with a NumPy batch norm of the whole global batch (no
torch needed) and with brickwork's BatchNorm run on the whole batch inside rank 0.
"""
import inspect
import os

import numpy as np
import pytest

import brickwork as bw
from brickwork import nn
from brickwork.nn.modules.sync_batchnorm import SyncBatchNorm

from ._launch import mpirun

# Every scenario draws its global batch from the same seed on every rank and keeps its shard.
_PROGRAM = r"""
import os, sys
import numpy as np
import brickwork as bw
import brickwork.distributed as dist
from brickwork import nn
from brickwork.nn.modules.sync_batchnorm import SyncBatchNorm

out = sys.argv[1]
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
res = {}

calls = []
_all_reduce = dist.all_reduce
def counting_all_reduce(*a, **k):
    calls.append(1)
    return _all_reduce(*a, **k)
dist.all_reduce = counting_all_reduce

def shard_bounds(sizes):
    starts = np.cumsum([0] + list(sizes))
    return int(starts[rank]), int(starts[rank + 1])

def run(tag, shape, sizes, w, b, momentum=0.1, steps=1, group=None, group_ranks=None):
    rng = np.random.default_rng(1)
    c = shape[1]
    bn = SyncBatchNorm(c, momentum=momentum, process_group=group)
    bn.weight.data = bw.tensor(w)
    bn.bias.data = bw.tensor(b)
    lo, hi = shard_bounds(sizes)
    for step in range(steps):
        X = (rng.standard_normal(shape) * 3 + 7).astype(np.float32)
        G = rng.standard_normal(shape).astype(np.float32)
        bn.weight.grad = bn.bias.grad = None
        x = bw.tensor(X[lo:hi], requires_grad=True)
        del calls[:]
        y = bn(x)
        res[tag + "_fwd_calls"] = len(calls)
        (y * bw.tensor(G[lo:hi])).sum().backward()
        res[tag + "_bwd_calls"] = len(calls) - res[tag + "_fwd_calls"]
    dist.all_reduce = _all_reduce  # the sums below are the test's, not the layer's
    gw, gb = bn.weight.grad.clone(), bn.bias.grad.clone()
    dist.all_reduce(gw, group=group)
    dist.all_reduce(gb, group=group)
    dist.all_reduce = counting_all_reduce
    res[tag + "_y"] = y.detach().numpy()
    res[tag + "_gx"] = x.grad.numpy()
    res[tag + "_gw"] = gw.numpy()
    res[tag + "_gb"] = gb.numpy()
    res[tag + "_rm"] = bn.running_mean.numpy()
    res[tag + "_rv"] = bn.running_var.numpy()
    res[tag + "_nbt"] = bn.num_batches_tracked.numpy()
    bn.eval()  # eval: running statistics, no collective
    del calls[:]
    res[tag + "_eval"] = bn(bw.tensor(X[lo:hi])).detach().numpy()
    res[tag + "_eval_calls"] = len(calls)
    if rank == 0:  # BatchNorm on the whole batch of the group, in one process
        ref = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(c, momentum=momentum)
        ref.weight.data = bw.tensor(w)
        ref.bias.data = bw.tensor(b)
        rng = np.random.default_rng(1)
        glo, ghi = 0, sum(sizes[r] for r in (group_ranks or range(world)))
        for step in range(steps):
            X = (rng.standard_normal(shape) * 3 + 7).astype(np.float32)
            G = rng.standard_normal(shape).astype(np.float32)
            ref.weight.grad = ref.bias.grad = None
            xr = bw.tensor(X[glo:ghi], requires_grad=True)
            yr = ref(xr)
            (yr * bw.tensor(G[glo:ghi])).sum().backward()
        res[tag + "_ref_y"] = yr.detach().numpy()
        res[tag + "_ref_gx"] = xr.grad.numpy()
        res[tag + "_ref_gw"] = ref.weight.grad.numpy()
        res[tag + "_ref_gb"] = ref.bias.grad.numpy()
        res[tag + "_ref_rm"] = ref.running_mean.numpy()
        res[tag + "_ref_rv"] = ref.running_var.numpy()

w = np.array([0.5, -1.5, 2.0], np.float32)
b = np.array([0.1, 0.2, -0.3], np.float32)
n = 2 * world
run("even", (n, 3, 4, 5), [2] * world, w, b)
# Uneven shards, one of a single sample and (on 4 ranks) an empty one; 3-D input.
uneven = [5, 1] if world == 2 else [3, 0, 4, 1]
run("uneven", (sum(uneven), 3, 6), uneven, w, b)
run("cma", (n, 3, 2, 2), [2] * world, w, b, momentum=None, steps=3)
if world == 4:  # two groups of two ranks, each normalizing over its own pair
    groups = [dist.new_group([0, 1]), dist.new_group([2, 3])]
    run("group", (8, 3, 3, 3), [2, 2, 2, 2], w, b, group=groups[rank // 2],
        group_ranks=[0, 1])

# Finite differences of the global loss sum_r <G_r, y_r> in float64 (on 2 ranks: the 4-rank
# run would spend its time on the ~200 collectives), every rank perturbing the same element
# of the global batch (the one that owns it changes its shard).
dist.all_reduce = _all_reduce
if world == 2:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2 * world, 2, 3))
    G = rng.standard_normal(X.shape)
    lo, hi = 2 * rank, 2 * rank + 2
    bn = SyncBatchNorm(2, dtype=bw.float64, track_running_stats=False)
    bn.weight.data = bw.tensor(np.array([1.3, -0.7]))
    bn.bias.data = bw.tensor(np.array([0.2, 0.4]))

    def loss(xg):
        y = bn(bw.tensor(xg[lo:hi]))
        t = (y * bw.tensor(G[lo:hi])).sum().reshape(1).detach()
        dist.all_reduce(t)
        return float(t.item())

    x = bw.tensor(X[lo:hi], requires_grad=True)
    (bn(x) * bw.tensor(G[lo:hi])).sum().backward()
    fd = np.zeros_like(X)
    h = 1e-6
    for i in np.ndindex(X.shape):
        xp, xm = X.copy(), X.copy()
        xp[i] += h
        xm[i] -= h
        fd[i] = (loss(xp) - loss(xm)) / (2 * h)
    res["fd_gx"] = fd[lo:hi]
    res["fd_an"] = x.grad.numpy()
np.savez(os.path.join(out, "rank%d.npz" % rank), **res)
"""


def _bn_numpy(x, g, w, b, eps=1e-5):
    """Batch norm forward and backward on the whole batch, in float64."""
    x, g = x.astype(np.float64), g.astype(np.float64)
    axes = (0,) + tuple(range(2, x.ndim))
    cs = (1, -1) + (1,) * (x.ndim - 2)
    m = x.size // x.shape[1]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    xhat = (x - mean.reshape(cs)) / np.sqrt(var.reshape(cs) + eps)
    y = xhat * w.reshape(cs) + b.reshape(cs)
    gw, gb = (g * xhat).sum(axis=axes), g.sum(axis=axes)
    h = g * w.reshape(cs)
    gx = (h - h.mean(axis=axes, keepdims=True)
          - xhat * (h * xhat).mean(axis=axes, keepdims=True)) / np.sqrt(var.reshape(cs) + eps)
    return y, gx, gw, gb, mean, var * m / (m - 1)


def _expected(shape, start, stop, momentum=0.1, steps=1):
    rng = np.random.default_rng(1)
    w = np.array([0.5, -1.5, 2.0])
    b = np.array([0.1, 0.2, -0.3])
    rm, rv = np.zeros(shape[1]), np.ones(shape[1])
    for step in range(steps):
        x = (rng.standard_normal(shape) * 3 + 7).astype(np.float32)[start:stop]
        g = rng.standard_normal(shape).astype(np.float32)[start:stop]
        y, gx, gw, gb, mean, uvar = _bn_numpy(x, g, w, b)
        f = 1.0 / (step + 1) if momentum is None else momentum
        rm, rv = (1 - f) * rm + f * mean, (1 - f) * rv + f * uvar
    ev = (x - rm.reshape((1, -1) + (1,) * (x.ndim - 2))) / np.sqrt(
        rv.reshape((1, -1) + (1,) * (x.ndim - 2)) + 1e-5)
    ev = ev * w.reshape((1, -1) + (1,) * (x.ndim - 2)) + b.reshape((1, -1) + (1,) * (x.ndim - 2))
    return dict(y=y, gx=gx, gw=gw, gb=gb, rm=rm, rv=rv, eval=ev)


def _check_scenario(ranks, tag, shape, sizes, momentum=0.1, steps=1, members=None):
    members = members if members is not None else list(range(len(ranks)))
    starts = np.cumsum([0] + list(sizes))  # each rank's slice of the global batch
    first = starts[members[0]]
    exp = _expected(shape, first, starts[members[-1] + 1], momentum, steps)
    for r in members:
        res = ranks[r]
        lo, hi = starts[r] - first, starts[r + 1] - first
        for key in ("y", "gx", "eval"):
            np.testing.assert_allclose(res[f"{tag}_{key}"], exp[key][lo:hi], rtol=1e-4,
                                       atol=2e-5, err_msg=f"{tag} {key} rank {r}")
        for key in ("gw", "gb", "rm", "rv"):
            np.testing.assert_allclose(res[f"{tag}_{key}"], exp[key], rtol=1e-4, atol=2e-5,
                                       err_msg=f"{tag} {key} rank {r}")
        assert int(res[f"{tag}_nbt"]) == steps
        # One all-reduce in forward and one in backward; none in eval mode.
        assert int(res[f"{tag}_fwd_calls"]) == 1 and int(res[f"{tag}_bwd_calls"]) == 1
        assert int(res[f"{tag}_eval_calls"]) == 0
    if members[0] != 0:
        return
    # brickwork's BatchNorm on the whole batch in rank 0 agrees with the ranks together.
    r0 = ranks[0]
    for key in ("y", "gx"):
        got = np.concatenate([ranks[r][f"{tag}_{key}"] for r in members])
        np.testing.assert_allclose(got, r0[f"{tag}_ref_{key}"], rtol=1e-4, atol=2e-5)
    for key in ("gw", "gb", "rm", "rv"):
        np.testing.assert_allclose(ranks[members[0]][f"{tag}_{key}"], r0[f"{tag}_ref_{key}"],
                                   rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("n", [2, 4])
def test_matches_batchnorm_on_the_global_batch(n, tmp_path):
    mpirun(n, _PROGRAM, tmp_path)
    ranks = [dict(np.load(os.path.join(str(tmp_path), f"rank{r}.npz"))) for r in range(n)]
    _check_scenario(ranks, "even", (2 * n, 3, 4, 5), [2] * n)
    _check_scenario(ranks, "uneven", (6 if n == 2 else 8, 3, 6),
                    [5, 1] if n == 2 else [3, 0, 4, 1])
    _check_scenario(ranks, "cma", (2 * n, 3, 2, 2), [2] * n, momentum=None, steps=3)
    if n == 4:
        _check_scenario(ranks, "group", (8, 3, 3, 3), [2] * 4, members=[0, 1])
        # The second pair normalized over its own two shards only.
        _check_scenario(ranks, "group", (8, 3, 3, 3), [2] * 4, members=[2, 3])
    for r in range(n if n == 2 else 0):  # finite differences, float64, through both ranks
        np.testing.assert_allclose(ranks[r]["fd_an"], ranks[r]["fd_gx"], rtol=1e-5, atol=1e-6)


# The same layer on CUDA tensors over NCCL, on the simulated CUDA backend (tests/simcuda,
# whose NCCL carries data over MPI): two ranks, each on its own simulated GPU.
_SIM_PROGRAM = r"""
import os, sys
import numpy as np
sys.path.insert(0, os.environ["BRICKWORK_TESTS"])
import simcuda
from simcuda import _nccl as fake

calls = []
_real = fake.NcclCommunicator.allReduce
def counting(self, *args):
    calls.append(1)
    return _real(self, *args)
fake.NcclCommunicator.allReduce = counting

with simcuda.installed():
    import brickwork as bw
    import brickwork.distributed as dist
    from brickwork.nn.modules.sync_batchnorm import SyncBatchNorm

    dist.init_process_group("nccl")
    rank = dist.get_rank()
    bw.cuda.set_device(rank % 2)
    dev = bw.device("cuda", rank % 2)
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((4, 3, 5)) * 3 + 7).astype(np.float32)
    G = rng.standard_normal(X.shape).astype(np.float32)
    bn = SyncBatchNorm(3, device=dev)
    bn.weight.data = bw.tensor([0.5, -1.5, 2.0], device=dev)
    bn.bias.data = bw.tensor([0.1, 0.2, -0.3], device=dev)
    x = bw.from_numpy(X[2 * rank:2 * rank + 2]).to(dev).requires_grad_()
    y = bn(x)
    (y * bw.from_numpy(G[2 * rank:2 * rank + 2]).to(dev)).sum().backward()
    np.savez(os.path.join(sys.argv[1], "rank%d.npz" % rank), y=y.detach().cpu().numpy(),
             gx=x.grad.cpu().numpy(), rm=bn.running_mean.cpu().numpy(),
             rv=bn.running_var.cpu().numpy(), nccl=len(calls), dev=str(y.device))
"""


def test_cuda_tensors_over_nccl_on_the_simulated_backend(tmp_path):
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    mpirun(2, _SIM_PROGRAM, tmp_path, env={"BRICKWORK_TESTS": tests})
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 3, 5)) * 3 + 7).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y, gx, _, _, mean, uvar = _bn_numpy(x, g, np.array([0.5, -1.5, 2.0]),
                                        np.array([0.1, 0.2, -0.3]))
    for r in range(2):
        res = np.load(os.path.join(str(tmp_path), f"rank{r}.npz"))
        assert str(res["dev"]) == f"cuda:{r}"
        assert int(res["nccl"]) == 2  # one NCCL all-reduce in forward, one in backward
        sl = slice(2 * r, 2 * r + 2)
        np.testing.assert_allclose(res["y"], y[sl], rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(res["gx"], gx[sl], rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(res["rm"], 0.1 * mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res["rv"], 0.9 + 0.1 * uvar, rtol=1e-5, atol=1e-6)


# -- single process ------------------------------------------------------------------------------
def test_signature_repr_and_state_dict_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = inspect.signature(SyncBatchNorm).parameters
    theirs = inspect.signature(torch.nn.SyncBatchNorm).parameters
    assert [(p.name, p.default, p.kind) for p in ours.values()] == \
        [(p.name, p.default, p.kind) for p in theirs.values()]
    assert list(inspect.signature(SyncBatchNorm.convert_sync_batchnorm).parameters) == \
        list(inspect.signature(torch.nn.SyncBatchNorm.convert_sync_batchnorm).parameters)
    for kw in ({}, {"affine": False}, {"momentum": None, "track_running_stats": False},
               {"bias": False}):
        a, b = SyncBatchNorm(4, **kw), torch.nn.SyncBatchNorm(4, **kw)
        assert repr(a) == repr(b)
        assert list(a.state_dict()) == list(b.state_dict())


def test_input_errors_match_pytorch():
    torch = pytest.importorskip("torch")
    for shape in [(3,), (2, 0, 3)]:
        with pytest.raises(ValueError) as theirs:
            torch.nn.SyncBatchNorm(3)(torch.zeros(shape))
        with pytest.raises(ValueError) as ours:
            SyncBatchNorm(3)(bw.zeros(shape))
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (2, 3, 4, 4), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("kw", [{}, {"momentum": None}, {"track_running_stats": False},
                                {"affine": False}])
def test_single_process_matches_batchnorm_and_pytorch(shape, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours, theirs = SyncBatchNorm(3, **kw), torch.nn.SyncBatchNorm(3, **kw)
    plain = nn.BatchNorm1d(3, **kw) if len(shape) <= 3 else nn.BatchNorm2d(3, **kw)
    if kw.get("affine", True):
        w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(
            np.float32)
        for m in (ours, plain):
            m.weight.data, m.bias.data = bw.tensor(w), bw.tensor(b)
        theirs.weight.data, theirs.bias.data = torch.tensor(w), torch.tensor(b)
    for step in range(2):
        x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        xo = bw.tensor(x, requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        (yo * bw.tensor(g)).sum().backward()
        (yt * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=1e-5,
                                   atol=1e-5)
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        if ours.affine:
            np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                       rtol=1e-4, atol=1e-5)
        if len(shape) != 5:  # nn.BatchNorm3d is covered by the conversion test
            np.testing.assert_array_equal(yo.detach().numpy(), plain(bw.tensor(x)).detach()
                                          .numpy())
    for a, b in zip(ours.buffers(), theirs.buffers()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(ours(bw.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def _tree(lib):
    nn_ = lib.nn
    inner = nn_.Sequential(nn_.BatchNorm1d(5, affine=False), nn_.InstanceNorm2d(3),
                           nn_.BatchNorm3d(2, momentum=None, track_running_stats=False))
    return nn_.Sequential(nn_.Conv2d(3, 4, 3), nn_.BatchNorm2d(4, eps=1e-3),
                          nn_.Sequential(inner, nn_.ReLU()), nn_.BatchNorm1d(7, bias=False))


def test_convert_matches_pytorch_structure():
    torch = pytest.importorskip("torch")
    ours, theirs = _tree(bw), _tree(torch)
    ours[1].weight.requires_grad_(False)
    ours[2][0].eval()
    old = {name: m for name, m in ours.named_modules()}
    conv_o = SyncBatchNorm.convert_sync_batchnorm(ours)
    conv_t = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert conv_o is ours
    assert [(n, type(m).__name__) for n, m in conv_o.named_modules()] == \
        [(n, type(m).__name__) for n, m in conv_t.named_modules()]
    assert list(conv_o.state_dict()) == list(conv_t.state_dict())
    assert repr(conv_o) == repr(conv_t)
    # Parameters and buffers are the old layers' own tensors; flags carry over.
    new = dict(conv_o.named_modules())
    for name in ("1", "2.0.0", "2.0.2", "3"):
        for attr in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            assert getattr(new[name], attr) is getattr(old[name], attr)
        assert new[name].training == old[name].training
        assert new[name].process_group is None
    assert new["1"].weight.requires_grad is False and new["3"].weight.requires_grad is True
    assert new["2.0.0"].training is False and new["1"].training is True
    assert new["2.0.1"] is old["2.0.1"]  # InstanceNorm is not a batch norm


def test_convert_a_bare_batchnorm_returns_a_new_layer():
    bn = nn.BatchNorm2d(3, momentum=0.3)
    bn(bw.randn(4, 3, 2, 2))
    group = object()  # any group object is carried through as given
    out = SyncBatchNorm.convert_sync_batchnorm(bn, group)
    assert type(out) is SyncBatchNorm and out is not bn
    assert out.process_group is group and out.momentum == 0.3
    assert int(out.num_batches_tracked.item()) == 1
    x = bw.randn(4, 3, 2, 2)
    bn.eval()
    out.eval()
    np.testing.assert_array_equal(out(x).detach().numpy(), bn(x).detach().numpy())


@pytest.fixture
def one_rank(monkeypatch):
    """The synchronized op at world size 1: all-reduce over one rank leaves the sums as they
    are (and records that it was asked)."""
    import brickwork.distributed as dist

    calls = []
    monkeypatch.setattr(dist, "all_reduce", lambda t, op=None, group=None: calls.append(
        tuple(t.shape)))
    return calls


def test_finite_differences_at_world_size_one(one_rank):
    from brickwork.nn.modules.sync_batchnorm import SyncBatchNormFunction

    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((3, 2, 4)) * 2 + 1
    w0, b0 = rng.standard_normal(2), rng.standard_normal(2)
    g = rng.standard_normal(x0.shape)

    def loss(x, w, b):
        y = SyncBatchNormFunction.apply(bw.tensor(x), bw.tensor(w), bw.tensor(b), None, None,
                                        1e-5, 0.1, None)
        return float((y * bw.tensor(g)).sum().item())

    ts = [bw.tensor(a, requires_grad=True) for a in (x0, w0, b0)]
    y = SyncBatchNormFunction.apply(*ts, None, None, 1e-5, 0.1, None)
    (y * bw.tensor(g)).sum().backward()
    assert one_rank == [(2 * 2 + 1,), (2 * 2,)]  # [sum, sum of squares, count]; [2 sums]
    h = 1e-6
    arrays = [x0, w0, b0]
    for k, t in enumerate(ts):
        fd = np.zeros_like(arrays[k])
        for i in np.ndindex(fd.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[k][i] += h
            minus[k][i] -= h
            fd[i] = (loss(*plus) - loss(*minus)) / (2 * h)
        np.testing.assert_allclose(t.grad.numpy(), fd, rtol=1e-6, atol=1e-7)


def test_double_backward_is_refused(one_rank):
    from brickwork.nn.modules.sync_batchnorm import SyncBatchNormFunction

    x = bw.randn(4, 2, dtype=bw.float64, requires_grad=True)
    y = SyncBatchNormFunction.apply(x, None, None, None, None, 1e-5, 0.1, None)
    with pytest.raises(RuntimeError, match="double backward"):
        bw.autograd.grad(y.pow(2).sum(), x, create_graph=True)
