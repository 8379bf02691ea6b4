"""Study storage on real SQLite files: round trips, kills, recovery, identity and bad files."""

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from codesign.errors import CodesignError
from codesign.study.base import INTERRUPTED_ERROR
from codesign.study.identity import StudyMismatchError
from codesign.study.storage import CONFIG_HASH_EXCLUDED_KEYS, SCHEMA_VERSION, Study, config_hash
from codesign.study.trial import STATES, Trial

CONFIG = {
    "dataset": {"name": "moving_dot", "samples": 64},
    "space": {"weight_bits": [2, 8], "encoder": ["rate", "latency"]},
    "objectives": ["accuracy", "energy_per_inference_uj"],
    "budget": {"trials": 10, "timeout_s": 60},
}


@pytest.fixture
def study(tmp_path):
    with Study.create(tmp_path / "s.db", config=CONFIG, seed=7) as s:
        yield s


def test_create_sets_identity_and_refuses_existing_file(tmp_path):
    path = tmp_path / "run.db"
    s = Study.create(path, config=CONFIG, seed=3)
    assert (s.name, s.seed, s.config, s.path) == ("run", 3, CONFIG, path)
    assert s.config_hash == config_hash(CONFIG)
    assert s.artifact_dir == tmp_path / "run_artifacts" and s.artifact_dir.is_dir()
    s.close()
    with pytest.raises(CodesignError, match="run.db already exists"):
        Study.create(path, config=CONFIG, seed=3)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("run")) == []
    with Study.create(tmp_path / "named.db", config={}, seed=0, name="my study") as named:
        assert named.name == "my study"


def test_every_field_round_trips(study, tmp_path):
    params = {"encoder": "rate", "weight_bits": 4, "lr": 1e-3, "layers": [32, 16], "nested": {"a": None}}
    n = study.add_trial(params, seed=1234)
    assert n == 0
    t = study.trial(0)
    assert (t.state, t.params, t.seed, t.values, t.metrics, t.counts, t.timings) == (
        "pending", params, 1234, {}, {}, None, {})
    assert t.started_at is None and t.finished_at is None and t.worker is None and t.created_at > 0

    study.mark_running(0, worker="host:123")
    values = {"accuracy": 0.875, "energy_per_inference_uj": 12.5}
    metrics = {"float_accuracy": 0.9, "hardware_accuracy": 0.875, "backend": "numba",
               "energy_breakdown": {"synaptic": 10.0, "static": 2.5}, "cores": 3}
    counts = {"layers": [{"spikes": 100, "synaptic_ops": 2000}], "timesteps": 50}
    timings = {"training_s": 1.5, "evaluation_s": 0.25, "total_s": 1.75}
    study.finish(0, "complete", values=values, metrics=metrics, counts=counts, timings=timings,
                 artifact_path="trial_0/net.h5")
    study.close()

    with Study.open(tmp_path / "s.db") as again:
        t = again.trial(0)
        assert isinstance(t, Trial)
        assert t.number == 0 and t.state == "complete" and t.params == params and t.seed == 1234
        assert t.values == values and t.metrics == metrics and t.counts == counts and t.timings == timings
        assert t.artifact_path == "trial_0/net.h5" and t.worker == "host:123" and t.reason is None
        assert t.created_at <= t.started_at <= t.finished_at
        assert again.artifact_file(t.artifact_path) == tmp_path / "s_artifacts" / "trial_0" / "net.h5"


