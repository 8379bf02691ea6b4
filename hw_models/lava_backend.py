"""The Lava backend: the same `Network` run through Lava 0.10's own processes (fixed_pt).

This is the reference the numba core is held to. Processes are built directly from the
Network: `Dense` / `DelayDense` get the integer weights, `weight_exp` and `num_weight_bits`,
`LIF` gets `du - 1` (Lava adds its 1-bit current-decay offset back), `dv`, `vth`, bias.
One `Monitor` records every layer's spikes and, for the activity counts, u, v and the
synapse buffers.

Efficiency without giving up exactness: Lava pays ~1 s to start a run, so all samples of a
batch go into ONE run, concatenated in time, each followed by silent steps, with `LIFReset`
zeroing u and v at the first step of every sample. LIFReset cannot clear spikes still in
flight in the synapses, so the result equals separate runs exactly when no layer feeding
another spiked in the 1 + max_delay steps before a sample's first step; that condition is
checked on the recorded spikes, and every sample that violates it (a network that keeps
firing after its input ends) is re-run alone. Refractory periods are refused: Lava's
fixed-point LIF has none.
"""

from __future__ import annotations

import numpy as np

from hw_models.errors import HardwareError
from hw_models.lava_compat import ensure_lava_importable
from hw_models.network import Network
from hw_models.simulation import SimulationResult, counts_from_table, pipeline_delay_steps

SEARCH_STEPS = 64  # how far past T (+ pipeline delay) we look for a quiet moment to start the next sample
RESTART_COST_STEPS = 150  # a separate Lava run costs about as much as this many extra steps


def simulate_lava(network: Network, spikes: np.ndarray, record_layers: bool) -> SimulationResult:
    """Run validated uint8 spikes (batch, n_in, T) in Lava; see `hw_models.simulation.simulate`."""
    for index, layer in enumerate(network.layers):
        if layer.refractory:
            raise HardwareError(
                f"layer {index}: refractory={layer.refractory}, but Lava's fixed-point LIF has no refractory "
                "period (use the numba backend, or refractory=0)"
            )
    batch, _, steps = spikes.shape
    layer_spikes = [np.zeros((batch, layer.n_out, steps), dtype=np.uint8) for layer in network.layers]
    table = np.zeros((batch, len(network.layers), 6), dtype=np.int64)
    order, period = plan_batch(network, spikes)
    alone = [b for b in range(batch) if b not in order]
    if len(order) > 1:
        record = _run_in_lava(network, spikes[order], period)
        for position, b in enumerate(order):
            if position == 0 or _quiet_before(network, record, position * period):
                store_window(network, record, position * period, steps, spikes[b], b, layer_spikes, table)
            else:  # Lava disagreed with the plan: exactness first
                alone.append(b)
    else:
        alone.extend(order)
    for b in alone:
        record = _run_in_lava(network, spikes[b : b + 1], None)
        store_window(network, record, 0, steps, spikes[b], b, layer_spikes, table)
    return SimulationResult(
        output=layer_spikes[-1],
        layers=layer_spikes if record_layers else None,
        counts=counts_from_table(table, steps),
        backend="lava",
    )


def plan_batch(network: Network, spikes: np.ndarray) -> tuple[list[int], int]:
    """Which samples share one Lava run, in which order, and the period (steps per sample) that keeps it exact.

    A sample can follow another once everything feeding a synapse has been silent for
    1 + that synapse's max delay steps. The numba core (itself checked against Lava) predicts
    when each sample's activity dies out; the period minimises the estimated cost of the
    shared run plus separate runs for samples whose activity never dies out. Only a plan:
    `simulate_lava` re-checks the condition on Lava's own spikes.
    """
    from hw_models.simulation import simulate

    batch, n_in, steps = spikes.shape
    horizon = steps + pipeline_delay_steps(network) + SEARCH_STEPS
    padded = np.zeros((batch, n_in, horizon), dtype=np.uint8)
    padded[:, :, :steps] = spikes
    predicted = simulate(network, padded, backend="numba", record_layers=True).layers
    sources = [padded] + predicted[:-1]
    periods = np.arange(steps, horizon + 1)
    quiet = np.ones((batch, periods.size), dtype=bool)
    for layer, source in zip(network.layers, sources):
        busy = np.concatenate([np.zeros((batch, 1), dtype=np.int64), np.cumsum(source.any(axis=1), axis=1)], axis=1)
        start = np.maximum(periods - 1 - layer.max_delay, 0)
        quiet &= busy[:, periods] == busy[:, start]
    bad_counts = (~quiet).sum(axis=0)
    cost = batch * periods + np.maximum(bad_counts - 1, 0) * (RESTART_COST_STEPS + steps)
    best = int(np.argmin(cost))
    good = [b for b in range(batch) if quiet[b, best]]
    bad = [b for b in range(batch) if not quiet[b, best]]
    return good + bad[:1], int(periods[best])


