"""The ask/tell base class, outcome validation, and the model-free samplers.

A sampler proposes from the study it is given (Optuna's shape): `ask` records the new trial in
the study, `tell` judges the outcome (constraints, NaN) and finishes it there, and the history
every proposal reads is the study's trials. So a sampler built on a stored study continues
it, and without a study it keeps one in memory. Proposals are a pure function of (seed,
history): the RNG for the next one is derived from the seed and the number of trials so far.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import qmc

from codesign.errors import CodesignError
from codesign.rules import Comparison, parse_constraint
from codesign.search.pareto import DIRECTIONS, is_non_dominated, to_minimization
from codesign.search.space import Space
from codesign.study.base import StudyStorage
from codesign.study.codec import to_json
from codesign.study.memory import InMemoryStudy
from codesign.study.trial import (
    COMPLETE,
    FAILED,
    INFEASIBLE,
    PENDING,
    PRUNED,
    STATES,
    UNFINISHED,
    Trial,
)

__all__ = [
    "Constraint", "GridSampler", "History", "RandomSampler", "Sampler", "SobolSampler", "Trial", "checked_number",
    "sobol_point",
]

Constraint = Comparison  # an outcome constraint `metric op bound` (codesign.rules)


def checked_number(where: str, value: Any) -> float:
    """`value` as a float, or an error naming `where` when it is not a real number (bools are not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise CodesignError(f"{where} = {value!r} is not a number")
    return float(value)


def _check_objectives(objectives: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(objectives, Mapping) or not objectives:
        raise CodesignError("objectives must be a non-empty dict name -> 'minimize' | 'maximize'")
    out = {}
    for name, direction in objectives.items():
        if not isinstance(name, str) or not name:
            raise CodesignError(f"objective name {name!r} must be a non-empty string")
        if direction not in DIRECTIONS:
            raise CodesignError(f"objective {name!r}: direction {direction!r} is not one of {DIRECTIONS}")
        out[name] = direction
    return out


def _measured(trial: Trial, objectives: Sequence[str]) -> bool:
    """Every objective has a finite number: the trial can teach an objective model."""
    values = trial.values or {}
    return all(
        name in values and isinstance(values[name], numbers.Real) and not isinstance(values[name], bool)
        and math.isfinite(values[name])
        for name in objectives
    )


@dataclass(frozen=True)
class History:
    """A study's trials as a sampler reads them for one proposal (each list by number).

    `observed`: complete or infeasible with every objective measured (both teach the objective
    models); `feasible`: the complete ones among them; `failures`: failed trials and finished
    ones without objective values (e.g. a candidate that did not fit the chip), which teach
    where not to go; `pending`: asked but not told (pending or running). Pruned trials are
    in `trials` only.
    """

    trials: list[Trial]
    observed: list[Trial]
    feasible: list[Trial]
    failures: list[Trial]
    pending: list[Trial]

    @classmethod
    def of(cls, trials: Sequence[Trial], objectives: Sequence[str]) -> "History":
        trials = list(trials)
        observed = [t for t in trials if t.state in (COMPLETE, INFEASIBLE) and _measured(t, objectives)]
        measured = {t.number for t in observed}
        failures = [t for t in trials if t.state == FAILED
                    or (t.state in (COMPLETE, INFEASIBLE) and t.number not in measured)]
        return cls(
            trials=trials,
            observed=observed,
            feasible=[t for t in observed if t.state == COMPLETE],
            failures=failures,
            pending=[t for t in trials if t.state in UNFINISHED],
        )


class Sampler:
    """The ask/tell interface every optimizer and baseline shares, over a study.

    `study`: where the trials live (a SQLite study to continue, or a new in-memory one when
    None); `seed`: the proposals' seed (default: the study's). Subclasses implement
    `_propose(rng, history)` -> params for one new trial; the history's pending trials
    include earlier members of the same `ask(n)` batch.
    """

    def __init__(
        self,
        space: Space,
        objectives: Mapping[str, str],
        constraints: Sequence[str | Constraint] = (),
        seed: int | None = None,
        study: StudyStorage | None = None,
    ):
        if not isinstance(space, Space):
            raise CodesignError(f"space must be a codesign.search.space.Space, got {type(space).__name__}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise CodesignError(f"seed={seed!r} must be a non-negative integer")
        if study is not None and not isinstance(study, StudyStorage):
            raise CodesignError(f"study must be a codesign.study study (SQLite or in memory), got {type(study).__name__}")
        self.space = space
        self.objectives = _check_objectives(objectives)
        self.constraints = [parse_constraint(c) for c in constraints]
        if study is None:
            study = InMemoryStudy(seed=0 if seed is None else int(seed))
        self.study = study
        self.seed = study.seed if seed is None else int(seed)

    # --- derived views ---
    @property
    def objective_names(self) -> list[str]:
        return list(self.objectives)

    @property
    def directions(self) -> list[str]:
        return list(self.objectives.values())

    @property
    def trials(self) -> list[Trial]:
        """Every trial of the study, by number."""
        return self.study.trials()

    def trials_in(self, *states: str) -> list[Trial]:
        return self.study.trials(states)

    def history(self) -> History:
        return History.of(self.study.trials(), self.objective_names)

    def _rng(self, history: History, salt: int = 0) -> np.random.Generator:
        """The RNG for the next proposal: a function of the seed and the history length only."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, len(history.trials), salt]))

    def pareto_front(self) -> list[Trial]:
        """The complete (feasible) trials no other complete trial dominates, by number."""
        done = self.history().feasible
        if not done:
            return []
        mask = is_non_dominated(self.minimization_values(done))
        return [t for t, keep in zip(done, mask) if keep]

    def minimization_values(self, trials: Sequence[Trial]) -> np.ndarray:
        Y = np.array([[t.values[k] for k in self.objectives] for t in trials], dtype=float)
        return to_minimization(Y.reshape(len(trials), len(self.objectives)), self.directions)

    # --- ask ---
    def ask(self, n: int | None = None) -> Trial | list[Trial]:
        """One new trial, or a list of `n` distinct ones when `n` is given; each is recorded
        in the study as pending."""
        if n is None:
            return self._ask_one()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise CodesignError(f"ask: n={n!r} must be a positive integer")
        return [self._ask_one() for _ in range(int(n))]

    def _ask_one(self) -> Trial:
        history = self.history()
        rng = self._rng(history)
        params = self.space.validate(self._propose(rng, history))
        failures = {t.number for t in history.failures}
        # a study's params were validated when recorded, so their JSON is already canonical
        taken = {json.dumps(t.params, sort_keys=True) for t in history.trials if t.number not in failures}
        tries = 0
        while self.space.key(params) in taken and tries < 64:  # e.g. a small discrete space
            params = self.space.sample(rng, 1)[0]
            tries += 1
        return self.study.trial(self.study.add_trial(params))

    def _propose(self, rng: np.random.Generator, history: History) -> dict:
        raise NotImplementedError

    # --- tell ---
    def _find(self, trial: Trial | int) -> Trial:
        number = trial.number if isinstance(trial, Trial) else trial
        if isinstance(number, bool) or not isinstance(number, numbers.Integral):
            raise CodesignError(f"tell: {trial!r} is neither a trial nor a trial number")
        try:
            return self.study.trial(int(number))
        except CodesignError:
            raise CodesignError(f"tell: trial {number!r} was not asked from this optimizer's study") from None

    def tell(
        self,
        trial: Trial | int,
        values: Mapping[str, float] | None = None,
        failed: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        pruned: str | None = None,
        *,
        infeasible: str | None = None,
        counts: dict | None = None,
        timings: Mapping[str, float] | None = None,
        artifact_path: str | None = None,
    ) -> Trial:
        """Record a result in the study: objective `values` (with `metrics`, the numbers constraints
        read among them), or `failed="why"`, `pruned="why"` or `infeasible="why"` (judged
        infeasible without measuring the objectives). NaN/inf objectives mark the trial failed
        with that as the reason. `counts`, `timings` and `artifact_path` are kept with it.
        Returns the finished trial."""
        target = self._find(trial)
        if target.state not in UNFINISHED:
            raise CodesignError(f"tell: trial {target.number} is already {target.state}")
        state, vals, mets, reason = self._outcome(values, failed, metrics, pruned, infeasible)
        return self.study.finish(target.number, state, values=vals, metrics=mets, counts=counts, timings=timings,
                                 reason=reason, artifact_path=artifact_path)

    def _outcome(self, values, failed, metrics, pruned, infeasible=None) -> tuple[str, dict, dict, str | None]:
        """Validate a reported outcome before anything is recorded (no half-told trials).
        Objective values are kept only for trials that measured them (complete, infeasible)."""
        verdicts = {FAILED: failed, PRUNED: pruned, INFEASIBLE: infeasible}
        if (values is not None) + sum(why is not None for why in verdicts.values()) != 1:
            raise CodesignError(
                "tell: give exactly one of values=..., failed='reason', pruned='reason' or infeasible='reason'")
        if metrics is not None and not isinstance(metrics, Mapping):
            raise CodesignError(f"tell: metrics must be a dict, got {type(metrics).__name__}")
        mets = {str(key): value for key, value in (metrics or {}).items()}
        for state, why in verdicts.items():
            if why is not None:
                return state, {}, mets, str(why)
        if not isinstance(values, Mapping):
            raise CodesignError(f"tell: values must be a dict objective -> number, got {type(values).__name__}")
        for key in values:
            if key not in self.objectives:
                raise CodesignError(
                    f"tell: {key!r} is not an objective (objectives: {self.objective_names}); pass other numbers as metrics="
                )
        vals = {}
        for key in self.objectives:
            if key not in values:
                raise CodesignError(f"tell: objective {key!r} is missing from values")
            vals[key] = checked_number(f"tell: objective {key!r}", values[key])
        bad = [k for k, v in vals.items() if not math.isfinite(v)]
        if bad:
            return FAILED, {}, mets, f"objective {bad[0]!r} is {vals[bad[0]]}"
        seen = {**mets, **vals}  # a constraint on an objective reads its value
        judged = {}
        for c in self.constraints:
            if c.metric not in seen:
                raise CodesignError(f"tell: constraint '{c}' needs {c.metric!r}, which was not reported")
            judged[c.metric] = checked_number(f"tell: metric {c.metric!r}", seen[c.metric])
            if not math.isfinite(judged[c.metric]):
                return FAILED, {}, mets, f"metric {c.metric!r} is {judged[c.metric]}"
        violated = [str(c) for c in self.constraints if not c.satisfied(judged[c.metric])]
        if violated:
            return INFEASIBLE, vals, mets, "violates " + ", ".join(violated)
        return COMPLETE, vals, mets, None

    def add_trial(
        self,
        params: Mapping[str, Any],
        values: Mapping[str, float] | None = None,
        state: str | None = None,
        metrics: Mapping[str, Any] | None = None,
        reason: str | None = None,
        number: int | None = None,
    ) -> Trial:
        """Record a trial without asking (e.g. one evaluated elsewhere).

        `state=None` means "complete" when values are given and "pending" otherwise. Values are
        re-checked against the constraints and for NaN, so "complete" may become "infeasible"
        or "failed"; an explicit "infeasible" is kept."""
        if state is not None and state not in STATES:
            raise CodesignError(f"add_trial: state {state!r} is not one of {STATES}")
        params = self.space.validate(params)
        if number is not None and (isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 0):
            raise CodesignError(f"add_trial: number={number!r} must be a non-negative integer")
        if state is None:
            state = COMPLETE if values is not None else PENDING
        outcome = None
        if state in UNFINISHED:
            if values is not None or metrics is not None or reason is not None:
                raise CodesignError(f"add_trial: a {state} trial has no outcome yet (no values, metrics or reason)")
        elif state in (FAILED, PRUNED) or (state == INFEASIBLE and values is None):
            _, _, mets, _ = self._outcome(None, reason or state, metrics, None)
            vals = {k: checked_number(f"add_trial: value {k!r}", v) for k, v in (values or {}).items()}
            outcome = (state, vals, mets, reason or state)
        else:
            if values is None:
                raise CodesignError(f"add_trial: a {state} trial needs values")
            checked, vals, mets, why = self._outcome(values, None, metrics, None)
            if state == INFEASIBLE and checked == COMPLETE:  # judged infeasible elsewhere: keep it
                checked, why = INFEASIBLE, reason or INFEASIBLE
            outcome = (checked, vals, mets, reason if checked == state and reason else why)
        if outcome is not None:
            to_json(outcome[2], "add_trial: metrics")  # refuse before anything is written
        number = self.study.add_trial(params, state=state if state in UNFINISHED else PENDING, number=number)
        if outcome is None:
            return self.study.trial(number)
        checked, vals, mets, why = outcome
        return self.study.finish(number, checked, values=vals, metrics=mets, reason=why)


class RandomSampler(Sampler):
    """Independent uniform draws (log-uniform on log dimensions)."""

    def _propose(self, rng, history):
        return self.space.sample(rng, 1)[0]


class SobolSampler(Sampler):
    """Trial i is point i of one scrambled Sobol sequence fixed by the seed: even coverage,
    and a sampler on a resumed study continues the same sequence."""

    def _propose(self, rng, history):
        return self.space.from_cube(sobol_point(self.space.cube_dim, self.seed, len(history.trials)))


def sobol_point(dim: int, seed: int, index: int) -> np.ndarray:
    """Point `index` of the scrambled Sobol sequence for (dim, seed)."""
    engine = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng([seed, 0x50B01]))
    if index:
        engine.fast_forward(index)
    return engine.random(1)[0]


class GridSampler(Sampler):
    """The space's full grid, visited in order; asking past its end is an error."""

    def __init__(self, space, objectives, constraints=(), seed=None, points_per_dim: int | Mapping[str, int] = 5,
                 study: StudyStorage | None = None):
        super().__init__(space, objectives, constraints, seed, study)
        self.grid = space.grid(points_per_dim)

    def _propose(self, rng, history):
        taken = {self.space.key(t.params) for t in history.trials}
        for params in self.grid:
            if self.space.key(params) not in taken:
                return params
        raise CodesignError(f"GridSampler: all {len(self.grid)} grid points have been asked")
