"""Benchmark: how much of a sweep's wall time the driver costs (proposing, recording, starting
trials) against the time the trials themselves take, for a given number of workers.

Runs a sweep config (default: the default sweep, examples/digits.toml) into a fresh study and
prints wall time, the sum of the trials' own run times (their `timings.total_s`, measured in the
worker), and the driver's share of the workers' time: 1 - sum(trial times) / (workers x wall).

    PYTHONPATH=. python benchmarks/bench_sweep_overlap.py [--config examples/digits.toml]
        [--workers 1 2] [--trials 80] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="examples/digits.toml")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--trials", type=int, default=None, help="budget (default: the config's)")
    parser.add_argument("--out", default=None, help="folder for the studies (default: a temporary one)")
    args = parser.parse_args(argv)
    from codesign.config import load_config
    from codesign.run.sweep import SweepRunner

    config = load_config(args.config)
    out = Path(args.out or tempfile.mkdtemp(prefix="bench_sweep_overlap_"))
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for workers in args.workers:
        summary = SweepRunner(config, out / f"workers{workers}.sqlite", trials=args.trials, workers=workers,
                              timeout_s=0, force_new=True).run()
        share = 1.0 - summary.trial_s / (workers * summary.wall_s)
        rows.append((workers, summary.finished, summary.wall_s, summary.trial_s, share))
        print(f"  workers {workers}: {summary.finished} trials, wall {summary.wall_s:.1f} s, "
              f"trials {summary.trial_s:.1f} s, driver share {share:.1%}", file=sys.stderr, flush=True)
    print(f"{args.config}: wall time vs the sum of trial times (studies in {out})")
    print(f"{'workers':>8} {'trials':>7} {'wall s':>8} {'sum trial s':>12} {'workers x wall s':>17} {'driver share':>13}")
    for workers, finished, wall, trial, share in rows:
        print(f"{workers:>8} {finished:>7} {wall:>8.1f} {trial:>12.1f} {workers * wall:>17.1f} {share:>13.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
