"""Executors with real processes and a real Dask LocalCluster: results by key, errors, deaths, cleanup."""

import os
import time

import _executor_tasks as tasks
import psutil
import pytest

from codesign.errors import CodesignError
from codesign.run.executors import (
    DaskExecutor,
    Finished,
    InProcessExecutor,
    ProcessExecutor,
    WorkerPoolExecutor,
    make_executor,
)


def drain(executor, timeout=60.0) -> dict[int, Finished]:
    """Wait until nothing is left running; results by key (each key reported exactly once)."""
    out: dict[int, Finished] = {}
    deadline = time.monotonic() + timeout
    while executor.running():
        assert time.monotonic() < deadline, f"still running: {executor.running()}"
        for f in executor.wait(timeout=5):
            assert f.key not in out, f"key {f.key} reported twice"
            out[f.key] = f
    return out


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids, timeout=10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(gone(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if not gone(p)]


def submit_batch(executor, deaths=True):
    for i in range(4):
        executor.submit(i, tasks.square, {"x": i})
    executor.submit(10, tasks.fail, {"x": 10})
    if deaths:
        executor.submit(11, tasks.die, {"sleep": 0.1})
    for i in range(4, 6):
        executor.submit(i, tasks.square, {"x": i})


def check_batch(results, deaths=True):
    expected = {*range(6), 10} | ({11} if deaths else set())
    assert set(results) == expected
    for i in range(6):
        assert results[i].error is None and results[i].ok
        assert (results[i].result["x"], results[i].result["square"]) == (i, i * i)
    assert results[10].result is None and results[10].error.startswith("ValueError: bad trial 10")
    assert "_executor_tasks.py" in results[10].error and "in fail" in results[10].error
    if deaths:
        assert results[11].result is None and results[11].error.startswith("worker died")


# ----------------------------------------------------------------------------- in process

def test_in_process_runs_in_this_process_and_catches_exceptions():
    with InProcessExecutor() as ex:
        assert ex.capacity == 1
        submit_batch(ex, deaths=False)
        assert ex.running() == [0, 1, 2, 3, 10, 4, 5]
        results = drain(ex)
    check_batch(results, deaths=False)
    assert {r.result["pid"] for k, r in results.items() if k != 10} == {os.getpid()}
    assert InProcessExecutor().wait(timeout=0.1) == []


# ----------------------------------------------------------------------------- processes

def test_process_executor_batch_with_an_exception_and_a_death():
    with ProcessExecutor(workers=2) as ex:
        assert ex.capacity == 2
        submit_batch(ex)
        assert len(ex.pids()) <= 2  # the rest wait their turn
        results = drain(ex)
    check_batch(results)
    assert "SIGKILL" in results[11].error and "-9" in results[11].error
    pids = {r.result["pid"] for r in results.values() if r.ok}
    assert len(pids) == 6 and os.getpid() not in pids  # one fresh process per trial


def test_process_executor_hard_exit_and_unpicklable_result():
    with ProcessExecutor(workers=2) as ex:
        ex.submit(0, tasks.exit_hard, {"code": 3})
        ex.submit(1, tasks.unpicklable_result, {})
        ex.submit(2, tasks.square, {"x": 2})
        results = drain(ex)
    assert results[0].error == "worker died (exit code 3) before returning a result"
    assert results[1].error.startswith("result of the trial could not be sent back")
    assert results[2].result["square"] == 4


def test_process_executor_wait_timeout_and_duplicate_key(tmp_path):
    with ProcessExecutor(workers=1) as ex:
        ex.submit(0, tasks.square, {"x": 1, "sleep": 30})
        with pytest.raises(CodesignError, match="trial 0 is already submitted"):
            ex.submit(0, tasks.square, {"x": 1})
        t = time.monotonic()
        assert ex.wait(timeout=0.3) == []
        assert time.monotonic() - t < 5
        assert ex.running() == [0]


def test_process_executor_shutdown_kills_trials_and_their_children(tmp_path):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    ex = ProcessExecutor(workers=2)
    for key in range(3):
        ex.submit(key, tasks.spawn_and_sleep, {"pid_file": str(tmp_path / f"{key}.pid")})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all((tmp_path / f"{k}.pid").exists() for k in range(2)):
        time.sleep(0.05)
    trial_pids = list(ex.pids().values())
    grandchildren = [int((tmp_path / f"{k}.pid").read_text()) for k in range(2)]
    assert len(trial_pids) == 2 and not any(gone(p) for p in grandchildren)
    ex.shutdown()
    assert wait_gone(trial_pids + grandchildren) == []
    assert ex.running() == [] and not (tmp_path / "2.pid").exists()  # the queued one never started
    leftover = [
        p for p in psutil.Process().children(recursive=True)
        if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline()) and not gone(p.pid)
    ]
    assert leftover == []
    with pytest.raises(CodesignError, match="shut down"):
        ex.submit(5, tasks.square, {"x": 1})


