"""The numba core on single neurons whose spikes follow in closed form from Lava's fixed-point rules.

Each case isolates one rule (strict threshold, 12-bit round-toward-zero decay, 24-bit wrap,
weight truncation, exponent floor, per-delay-group shifts, bias exponent, delays, refractory)
so that a regression names the rule it broke. Agreement with Lava itself is in
test_backends_lava.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import DenseLayer, Network, pipeline_delay_steps, simulate
from hw_models.activity import COUNT_FIELDS


def neuron(weights, **params) -> Network:
    params = {"du": 4096, "dv": 4096, "vth": 50} | params
    return Network((DenseLayer(weights=np.atleast_2d(weights), **params),))


def run(network, spikes, **kwargs):
    spikes = np.asarray(spikes, dtype=np.uint8)
    if spikes.ndim == 1:
        spikes = spikes[None, None, :]
    elif spikes.ndim == 2:
        spikes = spikes[None]
    return simulate(network, spikes, **kwargs)


def lagged(x, lag):
    out = np.zeros_like(x)
    out[lag:] = x[: len(x) - lag]
    return out


TRAIN = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0], dtype=np.uint8)


@pytest.mark.parametrize("weight, vth, fires", [(51, 50, True), (50, 50, False), (1, 0, True), (0, 0, False)])
def test_memoryless_neuron_fires_one_step_after_input_and_only_strictly_above_threshold(weight, vth, fires):
    out = run(neuron(weight, vth=vth), TRAIN).output[0, 0]
    np.testing.assert_array_equal(out, lagged(TRAIN, 1) if fires else np.zeros_like(TRAIN))


@pytest.mark.parametrize("weight, vth", [(7, 20), (10, 30), (13, 12), (1, 5)])
def test_perfect_integrator_fires_every_floor_vth_over_w_plus_one_steps(weight, vth):
    steps = 40
    out = run(neuron(weight, vth=vth, du=4096, dv=0), np.ones(steps)).output[0, 0]
    period = vth // weight + 1  # v = k * w << 6 after k inputs; spike once k * w > vth
    expected = np.zeros(steps, dtype=np.uint8)
    expected[period::period] = 1
    np.testing.assert_array_equal(out, expected)


def test_current_without_decay_keeps_its_value_and_survives_the_voltage_reset():
    x = np.zeros(10, dtype=np.uint8)
    x[[0, 3]] = 1
    out = run(neuron(40, vth=50, du=0, dv=4096), x).output[0, 0]
    np.testing.assert_array_equal(out, (np.arange(10) >= 4).astype(np.uint8))  # u = 40 << 6, then 80 << 6


def test_decay_rounds_toward_zero_not_down():
    # u: -64, -32, ..., -1, then trunc(-1/2) = 0 (flooring would stick at -1 and never fire again)
    x = np.zeros(14, dtype=np.uint8)
    x[0] = 1
    out = run(neuron(-1, vth=0, du=2048, dv=4096, bias=1, bias_exp=0), x).output[0, 0]
    expected = np.ones(14, dtype=np.uint8)
    expected[1:8] = 0
    np.testing.assert_array_equal(out, expected)


def test_negative_weight_exponent_floors_the_summed_input():
    # (-3) >> 1 = -2: v = -128 + 100 < 0 silences the step after each input; truncation (-1) would not
    out = run(neuron(-3, vth=0, weight_exponent=-1, bias=100, bias_exp=0), TRAIN).output[0, 0]
    np.testing.assert_array_equal(out, 1 - lagged(TRAIN, 1))


def test_weights_are_truncated_to_their_bits_by_sign_mode():
    # excitatory, 2 bits: 255 -> 192 (6 low bits dropped)
    assert run(neuron(255, vth=191, num_weight_bits=2), TRAIN).output.sum() == lagged(TRAIN, 1).sum()
    assert run(neuron(255, vth=192, num_weight_bits=2), TRAIN).output.sum() == 0
    # mixed, 2 bits: 7 bits dropped (sign takes one): 100 -> 0, -1 -> -128
    layer = DenseLayer(weights=np.array([[100, -1]]), du=4096, dv=4096, vth=0, num_weight_bits=2)
    np.testing.assert_array_equal(layer.effective_weights(), [[0, -128]])
    x = np.stack([TRAIN, np.zeros_like(TRAIN)])
    assert run(Network((layer,)), x).output.sum() == 0


def test_current_wraps_at_24_bits():
    amount = (255 << 7) << 6  # weight 255, exponent 7, activation shift 6: 2088960 per step
    steps = 30
    out = run(neuron(255, weight_exponent=7, du=0, dv=4096, vth=130000), np.ones(steps)).output[0, 0]
    residues = (np.arange(steps) * amount) % 2**24  # step t has integrated t inputs
    u = np.where(residues > 2**23, residues - 2**24, residues)
    np.testing.assert_array_equal(out, (np.minimum(u, 2**23 - 1) > 130000 << 6).astype(np.uint8))
    assert 0 < out.sum() < steps - 1, "the wrap must show: the neuron stops firing once u wraps negative"


def test_bias_is_mantissa_shifted_by_its_exponent():
    out = run(neuron(0, vth=10, du=4096, dv=0, bias=1, bias_exp=7), np.zeros(30)).output[0, 0]
    # v grows 128 per step from 128 at t = 0; fires when k * 128 > 640, i.e. every 6th step
    np.testing.assert_array_equal(out, (np.arange(30) % 6 == 5).astype(np.uint8))


@pytest.mark.parametrize("delay", [0, 1, 5, 62])
def test_synaptic_delay_adds_to_the_one_step_synapse_latency(delay):
    x = np.zeros(80, dtype=np.uint8)
    x[[0, 3, 10]] = 1
    out = run(neuron(100, delays=[[delay]]), x).output[0, 0]
    np.testing.assert_array_equal(out, lagged(x, 1 + delay))


def test_exponent_shift_applies_to_each_delay_group_and_step_separately():
    two_inputs = np.zeros((2, 6), dtype=np.uint8)
    # same step, same delay group: (1 + 1) >> 1 = 1 fires
    two_inputs[:, 0] = 1
    same_group = neuron([[1, 1]], vth=0, weight_exponent=-1, delays=[[0, 0]])
    assert run(same_group, two_inputs).output[0, 0, 1] == 1
    # same arrival step via different delays: (1 >> 1) + (1 >> 1) = 0 stays silent
    staggered = np.zeros((2, 6), dtype=np.uint8)
    staggered[0, 1] = staggered[1, 0] = 1
    two_groups = neuron([[1, 1]], vth=0, weight_exponent=-1, delays=[[0, 1]])
    assert run(two_groups, staggered).output.sum() == 0


def test_refractory_steps_are_silent_in_the_numba_core():
    out = run(neuron(100, refractory=2), np.ones(20)).output[0, 0]
    np.testing.assert_array_equal(out, ((np.arange(20) - 1) % 3 == 0).astype(np.uint8) * (np.arange(20) >= 1))


def test_pipeline_delay_is_when_a_single_input_spike_reaches_the_output():
    layers = (
        DenseLayer(weights=[[100]], du=4096, dv=4096, vth=50),
        DenseLayer(weights=[[100]], du=4096, dv=4096, vth=50, delays=[[2]]),
        DenseLayer(weights=[[100]], du=4096, dv=4096, vth=50),
    )
    network = Network(layers)
    x = np.zeros(12, dtype=np.uint8)
    x[0] = 1
    result = run(network, x, record_layers=True)
    assert pipeline_delay_steps(network) == 5
    assert np.flatnonzero(result.output[0, 0]).tolist() == [5]
    assert [np.flatnonzero(layer[0, 0]).tolist() for layer in result.layers] == [[1], [4], [5]]


def test_counts_of_a_memoryless_neuron_in_closed_form():
    weights = np.array([[60, 0, -3]])
    network = Network((DenseLayer(weights=weights, du=4096, dv=4096, vth=50),))
    x = np.zeros((3, 12), dtype=np.uint8)
    x[0] = TRAIN
    x[1, [2, 5]] = 1  # zero weight: an input spike, but no synaptic op
    counts = run(network, x).counts
    fired = lagged(TRAIN, 1)
    # active: input arriving (x[t-1] on a non-zero weight) or state left from t-1 (u = a << 6 lasts one step)
    arriving = lagged(TRAIN, 1).astype(bool)
    active = arriving | lagged(arriving.astype(np.uint8), 1).astype(bool)
    assert counts.input_spikes.tolist() == [[TRAIN.sum() + 2]]
    assert counts.synaptic_ops.tolist() == [[TRAIN.sum()]]
    assert counts.output_spikes.tolist() == [[fired.sum()]]
    assert counts.active_neuron_updates.tolist() == [[active.sum()]]
    assert counts.inactive_neuron_updates.tolist() == [[12 - active.sum()]]
    assert counts.delayed_events.tolist() == [[0]]
    assert counts.timesteps == 12


def test_delayed_events_count_non_zero_synapses_with_delay():
    weights = np.array([[10, 20, 0], [30, 0, 40]])
    delays = np.array([[0, 3, 5], [1, 0, 2]])
    network = Network((DenseLayer(weights=weights, du=4096, dv=4096, vth=1000, delays=delays),))
    x = np.zeros((1, 3, 8), dtype=np.uint8)
    x[0, 0, [0, 1]] = 1  # 2 spikes x (synapse to neuron 1 has delay 1) = 2 delayed of 4 ops
    x[0, 2, 4] = 1  # 1 spike x 1 non-zero synapse (delay 2)
    counts = simulate(network, x).counts
    assert counts.synaptic_ops.tolist() == [[5]]
    assert counts.delayed_events.tolist() == [[3]]


def test_bias_keeps_every_neuron_step_active():
    network = Network((DenseLayer(weights=np.zeros((4, 2)), du=0, dv=0, vth=100, bias=[0, 1, 0, -1], bias_exp=0),))
    counts = simulate(network, np.zeros((2, 2, 10))).counts
    assert counts.active_neuron_updates.tolist() == [[20], [20]]
    assert counts.inactive_neuron_updates.tolist() == [[20], [20]]


def test_batch_is_the_same_as_one_sample_at_a_time_and_layers_are_recorded():
    rng = np.random.default_rng(0)
    network = Network(
        (
            DenseLayer(weights=rng.integers(-100, 200, (9, 6)), du=900, dv=300, vth=120, delays=rng.integers(0, 4, (9, 6))),
            DenseLayer(weights=rng.integers(-50, 150, (4, 9)), du=2000, dv=100, vth=60, weight_exponent=-2),
        )
    )
    x = (rng.random((7, 6, 25)) < 0.4).astype(np.uint8)
    full = simulate(network, x, record_layers=True)
    assert [layer.shape for layer in full.layers] == [(7, 9, 25), (7, 4, 25)]
    assert full.output is full.layers[-1] and full.output.dtype == np.uint8 and full.backend == "numba"
    assert full.output.sum() > 0
    plain = simulate(network, x)
    assert plain.layers is None
    np.testing.assert_array_equal(plain.output, full.output)
    for b in range(7):
        single = simulate(network, x[b : b + 1], record_layers=True)
        for mine, theirs in zip(single.layers, full.layers):
            np.testing.assert_array_equal(mine[0], theirs[b])
        for name in COUNT_FIELDS:
            assert getattr(single.counts, name)[0].tolist() == getattr(full.counts, name)[b].tolist()
    assert (full.counts.active_neuron_updates + full.counts.inactive_neuron_updates == [9 * 25, 4 * 25]).all()
    assert (full.counts.output_spikes[:, 0] == full.counts.input_spikes[:, 1]).all()


def test_bool_and_float_binary_spikes_are_accepted():
    network = neuron(100)
    expected = run(network, TRAIN).output
    np.testing.assert_array_equal(run(network, TRAIN.astype(bool)).output, expected)
    np.testing.assert_array_equal(run(network, TRAIN.astype(np.float32)).output, expected)


def int32_overflow_network() -> Network:
    """Neuron 0 sums 1000 inputs of 255 << 7, neuron 1 sums 1100: only the second overflows int32 after << 6."""
    weights = np.zeros((2, 1100), dtype=np.int64)
    weights[0, :1000] = 255
    weights[1, :] = 255
    return Network((DenseLayer(weights=weights, du=4096, dv=4096, vth=1000, weight_exponent=7),))


def test_activation_wraps_at_32_bits_before_the_24_bit_wrap():
    # 1000 * 32640 << 6 = 2_088_960_000 fits int32: u wraps once to 2_072_182_784, v clips to 2**23 - 1: spike.
    # 1100 * 32640 << 6 = 2_297_856_000 wraps to -1_997_111_296 in int32: v clips to -2**23 + 1: silent.
    x = np.zeros((1, 1100, 3), dtype=np.uint8)
    x[0, :, 0] = 1
    out = simulate(int32_overflow_network(), x).output[0]
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 0]])
