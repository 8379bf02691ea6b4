"""Helpers the seed-study benchmarks share: tables, summaries, post-training hardware knobs, studies.

Importing this module is cheap (no torch, no Lava); what needs them imports them inside.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent


# --- output ---------------------------------------------------------------------------------

def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """A rich table when rich is importable, plain aligned text otherwise."""
    rows = [[_cell(value) for value in row] for row in rows]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a runtime dependency
        widths = [max(len(str(c)), *(len(r[i]) for r in rows)) if rows else len(str(c)) for i, c in enumerate(columns)]
        print(title)
        print("  ".join(str(c).rjust(w) for c, w in zip(columns, widths)))
        for row in rows:
            print("  ".join(v.rjust(w) for v, w in zip(row, widths)))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(str(column), justify="right")
    for row in rows:
        table.add_row(*row)
    Console(width=max(120, sum(len(str(c)) + 3 for c in columns))).print(table)


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return str(value)
        magnitude = abs(float(value))
        if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
            return f"{float(value):.3g}"
        return f"{float(value):.4g}" if magnitude >= 100 else f"{float(value):.4f}".rstrip("0").rstrip(".")
    return str(value)


def output_path(out: str | None, name: str) -> Path:
    """Where a benchmark writes its PNG: --out DIR (created) or next to the script."""
    directory = Path(out) if out else HERE
    directory.mkdir(parents=True, exist_ok=True)
    return directory / name


# --- statistics -----------------------------------------------------------------------------

def summarize(values: Sequence[float]) -> dict:
    """median, quartiles (IQR), min, max, mean of a list of numbers (NaN-free)."""
    values = np.asarray(list(values), dtype=float)
    if values.size == 0:
        return {key: float("nan") for key in ("median", "q1", "q3", "iqr", "min", "max", "mean")}
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1),
            "min": float(values.min()), "max": float(values.max()), "mean": float(values.mean())}


def evaluations_to_reach(values: Sequence[float], target: float) -> int | None:
    """1-based number of evaluations until a value >= target was seen (maximization), or None."""
    for index, value in enumerate(values):
        if value >= target:
            return index + 1
    return None


# --- hardware knobs applied after training ----------------------------------------------------

def quantize_netx_weights(weights: np.ndarray, weight_bits: int) -> np.ndarray:
    """netx integer weights -> the same weights on a `weight_bits` grid (numpy twin of the
    quantization-aware hook in codesign.training.quantize: mantissa * 2**j, finest j that covers
    the largest weight, round to nearest, clip to the mantissa range)."""
    from codesign.training.quantize import mantissa_range, max_step_exponent

    low, high = mantissa_range(int(weight_bits))
    weights = np.asarray(weights, dtype=np.float64)
    need = max(weights.max(initial=0.0), 0.0) / high
    if low < 0:
        need = max(need, max(-weights.min(initial=0.0), 0.0) / -low)
    exponent = 0 if need <= 1 else min(max_step_exponent(int(weight_bits)), math.ceil(math.log2(need)))
    step = 2 ** exponent
    return (np.clip(np.round(weights / step), low, high) * step).astype(np.int64)


def post_training_quantize(network, weight_bits: int):
    """The network with every layer's weights re-quantized to `weight_bits` (post-training
    quantization), re-encoded exactly as netx encodes an exported file (mantissa, bits, exponent)."""
    from hw_models.network import Network
    from hw_models.netx import netx_weights, optimize_weight_bits

    layers = []
    for index, layer in enumerate(network.layers):
        quantized = quantize_netx_weights(netx_weights(layer, index), weight_bits)
        if not np.any(quantized):
            layers.append(replace(layer, weights=np.zeros_like(layer.weights), weight_exponent=0,
                                  num_weight_bits=max(1, int(weight_bits))))
            continue
        mantissas, bits, exponent = optimize_weight_bits(quantized)
        layers.append(replace(layer, weights=mantissas, num_weight_bits=bits, weight_exponent=exponent))
    return Network(tuple(layers), metadata=dict(network.metadata))


def with_neuron_params(network, **fields):
    """The network with the given neuron fields (vth, du, dv, ...) set in every layer."""
    from hw_models.network import Network

    return Network(tuple(replace(layer, **fields) for layer in network.layers), metadata=dict(network.metadata))


def evaluate_on_chip(network, spikes, labels, profile="loihi2", backend="numba") -> dict:
    """Accuracy, energy per inference, latency and cores of `network` on the chip model."""
    from codesign.training import hardware_accuracy
    from hw_models import load_profile
    from hw_models.energy import estimate_energy
    from hw_models.mapping import map_network

    profile = load_profile(profile)
    evaluation = hardware_accuracy(network, spikes, labels, backend=backend, profile=profile)
    mapping = map_network(network, profile)
    energy = estimate_energy(evaluation.counts, mapping)
    return {"accuracy": evaluation.accuracy, **energy.objectives(), "fits": bool(mapping.fits),
            "silent": int(evaluation.output_spikes.sum()) == 0}


# --- studies ----------------------------------------------------------------------------------

def replay_study(path: str | Path):
    """(config, study, the configured sampler over the study's trials) for a study file."""
    from codesign.config import parse_config
    from codesign.run.search_space import sampler_for
    from codesign.study.storage import Study

    study = Study.open(path)
    config = parse_config(study.config)
    return config, study, sampler_for(config, study)


DEFAULT_STUDY = Path("/tmp/neuro-codesign-bench/digits.sqlite")
DEFAULT_SWEEP_CONFIG = ROOT / "examples" / "digits.toml"


def ensure_study(study: str | Path | None, *, config_path: str | Path | dict = DEFAULT_SWEEP_CONFIG, trials: int = 60,
                 timeout_s: float = 1800.0, workers: int = 1, default_path: Path = DEFAULT_STUDY) -> Path:
    """A study to read: `study` if it exists, else a sweep of `config_path` (a TOML file or a config
    dict) run (or resumed) into `study` (default `default_path`) up to `trials` finished trials."""
    from codesign.config import load_config, parse_config
    from codesign.run.sweep import SweepRunner

    path = Path(study) if study else Path(default_path)
    if path.is_file() and study:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    config = parse_config(config_path) if isinstance(config_path, dict) else load_config(config_path)
    started = time.perf_counter()
    what = config_path if not isinstance(config_path, dict) else "(built-in config)"
    print(f"running the sweep {what} into {path} ({trials} trials, {workers} worker(s), "
          f"timeout {timeout_s:.0f} s) ...", flush=True)
    summary = SweepRunner(config, path, trials=trials, timeout_s=timeout_s, workers=workers).run()
    print(f"  sweep: {summary.finished} finished trials {summary.by_state} in {time.perf_counter() - started:.0f} s "
          f"({summary.stopped_because})", flush=True)
    return path


def run_trial_at(config, params: dict, seed: int, artifact_dir: str | Path, number: int = 0) -> dict:
    """`codesign.run.pipeline.run_trial` on one params dict (no pruning), as a sweep would run it."""
    from codesign.run.pipeline import run_trial

    return run_trial({"number": number, "params": dict(params), "config": config.data, "seed": int(seed),
                      "artifact_dir": str(artifact_dir), "prune_below": None})
