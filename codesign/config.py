"""Sweep configuration: a TOML file, checked completely before any work starts.

Every section and key is known in advance, so a typo or an out-of-range value is reported
with its path (`encoding.rate.max_rate.high`) instead of surfacing an hour into a sweep.
Component hyperparameters (encoders, trainers, hardware) are checked against what each
component declares: a search range must lie inside the declared range.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from codesign.errors import CodesignError
from codesign.files import read_toml
from codesign.rules import parse_constraint
from hyperparams import check_bounds, check_value, declare

DIRECTIONS = ("maximize", "minimize")
BACKENDS = ("numba", "lava")
SAMPLERS = ("bayesian", "random", "sobol", "grid")

# Everything a trial reports; objectives and constraints may name any of these.
METRICS = {
    "accuracy": "hardware (integer network) accuracy on the validation split",
    "test_accuracy": "hardware accuracy on the test split",
    "float_accuracy": "float (torch) validation accuracy before quantization to the chip",
    "accuracy_gap": "float_accuracy - accuracy: what the chip's integer formats cost",
    "energy_per_inference_uj": "energy per inference on the chip model, microjoules",
    "latency_us": "latency per inference, microseconds",
    "latency_steps": "latency per inference, timesteps",
    "cores": "neuromorphic cores used",
    "synaptic_ops": "synaptic operations per inference",
    "spikes": "spikes per inference (all layers)",
    "training_time_s": "wall time to train the candidate",
    "timesteps": "timesteps per sample",
    # NeuroBench's metrics (hw_models/workload.py), on the test split
    "activation_sparsity": "NeuroBench activation sparsity: fraction of spiking neuron-steps without a spike",
    "synaptic_ops_effective_acs": "NeuroBench effective ACs per inference: (spike, non-zero weight) events",
    "synaptic_ops_effective_macs": "NeuroBench effective MACs per inference (0: inputs are spikes)",
    "synaptic_ops_dense": "NeuroBench dense synaptic ops per inference: every synapse every step",
    "connection_sparsity": "NeuroBench connection sparsity: fraction of zero weights",
    "footprint_bytes": "NeuroBench footprint: synaptic weights at the trial's weight bits, bytes",
}

SECTIONS = ("study", "dataset", "encoding", "training", "hardware", "objectives", "constraints", "budget", "run")

DEFAULTS: dict[str, dict[str, Any]] = {
    "study": {"name": "study", "seed": 0},
    "dataset": {"name": "digits", "validation_fraction": 0.2, "test_fraction": 0.2},
    "encoding": {"encoders": ["rate"], "timesteps": 16},
    "training": {"trainers": ["slayer"]},
    "hardware": {"profile": "loihi2"},
    "objectives": {"accuracy": "maximize", "energy_per_inference_uj": "minimize"},
    "constraints": {"rules": []},
    "budget": {"trials": 20, "timeout_s": 0},
    "run": {"batch_size": 1, "backend": "numba", "workers": 1, "scheduler": "", "n_initial": 0,
            "evaluation_samples": 0, "prune_below_front": 0.0, "sampler": "bayesian", "grid_points": 3},
}

# The scalar settings: each one declared once (hyperparams' rules: no bools for numbers, finite,
# inside the range), so the config keys and the command-line flags that override them are
# refused with the same words.
SETTINGS: dict[str, dict] = {
    "study.seed": declare("seed", "int", 0, "the study's seed", low=0, high=2**63 - 1),
    "budget.trials": declare("trials", "int", 20, "finished trials in the study", low=1, high=1_000_000),
    "budget.timeout_s": declare("timeout_s", "float", 0, "seconds before no new trial starts (0: no limit)",
                                low=0, high=1e9),
    "run.batch_size": declare("batch_size", "int", 1, "proposals per ask", low=1, high=1024),
    "run.backend": declare("backend", "categorical", "numba", "the core model", choices=BACKENDS),
    "run.workers": declare("workers", "int", 1, "local worker processes", low=1, high=1024),
    "run.n_initial": declare("n_initial", "int", 0, "initial design size (0: automatic)", low=0, high=1_000_000),
    "run.evaluation_samples": declare("evaluation_samples", "int", 0, "samples evaluated (0: all)",
                                      low=0, high=10**9),
    "run.prune_below_front": declare("prune_below_front", "float", 0.0, "prune below this fraction of the best",
                                     low=0, high=1),
    "run.sampler": declare("sampler", "categorical", "bayesian", "the sampler", choices=SAMPLERS),
    "run.grid_points": declare("grid_points", "int", 3, "grid points per range", low=2, high=1000),
    # no default in DEFAULTS (absent = "auto"), so studies made before it keep their config hash
    "run.device": declare("device", "categorical", "auto", "where trials train: auto (CUDA when torch sees a GPU "
                          "and lava-dl's kernels build there), cpu or cuda", choices=("auto", "cpu", "cuda")),
    # no default in DEFAULTS either (absent = 1): runs per promising configuration, each with its own seed
    "run.repeats": declare("repeats", "int", 1, "runs of each configuration that reaches the Pareto front, "
                           "each with a new seed (1: no repeats)", low=1, high=100),
}
# the settings that are not single numbers or names from a list, with the type they must have
TEXT_AND_TABLE_KEYS: dict[str, type] = {"study.name": str, "run.scheduler": str,
                                        "run.reference_point": dict}  # optional, no default: old studies keep their hash
SCALAR_SECTIONS = ("study", "budget", "run")
SCHEDULER_ADDRESS = re.compile(r"(?:tcp|tls|inproc|ucx|ws|wss)://[^\s/]+")


def check_setting(key: str, value: Any, name: str | None = None) -> Any:
    """`value` for the setting `key` (e.g. "budget.trials"), checked and typed; errors name `name`
    (the key unless given: the command line passes its flag)."""
    name = key if name is None else name
    if key in SETTINGS:
        checked = check_value(SETTINGS[key], value, name, error=CodesignError)
        if key == "run.prune_below_front" and checked >= 1:
            raise CodesignError(f"{name} = {value!r} must be below 1")
        return checked
    expected = TEXT_AND_TABLE_KEYS[key]
    if not isinstance(value, expected):
        raise CodesignError(f"{name} = {value!r} must be {expected.__name__}")
    if key == "study.name":
        return check_study_name(value, name)
    if key == "run.scheduler" and value not in ("", "local") and not SCHEDULER_ADDRESS.fullmatch(value):
        raise CodesignError(f"{name} = {value!r} is not a scheduler address such as tcp://HOST:PORT (or \"local\")")
    return value


def check_study_name(name: str, where: str = "study.name") -> str:
    """A study's name becomes its default file name (studies/NAME.sqlite): one plain file name."""
    if not name or len(name) > 200 or name.startswith(".") or any(c in name for c in "/\\") \
            or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise CodesignError(f"{where} = {name!r} must be a plain file name: 1 to 200 characters, no path "
                            "separators or control characters, not starting with '.'")
    return name


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep configuration; `data` is the complete dict (defaults filled in)."""

    data: dict
    path: Path | None = None

    def __getitem__(self, section: str) -> dict:
        return self.data[section]

    @property
    def seed(self) -> int:
        return self.data["study"]["seed"]

    @property
    def objectives(self) -> dict[str, str]:
        return dict(self.data["objectives"])

    @property
    def constraints(self) -> list[str]:
        return list(self.data["constraints"]["rules"])


def load_config(path: str | Path) -> SweepConfig:
    path = Path(path)
    if path.is_dir():
        raise CodesignError(f"config file {path} is a folder, not a file")
    if not path.is_file():
        raise CodesignError(f"config file {path} does not exist")
    raw = read_toml(path, "config file")
    try:
        return parse_config(raw, path=path)
    except CodesignError as error:
        raise CodesignError(f"{path}: {error}") from None


def parse_config(raw: Mapping[str, Any], path: Path | None = None) -> SweepConfig:
    """Fill defaults and check every key; the first problem raises `CodesignError` naming its path."""
    if not isinstance(raw, Mapping):
        raise CodesignError(f"a sweep config must be a table of sections, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(SECTIONS), key=str)
    if unknown:
        raise CodesignError(f"unknown section [{unknown[0]}]; known sections: {', '.join(SECTIONS)}")
    data = copy.deepcopy(DEFAULTS)
    for section, table in raw.items():
        if not isinstance(table, Mapping):
            raise CodesignError(f"[{section}] must be a table")
        data[section].update(copy.deepcopy(dict(table)))
    if "objectives" in raw:
        data["objectives"] = dict(raw["objectives"])
    for section in SCALAR_SECTIONS:
        _check_scalars(section, data[section])
    _check_dataset(data["dataset"], data["study"]["seed"])
    _check_encoding(data["encoding"])
    _check_training(data["training"])
    _check_hardware(data["hardware"])
    _check_objectives(data["objectives"], data["constraints"])
    _check_reference_point(data["run"], data["objectives"])
    return SweepConfig(data=data, path=path)


def _check_scalars(section: str, table: dict) -> None:
    known = [key.split(".", 1)[1] for key in (*SETTINGS, *TEXT_AND_TABLE_KEYS) if key.startswith(section + ".")]
    for key in list(table):
        if key not in known:
            raise CodesignError(f"unknown key {section}.{key}; known keys: {', '.join(known)}")
        table[key] = check_setting(f"{section}.{key}", table[key])


def _check_dataset(table: dict, seed: int) -> None:
    """The dataset's own option checks (encoders.check_dataset): paths exist, numbers in range,
    the split leaves training data; nothing is read yet."""
    from encoders import DATASET_NAMES, EncodingError, check_dataset, dataset_options

    name = table.get("name")
    if not isinstance(name, str) or name not in DATASET_NAMES:
        raise CodesignError(f"dataset.name = {name!r} is not a known dataset; known: {', '.join(DATASET_NAMES)}")
    allowed = {"name", "validation_fraction", "test_fraction", "max_samples", *dataset_options(name)}
    for key in table:
        if key not in allowed:
            raise CodesignError(f"unknown key dataset.{key} for dataset {name!r}; known keys: {', '.join(sorted(allowed))}")
    for key in ("validation_fraction", "test_fraction"):
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
            raise CodesignError(f"dataset.{key} = {value!r} must be a number in (0, 1)")
    options = {key: value for key, value in table.items() if key != "name"}
    try:
        check_dataset(name, seed=seed, **options)
    except EncodingError as error:
        raise CodesignError(f"[dataset] {error}") from None


def _check_component_params(where: str, table: Mapping, declarations: list[dict]) -> None:
    """Each key must be a declared hyperparameter; a fixed value or a search range inside its declared range."""
    declared = {decl["name"]: decl for decl in declarations}
    for key, spec in table.items():
        path = f"{where}.{key}"
        if key not in declared:
            raise CodesignError(f"unknown key {path}; {where} declares: {', '.join(declared) or 'nothing'}")
        _check_against_declaration(path, spec, declared[key])


def _check_against_declaration(path: str, spec: Any, decl: dict) -> None:
    """A fixed value, or a search range (low/high[/log] or choices) whose every value the declaration allows."""
    kind = decl["type"]
    if not isinstance(spec, Mapping):
        check_value(decl, spec, path, error=CodesignError)
        return
    allowed = {"low", "high", "log", "choices"}
    extra = sorted(set(spec) - allowed)
    if extra:
        raise CodesignError(f"unknown key {path}.{extra[0]}; a search range has low/high[/log] or choices")
    if "choices" in spec:
        if not isinstance(spec["choices"], list) or not spec["choices"]:
            raise CodesignError(f"{path}.choices must be a non-empty list")
        for index, choice in enumerate(spec["choices"]):
            check_value(decl, choice, f"{path}.choices[{index}]", error=CodesignError)
        return
    if kind in ("categorical", "bool"):
        raise CodesignError(f"{path} is {kind}: give `choices = [...]` or a single value")
    for bound in ("low", "high"):
        if bound not in spec:
            raise CodesignError(f"{path} needs both low and high (missing {bound})")
        check_value(decl, spec[bound], f"{path}.{bound}", error=CodesignError)
    check_bounds(path, kind, spec["low"], spec["high"], spec.get("log", False), error=CodesignError)


def _check_choice_list(path: str, value: Any, known: tuple[str, ...]) -> None:
    if not isinstance(value, list) or not value:
        raise CodesignError(f"{path} must be a non-empty list, e.g. {list(known[:2])}")
    for item in value:
        if item not in known:
            raise CodesignError(f"{path} contains {item!r}, which is not known; known: {', '.join(known)}")
    if len(set(value)) != len(value):
        raise CodesignError(f"{path} lists a name twice")


TIMESTEPS_DECLARATION = declare("timesteps", "int", DEFAULTS["encoding"]["timesteps"],
                                "timesteps per sample, shared by encoding, training and the chip", low=1, high=1000)


def _check_components(section: str, list_key: str, table: dict, known: tuple[str, ...], declarations,
                      other_keys: tuple[str, ...] = ()) -> None:
    """[encoding] and [training]: a list of chosen components plus one sub-table of parameters per component."""
    _check_choice_list(f"{section}.{list_key}", table[list_key], known)
    for key, value in table.items():
        if key in (list_key, *other_keys):
            continue
        if key not in known:
            raise CodesignError(f"unknown key {section}.{key}; known: {', '.join((list_key, *other_keys, *known))}")
        if key not in table[list_key]:
            raise CodesignError(f"[{section}.{key}] configures a component that {section}.{list_key} does not list")
        if not isinstance(value, Mapping):
            raise CodesignError(f"{section}.{key} must be a table of that component's hyperparameters")
        _check_component_params(f"{section}.{key}", value, declarations(key))


def _check_encoding(table: dict) -> None:
    from encoders import ENCODER_NAMES, encoder_class

    _check_against_declaration("encoding.timesteps", table["timesteps"], TIMESTEPS_DECLARATION)
    _check_components("encoding", "encoders", table, ENCODER_NAMES, lambda name: encoder_class(name).hyperparameters(),
                      other_keys=("timesteps",))


def _check_training(table: dict) -> None:
    from codesign.training import TRAINER_NAMES, get_trainer

    _check_components("training", "trainers", table, TRAINER_NAMES, lambda name: get_trainer(name).hyperparameters())


def hardware_declarations(profile_name: str) -> list[dict]:
    """What [hardware] may set for this profile: the trainers' hardware parameters and the core mapping."""
    from codesign.training import hardware_hyperparameters
    from hw_models import load_profile

    profile = load_profile(profile_name)
    most = profile.limit("neurons_per_core")
    neurons_per_core = declare(
        "neurons_per_core", "int", most,
        "neurons placed per core (fewer spreads a layer over more cores: faster steps, more static power)",
        low=1, high=most,
    )
    return hardware_hyperparameters(profile) + [neurons_per_core]


