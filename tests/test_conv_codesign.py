"""Convolutional co-design: generated gestures, event-format readers, architectures, conv training, devices."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from codesign.config import parse_config
from codesign.errors import CodesignError
from codesign.training import TrainingData, train
from codesign.training.architecture import build_architecture
from encoders import load_dataset
from encoders.errors import EncodingError
from encoders.gestures import DIRECTIONS, SHAPES, render
from hw_models import Network
from hw_models.network import ConvLayer, DenseLayer

ARCH = {"hidden_size": 16, "hidden_layers": 0, "conv_layers": 1, "conv_channels": 4, "kernel_size": 3,
        "conv_stride": 1, "pool": 1}


@pytest.mark.parametrize("direction", range(len(DIRECTIONS)))
def test_gestures_lead_with_on_events_in_their_direction(direction):
    events = render(direction, size=32, timesteps=20, rng=np.random.default_rng(direction), extent=6, speed=0.8)
    on, off = np.argwhere(events[1]), np.argwhere(events[0])  # rows: (y, x, t)
    assert len(on) and len(off)
    axis = 1 if DIRECTIONS[direction] in ("right", "left") else 0
    sign = 1 if DIRECTIONS[direction] in ("right", "down") else -1
    # a moving object brightens the pixels ahead of it (ON) and darkens those it leaves (OFF)
    assert sign * (on[:, axis].mean() - off[:, axis].mean()) > 0
    late, early = on[on[:, 2] > 10], on[on[:, 2] <= 10]
    assert sign * (late[:, axis].mean() - early[:, axis].mean()) > 0, "the ON front moves in the class's direction"


def test_gestures_dataset_is_balanced_spatial_and_seeded():
    first = load_dataset("gestures", n_samples=64, seed=3, noise_rate=0.0)
    again = load_dataset("gestures", n_samples=64, seed=3, noise_rate=0.0)
    assert first.input_shape == (2, 16, 16) and first.n_classes == len(SHAPES) * len(DIRECTIONS)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    labels = np.concatenate([first.train.y, first.validation.y, first.test.y])
    assert np.all(np.bincount(labels) == 8)
    with pytest.raises(EncodingError, match="downsample"):
        load_dataset("gestures", downsample=0)


def _write_nmnist_bin(path, x, y, p, t):
    data = np.zeros((len(x), 5), np.uint8)
    data[:, 0], data[:, 1] = x, y
    data[:, 2] = (np.asarray(p) << 7) | ((np.asarray(t) >> 16) & 0x7F)
    data[:, 3], data[:, 4] = (np.asarray(t) >> 8) & 0xFF, np.asarray(t) & 0xFF
    path.write_bytes(data.tobytes())


def test_nmnist_binary_files_bin_into_polarity_maps(tmp_path):
    for digit in (3, 7):
        folder = tmp_path / "Train" / str(digit)
        folder.mkdir(parents=True)
        for k in range(5):  # one ON event at (x=digit, y=k) at t = 1000 us, one OFF event at (x=1, y=2) later
            _write_nmnist_bin(folder / f"{k:05d}.bin", [digit, 1], [k, 2], [1, 0], [1000, 250_000])
    dataset = load_dataset("nmnist", path=tmp_path / "Train", timesteps=10, duration=300_000.0,
                           validation_fraction=0.2, test_fraction=0.2)
    assert dataset.input_shape == (2, 34, 34) and set(np.unique(dataset.train.y)) == {3, 7}
    maps = dataset.train.x.reshape(-1, 2, 34, 34, 10)
    for sample, label in zip(maps, dataset.train.y):
        on = np.argwhere(sample[1])
        assert len(on) == 1 and on[0][1] == label and on[0][2] == 0, "ON event at x = digit, in the first step"
        assert sample[0, 2, 1, 8] == 1 and sample[0].sum() == 1, "OFF event at (y=2, x=1), step 250000/300000*10 = 8"
    with pytest.raises(EncodingError, match="path file not found: .*missing"):
        load_dataset("nmnist", path=tmp_path / "missing")
    (tmp_path / "Train" / "3" / "broken.bin").write_bytes(b"\x00" * 7)
    with pytest.raises(EncodingError, match="broken.bin' is 7 bytes"):
        load_dataset("nmnist", path=tmp_path / "Train", max_samples=None, validation_fraction=0.2, test_fraction=0.2)


def test_dvs_gesture_tonic_layout_reads_labels_from_file_names(tmp_path):
    rng = np.random.default_rng(0)
    for user in ("user01_fluorescent", "user02_led", "user03_natural"):
        (tmp_path / user).mkdir()
        for label in (0, 4, 10):
            events = np.stack([np.full(6, label * 8), np.full(6, 5), np.ones(6), np.sort(rng.integers(0, 1400, 6))], 1)
            np.save(tmp_path / user / f"{label}.npy", events)
    dataset = load_dataset("dvs_gesture", path=tmp_path, timesteps=14, validation_fraction=0.2, test_fraction=0.2)
    assert dataset.input_shape == (2, 32, 32) and dataset.n_classes == 11
    maps = dataset.train.x.reshape(-1, 2, 32, 32, 14)
    for sample, label in zip(maps, dataset.train.y):
        assert sample[1, 5 // 4, label * 8 // 4].any() and sample.sum() == sample[1, 1, label * 2].sum()
    np.save(tmp_path / "user01_fluorescent" / "2.npy", np.array([[1.0, 2.0, np.nan, 3.0]]))
    with pytest.raises(EncodingError, match="2.npy' contains NaN"):
        load_dataset("dvs_gesture", path=tmp_path, validation_fraction=0.2, test_fraction=0.2)


def test_architecture_shapes_and_impossible_ones():
    conv = build_architecture({**ARCH, "conv_layers": 2, "conv_stride": 2, "pool": 2}, (2, 16, 16), 512, 8)
    assert conv.problem is None
    assert [spec.out_map for spec in conv.convs] == [(8, 8), (2, 2)] and [spec.pooled_map for spec in conv.convs] == [(4, 4), (1, 1)]
    assert conv.dense_sizes == (4 * 1 * 1, 8)
    assert "larger than its 4x4 input map" in build_architecture({**ARCH, "kernel_size": 5}, (1, 4, 4), 16, 3).problem
    assert "pooling leaves nothing" in build_architecture({**ARCH, "pool": 4, "kernel_size": 1}, (1, 2, 2), 4, 3).problem
    assert "needs 2-D samples" in build_architecture(ARCH, None, 30, 3).problem
    assert build_architecture({**ARCH, "conv_layers": 0}, (1, 8, 8), 64, 10).dense_sizes == (64, 10)
    growing = build_architecture({**ARCH, "conv_layers": 3, "channel_growth": 2}, (2, 8, 8), 128, 3)
    assert [spec.out_channels for spec in growing.convs] == [4, 8, 16] and growing.dense_sizes[0] == 16 * 8 * 8


def _gestures_data(samples=48):
    dataset = load_dataset("gestures", n_samples=samples, seed=0, size=16, downsample=2, timesteps=12)
    return TrainingData(dataset.train.x, dataset.train.y, dataset.validation.x, dataset.validation.y, dataset.n_classes,
                        input_shape=dataset.input_shape)


@pytest.mark.parametrize("trainer, extra", [
    ("slayer", {"epochs": 2, "pool": 2}),
    ("hybrid", {"ann_epochs": 3, "finetune_epochs": 1, "pool": 2}),
])
def test_conv_trainers_export_a_netx_conv_network(tmp_path, trainer, extra):
    hardware = {"weight_bits": 6, "vth": 40, "du": 2048, "dv": 256}
    result = train(trainer, {**ARCH, **extra, **hardware}, _gestures_data(), seed=0, artifact_path=tmp_path, device="cpu")
    assert result.status == "complete", result.reason
    assert result.device == "cpu"
    kinds = [type(layer) for layer in result.network.layers]
    assert kinds == [ConvLayer, ConvLayer, DenseLayer], "conv, its pool (as a depthwise conv), the output layer"
    assert result.network.layers[1].groups == 4 and result.network.layers[1].stride == (2, 2)
    with h5py.File(tmp_path / "network.net") as handle:
        types = [handle[f"layer/{i}/type"][0].decode() for i in range(len(handle["layer"]))]
    assert types == ["input", "conv", "conv", "flatten", "dense"], "no pool layer left: netx loads every one"
    assert Network.from_netx(tmp_path / "network.net").equals(result.network)
    assert 0.0 <= result.hardware_validation_accuracy <= 1.0


def test_architectures_that_do_not_fit_end_as_infeasible_trials():
    data = _gestures_data(24)
    result = train("slayer", {**ARCH, "kernel_size": 9, "pool": 1}, data, seed=0, device="cpu")
    assert result.status == "infeasible" and "larger than its 8x8 input map" in result.reason
    flat = TrainingData(data.train_spikes, data.train_labels, data.validation_spikes, data.validation_labels, data.n_classes)
    result = train("slayer", ARCH, flat, seed=0, device="cpu")
    assert result.status == "infeasible" and "needs 2-D samples" in result.reason


def test_run_device_is_checked_and_cuda_without_a_gpu_fails_the_trial():
    assert parse_config({"run": {"device": "cpu"}})["run"]["device"] == "cpu"
    with pytest.raises(CodesignError, match="run.device"):
        parse_config({"run": {"device": "gpu"}})
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = train("slayer", {**ARCH, "conv_layers": 0, "epochs": 1}, _gestures_data(24), seed=0, device="cuda")
    assert result.status == "failed" and "no CUDA GPU" in result.reason
