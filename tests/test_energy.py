"""Energy/latency model: hand-computed cases on a round-number profile, and invariants."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hw_models import ActivityCounts, HardwareError, dense_network, estimate_energy, load_profile, map_network

ROUND_COSTS = {
    "energy": {  # pJ
        "synaptic_op": 10.0,
        "synaptic_update": 99.0,
        "neuron_update_active": 2.0,
        "neuron_update_inactive": 1.0,
        "spike_within_tile": 0.5,
        "tile_hop_east_west": 1.0,
        "tile_hop_north_south": 2.0,
        "delayed_event": 0.0,
    },
    "timing": {  # ns
        "synaptic_op": 1.0,
        "synaptic_update": 9.0,
        "neuron_update_active": 2.0,
        "neuron_update_inactive": 1.0,
        "spike_within_tile": 1.0,
        "tile_hop_east_west": 1.0,
        "tile_hop_north_south": 2.0,
        "barrier_sync_min": 10.0,
        "barrier_sync_max": 40.0,
    },
    "static": {"core_leakage_power": 1.0},  # mW
    "mesh": {
        "cores_per_tile": 2,
        "tiles_x": 2,
        "tiles_y": 2,
        "input_tile_x": 0,
        "input_tile_y": 0,
        "delay_bits_per_synapse": 6,
        "sign_bits_mixed": 1,
    },
}
UNITS = {"energy": "pJ", "timing": "ns", "static": "mW", "mesh": ""}


def write_profile(directory: Path, limits: dict | None = None, costs: dict | None = None, units: dict | None = None) -> Path:
    """A test chip: Loihi 1 limits with a few overridden, round-number costs."""
    base = load_profile("loihi1")
    limit_values = {key: quantity.value for key, quantity in base.section("limits").items()}
    limit_values.update({"cores": 8, "neurons_per_core": 4, "synaptic_memory_bits_per_core": 1000})
    limit_values.update(limits or {})
    sections = {"limits": limit_values} | {name: dict(values) for name, values in ROUND_COSTS.items()}
    for name, values in (costs or {}).items():
        sections[name].update(values)
    lines = ['name = "testchip"']
    for name, values in sections.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            unit = (units or {}).get(f"{name}.{key}", UNITS.get(name, ""))
            lines.append(f'{key} = {{ value = {value}, unit = "{unit}", source = "test" }}')
    path = directory / "testchip.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def small_network():
    w0 = np.ones((4, 3), dtype=int) * 10
    w1 = np.ones((2, 4), dtype=int) * 10
    return dense_network([w0, w1], du=100, dv=100, vth=10)


def hand_counts(batch_scale=(1,)) -> ActivityCounts:
    rows = {
        "input_spikes": [5, 3],
        "synaptic_ops": [15, 6],
        "active_neuron_updates": [20, 8],
        "inactive_neuron_updates": [20, 12],
        "output_spikes": [3, 1],
        "delayed_events": [0, 0],
    }
    return ActivityCounts(
        **{name: np.array([[v * s for v in values] for s in batch_scale]) for name, values in rows.items()},
        timesteps=10,
    )


def test_hand_computed_single_core_per_layer(tmp_path):
    profile = write_profile(tmp_path)
    mapping = map_network(small_network(), profile)
    assert mapping.cores == 2 and mapping.tiles_used == 1 and mapping.fits
    report = estimate_energy(hand_counts(), mapping)
    kinds = report.energy_by_kind_uj
    assert kinds["synaptic_ops"] == pytest.approx(210e-6)
    assert kinds["neuron_updates_active"] == pytest.approx(56e-6)
    assert kinds["neuron_updates_inactive"] == pytest.approx(32e-6)
    assert kinds["spike_delivery"] == pytest.approx(4e-6)
    assert kinds["tile_hops"] == pytest.approx(0.0)
    assert report.dynamic_uj == pytest.approx(302e-6)
    # step = busiest core 75 ns / 10 steps + within-tile route 1 ns + barrier (1 tile) 10 ns
    assert report.step_time_us == pytest.approx(18.5e-3)
    assert report.latency_us == pytest.approx(185e-3)
    assert report.latency_steps == 10
    assert report.static_uj == pytest.approx(1.0 * 185 * 2 * 1e-6)  # mW x ns = pJ, 2 cores
    assert report.energy_per_inference_uj == pytest.approx(672e-6)
    assert sum(report.energy_by_layer_uj) == pytest.approx(report.energy_per_inference_uj)
    assert sum(kinds.values()) == pytest.approx(report.energy_per_inference_uj)


def test_hand_computed_spread_over_tiles(tmp_path):
    profile = write_profile(tmp_path)
    mapping = map_network(small_network(), profile, neurons_per_core=1)
    # layer 0 on cores 0-3 (tiles 0,1 at x=0,1), layer 1 on cores 4,5 (tile 2 at (0,1))
    assert [layer.cores for layer in mapping.layers] == [(0, 1, 2, 3), (4, 5)]
    assert mapping.tiles_used == 3
    first, second = mapping.layers
    assert (first.messages_per_spike, first.hops_east_west_per_spike, first.hops_north_south_per_spike) == (4, 2, 0)
    assert (second.messages_per_spike, second.hops_east_west_per_spike, second.hops_north_south_per_spike) == (2, 1, 2)
    report = estimate_energy(hand_counts(), mapping)
    assert report.energy_by_kind_uj["spike_delivery"] == pytest.approx(13e-6)  # 5*4*0.5 + 3*2*0.5
    assert report.energy_by_kind_uj["tile_hops"] == pytest.approx(25e-6)  # 5*2*1 + 3*(1*1 + 2*2)
    assert report.spike_messages == pytest.approx(5 * 4 + 3 * 2)
    assert report.tile_hops == pytest.approx(5 * 2 + 3 * 3)
    # busiest core: layer 0 holds 1/4 of 75 ns of work; route: within-tile + 1 EW + 1 NS hop;
    # barrier: 3 of 4 tiles -> 10 + 2/3 * 30
    assert report.step_time_us == pytest.approx((75 / 4 / 10 + 4 + 30) / 1e3)
    assert report.static_uj == pytest.approx(1.0 * 358.75 * 6 * 1e-6)
    assert report.cores == 6


def test_zero_activity_costs_only_idle_neurons_and_leakage(tmp_path):
    mapping = map_network(small_network(), write_profile(tmp_path))
    zeros = np.zeros((2, 2), dtype=int)
    counts = ActivityCounts(
        input_spikes=zeros,
        synaptic_ops=zeros,
        active_neuron_updates=zeros,
        inactive_neuron_updates=np.array([[40, 20], [40, 20]]),
        output_spikes=zeros,
        delayed_events=zeros,
        timesteps=10,
    )
    report = estimate_energy(counts, mapping)
    kinds = report.energy_by_kind_uj
    for kind in ("synaptic_ops", "neuron_updates_active", "spike_delivery", "tile_hops", "delayed_events"):
        assert kinds[kind] == 0.0
    assert kinds["neuron_updates_inactive"] == pytest.approx(60e-6)
    assert kinds["static"] > 0
    assert report.energy_per_inference_uj_std == 0.0
    assert report.spikes == 0 and report.synaptic_ops == 0


def test_doubling_activity_doubles_dynamic_energy(tmp_path):
    mapping = map_network(small_network(), write_profile(tmp_path), neurons_per_core=1)
    once = estimate_energy(hand_counts(), mapping)
    twice = estimate_energy(hand_counts().scaled(2), mapping)
    for kind in ("synaptic_ops", "spike_delivery", "tile_hops", "neuron_updates_active"):
        assert twice.energy_by_kind_uj[kind] == pytest.approx(2 * once.energy_by_kind_uj[kind])
    assert twice.dynamic_uj == pytest.approx(2 * once.dynamic_uj)
    assert twice.latency_us > once.latency_us  # busier cores, longer steps


def test_more_cores_more_static_energy(tmp_path):
    profile = write_profile(tmp_path)
    packed = estimate_energy(hand_counts(), map_network(small_network(), profile))
    spread = estimate_energy(hand_counts(), map_network(small_network(), profile, neurons_per_core=1))
    assert spread.cores > packed.cores
    assert spread.static_uj > packed.static_uj


def test_mean_and_spread_over_samples(tmp_path):
    mapping = map_network(small_network(), write_profile(tmp_path))
    report = estimate_energy(hand_counts(batch_scale=(1, 3)), mapping)
    per_sample = np.array(report.per_sample_energy_uj)
    assert report.samples == 2
    assert report.energy_per_inference_uj == pytest.approx(per_sample.mean())
    assert report.energy_per_inference_uj_std == pytest.approx(per_sample.std()) and report.energy_per_inference_uj_std > 0
    assert report.synaptic_ops == pytest.approx((21 + 63) / 2)
    assert report.spikes == pytest.approx((4 + 12) / 2)


def test_report_is_json_and_carries_objectives(tmp_path):
    mapping = map_network(small_network(), write_profile(tmp_path))
    report = estimate_energy(hand_counts(), mapping)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["cores"] == 2 and data["fits"] is True and data["profile"] == "testchip"
    assert set(data["energy_by_kind_uj"]) == {
        "synaptic_ops", "neuron_updates_active", "neuron_updates_inactive",
        "spike_delivery", "tile_hops", "delayed_events", "static",
    }
    assert set(report.objectives()) == {"energy_per_inference_uj", "latency_us", "latency_steps", "cores"}


def test_not_fitting_is_reported_not_raised(tmp_path):
    wide = dense_network([np.ones((40, 3), dtype=int)], du=1, dv=1, vth=1)
    report = estimate_energy(
        ActivityCounts(*(np.zeros((1, 1), dtype=int),) * 6, timesteps=5), map_network(wide, write_profile(tmp_path))
    )
    assert report.cores == 10 and not report.fits
    assert "10 cores" in report.reason and "8" in report.reason


def test_layer_count_mismatch_is_a_clear_error(tmp_path):
    mapping = map_network(small_network(), write_profile(tmp_path))
    counts = ActivityCounts(*(np.zeros((1, 3), dtype=int),) * 6, timesteps=5)
    with pytest.raises(HardwareError, match="3 layers.*2"):
        estimate_energy(counts, mapping)


def test_profile_units_are_converted_and_checked(tmp_path):
    in_nj = write_profile(tmp_path, costs={"energy": {"synaptic_op": 0.01}}, units={"energy.synaptic_op": "nJ"})
    report = estimate_energy(hand_counts(), map_network(small_network(), in_nj))
    assert report.energy_by_kind_uj["synaptic_ops"] == pytest.approx(210e-6)
    bad = write_profile(tmp_path, units={"energy.synaptic_op": "kWh"})
    with pytest.raises(HardwareError, match="energy.synaptic_op.*kWh"):
        estimate_energy(hand_counts(), map_network(small_network(), bad))


def test_bundled_profiles_price_a_network():
    network = small_network()
    for name in ("loihi1", "loihi2"):
        report = estimate_energy(hand_counts(), map_network(network, name))
        assert report.energy_per_inference_uj > 0 and report.latency_us > 0 and report.fits
    loihi1 = estimate_energy(hand_counts(), map_network(network, "loihi1"))
    # 21 synaptic ops x 23.6 pJ (Davies 2018, Table 2)
    assert loihi1.energy_by_kind_uj["synaptic_ops"] == pytest.approx(21 * 23.6e-6)
