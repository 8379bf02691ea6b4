"""Event-camera datasets in the layouts users download: NMNIST and DVS Gesture, read as tonic reads them.

- NMNIST (Orchard et al. 2015): a folder (e.g. `Train/` or `Test/`) of digit folders `0` ..
  `9` holding one `.bin` file per sample in the original 40-bit event format, read with
  tonic's own reader (`tonic.io.read_mnist_file`); sensor 34 x 34 x 2, t in microseconds.
- DVS Gesture (Amir et al. 2017) in the layout tonic's `DVSGesture` prepares: a folder (e.g.
  `ibmGestureTrain/`) of `user<NN>_<lighting>/` folders holding `<label>.npy` files, each an
  (N, 4) array of x, y, p, t with t in milliseconds (tonic multiplies by 1000); sensor
  128 x 128 x 2, 11 classes.

Samples are read lazily and binned by `encoders.events.bin_events` (polarity channels,
optional spatial downsampling), so a CI-sized `max_samples` run reads only what it keeps.
Nothing is downloaded: tonic's dataset classes would fetch missing files, so the folders
are walked here exactly as tonic walks them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encoders.errors import EncodingError
from encoders.events import bin_events
from encoders.splits import Source, check_labels

NMNIST_SENSOR = (34, 34, 2)
DVS_GESTURE_SENSOR = (128, 128, 2)
TONIC_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])


def _nmnist_files(path: Path) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for digit in range(10):
        folder = path / str(digit)
        if folder.is_dir():
            found = sorted(folder.glob("*.bin"))
            files += found
            labels += [digit] * len(found)
    if not files:
        raise EncodingError(f"dataset 'nmnist': {str(path)!r} holds no digit folders 0..9 with .bin files "
                            "(NMNIST's Train/ or Test/ folder)")
    return files, np.array(labels)


def _read_nmnist(file: Path, first_saccade_only: bool) -> np.ndarray:
    from tonic.io import read_mnist_file

    size = file.stat().st_size
    if size % 5:
        raise EncodingError(f"dataset 'nmnist': {str(file)!r} is {size} bytes, not a whole number of 5-byte events")
    events = read_mnist_file(str(file), dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    if first_saccade_only:
        events = events[events["t"] < 100_000]
    return events


def nmnist_source(path: Path, *, timesteps: int, duration: float | None, downsample: int,
                  first_saccade_only: bool) -> Source:
    files, labels = _nmnist_files(path)
    labels = check_labels(labels, f"dataset 'nmnist': labels of {str(path)!r}")

    def materialize(indices: np.ndarray) -> np.ndarray:
        chosen = [files[int(i)] for i in indices]
        samples = [_read_nmnist(file, first_saccade_only) for file in chosen]
        return bin_events(samples, sensor_size=NMNIST_SENSOR, downsample=downsample, timesteps=timesteps,
                          duration=duration, where=[repr(str(file)) for file in chosen])

    return _spatial_source(labels, materialize, NMNIST_SENSOR, downsample, timesteps,
                           {"path": str(path), "downsample": downsample, "duration": duration,
                            "first_saccade_only": first_saccade_only})


def _gesture_files(path: Path) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for folder in sorted(child for child in path.iterdir() if child.is_dir() and child.name.startswith("user")):
        for file in sorted(folder.glob("*.npy")):
            if not file.stem.isdigit():
                raise EncodingError(f"dataset 'dvs_gesture': {str(file)!r} is not named <label>.npy")
            files.append(file)
            labels.append(int(file.stem))
    if not files:
        raise EncodingError(f"dataset 'dvs_gesture': {str(path)!r} holds no user*/<label>.npy files "
                            "(the ibmGestureTrain/ or ibmGestureTest/ folder tonic prepares)")
    return files, np.array(labels)


def _read_gesture(file: Path) -> np.ndarray:
    try:
        raw = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise EncodingError(f"dataset 'dvs_gesture': cannot read {str(file)!r} ({error})") from None
    if raw.ndim != 2 or raw.shape[1] != 4 or raw.dtype.kind not in "iuf":
        raise EncodingError(f"dataset 'dvs_gesture': {str(file)!r} must hold an (N, 4) array of x, y, p, t; "
                            f"got {raw.shape} {raw.dtype}")
    if raw.dtype.kind == "f" and not np.all(np.isfinite(raw)):
        raise EncodingError(f"dataset 'dvs_gesture': {str(file)!r} contains NaN or infinity")
    events = np.empty(raw.shape[0], dtype=TONIC_DTYPE)
    events["x"], events["y"], events["p"] = raw[:, 0], raw[:, 1], raw[:, 2] > 0
    events["t"] = (raw[:, 3] * 1000).astype(np.int64)  # ms -> us, as tonic does
    return events


def dvs_gesture_source(path: Path, *, timesteps: int, duration: float | None, downsample: int) -> Source:
    files, labels = _gesture_files(path)
    labels = check_labels(labels, f"dataset 'dvs_gesture': labels of {str(path)!r}")

    def materialize(indices: np.ndarray) -> np.ndarray:
        chosen = [files[int(i)] for i in indices]
        return bin_events([_read_gesture(file) for file in chosen], sensor_size=DVS_GESTURE_SENSOR,
                          downsample=downsample, timesteps=timesteps, duration=duration,
                          where=[repr(str(file)) for file in chosen])

    return _spatial_source(labels, materialize, DVS_GESTURE_SENSOR, downsample, timesteps,
                           {"path": str(path), "downsample": downsample, "duration": duration})


def _spatial_source(labels, materialize, sensor: tuple, downsample: int, timesteps: int, info: dict) -> Source:
    width, height, polarities = sensor
    shape = (polarities, -(-height // downsample), -(-width // downsample))
    return Source(labels=labels, materialize=materialize, kind="spikes", n_features=int(np.prod(shape)),
                  timesteps=timesteps, info=info, input_shape=shape)
