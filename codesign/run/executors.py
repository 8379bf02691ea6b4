"""Where trials run: in this process, in local worker processes, or on a Dask cluster.

The driver hands each executor ``fn(payload)`` (a module-level, picklable function and a
picklable dict) under a key (the trial number) and gets back ``Finished`` records; it records
results in the study itself. A trial that raises or whose process dies becomes a
``Finished`` with an error string: nothing here raises for a bad trial, so one crash
(segfault in a JIT'd kernel, the OOM killer, a Lava process gone wrong) costs one trial,
never the sweep.
"""

from __future__ import annotations

import atexit
import collections
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import socket
import threading
import time
import traceback
import uuid
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable

from codesign.errors import CodesignError

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT_S = 10.0
_TRACEBACK_FRAMES = 3
_REAP_GRACE_S = 10.0


@dataclass(frozen=True)
class Finished:
    """One trial's outcome as the executor saw it; exactly one of result/error is meaningful."""

    key: int
    result: Any | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def describe_exception(exc: BaseException, frames: int = _TRACEBACK_FRAMES) -> str:
    """``Type: message`` plus the last few traceback frames: enough to find the bug, short enough to store."""
    return _format(exc, exc.__traceback__, frames)


def _format(exc: BaseException, tb, frames: int = _TRACEBACK_FRAMES) -> str:
    head = f"{type(exc).__name__}: {exc}"
    stack = [f for f in traceback.extract_tb(tb) if f.filename != __file__][-frames:] if tb is not None else []
    if not stack:
        return head
    return head + "\n" + "".join(traceback.format_list(stack)).rstrip()


def _receive(connection):
    """A finished trial's ("ok" | "error", value) from its pipe, or None when the process died without sending one."""
    try:
        return connection.recv() if connection.poll() else None
    except (EOFError, OSError):
        return None
    except Exception as exc:  # result arrived but cannot be unpickled here
        return ("error", f"result of the trial could not be read: {describe_exception(exc)}")


def _finished(key, message) -> Finished:
    status, value = message
    return Finished(key, value, None) if status == "ok" else Finished(key, None, value)


