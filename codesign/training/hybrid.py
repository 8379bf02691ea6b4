"""HYBRID: train an ANN on firing rates, convert it to the spiking network, fine-tune with spikes.

1. ANN: Conv2d+BatchNorm2d+ReLU (+ AvgPool2d) and bias-free Linear+ReLU layers in the trial's
   `Architecture`, on each channel's firing rate (the spike tensor's mean over time, as a
   (C, H, W) map for conv layers), so the ANN sees exactly the information the SNN gets.
2. Batch-norm folding: y = s * conv(x) + b with s = gamma / sqrt(var + eps) per channel and
   b = beta - mean * s, i.e. conv weights scaled by s and a per-channel bias b (the spiking
   conv neurons carry it as their bias: `quantize.ChannelBias`, exported as netx `bias`).
3. Conversion with threshold balancing (data-based normalization): lambda_l = the
   `percentile`-th percentile of layer l's positive ANN activations on the training set
   (lambda_0 = 1: input rates are already in [0, 1]); the spiking weights are
   W_l * lambda_{l-1} / lambda_l * threshold * current_decay (`units.current_gain`), so layer
   l fires at about activation / lambda_l spikes per step. The bias enters the voltage directly
   (not through the current), so it becomes b_l / lambda_l * threshold. An average pool becomes
   lava-dl's sum pool with the one weight 1 / k**2 * lambda_{l-1} / lambda_l * gain. This is exact
   in the rate limit for integrate-and-fire neurons (du = 4096, dv = 0); voltage leak (dv > 0)
   and reset to zero make spiking rates lower, which fine-tuning corrects.
4. Fine-tuning: the converted weights and biases load into the same lava-dl blocks SLAYER trains
   (quantization-aware at the trial's weight bits, same export), for `finetune_epochs`.

Conversion alone keeps the ANN's validation accuracy within 0.05 at generous timesteps
(T >= 64, du = 4096, dv = 0, 8-bit weights) on sklearn digits, dense and as 1x8x8 images
through a batch-normed conv layer: see tests/test_hybrid.py.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from codesign.training.base import FitContext, Trainer, TrainingData, TrainingDiverged, TrainingPruned
from codesign.training.slayer import check_rates, network_hyperparameters
from hyperparams import declare


class HybridTrainer(Trainer):
    """ANN-to-SNN conversion (threshold balancing) plus spike-based fine-tuning in lava-dl."""

    name = "hybrid"

    @classmethod
    def hyperparameters(cls) -> list[dict]:
        return [
            declare("ann_learning_rate", "float", 0.01, "Adam learning rate of the ANN", low=1e-5, high=1.0, log=True),
            declare("ann_epochs", "int", 20, "ANN training epochs (upper bound when early stopping is on)",
                    low=1, high=1000),
            declare("percentile", "float", 99.9,
                    "percentile of each layer's positive ANN activations that maps to one spike per step",
                    low=50.0, high=100.0),
            declare("finetune_learning_rate", "float", 0.001, "Adam learning rate of spike-based fine-tuning",
                    low=1e-6, high=1.0, log=True),
            declare("finetune_epochs", "int", 3, "spike-based fine-tuning epochs after conversion (0 = none)",
                    low=0, high=1000),
            *network_hyperparameters(),
        ]

    @classmethod
    def resolve(cls, params: dict) -> dict:
        return check_rates(super().resolve(params), cls.owner())

    def fit(self, params: dict, hardware, data: TrainingData, context: FitContext):
        from codesign.training.snn import SpikingModel, fit_spiking, float_accuracy

        architecture = self.architecture(params, data)
        ann = train_ann(architecture, params, data, context)
        weights, biases = convert(ann, rates(data.train_spikes, architecture), params["percentile"], hardware.vth,
                                  hardware.du)
        model = SpikingModel(
            architecture,
            hardware,
            delay_cap=hardware.max_delay if params["learn_delays"] else 0,
            tau_grad=params["tau_grad"],
            scale_grad=params["scale_grad"],
            conv_bias=True,
        )
        model.set_float_weights(weights, biases)
        model.to(context.device)
        converted, output_spikes = float_accuracy(model, data.validation_spikes, data.validation_labels, context.device)
        context.history.append({
            "epoch": len(context.history),
            "phase": "conversion",
            "validation_accuracy": converted,
            "validation_output_spikes_per_sample": output_spikes / len(data.validation_labels),
        })
        if params["finetune_epochs"] == 0:
            return model, converted
        accuracy = fit_spiking(
            model,
            data,
            context,
            epochs=params["finetune_epochs"],
            learning_rate=params["finetune_learning_rate"],
            batch_size=params["batch_size"],
            loss=params["loss"],
            true_rate=params["true_rate"],
            false_rate=params["false_rate"],
            patience=params["patience"],
            phase="finetune",
            epoch_offset=len(context.history),
            initial_accuracy=converted,
        )
        return model, accuracy


def rates(spikes: np.ndarray, architecture=None) -> np.ndarray:
    """Each channel's firing rate (spikes per step): what the ANN sees instead of the spike train
    ((N, C, H, W) maps when the architecture starts with conv layers)."""
    values = np.asarray(spikes, dtype=np.float32).mean(axis=2)
    if architecture is not None and architecture.convs:
        return values.reshape(len(values), *architecture.input_shape)
    return values


def build_ann(architecture):
    """Layers mirroring the spiking model's: batch-normed convs (folded into weights and a per-channel
    neuron bias at conversion), bias-free dense layers (their spiking neurons have no bias)."""
    import torch

    from codesign.training.architecture import Architecture

    if not isinstance(architecture, Architecture):
        sizes = tuple(int(size) for size in architecture)
        architecture = Architecture((sizes[0],), (), sizes)
    layers = []
    for conv in architecture.convs:
        layers += [torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel, stride=conv.stride,
                                   padding=conv.padding, bias=False),
                   torch.nn.BatchNorm2d(conv.out_channels), torch.nn.ReLU()]
        if conv.pool > 1:
            layers.append(torch.nn.AvgPool2d(conv.pool))
    if architecture.convs:
        layers.append(torch.nn.Flatten())
    sizes = architecture.dense_sizes
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(torch.nn.Linear(n_in, n_out, bias=False))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def train_ann(architecture, params: dict, data: TrainingData, context: FitContext):
    """Cross-entropy training of the rate ANN with Adam; keeps the best validation epoch."""
    import torch

    device = context.device
    ann = build_ann(architecture).to(device)
    optimizer = torch.optim.Adam(ann.parameters(), lr=params["ann_learning_rate"])
    x = torch.as_tensor(rates(data.train_spikes, architecture), device=device)
    y = torch.as_tensor(data.train_labels, device=device)
    x_val = torch.as_tensor(rates(data.validation_spikes, architecture), device=device)
    y_val = data.validation_labels
    best_accuracy, best_state, waited = -1.0, None, 0
    for epoch in range(params["ann_epochs"]):
        started = time.perf_counter()
        ann.train()
        order = torch.randperm(len(x), generator=context.generator).to(device)
        total = 0.0
        for start in range(0, len(order), params["batch_size"]):
            index = order[start:start + params["batch_size"]]
            loss = torch.nn.functional.cross_entropy(ann(x[index]), y[index])
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"training diverged: ANN loss is {loss.item()} in epoch {epoch}", epochs_run=epoch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        ann.eval()
        with torch.no_grad():
            accuracy = float(np.mean(ann(x_val).argmax(1).cpu().numpy() == y_val))
        metrics = {"epoch": epoch, "phase": "ann", "loss": total / len(order), "validation_accuracy": accuracy,
                   "time_s": time.perf_counter() - started}
        context.history.append(metrics)
        if accuracy > best_accuracy:
            best_accuracy, best_state, waited = accuracy, copy.deepcopy(ann.state_dict()), 0
        else:
            waited += 1
        if context.epoch_callback is not None and context.epoch_callback(epoch, dict(metrics)) is False:
            raise TrainingPruned(f"pruned by epoch_callback after ANN epoch {epoch} (validation accuracy {accuracy:.3f})",
                                 epochs_run=epoch + 1)
        if params["patience"] and waited >= params["patience"]:
            metrics["early_stopped"] = True
            break
    ann.load_state_dict(best_state)
    return ann


def fold_batch_norm(conv, norm) -> tuple[np.ndarray, np.ndarray]:
    """An eval-mode BatchNorm2d after a bias-free Conv2d as (scaled conv weights, per-channel bias)."""
    import torch

    scale = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).detach().cpu().numpy().astype(np.float64)
    shift = norm.bias.detach().cpu().numpy().astype(np.float64) - norm.running_mean.detach().cpu().numpy() * scale
    weight = conv.weight.detach().cpu().numpy().astype(np.float64) * scale[:, None, None, None]
    return weight, shift


def convert(ann, train_rates: np.ndarray, percentile: float, vth: int, du: int) -> tuple[list, list]:
    """Threshold balancing: float spiking weights per layer, conv (out, in, kH, kW), dense (out, in),
    and a pool's single weight, and each layer's per-channel bias in voltage units (None where the
    layer has none); see the module docstring."""
    import torch

    from codesign.training.units import current_gain, threshold_from_chip

    gain, threshold = current_gain(vth, du), threshold_from_chip(vth)
    weights, biases, previous_scale = [], [], 1.0
    activation = torch.as_tensor(train_rates, device=next(ann.parameters()).device)
    modules = list(ann)
    ann.eval()
    with torch.no_grad():
        for index, module in enumerate(modules):
            if isinstance(module, (torch.nn.BatchNorm2d, torch.nn.ReLU)):
                continue  # applied with the layer they follow
            activation = module(activation)
            if isinstance(module, torch.nn.Flatten):
                continue
            following = modules[index + 1:index + 3] + [None, None]
            norm = following[0] if isinstance(following[0], torch.nn.BatchNorm2d) else None
            if norm is not None:
                activation = norm(activation)
            if isinstance(following[1 if norm is not None else 0], torch.nn.ReLU):
                activation = torch.relu(activation)  # balance on what the next layer sees
            positive = activation[activation > 0].cpu().numpy()
            scale = float(np.percentile(positive, percentile)) if positive.size else 1.0
            scale = scale if scale > 0 else 1.0
            bias = None
            if isinstance(module, torch.nn.AvgPool2d):
                weight = np.float64(1.0 / module.kernel_size**2)
            elif norm is not None:
                weight, shift = fold_batch_norm(module, norm)
                bias = shift / scale * threshold
            else:
                weight = module.weight.cpu().numpy().astype(np.float64)
            weights.append(weight * previous_scale / scale * gain)
            biases.append(bias)
            previous_scale = scale
    return weights, biases
