"""Trials, outcome constraints, and the ask/tell base class with its model-free samplers.

Every sampler keeps the whole history (pending, complete, infeasible, failed, pruned
trials) and proposes as a pure function of (seed, history): the RNG for the next proposal
is derived from the seed and the number of trials so far, so a study rebuilt from storage
with `add_trial` replays the same proposals.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.stats import qmc

from codesign.errors import CodesignError
from codesign.rules import Comparison, parse_constraint
from codesign.search.pareto import DIRECTIONS, is_non_dominated, to_minimization
from codesign.search.space import Space

__all__ = ["Constraint", "GridSampler", "RandomSampler", "Sampler", "SobolSampler", "Trial", "sobol_point"]

STATES = ("pending", "complete", "failed", "infeasible", "pruned")
FINISHED = ("complete", "failed", "infeasible", "pruned")


@dataclass
class Trial:
    """One evaluation: `values` holds the objectives, `metrics` any other reported numbers."""

    number: int
    params: dict
    state: str = "pending"
    values: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "params": dict(self.params),
            "state": self.state,
            "values": dict(self.values),
            "metrics": dict(self.metrics),
            "reason": self.reason,
        }


Constraint = Comparison  # an outcome constraint `metric op bound` (codesign.rules)


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


def _number(where: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise CodesignError(f"{where} = {value!r} is not a number")
    return float(value)


class Sampler:
    """The ask/tell interface every optimizer and baseline shares.

    Subclasses implement `_propose(rng, pending)` -> params for one new trial; `pending` are
    the params asked but not told yet (including earlier members of the same `ask(n)` batch).
    """

    def __init__(
        self,
        space: Space,
        objectives: Mapping[str, str],
        constraints: Sequence[str | Constraint] = (),
        seed: int = 0,
    ):
        if not isinstance(space, Space):
            raise CodesignError(f"space must be a codesign.search.space.Space, got {type(space).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise CodesignError(f"seed={seed!r} must be a non-negative integer")
        self.space = space
        self.objectives = _check_objectives(objectives)
        self.constraints = [parse_constraint(c) for c in constraints]
        self.seed = int(seed)
        self.trials: list[Trial] = []

    # --- derived views ---
    @property
    def objective_names(self) -> list[str]:
        return list(self.objectives)

    @property
    def directions(self) -> list[str]:
        return list(self.objectives.values())

    def _rng(self, salt: int = 0) -> np.random.Generator:
        """The RNG for the next proposal: a function of the seed and the history length only."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, len(self.trials), salt]))

    def trials_in(self, *states: str) -> list[Trial]:
        return [t for t in self.trials if t.state in states]

    def pareto_front(self) -> list[Trial]:
        """The complete (feasible) trials no other complete trial dominates, by number."""
        done = self.trials_in("complete")
        if not done:
            return []
        Y = np.array([[t.values[k] for k in self.objectives] for t in done])
        mask = is_non_dominated(to_minimization(Y, self.directions))
        return [t for t, keep in zip(done, mask) if keep]

    def minimization_values(self, trials: Sequence[Trial]) -> np.ndarray:
        Y = np.array([[t.values[k] for k in self.objectives] for t in trials], dtype=float)
        return to_minimization(Y.reshape(len(trials), len(self.objectives)), self.directions)

    # --- ask ---
    def ask(self, n: int | None = None) -> Trial | list[Trial]:
        """One new trial, or a list of `n` distinct ones when `n` is given."""
        if n is None:
            return self._ask_one()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise CodesignError(f"ask: n={n!r} must be a positive integer")
        return [self._ask_one() for _ in range(int(n))]

    def _ask_one(self) -> Trial:
        pending = [t.params for t in self.trials_in("pending")]
        rng = self._rng()
        params = self.space.validate(self._propose(rng, pending))
        taken = {self.space.key(t.params) for t in self.trials if t.state != "failed"}
        tries = 0
        while self.space.key(params) in taken and tries < 64:  # e.g. a small discrete space
            params = self.space.sample(rng, 1)[0]
            tries += 1
        trial = Trial(number=self._next_number(), params=params)
        self.trials.append(trial)
        return trial

    def _propose(self, rng: np.random.Generator, pending: list[dict]) -> dict:
        raise NotImplementedError

    def _next_number(self) -> int:
        return max((t.number for t in self.trials), default=-1) + 1

    # --- tell ---
    def _find(self, trial: Trial | int) -> Trial:
        number = trial.number if isinstance(trial, Trial) else trial
        for t in self.trials:
            if t.number == number:
                return t
        raise CodesignError(f"tell: trial {number!r} was not asked from this optimizer")

    def tell(
        self,
        trial: Trial | int,
        values: Mapping[str, float] | None = None,
        failed: str | None = None,
        metrics: Mapping[str, float] | None = None,
        pruned: str | None = None,
    ) -> Trial:
        """Record a result: objective `values` (plus `metrics` for constraints), or `failed="why"`,
        or `pruned="why"`. NaN/inf objectives mark the trial failed with that as the reason."""
        target = self._find(trial)
        if target.state != "pending":
            raise CodesignError(f"tell: trial {target.number} is already {target.state}")
        state, vals, mets, reason = self._outcome(values, failed, metrics, pruned)
        target.state, target.values, target.metrics, target.reason = state, vals, mets, reason
        return target

    def _outcome(self, values, failed, metrics, pruned) -> tuple[str, dict, dict, str | None]:
        """Validate a reported outcome before anything is recorded (no half-told trials)."""
        given = [x is not None for x in (values, failed, pruned)]
        if sum(given) != 1:
            raise CodesignError("tell: give exactly one of values=..., failed='reason' or pruned='reason'")
        mets: dict[str, float] = {}
        if metrics is not None:
            if not isinstance(metrics, Mapping):
                raise CodesignError(f"tell: metrics must be a dict, got {type(metrics).__name__}")
            for key, value in metrics.items():
                if key in self.objectives:
                    raise CodesignError(f"tell: metric {key!r} is an objective; report it in values")
                mets[str(key)] = _number(f"tell: metric {key!r}", value)
        if failed is not None:
            return "failed", {}, mets, str(failed)
        if pruned is not None:
            return "pruned", {}, mets, str(pruned)
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
            vals[key] = _number(f"tell: objective {key!r}", values[key])
        bad = [k for k, v in vals.items() if not math.isfinite(v)]
        if bad:
            return "failed", vals, mets, f"objective {bad[0]!r} is {vals[bad[0]]}"
        seen = {**vals, **mets}
        for c in self.constraints:
            if c.metric not in seen:
                raise CodesignError(f"tell: constraint '{c}' needs {c.metric!r}, which was not reported")
            if not math.isfinite(seen[c.metric]):
                return "failed", vals, mets, f"metric {c.metric!r} is {seen[c.metric]}"
        violated = [str(c) for c in self.constraints if not c.satisfied(seen[c.metric])]
        if violated:
            return "infeasible", vals, mets, "violates " + ", ".join(violated)
        return "complete", vals, mets, None

    def add_trial(
        self,
        params: Mapping[str, Any],
        values: Mapping[str, float] | None = None,
        state: str | None = None,
        metrics: Mapping[str, float] | None = None,
        reason: str | None = None,
        number: int | None = None,
    ) -> Trial:
        """Record a trial without asking (e.g. replayed from storage on resume).

        `state=None` means "complete" when values are given and "pending" otherwise. Values are
        re-checked against the constraints and for NaN, so "complete" may become "infeasible"
        or "failed"; an explicit "infeasible" is kept."""
        if state is not None and state not in STATES:
            raise CodesignError(f"add_trial: state {state!r} is not one of {STATES}")
        params = self.space.validate(params)
        if number is None:
            number = self._next_number()
        elif isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 0:
            raise CodesignError(f"add_trial: number={number!r} must be a non-negative integer")
        elif any(t.number == number for t in self.trials):
            raise CodesignError(f"add_trial: trial number {number} already exists")
        if state is None:
            state = "complete" if values is not None else "pending"
        if state == "pending":
            if values is not None:
                raise CodesignError("add_trial: a pending trial cannot have values")
            trial = Trial(int(number), params, "pending", {}, dict(metrics or {}), reason)
        elif state in ("failed", "pruned"):
            _, vals, mets, _ = self._outcome(None, reason or state, metrics, None)
            if values is not None:
                vals = {k: _number(f"add_trial: value {k!r}", v) for k, v in values.items()}
            trial = Trial(int(number), params, state, vals, mets, reason or state)
        else:
            if values is None:
                raise CodesignError(f"add_trial: a {state} trial needs values")
            checked, vals, mets, why = self._outcome(values, None, metrics, None)
            if state == "infeasible" and checked == "complete":  # judged infeasible elsewhere: keep it
                checked, why = "infeasible", reason or "infeasible"
            trial = Trial(int(number), params, checked, vals, mets, reason if checked == state and reason else why)
        self.trials.append(trial)
        return trial


