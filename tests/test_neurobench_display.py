"""NeuroBench's metrics in `codesign status`, `pareto` and the report: in --wide and --json and the
report's trial table, never in the 80-column default layout.

The study is written through `Study` with known NeuroBench numbers (one trial predates them, one
failed), so every cell can be checked; one study names a NeuroBench metric as an objective, which
the tables then show once, as an objective.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from test_export import config_dict, crafted_params

from codesign.cli import main
from codesign.config import parse_config
from codesign.study.storage import Study
from hw_models.workload import WORKLOAD_METRICS

# (accuracy, energy) and the NeuroBench metrics each trial recorded; None: a failed trial
TRIALS = [
    ((0.9, 3.0), {"activation_sparsity": 0.8125, "synaptic_ops_effective_acs": 1234.0, "synaptic_ops_effective_macs": 0.0,
                  "synaptic_ops_dense": 98765.0, "connection_sparsity": 0.375, "footprint_bytes": 4321}),
    ((0.8, 1.0), {"activation_sparsity": 0.6875, "synaptic_ops_effective_acs": 567.0, "synaptic_ops_effective_macs": 0.0,
                  "synaptic_ops_dense": 55555.0, "connection_sparsity": 0.125, "footprint_bytes": 2468}),
    ((0.5, 0.5), {}),  # a trial recorded before the metrics existed
    None,
]


def write_study(path, objectives=None):
    raw = config_dict()
    if objectives is not None:
        raw["objectives"] = objectives
    config = parse_config(raw)
    with Study.create(path, config=config.data, seed=1, name="neurobench") as study:
        for number, trial in enumerate(TRIALS):
            study.add_trial(crafted_params(number), seed=number, state="running")
            if trial is None:
                study.finish(number, "failed", error="RuntimeError: diverged")
                continue
            (accuracy, energy), neurobench = trial
            recorded = {"accuracy": accuracy, "energy_per_inference_uj": energy} | neurobench
            study.finish(number, "complete", values={name: float(recorded.get(name, 9999.0)) for name in config.objectives},
                         metrics={"test_accuracy": accuracy - 0.05} | neurobench, timings={"total_s": 1.0})
    return path


def run(argv, monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(argv) == 0, err.getvalue()
    return out.getvalue()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("neurobench") / "study.sqlite")


def row_of(text: str, number: str) -> str:
    rows = [line for line in text.splitlines() if line.split("│")[1:2] and line.split("│")[1].strip().rstrip(" *") == number]
    assert len(rows) == 1, text
    return rows[0]


@pytest.mark.parametrize("command", ["status", "pareto"])
def test_default_layout_stays_in_80_columns_without_the_metrics(study, command, monkeypatch):
    out = run([command, str(study)], monkeypatch)
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "sparsity" not in out and "4321" not in out and "eff. ACs" not in out


@pytest.mark.parametrize("command", ["status", "pareto"])
def test_wide_shows_every_metric_of_every_trial(study, command, monkeypatch):
    out = run([command, str(study), "--wide"], monkeypatch)
    header = next(line for line in out.splitlines() if "act. sparsity" in line)
    titles = ["act. sparsity", "eff. ACs", "eff. MACs", "dense ops", "conn. sparsity", "footprint B"]
    assert [cell.strip() for cell in header.split("┃") if cell.strip() in titles] == titles, header
    cells = [cell.strip() for cell in row_of(out, "0").split("│")]
    assert ["0.8125", "1234", "0", "98765", "0.375", "4321"] == cells[cells.index("0.8125"):cells.index("0.8125") + 6]
    cells = [cell.strip() for cell in row_of(out, "1").split("│")]
    assert ["0.6875", "567", "0", "55555", "0.125", "2468"] == cells[cells.index("0.6875"):cells.index("0.6875") + 6]
    if command == "status":  # the trial without metrics shows dashes; the failed one too
        cells = [cell.strip() for cell in row_of(out, "2").split("│")]
        assert cells[5:11] == ["-"] * 6, cells
        assert [cell.strip() for cell in row_of(out, "3").split("│")][5:11] == ["-"] * 6


def test_json_carries_the_metrics(study, monkeypatch):
    status = json.loads(run(["status", str(study), "--json"], monkeypatch))
    by_number = {t["number"]: t for t in status["trials"]}
    assert by_number[0]["neurobench"] == TRIALS[0][1] and by_number[1]["neurobench"] == TRIALS[1][1]
    assert by_number[2]["neurobench"] == {} and by_number[3]["neurobench"] == {}
    assert set(by_number[0]["neurobench"]) == set(WORKLOAD_METRICS)
    front = json.loads(run(["pareto", str(study), "--json"], monkeypatch))["front"]
    assert {t["number"]: t["neurobench"] for t in front} == {0: TRIALS[0][1], 1: TRIALS[1][1], 2: {}}


def test_a_metric_that_is_an_objective_is_shown_once(tmp_path, monkeypatch):
    path = write_study(tmp_path / "objective.sqlite", {"accuracy": "maximize", "synaptic_ops_effective_acs": "minimize"})
    out = run(["status", str(path), "--wide"], monkeypatch)
    assert "eff. ACs" not in out and out.count("synaptic_ops_effective_acs") == 1 and "act. sparsity" in out
    status = json.loads(run(["status", str(path), "--json"], monkeypatch))
    assert status["trials"][0]["values"]["synaptic_ops_effective_acs"] == 1234.0
    assert status["trials"][0]["neurobench"]["synaptic_ops_effective_acs"] == 1234.0


def test_report_trial_table_has_the_metrics(study, tmp_path):
    from codesign.report.html import trial_table
    from codesign.study.results import pareto_trials, study_objectives

    with Study.open(study) as opened:
        trials, objectives = opened.trials(), study_objectives(opened)
    table = trial_table(trials, pareto_trials(trials, objectives), objectives)
    header = table.split("</thead>")[0]
    for name in WORKLOAD_METRICS:
        assert f">{name}</th>" in header
    rows = table.split("<tbody>")[1].split("</tr>")
    assert '<td data-sort="4321">4321</td>' in rows[0] and '<td data-sort="0.8125">0.8125</td>' in rows[0]
    assert '<td data-sort="98765.0">98765</td>' in rows[0] and '<td data-sort="567.0">567</td>' in rows[1]
    assert rows[2].count('<td data-sort=""></td>') >= len(WORKLOAD_METRICS)  # no metrics: empty, sortable last
    # a study without any NeuroBench numbers gets no empty columns
    assert "activation_sparsity" not in trial_table(trials[2:], [], objectives)
    # and the written report carries the table
    out = tmp_path / "report.html"
    assert main(["report", str(study), "--out", str(out)]) == 0
    assert ">footprint_bytes</th>" in out.read_text()
