"""The sweep driver: ask the optimizer, run trials on an executor, record every result in the study.

The study file is the single source of truth. On start the driver re-queues trials a killed
sweep left running, replays every recorded trial into a fresh optimizer (proposals are a
function of seed and history, so a resumed sweep proposes what an uninterrupted one would),
and runs until the study holds the budgeted number of finished trials. Only this process
writes the study; workers return plain dicts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.config import SweepConfig
from codesign.errors import CodesignError
from codesign.rules import parse_constraint
from codesign.run.executors import Executor, make_executor
from codesign.search.optimizer import BayesianOptimizer
from codesign.search.samplers import GridSampler, RandomSampler, Sampler, SobolSampler
from codesign.study.results import best_values, hypervolume_curve, pareto_trials
from codesign.run.search_space import build_space
from codesign.study.storage import FINISHED_STATES as FINISHED
from codesign.study.storage import Study
from codesign.run.pipeline import run_trial


def trial_seed(study_seed: int, number: int) -> int:
    return int(np.random.SeedSequence([study_seed, number]).generate_state(1)[0] % 2**31)


@dataclass
class SweepSummary:
    study_path: Path
    finished: int
    by_state: dict
    stopped_because: str
    notes: list[str] = field(default_factory=list)


def build_optimizer(config: SweepConfig, study: Study) -> Sampler:
    """A fresh optimizer (run.sampler) holding every trial the study has recorded, under the same numbers."""
    run = config["run"]
    common = dict(objectives=config.objectives, constraints=config.constraints, seed=config.seed)
    space = build_space(config)
    if run["sampler"] == "bayesian":
        optimizer = BayesianOptimizer(space, n_initial=run["n_initial"] or None,
                                      reference_point=run.get("reference_point"), **common)
    elif run["sampler"] == "grid":
        optimizer = GridSampler(space, points_per_dim=run["grid_points"], **common)
    else:
        optimizer = {"random": RandomSampler, "sobol": SobolSampler}[run["sampler"]](space, **common)
    for stored in study.trials():
        tell_stored(optimizer, config, stored)
    return optimizer


def _constraint_metrics(config: SweepConfig, metrics: dict | None) -> dict:
    names = {parse_constraint(rule).metric for rule in config.constraints} - set(config.objectives)
    return {name: float(metrics[name]) for name in names if metrics and name in metrics}


def tell_stored(optimizer: Sampler, config: SweepConfig, stored) -> None:
    if stored.state in ("complete", "infeasible") and stored.values:
        optimizer.add_trial(stored.params, values=stored.values, state=stored.state,
                            metrics=_constraint_metrics(config, stored.metrics), reason=stored.error,
                            number=stored.number)
    elif stored.state in FINISHED:
        # a failure (or an infeasible candidate with no objective values) teaches the optimizer where not to go
        state = "pruned" if stored.state == "pruned" else "failed"
        optimizer.add_trial(stored.params, state=state, reason=stored.error or stored.state, number=stored.number)
    else:
        optimizer.add_trial(stored.params, state="pending", number=stored.number)


class SweepRunner:
    """Runs one sweep; `run()` returns when the budget is spent, time is up, or the user interrupts."""

    def __init__(self, config: SweepConfig, study_path: str | Path, *, trials: int | None = None,
                 timeout_s: float | None = None, workers: int | None = None, scheduler: str | None = None,
                 force_new: bool = False, executor: Executor | None = None, display=None):
        self.config = config
        self.study = Study.open_or_create(study_path, config=config.data, seed=config.seed,
                                          name=config["study"]["name"], force_new=force_new)
        budget = config["budget"]
        self.total_trials = trials if trials is not None else budget["trials"]
        if self.total_trials < 1:
            raise CodesignError(f"--trials {self.total_trials} must be at least 1")
        self.timeout_s = timeout_s if timeout_s is not None else budget["timeout_s"]
        run = config["run"]
        self.executor = executor or make_executor(
            workers=workers if workers is not None else run["workers"],
            scheduler=scheduler if scheduler is not None else (run["scheduler"] or None),
        )
        self.display = display
        self.notes = [f"re-queued trial {n}: the previous sweep stopped while it ran"
                      for n in self.study.recover_interrupted("requeue")]

    def _payload(self, number: int, params: dict) -> dict:
        return {
            "number": number,
            "params": params,
            "config": self.config.data,
            "seed": trial_seed(self.config.seed, number),
            "artifact_dir": str(self.study.artifact_dir),
            "prune_below": self._prune_threshold(),
        }

    def _prune_threshold(self) -> float | None:
        fraction = self.config["run"]["prune_below_front"]
        if not fraction or "accuracy" not in self.config.objectives:
            return None
        best = best_values(self.study.trials(["complete"]), self.config.objectives).get("accuracy")
        return None if best is None else fraction * best

    def _submit(self, number: int, params: dict) -> None:
        self.study.mark_running(number)
        self.executor.submit(number, run_trial, self._payload(number, params))

    def _record(self, optimizer: Sampler, number: int, outcome: dict | None, error: str | None) -> None:
        if outcome is None:
            outcome = {"state": "failed", "error": error or "unknown worker failure"}
        state, reason = outcome["state"], outcome.get("error")
        if state == "complete":
            told = optimizer.tell(number, values=outcome["values"],
                                  metrics=_constraint_metrics(self.config, outcome["metrics"]))
            state, reason = told.state, told.reason
        elif state == "pruned":
            optimizer.tell(number, pruned=reason or "pruned")
        else:
            optimizer.tell(number, failed=reason or state)
        self.study.finish(number, state, values=outcome.get("values") if state in ("complete", "infeasible") else None,
                          metrics=outcome.get("metrics"), counts=outcome.get("counts"), timings=outcome.get("timings"),
                          error=reason, artifact_path=outcome.get("artifact_path"))

    def status(self) -> dict:
        trials = self.study.trials()
        states = {state: sum(t.state == state for t in trials) for state in ("pending", "running", *FINISHED)}
        _, volumes = hypervolume_curve(trials, self.config.objectives)
        return {
            "states": states,
            "finished": sum(states[s] for s in FINISHED),
            "total": self.total_trials,
            "best": best_values(trials, self.config.objectives),
            "hypervolume": volumes[-1] if volumes else 0.0,
            "front_size": len(pareto_trials(trials, self.config.objectives)),
        }

    def run(self) -> SweepSummary:
        optimizer = build_optimizer(self.config, self.study)
        if isinstance(optimizer, GridSampler) and len(optimizer.grid) < self.total_trials:
            self.notes.append(f"the grid has {len(optimizer.grid)} points: the sweep stops there")
            self.total_trials = len(optimizer.grid)
        started = time.monotonic()
        deadline = started + self.timeout_s if self.timeout_s else math.inf
        queued = [(t.number, t.params) for t in self.study.trials(["pending"])]
        stopped_because = "budget reached"
        batch_size = self.config["run"]["batch_size"]
        try:
            with self.executor:
                while True:
                    finished_count = sum(1 for t in self.study.trials() if t.state in FINISHED)
                    running = len(self.executor.running())
                    if finished_count >= self.total_trials and not running:
                        break
                    out_of_time = time.monotonic() >= deadline
                    if out_of_time and not running:
                        stopped_because = "time budget reached"
                        break
                    free = self.executor.capacity - running
                    planned = finished_count + running + len(queued)
                    while free > 0 and queued and not out_of_time:
                        number, params = queued.pop(0)
                        self._submit(number, params)
                        free -= 1
                    wanted = min(free, self.total_trials - planned, batch_size) if not out_of_time else 0
                    if wanted > 0:
                        for trial in optimizer.ask(wanted):
                            number = self.study.add_trial(trial.params, seed=trial_seed(self.config.seed, trial.number))
                            if number != trial.number:
                                raise CodesignError(f"study and optimizer disagree on trial numbering ({number} vs {trial.number})")
                            self._submit(number, trial.params)
                    for finished in self.executor.wait(timeout=1.0):
                        self._record(optimizer, finished.key, finished.result, finished.error)
                    if self.display is not None:
                        self.display.update(self.status(), elapsed=time.monotonic() - started)
        except KeyboardInterrupt:
            stopped_because = "interrupted"
        finally:
            self.study.recover_interrupted("requeue")
        trials = self.study.trials()
        by_state = {state: sum(t.state == state for t in trials) for state in ("pending", *FINISHED)}
        return SweepSummary(self.study.path, sum(by_state[s] for s in FINISHED), by_state, stopped_because, self.notes)