class RandomSampler(Sampler):
    """Independent uniform draws (log-uniform on log dimensions)."""

    def _propose(self, rng, pending):
        return self.space.sample(rng, 1)[0]


class SobolSampler(Sampler):
    """Trial i is point i of one scrambled Sobol sequence fixed by the seed: even coverage,
    and a rebuilt sampler continues the same sequence."""

    def _propose(self, rng, pending):
        return self.space.from_cube(sobol_point(self.space.cube_dim, self.seed, len(self.trials)))


def sobol_point(dim: int, seed: int, index: int) -> np.ndarray:
    """Point `index` of the scrambled Sobol sequence for (dim, seed)."""
    engine = qmc.Sobol(dim, scramble=True, seed=np.random.default_rng([seed, 0x50B01]))
    if index:
        engine.fast_forward(index)
    return engine.random(1)[0]


class GridSampler(Sampler):
    """The space's full grid, visited in order; asking past its end is an error."""

    def __init__(self, space, objectives, constraints=(), seed=0, points_per_dim: int | Mapping[str, int] = 5):
        super().__init__(space, objectives, constraints, seed)
        self.grid = space.grid(points_per_dim)

    def _propose(self, rng, pending):
        taken = {self.space.key(t.params) for t in self.trials}
        for params in self.grid:
            if self.space.key(params) not in taken:
                return params
        raise CodesignError(f"GridSampler: all {len(self.grid)} grid points have been asked")
