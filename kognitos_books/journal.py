"""The run journal: what each run did, step by step, so a run can be resumed.

One SQLite file, ``runs.sqlite``, in the kbooks home (mode 0600). A step is written as
*started* (with its idempotency key) before its request goes out and as *succeeded* or
*failed* after, so after a crash the journal knows which steps took effect, which did not,
and which were in flight; re-sending an in-flight step with the same idempotency key lets the
service answer with its first result instead of acting twice. Credentials never go in here.

A run in progress holds an exclusive lock on ``locks/<run id>.lock`` in the same home. The
operating system drops the lock when the process ends, however it ends (even ``kill -9``),
so a run recorded as running whose lock is free is shown as *stopped*: the journal never
claims that a dead process is still working, and a run is never resumed twice at once.

Writes that need not be on disk before a request goes out (a run's start, a step's outcome)
wait and are committed together with the next step's *started*, or with the run's end, in one
transaction: one commit per step instead of two. A crash can lose only such a waiting
outcome, and then the step reads as in flight, which a resume re-sends with its idempotency
key: the service answers with its first result, so nothing is done twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from .credentials import ensure_private_dir
from .model import ConfigurationError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Unix: liveness is not known
    fcntl = None  # type: ignore[assignment]

JOURNAL_NAME = "runs.sqlite"
LOCK_DIR = "locks"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    text TEXT NOT NULL,
    connection TEXT,
    mode TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(id),
    row INTEGER NOT NULL,
    step INTEGER NOT NULL,
    line INTEGER NOT NULL,
    command TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL,
    noun TEXT,
    record_id TEXT,
    result TEXT,
    error TEXT,
    started REAL NOT NULL,
    finished REAL,
    PRIMARY KEY (run_id, row, step)
);
"""


