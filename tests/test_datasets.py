"""Datasets: one loader interface, stratified seeded splits, file readers on files written here."""

import json

import h5py
import numpy as np
import pytest

from encoders import DATASET_NAMES, EncodingError, dataset_options, get_encoder, load_dataset
from encoders.splits import build_dataset, stratified_split
from encoders.tabular import features_source

TONIC_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])


def events(*rows):
    """Tonic-style structured events from (x, y, t, p) tuples."""
    return np.array(list(rows), dtype=TONIC_DTYPE)


def write_shd(path, samples, labels, time_dtype=np.float16):
    """A file in SHD's layout: vlen spikes/times (s) and spikes/units, plus labels."""
    with h5py.File(path, "w") as handle:
        times = handle.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype(np.dtype(time_dtype)))
        units = handle.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype(np.dtype(np.uint16)))
        for i, (sample_times, sample_units) in enumerate(samples):
            times[i] = np.asarray(sample_times, dtype=time_dtype)
            units[i] = np.asarray(sample_units, dtype=np.uint16)
        handle.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
    return path


def all_x(dataset):
    return np.concatenate([dataset.train.x, dataset.validation.x, dataset.test.x])


def all_y(dataset):
    return np.concatenate([dataset.train.y, dataset.validation.y, dataset.test.y])


# ---------------------------------------------------------------- tabular and splitting


def test_names():
    assert DATASET_NAMES == ("digits", "iris", "wine", "breast_cancer", "shd", "events", "moving_dots", "gestures", "nmnist",
                             "dvs_gesture", "moving_shapes")


@pytest.mark.parametrize("name,samples,n_features,n_classes", [
    ("digits", 1797, 64, 10), ("iris", 150, 4, 3), ("wine", 178, 13, 3), ("breast_cancer", 569, 30, 2),
])
def test_tabular_datasets_are_split_stratified_and_scaled(name, samples, n_features, n_classes):
    data = load_dataset(name, seed=3)
    assert (data.kind, data.n_features, data.n_classes, data.timesteps) == ("features", n_features, n_classes, None)
    assert len(data.train) + len(data.validation) + len(data.test) == samples
    assert abs(len(data.test) - 0.2 * samples) <= n_classes and abs(len(data.validation) - 0.2 * samples) <= n_classes
    totals = np.bincount(all_y(data), minlength=n_classes)
    for split in (data.train, data.validation, data.test):
        assert split.y.dtype == np.int64 and split.x.shape == (len(split), n_features)
        assert np.all(split.x >= 0) and np.all(split.x <= 1)
        share = np.bincount(split.y, minlength=n_classes) / len(split)
        np.testing.assert_allclose(share, totals / samples, atol=0.03)  # stratified
    varying = data.train.x.max(axis=0) > data.train.x.min(axis=0)
    np.testing.assert_allclose(data.train.x.min(axis=0), 0)  # train statistics define the scale
    np.testing.assert_allclose(data.train.x.max(axis=0)[varying], 1)
    json.dumps(data.describe())


