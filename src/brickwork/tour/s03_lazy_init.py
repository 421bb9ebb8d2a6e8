"""Deferred initialization: LazyLinear takes its input size from the first batch."""
# %%
import brickwork as torch
from brickwork import nn

net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.Linear(256, 10))
print(net[0].weight)

# %%
X = torch.rand(2, 20)
net(X)
print(net[0].weight.shape, type(net[0]).__name__)