@attrs.frozen
class RunInfo:
    """A run as the journal knows it.

    ``state``: ``running``, ``succeeded``, ``failed``, ``interrupted`` (stopped by Ctrl-C or
    an error of the host), or ``stopped`` (recorded as running, but no process runs it: it
    was killed, or the machine went down).
    """

    id: str
    source: str
    state: str
    started: float
    finished: float | None
    connection: str | None
    mode: str | None
    error: str | None
    steps_done: int
    steps_failed: int
    text: str = attrs.field(repr=False)
    options: dict[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.frozen
class StepInfo:
    """One step of one row of a run."""

    row: int
    step: int
    line: int
    command: str
    idempotency_key: str
    state: str
    noun: str | None
    record_id: str | None
    result: dict[str, Any] | None
    error: str | None


def new_run_id() -> str:
    return "run_" + uuid.uuid4().hex[:16]


def step_key(run_id: str, row: int, step: int) -> str:
    """The idempotency key of one step: stable across retries and resumes of that run."""
    return f"kbooks-{run_id}-r{row}-s{step}"


class Journal:
    """Reads and writes the run journal under ``home``."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / JOURNAL_NAME
        self._db: sqlite3.Connection | None = None
        # One connection shared by the threads of a concurrent run; SQLite calls are
        # serialized here.
        self._lock = threading.RLock()
        #: writes waiting for the next commit (see the module's docstring)
        self._waiting: list[tuple[str, tuple[Any, ...]]] = []
        self._locks_ready = False  # the lock directory was made private by this journal
        self._ended: dict[str, str] = {}  # how runs ended in this process, by id

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Run ``sql`` now (after any waiting writes, in the same transaction)."""
        with self._lock:
            if not self._waiting:
                return self.db.execute(sql, args).fetchall()
            waiting, self._waiting = self._waiting, []
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                for earlier, earlier_args in waiting:
                    db.execute(earlier, earlier_args)
                rows = db.execute(sql, args).fetchall()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return rows

    def _later(self, sql: str, args: tuple[Any, ...]) -> None:
        """Write ``sql`` with the next commit."""
        with self._lock:
            self._waiting.append((sql, args))

    def flush(self) -> None:
        """Commit the writes that are waiting."""
        with self._lock:
            if self._waiting:
                self._exec("SELECT 1")

    @property
    def db(self) -> sqlite3.Connection:
        with self._lock:
            return self._open()

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            ensure_private_dir(self.path.parent)
            fresh = not self.path.exists()
            if fresh:
                # Create the file with 0600 before SQLite opens it.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.chmod(side, 0o600)
        return self._db

    def close(self) -> None:
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    # ------------------------------------------------------------------ liveness

    def _lock_path(self, run_id: str) -> Path:
        return self.path.parent / LOCK_DIR / f"{run_id}.lock"

    @contextlib.contextmanager
    def hold(self, run_id: str) -> Iterator[None]:
        """Mark ``run_id`` as running in this process for the duration of the block.

        Raises :class:`ConfigurationError` when another process is running it.
        """
        if fcntl is None:  # pragma: no cover
            yield
            return
        path = self._lock_path(run_id)
        if not self._locks_ready:  # once: every run of a bulk loop passes here
            ensure_private_dir(path.parent)
            self._locks_ready = True
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        except FileNotFoundError:  # the directory was removed since
            ensure_private_dir(path.parent)
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigurationError(
                    f"run {run_id} is running in another process",
                    hint="wait for it to finish; kbooks runs shows its state") from None
            yield
            state = self._ended.pop(run_id, None)
            if state is None:
                found = self._exec("SELECT state FROM runs WHERE id=?", (run_id,))
                state = found[0][0] if found else None
            if state == "succeeded":
                # Nothing will resume it; leave no file behind. (Removed while locked, so a
                # process waiting to resume it reads "succeeded" and stops.)
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def alive(self, run_id: str) -> bool | None:
        """Whether a process is running ``run_id`` now (None where that cannot be known)."""
        if fcntl is None:  # pragma: no cover
            return None
        try:
            fd = os.open(self._lock_path(run_id), os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the probe's own lock
        return False

    # ------------------------------------------------------------------ runs

    def start_run(self, run_id: str, source: str, text: str, *, connection: str | None,
                  mode: str | None, options: dict[str, Any]) -> None:
        # committed with its first step (a run that never sends anything leaves no trace
        # until it ends)
        self._later(
            "INSERT INTO runs (id, source, text, connection, mode, options, state, started) "
            "VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
            (run_id, source, text, connection, mode, json.dumps(options), time.time()),
        )

    def reopen_run(self, run_id: str) -> None:
        self._exec("UPDATE runs SET state='running', finished=NULL, error=NULL "
                        "WHERE id=?", (run_id,))

    def finish_run(self, run_id: str, state: str, error: str | None = None) -> None:
        self._exec("UPDATE runs SET state=?, finished=?, error=? WHERE id=?",
                        (state, time.time(), error, run_id))
        with self._lock:
            self._ended[run_id] = state  # for hold(), without reading it back

    def run(self, run_id: str) -> RunInfo | None:
        for info in self._runs("WHERE r.id = ?", (run_id,)):
            return info
        return None

    def runs(self, limit: int = 50) -> list[RunInfo]:
        return list(self._runs("ORDER BY r.started DESC LIMIT ?", (limit,)))

    def _runs(self, tail: str, args: tuple[Any, ...]) -> Iterator[RunInfo]:
        rows = self._exec(
            "SELECT r.id, r.source, r.state, r.started, r.finished, r.connection, r.mode, "
            "r.error, r.text, r.options, "
            "(SELECT COUNT(*) FROM steps s WHERE s.run_id = r.id AND s.state='succeeded'), "
            "(SELECT COUNT(*) FROM steps s WHERE s.run_id = r.id AND s.state='failed') "
            f"FROM runs r {tail}", args)
        for row in rows:
            state = row[2]
            if state == "running" and self.alive(row[0]) is False:
                # recorded as running, but no process holds it: it died mid-run
                state = "stopped"
            yield RunInfo(id=row[0], source=row[1], state=state, started=row[3],
                          finished=row[4], connection=row[5], mode=row[6], error=row[7],
                          text=row[8], options=json.loads(row[9] or "{}"),
                          steps_done=row[10], steps_failed=row[11])

    # ------------------------------------------------------------------ steps

    def start_step(self, run_id: str, row: int, step: int, line: int, command: str,
                   key: str) -> None:
        self._exec(
            "INSERT INTO steps (run_id, row, step, line, command, idempotency_key, state, "
            "started) VALUES (?, ?, ?, ?, ?, ?, 'started', ?) "
            "ON CONFLICT(run_id, row, step) DO UPDATE SET state='started', "
            "started=excluded.started, error=NULL",
            (run_id, row, step, line, command, key, time.time()),
        )

    def finish_step(self, run_id: str, row: int, step: int, state: str, *,
                    noun: str | None = None, record_id: str | None = None,
                    result: dict[str, Any] | None = None, error: str | None = None) -> None:
        self._later(
            "UPDATE steps SET state=?, noun=?, record_id=?, result=?, error=?, finished=? "
            "WHERE run_id=? AND row=? AND step=?",
            (state, noun, record_id, json.dumps(result, default=str) if result else None,
             error, time.time(), run_id, row, step),
        )

    def steps(self, run_id: str) -> list[StepInfo]:
        rows = self._exec(
            "SELECT row, step, line, command, idempotency_key, state, noun, record_id, "
            "result, error FROM steps WHERE run_id=? ORDER BY row, step", (run_id,))
        return [StepInfo(row=r[0], step=r[1], line=r[2], command=r[3], idempotency_key=r[4],
                         state=r[5], noun=r[6], record_id=r[7],
                         result=json.loads(r[8]) if r[8] else None, error=r[9])
                for r in rows]
