"""Sigma-delta networks against Lava 0.10 itself: lava-dl's `slayer.block.sigma_delta` blocks exported by
lava-dl (and networks of ours written as netx), run by netx (fixed_pt) and by the numba core; every
message of every layer and the activity counts must agree. Lava runs are slow: one sample, few steps."""

from __future__ import annotations

import numpy as np
import pytest
from _sdnn_blocks import export_sdnn

from hw_models import Network, simulate
from hw_models.backends.lava import run_lava
from hw_models.network import ConvLayer, DenseLayer, InputLayer, SigmaDelta

pytestmark = pytest.mark.lava
COUNTS = ("input_spikes", "synaptic_ops", "active_neuron_updates", "inactive_neuron_updates", "output_spikes")


def video_frames(network: Network, steps: int, seed: int, batch: int = 1) -> np.ndarray:
    """Slowly changing integer frames (a random walk per pixel): what a delta encoder is built for."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.integers(-12, 13, (batch, network.n_inputs, steps)), axis=2)
    return np.clip(walk + rng.integers(40, 200, (batch, network.n_inputs, 1)), 0, 255)


def assert_same_as_lava(network: Network, inputs: np.ndarray, path, deep: int | None = None) -> None:
    ours = simulate(network, inputs, record_layers=True)
    lava = run_lava(network, inputs, netx_path=path).result
    for index, (mine, theirs) in enumerate(zip(ours.layers, lava.layers)):
        np.testing.assert_array_equal(mine, theirs, err_msg=f"layer {index} messages differ from Lava's")
    for name in COUNTS:
        np.testing.assert_array_equal(getattr(ours.counts, name), getattr(lava.counts, name), err_msg=name)
    deep = len(network.layers) if deep is None else deep
    silent = [index for index, layer in enumerate(ours.layers[:deep]) if not np.any(layer)]
    assert not silent, f"the test network must send messages in every layer; silent: {silent}"
    assert np.abs(ours.layers[1]).max() > 1, "graded: messages carry payloads, not just 1"


def test_lava_dl_sigma_delta_conv_blocks_match_lava(tmp_path):
    path = export_sdnn(tmp_path / "small.net", "small_conv")
    network = Network.from_netx(path)
    assert [layer.sigma_delta.role for layer in network.layers] == ["delta", "sigma_delta", "sigma_delta", "sigma"]
    assert_same_as_lava(network, video_frames(network, 10, seed=1), path)


def test_biased_network_with_narrow_messages_matches_lava(tmp_path):
    """Our own writer: hidden biases per channel and per neuron, a weight exponent, 8-bit messages (netx reads 16)."""
    rng = np.random.default_rng(5)
    conv = ConvLayer(rng.integers(-40, 90, (3, 2, 3, 3)), (2, 6, 6), du=0, dv=0, vth=2, stride=2, padding=1,
                     bias=rng.integers(-2, 4, 3), sigma_delta=SigmaDelta())
    hidden = DenseLayer(rng.integers(-120, 120, (6, conv.n_out)), du=0, dv=0, vth=1, bias=rng.integers(-1, 3, 6),
                        weight_exponent=1, sigma_delta=SigmaDelta(message_bits=8))
    output = DenseLayer(rng.integers(-120, 120, (3, 6)), du=0, dv=0, vth=0, sigma_delta=SigmaDelta(role="sigma"))
    network = Network((InputLayer(shape=(2, 6, 6), du=0, dv=0, vth=3, sigma_delta=SigmaDelta(role="delta")), conv, hidden, output))
    path = network.to_netx(tmp_path / "biased.net")
    network = Network.from_netx(path)
    assert network.message_bits() == [0, 16, 16, 16]
    assert_same_as_lava(network, video_frames(network, 10, seed=2), path)


def test_binary_input_without_an_input_layer_matches_lava(tmp_path):
    rng = np.random.default_rng(7)
    network = Network((
        # binary input spikes count 1, not 1 << 6 as a graded one does: vth 0 sends every change
        DenseLayer(rng.integers(-60, 120, (8, 10)), du=0, dv=0, vth=0, sigma_delta=SigmaDelta()),
        DenseLayer(rng.integers(-60, 120, (3, 8)), du=0, dv=0, vth=0, sigma_delta=SigmaDelta(role="sigma")),
    ))
    path = network.to_netx(tmp_path / "binary_in.net")
    spikes = (rng.random((1, 10, 12)) < 0.4).astype(np.uint8)
    assert_same_as_lava(Network.from_netx(path), spikes, path)


def test_pilotnet_sdnn_shape_loads_and_matches_lava(tmp_path):
    """PilotNet SDNN's shape (Delta on 3x33x100, four strided convs, flatten, four dense, Sigma output), one sample."""
    path = export_sdnn(tmp_path / "pilotnet.net", "pilotnet_sdnn", threshold=0.05)
    network = Network.from_netx(path)
    assert network.input_shape == (3, 33, 100) and network.graded
    kinds = [layer["kind"] for layer in network.describe()["layers"]]
    assert kinds == ["input", "conv", "conv", "conv", "conv", "flatten", "dense", "dense", "dense", "dense"]
    assert_same_as_lava(network, video_frames(network, 12, seed=3), path)
