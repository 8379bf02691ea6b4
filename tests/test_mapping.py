"""Resource model: cores, per-core load, synaptic memory by weight format, traffic, fitting."""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import DenseLayer, HardwareError, Network, dense_network, load_profile, map_network
from hw_models.mapping import bits_per_synapse


def layer(n_out, n_in, *, low=0, high=100, bits=8, delays=False, seed=0):
    rng = np.random.default_rng(seed)
    weights = rng.integers(low, high, size=(n_out, n_in))
    return DenseLayer(
        weights=weights,
        du=100,
        dv=100,
        vth=10,
        num_weight_bits=bits,
        delays=rng.integers(0, 5, size=(n_out, n_in)) if delays else None,
    )


def test_bits_per_synapse_follow_weight_format_and_delays():
    profile = load_profile("loihi1")
    assert bits_per_synapse(layer(2, 3, bits=4), profile) == 4
    assert bits_per_synapse(layer(2, 3, low=-50, high=50, bits=4), profile) == 5  # + sign bit
    assert bits_per_synapse(layer(2, 3, low=-50, high=50, bits=4, delays=True), profile) == 11  # + 6 delay bits


def test_neurons_per_core_splits_layers_and_balances_them():
    network = Network((layer(10, 4), layer(3, 10)))
    default = map_network(network, "loihi1")
    assert default.cores == 2 and default.fits and default.neurons_per_core == 1024
    split = map_network(network, "loihi1", neurons_per_core=4)
    assert [placement.neurons_per_core for placement in split.layers] == [(4, 3, 3), (3,)]
    assert split.cores == 4
    assert [load.layer for load in split.core_loads] == [0, 0, 0, 1]
    assert split.core_loads[0].neuron_utilization == pytest.approx(4 / 1024)


def test_synaptic_memory_limits_neurons_per_core():
    # 1000 inputs x 9 bits (mixed sign) = 9000 bits per neuron; 1048576 bits per core -> 116 neurons
    wide = Network((layer(300, 1000, low=-100, high=100),))
    mapping = map_network(wide, "loihi1")
    assert mapping.layers[0].bits_per_synapse == 9
    assert max(mapping.layers[0].neurons_per_core) <= 116
    assert mapping.cores == 3
    assert all(load.memory_utilization <= 1.0 for load in mapping.core_loads)
    lower_precision = map_network(Network((layer(300, 1000, low=0, high=8, bits=3),)), "loihi1")
    assert lower_precision.cores == 1  # 3000 bits per neuron -> 349 neurons fit


def test_delays_cost_synaptic_memory():
    plain = map_network(Network((layer(400, 1000, low=0, high=100),)), "loihi1")
    delayed = map_network(Network((layer(400, 1000, low=0, high=100, delays=True),)), "loihi1")
    assert delayed.cores > plain.cores


def test_network_too_big_for_the_chip_is_reported():
    network = dense_network([np.ones((200, 8), dtype=int)], du=1, dv=1, vth=1)
    mapping = map_network(network, "loihi1", neurons_per_core=1)
    assert mapping.cores == 200 and not mapping.fits
    assert "needs 200 cores" in mapping.reason and "128" in mapping.reason
    assert mapping.to_dict()["fits"] is False


def test_fan_in_larger_than_a_core_is_reported():
    # 150000 inputs x 8 bits = 1.2 Mbit for a single neuron, more than a core's 1 Mbit
    network = Network((DenseLayer(weights=np.ones((1, 150000), dtype=np.int8), du=1, dv=1, vth=1),))
    mapping = map_network(network, "loihi1")
    assert not mapping.fits and "synaptic memory" in mapping.reason


def test_traffic_counts_tile_hops_from_the_input_tile():
    network = Network((layer(8, 4), layer(2, 8)))
    mapping = map_network(network, "loihi1", neurons_per_core=1)
    first = mapping.layers[0]
    # cores 0-7: tiles 0 and 1 at x = 0, 1 (4 cores per tile on Loihi 1)
    assert first.messages_per_spike == 8
    assert first.hops_east_west_per_spike == 4 and first.hops_north_south_per_spike == 0
    assert mapping.tiles_used == 3
    assert {(load.x, load.y) for load in mapping.core_loads} == {(0, 0), (1, 0), (2, 0)}


def test_neurons_per_core_out_of_range_is_a_clear_error():
    network = Network((layer(4, 4),))
    with pytest.raises(HardwareError, match="neurons_per_core=2000.*1024"):
        map_network(network, "loihi1", neurons_per_core=2000)
    with pytest.raises(HardwareError, match="neurons_per_core=0"):
        map_network(network, "loihi1", neurons_per_core=0)
    with pytest.raises(HardwareError, match="integer"):
        map_network(network, "loihi1", neurons_per_core=2.5)
