"""Run an exported deployment in Lava (Loihi2SimCfg, fixed_pt) on its dataset's test split and
check it against what the study recorded.

The export's encoder encodes the first N test samples with the trial's encoding seed; the
exported netx file runs all of them in one Lava run (netx reset_interval with silent gaps,
see hw_models.backends.lava). Accuracy and energy per inference come from Lava's own spikes and
state. They are compared with the numba core on the same samples (spike for spike, count for
count) and, on the full recorded sample set, with the study's recorded test_accuracy and
energy. Exit 0 when all agree, 1 when any differs.
"""

from __future__ import annotations

import json
from pathlib import Path

from codesign.errors import CodesignError

NAME = "deploy-run"
HELP = "run an exported deployment in Lava and compare with the recorded accuracy and energy"


def add_arguments(parser) -> None:
    parser.add_argument("directory", type=Path, metavar="DIR", help="an export folder (codesign export)")
    parser.add_argument("--samples", type=int, default=None,
                        help="run the first N test samples (default: the trial's whole evaluation set)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")


def run(args) -> int:
    from codesign.deploy.check import check_deployment

    if args.samples is not None and args.samples < 1:
        raise CodesignError(f"--samples must be at least 1, got {args.samples}")
    result = check_deployment(args.directory, args.samples)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print(result)
    return 0 if result["agree"] else 1


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from codesign.deploy.check import ENERGY_KEYS

    console = Console()
    scope = "the full recorded sample set" if result["full_recorded_set"] else "a subset (recorded values cover more samples)"
    table = Table(title=f"{result['directory']}: trial {result['trial']} in Lava on {result['samples']} test samples ({scope})")
    table.add_column("metric")
    for column in ("recorded", "lava", "numba core"):
        table.add_column(column, justify="right")
    recorded = result["recorded"] or {}
    for key in ("accuracy",) + ENERGY_KEYS:
        shown = recorded.get(key)
        table.add_row(key, "-" if shown is None else f"{shown:.6g}", f"{result['lava'][key]:.6g}", f"{result['numba'][key]:.6g}")
    console.print(table)
    detail = f"engine {result['engine']}, reset interval {result['reset_interval']}"
    if result["rerun_alone"]:
        detail += f", samples re-run alone: {result['rerun_alone']}"
    console.print(detail)
    for name, ok in result["checks"].items():
        console.print(f"  {'[green]ok[/green]  ' if ok else '[red]DIFF[/red]'} {name}")
    console.print("[green]Lava agrees[/green]" if result["agree"] else "[red]Lava disagrees[/red]")
