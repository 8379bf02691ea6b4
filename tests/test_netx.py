"""netx HDF5 I/O: lava-dl export -> Network -> netx -> Lava, checked against Lava itself."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
from _lava_helpers import export_slayer_network, random_spikes

from hw_models import DenseLayer, HardwareError, Network, NetxFormatError
from hw_models.backends.lava import run_netx_per_sample
from hw_models.lava_compat import ensure_lava_importable
from hw_models.netx import optimize_weight_bits


@pytest.mark.lava
@pytest.mark.parametrize("delay", [False, True], ids=["no-delay", "axonal-delay"])
def test_lava_dl_export_round_trip_runs_identically_in_lava(tmp_path, delay):
    original = export_slayer_network(tmp_path / "original.net", sizes=(12, 10, 4), delay=delay)
    network = Network.from_netx(original)
    assert network.shape == (12, 10, 4)
    assert (network.layers[0].delays is not None) == delay
    if delay:
        assert network.layers[0].max_delay == 4, "the delays set on the slayer block must reach the file"
    rewritten = network.to_netx(tmp_path / "rewritten.net")
    assert Network.from_netx(rewritten).equals(network)

    spikes = random_spikes(2, 12, 24, density=0.4, seed=1)
    expected = run_netx_per_sample(original, spikes)
    actual = run_netx_per_sample(rewritten, spikes)
    assert expected.sum() > 5, "the test network must actually spike"
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.lava
def test_weight_encoding_matches_lava_dl_netx():
    ensure_lava_importable()
    from lava.lib.dl.netx.utils import optimize_weight_bits as lava_optimize

    rng = np.random.default_rng(3)
    cases = [
        rng.integers(-128, 128, (5, 7)) * 2,
        rng.integers(0, 200, (5, 7)),
        -rng.integers(1, 256, (5, 7)),
        rng.integers(-3, 4, (5, 7)) * 16,
        np.array([[1, -1], [0, 2]]),
    ]
    for weights in cases:
        ours = optimize_weight_bits(weights)
        theirs = lava_optimize(weights)
        np.testing.assert_array_equal(ours[0], theirs[0])
        assert ours[1:] == (theirs[1], theirs[2])


def test_written_file_has_lava_dl_layout(tmp_path):
    layer = DenseLayer(weights=np.array([[2, -4], [6, 0]]), du=1024, dv=128, vth=80, delays=np.array([[0, 3], [1, 2]]))
    path = Network((layer,)).to_netx(tmp_path / "net.net")
    with h5py.File(path) as handle:
        group = handle["layer/0"]
        assert group["type"][0] == b"dense"
        assert group["neuron/iDecay"][()] == 1024 and group["neuron/vDecay"][()] == 128
        assert group["neuron/vThMant"][()] == 80
        np.testing.assert_array_equal(group["weight"][()], [[2, -4], [6, 0]])
        np.testing.assert_array_equal(group["delay"][()], [[0, 3], [1, 2]])
    assert Network.from_netx(path).layers[0].delays.tolist() == [[0, 3], [1, 2]]


def test_netx_effective_weights_respect_exponent_and_bits(tmp_path):
    # Mixed sign, 3 weight bits: Lava drops the 8 - 3 + 1 = 6 low bits with an arithmetic (flooring) shift.
    layer = DenseLayer(weights=np.array([[37, -70, 5]]), du=0, dv=0, vth=10, num_weight_bits=3, weight_exponent=1)
    effective = layer.effective_weights()
    np.testing.assert_array_equal(effective, (np.array([[37, -70, 5]]) >> 6) << 6)
    path = Network((layer,)).to_netx(tmp_path / "n.net")
    with h5py.File(path) as handle:
        np.testing.assert_array_equal(handle["layer/0/weight"][()], effective * 2)


def test_unrepresentable_weights_are_refused_and_leave_no_file(tmp_path):
    layer = DenseLayer(weights=np.array([[3, -5]]), du=0, dv=0, vth=10, weight_exponent=-2)
    target = tmp_path / "n.net"
    with pytest.raises(HardwareError, match="multiples of 4"):
        Network((layer,)).to_netx(target)
    assert os.listdir(tmp_path) == []


def test_failed_write_keeps_previous_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "n.net"
    good = Network((DenseLayer(weights=np.array([[4, 8]]), du=0, dv=0, vth=10),))
    good.to_netx(target)
    before = target.read_bytes()

    import hw_models.netx as netx_module

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(netx_module, "_write_dense", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        good.to_netx(target)
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["n.net"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a readable HDF5 file"),
        (b"this is a text file, not HDF5\n" * 10, "not a readable HDF5 file"),
    ],
)
def test_non_hdf5_files_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.net"
    path.write_bytes(content)
    with pytest.raises(NetxFormatError, match=message) as error:
        Network.from_netx(path)
    assert str(path) in str(error.value)


def test_truncated_file_gives_one_clear_error(tmp_path):
    good = Network((DenseLayer(weights=np.full((30, 40), 6), du=0, dv=0, vth=10),)).to_netx(tmp_path / "good.net")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.net"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(NetxFormatError) as error:
        Network.from_netx(truncated)
    assert str(truncated) in str(error.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(NetxFormatError, match="does not exist"):
        Network.from_netx(tmp_path / "nope.net")


def _write_layer(path, layer_type=b"dense", neuron_type="CUBA", graded=False):
    with h5py.File(path, "w") as handle:
        group = handle.create_group("layer/0")
        group.create_dataset("type", (1,), "S10", [layer_type])
        group.create_dataset("shape", data=np.array([2]))
        group.create_dataset("weight", data=np.ones((2, 3), np.float32) * 4)
        neuron = group.create_group("neuron")
        neuron.create_dataset("type", data=neuron_type)
        for key, value in (("iDecay", 100), ("vDecay", 100), ("vThMant", 50), ("refDelay", 1)):
            neuron.create_dataset(key, data=value)
        neuron.create_dataset("gradedSpike", data=graded)
    return path


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"layer_type": b"average"}, "layer type 'average' is not supported"),
        ({"neuron_type": "RF"}, "neuron type 'RF' is not supported"),
        ({"graded": True}, "graded spikes are not supported"),
    ],
)
def test_unsupported_layers_and_neurons_are_refused(tmp_path, kwargs, message):
    path = _write_layer(tmp_path / "x.net", **kwargs)
    with pytest.raises(NetxFormatError, match=message):
        Network.from_netx(path)


def test_every_unsupported_feature_is_named_in_one_error(tmp_path):
    path = _write_layer(tmp_path / "x.net", neuron_type="SDNN", graded=True)
    with h5py.File(path, "a") as handle:
        handle.create_group("layer/1").create_dataset("type", (1,), "S10", [b"concat"])
        group = handle["layer/0"]
        del group["weight"]
        group.create_dataset("weight", data=np.array([[np.nan, 1, 2], [1, 2, 3]], np.float32))
    with pytest.raises(NetxFormatError) as error:
        Network.from_netx(path)
    message = str(error.value)
    for expected in ("layer 0: weight contains NaN", "layer 1: layer type 'concat' is not supported"):
        assert expected in message


def test_negative_and_non_finite_delays_are_refused(tmp_path):
    for delay in (np.array([-1.0, 0, 2]), np.array([np.nan, 0, 2])):
        path = _write_layer(tmp_path / "d.net")
        with h5py.File(path, "a") as handle:
            handle["layer/0"].create_dataset("delay", data=delay.astype(np.float32))
        with pytest.raises(NetxFormatError, match="delay contains"):
            Network.from_netx(path)


def test_hdf5_without_layers_is_not_a_network(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("data", data=np.arange(3))
    with pytest.raises(NetxFormatError, match="no 'layer' group"):
        Network.from_netx(path)
