"""`train(name, params, data)`: one trial's training, ending in a `hw_models.Network` or a reason why not.

The sequence is the same for every trainer: check params (a bad one raises `CodesignError`),
refuse a shape the chip can never hold (infeasible), fit in torch under a fixed seed, export
with lava-dl's `export_hdf5`, read the file back with `Network.from_netx` (so the network is
exactly what Lava would load), check it against the profile, and measure it on the hardware
model. Anything that goes wrong after the params check becomes a failed `TrainingResult`
carrying the exception text: a sweep must never die because one candidate did.
"""

from __future__ import annotations

import functools
import math
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from codesign.errors import CodesignError
from codesign.training.base import EpochCallback, FitContext, Trainer, TrainingData, TrainingResult, TrainingStopped
from codesign.training.hardware import HARDWARE_PARAM_NAMES, HardwareParams, capacity_problems, hardware_hyperparameters
from codesign.training.hybrid import HybridTrainer
from codesign.training.sdnn import SdnnTrainer
from codesign.training.slayer import SlayerTrainer
from hw_models.errors import HardwareError
from hw_models.profile import ChipProfile, load_profile
from hyperparams import resolve

TRAINERS: dict[str, type[Trainer]] = {"slayer": SlayerTrainer, "hybrid": HybridTrainer, "sdnn": SdnnTrainer}
TRAINER_NAMES = tuple(TRAINERS)
TORCH_THREADS = 1  # polite to parallel trials, and CPU results then do not depend on thread scheduling


def get_trainer(name: str) -> Trainer:
    if name not in TRAINERS:
        raise CodesignError(f"unknown trainer {name!r}; known trainers: {', '.join(TRAINER_NAMES)}")
    return TRAINERS[name]()


def resolve_params(name: str, params: dict, profile: ChipProfile) -> tuple[dict, HardwareParams]:
    """Split a trial's params into resolved training params and hardware params (defaults filled)."""
    trainer = get_trainer(name)
    if not isinstance(params, dict):
        raise CodesignError(f"training params must be a dict, got {type(params).__name__}")
    hardware_part = {key: value for key, value in params.items() if key in HARDWARE_PARAM_NAMES}
    training_part = {key: value for key, value in params.items() if key not in HARDWARE_PARAM_NAMES}
    hardware = resolve(hardware_hyperparameters(profile), hardware_part, owner=f"hardware (profile {profile.name!r})",
                       error=CodesignError)
    return trainer.resolve(training_part), HardwareParams.from_resolved(hardware)


def pick_device(device: Optional[str]) -> str:
    """`None` or "auto" picks CUDA when torch sees a GPU and lava-dl's CUDA kernels build there, else CPU;
    "cuda" on a machine without a usable GPU is refused (the trial fails with that reason)."""
    import torch

    if device is not None and device != "auto":
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise CodesignError(f"device {device!r}: torch sees no CUDA GPU on this machine (use run.device = \"auto\")")
        return str(device)
    return "cuda" if torch.cuda.is_available() and _lava_dl_cuda_works() else "cpu"


@functools.lru_cache(maxsize=1)
def _lava_dl_cuda_works() -> bool:
    """lava-dl JIT-compiles its CUDA dynamics on first use; a machine without nvcc cannot."""
    try:
        import torch

        from codesign.training.snn import slayer

        neuron = slayer.neuron.cuba.Neuron(threshold=1.0, current_decay=0.5, voltage_decay=0.5).to("cuda")
        neuron(torch.ones(1, 1, 2, device="cuda"))
        return True
    except Exception:
        return False


