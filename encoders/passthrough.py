"""The "none" encoder: data that already is spikes (event datasets) passes through.

It exists so a trial pipeline treats every dataset alike (`encoder.encode(x, timesteps)`).
When the trial's timesteps differ from the data's, time is rebinned: input step t goes to
output step floor(t * timesteps / T_in) and a bin spikes if any of its input steps did
(OR-pooling). Fewer steps thus merge spikes, which is how a search learns that a temporal
task needs enough timesteps; more steps spread them out with silent steps in between.
"""

from __future__ import annotations

import numpy as np

from encoders.base import Encoder, check_finite
from encoders.errors import EncodingError


def rebin_time(spikes: np.ndarray, timesteps: int) -> np.ndarray:
    """(N, C, T_in) 0/1 -> (N, C, timesteps) 0/1 by OR-pooling (see module docstring)."""
    length = spikes.shape[-1]
    if length == timesteps:
        return spikes
    out = np.zeros((*spikes.shape[:-1], timesteps), dtype=np.uint8)
    if length == 0:
        return out
    target = (np.arange(length) * timesteps) // length
    bins, starts = np.unique(target, return_index=True)
    pooled = np.add.reduceat(spikes, starts, axis=-1, dtype=np.int64)
    out[..., bins] = pooled > 0
    return out


class PassthroughEncoder(Encoder):
    """(N, C, T) 0/1 spikes in, the same as uint8 out (rebinned to `timesteps` if needed)."""

    name = "none"
    input_ndims = (3,)

    def channels(self, n_features: int) -> int:
        return int(n_features)

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind not in "biuf":
            raise EncodingError(f"{self._owner}: input dtype {x.dtype} is not numeric")
        if x.dtype.kind == "f":
            check_finite(x, self._owner)
        if x.size and not np.isin(x, (0, 1)).all():
            raise EncodingError(
                f"{self._owner}: spike input must hold only 0 and 1, found values in "
                f"[{x.min()}, {x.max()}]; binarize event counts first"
            )
        return x.astype(np.uint8, copy=False)

    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        return rebin_time(x, timesteps)
