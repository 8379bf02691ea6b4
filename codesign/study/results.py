"""What a study's trials add up to: the Pareto front, hypervolume over time, best values.

Shared by the sweep's progress display, `codesign status/pareto`, the report and export, so
that they all agree on which trials are on the front.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from codesign.errors import CodesignError
from codesign.search.pareto import hypervolume, is_non_dominated, reference_point, to_minimization
from codesign.study.trial import COMPLETE, FINISHED


def complete_trials(trials: Sequence, objectives: dict[str, str]) -> list:
    """Complete trials that report every objective (feasible by construction: infeasible is its own state)."""
    return [t for t in trials if t.state == COMPLETE and all(name in (t.values or {}) for name in objectives)]


def objective_matrix(trials: Sequence, objectives: dict[str, str]) -> np.ndarray:
    return np.array([[float(t.values[name]) for name in objectives] for t in trials], dtype=float).reshape(
        len(trials), len(objectives)
    )


REPEAT_OF = "repeat_of"  # the metric a repeat run records: the number of the trial whose configuration it re-ran


def combine_repeats(trials: Sequence, objectives: dict[str, str] | None = None) -> list:
    """The trials with their repeat runs (`run.repeats`: a repeat's metric REPEAT_OF names the first
    run) folded into the first run: its number, params and artifact, objective values the mean over
    the complete runs, and metrics "repeats" (runs averaged), "repeat_numbers", and "values_std"
    (sample standard deviation), "values_min", "values_max" per objective. Only repeats of a
    complete trial in `trials` are folded; everything else comes back as it is."""
    from dataclasses import replace

    complete = {t.number for t in trials if t.state == COMPLETE}

    def origin(t):
        number = (t.metrics or {}).get(REPEAT_OF)
        ok = isinstance(number, int) and not isinstance(number, bool) and number in complete and number != t.number
        return number if ok else None

    runs: dict[int, list] = {}
    for t in trials:
        if origin(t) is not None:
            runs.setdefault(origin(t), []).append(t)
    if not runs:
        return list(trials)
    out = []
    for t in trials:
        if origin(t) is not None:
            continue
        group = [t] + [r for r in runs.get(t.number, []) if r.state == COMPLETE]
        names = [n for n in (objectives or t.values) if all(n in (r.values or {}) for r in group)]
        if len(group) < 2 or not names:
            out.append(t)
            continue
        table = np.array([[float(r.values[n]) for n in names] for r in group])
        spread = {"repeats": len(group), "repeat_numbers": [r.number for r in group],
                  "values_std": dict(zip(names, table.std(axis=0, ddof=1).tolist())),
                  "values_min": dict(zip(names, table.min(axis=0).tolist())),
                  "values_max": dict(zip(names, table.max(axis=0).tolist()))}
        out.append(replace(t, values={**t.values, **dict(zip(names, table.mean(axis=0).tolist()))},
                           metrics={**(t.metrics or {}), **spread}))
    return out


def pareto_trials(trials: Sequence, objectives: dict[str, str]) -> list:
    """The front of the complete trials, repeated configurations at their mean (`combine_repeats`)."""
    done = complete_trials(combine_repeats(trials, objectives), objectives)
    if not done:
        return []
    mask = is_non_dominated(to_minimization(objective_matrix(done, objectives), list(objectives.values())))
    return [trial for trial, keep in zip(done, mask) if keep]


def hypervolume_curve(trials: Sequence, objectives: dict[str, str]) -> tuple[list[int], list[float]]:
    """Hypervolume of the front after each finished trial (by trial number), against one reference
    point computed from all complete trials (nadir plus a margin), so the curve is comparable along
    the study. Empty when nothing is complete."""
    done = complete_trials(trials, objectives)
    if not done:
        return [], []
    directions = list(objectives.values())
    values = to_minimization(objective_matrix(done, objectives), directions)
    reference = reference_point(values)
    finished = sorted((t for t in trials if t.state in FINISHED), key=lambda t: t.number)
    position = {t.number: index for index, t in enumerate(done)}
    numbers, volumes, seen = [], [], []
    for trial in finished:
        if trial.number in position:
            seen.append(position[trial.number])
        numbers.append(trial.number)
        volumes.append(float(hypervolume(values[seen], reference)) if seen else 0.0)
    return numbers, volumes


def best_values(trials: Sequence, objectives: dict[str, str]) -> dict[str, float]:
    done = complete_trials(trials, objectives)
    best = {}
    for name, direction in objectives.items():
        column = [float(t.values[name]) for t in done]
        if column:
            best[name] = max(column) if direction == "maximize" else min(column)
    return best


def varying_params(trials: Sequence) -> list[str]:
    """Parameter names whose values differ between `trials` (what is worth showing in a table)."""
    names = dict.fromkeys(name for t in trials for name in t.params)
    return [name for name in names if len({repr(t.params.get(name)) for t in trials}) > 1]


def format_params(params: dict, names: Sequence[str]) -> str:
    return ", ".join(f"{name}={params[name]:.3g}" if isinstance(params[name], float) else f"{name}={params[name]}"
                     for name in names if name in params)


def study_objectives(study) -> dict[str, str]:
    """The objectives a study was run with (name -> "maximize"/"minimize"), from its stored config;
    a damaged stored config is reported with the study's file and the field."""
    from codesign.config import DIRECTIONS

    objectives = study.config.get("objectives") if isinstance(study.config, dict) else None
    if (not isinstance(objectives, dict) or not objectives
            or not all(isinstance(name, str) and direction in DIRECTIONS for name, direction in objectives.items())):
        raise CodesignError(f"study {study.where}: its stored config is damaged: 'objectives' must map metric names "
                            f"to \"maximize\" or \"minimize\", found {objectives!r}"[:400])
    return dict(objectives)


def misfit_params(study, trials: Sequence) -> dict[int, str]:
    """Trials whose stored params the study's own search space refuses (a damaged or hand-edited
    row), each with why; the optimizer, the report's importance and export read only the rest."""
    from codesign.config import parse_config
    from codesign.run.search_space import build_space

    space = build_space(parse_config(study.config))
    problems = {}
    for trial in trials:
        try:
            space.validate(trial.params)
        except CodesignError as error:
            problems[trial.number] = f"trial {trial.number}: stored field 'params' does not fit the study's search space ({error})"
    return problems
