"""scaled_dot_product_attention and MultiheadAttention against PyTorch (issue 16)."""
import numpy as np
import pytest

import brickwork
from brickwork.autograd import gradcheck, gradgradcheck
from tests.helpers import check_behaviour, check_error, rand_array
from tests.helpers import check_op as _check_op


def check_op(fn, inputs, **kw):
    # PyTorch's CPU flash kernel has no second derivative ("derivative for
    # _scaled_dot_product_flash_attention_for_cpu_backward is not implemented"), so only values and
    # first gradients are compared; gradgradcheck below covers second order without torch.
    kw.setdefault("second_order", False)
    return _check_op(fn, inputs, **kw)


def _sdpa(**kw):
    def fn(lib, q, k, v, *mask):
        extra = dict(kw)
        if mask:
            extra["attn_mask"] = mask[0]
        return lib.nn.functional.scaled_dot_product_attention(q, k, v, **extra)
    return fn


def _bool_mask(shape, seed=3, dead_row=None):
    m = np.random.default_rng(seed).random(shape) > 0.4
    if dead_row is not None and shape[-2] > dead_row:
        m[..., dead_row, :] = False  # a query row that may attend to nothing
    return m


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"is_causal": True}, {"scale": 0.3},
                                {"is_causal": True, "scale": 2.0}])
def test_sdpa_plain_and_causal(dtype, kw):
    q = rand_array((2, 3, 4, 5), dtype, seed=1)
    k = rand_array((2, 3, 6, 5), dtype, seed=2)
    v = rand_array((2, 3, 6, 7), dtype, seed=3)
    check_op(_sdpa(**kw), [q, k, v])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mask_shape", [(4, 6), (3, 1, 6), (2, 1, 4, 6), (2, 3, 4, 6)])
