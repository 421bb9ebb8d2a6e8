"""bfloat16, complex64/128 and uint16/32/64 in files, both formats, both directions.

PyTorch's pickle names bfloat16 and complex storages (``BFloat16Storage``,
``ComplexFloatStorage``, ``ComplexDoubleStorage``) and writes uint16/32/64 as
``_rebuild_tensor_v3`` over an untyped byte storage; safetensors has the codes ``BF16``,
``C64``, ``U16``, ``U32``, ``U64`` and none for complex128, which brickwork's format stores as
float64 (real, imaginary) pairs that its own tensor table views back.
"""
import io
import json
import struct

import ml_dtypes
import numpy as np
import pytest

import brickwork
from brickwork.serialization import CorruptFileError
from helpers import torch

NEW = ["bfloat16", "complex64", "complex128", "uint16", "uint32", "uint64"]


def values(name: str) -> np.ndarray:
    """Test data for ``name`` that its dtype holds exactly."""
    base = np.array([[1.5, -2.25, 3.0], [4.0, 5.5, 1e3]])
    if name == "bfloat16":
        return base.astype(ml_dtypes.bfloat16)
    if name.startswith("complex"):
        return (base + 1j * base[::-1]).astype(name)
    top = {"uint16": 65535, "uint32": 2**32 - 1, "uint64": 2**64 - 1}[name]
    return np.array([[1, 2, 3], [top, 7, 0]], dtype=name)


def brick(name: str):
    return brickwork.tensor(values(name))


def same(t, name: str, arr=None) -> None:
    """``t`` is a brickwork tensor of dtype ``name`` holding ``arr`` (default ``values(name)``)."""
    arr = values(name) if arr is None else arr
    assert t.dtype is getattr(brickwork, name)
    assert tuple(t.shape) == arr.shape
    np.testing.assert_array_equal(np.ascontiguousarray(t._host()).view(np.uint8),
                                  np.ascontiguousarray(arr).view(np.uint8))


def torch_tensor(name: str):
    arr = values(name)
    if name == "bfloat16":
        return torch.from_numpy(arr.view(np.uint16).copy()).view(torch.bfloat16)
    if name.startswith("uint") and name != "uint8":  # torch.from_numpy refuses them
        signed = arr.view(name.replace("u", ""))
        return torch.from_numpy(signed.copy()).view(getattr(torch, name))
    return torch.from_numpy(arr.copy())


def torch_bytes(t) -> bytes:
    """A torch tensor's raw little-endian bytes (no numpy() for bfloat16 and wide uints)."""
    return t.contiguous().view(torch.uint8).numpy().tobytes()


def save_load(obj, fmt):
    buf = io.BytesIO()
    brickwork.save(obj, buf, format=fmt)
    buf.seek(0)
    return brickwork.load(buf), buf.getvalue()


@pytest.mark.parametrize("fmt", ["brickwork", "torch"])
@pytest.mark.parametrize("name", NEW)
def test_round_trip_in_brickwork(name, fmt):
    x = brick(name)
    obj = {"x": x, "view": x[:, 1:], "t": x.T, "again": x}
    got, _ = save_load(obj, fmt)
    same(got["x"], name)
    same(got["view"], name, values(name)[:, 1:])
    same(got["t"], name, values(name).T)
    assert got["again"] is got["x"]  # ties survive


@pytest.mark.parametrize("fmt", ["brickwork", "torch"])
def test_parameters_that_require_grad(fmt):
    for name in ("bfloat16", "complex64"):
        p = brickwork.nn.Parameter(brick(name))
        got, _ = save_load({"p": p}, fmt)
        assert isinstance(got["p"], brickwork.nn.Parameter) and got["p"].requires_grad
        same(got["p"].detach(), name)


