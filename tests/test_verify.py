"""`codesign verify`: numba core vs Lava on a netx file, table or JSON, exit 1 on any mismatch."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _lava_helpers import export_slayer_network

from codesign.cli import main
from hw_models import SimulationResult, dense_network
from hw_models.backends import BACKENDS, numba_core


@pytest.fixture
def net_file(tmp_path):
    network = dense_network(
        [np.random.default_rng(0).integers(-40, 120, (6, 5)), np.random.default_rng(1).integers(0, 120, (3, 6))],
        du=1000,
        dv=800,
        vth=150,
    )
    return str(network.to_netx(tmp_path / "small.net"))


def numba_instead_of_lava(monkeypatch, corrupt=False):
    """Register the numba core under the name "lava" (no Lava run), optionally flipping one output spike."""

    def stand_in(network, spikes, record_layers, cache):
        result = numba_core.simulate(network, spikes, record_layers)
        if corrupt:
            layers = [layer.copy() for layer in result.layers]
            layers[-1][0, 0, -1] ^= 1
            result = SimulationResult(output=layers[-1], layers=layers, counts=result.counts, backend="lava")
        return result

    monkeypatch.setitem(BACKENDS, "lava", stand_in)


def test_agreement_exits_zero_with_a_table(net_file, monkeypatch, capsys):
    numba_instead_of_lava(monkeypatch)
    assert main(["verify", net_file, "--samples", "2", "--timesteps", "10"]) == 0
    out = capsys.readouterr().out
    assert "MATCH" in out and "MISMATCH" not in out and "dense0" in out


def test_a_single_differing_spike_exits_one_and_is_located(net_file, monkeypatch, capsys):
    numba_instead_of_lava(monkeypatch, corrupt=True)
    assert main(["verify", net_file, "--samples", "2", "--timesteps", "10", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["match"] is False
    assert [entry["mismatches"] for entry in report["layers"]] == [0, 1]
    assert report["layers"][1]["first_mismatch"] == [0, 0, report["simulated_steps"] - 1]


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--samples", "0"], "--samples must be at least 1"),
        (["--timesteps", "0"], "--timesteps must be at least 1"),
        (["--rate", "1.5"], r"--rate .* \[0, 1\], got 1.5"),
    ],
)
def test_bad_options_are_user_errors(net_file, arguments, message, capsys):
    assert main(["verify", net_file, *arguments]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_missing_file_is_a_user_error(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "absent.net")]) == 2
    assert "absent.net does not exist" in capsys.readouterr().err


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "reproduces Lava on a netx network, spike for spike" in out and "--samples" in out


@pytest.mark.lava
def test_verify_against_real_lava_on_a_lava_dl_export(tmp_path, capsys):
    path = export_slayer_network(tmp_path / "slayer.net", delay=True, seed=1)
    capsys.readouterr()  # lava-dl's import banner
    code = main(["verify", str(path), "--samples", "3", "--timesteps", "16", "--rate", "0.3", "--seed", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["match"] and report["counts_agree"]
    assert all(entry["lava_spikes"] > 0 for entry in report["layers"])
    assert report["simulated_steps"] == 16 + 2 + 4  # two layers plus the exported max delay of 4
