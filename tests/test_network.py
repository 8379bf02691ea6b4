"""hw_models.Network: integer layers, validation against chip profiles, and profile loading."""

from __future__ import annotations

import numpy as np
import pytest

from hw_models import DenseLayer, HardwareError, Network, SignMode, dense_network, load_profile
from hw_models.profile import REQUIRED_LIMITS, available_profiles


def layer(**overrides):
    params = dict(weights=np.array([[10, -20, 0], [5, 7, 9]]), du=1024, dv=256, vth=100)
    params.update(overrides)
    return DenseLayer(**params)


def test_shapes_and_derived_properties():
    network = dense_network([np.ones((4, 3)), np.ones((2, 4))], du=1, dv=2, vth=3)
    assert network.shape == (3, 4, 2)
    assert (network.n_inputs, network.n_outputs) == (3, 2)
    assert network.layers[0].sign_mode is SignMode.EXCITATORY
    assert layer().sign_mode is SignMode.MIXED
    assert layer(weights=-np.ones((2, 3))).sign_mode is SignMode.INHIBITORY
    assert not network.has_delays


def test_layers_must_chain():
    with pytest.raises(HardwareError, match="layer 1: takes 5 inputs but layer 0 has 2 neurons"):
        Network((layer(), layer(weights=np.ones((1, 5)))))


@pytest.mark.parametrize(
    "overrides, expected",
    [
        ({"du": 5000}, "du=5000 is outside the chip's range [0, 4096]"),
        ({"dv": -1}, "dv=-1 is outside the chip's range [0, 4096]"),
        ({"vth": 300000}, "vth=300000 is outside the chip's range [0, 131071]"),
        ({"num_weight_bits": 9}, "num_weight_bits=9 is outside the chip's range [1, 8]"),
        ({"weight_exponent": 8}, "weight_exponent=8 is outside the chip's range [-8, 7]"),
        ({"weights": np.array([[300, 0, 0], [0, 0, 0]])}, "weights contain 300, outside the synapse range [-256, 255]"),
        ({"bias": np.array([0, 5000])}, "bias contains 5000, outside the chip's range [-4096, 4095]"),
        ({"delays": np.array([[0, 63, 0], [0, 0, 0]])}, "delays contain 63, outside the chip's range [0, 62]"),
        ({"refractory": 64}, "refractory=64 is outside the chip's range [0, 63]"),
    ],
)
def test_validation_names_layer_field_and_value(overrides, expected):
    good = layer(weights=np.ones((3, 2), int))
    network = Network((good, layer(**overrides)))
    with pytest.raises(HardwareError) as error:
        network.validate("loihi1")
    message = str(error.value)
    assert f"layer 1: {expected}" in message
    assert "loihi1" in message


def test_every_problem_is_reported_at_once():
    bad = Network((layer(du=5000, vth=-1),))
    problems = bad.problems("loihi2")
    assert len(problems) == 2
    assert all(problem.startswith("layer 0") for problem in problems)


def test_a_valid_network_passes_every_bundled_profile():
    network = Network((layer(delays=np.full((2, 3), 62)),))
    for name in available_profiles():
        assert network.validate(name) is network


def test_non_integer_fields_are_rejected():
    with pytest.raises(HardwareError, match="weights must be finite integers"):
        layer(weights=np.array([[0.5, 1, 2], [1, 2, 3]]))
    with pytest.raises(HardwareError, match="vth must be an integer"):
        layer(vth=1.5)
    with pytest.raises(HardwareError, match="bias must have one entry per neuron"):
        layer(bias=np.array([1, 2, 3]))


def test_effective_weights_follow_lava_truncation_rules():
    # excitatory, 4 bits: drop the 4 low bits
    np.testing.assert_array_equal(layer(weights=np.array([[255, 17]]), num_weight_bits=4).effective_weights(), [[240, 16]])
    # inhibitory, 4 bits: the magnitude is truncated, not floored toward -inf
    np.testing.assert_array_equal(layer(weights=np.array([[-255, -17]]), num_weight_bits=4).effective_weights(), [[-240, -16]])
    # mixed, 8 bits: one bit goes to the sign, so odd weights lose their low bit (floor)
    np.testing.assert_array_equal(layer(weights=np.array([[3, -3]]), num_weight_bits=8).effective_weights(), [[2, -4]])


def test_bundled_profiles_define_every_limit_with_a_source():
    for name in ("loihi1", "loihi2"):
        profile = load_profile(name)
        for key in REQUIRED_LIMITS:
            assert profile.section("limits")[key].source.strip()


def test_profile_by_path_and_bad_profiles(tmp_path):
    with pytest.raises(HardwareError, match="unknown chip profile 'loihi9': known profiles are loihi1, loihi1_sanafe, loihi2"):
        load_profile("loihi9")
    custom = tmp_path / "tiny.toml"
    lines = ['name = "tiny"', "[limits]"]
    lines += [f'{key} = {{ value = 4, source = "test" }}' for key in REQUIRED_LIMITS]
    custom.write_text("\n".join(lines))
    assert load_profile(custom).limit("neurons_per_core") == 4
    assert load_profile(str(custom)).name == "tiny"

    unsourced = tmp_path / "unsourced.toml"
    unsourced.write_text('name = "x"\n[limits]\ncores = { value = 4 }\n')
    with pytest.raises(HardwareError, match=r"limits\.cores has no 'source'"):
        load_profile(unsourced)
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [")
    with pytest.raises(HardwareError, match="is not valid TOML"):
        load_profile(broken)
    incomplete = tmp_path / "incomplete.toml"
    incomplete.write_text('name = "x"\n[limits]\ncores = { value = 4, source = "s" }\n')
    with pytest.raises(HardwareError, match="lacks neurons_per_core"):
        load_profile(incomplete)
