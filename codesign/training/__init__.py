"""Training adapters: SLAYER and HYBRID in lava-dl, hardware-aware, ending in a `hw_models.Network`.

    >>> from codesign.training import TrainingData, train, hardware_accuracy
    >>> result = train("slayer", {"epochs": 5, "weight_bits": 6}, TrainingData(...), seed=0)
    >>> result.status, result.float_validation_accuracy, result.hardware_validation_accuracy
    >>> hardware_accuracy(result.network, test_spikes, test_labels).accuracy

Importing this package is cheap (no torch, no Lava): the search space reads the
hyperparameter declarations from here; torch and lava-dl load when training starts.
"""

from codesign.training.base import TrainingData, TrainingResult
from codesign.training.evaluate import HardwareEvaluation, hardware_accuracy, predict_from_counts
from codesign.training.hardware import HARDWARE_PARAM_NAMES, hardware_hyperparameters
from codesign.training.runner import TRAINER_NAMES, get_trainer, train

__all__ = [
    "HARDWARE_PARAM_NAMES",
    "HardwareEvaluation",
    "TRAINER_NAMES",
    "TrainingData",
    "TrainingResult",
    "get_trainer",
    "hardware_accuracy",
    "hardware_hyperparameters",
    "predict_from_counts",
    "train",
]
