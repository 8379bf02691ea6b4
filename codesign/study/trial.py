"""One trial record and the one state machine that storage, samplers, the sweep and the report share.

A trial is asked (pending), may be started (running), and ends exactly once in a finished
state. The only way back is running -> pending: a sweep that stopped re-queues what it was
running. Defining the states and moves here, once, keeps the places that read them agreeing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codesign.errors import CodesignError

PENDING = "pending"
RUNNING = "running"
COMPLETE = "complete"
FAILED = "failed"
INFEASIBLE = "infeasible"
PRUNED = "pruned"

STATES = (PENDING, RUNNING, COMPLETE, FAILED, INFEASIBLE, PRUNED)
UNFINISHED = (PENDING, RUNNING)
FINISHED = (COMPLETE, FAILED, INFEASIBLE, PRUNED)

# state -> the states a trial in it may move to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PENDING: (RUNNING, *FINISHED),
    RUNNING: (PENDING, *FINISHED),  # back to pending: re-queued after an interrupted sweep
    **{state: () for state in FINISHED},
}


def check_state(state: str, allowed=STATES) -> str:
    """`state` if it is one of `allowed`, else an error naming both."""
    if state not in allowed:
        raise CodesignError(f"trial state {state!r} is not one of {tuple(allowed)}")
    return state


def sources(state: str) -> tuple[str, ...]:
    """The states from which a trial may move to `state`."""
    return tuple(old for old in STATES if state in TRANSITIONS[old])


@dataclass(frozen=True)
class Trial:
    """One trial as recorded: `values` holds the objectives, `metrics` anything else the trial
    reported (numbers, text, nested dicts), `reason` why it did not complete."""

    number: int
    params: dict
    state: str = PENDING
    values: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    reason: str | None = None
    counts: dict | None = None
    timings: dict = field(default_factory=dict)
    seed: int | None = None
    artifact_path: str | None = None
    worker: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def error(self) -> str | None:
        """The storage column's name for `reason`."""
        return self.reason

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "params": dict(self.params),
            "state": self.state,
            "values": dict(self.values),
            "metrics": dict(self.metrics),
            "reason": self.reason,
        }


__all__ = [
    "COMPLETE", "FAILED", "FINISHED", "INFEASIBLE", "PENDING", "PRUNED", "RUNNING", "STATES", "TRANSITIONS",
    "Trial", "UNFINISHED", "check_state", "sources",
]
