"""JSON text for what studies and exports store: numpy and torch values without importing either.

One encoder, so that a study, its in-memory twin and an export write the same text for the
same value (and refuse the same things, naming what could not be stored).
"""

from __future__ import annotations

import json
import os
from typing import Any

from codesign.errors import CodesignError


def json_default(obj: Any) -> Any:
    """`json.dumps(..., default=json_default)`: arrays and tensors as lists, scalars as numbers,
    sets sorted, paths as strings."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def to_json(obj: Any, what: str, *, canonical: bool = False) -> str:
    """JSON text of `obj`; `canonical` sorts keys and drops spaces (for hashing)."""
    try:
        if canonical:
            return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=json_default)
        return json.dumps(obj, default=json_default)
    except (TypeError, ValueError) as exc:
        raise CodesignError(f"{what} cannot be stored as JSON: {exc}") from None


__all__ = ["json_default", "to_json"]
