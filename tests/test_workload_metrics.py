"""Our NeuroBench metrics against the `neurobench` package's own metric classes, on the same model and data.

The same network runs in snnTorch (IF neurons, integer weights: float arithmetic is exact, so
the spikes are the chip's, one step earlier per layer) under NeuroBench's `Benchmark`, and on
the numba core; the trailing silent steps let both finish every spike inside the window.
"""

from __future__ import annotations

import numpy as np
import pytest

import hw_models
from hw_models.network import DenseLayer, Network, effective_weights
from hw_models.workload import neurobench_metrics

neurobench = pytest.importorskip("neurobench")
snn = pytest.importorskip("snntorch")
torch = pytest.importorskip("torch")


def _network() -> Network:
    rng = np.random.default_rng(0)
    w0 = effective_weights(rng.integers(-40, 120, size=(12, 10)), 6)
    w0[rng.random(w0.shape) < 0.3] = 0
    w1 = effective_weights(rng.integers(-60, 120, size=(4, 12)), 6)
    return Network((DenseLayer(weights=w0, du=4096, dv=0, vth=150, num_weight_bits=6),
                    DenseLayer(weights=w1, du=4096, dv=0, vth=150, num_weight_bits=6)))


def _snntorch(network: Network):
    layers = []
    for index, layer in enumerate(network.layers):
        linear = torch.nn.Linear(layer.n_in, layer.n_out, bias=False)
        linear.weight.data = torch.tensor(layer.effective_weights() * 64.0, dtype=torch.float32)
        last = index == len(network.layers) - 1
        layers += [linear, snn.Leaky(beta=1.0, threshold=float(layer.vth * 64), reset_mechanism="zero", reset_delay=False,
                                     init_hidden=True, output=last)]
    return torch.nn.Sequential(*layers)


def test_metrics_equal_neurobench_where_definitions_coincide():
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel

    network = _network()
    batch, steps, pad = 8, 30, len(network.layers) + 1
    spikes = (np.random.default_rng(1).random((batch, 10, steps + pad)) < 0.3).astype(np.uint8)
    spikes[:, :, steps:] = 0
    ours = hw_models.simulate(network, spikes, backend="numba")
    mine = neurobench_metrics(network, ours.counts, weight_bits=32)

    net = _snntorch(network)
    data = torch.tensor(spikes.transpose(0, 2, 1), dtype=torch.float32)  # NeuroBench: (batch, time, features)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, torch.zeros(batch)), batch_size=batch)
    model = SNNTorchModel(net)
    theirs = Benchmark(model, loader, [], [], [[Footprint, ConnectionSparsity], [ActivationSparsity, SynapticOperations]]).run()

    assert ours.counts.output_spikes.sum() > 100
    assert mine["activation_sparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    ops = theirs["SynapticOperations"]
    assert mine["synaptic_ops_effective_acs"] == pytest.approx(ops["Effective_ACs"])
    assert mine["synaptic_ops_effective_macs"] == ops["Effective_MACs"] == 0
    assert mine["synaptic_ops_dense"] == pytest.approx(ops["Dense"])
    assert mine["connection_sparsity"] == pytest.approx(theirs["ConnectionSparsity"], abs=5e-4)  # NeuroBench rounds to 3 decimals
    # Footprint: NeuroBench counts float32 parameters and the neurons' buffers (beta, threshold, ...);
    # ours at 32 weight bits is exactly its parameter bytes; at the trial's 6 bits, 6/32 of it.
    parameter_bytes = sum(p.numel() * p.element_size() for p in net.parameters())
    buffer_bytes = sum(b.numel() * b.element_size() for b in _snntorch(network).buffers())  # before any step fills the state
    assert theirs["Footprint"] == parameter_bytes + buffer_bytes
    assert mine["footprint_bytes"] == parameter_bytes
    assert neurobench_metrics(network, ours.counts)["footprint_bytes"] == int(np.ceil(parameter_bytes / 4 * 6 / 8))
