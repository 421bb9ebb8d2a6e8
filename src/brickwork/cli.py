"""The ``brickwork`` command: train, inspect, convert, tour, info, run.

Every failure prints one line, ``brickwork <command>: error: <what>``, naming the file or the
option at fault, and exits with status

- 2 for bad usage: unknown commands or options, malformed or out-of-range values (``--lr nan``,
  ``--epochs 0``), values this machine cannot provide (``--device cuda:3`` without that GPU,
  ``--data full`` without the full data set) and options that contradict each other
  (``convert`` onto its own input, ``--resume`` without ``--out``);
- 1 for failures while doing the work: a missing, unreadable, damaged or foreign file or
  folder, an output that cannot be written, training whose loss stops being finite, no MPI
  installed for ``run``.

``brickwork run`` itself exits with its script's status (the first failing rank's).

Warnings also print on one line (``brickwork <command>: warning: ...``). ``--debug`` shows the
traceback instead of the one-line error.
"""
from __future__ import annotations

import argparse
import sys
import warnings

from . import __version__


class UsageError(Exception):
    """A command line that cannot work as given (exit status 2); the message names the option."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line (argparse prints the usage block too)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def int_at_least(minimum: int, words: str):
    """An argparse ``type`` reading an integer of at least ``minimum`` (``words`` names it)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {words}, got {value}")
        return value

    return parse


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
    print("devices: cpu" + "".join(f", cuda:{i} ({cuda.get_device_name(i)})" for i in range(n)))
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


def _cmd_run(args) -> int:
    from .distributed.run import launch

    return launch(args.nproc, args.script, args.script_args, module=args.module)


def _add_run_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="run a script on N processes under mpiexec, like torchrun",
        description="Run SCRIPT on N processes under mpiexec with torchrun's variables (RANK, "
                    "LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) set, "
                    "so scripts written for torchrun run unchanged. Exits with the script's "
                    "status.")
    # torchrun spells it --nproc-per-node (and --nproc_per_node); -n is mpiexec's name.
    p.add_argument("-n", "--nproc-per-node", "--nproc_per_node", dest="nproc", metavar="N",
                   type=int_at_least(1, "a positive integer"), default=1,
                   help="number of processes (default 1)")
    p.add_argument("-m", "--module", action="store_true",
                   help="SCRIPT is a module name, run as 'python -m SCRIPT'")
    p.add_argument("script", metavar="SCRIPT", help="the Python script (or module) to run")
    p.add_argument("script_args", metavar="ARGS", nargs=argparse.REMAINDER,
                   help="arguments passed on to SCRIPT")
    p.set_defaults(func=_cmd_run)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="brickwork", description=__doc__.splitlines()[0])
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
    _add_run_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``brickwork`` command with ``argv`` (``sys.argv[1:]`` by default).

    Returns:
        The exit status: 0 on success, 1 when the work failed, 2 for bad usage, 130 when
        interrupted. Argument errors exit through ``SystemExit(2)``, as argparse does.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"brickwork {args.command}"
    with warnings.catch_warnings():
        # One line per warning, like errors (the default format adds the source line).
        warnings.showwarning = lambda message, category, *_, **__: print(
            f"{prog}: warning: {_one_line(str(message))}", file=sys.stderr)
        try:
            return args.func(args)
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
        except Exception as e:  # one line for users; --debug for developers
            if args.debug:
                raise
            print(f"{prog}: error: {_describe(e)}", file=sys.stderr)
            return 2 if isinstance(e, UsageError) else 1


def _describe(e: BaseException) -> str:
    """The error's message on one line; the type name only where the message needs it."""
    msg = _one_line(str(e))
    if isinstance(e, (UsageError, OSError, RuntimeError, ValueError)) and msg:
        return msg  # these messages name the file or option themselves
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
