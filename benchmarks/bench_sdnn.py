"""Sigma-delta (SDNN) networks: the numba core's speed against Lava's own sigma-delta simulation, bit-exact.

`--case speed` builds PilotNet SDNN's shape (a Delta input on 3x33x100, four strided convs, flatten,
four dense layers, a Sigma output; random weights scaled so every layer sends messages), writes it as
a netx file, and runs the same slowly changing frames (a random walk per pixel: video-like) through
Lava 0.10's netx network (Loihi2SimCfg fixed_pt, one sink per layer, one sample: netx cannot reset
sigma-delta neurons, so Lava runs samples one by one) and through the numba core (a batch, per
sample). Every message of every layer must be equal; the ratio is Lava's time per sample over
the core's, both measured in this run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import print_table  # noqa: F401  (puts the repo on sys.path)

from hw_models import Network, simulate
from hw_models.network import ConvLayer, DenseLayer, InputLayer, SigmaDelta


def pilotnet_sdnn(seed: int, threshold: int = 1) -> Network:
    """PilotNet SDNN's shape with random weights (conv kernels ~ +-64 / sqrt(fan-in) x 4, as lava-dl quantizes them)."""
    rng = np.random.default_rng(seed)
    sd = SigmaDelta()
    layers = [InputLayer(shape=(3, 33, 100), du=0, dv=0, vth=threshold, sigma_delta=SigmaDelta(role="delta"))]
    shape = (3, 33, 100)
    for out, stride, padding in ((24, 2, 0), (36, 2, 0), (64, (2, 1), (1, 0)), (64, 1, 0)):
        fan_in = shape[0] * 9
        weights = np.clip(np.round(rng.normal(0.1, 1.0, (out, shape[0], 3, 3)) * 4 * 64 / np.sqrt(fan_in)), -256, 255)
        conv = ConvLayer(weights, shape, du=0, dv=0, vth=threshold, stride=stride, padding=padding, sigma_delta=sd)
        layers.append(conv)
        shape = conv.out_shape
    n_in = int(np.prod(shape))
    for out in (100, 50, 10):
        weights = np.clip(np.round(rng.normal(0.1, 1.0, (out, n_in)) * 4 * 64 / np.sqrt(n_in)), -256, 255)
        layers.append(DenseLayer(weights, du=0, dv=0, vth=threshold, sigma_delta=sd))
        n_in = out
    weights = np.clip(np.round(rng.normal(0, 1.0, (1, n_in)) * 64 / np.sqrt(n_in)), -256, 255)
    layers.append(DenseLayer(weights, du=0, dv=0, vth=0, sigma_delta=SigmaDelta(role="sigma")))
    return Network(tuple(layers))


