"""Accuracy on the hardware model: the number a trial reports (float accuracy is only a diagnostic).

Decision rule (shared with the float model's accuracy in `snn.py`): the predicted class is
the output neuron with the most spikes; a tie goes to the lowest class index, and a sample
whose output layer stays silent predicts -1, which is never correct. A sigma-delta network's
Sigma output sends values, not spikes: the class is the output with the largest value summed
over the steps (`predict_from_values`; an output that stays all zero predicts -1).
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
    output_spikes: np.ndarray  # (batch, n_out, T + pipeline_delay_steps) uint8 (graded: the Sigma output's values)

    @property
    def silent(self) -> bool:
        return not np.any(self.output_spikes)


def predict_from_counts(counts: np.ndarray) -> np.ndarray:
    """(batch, n_classes) spike counts -> predicted class per sample (see the module's rule)."""
    counts = np.asarray(counts)
    predictions = np.argmax(counts, axis=1).astype(np.int64)
    predictions[counts.max(axis=1) <= 0] = NO_PREDICTION
    return predictions


def predict_from_values(sums: np.ndarray) -> np.ndarray:
    """(batch, n_classes) summed Sigma output values -> predicted class per sample (see the module's rule)."""
    sums = np.asarray(sums)
    predictions = np.argmax(sums, axis=1).astype(np.int64)
    predictions[np.all(sums == 0, axis=1)] = NO_PREDICTION
    return predictions


def predict_output(network, output: np.ndarray) -> np.ndarray:
    """The decision rule for `network`'s output (batch, n_out, steps): spike counts, or Sigma values when graded."""
    if getattr(network, "graded", False):
        return predict_from_values(np.asarray(output).sum(axis=2, dtype=np.int64))
    return predict_from_counts(np.asarray(output).sum(axis=2, dtype=np.int64))


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
    predictions = predict_output(network, result.output)
    accuracy = float(np.mean(predictions == labels)) if len(labels) else float("nan")
    return HardwareEvaluation(accuracy=accuracy, predictions=predictions, counts=result.counts, output_spikes=result.output)
