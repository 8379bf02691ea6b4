"""Sigma-delta (SDNN) networks without Lava: the representation, netx round trips, the fixed-point
rules worked by hand, and refusals that name the layer and field. Lava itself is the oracle in
tests/test_sdnn_lava.py."""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import Network, simulate
from hw_models.errors import HardwareError, NetxFormatError
from hw_models.network import ConvLayer, DenseLayer, InputLayer, SigmaDelta


def delta_input(n: int, vth: int, **model) -> InputLayer:
    return InputLayer(shape=(n,), du=0, dv=0, vth=vth, sigma_delta=SigmaDelta(role="delta", **model))


def sd_dense(weights, vth: int, role: str = "sigma_delta", bias=None, **model) -> DenseLayer:
    return DenseLayer(np.asarray(weights), du=0, dv=0, vth=vth, bias=bias, sigma_delta=SigmaDelta(role=role, **model))


def small_network(rng, bias=True) -> Network:
    return Network((
        delta_input(6, vth=2),
        sd_dense(rng.integers(-60, 80, (5, 6)), vth=3, bias=rng.integers(-3, 5, 5) if bias else None),
        sd_dense(rng.integers(-60, 80, (2, 5)), vth=0, role="sigma"),
    ))


def test_delta_input_sends_changes_above_threshold_and_keeps_the_residue():
    # frames 0, 10, 10, 11, 30 with vth 2: Lava compares |delta| (scaled by 2**12) with 2 << 12 and sends delta >> 6
    network = Network((delta_input(1, vth=2), sd_dense([[1]], vth=0, role="sigma")))
    result = simulate(network, np.array([[[0, 10, 10, 11, 30]]]), record_layers=True)
    assert result.layers[0][0, 0].tolist() == [0, 640, 0, 0, 1280]  # the change of 1 at step 3 waits in the residue
    # the sigma output integrates what arrives one step later: weight 1 (netx exponent 0) x message
    assert result.output[0, 0].tolist() == [0, 0, 640, 640, 640]
    assert result.counts.output_spikes[0].tolist() == [2, 3]
    assert result.counts.input_spikes[0].tolist() == [0, 2]


def test_cum_error_spikes_on_the_accumulated_error():
    # cum_error: error += delta; send delta when |error| >= vth; the change of 1 at step 3 is carried, then sent with step 4's
    network = Network((delta_input(1, vth=2, cum_error=True), sd_dense([[1]], vth=0, role="sigma")))
    sent = simulate(network, np.array([[[0, 10, 10, 11, 11]]]), record_layers=True).layers[0][0, 0]
    assert sent.tolist() == [0, 640, 0, 0, 64]


def test_relu_hidden_layer_and_binary_messages():
    # a hidden layer's activation is relu(sigma + bias << 12); message_bits 0 makes the next synapse see 1 per message
    hidden = sd_dense([[64], [-64]], vth=1, bias=[1, 0], message_bits=0)
    network = Network((delta_input(1, vth=1), hidden, sd_dense([[5, 7]], vth=0, role="sigma")))
    result = simulate(network, np.array([[[0, 3, 3, 3]]]), record_layers=True)
    # step 0: relu(bias 1 << 12) = 4096 -> message 64; step 2: the input's 3 * 64 (sent at step 1) x weight 64 -> 192
    assert result.layers[1][0, 0].tolist() == [64, 0, 192, 0]
    assert result.layers[1][0, 1].tolist() == [0, 0, 0, 0], "relu keeps the negative neuron silent"
    assert result.output[0, 0].tolist() == [0, 5, 5, 10], "binary messages: weight 5 per message, whatever the payload"


def test_graded_networks_are_all_sigma_delta_and_roles_fit_their_place():
    cuba = DenseLayer(np.ones((2, 6), int), du=0, dv=0, vth=10)
    with pytest.raises(HardwareError, match=r"layers \[1\] are CUBA"):
        Network((delta_input(6, vth=1), cuba))
    with pytest.raises(HardwareError, match="only an input layer has 'delta' neurons"):
        sd_dense(np.ones((2, 3), int), vth=1, role="delta")
    with pytest.raises(HardwareError, match="an input layer's sigma-delta neurons are 'delta'"):
        InputLayer(shape=(3,), du=0, dv=0, vth=1, sigma_delta=SigmaDelta(role="sigma"))
    with pytest.raises(HardwareError, match="du=100, but a sigma-delta neuron has no du"):
        DenseLayer(np.ones((2, 3), int), du=100, dv=0, vth=1, sigma_delta=SigmaDelta())
    with pytest.raises(HardwareError, match="activation must be one of relu, unit, got 'tanh'"):
        SigmaDelta(activation="tanh")


def test_chip_checks_name_layer_and_field():
    network = Network((delta_input(2, vth=4096), sd_dense(np.ones((2, 2), int), vth=1, message_bits=30)))
    problems = " ".join(network.problems("loihi2"))
    assert "layer 0 (input): vth=4096 scaled by 2**12 is outside the 24-bit threshold register" in problems
    assert "layer 1: sigma-delta message_bits=30 is outside [0, 24]" in problems


def test_delta_input_range_is_checked():
    network = small_network(np.random.default_rng(0))
    with pytest.raises(HardwareError, match="outside a sigma-delta input layer's frame"):
        simulate(network, np.full((1, 6, 2), 1 << 23))


