"""All Lava execution: a `Network`, or the netx file it was read from, run in Lava 0.10's
simulated Loihi (`Loihi2SimCfg`, fixed_pt). The reference the numba core is held to, and how
an export is deployed.

Two ways to build the Lava graph (engines):

- processes (`ENGINE_PROCESSES`, the "lava" backend of `simulate`): built from the Network.
  `Dense` / `DelayDense` get the integer weights, `weight_exp` and `num_weight_bits`, `LIF`
  gets `du - 1` (Lava adds its 1-bit current-decay offset back), `dv`, `vth`, bias. Every
  layer resets at the first step of a sample (aligned resets).
- netx (`ENGINE_NETX`): the file a user deploys,
  `lava.lib.dl.netx.hdf5.Network(net_config, reset_interval=P)`. netx staggers the resets:
  layer l resets at step l of every period, when the sample's first spikes can reach it. A
  fresh layer with a bias would integrate it before that reset, so netx runs only bias-free
  networks exactly (`lava_engine` picks the engine an export can use).

Efficiency without giving up exactness: Lava pays about a second to start a run, so the
samples of a batch share ONE run, P steps apart, with neuron state reset at each sample's
start. A reset cannot clear spikes still in flight in the synapses, so the shared run equals
separate fresh runs exactly when, at each layer's reset, nothing of the previous sample is
still on its way into it: its source (the input, or layer l-1) was silent in the 1 + max_delay
steps before that reset, counting only the source's steps that still belong to the previous
sample (`_quiet_windows`). `plan_batch` predicts with the numba core when each sample falls
quiet and picks P; the run re-checks the condition on Lava's own spikes, and every sample that
breaks it is run again alone. Outputs and activity counts come from Lava's own spikes,
currents and voltages (Monitors), windowed per sample exactly as a fresh run would see them.

Networks with conv, recurrent or readout layers run through netx (the processes engine builds
only plain dense stacks): the network is written to a temporary netx file when it has none.
Spike tensors are (x, y, c) per step in Lava and C, H, W flattened here; the conversion is
`_to_lava` / `_by_neuron`. Refractory periods are refused: Lava's fixed-point LIF has none,
An input layer with a neuron is driven as lava-dl deploys one: a `StateDataloader` writes
frame t to its neurons' `bias_mant` after step t (such networks run sample by sample).

Sigma-delta networks (graded spikes) run through netx too, each sample alone (netx cannot reset
sigma-delta neurons): a Delta input layer gets frame t on its neurons' `a_in` at step t (a
source connected to the Delta process inside the netx block); every layer's messages are
recorded (sinks, int32) and its sigma, act and residue (Monitors) give the activity counts.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hw_models.activity import ActivityCounts
from hw_models.backends import numba_core
from hw_models.backends.result import SimulationResult, layer_counts, zero_counts
from hw_models.backends.spikes import append_silence, check_spikes, pipeline_delay_steps
from hw_models.errors import HardwareError
from hw_models.lava_compat import ensure_lava_importable, import_lava_dl
from hw_models.network import Network

ENGINE_PROCESSES = "processes"
ENGINE_NETX = "netx"
ENGINES = (ENGINE_PROCESSES, ENGINE_NETX)
SEARCH_STEPS = 64  # how far past T (+ pipeline delay) the planner looks for a quiet moment to start the next sample
RESTART_COST_STEPS = 150  # a separate Lava run costs about as much as this many extra steps


@dataclass(frozen=True)
class BatchPlan:
    period: int  # steps per sample in the shared run: the reset interval
    shared: list[int]  # samples that share one Lava run, in this order
    alone: list[int]  # samples predicted never to fall quiet in time: each runs by itself


@dataclass(frozen=True)
class LavaRun:
    result: SimulationResult  # every layer's spikes and the counts, per sample as a fresh run sees them
    engine: str
    reset_interval: int
    rerun_alone: list[int]  # samples that ran by themselves (planned so, or caught spilling over)


def simulate(network: Network, spikes: np.ndarray, record_layers: bool, cache: dict | None = None) -> SimulationResult:
    """The "lava" backend of `simulate`: the processes engine (`cache` is unused: Lava rebuilds its graph each run)."""
    result = run_lava(network, spikes).result
    return result if record_layers else SimulationResult(result.output, None, result.counts, result.backend)


def lava_engine(network: Network) -> str:
    """The engine that runs `network` exactly from its netx file, with its samples batched: netx, unless a
    dense stack has a bias (then our own processes); non-dense networks always run netx (biased: sample by sample)."""
    if network.is_dense and any(np.any(layer.bias) for layer in network.layers):
        return ENGINE_PROCESSES
    return ENGINE_NETX


def run_lava(
    network: Network,
    spikes,
    *,
    netx_path: str | Path | None = None,
    engine: str | None = None,
    reset_interval: int | None = None,
) -> LavaRun:
    """Run spikes (batch, n_in, T) through `network` in Lava, all samples in one run where that is exact.

    With `netx_path` (the file `network` was read from) the engine defaults to `lava_engine`,
    else to the processes engine. `reset_interval` fixes the period and keeps the samples in
    order (what a published deployment does); without it `plan_batch` chooses both.
    """
    spikes = check_spikes(network, spikes)
    if network.graded:
        return _run_graded(network, spikes, netx_path)
    if not network.is_dense and netx_path is None:
        with tempfile.TemporaryDirectory(prefix="codesign-lava-") as folder:
            path = network.to_netx(Path(folder) / "network.net")
            return run_lava(network, spikes, netx_path=path, engine=ENGINE_NETX, reset_interval=reset_interval)
    engine = engine or (lava_engine(network) if netx_path is not None else ENGINE_PROCESSES)
    _check_runnable(network, engine, netx_path)
    batch, _, steps = spikes.shape
    runs_alone = network.takes_drive or any(
        np.any(layer.neuron_bias) or getattr(layer, "recurrent_weights", None) is not None for layer in network.layers
    )
    if engine == ENGINE_NETX and runs_alone:
        # a bias integrates before netx's staggered reset, a recurrent layer feeds itself across it: each sample alone
        plan = BatchPlan(steps, [], list(range(batch)))
    elif reset_interval is None:
        plan = plan_batch(network, spikes, engine)
    elif reset_interval < steps:
        raise HardwareError(f"reset interval {reset_interval} is shorter than one sample ({steps} steps)")
    else:
        plan = BatchPlan(int(reset_interval), list(range(batch)), [])

    windows = _quiet_windows(network, engine)
    offsets = _reset_offsets(network, engine)
    layer_spikes = [np.zeros((batch, layer.n_out, steps), dtype=np.uint8) for layer in network.layers]
    voltages = np.zeros((batch, network.n_outputs, steps), dtype=np.int64)
    counts = zero_counts(batch, len(network.layers))
    alone = list(plan.alone)
    if plan.shared:
        record = _record(network, engine, netx_path, _concatenated(spikes[plan.shared], plan.period), plan.period)
        for position, b in enumerate(plan.shared):
            if _quiet(record, position * plan.period, windows):
                _store_window(network, record, position * plan.period, offsets, spikes[b], b, layer_spikes, counts, voltages)
            else:  # Lava disagreed with the plan: exactness first
                alone.append(b)
    for b in alone:
        record = _record(network, engine, netx_path, spikes[b].astype(np.int32), None)
        fresh = [0] * len(network.layers)  # a run of its own has no resets: every layer counts from step 0
        _store_window(network, record, 0, fresh, spikes[b], b, layer_spikes, counts, voltages)
    voltage = None if network.layers[-1].spiking else voltages
    result = SimulationResult(layer_spikes[-1], layer_spikes, ActivityCounts(**counts, timesteps=steps), "lava", voltage)
    return LavaRun(result, engine, plan.period, sorted(alone))


def run_netx_per_sample(path: str | Path, spikes) -> np.ndarray:
    """Output spikes (batch, n_out, T) of the netx file at `path`, one fresh Lava run per sample.

    Slow, and deliberately plain: netx's own blocks, no resets, nothing of ours but the input,
    so that it can serve as the reference everything else (netx round trip, the numba core,
    the batched runs) is checked against.
    """
    spikes = np.asarray(spikes)
    if spikes.ndim != 3:
        raise HardwareError(f"input spikes must be (batch, n_in, T), got shape {spikes.shape}")
    return np.stack([_record(None, ENGINE_NETX, path, sample.astype(np.int32), None, states=False)["spikes"][-1] for sample in spikes])


def plan_batch(network: Network, spikes: np.ndarray, engine: str = ENGINE_PROCESSES) -> BatchPlan:
    """Which samples share one Lava run, in which order, and the period (steps per sample) that keeps it exact.

    The numba core (itself checked against Lava) predicts, for each candidate period P, which
    samples are still busy when the next sample would reset the layers (`_quiet_windows`).
    The processes engine runs what we plan, so it minimises the estimated cost of the shared
    run plus separate runs, and puts one sample that never falls quiet last (nothing follows
    it). A netx period is published in an export and run in order by others, so it is the
    shortest period with the fewest samples still busy. Only a plan: `run_lava` re-checks the
    condition on Lava's own spikes.
    """
    batch, _, steps = spikes.shape
    periods = np.arange(steps, steps + pipeline_delay_steps(network) + SEARCH_STEPS + 1)
    quiet = _predicted_quiet(network, spikes, _quiet_windows(network, engine), periods)
    busy = (~quiet).sum(axis=0)
    if engine == ENGINE_NETX:
        best = int(np.argmin(busy))
        return BatchPlan(int(periods[best]), list(range(batch)), [])
    cost = batch * periods + np.maximum(busy - 1, 0) * (RESTART_COST_STEPS + steps)
    best = int(np.argmin(cost))
    calm = [b for b in range(batch) if quiet[b, best]]
    restless = [b for b in range(batch) if not quiet[b, best]]
    return BatchPlan(int(periods[best]), calm + restless[:1], restless[1:])


def plan_reset_interval(network: Network, spikes: np.ndarray) -> int:
    """The netx reset interval to publish for `spikes` (batch, n_in, T): see `plan_batch`."""
    return plan_batch(network, check_spikes(network, spikes), ENGINE_NETX).period


def _check_runnable(network: Network, engine: str, netx_path) -> None:
    if engine not in ENGINES:
        raise HardwareError(f"unknown Lava engine {engine!r}; known engines: {', '.join(ENGINES)}")
    for index, layer in enumerate(network.layers):
        if layer.refractory:
            raise HardwareError(
                f"layer {index}: refractory={layer.refractory}, but Lava's fixed-point LIF has no refractory "
                "period (use the numba backend, or refractory=0)"
            )
    if engine == ENGINE_NETX:
        if netx_path is None:
            raise HardwareError("the netx engine runs a netx file: its path is needed")
        if lava_engine(network) != ENGINE_NETX:
            raise HardwareError(f"{netx_path}: a layer has a bias, which netx's staggered resets cannot run exactly")
    elif not network.is_dense:
        raise HardwareError("the processes engine builds only dense stacks; conv, recurrent and readout layers run through netx")


def _reset_offsets(network: Network, engine: str) -> list[int]:
    """The step, counted from a sample's start, at which each layer resets."""
    return list(range(len(network.layers))) if engine == ENGINE_NETX else [0] * len(network.layers)


