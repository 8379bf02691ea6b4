"""The Brian2 float reference: identical where the fixed-point model is exact, close elsewhere.

Agreement is measured on spikes, never on matching silence: the inputs make every layer fire
on a good share of its neuron-steps, and closeness is the share of spikes both place alike.
"""

from __future__ import annotations

import numpy as np
from _lava_helpers import random_spikes

from hw_models import DenseLayer, Network, simulate
from hw_models.activity import COUNT_FIELDS


def spike_agreement(mine: np.ndarray, theirs: np.ndarray) -> float:
    """Spikes at the same (sample, neuron, step) over spikes of either (Jaccard): 1 when identical, 0 for silence."""
    either = int((mine | theirs).sum())
    return int((mine & theirs).sum()) / either if either else 0.0


def test_brian2_equals_the_core_where_fixed_point_is_exact():
    # decays of 0 or 4096 and non-negative exponents: no rounding, and values far from the 24-bit limits
    rng = np.random.default_rng(7)
    network = Network(
        (
            DenseLayer(weights=rng.integers(0, 120, (10, 8)), du=4096, dv=0, vth=300, weight_exponent=1, delays=rng.integers(0, 4, (10, 8))),
            DenseLayer(weights=rng.integers(-100, 200, (6, 10)), du=0, dv=4096, vth=400, refractory=2, bias=rng.integers(-5, 6, 6), bias_exp=3),
            DenseLayer(weights=rng.integers(-30, 100, (3, 6)), du=4096, dv=4096, vth=20, num_weight_bits=4),
        )
    )
    spikes = random_spikes(4, 8, 30, density=0.3, seed=8)
    core = simulate(network, spikes, record_layers=True)
    reference = simulate(network, spikes, backend="brian2", record_layers=True)
    assert reference.backend == "brian2"
    assert all(layer.sum() >= 0.1 * layer.size for layer in core.layers), [int(layer.sum()) for layer in core.layers]
    for mine, theirs in zip(core.layers, reference.layers):
        np.testing.assert_array_equal(mine, theirs)
    for name in COUNT_FIELDS:
        np.testing.assert_array_equal(getattr(core.counts, name), getattr(reference.counts, name), err_msg=name)


def test_brian2_stays_close_to_the_core_with_rounding_decays():
    rng = np.random.default_rng(3)
    network = Network(
        (
            DenseLayer(weights=rng.integers(-50, 120, (12, 8)), du=900, dv=300, vth=300),
            DenseLayer(weights=rng.integers(-100, 200, (5, 12)), du=2000, dv=100, vth=400, weight_exponent=-2),
        )
    )
    spikes = random_spikes(4, 8, 40, density=0.3, seed=2)
    core = simulate(network, spikes, record_layers=True)
    reference = simulate(network, spikes, backend="brian2")
    assert reference.layers is None and reference.output.shape == core.output.shape
    assert core.output.sum() >= 0.2 * core.output.size  # 315 spikes in 800 neuron-steps: nothing passes by silence
    assert spike_agreement(core.output, reference.output) >= 0.9
    per_neuron = core.output.sum(axis=2, dtype=np.int64) - reference.output.sum(axis=2, dtype=np.int64)
    assert np.abs(per_neuron).max() <= 1, per_neuron