def test_netx_round_trip_of_dense_and_conv_sigma_delta_layers(tmp_path):
    rng = np.random.default_rng(1)
    conv = ConvLayer(rng.integers(-50, 90, (3, 2, 3, 3)), (2, 6, 6), du=0, dv=0, vth=2, stride=2, padding=1,
                     bias=rng.integers(-2, 3, 3), sigma_delta=SigmaDelta())
    network = Network((
        InputLayer(shape=(2, 6, 6), du=0, dv=0, vth=1, sigma_delta=SigmaDelta(role="delta")),
        conv,
        sd_dense(rng.integers(-100, 100, (4, conv.n_out)), vth=0, role="sigma"),
    ))
    again = Network.from_netx(network.to_netx(tmp_path / "sd.net"))
    assert all(mine.equals(theirs) for mine, theirs in zip(network.layers[:2], again.layers[:2]))
    assert again.layers[2].weight_exponent == -1, "netx re-encodes mixed dense weights as (2 w) >> 1: the same sums"
    assert [layer.sigma_delta.role for layer in again.layers] == ["delta", "sigma_delta", "sigma"]
    assert again.message_bits() == [0, 16, 16], "netx cannot load messageBits: every SDNN layer reads back with 16"
    frames = rng.integers(0, 200, (2, network.n_inputs, 5))
    np.testing.assert_array_equal(simulate(again, frames).output, simulate(network, frames).output)


def test_what_netx_cannot_express_is_refused_on_write(tmp_path):
    layers = (delta_input(3, vth=1, cum_error=True), sd_dense(np.ones((2, 3), int), vth=1, activation="unit", spike_exp=3, message_bits=0))
    with pytest.raises(HardwareError) as error:
        Network(layers).to_netx(tmp_path / "x.net")
    message = str(error.value)
    for expected in ("layer 0 (input): sigma-delta cum_error=True", "layer 1: sigma-delta spike_exp=3, state_exp=6",
                     "layer 1: sigma-delta activation 'unit'", "layer 1: sigma-delta message_bits=0"):
        assert expected in message
    assert not (tmp_path / "x.net").exists()


def test_a_messagebits_key_is_refused_when_read(tmp_path):
    import h5py

    path = Network((delta_input(3, vth=1), sd_dense(np.ones((2, 3), int), vth=0, role="sigma"))).to_netx(tmp_path / "x.net")
    with h5py.File(path, "a") as handle:
        handle["layer/1/neuron"].create_dataset("messageBits", data=8)
    with pytest.raises(NetxFormatError, match="layer 1: neuron/messageBits: lava-dl 0.6 netx cannot load"):
        Network.from_netx(path)


def test_a_sigma_output_with_a_bias_is_refused_when_read(tmp_path):
    import h5py

    path = Network((delta_input(3, vth=1), sd_dense(np.ones((2, 3), int), vth=0, role="sigma"))).to_netx(tmp_path / "x.net")
    with h5py.File(path, "a") as handle:
        handle["layer/1"].create_dataset("bias", data=np.ones(2, np.float32))
    with pytest.raises(NetxFormatError, match="layer 1: a sigma_output layer with a bias"):
        Network.from_netx(path)


def test_counts_follow_their_definitions():
    rng = np.random.default_rng(3)
    network = small_network(rng)
    frames = np.cumsum(rng.integers(-5, 6, (3, 6, 12)), axis=2) + 50
    result = simulate(network, frames, record_layers=True)
    counts = result.counts
    for index, layer in enumerate(network.layers):
        sent = (result.layers[index] != 0).sum(axis=(1, 2))
        np.testing.assert_array_equal(counts.output_spikes[:, index], sent)
        if index:
            source = result.layers[index - 1] != 0
            np.testing.assert_array_equal(counts.input_spikes[:, index], source.sum(axis=(1, 2)))
            np.testing.assert_array_equal(counts.synaptic_ops[:, index], source.sum(axis=2) @ layer.fan_out()[0])
    assert np.all(counts.active_neuron_updates + counts.inactive_neuron_updates == np.array([6, 5, 2]) * 12)


def test_graded_messages_are_counted_and_priced_and_loihi1_refuses_them():
    from hw_models.energy import measure_energy

    rng = np.random.default_rng(4)
    network = small_network(rng)
    frames = np.cumsum(rng.integers(-5, 6, (2, 6, 10)), axis=2) + 50
    counts = simulate(network, frames).counts
    np.testing.assert_array_equal(counts.payload_bits, counts.input_spikes * np.array([0, 16, 16]))
    report = measure_energy(network, frames, "loihi2")
    graded_ops = counts.synaptic_ops[:, 1:].sum(axis=1).mean()
    assert report.energy_by_kind_uj["graded_payload"] == pytest.approx(graded_ops * 1.5e-6)
    assert report.payload_bits == pytest.approx(counts.payload_bits.sum(axis=1).mean())
    assert report.synaptic_ops_per_message == pytest.approx(graded_ops / counts.input_spikes.sum(axis=1).mean())
    with pytest.raises(HardwareError, match="no energy.graded_synaptic_op: it cannot price graded"):
        measure_energy(network, frames, "loihi1")
