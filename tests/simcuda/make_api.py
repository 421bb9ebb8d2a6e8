"""Write ``cupy_api.json``: the public names of an installed CuPy, for the simulated backend.

The simulated backend offers only what CuPy offers, so code that calls a NumPy function CuPy
lacks fails in CI as it would on a GPU. Run with CuPy importable (no GPU needed):
``python tests/simcuda/make_api.py``.
"""
import inspect
import json
import os

import cupy
from cupy.cuda import nccl


def parameters(cls) -> dict:
    """Each public member's parameter names (None for properties), as CuPy's NCCL wrapper
    declares them (``cupy_backends/cuda/libs/nccl.pyx``)."""
    out = {}
    for name in public(cls) + ["__init__"]:
        member = getattr(cls, name)
        try:
            out[name] = [p for p in inspect.signature(member).parameters if p != "self"]
        except (TypeError, ValueError):
            out[name] = None
    return out


def public(obj, dunder=False):
    names = dir(obj)
    if dunder:
        return sorted(n for n in names if not n.startswith("_") or n.startswith("__"))
    return sorted(n for n in names if not n.startswith("_"))


api = {
    "version": cupy.__version__,
    "top": public(cupy),
    "linalg": public(cupy.linalg),
    "fft": public(cupy.fft),
    "stride_tricks": public(cupy.lib.stride_tricks),
    "ndarray": public(cupy.ndarray, dunder=True),
    "ufunc": public(cupy.add),
    "nccl": public(nccl),
    "nccl_communicator": parameters(nccl.NcclCommunicator),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cupy_api.json")
with open(path, "w") as f:
    json.dump(api, f, indent=0)
    f.write("\n")
print(f"wrote {path} from CuPy {cupy.__version__}")