def test_sdpa_bool_mask_broadcasts(dtype, mask_shape):
    q = rand_array((2, 3, 4, 5), dtype, seed=1)
    k = rand_array((2, 3, 6, 5), dtype, seed=2)
    v = rand_array((2, 3, 6, 5), dtype, seed=3)
    check_op(_sdpa(), [q, k, v, _bool_mask(mask_shape, dead_row=1)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sdpa_float_mask_with_grad_and_dead_row(dtype):
    q = rand_array((2, 4, 5), dtype, seed=1)
    k = rand_array((2, 6, 5), dtype, seed=2)
    v = rand_array((2, 6, 3), dtype, seed=3)
    m = rand_array((4, 6), dtype, seed=4)
    m[2] = -np.inf  # fully masked row: zeros, like PyTorch's CPU kernel
    m[0, 1] = -np.inf
    check_op(_sdpa(), [q, k, v, m], grad=[True, True, True, False])
    m2 = rand_array((1, 4, 6), dtype, seed=5)
    check_op(_sdpa(), [q, k, v, m2])  # gradient flows into a float mask too


def test_sdpa_fully_masked_row_is_zero_without_torch():
    q = brickwork.randn(1, 3, 4, requires_grad=True)
    mask = brickwork.tensor([[True, True, False], [False, False, False], [True, False, False]])
    out = brickwork.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=mask)
    assert np.all(out.detach().numpy()[0, 1] == 0)
    out.sum().backward()
    assert np.all(np.isfinite(q.grad.numpy()))


def test_sdpa_mask_and_causal_combine():
    # PyTorch 2.13's CPU kernel applies both when dropout_p == 0 (and raises with dropout).
    q = rand_array((2, 2, 4, 3), "float32", seed=1)
    check_op(_sdpa(is_causal=True), [q, q, q, _bool_mask((4, 4))])
    check_op(_sdpa(is_causal=True), [q, q, q, rand_array((4, 4), seed=7)],
             grad=[True, True, True, False])
    check_error(_sdpa(is_causal=True, dropout_p=0.5), [q, q, q, _bool_mask((4, 4))])
    # Only PyTorch's flash kernel (4-d, one head dim, equal batch and heads) takes both; the
    # math fallback refuses them.
    v7 = rand_array((2, 2, 4, 7), "float32", seed=2)
    check_error(_sdpa(is_causal=True), [q, q, v7, _bool_mask((4, 4))])
    check_error(_sdpa(is_causal=True), [q[0], q[0], q[0], _bool_mask((4, 4))])
    check_error(_sdpa(is_causal=True), [q, q[:, :1], q[:, :1], _bool_mask((4, 4))])
    check_behaviour(lambda L: L.nn.functional.scaled_dot_product_attention(  # a mask with grad
        L.ones(1, 1, 3, 2), L.ones(1, 1, 3, 2), L.ones(1, 1, 3, 2),
        attn_mask=L.zeros(3, 3, requires_grad=True), is_causal=True))
    check_op(_sdpa(is_causal=True, enable_gqa=True), [rand_array((2, 4, 4, 3), seed=3), q, q,
                                                      _bool_mask((4, 4))])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sdpa_gqa(dtype):
    q = rand_array((2, 4, 3, 5), dtype, seed=1)
    k = rand_array((2, 2, 6, 5), dtype, seed=2)
    v = rand_array((2, 2, 6, 4), dtype, seed=3)
    check_op(_sdpa(enable_gqa=True), [q, k, v])
    check_op(_sdpa(enable_gqa=True, is_causal=True), [q, k, v])


def test_sdpa_errors():
    q = rand_array((1, 4, 3, 5), seed=1)
    k = rand_array((1, 2, 3, 5), seed=2)
    check_error(_sdpa(), [q, k, k], match_message=False)  # head counts differ, no enable_gqa
    err = check_error(_sdpa(), [q, q, q, np.ones((3, 3), dtype=np.int64)],  # integer mask
                      match_message=False)
    assert "attn_mask dtype" in str(err)
    check_error(_sdpa(), [q, q, q, rand_array((3, 3), "float64")], match_message=False)
    q64 = rand_array((1, 4, 3, 5), "float64", seed=1)
    check_op(_sdpa(), [q64, q64, q64, rand_array((3, 3), "float32")])  # float32 mask: allowed
    check_error(_sdpa(enable_gqa=True), [q, rand_array((1, 3, 3, 5)), rand_array((1, 3, 3, 5))],
                match_message=False)


def test_sdpa_unbatched_2d():
    check_op(_sdpa(), [rand_array((3, 4), seed=1), rand_array((5, 4), seed=2),
                       rand_array((5, 6), seed=3)])


def test_sdpa_dropout_statistics():
    brickwork.manual_seed(0)
    q = brickwork.zeros(1, 1, 2000, 4)  # uniform weights 1/S; each kept weight becomes 2/S
    v = brickwork.ones(1, 1, 50, 1)
    k = brickwork.zeros(1, 1, 50, 4)
    out = brickwork.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    vals = out.numpy().ravel()
    # each output is 2 * (kept count)/50 with kept ~ Binomial(50, 0.5): mean 1, sd ~ 0.14
    assert abs(vals.mean() - 1.0) < 0.02
    assert 0.1 < vals.std() < 0.18
    p0 = brickwork.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=0.0)
    np.testing.assert_allclose(p0.numpy(), 1.0, rtol=1e-6)


def test_sdpa_gradcheck_no_torch():
    q = brickwork.randn(1, 3, 2, dtype=brickwork.float64, requires_grad=True)
    k = brickwork.randn(1, 4, 2, dtype=brickwork.float64, requires_grad=True)
    v = brickwork.randn(1, 4, 2, dtype=brickwork.float64, requires_grad=True)
    mask = brickwork.tensor([[True, False, True, True], [False] * 4, [True] * 4])
    fn = brickwork.nn.functional.scaled_dot_product_attention
    assert gradcheck(lambda a, b, c: fn(a, b, c, attn_mask=mask), (q, k, v))
    assert gradcheck(lambda a, b, c: fn(a, b, c, is_causal=True), (q, k, v))
    assert gradgradcheck(lambda a, b, c: fn(a, b, c, attn_mask=mask), (q, k, v))


# --- MultiheadAttention -------------------------------------------------------------------------

E, H = 8, 2
# the module tests reach check_op through _mha_case, which conftest does not see: name the devices
_DEVICES = pytest.mark.parametrize("op_device", ["cpu", "simcuda"], indirect=True)


