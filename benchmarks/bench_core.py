"""Per-sample inference time of the numba core against its peers, on one network and one input.

    .venv/bin/python benchmarks/bench_core.py [--sizes 64,128,10] [--timesteps 50] [--samples 32]
    .venv/bin/python benchmarks/bench_core.py --case conv [--timesteps 50] [--samples 32] [--lava-samples 2]

Peers, all on the same integer network and the same spikes:

- numba core: `hw_models.simulate(..., backend="numba")`, samples in parallel (prange)
- Lava fixed_pt: the network written as netx and run by `run_netx_in_lava` (lava-dl netx
  blocks on Loihi2SimCfg fixed_pt, one Lava run per sample, spikes only); its spikes are
  checked against the numba core's
- Lava backend: `simulate(..., backend="lava")` (one batched run, also records u/v for counts)
- lava-dl slayer CPU: the same weights/threshold/decays in `slayer.block.cuba.Dense` blocks,
  torch on CPU, no grad, the whole batch in one forward pass
- Brian2: the float reference backend (numpy codegen)
- dense roofline: the float32 BLAS matmuls a dense simulator cannot avoid, all T steps of all
  samples batched into one (B*T, n_in) x (n_in, n_out) product per layer; no neuron dynamics

`--case conv`: a convolutional network built by lava-dl itself (slayer.block.cuba Conv 2->16
3x3/2, Conv 16->32 3x3/2, Flatten, Affine(dynamics=True) 2048->10 readout, random weights
scaled to spike), exported by `export_hdf5` after an input group of shape [2, 32, 32] and read
with `Network.from_netx`; input (batch, 2, 32, 32, T) Bernoulli spikes. Peers: the numba core,
Lava fixed_pt running that very file (`run_lava(..., netx_path=...)`, every layer's spikes and
the readout's voltage checked against the core's) and lava-dl slayer CPU inference of the same
blocks. Memory per sample: peak growth of the process's resident memory during a run over the
batch (sampled every millisecond), divided by the batch; Lava runs in child processes: not measured.

Prints a table of per-sample times and ratios. Not a CI test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hw_models import DenseLayer, Network, simulate  # noqa: E402


def build_network(sizes: list[int], rate: float, seed: int, du: int, dv: int) -> Network:
    """Random mixed-sign 8-bit weights, thresholds scaled to each layer's expected drive so it fires."""
    rng = np.random.default_rng(seed)
    layers = []
    density = rate
    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        weights = rng.integers(-64, 128, (n_out, n_in))
        drive = np.clip(weights, 0, None).sum(axis=1).mean() * density
        vth = int(np.clip(drive * 15, 1, 131071))  # u and v integrate ~15 steps of drive: rates of ~10%
        layers.append(DenseLayer(weights=weights, du=du, dv=dv, vth=vth, name=f"dense{index}"))
        density = 0.1
    return Network(tuple(layers))


CPU_SECONDS = {}  # peer -> best process CPU seconds of one repeat (all threads), filled by best_time


def best_time(function, repeats: int, peer: str | None = None) -> float:
    """Best wall-clock seconds of `repeats` calls; also keeps the best CPU seconds under `peer`.

    On a shared machine the wall clock of a multi-threaded peer depends on what else runs;
    process CPU time (summed over threads) is the work itself, so both are reported.
    """
    best = best_cpu = float("inf")
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    if peer:
        CPU_SECONDS[peer] = best_cpu
    return best


def time_numba(network, spikes, repeats):
    started = time.perf_counter()
    result = simulate(network, spikes)  # compiles on a cold cache
    first = time.perf_counter() - started
    seconds = best_time(lambda: simulate(network, spikes), repeats, "numba core")
    return seconds / len(spikes), first, result


def time_lava_netx(network, spikes):
    from hw_models.backends.lava import run_netx_per_sample as run_netx_in_lava

    with tempfile.TemporaryDirectory() as directory:
        path = network.to_netx(Path(directory) / "bench.net")
        started = time.perf_counter()
        output = run_netx_in_lava(path, spikes)
        return (time.perf_counter() - started) / len(spikes), output


def time_lava_backend(network, spikes):
    started = time.perf_counter()
    result = simulate(network, spikes, backend="lava")
    return (time.perf_counter() - started) / len(spikes), result


