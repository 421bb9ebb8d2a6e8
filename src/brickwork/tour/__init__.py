"""The chapter's code, section by section, as runnable scripts (``brickwork tour`` runs them).

Each script is the chapter's PyTorch code with only the imports changed; ``# %%`` lines split it
into the cells that the tour prints with their output.
"""
from __future__ import annotations

import contextlib
import io
import os

SECTIONS = [
    ("s01_layers_and_blocks.py", "Layers and blocks"),
    ("s02_parameters.py", "Parameter management"),
    ("s03_lazy_init.py", "Deferred initialization"),
    ("s04_custom_layers.py", "Custom layers"),
    ("s05_files.py", "Reading and writing files"),
    ("s06_gpu.py", "GPUs"),
]


def cells(path: str) -> list[str]:
    """The ``# %%`` cells of a script, without their leading marker line."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    parts = text.split("# %%\n")
    return [p.strip("\n") for p in parts[1:] if p.strip()]


def run(out=print) -> None:
    """Run every section's cells in one namespace per section, printing code then output."""
    here = os.path.dirname(__file__)
    cwd = os.getcwd()
    try:
        for filename, title in SECTIONS:
            out(f"\n=== {title} ({filename}) ===")
            namespace: dict = {"__name__": "__tour__"}
            for cell in cells(os.path.join(here, filename)):
                out("\n".join(f"  | {line}".rstrip() for line in cell.splitlines()))
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    exec(compile(cell, filename, "exec"), namespace)  # noqa: S102 - our own code
                if buf.getvalue():
                    out(buf.getvalue().rstrip("\n"))
    finally:
        os.chdir(cwd)
