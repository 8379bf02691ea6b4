"""The sigma-delta model the `sdnn` trainer fits (see `codesign.training.sdnn`); imports torch and lava-dl."""

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
from codesign.training.evaluate import predict_from_values  # noqa: E402
from codesign.training.quantize import WeightQuantizer  # noqa: E402
from codesign.training.sdnn import FRAME_SCALE, MESSAGE_STEP, with_message_bits  # noqa: E402

EVAL_BATCH = 256


def _unquantized(x, descale=False):
    """The Input block's hook: frames / 64 are already on the chip's grid (lava-dl's rounds to even levels)."""
    return x


class _MessageGrid(torch.autograd.Function):
    """Round a message to the chip's grid and saturate it at `limit` grid steps; gradients pass straight through."""

    @staticmethod
    def forward(ctx, messages, limit):
        return (torch.round(messages * MESSAGE_STEP).clamp(-limit, limit)) / MESSAGE_STEP

    @staticmethod
    def backward(ctx, gradient):
        return gradient, None


class SigmaDeltaModel(torch.nn.Module):
    """Delta input, optional convs, flatten, hidden dense blocks, Sigma output; input (batch, n, T) frames / 64."""

    def __init__(self, architecture: Architecture, *, weight_bits: int, threshold: float, input_threshold: int,
                 message_bits: int, tau_grad: float = 0.5, scale_grad: float = 1.0, weight_scale: float = 1.0):
        super().__init__()
        self.architecture = architecture
        self.message_bits = int(message_bits)
        self.message_limit = float((1 << (self.message_bits - 1)) - 1)
        self.quantizer = WeightQuantizer(weight_bits)
        sd = slayer.block.sigma_delta
        neuron = {"threshold": float(threshold), "activation": torch.nn.functional.relu, "tau_grad": tau_grad,
                  "scale_grad": scale_grad, "requires_grad": False}
        blocks = [sd.Input({**neuron, "threshold": int(input_threshold) / FRAME_SCALE})]
        blocks[0].pre_hook_fx = _unquantized
        synapse = {"weight_scale": weight_scale, "weight_norm": False, "pre_hook_fx": self.quantizer}
        for conv in architecture.convs:
            blocks.append(sd.Conv(neuron, conv.in_channels, conv.out_channels, conv.kernel, stride=conv.stride,
                                  padding=conv.padding, **synapse))
        if architecture.convs:
            blocks.append(sd.Flatten())
        sizes = architecture.dense_sizes
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            blocks.append(sd.Dense(neuron, n_in, n_out, **synapse))
        output = sd.Output(neuron, sizes[-2], sizes[-1], weight_scale=weight_scale, weight_norm=False)
        output.synapse.pre_hook_fx = self.quantizer
        blocks.append(output)
        self.blocks = torch.nn.ModuleList(blocks)
        with torch.no_grad():  # lava-dl sizes its neurons at the first forward pass (it draws nothing)
            self(torch.zeros(1, int(np.prod(architecture.input_shape)), 2))

    def forward(self, frames: torch.Tensor, messages: list | None = None) -> torch.Tensor:
        """Sigma output (batch, classes, T); `messages` collects each hidden block's messages."""
        x = frames
        if self.architecture.convs and x.ndim == 3:
            x = x.reshape(x.shape[0], *self.architecture.input_shape, x.shape[-1])
        last = len(self.blocks) - 1
        for index, block in enumerate(self.blocks):
            x = block(x)
            if 0 < index < last and not isinstance(block, slayer.block.sigma_delta.Flatten):
                x = _MessageGrid.apply(x, self.message_limit)
                if messages is not None:
                    messages.append(x)
        return x

    def output_sums(self, frames: np.ndarray, device: str) -> np.ndarray:
        """(batch, classes) Sigma output summed over the steps, in float units."""
        self.eval()
        sums = []
        with torch.no_grad():
            for start in range(0, len(frames), EVAL_BATCH):
                sums.append(self(to_tensor(frames[start:start + EVAL_BATCH], device)).sum(-1).cpu().numpy())
        return np.concatenate(sums)

    def float_accuracy(self, frames: np.ndarray, labels: np.ndarray, device: str) -> tuple[float, int]:
        """(accuracy, outputs that are not all zero) with `hardware_accuracy`'s decision rule."""
        sums = self.output_sums(frames, device)
        return float(np.mean(predict_from_values(sums) == labels)), int(np.count_nonzero(np.any(sums != 0, axis=1)))

    def hardware_network(self, network):
        return with_message_bits(network, self.message_bits)

    def export_netx(self, path: Path) -> Path:
        """Write the netx HDF5 file with lava-dl's `export_hdf5` (netx sizes convs from the Input block), atomically."""
        from hw_models.netx import atomic_hdf5

        with atomic_hdf5(path, written_by="neuro-codesign (lava-dl sigma_delta export_hdf5)") as handle:
            layers = handle.create_group("layer")
            for index, block in enumerate(self.blocks):
                block.export_hdf5(layers.create_group(str(index)))
        return Path(path)


