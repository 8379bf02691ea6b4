"""Datasets by name behind one loader: `load_dataset(name, seed=..., **options)`.

Each dataset below declares its options as keyword arguments of its option check;
`check_dataset` (which `load_dataset` runs first) rejects any other option naming the known ones, so a typo in a study config fails at once instead of
silently using a default. All randomness (subsampling, splitting, synthetic generation)
comes from `seed`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

import numpy as np

from encoders.errors import EncodingError
from encoders.event_formats import dvs_gesture_source, nmnist_source
from encoders.events import events_source
from encoders.gestures import gestures_source
from encoders.options import float_option, int_option, path_option
from encoders.shd import SHD_UNITS, shd_source
from encoders.splits import Dataset, Source, build_dataset, check_fractions
from encoders.synthetic import moving_dots_source
from encoders.tabular import TABULAR_DATASETS, tabular_source
from encoders.video import moving_shapes_source

# A dataset is two steps: `options(**given)` checks every option and returns them typed (no
# file is read, so a sweep config can be checked completely before any work starts), and
# `load(rng, options)` returns (source, fixed test source or None).
Loader = Callable[..., tuple[Source, Source | None]]


@dataclass(frozen=True)
class DatasetKind:
    options: Callable[..., dict]
    load: Loader


def _no_options() -> dict:
    return {}


def _tabular(name: str) -> DatasetKind:
    def load(rng: np.random.Generator, options: dict) -> tuple[Source, None]:
        return tabular_source(name, rng), None

    return DatasetKind(_no_options, load)


def _shd_options(*, path=None, test_path=None, timesteps: int = 100, duration_s: float = 1.0,
                 n_units: int = SHD_UNITS, unit_pool: int = 1) -> dict:
    """Spiking Heidelberg Digits; `test_path` (e.g. shd_test.h5) becomes the test split when given."""
    return dict(
        path=path_option("shd", "path", path, kind="file"),
        test_path=path_option("shd", "test_path", test_path, required=False, kind="file"),
        timesteps=int_option("shd", "timesteps", timesteps, 1, 100_000),
        duration_s=float_option("shd", "duration_s", duration_s, 0.0, 1e6, low_open=True),
        n_units=int_option("shd", "n_units", n_units, 1, 1_000_000),
        unit_pool=int_option("shd", "unit_pool", unit_pool, 1, 1_000_000),
    )


def _events_options(*, path=None, test_path=None, sensor_size=None, timesteps: int = 100,
                    duration: float | None = None, downsample: int = 1) -> dict:
    """Tonic-style structured events, one file per sample in a directory or one packed file."""
    if sensor_size is None:
        raise EncodingError(
            "dataset 'events': option 'sensor_size' is required: (width, height, polarities) as tonic's "
            "Dataset.sensor_size gives it, e.g. (128, 128, 2)"
        )
    if not isinstance(sensor_size, (tuple, list)) or len(sensor_size) != 3:
        raise EncodingError(f"dataset 'events': option 'sensor_size' = {sensor_size!r} must be (width, height, polarities)")
    sensor = (int_option("events", "sensor_size[0] (width)", sensor_size[0], 1, 1_000_000),
              int_option("events", "sensor_size[1] (height)", sensor_size[1], 1, 1_000_000),
              int_option("events", "sensor_size[2] (polarities)", sensor_size[2], 1, 2))
    return dict(
        path=path_option("events", "path", path),
        test_path=path_option("events", "test_path", test_path, required=False),
        sensor_size=sensor,
        downsample=int_option("events", "downsample", downsample, 1, 1_000_000),
        timesteps=int_option("events", "timesteps", timesteps, 1, 100_000),
        duration=None if duration is None else float_option("events", "duration", duration, 0.0, 1e18,
                                                            low_open=True),
    )


def _moving_dots_options(*, n_samples: int = 512, size: int = 8, dims: int = 1, timesteps: int = 32,
                         noise_rate: float = 0.01, min_span: float = 0.5) -> dict:
    """Synthetic direction-of-motion task where only spike timing tells the classes apart."""
    dims = int_option("moving_dots", "dims", dims, 1, 2)
    return dict(
        n_samples=int_option("moving_dots", "n_samples", n_samples, 2 ** dims, 1_000_000),
        size=int_option("moving_dots", "size", size, 2, 256),
        dims=dims,
        timesteps=int_option("moving_dots", "timesteps", timesteps, 1, 100_000),
        noise_rate=float_option("moving_dots", "noise_rate", noise_rate, 0.0, 1.0),
        min_span=float_option("moving_dots", "min_span", min_span, 0.0, 1.0),
    )


def _nmnist_options(*, path=None, test_path=None, timesteps: int = 300, duration: float | None = 300_000.0,
                    downsample: int = 1, first_saccade_only: bool = False) -> dict:
    """NMNIST's Train/ (and Test/ as test_path) folders of digit folders with .bin files (tonic's reader)."""
    if not isinstance(first_saccade_only, bool):
        raise EncodingError(f"dataset 'nmnist': option 'first_saccade_only' = {first_saccade_only!r} must be true or false")
    return dict(
        path=path_option("nmnist", "path", path, kind="dir"),
        test_path=path_option("nmnist", "test_path", test_path, required=False, kind="dir"),
        timesteps=int_option("nmnist", "timesteps", timesteps, 1, 100_000),
        duration=None if duration is None else float_option("nmnist", "duration", duration, 0.0, 1e18, low_open=True),
        downsample=int_option("nmnist", "downsample", downsample, 1, 34),
        first_saccade_only=first_saccade_only,
    )


def _dvs_gesture_options(*, path=None, test_path=None, timesteps: int = 300, duration: float | None = 1_450_000.0,
                         downsample: int = 4) -> dict:
    """DVS Gesture in tonic's layout: ibmGestureTrain/ (and ibmGestureTest/ as test_path) of user*/<label>.npy."""
    return dict(
        path=path_option("dvs_gesture", "path", path, kind="dir"),
        test_path=path_option("dvs_gesture", "test_path", test_path, required=False, kind="dir"),
        timesteps=int_option("dvs_gesture", "timesteps", timesteps, 1, 100_000),
        duration=None if duration is None else float_option("dvs_gesture", "duration", duration, 0.0, 1e18,
                                                            low_open=True),
        downsample=int_option("dvs_gesture", "downsample", downsample, 1, 128),
    )