def _quiet_windows(network: Network, engine: str) -> list[tuple[int, int]]:
    """Per layer, the steps [lo, hi) relative to a sample's start in which its source must be silent.

    A source spike at s reaches layer l at s + 1 + delay, so it spills into the reset at r_l
    when s >= r_l - 1 - max_delay; it still belongs to the previous sample while s is before
    the source's own reset (the sample's start for the input, r_(l-1) for layer l-1).
    """
    offsets = _reset_offsets(network, engine)
    return [
        (offset - 1 - layer.max_delay, 0 if index == 0 else offsets[index - 1])
        for index, (layer, offset) in enumerate(zip(network.layers, offsets))
    ]


def _predicted_quiet(network: Network, spikes: np.ndarray, windows: list[tuple[int, int]], periods: np.ndarray) -> np.ndarray:
    """(batch, periods): whether each sample, run alone, is quiet enough for the next one to start P steps after it."""
    batch = spikes.shape[0]
    horizon = int(periods[-1]) + max(hi for _, hi in windows) + 1
    padded = append_silence(spikes, horizon - spikes.shape[2])
    needed = [index for index, (lo, hi) in enumerate(windows) if hi > lo]
    predicted = [None] * len(network.layers)
    if any(index > 0 for index in needed):
        predicted = numba_core.simulate(network, padded, record_layers=True).layers
    sources = [padded] + predicted[:-1]
    quiet = np.ones((batch, periods.size), dtype=bool)
    for index in needed:
        lo, hi = windows[index]
        active_before = np.zeros((batch, horizon + 1), dtype=np.int64)  # [:, k] = active steps in [0, k)
        active_before[:, 1:] = np.cumsum(sources[index].any(axis=1), axis=1)
        quiet &= active_before[:, periods + hi] == active_before[:, np.maximum(periods + lo, 0)]
    return quiet


