"""Shared by the optimizer tests: random gradients, a run of steps on either library, and a
comparison of two optimizers' states with PyTorch's layout."""
import numpy as np

import brickwork


def _data(steps, dtype, seed, shapes):
    """Starting values and ``steps`` gradients (a fixed part plus noise) for ``shapes``."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    # sign-repeating gradients exercise Rprop's growth as well as its sign flips
    base = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[(b + 0.7 * rng.standard_normal(s)).astype(dtype) for b, s in zip(base, shapes)]
             for _ in range(steps)]
    return init, grads


def _run(lib, cls, kw, init, grads, opt=None, params=None):
    params = params or [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = opt or getattr(lib.optim, cls)(params, **kw)
    for gs in grads:
        opt.zero_grad()
        for p, g in zip(params, gs):
            p.grad = lib.tensor(g.copy())
        opt.step()
    return params, opt


def _np(t):
    return np.array(t.detach().cpu().numpy())


def _compare_state(bopt, topt, rtol, atol):
    bsd, tsd = bopt.state_dict(), topt.state_dict()
    assert bsd["param_groups"] == tsd["param_groups"]
    assert bsd["state"].keys() == tsd["state"].keys()
    for i, tstate in tsd["state"].items():
        bstate = bsd["state"][i]
        assert list(bstate) == list(tstate), f"state keys of param {i}"
        for key, tv in tstate.items():
            bv = bstate[key]
            assert isinstance(bv, brickwork.Tensor), f"state[{i}][{key!r}]"
            assert bv.dtype.name == str(tv.dtype)[6:], f"state[{i}][{key!r}] dtype"
            assert tuple(bv.shape) == tuple(tv.shape) and bv.device.type == tv.device.type
            np.testing.assert_allclose(_np(bv), _np(tv), rtol=rtol, atol=atol,
                                       err_msg=f"state[{i}][{key!r}]")
