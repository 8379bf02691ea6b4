"""The sweep driver: ask the sampler, run trials on an executor, record every result in the study.

The study file is the single source of truth, and the sampler reads its history from it. On
start the driver re-queues trials a killed sweep left running and puts the configured sampler
over the study (proposals are a function of seed and history, so a resumed sweep proposes
what an uninterrupted one would), then runs until the study holds the budgeted number of
finished trials. Only this process writes the study; workers return plain dicts.

Trials run in worker processes (a pool of long-lived ones unless an executor or a Dask
scheduler is given), and the driver proposes while they run: it keeps PROPOSE_AHEAD trials
proposed and waiting (pending in the study, so later proposals treat them, like the running
ones, as fantasies) beyond the running ones, so a freed worker starts its next trial at once.
With one worker this is deterministic: trial k + 2 is proposed from trials 0..k finished and
k + 1 running. With several, what a proposal sees depends on which trials finished first.

With `run.repeats = k` > 1 (noisy objectives: accuracy moves with the training seed), every
configuration on the Pareto front gets k runs in all: when a trial finishes, each front
configuration with fewer runs is queued again (same params; a new trial number, hence a new
seed), ahead of new proposals and within the trial budget. A repeat records the metric
`repeat_of` (its first run's number; the link is kept in the study note REPEATS_NOTE from the
moment it is queued, so a resumed sweep keeps it); the front, `pareto`, `export` and the report
use the mean of a configuration's runs (`codesign.study.results.combine_repeats`), and the
optimizer sees every run (its GPs fit the observation noise).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from codesign.config import SweepConfig
from codesign.errors import CodesignError
from codesign.run.executors import Executor, make_executor
from codesign.run.pipeline import run_trial
from codesign.run.search_space import sampler_for
from codesign.search.samplers import GridSampler, Sampler
from codesign.study.results import REPEAT_OF, best_values, hypervolume_curve, pareto_trials
from codesign.study.storage import Study
from codesign.study.trial import COMPLETE, FINISHED, INFEASIBLE, PENDING, PRUNED, STATES, Trial

PROPOSE_AHEAD = 1  # trials proposed and waiting for a free worker, beyond the running ones
REPEATS_NOTE = "repeat_of"  # study note: {repeat trial number: the number of the run it repeats}


@dataclass
class SweepSummary:
    study_path: Path
    finished: int
    by_state: dict
    stopped_because: str
    notes: list[str] = field(default_factory=list)
    wall_s: float = 0.0  # this run of the driver, start to end
    trial_s: float = 0.0  # the trials this run finished: the sum of their own run times


class SweepRunner:
    """Runs one sweep; `run()` returns when the budget is spent, time is up, or the user interrupts."""

    def __init__(self, config: SweepConfig, study_path: str | Path, *, trials: int | None = None,
                 timeout_s: float | None = None, workers: int | None = None, scheduler: str | None = None,
                 force_new: bool = False, executor: Executor | None = None, display=None):
        self.config = config
        budget = config["budget"]
        self.total_trials = trials if trials is not None else budget["trials"]
        if self.total_trials < 1:
            raise CodesignError(f"a sweep needs a budget of at least 1 trial, got {self.total_trials}")
        self.timeout_s = timeout_s if timeout_s is not None else budget["timeout_s"]
        run = config["run"]
        # the executor first: a scheduler that cannot be reached must not leave a new study file behind
        self.executor = executor or make_executor(
            workers=workers if workers is not None else run["workers"],
            scheduler=scheduler if scheduler is not None else (run["scheduler"] or None),
            pool=True,
        )
        try:
            self.study = Study.open_or_create(study_path, config=config.data, seed=config.seed,
                                              name=config["study"]["name"], force_new=force_new)
        except BaseException:
            self.executor.shutdown(cancel=True)
            raise
        self.display = display
        self.notes = [f"re-queued trial {n}: the previous sweep stopped while it ran"
                      for n in self.study.recover_interrupted("requeue")]

    def _payload(self, trial: Trial) -> dict:
        return {
            "number": trial.number,
            "params": trial.params,
            "config": self.config.data,
            "seed": trial.seed,
            "artifact_dir": str(self.study.artifact_dir),
            "prune_below": self._prune_threshold(),
        }

    def _prune_threshold(self) -> float | None:
        fraction = self.config["run"]["prune_below_front"]
        if not fraction or "accuracy" not in self.config.objectives:
            return None
        best = best_values(self.study.trials([COMPLETE]), self.config.objectives).get("accuracy")
        return None if best is None else fraction * best

    def _submit(self, trial: Trial) -> None:
        self.study.mark_running(trial.number)
        self.executor.submit(trial.number, run_trial, self._payload(trial))

    def _repeat_links(self) -> dict[int, int]:
        return {int(repeat): int(origin) for repeat, origin in (self.study.get_note(REPEATS_NOTE) or {}).items()}

    def _queue_repeats(self, queued: list[Trial]) -> None:
        """`run.repeats` = k: each configuration on the front (at its runs' mean) that has fewer than
        k runs, finished or queued, is queued again, as far as the trial budget allows."""
        wanted_runs = self.config["run"].get("repeats", 1)
        if wanted_runs < 2:
            return
        trials = self.study.trials()
        room = self.total_trials - len(trials)
        if room <= 0:
            return
        links = self._repeat_links()
        runs: dict[int, int] = {}
        for origin in links.values():
            runs[origin] = runs.get(origin, 0) + 1
        added = False
        for trial in sorted(pareto_trials(trials, self.config.objectives), key=lambda t: t.number):
            for _ in range(wanted_runs - 1 - runs.get(trial.number, 0)):
                if room <= 0:
                    break
                number = self.study.add_trial(dict(trial.params))
                links[number] = trial.number
                queued.append(self.study.trial(number))
                room -= 1
                added = True
        if added:
            self.study.set_note(REPEATS_NOTE, {str(k): v for k, v in links.items()})

    @staticmethod
    def _record(sampler: Sampler, number: int, outcome: dict | None, error: str | None,
                repeat_of: int | None = None) -> None:
        """Tell the sampler (it judges constraints and NaN, and finishes the trial in the study)."""
        if outcome is None:
            outcome = {"state": "failed", "error": error or "unknown worker failure"}
        state, reason = outcome["state"], outcome.get("error")
        kept = {key: outcome.get(key) for key in ("metrics", "counts", "timings", "artifact_path")}
        if repeat_of is not None:
            kept["metrics"] = {**(kept["metrics"] or {}), REPEAT_OF: repeat_of}
        if state == COMPLETE:
            sampler.tell(number, outcome["values"], **kept)
        elif state in (PRUNED, INFEASIBLE):
            sampler.tell(number, **{state: reason or state}, **kept)
        else:
            sampler.tell(number, failed=reason or state, **kept)

    def status(self) -> dict:
        trials = self.study.trials()
        states = dict.fromkeys(STATES, 0)
        for t in trials:
            states[t.state] += 1
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
        sampler = sampler_for(self.config, self.study)
        if isinstance(sampler, GridSampler) and len(sampler.grid) < self.total_trials:
            self.notes.append(f"the grid has {len(sampler.grid)} points: the sweep stops there")
            self.total_trials = len(sampler.grid)
        started = time.monotonic()
        deadline = started + self.timeout_s if self.timeout_s else math.inf
        queued = self.study.trials([PENDING])  # proposed (here or by a stopped sweep), not started
        stopped_because = "budget reached"
        batch_size = self.config["run"]["batch_size"]
        trial_s = 0.0
        try:
            with self.executor:
                while True:
                    counts = self.study.counts_by_state()
                    finished_count = sum(counts[s] for s in FINISHED)
                    running = len(self.executor.running())
                    if finished_count >= self.total_trials and not running:
                        break
                    out_of_time = time.monotonic() >= deadline
                    if out_of_time and not running:
                        stopped_because = "time budget reached"
                        break
                    free = self.executor.capacity - running
                    while free > 0 and queued and not out_of_time:
                        self._submit(queued.pop(0))
                        free -= 1
                    planned = finished_count + self.executor.capacity - free + len(queued)
                    wanted = min(free + PROPOSE_AHEAD - len(queued), self.total_trials - planned, batch_size)
                    if wanted > 0 and not out_of_time:
                        queued.extend(sampler.ask(wanted))  # recorded in the study as pending
                        continue  # start them, or propose the next, before waiting
                    for finished in self.executor.wait(timeout=1.0):
                        self._record(sampler, finished.key, finished.result, finished.error,
                                     self._repeat_links().get(finished.key))
                        trial_s += ((finished.result or {}).get("timings") or {}).get("total_s") or 0.0
                        self._queue_repeats(queued)
                    if self.display is not None:
                        self.display.update(self.status(), elapsed=time.monotonic() - started)
        except KeyboardInterrupt:
            stopped_because = "interrupted"
        finally:
            self.study.recover_interrupted("requeue")
        counts = self.study.counts_by_state()
        by_state = {state: counts[state] for state in (PENDING, *FINISHED)}
        return SweepSummary(self.study.path, sum(by_state[s] for s in FINISHED), by_state, stopped_because, self.notes,
                            wall_s=time.monotonic() - started, trial_s=trial_s)
