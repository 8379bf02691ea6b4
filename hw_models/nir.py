"""NIR graphs <-> `hw_models.Network`: the one place Loihi integer units meet NIR's continuous ones.

NIR (the Neuromorphic Intermediate Representation, `nir` on PyPI) describes neurons with
continuous-time equations (time constants in seconds, a resistance, a threshold); the
frameworks that read it (snnTorch, Norse, ...) discretize them with forward Euler at a time
step `dt`. Our networks are Loihi's integer difference equations (see `network.py`). With
`dt` = one chip step (written to the graph's metadata as "dt"; 1e-4 s unless given, the step
snnTorch's NIR import and export assume), the two agree term by term:

    NIR (forward Euler, step dt)                      Loihi (one step)
    I' = (1 - dt/tau_syn) I + (w_in dt/tau_syn) S     u' = u (4096 - du)/4096 + (a_in << 6)
    v' = (1 - dt/tau_mem) v + (dt/tau_mem) v_leak      v' = v (4096 - dv)/4096 + u'
         + (r dt/tau_mem) I'                                + (bias << bias_exp)
    spike when v' > v_threshold, v' -> v_reset         spike when v' > vth << 6, v' -> 0

so, writing every NIR value in Loihi's voltage units (the units of u and v, LSB = 1):

- decays: tau_syn = dt * 4096 / du, tau_mem = dt * 4096 / dv (a decay of 0 is tau = inf);
  read back as du = round(4096 dt / tau_syn), dv = round(4096 dt / tau_mem).
- gains: w_in = tau_syn / dt and r = tau_mem / dt, so that each input adds itself to I and I
  to v (what snnTorch writes; with tau = inf the gain is its limit, 1). A node with other
  gains is read with them: its weights are multiplied by (w_in dt / tau_syn)(r dt / tau_mem).
- node kinds: du = 4096 (no synaptic memory) is `LIF` (dv > 0) or `IF` (dv = 0, r = 1/dt);
  otherwise `CubaLIF`. A layer that never spikes (vth >= 1 << 17, e.g. a readout) is `CubaLI`.
- weights: a dense synapse is `Linear` (or `Affine`) with weight = effective mantissa *
  2**weight_exponent * 64; a conv synapse `Conv2d` with weight = mantissa * 64 (Lava's conv
  applies no exponent); a depthwise conv whose taps are all one value p is written as
  `SumPool2d` followed by `Scale(p * 64)`. A dense layer after a 2-D one gets a `Flatten`
  (C, H, W order, start_dim 0).
- threshold: v_threshold = vth * 64, v_reset = 0.
- bias (added to v every step): for du = 4096 it is the synapse's `Affine` bias
  (bias * 2**bias_exp; the current is the input, so the two are the same term); otherwise
  v_leak = bias * 2**bias_exp * 4096 / dv (needs dv > 0).
- delays: a synapse whose delay is d > 0 goes through a `Delay` node of d * dt seconds; the
  dense layer is split into one `Linear` per distinct delay (Loihi shifts each delay group's
  sum by the exponent on its own, so the branches are the same arithmetic).
- recurrence (netx `dense_rec`): a `Linear` from the layer's neuron node back to itself.

What NIR does not say, and a reader must know (also in the graph's metadata):

- Loihi's synapses take one step: a spike at step t reaches the next layer at t + 1 (plus its
  delay). NIR's synapses are instantaneous, so in a framework that runs our file, layer l
  spikes l + 1 steps earlier than on the chip (compare with that shift).
- Loihi's arithmetic is integer: decays truncate toward zero, a negative exponent floors the
  summed input, u wraps at 24 bits and v saturates at 24 bits, and Lava's conv wraps its sum
  at 24 bits. A float simulation of the same graph agrees up to these roundings.
- Graphs from other frameworks are quantized (`read_nir`): per layer, the weights are scaled so
  the largest fills the profile's weight mantissa, the threshold and bias by the same factor
  (spikes do not change when a layer's voltages are scaled together); the weight exponent is
  chosen to give the threshold at least 10 bits. Our own files (metadata "units" =
  "loihi-voltage") are read back exactly, without rescaling.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw_models.errors import HardwareError
from hw_models.network import (
    NEVER_SPIKES_VTH,
    READOUT_NEURON,
    ConvLayer,
    DenseLayer,
    InputLayer,
    Network,
    SignMode,
    sign_mode_of,
)
from hw_models.profile import ChipProfile, load_profile

DEFAULT_DT = 1e-4  # seconds per chip step when a graph does not say (snnTorch's NIR dt)
DECAY_UNITY = 4096
VOLTAGE_SHIFT = 64  # Lava shifts a_in and vth left by 6 bits
OUR_UNITS = "loihi-voltage"
NEURON_KINDS = ("CubaLIF", "LIF", "IF", "CubaLI", "LI", "I")
SYNAPSE_KINDS = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Scale", "Delay", "Flatten")
MIN_THRESHOLD_BITS = 10


class NirFormatError(HardwareError):
    """A NIR graph or file this framework cannot read or write; the message lists every problem."""


def _nir():
    try:
        import nir
    except ImportError:  # pragma: no cover - nir is a runtime dependency
        raise NirFormatError("the 'nir' package is not installed (pip install 'nir>=1.0.8,<2')") from None
    return nir


# ----------------------------------------------------------------------------- units


def decay_to_tau(decay: int, dt: float) -> float:
    """A Loihi decay (1/4096 per step) as a time constant in seconds (0 -> inf)."""
    return math.inf if decay == 0 else dt * DECAY_UNITY / decay


def tau_to_decay(tau: np.ndarray, dt: float) -> np.ndarray:
    """A time constant in seconds as a Loihi decay, unrounded (inf -> 0)."""
    tau = np.asarray(tau, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isinf(tau), 0.0, DECAY_UNITY * dt / tau)


def _gain(numerator: np.ndarray, tau: np.ndarray, dt: float) -> np.ndarray:
    """numerator * dt / tau, with inf / inf taken as its limit 1 (what we write for tau = inf)."""
    numerator, tau = np.broadcast_arrays(np.asarray(numerator, np.float64), np.asarray(tau, np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = numerator * dt / tau
    return np.where(np.isinf(numerator) & np.isinf(tau), 1.0, gain)


# ----------------------------------------------------------------------------- writing


def network_to_nir(network: Network, dt: float = DEFAULT_DT):
    """The network as a `nir.NIRGraph` (see the module doc for the units); refuses, listing
    every reason, what NIR cannot express."""
    nir = _nir()
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NirFormatError(f"dt must be a positive number of seconds, got {dt!r}")
    problems = []
    for index, layer in enumerate(network.layers):
        where = f"layer {index}" + (f" ({layer.name})" if layer.name else "")
        if isinstance(layer, InputLayer):
            problems.append(f"{where}: an input layer driven through its neurons' bias has no NIR node")
            continue
        if layer.refractory:
            problems.append(f"{where}: refractory={layer.refractory}; NIR neurons have no refractory period")
        if np.any(layer.bias) and layer.du != DECAY_UNITY and layer.dv == 0:
            problems.append(f"{where}: a bias with du={layer.du} < 4096 and dv=0 has no NIR form (v_leak needs dv > 0)")
    if problems:
        raise NirFormatError("network cannot be written as NIR: " + "; ".join(problems))

    nodes = {"input": nir.Input(input_type={"input": np.array(network.input_shape)})}
    edges = []
    source = "input"
    for index, layer in enumerate(network.layers):
        prefix = f"L{index}"
        shape = tuple(layer.out_shape)
        if network.flattens_before(index):
            in_shape = network.input_shape if index == 0 else network.layers[index - 1].out_shape
            nodes[f"{prefix}_flatten"] = nir.Flatten(input_type={"input": np.array(in_shape)}, start_dim=0, end_dim=-1)
            edges.append((source, f"{prefix}_flatten"))
            source = f"{prefix}_flatten"
        neuron = f"{prefix}_neuron"
        bias_v = layer.bias.astype(np.float64) * 2.0**layer.bias_exp
        bias_in_synapse = layer.du == DECAY_UNITY and np.any(bias_v)
        hints = {"bias_exp": layer.bias_exp, "name": layer.name}
        if isinstance(layer, ConvLayer):
            synapse_nodes = _conv_synapse(nir, layer, prefix, bias_v if bias_in_synapse else None)
        else:
            synapse_nodes = _dense_synapses(nir, layer, prefix, dt, bias_v if bias_in_synapse else None)
            hints |= {"weight_exponent": layer.weight_exponent, "num_weight_bits": layer.num_weight_bits, "neuron": bool(layer.neuron)}
        for chain in synapse_nodes:
            previous = source
            for name, node in chain:
                nodes[name] = node
                edges.append((previous, name))
                previous = name
            edges.append((previous, neuron))
        v_leak = np.zeros(shape) if bias_in_synapse else (bias_v * DECAY_UNITY / max(layer.dv, 1)).reshape(shape)
        nodes[neuron] = _neuron_node(nir, layer, shape, dt, v_leak, hints)
        if isinstance(layer, DenseLayer) and layer.recurrent_weights is not None:
            weight = layer.effective_recurrent_weights() * 2.0**layer.weight_exponent * VOLTAGE_SHIFT
            nodes[f"{prefix}_recurrent"] = nir.Linear(weight=weight, metadata={"weight_exponent": layer.weight_exponent})
            edges += [(neuron, f"{prefix}_recurrent"), (f"{prefix}_recurrent", neuron)]
        source = neuron
    nodes["output"] = nir.Output(output_type={"output": np.array(network.layers[-1].out_shape)})
    edges.append((source, "output"))
    metadata = {
        "dt": float(dt), "units": OUR_UNITS, "source": "neuro-codesign",
        "synapse_steps": 1, "note": "each synapse takes one chip step (dt) beyond its Delay; see hw_models/nir.py",
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata, type_check=False)


def _dense_synapses(nir, layer: DenseLayer, prefix: str, dt: float, bias_v):
    """One chain per delay value: [Linear | Affine] (+ Delay when d > 0)."""
    weights = layer.effective_weights().astype(np.float64) * 2.0**layer.weight_exponent * VOLTAGE_SHIFT
    meta = {"weight_exponent": layer.weight_exponent, "num_weight_bits": layer.num_weight_bits}
    delays = np.zeros(weights.shape, dtype=np.int64) if layer.delays is None else layer.delays
    values = sorted(set(np.unique(delays[weights != 0]).tolist()) | {0})
    chains = []
    for delay in values:
        part = np.where(delays == delay, weights, 0.0)
        if delay and not np.any(part):
            continue
        name = f"{prefix}_dense" if delay == 0 else f"{prefix}_dense_d{delay}"
        if delay == 0 and bias_v is not None:
            chain = [(name, nir.Affine(weight=part, bias=np.asarray(bias_v, np.float64), metadata=dict(meta)))]
        else:
            chain = [(name, nir.Linear(weight=part, metadata=dict(meta)))]
        if delay:
            chain.append((f"{prefix}_delay_d{delay}", nir.Delay(delay=np.full(layer.n_out, delay * dt), metadata={"steps": int(delay)})))
        chains.append(chain)
    return chains


def _uniform_pool(layer: ConvLayer) -> float | None:
    """The tap value p when the conv is a sum pooling times p (depthwise, one value everywhere)."""
    out_channels, group_in, _, _ = layer.weights.shape
    channels = layer.in_shape[0]
    values = np.unique(layer.weights)
    if group_in == 1 and layer.groups == channels == out_channels and layer.dilation == (1, 1) and values.size == 1 and values[0] != 0:
        return float(values[0])
    return None


def _conv_synapse(nir, layer: ConvLayer, prefix: str, bias_v):
    pool = _uniform_pool(layer) if bias_v is None else None
    if pool is not None:
        return [[
            (f"{prefix}_sumpool", nir.SumPool2d(kernel_size=np.array(layer.weights.shape[2:]), stride=np.array(layer.stride), padding=np.array(layer.padding))),
            (f"{prefix}_scale", nir.Scale(scale=np.full(layer.out_shape, pool * VOLTAGE_SHIFT))),
        ]]
    channel_bias = np.zeros(layer.weights.shape[0])
    if bias_v is not None:
        per_channel = np.asarray(bias_v).reshape(layer.out_shape[0], -1)
        if np.all(per_channel == per_channel[:, :1]):
            channel_bias = per_channel[:, 0]
        else:
            raise NirFormatError(f"{prefix} ({layer.name}): a per-neuron bias that is not per channel, with du=4096 and dv=0, has no NIR form")
    node = nir.Conv2d(
        input_shape=tuple(layer.in_shape[1:]), weight=layer.weights.astype(np.float64) * VOLTAGE_SHIFT, stride=layer.stride,
        padding=layer.padding, dilation=layer.dilation, groups=layer.groups, bias=channel_bias,
    )
    return [[(f"{prefix}_conv", node)]]


def _neuron_node(nir, layer, shape: tuple, dt: float, v_leak: np.ndarray, hints: dict):
    full = lambda value: np.full(shape, float(value))  # noqa: E731
    tau_syn, tau_mem = decay_to_tau(layer.du, dt), decay_to_tau(layer.dv, dt)
    meta = {key: value for key, value in hints.items() if value not in ("", None)} | {"du": layer.du, "dv": layer.dv, "vth": layer.vth}
    if not layer.spiking:
        return nir.CubaLI(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(tau_mem / dt), v_leak=v_leak, w_in=full(tau_syn / dt), metadata=meta)
    threshold = full(layer.vth * VOLTAGE_SHIFT)
    if layer.du == DECAY_UNITY and layer.dv == 0:
        return nir.IF(r=full(1.0 / dt), v_threshold=threshold, v_reset=np.zeros(shape), metadata=meta)
    if layer.du == DECAY_UNITY:
        return nir.LIF(tau=full(tau_mem), r=full(tau_mem / dt), v_leak=v_leak, v_threshold=threshold, v_reset=np.zeros(shape), metadata=meta)
    return nir.CubaLIF(
        tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(tau_mem / dt), v_leak=v_leak, v_threshold=threshold,
        v_reset=np.zeros(shape), w_in=full(tau_syn / dt), metadata=meta,
    )


def write_nir(network: Network, path: str | Path, dt: float = DEFAULT_DT) -> Path:
    """Write the network as a NIR HDF5 file, atomically (a temp file renamed into place)."""
    nir = _nir()
    path = Path(path)
    graph = network_to_nir(network, dt=dt)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        nir.write(temp, graph)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return path


# ----------------------------------------------------------------------------- reading


@dataclass
class _Branch:
    """A path of synapse nodes from a source (a neuron node or the input) into a neuron node."""

    source: str
    nodes: list = field(default_factory=list)  # [(name, node)] from the source's side


def load_nir_graph(graph_or_path):
    """A `nir.NIRGraph` from a graph or a NIR HDF5 file; a bad file is one `NirFormatError` naming it."""
    nir = _nir()
    if isinstance(graph_or_path, nir.NIRGraph):
        return graph_or_path
    path = Path(graph_or_path)
    if not path.is_file():
        raise NirFormatError(f"NIR file {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        return nir.read(path)
    except Exception as error:  # nir raises KeyError/OSError/AssertionError/ValueError on foreign or damaged files
        raise NirFormatError(f"{path} is not a readable NIR graph ({type(error).__name__}: {error})") from None


def read_nir(graph_or_path, profile: ChipProfile | str | Path = "loihi2", dt: float | None = None) -> Network:
    """A NIR graph (or file) as a `Network` in the profile's integer formats.

    Every node kind or value the chip cannot hold is collected and reported in one
    `NirFormatError`. `dt` (seconds per chip step) defaults to the graph's metadata "dt", else 1e-4.
    """
    graph = load_nir_graph(graph_or_path)
    profile = load_profile(profile)
    metadata = dict(getattr(graph, "metadata", None) or {})
    if dt is None:
        dt = float(np.asarray(metadata.get("dt", DEFAULT_DT)))
    ours = _text(metadata.get("units")) == OUR_UNITS
    return _Reader(graph, profile, dt, ours, str(graph_or_path) if not hasattr(graph_or_path, "nodes") else "graph").network()


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value.item())
    return "" if value is None else str(value)


def _scalar(meta: dict, key: str):
    if key not in meta:
        return None
    value = np.asarray(meta[key])
    return value.item() if value.shape == () else None


class _Reader:
    def __init__(self, graph, profile: ChipProfile, dt: float, ours: bool, label: str) -> None:
        self.graph, self.profile, self.dt, self.ours, self.label = graph, profile, dt, ours, label
        self.problems: list[str] = []
        self.nir = _nir()

    def kind(self, name: str) -> str:
        return type(self.graph.nodes[name]).__name__

    def network(self) -> Network:
        nodes, edges = self.graph.nodes, [tuple(edge) for edge in self.graph.edges]
        for name, node in nodes.items():
            kind = type(node).__name__
            if kind not in NEURON_KINDS + SYNAPSE_KINDS + ("Input", "Output"):
                self.problems.append(f"node {name!r}: {kind} has no Loihi equivalent")
        inputs = [name for name, node in nodes.items() if type(node).__name__ == "Input"]
        outputs = [name for name, node in nodes.items() if type(node).__name__ == "Output"]
        if len(inputs) != 1 or len(outputs) != 1:
            self.problems.append(f"the graph needs exactly one Input and one Output node, it has {len(inputs)} and {len(outputs)}")
        if self.problems:
            raise NirFormatError(f"{self.label}: cannot map to {self.profile.name!r}: " + "; ".join(self.problems))
        self.preds: dict[str, list[str]] = {name: [] for name in nodes}
        self.succs: dict[str, list[str]] = {name: [] for name in nodes}
        for source, target in edges:
            if source not in nodes or target not in nodes:
                self.problems.append(f"edge {source!r} -> {target!r} names a node the graph does not have")
                continue
            self.preds[target].append(source)
            self.succs[source].append(target)
        if self.problems:
            raise NirFormatError(f"{self.label}: " + "; ".join(self.problems))

        input_name = inputs[0]
        shape = tuple(int(s) for s in np.asarray(nodes[input_name].input_type["input"]).reshape(-1))
        order = self._neuron_chain(input_name, outputs[0])
        visited = {input_name, outputs[0]}
        layers = []
        current_shape = shape
        for index, neuron in enumerate(order):
            branches = self._branches(neuron)
            visited.add(neuron)
            visited.update(name for branch in branches for name, _ in branch.nodes)
            expected = input_name if index == 0 else order[index - 1]
            layer = self._layer(index, neuron, branches, expected, current_shape)
            if layer is not None:
                layers.append(layer)
                current_shape = tuple(layer.out_shape)
        for name in nodes:
            if name not in visited:
                self.problems.append(f"node {name!r} ({self.kind(name)}) is not on the path from the input to the output")
        if self.problems or not layers:
            if not layers and not self.problems:
                self.problems.append("no neuron node between the input and the output")
            raise NirFormatError(f"{self.label}: cannot map to {self.profile.name!r}: " + "; ".join(self.problems))
        network = Network(tuple(layers), input_shape=shape)
        problems = network.problems(self.profile)
        if problems:
            raise NirFormatError(f"{self.label}: the quantized network does not fit chip profile {self.profile.name!r}: " + "; ".join(problems))
        return network

    def _neuron_chain(self, input_name: str, output_name: str) -> list[str]:
        """Neuron nodes from the output back to the input, following each neuron's non-recurrent inputs."""
        order, current, seen = [], output_name, set()
        while True:
            preds = self.preds[current]
            if len(preds) != 1 and current == output_name:
                self.problems.append(f"the Output node must have one input, it has {len(preds)}")
                return []
            sources = {branch.source for branch in (self._branches(current) if current != output_name else [self._walk_back(preds[0])])}
            sources.discard(current)
            if len(sources) != 1:
                self.problems.append(f"node {current!r} receives from {sorted(sources)}; only a chain of layers maps to the chip")
                return []
            source = sources.pop()
            if source == input_name:
                return order[::-1]
            if source in seen:
                self.problems.append(f"node {source!r} is reached twice: the graph has a cycle through several layers")
                return []
            seen.add(source)
            order.append(source)
            current = source

    def _walk_back(self, name: str) -> _Branch:
        chain = []
        while self.kind(name) in SYNAPSE_KINDS:
            chain.append((name, self.graph.nodes[name]))
            preds = self.preds[name]
            if len(preds) != 1:
                self.problems.append(f"node {name!r} ({self.kind(name)}) has {len(preds)} inputs; synapse nodes take one")
                break
            name = preds[0]
        return _Branch(source=name, nodes=chain[::-1])

    def _branches(self, neuron: str) -> list[_Branch]:
        if self.kind(neuron) not in NEURON_KINDS:
            self.problems.append(f"node {neuron!r} ({self.kind(neuron)}) feeds a layer but is not a neuron node ({', '.join(NEURON_KINDS)})")
            return []
        return [self._walk_back(pred) for pred in self.preds[neuron]]

    # -- one layer

    def _layer(self, index: int, neuron_name: str, branches: list[_Branch], expected: str, in_shape: tuple):
        where = f"node {neuron_name!r}"
        neuron = self.graph.nodes[neuron_name]
        params = self._neuron_params(where, neuron)
        if params is None:
            return None
        feed = [b for b in branches if b.source != neuron_name]
        recurrent = [b for b in branches if b.source == neuron_name]
        flatten = False
        synapses = []  # (kind, node or array, delay steps, scale)
        for branch in feed:
            kinds = [type(node).__name__ for _, node in branch.nodes]
            if kinds and kinds[0] == "Flatten":
                flatten = True
                branch.nodes = branch.nodes[1:]
                kinds = kinds[1:]
            delay = 0
            if kinds and kinds[-1] == "Delay":
                name, node = branch.nodes[-1]
                delay = self._delay_steps(name, node)
                branch.nodes, kinds = branch.nodes[:-1], kinds[:-1]
            scale = 1.0
            if kinds and kinds[-1] == "Scale":
                values = np.unique(np.asarray(branch.nodes[-1][1].scale, np.float64))
                if values.size != 1:
                    self.problems.append(f"node {branch.nodes[-1][0]!r}: a Scale with differing values has no Loihi form (one weight per pool)")
                scale = float(values[0])
                branch.nodes, kinds = branch.nodes[:-1], kinds[:-1]
            if len(kinds) != 1 or kinds[0] not in ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d"):
                self.problems.append(
                    f"{where}: its input path {' -> '.join(kinds) or '(none)'} is not "
                    "[Flatten] -> Affine|Linear|Conv2d|SumPool2d|AvgPool2d [-> Scale] [-> Delay]"
                )
                continue
            synapses.append((kinds[0], branch.nodes[0], delay, scale))
        if not synapses or self.problems:
            return None
        conv_kinds = {kind for kind, *_ in synapses} - {"Affine", "Linear"}
        gain = params["gain"]
        if conv_kinds:
            if len(synapses) != 1 or recurrent or len(in_shape) != 3 or flatten:
                self.problems.append(f"{where}: a conv/pool layer takes one un-delayed, non-recurrent input from a (C, H, W) map")
                return None
            return self._conv_layer(where, synapses[0], params, in_shape, gain)
        dense_shape = (int(np.prod(in_shape)),)
        weights = {}
        bias_current = np.zeros(0)
        exponent_hint = None
        for kind, (name, node), delay, _ in synapses:
            weight = np.asarray(node.weight, np.float64)
            if weight.ndim != 2 or weight.shape[1] != dense_shape[0]:
                self.problems.append(f"node {name!r}: weight shape {weight.shape} does not take the {dense_shape[0]} inputs before it")
                return None
            weights[delay] = weights.get(delay, 0) + weight * gain
            if kind == "Affine" and np.any(node.bias):
                bias_current = (bias_current if bias_current.size else 0) + np.asarray(node.bias, np.float64) * gain
            exponent_hint = _scalar(node.metadata, "weight_exponent") if exponent_hint is None else exponent_hint
        n_out = next(iter(weights.values())).shape[0]
        if np.size(params["bias_v"]) not in (1, n_out):
            self.problems.append(f"{where}: has {np.size(params['bias_v'])} neurons, its synapses give {n_out}")
            return None
        bias_v = np.broadcast_to(params["bias_v"], (n_out,)).astype(np.float64)
        if bias_current.size:
            if params["du"] != DECAY_UNITY:
                self.problems.append(f"{where}: an Affine bias feeds a current with tau_syn (du={params['du']}); Loihi adds bias to the voltage")
                return None
            bias_v = bias_v + bias_current
        rec_weight = None
        for branch in recurrent:
            kinds = [type(node).__name__ for _, node in branch.nodes]
            if kinds not in (["Linear"], ["Affine"]) or (kinds == ["Affine"] and np.any(branch.nodes[0][1].bias)):
                self.problems.append(f"{where}: its recurrent path {' -> '.join(kinds)} is not one bias-free Linear")
                return None
            rec_weight = np.asarray(branch.nodes[0][1].weight, np.float64) * gain
        meta = dict(neuron.metadata or {})
        return self._dense_layer(where, index, weights, rec_weight, bias_v, params, meta, exponent_hint, flatten)

    def _delay_steps(self, name: str, node) -> int:
        steps = np.asarray(node.delay, np.float64) / self.dt
        rounded = np.round(steps)
        if np.unique(rounded).size != 1:
            self.problems.append(f"node {name!r}: a Delay with differing values per neuron after a synapse has no per-layer form here")
            return 0
        if np.max(np.abs(steps - rounded)) > 1e-6:
            self.problems.append(f"node {name!r}: delay {float(np.max(node.delay))} s is not a whole number of steps of dt={self.dt} s")
        return int(rounded.reshape(-1)[0])

    def _neuron_params(self, where: str, node) -> dict | None:
        kind = type(node).__name__
        dt = self.dt
        arrays = {}
        problems = []

        def uniform(name: str, values) -> float:
            values = np.asarray(values, np.float64)
            if np.unique(values).size > 1:
                problems.append(f"{where}: {kind}.{name} differs between neurons ({values.min():g}..{values.max():g}); Loihi has one per layer")
            arrays[name] = values
            return float(values.reshape(-1)[0]) if values.size else 0.0

        shape = tuple(int(s) for s in np.asarray(node.output_type["output"]).reshape(-1)) if node.output_type.get("output") is not None else ()
        spiking = kind in ("CubaLIF", "LIF", "IF")
        if kind in ("CubaLIF", "CubaLI"):
            tau_syn, tau_mem = uniform("tau_syn", node.tau_syn), uniform("tau_mem", node.tau_mem)
            g_syn = float(_gain(uniform("w_in", node.w_in), tau_syn, dt))
            g_mem = float(_gain(uniform("r", node.r), tau_mem, dt))
            du, dv = float(tau_to_decay(tau_syn, dt)), float(tau_to_decay(tau_mem, dt))
        elif kind in ("LIF", "LI"):
            tau = uniform("tau", node.tau)
            du, dv, g_syn = float(DECAY_UNITY), float(tau_to_decay(tau, dt)), 1.0
            g_mem = float(_gain(uniform("r", node.r), tau, dt))
            tau_mem = tau
        else:  # IF, I: dv/dt = R I
            du, dv, g_syn, tau_mem = float(DECAY_UNITY), 0.0, 1.0, math.inf
            g_mem = uniform("r", node.r) * dt
        for name, value in (("du", du), ("dv", dv)):
            if not 0 <= round(value) <= DECAY_UNITY:
                problems.append(f"{where}: {kind} gives {name}={value:g} at dt={dt:g} s, outside Loihi's [0, 4096] (a time constant shorter than dt)")
        v_leak = np.asarray(getattr(node, "v_leak", 0.0), np.float64)
        bias_v = v_leak * float(_gain(1.0, tau_mem, dt)) if np.any(v_leak) else np.zeros(1)
        if spiking:
            threshold = uniform("v_threshold", node.v_threshold)
            reset = np.asarray(node.v_reset if node.v_reset is not None else 0.0, np.float64)
            if np.any(reset != 0):
                problems.append(f"{where}: v_reset={float(np.max(np.abs(reset))):g}; Loihi resets the voltage to 0")
            if not threshold > 0:
                problems.append(f"{where}: v_threshold={threshold:g}; Loihi thresholds are positive")
        else:
            threshold = math.inf
        self.problems += problems
        if problems:
            return None
        return {"du": int(round(du)), "dv": int(round(dv)), "gain": g_syn * g_mem, "bias_v": bias_v.reshape(-1),
                "threshold": threshold, "spiking": spiking, "shape": shape}

    # -- quantization

    def _exponent(self, scale: float, threshold: float, hint) -> int:
        """The weight exponent: the hint (our files), else the smallest in range that gives the
        threshold MIN_THRESHOLD_BITS bits and keeps it in range."""
        low, high = self.profile.limit("weight_exponent_min"), self.profile.limit("weight_exponent_max")
        if hint is not None and low <= int(hint) <= high:
            return int(hint)
        if not math.isfinite(threshold):
            return 0
        vth_max = self.profile.limit("threshold_mantissa_max")
        exponent = 0
        while exponent < high and threshold * scale * 2.0**exponent / VOLTAGE_SHIFT < 2**MIN_THRESHOLD_BITS:
            exponent += 1
        while exponent > low and threshold * scale * 2.0**exponent / VOLTAGE_SHIFT > vth_max:
            exponent -= 1
        return exponent

    def _bias(self, where: str, bias_v: np.ndarray, meta: dict) -> tuple[np.ndarray, int]:
        low, high = self.profile.limit("bias_exponent_min"), self.profile.limit("bias_exponent_max")
        bias_min, bias_max = self.profile.limit("bias_mantissa_min"), self.profile.limit("bias_mantissa_max")
        hint = _scalar(meta, "bias_exp")
        candidates = ([int(hint)] if hint is not None and low <= int(hint) <= high else []) + list(range(low, high + 1))
        for exponent in candidates:
            mantissa = np.round(bias_v / 2.0**exponent)
            if mantissa.min(initial=0) >= bias_min and mantissa.max(initial=0) <= bias_max:
                return mantissa.astype(np.int64), exponent
        self.problems.append(f"{where}: bias {float(np.max(np.abs(bias_v))):g} (in chip voltage units) exceeds the chip's bias mantissa and exponent")
        return np.zeros(bias_v.shape, np.int64), 6

    def _dense_layer(self, where, index, weights: dict, rec_weight, bias_v, params, meta, exponent_hint, flatten):
        bits = int(_scalar(meta, "num_weight_bits") or 0) or self.profile.limit("weight_bits_max")
        if self.ours:  # values are chip voltages: weight = mantissa * 2**e * 64
            exponent = self._exponent(1.0, math.inf, exponent_hint)
            factor, per_mantissa = 1.0, 1.0 / (VOLTAGE_SHIFT * 2.0**exponent)
        else:
            everything = np.concatenate([w.reshape(-1) for w in weights.values()] + ([rec_weight.reshape(-1)] if rec_weight is not None else []))
            largest = float(np.max(np.abs(everything))) if everything.size else 0.0
            if largest == 0:
                self.problems.append(f"{where}: all its weights are zero")
                return None
            top = 254 if sign_mode_of(everything) is SignMode.MIXED else 255
            per_mantissa = top / largest  # the largest weight fills the mantissa
            exponent = self._exponent(VOLTAGE_SHIFT * per_mantissa, params["threshold"], None)
            factor = VOLTAGE_SHIFT * per_mantissa * 2.0**exponent  # chip voltage per NIR unit

        def mantissas(weight: np.ndarray, name: str) -> np.ndarray:
            raw = weight * per_mantissa
            if not self.ours:
                step = 2 if sign_mode_of(raw) is SignMode.MIXED else 1
                return (np.round(raw / step) * step).astype(np.int64)
            exact = np.round(raw)
            if np.max(np.abs(raw - exact), initial=0) > 1e-6:
                self.problems.append(f"{where}: {name} are not integer mantissas at weight_exponent={exponent}")
            return exact.astype(np.int64)

        delays_present = sorted(weights)
        combined = np.zeros_like(weights[delays_present[0]], dtype=np.int64)
        delay_matrix = np.zeros(combined.shape, dtype=np.int64)
        for delay in delays_present:
            part = mantissas(weights[delay], "weights")
            overlap = (part != 0) & (combined != 0)
            if np.any(overlap):
                self.problems.append(f"{where}: a synapse appears in two delay branches")
            combined = combined + part
            delay_matrix[part != 0] = delay
        recurrent = mantissas(rec_weight, "recurrent weights") if rec_weight is not None else None
        if params["spiking"]:
            vth = params["threshold"] * factor / VOLTAGE_SHIFT
            vth = int(round(vth)) if not self.ours or abs(vth - round(vth)) < 1e-6 else self._not_integer(where, "v_threshold / 64", vth)
        else:
            vth = NEVER_SPIKES_VTH
        bias, bias_exp = self._bias(where, bias_v * factor, meta)
        neuron = bool(meta.get("neuron", True)) if self.ours else True
        if not params["spiking"] and (params["du"], params["dv"]) == (READOUT_NEURON["du"], READOUT_NEURON["dv"]) and not np.any(bias):
            neuron = False if self.ours else neuron
        name = _text(meta.get("name")) or f"dense{index}"
        return DenseLayer(
            weights=combined, du=params["du"], dv=params["dv"], vth=vth, weight_exponent=exponent, num_weight_bits=bits,
            delays=delay_matrix if len(delays_present) > 1 or delays_present[0] else None, bias=bias, bias_exp=bias_exp,
            name=name, recurrent_weights=recurrent, neuron=neuron,
        )

    def _not_integer(self, where: str, name: str, value: float) -> int:
        self.problems.append(f"{where}: {name} = {value:g} is not an integer")
        return 0

    def _conv_layer(self, where, synapse, params, in_shape, gain):
        kind, (name, node), _, scale_node = synapse
        channels = in_shape[0]
        if kind in ("SumPool2d", "AvgPool2d"):
            kernel = tuple(int(k) for k in np.asarray(node.kernel_size).reshape(-1))
            kernel = kernel * 2 if len(kernel) == 1 else kernel
            tap = scale_node / (np.prod(kernel) if kind == "AvgPool2d" else 1.0)
            weight = np.zeros((channels, 1, *kernel)) + tap
            stride, padding, dilation, groups = node.stride, node.padding, (1, 1), channels
        else:
            weight = np.asarray(node.weight, np.float64) * scale_node
            stride, padding, dilation, groups = node.stride, node.padding, node.dilation, int(node.groups)
            if isinstance(padding, str):
                self.problems.append(f"node {name!r}: padding {padding!r}; give the padding as numbers")
                return None
            if np.any(np.asarray(node.bias)):
                if params["du"] != DECAY_UNITY:
                    self.problems.append(f"{where}: a Conv2d bias feeds a current with tau_syn (du={params['du']}); Loihi adds bias to the voltage")
                    return None
        weight = weight * gain
        largest = float(np.max(np.abs(weight)))
        if largest == 0:
            self.problems.append(f"{where}: all its weights are zero")
            return None
        scale = 1.0 if self.ours else VOLTAGE_SHIFT * 255 / largest  # chip voltage per NIR unit
        raw = weight * scale / VOLTAGE_SHIFT
        mantissa = np.round(raw)
        if self.ours and np.max(np.abs(raw - mantissa)) > 1e-6:
            self.problems.append(f"node {name!r}: weights are not integer mantissas")
        mantissa = np.clip(mantissa, -256, 255).astype(np.int64)
        try:
            layer_geometry = ConvLayer(weights=mantissa, in_shape=in_shape, du=params["du"], dv=params["dv"], vth=1,
                                       stride=tuple(np.asarray(stride).reshape(-1).tolist()) if np.ndim(stride) else stride,
                                       padding=tuple(np.asarray(padding).reshape(-1).tolist()) if np.ndim(padding) else padding,
                                       dilation=tuple(np.asarray(dilation).reshape(-1).tolist()) if np.ndim(dilation) else dilation, groups=groups)
        except HardwareError as error:
            self.problems.append(f"node {name!r}: {error}")
            return None
        out_shape = layer_geometry.out_shape
        bias_v = np.broadcast_to(params["bias_v"], (int(np.prod(out_shape)),)).astype(np.float64) if params["bias_v"].size in (1, np.prod(out_shape)) else None
        if bias_v is None:
            self.problems.append(f"{where}: has {params['bias_v'].size} neurons, the conv gives {out_shape}")
            return None
        if kind == "Conv2d" and np.any(np.asarray(node.bias)):
            bias_v = bias_v + np.repeat(np.asarray(node.bias, np.float64) * gain, int(np.prod(out_shape[1:])))
        meta = dict(self.graph.nodes[self._neuron_of(name)].metadata or {})
        if params["spiking"]:
            vth = params["threshold"] * scale / VOLTAGE_SHIFT
            vth = int(round(vth)) if not self.ours or abs(vth - round(vth)) < 1e-6 else self._not_integer(where, "v_threshold / 64", vth)
        else:
            vth = NEVER_SPIKES_VTH
        bias, bias_exp = self._bias(where, bias_v * scale, meta)
        return ConvLayer(weights=mantissa, in_shape=in_shape, du=params["du"], dv=params["dv"], vth=vth, stride=layer_geometry.stride,
                         padding=layer_geometry.padding, dilation=layer_geometry.dilation, groups=groups, bias=bias, bias_exp=bias_exp,
                         name=_text(meta.get("name")) or name)

    def _neuron_of(self, name: str) -> str:
        while self.kind(name) not in NEURON_KINDS and self.succs[name]:
            name = self.succs[name][0]
        return name
