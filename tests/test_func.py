"""brickwork.func: functional_call against torch.func.functional_call (one dict or several,
tied weights, strict), and vmap reachable there."""
import numpy as np
import pytest

import brickwork

torch = pytest.importorskip("torch")


def _case(lib, tie):
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.ReLU(), lib.nn.Linear(3, 2))
    if tie:
        m[2].weight = lib.nn.Parameter(lib.ones(2, 3))
        m.register_parameter("tied", m[2].weight)
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3))
    w0 = lib.tensor(np.full((3, 3), 0.5))
    w2 = lib.tensor(np.arange(6.0).reshape(2, 3) / 10)
    return m, x, w0, w2


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("split", [False, True])
def test_functional_call_matches_torch(tie, split):
    outs = []
    tm = _case(torch, tie)[0].double()
    for lib in (brickwork, torch):
        m, x, w0, w2 = _case(lib, tie)
        m = m.double()
        if lib is brickwork:  # the same weights as PyTorch's (the generators differ)
            m.load_state_dict({k: brickwork.tensor(v.detach().numpy())
                               for k, v in tm.state_dict().items()})
        dicts = [{"0.weight": w0}, {"2.weight": w2}] if split else {"0.weight": w0,
                                                                    "2.weight": w2}
        out = lib.func.functional_call(m, dicts, (x,))
        outs.append((out.detach().numpy(), m[2].weight.detach().numpy().copy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1])  # the module's own weights come back


def test_strict_and_vmap():
    for lib in (brickwork, torch):
        m, x, w0, _ = _case(lib, False)
        with pytest.raises(RuntimeError):
            lib.func.functional_call(m.double(), {"0.weight": w0}, (x,), strict=True)
    assert brickwork.func.vmap is brickwork.vmap
