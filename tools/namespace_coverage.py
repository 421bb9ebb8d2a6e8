"""How much of PyTorch's public namespace brickwork has: ``torch``, ``Tensor``, ``linalg``,
``fft``, ``special``, ``nn``, ``nn.functional``, ``nn.init``, ``nn.utils``, ``optim`` and
``optim.lr_scheduler`` (each asserted complete by tests/test_namespace.py).

Names are excluded only by *family* (a prefix or a pattern, each with its reason), never one by
one. Prints, per namespace, the coverage and the missing names; ``--fail`` exits 1 when any
name is missing (what the namespace test will assert once the namespace is complete).

Run: python tools/namespace_coverage.py [--fail] [--quiet]
"""
from __future__ import annotations

import argparse
import re
import sys

# (pattern, why): a public name matching a pattern is not expected in brickwork.
FAMILIES = [
    (r"^(q|quantize|quantized|dequantize|fake_quantize|fused_moving_avg)|quantized|qparams",
     "quantization"),
    (r"^(per_tensor|per_channel|qint|quint|qscheme|int_repr|q_)", "quantization"),
    (r"^(fx|jit|onnx|export|compiler|_dynamo|package|overrides|library|ops|classes)$",
     "graph capture, TorchScript, export and extension machinery"),
    (r"^_foreach", "fused multi-tensor kernels"),
    (r"^(cudnn|mkldnn|miopen|fbgemm|mps|xpu|mtia|hpu|npu|vulkan|xla|ipu|hip)_?",
     "vendor-kernel entry points"),
    (r"^native_", "ATen's native_* kernels"),
    (r"^sym_|^Sym", "symbolic shapes"),
    (r"^(float8|float4|uint[1-7]$|int[1-7]$|bits|bit$|complex32|chalf|quint|qint)",
     "dtypes without NumPy support"),
    (r"^(nested|masked|sparse_(bsr|bsc|csr|csc|compressed))|^(c?col|crow|row)_indices$",
     "nested, masked and compressed sparse layouts"),
    (r"^(storage|storage_type|Storage|StorageBase|TypedStorage|UntypedStorage|\w+Storage)$",
     "typed storages (a brickwork tensor holds an array, not a storage)"),
    (r"^profiler_", "profiler and CUDA-graph hooks"),
    (r"^index$", "functorch.dim's first-class dimensions (Tensor.index binds Dim objects)"),
    (r"^(Script|Graph|Node$|Block$|Value$|Use$|AliasDb|ArgumentSpec|CompleteArgumentSpec|"
     r"Argument$|Code$|CompilationUnit|ConcreteModuleType|FunctionSchema|IODescriptor|"
     r"InferredType|ErrorReport|ExecutionPlan|GraphExecutorState|LiteScriptModule|"
     r"StaticModule|TracingState|Gradient$|FileCheck|JITException|CallStack|Capsule|"
     r"DeepCopyMemoTable|DispatchKey|ExcludeDispatchKeyGuard|OperatorInfo|Tag$|"
     r"ThroughputBenchmark|Benchmark|LockingLogger|LoggerBase|NoopLogger|PyTorchFile|"
     r"(De)?[Ss]erializationStorageContext|import_ir_module|parse_ir|parse_schema|"
     r"parse_type_comment|merge_type_from_type_comment|AggregationType|BufferDict|"
     r"DisableTorchFunction|PRIVATE_OPS|USE_|TYPE_CHECKING|ModuleDict$|ParameterDict$|Type$|"
     r"unify_type_list$)|\w+Type$",
     "TorchScript IR, types and C++ internals"),
    (r"_copy$", "functionalization's view-copy ops"),
    (r"^(Container|NLLLoss2d)$", "nn classes PyTorch itself deprecates (NLLLoss2d is NLLLoss)"),
    (r"^intrinsic$", "quantization's fused intrinsic modules"),
    (r"^(BroadcastingList\d|boolean_dispatch|assert_int_or_pair)$",
     "TorchScript's annotations and dispatch helpers in nn.functional"),
    (r"^(handle_torch_function|has_torch_function\w*)$",
     "the __torch_function__ override protocol (brickwork has no subclass dispatch)"),
    (r"^scaled_(grouped_)?mm$", "float8 scaled matrix multiplies (no float8 dtypes)"),
    (r"^(distributed|multiprocessing|testing|hub|profiler|autograd\.profiler|futures|"
     r"monitor|utils|contrib|functorch|func|signal|masked|nested|mtia|xpu|mps|cpu|amp|"
     r"ao|backends|cuda|accelerator|serialization|random|return_types|types|storage|"
     r"version|torch_version|hub|overrides|special|linalg|fft|nn|optim|sparse|"
     r"distributions|quasirandom|_C|_VF|cpp|windows|torch)$",
     "sub-packages, checked separately or out of scope (windows is torch.signal.windows)"),
]
_EXCLUDE = [(re.compile(p), why) for p, why in FAMILIES]


