"""Print a study's Pareto front (complete, feasible trials no other trial dominates) with their params.

The table fits the terminal (80 columns when output is not a terminal); --wide shows every param
on one line and NeuroBench's metrics of each trial (--json: under "neurobench"). Stored rows that
cannot be read back are reported and left out.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "pareto"
HELP = "the Pareto front of a study, with params"


def add_arguments(parser) -> None:
    parser.add_argument("study", type=Path, help="study file (SQLite)")
    parser.add_argument("--json", action="store_true", help="print the front as JSON")
    parser.add_argument("--wide", action="store_true", help="show every param and NeuroBench's metrics (no wrapping)")


def run(args) -> int:
    from codesign.commands.tables import console, front_table, print_damaged
    from codesign.report.neurobench import neurobench_values
    from codesign.study.results import pareto_trials, study_objectives
    from codesign.study.storage import Study

    with Study.open(args.study) as study:
        objectives = study_objectives(study)
        front = pareto_trials(study.trials(), objectives)
        damaged = study.damaged_rows()
    front.sort(key=lambda t: t.number)
    if args.json:
        print(json.dumps({"objectives": objectives, "front": [
            {"number": t.number, "values": t.values, "params": t.params, "artifact_path": t.artifact_path,
             "test_accuracy": (t.metrics or {}).get("test_accuracy"), "neurobench": neurobench_values(t),
             # run.repeats: values are the mean over the configuration's runs, with their spread
             "repeats": (t.metrics or {}).get("repeats", 1), "values_std": (t.metrics or {}).get("values_std")}
            for t in front]}, indent=2))
        print_damaged(damaged)
        return 0
    out = console(args.wide)
    if not front:
        out.print(f"{args.study}: no complete trials yet, so no Pareto front")
    else:
        out.print(front_table(f"Pareto front of {args.study} ({len(front)} trials)", front, objectives, wide=args.wide))
    print_damaged(damaged)
    return 0
