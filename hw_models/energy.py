"""Energy and latency per inference: activity counts priced with a chip profile on a mapping.

Dynamic energy is a sum of counted events times the profile's energy per event: synaptic
ops, active and inactive neuron updates, spike deliveries (one per destination core) and
tile hops (east-west and north-south priced apart), and delayed events. Static energy is
the leakage of the occupied cores over the inference's run time (unused cores are taken to
be power-gated), so it grows with both cores and latency.

A timestep lasts as long as its busiest core (synaptic ops plus neuron updates, the
layer's counts spread over its cores in proportion to their neurons and evenly over the
steps), plus the longest route's mesh latency, plus a barrier sync whose time grows
linearly from one tile to the whole mesh (Davies 2018 quotes its two ends). Latency is
timesteps x step time. Counts are per-inference totals, so per-step load is an average:
bursty activity makes real steps slower than this.

Graded messages (sigma-delta networks, counts with `payload_bits`) are delivered and routed like
binary spikes (one message each: the payload rides in the same packet), and each synaptic op they
cause costs the profile's `energy.graded_synaptic_op` on top of `synaptic_op` (the weight is
multiplied by the payload instead of added). A profile without that price (Loihi 1, which has no
graded spikes) refuses graded counts.

Not priced: the last layer's output spikes leaving the chip, host I/O and the x86 cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hw_models.activity import ActivityCounts
from hw_models.backends import simulate
from hw_models.errors import HardwareError
from hw_models.mapping import Mapping, map_network
from hw_models.network import Network
from hw_models.profile import ChipProfile

# Unit conversions (definitions, not physical constants) into pJ, ns and mW.
ENERGY_UNITS = {"fJ": 1e-3, "pJ": 1.0, "nJ": 1e3, "uJ": 1e6}
TIME_UNITS = {"ps": 1e-3, "ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
POWER_UNITS = {"uW": 1e-3, "mW": 1.0, "W": 1e3}
PJ_PER_UJ = 1e6
NS_PER_US = 1e3

@dataclass(frozen=True)
class CostTable:
    """A profile's per-event prices, converted to pJ, ns and mW (the unit strings are checked)."""

    synaptic_op_pj: float
    neuron_active_pj: float
    neuron_inactive_pj: float
    spike_within_tile_pj: float
    hop_east_west_pj: float
    hop_north_south_pj: float
    delayed_event_pj: float
    synaptic_op_ns: float
    neuron_active_ns: float
    neuron_inactive_ns: float
    spike_within_tile_ns: float
    hop_east_west_ns: float
    hop_north_south_ns: float
    barrier_min_ns: float
    barrier_max_ns: float
    core_leakage_mw: float

    @classmethod
    def from_profile(cls, profile: ChipProfile) -> "CostTable":
        def get(section: str, key: str, units: dict[str, float]) -> float:
            quantity = profile.section(section).get(key)
            if quantity is None:
                raise HardwareError(f"profile {profile.name!r} ({profile.path}) has no {section}.{key}")
            if quantity.unit not in units:
                raise HardwareError(
                    f"profile {profile.path}: {section}.{key} has unit {quantity.unit!r}; "
                    f"expected one of {', '.join(units)}"
                )
            if quantity.value < 0:
                raise HardwareError(f"profile {profile.path}: {section}.{key} = {quantity.value} must not be negative")
            return float(quantity.value) * units[quantity.unit]

        energy = lambda key: get("energy", key, ENERGY_UNITS)  # noqa: E731
        time = lambda key: get("timing", key, TIME_UNITS)  # noqa: E731
        return cls(
            synaptic_op_pj=energy("synaptic_op"),
            neuron_active_pj=energy("neuron_update_active"),
            neuron_inactive_pj=energy("neuron_update_inactive"),
            spike_within_tile_pj=energy("spike_within_tile"),
            hop_east_west_pj=energy("tile_hop_east_west"),
            hop_north_south_pj=energy("tile_hop_north_south"),
            delayed_event_pj=energy("delayed_event"),
            synaptic_op_ns=time("synaptic_op"),
            neuron_active_ns=time("neuron_update_active"),
            neuron_inactive_ns=time("neuron_update_inactive"),
            spike_within_tile_ns=time("spike_within_tile"),
            hop_east_west_ns=time("tile_hop_east_west"),
            hop_north_south_ns=time("tile_hop_north_south"),
            barrier_min_ns=time("barrier_sync_min"),
            barrier_max_ns=time("barrier_sync_max"),
            core_leakage_mw=get("static", "core_leakage_power", POWER_UNITS),
        )


