"""Module-level trial functions for tests/test_executors.py.

They live in their own module so spawned processes and Dask workers can import them by name
(spawned children get the parent's sys.path, which holds tests/ under pytest).
"""

import os
import signal
import time


def square(payload: dict) -> dict:
    time.sleep(payload.get("sleep", 0.0))
    return {"x": payload["x"], "square": payload["x"] ** 2, "pid": os.getpid()}


def fail(payload: dict):
    raise ValueError(f"bad trial {payload['x']}")


def die(payload: dict):
    time.sleep(payload.get("sleep", 0.0))
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)


def exit_hard(payload: dict):
    os._exit(payload.get("code", 3))


def sleep_forever(payload: dict):
    if payload.get("pid_file"):
        with open(payload["pid_file"], "w") as fh:
            fh.write(str(os.getpid()))
    time.sleep(3600)


def unpicklable_result(payload: dict):
    return lambda: None


def spawn_and_sleep(payload: dict):
    """A trial that starts a process of its own (as Lava does), then hangs."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    tmp = payload["pid_file"] + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(str(child.pid))
    os.replace(tmp, payload["pid_file"])
    time.sleep(3600)
