"""Shared pieces of the core/backend tests: random networks that actually spike, input spikes, a lava-dl export."""

from __future__ import annotations

import h5py
import numpy as np
from hypothesis import strategies as st

from hw_models import DenseLayer, Network
from hw_models.lava_compat import ensure_lava_importable

THRESHOLD_MAX = 131071  # Lava's 17-bit vth


def random_spikes(batch: int, n_in: int, steps: int, density: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, n_in, steps)) < density).astype(np.uint8)


def decays() -> st.SearchStrategy[int]:
    """0..4096 with the edges (no decay, full decay) drawn often: they are where off-by-ones live."""
    return st.one_of(st.sampled_from([0, 1, 4095, 4096]), st.integers(0, 4096))


@st.composite
def spiking_layer(draw, n_in: int, n_out: int, density: float) -> DenseLayer:
    """A layer whose threshold is scaled to the drive it gets, so that it fires (inhibitory ones through bias)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["mixed", "excitatory", "inhibitory"]))
    if mode == "mixed":
        weights = rng.integers(-256, 256, (n_out, n_in))
        weights[0, 0], weights[-1, -1] = 200, -200  # guarantee both signs
    elif mode == "excitatory":
        weights = rng.integers(0, 256, (n_out, n_in))
    else:
        weights = -rng.integers(0, 257, (n_out, n_in))
    num_weight_bits = draw(st.integers(1, 8))
    weight_exponent = draw(st.integers(-8, 7))
    du, dv = draw(decays()), draw(decays())
    probe = DenseLayer(weights=weights, du=du, dv=dv, vth=0, weight_exponent=weight_exponent, num_weight_bits=num_weight_bits)
    drive = max(np.clip(probe.effective_weights(), 0, None).sum(axis=1).mean() * density, 1.0) * 2.0**weight_exponent
    bias, bias_exp = None, 6
    if mode == "inhibitory" or draw(st.booleans()):
        bias_exp = draw(st.integers(0, 7))
        low = 1 if mode == "inhibitory" else -300
        bias = rng.integers(low, 400, n_out)
        if mode == "inhibitory":
            drive = max(float(np.mean(bias)) * 2.0 ** (bias_exp - 6), 1.0)
    vth = int(np.clip(drive * draw(st.floats(0.05, 2.0)), 0, THRESHOLD_MAX))
    delays = None
    if draw(st.booleans()):
        max_delay = draw(st.sampled_from([1, 3, 8, 62]))
        delays = rng.integers(0, max_delay + 1, (n_out, n_in))
    return DenseLayer(
        weights=weights,
        du=du,
        dv=dv,
        vth=vth,
        weight_exponent=weight_exponent,
        num_weight_bits=num_weight_bits,
        delays=delays,
        bias=bias,
        bias_exp=bias_exp,
    )


@st.composite
def spiking_networks(draw, max_layers: int = 3, max_size: int = 10) -> tuple[Network, float]:
    """(network, input density): 1..max_layers dense CUBA layers over every integer format Lava has."""
    density = draw(st.sampled_from([0.1, 0.25, 0.5, 0.8]))
    n_layers = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(2, max_size)) for _ in range(n_layers + 1)]
    layers = []
    layer_density = density
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers.append(draw(spiking_layer(n_in, n_out, layer_density)))
        layer_density = 0.3
    return Network(tuple(layers)), density


def export_slayer_network(path, *, sizes=(10, 8, 4), delay=False, seed=0, current_decay=0.25, voltage_decay=0.03):
    """A small lava-dl slayer CUBA network with weights large enough to spike, exported by lava-dl itself."""
    ensure_lava_importable()
    import torch
    from lava.lib.dl import slayer

    torch.manual_seed(seed)
    neuron_params = {
        "threshold": 0.5,
        "current_decay": current_decay,
        "voltage_decay": voltage_decay,
        "requires_grad": False,
    }
    blocks = [
        slayer.block.cuba.Dense(neuron_params, n_in, n_out, weight_norm=False, delay=delay and index == 0)
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]))
    ]
    with torch.no_grad():
        for block in blocks:
            block.synapse.weight.mul_(4.0)
        x = torch.zeros(1, sizes[0], 4)
        for block in blocks:
            x = block(x)
        for block in blocks:  # slayer draws delays in [0, 1) at the first forward pass: set them after it
            if block.delay is not None:
                block.delay.delay.copy_(torch.arange(block.delay.delay.numel()).reshape(block.delay.delay.shape) % 5)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        for index, block in enumerate(blocks):
            block.export_hdf5(layers.create_group(str(index)))
    return path
