"""Chip profiles: a chip's limits and per-operation costs, read from TOML data files.

Every number in a profile is a table `{value = ..., unit = "...", source = "..."}` so its
provenance travels with it; a number without a source is refused. Profiles ship in
`hw_models/profiles/NAME.toml`; users select one by that name or by a path to their own file.
"""

from __future__ import annotations

import math
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


# What pricing and mapping a network read besides the limits (the [energy], [timing] and
# [static] entries are checked, with their units, by `hw_models.energy.CostTable`).
MESH_KEYS = ("cores_per_tile", "tiles_x", "tiles_y", "input_tile_x", "input_tile_y", "delay_bits_per_synapse",
             "sign_bits_mixed")
# limits that may be negative (exponents and signed mantissas); every other limit is a count
SIGNED_LIMITS = ("weight_exponent_min", "weight_exponent_max", "bias_mantissa_min", "bias_mantissa_max")
# (smallest, largest) limit pairs
LIMIT_PAIRS = (("weight_bits_min", "weight_bits_max"), ("weight_exponent_min", "weight_exponent_max"),
               ("bias_mantissa_min", "bias_mantissa_max"), ("bias_exponent_min", "bias_exponent_max"))
# limits a chip cannot have zero of
POSITIVE_LIMITS = ("cores", "neurons_per_core", "synaptic_memory_bits_per_core", "weight_bits_min",
                   "threshold_mantissa_max")


def load_profile(name_or_path: str | Path = "loihi2") -> ChipProfile:
    """Load a bundled profile by name (`loihi1`, `loihi2`) or a user's TOML file by path."""
    if isinstance(name_or_path, ChipProfile):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path).strip() or "\0" in str(name_or_path):
        raise HardwareError(f"chip profile {name_or_path!r} is not a profile name ({', '.join(available_profiles())}) "
                            "or the path of a .toml profile file")
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
    if path.is_dir():
        raise HardwareError(f"chip profile file {path} is a folder, not a file")
    if not path.is_file():
        raise HardwareError(f"chip profile file {path} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise HardwareError(f"chip profile {path} cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise HardwareError(f"chip profile {path} is not UTF-8 text (byte {error.start})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise HardwareError(f"chip profile {path} is not valid TOML: {error}") from None
    return _parse_profile(raw, path)


def check_priceable(profile: ChipProfile) -> ChipProfile:
    """A profile a sweep can price networks with: its [energy], [timing] and [static] entries
    (with their units) and the [mesh] entries mapping reads, all present."""
    from hw_models.energy import CostTable  # energy builds on profiles

    CostTable.from_profile(profile)
    for key in MESH_KEYS:
        value = profile.value("mesh", key)
        if value < 0 or not float(value).is_integer():
            raise HardwareError(f"chip profile {profile.path}: mesh.{key} = {value!r} must be a non-negative integer")
    for key in ("cores_per_tile", "tiles_x", "tiles_y"):
        if profile.value("mesh", key) < 1:
            raise HardwareError(f"chip profile {profile.path}: mesh.{key} must be at least 1")
    return profile


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
            if not math.isfinite(value):
                raise HardwareError(f"{where}: value {value!r} is not finite")
            parsed[key] = Quantity(value=value, unit=str(entry.get("unit", "")), source=str(entry["source"]))
        sections[section_name] = parsed
    limits = sections.get("limits", {})
    missing = [key for key in REQUIRED_LIMITS if key not in limits]
    if missing:
        raise HardwareError(f"chip profile {path}: [limits] lacks {', '.join(missing)}")
    for key in REQUIRED_LIMITS:
        value = limits[key].value
        if not float(value).is_integer():
            raise HardwareError(f"chip profile {path}: limits.{key} = {value!r} must be an integer")
        least = 1 if key in POSITIVE_LIMITS else None if key in SIGNED_LIMITS else 0
        if least is not None and value < least:
            raise HardwareError(f"chip profile {path}: limits.{key} = {value!r} must be at least {least}")
    for low, high in LIMIT_PAIRS:
        if limits[low].value > limits[high].value:
            raise HardwareError(f"chip profile {path}: limits.{low} = {limits[low].value!r} is above "
                                f"limits.{high} = {limits[high].value!r}")
    return ChipProfile(name=name, description=str(raw.get("description", "")), path=path, sections=sections)
