"""Sigma-delta networks built from lava-dl's own `slayer.block.sigma_delta` blocks (random weights)
and exported by lava-dl's `export_hdf5`, as the PilotNet SDNN family is: a Delta input layer,
strided convs, flatten, dense layers and a Sigma output.
"""

from __future__ import annotations

from _lava_blocks import _slayer, export_blocks


def sdnn_params(threshold: float = 0.1) -> dict:
    torch, _ = _slayer()
    return {"threshold": threshold, "activation": torch.nn.functional.relu, "tau_grad": 0.5, "scale_grad": 1, "requires_grad": False}


def sdnn_blocks(kind: str, seed: int = 0, threshold: float = 0.1) -> tuple[list, tuple]:
    """(blocks, input shape (C, H, W)) of a named sigma-delta network shape."""
    torch, slayer = _slayer()
    torch.manual_seed(seed)
    sd, p = slayer.block.sigma_delta, sdnn_params(threshold)
    if kind == "pilotnet_sdnn":  # lava-dl's PilotNet SDNN: 3x33x100 input, five strided convs, four dense, Sigma output
        blocks = [
            sd.Input(p),
            sd.Conv(p, 3, 24, 3, padding=0, stride=2, weight_scale=4, weight_norm=False),
            sd.Conv(p, 24, 36, 3, padding=0, stride=2, weight_scale=4, weight_norm=False),
            sd.Conv(p, 36, 64, 3, padding=(1, 0), stride=(2, 1), weight_scale=4, weight_norm=False),
            sd.Conv(p, 64, 64, 3, padding=0, stride=1, weight_scale=4, weight_norm=False),
            sd.Flatten(),
            sd.Dense(p, 64 * 2 * 20, 100, weight_scale=4, weight_norm=False),
            sd.Dense(p, 100, 50, weight_scale=4, weight_norm=False),
            sd.Dense(p, 50, 10, weight_scale=4, weight_norm=False),
            sd.Output(p, 10, 1),
        ]
        return blocks, (3, 33, 100)
    if kind == "small_conv":
        blocks = [
            sd.Input(p),
            sd.Conv(p, 2, 4, 3, padding=1, stride=2, weight_scale=4, weight_norm=False),
            sd.Flatten(),
            sd.Dense(p, 4 * 4 * 4, 6, weight_scale=4, weight_norm=False),
            sd.Output(p, 6, 3),
        ]
        return blocks, (2, 8, 8)
    if kind == "dense":
        blocks = [sd.Input(p), sd.Dense(p, 12, 8, weight_scale=2, weight_norm=False), sd.Output(p, 8, 4)]
        return blocks, (12,)
    raise ValueError(kind)


def export_sdnn(path, kind: str, seed: int = 0, threshold: float = 0.1):
    blocks, shape = sdnn_blocks(kind, seed, threshold)
    return export_blocks(path, blocks, shape, seed=seed, input_group=False)