def walk_frames(network: Network, samples: int, steps: int, seed: int) -> np.ndarray:
    """Every pixel a random walk (+-12 per step): nearly every pixel changes every step, the worst case for deltas."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.integers(-12, 13, (samples, network.n_inputs, steps)), axis=2)
    return np.clip(walk + rng.integers(40, 200, (samples, network.n_inputs, 1)), 0, 255)


def drifting_frames(network: Network, samples: int, steps: int, seed: int) -> np.ndarray:
    """Video-like: a smooth random scene (box-blurred noise, 0..255) drifting a quarter pixel per step to the
    right, rounded to integers: consecutive frames are mostly the same, which is what delta encoding exploits."""
    rng = np.random.default_rng(seed)
    channels, height, width = network.input_shape
    frames = np.zeros((samples, channels, height, width, steps))
    for b in range(samples):
        scene = rng.random((channels, height + 8, width + steps + 8))
        for axis in (1, 2):  # a 9-pixel box blur along each axis
            scene = np.cumsum(np.pad(scene, [(0, 0)] * axis + [(9, 0)] + [(0, 0)] * (2 - axis)), axis=axis)
            scene = (np.take(scene, range(9, scene.shape[axis]), axis=axis) - np.take(scene, range(0, scene.shape[axis] - 9), axis=axis)) / 9
        scene = (scene - scene.min()) / (scene.max() - scene.min()) * 255
        for t in range(steps):
            shift = t / 4
            left, fraction = int(shift), shift - int(shift)
            window = scene[:, 4 : 4 + height, left : left + width + 1]
            frames[b, :, :, :, t] = (1 - fraction) * window[:, :, :-1] + fraction * window[:, :, 1:]
    return np.round(frames).astype(np.int64).reshape(samples, -1, steps)


def lava_messages(path: Path, frames: np.ndarray) -> tuple[list[np.ndarray], float]:
    """Every layer's messages (n, steps) from Lava's netx network, and the wall time of build + run."""
    from hw_models.backends.lava import _by_neuron, _to_lava
    from hw_models.lava_compat import ensure_lava_importable, import_lava_dl

    ensure_lava_importable()
    import_lava_dl()
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    start = time.perf_counter()
    net = netx.hdf5.Network(net_config=str(path))
    steps = frames.shape[1]
    source = Source(data=_to_lava(frames.astype(np.int32), net.in_layer.neuron.a_in.shape))
    source.s_out.connect(net.in_layer.neuron.a_in)
    sinks = []
    for block in net.layers:
        sink = Sink(shape=block.out.shape, buffer=steps)
        block.out.connect(sink.a_in)
        sinks.append(sink)
    try:
        net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        messages = [_by_neuron(sink.data.get(), time_first=False).astype(np.int32) for sink in sinks]
    finally:
        net.stop()
    return messages, time.perf_counter() - start


def speed_case(args) -> int:
    network = pilotnet_sdnn(args.seed, threshold=args.threshold)
    make = drifting_frames if args.input == "video" else walk_frames
    frames = make(network, args.samples, args.timesteps, args.seed)
    simulate(network, frames[:1, :, :2])  # compile outside the timing
    best = np.inf
    for _ in range(args.repeats):
        start = time.perf_counter()
        ours = simulate(network, frames, record_layers=True)
        best = min(best, time.perf_counter() - start)
    numba_per_sample = best / args.samples
    with tempfile.TemporaryDirectory() as folder:
        path = network.to_netx(Path(folder) / "pilotnet_sdnn.net")
        theirs, lava_s = lava_messages(path, frames[0])
    mismatches = sum(int((mine[0] != lava).sum()) for mine, lava in zip(ours.layers, theirs))
    silent = [index for index, layer in enumerate(ours.layers) if not np.any(layer[0])]
    sent = [int((layer[0] != 0).sum()) for layer in ours.layers]
    import numba

    print(f"PilotNet SDNN shape {list(network.shape)}, {args.input} input, delta threshold {args.threshold}, "
          f"{args.timesteps} steps, {numba.get_num_threads()} numba threads; messages per layer (sample 0): {sent}")
    print_table(
        "numba core vs Lava 0.10 sigma-delta (fixed_pt), per sample",
        ["simulator", "time per sample (s)", "ratio", "messages differing from Lava"],
        [["Lava netx (1 sample, build + run)", lava_s, 1.0, 0],
         [f"numba core (batch {args.samples}, best of {args.repeats})", numba_per_sample, lava_s / numba_per_sample, mismatches]],
    )
    if silent:
        print(f"layers silent in sample 0: {silent}")
    print("BIT-EXACT" if mismatches == 0 else f"MISMATCH: {mismatches} messages differ")
    return 0 if mismatches == 0 and not silent else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=("speed",), default="speed")
    parser.add_argument("--timesteps", type=int, default=16)
    parser.add_argument("--samples", type=int, default=16, help="batch the numba core runs (Lava runs sample 0)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input", choices=("video", "walk"), default="video",
                        help="video: a smooth scene drifting a quarter pixel per step; walk: every pixel a random walk")
    parser.add_argument("--threshold", type=int, default=2, help="delta threshold mantissa of every layer (vThMant)")
    args = parser.parse_args(argv)
    return speed_case(args)


if __name__ == "__main__":
    raise SystemExit(main())