def test_numpy_values_and_error_states(study):
    np = pytest.importorskip("numpy")
    a = study.add_trial({"x": np.int64(3)}, seed=0)
    study.finish(a, "complete", values={"accuracy": np.float32(0.5)}, metrics={"m": np.arange(3)})
    assert study.trial(a).params == {"x": 3} and study.trial(a).metrics == {"m": [0, 1, 2]}
    for state in ("failed", "infeasible", "pruned"):
        n = study.add_trial({"x": state}, seed=0)
        study.finish(n, state, error=f"because {state}")
        assert study.trial(n).state == state and study.trial(n).reason == f"because {state}"
        assert study.trial(n).error == study.trial(n).reason  # the storage column's name, read-only
    assert study.counts_by_state() == {"pending": 0, "running": 0, "complete": 1, "failed": 1,
                                       "infeasible": 1, "pruned": 1}
    assert [t.number for t in study.trials(["failed", "pruned"])] == [1, 3]
    assert [t.number for t in study.trials()] == [0, 1, 2, 3]


def test_finish_rules(study):
    n = study.add_trial({}, seed=0)
    for bad in ({"accuracy": float("nan")}, {"accuracy": math.inf}, {"accuracy": "high"}, {}, None):
        with pytest.raises(CodesignError, match=f"trial {n}"):
            study.finish(n, "complete", values=bad)
    with pytest.raises(CodesignError, match="'done'"):
        study.finish(n, "done")
    assert study.trial(n).state == "pending"  # nothing half-written by the refusals
    study.finish(n, "complete", values={"accuracy": 1})
    with pytest.raises(CodesignError, match=f"trial {n} is complete"):
        study.finish(n, "failed", error="again")
    with pytest.raises(CodesignError, match=f"trial {n} is complete"):
        study.mark_running(n)
    with pytest.raises(CodesignError, match="no trial number 99"):
        study.finish(99, "failed")
    with pytest.raises(CodesignError, match="no trial number 42"):
        study.trial(42)
    with pytest.raises(CodesignError, match="must be relative"):
        study.finish(study.add_trial({}, seed=0), "failed", artifact_path="/abs/net.h5")
    with pytest.raises(CodesignError, match="trial state 'bogus'"):
        study.trials(["bogus"])
    with pytest.raises(CodesignError, match="'complete'"):
        study.add_trial({}, seed=0, state="complete")


@pytest.mark.parametrize("policy", ["requeue", "fail"])
def test_recover_interrupted(tmp_path, policy):
    path = tmp_path / "s.db"
    with Study.create(path, config=CONFIG, seed=1) as s:
        done = s.add_trial({"i": 0}, seed=10)
        s.finish(done, "complete", values={"accuracy": 0.5})
        running = s.add_trial({"i": 1}, seed=11)
        s.mark_running(running, worker="w")
        direct = s.add_trial({"i": 2}, seed=12, state="running")
        pending = s.add_trial({"i": 3}, seed=13)
    with Study.open(path) as s:
        assert s.recover_interrupted(policy) == [running, direct, pending]
        assert s.counts_by_state()["running"] == 0
        assert s.trial(done).state == "complete"
        for n in (running, direct, pending):
            t = s.trial(n)
            assert t.params == {"i": n} and t.seed == 10 + n
            if policy == "requeue":
                assert t.state == "pending" and t.started_at is None and t.worker is None
            else:
                assert t.state == "failed" and t.reason == INTERRUPTED_ERROR
        if policy == "requeue":  # a requeued trial runs again and finishes normally
            s.mark_running(running)
            s.finish(running, "complete", values={"accuracy": 0.7})
        else:
            assert s.recover_interrupted(policy) == []
        with pytest.raises(CodesignError, match="'later'"):
            s.recover_interrupted("later")


def test_notes(study):
    assert study.get_note("pareto") is None and study.get_note("pareto", 5) == 5
    study.set_note("pareto", {"front": [0, 3], "hv": 1.5})
    study.set_note("pareto", {"front": [1], "hv": 2.0})
    assert study.get_note("pareto") == {"front": [1], "hv": 2.0}
    assert study.config == CONFIG  # notes do not clash with the study's own metadata


# ----------------------------------------------------------------------------- identity

