"""Run an export in Lava and check it against the numba core and against what the study recorded.

The export's encoder encodes the first N test samples with the trial's encoding seed; the
exported netx file runs all of them in one Lava run (`hw_models.backends.lava.run_lava` with
the engine and reset interval the export recorded). Accuracy and energy per inference come
from Lava's own spikes and state. They must equal the numba core's on the same samples
(spike for spike, count for count) and, on the full recorded sample set, the study's
recorded test accuracy and energy.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from codesign.deploy.deployment import load_deployment
from codesign.training.evaluate import predict_output
from hw_models import estimate_energy, load_profile, map_network, simulate
from hw_models.backends.lava import run_lava

ENERGY_KEYS = ("energy_per_inference_uj", "latency_us", "synaptic_ops", "spikes")
RELATIVE_TOLERANCE = 1e-9


def check_deployment(directory: str | Path, samples: int | None = None) -> dict:
    """Lava vs numba core vs recorded on the first `samples` test samples (default: the trial's), JSON-able."""
    deployment = load_deployment(directory)
    recorded_file = deployment.recorded()  # checked now, not after the Lava run
    network = deployment.network()
    profile = load_profile(deployment.profile or "loihi2")
    network.validate(profile)
    mapping = map_network(network, profile, neurons_per_core=deployment.neurons_per_core)
    spikes, labels = deployment.inputs(samples)
    padded = deployment.padded(spikes)
    lava = deployment.lava
    run = run_lava(network, padded, netx_path=deployment.network_path, engine=lava.get("engine"),
                   reset_interval=lava.get("reset_interval"))
    core = simulate(network, padded, backend="numba", profile=profile, record_layers=True)

    def outcome(output, counts) -> dict:
        predictions = predict_output(network, output)
        energy = estimate_energy(counts, mapping)
        return {"accuracy": float(np.mean(predictions == labels)), "predictions": predictions.tolist(),
                **{key: float(getattr(energy, key)) for key in ENERGY_KEYS}}

    lava_result, core_result = outcome(run.result.output, run.result.counts), outcome(core.output, core.counts)
    same_spikes = all(np.array_equal(a, b) for a, b in zip(run.result.layers, core.layers))
    same_counts = run.result.counts.to_dict() == core.counts.to_dict()
    checks = {"lava == numba core (every layer's spikes)": same_spikes,
              "lava == numba core (activity counts)": same_counts,
              "lava == numba core (predictions)": lava_result["predictions"] == core_result["predictions"]}
    recorded = None
    full = deployment.evaluation_samples is not None and len(labels) == deployment.evaluation_samples
    if recorded_file is not None:
        metrics = recorded_file.get("metrics") or {}
        energy = metrics.get("energy") or {}
        recorded = {"accuracy": metrics.get("test_accuracy"),
                    **{key: energy.get(key, metrics.get(key)) for key in ENERGY_KEYS}}
        if full:
            for key, value in recorded.items():
                if value is not None:
                    checks[f"lava == recorded ({key})"] = relative_difference(float(value), lava_result[key]) <= RELATIVE_TOLERANCE
    return {
        "directory": str(directory),
        "trial": deployment.raw.get("trial"),
        "samples": int(len(labels)),
        "full_recorded_set": full,
        "engine": run.engine,
        "reset_interval": run.reset_interval,
        "rerun_alone": run.rerun_alone,
        "steps_per_inference": int(padded.shape[2]),
        "lava": lava_result,
        "numba": core_result,
        "recorded": recorded,
        "checks": checks,
        "agree": all(checks.values()),
    }


def relative_difference(a: float, b: float) -> float:
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-300)
