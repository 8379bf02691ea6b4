"""Check that the numba core model reproduces Lava on a netx network, spike for spike.

Runs the same input through the numba core and through Lava's fixed-point simulation
(Loihi2SimCfg, fixed_pt; Lava loads the netx file itself), then compares every spike of every
layer, a readout's voltage (a last layer without neurons never spikes) and the activity counts.
The input is a real one from --input FILE.npy (binary spikes (batch, n_in, T) or
(batch, C, H, W, T); for a network whose first layer is an input neuron, its integer drive,
the bias mantissa per step), or seeded random input: Bernoulli spikes at --rate, or for an
input neuron integer drive drawn uniformly from 0..--drive-max. It is followed by silent steps
covering the network's pipeline delay, so late responses are compared too.

Agreement on a layer that did nothing proves nothing: a layer silent in both simulators (no
spike; for a readout, a voltage that stayed 0) is reported and fails the check unless
--allow-silent is given. Exit status: 0 when everything agrees and no layer is silent, 1 on
any mismatch or silent layer, 2 on a user error (with --json, printed as a JSON object).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from hw_models.errors import HardwareError

NAME = "verify"
HELP = "compare the numba core with Lava on a netx network (exit 1 on any spike mismatch or silent layer)"
DEFAULT_SAMPLES, DEFAULT_TIMESTEPS, DEFAULT_RATE, DEFAULT_DRIVE_MAX = 4, 50, 0.2, 64


def add_arguments(parser) -> None:
    # Numbers are parsed in run(), not by argparse, so that with --json a bad value is a JSON error too.
    parser.add_argument("net", help="netx HDF5 network (.net), e.g. exported by lava-dl, or a NIR graph (.nir)")
    parser.add_argument("--input", metavar="FILE.npy", help="real input instead of random: a .npy array (see above)")
    parser.add_argument("--samples", metavar="N", help=f"random input samples (default {DEFAULT_SAMPLES}); with --input: the first N")
    parser.add_argument("--timesteps", metavar="T", help=f"random input timesteps per sample (default {DEFAULT_TIMESTEPS})")
    parser.add_argument("--rate", metavar="P", help=f"random input spike probability per channel and step (default {DEFAULT_RATE})")
    parser.add_argument("--drive-max", metavar="D", help=f"random drive of an input neuron: integers 0..D (default {DEFAULT_DRIVE_MAX})")
    parser.add_argument("--seed", metavar="S", help="seed of the random input, >= 0 (default 0)")
    parser.add_argument("--profile", default="loihi2", help="chip profile the network is validated against (default loihi2)")
    parser.add_argument("--allow-silent", action="store_true", help="pass even when a layer is silent in both simulators")
    parser.add_argument("--json", action="store_true", help="print a JSON report (and errors as JSON) instead of a table")
    _json_argument_errors(parser)


def run(args) -> int:
    try:
        report = _verify(args)
    except Exception as error:
        if not args.json or not _user_error(error):
            raise
        print(json.dumps({"error": _message(error), "network": str(args.net), "exit_code": 2}, indent=2))
        return 2
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_table(report)
    return 0 if report["verdict"] in ("match", "match (silent layers allowed)") else 1


def _verify(args) -> dict:
    from hw_models.backends import append_silence, check_spikes, pipeline_delay_steps
    from hw_models.backends.compare import compare_backends
    from hw_models.network import Network

    path = Path(args.net)
    if not path.is_file():
        raise HardwareError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    seed = _number("--seed", args.seed, int, 0, low=0)
    if path.suffix.lower() == ".nir":  # a NIR graph, quantized to the profile; Lava runs a netx written from it
        from hw_models.nir import read_nir

        network, netx_path = read_nir(path, profile=args.profile).validate(args.profile), None
    else:
        network, netx_path = Network.from_netx(path).validate(args.profile), path
    if args.input is not None:
        for flag in ("timesteps", "rate", "drive_max"):
            if getattr(args, flag) is not None:
                raise HardwareError(f"--{flag.replace('_', '-')} shapes random input; it cannot be combined with --input")
        samples = _number("--samples", args.samples, int, None, low=1)
        inputs = check_spikes(network, _load_input(Path(args.input), network, samples))
        source = {"kind": "file", "path": str(args.input)}
    else:
        samples = _number("--samples", args.samples, int, DEFAULT_SAMPLES, low=1)
        timesteps = _number("--timesteps", args.timesteps, int, DEFAULT_TIMESTEPS, low=1)
        rng = np.random.default_rng(seed)
        if network.takes_drive:
            if args.rate is not None:
                raise HardwareError("--rate shapes random spikes, but this network's input layer takes integer drive: use --drive-max")
            drive_max = _number("--drive-max", args.drive_max, int, DEFAULT_DRIVE_MAX, low=0, high=4095)
            inputs = rng.integers(0, drive_max + 1, (samples, network.n_inputs, timesteps), dtype=np.int64)
            source = {"kind": "random drive", "drive_max": drive_max, "seed": seed}
        else:
            if args.drive_max is not None:
                raise HardwareError("--drive-max shapes an input neuron's drive, but this network takes binary spikes: use --rate")
            rate = _number("--rate", args.rate, float, DEFAULT_RATE, low=0.0, high=1.0)
            inputs = (rng.random((samples, network.n_inputs, timesteps)) < rate).astype(np.uint8)
            source = {"kind": "bernoulli", "rate": rate, "seed": seed}
    samples, _, timesteps = inputs.shape
    flush = pipeline_delay_steps(network)
    inputs = append_silence(inputs, flush)
    report = {
        "network": str(path),
        "shape": list(network.shape),
        "input_shape": list(network.input_shape),
        "takes_drive": network.takes_drive,
        "input": source,
        "samples": int(samples),
        "timesteps": int(timesteps),
        "simulated_steps": int(timesteps + flush),
        "seed": seed,
        "input_spikes" if not network.takes_drive else "input_drive": int(inputs.sum()),
    } | compare_backends(network, inputs, args.profile, netx_path=netx_path)
    silent = report["silent_layers"]
    if not report["match"]:
        report["verdict"] = "mismatch"
    elif silent and not args.allow_silent:
        report["verdict"] = "silent"
    else:
        report["verdict"] = "match (silent layers allowed)" if silent else "match"
    return report


def _number(flag: str, text, kind, default, low=None, high=None):
    """`text` (a command-line string, or None for `default`) as an int or float in [low, high], else a user error."""
    if text is None:
        return default
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise HardwareError(f"{flag} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
    if kind is float and not np.isfinite(value):
        raise HardwareError(f"{flag} must be a finite number, got {text!r}")
    if low is not None and value < low or high is not None and value > high:
        if low is not None and high is not None:
            rule = f"lie in [{low}, {high}]"
        else:
            rule = f"be at least {low}" if low is not None else f"be at most {high}"
        raise HardwareError(f"{flag} must {rule}, got {text}")
    return value


def _load_input(path: Path, network, samples: int | None) -> np.ndarray:
    """The --input array, its first `samples` samples; every problem names the file."""
    expected = (
        f"integer drive (batch, {', '.join(map(str, network.input_shape))}, T) for this network's input neuron"
        if network.takes_drive
        else f"0/1 spikes (batch, {', '.join(map(str, network.input_shape))}, T)"
        + (f" or (batch, {network.n_inputs}, T)" if len(network.input_shape) == 3 else "")
    )
    if not path.is_file():
        raise HardwareError(f"--input {path} does not exist" if not path.exists() else f"--input {path} is not a file")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise HardwareError(f"--input {path} is not a readable .npy array ({error}); expected {expected}") from None
    if not isinstance(array, np.ndarray):
        raise HardwareError(f"--input {path} holds several arrays (an .npz archive); expected one array of {expected}")
    if array.ndim < 1 or array.shape[0] < 1:
        raise HardwareError(f"--input {path} has shape {array.shape}: no samples; expected {expected}")
    if samples is not None:
        array = array[:samples]
    try:
        from hw_models.backends import check_spikes

        check_spikes(network, array)
    except HardwareError as error:
        raise HardwareError(f"--input {path}: {error}; expected {expected}") from None
    return array


def _user_error(error: BaseException) -> bool:
    from codesign.cli import USER_ERRORS

    return isinstance(error, USER_ERRORS + (OSError,))


def _message(error: BaseException) -> str:
    if isinstance(error, OSError):
        from codesign.cli import describe_os_error

        return describe_os_error(error)
    return str(error)


def _json_argument_errors(parser) -> None:
    """With --json among this command's arguments, argparse's own errors (an unknown option, a missing
    NET) come as a JSON object on stdout too, still with exit status 2."""
    parse_known_args, state = parser.parse_known_args, {"json": False}

    def parse(args=None, namespace=None):
        state["json"] = "--json" in (args or [])
        namespace, extras = parse_known_args(args, namespace)
        if state["json"] and extras:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    def error(message):
        if not state["json"]:
            return type(parser).error(parser, message)
        print(json.dumps({"error": f"{parser.prog}: {message}", "exit_code": 2}, indent=2))
        sys.exit(2)

    parser.parse_known_args, parser.error = parse, error


def _print_table(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    source = report["input"]
    described = source["path"] if source["kind"] == "file" else f"{source['kind']}, seed {source['seed']}"
    table = Table(
        title=f"numba core vs Lava fixed_pt: {report['network']} {report['shape']}, "
        f"{report['samples']} samples x {report['simulated_steps']} steps, input {described}"
    )
    for column in ("layer", "kind", "neurons", "numba spikes", "Lava spikes", "mismatches", "agreement"):
        table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
    for entry in report["layers"]:
        bad = entry["mismatches"] or entry.get("voltage_mismatches", 0)
        style = "red" if bad else ("yellow" if entry["silent"] else "green")
        mismatches = str(entry["mismatches"])
        if "voltage_mismatches" in entry:
            mismatches += f" (voltage: {entry['voltage_mismatches'] if entry['voltage_mismatches'] >= 0 else entry['voltage_problem']})"
        table.add_row(
            f"{entry['layer']} {entry['name']}".strip(),
            entry["kind"] + (" [yellow]SILENT[/yellow]" if entry["silent"] else ""),
            str(entry["neurons"]),
            str(entry["numba_spikes"]),
            str(entry["lava_spikes"]),
            f"[{style}]{mismatches}[/{style}]",
            f"{100 * entry['agreement']:.2f}%",
        )
    console = Console()
    console.print(table)
    counts = "agree" if report["counts_agree"] else "DIFFER: " + ", ".join(report["count_mismatches"])
    console.print(f"activity counts: {counts}")
    seconds = report["seconds"]
    console.print(f"time: numba {seconds['numba']:.3f} s, Lava {seconds['lava']:.1f} s")
    silent = ", ".join(str(index) for index in report["silent_layers"])
    if report["verdict"] == "mismatch":
        console.print("[red]MISMATCH[/red]")
    elif report["verdict"] == "silent":
        console.print(
            f"[red]SILENT[/red]: layer(s) {silent} did nothing in either simulator, so their agreement proves nothing; "
            "give an input that drives them (--input, --rate, --drive-max) or pass --allow-silent"
        )
    else:
        console.print("[green]MATCH[/green]" + (f" (layer(s) {silent} silent in both: allowed)" if silent else ""))
