"""Benchmark: grid search vs Bayesian optimization on an encoding x hardware space (the seed study's claim
that BO finds the grid optimum with a fraction of the grid's evaluations).

1. The grid is evaluated once, for real. The default grid is
   encoder {rate, latency, population(4 bins)} x timesteps {4, 8, 12, 16, 24}
   x weight_bits {2, 3, 4, 8} x threshold vth {48, 64, 80, 112} = 240 cells, on sklearn digits.
   Training depends only on (encoder, timesteps, seed): SLAYER, quantization-aware at 8 bits, vth 80,
   a fixed number of epochs, once per training seed (each seed also re-encodes the spikes). The two
   hardware knobs are then applied to the trained network the way one deploys it on a chip without
   retraining: post-training quantization of every layer's weights to `weight_bits` (the same
   mantissa x 2^j grid the quantization-aware hook uses, re-encoded as netx encodes a file) and the
   threshold mantissa set to `vth`. Each variant runs on the numba core (bit-exact with Lava).
   A cell's number is the mean over the training seeds of the hardware validation accuracy (and
   its test accuracy, energy per inference on the loihi2 profile, ...).
2. The search: `codesign.search.optimizer.BayesianOptimizer` over the same discrete space (encoder
   categorical; timesteps, weight bits and vth as ordinal grid indices), its objective looked up
   in the evaluated grid, repeated for several optimizer seeds; random search = a random order of
   the grid (without replacement), repeated many times. Reported: evaluations until the search
   first sees the grid optimum (exactly), a cell within --tolerance of it, and a cell within the
   optimum's seed noise (its standard error over training seeds); median, IQR, min/max, and the
   median as a fraction of the grid size. Target (seed study): optimum in <= 1/6 of the grid.
3. Optional multi-objective variant (accuracy vs energy): hypervolume of the points BO has seen
   after N evaluations as a fraction of the grid's full-front hypervolume, vs random search.

    .venv/bin/python benchmarks/bench_grid_vs_bo.py                      # the full run (~15 min on 2 cores)
    .venv/bin/python benchmarks/bench_grid_vs_bo.py --quick              # a few minutes
    .venv/bin/python benchmarks/bench_grid_vs_bo.py --grid-cache G.json  # reuse an evaluated grid
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    evaluate_on_chip,
    evaluations_to_reach,
    output_path,
    post_training_quantize,
    print_table,
    summarize,
    with_neuron_params,
)

ENCODERS = {"rate": {}, "latency": {}, "population": {"bins": 4}}
TRAINED_VTH = 80


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=list(ENCODERS))
    parser.add_argument("--timesteps", nargs="+", type=int, default=[4, 8, 12, 16, 24])
    parser.add_argument("--weight-bits", nargs="+", type=int, default=[2, 3, 4, 8])
    parser.add_argument("--vth", nargs="+", type=int, default=[48, 64, 80, 112])
    parser.add_argument("--train-seeds", type=int, default=3, help="training (and encoding) seeds per cell")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--hidden-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--bo-seeds", type=int, default=15, help="optimizer seeds (repeated BO runs)")
    parser.add_argument("--bo-budget", type=int, default=80, help="max evaluations per BO run")
    parser.add_argument("--random-repeats", type=int, default=2000)
    parser.add_argument("--tolerance", type=float, default=0.005, help="absolute accuracy tolerance (0.005 = 0.5%%)")
    parser.add_argument("--mo-seeds", type=int, default=5, help="seeds of the accuracy-vs-energy variant (0 = skip)")
    parser.add_argument("--mo-budget", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1, help="processes for the grid's training runs")
    parser.add_argument("--grid-cache", default=None, help="JSON file: read the evaluated grid from it, or write it")
    parser.add_argument("--out", default=None, help="directory for the PNG (default: next to this script)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller everything: 2 encoders x 3 timesteps x 3 bits x 3 vth, 2 seeds, 5 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.encoders, args.timesteps, args.weight_bits, args.vth = ["rate", "population"], [4, 8, 16], [2, 4, 8], [40, 80, 144]
        args.train_seeds, args.epochs, args.bo_seeds, args.bo_budget = 2, 5, 5, 30
        args.random_repeats, args.mo_seeds, args.mo_budget = 500, 2, 15
    return args


# --- 1. the grid --------------------------------------------------------------------------

def train_and_sweep_hardware(job: dict) -> list[dict]:
    """One training run (encoder, timesteps, seed), then every (weight_bits, vth) variant on the chip model."""
    from codesign.run.pipeline import encoding_seed
    from codesign.training import TrainingData, train
    from encoders import get_encoder, load_dataset

    dataset = load_dataset(job["dataset"], seed=0)
    encoder = get_encoder(job["encoder"], **ENCODERS[job["encoder"]])
    seed, timesteps = job["seed"], job["timesteps"]
    spikes = {split: encoder.encode(getattr(dataset, split).x, timesteps, encoding_seed(seed, split))
              for split in ("train", "validation", "test")}
    labels = {split: getattr(dataset, split).y for split in spikes}
    started = time.perf_counter()
    result = train("slayer", {"epochs": job["epochs"], "hidden_size": job["hidden_size"],
                              "learning_rate": job["learning_rate"], "patience": 0,
                              "weight_bits": 8, "vth": TRAINED_VTH},
                   TrainingData(spikes["train"], labels["train"], spikes["validation"], labels["validation"],
                                dataset.n_classes), seed=seed)
    training_s = time.perf_counter() - started
    rows = []
    for weight_bits, vth in itertools.product(job["weight_bits"], job["vth"]):
        row = {"encoder": job["encoder"], "timesteps": timesteps, "weight_bits": weight_bits, "vth": vth,
               "seed": seed, "training_s": training_s, "status": result.status}
        if result.status == "complete":
            network = with_neuron_params(post_training_quantize(result.network, weight_bits), vth=vth)
            validation = evaluate_on_chip(network, spikes["validation"], labels["validation"])
            test = evaluate_on_chip(network, spikes["test"], labels["test"])
            row.update(accuracy=validation["accuracy"], test_accuracy=test["accuracy"],
                       energy_per_inference_uj=test["energy_per_inference_uj"], latency_us=test["latency_us"])
        else:  # a failed training counts as chance-free zero accuracy for every variant
            row.update(accuracy=0.0, test_accuracy=0.0, energy_per_inference_uj=float("nan"), latency_us=float("nan"))
        rows.append(row)
    return rows


def evaluate_grid(args) -> dict:
    jobs = [{"dataset": args.dataset, "encoder": encoder, "timesteps": timesteps, "seed": seed,
             "epochs": args.epochs, "hidden_size": args.hidden_size, "learning_rate": args.learning_rate,
             "weight_bits": args.weight_bits, "vth": args.vth}
            for encoder in args.encoders for timesteps in args.timesteps for seed in range(args.train_seeds)]
    started = time.perf_counter()
    rows = []
    print(f"evaluating the grid: {len(jobs)} training runs, {len(jobs) * len(args.weight_bits) * len(args.vth)} "
          f"chip evaluations ({args.workers} worker(s))", flush=True)
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            for index, part in enumerate(pool.map(train_and_sweep_hardware, jobs)):
                rows.extend(part)
                print(f"  {index + 1}/{len(jobs)} trainings done ({time.perf_counter() - started:.0f} s)", flush=True)
    else:
        for index, job in enumerate(jobs):
            rows.extend(train_and_sweep_hardware(job))
            print(f"  {index + 1}/{len(jobs)} trainings done ({time.perf_counter() - started:.0f} s)", flush=True)
    settings = {key: getattr(args, key) for key in ("dataset", "encoders", "timesteps", "weight_bits", "vth",
                                                    "train_seeds", "epochs", "hidden_size", "learning_rate")}
    return {"settings": settings, "rows": rows, "wall_s": time.perf_counter() - started}


def grid_cells(grid: dict) -> list[dict]:
    """Per cell: mean (and standard error) over training seeds."""
    by_cell: dict[tuple, list[dict]] = {}
    for row in grid["rows"]:
        by_cell.setdefault((row["encoder"], row["timesteps"], row["weight_bits"], row["vth"]), []).append(row)
    cells = []
    for key, rows in by_cell.items():
        accuracy = np.array([r["accuracy"] for r in rows])
        cells.append({
            "encoder": key[0], "timesteps": key[1], "weight_bits": key[2], "vth": key[3],
            "accuracy": float(accuracy.mean()),
            "accuracy_se": float(accuracy.std(ddof=1) / np.sqrt(len(rows))) if len(rows) > 1 else 0.0,
            "test_accuracy": float(np.mean([r["test_accuracy"] for r in rows])),
            "energy_per_inference_uj": float(np.nanmean([r["energy_per_inference_uj"] for r in rows]))
            if any(np.isfinite(r["energy_per_inference_uj"]) for r in rows) else float("nan"),
        })
    return cells


# --- 2. the searches ----------------------------------------------------------------------

def search_space(settings: dict):
    from codesign.search.space import Categorical, Integer, Space

    dims = {"encoder": Categorical(list(settings["encoders"]))}
    for name in ("timesteps", "weight_bits", "vth"):
        dims[name] = Integer(0, len(settings[name]) - 1)  # ordinal index into the grid's values
    return Space(dims)


def cell_key(params: dict, settings: dict) -> tuple:
    return (params["encoder"], settings["timesteps"][params["timesteps"]],
            settings["weight_bits"][params["weight_bits"]], settings["vth"][params["vth"]])


def run_bo(space, settings: dict, lookup: dict, seed: int, budget: int, objectives: dict,
           stop_at: float | None = None) -> list[dict]:
    """BO's sequence of looked-up cells; stops early once a cell reaches `stop_at` accuracy."""
    from codesign.search.optimizer import BayesianOptimizer

    optimizer = BayesianOptimizer(space, objectives, seed=seed)
    seen = []
    for _ in range(budget):
        trial = optimizer.ask()
        cell = lookup[cell_key(trial.params, settings)]
        values = {name: cell[name] for name in objectives}
        if all(np.isfinite(v) for v in values.values()):
            optimizer.tell(trial, values)
        else:
            optimizer.tell(trial, failed="no energy: training failed")
        seen.append(cell)
        if stop_at is not None and cell["accuracy"] >= stop_at:
            break
    return seen


