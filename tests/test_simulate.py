"""simulate(): bad input gets one HardwareError naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import DenseLayer, HardwareError, Network, dense_network, simulate

NETWORK = dense_network([np.full((3, 4), 50)], du=4096, dv=4096, vth=10)


@pytest.mark.parametrize(
    "spikes, message",
    [
        (np.zeros((4, 5), dtype=np.uint8), r"3-D \(batch, n_in, T\).*\(4, 5\)"),
        (np.zeros((2, 5, 6), dtype=np.uint8), "5 channels.*takes 4 inputs"),
        (np.zeros((2, 4, 0), dtype=np.uint8), "at least one timestep.*T=0"),
        (np.full((1, 4, 3), 0.5), "binary.*0.5"),
        (np.full((1, 4, 3), 2, dtype=np.int64), "binary.*2"),
        (np.full((1, 4, 3), "1"), "numeric"),
    ],
    ids=["2-D", "wrong n_in", "T=0", "graded float", "integer 2", "strings"],
)
def test_bad_spike_tensors_are_named(spikes, message):
    with pytest.raises(HardwareError, match=message):
        simulate(NETWORK, spikes)


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(HardwareError, match="unknown backend 'loihi'.*numba, lava, brian2"):
        simulate(NETWORK, np.zeros((1, 4, 2)), backend="loihi")


def test_network_outside_the_chip_is_refused_before_running():
    network = Network((DenseLayer(weights=np.ones((2, 2)), du=5000, dv=0, vth=1, name="hidden"),))
    with pytest.raises(HardwareError, match="du=5000"):
        simulate(network, np.zeros((1, 2, 2)))


def test_not_a_network_is_refused():
    with pytest.raises(HardwareError, match="needs a hw_models.Network"):
        simulate([np.ones((2, 2))], np.zeros((1, 2, 2)))


def test_empty_batch_gives_empty_results():
    result = simulate(NETWORK, np.zeros((0, 4, 3), dtype=np.uint8))
    assert result.output.shape == (0, 3, 3)
    assert result.counts.batch == 0 and result.counts.n_layers == 1


def test_a_network_changed_in_place_is_prepared_and_validated_again():
    network = dense_network([np.full((2, 2), 100)], du=4096, dv=4096, vth=10)
    spikes = np.ones((1, 2, 4), dtype=np.uint8)
    assert simulate(network, spikes).output.sum() == 6
    network.layers[0].weights[:] = 5  # below threshold now
    assert simulate(network, spikes).output.sum() == 0
    network.layers[0].weights[0, 0] = 300  # outside the chip's synapse range
    with pytest.raises(HardwareError, match="300"):
        simulate(network, spikes)
