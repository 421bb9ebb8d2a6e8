"""The ``brickwork`` command: train, inspect, convert, tour, info.

Errors print on one line (``brickwork: error: ...``) and exit with status 1, or 2 for bad usage;
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import sys

from . import __version__


def _cmd_info(args) -> int:
    import platform

    import numpy as np

    from . import cuda
    from .device import cupy_module

    print(f"brickwork {__version__}")
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}")
    print(f"NumPy {np.__version__}")
    blas = _blas_name()
    print(f"BLAS {blas}")
    cp = cupy_module()
    print(f"CuPy {cp.__version__}" if cp is not None else "CuPy not installed (no GPU support; "
          "pip install brickwork[cuda12] or brickwork[cuda13])")
    n = cuda.device_count()
    print(f"devices: cpu" + "".join(f", cuda:{i} ({cuda.get_device_name(i)})" for i in range(n)))
    return 0


def _blas_name() -> str:
    try:
        from threadpoolctl import threadpool_info

        libs = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        if libs:
            lib = libs[0]
            return f"{lib.get('internal_api')} {lib.get('version')} ({lib.get('num_threads')} threads)"
    except ImportError:
        pass
    import numpy as np

    cfg = np.show_config(mode="dicts") if "mode" in np.show_config.__code__.co_varnames else {}
    try:
        return cfg["Build Dependencies"]["blas"]["name"]
    except (KeyError, TypeError):
        return "unknown"


def _cmd_tour(args) -> int:
    from .tour import run

    run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brickwork", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"brickwork {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="version, NumPy/CuPy versions, BLAS, devices found")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("tour", help="run the chapter's examples, printing code and output")
    p.set_defaults(func=_cmd_tour)
    from . import _cli_files, _cli_train

    _cli_train.add_parser(sub)
    _cli_files.add_parsers(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("brickwork: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line for users; --debug for developers
        if args.debug:
            raise
        msg = str(e).replace("\n", " ")
        print(f"brickwork: error: {type(e).__name__}: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