def _quiet(record: dict, start: int, windows: list[tuple[int, int]]) -> bool:
    """True if nothing of the sample before `start` reached any layer at or after its reset (start 0: nothing before)."""
    if start == 0:
        return True
    sources = [record["input"]] + record["spikes"][:-1]
    return not any(source[:, max(0, start + lo) : start + hi].any() for (lo, hi), source in zip(windows, sources))


def _concatenated(spikes: np.ndarray, period: int) -> np.ndarray:
    """Samples (batch, n_in, T) laid end to end, `period` steps apart, as one (n_in, batch * period) input."""
    batch, n_in, steps = spikes.shape
    data = np.zeros((n_in, batch * period), dtype=np.int32)
    for position in range(batch):
        data[:, position * period : position * period + steps] = spikes[position]
    return data


def _store_window(network, record, start, offsets, sample_input, b, layer_spikes, counts, voltages) -> None:
    """Sample b's window [start, start + T) of a recording, as a fresh run sees it, into the outputs and counts.

    Before its reset (offset l) a layer still holds the previous sample's tail; a fresh layer is
    at rest and silent there (it has no bias, or its offset is 0), and at step 0 nothing arrives.
    A neuron-step is active when u or v was non-zero before it, input arrived (the synapse
    buffer, where the block has one plain Dense; else u changed from 0, which misses only an
    input that is a multiple of 2**18) or it has a bias.
    """
    steps = sample_input.shape[1]
    source = sample_input
    for index, (layer, offset) in enumerate(zip(network.layers, offsets)):
        window = {key: record[key][index][:, start : start + steps].copy() for key in ("spikes", "u", "v", "a_in") if record[key][index] is not None}
        for values in window.values():
            values[:, :offset] = 0
        fired, u, v = window["spikes"], window["u"], window["v"]
        u_before = np.zeros_like(u)
        v_before = np.zeros_like(v)
        u_before[:, 1:] = u[:, :-1]
        v_before[:, 1:] = v[:, :-1]
        if "a_in" in window:
            window["a_in"][:, 0] = 0
            arrived = window["a_in"] != 0
        else:
            arrived = (u_before == 0) & (u != 0)
        biased = (layer.neuron_bias != 0)[:, None]
        if index == 0 and network.takes_drive:  # the drive is the bias, one step late
            biased = np.zeros_like(arrived)
            biased[:, 1:] = sample_input[:, :-1] != 0
        active = (u_before != 0) | (v_before != 0) | arrived | biased
        layer_spikes[index][b] = fired
        observed = layer_counts(layer, source.sum(axis=1, dtype=np.int64), int(active.sum()), int(fired.sum()), steps, fired.sum(axis=1))
        for name, value in observed.items():
            counts[name][b, index] = value
        source = fired
    if not network.layers[-1].spiking:
        voltages[b] = window["v"]