def test_budget_is_not_part_of_the_config_hash():
    assert "budget" in CONFIG_HASH_EXCLUDED_KEYS
    more = {**CONFIG, "budget": {"trials": 500, "timeout_s": 3600}}
    none = {k: v for k, v in CONFIG.items() if k != "budget"}
    assert config_hash(more) == config_hash(CONFIG) == config_hash(none)
    reordered = dict(reversed(list(CONFIG.items())))
    assert config_hash(reordered) == config_hash(CONFIG)
    assert config_hash({**CONFIG, "objectives": ["accuracy"]}) != config_hash(CONFIG)


def test_open_or_create_resumes_same_study_and_keeps_trials(tmp_path):
    path = tmp_path / "s.db"
    with Study.open_or_create(path, config=CONFIG, seed=5) as s:
        assert "created" in s.open_note
        s.add_trial({"x": 1}, seed=0)
    bigger = {**CONFIG, "budget": {"trials": 50, "timeout_s": 60}}
    with Study.open_or_create(path, config=bigger, seed=5) as s:
        assert "resumed" in s.open_note and len(s) == 1
        assert s.config == bigger  # the new budget is what the study now says
    with Study.open(path) as s:
        assert s.config == bigger


def test_open_or_create_refuses_a_different_config_naming_keys(tmp_path):
    path = tmp_path / "s.db"
    Study.create(path, config=CONFIG, seed=5).close()
    changed = {**CONFIG, "space": {"weight_bits": [1, 8]}, "training": {"epochs": 3}}
    with pytest.raises(StudyMismatchError) as err:
        Study.open_or_create(path, config=changed, seed=5)
    msg = str(err.value)
    assert "'space'" in msg and "'training'" in msg and str(path) in msg
    assert "'dataset'" not in msg and "'budget'" not in msg
    assert "--" not in msg  # the library describes; only the CLI names flags (test_sweep checks its hint)
    with pytest.raises(StudyMismatchError, match=r"seed \(5 stored, 6 given\)"):
        Study.open_or_create(path, config=CONFIG, seed=6)


def test_force_new_moves_old_study_and_artifacts_aside(tmp_path):
    path = tmp_path / "s.db"
    with Study.create(path, config=CONFIG, seed=5) as old:
        old.add_trial({"old": True}, seed=0)
        (old.artifact_dir / "net.h5").write_bytes(b"net")
    changed = {**CONFIG, "objectives": ["accuracy"]}
    with Study.open_or_create(path, config=changed, seed=5, force_new=True) as new:
        assert len(new) == 0 and new.config == changed
        backup = new.backup_path
        assert backup is not None and backup.name.startswith("s.db.") and ".bak" in backup.name
        assert str(backup) in new.open_note
    with Study.open(backup) as kept:
        assert kept.config == CONFIG and kept.trials()[0].params == {"old": True}
    art_backups = [p for p in tmp_path.iterdir() if p.name.startswith("s_artifacts.") and p.is_dir()]
    assert len(art_backups) == 1 and (art_backups[0] / "net.h5").read_bytes() == b"net"
    assert not (tmp_path / "s_artifacts").exists()


# ----------------------------------------------------------------------------- bad files

def test_missing_file_is_named(tmp_path):
    with pytest.raises(CodesignError, match=r"nope\.db does not exist"):
        Study.open(tmp_path / "nope.db")


def test_not_sqlite_is_named_and_left_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a database\n")
    with pytest.raises(CodesignError, match=r"notes\.txt is not a SQLite file"):
        Study.open(path)
    assert path.read_text() == "hello, not a database\n"
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(CodesignError, match=r"empty\.db is not a SQLite file"):
        Study.open(empty)