def excluded(name: str) -> str | None:
    for pattern, why in _EXCLUDE:
        if pattern.search(name):
            return why
    return None


def public(obj) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def _foreign_module(obj) -> bool:
    # Standard-library modules PyTorch happens to import (os, sys, math...) are not its API.
    import types

    return isinstance(obj, types.ModuleType) and not obj.__name__.startswith("torch")


# Where the helpers a module imports for its own code come from (typing names, functools'
# partial, weakref's ref, math's inf): they are module furniture, not API.
_FURNITURE_MODULES = ("typing", "typing_extensions", "functools", "_functools", "weakref",
                      "_weakref", "collections.abc", "abc", "enum", "builtins")


def _not_api(obj) -> bool:
    # Docstring templates (``torch.fft.common_args`` and kin: dicts and strings of text) and
    # the ``torch`` package a submodule imported for itself are module furniture, not API.
    import types

    if isinstance(obj, (str, dict, float, bool)):
        return True
    if getattr(obj, "__module__", None) in _FURNITURE_MODULES or \
            type(obj).__module__ in ("typing", "typing_extensions"):
        return True
    return isinstance(obj, types.ModuleType) and obj.__name__ == "torch"


def compare(label: str, theirs, ours) -> tuple[int, int, list[str]]:
    want = [n for n in public(theirs)
            if excluded(n) is None and not _foreign_module(getattr(theirs, n, None))
            and not (label != "torch" and _not_api(getattr(theirs, n, None)))]
    missing = [n for n in want if not hasattr(ours, n)]
    return len(want), len(want) - len(missing), missing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fail", action="store_true", help="exit 1 if any name is missing")
    ap.add_argument("--quiet", action="store_true", help="coverage lines only")
    args = ap.parse_args()
    import torch

    import brickwork

    pairs = [("torch", torch, brickwork), ("Tensor", torch.Tensor, brickwork.Tensor),
             ("linalg", torch.linalg, getattr(brickwork, "linalg", None)),
             ("fft", torch.fft, getattr(brickwork, "fft", None)),
             ("special", torch.special, getattr(brickwork, "special", None)),
             ("nn", torch.nn, brickwork.nn),
             ("nn.functional", torch.nn.functional, brickwork.nn.functional),
             ("nn.init", torch.nn.init, brickwork.nn.init),
             ("nn.utils", torch.nn.utils, brickwork.nn.utils),
             ("optim", torch.optim, brickwork.optim),
             ("lr_scheduler", torch.optim.lr_scheduler, brickwork.optim.lr_scheduler)]
    total_missing = 0
    for label, theirs, ours in pairs:
        n, have, missing = compare(label, theirs, ours)
        total_missing += len(missing)
        print(f"{label:13s} {have:5d}/{n:<5d} ({100 * have / max(n, 1):5.1f}%)")
        if missing and not args.quiet:
            print("  missing: " + ", ".join(missing))
    return 1 if args.fail and total_missing else 0


if __name__ == "__main__":
    sys.exit(main())
