"""Benchmark: how many fewer timesteps HYBRID needs after tuning to match its default configuration's
accuracy (the seed study: 30% fewer timesteps for HYBRID on CIFAR10).

1. Default curve: HYBRID with every declared default (ANN 20 epochs at lr 0.01, percentile 99.9, 3
   fine-tuning epochs at lr 1e-3, one hidden layer of 64), default hardware (8-bit weights, vth 80,
   du 2048, dv 1024) and rate encoding (max_rate 0.5), run through the trial pipeline at each of
   --timesteps-list. The reference is its accuracy at the default timesteps (--default-timesteps, 32).
2. Tuning: a co-design sweep (codesign.run.sweep, BayesianOptimizer) over HYBRID's percentile and
   fine-tuning (lr, epochs), the neuron parameters (vth, du, dv), the rate encoder's max_rate and the
   timesteps (4..default), with objectives accuracy (max) and timesteps (min). The tuned
   configuration is the sweep's trial with the fewest timesteps whose accuracy reaches the
   reference minus --tolerance (else its most accurate trial).
3. Tuned curve: the tuned parameters at each of --timesteps-list. Reported: the fewest timesteps at
   which each curve's mean validation accuracy (over --seeds trial seeds, same seeds for both) is
   within --tolerance of the reference, and the reduction vs the default timesteps; also how far
   the default parameters alone get by just lowering T (the honest baseline for "tuning helps").

    .venv/bin/python benchmarks/bench_hybrid_timesteps.py [--trials 40] [--seeds 2] [--tolerance 0.01]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ensure_study, output_path, print_table, replay_study, run_trial_at  # noqa: E402

DEFAULT_STUDY = Path("/tmp/neuro-codesign-bench/hybrid_timesteps.sqlite")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--default-timesteps", type=int, default=32)
    parser.add_argument("--timesteps-list", nargs="+", type=int, default=[4, 6, 8, 12, 16, 20, 24, 32])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--trials", type=int, default=40, help="sweep trials (tuning budget)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="sweep time limit, seconds")
    parser.add_argument("--study", default=None, help="reuse (or write) this tuning study")
    parser.add_argument("--seeds", type=int, default=2, help="trial seeds per point of each curve")
    parser.add_argument("--tolerance", type=float, default=0.01, help="absolute accuracy tolerance (0.01 = 1%%)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


def sweep_config(args) -> dict:
    return {
        "study": {"name": "hybrid-timesteps", "seed": 0},
        "dataset": {"name": args.dataset},
        "encoding": {"encoders": ["rate"], "timesteps": {"low": 4, "high": args.default_timesteps},
                     "rate": {"max_rate": {"low": 0.3, "high": 1.0}}},
        "training": {"trainers": ["hybrid"],
                     "hybrid": {"percentile": {"low": 90.0, "high": 100.0},
                                "finetune_learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
                                "finetune_epochs": {"low": 0, "high": 5}}},
        "hardware": {"profile": "loihi2", "vth": {"low": 40, "high": 160, "log": True},
                     "du": {"low": 1024, "high": 4096}, "dv": {"low": 0, "high": 2048}},
        "objectives": {"accuracy": "maximize", "timesteps": "minimize"},
        "budget": {"trials": args.trials},
    }


def curve(config, params: dict, timesteps_list, seeds: int, scratch: str, label: str) -> dict:
    points = {}
    for timesteps in timesteps_list:
        accuracies = []
        for seed in range(seeds):
            outcome = run_trial_at(config, {**params, "timesteps": int(timesteps)}, seed=1000 + seed,
                                   artifact_dir=scratch)
            metrics = outcome.get("metrics") or {}
            accuracies.append(float(metrics.get("accuracy", 0.0)) if outcome["state"] == "complete" else 0.0)
        points[int(timesteps)] = accuracies
        print(f"  {label} T={timesteps}: {np.mean(accuracies):.4f} ({', '.join(f'{a:.3f}' for a in accuracies)})",
              flush=True)
    return points


def fewest(points: dict, target: float) -> int | None:
    reaching = [t for t, accuracies in sorted(points.items()) if np.mean(accuracies) >= target]
    return reaching[0] if reaching else None


def main(argv=None) -> int:
    args = parse_args(argv)
    from codesign.config import parse_config

    timesteps_list = sorted(set(args.timesteps_list) | {args.default_timesteps})
    config = parse_config(sweep_config(args))
    default_params = {"encoder": "rate", "trainer": "hybrid"}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-hybrid-") as scratch:
        print("default HYBRID parameters:", flush=True)
        default_curve = curve(config, default_params, timesteps_list, args.seeds, scratch, "default")
        reference = float(np.mean(default_curve[args.default_timesteps]))
        target = reference - args.tolerance
        print(f"reference: default parameters at T={args.default_timesteps}: {reference:.4f}; target >= {target:.4f}")

        study_path = ensure_study(args.study, config_path=sweep_config(args), trials=args.trials,
                                  timeout_s=args.timeout, default_path=DEFAULT_STUDY)
        _, study, _ = replay_study(study_path)
        complete = [t for t in study.trials(["complete"]) if "accuracy" in (t.values or {})]
        reaching = [t for t in complete if t.values["accuracy"] >= target]
        if reaching:
            chosen = min(reaching, key=lambda t: (t.params["timesteps"], -t.values["accuracy"]))
        else:
            print("no sweep trial reaches the target: taking the most accurate one")
            chosen = max(complete, key=lambda t: t.values["accuracy"])
        tuned_params = {k: v for k, v in chosen.params.items() if k != "timesteps"}
        print(f"tuned: sweep trial #{chosen.number} (T={chosen.params['timesteps']}, accuracy "
              f"{chosen.values['accuracy']:.4f} in the sweep): {json.dumps(tuned_params)}")
        tuned_curve = curve(config, tuned_params, timesteps_list, args.seeds, scratch, "tuned")
    wall = time.perf_counter() - started

    rows = [[t, np.mean(default_curve[t]), np.mean(tuned_curve[t]),
             "yes" if np.mean(default_curve[t]) >= target else "", "yes" if np.mean(tuned_curve[t]) >= target else ""]
            for t in timesteps_list]
    print_table(f"HYBRID validation accuracy vs timesteps (mean of {args.seeds} seed(s)); target {target:.4f} = "
                f"default@T={args.default_timesteps} ({reference:.4f}) - {args.tolerance}",
                ["T", "default params", "tuned params", "default reaches", "tuned reaches"], rows)
    t_default, t_tuned = fewest(default_curve, target), fewest(tuned_curve, target)
    summary = {"reference": reference, "target": target, "fewest_default": t_default, "fewest_tuned": t_tuned,
               "tuned_trial": chosen.number, "tuned_params": tuned_params,
               "default_curve": default_curve, "tuned_curve": tuned_curve}
    if t_tuned is None:
        print(f"the tuned configuration does not reach {target:.4f} at any of {timesteps_list}: target missed")
    else:
        reduction = 1 - t_tuned / args.default_timesteps
        summary["reduction_vs_default_timesteps"] = reduction
        print(f"fewest timesteps within {args.tolerance} of the default configuration's accuracy: tuned T={t_tuned} "
              f"= {reduction * 100:.0f}% fewer than the default T={args.default_timesteps} (seed study: 30% fewer); "
              f"default parameters alone: T={t_default}"
              + (f" ({(1 - t_default / args.default_timesteps) * 100:.0f}% fewer)" if t_default else ""))
    print(f"{len(complete)} tuning trials; curves and sweep took {wall:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, default=str, indent=1))
    plot(args, timesteps_list, default_curve, tuned_curve, reference, target, t_default, t_tuned)
    return 0


def plot(args, timesteps_list, default_curve, tuned_curve, reference, target, t_default, t_tuned) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.3))
    for label, points, color in (("default params", default_curve, "C3"), ("tuned params", tuned_curve, "C2")):
        means = [np.mean(points[t]) for t in timesteps_list]
        ax.plot(timesteps_list, means, "o-", color=color, label=label)
        for t in timesteps_list:
            ax.scatter([t] * len(points[t]), points[t], color=color, s=8, alpha=0.5)
    ax.axhline(reference, color="gray", ls=":", label=f"default @ T={args.default_timesteps}")
    ax.axhline(target, color="gray", ls="--", lw=1, label=f"- {args.tolerance} tolerance")
    if t_tuned is not None:
        ax.axvline(t_tuned, color="C2", ls="--", lw=1)
    if t_default is not None:
        ax.axvline(t_default, color="C3", ls="--", lw=1)
    ax.set(xlabel="timesteps", ylabel="validation accuracy (chip model)",
           title=f"HYBRID: fewest T within tolerance: tuned {t_tuned}, default {t_default}")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path = output_path(args.out, "bench_hybrid_timesteps.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
