"""Delta (send-on-change) coding: spikes only where the signal changes, as a DVS pixel does.

The signal is quantized into levels `threshold` apart; an ON spike marks a step at which
the level went up, an OFF spike one at which it went down (level crossing, the
send-on-delta scheme with a quantized reference). A rise of at least `threshold` between
two steps therefore always gives an ON spike, a slow drift gives one each time it has
accumulated a level, and a constant signal gives none. Spikes are binary: a step that
crosses several levels still sends one spike.

Input:
- (N, F, T_in) time series are linearly resampled to `timesteps` steps; the first step has
  no predecessor and sends nothing;
- (N, F) static features are presented as a ramp from 0 (before step 0) up to the value at
  the last step, so a value v sends min(floor(v / threshold), timesteps) ON spikes spread
  over the window: a count code with the change-driven sparsity of the delta code.

Channels: ON block then OFF block, i.e. channel f is feature f's ON, channel F + f its OFF.
"""

from __future__ import annotations

import numpy as np

from encoders.base import Encoder
from hyperparams import declare

# float division can land a hair under an exact level (0.3 / 0.1 = 2.9999...); nudging it
# keeps "a rise of exactly threshold crosses a level" true.
_LEVEL_EPSILON = 1e-9


def resample_time(series: np.ndarray, timesteps: int) -> np.ndarray:
    """(..., T_in) -> (..., timesteps) by linear interpolation over the same time span."""
    length = series.shape[-1]
    if length == timesteps:
        return series
    if length == 1 or timesteps == 1:
        positions = np.zeros(timesteps)
    else:
        positions = np.arange(timesteps) * (length - 1) / (timesteps - 1)
    lower = np.floor(positions).astype(np.int64)
    upper = np.minimum(lower + 1, length - 1)
    weight = positions - lower
    return series[..., lower] * (1.0 - weight) + series[..., upper] * weight


def delta_spikes(signal: np.ndarray, threshold: float, start: np.ndarray | None = None) -> np.ndarray:
    """(N, F, T) signal -> (N, 2F, T) ON/OFF spikes; `start` is the (N, F) value before step 0."""
    levels = np.floor(signal / threshold + _LEVEL_EPSILON)
    if start is None:
        before = levels[..., :1]
    else:
        before = np.floor(start / threshold + _LEVEL_EPSILON)[..., None]
    change = np.diff(levels, axis=-1, prepend=before)
    return np.concatenate([change > 0, change < 0], axis=1).astype(np.uint8)


class DeltaEncoder(Encoder):
    """ON and OFF channel per feature; spikes where the signal crosses a level."""

    name = "delta"
    input_ndims = (2, 3)
    _HYPERPARAMETERS = (
        declare("threshold", "float", low=0.005, high=0.5, log=True, default=0.05,
                help="level spacing: smaller sends more spikes and follows the signal more closely"),
    )

    def channels(self, n_features: int) -> int:
        return 2 * int(n_features)

    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        threshold = self._params["threshold"]
        if x.ndim == 2:
            ramp = np.arange(1, timesteps + 1) / timesteps
            return delta_spikes(x[..., None] * ramp, threshold, start=np.zeros_like(x))
        return delta_spikes(resample_time(x, timesteps), threshold)
