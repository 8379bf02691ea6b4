"""Write a chosen trial out as a deployable folder, all at once or not at all.

The folder holds `network.net` (the trial's netx network), `deployment.json` (encoder,
dataset split and seeds, timesteps, chip profile and the Lava run plan), `metrics.json`
(what the study recorded) and a README on running it (`templates/README.md`). It is built
in a temporary folder beside the target and renamed into place (`codesign.atomic`), so a
failed export leaves no partial folder and replacing an old export happens only once the
new one is whole. Which trial is chosen is `codesign.deploy.select`'s business.
"""

from __future__ import annotations

import json
import string
import time
from dataclasses import dataclass
from pathlib import Path

from codesign.atomic import check_output, staged_folder
from codesign.deploy.deployment import (
    DEPLOYMENT_FILE,
    FORMAT_VERSION,
    METRICS_FILE,
    NETWORK_FILE,
    README_FILE,
    load_deployment,
)
from codesign.deploy.select import Selection, select_trial
from codesign.errors import CodesignError, OutputExistsError
from hw_models.backends.lava import ENGINE_NETX, lava_engine, plan_reset_interval

README_TEMPLATE = Path(__file__).resolve().parent / "templates" / "README.md"

__all__ = ["ExportResult", "export_trial"]


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    trial: object
    selection: Selection
    deployment: dict


NIR_FILE = "network.nir"
EXPORT_FORMATS = ("netx", "nir")


def export_trial(study_path, out, *, trial: int | None = None, pick: str | None = None,
                 overwrite: bool = False, format: str = "netx") -> ExportResult:
    """Write network.net, deployment.json, metrics.json and README.md for the chosen trial into `out`;
    `format="nir"` also writes network.nir (the same network as a NIR graph, `hw_models.nir`)."""
    from codesign.config import parse_config
    from codesign.study.storage import Study

    if trial is not None and pick is not None:
        raise CodesignError("give a trial number or a pick rule, not both")
    if format not in EXPORT_FORMATS:
        raise CodesignError(f"export format {format!r} is not one of {', '.join(EXPORT_FORMATS)}")
    out = check_output(out, "output folder", folder=True)
    if out.exists() and not overwrite:
        raise OutputExistsError(f"output folder {out} already exists")
    with Study.open(study_path) as study:
        try:
            parse_config(study.config)
        except CodesignError as error:
            raise CodesignError(f"study {study.path}: its stored config is not valid: {error}") from None
        selection = select_trial(study, trial=trial, pick=pick)
        chosen = selection.trial
        if not chosen.artifact_path:
            raise CodesignError(f"trial {chosen.number} of {study.path} has no network artifact recorded")
        artifact = study.artifact_file(chosen.artifact_path)
        if not artifact.is_file():
            raise CodesignError(f"trial {chosen.number}: its network file {artifact} is missing")
        context = {"study_path": str(Path(study.path).resolve()), "study_name": study.name, "config": study.config,
                   "study_seed": study.seed, "folder": out.name, "format": format}
    with staged_folder(out) as staging:
        deployment = _build(staging, chosen, artifact, selection, context)
    return ExportResult(out, chosen, selection, deployment)


def _build(staging: Path, trial, artifact: Path, selection: Selection, context: dict) -> dict:
    """Fill `staging`: the network, then deployment.json in the order its parts depend on each other."""
    from codesign.config import parse_config
    from hw_models import Network
    from hw_models.errors import HardwareError

    config = parse_config(context["config"])
    network_path = staging / NETWORK_FILE
    network_path.write_bytes(artifact.read_bytes())
    try:
        network = Network.from_netx(network_path)
    except HardwareError as error:
        raise CodesignError(f"trial {trial.number}: its network file {artifact} cannot be exported: {error}") from None
    deployment = deployment_record(trial, network, selection, config, context)
    if context.get("format") == "nir":
        from hw_models.nir import DEFAULT_DT, write_nir

        try:
            write_nir(network, staging / NIR_FILE)
        except HardwareError as error:
            raise CodesignError(f"trial {trial.number}: its network cannot be exported as NIR: {error}") from None
        deployment["nir"] = {"file": NIR_FILE, "dt_s": DEFAULT_DT,
                             "note": "NIR synapses are instantaneous: layer l spikes l + 1 steps earlier than on the chip (hw_models/nir.py)"}
    # how many test samples there are is known only once the deployment can load its dataset
    _write_json(staging / DEPLOYMENT_FILE, deployment)
    available = len(load_deployment(staging).dataset().test.y)
    samples = config["run"]["evaluation_samples"]
    deployment["evaluation_samples"] = available if samples <= 0 else min(samples, available)
    # the Lava run plan needs the encoded, padded inputs of exactly those samples
    _write_json(staging / DEPLOYMENT_FILE, deployment)
    deployment["lava"] = lava_plan(network, load_deployment(staging), deployment["timesteps"])
    _write_json(staging / DEPLOYMENT_FILE, deployment)
    _write_json(staging / METRICS_FILE, metrics_record(trial))
    (staging / README_FILE).write_text(readme_text(deployment, trial, network, context["folder"]))
    return deployment


