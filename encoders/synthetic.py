"""Moving-dot "gestures": a synthetic task whose class is visible only in spike timing.

A dot sweeps across a small sensor (`size` pixels in 1-D, `size` x `size` in 2-D),
lighting one pixel per step. In 1-D the class is its direction (0: towards +x, 1: towards
-x). In 2-D two dots sweep at once, one along a random row and one along a random column,
and the class is the pair of directions (bit 0: the row dot moves towards -x, bit 1: the
column dot towards -y), giving 4 classes.

Direction is made invisible to rate-only models by construction: a sample of one
direction is the exact time reversal of a sample of the other, with the sweep's speed,
start time, row and column drawn independently of the class, and background noise spikes
independent per (pixel, step). Spike counts per pixel therefore have the same distribution
in every class; a model must compare *when* neighbouring pixels fire (synaptic delays,
enough timesteps) to beat chance. Each sweep takes between `min_span` x timesteps and
timesteps steps, so with too few timesteps neighbouring pixels fire in the same step and
the direction is lost.

Channels: y * size + x (a single row in 1-D), one polarity.
"""

from __future__ import annotations

import numpy as np

from encoders.splits import Source


def _sweep(n_samples: int, size: int, timesteps: int, min_span: float, reverse: np.ndarray,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pixel position (N, T) of one dot sweeping 0 -> size-1, or -1 where it is off-sensor.

    The forward sweep occupies steps [start, start + span); a reversed sample is the same
    sweep read backwards in time (step t shows what step T-1-t of the forward one showed).
    """
    shortest = max(2, int(np.ceil(min_span * timesteps)))
    if timesteps < 2:
        span = np.ones(n_samples, dtype=np.int64)
    else:
        span = rng.integers(min(shortest, timesteps), timesteps + 1, size=n_samples)
    start = rng.integers(0, timesteps - span + 1)
    steps = np.arange(timesteps)
    forward_time = np.where(reverse[:, None], timesteps - 1 - steps, steps)
    progress = forward_time - start[:, None]
    on = (progress >= 0) & (progress < span[:, None])
    fraction = progress / np.maximum(span[:, None] - 1, 1)
    position = np.rint(fraction * (size - 1)).astype(np.int64)
    return np.where(on, position, -1), on


def moving_dots_source(rng: np.random.Generator, *, n_samples: int, size: int, dims: int, timesteps: int,
                       noise_rate: float, min_span: float) -> Source:
    """Generates all samples now (they are small); classes balanced, order shuffled."""
    n_classes = 2 ** dims
    labels = rng.permutation(np.arange(n_samples) % n_classes).astype(np.int64)
    n_channels = size ** dims
    spikes = np.zeros((n_samples, n_channels, timesteps), dtype=np.uint8)
    sample_index = np.broadcast_to(np.arange(n_samples)[:, None], (n_samples, timesteps))
    step_index = np.broadcast_to(np.arange(timesteps), (n_samples, timesteps))
    x_position, x_on = _sweep(n_samples, size, timesteps, min_span, (labels & 1).astype(bool), rng)
    if dims == 1:
        spikes[sample_index[x_on], x_position[x_on], step_index[x_on]] = 1
    else:
        row = rng.integers(0, size, size=n_samples)[:, None]
        column = rng.integers(0, size, size=n_samples)[:, None]
        y_position, y_on = _sweep(n_samples, size, timesteps, min_span, (labels & 2).astype(bool), rng)
        row_channel = np.broadcast_to(row * size, x_position.shape) + x_position
        column_channel = y_position * size + np.broadcast_to(column, y_position.shape)
        spikes[sample_index[x_on], row_channel[x_on], step_index[x_on]] = 1
        spikes[sample_index[y_on], column_channel[y_on], step_index[y_on]] = 1
    if noise_rate > 0:
        spikes |= (rng.random(spikes.shape, dtype=np.float32) < noise_rate).astype(np.uint8)
    info = {"generator": "moving_dots", "size": size, "dims": dims, "n_samples": n_samples,
            "noise_rate": noise_rate, "min_span": min_span}
    return Source(labels=labels, materialize=lambda indices: spikes[indices], kind="spikes",
                  n_features=n_channels, timesteps=timesteps, info=info, input_shape=(1, size, size) if dims == 2 else None)
