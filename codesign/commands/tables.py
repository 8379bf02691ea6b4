"""The trial tables `status` and `pareto` print: fit the terminal by default, everything with --wide.

Rich wraps cells to the console's width (80 columns when output is not a terminal); the compact
form shows only the params that differ between the rows, one per line, and the first 60
characters of an error under them. The wide form turns wrapping off and shows every param, the
trial's time, the whole first line of each error and NeuroBench's metrics (hw_models/workload.py:
activation sparsity, effective ACs/MACs and dense synaptic ops per inference, footprint bytes,
connection sparsity) that are not already objectives.
"""

from __future__ import annotations

import sys

from codesign.report.neurobench import HEADERS as NEUROBENCH_HEADERS
from codesign.report.neurobench import neurobench_columns, neurobench_values

WIDE_COLUMNS = 100_000  # no practical limit: each row stays on one line


def _neurobench_cells(trial, names) -> list[str]:
    values = neurobench_values(trial)
    return [f"{values[name]:.6g}" if name in values else "-" for name in names]  # counts stay whole up to 1e6


def console(wide: bool):
    from rich.console import Console

    return Console(width=WIDE_COLUMNS) if wide else Console()


def _params(trial, names, wide: bool) -> str:
    """Every param on one line (wide), or the varying ones one per line (compact: a narrow column)."""
    from codesign.study.results import format_params

    if wide:
        return format_params(trial.params, list(trial.params))
    return "\n".join(format_params(trial.params, [name]) for name in names if name in trial.params)


def _column_options(wide: bool) -> dict:
    return {"no_wrap": True} if wide else {"overflow": "fold", "max_width": 12}


def trials_table(title: str, trials, objectives: dict, front: set, damaged, *, wide: bool):
    """Compact: #, state, objectives, then the varying params one per line with the error's first 60
    characters below them. Wide: NeuroBench's metrics, every param on one line, the time, and the
    error's whole first line."""
    from rich.table import Table

    from codesign.study.results import varying_params

    varying = varying_params(trials)
    table = Table(title=title)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for name in objectives:
        table.add_column(name, justify="right", **_column_options(wide))
    neurobench = neurobench_columns(objectives) if wide else []
    for name in neurobench:
        table.add_column(NEUROBENCH_HEADERS[name], justify="right", no_wrap=True)
    if wide:
        table.add_column("params", no_wrap=True)
        table.add_column("time s", justify="right", no_wrap=True)
        table.add_column("reason", no_wrap=True)
    else:
        table.add_column("params / reason", overflow="fold")
    for t in trials:
        marker = " *" if t.number in front else ""
        reason = t.reason.splitlines()[0] if t.reason else ""
        values = [f"{t.values[name]:.4g}" if t.values and name in t.values else "-" for name in objectives]
        if wide:
            cells = [_params(t, varying, True), f"{(t.timings or {}).get('total_s', 0):.1f}", reason]
        else:
            cells = ["\n".join(filter(None, [_params(t, varying, False), reason[:60] and f"reason: {reason[:60]}"]))]
        table.add_row(f"{t.number}{marker}", t.state, *values, *_neurobench_cells(t, neurobench), *cells)
    for error in damaged:
        problem = f"stored field {error.field!r}: {error.problem}"
        table.add_row(str(error.number), "damaged", *["-" for _ in [*objectives, *neurobench]],
                      *(["-", "-", problem] if wide else [problem]))
    return table


def front_table(title: str, front, objectives: dict, *, wide: bool):
    """Compact: #, objectives and the params that differ along the front. Wide: NeuroBench's metrics
    too, and every param."""
    from rich.table import Table

    from codesign.study.results import varying_params

    fold = _column_options(wide)
    varying = varying_params(front)
    table = Table(title=title)
    table.add_column("#", justify="right", no_wrap=True)
    for name, direction in objectives.items():
        table.add_column(f"{name} ({'max' if direction == 'maximize' else 'min'})", justify="right", **fold)
    neurobench = neurobench_columns(objectives) if wide else []
    for name in neurobench:
        table.add_column(NEUROBENCH_HEADERS[name], justify="right", no_wrap=True)
    table.add_column("params" if wide else "params (those that differ along the front)",
                     **({"no_wrap": True} if wide else {"overflow": "fold"}))
    for t in front:
        table.add_row(str(t.number), *[f"{t.values[name]:.4g}" for name in objectives], *_neurobench_cells(t, neurobench),
                      _params(t, varying, wide))
    return table


def print_damaged(damaged) -> None:
    """One warning line per stored row that could not be read (the command works on the rest)."""
    for error in damaged:
        print(f"warning: {error}; left out", file=sys.stderr)
