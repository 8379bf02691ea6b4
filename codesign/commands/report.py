"""Write a study report: ONE self-contained HTML file (figures embedded as PNG, inline CSS/JS, nothing
fetched) with the Pareto front, hypervolume per evaluation, parameter importance per objective,
parallel coordinates of the trials and a sortable trial table. --png DIR also writes the figures alone.
"""

from __future__ import annotations

from pathlib import Path

NAME = "report"
HELP = "write a self-contained HTML report of a study (Pareto front, hypervolume, importance, trials)"


def add_arguments(parser) -> None:
    parser.add_argument("study", type=Path, help="study file (SQLite)")
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
    parser.add_argument("--png", type=Path, default=None, metavar="DIR", help="also write each figure as a PNG into DIR")


def run(args) -> int:
    from codesign.atomic import check_output
    from codesign.report import write_report

    check_output(args.out, "--out")
    if args.png is not None:
        check_output(args.png, "--png", folder=True)
    summary = write_report(args.study, args.out, png_dir=args.png)
    print(f"wrote {summary['out']} ({summary['trials']} trials, {len(summary['figures'])} figures)")
    for note in summary["notes"]:
        print(f"note: {note}")
    return 0
