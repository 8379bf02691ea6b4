"""NeuroBench's metrics (Yik et al., "NeuroBench", Nature Communications 2025) for a `Network` and its activity.

Definitions follow the `neurobench` package's metric classes (tests/test_workload_metrics.py
checks them against it); where ours differ, it is said here:

- activation_sparsity: zero activations / all activations over spiking layers, steps and
  samples (NeuroBench `ActivationSparsity`). Layers that never spike (readouts) are left out:
  their output is a voltage, not an activation; NeuroBench counts whatever its neuron modules
  return.
- synaptic_ops_effective_acs: per sample, (spike, non-zero weight) events (NeuroBench
  `SynapticOperations` "Effective_ACs"): our `synaptic_ops` count, weights as the chip uses them.
- synaptic_ops_effective_macs: per sample, multiply-accumulates from non-binary inputs: 0 (an
  input layer's drive is written to its neurons' bias, not sent through synapses).
- synaptic_ops_dense: per sample, every synapse every step, zero weights and silent inputs
  included (NeuroBench "Dense"; for a conv, the kernel taps that fall inside the input map).
- connection_sparsity: zero weights / all weights of every synapse (NeuroBench
  `ConnectionSparsity`), weights as the chip uses them (after Lava's truncation).
- footprint_bytes: synaptic weights stored densely at the trial's weight bits (conv: the kernel
  once). NeuroBench's `Footprint` counts the torch model's parameters and buffers at their
  dtype (float32: 4 bytes each, plus neuron constants such as snnTorch's beta and threshold).
"""

from __future__ import annotations

import numpy as np

from hw_models.activity import ActivityCounts
from hw_models.network import ConvLayer, DenseLayer, Network

WORKLOAD_METRICS = {  # name -> (unit, direction that is better)
    "activation_sparsity": ("fraction", "maximize"),
    "synaptic_ops_effective_acs": ("ops/inference", "minimize"),
    "synaptic_ops_effective_macs": ("ops/inference", "minimize"),
    "synaptic_ops_dense": ("ops/inference", "minimize"),
    "connection_sparsity": ("fraction", "maximize"),
    "footprint_bytes": ("bytes", "minimize"),
}


def _weights(layer) -> list[np.ndarray]:
    if isinstance(layer, DenseLayer):
        recurrent = layer.effective_recurrent_weights()
        return [layer.effective_weights()] + ([recurrent] if recurrent is not None else [])
    if isinstance(layer, ConvLayer):
        return [layer.weights]
    return []


def _dense_ops_per_step(layer) -> int:
    if isinstance(layer, DenseLayer):
        return layer.n_in * layer.n_out + (layer.n_out**2 if layer.recurrent_weights is not None else 0)
    if isinstance(layer, ConvLayer):
        from dataclasses import replace

        starts, _, _ = replace(layer, weights=np.ones_like(layer.weights), bias=None).synapse_table()
        return int(starts[-1])
    return 0


def static_metrics(network: Network, weight_bits: int | None = None) -> dict[str, float]:
    """connection_sparsity and footprint_bytes (at `weight_bits`, else each layer's own; conv: 8)."""
    zeros = total = 0
    bits = 0
    for layer in network.layers:
        for weights in _weights(layer):
            zeros += int(np.count_nonzero(weights == 0))
            total += int(weights.size)
            own = layer.num_weight_bits if isinstance(layer, DenseLayer) else 8
            bits += int(weights.size) * (own if weight_bits is None else weight_bits)
    return {"connection_sparsity": zeros / total if total else 0.0, "footprint_bytes": int(np.ceil(bits / 8))}


def workload_metrics(network: Network, counts: ActivityCounts) -> dict[str, float]:
    """activation_sparsity and the synaptic operations per inference, from one simulation's counts."""
    batch, steps = counts.batch, counts.timesteps
    spiking = np.array([layer.spiking for layer in network.layers])
    neurons = np.array([layer.n_out for layer in network.layers])
    activations = int((neurons * spiking).sum()) * steps * batch
    fired = int(counts.output_spikes[:, spiking].sum())
    dense = sum(_dense_ops_per_step(layer) for layer in network.layers) * steps
    return {
        "activation_sparsity": 1.0 - fired / activations if activations else 1.0,
        "synaptic_ops_effective_acs": float(counts.synaptic_ops.sum()) / batch if batch else 0.0,
        "synaptic_ops_effective_macs": 0.0,
        "synaptic_ops_dense": float(dense),
    }


def neurobench_metrics(network: Network, counts: ActivityCounts, weight_bits: int | None = None) -> dict[str, float]:
    return workload_metrics(network, counts) | static_metrics(network, weight_bits)
