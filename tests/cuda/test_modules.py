"""Models on CUDA devices: moving modules, optimizers, training, files across devices."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.device import device_of_array
from helpers import torch as reference


def data_on(t) -> brickwork.device:
    return device_of_array(t._data)


def dev_of(gpu) -> str:
    """The last device: ``cuda:1`` on the simulated pair, so ops run off the current GPU."""
    return f"cuda:{gpu.count - 1}"


def lenet(seed=0):
    brickwork.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Dropout(0.2), nn.LazyLinear(32), nn.ReLU(),
                         nn.Linear(32, 10))


def test_module_to_keeps_identity_ties_grads_and_buffers(gpu):
    dev = dev_of(gpu)
    shared = nn.Linear(4, 4)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), shared, nn.ReLU(), shared)
    params = list(net.parameters())
    net(brickwork.randn(5, 3)).sum().backward()
    assert net.to(dev) is net
    assert list(net.parameters()) == params and all(a is b for a, b in
                                                    zip(net.parameters(), params))
    assert net[2] is net[4] and net[2].weight is shared.weight
    for name, t in list(net.named_parameters()) + list(net.named_buffers()):
        assert t.device == brickwork.device(dev) and data_on(t) == t.device, name
    for p in net.parameters():
        assert p.grad.device == p.device and data_on(p.grad) == p.device
    assert isinstance(net[0].weight, nn.Parameter)
    net.cpu()
    assert all(p.device.type == "cpu" and p.grad.device.type == "cpu" for p in net.parameters())
    assert net.cuda() is net and net[0].weight.device == brickwork.device("cuda:0")


@pytest.mark.parametrize("make", [
    lambda ps: brickwork.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    lambda ps: brickwork.optim.Adam(ps, lr=0.01),
    lambda ps: brickwork.optim.AdamW(ps, lr=0.01),
    lambda ps: brickwork.optim.RMSprop(ps, lr=0.01),
    lambda ps: brickwork.optim.Adagrad(ps, lr=0.1),
], ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_optimizer_built_before_the_move_trains_like_the_cpu(gpu, make):
    dev = dev_of(gpu)
    X, y = brickwork.randn(16, 4), brickwork.randint(0, 3, (16,))
    nets = []
    for where in ("cpu", dev):
        brickwork.manual_seed(1)
        net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = make(net.parameters())
        net.to(where)
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(net(X.to(where)), y.to(where)).backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
        nets.append((net, opt))
    (cpu_net, _), (gpu_net, gpu_opt) = nets
    for pc, pg in zip(cpu_net.parameters(), gpu_net.parameters()):
        assert data_on(pg) == brickwork.device(dev)
        np.testing.assert_allclose(pg.detach().cpu().numpy(), pc.detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
    for state in gpu_opt.state.values():
        for key, value in state.items():
            if isinstance(value, brickwork.Tensor) and key != "step":
                assert data_on(value) == brickwork.device(dev), key
    assert brickwork.cuda.current_device() == 0


def test_lenet_training_steps_match_the_cpu(gpu):
    dev = dev_of(gpu)
    X = brickwork.rand(8, 1, 28, 28)
    y = brickwork.randint(0, 10, (8,))
    curves = []
    for where in ("cpu", dev):
        net = lenet()
        net(X[:2])  # the lazy layer takes its shape on the CPU, before the move
        net.to(where)
        opt = brickwork.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        brickwork.manual_seed(5)  # the same dropout masks on both devices
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(X.to(where)), y.to(where))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        net.eval()
        losses.append(net(X.to(where)).sum().item())
        curves.append(losses)
    np.testing.assert_allclose(curves[1], curves[0], rtol=1e-4)


def test_state_dicts_across_devices(gpu, tmp_path):
    dev = dev_of(gpu)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(dev)
    sd = net.state_dict()
    path = tmp_path / "gpu.bw"
    brickwork.save(sd, path)
    back = brickwork.load(path)
    assert {str(v.device) for v in back.values()} == {dev}
    assert all(data_on(v) == v.device for v in back.values())
    assert {str(v.device) for v in brickwork.load(path, map_location="cpu").values()} == {"cpu"}
    mapped = brickwork.load(path, map_location={dev: "cuda:0"})
    assert {str(v.device) for v in mapped.values()} == {"cuda:0"}
    cpu_net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    cpu_net.load_state_dict(sd)  # copied into the CPU parameters, which stay on the CPU
    assert cpu_net[0].weight.device.type == "cpu"
    assert brickwork.equal(cpu_net[0].weight, net[0].weight.cpu())
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(dev)
    w = other[0].weight
    other.load_state_dict(cpu_net.state_dict())
    assert other[0].weight is w and data_on(w) == brickwork.device(dev)
    assert brickwork.equal(w.cpu(), cpu_net[0].weight)


def test_gpu_checkpoint_in_pytorch_format_names_the_device(gpu, tmp_path):
    dev = dev_of(gpu)
    t = brickwork.arange(6.0, device=dev).reshape(2, 3)
    path = tmp_path / "t.pt"
    brickwork.save({"t": t}, path, format="torch")
    assert brickwork.load(path)["t"].device == brickwork.device(dev)
    if reference is not None:
        loaded = reference.load(path, map_location="cpu", weights_only=True)
        np.testing.assert_array_equal(loaded["t"].numpy(), np.arange(6.0).reshape(2, 3))


def test_loading_a_gpu_file_without_a_gpu_says_to_map_it(tmp_path, monkeypatch):
    import simcuda

    path = tmp_path / "gpu.bw"
    with simcuda.installed():
        brickwork.save({"w": brickwork.ones(2, device="cuda:1")}, path)
    import sys

    monkeypatch.setattr(sys.modules["brickwork.device"], "_CUPY", False)
    with pytest.raises(RuntimeError, match=r"map_location=brickwork\.device\('cpu'\)"):
        brickwork.load(path)
    assert brickwork.load(path, map_location="cpu")["w"].device.type == "cpu"


def test_dataloader_batches_move_to_the_device(gpu):
    dev = dev_of(gpu)
    ds = brickwork.utils.data.TensorDataset(brickwork.randn(10, 3), brickwork.arange(10))
    for X, y in brickwork.utils.data.DataLoader(ds, batch_size=4):
        X, y = X.to(dev), y.to(dev)
        assert data_on(X) == brickwork.device(dev) and data_on(y) == brickwork.device(dev)


def test_deepcopy_and_optimizer_resume_keep_each_tensor_on_its_gpu(gpu, tmp_path):
    import copy

    dev = dev_of(gpu)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(dev)
    opt = brickwork.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = brickwork.randn(5, 3, device=dev)
    net(x).sum().backward()
    opt.step()
    twin = copy.deepcopy(net)
    for p in list(twin.parameters()) + [p.grad for p in twin.parameters()]:
        assert data_on(p) == brickwork.device(dev)
    brickwork.save({"net": net.state_dict(), "opt": opt.state_dict()}, tmp_path / "ck.bw")
    ck = brickwork.load(tmp_path / "ck.bw")
    opt2 = brickwork.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(ck["opt"])
    for state in opt2.state.values():
        assert data_on(state["momentum_buffer"]) == brickwork.device(dev)
    twin(x).sum().backward()
    opt2.step()  # the resumed step runs on the parameters' GPU
    assert brickwork.cuda.current_device() == 0


def test_brickwork_train_on_a_gpu_resumes_like_the_cpu_run(gpu, tmp_path):
    """``brickwork train --device cuda:N``, stopped after one epoch and resumed, ends with the
    metrics of an uninterrupted CPU run (up to GPU rounding)."""
    import csv

    from brickwork import cli

    def train(out, device, epochs, *extra):
        code = cli.main(["train", "--model", "mlp", "--epochs", str(epochs), "--device", device,
                         "--out", str(out), *extra])
        assert code in (None, 0)
        with open(out / "metrics.csv") as f:
            return list(csv.DictReader(f))

    train(tmp_path / "gpu", dev_of(gpu), 1)
    resumed = train(tmp_path / "gpu", dev_of(gpu), 2, "--resume")
    straight = train(tmp_path / "cpu", "cpu", 2)
    assert len(resumed) == len(straight) == 2
    for r, s in zip(resumed, straight):
        for key in ("train_loss", "test_loss"):
            assert abs(float(r[key]) - float(s[key])) < 1e-4, (key, r, s)
