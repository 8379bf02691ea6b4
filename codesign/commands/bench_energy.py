"""Estimate energy per inference, latency and chip resources of a network on a chip profile.

TARGET is a lava-dl netx file (fed with --input FILE.npy: 0/1 spikes (batch, n_in, T) or
(batch, C, H, W, T), or, when its first layer is an input neuron, that neuron's integer drive
(the bias mantissa per step); or with seeded random input from --timesteps/--samples/--seed:
Bernoulli spikes at --rate, or drive drawn uniformly from 0..--drive-max), or an export directory
holding network.net and deployment.json (its encoder encodes the test split of its dataset
as the trial did: same encoding seed, sample count and silent padding steps).
The network runs on the chosen backend; the activity it produces is priced with the chip
profile's per-operation energies and times on a greedy core mapping. Reported: mean and
standard deviation over the samples, a per-layer breakdown (kind, neurons, synaptic ops,
spikes, energy and its share), and whether the network fits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hw_models.backends import BACKENDS
from hw_models.errors import HardwareError

NAME = "bench-energy"
HELP = "estimate energy per inference, latency and cores of a netx network or an export directory"


def add_arguments(parser) -> None:
    parser.add_argument("target", metavar="TARGET", help="a netx .net file, a NIR graph (.nir), or an export directory (network.net + deployment.json)")
    parser.add_argument(
        "--input", type=Path, help="input .npy: 0/1 spikes (batch, n_in, T) or (batch, C, H, W, T), or an input neuron's integer drive (netx file only)"
    )
    parser.add_argument("--rate", type=float, default=0.1, help="random input: spike probability per channel and step (default 0.1)")
    parser.add_argument("--timesteps", type=int, default=None, help="random input: steps per inference (default 100); export: overrides deployment.json")
    parser.add_argument("--samples", type=int, default=None, help="inferences to run (default 16 for random input; export: the whole test split)")
    parser.add_argument("--drive-max", type=int, default=None, help="random drive of an input neuron: integers 0..D (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="random input seed, >= 0 (default 0)")
    parser.add_argument("--backend", default="numba", choices=tuple(BACKENDS), help="backend that runs the network (default numba)")
    parser.add_argument("--profile", default=None,
                        help="chip profile name (`codesign info` lists them: loihi1, loihi1_sanafe, loihi2) or path to a "
                             ".toml profile (default loihi2, or the export's)")
    parser.add_argument("--neurons-per-core", type=int, default=None, help="cap on neurons per core for the mapping (default: the chip's limit)")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of tables")


def run(args) -> int:
    from hw_models import load_profile
    from hw_models.energy import layer_breakdown, measure_energy

    network, spikes, profile_name, source = load_target(args)
    profile = load_profile(args.profile or profile_name or "loihi2")
    neurons_per_core = args.neurons_per_core if args.neurons_per_core is not None else source.get("neurons_per_core")
    report = measure_energy(network, spikes, profile, backend=args.backend, neurons_per_core=neurons_per_core)
    payload = {
        "target": str(args.target),
        "backend": args.backend,
        "input": source,
        "network": network.describe(),
        "report": report.to_dict(),
        "layers": layer_breakdown(network, report),
    }
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print_report(payload, report, payload["layers"])
    return 0


def load_target(args) -> tuple:
    """(network, input (batch, n_in, T): spikes or drive, profile named by the target or None, input description)."""
    from hw_models import Network
    from hw_models.backends import bernoulli_spikes, check_spikes

    target = Path(args.target)
    if not target.exists():
        raise HardwareError(f"{target} does not exist: give a netx .net file or an export directory")
    if target.is_dir():
        if args.input is not None:
            raise HardwareError("--input applies to a netx file; an export directory encodes its own dataset")
        return _load_export(target, args)
    if target.suffix.lower() == ".nir":  # a NIR graph, quantized to the chosen profile's formats
        from hw_models.nir import read_nir

        network = read_nir(target, profile=args.profile or "loihi2")
    else:
        network = Network.from_netx(target)
    if args.input is not None:
        spikes = _load_spikes(args.input, network)
        if args.samples is not None:
            spikes = spikes[: _positive("--samples", args.samples)]
        source = {"kind": "file", "path": str(args.input), "shape": list(spikes.shape)}
        spikes = check_spikes(network, spikes)
    else:
        if args.seed < 0:
            raise HardwareError(f"--seed must be at least 0, got {args.seed}")
        samples = _positive("--samples", 16 if args.samples is None else args.samples)
        timesteps = _positive("--timesteps", 100 if args.timesteps is None else args.timesteps)
        if network.takes_drive:
            drive_max = 64 if args.drive_max is None else args.drive_max
            if not 0 <= drive_max <= 4095:
                raise HardwareError(f"--drive-max must lie in [0, 4095] (an input neuron's bias mantissa), got {drive_max}")
            spikes = np.random.default_rng(args.seed).integers(0, drive_max + 1, (samples, network.n_inputs, timesteps), dtype=np.int64)
            source = {"kind": "random drive", "drive_max": drive_max, "samples": samples, "timesteps": timesteps, "seed": args.seed}
        else:
            if args.drive_max is not None:
                raise HardwareError("--drive-max shapes an input neuron's drive, but this network takes binary spikes: use --rate")
            if not 0.0 <= args.rate <= 1.0:
                raise HardwareError(f"--rate must be a probability in [0, 1], got {args.rate}")
            spikes = bernoulli_spikes(samples, network.n_inputs, timesteps, args.rate, args.seed)
            source = {"kind": "bernoulli", "rate": args.rate, "samples": samples, "timesteps": timesteps, "seed": args.seed}
    return network, spikes, None, source


def _load_export(directory: Path, args) -> tuple:
    """An export encodes its own test split exactly as the trial did (codesign.deploy.deployment: encoding
    seed, sample count, silent padding steps), so the energy here is the energy the study recorded."""
    from codesign.deploy.deployment import load_deployment

    deployment = load_deployment(directory)
    samples = None if args.samples is None else _positive("--samples", args.samples)
    spikes, _ = deployment.inputs(samples, args.timesteps)
    spikes = deployment.padded(spikes)
    source = {
        "kind": "export",
        "dataset": deployment.dataset_name,
        "split": "test",
        "encoder": deployment.encoder_name,
        "encoding_seed": deployment.encoding_seed,
        "samples": int(spikes.shape[0]),
        "timesteps": int(spikes.shape[2]) - deployment.pad_steps,
        "pad_steps": deployment.pad_steps,
        "neurons_per_core": deployment.neurons_per_core,
    }
    return deployment.network(), spikes, deployment.profile, source


def _positive(name: str, value: int) -> int:
    if value < 1:
        raise HardwareError(f"{name} must be at least 1, got {value}")
    return int(value)


def _load_spikes(path: Path, network) -> np.ndarray:
    from hw_models.backends import check_spikes

    if not path.is_file():
        raise HardwareError(f"--input file {path} does not exist")
    try:
        spikes = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise HardwareError(f"--input file {path} is not a readable .npy array: {error}") from None
    if not isinstance(spikes, np.ndarray):
        raise HardwareError(f"--input file {path} holds several arrays (an .npz archive), not one .npy array")
    if spikes.ndim not in (3, 5):
        raise HardwareError(f"--input file {path}: spikes must be (batch, n_in, T) or (batch, C, H, W, T), got shape {spikes.shape}")
    try:
        check_spikes(network, spikes)
    except HardwareError as error:
        raise HardwareError(f"--input file {path}: {error}") from None
    return spikes


def print_report(payload: dict, report, breakdown: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    shape = " -> ".join(str(n) for n in payload["network"]["shape"])
    summary = Table(title=f"{payload['target']} on {report.profile} ({payload['backend']} backend, {report.samples} samples)")
    summary.add_column("metric")
    summary.add_column("mean", justify="right")
    summary.add_column("std", justify="right")
    summary.add_row("network", shape, "")
    summary.add_row("energy per inference (uJ)", f"{report.energy_per_inference_uj:.4g}", f"{report.energy_per_inference_uj_std:.2g}")
    summary.add_row("  dynamic (uJ)", f"{report.dynamic_uj:.4g}", "")
    summary.add_row("  static (uJ)", f"{report.static_uj:.4g}", "")
    summary.add_row("latency (us)", f"{report.latency_us:.4g}", f"{report.latency_us_std:.2g}")
    summary.add_row("latency (steps)", str(report.latency_steps), "")
    summary.add_row("synaptic ops", f"{report.synaptic_ops:.6g}", f"{report.synaptic_ops_std:.3g}")
    summary.add_row("spikes (all layers)", f"{report.spikes:.6g}", f"{report.spikes_std:.3g}")
    summary.add_row("input spikes", f"{report.input_spikes:.6g}", "")
    summary.add_row("spike messages / tile hops", f"{report.spike_messages:.6g} / {report.tile_hops:.6g}", "")
    summary.add_row("cores", f"{report.cores} / {report.cores_available}", "")
    fits = "yes" if report.fits else f"[red]no[/red]: {report.reason}"
    summary.add_row("fits the chip", fits, "")
    console.print(summary)

    kinds = Table(title="energy by operation (uJ per inference)")
    kinds.add_column("operation")
    kinds.add_column("uJ", justify="right")
    kinds.add_column("share", justify="right")
    total = report.energy_per_inference_uj or 1.0
    for kind, value in report.energy_by_kind_uj.items():
        kinds.add_row(kind, f"{value:.4g}", f"{100 * value / total:.1f}%")
    console.print(kinds)

    layers = Table(title="per layer (means per inference; input spikes and more in --json)")
    for column in ("layer", "kind", "neurons", "cores", "synaptic ops", "spikes out", "energy uJ", "share"):
        layers.add_column(column, justify="left" if column in ("layer", "kind") else "right", no_wrap=column in ("kind", "share"))
    for row in breakdown:
        layers.add_row(
            f"{row['layer']}" + (f" {row['name']}" if row["name"] else ""),
            ("flatten+" if row["flattens_input"] else "") + row["kind"],
            str(row["neurons"]),
            str(row["cores"]),
            f"{row['synaptic_ops']:.4g}",
            f"{row['output_spikes']:.4g}",
            f"{row['energy_uj']:.3g}",
            f"{100 * row['energy_share']:.1f}%",
        )
    console.print(layers)
