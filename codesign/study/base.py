"""The study interface every storage implements (SQLite file, in memory), after Optuna's storages.

The public methods live here, once: they check their input against the trial state machine
and encode it to the stored form (JSON text), so that every implementation refuses the same
things and hands back the same `Trial`s. An implementation only moves rows: insert one,
move one from an allowed state to another, recover interrupted ones, read them, keep notes.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from codesign.errors import CodesignError
from codesign.study.codec import to_json
from codesign.study.trial import FINISHED, PENDING, RUNNING, STATES, UNFINISHED, Trial, check_state

RECOVERY_POLICIES = ("requeue", "fail")
INTERRUPTED_ERROR = "interrupted (sweep stopped while this trial ran)"

# the stored form of a trial: these columns, JSON ones as text (the SQLite table's columns)
COLUMNS = ("number", "state", "params", "values", "metrics", "counts", "timings", "seed", "error",
           "artifact_path", "worker", "created_at", "started_at", "finished_at")


def derive_trial_seed(study_seed: int, number: int) -> int:
    """The seed trial `number` of a study trains and encodes with: its own stream of the study's seed."""
    return int(np.random.SeedSequence([int(study_seed), int(number)]).generate_state(1)[0] % 2**31)


class DamagedRowError(CodesignError):
    """A stored trial row that cannot be read back: which trial, which field, what is wrong."""

    def __init__(self, number: Any, field: str, problem: str):
        self.number, self.field, self.problem = number, field, problem
        super().__init__(f"trial {number}: stored field {field!r} is damaged ({problem})")


def _stored_json(row: Mapping[str, Any], column: str, *, nullable: bool = False) -> Any:
    text = row[column]
    if text is None and nullable:
        return None
    if not isinstance(text, str):
        raise DamagedRowError(row["number"], column, f"expected JSON text, found {type(text).__name__} {text!r}"[:200])
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise DamagedRowError(row["number"], column, f"not JSON: {text[:60]!r}") from None
    if not isinstance(value, dict):
        raise DamagedRowError(row["number"], column, f"expected a JSON object, found {type(value).__name__}")
    return value


def _stored_numbers(row: Mapping[str, Any], column: str, *, finite: bool) -> dict:
    numbers_ = _stored_json(row, column)
    for name, value in numbers_.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DamagedRowError(row["number"], f"{column}.{name}", f"{value!r} is not a number")
        if finite and not math.isfinite(value):
            raise DamagedRowError(row["number"], f"{column}.{name}", f"{value!r} is not finite")
    return numbers_


def _stored_scalar(row: Mapping[str, Any], column: str, kinds: tuple[type, ...]) -> Any:
    value = row[column]
    if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
        raise DamagedRowError(row["number"], column, f"{value!r} is not {' or '.join(k.__name__ for k in kinds)}")
    return value


def decode_row(row: Mapping[str, Any]) -> Trial:
    """A stored row (COLUMNS, JSON as text) -> Trial; a field that cannot be read raises
    `DamagedRowError` naming the trial and the field."""
    number = row["number"]
    if isinstance(number, bool) or not isinstance(number, int):
        raise DamagedRowError(number, "number", f"{number!r} is not an integer")
    state = row["state"]
    if state not in STATES:
        raise DamagedRowError(number, "state", f"{state!r} is not one of {STATES}")
    return Trial(
        number=number,
        params=_stored_json(row, "params"),
        state=state,
        values=_stored_numbers(row, "values", finite=state == "complete"),
        metrics=_stored_json(row, "metrics"),
        reason=_stored_scalar(row, "error", (str,)),
        counts=_stored_json(row, "counts", nullable=True),
        timings=_stored_numbers(row, "timings", finite=False),
        seed=_stored_scalar(row, "seed", (int,)),
        artifact_path=_stored_scalar(row, "artifact_path", (str,)),
        worker=_stored_scalar(row, "worker", (str,)),
        created_at=_stored_scalar(row, "created_at", (int, float)),
        started_at=_stored_scalar(row, "started_at", (int, float)),
        finished_at=_stored_scalar(row, "finished_at", (int, float)),
    )


