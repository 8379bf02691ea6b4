"""Raster plots of spike tensors, to see what an encoder did to a sample.

Uses matplotlib's object API with the Agg canvas directly, so it works headless and does
not change the global backend of whoever imports it (a notebook keeps its own).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from encoders.errors import EncodingError


def raster(spikes: np.ndarray, path: str | os.PathLike, *, sample: int = 0, title: str | None = None,
           dpi: int = 100) -> Path:
    """Saves a raster (channel vs step, one dot per spike) of one sample as a PNG; returns the path.

    `spikes` is (N, C, T) (plots `sample`) or (C, T).
    """
    spikes = np.asarray(spikes)
    if spikes.ndim == 3:
        if not -spikes.shape[0] <= sample < spikes.shape[0]:
            raise EncodingError(f"raster: sample = {sample} is out of range for {spikes.shape[0]} samples")
        spikes = spikes[sample]
    if spikes.ndim != 2:
        raise EncodingError(f"raster: spikes must be (N, C, T) or (C, T), got shape {spikes.shape}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    channels, timesteps = spikes.shape
    figure = Figure(figsize=(max(4.0, min(12.0, timesteps / 10)), max(2.5, min(10.0, channels / 12))))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    channel, step = np.nonzero(spikes)
    axes.scatter(step, channel, s=max(1.0, min(16.0, 2000.0 / max(channels, timesteps))), marker="|",
                 color="black", linewidths=1.0)
    axes.set_xlim(-0.5, timesteps - 0.5)
    axes.set_ylim(-0.5, channels - 0.5)
    axes.set_xlabel("time step")
    axes.set_ylabel("channel")
    axes.set_title(title if title is not None else f"{int(spikes.sum())} spikes, {channels} channels x {timesteps} steps")
    path = Path(path)
    figure.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
