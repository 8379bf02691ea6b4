"""Benchmark: time of one proposal against the size of the history, for codesign's
BayesianOptimizer and Optuna's GP and TPE samplers, in one run.

The problem is shaped like the default co-design sweep: 9 parameters (a categorical encoder,
one parameter active only for one encoder, integers with and without log scale, a log-scale
learning rate), 3 objectives (accuracy up, energy and latency down) and one outcome constraint
(cores <= 128), on a synthetic smooth function of the parameters. For each history size the
history is random (seeded), recorded without asking (`add_trial` / Optuna's `add_trials`),
and one `ask` is timed: the first ask after the replay, so it includes fitting the model.

    PYTHONPATH=. python benchmarks/bench_ask_scaling.py [--sizes 50,100,200,400,1000,2000,5000]
        [--methods codesign-bo,optuna-gp,optuna-tpe] [--repeats 1] [--skip-after 60]

A method whose ask took longer than --skip-after seconds is not run at larger sizes.
Optuna is a benchmark-only dependency (requirements/bench.txt).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

METHODS = ["codesign-bo", "optuna-gp", "optuna-tpe"]
OBJECTIVES = {"accuracy": "maximize", "energy_per_inference_uj": "minimize", "latency_us": "minimize"}
CORES_LIMIT = 128


def make_space():
    from codesign.search.space import Categorical, Integer, Real, Space

    return Space({
        "encoder": Categorical(["rate", "latency", "population"]),
        "rate.max_rate": Real(0.3, 1.0, condition=("encoder", ["rate"])),
        "timesteps": Integer(8, 24),
        "learning_rate": Real(0.003, 0.03, log=True),
        "hidden_size": Integer(16, 64),
        "weight_bits": Integer(2, 8),
        "vth": Integer(40, 160, log=True),
        "du": Integer(1024, 4096),
        "dv": Integer(0, 2048),
    })


def evaluate(p: dict) -> tuple[dict, dict]:
    """A smooth stand-in for a trial: (objective values, metrics with `cores`)."""
    t = (p["timesteps"] - 8) / 16
    lr = math.log(p["learning_rate"] / 0.003) / math.log(10)
    h = (p["hidden_size"] - 16) / 48
    b = (p["weight_bits"] - 2) / 6
    v = math.log(p["vth"] / 40) / math.log(4)
    du, dv = (p["du"] - 1024) / 3072, p["dv"] / 2048
    code = {"rate": 0.0, "latency": 0.04, "population": 0.02}[p["encoder"]]
    rate = p.get("rate.max_rate", 0.65)
    accuracy = (0.95 - 0.25 * (lr - 0.6) ** 2 - 0.3 * (1 - b) ** 3 - 0.1 * (v - 0.4) ** 2 + 0.08 * t * (1 - 0.5 * t)
                + 0.05 * h - 0.04 * (du - 0.7) ** 2 - 0.03 * dv + code - 0.05 * (rate - 0.8) ** 2)
    energy = 0.02 * (1 + 3 * t) * (1 + 2 * h) * (0.5 + b) * (1.5 - 0.5 * v) * (1.2 if p["encoder"] == "rate" else 1.0) * (0.5 + rate)
    latency = (p["timesteps"] + 2) * (0.1 + 0.05 * h + 0.02 * b)
    cores = 40 + 140 * h * (0.3 + b)
    return ({"accuracy": accuracy, "energy_per_inference_uj": energy, "latency_us": latency}, {"cores": cores})


def random_history(n: int, seed: int) -> list[tuple[dict, dict, dict]]:
    space = make_space()
    rng = np.random.default_rng([seed, n])
    return [(params, *evaluate(params)) for params in space.sample(rng, n)]


def time_codesign(history, seed: int) -> float:
    from codesign.search.optimizer import BayesianOptimizer

    opt = BayesianOptimizer(make_space(), OBJECTIVES, constraints=[f"cores <= {CORES_LIMIT}"], seed=seed)
    for params, values, metrics in history:
        opt.add_trial(params, values, metrics=metrics)
    start = time.perf_counter()
    opt.ask()
    return time.perf_counter() - start


def _optuna_distributions(params: dict) -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {
        "encoder": CategoricalDistribution(["rate", "latency", "population"]),
        "timesteps": IntDistribution(8, 24),
        "learning_rate": FloatDistribution(0.003, 0.03, log=True),
        "hidden_size": IntDistribution(16, 64),
        "weight_bits": IntDistribution(2, 8),
        "vth": IntDistribution(40, 160, log=True),
        "du": IntDistribution(1024, 4096),
        "dv": IntDistribution(0, 2048),
    }
    if "rate.max_rate" in params:
        out["rate.max_rate"] = FloatDistribution(0.3, 1.0)
    return out


def _suggest(trial) -> None:
    encoder = trial.suggest_categorical("encoder", ["rate", "latency", "population"])
    if encoder == "rate":
        trial.suggest_float("rate.max_rate", 0.3, 1.0)
    trial.suggest_int("timesteps", 8, 24)
    trial.suggest_float("learning_rate", 0.003, 0.03, log=True)
    trial.suggest_int("hidden_size", 16, 64)
    trial.suggest_int("weight_bits", 2, 8)
    trial.suggest_int("vth", 40, 160, log=True)
    trial.suggest_int("du", 1024, 4096)
    trial.suggest_int("dv", 0, 2048)


def time_optuna(method: str, history, seed: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def constraints(trial):
        return trial.system_attrs["constraints"]

    if method == "optuna-gp":
        sampler = optuna.samplers.GPSampler(seed=seed, constraints_func=constraints)
    else:
        sampler = optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    directions = list(OBJECTIVES.values())
    study = optuna.create_study(directions=directions, sampler=sampler)
    study.add_trials([
        optuna.trial.create_trial(
            params=params, distributions=_optuna_distributions(params), values=[values[k] for k in OBJECTIVES],
            system_attrs={"constraints": [metrics["cores"] - CORES_LIMIT]},
        )
        for params, values, metrics in history
    ])
    start = time.perf_counter()
    trial = study.ask()
    _suggest(trial)  # the relative (GP) proposal happens in ask(), independent ones here
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,400,1000,2000,5000", help="history sizes (comma-separated)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, from: " + ", ".join(METHODS))
    parser.add_argument("--repeats", type=int, default=1, help="timed asks per size (different random histories); median")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--skip-after", type=float, default=60.0, help="stop a method after an ask slower than this (s)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {METHODS}")
    if any(m.startswith("optuna") for m in methods):
        try:
            import optuna  # noqa: F401
        except ImportError:
            print("optuna is not installed (pip install -r requirements/bench.txt); skipping optuna-*", file=sys.stderr)
            methods = [m for m in methods if not m.startswith("optuna")]

    results: dict[str, dict[int, float | None]] = {m: {} for m in methods}
    for n in sizes:
        for m in methods:
            earlier = [t for t in results[m].values() if t is not None]
            if earlier and earlier[-1] > args.skip_after or (results[m] and list(results[m].values())[-1] is None):
                results[m][n] = None
                continue
            times = []
            for r in range(args.repeats):
                history = random_history(n, args.seed + r)
                timer = time_codesign if m == "codesign-bo" else lambda h, s, m=m: time_optuna(m, h, s)
                times.append(timer(history, args.seed + r))
            results[m][n] = statistics.median(times)
            print(f"  n={n:>5} {m:>12}: {results[m][n]:.3f} s", file=sys.stderr, flush=True)

    width = max(len(m) for m in methods) + 2
    print(f"seconds per ask (first ask after replaying n random observations; median of {args.repeats}; "
          f"{args.threads} torch threads; 9 params, 3 objectives, 1 constraint)")
    print("n".rjust(7) + "".join(m.rjust(width) for m in methods))
    for n in sizes:
        cells = [results[m][n] for m in methods]
        print(f"{n:>7}" + "".join(("skipped" if c is None else f"{c:.3f}").rjust(width) for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
