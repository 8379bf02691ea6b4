"""Studies in a SQLite file: one study per file, every write one transaction.

Why SQLite: a sweep can be killed at any moment (SIGKILL, OOM killer, a lost node) and must
resume from what it had. The file is in WAL mode with ``synchronous=FULL`` and every change
is a single ``BEGIN IMMEDIATE ... COMMIT``, so a committed trial survives a kill and a
half-written one never becomes visible. Several processes may open the same file (SQLite
serializes the writers); trial numbers are assigned inside the write transaction.

The schema is versioned in the ``meta`` table. Opening a file written by a newer version of
the code is refused; an older one is upgraded through ``MIGRATIONS`` (one step per version,
in the same transaction as the version bump).

Identity of a study is its config hash: sha256 of the canonical JSON of the config without
the top-level keys in ``CONFIG_HASH_EXCLUDED_KEYS`` ("budget": more trials or a longer
timeout continue the same study, they do not start a new one).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from codesign.errors import CodesignError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
TRIAL_STATES = ("pending", "running", "complete", "failed", "infeasible", "pruned")
FINISHED_STATES = ("complete", "failed", "infeasible", "pruned")
UNFINISHED_STATES = ("pending", "running")
RECOVERY_POLICIES = ("requeue", "fail")
INTERRUPTED_ERROR = "interrupted (sweep stopped while this trial ran)"

# Top-level config keys that do not change what a study *is*: changing them resumes.
CONFIG_HASH_EXCLUDED_KEYS = ("budget",)

_SQLITE_MAGIC = b"SQLite format 3\x00"
_NOTE_PREFIX = "note:"
_BUSY_TIMEOUT_MS = 30_000

# MIGRATIONS[v] upgrades a file at schema version v to v + 1 (runs inside a transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}

_SCHEMA_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE trials (
    number        INTEGER PRIMARY KEY,
    state         TEXT    NOT NULL CHECK (state IN ('pending','running','complete','failed','infeasible','pruned')),
    params        TEXT    NOT NULL,
    "values"      TEXT    NOT NULL DEFAULT '{}',
    metrics       TEXT    NOT NULL DEFAULT '{}',
    counts        TEXT,
    timings       TEXT    NOT NULL DEFAULT '{}',
    seed          INTEGER NOT NULL,
    error         TEXT,
    artifact_path TEXT,
    worker        TEXT,
    created_at    REAL    NOT NULL,
    started_at    REAL,
    finished_at   REAL
);
CREATE INDEX trials_by_state ON trials (state);
"""

_TRIAL_COLUMNS = (
    'number, state, params, "values", metrics, counts, timings, seed, error, '
    "artifact_path, worker, created_at, started_at, finished_at"
)


@dataclass(frozen=True)
class StoredTrial:
    """One trial as stored; JSON columns already decoded."""

    number: int
    state: str
    params: dict
    values: dict
    metrics: dict
    counts: dict | None
    timings: dict
    seed: int
    error: str | None
    artifact_path: str | None
    worker: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


# ---------------------------------------------------------------------------------------
# JSON and hashing


def _json_default(obj: Any) -> Any:
    # numpy scalars/arrays and torch tensors without importing either
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _dumps(obj: Any, what: str, *, canonical: bool = False) -> str:
    try:
        if canonical:
            return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_default)
        return json.dumps(obj, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise CodesignError(f"{what} cannot be stored as JSON: {exc}") from None


def _hashed_part(config: dict) -> dict:
    return {k: v for k, v in config.items() if k not in CONFIG_HASH_EXCLUDED_KEYS}


def config_hash(config: dict) -> str:
    """sha256 of the canonical JSON of `config` without CONFIG_HASH_EXCLUDED_KEYS."""
    if not isinstance(config, dict):
        raise CodesignError(f"study config must be a dict, got {type(config).__name__}")
    text = _dumps(_hashed_part(config), "study config", canonical=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_differences(old: dict, new: dict) -> list[str]:
    """Top-level keys (outside the excluded ones) whose canonical JSON differs."""
    a, b = _hashed_part(old), _hashed_part(new)
    diff = []
    for key in sorted(set(a) | set(b), key=str):
        if key not in a or key not in b:
            diff.append(key)
        elif _dumps(a[key], key, canonical=True) != _dumps(b[key], key, canonical=True):
            diff.append(key)
    return diff


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


def _backup_path(path: Path, stamp: str) -> Path:
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    i = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}.bak{i}")
        i += 1
    return candidate


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]


