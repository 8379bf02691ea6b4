"""Latency (time-to-first-spike) coding: the larger the value, the earlier its spike.

One spike per feature carries the value in its timing, so it is the cheapest code in
spikes (energy) but needs enough timesteps to resolve values. Values at or below
`threshold` never spike (silence means "nothing here", as a neuron below threshold).

Mappings from the strength s = (value - threshold) / (1 - threshold) in (0, 1] to the spike
step t in [0, timesteps - 1]:

- `linear`: t = round((1 - s) * (timesteps - 1)), equal resolution for all values;
- `log`: t = round((1 - ln(1 + k s) / ln(1 + k)) * (timesteps - 1)) with k = LOG_GAIN: the
  charging time of a leaky neuron in shape: it spends more steps on weak values and
  compresses strong ones (Weber-Fechner-like).

With `single_spike=False` the channel keeps firing on every step after its first spike
(a "hold" code): the latency is unchanged, and the spike count now also carries the value,
which helps networks that integrate over time, at more spikes (energy).
"""

from __future__ import annotations

import numpy as np

from encoders.base import Encoder
from hyperparams import declare

LATENCY_MAPPINGS = ("linear", "log")
LOG_GAIN = 20.0


def first_spike_steps(values: np.ndarray, timesteps: int, mapping: str, threshold: float) -> np.ndarray:
    """Step of each value's first spike, -1 where the value does not spike."""
    strength = (values - threshold) / (1.0 - threshold)
    fires = values > threshold
    strength = np.clip(strength, 0.0, 1.0)
    if mapping == "linear":
        delay_fraction = 1.0 - strength
    elif mapping == "log":
        delay_fraction = 1.0 - np.log1p(LOG_GAIN * strength) / np.log1p(LOG_GAIN)
    else:  # unreachable: params are validated
        raise ValueError(f"unknown latency mapping {mapping!r}")
    steps = np.rint(delay_fraction * (timesteps - 1)).astype(np.int64)
    return np.where(fires, steps, -1)


def latency_spikes(values: np.ndarray, timesteps: int, mapping: str, threshold: float,
                   single_spike: bool) -> np.ndarray:
    """(N, C) values in [0, 1] -> (N, C, timesteps) uint8 spikes."""
    first = first_spike_steps(values, timesteps, mapping, threshold)[..., None]
    steps = np.arange(timesteps)
    if single_spike:
        spikes = steps == first
    else:
        spikes = (steps >= first) & (first >= 0)
    return spikes.astype(np.uint8)


class LatencyEncoder(Encoder):
    """One channel per feature, first spike at a step that falls with the value."""

    name = "latency"
    _HYPERPARAMETERS = (
        declare("mapping", "categorical", choices=list(LATENCY_MAPPINGS), default="linear",
                help="linear: delay proportional to 1 - value; log: more steps for weak values"),
        declare("threshold", "float", low=0.0, high=0.9, default=0.0,
                help="values at or below this never spike (fewer spikes, less energy)"),
        declare("single_spike", "bool", default=True,
                help="True: one spike per feature; False: keep firing every step after the first"),
    )

    def channels(self, n_features: int) -> int:
        return int(n_features)

    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        p = self._params
        return latency_spikes(x, timesteps, p["mapping"], p["threshold"], p["single_spike"])
