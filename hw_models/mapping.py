"""Resource model: which cores a network occupies, how full they are, and how far spikes travel.

A layer's neurons are split over the fewest cores that hold both its neurons
(`neurons_per_core`, a sweep hyperparameter capped by the chip) and their fan-in synapses
(synaptic memory per core; a synapse costs its weight bits, a sign bit when the layer's
weights are mixed-sign, and delay bits when the layer has delays). Layers are placed one
after another on fresh cores, numbered row-major over the tile mesh, and neurons are
balanced over a layer's cores. This is greedy and layer-by-layer, like Lava's default
partitioner, not an optimal placement.

Traffic: a spike is sent once to every core of the next layer (dense layers: every core
holds synapses for it); its cost is one within-tile delivery plus the Manhattan distance in
tiles, split east-west / north-south because Loihi prices the two directions differently.
Input spikes enter at the profile's input tile.

Conv layers are stored expanded: each neuron holds its kernel's synapses (in channels per
group x kH x kW), as Loihi 1 stores convolutions (Davies et al. 2018 describe no weight
sharing). Loihi 2 adds convolutional weight sharing (Intel's Loihi 2 brief, 2021, lists
convolutional connectivity among its network-compression features), but Intel publishes no
per-core format for it, so both profiles use the expanded count: an upper bound for Loihi 2.
Recurrent synapses count in the fan-in; an input layer with a neuron has none.

A network the chip cannot hold is still mapped (so energy can be estimated) but has
`fits = False` and a `reason`: the optimizer uses that as a constraint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hw_models.errors import HardwareError
from hw_models.network import Network, SignMode, sign_mode_of
from hw_models.profile import ChipProfile, load_profile


@dataclass(frozen=True)
class CoreLoad:
    """One occupied core: where it sits and how full it is."""

    core: int
    layer: int
    tile: int
    x: int
    y: int
    neurons: int
    synapses: int
    synaptic_memory_bits: int
    neuron_utilization: float
    memory_utilization: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LayerPlacement:
    """A layer's share of the chip and the per-spike traffic into it."""

    layer: int
    name: str
    cores: tuple[int, ...]
    neurons_per_core: tuple[int, ...]
    bits_per_synapse: int
    synaptic_memory_bits: int
    # Per spike arriving at this layer (from the input or the previous layer), averaged
    # over source cores in proportion to their neurons: messages sent (one per destination
    # core) and tile hops travelled in each direction, summed over those messages.
    messages_per_spike: float
    hops_east_west_per_spike: float
    hops_north_south_per_spike: float
    # Largest east-west and north-south distances of any route into this layer (together an
    # upper bound on the longest route; it sets the mesh's share of a step's time).
    max_hops_east_west: int
    max_hops_north_south: int

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["cores"] = list(self.cores)
        data["neurons_per_core"] = list(self.neurons_per_core)
        return data


@dataclass(frozen=True)
class Mapping:
    """A network placed on a chip: cores used, per-core load, traffic, and whether it fits."""

    profile: ChipProfile = field(repr=False)
    neurons_per_core: int
    cores_available: int
    layers: tuple[LayerPlacement, ...]
    core_loads: tuple[CoreLoad, ...]
    tiles_used: int
    fits: bool
    reason: str = ""

    @property
    def cores(self) -> int:
        return len(self.core_loads)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    def to_dict(self) -> dict:
        return {
            "profile": self.profile.name,
            "neurons_per_core": self.neurons_per_core,
            "cores": self.cores,
            "cores_available": self.cores_available,
            "tiles_used": self.tiles_used,
            "fits": self.fits,
            "reason": self.reason,
            "layers": [layer.to_dict() for layer in self.layers],
            "core_loads": [load.to_dict() for load in self.core_loads],
        }


def bits_per_synapse(layer, profile: ChipProfile) -> int:
    """Synaptic memory one synapse of `layer` takes: weight bits (+ sign if mixed) (+ delay).

    Conv weights have no weight-bit field in Lava (8 bits); an input layer has no synapses."""
    if layer.kind == "input":
        return 0
    bits = getattr(layer, "num_weight_bits", 8)
    if sign_mode_of(layer.weights) is SignMode.MIXED:
        bits += int(profile.value("mesh", "sign_bits_mixed"))
    if getattr(layer, "delays", None) is not None:
        bits += int(profile.value("mesh", "delay_bits_per_synapse"))
    return bits