def slayer_blocks(network):
    from hw_models.lava_compat import ensure_lava_importable

    ensure_lava_importable()
    import torch
    from lava.lib.dl import slayer

    from hw_models.netx import netx_weights

    blocks = []
    for index, layer in enumerate(network.layers):
        params = {
            "threshold": layer.vth / 64,  # slayer's netx export: vThMant = threshold * 2**6
            "current_decay": layer.du / 4096,
            "voltage_decay": layer.dv / 4096,
            "requires_grad": False,
        }
        block = slayer.block.cuba.Dense(params, layer.n_in, layer.n_out, weight_norm=False)
        with torch.no_grad():
            weight = torch.as_tensor(netx_weights(layer, index) / 64.0, dtype=torch.float32)
            block.synapse.weight.copy_(weight.reshape(block.synapse.weight.shape))
        blocks.append(block.eval())
    return blocks


def time_slayer(network, spikes, repeats):
    import torch

    blocks = slayer_blocks(network)
    x = torch.as_tensor(spikes, dtype=torch.float32)

    def forward():
        with torch.no_grad():
            y = x
            for block in blocks:
                for module in block.modules():  # slayer keeps a one-step delay buffer between calls
                    if hasattr(module, "delay_buffer"):
                        module.delay_buffer = None
                y = block(y)
        return y

    output = forward()
    seconds = best_time(forward, repeats, "lava-dl slayer CPU (torch, no grad)")
    return seconds / len(spikes), output.numpy()


def time_brian2(network, spikes):
    started, started_cpu = time.perf_counter(), time.process_time()
    result = simulate(network, spikes, backend="brian2")
    CPU_SECONDS["Brian2 (numpy target)"] = time.process_time() - started_cpu
    return (time.perf_counter() - started) / len(spikes), result


def time_roofline(network, spikes, repeats):
    batch, n_in, steps = spikes.shape
    x = np.ascontiguousarray(spikes.transpose(0, 2, 1).reshape(batch * steps, n_in), dtype=np.float32)
    weights = [np.ascontiguousarray(layer.effective_weights().T, dtype=np.float32) for layer in network.layers]

    def matmuls():
        y = x
        for w in weights:
            y = y @ w
        return y

    matmuls()
    return best_time(matmuls, repeats, "dense matmul roofline (float32 BLAS)") / batch


def export_conv_network(path: Path, seed: int, channels=(2, 16, 32), size=32, readout=10, scales=(3.0, 2.0)) -> tuple:
    """(path, blocks): the conv case's network, built from lava-dl slayer blocks and exported by lava-dl's `export_hdf5`."""
    import h5py

    torch, slayer = _slayer()
    torch.manual_seed(seed)
    params = {"threshold": 0.5, "current_decay": 0.25, "voltage_decay": 0.03, "requires_grad": False}
    cuba = slayer.block.cuba
    side = size // 4  # two stride-2 convs with padding 1
    blocks = [
        cuba.Conv(params, channels[0], channels[1], 3, padding=1, stride=2, weight_norm=False),
        cuba.Conv(params, channels[1], channels[2], 3, padding=1, stride=2, weight_norm=False),
        cuba.Flatten(),
        cuba.Affine(params, channels[2] * side * side, readout, weight_norm=False, dynamics=True),
    ]
    with torch.no_grad():
        for block, scale in zip(blocks[:2], scales):  # slayer's initial weights are too small to spike
            block.synapse.weight.mul_(scale)
        x = torch.zeros(1, channels[0], size, size, 4)
        for block in blocks:  # one pass sets the blocks' shapes
            x = block(x)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        group = layers.create_group("0")
        group.create_dataset("type", (1,), "S10", [b"input"])
        group.create_dataset("shape", data=np.array([channels[0], size, size]))
        for index, block in enumerate(blocks):
            block.export_hdf5(layers.create_group(str(index + 1)))
    return path, [block.eval() for block in blocks]


def _slayer():
    from hw_models.lava_compat import ensure_lava_importable

    ensure_lava_importable()
    import torch
    from lava.lib.dl import slayer

    return torch, slayer


