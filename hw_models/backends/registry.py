"""Backends by name, and `simulate`, the one entry point that runs a `Network` on any of them.

    simulate(network, spikes, backend="numba" | "lava" | "brian2", record_layers=False, profile="loihi2")

A backend is a function `run(network, spikes, record_layers, cache) -> SimulationResult` that
gets a network already validated against the chip profile and spikes already checked
(`hw_models.backends.spikes.check_spikes`); `cache` is a dict private to that backend and
network, emptied whenever the network changes, for what is worth preparing once (the numba
core's packed arrays). Backend modules are imported on first use: Lava and Brian2 are slow
to import and most runs never need them.
"""

from __future__ import annotations

import copy
import functools
import importlib
import weakref
from pathlib import Path
from typing import Callable

import numpy as np

from hw_models.backends.result import SimulationResult
from hw_models.backends.spikes import check_spikes
from hw_models.errors import HardwareError
from hw_models.network import Network
from hw_models.profile import ChipProfile, load_profile

Backend = Callable[[Network, np.ndarray, bool, dict], SimulationResult]


def _imported(module: str) -> Backend:
    def run(network: Network, spikes: np.ndarray, record_layers: bool, cache: dict) -> SimulationResult:
        return importlib.import_module(module).simulate(network, spikes, record_layers, cache)

    return run


BACKENDS: dict[str, Backend] = {
    "numba": _imported("hw_models.backends.numba_core"),
    "lava": _imported("hw_models.backends.lava"),
    "brian2": _imported("hw_models.backends.brian2"),
}


def simulate(
    network: Network,
    spikes,
    backend: str = "numba",
    record_layers: bool = False,
    profile: ChipProfile | str = "loihi2",
) -> SimulationResult:
    """Run `spikes` (batch, n_in, T) through `network`; every sample starts from a fresh state.

    `network` is validated against `profile` first, so no backend runs a network the chip
    cannot hold.
    """
    if backend not in BACKENDS:
        raise HardwareError(f"unknown backend {backend!r}; known backends: {', '.join(BACKENDS)}")
    if not isinstance(network, Network):
        raise HardwareError(f"simulate needs a hw_models.Network, got {type(network).__name__}")
    prepared = _prepared(network)
    _validate(network, profile, prepared)
    spikes = check_spikes(network, spikes)
    return BACKENDS[backend](network, spikes, record_layers, prepared["backends"].setdefault(backend, {}))


# Per-call preparation (profile TOML parsing, validation, packing) cost more than simulating a
# small batch, so it is cached per Network object, behind a snapshot that is compared on every
# call: a network whose arrays were changed in place is prepared again, never run stale.
_PREPARED: "weakref.WeakKeyDictionary[Network, dict]" = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=16)
def _profile_by_key(name: str, modified_ns: int | None) -> ChipProfile:
    return load_profile(name)


def _load_profile(profile: ChipProfile | str | Path) -> ChipProfile:
    if isinstance(profile, ChipProfile):
        return profile
    path = Path(str(profile))
    return _profile_by_key(str(profile), path.stat().st_mtime_ns if path.is_file() else None)


def _prepared(network: Network) -> dict:
    entry = _PREPARED.get(network)
    if entry is None or not entry["snapshot"].equals(network):
        entry = {"snapshot": copy.deepcopy(network), "valid_for": {}, "backends": {}}
        _PREPARED[network] = entry
    return entry


def _validate(network: Network, profile: ChipProfile | str | Path, prepared: dict) -> None:
    chip = _load_profile(profile)
    if id(chip) not in prepared["valid_for"]:
        network.validate(chip)
        prepared["valid_for"][id(chip)] = chip  # holding it keeps its id from being reused
