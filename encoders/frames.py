"""The "frames" encoder: integer frames (a `frames` dataset's grey levels) pass through as integers.

Sigma-delta networks take frames, not spikes: their Delta input layer encodes the changes
itself (netx's SDNN input). So this encoder only checks the frames and fits them to the trial's
timesteps: output step t shows input frame floor(t * T_in / timesteps) (fewer steps drop
frames, more repeat them; a held frame sends nothing through a Delta input).
"""

from __future__ import annotations

import numpy as np

from encoders.base import Encoder
from encoders.errors import EncodingError

FRAME_MAX = 255  # 8-bit frames: what the encoder's uint8 output holds


def resample_frames(frames: np.ndarray, timesteps: int) -> np.ndarray:
    """(N, C, T_in) -> (N, C, timesteps) by nearest earlier frame (see the module docstring)."""
    length = frames.shape[-1]
    if length == timesteps:
        return frames
    if length == 0:
        return np.zeros((*frames.shape[:-1], timesteps), dtype=frames.dtype)
    return frames[..., (np.arange(timesteps) * length) // timesteps]


class FramesEncoder(Encoder):
    """(N, C, T) integer frames in [0, 255] in, the same as uint8 out (resampled to `timesteps` if needed)."""

    name = "frames"
    input_ndims = (3,)

    def channels(self, n_features: int) -> int:
        return int(n_features)

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind not in "biu" and not (x.dtype.kind == "f" and np.all(np.isfinite(x)) and np.all(x == np.round(x))):
            raise EncodingError(f"{self._owner}: frames must be integers, got dtype {x.dtype}")
        if x.size and (x.min() < 0 or x.max() > FRAME_MAX):
            raise EncodingError(f"{self._owner}: frame values must lie in [0, {FRAME_MAX}], got [{x.min()}, {x.max()}]")
        return x.astype(np.uint8, copy=False)

    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        return resample_frames(x, timesteps)
