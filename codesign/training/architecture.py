"""A trial's network shape: convolutional layers (optional), flatten, dense layers, output.

One description (`Architecture`) serves the torch model (`snn.SpikingModel`), the HYBRID
ANN and the capacity check before training, so the three cannot disagree. Conv layers use
"same"-style padding (kernel // 2) and the trial's stride; `pool` > 1 adds a `pool` x `pool`
sum pooling (lava-dl's Pool block, which `hw_models.netx` reads as a depthwise strided conv
that netx can load) after each conv layer. With `conv_layers = 0` (or an input that is not a
2-D map) the network is today's dense stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hyperparams import declare


def architecture_hyperparameters() -> list[dict]:
    return [
        declare("conv_layers", "int", 0, "convolutional layers before the dense ones (0 = a dense stack); "
                "needs a dataset with 2-D samples (input_shape)", low=0, high=4),
        declare("conv_channels", "int", 8, "output channels of the first conv layer", low=1, high=256, log=True),
        declare("channel_growth", "int", 1, "each further conv layer has this many times the channels of the one "
                "before (1 = all equal, 2 = doubling)", low=1, high=4),
        declare("kernel_size", "int", 3, "conv kernel size (square), padded to keep the map ('same' at stride 1)",
                low=1, high=9),
        declare("conv_stride", "int", 1, "conv stride", low=1, high=4),
        declare("pool", "int", 1, "sum pooling window (and stride) after each conv layer; 1 = none", low=1, high=4),
    ]


@dataclass(frozen=True)
class ConvSpec:
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    in_map: tuple[int, int]
    out_map: tuple[int, int]
    pool: int  # sum-pool window after the conv (1 = none)
    pooled_map: tuple[int, int]


@dataclass(frozen=True)
class Architecture:
    input_shape: tuple  # (n,) or (C, H, W)
    convs: tuple[ConvSpec, ...]
    dense_sizes: tuple[int, ...]  # from the flattened input of the first dense layer to the outputs
    problem: str | None = None  # why this shape cannot be built (a kernel larger than the map, ...)

    @property
    def is_conv(self) -> bool:
        return bool(self.convs)

    def describe(self) -> str:
        parts = ["x".join(map(str, self.input_shape))]
        for conv in self.convs:
            parts.append(f"conv{conv.kernel}s{conv.stride}:{conv.out_channels}x{conv.out_map[0]}x{conv.out_map[1]}")
            if conv.pool > 1:
                parts.append(f"pool{conv.pool}:{conv.out_channels}x{conv.pooled_map[0]}x{conv.pooled_map[1]}")
        return "-".join(parts + [str(size) for size in self.dense_sizes[1:]])


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def build_architecture(params: dict, input_shape: tuple | None, n_inputs: int, n_classes: int) -> Architecture:
    """The shape of the trial's network; `problem` says why it cannot exist (it becomes an infeasible trial)."""
    hidden = [int(params["hidden_size"])] * int(params["hidden_layers"])
    layers = int(params.get("conv_layers", 0))
    if layers == 0 or input_shape is None or len(input_shape) != 3:
        problem = None
        if layers and (input_shape is None or len(input_shape) != 3):
            problem = (f"conv_layers = {layers} needs 2-D samples, but these are flat ({n_inputs} channels: the dataset "
                       "has no (C, H, W) map, or the encoder spreads each value over several channels)")
        return Architecture((n_inputs,), (), (n_inputs, *hidden, n_classes), problem)
    channels, height, width = (int(size) for size in input_shape)
    kernel, stride, pool = int(params["kernel_size"]), int(params["conv_stride"]), int(params["pool"])
    convs, size = [], (height, width)
    for index in range(layers):
        if kernel > min(size):
            return Architecture(tuple(input_shape), tuple(convs), (), f"conv layer {index}: a {kernel}x{kernel} kernel "
                                f"is larger than its {size[0]}x{size[1]} input map")
        padding = kernel // 2
        out = (_out_size(size[0], kernel, stride, padding), _out_size(size[1], kernel, stride, padding))
        if min(out) < 1:
            return Architecture(tuple(input_shape), tuple(convs), (), f"conv layer {index}: a {kernel}x{kernel} kernel "
                                f"with stride {stride} leaves nothing of a {size[0]}x{size[1]} map")
        pooled = (out[0] // pool, out[1] // pool)
        if min(pooled) < 1:
            return Architecture(tuple(input_shape), tuple(convs), (), f"conv layer {index}: {pool}x{pool} pooling "
                                f"leaves nothing of a {out[0]}x{out[1]} map")
        out_channels = int(params["conv_channels"]) * int(params.get("channel_growth", 1)) ** index
        convs.append(ConvSpec(channels, out_channels, kernel, stride, padding, size, out, pool, pooled))
        channels, size = out_channels, pooled
    flat = int(channels * size[0] * size[1])
    return Architecture(tuple(int(s) for s in input_shape), tuple(convs), (flat, *hidden, n_classes))


def cheapest_network(architecture: Architecture, learn_delays: bool):
    """The cheapest hardware network of this shape (1-bit excitatory weights), for the capacity check."""
    from hw_models.network import ConvLayer, DenseLayer, Network

    layers = []
    for conv in architecture.convs:
        layers.append(ConvLayer(np.ones((conv.out_channels, conv.in_channels, conv.kernel, conv.kernel), np.int32),
                                (conv.in_channels, *conv.in_map), du=0, dv=0, vth=1, stride=conv.stride,
                                padding=conv.padding))
        if conv.pool > 1:
            layers.append(ConvLayer(np.ones((conv.out_channels, 1, conv.pool, conv.pool), np.int32),
                                    (conv.out_channels, *conv.out_map), du=0, dv=0, vth=1, stride=conv.pool,
                                    groups=conv.out_channels))
    sizes = architecture.dense_sizes
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        delays = np.zeros((n_out, n_in), np.int32) if learn_delays and index < len(sizes) - 2 else None
        layers.append(DenseLayer(np.ones((n_out, n_in), np.int32), du=0, dv=0, vth=1, num_weight_bits=1, delays=delays))
    return Network(tuple(layers), input_shape=architecture.input_shape if architecture.is_conv else None)