def _mha_params(kdim=E, vdim=E, bias=True, bias_kv=False, dtype="float32", seed=10):
    """Arrays for the MHA parameters, in PyTorch's state_dict order (names, arrays)."""
    shapes = ([("in_proj_weight", (3 * E, E))] if kdim == E and vdim == E else
              [("q_proj_weight", (E, E)), ("k_proj_weight", (E, kdim)),
               ("v_proj_weight", (E, vdim))])
    if bias:
        shapes.append(("in_proj_bias", (3 * E,)))
    if bias_kv:
        shapes += [("bias_k", (1, 1, E)), ("bias_v", (1, 1, E))]
    shapes.append(("out_proj.weight", (E, E)))
    if bias:
        shapes.append(("out_proj.bias", (E,)))
    return ([n for n, _ in shapes],
            [rand_array(s, dtype, seed=seed + i, low=-0.7, high=0.7)
             for i, (_, s) in enumerate(shapes)])


def _mha_module_fn(names, mask_keys, forward_kw, **init_kw):
    """``fn(lib, q, k, v, *params, *masks)``: the module with the given tensors as its
    parameters (placed straight into ``_parameters`` so gradients reach them on both sides)."""
    def fn(lib, q, k, v, *rest):
        params, masks = rest[:len(names)], rest[len(names):]
        m = lib.nn.MultiheadAttention(E, H, dtype=q.dtype, **init_kw)
        for name, p in zip(names, params):
            owner, _, leafname = name.rpartition(".")
            (m.get_submodule(owner) if owner else m)._parameters[leafname] = p
        kw = dict(forward_kw)
        kw.update(zip(mask_keys, masks))
        return m(q, k, v, **kw)
    return fn


def _mha_case(forward_kw, masks=(), seq=(4, 5), batch=3, kdim=E, vdim=E, batch_first=False,
              self_attn=False, shared_kv=False, dtype="float32", **init_kw):
    L, S = seq
    # masks: [key_padding_mask, attn_mask], either may be None (left out of the call)
    mask_keys = [key for key, m in zip(("key_padding_mask", "attn_mask"), masks) if m is not None]
    masks = [m for m in masks if m is not None]
    names, params = _mha_params(kdim, vdim, init_kw.get("bias", True),
                                init_kw.get("add_bias_kv", False), dtype)
    bshape = (lambda n, d: (batch, n, d)) if batch_first else (lambda n, d: (n, batch, d))
    if batch is None:
        bshape = (lambda n, d: (n, d))  # noqa: E731 - unbatched
    q = rand_array(bshape(L, E), dtype, seed=1)
    k = rand_array(bshape(S, kdim), dtype, seed=2)
    v = rand_array(bshape(S, vdim), dtype, seed=3)
    if kdim != E or vdim != E:
        init_kw.update(kdim=kdim, vdim=vdim)
    if self_attn:
        fn0 = _mha_module_fn(names, mask_keys, forward_kw, batch_first=batch_first, **init_kw)

        def fn(lib, x, *rest):
            return fn0(lib, x, x, x, *rest)
        inputs = [q, *params, *masks]
        grad = [True] * (1 + len(params)) + [False] * len(masks)
    elif shared_kv:  # key is value: the packed k/v projection path
        fn1 = _mha_module_fn(names, mask_keys, forward_kw, batch_first=batch_first, **init_kw)

        def fn(lib, x, kv, *rest):
            return fn1(lib, x, kv, kv, *rest)
        inputs = [q, k, *params, *masks]
        grad = [True] * (2 + len(params)) + [False] * len(masks)
    else:
        fn = _mha_module_fn(names, mask_keys, forward_kw, batch_first=batch_first, **init_kw)
        inputs = [q, k, v, *params, *masks]
        grad = [True] * (3 + len(params)) + [False] * len(masks)
    check_op(fn, inputs, grad=grad)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("batch_first", [False, True])
@_DEVICES
def test_mha_plain(dtype, need_weights, average, batch_first):
    _mha_case({"need_weights": need_weights, "average_attn_weights": average}, dtype=dtype,
              batch_first=batch_first)


