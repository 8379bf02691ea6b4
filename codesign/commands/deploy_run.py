"""Run an exported deployment in Lava (Loihi2SimCfg, fixed_pt) on its dataset's test split and
check it against what the study recorded.

The export's encoder encodes the first N test samples with the trial's encoding seed; the
exported netx file runs all of them in one Lava run (netx reset_interval with silent gaps,
see codesign.deploy.deployment). Accuracy and energy per inference come from Lava's own spikes and
state. They are compared with the numba core on the same samples (spike for spike, count for
count) and, on the full recorded sample set, with the study's recorded test_accuracy and
energy. Exit 0 when all agree, 1 when any differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

NAME = "deploy-run"
HELP = "run an exported deployment in Lava and compare with the recorded accuracy and energy"

ENERGY_KEYS = ("energy_per_inference_uj", "latency_us", "synaptic_ops", "spikes")
RELATIVE_TOLERANCE = 1e-9


def add_arguments(parser) -> None:
    parser.add_argument("directory", type=Path, metavar="DIR", help="an export folder (codesign export)")
    parser.add_argument("--samples", type=int, default=None,
                        help="run the first N test samples (default: the trial's whole evaluation set)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")


def evaluate(directory, samples: int | None = None) -> dict:
    """Lava vs numba core vs recorded, as a plain dict (what --json prints)."""
    from codesign.deploy.deployment import load_deployment, relative_difference, run_in_lava
    from codesign.training.evaluate import predict_from_counts
    from hw_models import estimate_energy, load_profile, map_network, simulate

    deployment = load_deployment(directory)
    network = deployment.network()
    profile = load_profile(deployment.profile or "loihi2")
    network.validate(profile)
    mapping = map_network(network, profile, neurons_per_core=deployment.neurons_per_core)
    spikes, labels = deployment.inputs(samples)
    padded = deployment.padded(spikes)
    lava = deployment.lava
    run = run_in_lava(deployment.network_path, network, padded, lava.get("reset_interval"), lava.get("engine"))
    core = simulate(network, padded, backend="numba", profile=profile, record_layers=True)

    def outcome(output, counts) -> dict:
        predictions = predict_from_counts(output.sum(axis=2, dtype=np.int64))
        energy = estimate_energy(counts, mapping)
        return {"accuracy": float(np.mean(predictions == labels)), "predictions": predictions.tolist(),
                **{key: float(getattr(energy, key)) for key in ENERGY_KEYS}}

    lava_result, core_result = outcome(run.output, run.counts), outcome(core.output, core.counts)
    same_spikes = all(np.array_equal(a, b) for a, b in zip(run.layers, core.layers))
    same_counts = run.counts.to_dict() == core.counts.to_dict()
    checks = {"lava == numba core (every layer's spikes)": same_spikes,
              "lava == numba core (activity counts)": same_counts,
              "lava == numba core (predictions)": lava_result["predictions"] == core_result["predictions"]}
    recorded_file = deployment.recorded()
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


def run(args) -> int:
    result = evaluate(args.directory, args.samples)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0 if result["agree"] else 1


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    scope = "the full recorded sample set" if result["full_recorded_set"] else "a subset (recorded values cover more samples)"
    table = Table(title=f"{result['directory']}: trial {result['trial']} in Lava on {result['samples']} test samples ({scope})")
    table.add_column("metric")
    for column in ("recorded", "lava", "numba core"):
        table.add_column(column, justify="right")
    recorded = result["recorded"] or {}
    for key in ("accuracy",) + ENERGY_KEYS:
        shown = recorded.get(key)
        table.add_row(key, "-" if shown is None else f"{shown:.6g}", f"{result['lava'][key]:.6g}", f"{result['numba'][key]:.6g}")
    console.print(table)
    detail = f"engine {result['engine']}, reset interval {result['reset_interval']}"
    if result["rerun_alone"]:
        detail += f", samples re-run alone: {result['rerun_alone']}"
    console.print(detail)
    for name, ok in result["checks"].items():
        console.print(f"  {'[green]ok[/green]  ' if ok else '[red]DIFF[/red]'} {name}")
    console.print("[green]Lava agrees[/green]" if result["agree"] else "[red]Lava disagrees[/red]")
