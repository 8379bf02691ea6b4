"""The spiking model both trainers produce: lava-dl `slayer.block.cuba` blocks in the trial's
`Architecture` (optional Conv + Pool layers, Flatten, Dense layers).

Hardware hyperparameters apply during training: neuron threshold and decays come from the
trial (via `units`), every synapse quantizes through `WeightQuantizer(weight_bits)`, and
learnable axonal delays (hidden blocks only) are clamped to min(max_delay, chip delay_max).
Export is lava-dl's own `block.export_hdf5`, so the netx file is what lava-dl would write.
Conv neurons can carry a per-channel bias (`conv_bias`, for HYBRID's folded batch-norm): it sits
in the CUBA neuron's `norm` slot, which lava-dl applies to the current before the voltage
integrates it (Lava adds `bias_mant << 6` to v each step: the same thing) and exports as `bias`.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import numpy as np
import torch

from hw_models.lava_compat import import_lava_dl

import_lava_dl()
from lava.lib.dl import slayer  # noqa: E402

from codesign.training.architecture import Architecture  # noqa: E402
from codesign.training.base import FitContext, TrainingDiverged, TrainingPruned  # noqa: E402
from codesign.training.evaluate import predict_from_counts  # noqa: E402
from codesign.training.hardware import HardwareParams  # noqa: E402
from codesign.training.quantize import ChannelBias, WeightQuantizer  # noqa: E402
from codesign.training.units import current_gain, slayer_neuron_params  # noqa: E402

EVAL_BATCH = 512


class SpikingModel(torch.nn.Module):
    """CUBA-LIF blocks in lava-dl; input (batch, neurons, time) spikes (reshaped to the architecture's
    (C, H, W) map for conv layers), output (batch, classes, time)."""

    def __init__(
        self,
        architecture: Architecture | list[int],
        hardware: HardwareParams,
        *,
        delay_cap: int = 0,
        tau_grad: float = 1.0,
        scale_grad: float = 1.0,
        weight_scale: float = 1.0,
        conv_bias: bool = False,
    ):
        super().__init__()
        if not isinstance(architecture, Architecture):
            sizes = tuple(int(size) for size in architecture)
            architecture = Architecture((sizes[0],), (), sizes)
        self.architecture = architecture
        self.hardware = hardware
        self.delay_cap = int(delay_cap)
        self.quantizer = WeightQuantizer(hardware.weight_bits)
        neuron = slayer_neuron_params(hardware.vth, hardware.du, hardware.dv, tau_grad=tau_grad, scale_grad=scale_grad)
        blocks = []
        for conv in architecture.convs:
            blocks.append(slayer.block.cuba.Conv(
                neuron, conv.in_channels, conv.out_channels, conv.kernel, stride=conv.stride, padding=conv.padding,
                weight_scale=weight_scale, weight_norm=False, pre_hook_fx=self.quantizer,
            ))
            if conv_bias:
                blocks[-1].neuron.norm = ChannelBias(conv.out_channels)
            if conv.pool > 1:  # sum pooling, rate preserving in the rate limit (see units.current_gain)
                blocks.append(slayer.block.cuba.Pool(
                    neuron, conv.pool, weight_scale=current_gain(hardware.vth, hardware.du), weight_norm=False,
                    pre_hook_fx=self.quantizer,
                ))
        if architecture.convs:
            blocks.append(slayer.block.cuba.Flatten())
        layer_sizes = architecture.dense_sizes
        for index, (n_in, n_out) in enumerate(zip(layer_sizes, layer_sizes[1:])):
            hidden = index < len(layer_sizes) - 2
            block = slayer.block.cuba.Dense(
                neuron,
                n_in,
                n_out,
                weight_scale=weight_scale,
                weight_norm=False,
                pre_hook_fx=self.quantizer,
                delay=bool(hidden and self.delay_cap > 0),
            )
            # lava-dl sizes neurons and delays at the first forward pass; size them now so that
            # a block exports (and draws its initial delays from the seeded RNG) before any forward.
            block.neuron.shape = torch.Size([n_out])
            block.neuron.num_neurons = n_out
            if block.delay is not None:
                block.delay.max_delay = self.delay_cap
                block.delay.delay.data = torch.rand(n_out, dtype=torch.float)
                block.delay.init = True
            blocks.append(block)
        self.blocks = torch.nn.ModuleList(blocks)
        if architecture.convs:  # conv and pool neurons are sized by a first forward pass (it draws nothing)
            with torch.no_grad():
                self(torch.zeros(1, int(np.prod(architecture.input_shape)), 2))

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        if self.architecture.convs and spikes.ndim == 3:
            spikes = spikes.reshape(spikes.shape[0], *self.architecture.input_shape, spikes.shape[-1])
        for block in self.blocks:
            spikes = block(spikes)
        return spikes

    @property
    def layers(self) -> list:
        """The blocks that become hardware layers (Flatten is only a reshape)."""
        return [block for block in self.blocks if not isinstance(block, slayer.block.cuba.Flatten)]

    @property
    def pipeline_steps(self) -> int:
        """Silent steps to append so that the last input spike's effects reach the output."""
        delays = sum(self.delay_cap for block in self.layers if getattr(block, "delay", None) is not None)
        return len(self.layers) + delays

    def set_float_weights(self, weights: list[np.ndarray], biases: list[np.ndarray | None] | None = None) -> None:
        """Load float weights per layer (slayer units: integer weight / 64; conv (out, in, kH, kW), dense
        (out, in), pool a scalar), e.g. from ANN conversion, and per-channel biases (lava-dl voltage
        units) where a layer has a `ChannelBias`."""
        with torch.no_grad():
            for index, (block, weight) in enumerate(zip(self.layers, weights)):
                target = block.synapse.weight
                value = torch.as_tensor(np.asarray(weight), dtype=target.dtype)
                target.copy_(value.expand(target.shape) if value.ndim == 0 else value.reshape(target.shape))
                bias = None if biases is None else biases[index]
                if bias is not None:
                    if not isinstance(block.neuron.norm, ChannelBias):
                        raise ValueError(f"layer {index} has no bias to set (build the model with conv_bias=True)")
                    block.neuron.norm.value.copy_(torch.as_tensor(np.asarray(bias), dtype=target.dtype))

    def export_netx(self, path: Path) -> Path:
        """Write the netx HDF5 file with lava-dl's `export_hdf5`, atomically."""
        from hw_models.netx import atomic_hdf5

        with atomic_hdf5(path, written_by="neuro-codesign (lava-dl export_hdf5)") as handle:
            layers = handle.create_group("layer")
            offset = 0
            if self.architecture.convs:  # netx sizes the first conv from a shape-only input layer
                group = layers.create_group("0")
                group.create_dataset("type", (1,), "S10", [b"input"])
                group.create_dataset("shape", data=np.array(self.architecture.input_shape))
                offset = 1
            for index, block in enumerate(self.blocks):
                block.export_hdf5(layers.create_group(str(index + offset)))
        if any(isinstance(block, slayer.block.cuba.Pool) for block in self.blocks):
            # netx cannot load lava-dl's pool layers: rewrite them as the equivalent depthwise strided convs
            from hw_models.network import Network

            Network.from_netx(path).to_netx(path)
        return Path(path)


