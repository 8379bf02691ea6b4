"""The Encoder interface: real-valued samples in, (batch, channels, time) uint8 spikes out.

Timesteps and seed are arguments of `encode`, not of the constructor, because timesteps is
a search hyperparameter shared with training and hardware, and the seed belongs to the
trial, not to the encoder. The constructor takes only the encoder's own hyperparameters,
so `get_encoder(name, **encoder.params)` rebuilds an identical encoder from an export.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from encoders.errors import EncodingError
from hyperparams import resolve

# Features this far outside [0, 1] are treated as float round-off and clipped; further
# out they mean the data was not scaled, which is an error worth reporting.
RANGE_TOLERANCE = 1e-6
MAX_TIMESTEPS = 100_000


def as_generator(seed: int | np.random.Generator, owner: str = "encoder") -> np.random.Generator:
    """A numpy Generator from an explicit seed (an int) or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise EncodingError(
            f"{owner}: seed = {seed!r} must be a non-negative int or a numpy.random.Generator"
        )
    return np.random.default_rng(int(seed))


def check_timesteps(timesteps: int, owner: str = "encoder") -> int:
    if isinstance(timesteps, (bool, np.bool_)) or not isinstance(timesteps, (int, np.integer)):
        raise EncodingError(f"{owner}: timesteps = {timesteps!r} must be an int in range [1, {MAX_TIMESTEPS}]")
    if not 1 <= timesteps <= MAX_TIMESTEPS:
        raise EncodingError(f"{owner}: timesteps = {timesteps} is out of range [1, {MAX_TIMESTEPS}]")
    return int(timesteps)


def check_finite(x: np.ndarray, owner: str) -> None:
    """Raises naming where the first NaN/inf is, since one bad value poisons a whole batch."""
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise EncodingError(
            f"{owner}: input has {int(bad.sum())} NaN/inf value(s), first at index {first}; "
            "impute or drop them before encoding"
        )


def check_unit_interval(x: np.ndarray, owner: str) -> np.ndarray:
    """Features as float64 in [0, 1]: NaN and unscaled data raise, round-off is clipped."""
    if x.dtype.kind not in "biuf":
        raise EncodingError(f"{owner}: input dtype {x.dtype} is not numeric")
    x = x.astype(np.float64, copy=False)
    check_finite(x, owner)
    if x.size and (x.min() < -RANGE_TOLERANCE or x.max() > 1 + RANGE_TOLERANCE):
        raise EncodingError(
            f"{owner}: input values must lie in [0, 1], got min {x.min():.6g} and max {x.max():.6g}; "
            "scale the features first (load_dataset does this with train-split statistics)"
        )
    return np.clip(x, 0.0, 1.0)


class Encoder(ABC):
    """Turns samples into spike tensors; subclasses declare their hyperparameters."""

    name: ClassVar[str]
    #: the input dimensionality the encoder accepts, checked before `_encode` sees it
    input_ndims: ClassVar[tuple[int, ...]] = (2,)
    _HYPERPARAMETERS: ClassVar[tuple[dict, ...]] = ()

    def __init__(self, **params):
        self._params = resolve(self.hyperparameters(), params, owner=self._owner, error=EncodingError)

    @classmethod
    def hyperparameters(cls) -> list[dict]:
        """The declarations a search space is built from (fresh copies, safe to mutate)."""
        return copy.deepcopy(list(cls._HYPERPARAMETERS))

    @property
    def params(self) -> dict:
        """Hyperparameter values, JSON-serializable, enough to rebuild this encoder."""
        return dict(self._params)

    @abstractmethod
    def channels(self, n_features: int) -> int:
        """Output channels for an input of `n_features` features (or input channels)."""

    @abstractmethod
    def _encode(self, x: np.ndarray, timesteps: int, rng: np.random.Generator) -> np.ndarray:
        """Vectorized encoding of validated input; returns (N, channels, timesteps) 0/1."""

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        return check_unit_interval(x, self._owner)

    @property
    def _owner(self) -> str:
        return f"encoder {self.name!r}"

    def encode(self, x: np.ndarray, timesteps: int, seed: int | np.random.Generator = 0) -> np.ndarray:
        """(N, F) features in [0, 1] -> (N, channels(F), timesteps) uint8 spikes."""
        x = np.asarray(x)
        if x.ndim not in self.input_ndims:
            shapes = " or ".join(f"{n}-D" for n in self.input_ndims)
            raise EncodingError(f"{self._owner}: input must be {shapes}, got shape {x.shape}")
        timesteps = check_timesteps(timesteps, self._owner)
        rng = as_generator(seed, self._owner)
        x = self._check_input(x)
        spikes = self._encode(x, timesteps, rng)
        expected = (x.shape[0], self.channels(x.shape[1]), timesteps)
        if spikes.shape != expected:  # pragma: no cover - a bug in a subclass, not user input
            raise AssertionError(f"{self._owner} produced shape {spikes.shape}, expected {expected}")
        return spikes.astype(np.uint8, copy=False)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"
