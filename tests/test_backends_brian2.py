"""The Brian2 float reference: identical where the fixed-point model is exact, close elsewhere."""

from __future__ import annotations

import numpy as np

from _lava_helpers import random_spikes
from hw_models import DenseLayer, Network, simulate
from hw_models.activity import COUNT_FIELDS


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
    assert reference.backend == "brian2" and all(layer.sum() > 0 for layer in core.layers)
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
    assert core.output.sum() > 20
    assert np.mean(core.output == reference.output) > 0.95
    assert abs(int(core.output.sum()) - int(reference.output.sum())) <= 0.2 * core.output.sum()