def test_splits_are_seeded_and_disjoint():
    first, again, other = (load_dataset("iris", seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(first.train.x, again.train.x)
    np.testing.assert_array_equal(first.test.y, again.test.y)
    assert not np.array_equal(first.train.x, other.train.x)
    labels = np.arange(90) % 3
    parts = stratified_split(labels, (0.2, 0.2), np.random.default_rng(0))
    assert [len(p) for p in parts] == [54, 18, 18]
    assert sorted(np.concatenate(parts).tolist()) == list(range(90))  # disjoint and complete
    assert [np.bincount(labels[p]).tolist() for p in parts] == [[18] * 3, [6] * 3, [6] * 3]


def test_fractions_and_max_samples():
    data = load_dataset("digits", seed=0, validation_fraction=0.1, test_fraction=0.3, max_samples=200)
    assert len(data.train) + len(data.validation) + len(data.test) == 200
    assert abs(len(data.test) - 60) <= 10 and abs(len(data.validation) - 20) <= 10
    assert np.bincount(all_y(data), minlength=10).min() >= 19  # proportions kept by the subsample
    no_holdout = load_dataset("iris", validation_fraction=0.0, test_fraction=0.0)
    assert len(no_holdout.train) == 150 and len(no_holdout.test) == 0 and no_holdout.test.x.shape == (0, 4)


def test_tiny_classes_keep_a_training_sample():
    x, y = np.random.default_rng(0).random((7, 2)), np.array([0, 0, 0, 0, 0, 1, 2])
    data = build_dataset("tiny", features_source(x, y, "tiny"), rng=np.random.default_rng(0),
                         validation_fraction=0.3, test_fraction=0.3)
    assert set(data.train.y.tolist()) == {0, 1, 2}


def test_encoding_a_loaded_dataset():
    data = load_dataset("wine", seed=0)
    encoder = get_encoder("population", bins=4, code="latency")
    spikes = encoder.encode(data.train.x, 16, seed=0)
    assert spikes.shape == (len(data.train), encoder.channels(data.n_features), 16)


def test_bad_dataset_requests():
    with pytest.raises(EncodingError, match="unknown dataset 'mnistt'.*'digits', 'iris'.*'moving_dots'"):
        load_dataset("mnistt")
    with pytest.raises(EncodingError, match=r"unknown option\(s\) \['timestep'\].*'timesteps'"):
        load_dataset("moving_dots", timestep=10)
    with pytest.raises(EncodingError, match=r"test_fraction = 1\.5 is out of range \[0, 1\)"):
        load_dataset("iris", test_fraction=1.5)
    with pytest.raises(EncodingError, match="leaves no training data"):
        load_dataset("iris", test_fraction=0.5, validation_fraction=0.5)
    with pytest.raises(EncodingError, match="'max_samples' = 0"):
        load_dataset("iris", max_samples=0)
    with pytest.raises(EncodingError, match=r"option 'size' = 1 is out of range \[2, 256\]"):
        load_dataset("moving_dots", size=1)
    assert set(dataset_options("shd")) >= {"path", "test_path", "timesteps", "duration_s", "unit_pool"}


def test_nan_features_raise():
    x = np.random.default_rng(0).random((20, 3))
    x[4, 1] = np.nan
    with pytest.raises(EncodingError, match=r"NaN/inf"):
        build_dataset("table", features_source(x, np.arange(20) % 2, "table"), rng=np.random.default_rng(0),
                      validation_fraction=0.2, test_fraction=0.2)


# ---------------------------------------------------------------- SHD


def test_shd_reader_bins_spikes(tmp_path):
    samples = [([0.0, 0.05, 0.26, 0.99, 1.3], [0, 3, 3, 699, 5]), ([0.5], [10]), ([], []), ([0.7, 0.71], [2, 2])]
    path = write_shd(tmp_path / "shd_train.h5", samples, [0, 1, 0, 1])
    data = load_dataset("shd", path=str(path), timesteps=4, duration_s=1.0, validation_fraction=0.0, test_fraction=0.0)
    assert (data.kind, data.n_features, data.timesteps, data.n_classes) == ("spikes", 700, 4, 2)
    by_label = {}
    for x, y in zip(data.train.x, data.train.y):
        by_label.setdefault(int(y), []).append(x)
    first = next(x for x in by_label[0] if x.any())
    assert first.dtype == np.uint8
    assert sorted(zip(*np.nonzero(first))) == [(0, 0), (3, 0), (3, 1), (699, 3)]  # 1.3 s is past the window
    assert sorted(int(x.sum()) for x in by_label[1]) == [1, 1]  # two spikes in one bin count once


def test_shd_unit_pool_test_file_and_max_samples(tmp_path):
    rng = np.random.default_rng(0)
    samples = [(np.sort(rng.random(30)), rng.integers(0, 700, 30)) for _ in range(40)]
    train = write_shd(tmp_path / "train.h5", samples, np.arange(40) % 4, time_dtype=np.float32)
    test = write_shd(tmp_path / "test.h5", samples[:12], np.arange(12) % 4)
    data = load_dataset("shd", path=train, test_path=test, timesteps=10, unit_pool=7, validation_fraction=0.25)
    assert data.n_features == 100 and data.train.x.shape[1:] == (100, 10)
    assert (len(data.train), len(data.validation), len(data.test)) == (30, 10, 12)
    assert data.info["test_path"] == str(test)
    small = load_dataset("shd", path=train, test_path=test, max_samples=8, validation_fraction=0.25)
    assert (len(small.train) + len(small.validation), len(small.test)) == (8, 8)


def test_shd_errors_name_the_file_and_key(tmp_path):
    missing = tmp_path / "nowhere" / "shd_train.h5"
    with pytest.raises(EncodingError, match=f"path file not found: '{missing}'"):
        load_dataset("shd", path=missing)
    with pytest.raises(EncodingError, match="option 'path' is required"):
        load_dataset("shd")
    broken = tmp_path / "broken.h5"
    with h5py.File(broken, "w") as handle:
        handle.create_dataset("labels", data=[0])
    with pytest.raises(EncodingError, match=f"'{broken}' has no 'spikes/times'"):
        load_dataset("shd", path=broken)
    not_hdf5 = tmp_path / "text.h5"
    not_hdf5.write_text("hello")
    with pytest.raises(EncodingError, match="cannot read"):
        load_dataset("shd", path=not_hdf5)
    wide = write_shd(tmp_path / "wide.h5", [([0.1], [800])] * 4, [0, 1, 0, 1])
    with pytest.raises(EncodingError, match="unit 800 outside"):
        load_dataset("shd", path=wide)
    with pytest.raises(EncodingError, match=r"'duration_s' = 0\.0 is out of range"):
        load_dataset("shd", path=wide, duration_s=0.0)


# ---------------------------------------------------------------- tonic-style events


def _event_samples():
    return [
        (events((0, 0, 0, True), (3, 1, 50, False), (3, 1, 99, True)), 0),
        (events((1, 0, 10, False), (2, 1, 20, True)), 1),
        (events((0, 1, 0, True), (1, 1, 100, True)), 0),
        (events((2, 0, 5, True)), 1),
    ]


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_events_directory_layout(tmp_path, suffix):
    for i, (sample_events, label) in enumerate(_event_samples()):
        path = tmp_path / f"sample_{i:03d}{suffix}"
        if suffix == ".npz":
            np.savez(path, events=sample_events, label=label)
        else:
            with h5py.File(path, "w") as handle:
                handle["events"] = sample_events
                handle["label"] = label
    data = load_dataset("events", path=tmp_path, sensor_size=(4, 2, 2), timesteps=4,
                        validation_fraction=0.0, test_fraction=0.0)
    assert (data.n_features, data.timesteps, data.n_classes) == (16, 4, 2)
    x = data.train.x[np.argsort(data.train.y, kind="stable")]
    frames = x.reshape(len(x), 2, 2, 4, 4)  # (N, P, H, W, T)
    first = next(f for f in frames if f.sum() == 3)  # sample 0: its own span [0, 99] cut in 4 steps
    assert first[1, 0, 0, 0] == 1 and first[0, 1, 3, 2] == 1 and first[1, 1, 3, 3] == 1


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_events_packed_layout_with_duration_and_downsample(tmp_path, suffix):
    samples = _event_samples()
    packed = np.concatenate([e for e, _ in samples])
    offsets = np.cumsum([0] + [len(e) for e, _ in samples])
    labels = np.array([label for _, label in samples])
    path = tmp_path / f"packed{suffix}"
    if suffix == ".npz":
        np.savez(path, events=packed, offsets=offsets, labels=labels)
    else:
        with h5py.File(path, "w") as handle:
            handle["events"], handle["offsets"], handle["labels"] = packed, offsets, labels
    data = load_dataset("events", path=path, sensor_size=(4, 2, 2), timesteps=2, duration=100, downsample=2,
                        validation_fraction=0.0, test_fraction=0.0)
    assert data.n_features == 2 * 1 * 2
    x = data.train.x[np.argsort(data.train.y, kind="stable")]
    # sample 2 (label 0): event at t=0 on pixel (0, 1) ON; the one at t=100 falls outside [0, 100)
    assert any(np.array_equal(np.nonzero(s)[0], [2]) and s.sum() == 1 for s in x[:2])
    single_polarity = load_dataset("events", path=path, sensor_size=(4, 2, 1), timesteps=3)
    assert single_polarity.n_features == 8


def test_events_errors(tmp_path):
    np.savez(tmp_path / "a.npz", events=np.zeros(3, dtype=[("x", "<i2"), ("t", "<i8")]), label=0)
    np.savez(tmp_path / "b.npz", events=events((9, 0, 1, True)), label=1)
    with pytest.raises(EncodingError, match=r"'sensor_size' is required"):
        load_dataset("events", path=tmp_path)
    with pytest.raises(EncodingError, match=r"lack field\(s\) \['p'\]"):
        load_dataset("events", path=tmp_path, sensor_size=(4, 4, 2), validation_fraction=0, test_fraction=0)
    (tmp_path / "a.npz").unlink()
    with pytest.raises(EncodingError, match=r"b\.npz' has x = 9 outside \[0, 4\)"):
        load_dataset("events", path=tmp_path, sensor_size=(4, 4, 2), validation_fraction=0, test_fraction=0)
    with pytest.raises(EncodingError, match="polarities"):
        load_dataset("events", path=tmp_path, sensor_size=(16, 4, 3))
    with pytest.raises(EncodingError, match="events file not found|path file not found"):
        load_dataset("events", path=tmp_path / "missing.npz", sensor_size=(4, 4, 2))
    np.savez(tmp_path / "bad_packed.npz", events=events((0, 0, 0, True)), offsets=[0, 5], labels=[0])
    with pytest.raises(EncodingError, match="'offsets' must be"):
        load_dataset("events", path=tmp_path / "bad_packed.npz", sensor_size=(4, 4, 2))
    np.savez(tmp_path / "no_labels.npz", events=events((0, 0, 0, True)), offsets=[0, 1])
    with pytest.raises(EncodingError, match=r"no_labels\.npz' has no \['labels'\]"):
        load_dataset("events", path=tmp_path / "no_labels.npz", sensor_size=(4, 4, 2))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EncodingError, match="holds no"):
        load_dataset("events", path=empty, sensor_size=(4, 4, 2))


# ---------------------------------------------------------------- moving dots


def _count_centroid_accuracy(data):
    counts = data.train.x.sum(axis=-1).astype(float)
    centroids = np.stack([counts[data.train.y == c].mean(axis=0) for c in range(data.n_classes)])
    test_counts = data.test.x.sum(axis=-1).astype(float)
    predicted = np.argmin(((test_counts[:, None, :] - centroids) ** 2).sum(-1), axis=1)
    return float(np.mean(predicted == data.test.y))


def test_moving_dots_direction_is_in_timing_only():
    data = load_dataset("moving_dots", seed=0, n_samples=600, size=8, timesteps=32, test_fraction=0.3)
    assert (data.kind, data.n_features, data.timesteps, data.n_classes) == ("spikes", 8, 32, 2)
    assert _count_centroid_accuracy(data) < 0.65  # spike counts per pixel: chance
    x = data.test.x.astype(float)
    steps = np.arange(32)
    time_of_pixel = (x * steps).sum(-1) / np.maximum(x.sum(-1), 1)
    slope = np.polyfit(np.arange(8), time_of_pixel.T, 1)[0]
    assert np.mean((slope < 0) == (data.test.y == 1)) > 0.95  # timing: near perfect


def test_moving_dots_classes_are_time_reversals():
    data = load_dataset("moving_dots", seed=1, n_samples=64, noise_rate=0.0, validation_fraction=0, test_fraction=0)
    for x, y in zip(data.train.x, data.train.y):
        channel, step = np.nonzero(x)
        position = channel[np.argsort(step, kind="stable")]
        assert np.all(np.diff(position) >= 0) if y == 0 else np.all(np.diff(position) <= 0)
        assert position.min() == 0 and position.max() == 7


def test_moving_dots_2d_and_seeds():
    data = load_dataset("moving_dots", seed=2, dims=2, size=5, timesteps=20, n_samples=400)
    assert (data.n_features, data.n_classes) == (25, 4)
    assert _count_centroid_accuracy(data) < 0.45
    again = load_dataset("moving_dots", seed=2, dims=2, size=5, timesteps=20, n_samples=400)
    other = load_dataset("moving_dots", seed=3, dims=2, size=5, timesteps=20, n_samples=400)
    np.testing.assert_array_equal(data.train.x, again.train.x)
    assert not np.array_equal(data.train.x, other.train.x)
    rebinned = get_encoder("none").encode(data.train.x, 5)
    assert rebinned.shape == (len(data.train), 25, 5)
