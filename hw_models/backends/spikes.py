"""Spike tensors as every backend takes them, and the silent steps that flush a network.

Time alignment (identical for every backend): input[:, :, t] is injected at step t (as Lava's
`io.source.RingBuffer` does), and layer l's spikes at index t are what a sink on its `s_out`
records at step t. Each synapse costs one step plus its delay, so with L layers and no delays
an input spike at t can first show in the output at t + L; `pipeline_delay_steps` gives the
general value, for callers that append silent steps so that late responses are seen too.
"""

from __future__ import annotations

import numpy as np

from hw_models.errors import HardwareError
from hw_models.network import SD_INPUT_MAX, Network


def check_spikes(network: Network, spikes) -> np.ndarray:
    """Validate an input tensor and return it as (batch, n_in, T): contiguous uint8 0/1 spikes, or, for a
    network whose layer 0 is an input layer with a neuron, int64 drive (bias mantissas per step; for a
    sigma-delta input layer, the integer frame its Delta neurons encode, a signed 24-bit value).

    2-D inputs may come as (batch, C, H, W, T), lava-dl's layout; they are flattened in C, H, W order.
    """
    array = np.asarray(spikes)
    shape = network.input_shape
    if array.ndim == len(shape) + 2 and len(shape) == 3:
        if tuple(array.shape[1:-1]) != shape:
            raise HardwareError(f"input has shape {array.shape}, but the network takes (batch, {', '.join(map(str, shape))}, T)")
        array = array.reshape(array.shape[0], -1, array.shape[-1])
    if array.ndim != 3:
        raise HardwareError(f"input spikes must be a 3-D (batch, n_in, T) tensor, got shape {array.shape}")
    batch, n_in, steps = array.shape
    if n_in != network.n_inputs:
        raise HardwareError(
            f"input spikes have {n_in} channels (shape {array.shape}) but the network takes {network.n_inputs} inputs"
        )
    if steps < 1:
        raise HardwareError(f"input spikes must have at least one timestep (T >= 1), got T={steps}")
    if array.dtype.kind not in "biuf":
        raise HardwareError(f"input spikes must be numeric 0/1 values, got dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise HardwareError("input contains NaN or infinity")
    if network.takes_drive:
        if network.graded:
            return _check_drive(array, -SD_INPUT_MAX - 1, SD_INPUT_MAX, "a sigma-delta input layer's frame (Delta a_in, 24 bits)")
        return _check_drive(array)
    if array.dtype.kind != "b" and array.size and not np.all((array == 0) | (array == 1)):
        bad = array[(array != 0) & (array != 1)].flat[0]
        raise HardwareError(
            f"input spikes must be binary (0 or 1); found the value {bad!r} (dtype {array.dtype}); graded spikes are not supported"
        )
    return np.ascontiguousarray(array, dtype=np.uint8)


DRIVE_MIN, DRIVE_MAX = -4096, 4095  # an input neuron's drive is its bias mantissa: signed 13 bits in Lava's LIF


def _check_drive(array: np.ndarray, low: int = DRIVE_MIN, high: int = DRIVE_MAX, what: str = "the bias mantissa") -> np.ndarray:
    if array.size and not np.all(array == np.round(array)):
        raise HardwareError("the input layer's drive must be integers (bias mantissas per step), got non-integer values")
    if array.size and (array.min() < low or array.max() > high):
        bad = array.min() if array.min() < low else array.max()
        raise HardwareError(f"the input layer's drive contains {bad}, outside {what} range [{low}, {high}]")
    return np.ascontiguousarray(array, dtype=np.int64)


def pipeline_delay_steps(network: Network) -> int:
    """Steps until every effect of an input spike has reached the output: one per layer plus its max delay."""
    return sum(1 + layer.max_delay for layer in network.layers)


def append_silence(spikes, steps: int) -> np.ndarray:
    """`spikes` (batch, n_in, T) followed by `steps` silent steps (none for steps <= 0)."""
    spikes = np.asarray(spikes)
    if steps <= 0:
        return spikes
    return np.concatenate([spikes, np.zeros(spikes.shape[:2] + (steps,), dtype=spikes.dtype)], axis=2)


def bernoulli_spikes(samples: int, n_in: int, timesteps: int, rate: float, seed: int) -> np.ndarray:
    """Seeded random input (samples, n_in, timesteps) uint8: each channel spikes with probability `rate` per step."""
    if not 0.0 <= rate <= 1.0:
        raise HardwareError(f"a spike rate is a probability per step and must lie in [0, 1], got {rate}")
    return (np.random.default_rng(seed).random((samples, n_in, timesteps)) < rate).astype(np.uint8)
