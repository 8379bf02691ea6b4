"""The study interface on both storages (SQLite file, in memory): the same writes give the same
trials, the state machine refuses the same moves, and nothing half-written is left behind."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.study import InMemoryStudy, Study, StudyStorage
from codesign.study.base import INTERRUPTED_ERROR, derive_trial_seed
from codesign.study.trial import FINISHED, PENDING, RUNNING, STATES, TRANSITIONS, UNFINISHED, sources

CONFIG = {"objectives": {"acc": "maximize"}, "budget": {"trials": 3}}


def make(kind: str, tmp_path) -> StudyStorage:
    if kind == "sqlite":
        return Study.create(tmp_path / f"{kind}.sqlite", config=CONFIG, seed=7)
    return InMemoryStudy(seed=7, config=CONFIG)


@pytest.fixture(params=["sqlite", "memory"])
def study(request, tmp_path):
    s = make(request.param, tmp_path)
    yield s
    s.close()


def write_history(study: StudyStorage) -> None:
    a = study.add_trial({"x": np.int64(3), "layers": (32, 16)})
    study.mark_running(a, worker="host:1")
    study.finish(a, "complete", values={"acc": np.float32(0.5)}, timings={"total_s": 1.5},
                 metrics={"m": np.arange(3), "backend": "numba", "nested": {"k": None}},
                 counts={"spikes": [1, 2]}, artifact_path="trial_0000/network.net")
    b = study.add_trial({"x": 4}, seed=99, state="running")
    study.finish(b, "failed", reason="RuntimeError: boom")
    study.add_trial({"x": 5}, number=10)
    d = study.add_trial({"x": 6})
    study.mark_running(d)
    e = study.add_trial({"x": 7})
    study.finish(e, "infeasible", error="does not fit")  # the older spelling of reason=
    study.set_note("front", {"numbers": [0], "hv": 1.5})


def without_times(trial) -> dict:
    return {k: v for k, v in dataclasses.asdict(trial).items() if not k.endswith("_at")}


def test_both_storages_record_the_same_trials(tmp_path):
    sqlite, memory = make("sqlite", tmp_path), make("memory", tmp_path)
    for s in (sqlite, memory):
        write_history(s)
    assert [without_times(t) for t in sqlite.trials()] == [without_times(t) for t in memory.trials()]
    for s in (sqlite, memory):
        assert [t.number for t in s.trials()] == [0, 1, 10, 11, 12] and len(s) == 5
        first = s.trial(0)
        assert first.params == {"x": 3, "layers": [32, 16]} and first.values == {"acc": 0.5}
        assert first.metrics == {"m": [0, 1, 2], "backend": "numba", "nested": {"k": None}}
        assert first.seed == derive_trial_seed(7, 0) == s.trial_seed(0) and s.trial(1).seed == 99
        assert first.created_at <= first.started_at <= first.finished_at and first.worker == "host:1"
        assert s.trial(12).reason == s.trial(12).error == "does not fit"
        assert s.counts_by_state() == {"pending": 1, "running": 1, "complete": 1, "failed": 1, "infeasible": 1,
                                       "pruned": 0}
        assert [t.number for t in s.trials(["failed", "infeasible"])] == [1, 12]
        assert [t.number for t in s.trials("pending")] == [10] and s.trials([]) == []
        assert s.get_note("front") == {"numbers": [0], "hv": 1.5} and s.get_note("nothing", 3) == 3
        assert s.recover_interrupted("requeue") == [10, 11]
        assert s.counts_by_state()["running"] == 0 and s.trial(11).worker is None
    sqlite.close()


def test_a_returned_trial_cannot_change_the_history(study):
    n = study.add_trial({"x": 1})
    trial = study.trial(n)
    trial.params["x"] = 100
    with pytest.raises(dataclasses.FrozenInstanceError):
        trial.state = "complete"
    assert study.trial(n).params == {"x": 1} and study.trial(n).state == PENDING


def test_the_state_machine_is_enforced_the_same_way(study):
    assert sources(RUNNING) == (PENDING,) and sources(PENDING) == (RUNNING,)
    assert all(sources(state) == UNFINISHED for state in FINISHED)
    assert all(TRANSITIONS[state] == () for state in FINISHED) and set(TRANSITIONS) == set(STATES)
    for state in FINISHED:  # every finished state is final
        n = study.add_trial({"x": state})
        study.finish(n, state, values={"acc": 0.5} if state == "complete" else None)
        with pytest.raises(CodesignError, match=f"trial {n} is {state}, cannot finish it as failed"):
            study.finish(n, "failed")
        with pytest.raises(CodesignError, match=f"trial {n} is {state}, cannot mark it running"):
            study.mark_running(n)
    n = study.add_trial({"x": "run"})
    study.mark_running(n)
    with pytest.raises(CodesignError, match=rf"trial {n} is running, cannot mark it running \(it must be pending\)"):
        study.mark_running(n)
    with pytest.raises(CodesignError, match="'complete'"):
        study.add_trial({}, state="complete")
    with pytest.raises(CodesignError, match=f"trial number {n} already exists"):
        study.add_trial({}, number=n)
    with pytest.raises(CodesignError, match="no trial number 99"):
        study.finish(99, "failed")
    with pytest.raises(CodesignError, match="'done'"):
        study.finish(n, "done")
    with pytest.raises(CodesignError, match="trial state 'bogus'"):
        study.trials(["bogus"])
    with pytest.raises(CodesignError, match="'later'"):
        study.recover_interrupted("later")


@pytest.mark.parametrize("outcome, match", [
    ({"state": "complete", "values": {"acc": math.nan}}, "is not finite"),
    ({"state": "complete", "values": {}}, "needs objective values"),
    ({"state": "failed", "metrics": {"obj": object()}}, "cannot be stored as JSON"),
    ({"state": "failed", "metrics": [1, 2]}, "metrics must be a dict"),
    ({"state": "failed", "artifact_path": "/abs/net.net"}, "must be relative"),
    ({"state": "failed", "reason": "a", "error": "b"}, "give the reason once"),
])
def test_refused_outcomes_leave_the_trial_as_it_was(study, outcome, match):
    n = study.add_trial({"x": 1})
    study.mark_running(n, worker="w")
    outcome = dict(outcome)  # the parameter is shared by both storages
    state = outcome.pop("state")
    with pytest.raises(CodesignError, match=match):
        study.finish(n, state, **outcome)
    after = study.trial(n)
    assert after.state == RUNNING and after.values == {} and after.metrics == {} and after.reason is None


def test_recover_by_failing(study):
    pending, running = study.add_trial({"x": 1}), study.add_trial({"x": 2}, state="running")
    assert study.recover_interrupted("fail") == [pending, running]
    assert all(t.state == "failed" and t.reason == INTERRUPTED_ERROR for t in study.trials())
    assert study.recover_interrupted("fail") == []


def test_in_memory_study_checks_its_seed():
    with pytest.raises(CodesignError, match="non-negative integer"):
        InMemoryStudy(seed=-1)
    assert InMemoryStudy().seed == 0 and "in memory" in InMemoryStudy(name="nb").where
