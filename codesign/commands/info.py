"""Show what this installation has: versions of the stack, chip profiles, backends, encoders, trainers."""

from __future__ import annotations

import importlib
import json
from importlib import metadata

NAME = "info"
HELP = "show installed versions, chip profiles, encoders and trainers"

PACKAGES = ("neuro-codesign", "lava-nc", "lava-dl", "torch", "numpy", "numba", "pyro-ppl", "brian2", "h5py")


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")


def _optional_names(module_name: str, attribute: str) -> list[str]:
    """Names from a registry that may not exist in this build (each package lists its own)."""
    try:
        return list(getattr(importlib.import_module(module_name), attribute))
    except (ImportError, AttributeError):
        return []


def collect() -> dict:
    from hw_models.profile import available_profiles

    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "versions": versions,
        "profiles": available_profiles(),
        "encoders": _optional_names("encoders", "ENCODER_NAMES"),
        "datasets": _optional_names("encoders", "DATASET_NAMES"),
        "trainers": _optional_names("codesign.training", "TRAINER_NAMES"),
    }


def run(args) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="neuro-codesign installation", show_header=False)
    for package, version in info["versions"].items():
        table.add_row(package, version or "[red]not installed[/red]")
    for key in ("profiles", "encoders", "datasets", "trainers"):
        table.add_row(key, ", ".join(info[key]) or "-")
    Console().print(table)
    return 0
