"""SDNN: sigma-delta networks (Loihi 2's graded spikes) trained with lava-dl's `slayer.block.sigma_delta` blocks.

The network is lava-dl's PilotNet SDNN recipe at the trial's shape: a Delta `Input` block that
encodes integer frames (grey levels; the float model sees level / 64, exactly what netx's Delta
input compares with its threshold), optional `Conv` blocks, `Flatten`, hidden `Dense` blocks
(sigma decoding, ReLU, delta encoding) and a Sigma `Output` block whose decoded value, summed
over the steps, classifies (`evaluate.predict_from_values`). Training is quantization-aware: every
synapse rounds through `WeightQuantizer(weight_bits)` (lava-dl's own hook is fixed at 8 bits) and
each hidden block's messages are rounded to the chip's message grid and saturated at
`message_bits` signed bits, straight through. The loss is cross-entropy on the time-averaged
output plus `sparsity` x the hidden layers' mean message magnitude (PilotNet SDNN's event
penalty), the knob that trades accuracy for synaptic ops.

What netx cannot carry: it builds only ReLU sigma-delta neurons (activation "unit" ends as an
infeasible trial, saying so) and it cannot load a `messageBits` key, so the trained network reads
back with 16 bits and `hardware_network` puts the trial's width back on the hidden layers (it
sets the payload bits the activity counts report; Lava never clips a payload, so the spikes are
the same). The chip hyperparameters `vth`, `du`, `dv` and `max_delay` belong to CUBA neurons:
a sigma-delta trial ignores them; its thresholds are `threshold` and `input_threshold`.
"""

from __future__ import annotations

import dataclasses

from codesign.training.architecture import architecture_hyperparameters, build_architecture
from codesign.training.base import FitContext, Trainer, TrainingData, TrainingStopped
from hyperparams import declare

ACTIVATIONS = ("relu", "unit")
MESSAGE_STEP = 4096  # a hidden message integer per lava-dl float unit: Lava sends delta (scaled by 2**18) >> state_exp 6
FRAME_SCALE = 64  # an input frame's grey level per float unit (netx's Delta input: level vs vThMant)


class NotDeployable(TrainingStopped):
    """A candidate the chip's toolchain cannot express (the search learns it as infeasible)."""

    status = "infeasible"


class SdnnTrainer(Trainer):
    """lava-dl sigma-delta blocks, quantization-aware at the trial's weight and message bits."""

    name = "sdnn"
    takes_frames = True

    @classmethod
    def hyperparameters(cls) -> list[dict]:
        return [
            declare("learning_rate", "float", 0.003, "Adam learning rate", low=1e-5, high=1.0, log=True),
            declare("epochs", "int", 10, "training epochs (upper bound when early stopping is on)", low=1, high=1000),
            declare("weight_scale", "float", 1.0, "scale of lava-dl's initial weights", low=0.1, high=20.0, log=True),
            declare("hidden_size", "int", 64, "neurons per hidden layer", low=4, high=4096, log=True),
            declare("hidden_layers", "int", 1, "number of hidden dense layers (after the conv layers, if any; "
                    "0 = straight to the output)", low=0, high=4),
            *[decl for decl in architecture_hyperparameters() if decl["name"] != "pool"],
            declare("batch_size", "int", 32, "samples per gradient step", low=1, high=1024, log=True),
            declare("threshold", "float", 0.1, "delta threshold of the hidden layers in lava-dl units (vThMant = "
                    "int(64 x threshold)): a neuron sends when its activation changed by at least this much",
                    low=1 / 64, high=4.0, log=True),
            declare("input_threshold", "int", 4, "delta threshold of the input layer in grey levels: a pixel is sent "
                    "when it changed by at least this much", low=1, high=128, log=True),
            declare("activation", "categorical", "relu", "sigma-delta activation; netx builds only ReLU neurons, so "
                    "'unit' (identity) ends infeasible", choices=ACTIVATIONS),
            declare("message_bits", "int", 16, "payload bits of the hidden layers' graded messages (signed; "
                    "training saturates there)", low=2, high=24),
            declare("sparsity", "float", 0.0, "loss weight of the hidden layers' mean message magnitude "
                    "(fewer, smaller messages: fewer synaptic ops)", low=0.0, high=100.0),
            declare("tau_grad", "float", 0.5, "width of the delta unit's surrogate derivative (lava-dl tau_grad)",
                    low=0.05, high=20.0, log=True),
            declare("scale_grad", "float", 1.0, "height of the delta unit's surrogate derivative (lava-dl scale_grad)",
                    low=0.05, high=20.0, log=True),
            declare("patience", "int", 5, "early stopping: epochs without a better validation accuracy (0 = off)",
                    low=0, high=1000),
        ]

    @classmethod
    def architecture(cls, params: dict, data: TrainingData):
        return build_architecture({**params, "pool": 1}, data.input_shape, data.n_inputs, data.n_classes)

    def fit(self, params: dict, hardware, data: TrainingData, context: FitContext):
        if params["activation"] != "relu":
            raise NotDeployable(f"activation {params['activation']!r}: Lava's netx builds only ReLU sigma-delta "
                                "neurons, so this network could not be deployed")
        from codesign.training.sdnn_model import SigmaDeltaModel, fit_sigma_delta

        model = SigmaDeltaModel(
            self.architecture(params, data),
            weight_bits=hardware.weight_bits,
            threshold=params["threshold"],
            input_threshold=params["input_threshold"],
            message_bits=params["message_bits"],
            tau_grad=params["tau_grad"],
            scale_grad=params["scale_grad"],
            weight_scale=params["weight_scale"],
        )
        accuracy = fit_sigma_delta(model, data, context, epochs=params["epochs"],
                                   learning_rate=params["learning_rate"], batch_size=params["batch_size"],
                                   sparsity=params["sparsity"], patience=params["patience"])
        return model, accuracy


def with_message_bits(network, message_bits: int):
    """`network` with its hidden sigma-delta layers' payload width set (netx files cannot hold it)."""
    from hw_models.network import Network

    layers = []
    for layer in network.layers:
        model = getattr(layer, "sigma_delta", None)
        if model is not None and model.role == "sigma_delta":
            layer = dataclasses.replace(layer, sigma_delta=dataclasses.replace(model, message_bits=int(message_bits)))
        layers.append(layer)
    return Network(tuple(layers), metadata=network.metadata, input_shape=network.input_shape)
