"""lava-dl netx HDF5 files <-> `hw_models.Network`.

Reading mirrors what `lava.lib.dl.netx.hdf5.Network` builds from a file (`create_input`,
`create_conv`, `create_dense`, `get_neuron_params` and the `flatten` rule of `_create`), rule for rule, so
that our backends run exactly the network Lava runs: weights are read as integers
(`astype(int)`, as netx's NetDict does) and re-encoded by netx's `optimize_weight_bits`
(mantissa, weight bits, exponent), Lava's current decay is `iDecay - 1` (we keep `iDecay`,
see `network.py`), the bias exponent is netx's fixed 6, and 1-D delays are broadcast and
clamped to 62 as netx does. `tests/test_netx.py` checks these rules against Lava itself.

Neuron type `SDNN` (lava-dl's sigma-delta blocks) is read as netx builds it: a `Delta` for the
input layer, a `Sigma` where the neuron has `sigma_output`, else a `SigmaDelta`; `vThMant` is the
threshold, spike_exp = state_exp = 6, ReLU (netx ignores the file's `activation`; one that is not
ReLU is noted) and 16 message bits: netx 0.6 cannot load a file with a `messageBits` key (its
NetDict hands back a group for it, and the block's `output_message_bits > 0` raises a TypeError),
so the key is refused when read and never written. Lava's simulation is the same for any
message width above 0 (it never clips a payload), so a layer's `message_bits` reads back as 16.

Writing produces the layout lava-dl's `block.export_hdf5` writes, atomically (temp + rename).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

from hw_models.errors import HardwareError, NetxFormatError
from hw_models.network import ConvLayer, DenseLayer, InputLayer, Network, SigmaDelta, SignMode, sign_mode_of

NETX_BIAS_EXP = 6  # netx gives every CUBA neuron bias_exp = 6
NETX_MAX_DELAY = 62
SUPPORTED_NEURONS = ("CUBA", "LOIHI", "SDNN")
NETX_SD_EXP = 6  # netx gives sigma-delta neurons spike_exp = state_exp = 6
NETX_SD_MESSAGE_BITS = 16  # netx's messageBits for SDNN neurons when the file has none
SUPPORTED_LAYERS = ("input", "conv", "pool", "flatten", "dense", "dense_rec")


def optimize_weight_bits(weight: np.ndarray) -> tuple[np.ndarray, int, int]:
    """netx's `optimize_weight_bits`: effective integer weights -> (mantissas, weight bits, exponent).

    Picks the largest left shift that keeps the weights in 8 bits (+ sign) and the fewest
    weight bits that lose nothing; Lava then shifts the summed input right by the same amount.
    """
    weight = np.asarray(weight)
    max_weight, min_weight = weight.max(), weight.min()
    if (max_weight > 254 and min_weight < 0) or (min_weight < -256 and max_weight > 0):
        weight = np.clip(weight, -256, 254)  # netx clips (and prints a warning) here too
        max_weight, min_weight = weight.max(), weight.min()
    if max_weight < 0:  # inhibitory
        is_signed, scale = 0, -256 / min_weight
    elif min_weight >= 0:  # excitatory
        is_signed, scale = 0, 255 / max_weight
    else:  # mixed
        is_signed, scale = 1, min(127 / max_weight, -128 / min_weight)
    scale_bits = int(np.floor(np.log2(scale))) + is_signed
    n = 8
    while n > 0 and np.sum(np.abs(weight / 2**n - np.round(weight / 2**n))) != 0:
        n -= 1
    n -= is_signed
    num_weight_bits = 8 - scale_bits - n
    shifted = np.left_shift(weight.astype(np.int32), scale_bits)
    return shifted.astype(np.int32), int(num_weight_bits), int(-scale_bits)


def read_netx(path: str | Path) -> Network:
    """Read a netx `.net` file (input, conv, pool, flatten, dense, dense_rec layers) as a `Network`.

    Every problem (an unsupported layer kind or neuron, a non-finite number, a shape that does
    not chain) is collected and reported in one `NetxFormatError`, layer by layer.
    """
    path = Path(path)
    if not path.is_file():
        raise NetxFormatError(f"netx file {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise NetxFormatError(f"{path} is not a readable HDF5 file (corrupt, truncated or another format): {error}") from None
    try:
        with handle:
            return _Reader(handle, path).network()
    except NetxFormatError:
        raise
    except (KeyError, OSError, ValueError, TypeError, IndexError) as error:
        raise NetxFormatError(f"{path} is not a valid netx network: {error}") from None


class _Reader:
    """One pass over a file's layers, in netx's order, with the shapes netx would infer."""

    def __init__(self, handle: h5py.File, path: Path) -> None:
        self.handle, self.path = handle, path
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.layers: list = []
        self.input_shape: tuple | None = None
        self.shape_after: tuple | None = None  # the map the next layer takes (None: unknown, not checked)

    def network(self) -> Network:
        if "layer" not in self.handle:
            raise NetxFormatError(f"{self.path} has no 'layer' group: not a lava-dl netx network")
        group = self.handle["layer"]
        keys = sorted(group.keys(), key=lambda key: int(key) if key.isdigit() else -1)
        if not keys or any(not key.isdigit() for key in keys):
            raise NetxFormatError(f"{self.path}: 'layer' must hold groups named 0, 1, 2, ... (found {list(group.keys())})")
        for key in keys:
            config = group[key]
            where = f"layer {key}"
            built = len(self.layers)
            try:
                self._layer(config, where, _string(config["type"]))
                if len(self.layers) > built:
                    self.shape_after = tuple(self.layers[-1].out_shape)
                elif not self.layers:
                    self.shape_after = self.input_shape
            except (HardwareError, KeyError, ValueError, TypeError, IndexError) as error:
                self.problems.append(_located(where, str(error)))
                self.shape_after = _declared_shape(config)  # later layers chain from what this one declares
        if not self.layers and not self.problems:
            self.problems.append("no layers with neurons or synapses")
        if self.problems:
            raise NetxFormatError(f"{self.path}: " + "; ".join(self.problems))
        try:
            return Network(tuple(self.layers), metadata={"source": str(self.path), "notes": self.notes}, input_shape=self.input_shape)
        except HardwareError as error:
            raise NetxFormatError(f"{self.path}: {error}") from None

    def _source_shape(self) -> tuple | None:
        if self.problems:
            return self.shape_after
        return tuple(self.layers[-1].out_shape) if self.layers else self.input_shape

    def _layer(self, config: h5py.Group, where: str, layer_type: str) -> None:
        if layer_type == "input":
            if "shape" in config:
                self.input_shape = tuple(int(size) for size in _finite(config["shape"][()], where, "shape").reshape(-1))
            if "neuron" in config:
                if self.layers:
                    raise HardwareError(f"{where}: an input layer with a neuron must come first")
                self.layers.append(self._input(config, where))
            elif "neuron" in config and _string(config["neuron"]["type"]) == "SDNN":
                raise HardwareError(f"{where}: a sigma-delta input layer must come first")
        elif layer_type in ("conv", "pool"):
            self.layers.append(self._conv(config, where, pool=layer_type == "pool"))
        elif layer_type == "flatten":
            pass  # netx flattens (C, H, W order) before the next dense layer; so does Network
        elif layer_type in ("dense", "dense_rec"):
            self.layers.append(self._dense(config, where, recurrent=layer_type == "dense_rec"))
        else:
            raise HardwareError(f"{where}: layer type {layer_type!r} is not supported (supported: {', '.join(SUPPORTED_LAYERS)})")

    def _neuron(self, config: h5py.Group, where: str, input_layer: bool = False) -> dict:
        neuron = config["neuron"]
        neuron_type = _string(neuron["type"])
        problems = []
        if neuron_type not in SUPPORTED_NEURONS:
            problems.append(f"neuron type {neuron_type!r} is not supported (supported: {', '.join(SUPPORTED_NEURONS)})")
        if neuron_type != "SDNN" and "gradedSpike" in neuron and bool(neuron["gradedSpike"][()]):
            problems.append("graded spikes are not supported for CUBA neurons (binary spikes only; SDNN neurons send graded ones)")
        if problems:
            raise HardwareError(f"{where}: " + "; ".join(problems))
        if neuron_type == "SDNN":
            return self._sigma_delta(neuron, where, input_layer)
        return {
            "du": _scalar(neuron["iDecay"], where, "neuron/iDecay"),
            "dv": _scalar(neuron["vDecay"], where, "neuron/vDecay"),
            "vth": _scalar(neuron["vThMant"], where, "neuron/vThMant"),
            "bias_exp": NETX_BIAS_EXP,
        }

    def _sigma_delta(self, neuron: h5py.Group, where: str, input_layer: bool) -> dict:
        """netx's `get_neuron_params` for SDNN: Delta (input), Sigma (`sigma_output`) or SigmaDelta."""
        role = "delta" if input_layer else ("sigma" if "sigma_output" in neuron else "sigma_delta")
        if "messageBits" in neuron:
            raise HardwareError(
                f"{where}: neuron/messageBits: lava-dl 0.6 netx cannot load a file with this key (NetDict returns a group "
                "for it and the block's output_message_bits comparison raises); netx's SDNN default is 16 bits"
            )
        bits = NETX_SD_MESSAGE_BITS
        if "activation" in neuron and _string(neuron["activation"]).lower() != "relu" and role != "sigma":
            self.notes.append(f"{where}: activation {_string(neuron['activation'])!r} in the file; netx builds ReLU sigma-delta neurons")
        vth = _scalar(neuron["vThMant"], where, "neuron/vThMant") if "vThMant" in neuron else 0
        model = SigmaDelta(role=role, spike_exp=NETX_SD_EXP, state_exp=NETX_SD_EXP, message_bits=bits)
        return {"du": 0, "dv": 0, "vth": vth, "bias_exp": NETX_BIAS_EXP, "sigma_delta": model}

    def _input(self, config: h5py.Group, where: str) -> InputLayer:
        shape = self.input_shape or (int(np.prod(config["shape"][()])),)
        weight = _scalar(config["weight"], where, "weight") if "weight" in config else 64
        bias = _scalar(config["bias"], where, "bias") if "bias" in config else 0
        return InputLayer(shape=shape, weight=weight, bias=bias, name="input", **self._neuron(config, where, input_layer=True))

    def _conv(self, config: h5py.Group, where: str, pool: bool) -> ConvLayer:
        source = self._source_shape()
        if source is None or len(source) != 3:
            raise HardwareError(f"{where}: a {'pool' if pool else 'conv'} layer needs a (C, H, W) input; the layer before gives {source}")
        weight = _integer_array(config["weight"], where, "weight")
        weight = weight.reshape(weight.shape[:4]) if weight.ndim > 4 else weight
        groups = int(_scalar(config["groups"], where, "groups")) if "groups" in config else 1
        if pool:  # lava-dl's sum pooling: one kernel applied to every channel = a depthwise conv
            channels = source[0]
            weight = np.broadcast_to(weight.reshape(1, 1, *weight.shape[-2:]), (channels, 1, *weight.shape[-2:]))
            groups = channels
            self.notes.append(f"{where}: lava-dl 'pool' layer, which netx cannot load, read as the equivalent depthwise strided convolution")
        if "delay" in config:
            self.notes.append(f"{where}: conv delays are ignored, as netx ignores them")
        neuron_fields = self._neuron(config, where)
        _refuse_sigma_bias(neuron_fields, config, where)
        layer = ConvLayer(
            weights=weight,
            in_shape=source,
            stride=_pair_of(config, "stride", where),
            padding=_pair_of(config, "padding", where, default=0),
            dilation=_pair_of(config, "dilation", where),
            groups=groups,
            bias=_bias(config, where),
            name=f"{'pool' if pool else 'conv'}{len(self.layers)}",
            **neuron_fields,
        )
        if "shape" in config:
            declared = tuple(int(size) for size in np.asarray(config["shape"][()]).reshape(-1))
            if declared != layer.out_shape:
                raise HardwareError(f"{where}: shape {declared} differs from the convolution's output {layer.out_shape}")
        return layer

    def _dense(self, config: h5py.Group, where: str, recurrent: bool) -> DenseLayer:
        if "weight/imag" in config:
            raise HardwareError(f"{where}: complex weights are not supported")
        n_out = int(np.prod(config["shape"][()]))
        weight = _integer_array(config["weight"], where, "weight")
        if weight.ndim == 1:
            weight = weight.reshape(n_out, -1)
        if weight.shape[0] != n_out:
            raise HardwareError(f"{where}: weight has {weight.shape[0]} rows but the layer shape says {n_out} neurons")
        source = self._source_shape()
        if source is not None and int(np.prod(source)) != weight.shape[1]:
            raise HardwareError(f"{where}: weight takes {weight.shape[1]} inputs but the layer before gives {int(np.prod(source))}")
        looped = None
        if recurrent:
            looped = _integer_array(config["weight_rec"], where, "weight_rec").reshape(n_out, -1)
            combined = np.hstack((weight, looped))
        else:
            combined = weight
        if not np.any(combined):
            raise HardwareError(f"{where}: all weights are zero, which lava-dl netx cannot load")
        mantissas, num_weight_bits, weight_exponent = optimize_weight_bits(combined)
        delays = None
        if "delay" in config:
            if recurrent:
                raise HardwareError(f"{where}: dense_rec with delays is not supported (netx builds it without the weight exponent)")
            delays = _broadcast_delays(_finite(config["delay"][()], where, "delay"), weight.shape, where)
        neuron = "neuron" in config
        neuron_fields = self._neuron(config, where) if neuron else {"du": 0, "dv": 0, "vth": 0, "bias_exp": NETX_BIAS_EXP}
        _refuse_sigma_bias(neuron_fields, config, where)
        return DenseLayer(
            weights=mantissas[:, : weight.shape[1]],
            recurrent_weights=None if looped is None else mantissas[:, weight.shape[1] :],
            weight_exponent=weight_exponent,
            num_weight_bits=num_weight_bits,
            delays=delays,
            bias=_bias(config, where),
            neuron=neuron,
            name=f"{'dense' if neuron else 'readout'}{len(self.layers)}",
            **neuron_fields,
        )