def _run_in_lava(network: Network, spikes: np.ndarray, period: int | None) -> dict:
    """One Lava run of all samples (padded to `period` steps each, reset between them) -> recorded arrays."""
    ensure_lava_importable()  # also lets Lava's runtime import after numba fixed the start method
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF, LIFReset
    from lava.proc.monitor.process import Monitor

    batch, n_in, steps = spikes.shape
    if period is None:
        data = spikes[0].astype(np.int32)
    else:
        data = np.zeros((n_in, batch * period), dtype=np.int32)
        for b in range(batch):
            data[:, b * period : b * period + steps] = spikes[b]
    total = data.shape[1]
    source = Source(data=data)
    sinks, monitors = [], []
    synapses, neurons = [], []
    previous = source.s_out
    for index, layer in enumerate(network.layers):
        common = dict(
            weights=layer.weights.astype(np.int32),
            weight_exp=layer.weight_exponent,
            num_weight_bits=layer.num_weight_bits,
            name=f"synapse{index}",
        )
        if layer.delays is None:
            synapse = Dense(**common)
        else:
            synapse = DelayDense(delays=layer.delays.astype(int), max_delay=layer.max_delay, **common)
        neuron_args = dict(
            shape=(layer.n_out,),
            du=layer.du - 1,  # Lava's LIF adds 1 to du (its ds_offset)
            dv=layer.dv,
            vth=layer.vth,
            bias_mant=layer.bias.astype(np.int32),
            bias_exp=layer.bias_exp,
            name=f"neuron{index}",
        )
        if period is None:
            neuron = LIF(**neuron_args)
        else:
            # time_step counts from 1, sample b starts at time_step b * period + 1
            neuron = LIFReset(reset_interval=period, reset_offset=1, **neuron_args)
        previous.connect(synapse.s_in)
        synapse.a_out.connect(neuron.a_in)
        previous = neuron.s_out
        synapses.append(synapse)
        neurons.append(neuron)
        sink = Sink(shape=(layer.n_out,), buffer=total)
        neuron.s_out.connect(sink.a_in)
        sinks.append(sink)
        layer_monitors = {}
        for name, target in (("u", neuron.u), ("v", neuron.v), ("a_buff", synapse.a_buff)):
            layer_monitors[name] = Monitor()
            layer_monitors[name].probe(target, total)
        monitors.append(layer_monitors)
    try:
        source.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        spikes_out = [sink.data.get() for sink in sinks]
        states = [
            tuple(monitor.get_data()[target.process.name][target.name] for monitor, target in
                  ((mons["u"], neuron.u), (mons["v"], neuron.v), (mons["a_buff"], synapse.a_buff)))
            for mons, neuron, synapse in zip(monitors, neurons, synapses)
        ]
    finally:
        source.stop()
    return recording(data, spikes_out, states)


def recording(data: np.ndarray, spikes_out: list, states: list) -> dict:
    """A Lava run's sink spikes and monitored (u, v, synapse a_buff) per layer -> per-step arrays (n, total).

    `a_in[t]` is what the neuron receives at step t: the synapse buffer as it stood after t-1.
    """
    total = data.shape[1]
    record = {"input": data, "spikes": [], "u": [], "v": [], "a_in": []}
    for fired, (u, v, buffer) in zip(spikes_out, states):
        record["spikes"].append(np.asarray(fired).astype(np.uint8))
        record["u"].append(np.asarray(u).T.astype(np.int64))
        record["v"].append(np.asarray(v).T.astype(np.int64))
        buffer = np.asarray(buffer)
        if buffer.ndim == 3:  # DelayDense: column 0 is what the synapse sends next step
            buffer = buffer[:, :, 0]
        arriving = np.zeros((buffer.shape[1], total), dtype=np.int64)
        arriving[:, 1:] = buffer.T[:, :-1].astype(np.int64)
        record["a_in"].append(arriving)
    return record


def _quiet_before(network: Network, record: dict, start: int) -> bool:
    """True if nothing was in flight towards any layer at step `start` (so a reset there equals a fresh start)."""
    sources = [record["input"]] + record["spikes"][:-1]
    for layer, source in zip(network.layers, sources):
        if source[:, max(0, start - 1 - layer.max_delay) : start].any():
            return False
    return True


def store_window(network, record, start, steps, sample_input, b, layer_spikes, table) -> None:
    """Copy sample b's window [start, start + steps) of a recording into the outputs and count its activity."""
    stop = start + steps
    source = sample_input
    for index, layer in enumerate(network.layers):
        fired = record["spikes"][index][:, start:stop]
        layer_spikes[index][b] = fired
        u = record["u"][index][:, start:stop]
        v = record["v"][index][:, start:stop]
        a_in = record["a_in"][index][:, start:stop].copy()
        a_in[:, 0] = 0  # a fresh start (guaranteed by the quiet check)
        u_before = np.zeros_like(u)
        v_before = np.zeros_like(v)
        u_before[:, 1:] = u[:, :-1]
        v_before[:, 1:] = v[:, :-1]
        active = (u_before != 0) | (v_before != 0) | (a_in != 0) | (layer.bias != 0)[:, None]
        nonzero = layer.effective_weights() != 0
        per_input = source.sum(axis=1, dtype=np.int64)
        table[b, index, 0] = int(per_input.sum())
        table[b, index, 1] = int(per_input @ nonzero.sum(axis=0, dtype=np.int64))
        table[b, index, 2] = int(active.sum())
        table[b, index, 3] = active.size - int(active.sum())
        table[b, index, 4] = int(fired.sum())
        if layer.delays is not None:
            table[b, index, 5] = int(per_input @ (nonzero & (layer.delays > 0)).sum(axis=0, dtype=np.int64))
        source = fired