def test_sqlite_but_not_a_study_is_named(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CodesignError, match=r"other\.db is a SQLite file but not a study"):
        Study.open(path)
    with pytest.raises(CodesignError, match=r"other\.db is a SQLite file but not a study"):
        Study.open_or_create(path, config=CONFIG, seed=0)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    Study.create(path, config=CONFIG, seed=0).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (json.dumps(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(CodesignError, match=rf"future\.db has schema version {SCHEMA_VERSION + 1}, newer"):
        Study.open(path)


def test_older_schema_runs_the_migration_hook(tmp_path, monkeypatch):
    from codesign.study import storage

    path = tmp_path / "old.db"
    Study.create(path, config=CONFIG, seed=0).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(CodesignError, match="schema version 0 and no migration"):
        Study.open(path)
    monkeypatch.setitem(storage.MIGRATIONS, 0, lambda c: c.execute("INSERT INTO meta VALUES ('migrated', 'true')"))
    with Study.open(path) as s:
        assert len(s) == 0
    conn = sqlite3.connect(path)
    assert dict(conn.execute("SELECT key, value FROM meta").fetchall())["schema_version"] == str(SCHEMA_VERSION)
    conn.close()


def test_file_is_wal_and_numbers_are_unique_across_connections(tmp_path):
    path = tmp_path / "s.db"
    a = Study.create(path, config=CONFIG, seed=0)
    b = Study.open(path)
    numbers = [s.add_trial({"i": i}, seed=i) for i, s in enumerate([a, b, a, b, b])]
    assert numbers == [0, 1, 2, 3, 4]
    assert a._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert a._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    a.close()
    b.close()


# ----------------------------------------------------------------------------- kills

WRITER = textwrap.dedent(
    """
    import sys
    from codesign.study.storage import Study
    study = Study.create(sys.argv[1], config={"model": "kill test"}, seed=1)
    i = 0
    while True:
        n = study.add_trial({"i": i, "blob": "p" * (i % 97)}, seed=i)
        study.mark_running(n, worker="writer")
        study.finish(n, "complete", values={"v": n * 0.5, "w": -n},
                     metrics={"check": n * 3, "blob": "m" * (n % 89), "list": list(range(n % 13))},
                     counts={"spikes": [n] * (n % 7)}, timings={"total_s": n / 10})
        i += 1
    """
)


def _whole(t: Trial) -> None:
    n = t.number
    assert t.params == {"i": n, "blob": "p" * (n % 97)} and t.seed == n
    if t.state == "complete":
        assert t.values == {"v": n * 0.5, "w": float(-n)}
        assert t.metrics == {"check": n * 3, "blob": "m" * (n % 89), "list": list(range(n % 13))}
        assert t.counts == {"spikes": [n] * (n % 7)} and t.timings == {"total_s": n / 10}
        assert t.worker == "writer" and t.finished_at is not None
    else:  # the trial in flight when the kill came
        assert t.state in ("pending", "running") and t.values == {} and t.finished_at is None


def test_sigkill_while_writing_leaves_only_whole_trials(tmp_path):
    path = tmp_path / "killed.db"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        deadline = time.monotonic() + 30
        seen = 0
        while seen < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
            if child.poll() is not None:
                pytest.fail(f"writer exited early with {child.returncode}")
            if path.exists():
                try:
                    with Study.open(path) as s:
                        seen = s.counts_by_state()["complete"]
                except CodesignError:
                    pass
        assert seen >= 40, "writer too slow"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    with Study.open(path) as s:
        assert s._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        trials = s.trials()
        assert len(trials) >= seen
        assert [t.number for t in trials] == list(range(len(trials)))
        for t in trials:
            _whole(t)
        assert sum(t.state != "complete" for t in trials) <= 1
        assert trials[-1].state in STATES
        recovered = s.recover_interrupted("fail")
        assert len(recovered) <= 1 and s.counts_by_state()["running"] == 0


def test_the_file_accepts_exactly_the_trial_states(study):
    """The schema's CHECK and codesign.study.trial.STATES must agree (a new state needs a migration)."""
    n = study.add_trial({}, seed=0)
    for state in STATES:
        study._conn.execute("UPDATE trials SET state = ? WHERE number = ?", (state, n))
    with pytest.raises(sqlite3.IntegrityError):
        study._conn.execute("UPDATE trials SET state = 'done' WHERE number = ?", (n,))
