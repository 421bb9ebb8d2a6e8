"""``nn.factory_kwargs``: the canonical ``device``/``dtype``/``memory_format`` kwargs of a layer."""
from __future__ import annotations

__all__ = ["factory_kwargs"]


def factory_kwargs(kwargs: dict | None) -> dict:
    """Return a canonicalized dict of factory kwargs, raising on unexpected keys.

    ``kwargs`` may hold ``device``, ``dtype``, ``memory_format`` and a ``factory_kwargs`` dict
    that names them explicitly (for signatures where ``dtype`` already means something else).

    Example:
        >>> nn.factory_kwargs({"dtype": brickwork.float64, "factory_kwargs": {"device": "cpu"}})
        {'device': 'cpu', 'dtype': brickwork.float64}

    See: torch.nn.factory_kwargs.
    """
    if kwargs is None:
        return {}
    simple_keys = {"device", "dtype", "memory_format"}
    expected_keys = simple_keys | {"factory_kwargs"}
    if not kwargs.keys() <= expected_keys:
        raise TypeError(f"unexpected kwargs {kwargs.keys() - expected_keys}")
    # Copy so that the caller's dicts are never modified.
    r = dict(kwargs.get("factory_kwargs", {}))
    for k in simple_keys:
        if k in kwargs:
            if k in r:
                raise TypeError(f"{k} specified twice, in **kwargs and in factory_kwargs")
            r[k] = kwargs[k]
    return r
