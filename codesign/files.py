"""Reading the files a user hands `codesign` (configs, deployment records): UTF-8 text in TOML
or JSON, or one error naming the file.

A config saved as UTF-16, a binary file given by mistake or a folder where a file belongs
is refused here, once, instead of surfacing as a UnicodeDecodeError from deep inside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomllib

from codesign.errors import CodesignError


def read_text(path: str | Path, what: str) -> str:
    """The file's text; `what` says what the file is for ("config file", ...)."""
    path = Path(path)
    if path.is_dir():
        raise CodesignError(f"{what} {path} is a folder, not a file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CodesignError(f"{what} {path} does not exist") from None
    except OSError as error:
        raise CodesignError(f"{what} {path} cannot be read: {error.strerror or error}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CodesignError(f"{what} {path} is not UTF-8 text (byte {error.start}: "
                            f"{data[error.start:error.start + 1]!r})") from None


def read_toml(path: str | Path, what: str) -> dict:
    try:
        return tomllib.loads(read_text(path, what))
    except tomllib.TOMLDecodeError as error:
        raise CodesignError(f"{what} {path} is not valid TOML: {error}") from None


def read_json(path: str | Path, what: str) -> Any:
    """The file's JSON; NaN and Infinity (which Python's json accepts) are refused too."""
    def refuse(constant: str):
        raise CodesignError(f"{what} {path} holds {constant}, which is not a JSON number")

    try:
        return json.loads(read_text(path, what), parse_constant=refuse)
    except json.JSONDecodeError as error:
        raise CodesignError(f"{what} {path} is not valid JSON: {error}") from None
    except RecursionError:
        raise CodesignError(f"{what} {path} is nested too deeply to read") from None