def _gestures_options(*, n_samples: int = 640, size: int = 32, timesteps: int = 24, noise_rate: float = 0.002,
                      downsample: int = 2) -> dict:
    """Generated event-camera gestures: 2 shapes x 4 directions on a 2-polarity sensor (see encoders.gestures)."""
    return dict(
        n_samples=int_option("gestures", "n_samples", n_samples, 8, 1_000_000),
        size=int_option("gestures", "size", size, 8, 512),
        timesteps=int_option("gestures", "timesteps", timesteps, 2, 100_000),
        noise_rate=float_option("gestures", "noise_rate", noise_rate, 0.0, 1.0),
        downsample=int_option("gestures", "downsample", downsample, 1, 64),
    )


def _moving_shapes_options(*, n_samples: int = 600, size: int = 16, timesteps: int = 16, speed: float = 0.3,
                           background: float = 0.3, noise: float = 2.0) -> dict:
    """Generated grey-level video: 4 shapes drifting slowly over a static texture (see encoders.video)."""
    return dict(
        n_samples=int_option("moving_shapes", "n_samples", n_samples, 4, 1_000_000),
        size=int_option("moving_shapes", "size", size, 8, 256),
        timesteps=int_option("moving_shapes", "timesteps", timesteps, 1, 100_000),
        speed=float_option("moving_shapes", "speed", speed, 0.0, 8.0),
        background=float_option("moving_shapes", "background", background, 0.0, 0.5),
        noise=float_option("moving_shapes", "noise", noise, 0.0, 64.0),
    )


