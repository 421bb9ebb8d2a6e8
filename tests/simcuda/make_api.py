"""Write ``cupy_api.json``: the public names of an installed CuPy, for the simulated backend.

The simulated backend offers only what CuPy offers, so code that calls a NumPy function CuPy
lacks fails in CI as it would on a GPU. Run with CuPy importable (no GPU needed):
``python tests/simcuda/make_api.py``.
"""
import json
import os

import cupy


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
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cupy_api.json")
with open(path, "w") as f:
    json.dump(api, f, indent=0)
    f.write("\n")
print(f"wrote {path} from CuPy {cupy.__version__}")
