"""The `loihi1_sanafe` profile (SANA-FE's silicon-calibrated Loihi costs in our format) and the
SANA-FE peer of benchmarks/bench_energy_fidelity.py.

The profile must load, carry SANA-FE's numbers (read back from the loihi.yaml the `sanafe`
package ships, where it is installed: a bench dependency) and price counts as its header says.
On a network whose spikes each go to one core with no hops, SANA-FE run on a copy of our network
fires exactly where the numba core fires, and its energy is our `loihi1_sanafe` price up to the
one term the header says our format folds differently: 69.3 pJ per spike, which SANA-FE charges
to every neuron that fires (output layer included, input units excluded) and we to every message.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hw_models import dense_network, estimate_energy, load_profile, map_network, simulate
from hw_models.activity import ActivityCounts

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

SPIKE_OUT_PJ = 69.3  # SANA-FE loihi.yaml, loihi_lif energy_spike_out


def test_profile_loads_with_a_source_for_every_number():
    profile = load_profile("loihi1_sanafe")
    assert profile.name == "loihi1_sanafe"
    loihi1 = load_profile("loihi1")
    for section in ("limits", "mesh"):  # same chip
        assert {k: q.value for k, q in profile.section(section).items()} == {k: q.value for k, q in loihi1.section(section).items()}
    for section in ("energy", "timing", "static"):
        for key, quantity in profile.section(section).items():
            assert "SANA-FE" in quantity.source or quantity.source.startswith("NOT IN"), (section, key)
    assert profile.value("energy", "synaptic_op") == 35.5 and loihi1.value("energy", "synaptic_op") == 23.6


def test_profile_prices_counts_with_sanafe_costs():
    network = dense_network([np.ones((3, 4), dtype=int), np.ones((2, 3), dtype=int)], du=4096, dv=0, vth=1)
    counts = ActivityCounts(input_spikes=[[5, 7]], synaptic_ops=[[15, 14]], active_neuron_updates=[[9, 4]],
                            inactive_neuron_updates=[[3, 4]], output_spikes=[[7, 2]], delayed_events=[[0, 0]], timesteps=4)
    report = estimate_energy(counts, map_network(network, "loihi1_sanafe"))
    by_kind = report.energy_by_kind_uj
    assert by_kind["synaptic_ops"] == pytest.approx(29 * 35.5e-6)
    assert by_kind["neuron_updates_active"] == pytest.approx(13 * (51.2 + 21.6) * 1e-6)
    assert by_kind["neuron_updates_inactive"] == pytest.approx(7 * 51.2e-6)
    # both layers on core 0 of tile (0, 0), where inputs enter: one message per spike, no hops
    assert by_kind["spike_delivery"] == pytest.approx(12 * (111.0 + 69.3) * 1e-6) and by_kind["tile_hops"] == 0
    assert report.dynamic_uj == pytest.approx(sum(v for k, v in by_kind.items() if k != "static"))
    loihi1 = estimate_energy(counts, map_network(network, "loihi1"))
    assert loihi1.dynamic_uj < report.dynamic_uj  # Davies' pre-silicon minima are below silicon


def _loihi_yaml() -> dict:
    pytest.importorskip("sanafe", reason="sanafe is a benchmark dependency (requirements/bench.txt)")
    from importlib.resources import files

    import yaml

    core = yaml.safe_load(files("sanafe.examples").joinpath("loihi.yaml").read_text())["architecture"]["tile"][0]
    units = {unit["name"]: unit["attributes"] for role in ("soma", "synapse", "axon_in", "axon_out")
             for unit in core["core"][0][role]}
    return core["attributes"] | units


def test_profile_numbers_are_those_sanafe_ships():
    arch = _loihi_yaml()
    profile = load_profile("loihi1_sanafe")
    energy = lambda key: profile.value("energy", key) * 1e-12  # noqa: E731
    timing = lambda key: profile.value("timing", key) * 1e-9  # noqa: E731
    lif, dense, out, into = arch["loihi_lif"], arch["loihi_dense_synapse"], arch["loihi_out"], arch["loihi_in"]
    assert energy("synaptic_op") == pytest.approx(dense["energy_process_spike"])
    assert energy("neuron_update_inactive") == pytest.approx(lif["energy_access_neuron"])
    assert energy("neuron_update_active") == pytest.approx(lif["energy_access_neuron"] + lif["energy_update_neuron"])
    assert energy("spike_within_tile") == pytest.approx(out["energy_message_out"] + lif["energy_spike_out"] + into["energy_message_in"])
    assert energy("tile_hop_east_west") == pytest.approx(arch["energy_east_hop"])
    assert energy("tile_hop_north_south") == pytest.approx(arch["energy_north_hop"])
    assert timing("synaptic_op") == pytest.approx(dense["latency_process_spike"])
    assert timing("neuron_update_active") == pytest.approx(lif["latency_access_neuron"] + lif["latency_update_neuron"])
    assert timing("spike_within_tile") == pytest.approx(lif["latency_spike_out"] + out["latency_message_out"] + into["latency_message_in"])
    assert lif["energy_spike_out"] * 1e12 == pytest.approx(SPIKE_OUT_PJ)


def test_sanafe_fires_where_we_fire_and_prices_what_the_profile_prices():
    _loihi_yaml()
    from bench_energy_fidelity import sanafe_price, spike_agreement

    rng = np.random.default_rng(3)
    weights = [rng.integers(-40, 100, (30, 20)), rng.integers(-40, 100, (10, 30))]
    network = dense_network(weights, du=4096, dv=300, vth=64, num_weight_bits=7, weight_exponent=1)
    spikes = (rng.random((3, 20, 12)) < 0.3).astype(np.uint8)
    result = simulate(network, spikes, profile="loihi1", record_layers=True)
    mapping = map_network(network, "loihi1_sanafe")
    theirs = sanafe_price(network, spikes, mapping)
    differ, total = spike_agreement(result.layers, theirs["layers"])
    assert total > 100 and differ == 0
    ours = estimate_energy(result.counts, mapping)
    counts = result.counts
    folded = SPIKE_OUT_PJ * 1e-6 * (counts.output_spikes[:, -1] - counts.input_spikes[:, 0]).mean()
    assert theirs["energy_uj"]["total"] == pytest.approx(ours.dynamic_uj + folded, rel=1e-9)
    assert theirs["energy_uj"]["synapse"] == pytest.approx(ours.energy_by_kind_uj["synaptic_ops"], rel=1e-9)


def test_networks_sanafe_cannot_copy_exactly_are_refused():
    from bench_energy_fidelity import check_sanafe_copyable

    with pytest.raises(ValueError, match="layer 0: du < 4096"):
        check_sanafe_copyable(dense_network([np.ones((2, 2), dtype=int)], du=100, dv=0, vth=1))
    with pytest.raises(ValueError, match="negative weight exponent"):
        check_sanafe_copyable(dense_network([np.ones((2, 2), dtype=int)], du=4096, dv=0, vth=1, weight_exponent=-1))
