"""Print a study's Pareto front (complete, feasible trials no other trial dominates) with their params."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "pareto"
HELP = "the Pareto front of a study, with params"


def add_arguments(parser) -> None:
    parser.add_argument("study", type=Path, help="study file (SQLite)")
    parser.add_argument("--json", action="store_true", help="print the front as JSON")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from codesign.study.results import format_params, pareto_trials, varying_params
    from codesign.study.storage import Study

    with Study.open(args.study) as study:
        objectives = study.config["objectives"]
        front = pareto_trials(study.trials(), objectives)
    front.sort(key=lambda t: t.number)
    if args.json:
        print(json.dumps({"objectives": objectives, "front": [
            {"number": t.number, "values": t.values, "params": t.params, "artifact_path": t.artifact_path,
             "test_accuracy": (t.metrics or {}).get("test_accuracy")} for t in front]}, indent=2))
        return 0
    if not front:
        Console().print(f"{args.study}: no complete trials yet, so no Pareto front")
        return 0
    table = Table(title=f"Pareto front of {args.study} ({len(front)} trials)")
    table.add_column("#", justify="right")
    for name, direction in objectives.items():
        table.add_column(f"{name} ({'max' if direction == 'maximize' else 'min'})", justify="right")
    table.add_column("params (those that differ along the front)", min_width=30, ratio=1)
    varying = varying_params(front)
    for t in front:
        table.add_row(str(t.number), *[f"{t.values[name]:.4g}" for name in objectives], format_params(t.params, varying))
    Console().print(table)
    return 0
