"""Rate coding: a value sets the probability of a spike per step.

Two variants: `bernoulli` draws each step independently (the discrete-time Poisson
process, noisy like biological rate codes, so a network must integrate over time), and
`regular` spaces the same expected number of spikes evenly and deterministically (no
sampling noise, so fewer timesteps suffice for the same information).
"""

from __future__ import annotations

import numpy as np

from encoders.base import Encoder
from hyperparams import declare

RATE_MODES = ("bernoulli", "regular")


def rate_spikes(probability: np.ndarray, timesteps: int, rng: np.random.Generator, mode: str) -> np.ndarray:
    """(N, C) spike probabilities per step in [0, 1] -> (N, C, timesteps) uint8.

    `regular` fires round(p * timesteps) spikes (halves round up), the k-th at the step where
    the running sum p * t first passes k - 1/2, so spikes are as evenly spaced as integer steps allow.
    """
    if mode == "bernoulli":
        draws = rng.random((*probability.shape, timesteps), dtype=np.float32)
        return (draws < probability[..., None].astype(np.float32)).astype(np.uint8)
    if mode == "regular":
        steps = np.arange(timesteps + 1, dtype=np.float64)
        cumulative = np.floor(probability[..., None] * steps + 0.5)
        return (np.diff(cumulative, axis=-1) > 0).astype(np.uint8)
    raise ValueError(f"unknown rate mode {mode!r}")  # unreachable: params are validated


class RateEncoder(Encoder):
    """One channel per feature; spike probability per step = value * max_rate."""

    name = "rate"
    _HYPERPARAMETERS = (
        declare("max_rate", "float", low=0.01, high=1.0, default=0.5,
                help="spike probability per step for a value of 1; lower saves energy, costs information"),
        declare("mode", "categorical", choices=list(RATE_MODES), default="bernoulli",
                help="bernoulli: independent random spikes; regular: the same count, evenly spaced, no noise"),
    )

    def channels(self, n_features: int) -> int:
        return int(n_features)

    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        return rate_spikes(x * self._params["max_rate"], timesteps, rng, self._params["mode"])
