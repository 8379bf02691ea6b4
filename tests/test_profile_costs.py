"""Chip profiles' cost sections: present, sourced, and Loihi 1 matching Davies 2018 Table 2."""

from __future__ import annotations

import pytest

from hw_models import load_profile

COST_KEYS = {
    "energy": {"synaptic_op", "synaptic_update", "neuron_update_active", "neuron_update_inactive",
               "spike_within_tile", "tile_hop_east_west", "tile_hop_north_south", "delayed_event"},
    "timing": {"synaptic_op", "synaptic_update", "neuron_update_active", "neuron_update_inactive",
               "spike_within_tile", "tile_hop_east_west", "tile_hop_north_south",
               "barrier_sync_min", "barrier_sync_max"},
    "static": {"core_leakage_power"},
    "mesh": {"cores_per_tile", "tiles_x", "tiles_y", "input_tile_x", "input_tile_y",
             "delay_bits_per_synapse", "sign_bits_mixed"},
}

DAVIES_2018_TABLE_2 = {
    ("energy", "synaptic_op"): 23.6,
    ("energy", "synaptic_update"): 120.0,
    ("energy", "neuron_update_active"): 81.0,
    ("energy", "neuron_update_inactive"): 52.0,
    ("energy", "spike_within_tile"): 1.7,
    ("energy", "tile_hop_east_west"): 3.0,
    ("energy", "tile_hop_north_south"): 4.0,
    ("timing", "synaptic_op"): 3.5,
    ("timing", "synaptic_update"): 6.1,
    ("timing", "neuron_update_active"): 8.4,
    ("timing", "neuron_update_inactive"): 5.3,
    ("timing", "spike_within_tile"): 2.1,
    ("timing", "tile_hop_east_west"): 4.1,
    ("timing", "tile_hop_north_south"): 6.5,
    ("timing", "barrier_sync_min"): 113.0,
    ("timing", "barrier_sync_max"): 465.0,
}


@pytest.mark.parametrize("name", ["loihi1", "loihi2"])
def test_bundled_profiles_have_every_cost_key(name):
    profile = load_profile(name)
    for section, keys in COST_KEYS.items():
        assert keys <= set(profile.section(section)), f"{name} [{section}]"
    mesh = profile.section("mesh")
    assert mesh["cores_per_tile"].value * mesh["tiles_x"].value * mesh["tiles_y"].value == profile.limit("cores")


def test_loihi1_matches_davies_2018_table_2():
    profile = load_profile("loihi1")
    for (section, key), value in DAVIES_2018_TABLE_2.items():
        quantity = profile.section(section)[key]
        assert quantity.value == value, f"{section}.{key}"
        assert "Davies 2018, Table 2" in quantity.source
        assert quantity.unit == ("pJ" if section == "energy" else "ns")


def test_loihi2_costs_say_they_are_estimated():
    profile = load_profile("loihi2")
    for section in ("energy", "timing", "static"):
        for key, quantity in profile.section(section).items():
            assert quantity.source.startswith(("ESTIMATED", "NOT PUBLISHED")), f"{section}.{key}"


def test_user_profile_by_path(tmp_path):
    text = load_profile("loihi1").path.read_text().replace('name = "loihi1"', 'name = "mine"')
    path = tmp_path / "mine.toml"
    path.write_text(text.replace("value = 23.6,", "value = 11.0,"))
    profile = load_profile(str(path))
    assert profile.name == "mine" and profile.value("energy", "synaptic_op") == 11.0
