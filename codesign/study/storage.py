"""Studies in a SQLite file: one study per file, every write one transaction.

Why SQLite: a sweep can be killed at any moment (SIGKILL, OOM killer, a lost node) and must
resume from what it had. The file is in WAL mode with ``synchronous=FULL`` and every change
is a single ``BEGIN IMMEDIATE ... COMMIT``, so a committed trial survives a kill and a
half-written one never becomes visible. Several processes may open the same file (SQLite
serializes the writers); trial numbers are assigned inside the write transaction.

The schema is versioned in the ``meta`` table. Opening a file written by a newer version of
the code is refused; an older one is upgraded through ``MIGRATIONS`` (one step per version,
in the same transaction as the version bump).

Identity of a study is its config hash (`codesign.study.identity`): the same config and seed
resume the study, a different one is refused.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from codesign.errors import CodesignError
from codesign.study.base import COLUMNS, INTERRUPTED_ERROR, StudyStorage
from codesign.study.codec import to_json
from codesign.study.identity import (
    CONFIG_HASH_EXCLUDED_KEYS,
    StudyMismatchError,
    config_differences,
    config_hash,
)
from codesign.study.trial import STATES, sources

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_SQLITE_MAGIC = b"SQLite format 3\x00"
_NOTE_PREFIX = "note:"
_BUSY_TIMEOUT_MS = 30_000

# MIGRATIONS[v] upgrades a file at schema version v to v + 1 (runs inside a transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {}

# the file format of version 1 (its CHECK lists codesign.study.trial.STATES; a new state needs a migration)
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

_COLUMN_LIST = ", ".join(f'"{c}"' for c in COLUMNS)


def _marks(items) -> str:
    return ",".join("?" * len(items))


class SQLiteStudy(StudyStorage):
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
        except (KeyError, ValueError, TypeError, RecursionError) as exc:
            conn.close()
            raise CodesignError(f"{self.path}: study metadata is damaged ({exc!r} in table meta)") from None
        if not isinstance(self.config, dict) or not isinstance(self.name, str):
            conn.close()
            raise CodesignError(f"{self.path}: study metadata is damaged (the stored config must be a JSON object, "
                                f"found {type(self.config).__name__})")
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
    def create(cls, path, *, config: dict, seed: int, name: str | None = None) -> "SQLiteStudy":
        """A new study file; refuses to touch an existing one.

        Built under a temporary name and linked into place, so a kill mid-create leaves
        either no study or a whole one.
        """
        path = Path(path)
        _check_new_study_path(path)
        meta = _initial_meta(config, seed, name if name is not None else path.stem)
        tmp = path.with_name(f".{path.name}.creating-{os.getpid()}-{threading.get_ident()}")
        try:
            _write_study_file(tmp, meta)
            _link_into_place(tmp, path)
        finally:
            for p in [tmp, *_sidecars(tmp)]:
                p.unlink(missing_ok=True)
        _fsync_dir(path.parent)
        study = cls.open(path)
        study.open_note = f"created study {study.name!r} in {path}"
        return study

    @classmethod
    def open(cls, path) -> "SQLiteStudy":
        """An existing study; refuses missing files, non-studies and newer schemas."""
        path = Path(path)
        _check_is_sqlite_file(path)
        try:
            conn = cls._connect(path)
        except sqlite3.Error as exc:
            raise CodesignError(f"study file {path} cannot be opened: {exc}") from None
        try:
            version = _schema_version(conn, path)
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
    ) -> "SQLiteStudy":
        """Resume the study at `path` if it is the same study, else refuse (or replace with force_new).

        Same config hash and seed -> resume; a changed budget is written back into the stored
        config. Different -> StudyMismatchError naming the differing top-level keys. With
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
            raise StudyMismatchError(
                f"study file {path} holds a different study ({' and '.join(diffs)} differ from the stored study)"
            )
        note = f"resumed study {study.name!r} in {path} ({len(study)} trials)"
        if to_json(study.config, "study config", canonical=True) != to_json(config, "study config", canonical=True):
            with study._write() as conn:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'config'", (to_json(config, "study config"),))
            study.config = json.loads(to_json(config, "study config"))
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

    def __len__(self) -> int:
        with self._lock:
            return self._conn_or_raise().execute("SELECT COUNT(*) FROM trials").fetchone()[0]

    def __repr__(self) -> str:
        return f"SQLiteStudy(name={self.name!r}, path={str(self.path)!r}, seed={self.seed})"

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def artifact_root(self) -> Path:
        return _artifact_dir_for(self.path)

    @property
    def artifact_dir(self) -> Path:
        """``<study path without suffix>_artifacts/``, created on first use."""
        d = _artifact_dir_for(self.path)
        d.mkdir(parents=True, exist_ok=True)
        return d

    def artifact_file(self, artifact_path: str) -> Path:
        """The absolute path of a trial's artifact (stored relative to artifact_dir)."""
        return _artifact_dir_for(self.path) / artifact_path

    def counts_by_state(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        with self._lock, self._readable():
            for state, n in self._conn_or_raise().execute("SELECT state, COUNT(*) FROM trials GROUP BY state"):
                out[state] = n
        return out

    # ------------------------------------------------------------------ rows
    def _insert(self, fields: dict, number: int | None, seed: int | None) -> int:
        with self._write() as conn:
            if number is None:
                number = conn.execute("SELECT COALESCE(MAX(number) + 1, 0) FROM trials").fetchone()[0]
            elif conn.execute("SELECT 1 FROM trials WHERE number = ?", (number,)).fetchone():
                self._refuse_duplicate(number)
            row = {**fields, "number": number, "seed": self.trial_seed(number) if seed is None else seed}
            conn.execute(f"INSERT INTO trials ({_COLUMN_LIST}) VALUES ({_marks(COLUMNS)})",
                         [row[c] for c in COLUMNS])
        return number

    def _move(self, number: int, state: str, fields: dict, action: str) -> None:
        allowed = sources(state)
        assignments = ", ".join(f'"{column}" = ?' for column in fields)
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE trials SET state = ?, {assignments} WHERE number = ? AND state IN ({_marks(allowed)})",
                (state, *fields.values(), number, *allowed),
            )
            if cur.rowcount != 1:
                row = conn.execute("SELECT state FROM trials WHERE number = ?", (number,)).fetchone()
                self._refuse_move(number, None if row is None else row[0], action, allowed)

    def _recover(self, policy: str) -> list[int]:
        with self._write() as conn:
            numbers = [r[0] for r in conn.execute(
                "SELECT number FROM trials WHERE state IN ('pending', 'running') ORDER BY number")]
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

    def _rows(self, states: list[str] | None) -> list[Mapping[str, Any]]:
        query = f"SELECT {_COLUMN_LIST} FROM trials"
        if states is not None:
            query += f" WHERE state IN ({_marks(states)})"
        with self._lock, self._readable():
            rows = self._conn_or_raise().execute(query + " ORDER BY number", states or ()).fetchall()
        return [dict(zip(COLUMNS, r)) for r in rows]

    def _row(self, number: int) -> Mapping[str, Any] | None:
        with self._lock, self._readable():
            r = self._conn_or_raise().execute(
                f"SELECT {_COLUMN_LIST} FROM trials WHERE number = ?", (number,)).fetchone()
        return None if r is None else dict(zip(COLUMNS, r))

    @contextlib.contextmanager
    def _readable(self):
        """A file damaged below the rows (a torn page, a dropped column) names the study file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise CodesignError(f"study file {self.path} cannot be read: {exc}") from None

    def _put_note(self, key: str, text: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_NOTE_PREFIX + key, text))

    def _note(self, key: str) -> str | None:
        with self._lock:
            row = self._conn_or_raise().execute(
                "SELECT value FROM meta WHERE key = ?", (_NOTE_PREFIX + key,)).fetchone()
        return None if row is None else row[0]


Study = SQLiteStudy  # the name callers open study files by


class _Transaction:
    """``with study._write() as conn``: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any error."""

    def __init__(self, study: SQLiteStudy):
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


# ---------------------------------------------------------------------------------------
# creating a file: check the path, write the file under a temporary name, link it into place


def _check_new_study_path(path: Path) -> None:
    if path.exists():
        raise CodesignError(f"study file {path} already exists")
    if not path.parent.is_dir():
        raise CodesignError(f"directory for study file {path} does not exist: {path.parent}")


def _initial_meta(config: dict, seed: Any, name: str) -> dict[str, str]:
    """The meta rows of a new study, as stored text (the config hash checks the config first)."""
    if isinstance(seed, bool) or not isinstance(seed, int) and not hasattr(seed, "__index__"):
        raise CodesignError(f"study seed must be an integer, got {seed!r}")
    chash = config_hash(config)
    return {
        "schema_version": json.dumps(SCHEMA_VERSION),
        "name": json.dumps(name),
        "seed": json.dumps(int(seed)),
        "config": to_json(config, "study config"),
        "config_hash": json.dumps(chash),
        "created_at": json.dumps(time.time()),
    }


def _write_study_file(tmp: Path, meta: dict[str, str]) -> None:
    """A complete study file (schema and meta, one transaction, WAL checkpointed) at `tmp`."""
    for p in [tmp, *_sidecars(tmp)]:
        p.unlink(missing_ok=True)
    conn = SQLiteStudy._connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("BEGIN IMMEDIATE")
        for stmt in _SCHEMA_V1.strip().split(";"):  # executescript() would COMMIT early
            if stmt.strip():
                conn.execute(stmt)
        for key, text in meta.items():
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, text))
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _link_into_place(tmp: Path, path: Path) -> None:
    """`tmp` appears at `path` whole, unless something got there first."""
    try:
        os.link(tmp, path)  # fails if someone created `path` meanwhile
    except FileExistsError:
        raise CodesignError(f"study file {path} already exists (created concurrently)") from None
    except OSError:
        if path.exists():
            raise CodesignError(f"study file {path} already exists") from None
        os.replace(tmp, path)  # filesystems without hard links


# ---------------------------------------------------------------------------------------
# opening a file: is it SQLite, is it a study, which schema version


def _check_is_sqlite_file(path: Path) -> None:
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


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version; refuses non-studies and versions newer than this code's."""
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
    return version


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


# ---------------------------------------------------------------------------------------
# files next to a study


def _artifact_dir_for(path: Path) -> Path:
    return path.with_name(path.stem + "_artifacts")


def _backup_path(path: Path, stamp: str) -> Path:
    candidate = path.with_name(f"{path.name}.{stamp}.bak")
    i = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{stamp}.bak{i}")
        i += 1
    return candidate


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal")]


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
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLiteStudy",
    "Study",
    "StudyMismatchError",
    "config_differences",
    "config_hash",
]