def test_safetensors_codes_written():
    """Other safetensors readers see each dtype's own code (complex128: float64 pairs)."""
    _, data = save_load({name: brick(name) for name in NEW}, "brickwork")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    codes = {k: v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert codes == {"bfloat16": "BF16", "complex64": "C64", "complex128": "F64",
                     "uint16": "U16", "uint32": "U32", "uint64": "U64"}
    assert header["complex128"]["shape"] == [2, 3, 2]  # view_as_real's shape


def _foreign_file(entries: dict) -> bytes:
    """A plain safetensors file (no brickwork metadata) with these arrays."""
    header, blobs, offset = {}, [], 0
    for name, (code, arr) in entries.items():
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def test_foreign_safetensors_codes_read():
    codes = {"bfloat16": "BF16", "complex64": "C64", "uint16": "U16", "uint32": "U32",
             "uint64": "U64"}
    data = _foreign_file({n: (c, values(n)) for n, c in codes.items()})
    got = brickwork.load(io.BytesIO(data))
    for name in codes:
        same(got[name], name)
    # A complex128 record over float64 storage is only brickwork's own: a plain F64 entry
    # stays float64.
    got = brickwork.load(io.BytesIO(_foreign_file({"z": ("F64", values("complex128").view(
        np.float64).reshape(2, 3, 2))})))
    assert got["z"].dtype is brickwork.float64 and tuple(got["z"].shape) == (2, 3, 2)


def test_damaged_complex128_record_is_refused():
    _, data = save_load({"z": brick("complex128")}, "brickwork")
    bad = data.replace(b'"shape": [2, 3, 2]', b'"shape": [3, 2, 2]')
    assert bad != data
    with pytest.raises(CorruptFileError):
        brickwork.load(io.BytesIO(bad))


# -- against PyTorch ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NEW)
def test_torch_save_then_brickwork_load(name):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    t = torch_tensor(name)
    buf = io.BytesIO()
    torch.save({"x": t, "view": t[:, 1:], "p": torch.nn.Parameter(t.clone(), requires_grad=False)},
               buf)
    got = brickwork.load(io.BytesIO(buf.getvalue()))
    same(got["x"], name)
    same(got["view"], name, values(name)[:, 1:])
    assert isinstance(got["p"], brickwork.nn.Parameter)
    same(got["p"].detach(), name)


@pytest.mark.parametrize("name", NEW)
def test_brickwork_save_then_torch_load(name):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    x = brick(name)
    _, data = save_load({"x": x, "view": x[:, 1:]}, "torch")
    got = torch.load(io.BytesIO(data), weights_only=True)
    want = torch_tensor(name)
    for key, ref in (("x", want), ("view", want[:, 1:])):
        assert got[key].dtype == getattr(torch, name)
        assert tuple(got[key].shape) == tuple(ref.shape)
        assert torch_bytes(got[key]) == torch_bytes(ref)


@pytest.mark.parametrize("name", NEW)
def test_safetensors_torch_interchange(name):
    if torch is None:
        pytest.skip("PyTorch (the reference) not installed")
    st = pytest.importorskip("safetensors.torch")
    _, data = save_load({"x": brick(name)}, "brickwork")
    got = st.load(data)["x"]
    if name == "complex128":  # float64 pairs, as torch.view_as_real would give
        assert got.dtype == torch.float64 and tuple(got.shape) == (2, 3, 2)
        assert torch.equal(torch.view_as_complex(got), torch_tensor(name))
        with pytest.raises(KeyError):  # safetensors.torch has no code for complex128
            st.save({"x": torch_tensor(name)})
        return
    assert got.dtype == getattr(torch, name) and torch_bytes(got) == torch_bytes(torch_tensor(name))
    same(brickwork.load(io.BytesIO(st.save({"x": torch_tensor(name)})))["x"], name)


@pytest.mark.parametrize("fmt", ["brickwork", "torch"])
def test_loading_onto_a_gpu(fmt, sim_cuda, monkeypatch):
    """map_location puts the new dtypes on a GPU; bfloat16 only where the GPU can hold it."""
    _, data = save_load({name: brick(name) for name in NEW}, fmt)
    got = brickwork.load(io.BytesIO(data), map_location="cuda:1")
    for name in NEW:
        assert got[name].device == brickwork.device("cuda:1")
        same(got[name].cpu(), name)
    from brickwork.device import cupy_module
    from brickwork.ops import _bf16

    monkeypatch.setitem(_bf16._GPU_BF16, id(cupy_module()), False)
    with pytest.raises(TypeError, match="bfloat16 tensors are not supported on cuda:1"):
        brickwork.load(io.BytesIO(data), map_location="cuda:1")