def _record(network, engine: str, netx_path, data: np.ndarray, period: int | None, states: bool = True) -> dict:
    """ONE Lava run of `data` (n_in, steps), neurons reset every `period` steps (None: never).

    Records every layer's spikes and, with `states`, its u, v and synapse buffers; without,
    only the output layer's spikes (every Monitor and sink is one more OS process).
    """
    ensure_lava_importable()  # also lets Lava's runtime import after numba fixed the start method
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    total = data.shape[1]
    if engine == ENGINE_NETX:
        net = _netx_network(netx_path, period, data.shape[0], None if network is None else len(network.layers))
        if network is not None and network.takes_drive:
            _drive(net, data)
        else:
            source = Source(data=_to_lava(data, net.inp.shape))
            source.s_out.connect(net.inp)
        runner, blocks = net, [(block.out, block.neuron, _plain_synapse(block)) for block in net.layers]
    else:
        source = Source(data=data)
        runner, blocks = source, _process_graph(network, source, period)
    sinks, probes = [], []
    for out_port, neuron, synapse in blocks if states else blocks[-1:]:
        sink = Sink(shape=out_port.shape, buffer=total)
        out_port.connect(sink.a_in)
        sinks.append(sink)
        if states:
            layer_probes = []
            for target in (neuron.u, neuron.v) + (() if synapse is None else (synapse.a_buff,)):
                monitor = Monitor()
                monitor.probe(target, total)
                layer_probes.append((monitor, target))
            probes.append(layer_probes)
    try:
        runner.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        fired = [sink.data.get() for sink in sinks]
        observed = [[monitor.get_data()[t.process.name][t.name] for monitor, t in layer] for layer in probes]
    finally:
        runner.stop()
    return _recording(data, fired, observed)


