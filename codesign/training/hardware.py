"""The hardware hyperparameters a trainer honours, declared from a chip profile's limits.

They travel in the same params dict as the training hyperparameters, under these exact
names: `weight_bits`, `vth` (threshold mantissa), `du`, `dv` (decays in 1/4096 per step) and
`max_delay` (cap on learned axonal delays, only used with `learn_delays`). Ranges are the
profile's limits, so a value the chip cannot hold is a `CodesignError` naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hw_models.profile import ChipProfile, load_profile
from hyperparams import declare

HARDWARE_PARAM_NAMES = ("weight_bits", "vth", "du", "dv", "max_delay")

# Defaults that train well on small tasks (sklearn digits, T ~ 20): threshold 1.25 in float
# units, current decay 0.5, voltage decay 0.25 per step.
DEFAULTS = {"weight_bits": 8, "vth": 80, "du": 2048, "dv": 1024, "max_delay": 8}


def hardware_hyperparameters(profile: ChipProfile | str | Path = "loihi2") -> list[dict]:
    profile = load_profile(profile)
    limit = profile.limit
    bits_low, bits_high = limit("weight_bits_min"), limit("weight_bits_max")
    return [
        declare("weight_bits", "int", min(max(DEFAULTS["weight_bits"], bits_low), bits_high),
                "synaptic weight precision; training is quantization-aware at this many bits "
                "(two's-complement mantissa times a power-of-two step; 1 bit = excitatory-only)",
                low=bits_low, high=bits_high),
        declare("vth", "int", min(DEFAULTS["vth"], limit("threshold_mantissa_max")),
                "threshold mantissa (Lava applies << 6); float threshold = vth / 64",
                low=1, high=limit("threshold_mantissa_max"), log=True),
        declare("du", "int", min(DEFAULTS["du"], limit("decay_max")),
                "current decay per step in 1/4096 (netx iDecay); 4096 = no current memory",
                low=0, high=limit("decay_max")),
        declare("dv", "int", min(DEFAULTS["dv"], limit("decay_max")),
                "voltage decay per step in 1/4096 (netx vDecay); 0 = integrate-and-fire",
                low=0, high=limit("decay_max")),
        declare("max_delay", "int", min(DEFAULTS["max_delay"], limit("delay_max")),
                "largest learnable axonal delay in steps (used when learn_delays is on)",
                low=0, high=limit("delay_max")),
    ]


@dataclass(frozen=True)
class HardwareParams:
    weight_bits: int
    vth: int
    du: int
    dv: int
    max_delay: int

    @classmethod
    def from_resolved(cls, resolved: dict) -> "HardwareParams":
        return cls(**{name: int(resolved[name]) for name in HARDWARE_PARAM_NAMES})


def capacity_problems(architecture, learn_delays: bool, profile: ChipProfile) -> str | None:
    """Why a network of this `Architecture` cannot exist or fit the chip whatever its trained weights, or None.

    Maps the cheapest network of that shape (1-bit excitatory weights, no delays unless
    learned) with `hw_models.mapping`, so a trial that could never fit is refused before
    training; the trained network is mapped again by the trial pipeline.
    """
    from codesign.training.architecture import cheapest_network
    from hw_models.errors import HardwareError
    from hw_models.mapping import map_network

    if architecture.problem:
        return architecture.problem
    try:
        network = cheapest_network(architecture, learn_delays)
    except HardwareError as error:
        return str(error)
    mapping = map_network(network, profile)
    return None if mapping.fits else mapping.reason