@contextmanager
def _torch_session(seed: int, device: str):
    """Few threads and a private global RNG (lava-dl draws its initial weights and delays from it)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield torch.Generator().manual_seed(seed)
    finally:
        torch.set_num_threads(threads)


def train(
    name: str,
    params: dict,
    data: TrainingData,
    *,
    profile: ChipProfile | str | Path = "loihi2",
    seed: int = 0,
    device: Optional[str] = None,
    epoch_callback: Optional[EpochCallback] = None,
    artifact_path: Optional[str | Path] = None,
) -> TrainingResult:
    """Train with trainer `name`; `artifact_path` (a file, or a directory for `network.net`) keeps the netx file."""
    try:
        profile = load_profile(profile)
    except HardwareError as error:
        raise CodesignError(f"profile: {error}") from None
    trainer = get_trainer(name)
    training, hardware = resolve_params(name, params, profile)
    if not isinstance(data, TrainingData):
        raise CodesignError(f"data must be a codesign.training.TrainingData, got {type(data).__name__}")
    resolved = {**training, **hardware.__dict__}
    used_device = {"device": None}
    started = time.perf_counter()
    history: list[dict] = []

    def result(status: str, reason: Optional[str], **fields) -> TrainingResult:
        return TrainingResult(
            status=status,
            reason=reason,
            network=fields.pop("network", None),
            netx_path=fields.pop("netx_path", None),
            float_validation_accuracy=fields.pop("float_validation_accuracy", None),
            training_time_s=time.perf_counter() - started,
            epochs_run=sum(1 for entry in history if entry.get("phase") != "conversion"),
            history=history,
            trainer=name,
            params=resolved,
            device=used_device["device"],
            **fields,
        )

    if data.graded and not trainer.takes_frames:
        return result("infeasible", f"trainer {name!r} trains on binary spikes; integer frames (a 'frames' dataset) "
                      "need a sigma-delta trainer (sdnn)")
    architecture = trainer.architecture(training, data)
    problem = capacity_problems(architecture, bool(training.get("learn_delays")) and hardware.max_delay > 0, profile)
    if problem:
        return result("infeasible", f"a {architecture.describe()} network cannot fit {profile.name}: {problem}")

    try:
        device = used_device["device"] = pick_device(device)
        with _torch_session(seed, device) as generator:
            context = FitContext(device=device, seed=seed, generator=generator,
                                 epoch_callback=epoch_callback, history=history)
            model, float_accuracy = trainer.fit(training, hardware, data, context)
            model.to("cpu")
        if float_accuracy is None or math.isnan(float_accuracy):
            return result("failed", "training produced no validation accuracy")
        return _export_and_check(model, data, profile, artifact_path, result, float_accuracy)
    except TrainingStopped as stop:
        return result(stop.status, stop.reason, float_validation_accuracy=_best_so_far(history))
    except Exception as error:  # one candidate's crash must not end a sweep
        return result("failed", f"{type(error).__name__}: {error}", float_validation_accuracy=_best_so_far(history))


def _best_so_far(history: list[dict]) -> Optional[float]:
    """Best spiking-model validation accuracy recorded before training stopped (ANN epochs excluded)."""
    accuracies = [entry["validation_accuracy"] for entry in history if entry.get("phase") != "ann"]
    return max(accuracies) if accuracies else None


def _export_and_check(model, data: TrainingData, profile: ChipProfile, artifact_path, result, float_accuracy: float):
    from codesign.training.evaluate import hardware_accuracy
    from codesign.training.snn import float_accuracy as measure
    from hw_models.errors import NetxFormatError
    from hw_models.network import Network

    measured = getattr(model, "float_accuracy", None)  # a sigma-delta model measures its own (graded) output
    _, output_spikes = (measured(data.validation_spikes, data.validation_labels, "cpu") if measured is not None
                        else measure(model, data.validation_spikes, data.validation_labels, "cpu"))
    if output_spikes == 0:
        return result("failed", f"silent network: no output spikes on the {len(data.validation_labels)} "
                      "validation samples (float model)", float_validation_accuracy=float_accuracy)
    with tempfile.TemporaryDirectory(prefix="codesign-train-") as scratch:
        if artifact_path is None:
            path = Path(scratch) / "network.net"
        else:
            path = Path(artifact_path)
            if path.is_dir():
                path = path / "network.net"
        model.export_netx(path)
        try:
            network = Network.from_netx(path)
        except NetxFormatError as error:
            return result("failed", f"exported network cannot be loaded as netx: {error}",
                          float_validation_accuracy=float_accuracy)
        netx_path = path if artifact_path is not None else None
        metadata = {"exported_by": "lava-dl export_hdf5"} | ({"source": str(netx_path)} if netx_path else {})
        network = Network(network.layers, metadata=metadata, input_shape=network.input_shape)
        if hasattr(model, "hardware_network"):  # what the netx file cannot say (a sigma-delta model's message bits)
            network = model.hardware_network(network)
        problems = network.problems(profile)
        if problems:
            return result("infeasible", f"network does not fit {profile.name}: " + "; ".join(problems),
                          network=network, netx_path=netx_path, float_validation_accuracy=float_accuracy)
        evaluation = hardware_accuracy(network, data.validation_spikes, data.validation_labels, profile=profile)
        fields = dict(network=network, netx_path=netx_path, float_validation_accuracy=float_accuracy,
                      hardware_validation_accuracy=evaluation.accuracy)
        if evaluation.silent:
            return result("failed", "silent network: no output spikes on the validation samples (hardware model)",
                          **fields)
        return result("complete", None, **fields)
