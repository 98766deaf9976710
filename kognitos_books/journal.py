"""The run journal: what each run did, step by step, so a run can be resumed.

One SQLite file, ``runs.sqlite``, in the kbooks home (mode 0600). A step is written as
*started* (with its idempotency key) before its request goes out and as *succeeded* or
*failed* after, so after a crash the journal knows which steps took effect, which did not,
and which were in flight; re-sending an in-flight step with the same idempotency key lets the
service answer with its first result instead of acting twice. Credentials never go in here.

A run in progress is held by the process running it. Each process that runs anything holds
an exclusive lock on its own file, ``locks/<owner>.lock`` in the same home, for as long as its
journal is open, and the journal records which owner runs each run. The operating system drops
the lock when the process ends, however it ends (even ``kill -9``), so a run recorded as
running whose owner's lock is free is shown as *stopped*: the journal never claims that a dead
process is still working. A run is taken over (resumed) in one write transaction that checks
its owner is gone, so a run is never resumed twice at once. A run costs no file operations of
its own.

Only what must be on disk before a request goes out is committed on the spot: a write step's
*started* (its idempotency key), together with everything waiting before it. The rest waits:
a run's start, a get's start (a read is safe to send again), a step's outcome and a run's
end are committed with the next write step's *started*, or by the journal's writer thread a
moment (:data:`WRITE_DELAY`) after the run returns, off the caller's time, and at the latest
when the journal is closed or the process exits. So a run of one command costs one commit
before its request and none after. A crash can lose only waiting writes: a step whose
outcome was lost reads as in flight, which a resume re-sends with its idempotency key (the
service answers with its first result, so nothing is done twice); a run that never sent a
write is lost whole, which loses nothing (it changed nothing).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
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
#: seconds the writer thread waits before committing what a run left waiting
WRITE_DELAY = 0.05

#: journals open in this process: their waiting writes are committed at exit
_OPEN: weakref.WeakSet[Journal] = weakref.WeakSet()
#: the journal of each home, shared by the runtimes of this process (see Journal.of)
_SHARED: dict[Path, Journal] = {}
_SHARED_LOCK = threading.Lock()


class JournalError(ConfigurationError):
    """The journal file cannot be read or written (damaged, or the disk is full)."""


@atexit.register
def _close_all() -> None:
    for journal in list(_OPEN):
        told = journal.failure
        try:
            journal.close()
        except JournalError as exc:  # the process is ending: say so (once) and go on
            if exc.message != told:
                print(f"kbooks: {exc.message}", file=sys.stderr)


def _forget_after_fork() -> None:
    # A forked child must not use its parent's SQLite connection or claim its runs.
    for journal in list(_OPEN):
        journal._lock = threading.RLock()  # another thread may have held it at the fork
        journal._wake = threading.Event()
        journal._db = None
        journal._waiting = []
        journal._writer = None
        journal._active.clear()
        if journal._owner is not None:
            with contextlib.suppress(OSError):
                os.close(journal._owner[1])
            journal._owner = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)

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
        # One connection shared by the threads of a concurrent run (and the writer thread);
        # SQLite calls are serialized here.
        self._lock = threading.RLock()
        #: writes waiting for the next commit (see the module's docstring)
        self._waiting: list[tuple[str, tuple[Any, ...]]] = []
        self._writer: threading.Thread | None = None
        self._wake = threading.Event()
        #: this journal's lock, held while it is open: (owner name, fd, pid that took it)
        self._owner: tuple[str, int, int] | None = None
        self._active: set[str] = set()  # runs held by this journal now
        self._ended: set[str] = set()  # runs whose end was recorded while held
        #: the last error the journal raised (not repeated when the process ends)
        self.failure: str | None = None
        _OPEN.add(self)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    @classmethod
    def of(cls, home: Path) -> Journal:
        """The journal of ``home`` for this process: one connection, one lock and one
        writer however many runtimes use it, kept (and its waiting writes with it) until
        the process exits."""
        key = Path(home).absolute()
        with _SHARED_LOCK:
            journal = _SHARED.get(key)
            if journal is None:
                journal = _SHARED[key] = cls(key)
            return journal

    @classmethod
    def release(cls, home: Path) -> None:
        """Close the shared journal of ``home`` (if this process opened it): its waiting
        writes are committed and its runs are no longer held."""
        with _SHARED_LOCK:
            journal = _SHARED.pop(Path(home).absolute(), None)
        if journal is not None:
            journal.close()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            self.failure = f"the run journal {self.path} cannot be used: {exc}"
            raise JournalError(
                self.failure,
                hint="if it is damaged, move it aside to start a new one (the runs in it "
                     "can then not be resumed)") from exc

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Run ``sql`` now (after any waiting writes, in the same transaction)."""
        with self._lock, self._guard():
            if not self._waiting:
                return self.db.execute(sql, args).fetchall()
            return self._transaction(lambda db: db.execute(sql, args).fetchall())

    def _transaction(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Do the waiting writes, then ``work``, in one write transaction."""
        with self._lock, self._guard():
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            waiting, self._waiting = self._waiting, []
            try:
                for earlier, earlier_args in waiting:
                    db.execute(earlier, earlier_args)
                done = work(db)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                self._waiting[:0] = waiting  # kept for the next commit
                raise
            return done

    def _later(self, sql: str, args: tuple[Any, ...], *, soon: bool = False) -> None:
        """Write ``sql`` with the next commit; ``soon``: have the writer thread commit it
        now rather than wait for the next step."""
        with self._lock:
            self._waiting.append((sql, args))
            if soon:
                self._start_writer()
                self._wake.set()

    def _start_writer(self) -> None:
        # (called holding self._lock)
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_soon, daemon=True,
                                            name="kbooks-journal")
            self._writer.start()

    def _write_soon(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            # A moment's grace: a run that follows at once commits this with its first
            # write, and this thread then has nothing to do and costs that run nothing.
            time.sleep(WRITE_DELAY)
            with self._lock:
                if self._db is None and not self._waiting:
                    self._writer = None  # closed; the next write starts another
                    return
            # On failure the writes are left waiting: the next commit (a step, a read,
            # close) tries again and reports the error to its caller.
            with contextlib.suppress(JournalError):
                self.flush()

    def flush(self) -> None:
        """Commit the writes that are waiting."""
        with self._lock:
            if self._waiting:
                self._transaction(lambda db: None)

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
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
            if "owner" not in columns:  # a journal written before runs had owners
                self._db.execute("ALTER TABLE runs ADD COLUMN owner TEXT")
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.chmod(side, 0o600)
        return self._db

    def close(self) -> None:
        """Commit what is waiting and let go of the journal (and of this journal's lock:
        runs it recorded as running read as stopped from now on)."""
        with self._lock:
            self.flush()
            if self._db is not None:
                self._db.close()
                self._db = None
            self._wake.set()  # the writer thread ends
            if self._owner is not None:
                name, fd, pid = self._owner
                self._owner = None
                if pid == os.getpid():
                    # Removed while locked: nobody can find the file free and think it live.
                    self._lock_path(name).unlink(missing_ok=True)
                os.close(fd)
        _OPEN.discard(self)

    # ------------------------------------------------------------------ liveness

    def _lock_path(self, owner: str) -> Path:
        return self.path.parent / LOCK_DIR / f"{owner}.lock"

    def owner(self) -> str:
        """The name this journal records as the owner of the runs it holds; its lock file
        is made and locked on first use and held until :meth:`close`."""
        with self._lock:
            if self._owner is not None and self._owner[2] == os.getpid():
                return self._owner[0]
            if self._owner is not None:  # inherited across fork: the parent's, not ours
                os.close(self._owner[1])
                self._owner = None
                self._active.clear()
            name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            if fcntl is None:  # pragma: no cover - liveness is not known
                self._owner = (name, os.open(os.devnull, os.O_RDONLY), os.getpid())
                return name
            folder = ensure_private_dir(self.path.parent / LOCK_DIR)
            # Locked before it has its name, so no one ever finds it free while we live.
            fd, temporary = tempfile.mkstemp(prefix=".", suffix=".lock", dir=folder)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(temporary, self._lock_path(name))
            self._owner = (name, fd, os.getpid())
            return name

    @contextlib.contextmanager
    def hold(self, run_id: str, *, resume: bool = False) -> Iterator[None]:
        """Mark ``run_id`` as run by this journal (this process) during the block. With
        ``resume``, take over a run recorded earlier, refusing (:class:`ConfigurationError`)
        one that succeeded or that another live process is running. A run whose end was
        not recorded by the time the block ends is recorded as interrupted."""
        owner = self.owner()
        with self._lock:
            if run_id in self._active:
                raise ConfigurationError(f"run {run_id} is already running here",
                                         hint="wait for it to finish")
            if resume:
                self._transaction(lambda db: self._take_over(db, run_id, owner))
            self._active.add(run_id)
            self._ended.discard(run_id)
        try:
            yield
        finally:
            with self._lock:
                self._active.discard(run_id)
                if run_id not in self._ended:
                    self._later("UPDATE runs SET state='interrupted', finished=? "
                                "WHERE id=? AND state='running'", (time.time(), run_id),
                                soon=True)
                self._ended.discard(run_id)

    def _take_over(self, db: sqlite3.Connection, run_id: str, owner: str) -> None:
        found = db.execute("SELECT state, owner FROM runs WHERE id=?", (run_id,)).fetchall()
        if not found:
            raise ConfigurationError(f"no run {run_id!r} in the journal",
                                     hint="kbooks runs lists the runs")
        state, holder = found[0]
        if state == "succeeded":
            raise ConfigurationError(f"run {run_id} already finished successfully")
        if state == "running" and self._owner_alive(holder, run_id):
            raise ConfigurationError(
                f"run {run_id} is running in another process",
                hint="wait for it to finish; kbooks runs shows its state")
        db.execute("UPDATE runs SET state='running', owner=?, finished=NULL, error=NULL "
                   "WHERE id=?", (owner, run_id))

    def alive(self, run_id: str) -> bool | None:
        """Whether a process is running ``run_id`` now (None where that cannot be known)."""
        found = self._exec("SELECT state, owner FROM runs WHERE id=?", (run_id,))
        if not found or found[0][0] != "running":
            return False
        return self._owner_alive(found[0][1], run_id)

    def _owner_alive(self, owner: str | None, run_id: str) -> bool | None:
        """Whether the process recorded as running ``run_id`` is still running it."""
        if self._owner is not None and owner == self._owner[0]:
            return run_id in self._active
        if fcntl is None:  # pragma: no cover
            return None
        # A journal written before runs had owners locked one file per run.
        path = self._lock_path(owner if owner is not None else run_id)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            # Free, so its process is gone; tidy its file away (still locked by us here,
            # so another prober cannot take it for live).
            path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # closing drops the probe's own lock
        return False

    # ------------------------------------------------------------------ runs

    def start_run(self, run_id: str, source: str, text: str, *, connection: str | None,
                  mode: str | None, options: dict[str, Any]) -> None:
        # committed with its first write step (see the module's docstring)
        self._later(
            "INSERT INTO runs (id, source, text, connection, mode, options, state, started, "
            "owner) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (run_id, source, text, connection, mode, json.dumps(options), time.time(),
             self.owner()),
        )

    def finish_run(self, run_id: str, state: str, error: str | None = None) -> None:
        """Record how the run ended; committed by the writer thread, off the caller's time."""
        with self._lock:
            self._later("UPDATE runs SET state=?, finished=?, error=? WHERE id=?",
                        (state, time.time(), error, run_id), soon=True)
            self._ended.add(run_id)

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
            "(SELECT COUNT(*) FROM steps s WHERE s.run_id = r.id AND s.state='failed'), "
            f"r.owner FROM runs r {tail}", args)
        for row in rows:
            state = row[2]
            if state == "running" and self._owner_alive(row[12], row[0]) is False:
                # recorded as running, but no process holds it: it died mid-run
                state = "stopped"
            yield RunInfo(id=row[0], source=row[1], state=state, started=row[3],
                          finished=row[4], connection=row[5], mode=row[6], error=row[7],
                          text=row[8], options=json.loads(row[9] or "{}"),
                          steps_done=row[10], steps_failed=row[11])

    # ------------------------------------------------------------------ steps

    def start_step(self, run_id: str, row: int, step: int, line: int, command: str,
                   key: str, *, reads_only: bool = False) -> None:
        """Record a step as started, on disk before its request goes out unless it
        ``reads_only`` (a read sent twice does no harm, so it waits for the next commit)."""
        (self._later if reads_only else self._exec)(
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