def _check_hardware(table: dict) -> None:
    from hw_models import HardwareError, load_profile
    from hw_models.profile import check_priceable

    profile = table.get("profile")
    if not isinstance(profile, str) or not profile.strip():
        raise CodesignError(f"hardware.profile = {profile!r} must be a profile name or a path to a .toml file")
    try:
        check_priceable(load_profile(profile))
    except HardwareError as error:
        raise CodesignError(f"hardware.profile: {error}") from None
    params = {key: value for key, value in table.items() if key != "profile"}
    _check_component_params("hardware", params, hardware_declarations(profile))


def _check_objectives(objectives: dict, constraints: dict) -> None:
    if not objectives:
        raise CodesignError("[objectives] is empty: name at least one metric with \"maximize\" or \"minimize\"")
    for name, direction in objectives.items():
        if name not in METRICS:
            raise CodesignError(f"unknown objective objectives.{name}; known metrics: {', '.join(METRICS)}")
        if direction not in DIRECTIONS:
            raise CodesignError(f"objectives.{name} = {direction!r} must be \"maximize\" or \"minimize\"")
    extra = sorted(set(constraints) - {"rules"})
    if extra:
        raise CodesignError(f"unknown key constraints.{extra[0]}; [constraints] has one key, rules = [\"cores <= 64\", ...]")
    rules = constraints["rules"]
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise CodesignError("constraints.rules must be a list of strings such as \"cores <= 64\"")
    for index, rule in enumerate(rules):
        try:
            parse_constraint(rule, METRICS)
        except CodesignError as exc:
            raise CodesignError(f"constraints.rules[{index}]: {exc}") from None


def _check_reference_point(run: dict, objectives: dict) -> None:
    """run.reference_point: the worst value of every objective still worth having (EHVI credits
    only improvement inside it), e.g. {accuracy = 0.5, energy_per_inference_uj = 20.0}."""
    if "reference_point" not in run:
        return
    point = run["reference_point"]
    for name, value in point.items():
        if name not in objectives:
            raise CodesignError(
                f"run.reference_point.{name} is not an objective; the objectives are: {', '.join(objectives)}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise CodesignError(f"run.reference_point.{name} = {value!r} must be a finite number")
    missing = [name for name in objectives if name not in point]
    if missing:
        raise CodesignError(f"run.reference_point has no value for objective {missing[0]}; give one for every objective")
