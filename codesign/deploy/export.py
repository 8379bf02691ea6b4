"""Pick a trial from a study and write it out as a deployable folder, all at once or not at all.

Picking (`select_trial`): `--trial N`, or a rule applied to the Pareto front
(`codesign.study.results.pareto_trials`), ties always going to the lower trial number:

- ``max-accuracy`` / ``min-energy``: the front trial with the highest ``accuracy`` / lowest
  ``energy_per_inference_uj``.
- ``knee``: the front trial closest (Euclidean) to the ideal point after scaling every
  objective over the front to [0, 1] with 0 its best value and 1 its worst; an objective
  that is equal on the whole front contributes 0. A balanced compromise, unit-free.
- a constraint expression, ``METRIC OP NUMBER [and METRIC OP NUMBER ...]`` with OP one of
  ``<= >= < > == !=`` and METRIC an objective or a key of the trials' metrics: the knee of
  the Pareto front of the complete trials that satisfy every comparison. Parsed by a small
  tokenizer, never evaluated as Python.

Writing (`export_trial`): the folder is built in a temporary directory beside the target
and renamed into place, so a failed export leaves no partial folder (and an ``--overwrite``
replaces the old folder only once the new one is whole).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.deploy.deployment import (
    DEPLOYMENT_FILE,
    ENGINE_NETX,
    FORMAT_VERSION,
    METRICS_FILE,
    NETWORK_FILE,
    README_FILE,
    lava_engine,
    load_deployment,
    plan_reset_interval,
)
from codesign.errors import CodesignError
from codesign.rules import Comparison, metric_value, parse_conjunction



# ---------------------------------------------------------------------------------------
# Rules


def known_metrics(trials, objectives) -> list[str]:
    names = set(objectives)
    for trial in trials:
        for source in (trial.values or {}, trial.metrics or {}):
            names.update(k for k, v in source.items() if isinstance(v, (int, float)) and not isinstance(v, bool))
    return sorted(names)


def parse_rule(text: str, metrics) -> list[Comparison]:
    """`METRIC OP NUMBER (and METRIC OP NUMBER)*` -> comparisons (the grammar of codesign.rules)."""
    return parse_conjunction(text, metrics)


def knee(front, objectives: dict[str, str]):
    """The front trial nearest the ideal point in objectives scaled to [0, 1] over the front (see module doc)."""
    from codesign.search.pareto import to_minimization
    from codesign.study.results import objective_matrix

    values = to_minimization(objective_matrix(front, objectives), list(objectives.values()))
    low, high = values.min(axis=0), values.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    distance = np.sqrt((((values - low) / span) ** 2).sum(axis=1))
    return min(zip(distance, (t.number for t in front), front), key=lambda row: (row[0], row[1]))[2]


@dataclass(frozen=True)
class Selection:
    trial: object
    rule: str
    reason: str


def select_trial(study, *, trial: int | None = None, pick: str | None = None) -> Selection:
    """The trial `--trial` names or `--pick` chooses (default: knee); CodesignError when nothing fits."""
    from codesign.study.results import complete_trials, pareto_trials

    objectives = study.config["objectives"]
    trials = study.trials()
    if trial is not None:
        chosen = study.trial(trial)
        if chosen.state != "complete":
            why = f" ({chosen.error.splitlines()[0]})" if chosen.error else ""
            raise CodesignError(f"trial {trial} of {study.path} is {chosen.state}{why}: only complete trials can be exported")
        return Selection(chosen, f"trial {trial}", f"trial {trial} as asked")
    done = complete_trials(trials, objectives)
    if not done:
        raise CodesignError(f"study {study.path} has no complete trials, so its Pareto front is empty and there is nothing to export")
    rule = (pick or "knee").strip()
    front = pareto_trials(trials, objectives)
    if rule in ("max-accuracy", "min-energy"):
        metric, sign = ("accuracy", -1.0) if rule == "max-accuracy" else ("energy_per_inference_uj", 1.0)
        scored = [(sign * metric_value(t, metric), t.number, t) for t in front if metric_value(t, metric) is not None]
        if not scored:
            raise CodesignError(f"rule {rule}: no trial on the front of {study.path} reports {metric!r} (objectives: {', '.join(objectives)})")
        chosen = min(scored, key=lambda row: row[:2])[2]
        return Selection(chosen, rule, f"{rule}: {metric} = {metric_value(chosen, metric):.6g} on a front of {len(front)}")
    if rule == "knee":
        chosen = knee(front, objectives)
        return Selection(chosen, rule, f"knee of a front of {len(front)} trials")
    conditions = parse_rule(rule, known_metrics(done, objectives))
    matching = [t for t in done if all(c.holds(t) for c in conditions)]
    if not matching:
        raise CodesignError(_no_match_message(rule, conditions, done))
    sub_front = pareto_trials(matching, objectives)
    chosen = knee(sub_front, objectives)
    return Selection(chosen, rule, f"{len(matching)} of {len(done)} complete trials satisfy {rule!r}; knee of their front of {len(sub_front)}")


def _no_match_message(rule: str, conditions: list[Comparison], done) -> str:
    """Name the closest trials: summed shortfalls, each scaled by the metric's spread over the study."""
    scales = {}
    for c in conditions:
        column = [v for v in (metric_value(t, c.metric) for t in done) if v is not None]
        spread = (max(column) - min(column)) if column else 0.0
        scales[c.metric] = spread or (abs(c.bound) or 1.0)
    scored = sorted(((sum(c.shortfall(t) / scales[c.metric] for c in conditions), t.number, t) for t in done),
                    key=lambda row: row[:2])
    closest = []
    for _, number, trial in scored[:3]:
        shown = ", ".join(f"{c.metric}={_fmt(metric_value(trial, c.metric))}" for c in conditions)
        closest.append(f"trial {number} ({shown})")
    return f"rule {rule!r} matches none of the {len(done)} complete trials; closest: " + "; ".join(closest)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.6g}"


