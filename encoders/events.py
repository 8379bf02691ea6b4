"""Event-camera style data (tonic's structured events with fields x, y, t, p) binned to spikes.

Two file layouts are read (`.npz` or `.h5`/`.hdf5`):

- a directory with one file per sample (sorted by file name), each holding `events` (a
  structured array with fields x, t, p and optionally y; tonic's own dtype is
  x:int16, y:int16, t:int64 microseconds, p:bool) and `label` (a scalar integer);
- a single packed file holding `events` (all samples' events concatenated), `offsets`
  ((N + 1,) ints: sample i is events[offsets[i]:offsets[i + 1]]) and `labels` ((N,) ints).

Binning (`timesteps` steps):
- `duration=None`: each sample's own span [first t, last t] is cut into equal steps (as
  tonic's ToFrame(n_time_bins=...) does), so every sample fills the window;
- `duration=D` (in the events' time unit, microseconds for tonic): the window is [0, D)
  with absolute times kept, for data whose onset timing matters; later events are dropped.

Channels: sensor_size = (width, height, polarities) as tonic gives it; with spatial
`downsample` k, coordinates become x // k, y // k. Channel (p * H + y) * W + x (W, H after
downsampling), so `x.reshape(N, P, H, W, T)` recovers frames. With one polarity channel all
events go to it; with two, p > 0 is ON (1) and anything else OFF (0). Several events in one
(channel, step) bin count once: spike tensors are binary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encoders.errors import EncodingError
from encoders.splits import Source, check_labels

EVENT_SUFFIXES = (".npz", ".h5", ".hdf5")
REQUIRED_FIELDS = ("x", "t", "p")


def _read_members(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Named arrays from one .npz or HDF5 file; a missing one is named with the file."""
    suffix = path.suffix.lower()
    if suffix not in EVENT_SUFFIXES:
        raise EncodingError(f"dataset 'events': {str(path)!r} is not one of {list(EVENT_SUFFIXES)}")
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                missing = [name for name in names if name not in archive.files]
                if missing:
                    raise EncodingError(f"dataset 'events': {str(path)!r} has no {missing} (it has {archive.files})")
                return {name: archive[name] for name in names}
        import h5py

        with h5py.File(path, "r") as handle:
            missing = [name for name in names if name not in handle]
            if missing:
                raise EncodingError(f"dataset 'events': {str(path)!r} has no {missing} (it has {list(handle)})")
            return {name: handle[name][()] for name in names}
    except EncodingError:
        raise
    except (OSError, ValueError) as error:
        raise EncodingError(f"dataset 'events': cannot read {str(path)!r} ({error})") from None


def _check_events(events: np.ndarray, where: str) -> np.ndarray:
    names = events.dtype.names or ()
    missing = [name for name in REQUIRED_FIELDS if name not in names]
    if missing:
        raise EncodingError(
            f"dataset 'events': {where} events lack field(s) {missing}; expected a structured "
            f"array with fields x, y (optional), t, p, got fields {list(names)}"
        )
    return events.reshape(-1)


