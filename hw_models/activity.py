"""Activity counts: what a network did during one inference, per sample and per layer.

These counts are the interface between the backends (which produce them) and the
energy/latency model (which prices them with a chip profile). Every array has shape
(batch, n_layers); layer l means "the synapses into layer l plus layer l's neurons".

Graded (sigma-delta) networks add `payload_bits`: the payload bits of the messages arriving at
layer l's synapses (messages x the source's message bits); binary spikes carry none (None).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COUNT_FIELDS = (
    "input_spikes",  # spikes arriving at layer l's synapses (from the input or layer l-1)
    "synaptic_ops",  # (spike, synapse) events whose effective weight is non-zero
    "active_neuron_updates",  # neuron-steps with non-zero state (u or v) or non-zero input
    "inactive_neuron_updates",  # the remaining neuron-steps (n_neurons * T - active)
    "output_spikes",  # spikes emitted by layer l's neurons
    "delayed_events",  # synaptic events queued with a delay > 0 (DelayDense)
)


@dataclass(frozen=True)
class ActivityCounts:
    input_spikes: np.ndarray
    synaptic_ops: np.ndarray
    active_neuron_updates: np.ndarray
    inactive_neuron_updates: np.ndarray
    output_spikes: np.ndarray
    delayed_events: np.ndarray
    timesteps: int
    payload_bits: np.ndarray | None = None  # graded messages only: payload bits arriving per (sample, layer)

    def __post_init__(self) -> None:
        shapes = {np.shape(getattr(self, name)) for name in COUNT_FIELDS}
        if self.payload_bits is not None:
            shapes.add(np.shape(self.payload_bits))
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"activity counts must all be (batch, n_layers) arrays, got shapes {shapes}")
        for name in COUNT_FIELDS:
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        if self.payload_bits is not None:
            object.__setattr__(self, "payload_bits", np.asarray(self.payload_bits, dtype=np.int64))

    @property
    def graded(self) -> bool:
        return self.payload_bits is not None

    @property
    def batch(self) -> int:
        return self.input_spikes.shape[0]

    @property
    def n_layers(self) -> int:
        return self.input_spikes.shape[1]

    def per_sample_totals(self) -> dict[str, np.ndarray]:
        """Each count summed over layers: {name: (batch,)}."""
        return {name: getattr(self, name).sum(axis=1) for name in COUNT_FIELDS}

    def mean_per_layer(self) -> dict[str, np.ndarray]:
        """Each count averaged over samples: {name: (n_layers,)}."""
        return {name: getattr(self, name).mean(axis=0) for name in COUNT_FIELDS}

    def scaled(self, factor: int) -> "ActivityCounts":
        """Every count multiplied by `factor` (used to check the energy model's linearity)."""
        payload = None if self.payload_bits is None else self.payload_bits * factor
        return ActivityCounts(**{name: getattr(self, name) * factor for name in COUNT_FIELDS}, timesteps=self.timesteps, payload_bits=payload)

    def to_dict(self) -> dict:
        data = {name: getattr(self, name).tolist() for name in COUNT_FIELDS} | {"timesteps": self.timesteps}
        if self.payload_bits is not None:
            data["payload_bits"] = self.payload_bits.tolist()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ActivityCounts":
        payload = np.asarray(data["payload_bits"]) if data.get("payload_bits") is not None else None
        return cls(**{name: np.asarray(data[name]) for name in COUNT_FIELDS}, timesteps=int(data["timesteps"]), payload_bits=payload)


