"""`codesign verify`: numba core vs Lava on a netx file; silent layers fail, real input files, errors as JSON."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _lava_helpers import export_slayer_network

from codesign.cli import main
from hw_models import dense_network, simulate
from hw_models.backends.compare import compare_results
from hw_models.network import ConvLayer, DenseLayer, InputLayer, Network


def conv_network(conv_vth=150, readout_scale=1, input_neuron=False, recurrent=True) -> Network:
    """(input neuron ->) conv 2x8x8 -> 4x4x4 (stride 2) -> dense 6 (recurrent) -> readout 3."""
    rng = np.random.default_rng(0)
    layers = [InputLayer(shape=(2, 8, 8), du=1024, dv=256, vth=200)] if input_neuron else []
    conv = ConvLayer(weights=rng.integers(-40, 120, (4, 2, 3, 3)), in_shape=(2, 8, 8), du=1024, dv=256, vth=conv_vth,
                     stride=(2, 2), padding=(1, 1), name="conv1")
    dense = DenseLayer(weights=rng.integers(-40, 120, (6, conv.n_out)), du=1024, dv=256, vth=200, name="dense",
                       recurrent_weights=rng.integers(-20, 20, (6, 6)) if recurrent else None)
    readout = DenseLayer(weights=rng.integers(-40, 120, (3, 6)) * readout_scale, du=0, dv=4096, vth=0, neuron=False, name="readout")
    return Network((*layers, conv, dense, readout))


def spikes_2d(samples=2, steps=12, rate=0.3, seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random((samples, 2, 8, 8, steps)) < rate).astype(np.uint8)


@pytest.fixture
def dense_file(tmp_path):
    network = dense_network(
        [np.random.default_rng(0).integers(-40, 120, (6, 5)), np.random.default_rng(1).integers(0, 120, (3, 6))], du=1000, dv=800, vth=150
    )
    return str(network.to_netx(tmp_path / "small.net"))


@pytest.fixture
def drive_file(tmp_path):
    return str(conv_network(input_neuron=True).to_netx(tmp_path / "drive.net"))


# compare_results: the verdict logic, on real numba runs of two networks that differ


def test_identical_runs_match_and_name_every_layer_kind():
    network, spikes = conv_network(), spikes_2d()
    result = simulate(network, spikes, record_layers=True)
    report = compare_results(network, result, result)
    assert report["match"] and report["counts_agree"] and report["silent_layers"] == []
    assert [entry["kind"] for entry in report["layers"]] == ["conv", "dense_rec", "readout"]
    readout = report["layers"][-1]
    assert readout["numba_spikes"] == 0 and readout["voltage_mismatches"] == 0 and readout["voltage_nonzero"]


def test_a_readout_differing_only_in_voltage_is_a_mismatch():
    spikes = spikes_2d()
    ours = simulate(conv_network(), spikes, record_layers=True)
    theirs = simulate(conv_network(readout_scale=2), spikes, record_layers=True)
    report = compare_results(conv_network(), ours, theirs)
    assert [entry["mismatches"] for entry in report["layers"]] == [0, 0, 0]  # a readout never spikes
    assert report["layers"][-1]["voltage_mismatches"] > 0 and report["match"] is False
    sample, neuron, step = report["layers"][-1]["first_voltage_mismatch"]
    assert ours.voltage[sample, neuron, step] != theirs.voltage[sample, neuron, step]


def test_layers_that_never_act_are_listed_as_silent():
    network = conv_network(conv_vth=100_000)  # the conv never reaches threshold: nothing downstream moves
    result = simulate(network, spikes_2d(), record_layers=True)
    report = compare_results(network, result, result)
    assert report["match"] and report["silent_layers"] == [0, 1, 2]
    assert report["layers"][-1]["voltage_nonzero"] is False


# the command: errors before any simulator runs


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--samples", "0"], "--samples must be at least 1, got 0"),
        (["--timesteps", "0"], "--timesteps must be at least 1, got 0"),
        (["--rate", "1.5"], r"--rate must lie in \[0.0, 1.0\], got 1.5"),
        (["--rate", "nan"], "--rate must be a finite number"),
        (["--seed", "-1"], "--seed must be at least 0, got -1"),
        (["--seed", "1.5"], "--seed must be an integer, got '1.5'"),
        (["--drive-max", "10"], "--drive-max shapes an input neuron's drive, but this network takes binary spikes"),
    ],
)
def test_bad_options_are_one_line_user_errors(dense_file, arguments, message, capsys):
    assert main(["verify", dense_file, *arguments]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--rate", "0.5"], "--rate shapes random spikes, but this network's input layer takes integer drive"),
        (["--drive-max", "5000"], r"--drive-max must lie in \[0, 4095\], got 5000"),
    ],
)
def test_drive_options_are_checked_against_the_network(drive_file, arguments, message, capsys):
    assert main(["verify", drive_file, *arguments]) == 2
    assert re.search(message, capsys.readouterr().err)


def bad_inputs(tmp_path):
    def save(name, array):
        np.save(tmp_path / name, array)
        return tmp_path / name

    (tmp_path / "text.npy").write_text("not an array")
    np.savez(tmp_path / "archive.npz", a=np.zeros(3))
    return [
        (tmp_path / "absent.npy", "does not exist"),
        (tmp_path / "text.npy", "is not a readable .npy array"),
        (tmp_path / "archive.npz", "holds several arrays"),
        (save("objects.npy", np.array([None, 1], dtype=object)), "is not a readable .npy array"),
        (save("empty.npy", np.zeros((0, 5, 4))), "no samples"),
        (save("wrong_channels.npy", np.zeros((2, 7, 4))), "7 channels"),
        (save("graded.npy", np.full((2, 5, 4), 2)), "must be binary"),
        (save("flat.npy", np.zeros(20)), "must be a 3-D"),
    ]


def test_bad_input_files_are_refused_naming_the_file(dense_file, tmp_path, capsys):
    for path, message in bad_inputs(tmp_path):
        assert main(["verify", dense_file, "--input", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert f"--input {path}" in err and message in err and "Traceback" not in err, err
        assert "0/1 spikes (batch, 5, T)" in err or "does not exist" in err


def test_drive_files_must_hold_integers_for_the_input_neuron(drive_file, tmp_path, capsys):
    np.save(tmp_path / "half.npy", np.full((1, 2, 8, 8, 5), 0.5))
    assert main(["verify", drive_file, "--input", str(tmp_path / "half.npy")]) == 2
    err = capsys.readouterr().err
    assert "half.npy" in err and "must be integers" in err and "integer drive (batch, 2, 8, 8, T)" in err
    np.save(tmp_path / "spikes.npy", spikes_2d())
    assert main(["verify", drive_file, "--input", str(tmp_path / "spikes.npy"), "--timesteps", "5"]) == 2
    assert "cannot be combined with --input" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--seed", "x"], "--seed must be an integer, got 'x'"),
        (["--input", "missing.npy"], "--input missing.npy does not exist"),
    ],
)
def test_with_json_errors_are_json_on_stdout(dense_file, arguments, message, capsys):
    assert main(["verify", dense_file, *arguments, "--json"]) == 2
    error = json.loads(capsys.readouterr().out)
    assert message in error["error"] and error["exit_code"] == 2


@pytest.mark.parametrize(
    "arguments, message",
    [(["--bogus", "1", "--json"], "unrecognized arguments: --bogus 1"), (["--json", "--samples"], "expected one argument")],
)
def test_with_json_argument_errors_are_json_too(dense_file, arguments, message, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["verify", dense_file, *arguments])
    assert exited.value.code == 2
    assert message in json.loads(capsys.readouterr().out)["error"]


def test_a_broken_netx_file_with_json_is_a_json_error(tmp_path, capsys):
    (tmp_path / "broken.net").write_text("not hdf5")
    assert main(["verify", str(tmp_path / "broken.net"), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)
    assert "broken.net" in error["error"] and error["network"].endswith("broken.net")


def test_missing_file_is_a_user_error(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "absent.net")]) == 2
    assert "absent.net does not exist" in capsys.readouterr().err


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "reproduces Lava on a netx network, spike for spike" in out and "--allow-silent" in out and "--input" in out


# against real Lava (slow: a few small runs)


@pytest.mark.lava
def test_verify_against_real_lava_on_a_lava_dl_export(tmp_path, capsys):
    path = export_slayer_network(tmp_path / "slayer.net", delay=True, seed=1)
    capsys.readouterr()  # lava-dl's import banner
    code = main(["verify", str(path), "--samples", "3", "--timesteps", "16", "--rate", "0.3", "--seed", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["match"] and report["counts_agree"] and report["verdict"] == "match"
    assert all(entry["lava_spikes"] > 0 for entry in report["layers"])
    assert report["simulated_steps"] == 16 + 2 + 4  # two layers plus the exported max delay of 4


@pytest.mark.lava
def test_a_silent_layer_fails_unless_allowed(tmp_path, capsys):
    rng = np.random.default_rng(3)
    network = dense_network([rng.integers(0, 120, (6, 5)), rng.integers(0, 120, (3, 6))], du=1000, dv=800, vth=150)
    network = network.with_layers([network.layers[0], DenseLayer(weights=-np.abs(network.layers[1].weights), du=1000, dv=800, vth=150)])
    path = str(network.to_netx(tmp_path / "quiet.net"))
    assert main(["verify", path, "--samples", "1", "--timesteps", "8", "--rate", "0.5"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "SILENT: layer(s) 1 did nothing in either simulator" in out and "MISMATCH" not in out
    assert main(["verify", path, "--samples", "1", "--timesteps", "8", "--rate", "0.5", "--allow-silent", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["silent_layers"] == [1] and report["verdict"] == "match (silent layers allowed)" and report["layers"][0]["lava_spikes"] > 0


@pytest.mark.lava
def test_a_conv_recurrent_readout_file_verifies_on_a_2d_input_file(tmp_path, capsys):
    path = str(conv_network().to_netx(tmp_path / "conv.net"))
    np.save(tmp_path / "input.npy", spikes_2d(samples=1, steps=10))
    assert main(["verify", path, "--input", str(tmp_path / "input.npy"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input"]["kind"] == "file" and report["samples"] == 1 and report["timesteps"] == 10
    assert report["silent_layers"] == [] and report["layers"][-1]["voltage_mismatches"] == 0
    assert [entry["kind"] for entry in report["layers"]] == ["conv", "dense_rec", "readout"]


@pytest.mark.lava
def test_an_input_neuron_gets_random_integer_drive(drive_file, capsys):
    assert main(["verify", drive_file, "--samples", "1", "--timesteps", "8", "--drive-max", "48", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["takes_drive"] and report["input"] == {"kind": "random drive", "drive_max": 48, "seed": 0}
    assert report["input_drive"] > 128 * 8  # integers up to 48, not 0/1 spikes
    assert report["verdict"] == "match" and report["layers"][0]["kind"] == "input"