def to_tensor(spikes: np.ndarray, device: str) -> torch.Tensor:
    return torch.as_tensor(np.asarray(spikes), dtype=torch.float32, device=device)


def output_counts(model: SpikingModel, spikes: np.ndarray, device: str) -> np.ndarray:
    """Output spike counts (batch, n_out) with the input padded by `pipeline_steps` silent steps."""
    model.eval()
    counts = []
    with torch.no_grad():
        for start in range(0, len(spikes), EVAL_BATCH):
            batch = to_tensor(spikes[start:start + EVAL_BATCH], device)
            batch = torch.nn.functional.pad(batch, (0, model.pipeline_steps))
            counts.append(model(batch).sum(-1).cpu().numpy())
    return np.concatenate(counts).round().astype(np.int64)


def float_accuracy(model: SpikingModel, spikes: np.ndarray, labels: np.ndarray, device: str) -> tuple[float, int]:
    """(accuracy, total output spikes) of the float model, with `hardware_accuracy`'s decision rule."""
    counts = output_counts(model, spikes, device)
    return float(np.mean(predict_from_counts(counts) == labels)), int(counts.sum())


def make_loss(name: str, true_rate: float, false_rate: float):
    if name == "spike_rate":
        return slayer.loss.SpikeRate(true_rate=true_rate, false_rate=false_rate, reduction="sum")
    if name == "spike_max":
        return slayer.loss.SpikeMax(mode="softmax", reduction="sum")
    raise ValueError(f"unknown loss {name!r}")


