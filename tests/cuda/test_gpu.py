"""The ``cuda`` group: ops, layers and device semantics on a GPU, against PyTorch on the GPU.

Every test is marked ``cuda`` and skips unless ``brickwork.cuda.is_available()``; the reference
comparisons also need a CUDA build of PyTorch. Run: ``pytest -m cuda tests/cuda``.
"""
from __future__ import annotations

import numpy as np
import pytest

import brickwork
from tests.helpers import assert_close, rand_array

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not brickwork.cuda.is_available(),
                       reason="needs an NVIDIA GPU with CuPy (brickwork.cuda.is_available())"),
]
needs_torch_cuda = pytest.mark.skipif(torch is None or not torch.cuda.is_available(),
                                      reason="the reference needs PyTorch with CUDA")


def check_cuda(fn, arrays, grad=None, atol=None, rtol=None):
    """``fn(lib, *tensors)`` on brickwork's and PyTorch's GPU tensors: outputs and gradients."""
    if grad is None:
        grad = [a.dtype.kind == "f" for a in arrays]
    b_in = [brickwork.tensor(a, device="cuda").requires_grad_(g) for a, g in zip(arrays, grad)]
    t_in = [torch.tensor(a, device="cuda").requires_grad_(g) for a, g in zip(arrays, grad)]
    b_out, t_out = fn(brickwork, *b_in), fn(torch, *t_in)
    assert b_out.device == brickwork.device("cuda:0")
    assert_close(b_out, t_out, atol, rtol)
    if any(grad):
        up = rand_array(tuple(t_out.shape), str(t_out.dtype)[6:], seed=99)
        (b_out * brickwork.tensor(up, device="cuda")).sum().backward()
        (t_out * torch.tensor(up, device="cuda")).sum().backward()
        for i, (b, t) in enumerate(zip(b_in, t_in)):
            if t.requires_grad:
                assert b.grad.device == b.device, f"grad of input {i} left the device"
                assert_close(b.grad, t.grad, atol, rtol, what=f"grad of input {i}")
    return b_out


OPS = {
    "add": (lambda lib, a, b: a + b, [(3, 4), (4,)]),
    "matmul": (lambda lib, a, b: a @ b, [(5, 6), (6, 3)]),
    "conv2d": (lambda lib, x, w: lib.nn.functional.conv2d(x, w, padding=1),
               [(2, 3, 8, 8), (4, 3, 3, 3)]),
    "linear": (lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), [(4, 5), (3, 5), (3,)]),
}


@needs_torch_cuda
@pytest.mark.parametrize("name", sorted(OPS))
def test_ops_match_torch_on_gpu(name):
    fn, shapes = OPS[name]
    check_cuda(fn, [rand_array(s, seed=i) for i, s in enumerate(shapes)], atol=1e-4, rtol=1e-3)


@needs_torch_cuda
def test_cross_entropy_matches_torch_on_gpu():
    logits = rand_array((6, 5))
    target = np.array([0, 4, 2, 1, 3, 0])
    check_cuda(lambda lib, x, y: lib.nn.functional.cross_entropy(x, y), [logits, target],
               grad=[True, False])


@needs_torch_cuda
def test_layer_with_same_weights_on_gpu():
    t_net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    b_net = brickwork.nn.Sequential(brickwork.nn.Linear(8, 16), brickwork.nn.ReLU(),
                                    brickwork.nn.Linear(16, 3))
    b_net.load_state_dict({k: brickwork.tensor(v.numpy()) for k, v in t_net.state_dict().items()})
    t_net.cuda()
    b_net.cuda()
    x = rand_array((4, 8))
    assert_close(b_net(brickwork.tensor(x, device="cuda")), t_net(torch.tensor(x, device="cuda")))


def test_to_and_cuda_identity():
    z = brickwork.ones(3, device="cuda")
    assert z.is_cuda and z.device == brickwork.device("cuda", 0)
    assert z.cuda(0) is z and z.to("cuda:0") is z and z.cuda() is z
    c = z.cpu()
    assert c is not z and not c.is_cuda and c.cpu() is c
    assert c.to("cuda") is not c


def test_numpy_on_gpu_raises_typeerror():
    z = brickwork.ones(2, device="cuda")
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        z.numpy()
    assert z.tolist() == [1.0, 1.0] and z.sum().item() == 2.0


def test_repr_names_the_device():
    assert "device='cuda:0'" in repr(brickwork.ones(2, device="cuda"))


def test_module_to_keeps_parameter_identity_and_moves_grad():
    net = brickwork.nn.Linear(3, 2)
    w = net.weight
    net(brickwork.randn(4, 3)).sum().backward()
    opt = brickwork.optim.SGD(net.parameters(), lr=0.1)
    net.cuda()
    assert net.weight is w and w.is_cuda and w.grad.is_cuda
    before = w.detach().cpu()
    opt.step()
    assert not brickwork.equal(w.detach().cpu(), before)


def test_fused_kernel_matches_cpu_fallback():
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    swish = brickwork.cuda.elementwise(
        "swish", "y = x / (1 + exp(-x))",
        "T s = 1 / (1 + exp(-x)); gx = gy * s * (1 + x * (1 - s))",
        cpu_forward=lambda x: x * sig(x),
        cpu_backward=lambda gy, x: gy * sig(x) * (1 + x * (1 - sig(x))))
    for dtype in (brickwork.float32, brickwork.float64):
        xc = brickwork.randn(1000, dtype=dtype, requires_grad=True)
        xg = xc.detach().cuda().requires_grad_()
        yc, yg = swish(xc), swish(xg)
        assert yg.is_cuda and yg.dtype == dtype
        np.testing.assert_allclose(yg.detach().cpu().numpy(), yc.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        yc.sum().backward()
        yg.sum().backward()
        assert xg.grad.is_cuda
        np.testing.assert_allclose(xg.grad.cpu().numpy(), xc.grad.numpy(), rtol=1e-5, atol=1e-6)
    x64 = brickwork.randn(3, 4, dtype=brickwork.float64, device="cuda", requires_grad=True)
    assert brickwork.autograd.gradcheck(swish, (x64,))


def test_fused_kernel_broadcast_gradients():
    fma = brickwork.cuda.elementwise("fused_mul_add", "y = a * b + c",
                                     "ga = gy * b; gb = gy * a; gc = gy", inputs=("a", "b", "c"))
    a = brickwork.randn(2, 3, device="cuda", requires_grad=True)
    b = brickwork.randn(3, device="cuda", requires_grad=True)
    c = brickwork.randn(2, 1, device="cuda", requires_grad=True)
    fma(a, b, c).sum().backward()
    assert b.grad.shape == (3,) and c.grad.shape == (2, 1)
    np.testing.assert_allclose(b.grad.cpu().numpy(), a.detach().cpu().numpy().sum(0), rtol=1e-5)
