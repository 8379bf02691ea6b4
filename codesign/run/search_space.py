"""The co-design search space of a sweep, built from its config and the components' declarations.

Parameter names say which family they belong to: `encoder`, `timesteps` and
`<encoder>.<param>` (encoding), `trainer` and `<trainer>.<param>` (training), and the bare
hardware names (`weight_bits`, `vth`, `du`, `dv`, `max_delay`, `neurons_per_core`).
Component parameters are conditional on their component being chosen, so the surrogate
never sees, say, `population.bins` when the encoder is `rate`. Parameters the config does
not mention take their declared defaults and stay out of the space. `sampler_for` puts the
configured sampler over a study, so everything that searches or models a sweep's space
builds it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from codesign.config import SweepConfig, hardware_declarations
from codesign.search.space import Categorical, Dimension, Fixed, Integer, Real, Space


def _dimension(spec: Any, declaration: dict, condition=None) -> Dimension:
    help_text = declaration.get("help") or ""
    if isinstance(spec, Mapping) and "choices" in spec:
        return Categorical(spec["choices"], condition=condition, help=help_text)
    if isinstance(spec, Mapping):
        kind = Integer if declaration["type"] == "int" else Real
        return kind(spec["low"], spec["high"], log=bool(spec.get("log", False)), condition=condition, help=help_text)
    return Fixed(spec, condition=condition, help=help_text)


def _choice(names: list[str]) -> Dimension:
    return Categorical(names) if len(names) > 1 else Fixed(names[0])


def build_space(config: SweepConfig) -> Space:
    from codesign.training import get_trainer
    from encoders import encoder_class

    encoding, training, hardware = config["encoding"], config["training"], config["hardware"]
    dimensions: dict[str, Dimension] = {"encoder": _choice(encoding["encoders"])}
    dimensions["timesteps"] = _dimension(encoding["timesteps"], {"type": "int"})
    for name in encoding["encoders"]:
        declared = {decl["name"]: decl for decl in encoder_class(name).hyperparameters()}
        for param, spec in encoding.get(name, {}).items():
            dimensions[f"{name}.{param}"] = _dimension(spec, declared[param], condition=("encoder", [name]))
    dimensions["trainer"] = _choice(training["trainers"])
    for name in training["trainers"]:
        declared = {decl["name"]: decl for decl in get_trainer(name).hyperparameters()}
        for param, spec in training.get(name, {}).items():
            dimensions[f"{name}.{param}"] = _dimension(spec, declared[param], condition=("trainer", [name]))
    declared = {decl["name"]: decl for decl in hardware_declarations(hardware["profile"])}
    for param, spec in hardware.items():
        if param != "profile":
            dimensions[param] = _dimension(spec, declared[param])
    return Space(dimensions)


def sampler_for(config: SweepConfig, study):
    """The sampler `run.sampler` names, over `study` (its trials are the sampler's history):
    what the sweep asks, and what the report and benchmarks fit their models with."""
    from codesign.search.optimizer import BayesianOptimizer
    from codesign.search.samplers import GridSampler, RandomSampler, SobolSampler

    run = config["run"]
    common = dict(objectives=config.objectives, constraints=config.constraints, seed=config.seed, study=study)
    space = build_space(config)
    if run["sampler"] == "bayesian":
        return BayesianOptimizer(space, n_initial=run["n_initial"] or None, reference_point=run.get("reference_point"),
                                 **common)
    if run["sampler"] == "grid":
        return GridSampler(space, points_per_dim=run["grid_points"], **common)
    return {"random": RandomSampler, "sobol": SobolSampler}[run["sampler"]](space, **common)


@dataclass(frozen=True)
class TrialParams:
    """A flat params dict split into what each stage of the pipeline needs."""

    encoder: str
    encoder_params: dict
    timesteps: int
    trainer: str
    trainer_params: dict
    hardware_params: dict
    neurons_per_core: int | None


def split_params(params: Mapping[str, Any]) -> TrialParams:
    encoder, trainer = params["encoder"], params["trainer"]

    def family(prefix: str) -> dict:
        return {key[len(prefix) + 1:]: value for key, value in params.items() if key.startswith(prefix + ".")}

    reserved = {"encoder", "trainer", "timesteps", "neurons_per_core"}
    hardware = {key: value for key, value in params.items() if "." not in key and key not in reserved}
    return TrialParams(
        encoder=encoder,
        encoder_params=family(encoder),
        timesteps=int(params["timesteps"]),
        trainer=trainer,
        trainer_params=family(trainer),
        hardware_params=hardware,
        neurons_per_core=params.get("neurons_per_core"),
    )
