"""Tensors on CUDA devices: placement, copies, identity, host conversion, errors, the cuda API."""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from brickwork import nn
from brickwork.device import device_of_array


def assert_on(t, dev) -> None:
    """``t`` is labelled ``dev`` and its data really lives there."""
    want = brickwork.device(dev)
    assert t.device == want, f"labelled {t.device}, expected {want}"
    assert device_of_array(t._data) == want, f"data on {device_of_array(t._data)}, not {want}"


def last(gpu) -> str:
    return f"cuda:{gpu.count - 1}"


def test_factories_allocate_on_the_device(gpu):
    dev = last(gpu)
    made = [brickwork.zeros(2, 3, device=dev), brickwork.ones(2, device=dev),
            brickwork.empty(4, device=dev), brickwork.full((2,), 3.0, device=dev),
            brickwork.rand(2, device=dev), brickwork.randn(2, device=dev),
            brickwork.randint(0, 5, (3,), device=dev), brickwork.arange(5, device=dev),
            brickwork.linspace(0, 1, 5, device=dev), brickwork.eye(3, device=dev),
            brickwork.tensor([1.0, 2.0], device=dev), brickwork.normal(0, 1, (3,), device=dev)]
    ref = made[0]
    made += [brickwork.zeros_like(ref), brickwork.ones_like(ref), brickwork.rand_like(ref),
             brickwork.randn_like(ref), brickwork.full_like(ref, 2.0), brickwork.tensor(ref),
             brickwork.as_tensor(ref)]
    for t in made:
        assert_on(t, dev)
    with brickwork.device(dev):
        assert_on(brickwork.zeros(2), dev)
        assert_on(nn.Linear(2, 3).weight, dev)


def test_the_chapters_copies_and_identity(gpu):
    X = brickwork.ones(2, 3, device="cuda")
    assert_on(X, "cuda:0")
    assert X.is_cuda and X.cuda(0) is X and X.cuda() is X and X.to("cuda:0") is X
    c = X.cpu()
    assert c is not X and not c.is_cuda and c.cpu() is c and c.to("cpu") is c
    assert_on(c.to("cuda"), "cuda:0")
    assert c.to("cuda") is not c
    d = X.to("cpu", brickwork.float64)
    assert d.dtype == brickwork.float64 and d.device.type == "cpu"
    assert_on(X.to("cuda:0", non_blocking=True), "cuda:0")
    assert X.to("cuda:0", copy=True) is not X


def test_copies_between_gpus(gpu):
    dev = gpu.second()
    X = brickwork.ones(2, 3, device="cuda:0")
    Y = brickwork.rand(2, 3, device=dev)
    Z = X.cuda(1)
    assert_on(Z, dev)
    assert Z.cuda(1) is Z
    S = Y + Z
    assert_on(S, dev)
    np.testing.assert_allclose(S.cpu().numpy(), Y.cpu().numpy() + 1)
    assert brickwork.cuda.current_device() == 0  # ops on cuda:1 leave the current device alone
    assert_on(Z.to("cuda:0"), "cuda:0")


def test_gradients_stay_on_the_second_gpu(gpu):
    dev = gpu.second()
    w = brickwork.randn(3, 4, device=dev, requires_grad=True)
    x = brickwork.randn(5, 3, device=dev)
    ((x @ w).relu().sum() + w.pow(2).mean()).backward()
    assert_on(w.grad, dev)
    moved = w.to("cuda:0")  # the gradient of a copy flows back to the source device
    moved.sum().backward()
    assert_on(w.grad, dev)
    assert brickwork.cuda.current_device() == 0


def test_cross_device_errors_name_both_devices_and_the_layer(gpu):
    X = brickwork.ones(2, 3, device="cuda:0")
    with pytest.raises(RuntimeError) as e:
        X + brickwork.ones(2, 3)
    assert str(e.value).startswith("Expected all tensors to be on the same device, but found "
                                   "at least two devices, cuda:0 and cpu!")
    assert "add" in str(e.value)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    net[2].to("cuda:0")
    # linear runs as addmm(bias, x, W.t()): the bias's device comes first, as in PyTorch's
    # "found at least two devices, cuda:0 and cpu! (... wrapper_CUDA_addmm)".
    with pytest.raises(RuntimeError, match=r"cuda:0 and cpu! .*while running Sequential\.2 "
                                           r"\(Linear\)"):
        net(brickwork.ones(2, 3))
    if gpu.count > 1:
        with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
            X * brickwork.ones(2, 3, device="cuda:1")


def test_host_conversion(gpu):
    X = brickwork.tensor([[1.5, 2.0]], device="cuda")
    with pytest.raises(TypeError) as e:
        X.numpy()
    assert str(e.value) == ("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() "
                            "to copy the tensor to host memory first.")
    assert X.tolist() == [[1.5, 2.0]] and X.sum().item() == 3.5 and float(X[0, 0]) == 1.5
    assert repr(X) == "tensor([[1.5000, 2.0000]], device='cuda:0')"
    assert "device='cuda:0', grad_fn=<MulBackward0>" in repr(X.requires_grad_() * 2)
    np.testing.assert_array_equal(X.detach().cpu().numpy(), [[1.5, 2.0]])
    pinned = X.detach().cpu().pin_memory()
    assert not pinned.is_pinned() and pinned.tolist() == [[1.5, 2.0]]
    assert_on(pinned.cuda(non_blocking=True), "cuda:0")


