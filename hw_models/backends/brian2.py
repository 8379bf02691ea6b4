"""The Brian2 backend: a floating-point reference model of the same network.

Why: an independent, widely used simulator running the *ideal* CUBA-LIF dynamics the chip
approximates, to see what the fixed-point arithmetic costs (it is a reference, not
bit-exact). Per step, in chip units (the same scaling as Lava's, without its rounding):

    u = u * (1 - du/4096) + sum of arriving weights * 2**weight_exponent * 2**6
    v = v * (1 - dv/4096) + u + bias_mant * 2**bias_exp
    spike if v > vth * 2**6, then v = 0

No 12-bit rounding of the decays, no 24-bit wrap of u, no clip of v, and the exponent
scales each weight instead of flooring a sum. Timing, synaptic delays, weight truncation
(effective weights) and refractory steps (v held at 0, no spike) are the numba core's, so
networks that stay exactly representable (decays 0 or 4096, no overflow, exponents >= 0)
give identical spikes. Samples run side by side in one Brian2 network (block-diagonal
synapses), with the numpy code generation target to avoid C++ compile time.

Activity counts follow `hw_models.backends.result`; a state counts as non-zero when |u| or |v| is
at least 1 (one least significant bit), the float counterpart of the chip's rounding to 0.
"""

from __future__ import annotations

import warnings

import numpy as np

from hw_models.activity import ActivityCounts
from hw_models.backends.result import SimulationResult, layer_counts, zero_counts
from hw_models.errors import HardwareError
from hw_models.network import Network


def simulate(network: Network, spikes: np.ndarray, record_layers: bool, cache: dict | None = None) -> SimulationResult:
    """Run validated uint8 spikes (batch, n_in, T) in Brian2 (nothing is worth caching: `cache` is unused)."""
    if not network.is_dense:
        raise HardwareError(
            "the brian2 backend is a floating-point cross-check of dense stacks; conv, recurrent, readout and "
            "input-neuron layers run on the numba and lava backends"
        )
    with warnings.catch_warnings():  # brian2 2.9 still calls pyparsing's deprecated camelCase API
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(pyparsing|brian2)(\.|$)")
        return _simulate_brian2(network, spikes, record_layers)


def _simulate_brian2(network: Network, spikes: np.ndarray, record_layers: bool) -> SimulationResult:
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    batch, n_in, steps = spikes.shape
    dt = 1 * b2.ms
    objects = []
    sample, channel, step = np.nonzero(spikes)
    source = b2.SpikeGeneratorGroup(batch * n_in, sample * n_in + channel, step * dt, dt=dt, name="input")
    objects.append(source)
    groups, monitors = [], []
    for index, layer in enumerate(network.layers):
        n_out = layer.n_out
        group = b2.NeuronGroup(
            batch * n_out,
            """
            u : 1
            v : 1
            inbox : 1
            bias : 1
            keep_u : 1 (shared, constant)
            keep_v : 1 (shared, constant)
            vth : 1 (shared, constant)
            refractory_steps : 1 (shared, constant)
            refractory_left : 1
            frozen : 1
            active_steps : 1
            """,
            threshold="v > vth and frozen < 0.5",
            reset="v = 0\nrefractory_left = refractory_steps",
            dt=dt,
            name=f"neurons{index}",
        )
        group.keep_u = 1.0 - layer.du / 4096.0
        group.keep_v = 1.0 - layer.dv / 4096.0
        group.vth = float(layer.vth) * 64.0
        group.refractory_steps = float(layer.refractory)
        group.bias = np.tile(layer.bias.astype(np.float64) * 2.0**layer.bias_exp, batch)
        group.run_regularly(
            """
            active_steps += int(abs(u) >= 1 or abs(v) >= 1 or inbox != 0 or bias != 0)
            u = u * keep_u + inbox
            inbox = 0
            frozen = int(refractory_left > 0)
            v = (1 - frozen) * (v * keep_v + u + bias)
            refractory_left = clip(refractory_left - 1, 0, refractory_steps)
            """,
            when="groups",
            name=f"update{index}",
        )
        effective = layer.effective_weights().astype(np.float64) * 2.0**layer.weight_exponent * 64.0
        post, pre = np.nonzero(effective)
        synapses = b2.Synapses(source if index == 0 else groups[-1], group, "w : 1", on_pre="inbox_post += w", dt=dt, name=f"synapses{index}")
        offsets_in = np.repeat(np.arange(batch) * layer.n_in, pre.size)
        offsets_out = np.repeat(np.arange(batch) * n_out, post.size)
        if pre.size:
            synapses.connect(i=np.tile(pre, batch) + offsets_in, j=np.tile(post, batch) + offsets_out)
            synapses.w = np.tile(effective[post, pre], batch)
            if layer.delays is not None:
                synapses.delay = np.tile(layer.delays[post, pre].astype(np.float64), batch) * dt
        monitor = b2.SpikeMonitor(group, name=f"spikes{index}")
        groups.append(group)
        monitors.append(monitor)
        objects.extend([group, synapses, monitor])
    net = b2.Network(*objects)
    net.run(steps * dt, namespace={})

    layer_spikes = []
    counts = zero_counts(batch, len(network.layers))
    previous = spikes
    for index, (layer, group, monitor) in enumerate(zip(network.layers, groups, monitors)):
        fired = np.zeros((batch, layer.n_out, steps), dtype=np.uint8)
        neuron = np.asarray(monitor.i[:], dtype=np.int64)
        when = np.rint(np.asarray(monitor.t / dt)).astype(np.int64)
        fired[neuron // layer.n_out, neuron % layer.n_out, when] = 1
        layer_spikes.append(fired)
        active = np.asarray(group.active_steps[:]).reshape(batch, layer.n_out).sum(axis=1).astype(np.int64)
        observed = layer_counts(layer, previous.sum(axis=2, dtype=np.int64), active, fired.sum(axis=(1, 2), dtype=np.int64), steps)
        for name, value in observed.items():
            counts[name][:, index] = value
        previous = fired
    return SimulationResult(
        output=layer_spikes[-1],
        layers=layer_spikes if record_layers else None,
        counts=ActivityCounts(**counts, timesteps=steps),
        backend="brian2",
    )
