"""The hardware-level network: CUBA-LIF layers in Loihi integer units, as lava-dl netx builds them.

This is the one description every backend (numba core, Lava, Brian2), the energy model and
the netx reader/writer share. Layer kinds (each is "synapses from the previous layer plus
its neurons"; neurons are stored in lava-dl's C, H, W order, flattened):

- `InputLayer`: netx's input layer with a neuron. It has no synapses: what drives it is a
  per-step integer frame written to the neurons' `bias_mant` (as lava-dl's PilotNet
  deployment does with a `StateDataloader`); netx builds the block's `transform` (weight,
  bias) but never applies it, so it is kept only to be written back.
- `ConvLayer`: a 2-D convolution (Lava's `Conv`, fixed_pt) into CUBA neurons. Lava's conv
  applies neither `weight_exp` nor `num_weight_bits` and wraps each sum to 24 bits; on the
  chip, conv synapses do have exponents (Lava issue "Conv ignores weight_exp"): we model Lava.
- `DenseLayer`: a dense (or `DelayDense`) synapse into CUBA neurons, optionally recurrent
  (`recurrent_weights`, netx's `dense_rec`), or a readout without a neuron group (`neuron=False`:
  netx gives it a non-leaky integrator that never spikes: du=0, dv=4096, vth=`1 << 18 - 1`,
  which Python reads as 1 << 17). A dense layer after a 2-D layer flattens it (C, H, W order,
  as netx's `transpose([2, 1, 0]).flatten()`).

Any of them may hold sigma-delta neurons instead of CUBA ones (`sigma_delta=SigmaDelta(...)`,
netx neuron type `SDNN`): graded spikes, see `SigmaDelta`. A network is either all CUBA or
all sigma-delta.

Fields hold exactly what Lava's bit-accurate process models are given:

- dense `weights` (out, in): the integers Lava's `Dense(weights=...)` receives, in [-256, 255];
  Lava clips them to 8 bits, truncates them to `num_weight_bits` according to the sign mode
  (derived from the weights, as Lava derives it), and shifts the summed input by
  `weight_exponent`. `delays` (out, in) or None: per-synapse delays (Lava's `DelayDense`).
- conv `weights` (out, in / groups, kH, kW), `stride`, `padding`, `dilation` as (y, x), as
  lava-dl and torch write them (netx flips the kernel and reverses these to (x, y); Lava flips
  them back, so the file's kernel is applied as a torch `conv2d` correlation).
- `du`, `dv`: current and voltage decay in 1/4096 per step, 0..4096 (netx `iDecay` /
  `vDecay`; Lava's LIF receives `du - 1` because its current decay adds a 1-bit offset).
- `vth`: threshold mantissa (Lava applies `<< 6`); a `vth` of 1 << 17 or more can never be
  reached by the 24-bit voltage (the layer never spikes: a readout). `bias` per neuron
  mantissa with `bias_exp`. `refractory`: extra silent steps after a spike (numba only).
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


NEVER_SPIKES_VTH = 1 << 17  # vth << 6 = 2**23 exceeds the largest 24-bit voltage: such a layer never spikes
VTH_MAX_STORED = (1 << 18) - 1  # the largest threshold lava-dl writes (Affine(dynamics=True))
SD_INPUT_MAX = (1 << 23) - 1  # a Delta input neuron's a_in: a 24-bit value (Lava's PyDeltaModelFixed a_in precision)
SD_MESSAGE_BITS_MAX = 24  # Lava 0.10's sigma-delta s_out ports are 24-bit (precision=24)
SD_EXP_MAX = 7  # spike_exp and state_exp are 3-bit fields in Lava's sigma-delta models
SD_ROLES = ("delta", "sigma_delta", "sigma")
SD_ACTIVATIONS = ("relu", "unit")
READOUT_NEURON = {"du": 0, "dv": 4096, "vth": 1 << 18 - 1}  # netx's default for a dense layer without neurons (sic: 1 << 17)
CONV_SUM_BITS = 24  # Lava's PyConvModelFixed wraps each summed input to a signed 24-bit value
NEURON_FIELDS = ("du", "dv", "vth", "bias_exp", "refractory")


@dataclass(frozen=True)
class SigmaDelta:
    """A sigma-delta neuron group (Loihi 2's graded-spike SDNN neurons), as netx builds it from neuron type `SDNN`.

    `role`: "delta" (the input layer: Lava's `Delta`, encodes its integer input frame),
    "sigma_delta" (hidden: `SigmaDelta`, sigma decoding, activation, delta encoding) or "sigma"
    (`Sigma`, the decoding output a netx layer with `sigma_output` gets). The layer's `vth` is the
    threshold mantissa (netx `vThMant`); Lava compares |delta| against vth << (spike_exp + state_exp),
    scales the bias the same way, shifts a Delta's input left by spike_exp + state_exp and the
    message right by state_exp. netx fixes spike_exp = state_exp = 6 and always uses ReLU
    (`activation` "unit" is Lava's `ActivationMode.UNIT`, which netx cannot express).
    `message_bits` (netx `messageBits`, 16 when absent) is the payload width of the layer's graded
    spikes; 0 makes them binary (the next synapse sees 1 for any non-zero message, as Lava's Dense
    and Conv do). `cum_error` is Lava's cumulative-error spike mechanism (netx never sets it).
    """

    role: str = "sigma_delta"
    activation: str = "relu"
    spike_exp: int = 6
    state_exp: int = 6
    message_bits: int = 16
    cum_error: bool = False

    def __post_init__(self) -> None:
        if self.role not in SD_ROLES:
            raise HardwareError(f"sigma-delta role must be one of {', '.join(SD_ROLES)}, got {self.role!r}")
        if self.activation not in SD_ACTIVATIONS:
            raise HardwareError(f"sigma-delta activation must be one of {', '.join(SD_ACTIVATIONS)}, got {self.activation!r}")
        for name in ("spike_exp", "state_exp", "message_bits"):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise HardwareError(f"sigma-delta {name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if not isinstance(self.cum_error, (bool, np.bool_)):
            raise HardwareError(f"sigma-delta cum_error must be True or False, got {self.cum_error!r}")
        object.__setattr__(self, "cum_error", bool(self.cum_error))

    @property
    def scale_exp(self) -> int:
        """Lava scales vth and bias (and a Delta's input) by 2**(spike_exp + state_exp)."""
        return self.spike_exp + self.state_exp

    def problems(self, layer, where: str) -> list[str]:
        """Everything about these neurons Lava's fixed-point sigma-delta models cannot hold."""
        problems = []
        for name in ("spike_exp", "state_exp"):
            if not 0 <= getattr(self, name) <= SD_EXP_MAX:
                problems.append(f"{where}: sigma-delta {name}={getattr(self, name)} is outside [0, {SD_EXP_MAX}] (a 3-bit field)")
        if not 0 <= self.message_bits <= SD_MESSAGE_BITS_MAX:
            problems.append(f"{where}: sigma-delta message_bits={self.message_bits} is outside [0, {SD_MESSAGE_BITS_MAX}]")
        if self.role != "sigma" and not 0 <= (layer.vth << max(self.scale_exp, 0)) < (1 << 23):
            problems.append(
                f"{where}: vth={layer.vth} scaled by 2**{self.scale_exp} is outside the 24-bit threshold register [0, 2**23)"
            )
        return problems

    def describe(self) -> dict:
        return {"role": self.role, "activation": self.activation, "spike_exp": self.spike_exp, "state_exp": self.state_exp,
                "message_bits": self.message_bits, "cum_error": self.cum_error}


def _check_sigma_delta(layer, *, input_layer: bool) -> None:
    """A sigma-delta layer's own rules: the right role for its place, and no CUBA-only fields."""
    model = layer.sigma_delta
    if model is None:
        return
    if not isinstance(model, SigmaDelta):
        raise HardwareError(f"{_where(layer)}: sigma_delta must be a SigmaDelta, got {type(model).__name__}")
    if input_layer != (model.role == "delta"):
        wanted = "an input layer's sigma-delta neurons are 'delta'" if input_layer else "only an input layer has 'delta' neurons"
        raise HardwareError(f"{_where(layer)}: sigma-delta role {model.role!r}: {wanted}")
    for name in ("du", "dv", "refractory"):
        if getattr(layer, name):
            raise HardwareError(f"{_where(layer)}: {name}={getattr(layer, name)}, but a sigma-delta neuron has no {name} (give 0)")
    if getattr(layer, "delays", None) is not None or getattr(layer, "recurrent_weights", None) is not None:
        raise HardwareError(f"{_where(layer)}: sigma-delta layers with delays or recurrent synapses are not supported")
    if getattr(layer, "neuron", True) is False:
        raise HardwareError(f"{_where(layer)}: a readout without neurons cannot be sigma-delta (use role 'sigma')")


def _sd_describe(layer) -> dict:
    return {} if layer.sigma_delta is None else {"neuron_model": "sigma_delta", **layer.sigma_delta.describe()}


def effective_weights(weights: np.ndarray, num_weight_bits: int) -> np.ndarray:
    """The weight mantissas Lava's Dense actually uses: clipped to 8 bits, then truncated to
    `num_weight_bits` according to the sign mode Lava derives from these weights."""
    mode = sign_mode_of(weights)
    weights = weights.astype(np.int32)
    if mode is SignMode.INHIBITORY:
        weights = -weights
    mixed = int(mode is SignMode.MIXED)
    weights = np.clip(weights, -(2**8) * mixed, 2**8 - 1)
    truncate_bits = 8 - num_weight_bits + mixed
    weights = (weights >> truncate_bits) << truncate_bits
    return -weights if mode is SignMode.INHIBITORY else weights


def _where(layer, index: int | None = None) -> str:
    where = "layer" if index is None else f"layer {index}"
    return where + (f" ({layer.name})" if layer.name else "")


def _integers(layer, name: str, shape: tuple | None = None) -> np.ndarray:
    """Field `name` of `layer` as an int32 array (of `shape` if given); non-integers, NaN and inf are refused."""
    values = np.asarray(getattr(layer, name))
    if shape is not None and values.shape != shape:
        raise HardwareError(f"{_where(layer)}: {name} must have shape {shape}, got {values.shape}")
    if not _is_integral(values):
        raise HardwareError(f"{_where(layer)}: {name} must be finite integers, got non-integer values")
    return values.astype(np.int32)


def _scalars(layer, names: Iterable[str]) -> None:
    for name in names:
        value = getattr(layer, name)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) or not float(value).is_integer():
            raise HardwareError(f"{_where(layer)}: {name} must be an integer, got {value!r}")
        object.__setattr__(layer, name, int(value))


def _pair(layer, name: str) -> None:
    value = getattr(layer, name)
    pair = (value, value) if np.ndim(value) == 0 else tuple(np.asarray(value).reshape(-1).tolist())
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) or float(v).is_integer() for v in pair):
        raise HardwareError(f"{_where(layer)}: {name} must be an integer or a (y, x) pair of integers, got {value!r}")
    object.__setattr__(layer, name, (int(pair[0]), int(pair[1])))


def _per_neuron_bias(layer, n_out: int, channels: int = 0) -> None:
    """Bias as one mantissa per neuron: None -> zeros, a scalar -> all, per channel (conv) -> per neuron."""
    bias = np.zeros(n_out) if layer.bias is None else np.asarray(layer.bias)
    if bias.ndim == 0:
        bias = np.full(n_out, bias)
    bias = bias.reshape(-1)
    if channels and bias.size == channels and n_out != channels:
        bias = np.repeat(bias, n_out // channels)
    if bias.shape != (n_out,):
        raise HardwareError(f"{_where(layer)}: bias must have one entry per neuron ({n_out}) or per channel, got shape {np.shape(layer.bias)}")
    object.__setattr__(layer, "bias", bias)
    object.__setattr__(layer, "bias", _integers(layer, "bias"))


def _neuron_problems(layer, profile: ChipProfile, where: str, bias: np.ndarray) -> list[str]:
    """Everything about a layer's neurons the chip cannot hold, one message per problem."""
    problems = []
    limit = profile.limit

    def bound(name: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            problems.append(f"{where}: {name}={value} is outside the chip's range [{low}, {high}]")

    bound("du", layer.du, 0, limit("decay_max"))
    bound("dv", layer.dv, 0, limit("decay_max"))
    if not NEVER_SPIKES_VTH <= layer.vth <= VTH_MAX_STORED:  # out of the voltage's reach: stored as "never spike"
        bound("vth", layer.vth, 0, limit("threshold_mantissa_max"))
    bound("bias_exp", layer.bias_exp, limit("bias_exponent_min"), limit("bias_exponent_max"))
    bound("refractory", layer.refractory, 0, limit("refractory_max"))
    if bias.size:
        low, high = int(bias.min()), int(bias.max())
        bias_min, bias_max = limit("bias_mantissa_min"), limit("bias_mantissa_max")
        if low < bias_min or high > bias_max:
            bad = low if low < bias_min else high
            problems.append(f"{where}: bias contains {bad}, outside the chip's range [{bias_min}, {bias_max}]")
    return problems


def _weight_problems(weights: np.ndarray, where: str, name: str = "weights") -> list[str]:
    if weights.size:
        low, high = int(weights.min()), int(weights.max())
        if low < WEIGHT_MIN or high > WEIGHT_MAX:
            bad = low if low < WEIGHT_MIN else high
            return [f"{where}: {name} contain {bad}, outside the synapse range [{WEIGHT_MIN}, {WEIGHT_MAX}]"]
    return []


def _same(mine, theirs, names: Iterable[str]) -> bool:
    def equal(a, b) -> bool:
        if a is None or b is None:
            return a is None and b is None
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.array_equal(a, b)
        return a == b

    return type(mine) is type(theirs) and all(equal(getattr(mine, name), getattr(theirs, name)) for name in names)


@dataclass(frozen=True, eq=False)
class InputLayer:
    """netx's input layer with a neuron: CUBA neurons driven by a per-step frame written to their bias.

    `shape` is (C, H, W) or (n,). `weight` and `bias` are the block's transform, which netx
    builds but Lava never applies (kept to be written back). The frame (batch, *shape, T) is
    given to the backends as bias mantissas; Lava adds `bias_mant << 6` to v each step.
    """

    shape: tuple
    du: int
    dv: int
    vth: int
    weight: int = 64
    bias: int = 0
    bias_exp: int = 6
    refractory: int = 0
    name: str = "input"
    sigma_delta: SigmaDelta | None = None

    kind = "input"
    spiking = True

    def __post_init__(self) -> None:
        shape = tuple(int(size) for size in np.asarray(self.shape).reshape(-1))
        if len(shape) not in (1, 3) or min(shape) < 1:
            raise HardwareError(f"{_where(self)}: shape must be (n,) or (C, H, W) with positive sizes, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        _scalars(self, NEURON_FIELDS + ("weight", "bias"))
        _check_sigma_delta(self, input_layer=True)

    @property
    def in_shape(self) -> tuple:
        return self.shape

    @property
    def out_shape(self) -> tuple:
        return self.shape

    @property
    def n_in(self) -> int:
        return int(np.prod(self.shape))

    @property
    def n_out(self) -> int:
        return self.n_in

    @property
    def max_delay(self) -> int:
        return 0

    @property
    def neuron_bias(self) -> np.ndarray:
        return np.zeros(self.n_out, dtype=np.int32)

    def fan_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Per input: (synapses with a non-zero weight, of those delayed): an input layer has none."""
        zeros = np.zeros(self.n_in, dtype=np.int64)
        return zeros, zeros

    def synapses_per_neuron(self) -> int:
        return 0

    def equals(self, other) -> bool:
        return _same(self, other, ("shape", "weight", "bias", "sigma_delta") + NEURON_FIELDS)

    def check(self, profile: ChipProfile, index: int) -> list[str]:
        if self.sigma_delta is not None:
            return self.sigma_delta.problems(self, _where(self, index))
        return _neuron_problems(self, profile, _where(self, index), bias=np.zeros(0))

    def describe(self) -> dict:
        return {"kind": self.kind, "name": self.name, "shape": list(self.shape), "n_out": self.n_out,
                **{name: getattr(self, name) for name in NEURON_FIELDS},
                "spiking": self.sigma_delta is not None or self.vth < NEVER_SPIKES_VTH, **_sd_describe(self)}


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """A 2-D convolution into CUBA-LIF neurons, as Lava's fixed-point `Conv` runs it (see the module doc)."""

    weights: np.ndarray  # (out_channels, in_channels / groups, kH, kW)
    in_shape: tuple  # (C, H, W) of the input map
    du: int
    dv: int
    vth: int
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1
    bias: np.ndarray | None = None  # per neuron (C_out * H_out * W_out) or per channel
    bias_exp: int = 6
    refractory: int = 0
    name: str = ""
    sigma_delta: SigmaDelta | None = None

    kind = "conv"
    delays = None
    max_delay = 0

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights)
        if weights.ndim != 4:
            raise HardwareError(f"{_where(self)}: conv weights must be 4-D (out, in / groups, kH, kW), got shape {weights.shape}")
        object.__setattr__(self, "weights", _integers(self, "weights"))
        in_shape = tuple(int(size) for size in np.asarray(self.in_shape).reshape(-1))
        if len(in_shape) != 3 or min(in_shape) < 1:
            raise HardwareError(f"{_where(self)}: in_shape must be (C, H, W) with positive sizes, got {self.in_shape!r}")
        object.__setattr__(self, "in_shape", in_shape)
        for name in ("stride", "padding", "dilation"):
            _pair(self, name)
        _scalars(self, NEURON_FIELDS + ("groups",))
        problems = self._geometry_problems()
        if problems:
            raise HardwareError(f"{_where(self)}: " + "; ".join(problems))
        _per_neuron_bias(self, self.n_out, channels=self.out_shape[0])
        _check_sigma_delta(self, input_layer=False)

    def _geometry_problems(self) -> list[str]:
        out_channels, group_in, k_h, k_w = self.weights.shape
        channels, height, width = self.in_shape
        problems = []
        if min(self.stride) < 1 or min(self.dilation) < 1 or min(self.padding) < 0:
            problems.append(f"stride {self.stride} and dilation {self.dilation} must be >= 1 and padding {self.padding} >= 0")
        if self.groups < 1 or channels % self.groups or out_channels % self.groups:
            problems.append(f"groups={self.groups} must divide the in channels ({channels}) and out channels ({out_channels})")
        elif group_in * self.groups != channels:
            problems.append(f"weights take {group_in} channels per group x {self.groups} groups, the input has {channels}")
        if min(out_channels, k_h, k_w) < 1:
            problems.append(f"weights shape {self.weights.shape} has an empty dimension")
        elif not problems and min(self._out_size()) < 1:
            problems.append(
                f"a {k_h}x{k_w} kernel (dilation {self.dilation}, stride {self.stride}, padding {self.padding}) "
                f"leaves no output on a {height}x{width} map"
            )
        return problems

    def _out_size(self) -> tuple[int, int]:
        sizes = []
        for axis in range(2):
            size, kernel = self.in_shape[1 + axis], self.weights.shape[2 + axis]
            span = self.dilation[axis] * (kernel - 1) + 1
            sizes.append((size + 2 * self.padding[axis] - span) // self.stride[axis] + 1)
        return sizes[0], sizes[1]

    @property
    def out_shape(self) -> tuple:
        return (self.weights.shape[0], *self._out_size())

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    @property
    def spiking(self) -> bool:
        return self.sigma_delta is not None or self.vth < NEVER_SPIKES_VTH

    @property
    def neuron_bias(self) -> np.ndarray:
        return self.bias

    def synapse_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The conv as sparse fan-out lists: (start per input + end, target neuron, weight), zero weights left out.

        Input (c, y, x) reaches output (o, i, j) through kernel tap (ky, kx) when
        y = i * stride_y - pad_y + ky * dil_y (same for x) and c is in o's group.
        """
        out_channels, group_in, k_h, k_w = self.weights.shape
        channels, height, width = self.in_shape
        _, out_h, out_w = self.out_shape
        per_group = out_channels // self.groups
        o, ci, ky, kx, i, j = np.meshgrid(
            np.arange(out_channels), np.arange(group_in), np.arange(k_h), np.arange(k_w), np.arange(out_h), np.arange(out_w), indexing="ij"
        )
        y = i * self.stride[0] - self.padding[0] + ky * self.dilation[0]
        x = j * self.stride[1] - self.padding[1] + kx * self.dilation[1]
        c = (o // per_group) * group_in + ci
        weight = self.weights[o, ci, ky, kx]
        keep = (y >= 0) & (y < height) & (x >= 0) & (x < width) & (weight != 0)
        source = ((c * height + y) * width + x)[keep]
        target = ((o * out_h + i) * out_w + j)[keep]
        order = np.argsort(source, kind="stable")
        starts = np.searchsorted(source[order], np.arange(self.n_in + 1))
        return starts.astype(np.int64), target[order].astype(np.int64), weight[keep][order].astype(np.int32)

    def fan_out(self) -> tuple[np.ndarray, np.ndarray]:
        starts, _, _ = self.synapse_table()
        counts = np.diff(starts)
        return counts, np.zeros_like(counts)

    def synapses_per_neuron(self) -> int:
        """A neuron's fan-in as the chip stores it expanded: the kernel (in channels per group x kH x kW)."""
        return int(np.prod(self.weights.shape[1:]))

    def equals(self, other) -> bool:
        return _same(self, other, ("weights", "in_shape", "stride", "padding", "dilation", "groups", "bias", "sigma_delta") + NEURON_FIELDS)

    def check(self, profile: ChipProfile, index: int) -> list[str]:
        where = _where(self, index)
        if self.sigma_delta is not None:
            return _weight_problems(self.weights, where) + self.sigma_delta.problems(self, where)
        return _weight_problems(self.weights, where) + _neuron_problems(self, profile, where, self.bias)

    def describe(self) -> dict:
        return {
            "kind": self.kind, "name": self.name, "in_shape": list(self.in_shape), "out_shape": list(self.out_shape),
            "n_in": self.n_in, "n_out": self.n_out, "kernel": list(self.weights.shape[2:]), "stride": list(self.stride),
            "padding": list(self.padding), "dilation": list(self.dilation), "groups": self.groups,
            **{name: getattr(self, name) for name in NEURON_FIELDS}, "spiking": self.spiking, **_sd_describe(self),
        }


@dataclass(frozen=True, eq=False)
class DenseLayer:
    """A dense CUBA-LIF layer: synapses from the previous layer (flattened) plus its neurons.

    `recurrent_weights` (out, out) feed the layer's own spikes back (netx `dense_rec`: a second
    Dense with the same exponent and weight bits, from s_out to a_in). `neuron=False` is a netx
    readout: the neuron group netx builds when the file has none (`READOUT_NEURON`).
    """

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
    recurrent_weights: np.ndarray | None = None
    neuron: bool = True
    sigma_delta: SigmaDelta | None = None

    kind = "dense"

    def __post_init__(self) -> None:
        weights = np.asarray(self.weights)
        if weights.ndim != 2:
            raise HardwareError(f"{_where(self)}: weights must be a 2-D (out, in) matrix, got shape {weights.shape}")
        object.__setattr__(self, "weights", _integers(self, "weights"))
        if self.delays is not None:
            object.__setattr__(self, "delays", _integers(self, "delays", weights.shape))
        if self.recurrent_weights is not None:
            object.__setattr__(self, "recurrent_weights", _integers(self, "recurrent_weights", (weights.shape[0], weights.shape[0])))
            if self.delays is not None:
                raise HardwareError(f"{_where(self)}: a recurrent layer with delays is not supported (netx builds it without the weight exponent)")
        if not isinstance(self.neuron, (bool, np.bool_)):
            raise HardwareError(f"{_where(self)}: neuron must be True or False, got {self.neuron!r}")
        if not self.neuron:
            for name, value in READOUT_NEURON.items():
                object.__setattr__(self, name, value)
        _scalars(self, NEURON_FIELDS + ("weight_exponent", "num_weight_bits"))
        _per_neuron_bias(self, weights.shape[0])
        _check_sigma_delta(self, input_layer=False)

    @property
    def n_in(self) -> int:
        return self.weights.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]

    @property
    def out_shape(self) -> tuple:
        return (self.n_out,)

    @property
    def in_shape(self) -> tuple:
        return (self.n_in,)

    @property
    def spiking(self) -> bool:
        return self.sigma_delta is not None or self.vth < NEVER_SPIKES_VTH

    @property
    def neuron_bias(self) -> np.ndarray:
        return self.bias

    @property
    def sign_mode(self) -> SignMode:
        return sign_mode_of(self.weights)

    @property
    def max_delay(self) -> int:
        return 0 if self.delays is None else int(self.delays.max(initial=0))

    def effective_weights(self) -> np.ndarray:
        """The weight mantissas Lava actually uses: clipped to 8 bits, then truncated to `num_weight_bits`."""
        return effective_weights(self.weights, self.num_weight_bits)

    def effective_recurrent_weights(self) -> np.ndarray | None:
        """The recurrent Dense's mantissas (its own sign mode, the layer's weight bits), or None."""
        if self.recurrent_weights is None:
            return None
        return effective_weights(self.recurrent_weights, self.num_weight_bits)

    def fan_out(self) -> tuple[np.ndarray, np.ndarray]:
        nonzero = self.effective_weights() != 0
        delayed = nonzero & (self.delays > 0) if self.delays is not None else np.zeros_like(nonzero)
        return nonzero.sum(axis=0, dtype=np.int64), delayed.sum(axis=0, dtype=np.int64)

    def recurrent_fan_out(self) -> np.ndarray:
        """Per neuron of this layer: its non-zero recurrent synapses (zeros without recurrence)."""
        if self.recurrent_weights is None:
            return np.zeros(self.n_out, dtype=np.int64)
        return (self.effective_recurrent_weights() != 0).sum(axis=0, dtype=np.int64)

    def synapses_per_neuron(self) -> int:
        return self.n_in + (self.n_out if self.recurrent_weights is not None else 0)

    def equals(self, other) -> bool:
        names = ("weights", "bias", "delays", "recurrent_weights", "neuron", "weight_exponent", "num_weight_bits", "sigma_delta") + NEURON_FIELDS
        return _same(self, other, names)

    def check(self, profile: ChipProfile, index: int) -> list[str]:
        """Everything about this layer the chip cannot hold, one message per problem."""
        where = _where(self, index)
        limit = profile.limit
        problems = []

        def bound(field_name: str, value: int, low: int, high: int) -> None:
            if not low <= value <= high:
                problems.append(f"{where}: {field_name}={value} is outside the chip's range [{low}, {high}]")

        bound("num_weight_bits", self.num_weight_bits, limit("weight_bits_min"), limit("weight_bits_max"))
        bound("weight_exponent", self.weight_exponent, limit("weight_exponent_min"), limit("weight_exponent_max"))
        problems += _weight_problems(self.weights, where)
        if self.recurrent_weights is not None:
            problems += _weight_problems(self.recurrent_weights, where, "recurrent weights")
        problems += self.sigma_delta.problems(self, where) if self.sigma_delta is not None else _neuron_problems(self, profile, where, self.bias)
        if self.delays is not None and self.delays.size:
            low, high = int(self.delays.min()), int(self.delays.max())
            if low < 0 or high > limit("delay_max"):
                bad = low if low < 0 else high
                problems.append(f"{where}: delays contain {bad}, outside the chip's range [0, {limit('delay_max')}]")
        return problems

    def describe(self) -> dict:
        return {
            "kind": "readout" if not self.spiking else ("dense_rec" if self.recurrent_weights is not None else "dense"),
            "neuron": self.neuron,
            "name": self.name, "n_in": self.n_in, "n_out": self.n_out,
            **{name: getattr(self, name) for name in NEURON_FIELDS},
            "weight_exponent": self.weight_exponent, "num_weight_bits": self.num_weight_bits,
            "sign_mode": self.sign_mode.name.lower(), "max_delay": self.max_delay, "spiking": self.spiking, **_sd_describe(self),
        }


Layer = InputLayer | ConvLayer | DenseLayer


@dataclass(frozen=True, eq=False)
class Network:
    """A feed-forward stack of layers; the input (spikes, or an `InputLayer`'s drive) feeds layer 0.

    `input_shape` is the shape of one input step: (n,) for dense stacks, (C, H, W) for a 2-D
    input (derived from layer 0; give it only for a dense layer 0 that flattens a 2-D input).
    """

    layers: tuple
    metadata: dict = field(default_factory=dict)
    input_shape: tuple | None = None

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise HardwareError("a network needs at least one layer")
        problems = []
        for index, layer in enumerate(layers):
            if not isinstance(layer, (InputLayer, ConvLayer, DenseLayer)):
                raise HardwareError(f"layer {index}: {type(layer).__name__} is not a layer kind (InputLayer, ConvLayer, DenseLayer)")
            if isinstance(layer, InputLayer) and index:
                problems.append(f"layer {index}: an input layer can only be the first layer")
        if len({layer.sigma_delta is None for layer in layers}) > 1:
            cuba = [index for index, layer in enumerate(layers) if layer.sigma_delta is None]
            problems.append(f"layers {cuba} are CUBA and the others sigma-delta: a network is all CUBA or all sigma-delta")
        for index, (before, after) in enumerate(zip(layers, layers[1:]), start=1):
            if isinstance(after, ConvLayer) and tuple(before.out_shape) != after.in_shape:
                problems.append(f"layer {index}: takes a {after.in_shape} map but layer {index - 1} gives {tuple(before.out_shape)}")
            elif after.n_in != before.n_out:
                problems.append(f"layer {index}: takes {after.n_in} inputs but layer {index - 1} has {before.n_out} neurons")
        shape = tuple(layers[0].in_shape) if self.input_shape is None else tuple(int(s) for s in self.input_shape)
        if int(np.prod(shape)) != layers[0].n_in or (isinstance(layers[0], (ConvLayer, InputLayer)) and shape != tuple(layers[0].in_shape)):
            problems.append(f"input_shape {shape} does not fit layer 0, which takes {tuple(layers[0].in_shape)}")
        if problems:
            raise HardwareError("; ".join(problems))
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "input_shape", shape)

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
        return any(getattr(layer, "delays", None) is not None for layer in self.layers)

    @property
    def takes_drive(self) -> bool:
        """True when layer 0 is an `InputLayer`: the input is a per-step integer frame, not spikes."""
        return isinstance(self.layers[0], InputLayer)

    @property
    def is_dense(self) -> bool:
        """Only plain dense CUBA layers with neurons: what every backend and the processes engine run."""
        return all(
            isinstance(layer, DenseLayer) and layer.neuron and layer.recurrent_weights is None and layer.sigma_delta is None
            for layer in self.layers
        )

    @property
    def graded(self) -> bool:
        """Sigma-delta neurons: layers send graded (integer) messages instead of binary spikes."""
        return self.layers[0].sigma_delta is not None

    def message_bits(self) -> list[int]:
        """Per layer: the payload bits of the messages arriving at its synapses (0: binary spikes; the input of a
        network without an input layer is binary; an input layer's drive has no synapses: 0)."""
        bits, source = [], 0
        for layer in self.layers:
            bits.append(0 if isinstance(layer, InputLayer) else source)
            source = layer.sigma_delta.message_bits if layer.sigma_delta is not None else 0
        return bits

    def flattens_before(self, index: int) -> bool:
        """Whether layer `index` is a dense layer that flattens a 2-D map (netx writes a `flatten` layer before it)."""
        source = self.input_shape if index == 0 else self.layers[index - 1].out_shape
        return isinstance(self.layers[index], DenseLayer) and len(source) == 3

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
        return (
            len(self.layers) == len(other.layers)
            and self.input_shape == other.input_shape
            and all(mine.equals(theirs) for mine, theirs in zip(self.layers, other.layers))
        )

    def with_layers(self, layers: Iterable) -> "Network":
        return replace(self, layers=tuple(layers))

    def describe(self) -> dict:
        """A JSON-able summary (shapes, neuron params, weight formats), for reports and the CLI."""
        layers = []
        for index, layer in enumerate(self.layers):
            if self.flattens_before(index):
                layers.append({"kind": "flatten", "name": f"flatten{index}", "n_out": layer.n_in})
            layers.append(layer.describe())
        return {"shape": list(self.shape), "input_shape": list(self.input_shape), "layers": layers}

    # netx HDF5 I/O lives in hw_models.netx; these are the conveniences users reach for.
    @classmethod
    def from_netx(cls, path: str | Path) -> "Network":
        from hw_models.netx import read_netx

        return read_netx(path)

    def to_netx(self, path: str | Path) -> Path:
        from hw_models.netx import write_netx

        return write_netx(self, path)

    # NIR graphs (hw_models.nir holds the unit conversion).
    @classmethod
    def from_nir(cls, graph_or_path, profile: ChipProfile | str | Path = "loihi2", dt: float | None = None) -> "Network":
        from hw_models.nir import read_nir

        return read_nir(graph_or_path, profile=profile, dt=dt)

    def to_nir(self, path: str | Path | None = None, dt: float | None = None):
        """The network as a `nir.NIRGraph`, or written to `path` (atomically) when given."""
        from hw_models.nir import DEFAULT_DT, network_to_nir, write_nir

        dt = DEFAULT_DT if dt is None else dt
        return network_to_nir(self, dt=dt) if path is None else write_nir(self, path, dt=dt)

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
