"""Every layer kind against Lava itself: networks built from lava-dl's blocks, exported by lava-dl,
read by us, run by Lava's netx (fixed_pt) and by the numba core; every spike of every layer,
the readout's voltage and the activity counts must agree."""

from __future__ import annotations

import numpy as np
import pytest
from _lava_blocks import bootstrap_mnist, conv_test_network, export_blocks, neuron_params, pilotnet_lif, scaled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw_models import Network, simulate
from hw_models.backends.lava import run_lava
from hw_models.network import ConvLayer, DenseLayer

pytestmark = pytest.mark.lava
COUNTS = ("input_spikes", "synaptic_ops", "active_neuron_updates", "output_spikes")


def assert_same_as_lava(network: Network, inputs: np.ndarray, path) -> None:
    ours = simulate(network, inputs, record_layers=True)
    lava = run_lava(network, inputs, netx_path=path).result
    for index, (mine, theirs) in enumerate(zip(ours.layers, lava.layers)):
        np.testing.assert_array_equal(mine, theirs, err_msg=f"layer {index} spikes differ from Lava's")
    assert sum(int(layer.sum()) for layer in ours.layers[:-1]) > 0, "the test network must spike"
    if not network.layers[-1].spiking:
        np.testing.assert_array_equal(ours.voltage, lava.voltage)
    for name in COUNTS:
        np.testing.assert_array_equal(getattr(ours.counts, name), getattr(lava.counts, name), err_msg=name)


def _spikes(network: Network, batch: int, steps: int, density: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, network.n_inputs, steps)) < density).astype(np.uint8)


def test_lava_dl_conv_pool_flatten_dense_affine_blocks(tmp_path):
    from _lava_blocks import _slayer

    _, slayer = _slayer()
    cuba, p = slayer.block.cuba, neuron_params()
    blocks = [
        scaled(cuba.Conv(p, 2, 4, 3, stride=2, padding=1, weight_norm=False), 4),
        cuba.Pool(p, 2, weight_norm=False),
        cuba.Flatten(),
        scaled(cuba.Dense(p, 4 * 2 * 2, 8, weight_norm=False), 4),
        cuba.Affine(p, 8, 3, weight_norm=False),
    ]
    original = export_blocks(tmp_path / "original.net", blocks, (2, 8, 8))
    network = Network.from_netx(original)  # netx itself cannot load the pool layer: we read it as a depthwise conv
    assert [layer["kind"] for layer in network.describe()["layers"]] == ["conv", "conv", "flatten", "dense", "readout"]
    assert network.layers[1].groups == 4
    path = network.to_netx(tmp_path / "loadable.net")
    # bias-free: the two samples share one Lava run with netx's staggered resets
    assert_same_as_lava(network, _spikes(network, 2, 16, 0.4, seed=1), path)


def test_lava_dl_recurrent_block(tmp_path):
    from _lava_blocks import _slayer

    _, slayer = _slayer()
    cuba, p = slayer.block.cuba, neuron_params()
    blocks = [scaled(cuba.Dense(p, 6, 8, weight_norm=False), 4), scaled(cuba.Recurrent(p, 8, 5, weight_norm=False), 4)]
    path = export_blocks(tmp_path / "recurrent.net", blocks, (6,), input_group=False)
    network = Network.from_netx(path)
    assert network.layers[1].recurrent_weights is not None
    assert_same_as_lava(network, _spikes(network, 1, 20, 0.5, seed=2), path)


@st.composite
def conv_networks(draw) -> Network:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups = draw(st.sampled_from([1, 2]))
    channels = 2
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    conv = ConvLayer(
        rng.integers(-80, 256, (2 * groups, channels // groups, *kernel)),
        (channels, draw(st.integers(5, 7)), draw(st.integers(4, 7))),  # H >= 5: a 3-tall kernel dilated by 2 spans 5 rows
        du=draw(st.sampled_from([0, 1024, 4096])), dv=draw(st.sampled_from([0, 300, 4096])), vth=draw(st.integers(20, 200)),
        stride=(draw(st.integers(1, 2)), draw(st.integers(1, 2))), padding=(draw(st.integers(0, 1)), draw(st.integers(0, 1))),
        dilation=(draw(st.integers(1, 2)), 1), groups=groups, bias=rng.integers(-5, 20, 2 * groups) if draw(st.booleans()) else None,
    )
    dense = DenseLayer(rng.integers(-100, 256, (3, conv.n_out)), du=500, dv=200, vth=draw(st.integers(10, 200)))
    return Network((conv, dense))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(conv_networks(), st.integers(0, 1000))
def test_random_conv_networks_match_lava(tmp_path, network, seed):
    path = network.to_netx(tmp_path / f"conv{seed}.net")
    assert_same_as_lava(network, _spikes(network, 2, 12, 0.5, seed), path)


@pytest.mark.parametrize(
    "build, steps",
    [(bootstrap_mnist, 8), (lambda path: conv_test_network(path, biases=True), 8), (pilotnet_lif, 2)],
    ids=["bootstrap_mnist", "conv_test_network", "pilotnet_lif"],
)
def test_shapes_of_lava_dl_shipped_networks_load_and_match_lava(tmp_path, build, steps):
    path = build(tmp_path / "shipped.net")
    network = Network.from_netx(path)
    assert network.takes_drive, "all three start with an input layer that has a neuron"
    drive = np.random.default_rng(0).integers(0, 64, (1, network.n_inputs, steps))
    assert_same_as_lava(network, drive, path)
