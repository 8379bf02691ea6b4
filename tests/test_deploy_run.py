"""`codesign deploy-run`: an exported trial run in Lava through netx equals what the study recorded.

One real iris sweep and one export per module. Lava is the expensive part (~2 s a run once
imported), so runs are few and small: 3 samples, the trial's full 30-sample test split once,
and two hand-built networks with synaptic delays for the reset/gap logic itself.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _tiny_sweep import run_sweep

from codesign.cli import main
from codesign.deploy.deployment import load_deployment
from codesign.deploy.export import export_trial
from codesign.study.storage import Study
from hw_models import DenseLayer, Network, dense_network, pipeline_delay_steps, simulate
from hw_models.backends import append_silence
from hw_models.backends.lava import ENGINE_NETX, ENGINE_PROCESSES, plan_reset_interval, run_lava


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    study_path = run_sweep(root / "study.sqlite")
    result = export_trial(study_path, root / "export", pick="max-accuracy")
    with Study.open(study_path) as study:
        trial = study.trial(result.trial.number)
    return root / "export", trial


def deploy_run(capsys, *argv) -> tuple[int, dict]:
    code = main(["deploy-run", *map(str, argv), "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_three_samples_equal_the_numba_core(exported, capsys):
    directory, trial = exported
    code, result = deploy_run(capsys, directory, "--samples", 3)
    assert code == 0 and result["agree"], result["checks"]
    assert result["samples"] == 3 and not result["full_recorded_set"] and result["engine"] == ENGINE_NETX
    assert result["lava"] == result["numba"]  # predictions, accuracy, energy, latency, ops, spikes
    assert result["recorded"]["accuracy"] == trial.metrics["test_accuracy"]
    assert result["rerun_alone"] == []
    # the same 3 samples, evaluated the way the trial evaluated them (hardware_accuracy on the numba core)
    from codesign.training import hardware_accuracy

    deployment = load_deployment(directory)
    spikes, labels = deployment.inputs(3)
    evaluation = hardware_accuracy(deployment.network(), spikes, labels, backend="numba")
    assert result["lava"]["predictions"] == evaluation.predictions.tolist()


def test_full_recorded_set_equals_the_recorded_accuracy_and_energy(exported, capsys):
    directory, trial = exported
    code, result = deploy_run(capsys, directory)
    assert code == 0 and result["agree"], result["checks"]
    assert result["full_recorded_set"] and result["samples"] == 30
    assert result["lava"]["accuracy"] == trial.metrics["test_accuracy"]
    assert result["lava"]["energy_per_inference_uj"] == pytest.approx(trial.values["energy_per_inference_uj"], rel=1e-12)
    assert result["lava"]["latency_us"] == pytest.approx(trial.metrics["energy"]["latency_us"], rel=1e-12)
    assert any(name.startswith("lava == recorded") for name in result["checks"])


def test_bench_energy_on_the_export_reproduces_the_recorded_energy(exported, capsys):
    directory, trial = exported
    assert main(["bench-energy", str(directory), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input"]["samples"] == 30 and data["input"]["encoding_seed"] == trial.metrics["encoding_seed_test"]
    assert data["report"]["energy_per_inference_uj"] == pytest.approx(trial.values["energy_per_inference_uj"], rel=1e-12)


def test_a_disagreement_exits_1_and_prints_both(exported, tmp_path, capsys):
    directory, trial = exported
    tampered = tmp_path / "tampered"
    shutil.copytree(directory, tampered)
    deployment = json.loads((tampered / "deployment.json").read_text())
    deployment["evaluation_samples"] = 3  # so 3 samples are "the full recorded set"
    (tampered / "deployment.json").write_text(json.dumps(deployment))
    metrics = json.loads((tampered / "metrics.json").read_text())
    metrics["metrics"]["test_accuracy"] = 1.5
    (tampered / "metrics.json").write_text(json.dumps(metrics))
    assert main(["deploy-run", str(tampered)]) == 1
    table = capsys.readouterr().out
    assert "recorded" in table and "lava" in table and "1.5" in table and "DIFF" in table and "Lava disagrees" in table


def test_bad_export_folders(tmp_path, exported, capsys):
    directory, _ = exported
    assert main(["deploy-run", str(tmp_path / "none")]) == 2
    assert "does not exist" in capsys.readouterr().err
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "network.net").write_bytes((directory / "network.net").read_bytes())
    assert main(["deploy-run", str(partial)]) == 2
    assert "lacks deployment.json" in capsys.readouterr().err
    (partial / "deployment.json").write_text("{")
    assert main(["deploy-run", str(partial)]) == 2
    error = capsys.readouterr().err
    assert "deployment.json is not valid JSON" in error and "Traceback" not in error
    assert main(["deploy-run", str(directory), "--samples", "0"]) == 2
    assert "--samples must be at least 1" in capsys.readouterr().err


def delayed_network() -> Network:
    """Slow decays (activity outlives the input) and delays into the second layer: the spill case."""
    rng = np.random.default_rng(3)
    return dense_network([rng.integers(-20, 60, (12, 4)), rng.integers(-20, 60, (3, 12))], du=400, dv=400, vth=50,
                         delays=[rng.integers(0, 3, (12, 4)), rng.integers(0, 4, (3, 12))])


def test_netx_resets_with_a_gap_equal_fresh_runs_and_spills_are_caught(tmp_path):
    network = delayed_network()
    path = network.to_netx(tmp_path / "delayed.net")
    network = Network.from_netx(path)
    spikes = (np.random.default_rng(4).random((2, 4, 10)) < 0.4).astype(np.uint8)
    padded = append_silence(spikes, pipeline_delay_steps(network))
    fresh = simulate(network, padded, backend="numba", record_layers=True)
    period = plan_reset_interval(network, padded)
    assert period > padded.shape[2]  # this network keeps firing after its input: it needs a longer gap

    planned = run_lava(network, padded, netx_path=path, reset_interval=period)
    assert planned.engine == ENGINE_NETX and planned.reset_interval == period and planned.rerun_alone == []
    assert all(np.array_equal(a, b) for a, b in zip(planned.result.layers, fresh.layers))
    assert planned.result.counts.to_dict() == fresh.counts.to_dict()

    # too short a gap: spikes in flight spill into the next sample; the check sees it and re-runs those alone
    short = run_lava(network, padded, netx_path=path, reset_interval=padded.shape[2])
    assert short.rerun_alone == [1], "the spill into sample 1 should have been detected"
    assert all(np.array_equal(a, b) for a, b in zip(short.result.layers, fresh.layers))
    assert short.result.counts.to_dict() == fresh.counts.to_dict()


def test_a_network_with_bias_runs_as_lava_processes(tmp_path):
    rng = np.random.default_rng(5)
    layers = (DenseLayer(weights=rng.integers(-20, 60, (6, 4)), du=400, dv=400, vth=50, bias=rng.integers(0, 30, 6)),
              DenseLayer(weights=rng.integers(-20, 60, (3, 6)), du=400, dv=400, vth=50))
    network = Network(layers)
    path = network.to_netx(tmp_path / "bias.net")
    network = Network.from_netx(path)
    padded = append_silence((rng.random((2, 4, 8)) < 0.4).astype(np.uint8), pipeline_delay_steps(network))
    run = run_lava(network, padded, netx_path=path)
    fresh = simulate(network, padded, backend="numba", record_layers=True)
    assert run.engine == ENGINE_PROCESSES and np.array_equal(run.result.output, fresh.output)
    assert run.result.counts.to_dict() == fresh.counts.to_dict()


def test_exports_that_name_the_old_engine_module_still_load(tmp_path):
    delayed_network().to_netx(tmp_path / "network.net")
    deployment = {"encoder": {"name": "rate"}, "dataset": {"name": "iris"}, "timesteps": 5,
                  "lava": {"engine": "hw_models.lava_backend", "reset_interval": None}}
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    assert load_deployment(tmp_path).lava == {"engine": ENGINE_PROCESSES, "reset_interval": None}


def test_the_readme_plain_lava_recipe_gives_the_same_predictions(exported):
    """The README's plain-Lava snippet (netx + RingBuffers + Loihi2SimCfg) is what a user copies: run it."""
    import re

    from hw_models.lava_compat import import_lava_dl

    directory, _ = exported
    readme = (directory / "README.md").read_text()
    snippet = readme.split("## Run it with plain Lava", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    snippet = re.sub(r"(?m)^spikes = \.\.\..*$", "spikes = SPIKES", snippet)
    snippet = snippet.replace('net_config="network.net"', f'net_config="{directory / "network.net"}"')
    deployment = load_deployment(directory)
    spikes, _ = deployment.inputs(3)
    import_lava_dl()
    namespace = {"SPIKES": spikes}
    exec(compile(snippet, "README.md", "exec"), namespace)
    from codesign.training import hardware_accuracy

    expected = hardware_accuracy(deployment.network(), spikes, deployment.inputs(3)[1], backend="numba").predictions
    assert namespace["predictions"] == expected.tolist()