def fit_spiking(
    model: SpikingModel,
    data,
    context: FitContext,
    *,
    epochs: int,
    learning_rate: float,
    batch_size: int,
    loss: str,
    true_rate: float,
    false_rate: float,
    patience: int,
    phase: str,
    epoch_offset: int = 0,
    initial_accuracy: float | None = None,
) -> float:
    """Surrogate-gradient training with Adam; keeps the weights of the best validation epoch.

    `initial_accuracy` (the model's accuracy before training, e.g. right after ANN conversion)
    makes the starting weights a candidate for "best" too. Returns the best float validation accuracy. Raises `TrainingDiverged` on a non-finite
    loss and `TrainingPruned` when `epoch_callback` returns False.
    """
    device = context.device
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = make_loss(loss, true_rate, false_rate)
    spikes, labels = data.train_spikes, torch.as_tensor(data.train_labels, device=device)
    best_accuracy, best_state, waited = -1.0, None, 0
    if initial_accuracy is not None:
        best_accuracy, best_state = initial_accuracy, copy.deepcopy(model.state_dict())
    for epoch in range(epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(spikes), generator=context.generator).numpy()
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            output = model(to_tensor(spikes[index], device))
            batch_loss = loss_fn(output, labels[index])
            if not torch.isfinite(batch_loss):
                raise TrainingDiverged(
                    f"training diverged: {phase} loss is {batch_loss.item()} in epoch {epoch_offset + epoch}",
                    epochs_run=epoch_offset + epoch,
                )
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            total_loss += batch_loss.item()
            with torch.no_grad():
                predicted = predict_from_counts(output.sum(-1).cpu().numpy())
            correct += int(np.sum(predicted == data.train_labels[index]))
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise TrainingDiverged(f"training diverged: non-finite weights after {phase} epoch {epoch_offset + epoch}",
                                   epochs_run=epoch_offset + epoch + 1)
        accuracy, output_spikes = float_accuracy(model, data.validation_spikes, data.validation_labels, device)
        metrics = {
            "epoch": epoch_offset + epoch,
            "phase": phase,
            "loss": total_loss / len(order),
            "train_accuracy": correct / len(order),
            "validation_accuracy": accuracy,
            "validation_output_spikes_per_sample": output_spikes / len(data.validation_labels),
            "time_s": time.perf_counter() - started,
        }
        context.history.append(metrics)
        if accuracy > best_accuracy:
            best_accuracy, best_state, waited = accuracy, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        if context.epoch_callback is not None and context.epoch_callback(epoch_offset + epoch, dict(metrics)) is False:
            raise TrainingPruned(
                f"pruned by epoch_callback after epoch {epoch_offset + epoch} "
                f"(validation accuracy {accuracy:.3f})",
                epochs_run=epoch_offset + epoch + 1,
            )
        if patience and waited >= patience:
            metrics["early_stopped"] = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return best_accuracy if best_state is not None else math.nan
