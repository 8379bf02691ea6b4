"""A sigma-delta network against the equivalent LIF network (and the ANN's MACs) on the same video task.

The task is `moving_shapes` (encoders/video.py): 16x16 8-bit frames of one of 4 shapes drifting slowly
over a static texture. All networks have the same shape (a 3x3 stride-2 conv with 8 channels,
flatten, one hidden dense layer, 4 outputs), 8-bit weights, and are measured the way a sweep
measures a trial: the integer network read back from its netx file, run on the bit-exact numba core
over the test split, priced with the loihi2 profile (synaptic ops and energy per inference).

- SDNN (`sdnn` trainer): the frames go to the Delta input as integers; each row is a delta threshold
  / message penalty setting, so accuracy and ops trade along them.
- LIF (`slayer` trainer, CUBA neurons): each frame is rate-coded (grey level / 255 = spike
  probability) over `--substeps` steps, the only way a binary-spike network sees grey levels.
- ANN: the same network computing every synapse of every frame: MACs per inference (no Loihi
  energy: it is not a spiking workload; NeuroBench's dense ops).

The ratio line compares the best LIF with the cheapest SDNN at least as accurate (within `--tolerance`);
it says when that SDNN is in fact more accurate, i.e. when the LIF did not reach the SDNN's accuracy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import print_table

from codesign.training import TrainingData, hardware_accuracy, train
from encoders import get_encoder, load_dataset
from hw_models import estimate_energy, load_profile, map_network
from hw_models.workload import neurobench_metrics

SHAPE = {"conv_layers": 1, "conv_channels": 8, "conv_stride": 2, "hidden_layers": 1, "hidden_size": 32}
SDNN_SETTINGS = ({"threshold": 0.05, "input_threshold": 2, "sparsity": 0.0},
                 {"threshold": 0.2, "input_threshold": 6, "sparsity": 1.0},
                 {"threshold": 0.5, "input_threshold": 16, "sparsity": 2.0})


def rate_coded(frames: np.ndarray, substeps: int, seed: int) -> np.ndarray:
    """(N, C, T) grey levels -> (N, C, T * substeps) spikes: frame t as Bernoulli(level / 255) for `substeps` steps."""
    encoder = get_encoder("rate")
    return np.concatenate([encoder.encode(frames[..., t] / 255.0, substeps, seed + t) for t in range(frames.shape[-1])],
                          axis=2)


def measure(result, x_test, y_test, profile, frames: int) -> dict:
    network = result.network
    evaluation = hardware_accuracy(network, x_test, y_test, profile=profile)
    energy = estimate_energy(evaluation.counts, map_network(network, profile))
    dense = neurobench_metrics(network, evaluation.counts)["synaptic_ops_dense"]
    return {"accuracy": evaluation.accuracy, "synaptic_ops": energy.synaptic_ops,
            "energy_uj": energy.energy_per_inference_uj, "ann_macs": dense / evaluation.counts.timesteps * frames,
            "steps": evaluation.counts.timesteps, "train_s": result.training_time_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--substeps", type=int, default=8, help="LIF rate-coding steps per frame")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--tolerance", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    profile = load_profile("loihi2")
    data = load_dataset("moving_shapes", seed=args.seed, n_samples=args.samples, size=16, timesteps=args.frames)
    frames = {split: get_encoder("frames").encode(getattr(data, split).x, args.frames)
              for split in ("train", "validation", "test")}
    common = {**SHAPE, "epochs": args.epochs, "patience": 0, "weight_bits": 8}
    rows, measured = [], []
    started = time.perf_counter()
    graded = TrainingData(frames["train"], data.train.y, frames["validation"], data.validation.y, data.n_classes,
                          input_shape=data.input_shape, graded=True)
    for setting in SDNN_SETTINGS:
        result = train("sdnn", {**common, "learning_rate": 0.02, **setting}, graded, seed=args.seed, device="cpu")
        if not result.ok:
            print(f"sdnn {setting}: {result.status}: {result.reason}")
            continue
        row = measure(result, frames["test"], data.test.y, profile, args.frames)
        measured.append(("sdnn", setting, row))
    spikes = {split: rate_coded(frames[split], args.substeps, args.seed + index)
              for index, split in enumerate(("train", "validation", "test"))}
    binary = TrainingData(spikes["train"], data.train.y, spikes["validation"], data.validation.y, data.n_classes,
                          input_shape=data.input_shape)
    for vth in (40, 80):
        setting = {"vth": vth, "du": 2048, "dv": 1024}
        result = train("slayer", {**common, "learning_rate": 0.01, **setting}, binary, seed=args.seed, device="cpu")
        if not result.ok:
            print(f"lif {setting}: {result.status}: {result.reason}")
            continue
        measured.append(("lif", setting, measure(result, spikes["test"], data.test.y, profile, args.frames)))
    for kind, setting, row in measured:
        rows.append([kind, ", ".join(f"{k}={v}" for k, v in setting.items()), f"{row['accuracy']:.3f}",
                     f"{row['synaptic_ops']:.4g}", f"{row['energy_uj']:.4g}", f"{row['ann_macs']:.4g}", row["steps"],
                     f"{row['train_s']:.0f}"])
    print_table(f"moving_shapes 16x16, {args.frames} frames, {len(data.test.y)} test samples, loihi2, 8-bit weights, "
                f"{SHAPE['conv_channels']}-channel conv + {SHAPE['hidden_size']} dense (per inference)",
                ["network", "setting", "accuracy", "synaptic ops", "energy uJ", "ANN MACs", "steps", "train s"], rows)
    lif = [row for kind, _, row in measured if kind == "lif"]
    sdnn = [row for kind, _, row in measured if kind == "sdnn"]
    if lif and sdnn:
        best_lif = max(lif, key=lambda row: row["accuracy"])
        matching = [row for row in sdnn if row["accuracy"] >= best_lif["accuracy"] - args.tolerance]
        if matching:
            cheapest = min(matching, key=lambda row: row["energy_uj"])
            relation = ("equal accuracy" if abs(cheapest["accuracy"] - best_lif["accuracy"]) <= args.tolerance
                        else "the SDNN MORE accurate: the LIF did not reach its accuracy")
            print(f"cheapest SDNN at least as accurate as the best LIF ({relation}; SDNN {cheapest['accuracy']:.3f} vs "
                  f"LIF {best_lif['accuracy']:.3f}, tolerance {args.tolerance}): SDNN uses {best_lif['synaptic_ops'] / cheapest['synaptic_ops']:.1f}x fewer "
                  f"synaptic ops and {best_lif['energy_uj'] / cheapest['energy_uj']:.1f}x less energy than LIF, "
                  f"{cheapest['ann_macs'] / cheapest['synaptic_ops']:.1f}x fewer ops than the ANN's MACs")
        else:
            print(f"no SDNN setting reached the best LIF accuracy {best_lif['accuracy']:.3f} - {args.tolerance}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
