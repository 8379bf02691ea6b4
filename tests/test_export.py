"""`codesign export`: picking rules on a study with known values, the exported folder, atomicity, bad input.

Rule logic runs on a study written directly through `Study` (known numbers, real netx files
as artifacts); the exported folder is checked on a real tiny iris sweep (built once).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _tiny_sweep import config_dict, run_sweep

from codesign.cli import main
from codesign.config import parse_config
from codesign.deploy.export import export_trial
from codesign.deploy.select import parse_rule, select_trial
from codesign.errors import CodesignError
from codesign.study.storage import Study
from hw_models import Network, dense_network

# (accuracy, energy) per crafted trial; None = a failed trial. Front: 0, 1, 2, 5 (5 ties 1).
KNOWN = [(0.9, 3.0), (0.8, 1.0), (0.5, 0.5), (0.7, 2.0), None, (0.8, 1.0)]


def tiny_network(seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    return dense_network([rng.integers(-20, 60, (8, 4)), rng.integers(-20, 60, (3, 8))], du=400, dv=400, vth=50)


def crafted_params(number: int) -> dict:
    return {"encoder": ["rate", "latency"][number % 2], "timesteps": 6 + number % 5, "trainer": "slayer",
            "slayer.epochs": 3, "slayer.hidden_size": 8 + number, "slayer.learning_rate": 0.02, "weight_bits": 3 + number % 6}


def crafted_study(path: Path, known=KNOWN, objectives: dict | None = None) -> Path:
    """A real SQLite study with the given (accuracy, energy[, latency]) values and real netx artifacts."""
    raw = config_dict()
    if objectives is not None:
        raw["objectives"] = objectives
    config = parse_config(raw)
    with Study.create(path, config=config.data, seed=1, name="crafted") as study:
        for number, values in enumerate(known):
            study.add_trial(crafted_params(number), seed=100 + number, state="running")
            if values is None:
                study.finish(number, "failed", error="RuntimeError: diverged\ntraceback...")
                continue
            relative = f"trial_{number:04d}/network.net"
            target = study.artifact_file(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            tiny_network(number).to_netx(target)
            names = list(config.objectives)
            study.finish(number, "complete", values=dict(zip(names, values)),
                         metrics={"test_accuracy": values[0] - 0.05, "timesteps": 8, "float_accuracy": values[0] + 0.01},
                         artifact_path=relative, timings={"total_s": 1.0})
    return path


@pytest.fixture(scope="module")
def sweep_study(tmp_path_factory) -> Path:
    return run_sweep(tmp_path_factory.mktemp("sweep") / "study.sqlite")


@pytest.fixture(scope="module")
def known_study(tmp_path_factory) -> Path:
    return crafted_study(tmp_path_factory.mktemp("crafted") / "known.sqlite")


def pick(path: Path, rule: str | None = None, trial: int | None = None) -> int:
    with Study.open(path) as study:
        return select_trial(study, pick=rule, trial=trial).trial.number


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("max-accuracy", 0),
        ("min-energy", 2),
        (None, 1),  # knee is the default; trial 5 ties with 1 and loses on number
        ("knee", 1),
        ("energy_per_inference_uj <= 2 and accuracy >= 0.75", 1),
        ("accuracy > 0.85", 0),
        ("test_accuracy >= 0.4 AND energy_per_inference_uj<0.9", 2),  # a metrics key; case-free 'and'
        ("accuracy != 0.9 and accuracy == 0.7", 3),  # off the front: the constraint's own front
        ("energy_per_inference_uj <= 1e1", 1),
    ],
)
def test_rules_pick_the_expected_trial(known_study, rule, expected):
    assert pick(known_study, rule) == expected


def test_knee_is_the_point_nearest_the_ideal_after_scaling():
    from codesign.deploy.select import knee

    class T:
        def __init__(self, number, accuracy, energy):
            self.number, self.values = number, {"accuracy": accuracy, "energy_per_inference_uj": energy}

    # scaled: a=(0,1) b=(0.5,0.1) c=(1,0): b is nearest (0,0) although c has the lowest energy
    front = [T(7, 1.0, 100.0), T(3, 0.5, 10.0), T(9, 0.0, 0.0)]
    objectives = {"accuracy": "maximize", "energy_per_inference_uj": "minimize"}
    assert knee(front, objectives).number == 3
    # a single objective that is flat on the front contributes nothing: tie -> lower number
    flat = [T(4, 0.5, 1.0), T(2, 0.5, 1.0)]
    assert knee(flat, objectives).number == 2


@pytest.mark.parametrize(
    "rule, message",
    [
        ("accuracy >>= 0.5", "expected a number"),
        ("accuracy 0.5", "expected an operator"),
        ("accuracy >= 0.5 and", "nothing after the final 'and'"),
        ("accuracy >= 0.5 or energy_per_inference_uj < 1", "expected 'and'"),
        ("__import__('os') > 1", "cannot read"),
        ("0.5 < accuracy", "expected a metric name"),
        ("  ", "rule is empty"),
    ],
)
def test_malformed_rules_are_refused_without_eval(known_study, rule, message):
    with pytest.raises(CodesignError, match=message):
        pick(known_study, rule)


def test_unknown_metric_names_the_known_ones(known_study, capsys):
    assert main(["export", str(known_study), "--out", str(known_study.parent / "x"), "--pick", "energy < 1"]) == 2
    error = capsys.readouterr().err
    assert "unknown metric 'energy'" in error and "energy_per_inference_uj" in error and "test_accuracy" in error
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert not (known_study.parent / "x").exists()


def test_rule_matching_nothing_shows_the_closest_trials(known_study, capsys):
    rule = "accuracy >= 0.85 and energy_per_inference_uj <= 0.9"
    assert main(["export", str(known_study), "--out", str(known_study.parent / "y"), "--pick", rule]) == 2
    error = capsys.readouterr().err.strip()
    assert "matches none of the 5 complete trials" in error and "closest: trial" in error
    assert "accuracy=" in error and "energy_per_inference_uj=" in error and len(error.splitlines()) == 1


def test_parse_rule_reads_numbers_and_operators():
    conditions = parse_rule("accuracy>=.9 and latency_us < 1.5e3 and cores == 2", ["accuracy", "latency_us", "cores"])
    assert [(c.metric, c.op, c.bound) for c in conditions] == [("accuracy", ">=", 0.9), ("latency_us", "<", 1500.0),
                                                                ("cores", "==", 2.0)]


# --------------------------------------------------------------------------- the exported folder


def test_export_writes_a_deployable_folder(sweep_study, tmp_path, capsys):
    out = tmp_path / "deploy"
    assert main(["export", str(sweep_study), "--out", str(out), "--pick", "max-accuracy", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "deployment.json", "metrics.json", "network.net"]
    with Study.open(sweep_study) as study:
        trial = study.trial(summary["trial"])
        artifact = study.artifact_file(trial.artifact_path)
        assert trial.values["accuracy"] == max(t.values["accuracy"] for t in study.trials("complete"))
        seed = study.seed
    assert (out / "network.net").read_bytes() == artifact.read_bytes()
    assert Network.from_netx(out / "network.net").equals(Network.from_netx(artifact))

    from hw_models.lava_compat import import_lava_dl

    import_lava_dl()
    from lava.lib.dl import netx

    deployment = json.loads((out / "deployment.json").read_text())
    net = netx.hdf5.Network(net_config=str(out / "network.net"), reset_interval=deployment["lava"]["reset_interval"])
    assert net.inp.shape == (4,) and net.out.shape == (3,)

    assert deployment["encoder"]["name"] == trial.params["encoder"]
    assert deployment["dataset"] == {"name": "iris", "options": {"validation_fraction": 0.2, "test_fraction": 0.2},
                                     "seed": seed, "split": "test"}
    assert deployment["timesteps"] == trial.params["timesteps"]
    assert deployment["encoding_seed"] == trial.metrics["encoding_seed_test"]
    assert deployment["evaluation_samples"] == 30  # iris test split, run.evaluation_samples = 0 (all)
    assert deployment["pad_steps"] == 2 and deployment["profile"] == "loihi2" and deployment["trial"] == trial.number
    lava = deployment["lava"]
    assert lava["engine"] == "netx" and lava["reset_interval"] >= deployment["timesteps"] + deployment["pad_steps"]
    assert lava["gap_steps"] == lava["reset_interval"] - deployment["timesteps"] >= deployment["pad_steps"]

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["values"] == trial.values and metrics["params"] == trial.params
    assert metrics["metrics"]["test_accuracy"] == trial.metrics["test_accuracy"]
    readme = (out / "README.md").read_text()
    for needle in ("codesign deploy-run deploy ", "netx.hdf5.Network(net_config=", "reset_interval=period", "RingBuffer",
                   'Loihi2SimCfg(select_tag="fixed_pt")', "Loihi2HwCfg", f"period = {lava['reset_interval']}"):
        assert needle in readme, needle
    assert not list(tmp_path.glob(".deploy*"))  # no staging left behind


def test_export_by_trial_number_and_overwrite(known_study, tmp_path, capsys):
    out = tmp_path / "t3"
    assert main(["export", str(known_study), "--out", str(out), "--trial", "3"]) == 0
    assert "exported trial 3" in capsys.readouterr().out
    assert json.loads((out / "deployment.json").read_text())["trial"] == 3
    assert main(["export", str(known_study), "--out", str(out), "--trial", "0"]) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert json.loads((out / "deployment.json").read_text())["trial"] == 3
    assert main(["export", str(known_study), "--out", str(out), "--trial", "0", "--overwrite"]) == 0
    assert json.loads((out / "deployment.json").read_text())["trial"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t3"]


def test_failed_export_leaves_no_folder(known_study, tmp_path, monkeypatch):
    import codesign.deploy.export as export

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    out = tmp_path / "new"
    monkeypatch.setattr(export, "readme_text", broken)
    with pytest.raises(OSError, match="simulated"):
        export_trial(known_study, out, trial=1)
    assert list(tmp_path.iterdir()) == []

    monkeypatch.undo()
    export_trial(known_study, out, trial=2)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(export, "readme_text", broken)
    with pytest.raises(OSError, match="simulated"):
        export_trial(known_study, out, trial=1, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old export is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_one_clear_line(known_study, tmp_path, capsys):
    not_a_study = tmp_path / "notes.sqlite"
    not_a_study.write_text("hello")
    empty = crafted_study(tmp_path / "empty.sqlite", known=[None, None])
    out = str(tmp_path / "out")
    cases = [
        ([str(tmp_path / "missing.sqlite"), "--out", out], "does not exist"),
        ([str(not_a_study), "--out", out], "not a SQLite file"),
        ([str(empty), "--out", out], "no complete trials"),
        ([str(empty), "--out", out, "--pick", "max-accuracy"], "Pareto front is empty"),
        ([str(known_study), "--out", out, "--trial", "99"], "has no trial number 99"),
        ([str(known_study), "--out", out, "--trial", "4"], "trial 4 of"),
        ([str(known_study), "--out", str(tmp_path), "--trial", "1"], "already exists"),
    ]
    for argv, message in cases:
        assert main(["export", *argv]) == 2, argv
        error = capsys.readouterr().err.strip()
        assert message in error and "Traceback" not in error and len(error.splitlines()) == 1, (argv, error)
    assert "is failed (RuntimeError: diverged): only complete trials" in _error_of(known_study, out, "--trial", "4", capsys=capsys)
    assert not (tmp_path / "out").exists()


def _error_of(study, out, *extra, capsys) -> str:
    main(["export", str(study), "--out", out, *extra])
    return capsys.readouterr().err


def test_missing_artifact_is_named(tmp_path):
    study_path = crafted_study(tmp_path / "s.sqlite", known=[(0.9, 1.0)])
    with Study.open(study_path) as study:
        study.artifact_file("trial_0000/network.net").unlink()
    with pytest.raises(CodesignError, match=r"trial 0: its network file .*network.net is missing"):
        export_trial(study_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
