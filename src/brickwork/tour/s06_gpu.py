"""GPUs: devices, tensors and models on a device (falls back to the CPU without one)."""
# %%
import brickwork as torch
from brickwork import nn

print(torch.device('cpu'), torch.device('cuda'), torch.device('cuda:1'))
print(torch.cuda.device_count())


# %%
def try_gpu(i=0):
    """Return gpu(i) if it exists, otherwise cpu()."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def try_all_gpus():
    """Return all available GPUs, or [cpu(),] if there is no GPU."""
    devices = [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device('cpu')]


print(try_gpu(), try_gpu(10), try_all_gpus())

# %%
x = torch.tensor([1, 2, 3])
print(x.device)
X = torch.ones(2, 3, device=try_gpu())
print(X)

# %%
net = nn.Sequential(nn.Linear(3, 1))
net = net.to(device=try_gpu())
print(net(X).shape)
print(net[0].weight.data.device)

# %%
# The chapter's two-GPU cells: data must sit on one device before an op combines it.
if torch.cuda.device_count() >= 2:
    Y = torch.rand(2, 3, device=try_gpu(1))
    Z = X.cuda(1)
    print(X)
    print(Z)
    print(Y + Z)
    print(Z.cuda(1) is Z)
    try:
        X + Y
    except RuntimeError as e:
        print(e)
else:
    print("fewer than two GPUs: the two-GPU cells are skipped")