def peak_memory_per_sample(function, samples: int) -> float:
    """Bytes: peak growth of resident memory while `function` runs (sampled every ms), per sample."""
    page = os.sysconf("SC_PAGE_SIZE")

    def resident() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * page

    baseline, peak, done = resident(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], resident())
            time.sleep(0.001)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    try:
        function()
    finally:
        done.set()
        watcher.join()
    peak[0] = max(peak[0], resident())
    return max(peak[0] - baseline, 0) / samples


def conv_case(args) -> int:
    """Numba core vs Lava fixed_pt (the exported file) vs lava-dl slayer CPU on the conv network."""
    import torch

    from hw_models.backends.lava import run_lava

    rng = np.random.default_rng(args.seed + 1)
    spikes = (rng.random((args.samples, 2, 32, 32, args.timesteps)) < args.rate).astype(np.uint8)
    with tempfile.TemporaryDirectory() as directory:
        path, blocks = export_conv_network(Path(directory) / "conv.net", args.seed)
        network = Network.from_netx(path)
        kinds = " -> ".join(f"{layer.describe()['kind']} {layer.n_out}" for layer in network.layers)
        rows = []  # (peer, seconds per sample, bytes per sample or None, note)

        numba_s, first_s, numba_result = time_numba(network, spikes, args.repeats)
        recorded = simulate(network, spikes, record_layers=True)
        numba_memory = peak_memory_per_sample(lambda: simulate(network, spikes), args.samples)
        rates = ", ".join(f"{layer.mean():.3f}" for layer in recorded.layers[:-1])
        rows.append(("numba core", numba_s, numba_memory, f"first call {first_s:.2f} s (JIT cache); spike rates per layer {rates}"))

        if "lava" not in args.skip:
            lava_spikes = spikes[: args.lava_samples]
            started = time.perf_counter()
            run = run_lava(network, lava_spikes, netx_path=path)
            seconds = (time.perf_counter() - started) / len(lava_spikes)
            theirs = run.result
            exact = all(np.array_equal(a, b[: len(lava_spikes)]) for a, b in zip(theirs.layers, recorded.layers))
            exact_v = theirs.voltage is not None and np.array_equal(theirs.voltage, recorded.voltage[: len(lava_spikes)])
            note = (
                f"{len(lava_spikes)} samples ({run.engine} engine); every layer's spikes = numba's: {'yes' if exact else 'NO'}; "
                f"readout voltage: {'yes' if exact_v else 'NO'}"
            )
            rows.append(("Lava fixed_pt (run_lava on the file)", seconds, None, note))

        if "slayer" not in args.skip:
            x = torch.as_tensor(spikes, dtype=torch.float32)

            def forward():
                with torch.no_grad():
                    y = x
                    for block in blocks:
                        for module in block.modules():  # slayer keeps a one-step delay buffer between calls
                            if hasattr(module, "delay_buffer"):
                                module.delay_buffer = None
                        y = block(y)
                return y

            output = forward()
            seconds = best_time(forward, max(2, args.repeats // 8), "lava-dl slayer CPU") / args.samples
            memory = peak_memory_per_sample(forward, args.samples)
            ours = recorded.voltage.astype(np.float64).reshape(-1)
            r = np.corrcoef(ours, output.numpy().astype(np.float64).reshape(-1))[0, 1] if ours.std() > 0 else float("nan")
            rows.append(("lava-dl slayer CPU (torch, no grad)", seconds, memory, f"float model; readout voltage correlation with numba's r={r:.3f}"))

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"per-sample inference, conv case: input 2x32x32 -> {kinds}, T={args.timesteps}, batch {args.samples}, "
        f"input rate {args.rate}; {args.threads or os.cpu_count()} threads on {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    for column in ("peer", "wall / sample", "numba is x faster", "memory / sample", "note"):
        table.add_column(column, justify="left" if column in ("peer", "note") else "right")
    for peer, seconds, memory, note in rows:
        table.add_row(
            peer, f"{seconds * 1e6:,.1f} us", f"{seconds / numba_s:,.1f}x", "-" if memory is None else f"{memory / 1024:,.1f} KiB", note
        )
    Console(width=max(160, Console().width)).print(table)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=("dense", "conv"), default="dense", help="dense stack (--sizes) or the lava-dl conv network")
    parser.add_argument("--sizes", default="64,128,10", help="layer sizes, input first (default 64,128,10)")
    parser.add_argument("--timesteps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0.2, help="input spike probability per step")
    parser.add_argument("--du", type=int, default=1024)
    parser.add_argument("--dv", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=20, help="repeats of the fast timings (best is kept)")
    parser.add_argument("--lava-samples", type=int, default=4, help="samples run in Lava (about a second each)")
    parser.add_argument("--threads", type=int, default=0, help="threads for numba and torch (default: all cores)")
    parser.add_argument("--skip", default="", help="comma-separated peers to skip: lava,lava-backend,slayer,brian2")
    args = parser.parse_args(argv)

    if args.threads:
        import numba
        import torch

        numba.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
    skip = {name.strip() for name in args.skip.split(",") if name.strip()}
    if args.case == "conv":
        args.skip = skip
        return conv_case(args)
    sizes = [int(size) for size in args.sizes.split(",")]
    network = build_network(sizes, args.rate, args.seed, args.du, args.dv)
    spikes = (np.random.default_rng(args.seed + 1).random((args.samples, sizes[0], args.timesteps)) < args.rate).astype(np.uint8)
    lava_spikes = spikes[: args.lava_samples]

    rows = []  # (peer, seconds per sample, spikes per sample, note)
    numba_s, first_s, numba_result = time_numba(network, spikes, args.repeats)
    rows.append(("numba core", numba_s, numba_result.output.sum() / args.samples, f"first call {first_s:.2f} s (JIT cache)"))
    if "lava" not in skip:
        seconds, output = time_lava_netx(network, lava_spikes)
        exact = np.array_equal(output, numba_result.output[: len(lava_spikes)])
        note = f"{len(lava_spikes)} samples, bit-exact with numba: {'yes' if exact else 'NO'}"
        rows.append(("Lava fixed_pt (netx, run per sample)", seconds, output.sum() / len(lava_spikes), note))
    if "lava-backend" not in skip:
        seconds, result = time_lava_backend(network, lava_spikes)
        exact = np.array_equal(result.output, numba_result.output[: len(lava_spikes)])
        note = f"{len(lava_spikes)} samples, bit-exact with numba: {'yes' if exact else 'NO'}"
        rows.append(("Lava backend (batched, records u/v)", seconds, result.output.sum() / len(lava_spikes), note))
    if "slayer" not in skip:
        seconds, output = time_slayer(network, spikes, max(3, args.repeats // 4))
        same = np.mean(output.astype(np.uint8) == numba_result.output)
        rows.append(("lava-dl slayer CPU (torch, no grad)", seconds, output.sum() / args.samples, f"{100 * same:.2f}% of output entries = numba's"))
    if "brian2" not in skip:
        seconds, result = time_brian2(network, spikes)
        same = np.mean(result.output == numba_result.output)
        rows.append(("Brian2 (numpy target)", seconds, result.output.sum() / args.samples, f"float; {100 * same:.2f}% of output entries = numba's"))
    roofline_s = time_roofline(network, spikes, args.repeats)
    rows.append(("dense matmul roofline (float32 BLAS)", roofline_s, float("nan"), "matmuls only, no dynamics"))

    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"per-sample inference, network {args.sizes}, T={args.timesteps}, batch {args.samples}, input rate {args.rate}; "
        f"{args.threads or os.cpu_count()} threads on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    )
    columns = ("peer", "wall / sample", "numba is x faster", "CPU / sample", "x (CPU)", "output spikes / sample", "note")
    for column in columns:
        table.add_column(column, justify="left" if column in ("peer", "note") else "right")
    numba_cpu = CPU_SECONDS["numba core"] / args.samples
    for peer, seconds, fired, note in rows:
        cpu = CPU_SECONDS.get(peer)
        cpu = None if cpu is None else cpu / args.samples  # Lava runs in child processes: not measured
        table.add_row(
            peer,
            f"{seconds * 1e6:,.1f} us",
            f"{seconds / numba_s:,.1f}x",
            "-" if cpu is None else f"{cpu * 1e6:,.1f} us",
            "-" if cpu is None else f"{cpu / numba_cpu:,.1f}x",
            "-" if np.isnan(fired) else f"{fired:.1f}",
            note,
        )
    Console(width=max(160, Console().width)).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