def counts_summary(counts: list[int | None], budget: int) -> dict:
    found = [c for c in counts if c is not None]
    censored = [budget + 1 if c is None else c for c in counts]  # not found: counted as budget + 1
    stats = summarize(censored)
    stats["found"] = f"{len(found)}/{len(counts)}"
    return stats


def main(argv=None) -> int:
    args = parse_args(argv)
    cache = Path(args.grid_cache) if args.grid_cache else None
    if cache is not None and cache.is_file():
        grid = json.loads(cache.read_text())
        print(f"grid read from {cache} ({len(grid['rows'])} rows, evaluated in {grid['wall_s']:.0f} s)")
    else:
        grid = evaluate_grid(args)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(grid))
    settings = grid["settings"]
    cells = grid_cells(grid)
    lookup = {(c["encoder"], c["timesteps"], c["weight_bits"], c["vth"]): c for c in cells}
    n_cells = len(cells)
    accuracy = np.array([c["accuracy"] for c in cells])
    best = cells[int(np.argmax(accuracy))]
    targets = {
        "exact optimum": float(best["accuracy"]) - 1e-12,
        f"within {args.tolerance * 100:g}% abs.": float(best["accuracy"]) - args.tolerance,
        "within seed noise (1 SE)": float(best["accuracy"]) - best["accuracy_se"],
    }
    trainings = len(settings["encoders"]) * len(settings["timesteps"]) * settings["train_seeds"]
    print(f"\ngrid: {n_cells} cells x {settings['train_seeds']} seeds = {trainings} trainings "
          f"({settings['epochs']} epochs, hidden {settings['hidden_size']}), evaluated in {grid['wall_s']:.0f} s")
    print(f"grid optimum: {best['encoder']}, T={best['timesteps']}, {best['weight_bits']} bits, vth {best['vth']}: "
          f"validation accuracy {best['accuracy']:.4f} +- {best['accuracy_se']:.4f} (SE over seeds), "
          f"test {best['test_accuracy']:.4f}")
    ranked = sorted(cells, key=lambda c: -c["accuracy"])
    print_table("top grid cells (mean over training seeds)",
                ["encoder", "T", "bits", "vth", "val acc", "SE", "test acc", "energy uJ"],
                [[c["encoder"], c["timesteps"], c["weight_bits"], c["vth"], c["accuracy"], c["accuracy_se"],
                  c["test_accuracy"], c["energy_per_inference_uj"]] for c in ranked[:8]])
    for name, target in targets.items():
        print(f"  cells meeting '{name}' (>= {target:.4f}): {int(np.sum(accuracy >= target))}")

    # BO runs
    space = search_space(settings)
    started = time.perf_counter()
    bo_sequences = []
    for seed in range(args.bo_seeds):
        seen = run_bo(space, settings, lookup, seed, args.bo_budget, {"accuracy": "maximize"},
                      stop_at=targets["exact optimum"])
        bo_sequences.append([c["accuracy"] for c in seen])
        print(f"  BO seed {seed}: {len(seen)} evaluations, best {max(c['accuracy'] for c in seen):.4f}", flush=True)
    bo_wall = time.perf_counter() - started
    rng = np.random.default_rng(12345)
    random_sequences = [accuracy[rng.permutation(n_cells)] for _ in range(args.random_repeats)]

    rows, summary = [], {}
    for name, target in targets.items():
        bo = counts_summary([evaluations_to_reach(s, target) for s in bo_sequences], args.bo_budget)
        rnd = counts_summary([evaluations_to_reach(s, target) for s in random_sequences], n_cells)
        summary[name] = {"bo": bo, "random": rnd}
        for method, stats in (("BO", bo), ("random", rnd)):
            rows.append([name, method, stats["found"], stats["median"], f"{stats['q1']:g}-{stats['q3']:g}",
                         f"{stats['min']:g}-{stats['max']:g}", stats["median"] / n_cells,
                         f"1/{n_cells / stats['median']:.1f}"])
    print_table(f"evaluations until the search sees the target ({n_cells}-cell grid; BO budget {args.bo_budget}, "
                f"not found = budget + 1)",
                ["target", "search", "found", "median", "IQR", "min-max", "median/grid", "as fraction"], rows)
    median_exact = summary["exact optimum"]["bo"]["median"]
    verdict = "met" if median_exact <= n_cells / 6 else "missed"
    print(f"target 'grid optimum in <= 1/6 of the grid ({n_cells / 6:.0f} evaluations), median': {verdict} "
          f"(BO median {median_exact:g}; BO time {bo_wall / max(1, sum(map(len, bo_sequences))):.2f} s per proposal)")

    # 3. multi-objective variant
    mo = None
    if args.mo_seeds > 0:
        mo = multi_objective(cells, lookup, space, settings, args)

    plot(args, bo_sequences, random_sequences, targets, n_cells, mo)
    return 0