def _death_message(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker died (exit code unknown)"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"worker died (exit code {exitcode}, killed by {name})"
    return f"worker died (exit code {exitcode}) before returning a result"


class Executor(ABC):
    """Runs ``fn(payload)`` per key, up to ``capacity`` at once; extra submissions wait their turn."""

    capacity: int

    @abstractmethod
    def submit(self, key: int, fn: Callable[[Any], Any], payload: Any) -> None: ...

    @abstractmethod
    def wait(self, timeout: float | None = None) -> list[Finished]:
        """Block until at least one submitted trial finished (or `timeout` s passed); return all finished."""

    @abstractmethod
    def running(self) -> list[int]:
        """Keys submitted and not yet returned by wait() (queued ones included)."""

    @abstractmethod
    def shutdown(self, cancel: bool = True) -> None:
        """Release workers; cancel=True kills what is running, cancel=False lets it finish (results dropped)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown(cancel=True)

    def _check_new_key(self, key: int) -> int:
        if key in self.running():
            raise CodesignError(f"trial {key} is already submitted to this executor")
        return key


# ---------------------------------------------------------------------------------------
# In process


class InProcessExecutor(Executor):
    """Runs each trial inside wait(), in this process: simplest to debug, no isolation."""

    capacity = 1

    def __init__(self) -> None:
        self._queue: collections.deque = collections.deque()

    def submit(self, key, fn, payload) -> None:
        self._check_new_key(key)
        self._queue.append((key, fn, payload))

    def wait(self, timeout: float | None = None) -> list[Finished]:
        # `timeout` cannot interrupt a function running in this thread; it is ignored.
        if not self._queue:
            return []
        key, fn, payload = self._queue.popleft()
        try:
            return [Finished(key, fn(payload), None)]
        except (Exception, SystemExit) as exc:
            return [Finished(key, None, describe_exception(exc))]

    def running(self) -> list[int]:
        return [k for k, _, _ in self._queue]

    def shutdown(self, cancel: bool = True) -> None:
        self._queue.clear()


# ---------------------------------------------------------------------------------------
# Local processes


def _watch_parent(parent_pid: int, own_group: bool) -> None:
    # A trial must not outlive a sweep that was SIGKILLed: poll the parent, then take the
    # whole process group (the trial and anything it started) down with it.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            if own_group:
                try:
                    os.killpg(os.getpgrp(), signal.SIGKILL)
                except OSError:
                    pass
            os._exit(1)


def _child_main(conn, fn, payload, parent_pid: int) -> None:
    """Entry point of one trial process: run fn, send ("ok", result) or ("error", text)."""
    own_group = False
    if hasattr(os, "setpgrp"):
        try:
            os.setpgrp()  # so shutdown can kill the trial together with its own children
            own_group = True
        except OSError:
            pass
    threading.Thread(target=_watch_parent, args=(parent_pid, own_group), daemon=True).start()
    try:
        message = ("ok", fn(payload))
    except (Exception, SystemExit) as exc:
        message = ("error", describe_exception(exc))
    try:
        conn.send(message)
    except Exception as exc:  # unpicklable result
        conn.send(("error", f"result of the trial could not be sent back: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


@dataclass
class _Job:
    key: int
    process: Any
    reader: Any


_LIVE_PROCESS_EXECUTORS: "weakref.WeakSet[Executor]" = weakref.WeakSet()


@atexit.register
def _kill_leftover_children() -> None:
    for executor in list(_LIVE_PROCESS_EXECUTORS):
        executor.shutdown(cancel=True)


class ProcessExecutor(Executor):
    """Each trial in a fresh spawned process: a crash or leak in one trial cannot touch another.

    Processes are not daemonic (trials may start their own processes, as Lava does) and put
    themselves in their own process group; shutdown kills the group. A trial process whose
    parent disappears kills itself.
    """

    def __init__(self, workers: int = 2, *, start_method: str = "spawn") -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise CodesignError(f"workers must be a positive integer, got {workers!r}")
        self.capacity = workers
        self._ctx = multiprocessing.get_context(start_method)
        self._queue: collections.deque = collections.deque()
        self._jobs: dict[int, _Job] = {}
        self._done: list[Finished] = []
        self._exiting: list[tuple[Any, float]] = []  # (process, deadline) that sent their result
        self._closed = False
        _LIVE_PROCESS_EXECUTORS.add(self)

    def submit(self, key, fn, payload) -> None:
        if self._closed:
            raise CodesignError("this ProcessExecutor has been shut down")
        self._check_new_key(key)
        self._queue.append((key, fn, payload))
        self._start_queued()

    def running(self) -> list[int]:
        return list(self._jobs) + [k for k, _, _ in self._queue] + [f.key for f in self._done]

    def pids(self) -> dict[int, int]:
        """Trial key -> OS pid of the processes running now."""
        return {k: j.process.pid for k, j in self._jobs.items()}

    def _start_queued(self) -> None:
        while self._queue and len(self._jobs) < self.capacity:
            key, fn, payload = self._queue.popleft()
            reader, writer = self._ctx.Pipe(duplex=False)
            process = self._ctx.Process(
                target=_child_main,
                args=(writer, fn, payload, os.getpid()),
                name=f"codesign-trial-{key}",
                daemon=False,
            )
            try:
                process.start()  # spawn pickles fn and payload here
            except Exception as exc:
                reader.close()
                self._done.append(Finished(key, None, f"could not start the trial process: {describe_exception(exc)}"))
                continue
            finally:
                writer.close()
            self._jobs[key] = _Job(key, process, reader)

    def wait(self, timeout: float | None = None) -> list[Finished]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._reap()
            if self._done:
                out, self._done = self._done, []
                self._start_queued()
                return out
            if not self._jobs:
                return []
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            handles = [h for j in self._jobs.values() for h in (j.reader, j.process.sentinel)]
            ready = set(multiprocessing.connection.wait(handles, timeout=remaining))
            for job in list(self._jobs.values()):
                if job.reader in ready or job.process.sentinel in ready:
                    self._collect(job)
            if not self._done and deadline is not None and time.monotonic() >= deadline:
                return []

    def _collect(self, job: _Job) -> None:
        message = _receive(job.reader)
        if message is None:
            job.process.join(timeout=5)
            finished = Finished(job.key, None, _death_message(job.process.exitcode))
        else:
            finished = _finished(job.key, message)
            self._exiting.append((job.process, time.monotonic() + _REAP_GRACE_S))
        job.reader.close()
        del self._jobs[job.key]
        self._done.append(finished)

    def _reap(self) -> None:
        still = []
        now = time.monotonic()
        for process, deadline in self._exiting:
            if process.is_alive() and now < deadline:
                still.append((process, deadline))
            elif process.is_alive():
                _kill_process_tree(process)
            else:
                process.join(timeout=0)
        self._exiting = still

    def shutdown(self, cancel: bool = True) -> None:
        self._closed = True
        self._queue.clear()
        if not cancel:
            for job in self._jobs.values():
                job.process.join()
        for job in list(self._jobs.values()):
            _kill_process_tree(job.process)
            job.reader.close()
        self._jobs.clear()
        for process, _ in self._exiting:
            if process.is_alive():
                process.join(timeout=1)
            if process.is_alive():
                _kill_process_tree(process)
        self._exiting.clear()
        self._done.clear()
        _LIVE_PROCESS_EXECUTORS.discard(self)


def _worker_main(conn, parent_pid: int) -> None:
    """Entry point of one long-lived worker: run trials sent as (fn, payload) until the pipe
    closes, answering each with ("ok", result) or ("error", text)."""
    own_group = False
    if hasattr(os, "setpgrp"):
        try:
            os.setpgrp()
            own_group = True
        except OSError:
            pass
    threading.Thread(target=_watch_parent, args=(parent_pid, own_group), daemon=True).start()
    while True:
        try:
            fn, payload = conn.recv()
        except (EOFError, OSError):
            return
        try:
            message = ("ok", fn(payload))
        except (Exception, SystemExit) as exc:
            message = ("error", describe_exception(exc))
        try:
            conn.send(message)
        except Exception as exc:  # unpicklable result
            conn.send(("error", f"result of the trial could not be sent back: {type(exc).__name__}: {exc}"))


@dataclass
class _Worker:
    process: Any
    conn: Any
    key: int | None = None  # the trial it runs, None when idle


class WorkerPoolExecutor(Executor):
    """Trials in `workers` long-lived spawned processes, one trial at a time each.

    Unlike ProcessExecutor, a worker keeps its imports, JIT-compiled kernels and dataset cache
    from one trial to the next (a fresh process pays them on every trial, which can cost more
    than a short trial), so the driver can keep the pool busy while it proposes. Each trial
    still runs outside the driver: a worker that dies fails its trial and is replaced by a
    fresh one for the next. Workers are non-daemonic process-group leaders, as in
    ProcessExecutor; shutdown kills their groups.
    """

    def __init__(self, workers: int = 2, *, start_method: str = "spawn") -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise CodesignError(f"workers must be a positive integer, got {workers!r}")
        self.capacity = workers
        self._ctx = multiprocessing.get_context(start_method)
        self._queue: collections.deque = collections.deque()
        self._workers: list[_Worker] = []
        self._done: list[Finished] = []
        self._closed = False
        _LIVE_PROCESS_EXECUTORS.add(self)

    def submit(self, key, fn, payload) -> None:
        if self._closed:
            raise CodesignError("this WorkerPoolExecutor has been shut down")
        self._check_new_key(key)
        self._queue.append((key, fn, payload))
        self._dispatch()

    def running(self) -> list[int]:
        busy = [w.key for w in self._workers if w.key is not None]
        return busy + [k for k, _, _ in self._queue] + [f.key for f in self._done]

    def pids(self) -> dict[int, int]:
        """Trial key -> OS pid of the worker running it now."""
        return {w.key: w.process.pid for w in self._workers if w.key is not None}

    def _dispatch(self) -> None:
        while self._queue:
            idle = next((w for w in self._workers if w.key is None), None)
            if idle is None and len(self._workers) >= self.capacity:
                return
            key, fn, payload = self._queue.popleft()
            if idle is None:
                parent_conn, child_conn = self._ctx.Pipe(duplex=True)
                process = self._ctx.Process(target=_worker_main, args=(child_conn, os.getpid()),
                                            name=f"codesign-worker-{len(self._workers)}", daemon=False)
                try:
                    process.start()
                except Exception as exc:
                    parent_conn.close()
                    self._done.append(Finished(key, None, f"could not start a worker process: {describe_exception(exc)}"))
                    continue
                finally:
                    child_conn.close()
                idle = _Worker(process, parent_conn)
                self._workers.append(idle)
            try:
                idle.conn.send((fn, payload))
            except Exception as exc:  # unpicklable payload, or the worker is gone
                self._done.append(Finished(key, None, f"could not send the trial to its worker: {describe_exception(exc)}"))
                continue
            idle.key = key

    def wait(self, timeout: float | None = None) -> list[Finished]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._done:
                out, self._done = self._done, []
                self._dispatch()
                return out
            busy = [w for w in self._workers if w.key is not None]
            if not busy:
                return []
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = set(multiprocessing.connection.wait([h for w in busy for h in (w.conn, w.process.sentinel)], timeout=remaining))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._collect(worker)
            if not self._done and deadline is not None and time.monotonic() >= deadline:
                return []

    def _collect(self, worker: _Worker) -> None:
        message = _receive(worker.conn)
        key, worker.key = worker.key, None
        if message is None:  # the worker died: its trial fails, a fresh worker takes the next one
            _kill_process_tree(worker.process)
            worker.conn.close()
            self._workers.remove(worker)
            self._done.append(Finished(key, None, _death_message(worker.process.exitcode)))
            return
        self._done.append(_finished(key, message))

    def shutdown(self, cancel: bool = True) -> None:
        self._closed = True
        self._queue.clear()
        if not cancel:
            while any(w.key is not None for w in self._workers):
                self.wait()
        for worker in self._workers:
            worker.conn.close()
            if worker.process.is_alive():
                worker.process.join(timeout=0 if cancel else 5)
            _kill_process_tree(worker.process)
        self._workers.clear()
        self._done.clear()
        _LIVE_PROCESS_EXECUTORS.discard(self)


def _kill_process_tree(process) -> None:
    """SIGKILL the trial's process group (it made itself leader), else just the process; then reap."""
    pid = process.pid
    if pid is not None and process.is_alive():
        try:
            if hasattr(os, "killpg") and os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                process.kill()
        except (ProcessLookupError, PermissionError):
            pass
    process.join(timeout=5)
    if process.is_alive():  # pragma: no cover - SIGKILL does not fail
        log.warning("trial process %s did not exit after SIGKILL", pid)


# ---------------------------------------------------------------------------------------
# Dask


def _dask_error(exc: BaseException, tb) -> str:
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        worker = getattr(exc, "last_worker", None)
        where = f" {getattr(worker, 'address', worker)}" if worker is not None else ""
        return f"worker died (dask worker{where} was lost while running this trial)"
    return _format(exc, tb)


def _check_reachable(address: str, timeout: float) -> None:
    """Fail fast, and by name, on a scheduler address that is malformed or not listening.

    (A Client that fails to connect also leaves a noisy half-built object behind.)
    """
    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
    except (ValueError, TypeError) as exc:
        raise CodesignError(f"Dask scheduler address {address!r} is malformed: {exc}") from None
    from distributed.comm.registry import backends

    if scheme not in backends:
        raise CodesignError(
            f"Dask scheduler address {address!r} has unknown scheme {scheme!r} (known: {', '.join(sorted(backends))})"
        )
    if scheme not in ("tcp", "tls"):
        return
    try:
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise CodesignError(f"Dask scheduler address {address!r} is malformed: {exc}") from None
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            with socket.create_connection((host, port), timeout=max(0.1, remaining)):
                return
        except OSError as exc:
            if isinstance(exc, socket.gaierror) or time.monotonic() + 0.2 >= deadline:
                raise CodesignError(
                    f"cannot connect to the Dask scheduler at {address!r}: {exc} (tried for up to {timeout:g} s)"
                ) from None
            time.sleep(0.2)


class DaskExecutor(Executor):
    """Trials as Dask tasks, on a running scheduler (``tcp://host:port``) or a LocalCluster it starts.

    The LocalCluster it starts has one thread per worker process, non-daemonic workers (trials
    may start processes), ``allowed_failures=0`` (a task whose worker died fails at once
    instead of being retried on the next worker) and ``worker-saturation`` 1.0 (a worker holds
    only the task it runs, so a death costs that one trial). On an external scheduler these
    are the scheduler's own settings, and the trial function must be importable on the workers.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        client=None,
        workers: int = 2,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        import dask
        from distributed import Client, LocalCluster

        self._cluster = None
        self._owns_client = client is None
        self._futures: dict[Any, int] = {}  # future -> key
        self._done_queue: queue.Queue = queue.Queue()
        self._closed = False
        if client is not None:
            self._client = client
        elif scheduler is not None:
            if not isinstance(scheduler, str) or not scheduler.strip():
                raise CodesignError(f"Dask scheduler address must be a string like tcp://host:8786, got {scheduler!r}")
            _check_reachable(scheduler, connect_timeout)
            try:
                self._client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
            except Exception as exc:  # OSError, TimeoutError, ValueError for a malformed address
                raise CodesignError(
                    f"cannot connect to the Dask scheduler at {scheduler!r} within {connect_timeout:g} s: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
        else:
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
                raise CodesignError(f"workers must be a positive integer, got {workers!r}")
            # read by each nanny whenever it (re)starts a worker, so it must stay set
            dask.config.set({"distributed.worker.daemon": False})
            with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
                self._cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    scheduler_kwargs={"allowed_failures": 0},
                )
            self._client = Client(self._cluster, set_as_default=False)
        self._fixed_capacity = workers if self._cluster is not None else None

    @property
    def client(self):
        return self._client

    @property
    def capacity(self) -> int:  # type: ignore[override]
        if self._fixed_capacity is not None:
            return self._fixed_capacity
        return max(1, sum(self._client.nthreads().values()))

    def submit(self, key, fn, payload) -> None:
        if self._closed:
            raise CodesignError("this DaskExecutor has been shut down")
        self._check_new_key(key)
        future = self._client.submit(fn, payload, pure=False, key=f"codesign-trial-{key}-{uuid.uuid4().hex}")
        self._futures[future] = key
        future.add_done_callback(self._done_queue.put)  # runs in a client thread once it settles

    def running(self) -> list[int]:
        return sorted(self._futures.values())

    def wait(self, timeout: float | None = None) -> list[Finished]:
        if not self._futures:
            return []
        try:
            first = self._done_queue.get(timeout=timeout)
        except queue.Empty:
            return []
        done = [first]
        while True:
            try:
                done.append(self._done_queue.get_nowait())
            except queue.Empty:
                break
        out = []
        for future in done:
            key = self._futures.pop(future, None)
            if key is not None:  # None: dropped by shutdown
                out.append(self._finished(key, future))
        return sorted(out, key=lambda f: f.key)

    @staticmethod
    def _finished(key: int, future) -> Finished:
        try:
            if future.status == "finished":
                return Finished(key, future.result(), None)
            if future.status == "cancelled":
                return Finished(key, None, "cancelled (the Dask scheduler dropped this trial)")
            exc = future.exception()
            return Finished(key, None, _dask_error(exc, future.traceback()))
        except Exception as exc:  # result could not be fetched or deserialized
            return Finished(key, None, f"result could not be fetched from Dask: {describe_exception(exc)}")

    def shutdown(self, cancel: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        futures = list(self._futures)
        self._futures.clear()
        try:
            if futures:
                if cancel:
                    self._client.cancel(futures, force=True)
                else:
                    from distributed import wait as dask_wait

                    dask_wait(futures)
        finally:
            if self._owns_client:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()


# ---------------------------------------------------------------------------------------


def make_executor(workers: int = 1, scheduler: str | None = None, *, pool: bool = False) -> Executor:
    """scheduler address -> Dask (``"local"`` -> a LocalCluster of `workers`); `pool` -> `workers`
    long-lived worker processes (even one: the driver then proposes while it runs); workers > 1
    -> a fresh process per trial; else in-process."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise CodesignError(f"workers must be a positive integer, got {workers!r}")
    if scheduler is not None:
        if scheduler == "local":
            return DaskExecutor(None, workers=workers)
        return DaskExecutor(scheduler)
    if pool:
        return WorkerPoolExecutor(workers=workers)
    if workers > 1:
        return ProcessExecutor(workers=workers)
    return InProcessExecutor()


__all__ = [
    "DaskExecutor",
    "Executor",
    "Finished",
    "InProcessExecutor",
    "ProcessExecutor",
    "WorkerPoolExecutor",
    "describe_exception",
    "make_executor",
]
