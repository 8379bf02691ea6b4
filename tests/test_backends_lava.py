"""The numba core against Lava itself: every spike of every layer, and the activity counts.

Lava costs about a second per run, so each hypothesis example batches its samples into one
Lava run (the processes engine's LIFReset batching, itself checked against per-sample netx
runs below) and the example count is kept small; derandomize makes the examples reproducible.
"""

from __future__ import annotations

import numpy as np
import pytest
from _lava_helpers import export_slayer_network, random_spikes, spiking_networks
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hw_models import DenseLayer, HardwareError, Network, simulate
from hw_models.activity import COUNT_FIELDS
from hw_models.backends.lava import ENGINE_NETX, plan_batch, run_lava, run_netx_per_sample

pytestmark = pytest.mark.lava

LAVA_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def assert_same_result(actual, expected):
    for index, (mine, theirs) in enumerate(zip(actual.layers, expected.layers)):
        mismatch = np.argwhere(mine != theirs)
        assert mismatch.size == 0, f"layer {index}: {len(mismatch)} spikes differ, first at (sample, neuron, step) {tuple(mismatch[0])}"
    for name in COUNT_FIELDS:
        np.testing.assert_array_equal(getattr(actual.counts, name), getattr(expected.counts, name), err_msg=name)


@LAVA_SETTINGS
@given(net_and_density=spiking_networks(), steps=st.integers(6, 20), seed=st.integers(0, 2**16))
def test_numba_core_is_bit_exact_with_lava(net_and_density, steps, seed):
    network, density = net_and_density
    spikes = random_spikes(3, network.n_inputs, steps, density, seed)
    mine = simulate(network, spikes, backend="numba", record_layers=True)
    # only spend a Lava run on networks where every layer fires: otherwise the comparison says little
    assume(all(layer.sum() > 0 for layer in mine.layers))
    lava = simulate(network, spikes, backend="lava", record_layers=True)
    assert_same_result(mine, lava)
    assert sum(int(layer.sum()) for layer in lava.layers) >= len(network.layers)


@pytest.mark.parametrize("delay", [False, True], ids=["dense", "delay-dense"])
def test_netx_file_from_lava_dl_matches_run_netx_per_sample(tmp_path, delay):
    path = export_slayer_network(tmp_path / "slayer.net", delay=delay, seed=2)
    network = Network.from_netx(path)
    spikes = random_spikes(2, network.n_inputs, 16, density=0.4, seed=3)
    expected = run_netx_per_sample(path, spikes)  # netx's own blocks, one fresh Lava run per sample
    assert expected.sum() > 5, "the exported network must actually spike"
    mine = simulate(network, spikes, backend="numba", record_layers=True)
    np.testing.assert_array_equal(mine.output, expected)
    batched = simulate(network, spikes, backend="lava", record_layers=True)  # LIFReset batching
    np.testing.assert_array_equal(batched.output, expected)
    assert_same_result(mine, batched)
    deployed = run_lava(network, spikes, netx_path=path)  # the file itself, netx's staggered resets, planned period
    assert deployed.engine == ENGINE_NETX and deployed.reset_interval >= spikes.shape[2]
    assert_same_result(mine, deployed.result)


def test_network_that_never_falls_quiet_runs_samples_separately_and_exactly(tmp_path):
    # iDecay = 0: the current never decays, so the first layer keeps firing after its input ends
    rng = np.random.default_rng(4)
    network = Network(
        (
            DenseLayer(weights=rng.integers(0, 120, (6, 5)), du=0, dv=600, vth=150),
            DenseLayer(weights=rng.integers(-60, 200, (3, 6)), du=1200, dv=800, vth=200, delays=rng.integers(0, 3, (3, 6))),
        )
    )
    spikes = random_spikes(2, 5, 12, density=0.3, seed=5)
    plan = plan_batch(network, spikes)
    assert plan.shared == [0] and plan.alone == [1], "the plan must not share a Lava run between samples that never fall quiet"
    lava = simulate(network, spikes, backend="lava", record_layers=True)
    path = network.to_netx(tmp_path / "persistent.net")
    np.testing.assert_array_equal(lava.output, run_netx_per_sample(path, spikes))
    assert lava.output.sum() > 5
    assert_same_result(simulate(network, spikes, record_layers=True), lava)


def test_lava_backend_refuses_refractory_periods():
    network = Network((DenseLayer(weights=np.ones((2, 2)), du=0, dv=0, vth=1, refractory=2, name="hidden"),))
    with pytest.raises(HardwareError, match="refractory=2.*no refractory"):
        simulate(network, np.ones((1, 2, 3)), backend="lava")


def test_lava_imports_after_numba_fixed_the_start_method():
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from hw_models import dense_network, simulate\n"
        "net = dense_network([np.full((2, 2), 100)], du=4096, dv=4096, vth=10)\n"
        "simulate(net, np.ones((4, 2, 3)))\n"
        "import multiprocessing; assert multiprocessing.get_start_method(allow_none=True) == 'fork'\n"
        "out = simulate(net, np.ones((2, 2, 3)), backend='lava').output\n"
        "print(out.sum())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "8"


def test_int32_overflow_of_the_activation_matches_lava():
    from test_core import int32_overflow_network

    spikes = np.zeros((1, 1100, 3), dtype=np.uint8)
    spikes[0, :, 0] = 1
    network = int32_overflow_network()
    lava = simulate(network, spikes, backend="lava", record_layers=True)
    np.testing.assert_array_equal(lava.output[0], [[0, 1, 0], [0, 0, 0]])
    assert_same_result(simulate(network, spikes, record_layers=True), lava)
