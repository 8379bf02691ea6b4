"""Benchmark: codesign's BayesianOptimizer against random search, Optuna's multi-objective samplers and BoTorch's qLogNEHVI.

Same budget for every method (default 40 evaluations, 5 seeds) on BraninCurrin (2-D, 2
objectives), ZDT1 (6-D, 2 objectives) and DTLZ2 (6-D, 3 objectives). Reports the median
fraction of the maximal hypervolume reached (hypervolume of all evaluated points against the
problem's fixed reference point, points beyond it ignored, divided by the problem's known
maximum; see benchmarks/problems.py for how each maximum is obtained) and the optimizer's
time per proposal. Prints a rich table and writes a PNG of hypervolume vs evaluations.

    PYTHONPATH=. python benchmarks/bench_optimizer.py [--budget 40] [--seeds 5] [--problems ...]

Optuna and BoTorch are benchmark-only dependencies (requirements/bench.txt).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.problems import PROBLEMS, Problem  # noqa: E402
from codesign.search.pareto import hypervolume  # noqa: E402

# codesign-bo-ref is the same optimizer told the problem's reference point (its `reference_point`
# argument: the worst values worth having); the Optuna samplers have no such input.
# codesign-bo-batch4 is codesign-bo asked for 4 trials at a time (`ask(4)`: pending members are
# Kriging-believer fantasies, counted one sd worse in EHVI's front), all 4 told before the next
# batch, as 4 parallel workers would.
# botorch-qnehvi(-batch4) is BoTorch's qLogNEHVI asked for 1 (or 4, sequential greedy) candidates at a
# time: the peer for batch quality, since it integrates pending points jointly (Monte Carlo over the
# posterior). Opt-in (about a minute per run on one thread), so not in the default list.
DEFAULT_METHODS = ["codesign-bo", "codesign-bo-ref", "codesign-bo-batch4", "random", "sobol", "optuna-tpe",
                   "optuna-nsga2", "optuna-gp"]
METHODS = DEFAULT_METHODS + ["botorch-qnehvi", "botorch-qnehvi-batch4"]
BATCH_PAIRS = [("codesign-bo", "codesign-bo-batch4"), ("botorch-qnehvi", "botorch-qnehvi-batch4")]
BATCH = 4
NSGA2_POPULATION = 10  # so the population evolves within a 40-evaluation budget (optuna's default is 50)


def hv_fraction(Y: list[np.ndarray], problem: Problem) -> float:
    if not Y:
        return 0.0
    return hypervolume(np.array(Y), problem.ref_point, outside="ignore") / problem.max_hv


def run_codesign(method: str, problem: Problem, budget: int, seed: int):
    from codesign.search.optimizer import BayesianOptimizer
    from codesign.search.samplers import RandomSampler, SobolSampler
    from codesign.search.space import Real, Space

    space = Space({f"x{i}": Real(0.0, 1.0) for i in range(problem.dim)})
    objectives = {name: "minimize" for name in problem.objectives}
    if method == "codesign-bo-ref":
        opt = BayesianOptimizer(space, objectives, seed=seed, reference_point=dict(zip(problem.objectives, problem.ref_point)))
    else:
        cls = {"codesign-bo": BayesianOptimizer, "codesign-bo-batch4": BayesianOptimizer, "random": RandomSampler,
               "sobol": SobolSampler}[method]
        opt = cls(space, objectives, seed=seed)
    batch = BATCH if method == "codesign-bo-batch4" else 1
    Y, curve, times = [], [], []
    while len(Y) < budget:
        start = time.perf_counter()
        trials = opt.ask(min(batch, budget - len(Y)))
        times.extend([(time.perf_counter() - start) / len(trials)] * len(trials))  # per proposal
        for trial in trials:
            y = problem([trial.params[f"x{i}"] for i in range(problem.dim)])
            opt.tell(trial, dict(zip(problem.objectives, y.tolist())))
            Y.append(y)
            curve.append(hv_fraction(Y, problem))
    return curve, times


def run_optuna(method: str, problem: Problem, budget: int, seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if method == "optuna-tpe":
        sampler = optuna.samplers.TPESampler(seed=seed)
    elif method == "optuna-nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=NSGA2_POPULATION)
    else:
        sampler = optuna.samplers.GPSampler(seed=seed)
    study = optuna.create_study(directions=["minimize"] * len(problem.objectives), sampler=sampler)
    Y, curve, times = [], [], []
    for _ in range(budget):
        start = time.perf_counter()
        trial = study.ask()
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(problem.dim)]  # proposals happen here
        times.append(time.perf_counter() - start)
        y = problem(np.array(x))
        study.tell(trial, y.tolist())
        Y.append(y)
        curve.append(hv_fraction(Y, problem))
    return curve, times


def run_botorch(method: str, problem: Problem, budget: int, seed: int):
    """BoTorch's qLogNEHVI set up as in its multi-objective tutorial (one GP per objective, 128 QMC
    samples, 10 restarts, sequential greedy batches; 256 raw samples rather than 512, and no input
    transform: the problems' inputs are the unit cube already), given the problem's reference
    point and as many scrambled Sobol points to start from as codesign-bo."""
    import torch
    from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import SumMarginalLogLikelihood
    from linear_operator.utils.warnings import NumericalWarning

    warnings.filterwarnings("ignore", category=NumericalWarning)  # "added jitter", once per fit on near-duplicate points
    torch.manual_seed(seed)
    batch = BATCH if method == "botorch-qnehvi-batch4" else 1
    n_initial = max(8, problem.dim + 2)  # codesign-bo's default
    X = torch.quasirandom.SobolEngine(problem.dim, scramble=True, seed=seed).draw(n_initial).double()
    bounds = torch.stack([torch.zeros(problem.dim), torch.ones(problem.dim)]).double()
    ref_point = [-r for r in problem.ref_point]  # BoTorch maximizes
    Y, curve, times = [], [], [0.0] * n_initial
    for x in X:
        Y.append(problem(x.numpy()))
        curve.append(hv_fraction(Y, problem))
    while len(Y) < budget:
        start = time.perf_counter()
        Yt = -torch.tensor(np.array(Y), dtype=torch.double)
        model = ModelListGP(*(SingleTaskGP(X, Yt[:, [i]], outcome_transform=Standardize(1)) for i in range(Yt.shape[1])))
        fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
        acquisition = qLogNoisyExpectedHypervolumeImprovement(
            model=model, ref_point=ref_point, X_baseline=X, prune_baseline=True,
            sampler=SobolQMCNormalSampler(torch.Size([128])))
        candidates, _ = optimize_acqf(acquisition, bounds=bounds, q=min(batch, budget - len(Y)), num_restarts=10,
                                      raw_samples=256, sequential=True, options={"batch_limit": 5, "maxiter": 200})
        candidates = candidates.detach()
        times.extend([(time.perf_counter() - start) / len(candidates)] * len(candidates))
        X = torch.cat([X, candidates])
        for x in candidates:
            Y.append(problem(x.numpy()))
            curve.append(hv_fraction(Y, problem))
    return curve, times


def run_one(job: tuple[str, str, int, int, int]) -> dict:
    method, problem_name, budget, seed, threads = job
    import torch

    torch.set_num_threads(threads)
    problem = PROBLEMS[problem_name]
    runner = run_optuna if method.startswith("optuna") else run_botorch if method.startswith("botorch") else run_codesign
    curve, times = runner(method, problem, budget, seed)
    return {"method": method, "problem": problem_name, "seed": seed, "curve": curve, "times": times}


def optuna_has_multiobjective_gp() -> bool:
    try:
        import optuna
    except ImportError:
        return False
    if not hasattr(optuna.samplers, "GPSampler"):
        return False
    major, minor = (int(p) for p in optuna.__version__.split(".")[:2])
    return (major, minor) >= (4, 4)  # multi-objective GPSampler (logEHVI) arrived in optuna 4.4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=40, help="evaluations per run (default 40)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per method and problem (default 5)")
    parser.add_argument("--problems", default=",".join(PROBLEMS), help="comma-separated, from: " + ", ".join(PROBLEMS))
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="comma-separated, from: " + ", ".join(METHODS) + " (botorch-* are opt-in)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (timings are per process)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process (default 2)")
    parser.add_argument("--png", default="benchmarks/bench_optimizer.png", help="hypervolume-vs-evaluations plot")
    parser.add_argument("--json", default=None, help="also write every run's curve and timings here")
    args = parser.parse_args(argv)

    problems = [p for p in args.problems.split(",") if p]
    methods = [m for m in args.methods.split(",") if m]
    for p in problems:
        if p not in PROBLEMS:
            parser.error(f"unknown problem {p!r}; choose from {list(PROBLEMS)}")
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}; choose from {METHODS}")
    if any(m.startswith("optuna") for m in methods):
        try:
            import optuna  # noqa: F401
        except ImportError:
            print("optuna is not installed (pip install -r requirements/bench.txt); skipping optuna-*", file=sys.stderr)
            methods = [m for m in methods if not m.startswith("optuna")]
    if any(m.startswith("botorch") for m in methods):
        try:
            import botorch  # noqa: F401
        except ImportError:
            print("botorch is not installed (pip install -r requirements/bench.txt); skipping botorch-*", file=sys.stderr)
            methods = [m for m in methods if not m.startswith("botorch")]
    if "optuna-gp" in methods and not optuna_has_multiobjective_gp():
        print("this optuna's GPSampler has no multi-objective support (needs >= 4.4); skipping optuna-gp", file=sys.stderr)
        methods.remove("optuna-gp")

    jobs = [(m, p, args.budget, s, args.threads) for p in problems for m in methods for s in range(args.seeds)]
    started = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            results = list(pool.map(run_one, jobs))
    else:
        results = []
        for job in jobs:
            results.append(run_one(job))
            print(f"  {job[1]:>12} {job[0]:>13} seed {job[3]}: hv fraction {results[-1]['curve'][-1]:.4f}", file=sys.stderr)
    wall = time.perf_counter() - started

    report(results, problems, methods, args, wall)
    plot(results, problems, methods, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results))
    return 0


def _cell(results, problem, method):
    runs = [r for r in results if r["problem"] == problem and r["method"] == method]
    finals = np.array([r["curve"][-1] for r in runs])
    # time per proposal: mean over each run's asks, median over seeds; and the last ask (most observations)
    mean_ask = np.median([np.mean(r["times"]) for r in runs])
    last_ask = np.median([r["times"][-1] for r in runs])
    return finals, mean_ask, last_ask


def report(results, problems, methods, args, wall):
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    table = Table(
        title=f"Hypervolume fraction after {args.budget} evaluations (median over {args.seeds} seeds)",
    )
    table.add_column("problem")
    table.add_column("method")
    table.add_column("median HV frac", justify="right")
    table.add_column("min - max", justify="right")
    table.add_column("s / proposal (mean)", justify="right")
    table.add_column(f"s / proposal (#{args.budget})", justify="right")
    for p in problems:
        best = max(np.median(_cell(results, p, m)[0]) for m in methods)
        for m in methods:
            finals, mean_ask, last_ask = _cell(results, p, m)
            med = np.median(finals)
            style = "bold green" if med == best else None
            table.add_row(
                p, m, f"{med:.4f}", f"{finals.min():.3f} - {finals.max():.3f}",
                f"{mean_ask:.3f}", f"{last_ask:.3f}", style=style,
            )
        table.add_section()
    console.print(table)
    for sequential, batched in BATCH_PAIRS:
        if sequential not in methods or batched not in methods:
            continue
        for p in problems:
            one, four = (float(np.median(_cell(results, p, m)[0])) for m in (sequential, batched))
            ratio = four / one if one > 0 else float("nan")
            console.print(f"batch quality {p}, {sequential}: {BATCH} at a time median {four:.4f} vs 1 at a time {one:.4f} "
                          f"= {ratio:.3f} ({'within' if ratio >= 0.95 else 'NOT within'} 5%)")
    for p in problems:
        console.print(f"max HV {p}: {PROBLEMS[p].max_hv:.6g} at ref {PROBLEMS[p].ref_point} ({PROBLEMS[p].max_hv_source})")
    console.print(f"wall time {wall:.0f} s; times are optimizer time per ask, {args.threads} torch threads")


def plot(results, problems, methods, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(problems), figsize=(5 * len(problems), 4), squeeze=False)
    for ax, p in zip(axes[0], problems):
        for m in methods:
            curves = np.array([r["curve"] for r in results if r["problem"] == p and r["method"] == m])
            x = np.arange(1, curves.shape[1] + 1)
            ax.plot(x, np.median(curves, axis=0), label=m)
            ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), alpha=0.1)
        ax.set_title(p)
        ax.set_xlabel("evaluations")
        ax.set_ylabel("hypervolume / max hypervolume")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    Path(args.png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png, dpi=120)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    sys.exit(main())
