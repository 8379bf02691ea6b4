"""An export directory as something to run: network, encoder, test spikes, labels and Lava run parameters.

`codesign bench-energy DIR` and `codesign deploy-run DIR` both load exports through
`load_deployment`, so they never disagree on which samples, which encoding seed or how many
silent steps make one inference.

Running an export in Lava (`run_in_lava`) uses the file a user deploys:
`lava.lib.dl.netx.hdf5.Network(net_config=network.net, reset_interval=P)`, all samples in ONE
Lava run, each sample padded with silent steps to P = reset_interval steps. netx staggers
the resets: layer l (0-based) resets u and v at step l of every period, one step later per
layer, because that is when the sample's first spikes can reach it. That makes the batched
run equal separate fresh runs exactly when

- no layer has a bias (a fresh layer would integrate it before its staggered reset), and
- nothing from the previous sample is still in flight into layer l when it resets: the
  input is silent for 1 + max_delay steps before each sample (the gap guarantees it), and
  layer l-1 is silent in the max_delay(l) steps before its own reset (zero-delay networks
  need nothing; for delayed ones the export picks P long enough from the numba core's
  prediction, and the run re-checks it on Lava's own spikes).

A sample that breaks the second condition in the Lava run is re-run alone; a network with a
bias runs through `hw_models.lava_backend` instead (the same Lava processes, with resets
aligned across layers). Outputs and activity counts come from Lava's own spikes, currents
and voltages (Monitors), windowed per sample exactly as a fresh run of
`timesteps + pad_steps` steps would see them.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codesign.errors import CodesignError

FORMAT_VERSION = 1
DEPLOYMENT_FILE = "deployment.json"
NETWORK_FILE = "network.net"
METRICS_FILE = "metrics.json"
README_FILE = "README.md"
SEARCH_STEPS = 64  # how many extra gap steps the export tries for networks with delays

ENGINE_NETX = "netx"
ENGINE_BACKEND = "hw_models.lava_backend"


@dataclass(frozen=True)
class Deployment:
    """What deployment.json says, checked; `raw` is the whole JSON object."""

    directory: Path
    raw: dict
    encoder_name: str
    encoder_params: dict
    dataset_name: str
    dataset_options: dict
    dataset_seed: int
    timesteps: int
    encoding_seed: int
    evaluation_samples: int | None
    pad_steps: int
    profile: str | None
    neurons_per_core: int | None
    lava: dict = field(default_factory=dict)

    @property
    def network_path(self) -> Path:
        return self.directory / NETWORK_FILE

    @property
    def deployment_path(self) -> Path:
        return self.directory / DEPLOYMENT_FILE

    def network(self):
        from hw_models import Network

        return Network.from_netx(self.network_path)

    def recorded(self) -> dict | None:
        """metrics.json (what the study recorded for the trial), or None when absent."""
        path = self.directory / METRICS_FILE
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise CodesignError(f"{path} is not valid JSON: {error}") from None

    def dataset(self):
        """The split the trial used: `load_dataset(name, seed=study seed, **options)`, as the sweep loads it."""
        return _load_dataset(self.dataset_name, json.dumps(self.dataset_options, sort_keys=True), self.dataset_seed)

    def sample_count(self, samples: int | None = None) -> int:
        """How many test samples to use: `samples`, else the trial's evaluation count, else the whole split."""
        available = len(self.dataset().test.y)
        if samples is not None:
            if samples < 1:
                raise CodesignError(f"--samples must be at least 1, got {samples}")
            return min(int(samples), available)
        return available if self.evaluation_samples is None else min(self.evaluation_samples, available)

    def inputs(self, samples: int | None = None, timesteps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(spikes (batch, n_in, T), labels) of the first test samples, encoded as the trial encoded them.

        Encoding the first N samples of the split equals the first N of encoding them all only
        for encoders that draw per sample; so the trial's own count is encoded and then cut.
        """
        from encoders import get_encoder

        test = self.dataset().test
        count = self.sample_count(samples)
        encoded = max(count, self.sample_count(None))
        steps = self.timesteps if timesteps is None else int(timesteps)
        if steps < 1:
            raise CodesignError(f"timesteps must be at least 1, got {steps}")
        spikes = get_encoder(self.encoder_name, **self.encoder_params).encode(test.x[:encoded], steps, self.encoding_seed)
        return np.asarray(spikes)[:count], np.asarray(test.y[:count])

    def padded(self, spikes: np.ndarray) -> np.ndarray:
        """The input as one inference sees it: `pad_steps` silent steps appended (the trial did the same)."""
        return pad(spikes, self.pad_steps)


@functools.lru_cache(maxsize=4)
def _load_dataset(name: str, options_json: str, seed: int):
    from encoders import load_dataset

    return load_dataset(name, seed=seed, **json.loads(options_json))


def pad(spikes: np.ndarray, steps: int) -> np.ndarray:
    spikes = np.asarray(spikes)
    if steps <= 0:
        return spikes
    return np.concatenate([spikes, np.zeros(spikes.shape[:2] + (steps,), dtype=spikes.dtype)], axis=2)


def load_deployment(directory: str | Path) -> Deployment:
    """Read and check an export directory; each problem names the file and key."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CodesignError(f"export directory {directory} does not exist")
    network_path, deployment_path = directory / NETWORK_FILE, directory / DEPLOYMENT_FILE
    for path in (network_path, deployment_path):
        if not path.is_file():
            raise CodesignError(f"export directory {directory} lacks {path.name}")
    try:
        raw = json.loads(deployment_path.read_text())
    except json.JSONDecodeError as error:
        raise CodesignError(f"{deployment_path} is not valid JSON: {error}") from None
    if not isinstance(raw, dict):
        raise CodesignError(f"{deployment_path} must hold a JSON object")
    encoder = _require(raw, "encoder", dict, deployment_path)
    dataset = _require(raw, "dataset", dict, deployment_path)
    encoder_name = _require(encoder, "name", str, deployment_path, "encoder.")
    dataset_name = _require(dataset, "name", str, deployment_path, "dataset.")
    encoder_params = _optional(encoder, "params", dict, {}, deployment_path, "encoder.")
    options = _optional(dataset, "options", dict, {}, deployment_path, "dataset.")
    dataset_seed = _optional(dataset, "seed", int, 0, deployment_path, "dataset.")
    timesteps = _require(raw, "timesteps", int, deployment_path)
    if timesteps < 1:
        raise CodesignError(f"{deployment_path}: 'timesteps' must be at least 1, got {timesteps}")
    samples = _optional(raw, "evaluation_samples", int, None, deployment_path)
    if samples is not None and samples < 1:
        raise CodesignError(f"{deployment_path}: 'evaluation_samples' must be at least 1, got {samples}")
    pad_steps = _optional(raw, "pad_steps", int, 0, deployment_path)
    if pad_steps < 0:
        raise CodesignError(f"{deployment_path}: 'pad_steps' must be >= 0, got {pad_steps}")
    lava = _optional(raw, "lava", dict, {}, deployment_path)
    return Deployment(
        directory=directory,
        raw=raw,
        encoder_name=encoder_name,
        encoder_params=encoder_params,
        dataset_name=dataset_name,
        dataset_options=options,
        dataset_seed=dataset_seed,
        timesteps=timesteps,
        # older exports encoded with the dataset seed
        encoding_seed=_optional(raw, "encoding_seed", int, dataset_seed, deployment_path),
        evaluation_samples=samples,
        pad_steps=pad_steps,
        profile=_optional(raw, "profile", str, None, deployment_path),
        neurons_per_core=_optional(raw, "neurons_per_core", int, None, deployment_path),
        lava=lava,
    )


def _require(mapping: dict, key: str, kind: type, path: Path, prefix: str = ""):
    if key not in mapping:
        raise CodesignError(f"{path}: missing key '{prefix}{key}'")
    return _check_kind(mapping[key], key, kind, path, prefix)


def _optional(mapping: dict, key: str, kind: type, default: Any, path: Path, prefix: str = ""):
    if mapping.get(key) is None:
        return default
    return _check_kind(mapping[key], key, kind, path, prefix)


def _check_kind(value, key: str, kind: type, path: Path, prefix: str):
    if not isinstance(value, kind) or isinstance(value, bool):
        raise CodesignError(f"{path}: '{prefix}{key}' must be a {'JSON object' if kind is dict else kind.__name__}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------
# Lava run parameters


def lava_engine(network) -> str:
    """netx's staggered resets are exact only without biases (see the module docstring)."""
    return ENGINE_BACKEND if any(np.any(layer.bias) for layer in network.layers) else ENGINE_NETX


def plan_reset_interval(network, padded: np.ndarray) -> int:
    """The netx reset interval (steps per sample, >= the padded length) that keeps a batched run exact.

    For each candidate P the numba core predicts, per sample, whether layer l-1 is still
    spiking in the max_delay(l) steps before layer l's reset in the next period; the
    smallest P with no such sample wins (else the one with the fewest: those re-run alone).
    """
    from hw_models.simulation import simulate

    batch, n_in, steps = padded.shape
    gap_floor = 1 + network.layers[0].max_delay  # input silence before each sample
    if all(layer.max_delay == 0 for layer in network.layers[1:]) or batch == 0:
        return steps + max(0, gap_floor - _trailing_silence(padded))
    horizon = steps + SEARCH_STEPS + sum(1 + layer.max_delay for layer in network.layers)
    longer = pad(padded, horizon - steps)
    predicted = simulate(network, longer, backend="numba", record_layers=True).layers
    best, best_bad = steps, None
    for period in range(steps + max(0, gap_floor - _trailing_silence(padded)), steps + SEARCH_STEPS + 1):
        bad = np.zeros(batch, dtype=bool)
        for index in range(1, len(network.layers)):
            delay = network.layers[index].max_delay
            if delay:
                window = predicted[index - 1][:, :, period + index - 1 - delay : period + index - 1]
                bad |= window.any(axis=(1, 2))
        count = int(bad.sum())
        if best_bad is None or count < best_bad:
            best, best_bad = period, count
        if count == 0:
            break
    return best


def _trailing_silence(spikes: np.ndarray) -> int:
    active = np.flatnonzero(np.asarray(spikes).any(axis=(0, 1)))
    return spikes.shape[2] if active.size == 0 else spikes.shape[2] - 1 - int(active[-1])


# ---------------------------------------------------------------------------------------
# Running in Lava


@dataclass(frozen=True)
class LavaRun:
    output: np.ndarray  # (batch, n_out, steps) uint8: each sample's window as a fresh run sees it
    layers: list  # per layer (batch, n_l, steps)
    counts: Any  # hw_models.ActivityCounts from Lava's own state
    engine: str
    reset_interval: int | None
    rerun_alone: list[int]


def run_in_lava(network_path: str | Path, network, padded: np.ndarray, reset_interval: int | None = None,
                engine: str | None = None) -> LavaRun:
    """Run padded spikes (batch, n_in, steps) through the netx file in Lava (Loihi2SimCfg, fixed_pt)."""
    from hw_models.simulation import check_spikes, counts_from_table

    padded = check_spikes(network, padded)
    batch, _, steps = padded.shape
    engine = engine or lava_engine(network)
    if engine == ENGINE_BACKEND:
        from hw_models.simulation import simulate

        result = simulate(network, padded, backend="lava", record_layers=True)
        return LavaRun(result.output, result.layers, result.counts, engine, None, [])
    if engine != ENGINE_NETX:
        raise CodesignError(f"unknown Lava engine {engine!r}; known: {ENGINE_NETX}, {ENGINE_BACKEND}")
    if lava_engine(network) != ENGINE_NETX:
        raise CodesignError(f"{network_path}: a layer has a bias, which netx's staggered resets cannot run exactly")
    for index, layer in enumerate(network.layers):
        if layer.refractory:
            raise CodesignError(f"{network_path}: layer {index} has refractory={layer.refractory}; Lava's LIF has none")
    period = int(reset_interval) if reset_interval else plan_reset_interval(network, padded)
    if period < steps:
        raise CodesignError(f"reset interval {period} is shorter than one padded sample ({steps} steps)")
    layer_spikes = [np.zeros((batch, layer.n_out, steps), dtype=np.uint8) for layer in network.layers]
    table = np.zeros((batch, len(network.layers), 6), dtype=np.int64)
    alone = []
    if batch > 0:
        record = _run_netx(network_path, padded, period, len(network.layers))
        for b in range(batch):
            if _netx_quiet(network, record, b * period):
                _store_window(network, record, b * period, steps, padded[b], b, layer_spikes, table)
            else:
                alone.append(b)
    for b in alone:
        record = _run_netx(network_path, padded[b : b + 1], steps, len(network.layers))
        _store_window(network, record, 0, steps, padded[b], b, layer_spikes, table)
    return LavaRun(layer_spikes[-1], layer_spikes, counts_from_table(table, steps), ENGINE_NETX, period, alone)


def _netx_quiet(network, record: dict, start: int) -> bool:
    """True if nothing of the previous sample reaches layer l at or after its reset at `start + l`."""
    if start == 0:
        return True
    sources = [record["input"]] + record["spikes"][:-1]
    for index, (layer, source) in enumerate(zip(network.layers, sources)):
        source_start = start + index - 1 if index else start  # where the source's own window begins
        lo = max(0, start + index - 1 - layer.max_delay)
        if source[:, lo:source_start].any():
            return False
    return True


def _store_window(network, record: dict, start: int, steps: int, sample_input, b, layer_spikes, table) -> None:
    """Sample b's window as a fresh run sees it: layer l's steps before its reset (index l) hold the
    previous sample's tail, and a fresh bias-free layer is provably at rest and silent there."""
    from hw_models.lava_backend import store_window

    window = {"input": record["input"][:, start : start + steps]}
    for key in ("spikes", "u", "v", "a_in"):
        window[key] = []
        for index, array in enumerate(record[key]):
            part = array[:, start : start + steps].copy()
            part[:, :index] = 0
            window[key].append(part)
    store_window(network, window, 0, steps, sample_input, b, layer_spikes, table)


def _run_netx(network_path, padded: np.ndarray, period: int, n_layers: int) -> dict:
    """ONE Lava run of netx.hdf5.Network(net_config, reset_interval=period) over all samples -> recorded arrays."""
    from hw_models.lava_compat import import_lava_dl

    import_lava_dl()
    from hw_models.lava_backend import recording
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    batch, n_in, steps = padded.shape
    data = np.zeros((n_in, batch * period), dtype=np.int32)
    for b in range(batch):
        data[:, b * period : b * period + steps] = padded[b]
    total = data.shape[1]
    net = netx.hdf5.Network(net_config=str(network_path), reset_interval=period)
    if net.inp.shape != (n_in,):
        raise CodesignError(f"{network_path} takes {net.inp.shape[0]} inputs, the spikes have {n_in} channels")
    if len(net.layers) != n_layers:
        raise CodesignError(f"{network_path}: netx built {len(net.layers)} layers, expected {n_layers}")
    source = Source(data=data)
    source.s_out.connect(net.inp)
    sinks, probes = [], []
    for block in net.layers:
        sink = Sink(shape=block.out.shape, buffer=total)
        block.out.connect(sink.a_in)
        sinks.append(sink)
        layer_probes = []
        for target in (block.neuron.u, block.neuron.v, block.synapse.a_buff):
            monitor = Monitor()
            monitor.probe(target, total)
            layer_probes.append((monitor, target))
        probes.append(layer_probes)
    try:
        net.run(condition=RunSteps(num_steps=total), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        fired = [sink.data.get() for sink in sinks]
        states = [[m.get_data()[t.process.name][t.name] for m, t in layer_probes] for layer_probes in probes]
    finally:
        net.stop()
    return recording(data, fired, states)


def relative_difference(a: float, b: float) -> float:
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-300)