def _drive(net, data: np.ndarray) -> None:
    """Write frame t of `data` (n, steps) to the input neurons' bias_mant after step t, as lava-dl deploys it."""
    from lava.proc.io.dataloader import StateDataloader

    frames = _to_lava(data.astype(np.int32), net.in_layer.neuron.bias_mant.shape)

    class Frames:
        def __len__(self) -> int:
            return frames.shape[-1]

        def __getitem__(self, step: int):
            return frames[..., step], 0

    loader = StateDataloader(dataset=Frames(), interval=1, offset=0)
    loader.connect_var(net.in_layer.neuron.bias_mant)


def _plain_synapse(block):
    """A netx block's Dense/DelayDense, whose buffer tells what arrives; None for conv, recurrent and input blocks."""
    synapse = getattr(block, "synapse", None)
    if synapse is None or hasattr(block, "synapse_rec") or not hasattr(synapse, "a_buff"):
        return None
    return synapse


def _to_lava(data: np.ndarray, shape: tuple) -> np.ndarray:
    """(n, steps) with neurons in C, H, W order -> Lava's (x, y, c, steps) for a 3-D port."""
    if len(shape) != 3:
        return data
    width, height, channels = shape
    return np.ascontiguousarray(data.reshape(channels, height, width, -1).transpose(2, 1, 0, 3))


def _by_neuron(values, time_first: bool) -> np.ndarray:
    """Lava's per-step (n,) or (x, y, c) values -> (n, steps), neurons in C, H, W order."""
    values = np.asarray(values)
    if time_first:
        values = np.moveaxis(values, 0, -1)
    if values.ndim == 4:
        values = values.transpose(2, 1, 0, 3)
    return values.reshape(-1, values.shape[-1])


def _process_graph(network: Network, source, period: int | None) -> list[tuple]:
    """The Network as Lava processes fed by `source`: per layer (spike out port, LIF, synapse)."""
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.lif.process import LIF, LIFReset

    blocks = []
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
        blocks.append((neuron.s_out, neuron, synapse))
    return blocks


def _netx_network(path, period: int | None, n_in: int, n_layers: int | None):
    """netx's own network from the file, checked against what we feed it and expect of it."""
    import_lava_dl()
    from lava.lib.dl import netx

    net = netx.hdf5.Network(net_config=str(path), reset_interval=period)
    if int(np.prod(net.inp.shape)) != n_in:
        raise HardwareError(f"{path} takes {int(np.prod(net.inp.shape))} inputs, the spikes have {n_in} channels")
    if n_layers is not None and len(net.layers) != n_layers:
        raise HardwareError(f"{path}: netx built {len(net.layers)} layers, expected {n_layers}")
    return net


def _recording(data: np.ndarray, fired: list, states: list) -> dict:
    """A run's sink spikes and monitored (u, v[, synapse a_buff]) per layer -> per-step arrays (n, total).

    `a_in[t]` is what the neuron receives at step t: the synapse buffer as it stood after t-1
    (None for a layer whose block has no plain Dense buffer).
    """
    total = data.shape[1]
    record = {"input": data, "spikes": [_by_neuron(f, time_first=False).astype(np.uint8) for f in fired], "u": [], "v": [], "a_in": []}
    for layer_states in states:
        record["u"].append(_by_neuron(layer_states[0], time_first=True).astype(np.int64))
        record["v"].append(_by_neuron(layer_states[1], time_first=True).astype(np.int64))
        if len(layer_states) < 3:
            record["a_in"].append(None)
            continue
        buffer = np.asarray(layer_states[2])
        if buffer.ndim == 3:  # DelayDense: column 0 is what the synapse sends next step
            buffer = buffer[:, :, 0]
        arriving = np.zeros((buffer.shape[1], total), dtype=np.int64)
        arriving[:, 1:] = buffer.T[:, :-1].astype(np.int64)
        record["a_in"].append(arriving)
    return record