def bin_events(samples: list[np.ndarray], *, sensor_size: tuple[int, int, int], downsample: int,
               timesteps: int, duration: float | None, where: list[str]) -> np.ndarray:
    """Structured event arrays (one per sample) -> (N, P*H*W, timesteps) uint8."""
    width, height, polarities = sensor_size
    width_out, height_out = -(-width // downsample), -(-height // downsample)
    out = np.zeros((len(samples), polarities * height_out * width_out, timesteps), dtype=np.uint8)
    if not samples:
        return out
    lengths = np.array([events.shape[0] for events in samples])
    sample = np.repeat(np.arange(len(samples)), lengths)

    def column(name: str) -> np.ndarray:
        parts = [events[name] if name in (events.dtype.names or ()) else np.zeros(events.shape[0], np.int64)
                 for events in samples]
        return np.concatenate(parts)

    x, y = column("x").astype(np.int64), column("y").astype(np.int64)
    t, p = column("t").astype(np.float64), column("p")
    for name, values, limit in (("x", x, width), ("y", y, height)):
        bad = (values < 0) | (values >= limit)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise EncodingError(
                f"dataset 'events': {where[sample[first]]} has {name} = {values[first]} outside "
                f"[0, {limit}) of sensor_size {tuple(sensor_size)}"
            )
    if not np.all(np.isfinite(t)):
        first = int(np.flatnonzero(~np.isfinite(t))[0])
        raise EncodingError(f"dataset 'events': {where[sample[first]]} has a non-finite time t")
    polarity = (p.astype(np.float64) > 0).astype(np.int64) if polarities == 2 else np.zeros_like(x)
    if duration is None:
        start = np.full(len(samples), np.inf)
        stop = np.full(len(samples), -np.inf)
        np.minimum.at(start, sample, t)
        np.maximum.at(stop, sample, t)
        span = stop - start
        span = np.where(span > 0, span, 1.0)
        # the last event sits exactly at the end of the span: keep it in the last step
        step = np.minimum(np.floor((t - start[sample]) / span[sample] * timesteps), timesteps - 1)
    else:
        step = np.floor(t / duration * timesteps)
    step = step.astype(np.int64)
    keep = (step >= 0) & (step < timesteps)
    channel = (polarity * height_out + y // downsample) * width_out + x // downsample
    out[sample[keep], channel[keep], step[keep]] = 1
    return out


def _directory_files(directory: Path) -> list[Path]:
    files = sorted(path for path in directory.iterdir() if path.suffix.lower() in EVENT_SUFFIXES)
    if not files:
        raise EncodingError(f"dataset 'events': directory {str(directory)!r} holds no {list(EVENT_SUFFIXES)} files")
    return files


def events_source(path: Path, *, sensor_size: tuple[int, int, int], downsample: int, timesteps: int,
                  duration: float | None) -> Source:
    """A lazy Source over either layout (see module docstring)."""
    if path.is_dir():
        files = _directory_files(path)
        labels = check_labels(
            np.array([np.asarray(_read_members(file, ("label",))["label"]).reshape(-1)[0] for file in files]),
            f"dataset 'events': labels of {str(path)!r}",
        )

        def read(indices: np.ndarray) -> tuple[list[np.ndarray], list[str]]:
            chosen = [files[int(i)] for i in indices]
            events = [_check_events(_read_members(file, ("events",))["events"], repr(str(file))) for file in chosen]
            return events, [repr(str(file)) for file in chosen]
    else:
        members = _read_members(path, ("events", "offsets", "labels"))
        packed = _check_events(members["events"], repr(str(path)))
        offsets = np.asarray(members["offsets"]).astype(np.int64).reshape(-1)
        labels = check_labels(members["labels"], f"dataset 'events': {str(path)!r} 'labels'")
        if offsets.shape[0] != labels.shape[0] + 1 or offsets[0] != 0 or offsets[-1] != packed.shape[0] \
                or np.any(np.diff(offsets) < 0):
            raise EncodingError(
                f"dataset 'events': {str(path)!r} 'offsets' must be N + 1 = {labels.shape[0] + 1} "
                f"non-decreasing ints from 0 to len(events) = {packed.shape[0]}"
            )

        def read(indices: np.ndarray) -> tuple[list[np.ndarray], list[str]]:
            events = [packed[offsets[i]:offsets[i + 1]] for i in indices]
            return events, [f"{str(path)!r} sample {int(i)}" for i in indices]

    def materialize(indices: np.ndarray) -> np.ndarray:
        events, where = read(indices)
        return bin_events(events, sensor_size=sensor_size, downsample=downsample, timesteps=timesteps,
                          duration=duration, where=where)

    width, height, polarities = sensor_size
    n_channels = polarities * (-(-height // downsample)) * (-(-width // downsample))
    info = {"path": str(path), "sensor_size": list(sensor_size), "downsample": downsample, "duration": duration}
    shape = (polarities, -(-height // downsample), -(-width // downsample))
    return Source(labels=labels, materialize=materialize, kind="spikes", n_features=n_channels,
                  timesteps=timesteps, info=info, input_shape=shape)
