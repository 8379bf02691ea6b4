"""End-to-end sweeps on real data (iris, SLAYER, numba core) into real SQLite studies.

Small budgets keep each sweep to seconds; what is checked is what a user relies on: results
recorded with their artifacts, resuming, refusing a changed config, surviving SIGKILL and
Ctrl-C, Dask workers, and bad candidates ending as failed/infeasible/pruned trials.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _tiny_sweep import TOML, config_dict, write_config

from codesign.cli import main
from codesign.config import parse_config
from codesign.errors import CodesignError
from codesign.run.executors import DaskExecutor
from codesign.run.pipeline import run_trial
from codesign.run.sweep import SweepRunner
from codesign.study.storage import Study
from hw_models import Network


def codesign(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codesign", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_sweep_records_trials_with_networks_and_resumes_only_the_rest(tmp_path):
    config = parse_config(config_dict())
    study_path = tmp_path / "study.sqlite"
    summary = SweepRunner(config, study_path, trials=2).run()
    assert summary.finished == 2 and summary.stopped_because == "budget reached"

    with Study.open(study_path) as study:
        trials = study.trials()
        assert [t.state for t in trials] == ["complete", "complete"]
        for trial in trials:
            assert set(trial.values) == {"accuracy", "energy_per_inference_uj"}
            assert 0 <= trial.values["accuracy"] <= 1 and trial.values["energy_per_inference_uj"] > 0
            assert trial.metrics["float_accuracy"] is not None and "test_accuracy" in trial.metrics
            assert trial.counts["timesteps"] >= trial.params["timesteps"]
            network = Network.from_netx(study.artifact_file(trial.artifact_path))
            assert network.n_inputs == 4 and network.n_outputs == 3
            assert network.layers[0].num_weight_bits <= trial.params["weight_bits"]
        first_params = [t.params for t in trials]

    summary = SweepRunner(config, study_path, trials=3).run()
    with Study.open(study_path) as study:
        trials = study.trials()
    assert len(trials) == 3 and summary.finished == 3
    assert [t.params for t in trials[:2]] == first_params


def test_same_seed_and_config_replay_the_same_proposals(tmp_path):
    config = parse_config(config_dict())
    SweepRunner(config, tmp_path / "a.sqlite", trials=2).run()
    SweepRunner(config, tmp_path / "b.sqlite", trials=2).run()
    with Study.open(tmp_path / "a.sqlite") as a, Study.open(tmp_path / "b.sqlite") as b:
        assert [t.params for t in a.trials()] == [t.params for t in b.trials()]
        assert [t.values for t in a.trials()] == [t.values for t in b.trials()]


def test_changed_config_is_refused_unless_force_new(tmp_path):
    study_path = tmp_path / "study.sqlite"
    SweepRunner(parse_config(config_dict()), study_path, trials=1).run()
    changed = parse_config(config_dict(**{"hardware.vth": 100}))
    with pytest.raises(CodesignError, match="hardware"):
        SweepRunner(changed, study_path)
    runner = SweepRunner(changed, study_path, force_new=True, trials=1)
    assert runner.study.trials() == []
    assert list(tmp_path.glob("study.sqlite.*.bak"))


def test_the_cli_names_the_flags_the_library_leaves_out(tmp_path, capsys):
    """The library describes the problem; `codesign sweep` adds which flag changes it."""
    config_path = write_config(tmp_path)
    other = tmp_path / "other.sqlite"
    Study.create(other, config={"another": "study"}, seed=1).close()
    with pytest.raises(CodesignError) as error:
        SweepRunner(parse_config(config_dict()), other)
    assert "holds a different study" in str(error.value) and "--" not in str(error.value)
    assert main(["sweep", str(config_path), "--study", str(other)]) == 2
    printed = capsys.readouterr().err
    assert "holds a different study" in printed and "pass --force-new" in printed and "Traceback" not in printed

    with pytest.raises(CodesignError, match="at least 1 trial, got 0") as error:
        SweepRunner(parse_config(config_dict()), tmp_path / "none.sqlite", trials=0)
    assert "--" not in str(error.value) and not (tmp_path / "none.sqlite").exists()
    assert main(["sweep", str(config_path), "--study", str(tmp_path / "none.sqlite"), "--trials", "0"]) == 2
    assert "--trials = 0 is outside the allowed range [1, 1000000]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["status", str(other), "--state", "done"])
    assert exit_.value.code == 2 and "invalid choice: 'done'" in capsys.readouterr().err


def test_bad_candidates_end_as_failed_infeasible_or_pruned_trials(tmp_path):
    config = parse_config(config_dict(**{"constraints.rules": ["cores <= 0"]}))
    SweepRunner(config, tmp_path / "s.sqlite", trials=1).run()
    with Study.open(tmp_path / "s.sqlite") as study:
        (trial,) = study.trials()
    assert trial.state == "infeasible" and "cores <= 0" in trial.error

    payload = {"number": 0, "config": config_dict(), "seed": 0, "artifact_dir": str(tmp_path / "artifacts"),
               "params": {"encoder": "rate", "timesteps": 8, "trainer": "slayer", "slayer.epochs": 3,
                          "slayer.hidden_size": 8, "slayer.learning_rate": 0.02, "weight_bits": 8}}
    pruned = run_trial({**payload, "prune_below": 1.01})
    assert pruned["state"] == "pruned" and pruned["error"]

    silent = run_trial({**payload, "params": {**payload["params"], "vth": 131071}})
    assert silent["state"] == "failed" and "silent" in silent["error"]

    tiny_profile = tmp_path / "tiny.toml"
    loihi2 = (Path(__file__).resolve().parent.parent / "hw_models" / "profiles" / "loihi2.toml").read_text()
    tiny_profile.write_text(loihi2.replace('cores = { value = 128', 'cores = { value = 1', 1))
    tiny = run_trial({**payload, "config": config_dict(**{"hardware.profile": str(tiny_profile)})})
    assert tiny["state"] == "infeasible" and "cores" in tiny["error"]


def test_sweep_on_a_dask_local_cluster(tmp_path):
    config = parse_config(config_dict(**{"run.batch_size": 2}))
    executor = DaskExecutor(workers=2)
    summary = SweepRunner(config, tmp_path / "s.sqlite", trials=2, executor=executor).run()
    assert summary.by_state["complete"] == 2
    with Study.open(tmp_path / "s.sqlite") as study:
        params = [t.params for t in study.trials()]
    assert params[0] != params[1], "a batch must not propose the same candidate twice"


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def _complete_count(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with Study.open(path) as study:
            return study.counts_by_state().get("complete", 0)
    except CodesignError:
        return 0


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "ctrl-c"])
def test_a_stopped_sweep_loses_no_trial_and_resumes(tmp_path, stop_signal):
    config_path = write_config(tmp_path)
    study_path = tmp_path / "s.sqlite"
    # a budget the sweep cannot reach before the signal: a finished sweep exits by itself (a
    # signal then lands during interpreter shutdown), and tiny trials take about a second each
    command = [sys.executable, "-m", "codesign", "sweep", str(config_path), "--study", str(study_path), "--trials", "200"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _complete_count(study_path) >= 1, timeout=240)
        os.kill(process.pid, stop_signal)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    if stop_signal == signal.SIGINT:
        assert code == 130, process.stderr.read().decode()[-2000:]
    with Study.open(study_path) as study:
        recorded = study.trials()
        before = {t.number: t for t in recorded if t.state == "complete"}
        if stop_signal == signal.SIGINT:
            assert "running" not in {t.state for t in recorded}
    assert 1 <= len(before) < 200

    budget = len(recorded) + 1  # what the stopped sweep left proposed or running, and one more
    result = codesign("sweep", str(config_path), "--study", str(study_path), "--trials", str(budget), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["finished"] == budget
    with Study.open(study_path) as study:
        after = {t.number: t for t in study.trials()}
    assert all(state == "complete" for state in (t.state for t in after.values()))
    for number, trial in before.items():
        assert after[number].values == trial.values


def test_cli_errors_are_one_line_without_traceback(tmp_path):
    bad = write_config(tmp_path, TOML.replace("weight_bits = {low = 3, high = 8}", "weight_bits = {low = 3, high = 12}"))
    result = codesign("sweep", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "hardware.weight_bits.high = 12 is outside the allowed range [1, 8]" in result.stderr
    assert "Traceback" not in result.stderr
    missing = codesign("status", str(tmp_path / "nope.sqlite"), cwd=tmp_path)
    assert missing.returncode == 2 and "nope.sqlite" in missing.stderr and "Traceback" not in missing.stderr


def test_init_status_and_pareto_commands(tmp_path):
    assert codesign("init", "my.toml", cwd=tmp_path).returncode == 0
    again = codesign("init", "my.toml", cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr

    config_path = write_config(tmp_path)
    assert codesign("sweep", str(config_path), "--study", "s.sqlite", "--trials", "2", cwd=tmp_path).returncode == 0
    status = json.loads(codesign("status", "s.sqlite", "--json", cwd=tmp_path).stdout)
    assert status["counts"]["complete"] == 2 and len(status["trials"]) == 2
    front = json.loads(codesign("pareto", "s.sqlite", "--json", cwd=tmp_path).stdout)["front"]
    on_front = {t["number"] for t in status["trials"] if t["on_front"]}
    assert {t["number"] for t in front} == on_front and on_front
    table = codesign("pareto", "s.sqlite", cwd=tmp_path)
    assert "Pareto front" in table.stdout


def test_grid_sampler_sweeps_its_grid_and_stops_there(tmp_path):
    config = parse_config(config_dict(**{
        "encoding.encoders": ["rate"], "hardware.weight_bits": 6, "run.sampler": "grid", "run.grid_points": 2,
        "training.slayer": {"epochs": 1, "hidden_size": 8, "learning_rate": 0.02},
    }))
    runner = SweepRunner(config, tmp_path / "g.sqlite", trials=5)
    summary = runner.run()
    assert summary.finished == 2 and any("the grid has 2 points" in note for note in runner.notes)
    with Study.open(tmp_path / "g.sqlite") as study:
        assert sorted(t.params["timesteps"] for t in study.trials()) == [6, 10]


def test_one_worker_sweep_proposes_the_next_trial_while_one_runs(tmp_path):
    config = parse_config(config_dict())
    summary = SweepRunner(config, tmp_path / "s.sqlite", trials=4, workers=1).run()
    assert summary.finished == 4 and summary.by_state["pending"] == 0
    assert 0 < summary.trial_s <= summary.wall_s
    with Study.open(tmp_path / "s.sqlite") as study:
        trials = study.trials()
    assert len(trials) == 4  # nothing proposed past the budget
    for before, after in zip(trials, trials[1:]):
        assert after.created_at < before.finished_at  # proposed while `before` ran
        assert after.started_at >= before.finished_at - 1e-3  # one worker: started when it was free