def to_tensor(frames: np.ndarray, device: str) -> torch.Tensor:
    return torch.as_tensor(np.asarray(frames), dtype=torch.float32, device=device) / FRAME_SCALE


def fit_sigma_delta(model: SigmaDeltaModel, data, context: FitContext, *, epochs: int, learning_rate: float,
                    batch_size: int, sparsity: float, patience: int) -> float:
    """Adam on cross-entropy of the time-averaged Sigma output (+ the message penalty); keeps the best
    validation epoch's weights. Raises `TrainingDiverged` / `TrainingPruned` as `snn.fit_spiking` does."""
    device = context.device
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    frames, labels = data.train_spikes, torch.as_tensor(data.train_labels, device=device)
    best_accuracy, best_state, waited = -1.0, None, 0
    for epoch in range(epochs):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(frames), generator=context.generator).numpy()
        total_loss, correct, activity = 0.0, 0, 0.0
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            messages: list = []
            output = model(to_tensor(frames[index], device), messages)
            loss = torch.nn.functional.cross_entropy(output.mean(-1), labels[index], reduction="sum")
            penalty = sum(message.abs().mean() for message in messages) if messages else torch.zeros((), device=device)
            batch_loss = loss + sparsity * len(index) * penalty
            if not torch.isfinite(batch_loss):
                raise TrainingDiverged(f"training diverged: sdnn loss is {batch_loss.item()} in epoch {epoch}",
                                       epochs_run=epoch)
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            total_loss += batch_loss.item()
            activity += float(penalty.detach()) * len(index)
            with torch.no_grad():
                correct += int(np.sum(predict_from_values(output.sum(-1).cpu().numpy()) == data.train_labels[index]))
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise TrainingDiverged(f"training diverged: non-finite weights after sdnn epoch {epoch}", epochs_run=epoch + 1)
        accuracy, _ = model.float_accuracy(data.validation_spikes, data.validation_labels, device)
        metrics = {"epoch": epoch, "phase": "sdnn", "loss": total_loss / len(order),
                   "train_accuracy": correct / len(order), "validation_accuracy": accuracy,
                   "mean_message_magnitude": activity / len(order), "time_s": time.perf_counter() - started}
        context.history.append(metrics)
        if accuracy > best_accuracy:
            best_accuracy, best_state, waited = accuracy, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        if context.epoch_callback is not None and context.epoch_callback(epoch, dict(metrics)) is False:
            raise TrainingPruned(f"pruned by epoch_callback after epoch {epoch} (validation accuracy {accuracy:.3f})",
                                 epochs_run=epoch + 1)
        if patience and waited >= patience:
            metrics["early_stopped"] = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return best_accuracy if best_state is not None else math.nan
