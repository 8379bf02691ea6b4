"""lava-dl netx HDF5 files <-> `hw_models.Network`.

Reading mirrors what `lava.lib.dl.netx.hdf5.Network` builds from a file, rule for rule, so
that our backends run exactly the network Lava runs: weights are read as integers
(`astype(int)`, as netx's NetDict does) and re-encoded by netx's `optimize_weight_bits`
(mantissa, weight bits, exponent), Lava's current decay is `iDecay - 1` (we keep `iDecay`,
see `network.py`), the bias exponent is netx's fixed 6, and 1-D delays are broadcast and
clamped to 62 as netx does. `tests/test_netx.py` checks these rules against Lava itself.

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
from hw_models.network import DenseLayer, Network, SignMode, sign_mode_of

NETX_BIAS_EXP = 6  # netx gives every CUBA neuron bias_exp = 6
NETX_MAX_DELAY = 62
SUPPORTED_NEURONS = ("CUBA", "LOIHI")


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
    """Read a netx `.net` file (dense CUBA layers, optional delays) as a `Network`."""
    path = Path(path)
    if not path.is_file():
        raise NetxFormatError(f"netx file {path} does not exist")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise NetxFormatError(f"{path} is not a readable HDF5 file (corrupt, truncated or another format): {error}") from None
    try:
        with handle:
            return _read_layers(handle, path)
    except NetxFormatError:
        raise
    except (KeyError, OSError, ValueError, TypeError) as error:
        raise NetxFormatError(f"{path} is not a valid netx network: {error}") from None


def _read_layers(handle: h5py.File, path: Path) -> Network:
    if "layer" not in handle:
        raise NetxFormatError(f"{path} has no 'layer' group: not a lava-dl netx network")
    group = handle["layer"]
    keys = sorted(group.keys(), key=lambda key: int(key) if key.isdigit() else -1)
    if not keys or any(not key.isdigit() for key in keys):
        raise NetxFormatError(f"{path}: 'layer' must hold groups named 0, 1, 2, ... (found {list(group.keys())})")
    layers = []
    for key in keys:
        config = group[key]
        where = f"{path}: layer {key}"
        layer_type = _string(config["type"])
        if layer_type == "input":
            if "neuron" in config:
                raise NetxFormatError(f"{where}: input layers with neurons are not supported (only plain spike input)")
            continue
        if layer_type != "dense":
            raise NetxFormatError(f"{where}: layer type {layer_type!r} is not supported (supported: dense, input)")
        layers.append(_read_dense(config, where, name=f"dense{len(layers)}"))
    if not layers:
        raise NetxFormatError(f"{path}: no dense layers")
    try:
        return Network(tuple(layers), metadata={"source": str(path)})
    except HardwareError as error:
        raise NetxFormatError(f"{path}: {error}") from None


def _read_dense(config: h5py.Group, where: str, name: str) -> DenseLayer:
    if "neuron" not in config:
        raise NetxFormatError(f"{where}: dense layer without a 'neuron' group is not supported")
    neuron = config["neuron"]
    neuron_type = _string(neuron["type"])
    if neuron_type not in SUPPORTED_NEURONS:
        raise NetxFormatError(f"{where}: neuron type {neuron_type!r} is not supported (supported: CUBA, LOIHI)")
    if "gradedSpike" in neuron and bool(neuron["gradedSpike"][()]):
        raise NetxFormatError(f"{where}: graded spikes are not supported (binary spikes only)")
    if "weight/imag" in config:
        raise NetxFormatError(f"{where}: complex weights are not supported")
    n_out = int(np.prod(config["shape"][()]))
    weight = np.asarray(config["weight"][()]).astype(int)  # netx's NetDict truncates this way
    if weight.ndim == 1:
        weight = weight.reshape(n_out, -1)
    if weight.shape[0] != n_out:
        raise NetxFormatError(f"{where}: weight has {weight.shape[0]} rows but the layer shape says {n_out} neurons")
    if not np.any(weight):
        raise NetxFormatError(f"{where}: all weights are zero, which lava-dl netx cannot load")
    mantissas, num_weight_bits, weight_exponent = optimize_weight_bits(weight)
    delays = None
    if "delay" in config:
        delays = _broadcast_delays(np.asarray(config["delay"][()]), weight.shape, where)
    bias = None
    if "bias" in config:
        bias = np.asarray(config["bias"][()]).astype(int).reshape(-1)
        if bias.size == 1:
            bias = np.full(n_out, bias[0])
    return DenseLayer(
        weights=mantissas,
        weight_exponent=weight_exponent,
        num_weight_bits=num_weight_bits,
        delays=delays,
        du=int(neuron["iDecay"][()]),
        dv=int(neuron["vDecay"][()]),
        vth=int(neuron["vThMant"][()]),
        bias=bias,
        bias_exp=NETX_BIAS_EXP,
        name=name,
    )


def _broadcast_delays(delay: np.ndarray, weight_shape: tuple[int, int], where: str) -> np.ndarray:
    """netx's delay rules: clamp to 62; scalar -> all synapses; 1-D of len out -> per row, of len in -> per column."""
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
    """The integer weights a netx file must hold so that netx rebuilds exactly this layer's synapses."""
    effective = layer.effective_weights().astype(np.int64)
    where = f"layer {index}" + (f" ({layer.name})" if layer.name else "")
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
    """Write `network` as a netx file Lava loads, atomically (a failure leaves no partial file)."""
    path = Path(path)
    datasets = []
    for index, layer in enumerate(network.layers):
        if layer.refractory:
            raise HardwareError(f"layer {index}: refractory={layer.refractory}, but netx/Lava fixed-point LIF has no refractory period")
        if layer.bias_exp != NETX_BIAS_EXP and np.any(layer.bias):
            raise HardwareError(f"layer {index}: bias_exp={layer.bias_exp}, but netx fixes the bias exponent at {NETX_BIAS_EXP}")
        datasets.append(netx_weights(layer, index))
    with atomic_hdf5(path, written_by="neuro-codesign") as handle:
        group = handle.create_group("layer")
        for index, (layer, weights) in enumerate(zip(network.layers, datasets)):
            _write_dense(group.create_group(str(index)), layer, weights)
    return path


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


def _write_dense(group: h5py.Group, layer: DenseLayer, weights: np.ndarray) -> None:
    group.create_dataset("type", (1,), "S10", [b"dense"])
    group.create_dataset("shape", data=np.array([layer.n_out]))
    group.create_dataset("inFeatures", data=layer.n_in)
    group.create_dataset("outFeatures", data=layer.n_out)
    group.create_dataset("weight", data=weights.astype(np.float32))
    if layer.delays is not None:
        group.create_dataset("delay", data=layer.delays.astype(np.float32))
    if np.any(layer.bias):
        group.create_dataset("bias", data=layer.bias.astype(np.float32))
    neuron = group.create_group("neuron")
    neuron.create_dataset("type", data="CUBA")
    neuron.create_dataset("iDecay", data=layer.du)
    neuron.create_dataset("vDecay", data=layer.dv)
    neuron.create_dataset("vThMant", data=layer.vth)
    neuron.create_dataset("refDelay", data=1)
    neuron.create_dataset("gradedSpike", data=False)