def test_unavailable_device_says_which_exist(gpu):
    with pytest.raises(RuntimeError, match=f"cuda:{gpu.count}.*{gpu.count} CUDA device"):
        brickwork.zeros(1, device=f"cuda:{gpu.count}")


def test_cuda_queries_and_current_device(gpu):
    cuda = brickwork.cuda
    assert cuda.is_available() and cuda.device_count() == gpu.count
    assert cuda.current_device() == 0
    assert isinstance(cuda.get_device_name(0), str) and cuda.get_device_name()
    props = cuda.get_device_properties(0)
    assert props.name == cuda.get_device_name(0) and props.total_memory > 0
    assert cuda.get_device_capability(0) == (props.major, props.minor) and cuda.is_initialized()
    cuda.synchronize()
    if gpu.count > 1:
        cuda.set_device(1)
        assert cuda.current_device() == 1
        assert_on(brickwork.zeros(1, device="cuda"), "cuda:1")
        cuda.set_device(0)
        with cuda.device(1):
            assert cuda.current_device() == 1
            assert_on(brickwork.ones(1, device="cuda"), "cuda:1")
        assert cuda.current_device() == 0
    brickwork.manual_seed(3)
    cuda.manual_seed(3)
    cuda.manual_seed_all(3)
    a = brickwork.randn(4, device="cuda")
    brickwork.manual_seed(3)
    assert brickwork.equal(a, brickwork.randn(4, device="cuda"))


def test_memory_statistics_follow_allocations(gpu):
    cuda = brickwork.cuda
    cuda.empty_cache()
    cuda.reset_peak_memory_stats()
    before = cuda.memory_allocated()
    big = brickwork.zeros(1 << 18, device="cuda")  # 1 MiB
    during = cuda.memory_allocated()
    assert during - before >= 1 << 20
    assert cuda.max_memory_allocated() >= during
    del big
    assert cuda.memory_allocated() <= during - (1 << 20)
    if gpu.count > 1:
        other = brickwork.zeros(1 << 18, device="cuda:1")
        assert cuda.memory_allocated(1) >= 1 << 20
        del other


def test_the_chapters_gpu_cells(gpu, capsys):
    """The chapter's GPU section as written, with only the imports changed."""
    torch = brickwork

    def try_gpu(i=0):
        if torch.cuda.device_count() >= i + 1:
            return torch.device(f'cuda:{i}')
        return torch.device('cpu')

    def try_all_gpus():
        devices = [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())]
        return devices if devices else [torch.device('cpu')]

    assert (try_gpu(), try_gpu(10)) == (torch.device('cuda', 0), torch.device('cpu'))
    assert try_all_gpus() == [torch.device(f'cuda:{i}') for i in range(gpu.count)]
    X = torch.ones(2, 3, device=try_gpu())
    assert repr(X) == "tensor([[1., 1., 1.],\n        [1., 1., 1.]], device='cuda:0')"
    net = nn.Sequential(nn.Linear(3, 1))
    net = net.to(device=try_gpu())
    out = net(X)
    assert "device='cuda:0', grad_fn=<AddmmBackward0>" in repr(out)
    assert net[0].weight.data.device == torch.device(type='cuda', index=0)
    if gpu.count > 1:
        Y = torch.rand(2, 3, device=try_gpu(1))
        Z = X.cuda(1)
        print(X)
        print(Z)
        assert "device='cuda:1'" in capsys.readouterr().out
        assert torch.allclose((Y + Z).cpu(), Y.cpu() + 1)
        assert Z.cuda(1) is Z
        with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
            X + Y


def test_the_tours_gpu_section(gpu, capsys):
    import runpy

    runpy.run_module("brickwork.tour.s06_gpu", run_name="__main__")
    out = capsys.readouterr().out
    assert "device='cuda:0'" in out and "\ncuda:0\n" in out
    if gpu.count >= 2:
        assert "device='cuda:1'" in out and "\nTrue\n" in out
        assert "found at least two devices, cuda:0 and cuda:1!" in out


def test_in_place_writes_and_gradient_accumulation(gpu):
    dev = last(gpu)
    Z = brickwork.zeros(2, 3, device=dev)
    view = Z[0]
    Z.add_(1).mul_(3)
    Z[1, 1] = 7.0
    Z.data[0, 0] = -1.0
    assert view.tolist() == [-1.0, 3.0, 3.0] and Z[1].tolist() == [3.0, 7.0, 3.0]
    assert_on(Z, dev)
    w = brickwork.ones(3, device=dev, requires_grad=True)
    for _ in range(2):
        (w * 2).sum().backward()  # the second pass adds into the existing .grad in place
    assert w.grad.tolist() == [4.0, 4.0, 4.0]
    assert_on(w.grad, dev)
    with brickwork.no_grad():
        w.sub_(w.grad * 0.5)
    assert w.tolist() == [-1.0, -1.0, -1.0]
