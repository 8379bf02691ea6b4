"""The hardware-level network: a feed-forward CUBA-LIF network in Loihi integer units.

This is the one description every backend (numba core, Lava, Brian2), the energy model and
the netx exporter share. Fields hold exactly what Lava's bit-accurate process models are given:

- `weights` (out, in): the integers Lava's `Dense(weights=...)` receives, in [-256, 255];
  Lava clips them to 8 bits, truncates them to `num_weight_bits` according to the sign mode
  (derived from the weights, as Lava derives it), and shifts the summed input by
  `weight_exponent`.
- `delays` (out, in) or None: per-synapse delays in timesteps (Lava's `DelayDense`).
- `du`, `dv`: current and voltage decay in 1/4096 per step, 0..4096 (netx `iDecay` /
  `vDecay`; Lava's LIF receives `du - 1` because its current decay adds a 1-bit offset).
- `vth`: threshold mantissa (Lava applies `<< 6`), `bias` per neuron mantissa with `bias_exp`.
- `refractory`: extra silent steps after a spike (0 = none; Lava's fixed-point LIF has none).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from hw_models.errors import HardwareError
from hw_models.profile import ChipProfile, load_profile

WEIGHT_MIN, WEIGHT_MAX = -256, 255  # Lava clips Dense weights to 8 bits + sign


class SignMode(Enum):
    """Loihi synapse sign modes, derived from the weights exactly as Lava derives them."""

    MIXED = 1
    EXCITATORY = 2
    INHIBITORY = 3


def sign_mode_of(weights: np.ndarray) -> SignMode:
    if weights.size == 0 or np.min(weights) >= 0:
        return SignMode.EXCITATORY
    if np.max(weights) <= 0:
        return SignMode.INHIBITORY
    return SignMode.MIXED


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """One dense CUBA-LIF layer: synapses from the previous layer plus its neurons."""

    weights: np.ndarray
    du: int
    dv: int
    vth: int
    weight_exponent: int = 0
    num_weight_bits: int = 8
    delays: np.ndarray | None = None
    bias: np.ndarray | None = None
    bias_exp: int = 6
    refractory: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        where = f"layer {self.name!r}" if self.name else "layer"
        weights = np.asarray(self.weights)
        if weights.ndim != 2:
            raise HardwareError(f"{where}: weights must be a 2-D (out, in) matrix, got shape {weights.shape}")
        if not _is_integral(weights):
            raise HardwareError(f"{where}: weights must be integers (Loihi weight mantissas), got non-integer values")
        object.__setattr__(self, "weights", weights.astype(np.int32))
        if self.delays is not None:
            delays = np.asarray(self.delays)
            if delays.shape != weights.shape:
                raise HardwareError(f"{where}: delays shape {delays.shape} differs from weights shape {weights.shape}")
            if not _is_integral(delays):
                raise HardwareError(f"{where}: delays must be integer timesteps")
            object.__setattr__(self, "delays", delays.astype(np.int32))
        bias = np.zeros(weights.shape[0]) if self.bias is None else np.asarray(self.bias)
        if bias.ndim == 0:
            bias = np.full(weights.shape[0], bias)
        if bias.shape != (weights.shape[0],):
            raise HardwareError(f"{where}: bias must have one entry per neuron ({weights.shape[0]}), got shape {bias.shape}")
        if not _is_integral(bias):
            raise HardwareError(f"{where}: bias must be integer mantissas")
        object.__setattr__(self, "bias", bias.astype(np.int32))
        for name in ("du", "dv", "vth", "weight_exponent", "num_weight_bits", "bias_exp", "refractory"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not float(value).is_integer():
                raise HardwareError(f"{where}: {name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))

    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]

    @property
    def sign_mode(self) -> SignMode:
        return sign_mode_of(self.weights)

    @property
    def max_delay(self) -> int:
        return 0 if self.delays is None else int(self.delays.max(initial=0))

    def effective_weights(self) -> np.ndarray:
        """The weight mantissas Lava actually uses: clipped to 8 bits, then truncated to `num_weight_bits`."""
        mode = self.sign_mode
        weights = self.weights.astype(np.int32)
        if mode is SignMode.INHIBITORY:
            weights = -weights
        mixed = int(mode is SignMode.MIXED)
        weights = np.clip(weights, -(2**8) * mixed, 2**8 - 1)
        truncate_bits = 8 - self.num_weight_bits + mixed
        weights = (weights >> truncate_bits) << truncate_bits
        return -weights if mode is SignMode.INHIBITORY else weights

    def equals(self, other: "DenseLayer") -> bool:
        same_delays = (self.delays is None and other.delays is None) or (
            self.delays is not None
            and other.delays is not None
            and np.array_equal(self.delays, other.delays)
        )
        scalars = ("du", "dv", "vth", "weight_exponent", "num_weight_bits", "bias_exp", "refractory")
        return (
            np.array_equal(self.weights, other.weights)
            and np.array_equal(self.bias, other.bias)
            and same_delays
            and all(getattr(self, name) == getattr(other, name) for name in scalars)
        )

    def check(self, profile: ChipProfile, index: int) -> list[str]:
        """Everything about this layer the chip cannot hold, one message per problem."""
        where = f"layer {index}" + (f" ({self.name})" if self.name else "")
        problems = []

        def bound(field_name: str, value: int, low: int, high: int) -> None:
            if not low <= value <= high:
                problems.append(f"{where}: {field_name}={value} is outside the chip's range [{low}, {high}]")

        limit = profile.limit
        bound("du", self.du, 0, limit("decay_max"))
        bound("dv", self.dv, 0, limit("decay_max"))
        bound("vth", self.vth, 0, limit("threshold_mantissa_max"))
        bound("num_weight_bits", self.num_weight_bits, limit("weight_bits_min"), limit("weight_bits_max"))
        bound("weight_exponent", self.weight_exponent, limit("weight_exponent_min"), limit("weight_exponent_max"))
        bound("bias_exp", self.bias_exp, limit("bias_exponent_min"), limit("bias_exponent_max"))
        bound("refractory", self.refractory, 0, limit("refractory_max"))
        if self.weights.size:
            low, high = int(self.weights.min()), int(self.weights.max())
            if low < WEIGHT_MIN or high > WEIGHT_MAX:
                bad = low if low < WEIGHT_MIN else high
                problems.append(f"{where}: weights contain {bad}, outside the synapse range [{WEIGHT_MIN}, {WEIGHT_MAX}]")
        if self.bias.size:
            low, high = int(self.bias.min()), int(self.bias.max())
            bias_min, bias_max = limit("bias_mantissa_min"), limit("bias_mantissa_max")
            if low < bias_min or high > bias_max:
                bad = low if low < bias_min else high
                problems.append(f"{where}: bias contains {bad}, outside the chip's range [{bias_min}, {bias_max}]")
        if self.delays is not None and self.delays.size:
            low, high = int(self.delays.min()), int(self.delays.max())
            if low < 0 or high > limit("delay_max"):
                bad = low if low < 0 else high
                problems.append(f"{where}: delays contain {bad}, outside the chip's range [0, {limit('delay_max')}]")
        return problems


@dataclass(frozen=True, eq=False)
class Network:
    """A feed-forward stack of dense CUBA-LIF layers; input spikes feed layer 0's synapses."""

    layers: tuple[DenseLayer, ...]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise HardwareError("a network needs at least one layer")
        for index, (before, after) in enumerate(zip(layers, layers[1:]), start=1):
            if after.n_in != before.n_out:
                raise HardwareError(
                    f"layer {index}: takes {after.n_in} inputs but layer {index - 1} has {before.n_out} neurons"
                )
        object.__setattr__(self, "layers", layers)

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].n_out

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n_inputs, *(layer.n_out for layer in self.layers))

    @property
    def has_delays(self) -> bool:
        return any(layer.delays is not None for layer in self.layers)

    def problems(self, profile: ChipProfile | str | Path = "loihi2") -> list[str]:
        profile = load_profile(profile)
        return [problem for index, layer in enumerate(self.layers) for problem in layer.check(profile, index)]

    def validate(self, profile: ChipProfile | str | Path = "loihi2") -> "Network":
        """Raise one `HardwareError` listing every out-of-range field (layer, field, value)."""
        problems = self.problems(profile)
        if problems:
            profile_name = load_profile(profile).name
            raise HardwareError(f"network does not fit chip profile {profile_name!r}: " + "; ".join(problems))
        return self

    def equals(self, other: "Network") -> bool:
        return len(self.layers) == len(other.layers) and all(
            mine.equals(theirs) for mine, theirs in zip(self.layers, other.layers)
        )

    def with_layers(self, layers: Iterable[DenseLayer]) -> "Network":
        return replace(self, layers=tuple(layers))

    def describe(self) -> dict:
        """A JSON-able summary (shapes, neuron params, weight formats), for reports and the CLI."""
        return {
            "shape": list(self.shape),
            "layers": [
                {
                    "name": layer.name,
                    "n_in": layer.n_in,
                    "n_out": layer.n_out,
                    "du": layer.du,
                    "dv": layer.dv,
                    "vth": layer.vth,
                    "weight_exponent": layer.weight_exponent,
                    "num_weight_bits": layer.num_weight_bits,
                    "sign_mode": layer.sign_mode.name.lower(),
                    "max_delay": layer.max_delay,
                    "refractory": layer.refractory,
                }
                for layer in self.layers
            ],
        }

    # netx HDF5 I/O lives in hw_models.netx; these are the conveniences users reach for.
    @classmethod
    def from_netx(cls, path: str | Path) -> "Network":
        from hw_models.netx import read_netx

        return read_netx(path)

    def to_netx(self, path: str | Path) -> Path:
        from hw_models.netx import write_netx

        return write_netx(self, path)


def _is_integral(values: np.ndarray) -> bool:
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        return True
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def dense_network(
    weights: Sequence[np.ndarray],
    *,
    du: int,
    dv: int,
    vth: int,
    weight_exponent: int = 0,
    num_weight_bits: int = 8,
    delays: Sequence[np.ndarray | None] | None = None,
) -> Network:
    """Build a network whose layers share neuron parameters (the common case in a sweep)."""
    delays = delays or [None] * len(weights)
    return Network(
        tuple(
            DenseLayer(
                weights=w,
                du=du,
                dv=dv,
                vth=vth,
                weight_exponent=weight_exponent,
                num_weight_bits=num_weight_bits,
                delays=d,
                name=f"dense{index}",
            )
            for index, (w, d) in enumerate(zip(weights, delays))
        )
    )
