"""Encoders by name, so a search space or an exported deployment can name them in plain data."""

from __future__ import annotations

from encoders.base import Encoder
from encoders.delta import DeltaEncoder
from encoders.errors import EncodingError
from encoders.frames import FramesEncoder
from encoders.latency import LatencyEncoder
from encoders.passthrough import PassthroughEncoder
from encoders.population import PopulationEncoder
from encoders.rate import RateEncoder

ENCODERS: dict[str, type[Encoder]] = {
    cls.name: cls for cls in (RateEncoder, LatencyEncoder, DeltaEncoder, PopulationEncoder, PassthroughEncoder,
                                          FramesEncoder)
}
ENCODER_NAMES: tuple[str, ...] = tuple(ENCODERS)


def encoder_class(name: str) -> type[Encoder]:
    """The class registered under `name` (for its `hyperparameters()` without building one)."""
    try:
        return ENCODERS[name]
    except (KeyError, TypeError):
        raise EncodingError(f"unknown encoder {name!r}; known encoders are {list(ENCODER_NAMES)}") from None


def get_encoder(name: str, **params) -> Encoder:
    """An encoder with validated hyperparameters; `get_encoder(name, **enc.params)` rebuilds `enc`."""
    return encoder_class(name)(**params)