# ---------------------------------------------------------------------------------------
# Export


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    trial: object
    selection: Selection
    deployment: dict


def export_trial(study_path, out, *, trial: int | None = None, pick: str | None = None,
                 overwrite: bool = False) -> ExportResult:
    """Write network.net, deployment.json, metrics.json and README.md for the chosen trial into `out`."""
    from codesign.study.storage import Study

    if trial is not None and pick is not None:
        raise CodesignError("give either --trial or --pick, not both")
    out = Path(out)
    if out.exists() and not overwrite:
        raise CodesignError(f"output folder {out} already exists; pass --overwrite to replace it")
    if out.exists() and not out.is_dir():
        raise CodesignError(f"output path {out} exists and is not a folder")
    with Study.open(study_path) as study:
        selection = select_trial(study, trial=trial, pick=pick)
        chosen = selection.trial
        if not chosen.artifact_path:
            raise CodesignError(f"trial {chosen.number} of {study.path} has no network artifact recorded")
        artifact = study.artifact_file(chosen.artifact_path)
        if not artifact.is_file():
            raise CodesignError(f"trial {chosen.number}: its network file {artifact} is missing")
        context = {"study_path": str(Path(study.path).resolve()), "study_name": study.name, "config": study.config,
                   "study_seed": study.seed}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it private; an export is meant to be shared
        deployment = _build(staging, chosen, artifact, selection, {**context, "folder": out.name})
        _publish(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, chosen, selection, deployment)


