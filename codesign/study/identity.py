"""What makes two studies the same study: the hash of their config, minus what may change on resume.

Identity is sha256 of the canonical JSON of the config without the top-level keys in
``CONFIG_HASH_EXCLUDED_KEYS`` ("budget": more trials or a longer timeout continue the same
study, they do not start a new one).
"""

from __future__ import annotations

import hashlib

from codesign.errors import CodesignError
from codesign.study.codec import to_json

# Top-level config keys that do not change what a study *is*: changing them resumes.
CONFIG_HASH_EXCLUDED_KEYS = ("budget",)


class StudyMismatchError(CodesignError):
    """A study file holds a different study (config or seed) than the one asked for."""


def _hashed_part(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in CONFIG_HASH_EXCLUDED_KEYS}


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of `config` without CONFIG_HASH_EXCLUDED_KEYS."""
    if not isinstance(config, dict):
        raise CodesignError(f"study config must be a dict, got {type(config).__name__}")
    text = to_json(_hashed_part(config), "study config", canonical=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_differences(old: dict, new: dict) -> list[str]:
    """Top-level keys (outside the excluded ones) whose canonical JSON differs."""
    a, b = _hashed_part(old), _hashed_part(new)
    diff = []
    for key in sorted(set(a) | set(b), key=str):
        if key not in a or key not in b:
            diff.append(key)
        elif to_json(a[key], key, canonical=True) != to_json(b[key], key, canonical=True):
            diff.append(key)
    return diff


__all__ = ["CONFIG_HASH_EXCLUDED_KEYS", "StudyMismatchError", "config_differences", "config_hash"]
