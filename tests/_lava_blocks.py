"""Networks built from lava-dl's own slayer blocks (random weights) and exported by lava-dl's `export_hdf5`.

The shapes are those of the networks lava-dl ships (PilotNet LIF, its conv test network, the
bootstrap MNIST example); the trained files are not on this machine, so the weights are random,
scaled so that the layers spike.
"""

from __future__ import annotations

import h5py
import numpy as np

from hw_models.lava_compat import ensure_lava_importable


def _slayer():
    ensure_lava_importable()
    import torch
    from lava.lib.dl import slayer

    return torch, slayer


def neuron_params(threshold=0.5, current_decay=0.25, voltage_decay=0.03) -> dict:
    return {"threshold": threshold, "current_decay": current_decay, "voltage_decay": voltage_decay, "requires_grad": False}


def export_blocks(path, blocks, input_shape, *, seed=0, input_group=True, biases=False, steps=4):
    """Run one forward pass (it sets the blocks' shapes), then export them after a shape-only input layer.

    `biases` adds lava-dl-style biases: per channel on conv layers, per neuron on dense ones.
    """
    torch, _ = _slayer()
    torch.manual_seed(seed)
    with torch.no_grad():
        x = torch.zeros(1, *input_shape, steps)
        for block in blocks:
            x = block(x)
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        offset = 0
        if input_group:
            group = layers.create_group("0")
            group.create_dataset("type", (1,), "S10", [b"input"])
            group.create_dataset("shape", data=np.array(input_shape))
            offset = 1
        for index, block in enumerate(blocks):
            group = layers.create_group(str(index + offset))
            block.export_hdf5(group)
            if biases and "neuron" in group and _string(group["type"]) in ("conv", "dense"):
                n = int(group["outChannels"][()]) if "outChannels" in group else int(np.prod(group["shape"][()]))
                group.create_dataset("bias", data=rng.integers(-20, 40, n).astype(np.float32))
    return path


def _string(dataset) -> str:
    value = dataset[()]
    value = value.reshape(-1)[0] if isinstance(value, np.ndarray) else value
    return value.decode() if isinstance(value, bytes) else str(value)


def scaled(block, factor: float):
    torch, _ = _slayer()
    with torch.no_grad():
        for synapse in (getattr(block, "synapse", None), getattr(block, "recurrent_synapse", None)):
            if synapse is not None:
                synapse.weight.mul_(factor)
    return block


def pilotnet_lif(path, seed=0):
    """PilotNet LIF's shape: an input neuron on 3x66x200, five strided convs, flatten, four dense, a 10->1 readout."""
    torch, slayer = _slayer()
    torch.manual_seed(seed)
    p = neuron_params()
    cuba = slayer.block.cuba
    blocks = [
        cuba.Input(p, weight=1, bias=0),
        scaled(cuba.Conv(p, 3, 24, 3, padding=0, stride=2, weight_norm=False), 6),
        scaled(cuba.Conv(p, 24, 36, 3, padding=0, stride=2, weight_norm=False), 6),
        scaled(cuba.Conv(p, 36, 64, 3, padding=(1, 0), stride=(2, 1), weight_norm=False), 6),
        scaled(cuba.Conv(p, 64, 64, 3, padding=0, stride=1, weight_norm=False), 6),
        scaled(cuba.Conv(p, 64, 64, 3, padding=0, stride=2, weight_norm=False), 6),
        cuba.Flatten(),
        scaled(cuba.Dense(p, 64 * 2 * 22, 100, weight_norm=False), 6),
        scaled(cuba.Dense(p, 100, 50, weight_norm=False), 6),
        scaled(cuba.Dense(p, 50, 10, weight_norm=False), 6),
        cuba.Affine(p, 10, 1, weight_norm=False),
    ]
    return export_blocks(path, blocks, (3, 66, 200), seed=seed, input_group=False, biases=True)


def conv_test_network(path, seed=0, biases=False):
    """lava-dl's netx conv test network's shape: an input neuron on 3x16x16, two 5x5 stride-2 convs."""
    torch, slayer = _slayer()
    torch.manual_seed(seed)
    p = neuron_params()
    cuba = slayer.block.cuba
    blocks = [
        cuba.Input(p, weight=1, bias=0),
        scaled(cuba.Conv(p, 3, 8, 5, padding=2, stride=2, weight_norm=False), 4),
        scaled(cuba.Conv(p, 8, 8, 5, padding=2, stride=2, weight_norm=False), 4),
    ]
    return export_blocks(path, blocks, (3, 16, 16), seed=seed, input_group=False, biases=biases)


def bootstrap_mnist(path, seed=0):
    """lava-dl's bootstrap MNIST example's shape: an input neuron, two dense layers, a dense readout without neuron."""
    torch, slayer = _slayer()
    torch.manual_seed(seed)
    p = neuron_params()
    cuba = slayer.block.cuba
    blocks = [
        cuba.Input(p, weight=1, bias=0),
        scaled(cuba.Dense(p, 28 * 28, 64, weight_norm=False), 8),
        scaled(cuba.Dense(p, 64, 32, weight_norm=False), 8),
        cuba.Dense(p, 32, 10, weight_norm=False),
    ]
    export_blocks(path, blocks, (28 * 28,), seed=seed, input_group=False)
    with h5py.File(path, "a") as handle:  # the readout: netx gives a dense layer without 'neuron' its integrator
        del handle["layer/3/neuron"]
    return path
