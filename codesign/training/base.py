"""What every trainer takes and returns, and the small interface a trainer implements.

A trainer turns spike tensors into a trained lava-dl model; exporting it, reading it back as
a `hw_models.Network` and checking it against the chip are shared (`codesign.training.runner`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from codesign.errors import CodesignError
from hyperparams import resolve

STATUSES = ("complete", "failed", "infeasible", "pruned")

EpochCallback = Callable[[int, dict], bool]


@dataclass(frozen=True)
class TrainingData:
    """Encoded spikes (batch, channels, time) uint8 and int labels in [0, n_classes).

    `graded`: the inputs are integer frames (a `frames` dataset, grey levels 0..255) for a
    sigma-delta network's Delta input layer, not binary spikes."""

    train_spikes: np.ndarray
    train_labels: np.ndarray
    validation_spikes: np.ndarray
    validation_labels: np.ndarray
    n_classes: int
    input_shape: tuple | None = None  # (C, H, W) when each step's channels are a 2-D map, flattened C, H, W
    graded: bool = False

    def __post_init__(self) -> None:
        channels = None
        for split in ("train", "validation"):
            spikes = np.asarray(getattr(self, f"{split}_spikes"))
            labels = np.asarray(getattr(self, f"{split}_labels"))
            if spikes.ndim != 3:
                raise CodesignError(f"{split}_spikes must be (batch, channels, time), got shape {spikes.shape}")
            if spikes.shape[0] == 0 or spikes.shape[2] == 0:
                raise CodesignError(f"{split}_spikes is empty (shape {spikes.shape})")
            if self.graded:
                if spikes.size and (spikes.dtype.kind not in "iu" or spikes.min() < 0 or spikes.max() > 255):
                    raise CodesignError(f"{split}_spikes must hold integer frames in [0, 255] (graded = True)")
            elif spikes.size and not np.all((spikes == 0) | (spikes == 1)):
                raise CodesignError(f"{split}_spikes must hold binary spikes (0/1)")
            if labels.shape != (spikes.shape[0],):
                raise CodesignError(f"{split}_labels has shape {labels.shape}, expected ({spikes.shape[0]},)")
            if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= self.n_classes:
                raise CodesignError(f"{split}_labels must be integers in [0, n_classes={self.n_classes})")
            if channels is not None and spikes.shape[1] != channels:
                raise CodesignError(f"validation_spikes has {spikes.shape[1]} channels, train_spikes {channels}")
            channels = spikes.shape[1]
            object.__setattr__(self, f"{split}_spikes", spikes.astype(np.uint8, copy=False))
            object.__setattr__(self, f"{split}_labels", labels.astype(np.int64, copy=False))
        if isinstance(self.n_classes, bool) or int(self.n_classes) != self.n_classes or self.n_classes < 2:
            raise CodesignError(f"n_classes={self.n_classes!r} must be an integer >= 2")
        if self.input_shape is not None:
            shape = tuple(int(size) for size in self.input_shape)
            if len(shape) != 3 or min(shape) < 1 or int(np.prod(shape)) != channels:
                raise CodesignError(f"input_shape {self.input_shape} must be (C, H, W) with C * H * W = {channels} channels")
            object.__setattr__(self, "input_shape", shape)

    @property
    def n_inputs(self) -> int:
        return self.train_spikes.shape[1]


@dataclass
class TrainingResult:
    """One training run. `accuracy_gap` (float minus hardware validation accuracy) shows what
    quantization and the integer chip model cost; the trial pipeline reports hardware accuracy."""

    status: str
    reason: Optional[str]
    network: Any  # hw_models.Network | None
    netx_path: Optional[Path]
    float_validation_accuracy: Optional[float]
    training_time_s: float
    epochs_run: int
    history: list[dict] = field(default_factory=list)
    hardware_validation_accuracy: Optional[float] = None
    trainer: str = ""
    params: dict = field(default_factory=dict)
    device: Optional[str] = None  # where it trained ("cpu", "cuda"); None when it stopped before choosing

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")

    @property
    def ok(self) -> bool:
        return self.status == "complete"

    @property
    def accuracy_gap(self) -> Optional[float]:
        if self.float_validation_accuracy is None or self.hardware_validation_accuracy is None:
            return None
        return self.float_validation_accuracy - self.hardware_validation_accuracy


class TrainingStopped(Exception):
    """Raised inside training to end a trial with a status other than complete."""

    status = "failed"

    def __init__(self, reason: str, epochs_run: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.epochs_run = epochs_run


class TrainingDiverged(TrainingStopped):
    status = "failed"


class TrainingPruned(TrainingStopped):
    status = "pruned"


@dataclass
class FitContext:
    """What a trainer's `fit` gets besides its params: where to run and whom to tell."""

    device: str
    seed: int
    generator: Any  # torch.Generator, for shuffling
    epoch_callback: Optional[EpochCallback]
    history: list[dict]


class Trainer:
    """A training algorithm: declares its hyperparameters and fits a lava-dl model."""

    name = ""
    takes_frames = False  # True: trains on integer frames (TrainingData.graded) as well as on spikes

    @classmethod
    def hyperparameters(cls) -> list[dict]:
        raise NotImplementedError

    @classmethod
    def owner(cls) -> str:
        """How errors about this trainer's parameters name it."""
        return f"trainer {cls.name!r}"

    @classmethod
    def resolve(cls, params: dict) -> dict:
        return resolve(cls.hyperparameters(), params, owner=cls.owner(), error=CodesignError)

    @classmethod
    def architecture(cls, params: dict, data: "TrainingData"):
        """The network shape for these params and data (`codesign.training.architecture`)."""
        from codesign.training.architecture import build_architecture

        return build_architecture(params, data.input_shape, data.n_inputs, data.n_classes)

    def fit(self, params: dict, hardware, data: TrainingData, context: FitContext):
        """Train; return (model: codesign.training.snn.SpikingModel, float validation accuracy)."""
        raise NotImplementedError