def multi_objective(cells, lookup, space, settings, args) -> dict:
    from codesign.search.pareto import hypervolume, reference_point, to_minimization

    objectives = {"accuracy": "maximize", "energy_per_inference_uj": "minimize"}
    usable = [c for c in cells if np.isfinite(c["energy_per_inference_uj"])]
    values = to_minimization(np.array([[c["accuracy"], c["energy_per_inference_uj"]] for c in usable]),
                             list(objectives.values()))
    reference = reference_point(values)
    full = hypervolume(values, reference)

    def fraction_curve(sequence):
        points, curve = [], []
        for cell in sequence:
            if np.isfinite(cell["energy_per_inference_uj"]):
                points.append([-cell["accuracy"], cell["energy_per_inference_uj"]])
            curve.append(hypervolume(np.array(points), reference, outside="ignore") / full if points else 0.0)
        return curve

    bo_curves = []
    for seed in range(args.mo_seeds):
        seen = run_bo(space, settings, lookup, seed, args.mo_budget, objectives)
        bo_curves.append(fraction_curve(seen))
    rng = np.random.default_rng(54321)
    random_curves = [fraction_curve([usable[i] for i in rng.permutation(len(usable))[:args.mo_budget]])
                     for _ in range(200)]
    checkpoints = sorted({n for n in (10, 20, 40, 60, args.mo_budget) if n <= args.mo_budget})
    rows = []
    for n in checkpoints:
        bo = summarize([c[n - 1] for c in bo_curves])
        rnd = summarize([c[n - 1] for c in random_curves])
        rows.append([n, f"{n / len(cells):.2f}", bo["median"], f"{bo['min']:.3f}-{bo['max']:.3f}", rnd["median"],
                     f"{rnd['q1']:.3f}-{rnd['q3']:.3f}"])
    print_table(f"accuracy vs energy: hypervolume seen / the full grid's ({args.mo_seeds} BO seeds, 200 random orders)",
                ["evaluations", "of grid", "BO median", "BO min-max", "random median", "random IQR"], rows)
    return {"bo": bo_curves, "random": random_curves}


