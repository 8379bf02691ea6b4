"""How close is the energy/latency model to a published Loihi measurement?

Reference: Blouw, Choo, Hunsberger & Eliasmith, "Benchmarking Keyword Spotting Efficiency on
Neuromorphic Hardware", NICE 2019 (arXiv:1812.01739): a keyword spotter run on one Loihi 1
chip at 296 inferences/s and 0.27 mJ dynamic energy per inference. Its shape is that of the
nengo-loihi keyword-spotting example it comes from: 390 inputs (MFCC frames), two hidden
layers of 256 LIF neurons, 29 character outputs, each frame presented for 10 steps of 1 ms.

We cannot run their trained weights, so we build a network of the same shape with random
integer weights, drive it with Bernoulli input, tune the threshold to a plausible activity
level (printed), run it on the numba core model and price it with the loihi1 profile. The
ratio model / published says how far the per-operation model is from a whole-board
measurement (which also carries host I/O, the x86 cores and the FPGA input path).

    .venv/bin/python benchmarks/bench_energy_fidelity.py [--samples 32] [--input-rate 0.2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw_models import dense_network, estimate_energy, map_network, simulate  # noqa: E402

# Published figures (Blouw et al. 2019, Loihi row; 296 inferences/s is also quoted by
# Yan et al. 2021, "Comparing Loihi with a SpiNNaker 2 prototype ...", p. 6). We did not
# have the PDF: the 0.27 mJ figure is as quoted by the task brief and secondary sources.
PUBLISHED = {
    "name": "Blouw et al. 2019 keyword spotting on Loihi 1",
    "energy_per_inference_uj": 270.0,
    "inferences_per_second": 296.0,
    "shape": (390, 256, 256, 29),
    "timesteps": 10,  # nengo-loihi example: predict_text(..., p_time=10) at dt = 1 ms
}


def build_network(rng: np.random.Generator, vth: int):
    shape = PUBLISHED["shape"]
    weights = [rng.integers(-96, 128, size=(n_out, n_in)) for n_in, n_out in zip(shape, shape[1:])]
    # du = 4096: current resets every step (nengo's synapse=None); dv = 205 ~ tau_rc = 20 ms at 1 ms steps
    return dense_network(weights, du=4096, dv=205, vth=vth, num_weight_bits=8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--input-rate", type=float, default=0.2, help="input spike probability per channel and step")
    parser.add_argument("--target-rate", type=float, default=0.15, help="hidden spike probability per neuron and step to tune for")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    steps = PUBLISHED["timesteps"]
    spikes = (rng.random((args.samples, PUBLISHED["shape"][0], steps)) < args.input_rate).astype(np.uint8)

    # Pick the threshold whose hidden activity is closest to the target (a coarse sweep).
    best = None
    for vth in (2**k for k in range(4, 15)):
        network = build_network(np.random.default_rng(args.seed + 1), vth)
        result = simulate(network, spikes, profile="loihi1")
        hidden_rate = result.counts.output_spikes[:, :2].sum(axis=1).mean() / (512 * steps)
        if best is None or abs(hidden_rate - args.target_rate) < abs(best[1] - args.target_rate):
            best = (vth, hidden_rate, network, result)
    vth, hidden_rate, network, result = best

    published_latency_us = 1e6 / PUBLISHED["inferences_per_second"]
    print(f"reference: {PUBLISHED['name']}")
    print(
        f"network {' -> '.join(map(str, PUBLISHED['shape']))}, random weights, vth={vth}; "
        f"{args.samples} samples x {steps} steps; input rate {args.input_rate:.2f}, "
        f"hidden rate {hidden_rate:.3f} spikes/neuron/step"
    )
    header = (f"{'profile':8} {'cores':>5} {'dynamic uJ':>11} {'total uJ':>9} {'published uJ':>12} {'ratio dyn':>9} "
              f"{'latency us':>10} {'published us':>12} {'ratio lat':>9}")
    print(header)
    print("-" * len(header))
    for profile in ("loihi1", "loihi2"):
        report = estimate_energy(result.counts, map_network(network, profile))
        print(
            f"{profile:8} {report.cores:5d} {report.dynamic_uj:11.3f} {report.energy_per_inference_uj:9.3f} "
            f"{PUBLISHED['energy_per_inference_uj']:12.1f} {report.dynamic_uj / PUBLISHED['energy_per_inference_uj']:9.4f} "
            f"{report.latency_us:10.2f} {published_latency_us:12.1f} {report.latency_us / published_latency_us:9.4f}"
        )
    loihi1 = estimate_energy(result.counts, map_network(network, "loihi1"))
    print("loihi1 breakdown (uJ): " + ", ".join(f"{k} {v:.3f}" for k, v in loihi1.energy_by_kind_uj.items()))
    print(
        "ratio < 1: the model prices only the cores' operations; the published figure is board-level "
        "dynamic power over a whole inference, including I/O-bound waiting (296 inferences/s)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