SD_STATES = {"delta": ("act", "residue"), "sigma_delta": ("sigma", "act", "residue"), "sigma": ("sigma",)}


def _run_graded(network: Network, inputs: np.ndarray, netx_path) -> LavaRun:
    """A sigma-delta network in Lava via netx, sample by sample: every layer's messages and the counts."""
    if netx_path is None:
        with tempfile.TemporaryDirectory(prefix="codesign-lava-") as folder:
            return _run_graded(network, inputs, network.to_netx(Path(folder) / "network.net"))
    batch, _, steps = inputs.shape
    layer_values = [np.zeros((batch, layer.n_out, steps), dtype=np.int32) for layer in network.layers]
    counts = zero_counts(batch, len(network.layers))
    for b in range(batch):
        record = _record_graded(network, netx_path, inputs[b].astype(np.int32))
        source = inputs[b]
        for index, layer in enumerate(network.layers):
            values = record["messages"][index]
            layer_values[index][b] = values
            active = _graded_active(layer, record["states"][index], source if index == 0 else None)
            observed = layer_counts(layer, (source != 0).sum(axis=1, dtype=np.int64), int(active.sum()), int((values != 0).sum()), steps)
            for name, value in observed.items():
                counts[name][b, index] = value
            source = values
    payload = counts["input_spikes"] * np.array(network.message_bits(), dtype=np.int64)
    result = SimulationResult(layer_values[-1], layer_values, ActivityCounts(**counts, timesteps=steps, payload_bits=payload), "lava")
    return LavaRun(result, ENGINE_NETX, steps, list(range(batch)))


def _graded_active(layer, states: dict, frame) -> np.ndarray:
    """(n, steps) neuron-steps that computed something, as the numba core defines them: input arrived
    (sigma changed; for a Delta, a non-zero frame), the residue before was non-zero, or act changed."""
    def before(values):
        shifted = np.zeros_like(values)
        shifted[:, 1:] = values[:, :-1]
        return shifted

    arrived = frame != 0 if layer.sigma_delta.role == "delta" else states["sigma"] != before(states["sigma"])
    if layer.sigma_delta.role == "sigma":
        return arrived
    return arrived | (before(states["residue"]) != 0) | (states["act"] != before(states["act"]))


def _record_graded(network: Network, netx_path, data: np.ndarray) -> dict:
    """ONE Lava run of a sigma-delta network on `data` (n_in, steps): per layer its messages (n, steps)
    and its sigma-delta states by name."""
    ensure_lava_importable()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    total = data.shape[1]
    net = _netx_network(netx_path, None, data.shape[0], len(network.layers))
    if network.takes_drive:  # a Delta input: its a_in gets frame t at step t
        neuron = net.in_layer.neuron
        source = Source(data=_to_lava(data, neuron.a_in.shape))
        source.s_out.connect(neuron.a_in)
    else:
        source = Source(data=_to_lava(data, net.inp.shape))
        source.s_out.connect(net.inp)
    sinks, probes = [], []
    for block, layer in zip(net.layers, network.layers):
        sink = Sink(shape=block.out.shape, buffer=total)
        block.out.connect(sink.a_in)
        sinks.append(sink)
        layer_probes = []
        for name in SD_STATES[layer.sigma_delta.role]:
            monitor = Monitor()
            target = getattr(block.neuron, name)
            monitor.probe(target, total)
            layer_probes.append((name, monitor, target))
        probes.append(layer_probes)
    try:
        net.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        messages = [_by_neuron(sink.data.get(), time_first=False).astype(np.int32) for sink in sinks]
        states = [
            {name: _by_neuron(monitor.get_data()[target.process.name][target.name], time_first=True).astype(np.int64)
             for name, monitor, target in layer}
            for layer in probes
        ]
    finally:
        net.stop()
    return {"messages": messages, "states": states}