@dataclass(frozen=True)
class EnergyReport:
    """Costs of one inference, mean (and spread) over the samples the counts came from."""

    profile: str
    samples: int
    latency_steps: int
    energy_per_inference_uj: float
    energy_per_inference_uj_std: float
    dynamic_uj: float
    static_uj: float
    energy_by_kind_uj: dict[str, float]
    layers: list[dict]
    latency_us: float
    latency_us_std: float
    step_time_us: float
    synaptic_ops: float
    synaptic_ops_std: float
    spikes: float
    spikes_std: float
    input_spikes: float
    spike_messages: float
    tile_hops: float
    cores: int
    cores_available: int
    tiles_used: int
    neurons_per_core: int
    fits: bool
    reason: str
    per_sample_energy_uj: tuple[float, ...] = field(repr=False)
    per_sample_latency_us: tuple[float, ...] = field(repr=False)
    graded_messages: float = 0.0  # graded networks: messages arriving at synapses per inference (all layers)
    payload_bits: float = 0.0  # graded networks: their payload bits per inference
    synaptic_ops_per_message: float = 0.0  # graded networks: synaptic ops / graded messages

    @property
    def energy_by_layer_uj(self) -> list[float]:
        return [layer["energy_uj"] for layer in self.layers]

    def objectives(self) -> dict[str, float]:
        """The numbers the optimizer trades against accuracy."""
        return {
            "energy_per_inference_uj": self.energy_per_inference_uj,
            "latency_us": self.latency_us,
            "latency_steps": float(self.latency_steps),
            "cores": float(self.cores),
        }

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["per_sample_energy_uj"] = list(self.per_sample_energy_uj)
        data["per_sample_latency_us"] = list(self.per_sample_latency_us)
        data["energy_by_kind_uj"] = dict(self.energy_by_kind_uj)
        data["layers"] = [dict(layer) for layer in self.layers]
        return data


