"""`codesign bench-energy`: netx file with random or file input, export directories, user errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codesign.cli import main
from hw_models import dense_network
from hw_models.network import ConvLayer, DenseLayer, InputLayer, Network


@pytest.fixture
def netx_file(tmp_path):
    rng = np.random.default_rng(0)
    network = dense_network([rng.integers(-20, 60, (12, 4)), rng.integers(-20, 60, (3, 12))], du=400, dv=400, vth=50)
    return network.to_netx(tmp_path / "net.net")


def run_json(capsys, *argv) -> dict:
    assert main(["bench-energy", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_random_input_reports_mean_and_spread(netx_file, capsys):
    data = run_json(capsys, netx_file, "--rate", 0.3, "--timesteps", 20, "--samples", 5, "--seed", 1, "--profile", "loihi1")
    report = data["report"]
    assert data["input"] == {"kind": "bernoulli", "rate": 0.3, "samples": 5, "timesteps": 20, "seed": 1}
    assert report["samples"] == 5 and report["latency_steps"] == 20 and report["profile"] == "loihi1"
    assert report["energy_per_inference_uj"] > 0 and report["energy_per_inference_uj_std"] >= 0
    assert report["synaptic_ops"] > 0 and report["cores"] == 2 and report["fits"] is True
    assert len(report["layers"]) == 2 and len(report["per_sample_energy_uj"]) == 5
    again = run_json(capsys, netx_file, "--rate", 0.3, "--timesteps", 20, "--samples", 5, "--seed", 1, "--profile", "loihi1")
    assert again == data  # seeded


def test_input_file_and_table_output(netx_file, tmp_path, capsys):
    spikes = (np.random.default_rng(2).random((3, 4, 15)) < 0.4).astype(np.uint8)
    np.save(tmp_path / "spikes.npy", spikes)
    data = run_json(capsys, netx_file, "--input", tmp_path / "spikes.npy", "--neurons-per-core", 4)
    assert data["input"]["shape"] == [3, 4, 15]
    assert data["report"]["cores"] == 4  # 12 neurons at 4 per core + 1 core of 3
    assert main(["bench-energy", str(netx_file), "--input", str(tmp_path / "spikes.npy")]) == 0
    table = capsys.readouterr().out
    assert "energy per inference" in table and "synaptic_ops" in table and "per layer" in table


def test_export_directory_encodes_its_test_split(netx_file, tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "network.net").write_bytes(netx_file.read_bytes())
    deployment = {
        "encoder": {"name": "rate", "params": {"max_rate": 0.5}},
        "dataset": {"name": "iris", "options": {}, "seed": 0},
        "timesteps": 12,
        "profile": "loihi1",
    }
    (export / "deployment.json").write_text(json.dumps(deployment))
    data = run_json(capsys, export, "--samples", 7)
    assert data["input"]["kind"] == "export" and data["input"]["samples"] == 7
    assert data["report"]["profile"] == "loihi1" and data["report"]["latency_steps"] == 12


@pytest.mark.parametrize(
    "deployment, message",
    [
        ({"dataset": {"name": "iris"}, "timesteps": 5}, "missing key 'encoder'"),
        ({"encoder": {"name": "rate"}, "dataset": {"name": "iris"}}, "missing key 'timesteps'"),
        ({"encoder": {}, "dataset": {"name": "iris"}, "timesteps": 5}, "missing key 'encoder.name'"),
    ],
)
def test_bad_deployment_names_the_key(netx_file, tmp_path, capsys, deployment, message):
    (tmp_path / "network.net").write_bytes(netx_file.read_bytes())
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    assert main(["bench-energy", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert message in error and "deployment.json" in error and "Traceback" not in error


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--rate", "1.5"], "--rate"),
        (["--samples", "0"], "--samples"),
        (["--profile", "nochip"], "unknown chip profile 'nochip'"),
        (["--neurons-per-core", "10000"], "neurons_per_core=10000"),
        (["--input", "missing.npy"], "missing.npy"),
        (["--seed", "-1"], "--seed must be at least 0, got -1"),
        (["--drive-max", "8"], "--drive-max shapes an input neuron's drive"),
    ],
)
def test_user_errors_are_one_line(netx_file, capsys, extra, message):
    assert main(["bench-energy", str(netx_file), *extra]) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_missing_target_and_incomplete_export(tmp_path, capsys):
    assert main(["bench-energy", str(tmp_path / "none.net")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["bench-energy", str(tmp_path)]) == 2
    assert "lacks network.net" in capsys.readouterr().err


def test_per_layer_breakdown_gives_kinds_counts_and_energy_shares(tmp_path, capsys):
    rng = np.random.default_rng(1)
    layers = (
        DenseLayer(weights=rng.integers(-20, 60, (12, 6)), du=400, dv=400, vth=50, name="hidden"),
        DenseLayer(weights=rng.integers(-20, 60, (8, 12)), du=400, dv=400, vth=50, recurrent_weights=rng.integers(-10, 10, (8, 8)), name="rec"),
        DenseLayer(weights=rng.integers(-20, 60, (3, 8)), du=0, dv=4096, vth=0, neuron=False, name="readout"),
    )
    path = Network(layers).to_netx(tmp_path / "rec.net")
    data = run_json(capsys, path, "--rate", 0.4, "--timesteps", 30, "--samples", 3)
    rows, report = data["layers"], data["report"]
    assert [row["kind"] for row in rows] == ["dense", "dense_rec", "readout"]
    assert [row["neurons"] for row in rows] == [12, 8, 3] and rows[2]["output_spikes"] == 0
    assert sum(row["energy_share"] for row in rows) == pytest.approx(1.0)
    for row, priced in zip(rows, report["layers"]):
        assert row["synaptic_ops"] == priced["synaptic_ops"] > 0
        assert row["energy_share"] == pytest.approx(priced["energy_uj"] / report["energy_per_inference_uj"])
    assert rows[1]["input_spikes"] > rows[0]["output_spikes"]  # the recurrent layer also hears its own spikes
    assert main(["bench-energy", str(path), "--samples", "2"]) == 0
    table = capsys.readouterr().out
    assert "dense_rec" in table and "readout" in table and "share" in table


def conv_drive_network() -> Network:
    rng = np.random.default_rng(0)
    conv = ConvLayer(weights=rng.integers(-40, 120, (4, 2, 3, 3)), in_shape=(2, 8, 8), du=1024, dv=256, vth=150, stride=(2, 2), padding=(1, 1))
    return Network(
        (
            InputLayer(shape=(2, 8, 8), du=1024, dv=256, vth=200),
            conv,
            DenseLayer(weights=rng.integers(-40, 120, (6, conv.n_out)), du=1024, dv=256, vth=200),
            DenseLayer(weights=rng.integers(-40, 120, (3, 6)), du=0, dv=4096, vth=0, neuron=False),
        )
    )


def test_random_input_for_an_input_neuron_is_integer_drive(tmp_path, capsys):
    path = conv_drive_network().to_netx(tmp_path / "drive.net")
    data = run_json(capsys, path, "--timesteps", 12, "--samples", 2, "--drive-max", 40)
    assert data["input"] == {"kind": "random drive", "drive_max": 40, "samples": 2, "timesteps": 12, "seed": 0}
    rows = data["layers"]
    assert [row["kind"] for row in rows] == ["input", "conv", "dense", "readout"] and rows[2]["flattens_input"]
    assert rows[0]["output_spikes"] > 0 and rows[1]["synaptic_ops"] > 0 and rows[0]["synaptic_ops"] == 0
    np.save(tmp_path / "drive.npy", np.random.default_rng(0).integers(0, 30, (2, 2, 8, 8, 9)))
    from_file = run_json(capsys, path, "--input", tmp_path / "drive.npy")
    assert from_file["input"]["shape"] == [2, 2, 8, 8, 9] and from_file["report"]["latency_steps"] == 9
    np.save(tmp_path / "half.npy", np.full((1, 2, 8, 8, 4), 0.5))
    assert main(["bench-energy", str(path), "--input", str(tmp_path / "half.npy")]) == 2
    error = capsys.readouterr().err
    assert "half.npy" in error and "must be integers" in error and "Traceback" not in error
