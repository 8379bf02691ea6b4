"""Population coding: each feature is spread over `bins` neurons with receptive fields.

A value activates the neurons whose fields cover it; that membership in [0, 1] is then
rate- or latency-coded. This is the EONS-style "bins x spikes" encoder: many neurons with
few spikes each, trading channels (chip neurons) for fewer timesteps. Receptive fields:

- `gaussian`: centers evenly spaced on [0, 1] (first at 0, last at 1), standard deviation
  `width` times the spacing, so neighbours overlap and values between centers are still
  resolved;
- `bin`: [0, 1] cut into `bins` equal intervals, membership 1 in the value's interval and 0
  elsewhere (1 is put in the last bin).

Codes of the membership m: `rate` (Bernoulli, probability m * max_rate per step), `regular`
(round(m * max_rate * timesteps) evenly spaced spikes, deterministic), `latency` (one spike,
earlier for larger m, none for m <= threshold; see `encoders.latency`).

Channels are feature-major: channel f * bins + b is bin b of feature f.
"""

from __future__ import annotations

import numpy as np

from encoders.base import Encoder
from encoders.latency import latency_spikes
from encoders.rate import rate_spikes
from hyperparams import declare

RECEPTIVE_FIELDS = ("gaussian", "bin")
POPULATION_CODES = ("rate", "regular", "latency")


def memberships(x: np.ndarray, bins: int, field: str, width: float) -> np.ndarray:
    """(N, F) values in [0, 1] -> (N, F, bins) memberships in [0, 1]."""
    if field == "gaussian":
        centers = np.linspace(0.0, 1.0, bins)
        sigma = width / (bins - 1)
        return np.exp(-0.5 * ((x[..., None] - centers) / sigma) ** 2)
    if field == "bin":
        index = np.minimum(np.floor(x * bins).astype(np.int64), bins - 1)
        return (index[..., None] == np.arange(bins)).astype(np.float64)
    raise ValueError(f"unknown receptive field {field!r}")  # unreachable: params are validated


class PopulationEncoder(Encoder):
    """`bins` channels per feature: receptive-field membership, then rate or latency code."""

    name = "population"
    _HYPERPARAMETERS = (
        declare("bins", "int", low=2, high=32, default=8,
                help="neurons per feature: finer value resolution, more chip neurons"),
        declare("field", "categorical", choices=list(RECEPTIVE_FIELDS), default="gaussian",
                help="gaussian: overlapping receptive fields; bin: one-hot interval"),
        declare("width", "float", low=0.25, high=4.0, default=1.0,
                help="gaussian field standard deviation in units of center spacing (unused by bin)"),
        declare("code", "categorical", choices=list(POPULATION_CODES), default="regular",
                help="how membership becomes spikes: rate (random), regular (even), latency (one spike)"),
        declare("max_rate", "float", low=0.01, high=1.0, default=1.0,
                help="spike probability per step at full membership (rate and regular codes)"),
        declare("threshold", "float", low=0.0, high=0.9, default=0.1,
                help="memberships at or below this do not spike (latency code)"),
    )

    def channels(self, n_features: int) -> int:
        return int(n_features) * self._params["bins"]

    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        p = self._params
        member = memberships(x, p["bins"], p["field"], p["width"]).reshape(x.shape[0], x.shape[1] * p["bins"])
        if p["code"] == "latency":
            return latency_spikes(member, timesteps, "linear", p["threshold"], single_spike=True)
        mode = "bernoulli" if p["code"] == "rate" else "regular"
        return rate_spikes(member * p["max_rate"], timesteps, rng, mode)
