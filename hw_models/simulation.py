"""Run a `Network` on spike tensors with one of several backends; one result type for all.

    simulate(network, spikes, backend="numba" | "lava" | "brian2", record_layers=False)

Time alignment (identical for every backend): input[:, :, t] is injected at step t (as Lava's
`io.source.RingBuffer` does), and layer l's spikes at index t are what a sink on its `s_out`
records at step t. Each synapse costs one step plus its delay, so with L layers and no delays
an input spike at t can first show in the output at t + L; `pipeline_delay_steps` gives the
general value, for callers that pad inputs with silent steps to flush the network.

Activity counts (`hw_models.activity.ActivityCounts`, per sample and layer, over the T steps
simulated; layer l = the synapses into layer l plus its neurons):

- input_spikes: spikes reaching layer l's synapses (input spikes for l = 0, else layer
  l-1's output spikes), in steps 0..T-1.
- synaptic_ops: (spike, synapse) events whose effective weight (after Lava's clip and
  truncation) is non-zero: the sum over input spikes of their fan-out of non-zero weights.
- active_neuron_updates: neuron-steps where the neuron has something to compute: u or v
  non-zero at the start of the step, or non-zero synaptic input arriving that step (the
  int32 dendritic sum Lava hands the LIF), or a non-zero bias. A neuron-step that is not
  active provably leaves the neuron at u = v = 0 without a spike.
- inactive_neuron_updates: n_neurons * T - active_neuron_updates.
- output_spikes: spikes emitted by layer l's neurons.
- delayed_events: the synaptic_ops whose synapse has a delay > 0 (queued in DelayDense).
"""

from __future__ import annotations

import copy
import functools
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw_models.activity import COUNT_FIELDS, ActivityCounts
from hw_models.errors import HardwareError
from hw_models.network import Network
from hw_models.profile import ChipProfile, load_profile

BACKENDS = ("numba", "lava", "brian2")


@dataclass(frozen=True)
class SimulationResult:
    """What a backend returns: output spikes, optionally every layer's spikes, activity counts."""

    output: np.ndarray  # (batch, n_out, T) uint8
    layers: list[np.ndarray] | None  # per layer (batch, n_l, T) uint8 when record_layers, else None
    counts: ActivityCounts
    backend: str

    @property
    def timesteps(self) -> int:
        return self.output.shape[2]


def pipeline_delay_steps(network: Network) -> int:
    """Steps until every effect of an input spike has reached the output: one per layer plus its max delay."""
    return sum(1 + layer.max_delay for layer in network.layers)


def check_spikes(network: Network, spikes) -> np.ndarray:
    """Validate an input spike tensor (batch, n_in, T) of 0/1 values; return it as contiguous uint8."""
    array = np.asarray(spikes)
    if array.ndim != 3:
        raise HardwareError(f"input spikes must be a 3-D (batch, n_in, T) tensor, got shape {array.shape}")
    batch, n_in, steps = array.shape
    if n_in != network.n_inputs:
        raise HardwareError(
            f"input spikes have {n_in} channels (shape {array.shape}) but the network takes {network.n_inputs} inputs"
        )
    if steps < 1:
        raise HardwareError(f"input spikes must have at least one timestep (T >= 1), got T={steps}")
    if array.dtype.kind not in "biuf":
        raise HardwareError(f"input spikes must be numeric 0/1 values, got dtype {array.dtype}")
    if array.dtype.kind != "b" and array.size and not np.all((array == 0) | (array == 1)):
        bad = array[(array != 0) & (array != 1)].flat[0]
        raise HardwareError(
            f"input spikes must be binary (0 or 1); found the value {bad!r} (dtype {array.dtype}); graded spikes are not supported"
        )
    return np.ascontiguousarray(array, dtype=np.uint8)


def counts_from_table(table: np.ndarray, timesteps: int) -> ActivityCounts:
    """(batch, n_layers, 6) int64 -> ActivityCounts (columns in COUNT_FIELDS order)."""
    return ActivityCounts(**{name: table[:, :, column] for column, name in enumerate(COUNT_FIELDS)}, timesteps=timesteps)


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
    _validate(network, profile)
    spikes = check_spikes(network, spikes)
    if backend == "numba":
        return _simulate_numba(network, spikes, record_layers)
    if backend == "lava":
        from hw_models.lava_backend import simulate_lava

        return simulate_lava(network, spikes, record_layers)
    from hw_models.brian2_backend import simulate_brian2

    return simulate_brian2(network, spikes, record_layers)


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
        entry = {"snapshot": copy.deepcopy(network), "valid_for": {}, "packed": {}}
        _PREPARED[network] = entry
    return entry


def _validate(network: Network, profile: ChipProfile | str | Path) -> None:
    chip = _load_profile(profile)
    entry = _prepared(network)
    if id(chip) not in entry["valid_for"]:
        network.validate(chip)
        entry["valid_for"][id(chip)] = chip  # holding it keeps its id from being reused


def _simulate_numba(network: Network, spikes: np.ndarray, record_layers: bool) -> SimulationResult:
    from hw_models.core import pack_network, run_packed

    cache = _prepared(network)["packed"]
    if record_layers not in cache:
        cache[record_layers] = pack_network(network, record_layers)
    recorded, table = run_packed(cache[record_layers], spikes)
    layers = None
    if record_layers:
        bounds = np.cumsum([0] + [layer.n_out for layer in network.layers])
        layers = [recorded[:, start:stop] for start, stop in zip(bounds, bounds[1:])]
        output = layers[-1]
    else:
        output = recorded
    return SimulationResult(output=output, layers=layers, counts=counts_from_table(table, spikes.shape[2]), backend="numba")
