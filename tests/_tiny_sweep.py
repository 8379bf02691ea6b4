"""A tiny real sweep (iris, SLAYER, numba core) that several test modules build studies from.

A few trials take seconds, so tests of the sweep, export, deploy-run and report all run on
real studies rather than hand-made ones.
"""

from __future__ import annotations

from pathlib import Path

import tomllib

from codesign.config import parse_config
from codesign.run.sweep import SweepRunner

TOML = """
[study]
name = "iris-test"
seed = 1

[dataset]
name = "iris"

[encoding]
encoders = ["rate", "latency"]
timesteps = {low = 6, high = 10}

[training]
trainers = ["slayer"]

[training.slayer]
epochs = 3
hidden_size = {low = 8, high = 16}
learning_rate = 0.02

[hardware]
profile = "loihi2"
weight_bits = {low = 3, high = 8}

[objectives]
accuracy = "maximize"
energy_per_inference_uj = "minimize"

[budget]
trials = 3

[run]
n_initial = 2
"""


def write_config(tmp_path: Path, text: str = TOML) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


def config_dict(**changes) -> dict:
    """The tiny sweep's raw config with `section.key=value` changes."""
    raw = tomllib.loads(TOML)
    for dotted, value in changes.items():
        section, key = dotted.split(".", 1)
        raw.setdefault(section, {})[key] = value
    return raw


def run_sweep(path: Path, trials: int = 3) -> Path:
    SweepRunner(parse_config(config_dict()), path, trials=trials).run()
    return path