def plot(args, bo_sequences, random_sequences, targets, n_cells, mo) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if mo else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.2))
    exact = targets["exact optimum"]
    for label, sequences, color, limit in (("BO", bo_sequences, "C0", args.bo_budget),
                                           ("random", random_sequences, "C1", n_cells)):
        hits = np.array([evaluations_to_reach(s, exact) or np.inf for s in sequences], dtype=float)
        xs = np.arange(1, n_cells + 1)
        axes[0].step(xs, [(hits <= x).mean() for x in xs], where="post", color=color, label=label)
        best_so_far = np.array([np.maximum.accumulate(np.pad(s, (0, max(0, limit - len(s))), mode="edge")[:limit])
                                for s in sequences])
        axes[1].plot(np.arange(1, limit + 1), np.median(best_so_far, axis=0), color=color, label=f"{label} median")
        axes[1].fill_between(np.arange(1, limit + 1), np.percentile(best_so_far, 25, axis=0),
                             np.percentile(best_so_far, 75, axis=0), color=color, alpha=0.2)
    axes[0].axvline(n_cells / 6, color="gray", ls="--", label="grid / 6")
    axes[0].set(xlabel="evaluations", ylabel="fraction of runs that found the optimum", xscale="log",
                title=f"grid optimum found ({n_cells}-cell grid)")
    axes[0].legend()
    axes[1].axhline(exact, color="gray", ls=":", label="grid optimum")
    axes[1].set(xlabel="evaluations", ylabel="best validation accuracy so far", xlim=(1, min(n_cells, 120)),
                title="best so far (median, IQR)")
    axes[1].legend()
    if mo:
        for label, curves, color in (("BO", mo["bo"], "C0"), ("random", mo["random"], "C1")):
            curves = np.array(curves)
            xs = np.arange(1, curves.shape[1] + 1)
            axes[2].plot(xs, np.median(curves, axis=0), color=color, label=label)
            axes[2].fill_between(xs, curves.min(axis=0) if label == "BO" else np.percentile(curves, 25, axis=0),
                                 curves.max(axis=0) if label == "BO" else np.percentile(curves, 75, axis=0),
                                 color=color, alpha=0.2)
        axes[2].set(xlabel="evaluations", ylabel="hypervolume / full grid's", ylim=(0, 1.02),
                    title="accuracy vs energy (BO: min-max; random: IQR)")
        axes[2].legend()
    fig.tight_layout()
    path = output_path(args.out, "bench_grid_vs_bo.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
