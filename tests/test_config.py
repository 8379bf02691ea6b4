"""Sweep configs: defaults, and every kind of mistake rejected with its key path before any work."""

from __future__ import annotations

import pytest

from codesign.config import load_config, parse_config
from codesign.errors import CodesignError
from codesign.run.search_space import build_space, split_params

GOOD = {
    "study": {"name": "t", "seed": 3},
    "dataset": {"name": "iris", "max_samples": 90},
    "encoding": {"encoders": ["rate", "population"], "timesteps": {"low": 8, "high": 16},
                 "rate": {"max_rate": {"low": 0.3, "high": 1.0}}, "population": {"bins": {"low": 3, "high": 6}}},
    "training": {"trainers": ["slayer"]},
    "hardware": {"profile": "loihi1", "weight_bits": {"low": 2, "high": 8}, "vth": 64},
    "objectives": {"accuracy": "maximize", "energy_per_inference_uj": "minimize"},
    "constraints": {"rules": ["cores <= 64"]},
    "budget": {"trials": 5},
}


def with_change(section: str, key: str, value) -> dict:
    raw = {name: dict(table) for name, table in GOOD.items()}
    raw.setdefault(section, {})[key] = value
    return raw


def test_defaults_fill_in_and_space_is_conditional():
    config = parse_config(GOOD)
    assert config["run"]["backend"] == "numba" and config["budget"]["timeout_s"] == 0
    space = build_space(config)
    assert {"encoder", "timesteps", "rate.max_rate", "population.bins", "weight_bits", "vth"} <= set(space.names)
    params = space.default()
    active_rate = space.is_active("rate.max_rate", {**params, "encoder": "rate"})
    active_bins = space.is_active("population.bins", {**params, "encoder": "rate"})
    assert active_rate and not active_bins


def test_split_params_gives_each_stage_its_part():
    split = split_params({"encoder": "rate", "timesteps": 12, "rate.max_rate": 0.5, "population.bins": 4,
                          "trainer": "slayer", "slayer.epochs": 3, "weight_bits": 4, "vth": 64, "neurons_per_core": 100})
    assert split.encoder_params == {"max_rate": 0.5}
    assert split.trainer_params == {"epochs": 3}
    assert split.hardware_params == {"weight_bits": 4, "vth": 64}
    assert split.neurons_per_core == 100 and split.timesteps == 12


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("study", "colour", "red", "unknown key study.colour"),
        ("study", "seed", "zero", "study.seed = 'zero' is not a number"),
        ("dataset", "name", "mnist", "dataset.name = 'mnist' is not a known dataset; known: digits"),
        ("dataset", "test_fraction", 1.5, "dataset.test_fraction = 1.5 must be a number in (0, 1)"),
        ("dataset", "bogus", 1, "unknown key dataset.bogus for dataset 'iris'"),
        ("encoding", "encoders", ["rate", "morse"], "encoding.encoders contains 'morse'"),
        ("encoding", "rate", {"max_rate": {"low": 0.3, "high": 2.0}}, "encoding.rate.max_rate.high = 2.0 is outside the allowed range"),
        ("encoding", "rate", {"speed": 3}, "unknown key encoding.rate.speed"),
        ("encoding", "latency", {}, "[encoding.latency] configures a component that encoding.encoders does not list"),
        ("encoding", "timesteps", {"low": 16, "high": 8}, "encoding.timesteps: low=16 must be below high=8"),
        ("training", "trainers", ["backprop"], "training.trainers contains 'backprop'"),
        ("hardware", "weight_bits", {"low": 0, "high": 8}, "hardware.weight_bits.low = 0 is outside the allowed range [1, 8]"),
        ("hardware", "du", 5000, "hardware.du = 5000 is outside the allowed range [0, 4096]"),
        ("hardware", "du", float("nan"), "hardware.du = nan is not finite"),
        ("hardware", "vth", True, "hardware.vth = True is not a number"),
        ("encoding", "rate", {"max_rate": {"low": 0.3, "high": 1.0, "log": "false"}},
         "encoding.rate.max_rate: log='false' must be True or False"),
        ("hardware", "profile", "loihi9", "hardware.profile: unknown chip profile 'loihi9'"),
        ("hardware", "flux", 3, "unknown key hardware.flux"),
        ("objectives", "happiness", "maximize", "unknown objective objectives.happiness"),
        ("objectives", "accuracy", "up", "objectives.accuracy = 'up' must be \"maximize\" or \"minimize\""),
        ("constraints", "rules", ["cores < lots"], "constraints.rules[0]: rule 'cores < lots': expected a number at position 8, found 'lots'"),
        ("constraints", "rules", ["mood <= 3"], "constraints.rules[0]: rule 'mood <= 3': unknown metric 'mood'"),
        ("budget", "trials", 0, "budget.trials = 0 is outside the allowed range [1, 1000000]"),
        ("run", "backend", "gpu", "run.backend = 'gpu' is not one of ['numba', 'lava']"),
        ("run", "reference_point", [0.5, 10.0], "run.reference_point = [0.5, 10.0] must be dict"),
        ("run", "reference_point", {"accuracy": 0.5, "latency_us": 3.0}, "run.reference_point.latency_us is not an objective"),
        ("run", "reference_point", {"accuracy": "half", "energy_per_inference_uj": 3.0},
         "run.reference_point.accuracy = 'half' must be a finite number"),
        ("run", "reference_point", {"accuracy": 0.5}, "run.reference_point has no value for objective energy_per_inference_uj"),
    ],
)
def test_mistakes_are_named_by_key_path(section, key, value, message):
    with pytest.raises(CodesignError) as error:
        parse_config(with_change(section, key, value))
    assert message in str(error.value)