def deployment_record(trial, network, selection: Selection, config, context: dict) -> dict:
    """deployment.json before its sample count and Lava plan are known."""
    from codesign.run.pipeline import encoding_seed
    from codesign.run.search_space import split_params
    from hw_models import pipeline_delay_steps

    params = split_params(trial.params)
    metrics = trial.metrics or {}
    options = {key: value for key, value in config["dataset"].items() if key != "name"}
    return {
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
        "decision": ("class = argmax of the Sigma output's values summed over timesteps + pad_steps; ties -> lowest "
                     "index; all zero -> none (wrong)") if network.graded else
                    "class = argmax of output spike counts over timesteps + pad_steps; ties -> lowest index; silent -> none (wrong)",
        "lava": {},
        "trial": trial.number,
        "trial_seed": trial.seed,
        "study": context["study_path"],
        "study_name": context["study_name"],
        "objectives": dict(config.objectives),
        "selection": {"rule": selection.rule, "reason": selection.reason},
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def lava_plan(network, deployment, timesteps: int) -> dict:
    """How deploy-run (and a user) runs the samples in Lava: netx with a reset interval, or the backend."""
    if network.graded:  # sigma-delta neurons: netx cannot reset them, so each sample runs alone (no reset interval)
        return {"engine": ENGINE_NETX, "reset_interval": None, "reset_offset": 0, "gap_steps": None,
                "run_cfg": "Loihi2SimCfg", "select_tag": "fixed_pt", "samples": "each sample in a run of its own"}
    spikes, _ = deployment.inputs()
    engine = lava_engine(network)
    period = plan_reset_interval(network, deployment.padded(spikes)) if engine == ENGINE_NETX else None
    return {
        "engine": engine,
        "reset_interval": period,
        "reset_offset": 0,
        "gap_steps": None if period is None else period - timesteps,
        "run_cfg": "Loihi2SimCfg",
        "select_tag": "fixed_pt",
    }


def metrics_record(trial) -> dict:
    """metrics.json: the trial as the study recorded it."""
    return {
        "trial": trial.number,
        "state": trial.state,
        "seed": trial.seed,
        "params": trial.params,
        "values": trial.values,
        "metrics": trial.metrics or {},
        "counts": trial.counts,
        "timings": trial.timings,
        "artifact_path": trial.artifact_path,
    }


def _write_json(path: Path, data) -> None:
    from codesign.study.codec import json_default as _json_default

    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def readme_text(deployment: dict, trial, network, folder: str) -> str:
    """The export's README (templates/README.md) filled in for this trial."""
    lava = deployment["lava"]
    test_accuracy = (trial.metrics or {}).get("test_accuracy")
    steps = deployment["timesteps"] + deployment["pad_steps"]
    if network.graded:
        how = (f"This is a sigma-delta network (netx neuron type SDNN, graded spikes): its input is the "
               f"{deployment['encoder']['name']!r} encoder's integer frames, given to the Delta input layer's neurons "
               f"(`a_in`) one frame per step, and its class is the output with the largest Sigma value summed over "
               f"the {steps} steps (not a spike count; the example below is for spiking networks). netx cannot reset "
               f"sigma-delta neurons, so `codesign deploy-run` runs each sample in a Lava run of its own.")
    elif lava["engine"] == ENGINE_NETX:
        how = (f"`codesign deploy-run` runs this file exactly so: all samples in one Lava run, sample b's "
               f"{deployment['timesteps']} encoded steps starting at step b * {lava['reset_interval']}, followed by "
               f"silent steps. netx resets layer l at step l of each period (its staggered `reset_offset`), which "
               f"clears neuron state as the sample's first spikes arrive; the silent gap ({lava['gap_steps']} steps, "
               f">= the pipeline delay of {deployment['pad_steps']}) lets spikes still in flight from the previous "
               f"sample arrive before the reset, so each sample's output equals a fresh run.")
    else:
        how = ("This network has neuron biases, which netx's staggered resets cannot run exactly batched "
               "(a fresh layer integrates its bias before its reset step). `codesign deploy-run` therefore runs it "
               "through hw_models' Lava backend (the same Lava processes, resets aligned across layers, samples "
               "whose activity never dies out re-run alone). In plain Lava, run one sample per run (no reset needed).")
    template = string.Template(README_TEMPLATE.read_text())
    return template.substitute(
        trial=deployment["trial"],
        study_name=deployment["study_name"],
        reason=deployment["selection"]["reason"],
        values=", ".join(f"{k} = {v:.6g}" for k, v in (trial.values or {}).items()),
        test_accuracy="None" if test_accuracy is None else f"{test_accuracy:.6g}",
        shape=" -> ".join(str(n) for n in network.shape),
        network_file=NETWORK_FILE,
        deployment_file=DEPLOYMENT_FILE,
        metrics_file=METRICS_FILE,
        profile=deployment["profile"],
        folder=folder,
        evaluation_samples=deployment["evaluation_samples"],
        encoder=deployment["encoder"]["name"],
        encoder_params=json.dumps(deployment["encoder"]["params"]),
        timesteps=deployment["timesteps"],
        encoding_seed=deployment["encoding_seed"],
        pad_steps=deployment["pad_steps"],
        steps=steps,
        period=lava["reset_interval"] or steps,
        n_inputs=network.n_inputs,
        how=how,
    )
