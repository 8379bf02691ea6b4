"""How closely two backends agree on the same input: every layer's spikes, a readout's voltage, the counts.

Run on the numba core and Lava (the defaults) it checks, on a user's own network, the claim
everything else rests on: the core is bit-exact with Lava. Agreement on a layer that never
did anything proves nothing, so each layer also says whether it was silent in both runs: no
spike at all (for a layer that cannot spike, a readout, a voltage that stayed 0).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hw_models.activity import COUNT_FIELDS
from hw_models.backends.registry import simulate
from hw_models.backends.result import SimulationResult
from hw_models.network import Network
from hw_models.profile import ChipProfile


def compare_backends(
    network: Network,
    spikes,
    profile: ChipProfile | str = "loihi2",
    candidate: str = "numba",
    reference: str = "lava",
    netx_path: str | Path | None = None,
) -> dict:
    """Run both backends on `spikes`; per-layer agreement, count agreement and run times, JSON-able.

    With `netx_path` (the file `network` was read from) and the reference "lava", Lava loads
    that very file (`run_lava(..., netx_path=...)`) instead of one written from `network`
    (the candidate's `simulate` has validated the network against `profile` by then).
    """
    started = time.perf_counter()
    mine = simulate(network, spikes, backend=candidate, record_layers=True, profile=profile)
    candidate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if reference == "lava" and netx_path is not None:
        from hw_models.backends.lava import run_lava

        theirs = run_lava(network, spikes, netx_path=netx_path).result
    else:
        theirs = simulate(network, spikes, backend=reference, record_layers=True, profile=profile)
    reference_seconds = time.perf_counter() - started
    return compare_results(network, mine, theirs, candidate, reference) | {
        "seconds": {candidate: candidate_seconds, reference: reference_seconds}
    }


def compare_results(
    network: Network, mine: SimulationResult, theirs: SimulationResult, candidate: str = "numba", reference: str = "lava"
) -> dict:
    """Per-layer agreement of two results recorded with `record_layers=True` on the same input (JSON-able).

    A layer that cannot spike (a readout) is compared on its voltage as well. `silent_layers`
    lists the layers with no activity in either result (no spike; for a readout, v always 0).
    """
    layers = []
    last = len(network.layers) - 1
    for index, (layer, ours, expected) in enumerate(zip(network.layers, mine.layers, theirs.layers)):
        differ = np.argwhere(ours != expected)
        entry = {
            "layer": index,
            "name": layer.name,
            "kind": layer.describe()["kind"],
            "neurons": layer.n_out,
            f"{candidate}_spikes": int(ours.sum()),
            f"{reference}_spikes": int(expected.sum()),
            "mismatches": int(len(differ)),
            "agreement": 1.0 - len(differ) / max(ours.size, 1),
            "first_mismatch": [int(i) for i in differ[0]] if len(differ) else None,
        }
        active = bool(ours.any() or expected.any())
        if index == last and not getattr(layer, "spiking", True):
            entry |= _voltage_agreement(mine.voltage, theirs.voltage, candidate, reference)
            active = entry["voltage_nonzero"]
        entry["silent"] = not active
        layers.append(entry)
    count_mismatches = [
        name for name in COUNT_FIELDS if not np.array_equal(getattr(mine.counts, name), getattr(theirs.counts, name))
    ]
    return {
        "layers": layers,
        "silent_layers": [entry["layer"] for entry in layers if entry["silent"]],
        "counts_agree": not count_mismatches,
        "count_mismatches": count_mismatches,
        "match": not count_mismatches
        and all(entry["mismatches"] == 0 and entry.get("voltage_mismatches", 0) == 0 for entry in layers),
    }


def _voltage_agreement(ours, expected, candidate: str, reference: str) -> dict:
    """A readout's voltage (batch, n, T) in both results: mismatching entries, the first one, whether any is non-zero."""
    if ours is None or expected is None or np.shape(ours) != np.shape(expected):
        missing = [name for name, v in ((candidate, ours), (reference, expected)) if v is None]
        return {
            "voltage_mismatches": -1,
            "voltage_problem": f"no readout voltage from {', '.join(missing)}" if missing else
            f"readout voltages differ in shape: {np.shape(ours)} vs {np.shape(expected)}",
            "voltage_nonzero": bool(any(v is not None and np.any(v) for v in (ours, expected))),
        }
    differ = np.argwhere(ours != expected)
    return {
        "voltage_mismatches": int(len(differ)),
        "first_voltage_mismatch": [int(i) for i in differ[0]] if len(differ) else None,
        "voltage_max_abs": {candidate: int(np.abs(ours).max(initial=0)), reference: int(np.abs(expected).max(initial=0))},
        "voltage_nonzero": bool(np.any(ours) or np.any(expected)),
    }
