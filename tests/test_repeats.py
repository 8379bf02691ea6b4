"""run.repeats: promising configurations re-run with new seeds, and the front at the runs' mean.

The trials here are synthetic (a fake executor computes noisy objectives from the params and the
trial's seed), so the sweep's scheduling, the links it records and the means the front uses can
be checked against numbers computed directly from the stored runs.
"""

from __future__ import annotations

import numpy as np
import pytest
from _tiny_sweep import config_dict

from codesign.config import parse_config
from codesign.errors import CodesignError
from codesign.run.executors import InProcessExecutor
from codesign.run.sweep import REPEATS_NOTE, SweepRunner
from codesign.study.memory import InMemoryStudy
from codesign.study.results import REPEAT_OF, combine_repeats, pareto_trials
from codesign.study.storage import Study


def noisy_outcome(payload: dict) -> dict:
    """Accuracy rises with hidden_size, energy with it too; the seed adds noise to accuracy."""
    params, seed = payload["params"], payload["seed"]
    noise = np.random.default_rng(seed).normal(0.0, 0.05)
    size = params["slayer.hidden_size"]
    return {"state": "complete", "values": {"accuracy": 0.5 + 0.02 * size + noise, "energy_per_inference_uj": float(size)},
            "metrics": {"seed_seen": seed}, "timings": {"total_s": 0.0}}


class FakeExecutor(InProcessExecutor):
    def submit(self, key, fn, payload) -> None:
        super().submit(key, noisy_outcome, payload)


def run(tmp_path, repeats: int, trials: int):
    config = parse_config(config_dict(**{"run.repeats": repeats, "run.sampler": "random"}))
    path = tmp_path / "s.sqlite"
    SweepRunner(config, path, trials=trials, executor=FakeExecutor()).run()
    with Study.open(path) as study:
        return config, study.trials(), study.get_note(REPEATS_NOTE) or {}


def test_front_configurations_get_k_runs_with_new_seeds_and_the_front_uses_their_mean(tmp_path):
    config, trials, links = run(tmp_path, repeats=3, trials=14)
    assert len(trials) == 14 and all(t.state == "complete" for t in trials)
    by_number = {t.number: t for t in trials}
    repeats = [t for t in trials if REPEAT_OF in t.metrics]
    assert repeats, "something reached the front, so something was repeated"
    for t in repeats:
        origin = by_number[t.metrics[REPEAT_OF]]
        assert links[str(t.number)] == origin.number
        assert t.params == origin.params and t.seed != origin.seed and t.number > origin.number
    front = pareto_trials(trials, config.objectives)
    runs = {t.number: [by_number[t.number]] + [r for r in repeats if r.metrics[REPEAT_OF] == t.number] for t in front}
    for trial in front:
        assert REPEAT_OF not in trial.metrics  # the first run stands for its configuration
        group = runs[trial.number]
        accuracy = [r.values["accuracy"] for r in group]
        if len(group) > 1:
            assert trial.metrics["repeats"] == len(group)
            assert trial.values["accuracy"] == pytest.approx(np.mean(accuracy))
            assert trial.metrics["values_std"]["accuracy"] == pytest.approx(np.std(accuracy, ddof=1))
            assert trial.metrics["values_min"]["accuracy"] == min(accuracy)
    # the front is the non-dominated set of the means, checked by brute force
    combined = combine_repeats(trials, config.objectives)
    assert len(combined) == len(trials) - len(repeats)
    points = [(-t.values["accuracy"], t.values["energy_per_inference_uj"], t.number) for t in combined]
    brute = {n for a, e, n in points if not any(a2 <= a and e2 <= e and (a2, e2) != (a, e) for a2, e2, _ in points)}
    assert {t.number for t in front} == brute
    # no configuration runs more than 3 times, and a front configuration from before the last
    # repeats were queued has all 3 (the budget may cut the newest ones short)
    counts = {n: len(g) for n, g in runs.items()}
    all_counts = [1 + sum(r.metrics[REPEAT_OF] == t.number for r in repeats) for t in combined]
    assert max(all_counts) == 3
    last_repeat = max(r.number for r in repeats)
    assert all(c == 3 for n, c in counts.items() if n < min(r.metrics[REPEAT_OF] for r in repeats if r.number == last_repeat))


def test_without_repeats_nothing_is_repeated_and_the_front_is_the_plain_one(tmp_path):
    config, trials, links = run(tmp_path, repeats=1, trials=6)
    assert links == {} and not any(REPEAT_OF in t.metrics for t in trials)
    assert len({repr(t.params) for t in trials}) == 6
    assert combine_repeats(trials, config.objectives) == trials


def test_repeats_never_exceed_the_budget(tmp_path):
    _, trials, _ = run(tmp_path, repeats=5, trials=4)
    assert len(trials) == 4


def test_combine_repeats_ignores_failed_runs_and_repeats_of_unfinished_trials():
    study = InMemoryStudy(seed=0)
    params = {"x": 1}
    for _ in range(4):
        study.add_trial(params)
    study.finish(0, "complete", values={"a": 1.0})
    study.finish(1, "complete", values={"a": 3.0}, metrics={REPEAT_OF: 0})
    study.finish(2, "failed", reason="boom", metrics={REPEAT_OF: 0})
    study.finish(3, "complete", values={"a": 7.0}, metrics={REPEAT_OF: 99})  # no such trial: stays alone
    combined = {t.number: t for t in combine_repeats(study.trials(), {"a": "minimize"})}
    assert set(combined) == {0, 3}
    assert combined[0].values["a"] == 2.0 and combined[0].metrics["repeats"] == 2
    assert combined[0].metrics["repeat_numbers"] == [0, 1]
    assert combined[3].values["a"] == 7.0 and "repeats" not in combined[3].metrics


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_run_repeats_is_checked(bad):
    with pytest.raises(CodesignError, match="run.repeats"):
        parse_config(config_dict(**{"run.repeats": bad}))


def test_pareto_json_and_the_report_show_the_mean_and_the_spread(tmp_path, capsys):
    import json

    from codesign.cli import main
    from codesign.report.html import repeats_table

    config, trials, _ = run(tmp_path, repeats=3, trials=10)
    front = pareto_trials(trials, config.objectives)
    repeated = [t for t in front if t.metrics.get("repeats", 1) > 1]
    assert repeated
    assert main(["pareto", str(tmp_path / "s.sqlite"), "--json"]) == 0
    shown = {row["number"]: row for row in json.loads(capsys.readouterr().out)["front"]}
    for t in repeated:
        assert shown[t.number]["repeats"] == t.metrics["repeats"]
        assert shown[t.number]["values"]["accuracy"] == pytest.approx(t.values["accuracy"])
        assert shown[t.number]["values_std"]["accuracy"] == pytest.approx(t.metrics["values_std"]["accuracy"])
    table = repeats_table(front, config.objectives)
    for t in repeated:
        assert f"{t.values['accuracy']:.5g}" in table and f"{t.metrics['values_std']['accuracy']:.5g}" in table
    assert repeats_table([t for t in front if t not in repeated], config.objectives) == ""
