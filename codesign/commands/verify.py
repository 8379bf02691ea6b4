"""Check that the numba core model reproduces Lava on a netx network, spike for spike.

Runs the same seeded random Bernoulli input through the numba core and through Lava's
fixed-point simulation (Loihi2SimCfg, fixed_pt), then compares every spike of every layer
and the activity counts. The input is followed by silent steps covering the network's
pipeline delay, so late responses are compared too. Exits 1 on any mismatch, 0 when all
spikes and counts agree.
"""

from __future__ import annotations

import json

from hw_models.errors import HardwareError

NAME = "verify"
HELP = "compare the numba core with Lava on a netx network (exit 1 on any spike mismatch)"


def add_arguments(parser) -> None:
    parser.add_argument("net", help="netx HDF5 network (.net), e.g. exported by lava-dl")
    parser.add_argument("--samples", type=int, default=4, help="random input samples (default 4)")
    parser.add_argument("--timesteps", type=int, default=50, help="input timesteps per sample (default 50)")
    parser.add_argument("--rate", type=float, default=0.2, help="input spike probability per channel and step (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    parser.add_argument("--profile", default="loihi2", help="chip profile the network is validated against (default loihi2)")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of a table")


def run(args) -> int:
    from hw_models.backends import append_silence, bernoulli_spikes, pipeline_delay_steps
    from hw_models.backends.compare import compare_backends
    from hw_models.network import Network

    if args.samples < 1:
        raise HardwareError(f"--samples must be at least 1, got {args.samples}")
    if args.timesteps < 1:
        raise HardwareError(f"--timesteps must be at least 1, got {args.timesteps}")
    if not 0.0 <= args.rate <= 1.0:
        raise HardwareError(f"--rate is a spike probability per step and must lie in [0, 1], got {args.rate}")
    network = Network.from_netx(args.net).validate(args.profile)
    flush = pipeline_delay_steps(network)
    spikes = append_silence(bernoulli_spikes(args.samples, network.n_inputs, args.timesteps, args.rate, args.seed), flush)
    report = {
        "network": str(args.net),
        "shape": list(network.shape),
        "samples": args.samples,
        "timesteps": args.timesteps,
        "simulated_steps": args.timesteps + flush,
        "rate": args.rate,
        "seed": args.seed,
        "input_spikes": int(spikes.sum()),
    } | compare_backends(network, spikes, args.profile)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_table(report)
    return 0 if report["match"] else 1


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"numba core vs Lava fixed_pt: {report['network']} {report['shape']}, "
        f"{report['samples']} samples x {report['simulated_steps']} steps, seed {report['seed']}"
    )
    for column in ("layer", "neurons", "numba spikes", "Lava spikes", "mismatches", "agreement"):
        table.add_column(column, justify="right")
    for entry in report["layers"]:
        style = "green" if entry["mismatches"] == 0 else "red"
        table.add_row(
            f"{entry['layer']} {entry['name']}".strip(),
            str(entry["neurons"]),
            str(entry["numba_spikes"]),
            str(entry["lava_spikes"]),
            f"[{style}]{entry['mismatches']}[/{style}]",
            f"{100 * entry['agreement']:.2f}%",
        )
    console = Console()
    console.print(table)
    counts = "agree" if report["counts_agree"] else "DIFFER: " + ", ".join(report["count_mismatches"])
    console.print(f"activity counts: {counts}")
    seconds = report["seconds"]
    console.print(f"time: numba {seconds['numba']:.3f} s, Lava {seconds['lava']:.1f} s")
    console.print("[green]MATCH[/green]" if report["match"] else "[red]MISMATCH[/red]")
