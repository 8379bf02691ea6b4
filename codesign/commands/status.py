"""Show a study's trials as a table: state, objectives, key params, time, error.

The table fits the terminal (80 columns when output is not a terminal): long cells wrap and the
params column shows only the params that differ between trials. --wide shows every param, the
whole first line of each error and NeuroBench's metrics of each complete trial (activation
sparsity, effective ACs/MACs and dense synaptic ops per inference, footprint bytes, connection
sparsity), however wide that makes the table; --json carries them under "neurobench". Stored rows that cannot
be read back are listed as damaged (which trial, which field); the rest of the study is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "status"
HELP = "table of a study's trials"


def add_arguments(parser) -> None:
    from codesign.study.trial import STATES

    parser.add_argument("study", type=Path, help="study file (SQLite)")
    parser.add_argument("--json", action="store_true", help="print the trials as JSON")
    parser.add_argument("--state", action="append", choices=STATES, help="only trials in this state (repeatable)")
    parser.add_argument("--wide", action="store_true",
                        help="show every param, whole errors and NeuroBench's metrics (no wrapping)")


def run(args) -> int:
    from codesign.commands.tables import console, print_damaged, trials_table
    from codesign.report.neurobench import neurobench_values
    from codesign.study.results import pareto_trials, study_objectives
    from codesign.study.storage import Study

    with Study.open(args.study) as study:
        objectives = study_objectives(study)
        trials = study.trials(args.state)
        front = {t.number for t in pareto_trials(study.trials(), objectives)}
        counts = study.counts_by_state()
        damaged = study.damaged_rows()
    if args.json:
        print(json.dumps({"counts": counts, "trials": [
            {"number": t.number, "state": t.state, "on_front": t.number in front, "values": t.values,
             "params": t.params, "neurobench": neurobench_values(t), "error": t.reason, "timings": t.timings,
             "artifact_path": t.artifact_path}
            for t in trials], "damaged": [
            {"number": error.number, "field": error.field, "problem": error.problem} for error in damaged]}, indent=2))
        return 0
    out = console(args.wide)
    title = f"{args.study}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    out.print(trials_table(title, trials, objectives, front, damaged, wide=args.wide))
    out.print("* on the Pareto front; " + ("all params and NeuroBench's metrics shown" if args.wide else
                                           "params shown are those that differ between trials "
                                           "(--wide: all, and NeuroBench's metrics)"))
    print_damaged(damaged)
    return 0
