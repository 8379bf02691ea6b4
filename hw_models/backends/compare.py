"""How closely two backends agree on the same input: every layer's spikes and the activity counts.

Run on the numba core and Lava (the defaults) it checks, on a user's own network, the claim
everything else rests on: the core is bit-exact with Lava.
"""

from __future__ import annotations

import time

import numpy as np

from hw_models.activity import COUNT_FIELDS
from hw_models.backends.registry import simulate
from hw_models.network import Network
from hw_models.profile import ChipProfile


def compare_backends(
    network: Network, spikes, profile: ChipProfile | str = "loihi2", candidate: str = "numba", reference: str = "lava"
) -> dict:
    """Run both backends on `spikes`; per-layer spike agreement, count agreement and run times, JSON-able."""
    started = time.perf_counter()
    mine = simulate(network, spikes, backend=candidate, record_layers=True, profile=profile)
    candidate_seconds = time.perf_counter() - started
    started = time.perf_counter()
    theirs = simulate(network, spikes, backend=reference, record_layers=True, profile=profile)
    reference_seconds = time.perf_counter() - started
    layers = []
    for index, (layer, ours, expected) in enumerate(zip(network.layers, mine.layers, theirs.layers)):
        differ = np.argwhere(ours != expected)
        layers.append(
            {
                "layer": index,
                "name": layer.name,
                "neurons": layer.n_out,
                f"{candidate}_spikes": int(ours.sum()),
                f"{reference}_spikes": int(expected.sum()),
                "mismatches": int(len(differ)),
                "agreement": 1.0 - len(differ) / max(ours.size, 1),
                "first_mismatch": [int(i) for i in differ[0]] if len(differ) else None,
            }
        )
    count_mismatches = [
        name for name in COUNT_FIELDS if not np.array_equal(getattr(mine.counts, name), getattr(theirs.counts, name))
    ]
    return {
        "layers": layers,
        "counts_agree": not count_mismatches,
        "count_mismatches": count_mismatches,
        "match": not count_mismatches and all(entry["mismatches"] == 0 for entry in layers),
        "seconds": {candidate: candidate_seconds, reference: reference_seconds},
    }
