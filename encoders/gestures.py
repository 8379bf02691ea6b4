"""Generated event-camera "gestures": shapes moving across a 2-polarity sensor.

A sample is one shape (0: a hollow box, 1: a plus-shaped cross) moving in one of four
directions (right, left, down, up) across a `size` x `size` sensor, as a DVS sees it: a
pixel sends an ON event (polarity 1) in the step its brightness rises (the shape arrives)
and an OFF event (polarity 0) in the step it falls (the shape leaves), plus independent
background noise events. Class = shape * 4 + direction (8 classes). Shape size, speed and
the starting position along and across the motion are drawn independently of the class,
so the class lives in local spatio-temporal structure anywhere on the sensor: which
polarity leads, in which direction, and the outline that moves. A convolution shares one
detector over all positions; a dense layer must learn it at each position, which is why a
conv network beats a dense one of equal energy here.

Channels: (p * H + y) * W + x, so `x.reshape(N, 2, H, W, T)` gives frames; with spatial
`downsample` k, an output pixel carries an event when any of its k x k pixels does.
"""

from __future__ import annotations

import numpy as np

from encoders.splits import Source

SHAPES = ("box", "cross")
DIRECTIONS = ("right", "left", "down", "up")
N_CLASSES = len(SHAPES) * len(DIRECTIONS)


def _mask(shape: str, extent: int) -> np.ndarray:
    mask = np.zeros((extent, extent), dtype=bool)
    if shape == "box":
        mask[[0, -1], :] = True
        mask[:, [0, -1]] = True
    else:
        mask[extent // 2, :] = True
        mask[:, extent // 2] = True
    return mask


def render(label: int, size: int, timesteps: int, rng: np.random.Generator, extent: int, speed: float) -> np.ndarray:
    """One sample's events (2, size, size, timesteps) bool for class `label` (see the module doc)."""
    mask = _mask(SHAPES[label // len(DIRECTIONS)], extent)
    direction = DIRECTIONS[label % len(DIRECTIONS)]
    travel = speed * (timesteps - 1)
    along_start = rng.uniform(-extent / 2, max(size - extent / 2 - travel, -extent / 2))
    across = int(rng.integers(0, size - extent + 1))
    events = np.zeros((2, size, size, timesteps), dtype=bool)
    previous = np.zeros((size, size), dtype=bool)
    for t in range(timesteps):
        position = int(round(along_start + speed * t))
        if direction in ("left", "up"):  # the mirror image of a rightward / downward sweep
            position = size - extent - position
        frame = np.zeros((size + 2 * extent, size + 2 * extent), dtype=bool)
        if direction in ("right", "left"):
            frame[extent + across : extent + across + extent, extent + position : extent + position + extent] = mask
        else:
            frame[extent + position : extent + position + extent, extent + across : extent + across + extent] = mask
        frame = frame[extent : extent + size, extent : extent + size]
        if t:
            events[1, :, :, t] = frame & ~previous
            events[0, :, :, t] = previous & ~frame
        previous = frame
    return events


def gestures_source(rng: np.random.Generator, *, n_samples: int, size: int, timesteps: int, noise_rate: float,
                    downsample: int) -> Source:
    labels = np.arange(n_samples) % N_CLASSES
    rng.shuffle(labels)
    out = -(-size // downsample)
    spikes = np.zeros((n_samples, 2, out, out, timesteps), dtype=np.uint8)
    for index, label in enumerate(labels):
        extent = int(rng.integers(max(3, size // 6), max(4, size // 3) + 1))
        speed = float(rng.uniform(0.4, 1.0)) * size / max(timesteps, 1)
        events = render(int(label), size, timesteps, rng, extent, speed)
        if noise_rate > 0:
            events |= rng.random(events.shape) < noise_rate
        if downsample > 1:
            padded = np.zeros((2, out * downsample, out * downsample, timesteps), dtype=bool)
            padded[:, :size, :size] = events
            events = padded.reshape(2, out, downsample, out, downsample, timesteps).any(axis=(2, 4))
        spikes[index] = events
    flat = spikes.reshape(n_samples, 2 * out * out, timesteps)
    info = {"generator": "gestures", "size": size, "n_samples": n_samples, "noise_rate": noise_rate,
            "downsample": downsample, "classes": [f"{s}-{d}" for s in SHAPES for d in DIRECTIONS]}
    return Source(labels=labels.astype(np.int64), materialize=lambda indices: flat[indices], kind="spikes",
                  n_features=flat.shape[1], timesteps=timesteps, info=info, input_shape=(2, out, out))
