"""DistributedDataParallel and DataParallel.

The multi-rank checks run in one program per world size (2 and 4 ranks, through the shared
``mpirun`` launcher); rank 0 also trains the plain model on the whole batch as the reference and
writes what it found to ``result.json``, which the tests below read.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import brickwork as torch
from brickwork import nn
from brickwork.nn.parallel import DataParallel, DistributedDataParallel

from ._launch import mpirun

PROGRAM = r'''
import json, sys
import numpy as np
import brickwork as torch
import brickwork.distributed as dist
from brickwork import nn
from brickwork.nn.parallel import DistributedDataParallel as DDP
from brickwork.distributed.algorithms.ddp_comm_hooks import default_hooks

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
out = {}

def mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 3))

class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 3)
    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))

def params(m):
    return [p.detach().numpy().copy() for p in m.parameters()]

def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))

def gathered_equal(arrays):
    """True when every rank holds the same arrays (bit for bit)."""
    everyone = [None] * world
    dist.all_gather_object(everyone, [a.tolist() for a in arrays])
    return all(e == everyone[0] for e in everyone)

rng = np.random.default_rng(0)
GB = 8 * world                      # global batch, split evenly across ranks
X = rng.standard_normal((4, GB, 12)).astype(np.float32)
Y = rng.integers(0, 3, (4, GB))
XI = rng.standard_normal((3, GB, 2, 6, 6)).astype(np.float32)
sl = slice(rank * 8, (rank + 1) * 8)
loss_fn = nn.CrossEntropyLoss()

def train(model, xs, ys, shard, lr=0.1, **ddp_kw):
    net = DDP(model, **ddp_kw) if ddp_kw.pop("wrap", True) else model
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    for x, y in zip(xs, ys):
        opt.zero_grad()
        loss_fn(net(torch.tensor(x[shard])), torch.tensor(y[shard])).backward()
        opt.step()
    return net

# 1. equivalence, MLP: DDP on shards == one process on the whole batch
ddp = train(mlp(1), X, Y, sl, bucket_cap_mb=0.001)
ref = train(mlp(1), X, Y, slice(None), wrap=False) if rank == 0 else None
if rank == 0:
    out["mlp_diff"] = max_diff(params(ddp.module), params(ref))
out["mlp_ranks_equal"] = gathered_equal(params(ddp.module))
out["buckets"] = len(ddp.reducer.buckets)

# 1b. gradient_as_bucket_view and batched_grad_copy give the same numbers
for kw in ("gradient_as_bucket_view", "batched_grad_copy"):
    other = train(mlp(1), X, Y, sl, bucket_cap_mb=0.001, **{kw: True})
    out[kw] = max_diff(params(other.module), params(ddp.module))

# 2. conv net with BatchNorm: reference = mean of per-shard losses (BatchNorm normalizes each
# rank's shard with that shard's statistics)
torch.manual_seed(2); cnet = ConvBN()
torch.manual_seed(2); cref = ConvBN()
dnet = DDP(cnet)
opt = torch.optim.SGD(dnet.parameters(), lr=0.05)
ropt = torch.optim.SGD(cref.parameters(), lr=0.05)
for s in range(3):
    opt.zero_grad()
    loss_fn(dnet(torch.tensor(XI[s][sl])), torch.tensor(Y[s][sl])).backward()
    opt.step()
    if rank == 0:
        ropt.zero_grad()
        total = sum(loss_fn(cref(torch.tensor(XI[s][k * 8:(k + 1) * 8])),
                            torch.tensor(Y[s][k * 8:(k + 1) * 8])) for k in range(world))
        (total / world).backward()
        ropt.step()
if rank == 0:
    out["conv_diff"] = max_diff(params(cnet), params(cref))
out["bn_buffers_differ"] = not gathered_equal([b.numpy() for b in cnet.buffers()])
cnet.eval()  # running statistics stay as they are in eval mode
dnet(torch.tensor(XI[0][sl]))  # ...and this forward broadcasts rank 0's buffers first
out["bn_buffers_equal"] = gathered_equal([b.numpy() for b in cnet.buffers()])

# 3. broadcast at wrap time: different seeds per rank, rank 0's weights everywhere after
m = mlp(100 + rank)
first = params(mlp(100))
DDP(m)
out["wrap_broadcast"] = max_diff(params(m), first) == 0.0

# 4. no_sync: two local accumulations, then a synced step, == reference sum of averages
m = mlp(3); d = DDP(m)
with d.no_sync():
    loss_fn(d(torch.tensor(X[0][sl])), torch.tensor(Y[0][sl])).backward()
    local_w = m[0].weight.grad.numpy().copy()
loss_fn(d(torch.tensor(X[1][sl])), torch.tensor(Y[1][sl])).backward()
synced = [p.grad.numpy().copy() for p in m.parameters()]
if rank == 0:
    r = mlp(3)
    for k in range(2):
        loss_fn(r(torch.tensor(X[k])), torch.tensor(Y[k])).backward()
    out["no_sync_diff"] = max_diff(synced, [p.grad.numpy() for p in r.parameters()])
    single = mlp(3)
    loss_fn(single(torch.tensor(X[0][sl])), torch.tensor(Y[0][sl])).backward()
    out["no_sync_local"] = float(np.abs(local_w - single[0].weight.grad.numpy()).max())

# 5. find_unused_parameters: a branch unused everywhere keeps grad None; one used only on
# rank 0 gets the average (rank 0's gradient / world) on every rank
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4); self.b = nn.Linear(4, 4); self.never = nn.Linear(4, 4)
    def forward(self, x, use_b):
        return self.b(self.a(x)) if use_b else self.a(x)
torch.manual_seed(5)
bm = Branchy(); bd = DDP(bm, find_unused_parameters=True)
x = torch.ones(2, 4) * (rank + 1)
for it in range(2):
    bm.zero_grad()
    bd(x, use_b=(rank == 0)).sum().backward()
out["unused_never_none"] = bm.never.weight.grad is None
gb = bm.b.weight.grad
out["unused_b_equal"] = gb is not None and gathered_equal([gb.numpy()])
if rank == 0:
    torch.manual_seed(5); r = Branchy()
    r(torch.ones(2, 4), use_b=True).sum().backward()
    out["unused_b_diff"] = float(np.abs(gb.numpy() - r.b.weight.grad.numpy() / world).max())

# 5b. static_graph: unused parameters found once, in the first iteration; same gradients
torch.manual_seed(5)
sm = Branchy(); sd = DDP(sm, static_graph=True)
for it in range(3):
    sm.zero_grad()
    sd(x, use_b=(rank == 0)).sum().backward()
out["static_b_equal"] = sm.b.weight.grad is not None and float(
    np.abs(sm.b.weight.grad.numpy() - gb.numpy()).max()) == 0.0
out["static_never_none"] = sm.never.weight.grad is None

# 5c. arguments brickwork does not support raise instead of being ignored
errs = {}
for name, kw in [("mixed_precision", {"mixed_precision": object()}),
                 ("device_mesh", {"device_mesh": object()}),
                 ("skip", {"skip_all_reduce_unused_params": True}),
                 ("delay", {"delay_all_reduce_named_params": [],
                            "param_to_hook_all_reduce": None}),
                 ("device_ids", {"device_ids": [0]})]:
    try:
        DDP(nn.Linear(2, 2), **kw)
        errs[name] = None
    except (NotImplementedError, ValueError) as e:
        errs[name] = type(e).__name__
out["unsupported"] = errs

# 6. without find_unused_parameters, the next forward raises PyTorch's error
torch.manual_seed(5)
ed = DDP(Branchy())
ed(x, use_b=False).sum().backward()
try:
    ed(x, use_b=False)
    out["unused_error"] = None
except RuntimeError as e:
    out["unused_error"] = str(e)

# 7. comm hooks: allreduce_hook is the default; fp16 compression is close
base = train(mlp(7), X, Y, sl)
hooked = {}
for name in ("allreduce_hook", "fp16_compress_hook", "bf16_compress_hook"):
    model = mlp(7); dd = DDP(model)
    dd.register_comm_hook(None, getattr(default_hooks, name))
    seen = []
    if name == "allreduce_hook":
        def spy(state, bucket, seen=seen):
            seen.append((bucket.index(), bucket.is_last(), len(bucket.parameters()),
                         sum(g.numel() for g in bucket.gradients()), bucket.buffer().numel()))
            return default_hooks.allreduce_hook(state, bucket)
        dd = DDP(mlp(7)); model = dd.module
        dd.register_comm_hook(None, spy)
    train(dd, X, Y, sl, wrap=False)
    out[name] = max_diff(params(model), params(base.module))
    if seen:
        out["spy"] = seen[:len(dd.reducer.buckets)]
        try:
            dd.register_comm_hook(None, spy)
        except RuntimeError as e:
            out["hook_twice"] = str(e)

# 8. overlap: after the first iteration's bucket rebuild, the first bucket's all-reduce is
# launched while gradient hooks are still to come
torch.manual_seed(8)
big = nn.Sequential(*[nn.Linear(64, 64) for _ in range(6)])
od = DDP(big, bucket_cap_mb=0.02)
for it in range(3):
    od(torch.randn(16, 64)).sum().backward()
out["overlap"] = od.reducer.log[-1]

# 9. ranks wrapping different models: every rank raises, naming the parameter
try:
    DDP(nn.Linear(4, 4 + rank))
    out["shape_error"] = None
except RuntimeError as e:
    out["shape_error"] = str(e)

# 10. state_dict keys
out["keys"] = list(DDP(mlp(1)).state_dict().keys())
if rank == 0:
    with open(sys.argv[1] + "/result.json", "w") as f:
        json.dump(out, f)
dist.destroy_process_group()
'''


@pytest.fixture(scope="module", params=[2, 4])
def result(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"ddp{request.param}")
    mpirun(request.param, PROGRAM, tmp, timeout=240)
    with open(tmp / "result.json") as f:
        return request.param, json.load(f)


def test_mlp_equals_one_process_on_whole_batch(result):
    _, r = result
    assert r["mlp_diff"] < 2e-5
    assert r["mlp_ranks_equal"]
    assert r["buckets"] > 1  # the small cap really split the gradients


def test_gradient_as_bucket_view_and_batched_copy_same_numbers(result):
    _, r = result
    assert r["gradient_as_bucket_view"] < 1e-6
    assert r["batched_grad_copy"] < 1e-6


def test_conv_batchnorm_equivalence_and_buffers(result):
    _, r = result
    assert r["conv_diff"] < 2e-5
    assert r["bn_buffers_differ"]  # each rank updated them with its own shard's statistics
    assert r["bn_buffers_equal"]


def test_parameters_broadcast_at_wrap(result):
    assert result[1]["wrap_broadcast"]


def test_no_sync_accumulates_then_averages(result):
    _, r = result
    assert r["no_sync_local"] < 1e-7  # inside no_sync: this rank's own gradient
    assert r["no_sync_diff"] < 2e-6


def test_find_unused_parameters(result):
    _, r = result
    assert r["unused_never_none"]
    assert r["unused_b_equal"]
    assert r["unused_b_diff"] < 1e-6


def test_static_graph(result):
    _, r = result
    assert r["static_b_equal"] and r["static_never_none"]


def test_unsupported_arguments_raise(result):
    assert result[1]["unsupported"] == {"mixed_precision": "NotImplementedError",
                                        "device_mesh": "NotImplementedError",
                                        "skip": "NotImplementedError",
                                        "delay": "ValueError", "device_ids": "ValueError"}


def test_unused_parameter_error_is_pytorchs(result):
    msg = result[1]["unused_error"]
    assert msg is not None and msg.startswith(
        "Expected to have finished reduction in the prior iteration before starting a new one.")
    assert "Parameter indices which did not receive grad for rank 0: 2 3" in msg


def test_comm_hooks(result):
    _, r = result
    assert r["allreduce_hook"] < 1e-6
    assert 0 < r["fp16_compress_hook"] < 5e-3  # compressed: close, not equal
    assert 0 < r["bf16_compress_hook"] < 5e-2
    for index, (i, last, nparams, ngrad, nbuf) in enumerate(r["spy"]):
        assert i == index and ngrad == nbuf and nparams >= 1
    assert [s[1] for s in r["spy"]] == [False] * (len(r["spy"]) - 1) + [True]
    assert "can only be called once" in r["hook_twice"]


def test_first_bucket_launched_before_backward_ends(result):
    log = result[1]["overlap"]
    assert log["buckets"] >= 3
    # the first all-reduce started while more than one gradient hook was still to fire
    assert log["hooks_at_launch"][0] < log["params"] - 1
    assert log["launch_s"][0] < log["end_s"]


def test_different_models_raise(result):
    msg = result[1]["shape_error"]
    assert msg is not None and msg.startswith("DDP expects same model across all ranks")
    assert "param 0 of shape [4, 4]" in msg


def test_state_dict_has_module_prefix(result):
    assert result[1]["keys"] == ["module.0.weight", "module.0.bias", "module.2.weight",
                                 "module.2.bias", "module.4.weight", "module.4.bias"]


# -- single-process checks -------------------------------------------------------------------
def test_signature_matches_pytorch():
    torch_ = pytest.importorskip("torch")
    import inspect
    for ours, theirs in [(DistributedDataParallel, torch_.nn.parallel.DistributedDataParallel),
                         (DataParallel, torch_.nn.DataParallel)]:
        a = inspect.signature(ours.__init__).parameters
        b = inspect.signature(theirs.__init__).parameters
        assert [(n, p.default) for n, p in a.items()] == [(n, p.default) for n, p in b.items()]


def test_ddp_without_process_group_raises():
    import brickwork.distributed as dist
    if dist.is_initialized():
        pytest.skip("a process group is initialized in this process")
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(nn.Linear(2, 2))


def test_data_parallel_single_device():
    torch.manual_seed(0)
    inner = nn.Linear(4, 2)
    dp = DataParallel(inner)
    x = torch.randn(3, 4)
    np.testing.assert_array_equal(dp(x).detach().numpy(), inner(x).detach().numpy())
    assert list(dp.state_dict()) == ["module.weight", "module.bias"]
    dp(x).sum().backward()
    assert inner.weight.grad is not None
    with pytest.raises(NotImplementedError, match="one device"):
        DataParallel(inner, device_ids=[0, 1])
    with pytest.raises(RuntimeError, match="on device cuda:0"):
        DataParallel(inner, device_ids=[0])  # the module is on the CPU


def test_data_parallel_exported_from_nn():
    if not hasattr(nn, "DataParallel"):
        pytest.skip("brickwork.nn does not export DataParallel yet (wired by the lead)")
    assert nn.DataParallel is DataParallel
    assert nn.parallel.DistributedDataParallel is DistributedDataParallel


# -- the CUDA path, on the simulated CUDA backend (tests/simcuda) and NCCL -------------------
CUDA_PROGRAM = r'''
import json, sys
sys.path.insert(0, TESTS)
import numpy as np
import simcuda
from simcuda import _nccl as fake

calls = {"n": 0}
_real = fake.NcclCommunicator.allReduce
def counting(self, *args):  # counts NCCL all-reduces: the buckets must travel through NCCL
    calls["n"] += 1
    return _real(self, *args)
fake.NcclCommunicator.allReduce = counting

with simcuda.installed():
    import brickwork as torch
    import brickwork.distributed as dist
    from brickwork import nn
    from brickwork.nn.parallel import DistributedDataParallel as DDP
    from brickwork.distributed.algorithms.ddp_comm_hooks import default_hooks

    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(rank)
    dev = torch.device("cuda", rank)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 8 * world, 12)).astype(np.float32)
    Y = rng.integers(0, 3, (3, 8 * world))
    sl = slice(rank * 8, (rank + 1) * 8)

    def mlp():
        torch.manual_seed(1)
        return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 3))

    def train(net, params, xs, ys, device):
        opt = torch.optim.SGD(params, lr=0.1)
        for x, y in zip(xs, ys):
            opt.zero_grad()
            nn.functional.cross_entropy(net(torch.tensor(x).to(device)),
                                        torch.tensor(y).to(device)).backward()
            opt.step()

    out = {}
    for name, kw in [("plain", {}), ("view", {"gradient_as_bucket_view": True}),
                     ("ids", {"device_ids": [rank]}), ("fp16", {})]:
        model = mlp().to(dev)
        ddp = DDP(model, bucket_cap_mb=0.001, **kw)
        if name == "fp16":
            ddp.register_comm_hook(None, default_hooks.fp16_compress_hook)
        xs = [x[sl] for x in X]
        ys = [y[sl] for y in Y]
        if name == "ids":  # device_ids: DDP moves the CPU inputs to this rank's GPU
            opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
            for x, y in zip(xs, ys):
                opt.zero_grad()
                o = ddp(torch.tensor(x))
                nn.functional.cross_entropy(o, torch.tensor(y).to(dev)).backward()
                opt.step()
        else:
            train(ddp, ddp.parameters(), xs, ys, dev)
        out[name] = [p.detach().cpu().numpy().tolist() for p in model.parameters()]
        out[name + "_device"] = str(next(model.parameters()).grad.device)
    out["nccl_allreduces"] = calls["n"]
    if rank == 0:
        ref = mlp()
        train(ref, ref.parameters(), X, Y, "cpu")
        out["ref"] = [p.detach().numpy().tolist() for p in ref.parameters()]
    with open(f"{sys.argv[1]}/rank{rank}.json", "w") as f:
        json.dump(out, f)
    dist.destroy_process_group()
'''


def test_ddp_on_simulated_cuda_with_nccl(tmp_path):
    import os
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    mpirun(2, f"TESTS = {tests_dir!r}\n" + CUDA_PROGRAM, tmp_path, timeout=120)
    ranks = [json.load(open(tmp_path / f"rank{r}.json")) for r in range(2)]
    ref = [np.array(p) for p in ranks[0]["ref"]]
    for r in ranks:
        assert r["nccl_allreduces"] >= 4 * 3  # buckets went through NCCL every step
        for name, tol in [("plain", 2e-6), ("view", 2e-6), ("ids", 2e-6), ("fp16", 5e-3)]:
            assert r[name + "_device"].startswith("cuda")
            got = [np.array(p) for p in r[name]]
            assert max(float(np.abs(a - b).max()) for a, b in zip(got, ref)) < tol, name
