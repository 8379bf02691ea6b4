"""Chip profiles: a chip's limits and per-operation costs, read from TOML data files.

Every number in a profile is a table `{value = ..., unit = "...", source = "..."}` so its
provenance travels with it; a number without a source is refused. Profiles ship in
`hw_models/profiles/NAME.toml`; users select one by that name or by a path to their own file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import tomllib

from hw_models.errors import HardwareError

PROFILE_DIR = Path(__file__).parent / "profiles"

# Limits every profile must define; each is checked by `Network.validate`.
REQUIRED_LIMITS = (
    "cores",
    "neurons_per_core",
    "synaptic_memory_bits_per_core",
    "weight_bits_min",
    "weight_bits_max",
    "weight_exponent_min",
    "weight_exponent_max",
    "delay_max",
    "decay_max",
    "threshold_mantissa_max",
    "bias_mantissa_min",
    "bias_mantissa_max",
    "bias_exponent_min",
    "bias_exponent_max",
    "refractory_max",
)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    source: str


@dataclass(frozen=True)
class ChipProfile:
    """A chip: its limits (`limits[...]`) and any cost sections (`energy`, `timing`, `mesh`)."""

    name: str
    description: str
    path: Path
    sections: Mapping[str, Mapping[str, Quantity]] = field(repr=False)

    def section(self, name: str) -> Mapping[str, Quantity]:
        if name not in self.sections:
            raise HardwareError(f"profile {self.name!r} ({self.path}) has no [{name}] section")
        return self.sections[name]

    def value(self, section: str, key: str) -> float:
        entries = self.section(section)
        if key not in entries:
            raise HardwareError(f"profile {self.name!r} ({self.path}) has no {section}.{key}")
        return entries[key].value

    def limit(self, key: str) -> int:
        return int(self.value("limits", key))


def available_profiles() -> list[str]:
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path = "loihi2") -> ChipProfile:
    """Load a bundled profile by name (`loihi1`, `loihi2`) or a user's TOML file by path."""
    if isinstance(name_or_path, ChipProfile):
        return name_or_path
    text = str(name_or_path)
    candidate = Path(text)
    if candidate.suffix == ".toml" or candidate.exists():
        path = candidate
    else:
        path = PROFILE_DIR / f"{text}.toml"
        if not path.exists():
            raise HardwareError(
                f"unknown chip profile {text!r}: known profiles are {', '.join(available_profiles())}, "
                "or give the path of a .toml profile file"
            )
    if not path.is_file():
        raise HardwareError(f"chip profile file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise HardwareError(f"chip profile {path} is not valid TOML: {error}") from None
    return _parse_profile(raw, path)


def _parse_profile(raw: Mapping[str, Any], path: Path) -> ChipProfile:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise HardwareError(f"chip profile {path}: missing top-level string key 'name'")
    sections: dict[str, dict[str, Quantity]] = {}
    for section_name, entries in raw.items():
        if not isinstance(entries, Mapping):
            continue
        parsed = {}
        for key, entry in entries.items():
            where = f"{path}: {section_name}.{key}"
            if not isinstance(entry, Mapping) or "value" not in entry:
                raise HardwareError(f"{where} must be a table {{value = ..., unit = ..., source = ...}}")
            if not str(entry.get("source", "")).strip():
                raise HardwareError(f"{where} has no 'source': every profile number must say where it comes from")
            value = entry["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise HardwareError(f"{where}: value must be a number, got {value!r}")
            parsed[key] = Quantity(value=value, unit=str(entry.get("unit", "")), source=str(entry["source"]))
        sections[section_name] = parsed
    missing = [key for key in REQUIRED_LIMITS if key not in sections.get("limits", {})]
    if missing:
        raise HardwareError(f"chip profile {path}: [limits] lacks {', '.join(missing)}")
    return ChipProfile(name=name, description=str(raw.get("description", "")), path=path, sections=sections)
