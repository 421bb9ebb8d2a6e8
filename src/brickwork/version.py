"""``brickwork.version``: the package version and what brickwork runs on.

``__version__`` is a :class:`TorchVersion`, a ``str`` that compares as a version number with
strings and tuples (``brickwork.__version__ >= "0.1"``, ``>= (0, 1)``), as PyTorch's does.

``cuda`` is the CUDA runtime version of the CuPy that brickwork uses for GPUs (``"12.4"``), or
None without a usable CuPy; PyTorch's is the CUDA version it was compiled with, which brickwork
does not have. ``hip`` is always None (no ROCm backend) and ``debug`` False. ``git_version`` is
``"Unknown"``: PyTorch's value for a build made outside a git checkout, which is brickwork's
case as an installed package.

See: torch.version.
"""
from __future__ import annotations

import re

from . import __version__ as _package_version

__all__ = ["__version__", "debug", "cuda", "git_version", "hip", "TorchVersion"]

# PEP 440 versions (the pattern ``packaging.version`` uses), so no dependency is needed.
_PATTERN = re.compile(
    r"""^\s*v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$""",
    re.VERBOSE | re.IGNORECASE)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


def _version_key(text: str):
    """The ordering key of a PEP 440 version (packaging's ``_cmpkey``), or None if invalid.

    Each optional part is encoded as a tuple whose first item places "absent" before or after
    every present value: a release with no pre-release sorts after its pre-releases, but a
    bare ``.dev`` release sorts before them; a post-release sorts after its release.
    """
    m = _PATTERN.match(text)
    if m is None:
        return None
    release = [int(p) for p in m["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:  # 1.0 == 1.0.0
        release.pop()
    post_n = m["post_n1"] or m["post_n2"] or (0 if m["post_l"] else None)
    has_dev = m["dev_l"] is not None
    if m["pre_l"]:
        pre = (0, _PRE_RANK[m["pre_l"].lower()], int(m["pre_n"] or 0))
    elif post_n is None and has_dev:
        pre = (-1,)  # 1.0.dev0 < 1.0a0
    else:
        pre = (1,)
    post = (-1,) if post_n is None else (0, int(post_n))
    dev = (0, int(m["dev_n"] or 0)) if has_dev else (1,)
    if m["local"] is None:
        local = (-1,)
    else:  # numeric segments sort after alphanumeric ones
        local = (0, tuple((1, int(s), "") if s.isdigit() else (0, 0, s.lower())
                          for s in re.split(r"[-_.]", m["local"])))
    return (int(m["epoch"] or 0), tuple(release), pre, post, dev, local)


class TorchVersion(str):
    """A version string that compares as a version with strings, tuples and versions.

    ``"0.10" > "0.9"`` as versions, and ``(0, 1)`` means ``"0.1"``. A string that is not a
    valid version is compared as a plain string; other types raise TypeError.

    See: torch.torch_version.TorchVersion.
    """

    def _other_key(self, other):
        if isinstance(other, str):
            return _version_key(other)
        if hasattr(other, "release") and hasattr(other, "public"):  # packaging's Version
            return _version_key(str(other))
        if isinstance(other, (tuple, list)):
            return _version_key(".".join(str(item) for item in other))
        return None

    def _compare(self, other, method: str):
        mine, theirs = _version_key(self), self._other_key(other)
        if mine is None or theirs is None:  # not versions: compare as plain strings
            return getattr(str, method)(self, other)
        return getattr(mine, method)(theirs)

    def __lt__(self, other):
        return self._compare(other, "__lt__")

    def __le__(self, other):
        return self._compare(other, "__le__")

    def __gt__(self, other):
        return self._compare(other, "__gt__")

    def __ge__(self, other):
        return self._compare(other, "__ge__")

    def __eq__(self, other):
        return self._compare(other, "__eq__")

    def __ne__(self, other):
        result = self._compare(other, "__eq__")
        return result if result is NotImplemented else not result

    __hash__ = str.__hash__


__version__ = TorchVersion(_package_version)
hip = None
debug = False
git_version = "Unknown"


def __getattr__(name: str):
    # ``cuda`` is looked up on first use: finding it imports CuPy, which ``import brickwork``
    # avoids.
    if name == "cuda":
        from .device import cupy_module

        cp = cupy_module()
        if cp is None:
            return None
        v = int(cp.cuda.runtime.runtimeGetVersion())  # e.g. 12040 for CUDA 12.4
        return f"{v // 1000}.{v % 1000 // 10}"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
