"""An export directory as something to run: network, encoder, test spikes, labels and Lava run parameters.

`codesign bench-energy DIR` and `codesign deploy-run DIR` both load exports through
`load_deployment`, so they never disagree on which samples, which encoding seed or how many
silent steps make one inference. Running it in Lava is `hw_models.backends.lava.run_lava`'s
job, with the engine and reset interval recorded under "lava" in deployment.json.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codesign.errors import CodesignError
from codesign.files import read_json
from encoders.base import MAX_TIMESTEPS
from hw_models.backends import append_silence
from hw_models.backends.lava import ENGINE_PROCESSES

__all__ = [
    "Deployment", "load_deployment", "DEPLOYMENT_FILE", "NETWORK_FILE", "METRICS_FILE", "README_FILE", "FORMAT_VERSION",
]

FORMAT_VERSION = 1
DEPLOYMENT_FILE = "deployment.json"
NETWORK_FILE = "network.net"
METRICS_FILE = "metrics.json"
README_FILE = "README.md"
LEGACY_ENGINES = {"hw_models.lava_backend": ENGINE_PROCESSES}  # engine names older exports recorded


@dataclass(frozen=True)
class Deployment:
    """What deployment.json says, checked; `raw` is the whole JSON object."""

    directory: Path
    raw: dict
    encoder_name: str
    encoder_params: dict
    dataset_name: str
    dataset_options: dict
    dataset_seed: int
    timesteps: int
    encoding_seed: int
    evaluation_samples: int | None
    pad_steps: int
    profile: str | None
    neurons_per_core: int | None
    lava: dict = field(default_factory=dict)

    @property
    def network_path(self) -> Path:
        return self.directory / NETWORK_FILE

    @property
    def deployment_path(self) -> Path:
        return self.directory / DEPLOYMENT_FILE

    def network(self):
        from hw_models import Network

        return Network.from_netx(self.network_path)

    def recorded(self) -> dict | None:
        """metrics.json (what the study recorded for the trial), or None when absent."""
        path = self.directory / METRICS_FILE
        if not path.is_file():
            return None
        return check_recorded(read_json(path, "metrics record"), path)

    def dataset(self):
        """The split the trial used: `load_dataset(name, seed=study seed, **options)`, as the sweep loads it."""
        return _load_dataset(self.dataset_name, json.dumps(self.dataset_options, sort_keys=True), self.dataset_seed)

    def sample_count(self, samples: int | None = None) -> int:
        """How many test samples to use: `samples`, else the trial's evaluation count, else the whole split."""
        available = len(self.dataset().test.y)
        if samples is not None:
            if samples < 1:
                raise CodesignError(f"the number of test samples must be at least 1, got {samples}")
            return min(int(samples), available)
        return available if self.evaluation_samples is None else min(self.evaluation_samples, available)

    def inputs(self, samples: int | None = None, timesteps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(spikes (batch, n_in, T), labels) of the first test samples, encoded as the trial encoded them.

        Encoding the first N samples of the split equals the first N of encoding them all only
        for encoders that draw per sample; so the trial's own count is encoded and then cut.
        """
        from encoders import get_encoder

        test = self.dataset().test
        count = self.sample_count(samples)
        encoded = max(count, self.sample_count(None))
        steps = self.timesteps if timesteps is None else int(timesteps)
        if steps < 1:
            raise CodesignError(f"timesteps must be at least 1, got {steps}")
        spikes = get_encoder(self.encoder_name, **self.encoder_params).encode(test.x[:encoded], steps, self.encoding_seed)
        return np.asarray(spikes)[:count], np.asarray(test.y[:count])

    def padded(self, spikes: np.ndarray) -> np.ndarray:
        """The input as one inference sees it: `pad_steps` silent steps appended (the trial did the same)."""
        return append_silence(spikes, self.pad_steps)


RECORDED_NUMBERS = ("test_accuracy", "energy_per_inference_uj", "latency_us", "synaptic_ops", "spikes")


def check_recorded(raw: Any, path: Path) -> dict:
    """metrics.json as deploy-run compares with it: an object whose `metrics` (and `metrics.energy`)
    hold finite numbers or null where a compared value is kept."""
    if not isinstance(raw, dict):
        raise CodesignError(f"{path} must hold a JSON object")
    metrics = raw.get("metrics")
    if metrics is None:
        return raw
    if not isinstance(metrics, dict):
        raise CodesignError(f"{path}: 'metrics' must be a JSON object, got {metrics!r}"[:300])
    energy = metrics.get("energy")
    if energy is not None and not isinstance(energy, dict):
        raise CodesignError(f"{path}: 'metrics.energy' must be a JSON object, got {energy!r}"[:300])
    for where, table in (("metrics", metrics), ("metrics.energy", energy or {})):
        for key in RECORDED_NUMBERS:
            value = table.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise CodesignError(f"{path}: '{where}.{key}' = {value!r} must be a finite number or null"[:300])
    return raw


@functools.lru_cache(maxsize=4)
def _load_dataset(name: str, options_json: str, seed: int):
    from encoders import load_dataset

    return load_dataset(name, seed=seed, **json.loads(options_json))


def load_deployment(directory: str | Path) -> Deployment:
    """Read and check an export directory completely (its encoder, dataset, profile and Lava plan
    included) before anything runs; each problem names the file and key."""
    from hw_models.backends.lava import ENGINES, SEARCH_STEPS

    directory = Path(directory)
    if not directory.is_dir():
        raise CodesignError(f"export directory {directory} does not exist" if not directory.exists()
                            else f"export directory {directory} is not a folder")
    network_path, deployment_path = directory / NETWORK_FILE, directory / DEPLOYMENT_FILE
    for path in (network_path, deployment_path):
        if not path.is_file():
            raise CodesignError(f"export directory {directory} lacks {path.name}")
    raw = read_json(deployment_path, "deployment record")
    if not isinstance(raw, dict):
        raise CodesignError(f"{deployment_path} must hold a JSON object")
    encoder = _require(raw, "encoder", dict, deployment_path)
    dataset = _require(raw, "dataset", dict, deployment_path)
    encoder_name = _require(encoder, "name", str, deployment_path, "encoder.")
    dataset_name = _require(dataset, "name", str, deployment_path, "dataset.")
    encoder_params = _optional(encoder, "params", dict, {}, deployment_path, "encoder.")
    options = _optional(dataset, "options", dict, {}, deployment_path, "dataset.")
    dataset_seed = _count(dataset, "seed", 0, deployment_path, "dataset.")
    timesteps = _count(raw, "timesteps", None, deployment_path, low=1, high=MAX_TIMESTEPS, required=True)
    samples = _count(raw, "evaluation_samples", None, deployment_path, low=1)
    pad_steps = _count(raw, "pad_steps", 0, deployment_path, high=MAX_TIMESTEPS)
    encoding_seed = _count(raw, "encoding_seed", dataset_seed, deployment_path)  # older exports: the dataset seed
    neurons_per_core = _count(raw, "neurons_per_core", None, deployment_path, low=1)
    profile = _optional(raw, "profile", str, None, deployment_path)
    lava = dict(_optional(raw, "lava", dict, {}, deployment_path))
    if lava.get("engine") in LEGACY_ENGINES:
        lava["engine"] = LEGACY_ENGINES[lava["engine"]]
    if lava.get("engine") is not None and lava["engine"] not in ENGINES:
        raise CodesignError(f"{deployment_path}: 'lava.engine' = {lava['engine']!r} is not one of {list(ENGINES)}")
    steps = timesteps + pad_steps
    lava["reset_interval"] = _count(lava, "reset_interval", None, deployment_path, "lava.", low=steps,
                                    high=steps + pad_steps + SEARCH_STEPS)
    _check_parts(deployment_path, encoder_name, encoder_params, dataset_name, options, dataset_seed, profile)
    return Deployment(
        directory=directory,
        raw=raw,
        encoder_name=encoder_name,
        encoder_params=encoder_params,
        dataset_name=dataset_name,
        dataset_options=options,
        dataset_seed=dataset_seed,
        timesteps=timesteps,
        encoding_seed=encoding_seed,
        evaluation_samples=samples,
        pad_steps=pad_steps,
        profile=profile,
        neurons_per_core=neurons_per_core,
        lava=lava,
    )


def _check_parts(path: Path, encoder_name: str, encoder_params: dict, dataset_name: str, options: dict, seed: int,
                 profile: str | None) -> None:
    """The encoder, dataset and chip profile a deployment names, checked by their own packages."""
    from encoders import EncodingError, check_dataset, get_encoder
    from hw_models import HardwareError, load_profile

    try:
        get_encoder(encoder_name, **encoder_params)
    except (EncodingError, TypeError) as error:
        raise CodesignError(f"{path}: 'encoder': {error}") from None
    try:
        check_dataset(dataset_name, seed=seed, **options)
    except (EncodingError, TypeError) as error:
        raise CodesignError(f"{path}: 'dataset': {error}") from None
    if profile is not None:
        try:
            load_profile(profile)
        except HardwareError as error:
            raise CodesignError(f"{path}: 'profile': {error}") from None


def _count(mapping: dict, key: str, default: Any, path: Path, prefix: str = "", *, low: int = 0,
           high: int = 2**63 - 1, required: bool = False) -> int | None:
    """An integer field in [low, high]; `default` when absent unless `required`."""
    if required:
        value = _require(mapping, key, int, path, prefix)
    else:
        value = _optional(mapping, key, int, default, path, prefix)
    if value is not None and not low <= value <= high:
        allowed = f"at least {low}" if high == 2**63 - 1 else f"in [{low}, {high}]"
        raise CodesignError(f"{path}: '{prefix}{key}' = {value!r} must be {allowed}")
    return value


def _require(mapping: dict, key: str, kind: type, path: Path, prefix: str = ""):
    if key not in mapping:
        raise CodesignError(f"{path}: missing key '{prefix}{key}'")
    return _check_kind(mapping[key], key, kind, path, prefix)


def _optional(mapping: dict, key: str, kind: type, default: Any, path: Path, prefix: str = ""):
    if mapping.get(key) is None:
        return default
    return _check_kind(mapping[key], key, kind, path, prefix)


def _check_kind(value, key: str, kind: type, path: Path, prefix: str):
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = {dict: "a JSON object", int: "an integer", str: "a string"}.get(kind, kind.__name__)
        raise CodesignError(f"{path}: '{prefix}{key}' must be {expected}, got {value!r}"[:400])
    return value