def test_unknown_section_and_file_errors(tmp_path):
    with pytest.raises(CodesignError, match=r"unknown section \[training_data\]"):
        parse_config({"training_data": {}})
    with pytest.raises(CodesignError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[study\nname = 1")
    with pytest.raises(CodesignError, match="broken.toml is not valid TOML"):
        load_config(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[hardware]\ndu = 9999\n')
    with pytest.raises(CodesignError, match=r"wrong.toml: hardware.du = 9999"):
        load_config(wrong)


def test_shipped_examples_and_template_are_valid(tmp_path, monkeypatch):
    """Every example is valid; those that read the user's own data (NMNIST, DVS Gesture) are checked
    in a folder where their relative paths exist, and refused, naming the path, where they do not."""
    from pathlib import Path

    import tomllib

    from codesign.commands.init import TEMPLATE

    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    for path in [TEMPLATE, *sorted((root / "examples").glob("*.toml"))]:
        dataset = tomllib.loads(Path(path).read_text())["dataset"] if path != TEMPLATE else {}
        user_paths = [dataset[key] for key in ("path", "test_path") if key in dataset]
        if user_paths:
            with pytest.raises(CodesignError, match=f"not found: '{user_paths[0]}'"):
                load_config(path)
            for folder in user_paths:
                (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        config = load_config(path)
        assert build_space(config).names, path


def test_reference_point_reaches_the_optimizer_and_leaves_old_configs_alone(tmp_path):
    from codesign.run.search_space import sampler_for as build_optimizer
    from codesign.study.storage import Study, config_hash

    plain = parse_config(GOOD)
    assert "reference_point" not in plain["run"]  # no default: studies made before it keep their hash
    config = parse_config(with_change("run", "reference_point", {"accuracy": 0.5, "energy_per_inference_uj": 20}))
    assert config_hash(config.data) != config_hash(plain.data)
    study = Study.create(tmp_path / "s.sqlite", config=config.data, seed=config.seed)
    optimizer = build_optimizer(config, study)
    assert optimizer.reference_point.tolist() == [-0.5, 20.0]  # minimization form: accuracy negated
