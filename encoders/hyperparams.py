"""Hyperparameter declarations as plain dicts, and their validation.

Declarations are plain dicts (not classes) so that `codesign` can turn them into its own
search-space types without `encoders` importing anything from above it. Every declaration
carries all keys; the ones that do not apply to its type are None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from encoders.errors import EncodingError

HYPERPARAMETER_TYPES = ("float", "int", "categorical", "bool")


def declare(
    name: str,
    type: str,
    *,
    default: Any,
    help: str,
    low: float | int | None = None,
    high: float | int | None = None,
    log: bool = False,
    choices: list | None = None,
) -> dict:
    """One hyperparameter declaration (the dict layout `codesign` reads)."""
    if type not in HYPERPARAMETER_TYPES:
        raise ValueError(f"hyperparameter {name!r}: type {type!r} is not one of {HYPERPARAMETER_TYPES}")
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


def describe_range(decl: dict) -> str:
    """The allowed values of a declaration, in words, for error messages."""
    if decl["type"] == "categorical":
        return f"one of {decl['choices']}"
    if decl["type"] == "bool":
        return "True or False"
    return f"range [{decl['low']}, {decl['high']}] ({decl['type']})"


def _coerce(owner: str, decl: dict, value: Any) -> Any:
    """Turns one value into the declared Python type (JSON-serializable), or raises."""
    name, kind = decl["name"], decl["type"]
    where = f"{owner}: hyperparameter {name!r} = {value!r}"
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise EncodingError(f"{where} is not a bool; expected True or False")
    if kind == "categorical":
        if isinstance(value, (str, int, float, np.generic)):
            for choice in decl["choices"]:
                if value == choice:
                    return choice
        raise EncodingError(f"{where} is not allowed; expected {describe_range(decl)}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EncodingError(f"{where} is not a number; expected {describe_range(decl)}")
    if kind == "int":
        if isinstance(value, (float, np.floating)):
            if not float(value).is_integer():
                raise EncodingError(f"{where} is not an integer; expected {describe_range(decl)}")
        number: int | float = int(value)
    else:
        number = float(value)
        if not math.isfinite(number):
            raise EncodingError(f"{where} is not finite; expected {describe_range(decl)}")
    if not decl["low"] <= number <= decl["high"]:
        raise EncodingError(f"{where} is out of range; expected {describe_range(decl)}")
    return number


def validate_params(owner: str, declarations: list[dict], given: dict) -> dict:
    """Defaults filled in, every value checked against its declaration.

    Unknown names are rejected (listing the known ones) because a misspelt key would
    otherwise silently fall back to its default and the search would tune nothing.
    """
    known = [decl["name"] for decl in declarations]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise EncodingError(
            f"{owner}: unknown hyperparameter(s) {unknown}; known ones are {known}"
        )
    values = {}
    for decl in declarations:
        value = given.get(decl["name"], decl["default"])
        values[decl["name"]] = _coerce(owner, decl, value)
    return values