def estimate_energy(counts: ActivityCounts, mapping: Mapping) -> EnergyReport:
    """Price `counts` (from any backend) on `mapping` with the mapping's chip profile."""
    if counts.n_layers != mapping.n_layers:
        raise HardwareError(
            f"activity counts have {counts.n_layers} layers but the mapped network has {mapping.n_layers}"
        )
    if counts.batch < 1:
        raise HardwareError("activity counts hold no samples: need at least one inference to price")
    costs = CostTable.from_profile(mapping.profile)
    layers = mapping.layers
    messages = np.array([layer.messages_per_spike for layer in layers])
    hops_ew = np.array([layer.hops_east_west_per_spike for layer in layers])
    hops_ns = np.array([layer.hops_north_south_per_spike for layer in layers])

    # Dynamic energy, pJ, (batch, n_layers) per kind.
    dynamic = {
        "synaptic_ops": counts.synaptic_ops * costs.synaptic_op_pj,
        "neuron_updates_active": counts.active_neuron_updates * costs.neuron_active_pj,
        "neuron_updates_inactive": counts.inactive_neuron_updates * costs.neuron_inactive_pj,
        "spike_delivery": counts.input_spikes * (messages * costs.spike_within_tile_pj),
        "tile_hops": counts.input_spikes * (hops_ew * costs.hop_east_west_pj + hops_ns * costs.hop_north_south_pj),
        "delayed_events": counts.delayed_events * costs.delayed_event_pj,
    }
    graded = {}
    if counts.graded:
        graded_ops = counts.synaptic_ops * (counts.payload_bits > 0)
        dynamic["graded_payload"] = graded_ops * graded_synaptic_op_pj(mapping.profile)
        messages_in = (counts.input_spikes * (counts.payload_bits > 0)).sum(axis=1)
        graded = {
            "graded_messages": float(messages_in.mean()),
            "payload_bits": float(counts.payload_bits.sum(axis=1).mean()),
            "synaptic_ops_per_message": float(graded_ops.sum(axis=1).mean() / max(messages_in.mean(), 1e-12)) if messages_in.any() else 0.0,
        }

    latency_ns, step_ns = _latency_ns(counts, mapping, costs)
    cores_per_layer = np.array([len(layer.cores) for layer in layers])
    static = costs.core_leakage_mw * latency_ns[:, None] * cores_per_layer[None, :]  # mW x ns = pJ

    dynamic_pj = sum(dynamic.values())
    per_layer_pj = dynamic_pj + static
    per_sample_pj = per_layer_pj.sum(axis=1)
    per_sample_uj = per_sample_pj / PJ_PER_UJ
    per_sample_latency_us = latency_ns / NS_PER_US
    spikes = counts.output_spikes.sum(axis=1)
    synops = counts.synaptic_ops.sum(axis=1)

    by_kind = {kind: float(values.sum(axis=1).mean() / PJ_PER_UJ) for kind, values in dynamic.items()}
    by_kind["static"] = float(static.sum(axis=1).mean() / PJ_PER_UJ)
    mean_counts = counts.mean_per_layer()
    layer_rows = [
        {
            "layer": placement.layer,
            "name": placement.name,
            "cores": len(placement.cores),
            "neurons": int(sum(placement.neurons_per_core)),
            "energy_uj": float(per_layer_pj[:, i].mean() / PJ_PER_UJ),
            "dynamic_uj": float(dynamic_pj[:, i].mean() / PJ_PER_UJ),
            "static_uj": float(static[:, i].mean() / PJ_PER_UJ),
            "synaptic_ops": float(mean_counts["synaptic_ops"][i]),
            "input_spikes": float(mean_counts["input_spikes"][i]),
            "output_spikes": float(mean_counts["output_spikes"][i]),
        }
        for i, placement in enumerate(layers)
    ]
    return EnergyReport(
        profile=mapping.profile.name,
        samples=counts.batch,
        latency_steps=int(counts.timesteps),
        energy_per_inference_uj=float(per_sample_uj.mean()),
        energy_per_inference_uj_std=float(per_sample_uj.std()),
        dynamic_uj=float(dynamic_pj.sum(axis=1).mean() / PJ_PER_UJ),
        static_uj=by_kind["static"],
        energy_by_kind_uj=by_kind,
        layers=layer_rows,
        latency_us=float(per_sample_latency_us.mean()),
        latency_us_std=float(per_sample_latency_us.std()),
        step_time_us=float(step_ns.mean() / NS_PER_US),
        synaptic_ops=float(synops.mean()),
        synaptic_ops_std=float(synops.std()),
        spikes=float(spikes.mean()),
        spikes_std=float(spikes.std()),
        input_spikes=float(counts.input_spikes[:, 0].mean()),
        spike_messages=float((counts.input_spikes * messages).sum(axis=1).mean()),
        tile_hops=float((counts.input_spikes * (hops_ew + hops_ns)).sum(axis=1).mean()),
        cores=mapping.cores,
        cores_available=mapping.cores_available,
        tiles_used=mapping.tiles_used,
        neurons_per_core=mapping.neurons_per_core,
        fits=mapping.fits,
        reason=mapping.reason,
        per_sample_energy_uj=tuple(float(v) for v in per_sample_uj),
        per_sample_latency_us=tuple(float(v) for v in per_sample_latency_us),
        **graded,
    )