def _build(staging: Path, trial, artifact: Path, selection: Selection, context: dict) -> dict:
    from codesign.config import parse_config
    from codesign.run.search_space import split_params
    from codesign.run.pipeline import encoding_seed
    from hw_models import Network
    from hw_models.errors import HardwareError
    from hw_models.simulation import pipeline_delay_steps

    config = parse_config(context["config"])
    params = split_params(trial.params)
    shutil.copyfile(artifact, staging / NETWORK_FILE)
    try:
        network = Network.from_netx(staging / NETWORK_FILE)
    except HardwareError as error:
        raise CodesignError(f"trial {trial.number}: its network file {artifact} cannot be exported: {error}") from None
    metrics = trial.metrics or {}
    options = {key: value for key, value in config["dataset"].items() if key != "name"}
    samples = config["run"]["evaluation_samples"]
    deployment = {
        "format": FORMAT_VERSION,
        "network": NETWORK_FILE,
        "encoder": {"name": params.encoder, "params": params.encoder_params},
        "dataset": {"name": config["dataset"]["name"], "options": options, "seed": context["study_seed"], "split": "test"},
        "timesteps": params.timesteps,
        "encoding_seed": int(metrics.get("encoding_seed_test", encoding_seed(trial.seed, "test"))),
        "evaluation_samples": None,
        "pad_steps": pipeline_delay_steps(network),
        "profile": config["hardware"]["profile"],
        "neurons_per_core": params.neurons_per_core,
        "backend": config["run"]["backend"],
        "decision": "class = argmax of output spike counts over timesteps + pad_steps; ties -> lowest index; silent -> none (wrong)",
        "lava": {},
        "trial": trial.number,
        "trial_seed": trial.seed,
        "study": context["study_path"],
        "study_name": context["study_name"],
        "objectives": dict(config.objectives),
        "selection": {"rule": selection.rule, "reason": selection.reason},
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_json(staging / DEPLOYMENT_FILE, deployment)
    loaded = load_deployment(staging)
    available = len(loaded.dataset().test.y)
    deployment["evaluation_samples"] = available if samples <= 0 else min(samples, available)
    _write_json(staging / DEPLOYMENT_FILE, deployment)
    loaded = load_deployment(staging)
    spikes, _ = loaded.inputs()
    padded = loaded.padded(spikes)
    engine = lava_engine(network)
    period = plan_reset_interval(network, padded) if engine == ENGINE_NETX else None
    deployment["lava"] = {
        "engine": engine,
        "reset_interval": period,
        "reset_offset": 0,
        "gap_steps": None if period is None else period - params.timesteps,
        "run_cfg": "Loihi2SimCfg",
        "select_tag": "fixed_pt",
    }
    _write_json(staging / DEPLOYMENT_FILE, deployment)
    _write_json(staging / METRICS_FILE, {
        "trial": trial.number,
        "state": trial.state,
        "seed": trial.seed,
        "params": trial.params,
        "values": trial.values,
        "metrics": metrics,
        "counts": trial.counts,
        "timings": trial.timings,
        "artifact_path": trial.artifact_path,
    })
    _write_readme(staging / README_FILE, deployment, trial, network, context["folder"])
    return deployment


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_json(path: Path, data) -> None:
    from codesign.study.storage import _json_default

    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _publish(staging: Path, out: Path) -> None:
    """fsync the files, then rename the finished folder into place (old one aside first, removed last)."""
    for path in staging.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
        try:
            os.replace(staging, out)
        except BaseException:
            os.replace(old / out.name, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)


def _write_readme(path: Path, deployment: dict, trial, network, folder: str) -> None:
    lava = deployment["lava"]
    values = ", ".join(f"{k} = {v:.6g}" for k, v in (trial.values or {}).items())
    test_accuracy = (trial.metrics or {}).get("test_accuracy")
    steps = deployment["timesteps"] + deployment["pad_steps"]
    if lava["engine"] == ENGINE_NETX:
        how = (f"`codesign deploy-run` runs this file exactly so: all samples in one Lava run, sample b's "
               f"{deployment['timesteps']} encoded steps starting at step b * {lava['reset_interval']}, followed by "
               f"silent steps. netx resets layer l at step l of each period (its staggered `reset_offset`), which "
               f"clears neuron state as the sample's first spikes arrive; the silent gap ({lava['gap_steps']} steps, "
               f">= the pipeline delay of {deployment['pad_steps']}) lets spikes still in flight from the previous "
               f"sample arrive before the reset, so each sample's output equals a fresh run.")
    else:
        how = ("This network has neuron biases, which netx's staggered resets cannot run exactly batched "
               "(a fresh layer integrates its bias before its reset step). `codesign deploy-run` therefore runs it "
               "through `hw_models.lava_backend` (the same Lava processes, resets aligned across layers, samples "
               "whose activity never dies out re-run alone). In plain Lava, run one sample per run (no reset needed).")
    text = f"""# Deployment of trial {deployment['trial']} of study `{deployment['study_name']}`

Chosen by: {deployment['selection']['reason']}.
Recorded: {values}; test accuracy {test_accuracy if test_accuracy is None else f'{test_accuracy:.6g}'}.
Network: {' -> '.join(str(n) for n in network.shape)} (netx HDF5, `{NETWORK_FILE}`), chip profile `{deployment['profile']}`.

Files: `{NETWORK_FILE}` (lava-dl netx network), `{DEPLOYMENT_FILE}` (encoder, dataset, seeds, timesteps, Lava
run parameters), `{METRICS_FILE}` (what the study recorded for the trial).

## Run it with codesign

```bash
codesign deploy-run {folder}              # Lava (Loihi2SimCfg, fixed_pt) on the trial's {deployment['evaluation_samples']} test samples
codesign deploy-run {folder} --samples 5  # a quick check on the first 5
codesign bench-energy {folder}            # energy, latency and cores on the numba core model
```

deploy-run prints the recorded and the Lava accuracy and energy per inference and exits 1 if they differ.

## Run it with plain Lava

Encoder `{deployment['encoder']['name']}` with params `{json.dumps(deployment['encoder']['params'])}`,
{deployment['timesteps']} timesteps, encoding seed {deployment['encoding_seed']} (see `{DEPLOYMENT_FILE}`).
One inference is {deployment['timesteps']} input steps plus {deployment['pad_steps']} silent steps
({steps} in all); its class is the output neuron with the most spikes over those steps.

```python
import numpy as np
from lava.lib.dl import netx
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source

period = {lava['reset_interval'] or steps}  # reset_interval in {DEPLOYMENT_FILE}
spikes = ...  # (samples, {network.n_inputs}, {deployment['timesteps']}) 0/1, encoded as above
data = np.zeros(({network.n_inputs}, len(spikes) * period), dtype=np.int32)
for b, sample in enumerate(spikes):
    data[:, b * period : b * period + sample.shape[1]] = sample
net = netx.hdf5.Network(net_config="{NETWORK_FILE}", reset_interval=period)
source, sink = Source(data=data), Sink(shape=net.out.shape, buffer=data.shape[1])
source.s_out.connect(net.inp)
net.out.connect(sink.a_in)
net.run(condition=RunSteps(num_steps=data.shape[1]), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
out = sink.data.get()                         # (n_out, samples * period)
net.stop()
L = len(net.layers)                           # layer l's window starts l steps into each period
counts = [out[:, b * period + L - 1 : b * period + {steps}].sum(axis=1) for b in range(len(spikes))]
predictions = [int(np.argmax(c)) if c.max() > 0 else -1 for c in counts]
```

{how}

(On Python 3.11 call `hw_models.lava_compat.ensure_lava_importable()` before importing Lava.)

## On Loihi hardware

The same code targets a Loihi 2 chip by swapping the run configuration:
`from lava.magma.core.run_configs import Loihi2HwCfg` and `run_cfg=Loihi2HwCfg()`, with the
input/output RingBuffers replaced by the chip's spike I/O adapters (lava-loihi, available to
INRC members). This is documented, not tested here: no chip is attached to this project.
"""
    path.write_text(text)
