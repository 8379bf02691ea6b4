"""Quantization-aware training at the trial's weight precision, as a lava-dl synapse `pre_hook_fx`.

lava-dl's default hook (`neuron.quantize_8bit`) always rounds to 8 bits. Loihi's weight
format is a `weight_bits`-bit two's-complement mantissa times a power-of-two step (the step
is what netx re-encodes as the weight exponent; Lava's mixed-sign synapses truncate the
low `9 - weight_bits` bits of a 9-bit signed weight). So the hook rounds each layer's
weights to integer multiples `m * 2**j` (netx integer units, float weight = that / 64) with

- `m` in [-2**(b-1), 2**(b-1) - 1] for b >= 2 bits; for b = 1 a signed mantissa would be
  {-1, 0} (inhibition only), so 1-bit layers are excitatory-only, `m` in {0, 1};
- `j` >= 0, the smallest power of two whose range covers the layer's largest weight,
  capped so that `m * 2**j` stays inside netx's 8-bit range [-256, 254].

`Network.from_netx` then re-derives at most `b` weight bits from the exported integers.
Gradients pass straight through the rounding (as in lava-dl's own quantizer).
`ChannelBias` does the same for a neuron bias on the chip's 13-bit mantissa grid.
"""

from __future__ import annotations

import math

import torch

from codesign.training.units import THRESHOLD_SCALE, WEIGHT_SCALE

NETX_WEIGHT_MIN, NETX_WEIGHT_MAX = -256, 254  # netx clips mixed-sign weights to this range
BIAS_MANTISSA_MIN, BIAS_MANTISSA_MAX = -4096, 4095  # Loihi's signed 13-bit bias mantissa (every profile)


def mantissa_range(weight_bits: int) -> tuple[int, int]:
    if weight_bits == 1:
        return 0, 1
    return -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1


def max_step_exponent(weight_bits: int) -> int:
    low, high = mantissa_range(weight_bits)
    exponent = 0
    while high * 2 ** (exponent + 1) <= NETX_WEIGHT_MAX and low * 2 ** (exponent + 1) >= NETX_WEIGHT_MIN:
        exponent += 1
    return exponent


class _RoundStraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, values):
        return torch.round(values)

    @staticmethod
    def backward(ctx, gradient):
        return gradient


class WeightQuantizer:
    """`pre_hook_fx(weight, descale=False)`: float weights -> weights on the trial's integer grid."""

    def __init__(self, weight_bits: int):
        if not 1 <= int(weight_bits) <= 8:
            raise ValueError(f"weight_bits={weight_bits} must be in 1..8")
        self.weight_bits = int(weight_bits)
        self.low, self.high = mantissa_range(self.weight_bits)
        self.max_exponent = max_step_exponent(self.weight_bits)

    def step_exponent(self, weight: torch.Tensor) -> int:
        """j such that the integer step is 2**j: the finest step whose range holds the largest weight."""
        with torch.no_grad():
            integer = weight.detach() * WEIGHT_SCALE
            need = float(integer.max().clamp(min=0)) / self.high
            if self.low < 0:
                need = max(need, float((-integer.min()).clamp(min=0)) / -self.low)
        if not math.isfinite(need) or need <= 1:
            return 0 if math.isfinite(need) else self.max_exponent
        return min(self.max_exponent, math.ceil(math.log2(need)))

    def __call__(self, weight: torch.Tensor, descale: bool = False) -> torch.Tensor:
        step = float(2 ** self.step_exponent(weight))
        mantissa = _RoundStraightThrough.apply(weight * (WEIGHT_SCALE / step)).clamp(self.low, self.high)
        integer = mantissa * step
        return integer if descale else integer / WEIGHT_SCALE

    def __repr__(self) -> str:
        return f"WeightQuantizer(weight_bits={self.weight_bits})"


class ChannelBias(torch.nn.Module):
    """A learnable per-channel neuron bias on the chip's grid, in a lava-dl neuron's `norm` slot.

    Float units are lava-dl's voltage units (threshold 1.0 == vThMant 64); the chip adds
    `bias_mant << 6` per step with bias_mant = float * 64 (`units.THRESHOLD_SCALE`), so training
    rounds to that grid (gradients pass straight through). `bias` is what lava-dl's
    `export_hdf5` writes: the integer mantissas, as its own batch-norm modules do.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.value = torch.nn.Parameter(torch.zeros(channels))

    def quantized(self) -> torch.Tensor:
        mantissa = _RoundStraightThrough.apply(self.value * THRESHOLD_SCALE).clamp(BIAS_MANTISSA_MIN, BIAS_MANTISSA_MAX)
        return mantissa / THRESHOLD_SCALE

    @property
    def bias(self) -> torch.Tensor:
        return (self.quantized() * THRESHOLD_SCALE).detach()

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (current.ndim - 2)  # (batch, channel, [H, W,] time)
        return current + self.quantized().view(shape)