def graded_synaptic_op_pj(profile: ChipProfile) -> float:
    """The profile's extra energy per synaptic op of a graded message, in pJ; a profile without it cannot price graded spikes."""
    quantity = profile.section("energy").get("graded_synaptic_op")
    if quantity is None:
        raise HardwareError(
            f"profile {profile.name!r} ({profile.path}) has no energy.graded_synaptic_op: it cannot price graded "
            "(sigma-delta) messages; Loihi 1 has no graded spikes"
        )
    if quantity.unit not in ENERGY_UNITS or quantity.value < 0:
        raise HardwareError(f"profile {profile.path}: energy.graded_synaptic_op = {quantity.value} {quantity.unit} is not a non-negative energy")
    return float(quantity.value) * ENERGY_UNITS[quantity.unit]


def measure_energy(
    network: Network, spikes, profile: ChipProfile | str, backend: str = "numba", neurons_per_core: int | None = None
) -> EnergyReport:
    """Energy of real inferences: run `spikes` on `backend`, map `network` greedily (at most
    `neurons_per_core` per core), price the activity."""
    result = simulate(network, spikes, backend=backend, profile=profile)
    return estimate_energy(result.counts, map_network(network, profile, neurons_per_core=neurons_per_core))


def layer_breakdown(network: Network, report: EnergyReport) -> list[dict]:
    """Per layer of `network` (as priced in `report`): its kind, neurons, cores, the means per inference
    of its synaptic ops, input and output spikes and energy, and its share of the energy per inference.

    Kinds are those of `Network.describe`: input, conv, dense, dense_rec, readout; `flattens_input`
    marks a dense layer that takes a 2-D map flattened (netx's `flatten` layer, which costs nothing).
    A layer's energy is its dynamic energy (its synapses and neurons) plus the leakage of its cores.
    """
    if len(network.layers) != len(report.layers):
        raise HardwareError(f"the energy report prices {len(report.layers)} layers but the network has {len(network.layers)}")
    total = report.energy_per_inference_uj
    rows = []
    for index, (layer, row) in enumerate(zip(network.layers, report.layers)):
        rows.append(
            {
                "layer": index,
                "name": layer.name,
                "kind": layer.describe()["kind"],
                "flattens_input": network.flattens_before(index),
                "neurons": layer.n_out,
                "cores": row["cores"],
                "synaptic_ops": row["synaptic_ops"],
                "input_spikes": row["input_spikes"],
                "output_spikes": row["output_spikes"],
                "energy_uj": row["energy_uj"],
                "energy_share": row["energy_uj"] / total if total > 0 else 0.0,
            }
        )
    return rows


def barrier_sync_ns(mapping: Mapping, costs: CostTable) -> float:
    """Barrier time, linear in tiles used between one tile and the whole mesh."""
    mesh_tiles = int(mapping.profile.value("mesh", "tiles_x")) * int(mapping.profile.value("mesh", "tiles_y"))
    if mesh_tiles <= 1:
        return costs.barrier_min_ns
    fraction = min(max(mapping.tiles_used - 1, 0) / (mesh_tiles - 1), 1.0)
    return costs.barrier_min_ns + fraction * (costs.barrier_max_ns - costs.barrier_min_ns)


def _latency_ns(counts: ActivityCounts, mapping: Mapping, costs: CostTable) -> tuple[np.ndarray, np.ndarray]:
    """(latency per sample, step time per sample), both in ns."""
    steps = counts.timesteps
    # Busiest core of each layer: the one holding the largest share of its neurons.
    busiest_share = np.array([max(layer.neurons_per_core) / sum(layer.neurons_per_core) for layer in mapping.layers])
    layer_work_ns = (
        counts.synaptic_ops * costs.synaptic_op_ns
        + counts.active_neuron_updates * costs.neuron_active_ns
        + counts.inactive_neuron_updates * costs.neuron_inactive_ns
    )
    compute_ns = (layer_work_ns * busiest_share[None, :]).max(axis=1) / max(steps, 1)
    route_ns = max(
        costs.spike_within_tile_ns
        + layer.max_hops_east_west * costs.hop_east_west_ns
        + layer.max_hops_north_south * costs.hop_north_south_ns
        for layer in mapping.layers
    )
    step_ns = compute_ns + route_ns + barrier_sync_ns(mapping, costs)
    return steps * step_ns, step_ns
