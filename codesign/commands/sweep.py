"""Run a hardware/software co-design sweep from a TOML config, into a resumable SQLite study.

Re-running the same command on the same study continues where it stopped: finished trials
are kept, trials a killed sweep left running are re-queued, and --trials counts the study's
trials in total. A config that differs from the study's is refused unless --force-new.
"""

from __future__ import annotations

import json
from pathlib import Path

NAME = "sweep"
HELP = "run (or resume) a co-design sweep from a config file"


def add_arguments(parser) -> None:
    parser.add_argument("config", type=Path, help="sweep config (TOML); `codesign init` writes a commented example")
    parser.add_argument("--study", type=Path, default=None,
                        help="study file (SQLite); default: studies/<study.name>.sqlite")
    parser.add_argument("--trials", type=int, default=None, help="total trials in the study (overrides budget.trials)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="stop starting new trials after this many seconds (overrides budget.timeout_s)")
    parser.add_argument("--workers", type=int, default=None, help="local worker processes (overrides run.workers)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="run trials on this Dask distributed scheduler (overrides run.scheduler)")
    parser.add_argument("--force-new", action="store_true",
                        help="start a new study even if the study file holds one with a different config (the old file is kept aside)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary at the end (no live display)")


def check_arguments(args):
    """Everything the sweep reads, checked before anything is created: the config (with its
    dataset paths and chip profile), the flags and the study file's place. Returns (config, study path)."""
    from codesign.atomic import check_output
    from codesign.config import check_setting, load_config
    from codesign.errors import CodesignError

    config = load_config(args.config)
    if args.scheduler == "":  # the config's "" means no scheduler; on the command line it is a slip
        raise CodesignError("--scheduler '' is empty: give an address such as tcp://HOST:PORT, or leave the flag out")
    for flag, key in (("--trials", "budget.trials"), ("--timeout", "budget.timeout_s"), ("--workers", "run.workers"),
                      ("--scheduler", "run.scheduler")):
        value = getattr(args, flag[2:])
        if value is not None:
            setattr(args, flag[2:], check_setting(key, value, name=flag))
    study_path = args.study or Path("studies") / f"{config['study']['name']}.sqlite"
    check_output(study_path, "--study" if args.study else "study file")
    return config, study_path


def run(args) -> int:
    from rich.console import Console

    from codesign.atomic import parent_folders
    from codesign.errors import CodesignError
    from codesign.run.progress import SweepDisplay
    from codesign.run.sweep import SweepRunner
    from codesign.study.identity import StudyMismatchError
    from codesign.study.results import pareto_trials

    config, study_path = check_arguments(args)
    console = Console(stderr=True, quiet=args.json)
    display = SweepDisplay(console, config.objectives)
    try:
        with parent_folders(study_path):
            runner = SweepRunner(config, study_path, trials=args.trials, timeout_s=args.timeout, workers=args.workers,
                                 scheduler=args.scheduler, force_new=args.force_new, display=display)
    except StudyMismatchError as error:
        raise CodesignError(f"{error}; pass --force-new to move the old study aside and start a new one, "
                            "or --study for another study file") from None
    for note in runner.notes:
        console.print(f"[yellow]{note}")
    with display:
        summary = runner.run()
    front = pareto_trials(runner.study.trials(), config.objectives)
    result = {
        "study": str(summary.study_path),
        "stopped_because": summary.stopped_because,
        "finished": summary.finished,
        "states": summary.by_state,
        "pareto_front": [{"number": t.number, "values": t.values, "params": t.params} for t in front],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        console.print(f"[bold]{summary.stopped_because}[/bold]: {summary.finished} finished trials in {summary.study_path} "
                      f"({', '.join(f'{k} {v}' for k, v in summary.by_state.items() if v)}); "
                      f"{len(front)} on the Pareto front. See `codesign pareto {summary.study_path}`.")
    return 130 if summary.stopped_because == "interrupted" else 0
