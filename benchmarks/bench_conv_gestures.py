"""Benchmark: the seed study's SLAYER claim on generated event-camera gestures with a conv network,
and conv vs dense fronts on the same task and budget.

1. Default vs tuned. The default is slayerPytorch's IBM DVS Gesture recipe (example 03: pool 4 ->
   conv 16 5x5 -> pool 2 -> conv 32 3x3 -> pool 2 -> dense 512 -> dense 11, Adam lr 0.01, 1450
   steps of 1 ms) scaled to this sensor, with lava-dl's CUBA neuron in place of slayerPytorch's
   SRM one (threshold 1.25 -> vth 80, current decay 0.25 -> du 1024, voltage decay 0.03 -> dv 123,
   as in lava-dl's tutorials). Scaled: the input pool 4 is the dataset's 2x binning of a 32x32
   sensor (128 -> 32 sensor, so 4x less binning); both conv layers, their kernels and pools are
   kept (16 and 32 channels at 16x16 -> 4x4); the dense 512 becomes 128 (32 * 4 * 4 = 512 inputs
   instead of 8192); 11 classes become the task's 8; 1450 steps become the task's 24 (its gestures
   last 24 steps). The tuned side is the Pareto front of examples/gestures_conv.toml; the default
   and the fastest front points reaching its accuracy are re-run through the same pipeline
   (`codesign.run.pipeline.run_trial`) with the same trial seeds, and the ratios of accuracy,
   timesteps, latency, energy and training time are printed.
2. Conv vs dense: the same sweep with conv_layers fixed at 0 (same budget, seed, search ranges
   otherwise), fronts compared by hypervolume over a common reference point and by the best
   accuracy reachable within each energy budget.

    .venv/bin/python benchmarks/bench_conv_gestures.py [--trials 32] [--seeds 2] [--conv-study S] [--dense-study S]
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, ensure_study, print_table, replay_study  # noqa: E402
from bench_default_vs_tuned import rerun  # noqa: E402

CONFIG = ROOT / "examples" / "gestures_conv.toml"
RECIPE = {  # slayerPytorch DVS Gesture, scaled as the module docstring says
    "encoder": "none", "timesteps": 24, "trainer": "slayer",
    "slayer.conv_layers": 2, "slayer.conv_channels": 16, "slayer.kernel_size": 5, "slayer.conv_stride": 1,
    "slayer.pool": 2, "slayer.hidden_layers": 1, "slayer.hidden_size": 128, "slayer.learning_rate": 0.01,
    "slayer.epochs": 8, "slayer.patience": 0,
    "weight_bits": 8, "vth": 80, "du": 1024, "dv": 123,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=32, help="trials of each sweep (conv and dense)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2, help="trial seeds for every re-run configuration")
    parser.add_argument("--candidates", type=int, default=2, help="front points re-run")
    parser.add_argument("--conv-study", default=None)
    parser.add_argument("--dense-study", default=None)
    return parser.parse_args(argv)


def dense_config(config) -> dict:
    data = copy.deepcopy(config.data)
    data["study"]["name"] = data["study"]["name"] + "-dense"
    data["training"]["slayer"]["conv_layers"] = 0
    for key in ("conv_channels", "channel_growth", "kernel_size", "pool"):
        data["training"]["slayer"].pop(key, None)
    return data


def front_summary(label, config, trials, reference) -> dict:
    from codesign.search.pareto import hypervolume
    from codesign.study.results import objective_matrix, pareto_trials

    front = pareto_trials(trials, config.objectives)
    values = objective_matrix(front, config.objectives)
    directions = list(config.objectives.values())
    inside = np.all(np.where(np.array(directions) == "maximize", values >= reference, values <= reference), axis=1)
    volume = hypervolume(values[inside], reference, directions) if inside.any() else 0.0
    return {"label": label, "front": front, "hypervolume": volume,
            "complete": sum(t.state == "complete" for t in trials), "trials": len(trials)}


def best_accuracy_within(front, budget: float) -> float:
    reachable = [t.values["accuracy"] for t in front if t.values["energy_per_inference_uj"] <= budget]
    return max(reachable) if reachable else float("nan")


def main(argv=None) -> int:
    args = parse_args(argv)
    from codesign.config import load_config

    started = time.perf_counter()
    config = load_config(CONFIG)
    conv_path = ensure_study(args.conv_study, config_path=CONFIG, trials=args.trials, timeout_s=args.timeout,
                             workers=args.workers, default_path=Path("/tmp/neuro-codesign-bench/gestures-conv.sqlite"))
    dense_path = ensure_study(args.dense_study, config_path=dense_config(config), trials=args.trials,
                              timeout_s=args.timeout, workers=args.workers,
                              default_path=Path("/tmp/neuro-codesign-bench/gestures-dense.sqlite"))
    conv_config, conv_study, _ = replay_study(conv_path)
    _, dense_study, _ = replay_study(dense_path)
    conv_trials, dense_trials = conv_study.trials(), dense_study.trials()

    # --- conv vs dense fronts -----------------------------------------------------------------
    from codesign.search.pareto import reference_point
    from codesign.study.results import objective_matrix

    everything = np.vstack([objective_matrix([t for t in trials if t.state == "complete"], conv_config.objectives)
                            for trials in (conv_trials, dense_trials)])
    reference = reference_point(everything, list(conv_config.objectives.values()))
    conv = front_summary("conv allowed", conv_config, conv_trials, reference)
    dense = front_summary("dense only", conv_config, dense_trials, reference)
    budgets = sorted({t.values["energy_per_inference_uj"] for t in conv["front"] + dense["front"]})
    budgets = [budgets[int(q * (len(budgets) - 1))] for q in (0.25, 0.5, 0.75, 1.0)] if budgets else []
    print_table("conv vs dense fronts (same task, budget, seed and ranges)",
                ["sweep", "complete", "front size", "hypervolume"] + [f"best acc, E <= {b:.3g} uJ" for b in budgets],
                [[s["label"], f"{s['complete']}/{s['trials']}", len(s["front"]), s["hypervolume"]]
                 + [best_accuracy_within(s["front"], b) for b in budgets] for s in (conv, dense)])
    verdict = "conv front dominates more" if conv["hypervolume"] > dense["hypervolume"] else "conv front does NOT beat dense"
    print(f"conv / dense hypervolume: {conv['hypervolume'] / max(dense['hypervolume'], 1e-12):.2f} ({verdict})")

    # --- default (slayerPytorch recipe, scaled) vs tuned conv front ------------------------------
    with tempfile.TemporaryDirectory(prefix="bench-conv-") as scratch:
        default = rerun(conv_config, dict(RECIPE), args.seeds, scratch, "default (recipe)")
        ranked = sorted(conv["front"], key=lambda t: (t.values["latency_steps"], t.values["energy_per_inference_uj"]))
        candidates = [t for t in ranked if t.values["accuracy"] >= default["accuracy"]] or \
            sorted(conv["front"], key=lambda t: -t.values["accuracy"])
        tuned_runs = [(t, rerun(conv_config, t.params, args.seeds, scratch, f"front #{t.number}"))
                      for t in candidates[:args.candidates]]
    matching = [(t, r) for t, r in tuned_runs if r["accuracy"] >= default["accuracy"]]
    trial, tuned = min(matching, key=lambda item: item[1]["latency_us"]) if matching else \
        max(tuned_runs, key=lambda item: item[1]["accuracy"])
    rows = [["validation accuracy", default["accuracy"], tuned["accuracy"], tuned["accuracy"] / max(default["accuracy"], 1e-9)]]
    for name, key in (("timesteps", "timesteps"), ("latency steps", "latency_steps"), ("latency us", "latency_us"),
                      ("energy per inference uJ", "energy_per_inference_uj"), ("training time s", "training_time_s")):
        rows.append([name, default[key], tuned[key], default[key] / tuned[key] if tuned[key] else np.inf])
    print_table(f"default (slayerPytorch DVS Gesture recipe, scaled) vs tuned front #{trial.number} "
                f"(mean of {args.seeds} seed(s), same pipeline)",
                ["quantity", "default", "tuned", "default / tuned (accuracy: tuned / default)"], rows)
    latency_ratio = default["latency_us"] / tuned["latency_us"] if tuned["latency_us"] else np.inf
    met = bool(matching) and latency_ratio >= 5
    print(f"seed claim '>5x lower latency for SLAYER at equal accuracy': {'met' if met else 'NOT met'} "
          f"(latency {latency_ratio:.1f}x, energy {default['energy_per_inference_uj'] / tuned['energy_per_inference_uj']:.1f}x, "
          f"training {default['training_time_s'] / tuned['training_time_s']:.1f}x; tuned reaches the default's accuracy: "
          f"{bool(matching)}); total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
