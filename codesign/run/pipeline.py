"""One co-design trial as a pure function: params -> encode -> train -> integer network -> chip model -> metrics.

`run_trial(payload)` takes and returns plain dicts so that any executor (this process, a
worker process, a Dask worker) can run it and the driver alone records the result. It never
raises for a bad candidate: divergence, silence or a network the chip cannot hold come back
as a failed / infeasible / pruned outcome with the reason.
"""

from __future__ import annotations

import functools
import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.config import SweepConfig, parse_config
from codesign.run.search_space import split_params

ENCODING_STREAMS = {"train": 0, "validation": 1, "test": 2}


def encoding_seed(trial_seed: int, split: str) -> int:
    """The seed that encodes `split` for a trial; exports record it so deployments re-encode identically."""
    return int(np.random.SeedSequence([trial_seed, ENCODING_STREAMS[split]]).generate_state(1)[0])


@functools.lru_cache(maxsize=4)
def _dataset(name: str, options_json: str, seed: int):
    from encoders import load_dataset

    return load_dataset(name, seed=seed, **json.loads(options_json))


def load_trial_dataset(config: SweepConfig):
    """The sweep's dataset (the same split for every trial: it is seeded by the study seed).

    Cached per process, keyed by the options' JSON (they may hold lists, e.g. a sensor size)."""
    options = {key: value for key, value in config["dataset"].items() if key != "name"}
    return _dataset(config["dataset"]["name"], json.dumps(options, sort_keys=True), config.seed)


def _limit(split, samples: int):
    return (split.x, split.y) if samples <= 0 else (split.x[:samples], split.y[:samples])


def run_trial(payload: dict) -> dict:
    """Evaluate one candidate. Payload: number, params, config (dict), seed, artifact_dir, prune_below."""
    started = time.perf_counter()
    try:
        outcome = _run(payload)
    except Exception as error:  # a crash in one candidate must not end the sweep
        outcome = {
            "state": "failed",
            "error": f"{type(error).__name__}: {error}\n" + "".join(traceback.format_exc(limit=-3)),
        }
    outcome.setdefault("timings", {})["total_s"] = time.perf_counter() - started
    for key in ("values", "metrics", "counts", "artifact_path", "error"):
        outcome.setdefault(key, None)
    return outcome


@dataclass(frozen=True)
class EncodedData:
    """The trial's spikes: the whole train split, the validation and test splits up to the sample limit.

    `input_shape` is the dataset's (C, H, W) map when the encoder keeps one channel per value (rate,
    latency, delta, events); an encoder that spreads each value over several channels (population)
    gives flat spikes, and a conv architecture then ends as an infeasible trial saying why."""

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    n_classes: int
    input_shape: tuple | None = None
    graded: bool = False  # integer frames (a "frames" dataset) for a sigma-delta network, not spikes


def encode_splits(config: SweepConfig, params, seed: int) -> EncodedData:
    """Encode the study's dataset with the trial's encoder, one seed per split (exports re-encode with it)."""
    from encoders import get_encoder

    dataset = load_trial_dataset(config)
    encoder = get_encoder(params.encoder, **params.encoder_params)
    samples = config["run"]["evaluation_samples"]

    def encode(split_name: str, limit: int = 0):
        x, y = _limit(getattr(dataset, split_name), limit)
        return encoder.encode(x, params.timesteps, encoding_seed(seed, split_name)), y

    train = encode("train")
    shape = dataset.input_shape
    if shape is not None and int(np.prod(shape)) != train[0].shape[1]:
        shape = None  # e.g. population coding: several channels per pixel, no longer a (C, H, W) map
    return EncodedData(train, encode("validation", samples), encode("test", samples), dataset.n_classes, shape,
                       graded=dataset.kind == "frames")


def _run(payload: dict) -> dict:
    from codesign.training import TrainingData, train
    from hw_models import load_profile

    config = parse_config(payload["config"])
    params = split_params(payload["params"])
    seed = int(payload["seed"])
    profile = load_profile(config["hardware"]["profile"])
    data = encode_splits(config, params, seed)
    artifact_dir = Path(payload["artifact_dir"])
    relative_artifact = f"trial_{payload['number']:04d}/network.net"
    prune_below = payload.get("prune_below")

    def epoch_callback(epoch: int, metrics: dict) -> bool:
        accuracy = metrics.get("validation_accuracy")
        return prune_below is None or epoch < 2 or accuracy is None or accuracy >= prune_below

    training_started = time.perf_counter()
    result = train(
        params.trainer,
        {**params.trainer_params, **params.hardware_params},
        TrainingData(*data.train, *data.validation, data.n_classes, input_shape=data.input_shape,
                     graded=data.graded),
        profile=profile,
        seed=seed,
        device=config["run"].get("device", "auto"),
        epoch_callback=epoch_callback,
        artifact_path=artifact_dir / relative_artifact,
    )
    timings = {"training_s": time.perf_counter() - training_started}
    metrics: dict[str, Any] = {
        "float_accuracy": result.float_validation_accuracy,
        "training_time_s": result.training_time_s,
        "epochs_run": result.epochs_run,
        "timesteps": params.timesteps,
        "encoding_seed_test": encoding_seed(seed, "test"),
        "device": result.device,
    }
    if result.status != "complete":
        return {"state": result.status, "error": result.reason, "metrics": metrics, "timings": timings}
    outcome = evaluate_on_chip(result, data, params, config, profile, metrics, timings)
    if outcome["state"] == "complete":
        outcome["artifact_path"] = relative_artifact if (artifact_dir / relative_artifact).exists() else None
    return outcome


def evaluate_on_chip(result, data: EncodedData, params, config: SweepConfig, profile, metrics: dict,
                     timings: dict) -> dict:
    """Map the trained integer network onto cores, run it on the held-out splits, price its activity."""
    from codesign.training import hardware_accuracy
    from hw_models.energy import estimate_energy
    from hw_models.mapping import map_network

    network = result.network
    mapping = map_network(network, profile, neurons_per_core=params.neurons_per_core)
    if not mapping.fits:
        return {"state": "infeasible", "error": f"does not fit {profile.name}: {mapping.reason}", "metrics": metrics,
                "timings": timings}
    evaluation_started = time.perf_counter()
    backend = config["run"]["backend"]
    validation = hardware_accuracy(network, *data.validation, backend=backend, profile=profile)
    test = hardware_accuracy(network, *data.test, backend=backend, profile=profile)
    energy = estimate_energy(test.counts, mapping)
    timings["evaluation_s"] = time.perf_counter() - evaluation_started
    if test.silent:
        return {"state": "failed", "error": "silent network: no output spikes on the test split",
                "metrics": metrics, "timings": timings}
    metrics.update(
        accuracy=validation.accuracy,
        test_accuracy=test.accuracy,
        accuracy_gap=(result.float_validation_accuracy or 0.0) - validation.accuracy,
        synaptic_ops=energy.synaptic_ops,
        spikes=energy.spikes,
        **energy.objectives(),
        energy=energy.to_dict(),
    )
    from hw_models.workload import neurobench_metrics

    metrics.update(neurobench_metrics(network, test.counts))  # NeuroBench's definitions, hw_models/workload.py
    return {
        "state": "complete",
        "values": {name: float(metrics[name]) for name in config.objectives},
        "metrics": metrics,
        "counts": test.counts.to_dict(),
        "timings": timings,
    }
