"""Check that the numba core model reproduces Lava on a netx network, spike for spike.

Runs the same seeded random Bernoulli input through the numba core and through Lava's
fixed-point simulation (Loihi2SimCfg, fixed_pt), then compares every spike of every layer
and the activity counts. The input is followed by silent steps covering the network's
pipeline delay, so late responses are compared too. Exits 1 on any mismatch, 0 when all
spikes and counts agree.
"""

from __future__ import annotations

import json
import time

import numpy as np

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


def compare(network, spikes, profile="loihi2") -> dict:
    """Run both backends on `spikes`; per-layer spike agreement and count agreement, JSON-able."""
    from hw_models.activity import COUNT_FIELDS
    from hw_models.simulation import simulate

    started = time.perf_counter()
    mine = simulate(network, spikes, backend="numba", record_layers=True, profile=profile)
    numba_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lava = simulate(network, spikes, backend="lava", record_layers=True, profile=profile)
    lava_seconds = time.perf_counter() - started
    layers = []
    for index, (layer, ours, theirs) in enumerate(zip(network.layers, mine.layers, lava.layers)):
        differ = np.argwhere(ours != theirs)
        layers.append(
            {
                "layer": index,
                "name": layer.name,
                "neurons": layer.n_out,
                "numba_spikes": int(ours.sum()),
                "lava_spikes": int(theirs.sum()),
                "mismatches": int(len(differ)),
                "agreement": 1.0 - len(differ) / max(ours.size, 1),
                "first_mismatch": [int(i) for i in differ[0]] if len(differ) else None,
            }
        )
    count_mismatches = [
        name for name in COUNT_FIELDS if not np.array_equal(getattr(mine.counts, name), getattr(lava.counts, name))
    ]
    return {
        "layers": layers,
        "counts_agree": not count_mismatches,
        "count_mismatches": count_mismatches,
        "match": not count_mismatches and all(entry["mismatches"] == 0 for entry in layers),
        "seconds": {"numba": numba_seconds, "lava": lava_seconds},
    }


def run(args) -> int:
    from hw_models.network import Network
    from hw_models.simulation import pipeline_delay_steps

    if args.samples < 1:
        raise HardwareError(f"--samples must be at least 1, got {args.samples}")
    if args.timesteps < 1:
        raise HardwareError(f"--timesteps must be at least 1, got {args.timesteps}")
    if not 0.0 <= args.rate <= 1.0:
        raise HardwareError(f"--rate is a spike probability per step and must lie in [0, 1], got {args.rate}")
    network = Network.from_netx(args.net).validate(args.profile)
    flush = pipeline_delay_steps(network)
    rng = np.random.default_rng(args.seed)
    spikes = np.zeros((args.samples, network.n_inputs, args.timesteps + flush), dtype=np.uint8)
    spikes[:, :, : args.timesteps] = rng.random((args.samples, network.n_inputs, args.timesteps)) < args.rate
    report = {
        "network": str(args.net),
        "shape": list(network.shape),
        "samples": args.samples,
        "timesteps": args.timesteps,
        "simulated_steps": args.timesteps + flush,
        "rate": args.rate,
        "seed": args.seed,
        "input_spikes": int(spikes.sum()),
    } | compare(network, spikes, args.profile)
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