def _from_files(make_source: Callable[..., Source], options: Callable[..., dict]) -> DatasetKind:
    """A dataset read from the user's files: `path` (and `test_path`, the fixed test split when given),
    both read by `make_source` with the remaining (binning) options."""
    def load(rng: np.random.Generator, checked: dict) -> tuple[Source, Source | None]:
        binning = {key: value for key, value in checked.items() if key not in ("path", "test_path")}
        test = checked["test_path"]
        return make_source(checked["path"], **binning), (make_source(test, **binning) if test is not None else None)

    return DatasetKind(options, load)


def _generated(make_source: Callable[..., Source], options: Callable[..., dict]) -> DatasetKind:
    """A dataset the code generates from the seeded `rng` and its options."""
    def load(rng: np.random.Generator, checked: dict) -> tuple[Source, None]:
        return make_source(rng, **checked), None

    return DatasetKind(options, load)


DATASETS: dict[str, DatasetKind] = {
    **{name: _tabular(name) for name in TABULAR_DATASETS},
    "shd": _from_files(shd_source, _shd_options),
    "events": _from_files(events_source, _events_options),
    "moving_dots": _generated(moving_dots_source, _moving_dots_options),
    "gestures": _generated(gestures_source, _gestures_options),
    "nmnist": _from_files(nmnist_source, _nmnist_options),
    "dvs_gesture": _from_files(dvs_gesture_source, _dvs_gesture_options),
    "moving_shapes": _generated(moving_shapes_source, _moving_shapes_options),
}
DATASET_NAMES: tuple[str, ...] = tuple(DATASETS)
SPLIT_OPTIONS = ("max_samples", "seed", "test_fraction", "validation_fraction")


def dataset_options(name: str) -> dict[str, object]:
    """Options a dataset accepts, with their defaults (besides seed, fractions, max_samples)."""
    if name not in DATASETS:
        raise EncodingError(f"unknown dataset {name!r}; known datasets are {list(DATASET_NAMES)}")
    parameters = inspect.signature(DATASETS[name].options).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def check_dataset(name: str, *, seed: int = 0, validation_fraction: float = 0.2, test_fraction: float = 0.2,
                  max_samples: int | None = None, **options) -> dict:
    """Every option of `load_dataset` checked without reading any data: paths must exist, numbers
    must be in range, the split fractions must leave training data. Returns the options typed."""
    if not isinstance(name, str) or name not in DATASETS:
        raise EncodingError(f"unknown dataset {name!r}; known datasets are {list(DATASET_NAMES)}")
    known = dataset_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise EncodingError(
            f"dataset {name!r}: unknown option(s) {unknown}; known options are {sorted(known) + list(SPLIT_OPTIONS)}"
        )
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EncodingError(f"dataset {name!r}: seed = {seed!r} must be a non-negative int")
    check_fractions(validation_fraction, test_fraction)
    if max_samples is not None:
        int_option(name, "max_samples", max_samples, 1, 10**12)
    return DATASETS[name].options(**options)


def load_dataset(name: str, *, seed: int = 0, validation_fraction: float = 0.2, test_fraction: float = 0.2,
                 max_samples: int | None = None, **options) -> Dataset:
    """Train/validation/test splits of a named dataset, stratified and seeded.

    `max_samples` keeps a stratified subset (per file where a separate test file is given),
    for CI-sized runs. Features datasets come scaled to [0, 1] with train-split statistics.
    """
    checked = check_dataset(name, seed=seed, validation_fraction=validation_fraction, test_fraction=test_fraction,
                            max_samples=max_samples, **options)
    generate_seed, split_seed = np.random.SeedSequence(int(seed)).spawn(2)
    source, fixed_test = DATASETS[name].load(np.random.default_rng(generate_seed), checked)
    return build_dataset(name, source, rng=np.random.default_rng(split_seed), validation_fraction=validation_fraction,
                         test_fraction=test_fraction, max_samples=max_samples, fixed_test=fixed_test)
