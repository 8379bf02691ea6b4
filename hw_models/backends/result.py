"""What every backend returns: output spikes, optionally every layer's spikes, and activity counts.

Activity counts (`hw_models.activity.ActivityCounts`, per sample and layer, over the T steps
simulated; layer l = the synapses into layer l plus its neurons):

- input_spikes: spikes reaching layer l's synapses (input spikes for l = 0, else layer
  l-1's output spikes), in steps 0..T-1.
- synaptic_ops: (spike, synapse) events whose effective weight (after Lava's clip and
  truncation) is non-zero: the sum over input spikes of their fan-out of non-zero weights.
- active_neuron_updates: neuron-steps where the neuron has something to compute: u or v
  non-zero at the start of the step, or non-zero synaptic input arriving that step (the
  int32 dendritic sum Lava hands the LIF), or a non-zero bias. A neuron-step that is not
  active provably leaves the neuron at u = v = 0 without a spike.
- inactive_neuron_updates: n_neurons * T - active_neuron_updates.
- output_spikes: spikes emitted by layer l's neurons.
- delayed_events: the synaptic_ops whose synapse has a delay > 0 (queued in DelayDense).

Conv synapses count each spike's real fan-out (kernel taps inside the output map with a
non-zero weight); a recurrent layer's own spikes also reach its synapses (input_spikes) and
add their recurrent fan-out to synaptic_ops. An input layer has no synapses (zeros).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hw_models.activity import COUNT_FIELDS, ActivityCounts


@dataclass(frozen=True)
class SimulationResult:
    """Output spikes, optionally every layer's spikes, activity counts, and which backend made them."""

    output: np.ndarray  # (batch, n_out, T) uint8
    layers: list[np.ndarray] | None  # per layer (batch, n_l, T) uint8 when record_layers, else None
    counts: ActivityCounts
    backend: str
    voltage: np.ndarray | None = None  # (batch, n_out, T) int64 voltage v of a last layer that never spikes (a readout)

    @property
    def timesteps(self) -> int:
        return self.output.shape[2]


def zero_counts(batch: int, n_layers: int) -> dict[str, np.ndarray]:
    """One (batch, n_layers) int64 array per count, by name, for a backend to fill."""
    return {name: np.zeros((batch, n_layers), dtype=np.int64) for name in COUNT_FIELDS}


def layer_counts(layer, spikes_per_input: np.ndarray, active_updates, output_spikes, steps: int, spikes_per_neuron=None) -> dict:
    """A layer's counts from what a backend observed: its input spikes per channel (..., n_in),
    its active neuron-steps and output spikes (per sample or per batch: leading axes broadcast);
    `spikes_per_neuron` (..., n_out), the layer's own spikes per neuron, for a recurrent layer."""
    synapses, delayed = layer.fan_out()
    spikes_per_input = np.asarray(spikes_per_input, dtype=np.int64)
    input_spikes = spikes_per_input.sum(axis=-1)
    synaptic_ops = spikes_per_input @ synapses
    if getattr(layer, "recurrent_weights", None) is not None:
        own = np.asarray(spikes_per_neuron, dtype=np.int64)
        input_spikes = input_spikes + own.sum(axis=-1)
        synaptic_ops = synaptic_ops + own @ layer.recurrent_fan_out()
    if getattr(layer, "kind", "") == "input":
        input_spikes = input_spikes * 0
    return {
        "input_spikes": input_spikes,
        "synaptic_ops": synaptic_ops,
        "active_neuron_updates": active_updates,
        "inactive_neuron_updates": layer.n_out * steps - np.asarray(active_updates, dtype=np.int64),
        "output_spikes": output_spikes,
        "delayed_events": spikes_per_input @ delayed,
    }
