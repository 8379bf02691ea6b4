"""Spiking Heidelberg Digits (SHD) reader: the HDF5 layout Zenke's lab publishes.

Layout read (one file per partition, e.g. shd_train.h5 and shd_test.h5):
- `spikes/times`: variable-length float arrays, one per sample, spike times in seconds;
- `spikes/units`: variable-length integer arrays of the same lengths, the input unit
  (cochlea channel, 0..699) of each spike;
- `labels`: (N,) integer class labels.

Spikes are binned into `timesteps` equal steps over [0, duration_s); later spikes are
dropped (SHD samples last up to ~1.4 s; 1 s keeps nearly all). `unit_pool` merges that
many neighbouring units into one channel (700 inputs rarely fit a small chip budget).
Several spikes in one (channel, step) bin count once: spike tensors are binary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encoders.errors import EncodingError
from encoders.splits import Source, check_labels

SHD_UNITS = 700
_REQUIRED_KEYS = ("spikes/times", "spikes/units", "labels")


def _open(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise EncodingError(f"dataset 'shd': cannot read {str(path)!r} as HDF5 ({error})") from None


def _check_layout(handle, path: Path) -> None:
    for key in _REQUIRED_KEYS:
        if key not in handle:
            raise EncodingError(
                f"dataset 'shd': {str(path)!r} has no {key!r} dataset; expected the SHD layout "
                f"{list(_REQUIRED_KEYS)}"
            )


def _read_ragged(dataset, indices: np.ndarray) -> list[np.ndarray]:
    """Rows of a vlen dataset: all at once when most are wanted, else one by one."""
    if indices.shape[0] * 4 >= dataset.shape[0]:
        rows = dataset[:]
        return [np.asarray(rows[i]) for i in indices]
    return [np.asarray(dataset[int(i)]) for i in indices]


def bin_spike_lists(times: list[np.ndarray], units: list[np.ndarray], *, n_channels: int, unit_pool: int,
                    timesteps: int, duration_s: float) -> np.ndarray:
    """Ragged (times, units) per sample -> (N, n_channels, timesteps) uint8."""
    out = np.zeros((len(times), n_channels, timesteps), dtype=np.uint8)
    if not times:
        return out
    lengths = np.array([t.shape[0] for t in times])
    sample = np.repeat(np.arange(len(times)), lengths)
    all_times = np.concatenate(times).astype(np.float64)
    all_units = np.concatenate(units).astype(np.int64) // unit_pool
    step = np.floor(all_times / duration_s * timesteps).astype(np.int64)
    keep = (all_times >= 0) & (step < timesteps)
    out[sample[keep], all_units[keep], step[keep]] = 1
    return out


def shd_source(path: Path, *, timesteps: int, duration_s: float, n_units: int, unit_pool: int) -> Source:
    """A lazy Source over one SHD file: labels read now, spikes binned on demand."""
    with _open(path) as handle:
        _check_layout(handle, path)
        labels = check_labels(handle["labels"][:], f"dataset 'shd': {str(path)!r} 'labels'")
        n_times, n_units_rows = handle["spikes/times"].shape[0], handle["spikes/units"].shape[0]
    if not n_times == n_units_rows == labels.shape[0]:
        raise EncodingError(
            f"dataset 'shd': {str(path)!r} has {n_times} 'spikes/times' rows, {n_units_rows} "
            f"'spikes/units' rows and {labels.shape[0]} labels; they must match"
        )
    n_channels = -(-n_units // unit_pool)

    def materialize(indices: np.ndarray) -> np.ndarray:
        with _open(path) as handle:
            times = _read_ragged(handle["spikes/times"], indices)
            units = _read_ragged(handle["spikes/units"], indices)
        for row, (t, u) in zip(indices, zip(times, units)):
            if t.shape != u.shape:
                raise EncodingError(f"dataset 'shd': {str(path)!r} sample {row}: {t.shape[0]} times "
                                    f"but {u.shape[0]} units")
            if u.size and (u.min() < 0 or u.max() >= n_units):
                raise EncodingError(f"dataset 'shd': {str(path)!r} sample {row} has unit {u.max()} "
                                    f"outside [0, {n_units}); set option 'n_units'")
        return bin_spike_lists(times, units, n_channels=n_channels, unit_pool=unit_pool,
                               timesteps=timesteps, duration_s=duration_s)

    info = {"path": str(path), "duration_s": duration_s, "n_units": n_units, "unit_pool": unit_pool}
    return Source(labels=labels, materialize=materialize, kind="spikes", n_features=n_channels,
                  timesteps=timesteps, info=info)