# ----------------------------------------------------------------------------- dask

@pytest.fixture(scope="module")
def dask_executor():
    ex = DaskExecutor(workers=2)
    yield ex
    ex.shutdown()


def test_dask_batch_with_an_exception_and_a_dead_worker(dask_executor):
    ex = dask_executor
    assert ex.capacity == 2
    submit_batch(ex)
    results = drain(ex, timeout=60)
    check_batch(results)
    assert ex.running() == []


def test_dask_runs_on_worker_processes_and_wait_times_out(dask_executor):
    ex = dask_executor
    assert ex.wait(timeout=0.1) == []  # nothing submitted
    ex.submit(0, tasks.square, {"x": 3, "sleep": 2})
    with pytest.raises(CodesignError, match="trial 0 is already submitted"):
        ex.submit(0, tasks.square, {"x": 3})
    assert ex.wait(timeout=0.2) == []
    (f,) = drain(ex).values()
    assert f.result["square"] == 9 and f.result["pid"] != os.getpid()


def test_dask_shutdown_stops_workers(dask_executor):
    ex = dask_executor
    worker_pids = list(ex.client.run(os.getpid).values())
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    ex.submit(1, tasks.sleep_forever, {})
    ex.shutdown()
    assert wait_gone(worker_pids, timeout=15) == []
    assert ex.running() == []


def test_bad_scheduler_addresses_are_named():
    with pytest.raises(CodesignError, match=r"'tcp://127\.0\.0\.1:1'"):
        DaskExecutor("tcp://127.0.0.1:1", connect_timeout=0.5)
    with pytest.raises(CodesignError, match=r"'nonsense://x' has unknown scheme"):
        DaskExecutor("nonsense://x")
    with pytest.raises(CodesignError, match=r"'tcp://no-such-host\.invalid:8786'"):
        make_executor(scheduler="tcp://no-such-host.invalid:8786")


# ----------------------------------------------------------------------------- factory

def test_make_executor_picks_by_arguments():
    assert isinstance(make_executor(), InProcessExecutor)
    with make_executor(workers=3) as ex:
        assert isinstance(ex, ProcessExecutor) and ex.capacity == 3
    for bad in (0, -1, 1.5, True):
        with pytest.raises(CodesignError, match="workers"):
            make_executor(workers=bad)


# ----------------------------------------------------------------------------- worker pool

def test_worker_pool_reuses_its_processes_and_replaces_a_dead_one():
    with WorkerPoolExecutor(workers=2) as ex:
        assert ex.capacity == 2
        submit_batch(ex)
        assert len(ex.pids()) <= 2  # the rest wait their turn
        results = drain(ex)
        check_batch(results)
        assert "SIGKILL" in results[11].error
        pids = {r.result["pid"] for r in results.values() if r.ok}
        assert os.getpid() not in pids and 1 <= len(pids) <= 3  # 6 trials, 2 workers (+1 after the death)
        ex.submit(20, tasks.square, {"x": 3})  # the pool still serves after a death
        assert drain(ex)[20].result["square"] == 9
        ex.submit(21, tasks.exit_hard, {"code": 3})
        ex.submit(22, tasks.unpicklable_result, {})
        later = drain(ex)
    assert later[21].error == "worker died (exit code 3) before returning a result"
    assert later[22].error.startswith("result of the trial could not be sent back")


def test_worker_pool_shutdown_kills_running_trials_and_their_children(tmp_path):
    ex = WorkerPoolExecutor(workers=2)
    for key in range(3):
        ex.submit(key, tasks.spawn_and_sleep, {"pid_file": str(tmp_path / f"{key}.pid")})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all((tmp_path / f"{k}.pid").exists() for k in range(2)):
        time.sleep(0.05)
    worker_pids = list(ex.pids().values())
    grandchildren = [int((tmp_path / f"{k}.pid").read_text()) for k in range(2)]
    assert len(worker_pids) == 2 and not any(gone(p) for p in grandchildren)
    ex.shutdown()
    assert wait_gone(worker_pids + grandchildren) == []
    assert ex.running() == [] and not (tmp_path / "2.pid").exists()


def test_make_executor_pool_even_for_one_worker():
    with make_executor(workers=1, pool=True) as ex:
        assert isinstance(ex, WorkerPoolExecutor) and ex.capacity == 1
