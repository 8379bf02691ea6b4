"""Export one trial of a study as a deployable folder: network.net (lava-dl netx), deployment.json,
metrics.json and README.md.

The trial is --trial N, or --pick RULE applied to the study's Pareto front: max-accuracy,
min-energy, knee (the default: the front point nearest the ideal point once every objective
is scaled to [0, 1] over the front), or a constraint expression such as
"energy_per_inference_uj <= 2 and accuracy >= 0.9" (METRIC OP NUMBER joined by `and`;
the knee of the front of the trials that satisfy it). Ties go to the lower trial number.
`--format nir` adds network.nir (NIR graph; units in hw_models/nir.py).
The folder is written whole or not at all; an existing one is replaced only with --overwrite.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "export"
HELP = "export a trial (by number or by a rule on the Pareto front) as a Lava-deployable folder"


def add_arguments(parser) -> None:
    parser.add_argument("study", type=Path, help="study file (SQLite)")
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--trial", type=int, default=None, help="export this (complete) trial")
    which.add_argument("--pick", default=None, metavar="RULE",
                       help="max-accuracy | min-energy | knee (default) | 'METRIC OP NUMBER [and ...]'")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--format", choices=("netx", "nir"), default="netx",
                        help="netx (default) | nir: also write network.nir, the network as a NIR graph")
    parser.add_argument("--json", action="store_true", help="print the export summary as JSON")


def run(args) -> int:
    from codesign.deploy.export import export_trial
    from codesign.errors import OutputExistsError

    try:
        result = export_trial(args.study, args.out, trial=args.trial, pick=args.pick, overwrite=args.overwrite, format=args.format)
    except OutputExistsError as error:
        raise OutputExistsError(f"{error}; pass --overwrite to replace it") from None
    trial = result.trial
    summary = {
        "directory": str(result.directory),
        "trial": trial.number,
        "rule": result.selection.rule,
        "reason": result.selection.reason,
        "values": trial.values,
        "test_accuracy": (trial.metrics or {}).get("test_accuracy"),
        "lava": result.deployment["lava"],
        "nir": result.deployment.get("nir"),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        values = ", ".join(f"{k}={v:.4g}" for k, v in trial.values.items())
        print(f"exported trial {trial.number} ({result.selection.reason}) to {result.directory}: {values}")
        print(f"run it in Lava: codesign deploy-run {result.directory}")
    return 0
