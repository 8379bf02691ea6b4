"""SLAYER: direct surrogate-gradient training of the spiking network with lava-dl.

Torch and lava-dl are imported only when training starts, so declaring hyperparameters
(what the search space and config checks need) stays cheap.
"""

from __future__ import annotations

from codesign.errors import CodesignError
from codesign.training.architecture import architecture_hyperparameters
from codesign.training.base import FitContext, Trainer, TrainingData
from hyperparams import declare

LOSSES = ("spike_rate", "spike_max")


def network_hyperparameters() -> list[dict]:
    """Shape and spiking-loss knobs shared by SLAYER and HYBRID's spike-based fine-tuning."""
    return [
        declare("hidden_size", "int", 64, "neurons per hidden layer", low=4, high=4096, log=True),
        declare("hidden_layers", "int", 1, "number of hidden dense layers (after the conv layers, if any; "
                "0 = straight to the output)", low=0, high=4),
        *architecture_hyperparameters(),
        declare("batch_size", "int", 32, "samples per gradient step", low=1, high=1024, log=True),
        declare("loss", "categorical", "spike_rate",
                "spike_rate: MSE to target rates (lava-dl SpikeRate); spike_max: NLL of softmaxed rates (SpikeMax)",
                choices=LOSSES),
        declare("true_rate", "float", 0.4, "target firing rate of the correct output neuron (spike_rate loss)",
                low=0.01, high=1.0),
        declare("false_rate", "float", 0.05, "target firing rate of the other output neurons (spike_rate loss)",
                low=0.0, high=0.99),
        declare("tau_grad", "float", 1.0, "width of the surrogate spike derivative (lava-dl tau_grad)",
                low=0.05, high=20.0, log=True),
        declare("scale_grad", "float", 1.0, "height of the surrogate spike derivative (lava-dl scale_grad)",
                low=0.05, high=20.0, log=True),
        declare("learn_delays", "bool", False,
                "learn per-neuron axonal delays in hidden layers, capped by max_delay and the chip's delay_max"),
        declare("patience", "int", 5, "early stopping: epochs without a better validation accuracy (0 = off)",
                low=0, high=1000),
    ]


def check_rates(params: dict, owner: str) -> dict:
    if params["loss"] == "spike_rate" and params["false_rate"] >= params["true_rate"]:
        raise CodesignError(
            f"{owner}: false_rate = {params['false_rate']} must be below true_rate = {params['true_rate']}"
        )
    return params


class SlayerTrainer(Trainer):
    """lava-dl SLAYER on `slayer.block.cuba` Conv/Pool/Dense blocks, quantization-aware at the trial's weight bits."""

    name = "slayer"

    @classmethod
    def hyperparameters(cls) -> list[dict]:
        return [
            declare("learning_rate", "float", 0.01, "Adam learning rate", low=1e-5, high=1.0, log=True),
            declare("epochs", "int", 10, "training epochs (upper bound when early stopping is on)", low=1, high=1000),
            declare("weight_scale", "float", 2.0, "scale of lava-dl's initial weights", low=0.1, high=20.0, log=True),
            *network_hyperparameters(),
        ]

    @classmethod
    def resolve(cls, params: dict) -> dict:
        return check_rates(super().resolve(params), cls.owner())

    def fit(self, params: dict, hardware, data: TrainingData, context: FitContext):
        from codesign.training.snn import SpikingModel, fit_spiking

        model = SpikingModel(
            self.architecture(params, data),
            hardware,
            delay_cap=hardware.max_delay if params["learn_delays"] else 0,
            tau_grad=params["tau_grad"],
            scale_grad=params["scale_grad"],
            weight_scale=params["weight_scale"],
        )
        accuracy = fit_spiking(
            model,
            data,
            context,
            epochs=params["epochs"],
            learning_rate=params["learning_rate"],
            batch_size=params["batch_size"],
            loss=params["loss"],
            true_rate=params["true_rate"],
            false_rate=params["false_rate"],
            patience=params["patience"],
            phase="slayer",
        )
        return model, accuracy
