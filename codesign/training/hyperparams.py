"""Hyperparameter declarations as plain dicts, and the one check every trainer applies to a params dict.

Declarations are dicts (`name`, `type`, `low`, `high`, `log`, `choices`, `default`, `help`) so
that the search space can read them without importing training code (or torch).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Mapping

import numpy as np

from codesign.errors import CodesignError

TYPES = ("float", "int", "categorical", "bool")


def declare(
    name: str,
    type: str,
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    log: bool = False,
    choices: Iterable | None = None,
) -> dict:
    if type not in TYPES:
        raise ValueError(f"hyperparameter {name}: unknown type {type!r}")
    return {
        "name": name,
        "type": type,
        "low": low,
        "high": high,
        "log": bool(log),
        "choices": list(choices) if choices is not None else None,
        "default": default,
        "help": help,
    }


def _coerce(declaration: dict, value: Any, where: str) -> Any:
    name, kind = declaration["name"], declaration["type"]
    label = f"{where} {name}={value!r}"
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, numbers.Integral) and value in (0, 1):
            return bool(value)
        raise CodesignError(f"{label} must be a boolean")
    if kind == "categorical":
        choices = declaration["choices"]
        if value not in choices:
            raise CodesignError(f"{label} is not one of {choices}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise CodesignError(f"{label} must be a number")
    if not math.isfinite(float(value)):
        raise CodesignError(f"{label} must be finite")
    if kind == "int":
        if not float(value).is_integer():
            raise CodesignError(f"{label} must be an integer")
        value = int(value)
    else:
        value = float(value)
    low, high = declaration["low"], declaration["high"]
    if (low is not None and value < low) or (high is not None and value > high):
        raise CodesignError(f"{label} is outside its range [{low}, {high}]")
    return value


def resolve(declarations: list[dict], params: Mapping[str, Any], where: str) -> dict:
    """Defaults filled in, every value type- and range-checked; unknown names are refused."""
    known = {declaration["name"]: declaration for declaration in declarations}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise CodesignError(f"unknown {where} {unknown[0]!r}; known: {', '.join(known)}")
    resolved = {}
    for name, declaration in known.items():
        value = params.get(name, declaration["default"])
        resolved[name] = _coerce(declaration, value, where)
    return resolved