def map_network(
    network: Network,
    profile: ChipProfile | str | Path = "loihi2",
    neurons_per_core: int | None = None,
) -> Mapping:
    """Place `network` on the chip, layer by layer; never raises for a network that is too big."""
    profile = load_profile(profile)
    chip_neurons_per_core = profile.limit("neurons_per_core")
    if neurons_per_core is None:
        neurons_per_core = chip_neurons_per_core
    if isinstance(neurons_per_core, bool) or not float(neurons_per_core).is_integer():
        raise HardwareError(f"neurons_per_core must be an integer, got {neurons_per_core!r}")
    neurons_per_core = int(neurons_per_core)
    if not 1 <= neurons_per_core <= chip_neurons_per_core:
        raise HardwareError(
            f"neurons_per_core={neurons_per_core} is outside the chip's range [1, {chip_neurons_per_core}] "
            f"(limits.neurons_per_core in {profile.path})"
        )
    memory_bits = profile.limit("synaptic_memory_bits_per_core")
    cores_available = profile.limit("cores")
    grid = _Grid.from_profile(profile)

    problems: list[str] = []
    placements: list[LayerPlacement] = []
    core_loads: list[CoreLoad] = []
    previous_cores: list[tuple[int, int]] = []  # (core id, neurons) of the layer feeding this one
    for index, layer in enumerate(network.layers):
        where = f"layer {index}" + (f" ({layer.name})" if layer.name else "")
        synapse_bits = bits_per_synapse(layer, profile)
        fan_in = layer.synapses_per_neuron()
        fan_in_bits = fan_in * synapse_bits
        by_memory = memory_bits // fan_in_bits if fan_in_bits else neurons_per_core
        capacity = min(neurons_per_core, by_memory)
        if capacity < 1:
            problems.append(
                f"{where}: one neuron's fan-in ({fan_in} synapses x {synapse_bits} bits = {fan_in_bits} bits) "
                f"exceeds a core's synaptic memory ({memory_bits} bits)"
            )
            capacity = 1  # still map it (one neuron per core) so costs can be estimated
        n_cores = math.ceil(layer.n_out / capacity)
        sizes = _balanced(layer.n_out, n_cores)
        first = len(core_loads)
        cores = tuple(range(first, first + n_cores))
        for core, neurons in zip(cores, sizes):
            tile, x, y = grid.place(core)
            synapses = neurons * fan_in
            core_loads.append(
                CoreLoad(
                    core=core,
                    layer=index,
                    tile=tile,
                    x=x,
                    y=y,
                    neurons=neurons,
                    synapses=synapses,
                    synaptic_memory_bits=synapses * synapse_bits,
                    neuron_utilization=neurons / chip_neurons_per_core,
                    memory_utilization=synapses * synapse_bits / memory_bits,
                )
            )
        sources = [(grid.input_xy, 1)] if index == 0 else [(grid.place(core)[1:], n) for core, n in previous_cores]
        destinations = [grid.place(core)[1:] for core in cores]
        traffic = _traffic(sources, destinations)
        placements.append(
            LayerPlacement(
                layer=index,
                name=layer.name,
                cores=cores,
                neurons_per_core=tuple(sizes),
                bits_per_synapse=synapse_bits,
                synaptic_memory_bits=layer.n_out * fan_in_bits,
                **traffic,
            )
        )
        previous_cores = list(zip(cores, sizes))

    if len(core_loads) > cores_available:
        problems.append(f"needs {len(core_loads)} cores but the chip has {cores_available}")
    tiles_used = len({load.tile for load in core_loads})
    return Mapping(
        profile=profile,
        neurons_per_core=neurons_per_core,
        cores_available=cores_available,
        layers=tuple(placements),
        core_loads=tuple(core_loads),
        tiles_used=tiles_used,
        fits=not problems,
        reason="; ".join(problems),
    )


@dataclass(frozen=True)
class _Grid:
    cores_per_tile: int
    tiles_x: int
    input_xy: tuple[int, int]

    @classmethod
    def from_profile(cls, profile: ChipProfile) -> "_Grid":
        cores_per_tile = int(profile.value("mesh", "cores_per_tile"))
        tiles_x = int(profile.value("mesh", "tiles_x"))
        if cores_per_tile < 1 or tiles_x < 1:
            raise HardwareError(f"profile {profile.path}: mesh.cores_per_tile and mesh.tiles_x must be >= 1")
        input_xy = (int(profile.value("mesh", "input_tile_x")), int(profile.value("mesh", "input_tile_y")))
        return cls(cores_per_tile, tiles_x, input_xy)

    def place(self, core: int) -> tuple[int, int, int]:
        """Core id -> (tile, x, y); tiles fill the mesh row by row (rows past the chip's last
        one are where an oversized network's extra cores would go)."""
        tile = core // self.cores_per_tile
        return tile, tile % self.tiles_x, tile // self.tiles_x


def _balanced(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _traffic(sources: list[tuple[tuple[int, int], int]], destinations: list[tuple[int, int]]) -> dict:
    weights = np.array([n for _, n in sources], dtype=float)
    weights = weights / weights.sum() if weights.sum() else np.full(len(sources), 1.0 / len(sources))
    src = np.array([xy for xy, _ in sources])
    dst = np.array(destinations)
    dx = np.abs(src[:, None, 0] - dst[None, :, 0])
    dy = np.abs(src[:, None, 1] - dst[None, :, 1])
    return {
        "messages_per_spike": float(len(destinations)),
        "hops_east_west_per_spike": float(weights @ dx.sum(axis=1)),
        "hops_north_south_per_spike": float(weights @ dy.sum(axis=1)),
        "max_hops_east_west": int(dx.max()),
        "max_hops_north_south": int(dy.max()),
    }
