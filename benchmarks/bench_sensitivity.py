"""Benchmark: how much accuracy moves under small changes of the most important hyperparameters
(the seed study saw a 5-6x max/min accuracy ratio).

1. A study of the default sweep (examples/digits.toml on sklearn digits; --study reuses one, else it is
   run or resumed into /tmp/neuro-codesign-bench/digits.sqlite) is read by the configured
   `BayesianOptimizer` (`codesign.run.search_space.sampler_for`), and the surrogate's parameter importance
   for accuracy (`importance()`, first-order Sobol indices of the GP mean, or ARD) is read off.
2. Around the study's most accurate trial, each of the top-k important numeric parameters that is
   active there is moved one small step down and up (--step: 15% of the searched range by default; integers move
   by at least 1; clipped to the sweep's range), one parameter at a time, plus --joint random
   perturbations of all k at once inside the same box. Every point, the unperturbed best config
   included, runs through the real pipeline (`codesign.run.pipeline.run_trial`: encode, train, quantize,
   numba chip model) with --seeds trial seeds.
3. Printed: importance, every perturbed point's validation accuracy (mean over seeds), and the spread:
   max/min accuracy ratio and max-min, over all perturbed points, beside the seed noise of the
   unperturbed config. A PNG shows importance and the per-parameter accuracy spread.

    .venv/bin/python benchmarks/bench_sensitivity.py [--study S.sqlite] [--top-k 3] [--step 0.15] [--seeds 2]
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

from _common import (  # noqa: E402
    DEFAULT_SWEEP_CONFIG,
    ensure_study,
    output_path,
    print_table,
    replay_study,
    run_trial_at,
    summarize,
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default=None, help="study to read (default: run/resume the default sweep)")
    parser.add_argument("--config", default=str(DEFAULT_SWEEP_CONFIG), help="sweep config when a study must be run")
    parser.add_argument("--sweep-trials", type=int, default=80, help="trials of the sweep when one must be run")
    parser.add_argument("--sweep-timeout", type=float, default=2400.0)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--step", type=float, default=0.15, help="step as a fraction of the searched range (0.15 = +-15%%)")
    parser.add_argument("--joint", type=int, default=4, help="random joint perturbations of the top-k")
    parser.add_argument("--seeds", type=int, default=2, help="trial seeds per evaluated point")
    parser.add_argument("--anchor", default="best",
                        help="the config perturbed: best (most accurate trial), median (the median trial) or a trial number")
    parser.add_argument("--method", choices=["sobol", "ard"], default="sobol")
    parser.add_argument("--objective", default="accuracy")
    parser.add_argument("--out", default=None, help="directory for the PNG (default: next to this script)")
    parser.add_argument("--json", default=None, help="also write the measured numbers to this JSON file")
    return parser.parse_args(argv)


def moved(dimension, value, fraction: float):
    """`value` moved by `fraction` of the dimension's searched range, in its own scale (log for
    log-scaled parameters), clipped to the range; integers move by at least 1."""
    from codesign.search.space import Integer

    if dimension.log:
        low, high = np.log(dimension.low), np.log(dimension.high)
        result = float(np.exp(np.clip(np.log(value) + fraction * (high - low), low, high)))
    else:
        result = float(np.clip(value + fraction * (dimension.high - dimension.low), dimension.low, dimension.high))
    if isinstance(dimension, Integer):
        step = int(round(result)) - int(value)
        if step == 0 and fraction != 0:
            step = 1 if fraction > 0 else -1
        return int(np.clip(int(value) + step, dimension.low, dimension.high))
    return result


def step_values(dimension, value, step: float) -> list:
    """One small step down and up from `value` (see `moved`), dropping steps the range clips away."""
    return [v for v in (moved(dimension, value, -step), moved(dimension, value, step)) if v != value]


def main(argv=None) -> int:
    args = parse_args(argv)
    from codesign.search.space import Integer, Real

    study_path = ensure_study(args.study, config_path=args.config, trials=args.sweep_trials,
                              timeout_s=args.sweep_timeout)
    config, study, optimizer = replay_study(study_path)
    complete = [t for t in study.trials(["complete"]) if t.values and args.objective in t.values]
    if len(complete) < 5:
        print(f"{study_path} has only {len(complete)} complete trials: run a longer sweep first")
        return 1
    importance = optimizer.importance(method=args.method)[args.objective]
    ranked = sorted(importance.items(), key=lambda item: -item[1])
    by_accuracy = sorted(complete, key=lambda t: t.values[args.objective])
    if args.anchor == "best":
        best = by_accuracy[-1]
    elif args.anchor == "median":
        best = by_accuracy[len(by_accuracy) // 2]
    else:
        best = next((t for t in complete if t.number == int(args.anchor)), None)
        if best is None:
            print(f"--anchor {args.anchor}: no complete trial with that number in {study_path}")
            return 1
    accuracies = np.array([t.values[args.objective] for t in complete])
    print(f"study {study_path}: {len(complete)} complete trials; {args.objective} over the study: "
          f"min {accuracies.min():.4f}, median {np.median(accuracies):.4f}, max {accuracies.max():.4f} "
          f"(max/min {accuracies.max() / max(accuracies.min(), 1e-9):.2f}x)")
    print_table(f"surrogate importance for {args.objective} ({args.method}, {len(optimizer.trials)} trials replayed)",
                ["parameter", "importance", f"{args.anchor} config's value"],
                [[name, score, best.params.get(name, "(inactive)")] for name, score in ranked])

    space = optimizer.space
    numeric = [name for name, _ in ranked
               if isinstance(space[name], (Integer, Real)) and name in best.params]
    chosen = numeric[:args.top_k]
    print(f"anchor ({args.anchor}) trial #{best.number}: {args.objective} {best.values[args.objective]:.4f}; perturbing {chosen} "
          f"by +-{args.step * 100:g}% of their searched range (one at a time) and {args.joint} joint perturbations, {args.seeds} seed(s) each")

    points = [(f"{args.anchor} (unperturbed)", None, dict(best.params))]
    for name in chosen:
        for value in step_values(space[name], best.params[name], args.step):
            points.append((f"{name} = {value:.4g}" if isinstance(value, float) else f"{name} = {value}", name,
                           {**best.params, name: value}))
    rng = np.random.default_rng(2024)
    for index in range(args.joint):
        params = dict(best.params)
        for name in chosen:
            params[name] = moved(space[name], best.params[name], float(rng.uniform(-args.step, args.step)))
        points.append((f"joint #{index + 1}", "joint", params))

    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sensitivity-") as scratch:
        for label, group, params in points:
            values, states = [], []
            for seed in range(args.seeds):
                outcome = run_trial_at(config, params, seed=1000 + seed, artifact_dir=scratch)
                states.append(outcome["state"])
                metrics = outcome.get("metrics") or {}
                values.append(float(metrics.get("accuracy", 0.0)) if outcome["state"] == "complete" else 0.0)
            results.append({"label": label, "group": group, "params": params, "accuracies": values,
                            "accuracy": float(np.mean(values)), "states": states})
            print(f"  {label}: {np.mean(values):.4f} ({', '.join(f'{v:.3f}' for v in values)}; {', '.join(states)})",
                  flush=True)
    wall = time.perf_counter() - started

    base = results[0]
    perturbed = results[1:]
    all_means = np.array([r["accuracy"] for r in results])
    rows = []
    for name in chosen + (["joint"] if args.joint else []):
        group = [base] + [r for r in perturbed if r["group"] == name]
        means = np.array([r["accuracy"] for r in group])
        rows.append([name, f"{importance.get(name, float('nan')):.3f}" if name != "joint" else "-", len(group) - 1,
                     means.min(), means.max(), means.max() - means.min(), means.max() / max(means.min(), 1e-9)])
    rows.append(["all points", "-", len(perturbed), all_means.min(), all_means.max(),
                 all_means.max() - all_means.min(), all_means.max() / max(all_means.min(), 1e-9)])
    print_table(f"validation accuracy under +-{args.step * 100:g}%-of-range perturbations (mean of {args.seeds} seed(s); "
                f"each group includes the unperturbed {args.anchor})",
                ["perturbed", "importance", "points", "min acc", "max acc", "max-min", "max/min"], rows)
    noise = summarize(base["accuracies"])
    ratio = all_means.max() / max(all_means.min(), 1e-9)
    print(f"seed noise of the unperturbed {args.anchor}: {base['accuracies']} (range {noise['max'] - noise['min']:.4f})")
    print(f"spread over all {len(results)} points: max/min = {ratio:.2f}x, max-min = "
          f"{all_means.max() - all_means.min():.4f}; seed study: 5-6x. {len(results) * args.seeds} trials in {wall:.0f} s")

    if args.json:
        Path(args.json).write_text(json.dumps({"importance": importance, "best_trial": best.number,
                                               "results": results, "ratio": ratio}, default=str, indent=1))
    plot(args, ranked, chosen, results)
    return 0


def plot(args, ranked, chosen, results) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    names = [name for name, _ in ranked][::-1]
    scores = [score for _, score in ranked][::-1]
    colors = ["C3" if name in chosen else "C0" for name in names]
    axes[0].barh(names, scores, color=colors)
    axes[0].set(xlabel=f"importance for {args.objective} ({args.method}, sums to 1)",
                title="surrogate importance (red: perturbed)")
    base = results[0]["accuracy"]
    labels = [r["label"] for r in results]
    values = [r["accuracy"] for r in results]
    group_colors = {name: f"C{index + 1}" for index, name in enumerate(chosen + ["joint"])}
    bar_colors = ["gray"] + [group_colors.get(r["group"], "C0") for r in results[1:]]
    axes[1].bar(range(len(values)), values, color=bar_colors)
    for index, r in enumerate(results):
        axes[1].scatter([index] * len(r["accuracies"]), r["accuracies"], color="k", s=8, zorder=3)
    axes[1].axhline(base, color="gray", ls="--", lw=1)
    axes[1].set_xticks(range(len(values)), labels, rotation=60, ha="right", fontsize=7)
    low = min(min(r["accuracies"]) for r in results)
    axes[1].set(ylabel="validation accuracy (bars: mean; dots: seeds)", ylim=(max(0.0, low - 0.1), 1.0),
                title=f"{args.anchor} config under +-{args.step * 100:g}%-of-range steps: max/min "
                      f"{max(values) / max(min(values), 1e-9):.2f}x")
    fig.tight_layout()
    suffix = "" if args.anchor == "best" else f"_{args.anchor}"
    path = output_path(args.out, f"bench_sensitivity{suffix}.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
