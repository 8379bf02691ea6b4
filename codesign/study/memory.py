"""A study held in memory: the notebook's ask/tell without a file, with the SQLite study's rules.

Rows are kept in their stored form (JSON text), so a trial read back is what the SQLite study
would return for the same writes, and nobody outside can change the history by editing a
returned dict.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Mapping

from codesign.errors import CodesignError
from codesign.study.base import INTERRUPTED_ERROR, StudyStorage
from codesign.study.identity import config_hash
from codesign.study.trial import FAILED, PENDING, RUNNING, UNFINISHED, sources


class InMemoryStudy(StudyStorage):
    """A study that lives as long as the object; same methods and refusals as the SQLite one."""

    def __init__(self, *, seed: int = 0, name: str = "in-memory", config: dict | None = None):
        if isinstance(seed, bool) or not hasattr(seed, "__index__") or int(seed) < 0:
            raise CodesignError(f"study seed must be a non-negative integer, got {seed!r}")
        self.name = str(name)
        self.seed = int(seed)
        self.config = dict(config or {})
        self.config_hash = config_hash(self.config)
        self._rows_by_number: dict[int, dict] = {}
        self._notes: dict[str, str] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"InMemoryStudy(name={self.name!r}, seed={self.seed}, trials={len(self)})"

    @property
    def where(self) -> str:
        return f"{self.name!r} (in memory)"

    def _insert(self, fields: dict, number: int | None, seed: int | None) -> int:
        with self._lock:
            if number is None:
                number = max(self._rows_by_number, default=-1) + 1
            elif number in self._rows_by_number:
                self._refuse_duplicate(number)
            self._rows_by_number[number] = {**fields, "number": number,
                                            "seed": self.trial_seed(number) if seed is None else seed}
        return number

    def _move(self, number: int, state: str, fields: dict, action: str) -> None:
        allowed = sources(state)
        with self._lock:
            row = self._rows_by_number.get(number)
            if row is None or row["state"] not in allowed:
                self._refuse_move(number, None if row is None else row["state"], action, allowed)
            row.update(fields, state=state)

    def _recover(self, policy: str) -> list[int]:
        with self._lock:
            numbers = [n for n, row in sorted(self._rows_by_number.items()) if row["state"] in UNFINISHED]
            now = time.time()
            for n in numbers:
                row = self._rows_by_number[n]
                if policy == "requeue" and row["state"] == RUNNING:
                    row.update(state=PENDING, started_at=None, worker=None)
                elif policy == "fail":
                    row.update(state=FAILED, error=INTERRUPTED_ERROR, finished_at=now)
        return numbers

    def _rows(self, states: list[str] | None) -> list[Mapping[str, Any]]:
        with self._lock:
            return [dict(row) for _, row in sorted(self._rows_by_number.items())
                    if states is None or row["state"] in states]

    def _row(self, number: int) -> Mapping[str, Any] | None:
        with self._lock:
            row = self._rows_by_number.get(number)
            return None if row is None else dict(row)

    def _put_note(self, key: str, text: str) -> None:
        with self._lock:
            self._notes[key] = text

    def _note(self, key: str) -> str | None:
        with self._lock:
            return self._notes.get(key)


__all__ = ["InMemoryStudy"]
