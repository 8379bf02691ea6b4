"""Show a study's trials as a table: state, objectives, key params, time, error."""

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


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from codesign.study.results import format_params, pareto_trials, varying_params
    from codesign.study.storage import Study

    with Study.open(args.study) as study:
        trials = study.trials(args.state)
        objectives = study.config["objectives"]
        front = {t.number for t in pareto_trials(study.trials(), objectives)}
        counts = study.counts_by_state()
    if args.json:
        print(json.dumps({"counts": counts, "trials": [
            {"number": t.number, "state": t.state, "on_front": t.number in front, "values": t.values,
             "params": t.params, "error": t.reason, "timings": t.timings, "artifact_path": t.artifact_path}
            for t in trials]}, indent=2))
        return 0
    table = Table(title=f"{args.study}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    table.add_column("#", justify="right")
    table.add_column("state", no_wrap=True)
    for name in objectives:
        table.add_column(name, justify="right")
    table.add_column("params", min_width=30, ratio=1)
    table.add_column("time s", justify="right")
    table.add_column("reason")
    varying = varying_params(trials)
    for t in trials:
        marker = " *" if t.number in front else ""
        table.add_row(
            f"{t.number}{marker}", t.state,
            *[f"{t.values[name]:.4g}" if t.values and name in t.values else "-" for name in objectives],
            format_params(t.params, varying),
            f"{(t.timings or {}).get('total_s', 0):.1f}", t.reason.splitlines()[0][:60] if t.reason else "",
        )
    Console().print(table)
    Console().print("* on the Pareto front; params shown are those that differ between trials")
    return 0