def _number_dict(d: Any, what: str, *, finite: bool) -> dict:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise CodesignError(f"{what} must be a dict of name -> number, got {type(d).__name__}")
    out = {}
    for name, v in d.items():
        if isinstance(v, bool) or (not isinstance(v, (int, float)) and not hasattr(v, "__float__")):
            raise CodesignError(f"{what}[{name!r}] = {v!r} is not a number")
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise CodesignError(f"{what}[{name!r}] = {v!r} is not a number") from None
        if finite and not math.isfinite(f):
            raise CodesignError(f"{what}[{name!r}] = {f!r} is not finite")
        out[str(name)] = f
    return out


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise CodesignError(f"{what} = {value!r} must be a non-negative integer")
    return int(value)


class StudyStorage(ABC):
    """A study: its identity (`name`, `seed`, `config`), its trials and small notes.

    Trials move through `codesign.study.trial`'s state machine; every write is all or nothing.
    """

    name: str
    seed: int
    config: dict

    # ------------------------------------------------------------------ trials
    def add_trial(self, params: dict, *, seed: int | None = None, state: str = PENDING,
                  number: int | None = None) -> int:
        """Record an asked trial; returns its number (the next one unless `number` is given).
        `seed` defaults to the study's seed for that number (`trial_seed`)."""
        if state not in UNFINISHED:
            raise CodesignError(f"a new trial's state must be one of {UNFINISHED}, got {state!r} (use finish())")
        if not isinstance(params, dict):
            raise CodesignError(f"trial params must be a dict, got {type(params).__name__}")
        if number is not None:
            number = _count(number, "trial number")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
                raise CodesignError(f"trial seed must be an integer, got {seed!r}")
            seed = int(seed)
        now = time.time()
        fields = {"state": state, "params": to_json(params, "trial params"), "values": "{}", "metrics": "{}",
                  "counts": None, "timings": "{}", "error": None, "artifact_path": None, "worker": None,
                  "created_at": now, "started_at": now if state == RUNNING else None, "finished_at": None}
        return self._insert(fields, number, seed)

    def mark_running(self, number: int, worker: str | None = None) -> None:
        """pending -> running (records the start time and the worker)."""
        self._move(int(number), RUNNING, {"started_at": time.time(), "worker": worker}, "mark it running")

    def finish(
        self,
        number: int,
        state: str,
        *,
        values: dict | None = None,
        metrics: dict | None = None,
        counts: dict | None = None,
        timings: dict | None = None,
        reason: str | None = None,
        artifact_path: str | None = None,
        error: str | None = None,
    ) -> Trial:
        """Record a trial's outcome, once (finishing a finished trial is an error); returns the record.
        `error` is the older name of `reason`."""
        if error is not None:
            if reason is not None and reason != error:
                raise CodesignError(f"trial {number}: give the reason once (reason= or error=), not both")
            reason = error
        if state not in FINISHED:
            raise CodesignError(f"trial {number}: finish state must be one of {FINISHED}, got {state!r}")
        if state == "complete" and not values:
            raise CodesignError(f"trial {number}: a complete trial needs objective values")
        values_d = _number_dict(values, f"trial {number} values", finite=(state == "complete"))
        timings_d = _number_dict(timings, f"trial {number} timings", finite=False)
        if metrics is not None and not isinstance(metrics, dict):
            raise CodesignError(f"trial {number}: metrics must be a dict, got {type(metrics).__name__}")
        if counts is not None and not isinstance(counts, dict):
            raise CodesignError(f"trial {number}: counts must be a dict (ActivityCounts.to_dict()), got {type(counts).__name__}")
        if artifact_path is not None:
            artifact_path = os.fspath(artifact_path)
            if os.path.isabs(artifact_path):
                root = self.artifact_root
                where = f"the study's artifact folder {root}" if root is not None else "the study's artifact folder"
                raise CodesignError(f"trial {number}: artifact_path {artifact_path!r} must be relative to {where}")
        fields = {
            "values": to_json(values_d, f"trial {number} values"),
            "metrics": to_json(metrics or {}, f"trial {number} metrics"),
            "counts": None if counts is None else to_json(counts, f"trial {number} counts"),
            "timings": to_json(timings_d, f"trial {number} timings"),
            "error": None if reason is None else str(reason),
            "artifact_path": artifact_path,
            "finished_at": time.time(),
        }
        self._move(int(number), state, fields, f"finish it as {state}")
        return self.trial(number)

    def recover_interrupted(self, policy: str = "requeue") -> list[int]:
        """Deal with trials a stopped sweep left pending/running; returns their numbers.

        "requeue": running -> pending (a later ask re-runs them with the same params);
        "fail": pending and running -> failed with INTERRUPTED_ERROR. Nothing stays running.
        """
        if policy not in RECOVERY_POLICIES:
            raise CodesignError(f"recovery policy {policy!r} is not one of {RECOVERY_POLICIES}")
        return self._recover(policy)

    def trials(self, states: Iterable[str] | str | None = None) -> list[Trial]:
        """All trials (or those in `states`), ordered by number."""
        if states is not None:
            states = [states] if isinstance(states, str) else list(states)
            for state in states:
                check_state(state)
            if not states:
                return []
        trials = []
        for row in self._rows(states):
            try:
                trials.append(decode_row(row))
            except DamagedRowError:
                continue  # reported by damaged_rows(); the rest of the study stays usable
        return trials

    def damaged_rows(self) -> list[DamagedRowError]:
        """The stored trials that cannot be read back (`trials()` leaves them out), each naming its field."""
        damaged = []
        for row in self._rows(None):
            try:
                decode_row(row)
            except DamagedRowError as error:
                damaged.append(error)
        return damaged

    def trial(self, number: int) -> Trial:
        if isinstance(number, bool) or not isinstance(number, numbers.Integral) or not 0 <= number < 2**63:
            raise CodesignError(f"study {self.where} has no trial number {number!r} (trial numbers count from 0)")
        row = self._row(int(number))
        if row is None:
            raise CodesignError(f"study {self.where} has no trial number {number}")
        return decode_row(row)

    def counts_by_state(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for row in self._rows(None):
            if row["state"] in out:
                out[row["state"]] += 1
        return out

    def __len__(self) -> int:
        return len(self._rows(None))

    def trial_seed(self, number: int) -> int:
        """The seed trial `number` runs with (recorded when the trial is added)."""
        return derive_trial_seed(self.seed, number)

    # ------------------------------------------------------------------ notes
    def set_note(self, key: str, value: Any) -> None:
        """A small JSON value kept with the study (e.g. a cached Pareto front)."""
        self._put_note(str(key), to_json(value, f"study note {key!r}"))

    def get_note(self, key: str, default: Any = None) -> Any:
        text = self._note(str(key))
        return default if text is None else json.loads(text)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Release what the study holds (a file connection); nothing to do by default."""
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def artifact_root(self) -> Path | None:
        """Where trial artifacts live (artifact paths are relative to it), if anywhere."""
        return None

    def _refuse_duplicate(self, number: int):
        raise CodesignError(f"study {self.where}: trial number {number} already exists")

    def _refuse_move(self, number: int, current: str | None, action: str, allowed: tuple[str, ...]):
        if current is None:
            raise CodesignError(f"study {self.where} has no trial number {number}")
        raise CodesignError(f"trial {number} is {current}, cannot {action} (it must be {' or '.join(allowed)})")

    # ------------------------------------------------------------------ what an implementation provides
    @property
    @abstractmethod
    def where(self) -> str:
        """How messages name this study (its file, or that it lives in memory)."""

    @abstractmethod
    def _insert(self, fields: dict, number: int | None, seed: int | None) -> int:
        """Store a new row (`fields` plus number and seed) in one step: the next number when
        `number` is None, else refuse an existing one; seed None -> `trial_seed(number)`."""

    @abstractmethod
    def _move(self, number: int, state: str, fields: dict, action: str) -> None:
        """Set `state` and `fields` on trial `number` in one step if it is in `sources(state)`,
        else `_refuse_move`."""

    @abstractmethod
    def _recover(self, policy: str) -> list[int]:
        """`recover_interrupted` in one step."""

    @abstractmethod
    def _rows(self, states: list[str] | None) -> list[Mapping[str, Any]]:
        """Stored rows (COLUMNS) in `states` (all when None), ordered by number."""

    @abstractmethod
    def _row(self, number: int) -> Mapping[str, Any] | None: ...

    @abstractmethod
    def _put_note(self, key: str, text: str) -> None: ...

    @abstractmethod
    def _note(self, key: str) -> str | None: ...


__all__ = ["COLUMNS", "DamagedRowError", "INTERRUPTED_ERROR", "RECOVERY_POLICIES", "StudyStorage", "decode_row", "derive_trial_seed"]