@pytest.mark.parametrize("self_attn", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.filterwarnings("ignore:invalid value")  # a fully masked row: NaN, as in torch
@_DEVICES
def test_mha_masks(self_attn, need_weights):
    S = 4 if self_attn else 5
    kpm = np.zeros((3, S), dtype=bool)
    kpm[0, -2:] = True
    kpm[2, 0] = True
    attn = np.triu(np.ones((4, S), dtype=bool), 1)  # bool: True = blocked
    _mha_case({"need_weights": need_weights}, masks=[kpm, attn], seq=(4, S), self_attn=self_attn)
    float_attn = rand_array((3 * H, 4, S), seed=9)
    float_kpm = rand_array((3, S), seed=8)
    _mha_case({"need_weights": need_weights}, masks=[float_kpm, float_attn], seq=(4, S),
              self_attn=self_attn)


@pytest.mark.parametrize("need_weights", [True, False])
@_DEVICES
def test_mha_causal_hint(need_weights):
    causal = np.triu(np.full((4, 4), -np.inf, dtype=np.float32), 1)
    _mha_case({"need_weights": need_weights, "is_causal": True}, masks=[None, causal],
              seq=(4, 4), self_attn=True)
    err = check_error(lambda lib, x: lib.nn.MultiheadAttention(E, H)(x, x, x, is_causal=True),
                      [rand_array((4, 2, E))])
    assert "attn_mask" in str(err)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("options", [
    {"kdim": 3, "vdim": 5}, {"add_bias_kv": True}, {"add_zero_attn": True}, {"bias": False},
    {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 6}])
@_DEVICES
def test_mha_options(dtype, options):
    kpm = np.zeros((3, 5), dtype=bool)
    kpm[1, 1] = True
    attn = np.random.default_rng(0).random((4, 5)) > 0.8
    _mha_case({}, masks=[kpm, attn], dtype=dtype, **options)
    _mha_case({"need_weights": False}, dtype=dtype, **options)


@_DEVICES
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_shared_key_value(batch_first):
    kpm = np.zeros((3, 5), dtype=bool)
    kpm[:, 3] = True
    _mha_case({}, masks=[kpm, None], shared_kv=True, batch_first=batch_first)
    _mha_case({"need_weights": False}, shared_kv=True, batch_first=batch_first)


@pytest.mark.parametrize("need_weights", [True, False])
@_DEVICES
def test_mha_unbatched(need_weights):
    _mha_case({"need_weights": need_weights}, batch=None)
    kpm = np.array([False, True, False, False, True])
    _mha_case({"need_weights": need_weights}, masks=[kpm, None], batch=None, batch_first=True)
    attn3 = np.random.default_rng(1).random((H, 4, 5)) > 0.7  # per-head mask, unbatched
    _mha_case({"need_weights": need_weights}, masks=[None, attn3], batch=None)


def test_mha_functional_matches_torch():
    names, params = _mha_params()

    def fn(lib, q, k, v, w, b, ow, ob):
        return lib.nn.functional.multi_head_attention_forward(
            q, k, v, E, H, w, b, None, None, False, 0.0, ow, ob, training=False,
            need_weights=True, average_attn_weights=False)
    check_op(fn, [rand_array((4, 2, E), seed=1), rand_array((5, 2, E), seed=2),
                  rand_array((5, 2, E), seed=3), *params])


def test_mha_state_dict_both_ways_and_init():
    torch = pytest.importorskip("torch")
    t = torch.nn.MultiheadAttention(E, H, add_bias_kv=True, kdim=3, vdim=5)
    b = brickwork.nn.MultiheadAttention(E, H, add_bias_kv=True, kdim=3, vdim=5)
    assert list(b.state_dict()) == list(t.state_dict())
    assert [n for n, _ in b.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert repr(b) == repr(t)
    b.load_state_dict({k: brickwork.tensor(v.numpy()) for k, v in t.state_dict().items()})
    t2 = torch.nn.MultiheadAttention(E, H, add_bias_kv=True, kdim=3, vdim=5)
    t2.load_state_dict({k: torch.tensor(v.numpy()) for k, v in b.state_dict().items()})
    q, k, v = (rand_array((4, 2, d), seed=i) for i, d in enumerate((E, 3, 5)))
    for mod in (t, t2):
        out_t, w_t = mod(*(torch.tensor(a) for a in (q, k, v)))
        out_b, w_b = b(*(brickwork.tensor(a) for a in (q, k, v)))
        np.testing.assert_allclose(out_b.detach().numpy(), out_t.detach().numpy(), atol=1e-6)
        np.testing.assert_allclose(w_b.detach().numpy(), w_t.detach().numpy(), atol=1e-6)
    # initialization: zero biases, xavier-uniform bound sqrt(6 / (fan_in + fan_out))
    m = brickwork.nn.MultiheadAttention(E, H)
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    assert np.all(m.out_proj.bias.detach().numpy() == 0)
    bound = np.sqrt(6 / (E + 3 * E))
    w = m.in_proj_weight.detach().numpy()
    assert w.shape == (3 * E, E) and np.abs(w).max() <= bound and np.abs(w).max() > bound / 2
    assert m.q_proj_weight is None and m.bias_k is None


def test_mha_eval_no_grad_fast_path_matches():
    torch = pytest.importorskip("torch")
    t = torch.nn.MultiheadAttention(E, H, batch_first=True).eval()
    b = brickwork.nn.MultiheadAttention(E, H, batch_first=True).eval()
    b.load_state_dict({k: brickwork.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = rand_array((2, 4, E), seed=1)
    kpm = np.array([[False, False, True, True], [False] * 4])
    with torch.no_grad(), brickwork.no_grad():
        out_t, w_t = t(torch.tensor(x), torch.tensor(x), torch.tensor(x),
                       key_padding_mask=torch.tensor(kpm))
        out_b, w_b = b(brickwork.tensor(x), brickwork.tensor(x), brickwork.tensor(x),
                       key_padding_mask=brickwork.tensor(kpm))
    np.testing.assert_allclose(out_b.numpy(), out_t.numpy(), atol=1e-5)
    np.testing.assert_allclose(w_b.numpy(), w_t.numpy(), atol=1e-6)


def test_mha_dropout_train_and_errors():
    brickwork.manual_seed(0)
    m = brickwork.nn.MultiheadAttention(E, H, dropout=0.5)
    x = brickwork.randn(4, 2, E)
    _, w = m(x, x, x, average_attn_weights=False)
    assert np.any(w.detach().numpy() == 0)  # some weights dropped in training
    m.eval()
    _, w = m(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(w.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError):
        brickwork.nn.MultiheadAttention(0, 2)
    with pytest.raises(AssertionError):
        brickwork.nn.MultiheadAttention(6, 4)


def test_mha_gradcheck_no_torch():
    m = brickwork.nn.MultiheadAttention(4, 2, add_bias_kv=True, dtype=brickwork.float64)
    x = brickwork.randn(3, 2, 4, dtype=brickwork.float64, requires_grad=True)
    kpm = brickwork.tensor([[False, True, False], [False, False, False]])
    assert gradcheck(lambda a: m(a, a, a, key_padding_mask=kpm)[0], (x,))


@pytest.mark.parametrize("L,S", [(70, 70), (70, 40), (40, 90)])
@pytest.mark.parametrize("mask", [None, "bool", "float"])
def test_sdpa_causal_blocks_against_torch(L, S, mask):
    """Long enough for the one-op attention to split the queries into causal blocks (32 rows),
    with L != S, and masks (a bool one with a query row that sees no key) on top."""
    q = rand_array((2, 2, L, 8), "float64", seed=1)
    k = rand_array((2, 2, S, 8), "float64", seed=2)
    v = rand_array((2, 2, S, 8), "float64", seed=3)
    extra, kw = [], {}
    if mask == "bool":
        extra = [_bool_mask((L, S), dead_row=35)]
    elif mask == "float":
        extra = [rand_array((2, 1, L, S), "float64", seed=4)]
        kw["grad"] = [True, True, True, False]  # (a mask needing grad: PyTorch refuses)
    check_op(_sdpa(is_causal=True), [q, k, v] + extra, **kw)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("mask", [None, "bool"])
def test_sdpa_one_op_matches_op_by_op(causal, mask):
    """The one-op attention (its hand-written backward) against its composite, differentiated
    op by op, with no torch: values and every gradient, a dead query row included."""
    from brickwork.nn._sdpa_kernel import SDPA

    arrays = [rand_array((2, 3, 75, 8), "float64", seed=i) for i in (1, 2, 3)]
    m = None if mask is None else brickwork.tensor(_bool_mask((75, 75), dead_row=40))

    def run(fn):
        ts = [brickwork.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*ts, m, causal, 0.35)
        w = brickwork.tensor(rand_array(tuple(out.shape), "float64", seed=9))
        (out * w).sum().backward()
        return [out.detach().numpy()] + [t.grad.numpy() for t in ts]

    for a, b in zip(run(SDPA.apply), run(SDPA.composite)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    if mask is not None:
        out = SDPA.apply(*[brickwork.tensor(a) for a in arrays], m, causal, 0.35)
        assert not out[:, :, 40].numpy().any()  # the row that may attend to nothing is zero
