"""Conv, flatten, input-neuron, readout and recurrent layers: geometry, netx files, inputs (no Lava here).

The conv's fan-out table is checked against torch's conv2d (an independent implementation);
spikes are checked against Lava itself in tests/test_layers_lava.py.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hw_models import HardwareError, Network, NetxFormatError, simulate
from hw_models.backends.spikes import check_spikes
from hw_models.network import ConvLayer, DenseLayer, InputLayer


@st.composite
def conv_layers(draw) -> ConvLayer:
    groups = draw(st.sampled_from([1, 2]))
    channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 3))
    k_h, k_w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    height = draw(st.integers(dilation[0] * (k_h - 1) + 1, 9))
    width = draw(st.integers(dilation[1] * (k_w - 1) + 1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.integers(-256, 256, (out_channels, channels // groups, k_h, k_w))
    weights[rng.random(weights.shape) < 0.2] = 0
    return ConvLayer(weights, (channels, height, width), du=100, dv=200, vth=50, stride=stride, padding=padding, dilation=dilation, groups=groups)


@settings(max_examples=60, deadline=None)
@given(conv_layers(), st.integers(0, 2**32 - 1))
def test_conv_fan_out_table_is_torch_conv2d(layer, seed):
    spikes = (np.random.default_rng(seed).random(layer.in_shape) < 0.4).astype(np.int64)
    expected = torch.nn.functional.conv2d(
        torch.tensor(spikes[None], dtype=torch.float64),
        torch.tensor(layer.weights, dtype=torch.float64),
        stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups,
    )[0].numpy()
    assert expected.shape == layer.out_shape
    starts, targets, weights = layer.synapse_table()
    summed = np.zeros(layer.n_out, dtype=np.int64)
    for source in np.flatnonzero(spikes.reshape(-1)):
        np.add.at(summed, targets[starts[source] : starts[source + 1]], weights[starts[source] : starts[source + 1]])
    np.testing.assert_array_equal(summed, expected.reshape(-1).astype(np.int64))
    synapses, _ = layer.fan_out()
    assert synapses.sum() == targets.size == np.count_nonzero(weights)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"weights": np.ones((2, 1, 9, 9)), "in_shape": (1, 8, 8)}, "a 9x9 kernel .* leaves no output on a 8x8 map"),
        ({"weights": np.ones((2, 1, 3, 3)), "in_shape": (1, 8, 8), "stride": 0}, "stride .* must be >= 1"),
        ({"weights": np.ones((3, 1, 3, 3)), "in_shape": (2, 8, 8), "groups": 2}, "groups=2 must divide"),
        ({"weights": np.ones((2, 3, 3, 3)), "in_shape": (2, 8, 8)}, "weights take 3 channels per group"),
        ({"weights": np.ones((2, 1, 3)), "in_shape": (1, 8, 8)}, "conv weights must be 4-D"),
        ({"weights": np.full((2, 1, 3, 3), np.nan), "in_shape": (1, 8, 8)}, "finite integers"),
    ],
)
def test_conv_geometry_errors_name_the_problem(kwargs, message):
    with pytest.raises(HardwareError, match=message):
        ConvLayer(du=0, dv=0, vth=1, **kwargs)


def _mixed_network(rng) -> Network:
    conv = ConvLayer(rng.integers(-60, 120, (3, 2, 3, 3)), (2, 6, 6), du=500, dv=300, vth=40, stride=2, padding=1, bias=[3, 0, -2])
    pool = ConvLayer(np.full((3, 1, 2, 2), 64), conv.out_shape, du=4096, dv=4096, vth=60, stride=2, groups=3)
    dense = DenseLayer(rng.integers(-100, 200, (5, pool.n_out)), du=200, dv=100, vth=30, num_weight_bits=6,
                       recurrent_weights=rng.integers(-50, 50, (5, 5)))
    readout = DenseLayer(rng.integers(-100, 100, (2, 5)), du=0, dv=0, vth=0, neuron=False)
    return Network((conv, pool, dense, readout))


def test_every_layer_kind_round_trips_through_netx(tmp_path):
    network = _mixed_network(np.random.default_rng(0))
    path = network.to_netx(tmp_path / "mixed.net")
    with h5py.File(path) as handle:
        kinds = [handle[f"layer/{i}/type"][0].decode() for i in range(len(handle["layer"]))]
        assert "neuron" not in handle["layer/5"], "a readout is written without a neuron group, as lava-dl's Affine is read"
    assert kinds == ["input", "conv", "conv", "flatten", "dense_rec", "dense"]
    again = Network.from_netx(path)
    # netx re-encodes dense weights (mantissa, bits, exponent) its own way: the file is canonical, the behaviour the same
    assert Network.from_netx(again.to_netx(tmp_path / "again.net")).equals(again)
    spikes = (np.random.default_rng(1).random((3, network.n_inputs, 30)) < 0.4).astype(np.uint8)
    before, after = simulate(network, spikes, record_layers=True), simulate(again, spikes, record_layers=True)
    assert sum(layer.sum() for layer in before.layers[:3]) > 0
    for mine, theirs in zip(before.layers, after.layers):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(before.voltage, after.voltage)
    assert [layer["kind"] for layer in again.describe()["layers"]] == ["conv", "conv", "flatten", "dense_rec", "readout"]


def test_per_neuron_conv_bias_round_trips_in_netx_order(tmp_path):
    rng = np.random.default_rng(1)
    conv = ConvLayer(rng.integers(1, 50, (2, 1, 3, 3)), (1, 5, 4), du=10, dv=10, vth=40, bias=rng.integers(-9, 9, 2 * 3 * 2))
    path = Network((conv,)).to_netx(tmp_path / "bias.net")
    with h5py.File(path) as handle:
        assert handle["layer/1/bias"].shape == (2, 3, 2), "per-neuron conv bias is stored in netx's (W, H, C) order"
    np.testing.assert_array_equal(Network.from_netx(path).layers[0].bias, conv.bias)


def test_input_layer_with_neuron_round_trips(tmp_path):
    layer = InputLayer(shape=(2, 3, 3), du=100, dv=200, vth=30, weight=5, bias=-2)
    conv = ConvLayer(np.ones((1, 2, 2, 2), int) * 40, (2, 3, 3), du=100, dv=100, vth=20)
    network = Network((layer, conv))
    assert network.takes_drive
    again = Network.from_netx(network.to_netx(tmp_path / "input.net"))
    assert again.equals(network)


def test_lava_dl_pool_layer_reads_as_a_depthwise_conv(tmp_path):
    path = tmp_path / "pool.net"
    with h5py.File(path, "w") as handle:
        group = handle.create_group("layer/0")
        group.create_dataset("type", (1,), "S10", [b"input"])
        group.create_dataset("shape", data=np.array([3, 4, 4]))
        group = handle.create_group("layer/1")
        group.create_dataset("type", (1,), "S10", [b"pool"])
        group.create_dataset("shape", data=np.array([3, 2, 2]))
        for key, value in (("kernelSize", [2, 2]), ("stride", [2, 2]), ("padding", [0, 0]), ("dilation", [1, 1])):
            group.create_dataset(key, data=np.array(value))
        group.create_dataset("weight", data=np.full((1, 1, 2, 2), 32.0, np.float32))
        neuron = group.create_group("neuron")
        neuron.create_dataset("type", data="CUBA")
        for key, value in (("iDecay", 4096), ("vDecay", 4096), ("vThMant", 40), ("refDelay", 1)):
            neuron.create_dataset(key, data=value)
    network = Network.from_netx(path)
    pool = network.layers[0]
    assert isinstance(pool, ConvLayer) and pool.groups == 3 and pool.weights.shape == (3, 1, 2, 2)
    assert any("pool" in note for note in network.metadata["notes"])
    # a sum pool, no memory (du = dv = 4096): an output spikes when its own 2x2 window carries two spikes or more
    # (one gives 32 << 6 = 2048, below vth << 6 = 2560), whatever its neighbours or the other channels carry
    spikes = np.zeros((1, 3, 4, 4, 3), np.uint8)
    spikes[0, 1, :2, :2, 0] = [[1, 1], [1, 0]]  # three spikes into channel 1's first window
    spikes[0, 2, 2:, 2:, 0] = [[1, 0], [0, 0]]  # one into channel 2's last window
    spikes[0, 0, 1:3, 1:3, 0] = [[1, 0], [0, 1]]  # two in channel 0, but in two different windows
    output = simulate(network, spikes).output.reshape(3, 2, 2, 3)
    assert output[1, 0, 0, 1] == 1 and output.sum() == 1
    rewritten = Network.from_netx(network.to_netx(tmp_path / "pool_as_conv.net"))
    assert rewritten.equals(network)


def test_inputs_come_flat_or_as_maps_and_drive_is_checked():
    conv = ConvLayer(np.ones((1, 2, 2, 2), int) * 40, (2, 3, 3), du=100, dv=100, vth=20)
    network = Network((conv,))
    maps = (np.random.default_rng(0).random((2, 2, 3, 3, 5)) < 0.5).astype(np.uint8)
    np.testing.assert_array_equal(check_spikes(network, maps), maps.reshape(2, 18, 5))
    with pytest.raises(HardwareError, match=r"takes \(batch, 2, 3, 3, T\)"):
        check_spikes(network, np.zeros((2, 3, 3, 2, 5)))
    driven = Network((InputLayer(shape=(2, 3, 3), du=0, dv=0, vth=10), conv))
    assert check_spikes(driven, np.full((1, 18, 4), 70)).dtype == np.int64
    with pytest.raises(HardwareError, match="outside the bias mantissa range"):
        check_spikes(driven, np.full((1, 18, 4), 5000))
    with pytest.raises(HardwareError, match="NaN"):
        check_spikes(driven, np.full((1, 18, 4), np.nan))


def test_a_readout_never_spikes_and_reports_its_voltage():
    rng = np.random.default_rng(3)
    hidden = DenseLayer(rng.integers(0, 200, (4, 6)), du=100, dv=100, vth=10)
    readout = DenseLayer(rng.integers(-50, 100, (2, 4)), du=0, dv=0, vth=0, neuron=False)
    result = simulate(Network((hidden, readout)), (rng.random((3, 6, 20)) < 0.5).astype(np.uint8), record_layers=True)
    assert result.output.sum() == 0 and result.layers[0].sum() > 0
    # a non-leaky integrator: v is the running sum of what arrived, each spike's weight << 6
    arrived = np.einsum("oi,bit->bot", readout.effective_weights(), result.layers[0].astype(np.int64))
    expected = np.cumsum(np.concatenate([np.zeros_like(arrived[..., :1]), arrived[..., :-1]], axis=-1), axis=-1) << 6
    np.testing.assert_array_equal(result.voltage, expected)


def test_netx_files_with_unloadable_values_are_refused(tmp_path):
    network = _mixed_network(np.random.default_rng(0))
    path = network.to_netx(tmp_path / "mixed.net")
    with h5py.File(path, "a") as handle:
        weight = handle["layer/1/weight"][()]
        weight[0, 0, 0, 0] = np.inf
        del handle["layer/1/weight"]
        handle["layer/1"].create_dataset("weight", data=weight)
        del handle["layer/4/neuron/vDecay"]
        handle["layer/4/neuron"].create_dataset("vDecay", data=np.nan)
    with pytest.raises(NetxFormatError) as error:
        Network.from_netx(path)
    assert "layer 1: weight contains NaN or infinity" in str(error.value)
    assert "layer 4: neuron/vDecay contains NaN or infinity" in str(error.value)


def test_brian2_refuses_what_it_does_not_model():
    conv = ConvLayer(np.ones((1, 2, 2, 2), int) * 40, (2, 3, 3), du=100, dv=100, vth=20)
    with pytest.raises(HardwareError, match="brian2 backend is a floating-point cross-check of dense stacks"):
        simulate(Network((conv,)), np.zeros((1, 18, 3), np.uint8), backend="brian2")
