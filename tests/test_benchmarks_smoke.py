"""Cheap checks of the seed-study benchmarks' counting and post-training helpers (the benchmarks themselves are not run)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _common import evaluations_to_reach, post_training_quantize, quantize_netx_weights, summarize  # noqa: E402
from bench_grid_vs_bo import counts_summary, run_bo, search_space  # noqa: E402


def test_evaluations_to_reach_counts_from_one():
    assert evaluations_to_reach([0.1, 0.5, 0.9, 0.95], 0.9) == 3
    assert evaluations_to_reach([0.9], 0.9) == 1
    assert evaluations_to_reach([0.1, 0.2], 0.9) is None


def test_not_found_is_counted_as_budget_plus_one():
    stats = counts_summary([3, None, 5], budget=10)
    assert stats["found"] == "2/3"
    assert stats["median"] == 5 and stats["max"] == 11
    assert summarize([1, 2, 3, 4])["iqr"] == 1.5


def test_quantize_netx_weights_keeps_8_bit_grid_and_coarsens_below():
    weights = np.array([[-128, -3, 0, 5, 127]])
    assert np.array_equal(quantize_netx_weights(weights, 8), weights)
    # 2 bits: mantissa in [-2, 1]; the finest step covering 127 is 128
    assert quantize_netx_weights(weights, 2).tolist() == [[-128, 0, 0, 0, 128]]
    # 1 bit is excitatory-only {0, 1} x step, the step capped so that it stays inside netx's range
    assert quantize_netx_weights(np.array([[0, 3, 200]]), 1).tolist() == [[0, 0, 128]]


def test_post_training_quantize_at_8_bits_is_the_same_network():
    from hw_models import simulate
    from hw_models.network import dense_network

    rng = np.random.default_rng(0)
    network = dense_network([rng.integers(-60, 60, (6, 5)) * 2, rng.integers(-40, 40, (3, 6)) * 2],
                            du=2048, dv=1024, vth=80)
    spikes = (rng.random((4, 5, 12)) < 0.4).astype(np.uint8)
    same = post_training_quantize(network, 8)
    assert np.array_equal(simulate(network, spikes).output, simulate(same, spikes).output)
    coarse = post_training_quantize(network, 3)
    assert all(layer.num_weight_bits <= 3 for layer in coarse.layers)


def test_bo_on_a_lookup_table_never_repeats_a_cell_and_finds_a_planted_optimum():
    settings = {"encoders": ["a", "b"], "timesteps": [4, 8, 16], "weight_bits": [2, 8], "vth": [40, 80]}
    lookup = {}
    for encoder in settings["encoders"]:
        for t in settings["timesteps"]:
            for bits in settings["weight_bits"]:
                for vth in settings["vth"]:
                    value = 0.1 * t / 16 + 0.3 * (bits == 8) + 0.2 * (encoder == "b") - 0.05 * (vth == 40)
                    lookup[(encoder, t, bits, vth)] = {"accuracy": value, "energy_per_inference_uj": 1.0}
    best = max(cell["accuracy"] for cell in lookup.values())
    seen = run_bo(search_space(settings), settings, lookup, seed=0, budget=len(lookup), objectives={"accuracy": "maximize"},
                  stop_at=best)
    assert seen[-1]["accuracy"] == best
    assert len({id(cell) for cell in seen}) == len(seen)


def test_conv_gestures_recipe_and_dense_sweep_are_valid_for_the_example():
    from bench_conv_gestures import CONFIG, RECIPE, dense_config

    from codesign.config import load_config, parse_config
    from codesign.run.search_space import build_space, split_params
    from codesign.training.runner import resolve_params
    from hw_models import load_profile

    config = load_config(CONFIG)
    params = split_params(RECIPE)
    training, hardware = resolve_params(params.trainer, {**params.trainer_params, **params.hardware_params},
                                        load_profile("loihi2"))
    assert training["conv_layers"] == 2 and training["conv_channels"] == 16 and hardware.vth == 80
    dense = parse_config(dense_config(config))
    assert dense["training"]["slayer"]["conv_layers"] == 0
    assert "slayer.conv_layers" not in build_space(dense).free_names, "the dense sweep does not search conv layers"