def _refuse_sigma_bias(neuron_fields: dict, config: h5py.Group, where: str) -> None:
    model = neuron_fields.get("sigma_delta")
    if model is not None and model.role == "sigma" and "bias" in config:
        raise HardwareError(f"{where}: a sigma_output layer with a bias: netx's Sigma process takes no bias")


def _located(where: str, message: str) -> str:
    """`message` about one file layer, said once with the file's layer number (a Network layer's own
    "layer (name): " prefix is replaced by it)."""
    if message.startswith(where):
        return message
    if message.startswith("layer: "):
        return f"{where}: {message[len('layer: '):]}"
    if message.startswith("layer (") and "): " in message:
        name, rest = message[len("layer ("):].split("): ", 1)
        return f"{where} ({name}): {rest}"
    return f"{where}: {message}"


def _declared_shape(config: h5py.Group) -> tuple | None:
    try:
        return tuple(int(size) for size in np.asarray(config["shape"][()]).reshape(-1))
    except (KeyError, ValueError, TypeError, OverflowError):
        return None


def _finite(values, where: str, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise HardwareError(f"{where}: {name} must be numbers, got dtype {values.dtype}")
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise HardwareError(f"{where}: {name} contains NaN or infinity")
    if values.dtype.kind != "b" and values.size and np.abs(values).max() >= 2**31:
        raise HardwareError(f"{where}: {name} contains {np.abs(values).max():g}, beyond a 32-bit integer")
    return values


def _integer_array(dataset: h5py.Dataset, where: str, name: str) -> np.ndarray:
    """An array as netx's NetDict reads it (`astype(int)`: truncated toward zero), NaN and inf refused."""
    return _finite(dataset[()], where, name).astype(int)


def _scalar(dataset: h5py.Dataset, where: str, name: str) -> int:
    values = _finite(dataset[()], where, name).reshape(-1)
    if values.size != 1:
        raise HardwareError(f"{where}: {name} must be one number, got {values.size}")
    return int(values[0])


def _pair_of(config: h5py.Group, key: str, where: str, default: int = 1) -> tuple[int, int]:
    if key not in config:
        return (default, default)
    values = _finite(config[key][()], where, key).astype(int).reshape(-1)
    return (int(values[0]), int(values[0])) if values.size == 1 else (int(values[0]), int(values[1]))


def _bias(config: h5py.Group, where: str) -> np.ndarray | None:
    """Bias per neuron or per channel; netx's 3-D per-neuron bias is in (W, H, C) order: back to C, H, W."""
    if "bias" not in config:
        return None
    bias = _integer_array(config["bias"], where, "bias")
    return bias.transpose(2, 1, 0).reshape(-1) if bias.ndim == 3 else bias.reshape(-1)


def _broadcast_delays(delay: np.ndarray, weight_shape: tuple[int, int], where: str) -> np.ndarray:
    """netx's delay rules: clamp to 62, truncate to integers; scalar -> all synapses; 1-D of len out -> per row,
    of len in -> per column. Negative delays are refused (netx would pass them on to Lava)."""
    if delay.size and delay.min() < 0:
        raise NetxFormatError(f"{where}: delay contains {delay.min():g}; delays are timesteps >= 0")
    delay = np.clip(delay, 0, NETX_MAX_DELAY)
    n_out, n_in = weight_shape
    if delay.ndim == 0:
        delay = np.full(weight_shape, delay)
    elif delay.ndim == 1:
        if delay.size == n_out:
            delay = np.repeat(delay.reshape(-1, 1), n_in, axis=1)
        elif delay.size == n_in:
            delay = np.repeat(delay.reshape(1, -1), n_out, axis=0)
        else:
            raise NetxFormatError(f"{where}: delay of shape {delay.shape} fits neither weight dimension {weight_shape}")
    elif delay.shape != weight_shape:
        raise NetxFormatError(f"{where}: delay shape {delay.shape} differs from weight shape {weight_shape}")
    return delay.astype(int)


def _string(dataset: h5py.Dataset) -> str:
    value = dataset[()]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def netx_weights(layer: DenseLayer, index: int) -> np.ndarray:
    """The integer weights a netx file must hold so that netx rebuilds exactly this layer's synapses
    (for a recurrent layer: feed-forward and recurrent side by side, as netx optimizes them together)."""
    where = f"layer {index}" + (f" ({layer.name})" if layer.name else "")
    effective = layer.effective_weights().astype(np.int64)
    if layer.recurrent_weights is not None:
        effective = np.hstack((effective, layer.effective_recurrent_weights().astype(np.int64)))
    if layer.weight_exponent >= 0:
        weights = effective << layer.weight_exponent
    else:
        step = 1 << -layer.weight_exponent
        if np.any(effective % step):
            raise HardwareError(
                f"{where}: weight_exponent={layer.weight_exponent} with weights that are not multiples of {step} "
                "cannot be written as netx integer weights"
            )
        weights = effective // step
    if not np.any(weights):
        raise HardwareError(f"{where}: all effective weights are zero, which lava-dl netx cannot load")
    mode = sign_mode_of(weights)
    low, high = (-256, 254) if mode is SignMode.MIXED else (-256, 255)
    if weights.min() < low or weights.max() > high:
        raise HardwareError(
            f"{where}: effective weights span [{weights.min()}, {weights.max()}], beyond netx's 8-bit weight range "
            f"[{low}, {high}] (lower weight_exponent or weights)"
        )
    return weights


def write_netx(network: Network, path: str | Path) -> Path:
    """Write `network` as a netx file Lava loads, atomically (a failure leaves no partial file).

    Layers are written as lava-dl's `export_hdf5` writes them; a 2-D input without an input
    neuron gets a shape-only input layer (netx needs it to size the first conv), and a dense
    layer after a 2-D layer gets a `flatten` layer before it.
    """
    path = Path(path)
    problems = []
    for index, layer in enumerate(network.layers):
        if layer.refractory:
            problems.append(f"layer {index}: refractory={layer.refractory}, but netx/Lava fixed-point LIF has no refractory period")
        if layer.sigma_delta is not None:
            problems += _sigma_delta_write_problems(layer, index)
        elif layer.bias_exp != NETX_BIAS_EXP and (isinstance(layer, InputLayer) or np.any(layer.bias)):
            problems.append(f"layer {index}: bias_exp={layer.bias_exp}, but netx fixes the bias exponent at {NETX_BIAS_EXP}")
    datasets = {}
    for index, layer in enumerate(network.layers):
        if isinstance(layer, DenseLayer):
            try:
                datasets[index] = netx_weights(layer, index)
            except HardwareError as error:
                problems.append(str(error))
    if problems:
        raise HardwareError("; ".join(problems))
    with atomic_hdf5(path, written_by="neuro-codesign") as handle:
        groups = _Groups(handle.create_group("layer"))
        if not network.takes_drive and len(network.input_shape) == 3:
            _write_shape_only_input(groups.next(), network.input_shape)
        for index, layer in enumerate(network.layers):
            if network.flattens_before(index):
                _write_flatten(groups.next(), network.input_shape if index == 0 else network.layers[index - 1].out_shape)
            if isinstance(layer, InputLayer):
                _write_input(groups.next(), layer)
            elif isinstance(layer, ConvLayer):
                _write_conv(groups.next(), layer)
            else:
                _write_dense(groups.next(), layer, datasets[index])
    return path


class _Groups:
    """Numbered layer groups 0, 1, 2, ... as netx reads them."""

    def __init__(self, parent: h5py.Group) -> None:
        self.parent, self.count = parent, 0

    def next(self) -> h5py.Group:
        self.count += 1
        return self.parent.create_group(str(self.count - 1))


@contextlib.contextmanager
def atomic_hdf5(path: str | Path, written_by: str):
    """An HDF5 file opened for writing under a temporary name, renamed to `path` only if the block
    finishes: readers never see a half-written network, and a failure keeps any previous file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    try:
        with h5py.File(temporary, "w") as handle:
            handle.attrs["written_by"] = written_by
            yield handle
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_type(group: h5py.Group, name: str) -> None:
    group.create_dataset("type", (1,), "S10", [name.encode("ascii")])


def _sigma_delta_write_problems(layer, index: int) -> list[str]:
    """What a netx file cannot say about a sigma-delta layer (netx fixes it, or has no key for it)."""
    model, where = layer.sigma_delta, f"layer {index}" + (f" ({layer.name})" if layer.name else "")
    problems = []
    if model.spike_exp != NETX_SD_EXP or model.state_exp != NETX_SD_EXP:
        problems.append(f"{where}: sigma-delta spike_exp={model.spike_exp}, state_exp={model.state_exp}, but netx fixes both at {NETX_SD_EXP}")
    if model.activation != "relu":
        problems.append(f"{where}: sigma-delta activation {model.activation!r}, but netx builds only ReLU sigma-delta neurons")
    if model.cum_error:
        problems.append(f"{where}: sigma-delta cum_error=True, which a netx file cannot express (netx never sets it)")
    if model.message_bits == 0:
        problems.append(f"{where}: sigma-delta message_bits=0 (binary messages), which netx cannot load (it always sends 16-bit ones)")
    if model.role == "sigma" and np.any(layer.neuron_bias):
        problems.append(f"{where}: a sigma output with a bias, which netx's Sigma process cannot take")
    return problems


def _write_neuron(group: h5py.Group, layer) -> None:
    neuron = group.create_group("neuron")
    if layer.sigma_delta is not None:  # as lava-dl's sigma_delta blocks write it
        neuron.create_dataset("type", data="SDNN")
        neuron.create_dataset("activation", data="relu")
        neuron.create_dataset("vThMant", data=layer.vth)
        if layer.sigma_delta.role == "sigma":
            neuron.create_dataset("sigma_output", data=True)
        return
    neuron.create_dataset("type", data="CUBA")
    neuron.create_dataset("iDecay", data=layer.du)
    neuron.create_dataset("vDecay", data=layer.dv)
    neuron.create_dataset("vThMant", data=layer.vth)
    neuron.create_dataset("refDelay", data=1)
    neuron.create_dataset("gradedSpike", data=False)


def _write_shape_only_input(group: h5py.Group, shape: tuple) -> None:
    _write_type(group, "input")
    group.create_dataset("shape", data=np.array(shape))


def _write_flatten(group: h5py.Group, shape: tuple) -> None:
    _write_type(group, "flatten")
    group.create_dataset("shape", data=np.array([int(np.prod(shape))]))


def _write_input(group: h5py.Group, layer: InputLayer) -> None:
    _write_type(group, "input")
    group.create_dataset("shape", data=np.array(layer.shape))
    group.create_dataset("weight", data=np.float32(layer.weight))
    group.create_dataset("bias", data=np.float32(layer.bias))
    _write_neuron(group, layer)


def _write_conv(group: h5py.Group, layer: ConvLayer) -> None:
    """lava-dl's conv layout: weight (out, in / groups, kH, kW), stride etc. as (y, x); bias per channel
    when it is uniform over each channel's map, else per neuron in netx's (W, H, C) order."""
    _write_type(group, "conv")
    channels, height, width = layer.out_shape
    group.create_dataset("shape", data=np.array(layer.out_shape))
    group.create_dataset("inChannels", data=layer.in_shape[0])
    group.create_dataset("outChannels", data=channels)
    group.create_dataset("kernelSize", data=np.array(layer.weights.shape[2:]))
    for name in ("stride", "padding", "dilation"):
        group.create_dataset(name, data=np.array(getattr(layer, name)))
    group.create_dataset("groups", data=layer.groups)
    group.create_dataset("weight", data=layer.weights.astype(np.float32))
    if np.any(layer.bias):
        bias = layer.bias.reshape(channels, height, width)
        uniform = np.all(bias == bias[:, :1, :1])
        group.create_dataset("bias", data=(bias[:, 0, 0] if uniform else bias.transpose(2, 1, 0)).astype(np.float32))
    _write_neuron(group, layer)


def _write_dense(group: h5py.Group, layer: DenseLayer, weights: np.ndarray) -> None:
    _write_type(group, "dense_rec" if layer.recurrent_weights is not None else "dense")
    group.create_dataset("shape", data=np.array([layer.n_out]))
    group.create_dataset("inFeatures", data=layer.n_in)
    group.create_dataset("outFeatures", data=layer.n_out)
    group.create_dataset("weight", data=weights[:, : layer.n_in].astype(np.float32))
    if layer.recurrent_weights is not None:
        group.create_dataset("weight_rec", data=weights[:, layer.n_in :].astype(np.float32))
    if layer.delays is not None:
        group.create_dataset("delay", data=layer.delays.astype(np.float32))
    if np.any(layer.bias):
        group.create_dataset("bias", data=layer.bias.astype(np.float32))
    if layer.neuron:
        _write_neuron(group, layer)
