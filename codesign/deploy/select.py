"""Picking the trial to deploy: by number, or by a rule applied to the study's Pareto front.

Ties always go to the lower trial number.

- ``max-accuracy`` / ``min-energy``: the front trial with the highest ``accuracy`` / lowest
  ``energy_per_inference_uj``.
- ``knee``: the front trial closest (Euclidean) to the ideal point after scaling every
  objective over the front to [0, 1] with 0 its best value and 1 its worst; an objective
  that is equal on the whole front contributes 0. A balanced compromise, unit-free.
- an outcome rule, ``METRIC OP NUMBER [and METRIC OP NUMBER ...]`` in the grammar of
  `codesign.rules` (OP one of ``<= >= < > == !=``, METRIC an objective or a key of the
  trials' metrics): the knee of the Pareto front of the complete trials that satisfy it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.errors import CodesignError
from codesign.rules import Comparison, metric_value, parse_conjunction


def known_metrics(trials, objectives) -> list[str]:
    names = set(objectives)
    for trial in trials:
        for source in (trial.values or {}, trial.metrics or {}):
            names.update(k for k, v in source.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    return sorted(names)


def parse_rule(text: str, metrics) -> list[Comparison]:
    """`METRIC OP NUMBER (and METRIC OP NUMBER)*` -> comparisons (the grammar of codesign.rules)."""
    return parse_conjunction(text, metrics)


def knee(front, objectives: dict[str, str]):
    """The front trial nearest the ideal point in objectives scaled to [0, 1] over the front (see module doc)."""
    from codesign.search.pareto import to_minimization
    from codesign.study.results import objective_matrix

    values = to_minimization(objective_matrix(front, objectives), list(objectives.values()))
    low, high = values.min(axis=0), values.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    distance = np.sqrt((((values - low) / span) ** 2).sum(axis=1))
    return min(zip(distance, (t.number for t in front), front), key=lambda row: (row[0], row[1]))[2]


@dataclass(frozen=True)
class Selection:
    trial: object
    rule: str
    reason: str


def select_trial(study, *, trial: int | None = None, pick: str | None = None) -> Selection:
    """The trial numbered `trial`, or the one the rule `pick` chooses (default: knee); CodesignError when nothing fits."""
    from codesign.study.results import complete_trials, misfit_params, pareto_trials, study_objectives

    objectives = study_objectives(study)
    if trial is not None:
        chosen = study.trial(trial)
        if chosen.state != "complete":
            why = f" ({chosen.error.splitlines()[0]})" if chosen.error else ""
            raise CodesignError(f"trial {trial} of {study.path} is {chosen.state}{why}: only complete trials can be exported")
        for problem in misfit_params(study, [chosen]).values():
            raise CodesignError(f"{study.path}: {problem}")
        return Selection(chosen, f"trial {trial}", f"trial {trial} as asked")
    trials = study.trials()
    misfits = misfit_params(study, trials)  # damaged rows cannot be exported, so they are not candidates
    trials = [t for t in trials if t.number not in misfits]
    done = complete_trials(trials, objectives)
    if not done:
        raise CodesignError(f"study {study.path} has no complete trials, so its Pareto front is empty and there is nothing to export")
    rule = (pick or "knee").strip()
    front = pareto_trials(trials, objectives)
    if rule in ("max-accuracy", "min-energy"):
        metric, sign = ("accuracy", -1.0) if rule == "max-accuracy" else ("energy_per_inference_uj", 1.0)
        scored = [(sign * metric_value(t, metric), t.number, t) for t in front if metric_value(t, metric) is not None]
        if not scored:
            raise CodesignError(f"rule {rule}: no trial on the front of {study.path} reports {metric!r} (objectives: {', '.join(objectives)})")
        chosen = min(scored, key=lambda row: row[:2])[2]
        return Selection(chosen, rule, f"{rule}: {metric} = {metric_value(chosen, metric):.6g} on a front of {len(front)}")
    if rule == "knee":
        chosen = knee(front, objectives)
        return Selection(chosen, rule, f"knee of a front of {len(front)} trials")
    conditions = parse_rule(rule, known_metrics(done, objectives))
    matching = [t for t in done if all(c.holds(t) for c in conditions)]
    if not matching:
        raise CodesignError(_no_match_message(rule, conditions, done))
    sub_front = pareto_trials(matching, objectives)
    chosen = knee(sub_front, objectives)
    return Selection(chosen, rule, f"{len(matching)} of {len(done)} complete trials satisfy {rule!r}; knee of their front of {len(sub_front)}")


def _no_match_message(rule: str, conditions: list[Comparison], done) -> str:
    """Name the closest trials: summed shortfalls, each scaled by the metric's spread over the study."""
    scales = {}
    for c in conditions:
        column = [v for v in (metric_value(t, c.metric) for t in done) if v is not None]
        spread = (max(column) - min(column)) if column else 0.0
        scales[c.metric] = spread or (abs(c.bound) or 1.0)
    scored = sorted(((sum(c.shortfall(t) / scales[c.metric] for c in conditions), t.number, t) for t in done),
                    key=lambda row: row[:2])
    closest = []
    for _, number, trial in scored[:3]:
        shown = ", ".join(f"{c.metric}={_fmt(metric_value(trial, c.metric))}" for c in conditions)
        closest.append(f"trial {number} ({shown})")
    return f"rule {rule!r} matches none of the {len(done)} complete trials; closest: " + "; ".join(closest)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.6g}"
