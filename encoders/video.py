"""Generated grey-level video: slowly moving shapes over a static textured background.

A sample is `timesteps` frames of a `size` x `size` single-channel sensor, integers 0..255
(an 8-bit camera). A static random texture (dim, smooth) fills the background; one bright
shape (0: hollow box, 1: plus-shaped cross, 2: filled disk, 3: diagonal bar) of random size
and brightness drifts slowly in a random direction, and every pixel carries small
independent noise each frame. Class = the shape, visible in every single frame, so a
network that processes frames one by one can classify them; what the frames share is the
point: consecutive frames differ only along the shape's moving edges and by the noise. A
sigma-delta network (Loihi 2's graded spikes) sends only those changes above its delta
threshold, where a frame-by-frame ANN computes every synapse every frame and a rate-coded
LIF network spends many binary spikes per intensity.

Samples are `kind = "frames"`: (N, 1 * size * size, T) uint8 grey levels, channels in
(C, H, W) order, passed to a network as integers by the `frames` encoder.
"""

from __future__ import annotations

import numpy as np

from encoders.splits import Source

SHAPES = ("box", "cross", "disk", "bar")
N_CLASSES = len(SHAPES)
MAX_LEVEL = 255


def _mask(shape: str, extent: int) -> np.ndarray:
    mask = np.zeros((extent, extent), dtype=bool)
    middle = extent // 2
    if shape == "box":
        mask[[0, -1], :] = True
        mask[:, [0, -1]] = True
    elif shape == "cross":
        mask[middle, :] = True
        mask[:, middle] = True
    elif shape == "disk":
        y, x = np.mgrid[:extent, :extent]
        mask = (y - (extent - 1) / 2) ** 2 + (x - (extent - 1) / 2) ** 2 <= (extent / 2) ** 2
    else:
        mask[np.arange(extent), np.arange(extent)] = True
        mask[np.arange(extent - 1), np.arange(1, extent)] = True
    return mask


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random background in [0, 1]: white noise box-blurred twice."""
    field = rng.random((size + 4, size + 4))
    for _ in range(2):
        field = sum(np.roll(np.roll(field, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    field = field[2:-2, 2:-2]
    return (field - field.min()) / max(field.max() - field.min(), 1e-9)


def render(label: int, size: int, timesteps: int, rng: np.random.Generator, *, speed: float,
           background: float, noise: float) -> np.ndarray:
    """One sample's frames (size, size, timesteps) uint8 for class `label` (see the module doc)."""
    extent = int(rng.integers(max(3, size // 4), max(4, size // 2) + 1))
    mask = _mask(SHAPES[label], extent)
    brightness = rng.uniform(0.55, 1.0) * MAX_LEVEL
    angle = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.sin(angle), np.cos(angle)])
    start = rng.uniform(0, size - extent, 2)
    end = start + velocity * (timesteps - 1)
    start -= np.minimum(end, 0) + np.maximum(end - (size - extent), 0)  # keep the path on the sensor
    start = np.clip(start, 0, size - extent)
    scene = _texture(size, rng) * background * MAX_LEVEL
    frames = np.empty((size, size, timesteps))
    for t in range(timesteps):
        y, x = np.clip(np.rint(start + velocity * t), 0, size - extent).astype(int)
        frame = scene.copy()
        frame[y:y + extent, x:x + extent][mask] = brightness
        frames[..., t] = frame
    if noise > 0:
        frames += rng.normal(0.0, noise, frames.shape)
    return np.clip(np.rint(frames), 0, MAX_LEVEL).astype(np.uint8)


def moving_shapes_source(rng: np.random.Generator, *, n_samples: int, size: int, timesteps: int, speed: float,
                         background: float, noise: float) -> Source:
    """Generates all samples now (they are small); classes balanced, order shuffled."""
    labels = rng.permutation(np.arange(n_samples) % N_CLASSES).astype(np.int64)
    frames = np.stack([render(int(label), size, timesteps, rng, speed=speed, background=background, noise=noise)
                       for label in labels]) if n_samples else np.zeros((0, size, size, timesteps), np.uint8)
    flat = frames.reshape(n_samples, size * size, timesteps)
    info = {"generator": "moving_shapes", "size": size, "n_samples": n_samples, "speed": speed,
            "background": background, "noise": noise, "classes": list(SHAPES)}
    return Source(labels=labels, materialize=lambda indices: flat[indices], kind="frames", n_features=size * size,
                  timesteps=timesteps, info=info, input_shape=(1, size, size))
