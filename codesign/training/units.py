"""The one place where chip integers become lava-dl's float training parameters.

lava-dl's CUBA neuron keeps states scaled down by 2**6 relative to Loihi, and its
`export_hdf5` multiplies back: a float threshold of 1.25 exports `vThMant` 80, a float
current decay of 0.25 exports `iDecay` 1024, a float weight of 0.5 exports the integer
weight 32 (`tests/test_training.py` checks these against lava-dl itself). Everything in
`codesign.training` that needs a float neuron parameter or weight scale takes it from here.
"""

from __future__ import annotations

WEIGHT_SCALE = 1 << 6  # lava-dl CUBA `scale` (w_scale): float weight 1.0 == integer weight 64
THRESHOLD_SCALE = 1 << 6  # float threshold 1.0 == vThMant 64 (Lava then applies << 6 itself)
DECAY_SCALE = 1 << 12  # float decay 1.0 == 4096 (12-bit iDecay / vDecay)


def threshold_from_chip(vth: int) -> float:
    return vth / THRESHOLD_SCALE


def decay_from_chip(decay: int) -> float:
    return decay / DECAY_SCALE


def slayer_neuron_params(vth: int, du: int, dv: int, *, tau_grad: float = 1.0, scale_grad: float = 1.0) -> dict:
    """`neuron_params` for `slayer.block.cuba.*` from chip units; decays stay fixed (the trial sets them)."""
    return {
        "threshold": threshold_from_chip(vth),
        "current_decay": decay_from_chip(du),
        "voltage_decay": decay_from_chip(dv),
        "tau_grad": float(tau_grad),
        "scale_grad": float(scale_grad),
        "scale": WEIGHT_SCALE,
        "requires_grad": False,
        "shared_param": True,
    }


def current_gain(vth: int, du: int) -> float:
    """Input weight (float units) per unit of firing rate for a non-leaky CUBA neuron.

    A constant per-step input x settles the current at x / current_decay, and a neuron
    without voltage leak then fires at current / threshold per step, so the firing rate is
    x / (threshold * current_decay). ANN-to-SNN conversion multiplies weights by this.
    `du = 0` (current never decays) is treated as the smallest non-zero decay.
    """
    return threshold_from_chip(vth) * decay_from_chip(max(du, 1))
