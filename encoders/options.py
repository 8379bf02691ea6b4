"""Checks for dataset loader options: one error naming the dataset, option, value and range."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from encoders.errors import EncodingError


def int_option(dataset: str, name: str, value, low: int, high: int | None = None) -> int:
    bounds = f"[{low}, {high if high is not None else 'inf'}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise EncodingError(f"dataset {dataset!r}: option {name!r} = {value!r} must be an int in range {bounds}")
    if value < low or (high is not None and value > high):
        raise EncodingError(f"dataset {dataset!r}: option {name!r} = {value!r} is out of range {bounds}")
    return int(value)


def float_option(dataset: str, name: str, value, low: float, high: float, *, low_open: bool = False) -> float:
    bounds = f"{'(' if low_open else '['}{low}, {high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EncodingError(f"dataset {dataset!r}: option {name!r} = {value!r} must be a number in range {bounds}")
    value = float(value)
    if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        raise EncodingError(f"dataset {dataset!r}: option {name!r} = {value!r} is out of range {bounds}")
    return value


def path_option(dataset: str, name: str, value, *, required: bool = True, kind: str = "any") -> Path | None:
    """An existing path (`kind` "file", "dir", or "any": a file or a directory); a missing one is named
    in the error (the usual first-run mistake)."""
    if value is None:
        if required:
            raise EncodingError(f"dataset {dataset!r}: option {name!r} is required (a file or directory path)")
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip() or "\0" in str(value):
        raise EncodingError(f"dataset {dataset!r}: option {name!r} = {value!r} must be a path")
    path = Path(value).expanduser()
    if not path.exists():
        raise EncodingError(f"dataset {dataset!r}: {name} file not found: {str(path)!r}")
    if kind == "file" and not path.is_file():
        raise EncodingError(f"dataset {dataset!r}: {name} {str(path)!r} is not a file")
    if kind == "dir" and not path.is_dir():
        raise EncodingError(f"dataset {dataset!r}: {name} {str(path)!r} is not a folder")
    return path