# ---------------------------------------------------------------------------------------
# Study


class Study:
    """A study held in one SQLite file; see the module docstring for durability rules.

    ``open_note`` says how the study was obtained ("created", "resumed ...", "moved the old
    study aside to ..."); ``backup_path`` is set when ``force_new`` moved a file aside.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection):
        # use create/open/open_or_create
        self.path = Path(path)
        self._conn = conn
        self._lock = threading.RLock()
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        try:
            self.name: str = json.loads(meta["name"])
            self.seed: int = int(json.loads(meta["seed"]))
            self.config: dict = json.loads(meta["config"])
            self.config_hash: str = json.loads(meta["config_hash"])
        except (KeyError, ValueError) as exc:
            conn.close()
            raise CodesignError(f"{self.path}: study metadata is damaged ({exc!r} in table meta)") from None
        self.open_note: str | None = None
        self.backup_path: Path | None = None

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        return conn

    @classmethod
    def create(cls, path, *, config: dict, seed: int, name: str | None = None) -> "Study":
        """A new study file; refuses to touch an existing one.

        Built under a temporary name and linked into place, so a kill mid-create leaves
        either no study or a whole one.
        """
        path = Path(path)
        if path.exists():
            raise CodesignError(f"study file {path} already exists (open it, or pass --force-new to replace it)")
        if not path.parent.is_dir():
            raise CodesignError(f"directory for study file {path} does not exist: {path.parent}")
        if isinstance(seed, bool) or not isinstance(seed, int) and not hasattr(seed, "__index__"):
            raise CodesignError(f"study seed must be an integer, got {seed!r}")
        seed = int(seed)
        chash = config_hash(config)
        config_text = _dumps(config, "study config")
        name = name if name is not None else path.stem
        now = time.time()

        tmp = path.with_name(f".{path.name}.creating-{os.getpid()}-{threading.get_ident()}")
        for p in [tmp, *_sidecars(tmp)]:
            p.unlink(missing_ok=True)
        try:
            conn = cls._connect(tmp)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("BEGIN IMMEDIATE")
                for stmt in _SCHEMA_V1.strip().split(";"):  # executescript() would COMMIT early
                    if stmt.strip():
                        conn.execute(stmt)
                rows = {
                    "schema_version": SCHEMA_VERSION,
                    "name": name,
                    "seed": seed,
                    "config": None,  # raw text below
                    "config_hash": chash,
                    "created_at": now,
                }
                for key, value in rows.items():
                    text = config_text if key == "config" else json.dumps(value)
                    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, text))
                conn.execute("COMMIT")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            try:
                os.link(tmp, path)  # fails if someone created `path` meanwhile
            except FileExistsError:
                raise CodesignError(f"study file {path} already exists (created concurrently)") from None
            except OSError:
                if path.exists():
                    raise CodesignError(f"study file {path} already exists") from None
                os.replace(tmp, path)  # filesystems without hard links
        finally:
            for p in [tmp, *_sidecars(tmp)]:
                p.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        study = cls.open(path)
        study.open_note = f"created study {study.name!r} in {path}"
        return study

    @classmethod
    def open(cls, path) -> "Study":
        """An existing study; refuses missing files, non-studies and newer schemas."""
        path = Path(path)
        if not path.exists():
            raise CodesignError(f"study file {path} does not exist")
        if not path.is_file():
            raise CodesignError(f"study file {path} is not a file")
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise CodesignError(f"study file {path} cannot be read: {exc}") from None
        if head != _SQLITE_MAGIC:
            raise CodesignError(f"{path} is not a SQLite file (so not a study)")
        try:
            conn = cls._connect(path)
        except sqlite3.Error as exc:
            raise CodesignError(f"study file {path} cannot be opened: {exc}") from None
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"meta", "trials"} <= tables:
                raise CodesignError(f"{path} is a SQLite file but not a study (no meta/trials tables)")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                raise CodesignError(f"{path} is a SQLite file but not a study (no schema_version in meta)")
            try:
                version = int(json.loads(row[0]))
            except (ValueError, TypeError):
                raise CodesignError(f"{path}: schema_version {row[0]!r} is not an integer") from None
            if version > SCHEMA_VERSION:
                raise CodesignError(
                    f"study file {path} has schema version {version}, newer than this code's "
                    f"{SCHEMA_VERSION}: upgrade neuro-codesign to open it"
                )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            if version < SCHEMA_VERSION:
                _migrate(conn, path, version)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CodesignError(f"{path} is not a readable study ({exc})") from None
        except BaseException:
            conn.close()
            raise
        study = cls(path, conn)
        study.open_note = f"opened study {study.name!r} in {path}"
        return study

    @classmethod
    def open_or_create(
        cls, path, *, config: dict, seed: int, name: str | None = None, force_new: bool = False
    ) -> "Study":
        """Resume the study at `path` if it is the same study, else refuse (or replace with force_new).

        Same config hash and seed -> resume; a changed budget is written back into the stored
        config. Different -> CodesignError naming the differing top-level keys. With
        ``force_new`` the old file and its artifact directory are renamed to
        ``<name>.<UTC timestamp>.bak`` (see ``backup_path`` / ``open_note``) first.
        """
        path = Path(path)
        new_hash = config_hash(config)
        if not path.exists():
            return cls.create(path, config=config, seed=seed, name=name)
        if force_new:
            backup, moved = cls._move_aside(path)
            study = cls.create(path, config=config, seed=seed, name=name)
            study.backup_path = backup
            study.open_note = f"moved the old study aside to {', '.join(str(m) for m in moved)}; created a new one in {path}"
            log.warning(study.open_note)
            return study
        study = cls.open(path)
        diffs = []
        if study.config_hash != new_hash:
            keys = config_differences(study.config, config)
            diffs.append(f"config keys {', '.join(map(repr, keys))}" if keys else "the config hash")
        if int(seed) != study.seed:
            diffs.append(f"the seed ({study.seed} stored, {int(seed)} given)")
        if diffs:
            study.close()
            raise CodesignError(
                f"study file {path} holds a different study ({' and '.join(diffs)} differ from the stored "
                "study); pass --force-new to move the old study aside and start a new one, or use another "
                "study path"
            )
        note = f"resumed study {study.name!r} in {path} ({len(study)} trials)"
        if _dumps(study.config, "study config", canonical=True) != _dumps(config, "study config", canonical=True):
            with study._write() as conn:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (_dumps(config, "study config"),))
            study.config = json.loads(_dumps(config, "study config"))
            note += "; budget updated"
        study.open_note = note
        log.info(note)
        return study

    @staticmethod
    def _move_aside(path: Path) -> tuple[Path, list[Path]]:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        backup = _backup_path(path, stamp)
        moved = [backup]
        os.replace(path, backup)
        for side in _sidecars(path):
            if side.exists():
                os.replace(side, backup.with_name(backup.name + side.name[len(path.name):]))
        art = _artifact_dir_for(path)
        if art.exists():
            art_backup = _backup_path(art, stamp)
            os.replace(art, art_backup)
            moved.append(art_backup)
        return backup, moved

    # ------------------------------------------------------------------ plumbing
    def _write(self):
        return _Transaction(self)

    def _conn_or_raise(self) -> sqlite3.Connection:
        if self._conn is None:
            raise CodesignError(f"study {self.path} is closed")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "Study":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        with self._lock:
            return self._conn_or_raise().execute("SELECT COUNT(*) FROM trials").fetchone()[0]

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, path={str(self.path)!r}, seed={self.seed})"

    @property
    def artifact_dir(self) -> Path:
        """``<study path without suffix>_artifacts/``, created on first use."""
        d = _artifact_dir_for(self.path)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def artifact_file(self, artifact_path: str) -> Path:
        """The absolute path of a trial's artifact (stored relative to artifact_dir)."""
        return _artifact_dir_for(self.path) / artifact_path

    # ------------------------------------------------------------------ trials
    def add_trial(self, params: dict, *, seed: int, state: str = "pending") -> int:
        """Record an asked trial; returns its number (0, 1, 2, ... in ask order)."""
        if state not in UNFINISHED_STATES:
            raise CodesignError(f"a new trial's state must be one of {UNFINISHED_STATES}, got {state!r} (use finish())")
        if not isinstance(params, dict):
            raise CodesignError(f"trial params must be a dict, got {type(params).__name__}")
        params_text = _dumps(params, "trial params")
        now = time.time()
        with self._write() as conn:
            number = conn.execute("SELECT COALESCE(MAX(number) + 1, 0) FROM trials").fetchone()[0]
            conn.execute(
                "INSERT INTO trials (number, state, params, seed, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (number, state, params_text, int(seed), now, now if state == "running" else None),
            )
        return number

    def mark_running(self, number: int, worker: str | None = None) -> None:
        """pending -> running (records the start time and the worker)."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE trials SET state = 'running', started_at = ?, worker = ? WHERE number = ? AND state = 'pending'",
                (time.time(), worker, int(number)),
            )
            if cur.rowcount != 1:
                self._explain_missing(conn, number, "mark it running", "pending")

    def finish(
        self,
        number: int,
        state: str,
        *,
        values: dict | None = None,
        metrics: dict | None = None,
        counts: dict | None = None,
        timings: dict | None = None,
        error: str | None = None,
        artifact_path: str | None = None,
    ) -> None:
        """Record a trial's outcome, once; finishing a finished trial is an error."""
        if state not in FINISHED_STATES:
            raise CodesignError(f"trial {number}: finish state must be one of {FINISHED_STATES}, got {state!r}")
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
                raise CodesignError(
                    f"trial {number}: artifact_path {artifact_path!r} must be relative to {_artifact_dir_for(self.path)}"
                )
        row = (
            state,
            _dumps(values_d, f"trial {number} values"),
            _dumps(metrics or {}, f"trial {number} metrics"),
            None if counts is None else _dumps(counts, f"trial {number} counts"),
            _dumps(timings_d, f"trial {number} timings"),
            None if error is None else str(error),
            artifact_path,
            time.time(),
            int(number),
        )
        with self._write() as conn:
            cur = conn.execute(
                'UPDATE trials SET state = ?, "values" = ?, metrics = ?, counts = ?, timings = ?, error = ?, '
                "artifact_path = ?, finished_at = ? WHERE number = ? AND state IN ('pending', 'running')",
                row,
            )
            if cur.rowcount != 1:
                self._explain_missing(conn, number, f"finish it as {state}", "pending or running")

    def recover_interrupted(self, policy: str = "requeue") -> list[int]:
        """Deal with trials a killed sweep left pending/running; returns their numbers.

        "requeue": running -> pending (a later ask re-runs them with the same params);
        "fail": pending and running -> failed with INTERRUPTED_ERROR. Nothing stays running.
        """
        if policy not in RECOVERY_POLICIES:
            raise CodesignError(f"recovery policy {policy!r} is not one of {RECOVERY_POLICIES}")
        with self._write() as conn:
            numbers = [
                r[0]
                for r in conn.execute(
                    "SELECT number FROM trials WHERE state IN ('pending', 'running') ORDER BY number"
                )
            ]
            if policy == "requeue":
                conn.execute(
                    "UPDATE trials SET state = 'pending', started_at = NULL, worker = NULL WHERE state = 'running'"
                )
            else:
                conn.execute(
                    "UPDATE trials SET state = 'failed', error = ?, finished_at = ? "
                    "WHERE state IN ('pending', 'running')",
                    (INTERRUPTED_ERROR, time.time()),
                )
        return numbers

    def trials(self, states: Iterable[str] | None = None) -> list[StoredTrial]:
        """All trials (or those in `states`), ordered by number."""
        with self._lock:
            conn = self._conn_or_raise()
            if states is None:
                rows = conn.execute(f"SELECT {_TRIAL_COLUMNS} FROM trials ORDER BY number").fetchall()
            else:
                if isinstance(states, str):
                    states = [states]
                states = list(states)
                for s in states:
                    if s not in TRIAL_STATES:
                        raise CodesignError(f"trial state {s!r} is not one of {TRIAL_STATES}")
                if not states:
                    return []
                marks = ",".join("?" * len(states))
                rows = conn.execute(
                    f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE state IN ({marks}) ORDER BY number", states
                ).fetchall()
        return [_row_to_trial(r) for r in rows]

    def trial(self, number: int) -> StoredTrial:
        with self._lock:
            row = self._conn_or_raise().execute(
                f"SELECT {_TRIAL_COLUMNS} FROM trials WHERE number = ?", (int(number),)
            ).fetchone()
        if row is None:
            raise CodesignError(f"study {self.path} has no trial number {number}")
        return _row_to_trial(row)

    def counts_by_state(self) -> dict[str, int]:
        out = dict.fromkeys(TRIAL_STATES, 0)
        with self._lock:
            for state, n in self._conn_or_raise().execute("SELECT state, COUNT(*) FROM trials GROUP BY state"):
                out[state] = n
        return out

    # ------------------------------------------------------------------ notes
    def set_note(self, key: str, value: Any) -> None:
        """A small JSON value kept with the study (e.g. a cached Pareto front)."""
        text = _dumps(value, f"study note {key!r}")
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_NOTE_PREFIX + str(key), text))

    def get_note(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._conn_or_raise().execute(
                "SELECT value FROM meta WHERE key = ?", (_NOTE_PREFIX + str(key),)
            ).fetchone()
        return default if row is None else json.loads(row[0])

    # ------------------------------------------------------------------ helpers
    def _explain_missing(self, conn, number, action: str, needed: str):
        row = conn.execute("SELECT state FROM trials WHERE number = ?", (int(number),)).fetchone()
        if row is None:
            raise CodesignError(f"study {self.path} has no trial number {number}")
        raise CodesignError(f"trial {number} is {row[0]}, cannot {action} (it must be {needed})")


class _Transaction:
    """``with study._write() as conn``: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error."""

    def __init__(self, study: Study):
        self.study = study

    def __enter__(self) -> sqlite3.Connection:
        self.study._lock.acquire()
        try:
            conn = self.study._conn_or_raise()
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.study._lock.release()
            raise
        self.conn = conn
        return conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.conn.execute("COMMIT")
            elif self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:  # keep the original error, not the rollback's
                    pass
        finally:
            self.study._lock.release()


def _row_to_trial(r) -> StoredTrial:
    return StoredTrial(
        number=r[0],
        state=r[1],
        params=json.loads(r[2]),
        values=json.loads(r[3]),
        metrics=json.loads(r[4]),
        counts=None if r[5] is None else json.loads(r[5]),
        timings=json.loads(r[6]),
        seed=r[7],
        error=r[8],
        artifact_path=r[9],
        worker=r[10],
        created_at=r[11],
        started_at=r[12],
        finished_at=r[13],
    )


def _artifact_dir_for(path: Path) -> Path:
    return path.with_name(path.stem + "_artifacts")


def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> None:
    """Upgrade an older file step by step, each step in one transaction with its version bump."""
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise CodesignError(
                f"study file {path} has schema version {version} and no migration to {version + 1} exists"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(conn)
            conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (json.dumps(version + 1),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("migrated study %s from schema %d to %d", path, version, version + 1)
        version += 1


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


__all__ = [
    "CONFIG_HASH_EXCLUDED_KEYS",
    "FINISHED_STATES",
    "INTERRUPTED_ERROR",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TRIAL_STATES",
    "StoredTrial",
    "Study",
    "config_differences",
    "config_hash",
]
