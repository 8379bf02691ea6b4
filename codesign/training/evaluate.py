"""Accuracy on the hardware model: the number a trial reports (float accuracy is only a diagnostic).

Decision rule (shared with the float model's accuracy in `snn.py`): the predicted class is
the output neuron with the most spikes; a tie goes to the lowest class index, and a sample
whose output layer stays silent predicts -1, which is never correct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_PREDICTION = -1


@dataclass(frozen=True)
class HardwareEvaluation:
    accuracy: float
    predictions: np.ndarray  # (batch,) int64, -1 where the output was silent
    counts: object  # hw_models.ActivityCounts over the padded run
    output_spikes: np.ndarray  # (batch, n_out, T + pipeline_delay_steps) uint8


def predict_from_counts(counts: np.ndarray) -> np.ndarray:
    """(batch, n_classes) spike counts -> predicted class per sample (see the module's rule)."""
    counts = np.asarray(counts)
    predictions = np.argmax(counts, axis=1).astype(np.int64)
    predictions[counts.max(axis=1) <= 0] = NO_PREDICTION
    return predictions


def hardware_accuracy(network, spikes, labels, backend: str = "numba", profile="loihi2") -> HardwareEvaluation:
    """Classify `spikes` (batch, n_in, T) with `network` on a hardware backend.

    The input is padded with `pipeline_delay_steps(network)` silent steps so that spikes
    caused by the last input steps still reach the output and count.
    """
    from hw_models import pipeline_delay_steps, simulate

    spikes = np.asarray(spikes)
    labels = np.asarray(labels)
    if spikes.ndim != 3 or labels.shape != (spikes.shape[0],):
        raise ValueError(f"need spikes (batch, n_in, T) and labels (batch,), got {spikes.shape} and {labels.shape}")
    padding = pipeline_delay_steps(network)
    padded = np.concatenate([spikes, np.zeros(spikes.shape[:2] + (padding,), dtype=spikes.dtype)], axis=2)
    result = simulate(network, padded, backend=backend, profile=profile)
    predictions = predict_from_counts(result.output.sum(axis=2, dtype=np.int64))
    accuracy = float(np.mean(predictions == labels)) if len(labels) else float("nan")
    return HardwareEvaluation(accuracy=accuracy, predictions=predictions, counts=result.counts, output_spikes=result.output)
