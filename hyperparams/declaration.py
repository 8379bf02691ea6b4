"""A hyperparameter declaration (a plain dict) and the one set of rules a value must follow.

Declarations are plain dicts (`name`, `type`, `low`, `high`, `log`, `choices`, `default`,
`help`; keys that do not apply to the type are None) so that a search space can read a
component's declarations without importing the component (or torch).

The rules, written once: a bool takes only True or False (not 0/1, not "false": a typo in
a config must not silently mean something); an int refuses bools and takes a float only
when it is integral; numbers must be finite and inside [low, high]; a categorical value
must equal one of the choices and be of the same kind (True is not the choice 1).

Each check raises `error`, HyperparameterError unless the caller passes the user-facing
exception of its own package, with a message that starts with the parameter's path.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Mapping

import numpy as np

TYPES = ("float", "int", "categorical", "bool")
NUMERIC_TYPES = ("float", "int")


class HyperparameterError(ValueError):
    """A value or declaration that breaks the rules; the message names the parameter."""


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar JSON knows."""
    return value.item() if isinstance(value, np.generic) else value


def same_choice(value: Any, choice: Any) -> bool:
    """Equal and of the same kind: True does not match a choice of 1, nor 1 a choice of True."""
    if not isinstance(value, (str, numbers.Number, np.generic)):
        return False
    return _is_bool(value) == _is_bool(choice) and _plain(value) == _plain(choice)


def check_bounds(
    path: str,
    kind: str,
    low: Any,
    high: Any,
    log: Any = False,
    *,
    single_value: bool = False,
    error: type[Exception] = HyperparameterError,
) -> tuple[int | float, int | float]:
    """A numeric range: finite numbers (integers for an int), low below high, low > 0 when
    log-scaled; returned as the type's Python numbers.

    `single_value` lets low equal high: a declaration may allow one value only (a chip
    without delays has delay_max 0), while a search range needs room to search.
    """
    for bound, value in (("low", low), ("high", high)):
        if _is_bool(value) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise error(f"{path}: {bound}={value!r} must be a finite number")
        if kind == "int" and not float(value).is_integer():
            raise error(f"{path}: {bound}={value!r} must be an integer")
    if low > high or (low == high and not single_value):
        relation = "must not be above" if single_value else "must be below"
        raise error(f"{path}: low={low!r} {relation} high={high!r}")
    if not _is_bool(log):
        raise error(f"{path}: log={log!r} must be True or False")
    if log and low <= 0:
        raise error(f"{path}: a log-scaled range needs low > 0, got low={low!r}")
    cast = int if kind == "int" else float
    return cast(low), cast(high)


def check_value(
    declaration: Mapping, value: Any, path: str | None = None, error: type[Exception] = HyperparameterError
) -> Any:
    """`value` as the declared type (a plain Python value), or `error` naming `path`
    (the declaration's name unless given, e.g. `hardware.du`)."""
    path = declaration["name"] if path is None else path
    kind = declaration["type"]
    if kind == "bool":
        if _is_bool(value):
            return bool(value)
        raise error(f"{path} = {value!r} is not a bool; expected True or False")
    if kind == "categorical":
        for choice in declaration["choices"]:
            if same_choice(value, choice):
                return choice
        raise error(f"{path} = {value!r} is not one of {declaration['choices']}")
    if kind not in NUMERIC_TYPES:
        raise HyperparameterError(f"{path}: type {kind!r} is not one of {TYPES}")
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise error(f"{path} = {value!r} is not a number")
    if not math.isfinite(value):
        raise error(f"{path} = {value!r} is not finite")
    if kind == "int" and not float(value).is_integer():
        raise error(f"{path} = {value!r} is not an integer")
    number = int(value) if kind == "int" else float(value)
    low, high = declaration["low"], declaration["high"]
    if not low <= number <= high:
        raise error(f"{path} = {value!r} is outside the allowed range [{low}, {high}]")
    return number


def declare(
    name: str,
    type: str,
    default: Any,
    help: str,
    *,
    low: float | int | None = None,
    high: float | int | None = None,
    log: bool = False,
    choices: Iterable | None = None,
) -> dict:
    """One declaration, checked here so that a bad one fails when its component is defined
    rather than when a sweep first draws it; the default must obey the same rules."""
    if type not in TYPES:
        raise HyperparameterError(f"hyperparameter {name}: type {type!r} is not one of {TYPES}")
    if type in NUMERIC_TYPES:
        low, high = check_bounds(f"hyperparameter {name}", type, low, high, log, single_value=True)
    elif low is not None or high is not None or log:
        raise HyperparameterError(f"hyperparameter {name}: low, high and log apply to numbers, not to a {type}")
    if type == "categorical":
        choices = [_plain(choice) for choice in choices or ()]
        if not choices:
            raise HyperparameterError(f"hyperparameter {name}: a categorical needs a non-empty list of choices")
    elif choices is not None:
        raise HyperparameterError(f"hyperparameter {name}: choices apply to a categorical, not to a {type}")
    declaration = {
        "name": name,
        "type": type,
        "low": low,
        "high": high,
        "log": bool(log),
        "choices": choices,
        "default": None,
        "help": help,
    }
    declaration["default"] = check_value(declaration, default, f"default of {name}")
    return declaration


def resolve(
    declarations: Iterable[Mapping], given: Mapping[str, Any], owner: str, error: type[Exception] = HyperparameterError
) -> dict:
    """Every declared value (its default where none is given), checked and typed.

    Unknown names are refused, listing the known ones, because a misspelt name would
    otherwise leave its default in place and the search would tune nothing.
    """
    declarations = list(declarations)
    known = [declaration["name"] for declaration in declarations]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise error(f"{owner}: unknown hyperparameter(s) {unknown}; known ones are {known}")
    values = {}
    for declaration in declarations:
        name = declaration["name"]
        values[name] = check_value(declaration, given.get(name, declaration["default"]), f"{owner}: {name}", error)
    return values
